"""Judging what failed: a failing module is fatal unless it fails with the original wheels too."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from mvpy_vendor.progress import Reporter
from mvpy_vendor.report import Report, ReportOutput

from .environment import make_venv, pip_install

__all__ = ["Finding", "judge_failures"]

_Probe = Callable[[Path, Mapping[str, Any], Path], dict[str, Any]]


@dataclass(frozen=True)
class Finding:
    kind: str
    distribution: str
    module: str
    detail: str
    fatal: bool = True


def judge_failures(
    failures: Mapping[str, str],
    owner: Mapping[str, ReportOutput],
    report: Report,
    work: Path,
    reporter: Reporter,
    probe: _Probe,
) -> list[Finding]:
    """A failing module is fatal unless it fails in that world's original wheels too (a top-level
    module needing an extra that is not installed, ``blackd`` without ``black[d]``)."""
    findings: list[Finding] = []
    by_world: dict[int, list[tuple[str, str, ReportOutput]]] = {}
    for module, error in sorted(failures.items()):
        out = owner.get(module.partition(".")[0])
        if out is None:
            findings.append(Finding("import failed", "?", module, error))
            continue
        by_world.setdefault(out.worlds[0], []).append((module, error, out))
    for world, items in sorted(by_world.items()):
        wheels = _original_wheels(report.worlds[world], report)
        if wheels is None:
            findings += [
                Finding("import failed", o.distribution, m, e + " (original wheels not available to compare)")
                for m, e, o in items
            ]
            continue
        reporter.step(f"checking {len(items)} failing module(s) against the original wheels of world {world}")
        python = make_venv(work / f"original-{world}")
        pip_install(python, ["--no-deps", *map(str, wheels)])
        originals = {}
        for module, _, out in items:
            reverse = {new: old for old, new in out.import_map.items()}
            top, dot, rest = module.partition(".")
            originals[module] = reverse.get(top, top) + dot + rest
        result = probe(python, {"modules": sorted(set(originals.values()))}, work)
        for module, error, out in items:
            same = originals[module] in result["failures"]
            kind = "fails in original too" if same else "import failed"
            findings.append(Finding(kind, out.distribution, module, error, fatal=not same))
    return findings


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
