"""Run inside the environment under test: import modules and report what ``sys.modules`` holds.

Usage: ``python -I [-S] _probe.py SPEC.json EVENTS`` where SPEC is a JSON object, or
``python -I -S _probe.py --serve`` (:func:`serve`: one forked child per probe):

``modules``      top-level names to import with all their submodules
``skip``         modules not to import (they crashed or hung in an earlier run)
``renamed``      renamed top-level name -> the original it replaces (leak checks)
``forbidden``    importer top-level name -> plain names it must not import (``pulled``: who imported them)
``watch``        plain names whose modules in ``sys.modules`` are reported at the end (``loaded``)
``owners``       top-level name -> canonical names of the distributions that may provide it
``site_dirs``    where the environment's packages are (given when run with ``-S``)
``run_site``     run ``site.main()`` first (a child of the server, which starts with ``-S``)
``objects``      module -> attribute names whose pickling is checked (the original world's probe)

Results never travel over stdout or stderr, which the imported code may write to, close or
garble: every event is one JSON line appended with ``os.write`` to the EVENTS file (so lines
written before a crash are kept), the last one ``{"event": "report", ...}``. The process then
ends with ``os._exit`` so that no exit handler or left-over thread of the imported code runs.
Standard library only: it runs in the environment under test.
"""

from __future__ import annotations

import builtins
import contextlib
import csv
import faulthandler
import importlib
import importlib.util
import json
import os
import pickle
import pkgutil
import select
import signal
import sys
import sysconfig
import traceback
import types

_EVENTS = -1


def _emit(event: dict) -> None:  # type: ignore[type-arg]
    os.write(_EVENTS, (json.dumps(event) + "\n").encode("utf-8"))


def _error(exc: BaseException) -> str:
    return traceback.format_exception_only(type(exc), exc)[-1].strip()


def _import(name: str, failures: dict[str, str]) -> object | None:
    _emit({"event": "start", "module": name})
    try:
        module = importlib.import_module(name)
    except BaseException as exc:  # noqa: BLE001 - any failure of any module is a finding
        failures[name] = _error(exc)
        _emit({"event": "failed", "module": name, "error": failures[name]})
        return None
    _emit({"event": "done", "module": name})
    return module


def _walk(top: str, skip: set[str], failures: dict[str, str], imported: list[str]) -> None:
    if top in skip:
        return
    module = _import(top, failures)
    if module is None:
        return
    imported.append(top)
    paths = getattr(module, "__path__", None)
    if paths is None:
        return
    for info in sorted(pkgutil.iter_modules(list(paths), top + "."), key=lambda i: i.name):
        if info.name.rsplit(".", 1)[-1] == "__main__" or info.name in skip:
            continue
        if info.ispkg:
            _walk(info.name, skip, failures, imported)
        elif _import(info.name, failures) is not None:
            imported.append(info.name)


_REAL_DIRS: dict[str, str] = {}


def _real(path: str) -> str:
    """``os.path.realpath`` of ``path``, normalised; each directory is resolved once."""
    head, tail = os.path.split(path)
    real = _REAL_DIRS.get(head)
    if real is None:
        real = _REAL_DIRS[head] = os.path.realpath(head)
    if os.path.islink(path):  # installed files are not links (wheels cannot hold one), but check
        return os.path.normcase(os.path.realpath(path))
    return os.path.normcase(os.path.join(real, tail))


def _record_owners(site_dirs: list[str]) -> dict[str, str]:
    """Every installed file -> the canonical name of the distribution whose RECORD lists it."""
    owners: dict[str, str] = {}
    for site in site_dirs:
        try:
            entries = os.listdir(site)
        except OSError:
            continue
        for entry in entries:
            if not entry.endswith(".dist-info"):
                continue
            dist = entry[: -len(".dist-info")].rpartition("-")[0].replace("_", "-").replace(".", "-").lower()
            try:
                with open(os.path.join(site, entry, "RECORD"), encoding="utf-8", newline="") as fh:
                    rows = list(csv.reader(fh))
            except OSError:
                continue
            for row in rows:
                if row:
                    owners[_real(os.path.join(site, row[0]))] = dist
    return owners


