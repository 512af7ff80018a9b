"""Judging against the original wheels: a failure is only excused if the original fails the same way.

A module that fails to import (top-level or submodule: ``blackd`` without ``black[d]``'s aiohttp
fails either way), or a compiled class that fails to pickle, is probed again in an environment
holding that world's original wheels (built only when something needs it). It is "fails in
original too", and not fatal, only if the original module exists there and fails too; a module
that the original does not have at all is a real failure (a renamed namespace that serves
another distribution's files looks like that).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from mvpy_vendor.progress import Reporter
from mvpy_vendor.report import Report, ReportOutput

from .environment import Installer
from .findings import ALSO_ORIGINAL, FAILED, LEAK, Finding, error_cause
from .probe import run_probe

__all__ = ["Suspect", "judge"]


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


def judge(
    suspects: Sequence[Suspect], report: Report, installer: Installer, work: Path, timeout: float, reporter: Reporter
) -> list[Finding]:
    findings: list[Finding] = []
    by_world: dict[int, list[Suspect]] = {}
    for s in suspects:
        if s.output is None:
            findings.append(_fatal(s))  # nothing to compare
        else:
            by_world.setdefault(s.output.worlds[0], []).append(s)
    checks = []
    for world, items in sorted(by_world.items()):
        wheels = _original_wheels(report.worlds[world], report)
        if wheels is None:
            findings += [_fatal(s, " (original wheels not available to compare)") for s in items]
        else:
            reporter.step(f"checking {len(items)} finding(s) against the original wheels of world {world}")
            checks.append((world, items, wheels))
    with ThreadPoolExecutor(max(2, os.cpu_count() or 1)) as pool:  # one environment per world, at once
        results = pool.map(lambda c: _original_world(c[0], c[1], c[2], installer, work, timeout), checks)
        for (_, items, _), result in zip(checks, results):
            for s in items:
                original = s.original()
                if s.failed:
                    same = original in result["failures"] and result["exists"].get(original, False)
                else:
                    same = result["pickling"].get(original) not in (None, "missing")
                findings.append(_also_original(s) if same else _fatal(s))
    return findings


def _original_world(
    world: int, items: Sequence[Suspect], wheels: Sequence[Path], installer: Installer, work: Path, timeout: float
) -> dict[str, Any]:
    """Probe the original names of ``items`` in an environment of world ``world``'s original wheels."""
    python = installer.make_venv(work / f"original-{world}")
    installer.install(python, ["--no-deps", *map(str, wheels)])
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
