"""``mvpy-vendor verify``: install a wheelhouse in a fresh environment and check isolation."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from .console import Console, table

if TYPE_CHECKING:
    from mvpy_vendor.verify import VerifyOptions

__all__ = ["add_options", "report_verify", "run"]

#: examples shown per group in the table (``-v`` shows every finding)
_EXAMPLES = 3


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="how long an import may make no progress before it is reported as hung (default: 120)",
    )
    parser.add_argument(
        "--installer",
        choices=("auto", "uv", "pip"),
        default="auto",
        help="what makes and fills the environments (default: uv if available, else pip)",
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="use no cache: install without uv's, compile afresh, probe original wheels again (all keyed by content)",
    )
    parser.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="keep verify's cache under DIR/verify (default: MVPY_VENDOR_CACHE_DIR, else the user cache directory)",
    )


def options_of(args: argparse.Namespace) -> VerifyOptions:
    from mvpy_vendor.cache import default_cache_dir
    from mvpy_vendor.verify import VerifyOptions

    cache = None if args.no_cache else Path(args.cache_dir) if args.cache_dir else default_cache_dir()
    return VerifyOptions(timeout=args.timeout, installer=args.installer, cache_dir=cache)


def run(args: argparse.Namespace, console: Console) -> int:
    return report_verify(Path(args.wheelhouse), console, options_of(args), as_json=args.json)


def report_verify(wheelhouse: Path, console: Console, options: VerifyOptions, *, as_json: bool = False) -> int:
    """Verify ``wheelhouse`` and print the findings, grouped by cause; the exit code."""
    from mvpy_vendor.verify import verify_wheelhouse

    result = verify_wheelhouse(wheelhouse, reporter=console, options=options)
    console.end_steps()
    if as_json:
        console.out.write(json.dumps(result.to_json(), indent=2) + "\n")
        return 0 if result.ok else 1
    if result.findings and console.verbosity > 0:
        rows = [["finding", "distribution", "module", "detail"]]
        rows += [[f.kind, f.distribution, f.module, f.detail] for f in result.findings]
        console.info(table(rows))
    elif result.findings:
        rows = [["finding", "distribution", "count", "cause", "examples"]]
        for g in result.groups:
            shown = ", ".join(f.module for f in g.findings[:_EXAMPLES])
            more = f" (+{len(g.findings) - _EXAMPLES} more)" if len(g.findings) > _EXAMPLES else ""
            rows.append([g.kind, g.distribution, str(len(g.findings)), g.cause, shown + more])
        console.info(table(rows))
    verdict = "verify: OK" if result.ok else "verify: FAILED"
    console.info(
        f"{verdict}: {result.distributions} distributions, {result.modules_imported} modules imported, "
        f"{sum(f.fatal for f in result.findings)} problems"
    )
    return 0 if result.ok else 1