def _site_top(filename: object, sites: list[str]) -> str | None:
    """The first path component under site-packages of ``filename`` (without a suffix), if any."""
    if not isinstance(filename, str):
        return None
    real = _real(filename)
    for site in sites:
        if real.startswith(site + os.sep):
            return real[len(site) + 1 :].split(os.sep, 1)[0].split(".", 1)[0]
    return None


def _object_leaks(key: str, module: object, original: str) -> list[dict[str, str]]:
    """Public classes and functions of a renamed module must not claim the original name;
    instances of classes defined in a renamed compiled module must pickle round trip."""
    found = []
    compiled = str(getattr(module, "__file__", "")).endswith((".so", ".pyd"))
    for attr, value in sorted(vars(module).items()):
        if attr.startswith("_") or not isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)):
            continue
        defined_in = getattr(value, "__module__", None)
        if isinstance(defined_in, str) and defined_in.partition(".")[0] == original:
            found.append({"key": f"{key}.{attr}", "kind": "module", "what": f"__module__ is {defined_in!r}"})
            continue
        if compiled and isinstance(value, type) and defined_in == getattr(module, "__name__", None):
            error = _pickling_error(value)
            if error is not None:
                found.append({"key": f"{key}.{attr}", "kind": "pickling", "what": f"pickling fails ({error})"})
    return found


def _pickling_error(cls: type) -> str | None:
    """Why an instance of ``cls`` does not pickle round trip by name; None if it does, or if it
    cannot be made, is not picklable by design or cannot be restored (which is no leak: only
    ``pickle.dumps`` looks classes up by name)."""
    try:
        instance = cls()
    except Exception:  # noqa: BLE001 - a class that needs arguments is not probed
        return None
    try:
        data = pickle.dumps(instance)
    except (pickle.PicklingError, AttributeError, ImportError) as exc:
        return f"{type(exc).__name__}: {exc}"  # failures of finding the class by its name
    except Exception:  # noqa: BLE001 - not picklable by design (e.g. Cython __cinit__)
        return None
    # dumps found every class and function by its name; a failure to restore the state (a mypyc
    # class's read-only Final attribute) is not about names.
    try:
        same = type(pickle.loads(data)) is cls
    except Exception:  # noqa: BLE001 - not restorable by design
        return None
    return None if same else "unpickled as another class"


def _alias(
    key: str, name: object, module: object, top: str, maps: dict[str, dict[str, str]], renamed: dict[str, str]
) -> bool:
    """Is ``sys.modules[key]`` an alias its owner may register (``requests.packages.urllib3``)?

    An alias: the module is registered under its own, other name too. Its owner (the
    distribution providing the key's top-level name) may register it when the module is what
    the owner's world imports: its top-level name is the owner's, a renamed name the owner's
    world maps to, or an unrenamed name the owner's world does not map elsewhere.
    """
    if not isinstance(name, str) or name == key or sys.modules.get(name) is not module:
        return False
    world = maps.get(key.partition(".")[0])
    if world is None:
        return False
    return top == key.partition(".")[0] or top in world.values() or (top not in renamed and top not in world)


class _Importers:
    """Who imports a forbidden plain name: every import statement, ``__import__`` from C, and
    ``importlib.import_module``, with the importing module's name where Python code made it."""

    def __init__(self, forbidden: dict[str, list[str]]) -> None:
        self.forbidden = {k: set(v) for k, v in forbidden.items()}
        self.names = set().union(*self.forbidden.values()) if self.forbidden else set()
        self.seen: dict[str, set[str]] = {}
        self._import = builtins.__import__
        self._import_module = importlib.import_module

    def _note(self, name: str, importer: object) -> None:
        top = name.partition(".")[0]
        if top in self.names:
            self.seen.setdefault(top, set()).add(importer if isinstance(importer, str) else "?")

    def install(self) -> None:
        def hooked_import(name, globals=None, locals=None, fromlist=(), level=0):  # type: ignore[no-untyped-def]
            if level == 0:
                self._note(name, (globals or {}).get("__name__"))
            return self._import(name, globals, locals, fromlist, level)

        def hooked_import_module(name, package=None):  # type: ignore[no-untyped-def]
            if not name.startswith("."):
                self._note(name, sys._getframe(1).f_globals.get("__name__"))
            return self._import_module(name, package)

        builtins.__import__ = hooked_import
        importlib.import_module = hooked_import_module


