"""Verify a wheelhouse: install it offline into a fresh virtual environment and probe isolation.

Checks, in fresh interpreters:
1. every top-level module of every output distribution, and all their submodules, imports; a
   module whose import crashes the interpreter or hangs is named, and the rest still probed;
2. every module whose file lives inside a renamed copy is registered (and named) under the
   renamed name, and its public classes and functions do not claim the original name;
3. every module is loaded from the files of a distribution that provides its top-level name
   (checked against the installed RECORD files); an alias (a module registered under another
   distribution's name too, as ``requests.packages.urllib3``) must be of what that
   distribution's world imports;
4. importing a renamed copy or a rewritten consumer never pulls in an unrenamed name that its
   world maps elsewhere (a plain import made by a distribution whose world maps that name to
   the primary is correct, and not reported);
5. every public class of a renamed copy's compiled modules is made with no arguments and pickled,
   each in a child process: a class whose making crashes is named with how, and the rest still
   made; an instance that ``pickle.dumps`` cannot write by name is a leak.
Every finding is fatal unless the original wheels of its world show it the same way, renamed
(:mod:`.compare`; :mod:`.judge` asks them, in a second environment built only when needed):
then it is "same in original". This package does not import the rewriter: it reads the build
report.

What runs at once: the probe server (:class:`.probe.ProbeServer`, where ``os.fork`` exists)
starts while uv fills the environment, and every probe of it is forked from it; with uv, the
sources the probes will import are compiled ahead by a process of their own
(:func:`.bytecode.compile_ahead`); the probe of everything streams its events, so that each
"alone" probe starts as soon as the renamed copies have been walked (they sort first, and are
what an alone probe imports the most of: their bytecode is written by then, once; copies with
little Python to compile do not wait), and each original world's environment is built as soon as
the first finding that needs it is seen, unless what its original does is known from before
(:class:`.judge.Verdicts`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from mvpy_vendor.cache import default_cache_dir
from mvpy_vendor.progress import SILENT, Reporter
from mvpy_vendor.report import Report, ReportOutput

from . import compare
from .bytecode import BytecodeStore, compile_ahead
from .compare import Names, Suspect
from .environment import Installer, find_installer, site_dirs
from .findings import Finding, Group, group
from .judge import OriginalWorlds, Verdicts, judge
from .probe import ProbeResult, ProbeServer, can_fork, run_probe

__all__ = ["Finding", "Group", "VerifyOptions", "VerifyResult", "verify_wheelhouse"]


@dataclass(frozen=True)
class VerifyOptions:
    #: seconds an import may make no progress before it is called hung (setting ``timeout``)
    timeout: float = 120.0
    #: "auto" (uv where available), "uv" or "pip" (setting ``installer``)
    installer: str = "auto"
    #: uv's cache and the wheels it installs from, under ``<cache_dir>/verify`` (None: no cache)
    cache_dir: Path | None = field(default_factory=default_cache_dir)


@dataclass(frozen=True)
class VerifyResult:
    """Every finding, and how much was looked at."""

    findings: tuple[Finding, ...]
    modules_imported: int
    distributions: int
    installer: str = "pip"

    @property
    def ok(self) -> bool:
        return not any(f.fatal for f in self.findings)

    @property
    def groups(self) -> tuple[Group, ...]:
        return group(self.findings)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "distributions": self.distributions,
            "modules_imported": self.modules_imported,
            "problems": sum(f.fatal for f in self.findings),
            "installer": self.installer,
            "groups": [g.to_json() for g in self.groups],
        }


class _House:
    """What the report says about who provides and may import which names."""

    def __init__(self, report: Report) -> None:
        self.report = report
        self.outputs = report.outputs
        self.owner: dict[str, ReportOutput] = {t: o for o in self.outputs for t in o.top_level}
        # renamed top-level name -> the original it replaces
        self.renamed = {
            new: old for o in self.outputs if o.renamed for old, new in o.import_map.items() if new in o.top_level
        }
        self.owners = {
            t: sorted({canonicalize_name(o.distribution) for o in self.outputs if t in o.top_level}) for t in self.owner
        }
        # top-level name -> the import map of its world (a name not in it is imported as it is)
        self.maps = {t: dict(o.import_map) for t, o in self.owner.items()}
        # importer top-level name -> the plain names it must not import
        self.forbidden = {t: _forbidden(o) for o in self.outputs for t in o.top_level if _forbidden(o)}

    def output_of(self, module: str) -> ReportOutput | None:
        return self.owner.get(module.partition(".")[0])

    def names_of(self, output: ReportOutput | None) -> Names:
        """How ``output``'s names are renamed (none: no renaming), as its code sees them."""
        return Names.of_output(output) if output is not None else Names({})

    def crashed(self, module: str, how: str) -> Suspect:
        out = self.output_of(module)
        return compare.crashed(out, self.names_of(out), module, how)

    def failed(self, module: str, error: str) -> Suspect:
        out = self.output_of(module)
        return compare.failed(out, self.names_of(out), module, error)

    def legit(self, name: str, importers: Sequence[str]) -> bool:
        """Every import of ``name`` came from Python code of a distribution whose world maps it to the primary."""
        tops = [i.partition(".")[0] for i in importers]
        return bool(tops) and all(t in self.owner and name not in self.forbidden.get(t, ()) for t in tops)


