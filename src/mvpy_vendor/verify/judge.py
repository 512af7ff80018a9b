"""Judging against the original wheels: a failure is only excused if the original fails the same way.

A module that fails to import (top-level or submodule: ``blackd`` without ``black[d]``'s aiohttp
fails either way), or a compiled class that fails to pickle, is probed again in an environment
holding that world's original wheels (built only when something needs it: as soon as the
first failure of that world is seen, while the rest is still being probed). It is "fails in
original too", and not fatal, only if the original module exists there and fails too; a module
that the original does not have at all is a real failure (a renamed namespace that serves
another distribution's files looks like that).
"""

from __future__ import annotations

import functools
import os
import sys
import sysconfig
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from mvpy_vendor.cache import Cache, cache_key
from mvpy_vendor.progress import Reporter
from mvpy_vendor.report import Report, ReportOutput

from .bytecode import BytecodeStore
from .environment import Installer, sha256_of, site_dirs
from .findings import ALSO_ORIGINAL, FAILED, LEAK, Finding, error_cause
from .probe import run_probe

__all__ = ["OriginalWorlds", "Suspect", "Verdicts", "judge"]


@dataclass(frozen=True)
class Suspect:
    """A failed import (``failed``) or a pickling failure of ``name`` (a module, or module.Class)."""

    name: str
    output: ReportOutput | None
    detail: str
    failed: bool = False

    def original(self) -> str:
        """The same name in the original distribution."""
        assert self.output is not None
        return original_name(self.output, self.name)

    @property
    def item(self) -> tuple[str, str]:
        """What is asked of the original world: ("import", module) or ("pickle", module.Class)."""
        return ("import" if self.failed else "pickle", self.original())


def original_name(output: ReportOutput, name: str) -> str:
    """``name`` (a module or module.attribute of ``output``) as the original distribution names it."""
    reverse = {new: old for old, new in output.import_map.items()}
    top, dot, rest = name.partition(".")
    return reverse.get(top, top) + dot + rest


class Verdicts:
    """What each world's original wheels did with a module or class, kept by content (None: not kept)."""

    def __init__(self, report: Report, cache_dir: Path | None, installer: str) -> None:
        self.report, self.cache_dir, self.installer = report, cache_dir, installer
        self._keys: dict[int, str | None] = {}
        self._lock = threading.Lock()

    @functools.cached_property
    def cache(self) -> Cache | None:
        # made when first needed: its fingerprint reads this tool's code
        return Cache(self.cache_dir / "verify") if self.cache_dir is not None else None

    def _world(self, world: int) -> str | None:
        with self._lock:
            if world not in self._keys:
                wheels = _original_wheels(self.report.origins[world], self.report)
                self._keys[world] = None
                if self.cache is not None and wheels is not None:
                    interpreter = [os.path.realpath(sys.executable), sys.version, sysconfig.get_platform()]
                    self._keys[world] = cache_key(interpreter, self.installer, sorted(map(sha256_of, wheels)))
            return self._keys[world]

    def get(self, world: int, item: tuple[str, str]) -> dict[str, Any] | None:
        key = self._world(world)
        if key is None or self.cache is None:
            return None
        found = self.cache.get_json("verdicts", cache_key(key, item))
        return found if isinstance(found, dict) else None

    def put(self, world: int, item: tuple[str, str], verdict: dict[str, Any]) -> None:
        key = self._world(world)
        if key is not None and self.cache is not None:
            self.cache.put_json("verdicts", cache_key(key, item), verdict)


def _fatal(s: Suspect, note: str = "") -> Finding:
    dist = s.output.distribution if s.output is not None else "?"
    if s.failed:
        return Finding(FAILED, dist, s.name, s.detail + note, cause=error_cause(s.name, s.detail))
    return Finding(LEAK, dist, s.name, s.detail + note, cause="pickling fails")


def _also_original(s: Suspect) -> Finding:
    dist = s.output.distribution if s.output is not None else "?"
    return Finding(ALSO_ORIGINAL, dist, s.name, s.detail, fatal=False, cause=error_cause(s.name, s.detail))