def probe(spec_file: str, events_file: str) -> None:
    """Run the probe of ``spec_file``, its events appended to ``events_file``; never returns."""
    global _EVENTS
    _EVENTS = os.open(events_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    with open(spec_file, encoding="utf-8") as fh:
        spec = json.load(fh)
    if spec.get("run_site"):
        # forked from the server, which started without site: run it now, as a start would have
        import site

        site.main()
    if "site_dirs" in spec:
        # Run with -S so that no .pth hook imports anything before we look: make the
        # environment's packages importable without executing its .pth files. (Under -S a
        # virtual environment's interpreter reports the base prefix, so the caller says where;
        # after ``site.main()`` they are on the path already.)
        site_dirs = list(spec["site_dirs"])
        sys.path.extend(d for d in site_dirs if d not in sys.path)
    else:
        site_dirs = sorted({sysconfig.get_paths()[k] for k in ("purelib", "platlib")})
    _emit({"event": "site", "site_dirs": site_dirs})
    importers = _Importers(spec.get("forbidden", {}))
    if importers.names:
        importers.install()
    failures: dict[str, str] = {}
    imported: list[str] = []
    skip = set(spec.get("skip", ()))
    for top in spec["modules"]:
        _walk(top, skip, failures, imported)
        _emit({"event": "walked", "module": top})  # it and all its submodules: their bytecode is written
    sites = [_real(d) for d in site_dirs]
    renamed = dict(spec.get("renamed", {}))  # renamed top-level name -> original
    owners_of_top = {k: set(v) for k, v in spec.get("owners", {}).items()}
    record = _record_owners(site_dirs) if owners_of_top else {}
    maps = {k: dict(v) for k, v in spec.get("maps", {}).items()}  # top-level name -> its world's import map
    leaks, objects, provenance = [], [], []
    for key, module in sorted(list(sys.modules.items())):
        filename = getattr(module, "__file__", None)
        top = _site_top(filename, sites)
        if top is None:
            continue
        name = getattr(module, "__name__", key)
        if _alias(key, name, module, top, maps, renamed):
            continue  # checked under its own name
        if top in renamed:
            if key.partition(".")[0] != top or not isinstance(name, str) or name.partition(".")[0] != top:
                what = f"registered (module __name__ {name!r})"
                leaks.append({"key": key, "owner": top, "what": what, "name": name if isinstance(name, str) else "?"})
            for found in _object_leaks(key, module, renamed[top]):
                objects.append({**found, "owner": top})
        expected = owners_of_top.get(key.partition(".")[0])
        owner = record.get(_real(filename)) if isinstance(filename, str) else None
        registered = bool(leaks) and leaks[-1]["key"] == key  # already a leak: one finding for one cause
        if expected and owner is not None and owner not in expected and not registered:
            provenance.append({"key": key, "file": str(filename), "owner": owner})
    pickling = {}
    for module_name, attrs in spec.get("objects", {}).items():
        holder = sys.modules.get(module_name)
        for attr in attrs:
            value = getattr(holder, attr, None) if holder is not None else None
            pickling[f"{module_name}.{attr}"] = _pickling_error(value) if isinstance(value, type) else "missing"
    exists = {m: importlib.util.find_spec(m) is not None for m in failures if "." not in m}
    for module_name in failures:
        if "." in module_name:
            parent = sys.modules.get(module_name.rpartition(".")[0])
            path = getattr(parent, "__path__", None)
            exists[module_name] = path is not None and any(
                i.name == module_name for i in pkgutil.iter_modules(list(path), module_name.rpartition(".")[0] + ".")
            )
    watch = set(spec.get("watch", ()))
    report = {
        "event": "report",
        "loaded": sorted(k for k in list(sys.modules) if k.partition(".")[0] in watch),
        "imported": imported,
        "failures": failures,
        "exists": exists,
        "pulled": {k: sorted(v) for k, v in importers.seen.items()},
        "leaks": leaks,
        "objects": objects,
        "provenance": provenance,
        "pickling": pickling,
    }
    _emit(report)
    os._exit(0)


def _child(job: dict, wake: tuple[int, int], on_interrupt: object) -> None:  # type: ignore[type-arg]
    """In a forked child of the server: this job's streams (none of the server's), then its probe."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, on_interrupt)  # type: ignore[arg-type]  # as the interpreter started
    for fd in wake:
        os.close(fd)
    null = os.open(os.devnull, os.O_RDWR)
    err = os.open(job["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.dup2(err, 2)
    os.close(null)
    os.close(err)
    faulthandler.enable()  # onto this job's stderr
    sys.argv[1:] = [job["spec"], job["events"]]  # as a probe started on its own has them
    probe(job["spec"], job["events"])


def serve() -> None:
    """Fork one child per job read from stdin (a JSON line: ``job``, ``spec``, ``events``, ``stderr``;
    or ``kill``: a job to end with SIGKILL), and write an ``exit`` line for each job to stdout (the
    caller's pipe: no child keeps it). Stdin's end (the caller is gone) ends every child and the server.

    Started with ``-I -S``, the server has imported nothing but the standard library modules this
    file needs: a child is what a fresh ``-I -S`` interpreter running this file would be, without
    paying for its start; a job that needs ``site`` runs it first (``run_site``), and then differs
    from an interpreter started with ``site`` only in ``sys.flags.no_site``.
    """
    wake = os.pipe()
    for fd in wake:
        os.set_blocking(fd, False)
    signal.set_wakeup_fd(wake[1])
    signal.signal(signal.SIGCHLD, lambda *_: None)
    # a Ctrl-C reaches the whole process group: the caller then closes stdin, which ends us
    on_interrupt = signal.signal(signal.SIGINT, signal.SIG_IGN)
    children: dict[int, object] = {}  # pid -> job id
    pending = b""
    open_ = True

    def tell(event: dict) -> None:  # type: ignore[type-arg]
        os.write(1, (json.dumps(event) + "\n").encode("utf-8"))

    def reap() -> None:
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            job = children.pop(pid, None)
            if job is not None:
                tell({"event": "exit", "job": job, "code": os.waitstatus_to_exitcode(status)})

    while open_ or children:
        if not open_:  # the caller is gone: so are its jobs
            for pid in list(children):
                os.kill(pid, signal.SIGKILL)
        readable, _, _ = select.select([0, wake[0]] if open_ else [wake[0]], [], [], 1.0)
        if wake[0] in readable:
            with contextlib.suppress(BlockingIOError):
                os.read(wake[0], 512)
        reap()
        if 0 not in readable:
            continue
        data = os.read(0, 65536)
        if not data:
            open_ = False
            continue
        *lines, pending = (pending + data).split(b"\n")
        for line in lines:
            job = json.loads(line)
            if "kill" in job:
                for pid, id_ in list(children.items()):
                    if id_ == job["kill"]:
                        os.kill(pid, signal.SIGKILL)
                continue
            pid = os.fork()
            if pid == 0:
                _child(job, wake, on_interrupt)
            children[pid] = job["job"]
    os._exit(0)


def main() -> None:
    if sys.argv[1] == "--serve":
        serve()
    probe(sys.argv[1], sys.argv[2])


if __name__ == "__main__":
    main()