def _forbidden(out: ReportOutput) -> list[str]:
    return sorted(old for old, new in out.import_map.items() if old != new)


def verify_wheelhouse(
    wheelhouse: Path, reporter: Reporter = SILENT, options: VerifyOptions | None = None
) -> VerifyResult:
    """Install ``wheelhouse`` offline into a fresh environment and check imports, provenance and isolation."""
    options = options or VerifyOptions()
    cache = options.cache_dir / "verify" if options.cache_dir else None
    installer = find_installer(options.installer, cache)
    result, written = _verify(wheelhouse, reporter, options, installer)
    if cache is not None and written:
        # imported code wrote into an installed file in place, hence into uv's cache, which another
        # environment of this run may have installed from: drop the cache, verify again without it
        reporter.step(f"{written[0]} was written in place, into uv's cache: verifying again without the cache")
        shutil.rmtree(cache / "uv", ignore_errors=True)
        result, _ = _verify(wheelhouse, reporter, options, find_installer(options.installer))
    return result


def _verify(
    wheelhouse: Path, reporter: Reporter, options: VerifyOptions, installer: Installer
) -> tuple[VerifyResult, list[str]]:
    """The result, and the installed files shared with uv's cache that were written meanwhile."""
    house = _House(Report.load(wheelhouse))
    with contextlib.ExitStack() as stack:
        # the pool's tasks are processes to wait for (never each other): the cores decide the rest
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mvpy-verify-")))
        pool = stack.enter_context(ThreadPoolExecutor(16))
        reporter.step(f"creating a fresh virtual environment ({installer.kind})")
        python = installer.make_venv(work / "venv")
        # it imports the standard library only, so it starts while the environment is filled
        server = stack.enter_context(ProbeServer(python, work / "server")) if can_fork() else None
        reporter.step(f"installing the wheelhouse with {installer.kind}, offline")
        installer.install(python, house=wheelhouse)
        sites = site_dirs(python)
        bytecode = BytecodeStore(installer.cache / "bytecode") if installer.linked and installer.cache else None
        if bytecode is not None:
            bytecode.place(sites)
        # uv writes no bytecode: what the probe will import and finds none for is compiled meanwhile
        ahead = compile_ahead(python, sites, sorted(house.owner)) if installer.kind == "uv" else None
        if ahead is not None:
            stack.callback(_end, ahead)
        reporter.step("importing every module of every distribution")
        spec = {
            "modules": sorted(house.owner),
            "renamed": house.renamed,
            "owners": house.owners,
            "maps": house.maps,
            "site_dirs": sites,
            "construct": True,
            "timeout": options.timeout,
        }
        alone = [o for o in house.outputs if _forbidden(o)]
        for o in alone:
            reporter.step(f"checking that {o.distribution} imports no unrenamed {', '.join(_forbidden(o))}")
        verdicts = Verdicts(house.report, options.cache_dir, installer.kind)
        worlds = OriginalWorlds(house.report, installer, work, pool, bytecode, verdicts)
        separate: dict[int, Future[ProbeResult]] = {}
        walked: set[str] = set()
        lock = threading.Lock()
        # renamed copies worth waiting for: compiling them twice costs more than waiting
        copies = set(house.renamed) if _python_bytes(sites, house.renamed) > _COMPILE_ONCE else set()

        def start_alone(final: bool) -> None:
            with lock:
                for i, o in enumerate(alone):
                    if i not in separate and (final or walked.issuperset(copies & set(o.top_level) or copies)):
                        job = (house, o, python, sites, work / f"probe-{i}", options.timeout, server)
                        separate[i] = pool.submit(_alone, *job)

        def on_event(event: dict[str, Any]) -> None:
            # a suspect is seen: its original world will be needed (unless its answer is known)
            kind = event.get("event")
            if kind == "walked":
                walked.add(str(event["module"]))
                start_alone(final=False)
            elif kind == "failed":
                worlds.prepare_for(house.failed(str(event["module"]), str(event.get("error", ""))))
            elif kind == "crashed":
                worlds.prepare_for(house.crashed(str(event["module"]), str(event["how"])))
            elif kind in ("scanned", "made"):
                for s in _scanned(house, event):
                    worlds.prepare_for(s)

        if not copies:
            start_alone(final=False)  # nothing worth waiting for
        everything = run_probe(python, spec, work / "probe-all", options.timeout, on_event=on_event, server=server)
        if ahead is not None:
            _end(ahead)  # what it has not compiled yet, nothing needs any more
        start_alone(final=True)
        alone_results = [(o, separate[i].result()) for i, o in enumerate(alone)]
        found = everything.report
        suspects = [house.crashed(c.module, c.how) for c in everything.crashes]
        suspects += _scanned(house, found)
        failures: dict[str, str] = found["failures"]
        suspects += [house.failed(module, error) for module, error in sorted(failures.items())]
        for o, result in alone_results:
            suspects += _alone_suspects(house, o, result, failures)
        if bytecode is not None and installer.linked is not None:
            # its probes are over: what they compiled serves the original worlds' probes too
            bytecode.harvest(sites, installer.linked.unchanged)
        findings = judge(suspects, worlds, options.timeout, reporter)
        pool.shutdown()  # every environment is still there: were any of their cached files written?
        written = installer.linked.changed() if installer.linked is not None else []
        if bytecode is not None and installer.linked is not None and not written:
            for env in worlds.pythons:
                bytecode.harvest(site_dirs(env), installer.linked.unchanged)
    return VerifyResult(tuple(findings), len(found["imported"]), len(house.outputs), installer.kind), written