class OriginalWorlds:
    """Environments of each world's original wheels, each built once, when first asked for, in ``pool``."""

    def __init__(
        self,
        report: Report,
        installer: Installer,
        work: Path,
        pool: Executor,
        bytecode: BytecodeStore | None = None,
        verdicts: Verdicts | None = None,
    ) -> None:
        self.report, self.installer, self.work, self.pool = report, installer, work, pool
        self.bytecode = bytecode
        self.verdicts = verdicts or Verdicts(report, None, installer.kind)
        self.pythons: list[Path] = []
        self._built: dict[int, Future[Path] | None] = {}
        self._lock = threading.Lock()

    def prepare(self, world: int) -> Future[Path] | None:
        """The interpreter of world ``world``'s original environment, being built; None if its
        original wheels are not all available."""
        with self._lock:
            if world not in self._built:
                wheels = _original_wheels(self.report.origins[world], self.report)
                self._built[world] = None if wheels is None else self.pool.submit(self._build, world, wheels)
            return self._built[world]

    def prepare_for(self, output: ReportOutput | None, module: str) -> None:
        """Start building the world of ``output`` (a failure of ``module`` was seen), unless what
        its original does with that module is known."""
        if output is not None:
            world = output.origin
            if self.verdicts.get(world, ("import", original_name(output, module))) is None:
                self.prepare(world)

    def _build(self, world: int, wheels: Sequence[Path]) -> Path:
        python = self.installer.make_venv(self.work / f"original-{world}")
        self.installer.install(python, wheels=wheels)
        if self.bytecode is not None:
            self.bytecode.place(site_dirs(python))
        with self._lock:
            self.pythons.append(python)
        return python


def judge(suspects: Sequence[Suspect], worlds: OriginalWorlds, timeout: float, reporter: Reporter) -> list[Finding]:
    """One finding per suspect: fatal, or "fails in original too"; in the same order whatever was
    known before (by world, then as ``suspects`` lists them)."""
    findings: list[Finding] = []
    by_world: dict[int, list[Suspect]] = {}
    for s in suspects:
        if s.output is None:
            findings.append(_fatal(s))  # nothing to compare
        else:
            by_world.setdefault(s.output.origin, []).append(s)
    known: dict[int, dict[str, Any]] = {}  # id of a suspect -> what its original did
    unavailable: set[int] = set()
    checks = []
    reused = 0
    with ThreadPoolExecutor(max(1, len(by_world))) as own:  # these wait on the builds in worlds.pool
        for world, items in sorted(by_world.items()):
            for s in items:
                if (verdict := worlds.verdicts.get(world, s.item)) is not None:
                    known[id(s)] = verdict
                    reused += 1
            unknown = [s for s in items if id(s) not in known]
            if not unknown:
                continue
            built = worlds.prepare(world)
            if built is None:
                unavailable.add(world)
            else:
                where = worlds.report.describe_origin(world)
                reporter.step(f"checking {len(unknown)} finding(s) against the original wheels of {where}")
                job = (world, unknown, built, worlds.work, timeout, worlds.bytecode)
                checks.append((world, unknown, own.submit(_original_world, *job)))
        for world, unknown, probed in checks:
            result = probed.result()
            for s in unknown:
                known[id(s)] = _verdict(s, result)
                worlds.verdicts.put(world, s.item, known[id(s)])
    if reused:
        reporter.step(f"{reused} finding(s) judged by what the same original wheels did before")
    for world, items in sorted(by_world.items()):
        for s in items:
            if id(s) not in known:
                assert world in unavailable
                findings.append(_fatal(s, " (original wheels not available to compare)"))
            else:
                findings.append(_also_original(s) if known[id(s)].get("same") is True else _fatal(s))
    return findings


def _verdict(s: Suspect, result: Mapping[str, Any]) -> dict[str, Any]:
    """Whether the original did the same (failed to import, failed to pickle) as ``s``."""
    original = s.original()
    if s.failed:
        return {"same": original in result["failures"] and result["exists"].get(original, False)}
    return {"same": result["pickling"].get(original) not in (None, "missing")}


def _original_world(
    world: int,
    items: Sequence[Suspect],
    built: Future[Path],
    work: Path,
    timeout: float,
    bytecode: BytecodeStore | None,
) -> dict[str, Any]:
    """Probe the original names of ``items`` in the environment of world ``world``'s original wheels."""
    python = built.result()
    if bytecode is not None:  # what the main environment's probes compiled since it was built
        bytecode.place(site_dirs(python))
    modules = sorted({s.original() if s.failed else s.original().rpartition(".")[0] for s in items})
    objects: dict[str, list[str]] = {}
    for s in items:
        if not s.failed:
            module, _, attr = s.original().rpartition(".")
            objects.setdefault(module, []).append(attr)
    spec = {"modules": modules, "objects": objects}
    return run_probe(python, spec, work / f"original-{world}-probe", timeout).report


def _original_wheels(members: Mapping[str, str], report: Report) -> list[Path] | None:
    inputs = {path.name: path for path in report.inputs}
    sources = {(o.source_distribution.lower(), o.version): o.source_wheel for o in report.outputs}
    found = []
    for name, version in members.items():
        wheel = next((w for (n, v), w in sources.items() if v == version and canonicalize_name(n) == name), None)
        if wheel is None or wheel not in inputs or not inputs[wheel].is_file():
            return None
        found.append(inputs[wheel])
    return found
