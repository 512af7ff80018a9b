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
``walk``         false: import each of ``modules`` alone, not its submodules (an original world's probe)
``construct``    make every public class of the renamed copies' compiled modules with no arguments and
                 pickle it, each in a forked child (:func:`_construct`): crashes and pickling failures
``timeout``      seconds a class may take to be made before its child is ended (it is called hung)
``objects``      module -> class names to make and pickle the same way (an original world's probe)
``entries``      ``sys.modules`` keys whose module's ``__name__`` and file are reported (the same)

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
import importlib.machinery
import importlib.util
import json
import math
import os
import pickle
import pkgutil
import select
import signal
import sys
import sysconfig
import time
import traceback
import types
from collections.abc import Callable

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


def _site_rel(filename: object, sites: list[str]) -> str | None:
    """``filename`` relative to the site directory holding it, with ``/`` separators; None if outside."""
    if not isinstance(filename, str):
        return None
    real = _real(filename)
    for site in sites:
        if real.startswith(site + os.sep):
            return real[len(site) + 1 :].replace(os.sep, "/")
    return None


def _site_top(rel: str | None) -> str | None:
    """The top-level name of a site-relative path (its first component without a suffix)."""
    return rel.split("/", 1)[0].split(".", 1)[0] if rel is not None else None


def _path_module(rel: str) -> str:
    """The module a site-relative file is imported as, by its path (``a/b/__init__.py``: ``a.b``)."""
    parts = rel.split("/")
    last = parts[-1]
    for suffix in sorted(importlib.machinery.all_suffixes(), key=len, reverse=True):
        if last.endswith(suffix):
            last = last[: -len(suffix)]
            break
    parts[-1] = last
    if last == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def _claims(key: str, module: object, original: str) -> list[dict[str, str]]:
    """Public classes and functions of a renamed module that claim the original name (``__module__``)."""
    found = []
    for attr, value in sorted(vars(module).items()):
        if attr.startswith("_") or not isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)):
            continue
        defined_in = getattr(value, "__module__", None)
        if isinstance(defined_in, str) and defined_in.partition(".")[0] == original:
            found.append({"key": f"{key}.{attr}", "kind": "module", "what": f"__module__ is {defined_in!r}"})
    return found


def _classes(key: str, module: object) -> list[tuple[str, type]]:
    """The public classes a compiled module defines: each is made with no arguments and pickled."""
    if not str(getattr(module, "__file__", "")).endswith((".so", ".pyd")):
        return []
    found = []
    for attr, value in sorted(vars(module).items()):
        if attr.startswith("_") or not isinstance(value, type):
            continue
        if getattr(value, "__module__", None) == getattr(module, "__name__", None):
            found.append((f"{key}.{attr}", value))
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


#: what making a class with no arguments and pickling the instance did, when nothing failed
_OK = "ok"


def _outcome(cls: type) -> dict[str, str]:
    """What making ``cls`` with no arguments and pickling the instance by name does."""
    try:
        error = _pickling_error(cls)
    except BaseException:  # noqa: BLE001 - SystemExit and the like from a constructor: not made
        error = None
    return {"outcome": "pickling fails", "error": error} if error is not None else {"outcome": _OK}


def _ended(status: int, timeout: float) -> str:
    """How a child that made classes ended, as :func:`probe._how` says it of a probe."""
    code = os.waitstatus_to_exitcode(status)
    if code == -signal.SIGALRM:  # its alarm: no progress for ``timeout`` seconds
        return f"hung: no progress for {math.ceil(timeout):g} s"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