def _end(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()


#: bytes of Python source in the renamed copies above which alone probes wait for their bytecode
_COMPILE_ONCE = 256 * 1024


def _python_bytes(sites: Sequence[str], tops: Iterable[str]) -> int:
    total = 0
    for site in sites:
        for top in tops:
            for root, _, names in os.walk(os.path.join(site, top)):
                total += sum(os.path.getsize(os.path.join(root, n)) for n in names if n.endswith(".py"))
    return total


def _scanned(house: _House, found: Mapping[str, Any]) -> list[Suspect]:
    """The suspects of what the probe's scan of ``sys.modules`` and its classes found (``found``:
    its report, or an event holding some of it)."""
    suspects = []
    for leak in found.get("leaks", ()):
        out = house.owner[leak["owner"]]
        suspects.append(compare.leaked(out, house.names_of(out), leak))
    for item in found.get("objects", ()):
        out = house.owner[item["owner"]]
        if item["kind"] == "module":
            suspects.append(compare.claimed(out, item))
        else:
            suspects.append(compare.made(out, house.names_of(out), item))
    for item in found.get("provenance", ()):
        owner = house.output_of(item["key"])
        suspects.append(compare.misplaced(owner, house.names_of(owner), item))
    return suspects


def _alone(
    house: _House,
    out: ReportOutput,
    python: Path,
    site_dirs: list[str],
    work: Path,
    timeout: float,
    server: ProbeServer | None,
) -> ProbeResult:
    """Import one renamed copy or rewritten consumer alone, without ``site`` (no ``.pth`` hook runs first)."""
    spec = {
        "modules": list(out.top_level),
        "renamed": house.renamed,
        "maps": house.maps,
        "forbidden": house.forbidden,
        "watch": _forbidden(out),
        "site_dirs": site_dirs,
    }
    return run_probe(python, spec, work, timeout, bare=True, server=server)


def _alone_suspects(house: _House, out: ReportOutput, alone: ProbeResult, failures: Mapping[str, str]) -> list[Suspect]:
    """What importing ``out`` alone did that importing everything did not: crashes, failures, and
    the unrenamed names its world maps elsewhere that it pulled in."""
    suspects = [house.crashed(c.module, c.how) for c in alone.crashes if c.module in out.top_level]
    report = alone.report
    for module in out.top_level:
        if module in report["failures"] and module not in failures:
            suspects.append(house.failed(module, report["failures"][module]))
    registered = {leak["key"] for leak in report["leaks"]}  # found, and reported, as leaks already
    for key in report["loaded"]:
        top = key.partition(".")[0]
        if key in registered or house.legit(top, report["pulled"].get(top, ())):
            continue
        suspects.append(compare.pulled(out, key))
    return suspects
