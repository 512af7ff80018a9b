"""``mvpy-vendor verify``: install a wheelhouse in a fresh environment and check isolation."""

from __future__ import annotations

import argparse
from pathlib import Path

from .console import Console, table

__all__ = ["report_verify", "run"]


def run(args: argparse.Namespace, console: Console) -> int:
    return report_verify(Path(args.wheelhouse), console)


def report_verify(wheelhouse: Path, console: Console) -> int:
    """Verify ``wheelhouse`` and print the findings; the exit code."""
    from mvpy_vendor.verify import verify_wheelhouse

    result = verify_wheelhouse(wheelhouse, reporter=console)
    console.end_steps()
    if result.findings:
        rows = [["finding", "distribution", "module", "detail"]]
        rows += [[f.kind, f.distribution, f.module, f.detail] for f in result.findings]
        console.info(table(rows))
    verdict = "verify: OK" if result.ok else "verify: FAILED"
    console.info(
        f"{verdict}: {result.distributions} distributions, {result.modules_imported} modules imported, "
        f"{sum(f.fatal for f in result.findings)} problems"
    )
    return 0 if result.ok else 1
