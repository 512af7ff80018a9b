"""Run in a child interpreter by the differential check: import compiled modules, describe what they expose.

Not imported by mvpy-vendor: its text is run with ``python -I -S -B -c``, so the child sees the
standard library and only the directories it is given (nothing of the build's environment, no
LIEF or capstone). It reads one JSON object from stdin:

* ``paths``: directories added as site directories (``.pth`` files processed), in order;
* ``modules``: ``[name, file]`` pairs, imported in order;
* ``back``: renamed top-level name -> the original's (empty for the original), applied to every
  string reported, so that both sides speak the original's names;
* ``roots``: directory -> placeholder, so that no reported string holds a temporary path.

It writes JSON lines (on a descriptor of its own: what the imported code prints goes to stderr):
``["start", i]``, then ``["import", i, true, shape]`` or ``["import", i, false, error]``, and
after a failed import ``["alone", i, ...]`` the same for the module loaded from its file without
its package's ``__init__``; then ``["done", i]``. A crash leaves a ``start`` without its ``done``.

A shape holds the module's attributes (name -> kind, and the value of a plain scalar or the name
of a module), those of the submodules it made itself (PyO3's ``_rust.openssl``: no file of their
own), and every type reachable from it: through those attributes, into containers, a type's
``__dict__``, its bases, metaclass and subclasses. Types of the standard library are named, not
described.
"""

from __future__ import annotations

import builtins
import hashlib
import importlib
import importlib.util
import json
import os
import re
import site
import sys
import sysconfig
import warnings
from types import ModuleType
from typing import Any, Callable

# Set by the method cache the first time an attribute is looked up: not part of a type's layout.
_VALID_VERSION_TAG = 1 << 19
_SCALARS = (str, int, float, bool, bytes, type(None))
_LONG = 200  # longer values are reported by length and digest
_PATH_VALUES = frozenset({"__file__", "__cached__"})  # where the module lies: differs by design
_DEPTH = 4  # containers followed inside containers
_ITEMS = 20_000  # objects looked at per module, at most


def _subclasses(start: type) -> set[type]:
    seen: set[type] = set()
    stack = [start]
    while stack:
        subs: list[type] = type.__subclasses__(stack.pop())
        for sub in subs:
            if sub not in seen:
                seen.add(sub)
                stack.append(sub)
    return seen


# Every class that exists before anything is imported: the interpreter's own.
_BASELINE = _subclasses(object) | {object}
_STDLIB = tuple(
    os.path.normcase(os.path.realpath(p)) + os.sep
    for p in {sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]}
)


def _of_type(t: type, name: str) -> Any:
    """``t.<name>`` as ``type`` defines it: a metaclass cannot redefine it."""
    try:
        return type.__dict__[name].__get__(t, type)
    except AttributeError:  # a heap type without __module__
        return None


def _mro(t: type) -> tuple[type, ...]:
    """``t.__mro__``; empty for a static type never made ready (``PyType_Ready``), which has none:
    f2py's ``fortran`` type, whose objects every f2py module exposes."""
    return _of_type(t, "__mro__") or ()


def _type_dict(t: type) -> Any:
    """``t.__dict__``; empty for a static type never made ready."""
    return _of_type(t, "__dict__") or {}


def _qualified(t: type) -> str:
    module, qualname = _of_type(t, "__module__"), _of_type(t, "__qualname__")
    return f"{module}.{qualname}" if isinstance(module, str) else str(qualname)


