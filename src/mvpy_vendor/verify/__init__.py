"""Verify a wheelhouse: install it offline into a fresh virtual environment and probe isolation.

Checks, each in a fresh interpreter:
1. every top-level module of every output distribution, and all their submodules, imports;
2. every module whose file lives inside a renamed copy is registered (and named) under the
   renamed name;
3. importing a renamed copy or a rewritten consumer never pulls in an unrenamed name that its
   world maps elsewhere.
A module that fails to import is fatal unless the same module fails in the original wheels
too (checked in a second environment holding that world's original wheels, :mod:`.judge`).
This package does not import the rewriter: it reads the build report (:mod:`mvpy_vendor.report`).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mvpy_vendor.progress import SILENT, Reporter
from mvpy_vendor.report import Report, ReportOutput

from .environment import make_venv, pip_install, run
from .judge import Finding, judge_failures

__all__ = ["Finding", "VerifyResult", "verify_wheelhouse"]

_PROBE = Path(__file__).with_name("_probe.py")


@dataclass(frozen=True)
class VerifyResult:
    """Every finding, and how much was looked at."""

    findings: tuple[Finding, ...]
    modules_imported: int
    distributions: int

    @property
    def ok(self) -> bool:
        return not any(f.fatal for f in self.findings)


def probe(python: Path, spec: Mapping[str, Any], work: Path) -> dict[str, Any]:
    """Run the probe in a fresh interpreter; with ``site_dirs`` in ``spec``, without ``site``
    (so that no .pth hook imports anything first)."""
    spec_file = work / "probe-spec.json"
    spec_file.write_text(json.dumps(spec), encoding="utf-8")
    flags = ["-I", "-S"] if "site_dirs" in spec else ["-I"]
    out = run([str(python), *flags, str(_PROBE), str(spec_file)], "probe")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def verify_wheelhouse(wheelhouse: Path, reporter: Reporter = SILENT) -> VerifyResult:
    """Install ``wheelhouse`` offline into a fresh environment and check imports and isolation."""
    report = Report.load(wheelhouse)
    outputs = report.outputs
    # renamed top-level name -> the original it replaces
    renamed = {
        new: old for o in outputs if o.renamed for old, new in o.import_map.items() if new in o.top_level
    }  # fmt: skip
    findings: list[Finding] = []
    with tempfile.TemporaryDirectory(prefix="mvpy-verify-") as tmp:
        work = Path(tmp)
        reporter.step("creating a fresh virtual environment")
        python = make_venv(work / "venv")
        reporter.step("installing the wheelhouse with pip, offline")
        pip_install(python, ["--find-links", str(wheelhouse), "-r", str(wheelhouse / "requirements.txt")])
        owner: dict[str, ReportOutput] = {t: o for o in outputs for t in o.top_level}
        reporter.step("importing every module of every distribution")
        everything = probe(python, {"modules": sorted(owner), "renamed": renamed}, work)
        imported = len(everything["imported"])
        findings += [
            Finding("leak", _dist_of(owner, leak["owner"]), leak["key"], leak["what"]) for leak in everything["leaks"]
        ]
        failures: dict[str, str] = everything["failures"]
        for o in outputs:
            forbidden = sorted(old for old, new in o.import_map.items() if old != new)
            if not forbidden:
                continue
            reporter.step(f"checking that {o.distribution} imports no unrenamed {', '.join(forbidden)}")
            spec = {
                "modules": list(o.top_level),
                "renamed": renamed,
                "forbidden": forbidden,
                "site_dirs": everything["site_dirs"],
            }
            alone = probe(python, spec, work)
            for module in o.top_level:
                if module in alone["failures"] and module not in failures:
                    findings.append(Finding("import failed", o.distribution, module, alone["failures"][module]))
            for key in alone["pulled"]:
                findings.append(
                    Finding("pulls unrenamed", o.distribution, key, f"importing {o.distribution} loaded {key}")
                )
        if failures:
            findings += judge_failures(failures, owner, report, work, reporter, probe)
    return VerifyResult(tuple(findings), imported, len(outputs))


def _dist_of(owner: Mapping[str, ReportOutput], module: str) -> str:
    out = owner.get(module.partition(".")[0])
    return out.distribution if out is not None else "?"