def _batch(items: list[tuple[str, type]], timeout: float) -> tuple[dict[str, dict[str, str]], str | None, str]:
    """Make ``items`` one after another in a child forked from this process: the outcome of each
    it finished, the one it had started when it ended (None: it finished them all), and how it ended."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the probe's code
        code = 0
        try:
            os.close(read)
            signal.signal(signal.SIGALRM, signal.SIG_DFL)  # its default action ends the child, in C code too
            for key, cls in items:
                os.write(write, (json.dumps({"start": key}) + "\n").encode("utf-8"))
                signal.alarm(max(1, math.ceil(timeout)))
                outcome = _outcome(cls)
                signal.alarm(0)
                os.write(write, (json.dumps({"done": key, **outcome}) + "\n").encode("utf-8"))
        except BaseException:  # noqa: BLE001 - the probe is gone (a broken pipe): so is this child
            code = 1
        os._exit(code)
    os.close(write)
    data = b""
    said = time.monotonic()
    while True:
        ready, _, _ = select.select([read], [], [], 1.0)
        if time.monotonic() - said >= 1.0:
            # the caller calls a probe hung when its events stop: this one is waiting, and the
            # child's alarm bounds the wait for each class
            _emit({"event": "alive"})
            said = time.monotonic()
        if not ready:
            continue
        chunk = os.read(read, 65536)
        if not chunk:
            break
        data += chunk
    os.close(read)
    _, status = os.waitpid(pid, 0)
    done: dict[str, dict[str, str]] = {}
    started = None
    for line in data.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue  # cut short by the end of the child
        if "start" in event:
            started = str(event["start"])
        elif "done" in event:
            done[str(event.pop("done"))] = event
            started = None
    return done, started, _ended(status, timeout)


def _construct(
    classes: list[tuple[str, type]], timeout: float, seen: Callable[[str, dict[str, str]], None] | None = None
) -> dict[str, dict[str, str]]:
    """What making each class with no arguments and pickling the instance does, in ``classes``'
    order: ``outcome`` is "pickling fails" (with the ``error``), "ok", or how the process making
    it ended (a signal, an exit, a hang).

    Each is made in a process forked from this one, so that a crash ends neither the probe nor
    the check of the others: one child makes them one after another; when one ends it, the rest
    go on in a new child, and the one that ended it is made again alone if others were made
    before it in that child (what is reported of it does not depend on them). Without
    ``os.fork`` they are made here, and a crash ends the probe. ``seen`` is told each outcome as
    soon as it is known.
    """
    outcomes: dict[str, dict[str, str]] = {}
    if not hasattr(os, "fork"):
        for key, cls in classes:
            outcomes[key] = _outcome(cls)
            if seen is not None:
                seen(key, outcomes[key])
        return outcomes
    todo = list(classes)
    while todo:
        done, started, how = _batch(todo, timeout)
        outcomes.update(done)
        culprit = started if started is not None else next((k for k, _ in todo if k not in outcomes), None)
        if culprit is not None:
            if culprit != todo[0][0]:
                alone, started, how = _batch([c for c in todo if c[0] == culprit], timeout)
                outcomes.update(alone)
            outcomes.setdefault(culprit, {"outcome": how})
        for key, _ in todo:
            if seen is not None and key in outcomes:
                seen(key, outcomes[key])
        todo = [c for c in todo if c[0] not in outcomes]
    return {key: outcomes[key] for key, _ in classes}


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
        if spec.get("walk", True):
            _walk(top, skip, failures, imported)
        elif top not in skip and _import(top, failures) is not None:
            imported.append(top)
        _emit({"event": "walked", "module": top})  # it and all its submodules: their bytecode is written
    sites = [_real(d) for d in site_dirs]
    renamed = dict(spec.get("renamed", {}))  # renamed top-level name -> original
    owners_of_top = {k: set(v) for k, v in spec.get("owners", {}).items()}
    record = _record_owners(site_dirs) if owners_of_top else {}
    maps = {k: dict(v) for k, v in spec.get("maps", {}).items()}  # top-level name -> its world's import map
    timeout = float(spec.get("timeout", 120.0))
    leaks, objects, provenance = [], [], []
    # id of a compiled module of a renamed copy -> its key (the one it is not leaked under), owner, classes
    compiled: dict[int, tuple[str, str, list[tuple[str, type]]]] = {}
    for key, module in sorted(list(sys.modules.items())):
        filename = getattr(module, "__file__", None)
        rel = _site_rel(filename, sites)
        top = _site_top(rel)
        if rel is None or top is None:
            continue
        name = getattr(module, "__name__", key)
        if _alias(key, name, module, top, maps, renamed):
            continue  # checked under its own name
        leaked = False
        if top in renamed:
            if key.partition(".")[0] != top or not isinstance(name, str) or name.partition(".")[0] != top:
                what = f"registered (module __name__ {name!r})"
                as_str = name if isinstance(name, str) else "?"
                leak = {"key": key, "owner": top, "what": what, "name": as_str, "file": rel, "via": _path_module(rel)}
                leaks.append(leak)
                leaked = True
            objects += [{**found, "owner": top} for found in _claims(key, module, renamed[top])]
            if spec.get("construct") and (id(module) not in compiled or not leaked):
                compiled[id(module)] = (key, top, _classes(key, module))
        expected = owners_of_top.get(key.partition(".")[0])
        owner = record.get(_real(filename)) if isinstance(filename, str) else None
        if expected and owner is not None and owner not in expected and not leaked:  # one finding for one cause
            provenance.append({"key": key, "file": str(filename), "rel": rel, "owner": owner})
    # what the caller may compare with an original world while the classes are made
    _emit({"event": "scanned", "leaks": leaks, "objects": objects, "provenance": provenance})
    owner_of = {cls_key: top for _, top, found in compiled.values() for cls_key, _ in found}
    classes = sorted((c for _, _, found in compiled.values() for c in found), key=lambda c: c[0])

    def made(cls_key: str, outcome: dict[str, str]) -> None:
        attr, owner = cls_key.rpartition(".")[2], owner_of[cls_key]
        if outcome["outcome"] == "pickling fails":
            item = {"key": cls_key, "kind": "pickling", "what": f"pickling fails ({outcome['error']})", "owner": owner}
        elif outcome["outcome"] != _OK:
            what = f"{attr}() {outcome['outcome']}"
            item = {"key": cls_key, "kind": "construct", "what": what, "how": outcome["outcome"], "owner": owner}
        else:
            return
        objects.append(item)
        _emit({"event": "made", "objects": [item]})

    _construct(classes, timeout, made)
    # the original world's probe: what its classes and sys.modules entries are
    wanted, constructed = [], {}
    for module_name, attrs in spec.get("objects", {}).items():
        holder = sys.modules.get(module_name)
        for attr in attrs:
            value = getattr(holder, attr, None) if holder is not None else None
            if isinstance(value, type):
                wanted.append((f"{module_name}.{attr}", value))
            else:
                constructed[f"{module_name}.{attr}"] = {"outcome": "missing"}
    constructed.update(_construct(wanted, timeout))
    entries = []
    for key in spec.get("entries", ()):
        entry = sys.modules.get(key)
        name = getattr(entry, "__name__", None)
        rel = _site_rel(getattr(entry, "__file__", None), sites)
        entries.append(None if entry is None else {"name": name if isinstance(name, str) else "?", "file": rel})
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
        "constructed": constructed,
        "entries": entries,
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