class _Probe:
    def __init__(self, back: dict[str, str], roots: dict[str, str]) -> None:
        names = "|".join(re.escape(n) for n in sorted(back, key=len, reverse=True))
        self.pattern = re.compile(rf"(?<![A-Za-z0-9_])({names})(?![A-Za-z0-9_])") if names else None
        self.back = back
        self.roots = sorted(roots.items(), key=lambda kv: len(kv[0]), reverse=True)
        self.own_dirs = tuple(os.path.normcase(os.path.realpath(r)) + os.sep for r in roots)

    def text(self, value: str) -> str:
        """``value`` in the original's names, without temporary paths."""
        for root, placeholder in self.roots:
            value = value.replace(root, placeholder)
        if self.pattern is not None:
            value = self.pattern.sub(lambda m: self.back[m.group(1)], value)
        return value

    def name(self, t: type) -> str:
        return self.text(_qualified(t))

    def _stdlib_module(self, name: str) -> bool:
        module = sys.modules.get(name)
        if module is None:
            return False
        path = getattr(module, "__file__", None)
        if isinstance(path, str):
            real = os.path.normcase(os.path.realpath(path))
            return real.startswith(_STDLIB) and not real.startswith(self.own_dirs)
        top = name.partition(".")[0]
        return name in sys.builtin_module_names or top in getattr(sys, "stdlib_module_names", ())

    def foreign(self, t: type) -> bool:
        """A type of the interpreter or the standard library: the same on both sides."""
        if t in _BASELINE:
            return True
        module = _of_type(t, "__module__")
        if not isinstance(module, str):
            return False
        if module == "builtins":  # a C type whose tp_name has no dot is reported there too
            return getattr(builtins, str(_of_type(t, "__name__")), None) is t
        return self._stdlib_module(module)

    def value(self, value: object) -> object:
        if type(value) is str:
            text = self.text(value)
            return text if len(text) <= _LONG else self._digest(text.encode("utf-8", "surrogatepass"), "str")
        if type(value) is bytes:
            return repr(value) if len(value) <= _LONG else self._digest(value, "bytes")
        text = repr(value)
        return text if len(text) <= _LONG else self._digest(text.encode(), type(value).__name__)

    @staticmethod
    def _digest(data: bytes, kind: str) -> str:
        return f"<{kind} of {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()[:16]}>"

    def shape(self, module: Any) -> dict[str, Any]:
        attributes: dict[str, dict[str, Any]] = {}
        found: dict[type, dict[str, Any]] = {}
        queue: list[type] = []
        budget = [_ITEMS]
        seen_containers: set[int] = set()

        def reach(value: object, depth: int) -> None:
            if budget[0] <= 0:
                return
            budget[0] -= 1
            if issubclass(type(value), type):
                queue.append(value)  # type: ignore[arg-type]
                return
            kind = type(value)
            queue.append(kind)
            if depth >= _DEPTH or id(value) in seen_containers:
                return
            items: list[object] = []
            if issubclass(kind, dict):
                seen_containers.add(id(value))
                pairs: list[tuple[object, object]] = list(dict.items(value))  # type: ignore[arg-type]
                for k, v in pairs[:_ITEMS]:
                    items += [k, v]
            elif issubclass(kind, (list, tuple, set, frozenset)):
                seen_containers.add(id(value))
                items = list(value)[:_ITEMS]  # type: ignore[call-overload]
            for item in items:
                reach(item, depth + 1)

        def walk(prefix: str, space: dict[str, Any], inside: set[int]) -> None:
            for key in sorted(space, key=str):
                value = space[key]
                name = prefix + self.text(str(key))
                entry: dict[str, Any] = {"kind": self.name(type(value))}
                if type(value) in _SCALARS and key not in _PATH_VALUES:
                    entry["value"] = self.value(value)
                elif issubclass(type(value), ModuleType):
                    entry["value"] = self.text(str(vars(value).get("__name__", "")))
                attributes[name] = entry
                reach(value, 0)
                if _submodule(value) and id(value) not in inside:
                    inside.add(id(value))
                    walk(name + ".", vars(value), inside)

        walk("", vars(module), {id(module)})
        while queue:
            t = queue.pop()
            if t in found or self.foreign(t):
                continue
            found[t] = self._describe(t)
            queue.extend(_mro(t)[1:])
            queue.append(type(t))
            queue.extend(type.__subclasses__(t))
            for value in list(_type_dict(t).values()):
                reach(value, 1)
        types = sorted(([self.name(t), d] for t, d in found.items()), key=lambda x: (x[0], json.dumps(x[1])))
        return {"attributes": attributes, "types": types, "complete": budget[0] > 0}

    def _describe(self, t: type) -> dict[str, Any]:
        fields = {f: _of_type(t, f) for f in ("__basicsize__", "__itemsize__", "__weakrefoffset__", "__dictoffset__")}
        return {
            **fields,
            "__flags__": _of_type(t, "__flags__") & ~_VALID_VERSION_TAG,
            "__mro__": [self.name(b) for b in _mro(t)],
            "metaclass": self.name(type(t)),
            "__dict__": {self.text(str(k)): self.name(type(v)) for k, v in _type_dict(t).items()},
        }


def _submodule(value: object) -> bool:
    """Is ``value`` a module the extension made itself (PyO3's ``_rust.openssl``, named ``openssl``
    or ``_rust.openssl``), not one imported from a file, a package or the interpreter's own?
    Its attributes are the extension's too."""
    if not issubclass(type(value), ModuleType):
        return False
    inner = vars(value)
    name = inner.get("__name__")
    return (
        "__file__" not in inner
        and "__path__" not in inner
        and isinstance(name, str)
        and name not in sys.builtin_module_names
        and name.partition(".")[0] not in getattr(sys, "stdlib_module_names", ())
    )


def _error(exc: BaseException) -> str:
    """``Type: first line``, and the exception it was raised from or during, if any."""

    def line(e: BaseException) -> str:
        lines = str(e).strip().splitlines()
        return f"{type(e).__name__}: {lines[0][:200] if lines else ''}".rstrip(": ")

    cause = exc.__cause__ or exc.__context__
    return line(exc) + (f" (after {line(cause)})" if cause is not None else "")


def _attempt(probe: _Probe, load: Callable[[], Any]) -> tuple[bool, Any]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            module = load()
        except BaseException as exc:  # noqa: BLE001 (SystemExit, KeyboardInterrupt from the module are its result)
            return False, probe.text(_error(exc))
        try:
            shape = probe.shape(module)
        except Exception as exc:  # noqa: BLE001 (what cannot be described is reported, on both sides alike)
            return False, probe.text(f"imported, but cannot be described: {_error(exc)}")
    shape["warnings"] = sorted({probe.text(f"{w.category.__name__}: {w.message}") for w in caught})
    return True, shape


def _alone(name: str, path: str) -> Any:
    """The module loaded from its file, its package's ``__init__`` not run (it failed)."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"no loader for {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    request = json.load(sys.stdin)
    events = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # what the imported code prints must not mix with the events
    sys.stdout = sys.stderr

    def emit(*event: object) -> None:
        events.write(json.dumps(event) + "\n")
        events.flush()

    for path in request["paths"]:
        site.addsitedir(path)
    probe = _Probe(request["back"], request["roots"])
    for i, (name, path) in enumerate(request["modules"]):
        emit("start", i)
        ok, found = _attempt(probe, lambda name=name: importlib.import_module(name))  # type: ignore[misc]
        emit("import", i, ok, found)
        if not ok:
            ok, found = _attempt(probe, lambda name=name, path=path: _alone(name, path))  # type: ignore[misc]
            emit("alone", i, ok, found)
        emit("done", i)
    events.close()
    os._exit(0)  # no interpreter finalisation: a module that crashes at exit is not this check's


if __name__ == "__main__":
    main()
