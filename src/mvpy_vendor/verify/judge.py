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

import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from mvpy_vendor.progress import Reporter
from mvpy_vendor.report import Report, ReportOutput

from .bytecode import BytecodeStore
from .environment import Installer, site_dirs
from .findings import ALSO_ORIGINAL, FAILED, LEAK, Finding, error_cause
from .probe import run_probe

__all__ = ["OriginalWorlds", "Suspect", "judge"]


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
        reverse = {new: old for old, new in self.output.import_map.items()}
        top, dot, rest = self.name.partition(".")
        return reverse.get(top, top) + dot + rest


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
        self, report: Report, installer: Installer, work: Path, pool: Executor, bytecode: BytecodeStore | None = None
    ) -> None:
        self.report, self.installer, self.work, self.pool = report, installer, work, pool
        self.bytecode = bytecode
        self.pythons: list[Path] = []
        self._built: dict[int, Future[Path] | None] = {}
        self._lock = threading.Lock()

    def prepare(self, world: int) -> Future[Path] | None:
        """The interpreter of world ``world``'s original environment, being built; None if its
        original wheels are not all available."""
        with self._lock:
            if world not in self._built:
                wheels = _original_wheels(self.report.worlds[world], self.report)
                self._built[world] = None if wheels is None else self.pool.submit(self._build, world, wheels)
            return self._built[world]

    def prepare_for(self, output: ReportOutput | None) -> None:
        if output is not None:
            self.prepare(output.worlds[0])

    def _build(self, world: int, wheels: Sequence[Path]) -> Path:
        python = self.installer.make_venv(self.work / f"original-{world}")
        self.installer.install(python, wheels=wheels)
        if self.bytecode is not None:
            self.bytecode.place(site_dirs(python))
        with self._lock:
            self.pythons.append(python)
        return python


def judge(suspects: Sequence[Suspect], worlds: OriginalWorlds, timeout: float, reporter: Reporter) -> list[Finding]:
    findings: list[Finding] = []
    by_world: dict[int, list[Suspect]] = {}
    for s in suspects:
        if s.output is None:
            findings.append(_fatal(s))  # nothing to compare
        else:
            by_world.setdefault(s.output.worlds[0], []).append(s)
    checks = []
    with ThreadPoolExecutor(max(1, len(by_world))) as own:  # these wait on the builds in worlds.pool
        for world, items in sorted(by_world.items()):
            built = worlds.prepare(world)
            if built is None:
                findings += [_fatal(s, " (original wheels not available to compare)") for s in items]
            else:
                reporter.step(f"checking {len(items)} finding(s) against the original wheels of world {world}")
                checks.append((items, own.submit(_original_world, world, items, built, worlds.work, timeout)))
        results = [(items, probed.result()) for items, probed in checks]
    for items, result in results:
        for s in items:
            original = s.original()
            if s.failed:
                same = original in result["failures"] and result["exists"].get(original, False)
            else:
                same = result["pickling"].get(original) not in (None, "missing")
            findings.append(_also_original(s) if same else _fatal(s))
    return findings


def _original_world(
    world: int, items: Sequence[Suspect], built: Future[Path], work: Path, timeout: float
) -> dict[str, Any]:
    """Probe the original names of ``items`` in the environment of world ``world``'s original wheels."""
    python = built.result()
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
