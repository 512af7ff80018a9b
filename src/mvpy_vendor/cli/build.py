"""``mvpy-vendor build``: fill in a request from the options, plan, apply, print the summary."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mvpy_vendor.errors import ConfigError
from mvpy_vendor.options import NativePolicy
from mvpy_vendor.outcome import Status

from .console import Console, flag, table, write_atomic

if TYPE_CHECKING:
    from mvpy_vendor.report import OutputResult

__all__ = ["POLICIES", "run"]

POLICIES = tuple(p.value for p in NativePolicy)


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, not {text!r}")
    return value


def _policies(texts: Sequence[str]) -> dict[str, NativePolicy]:
    found = {}
    for text in texts:
        dist, sep, policy = text.partition("=")
        if not sep or not dist or policy not in POLICIES:
            expected = f"expected DIST=POLICY, POLICY one of {', '.join(POLICIES)}"
            raise ConfigError(expected, setting="native-for", value=text)
        found[dist] = NativePolicy(policy)
    return found


def _deaccelerated(result: OutputResult, shown: int = 3) -> str:
    """``1 compiled module replaced by its Python source (slower): pkg/_c...so``, or ''."""
    dropped = [f.member for f in result.files if f.status is Status.DEACCELERATED]
    if not dropped:
        return ""
    n = len(dropped)
    listed = ", ".join(dropped[:shown]) + (f" and {n - shown} more (see the report)" if n > shown else "")
    what = "1 compiled module replaced by its" if n == 1 else f"{n} compiled modules replaced by their"
    return f"{what} Python source (slower): {listed}"


def run(args: argparse.Namespace, console: Console) -> int:
    from mvpy_vendor.apply import apply_plan
    from mvpy_vendor.cache import Cache, default_cache_dir
    from mvpy_vendor.options import ApplyOptions, BuildRequest
    from mvpy_vendor.planning.planner import plan_build

    request = BuildRequest(
        wheels=[Path(p) for p in args.wheels],
        requires=args.require,
        primaries=args.primary,
        rename=args.rename,
        options=ApplyOptions(
            allow_unparsable=args.allow_unparsable,
            jobs=args.jobs,
            native_policy=NativePolicy(args.native),
            native_policy_for=_policies(args.native_for),
            accept_native_leaks=args.accept_native_leak,
            keep_strings=args.keep_strings,
        ),
        cache=None if args.no_cache else Cache(Path(args.cache_dir) if args.cache_dir else default_cache_dir()),
    )
    plan = plan_build(request)
    if args.plan_only:
        text = json.dumps(plan.to_json(), indent=2) + "\n"
        if args.report:
            write_atomic(Path(args.report), text)
        console.out.write(text)
        return 0
    result = apply_plan(plan, Path(args.out), request.options, reporter=console, cache=request.cache)
    if args.report:
        write_atomic(Path(args.report), json.dumps(result.to_json(), indent=2) + "\n")
    by_key = {r.output.key: r for r in result.outputs}
    rows = [["distribution", "version", "world", "role", "installed as", "rewritten", "strings", "diagnostics"]]
    counted: set[str] = set()
    for p in plan.placements:
        r = by_key[p.output]
        first = p.output not in counted
        counted.add(p.output)
        rows.append(
            [
                p.name,
                str(p.version),
                str(p.world),
                p.role.value,
                r.output.display_name,
                str(r.rewritten) if first and r.output.action != "copy" else "-",
                str(r.strings) if first and r.output.action != "copy" else "-",
                str(r.diagnostics) if first and r.output.action != "copy" else "-",
            ]
        )
    console.info(table(rows))
    for r in result.outputs:
        for f in r.files:
            for d in f.diagnostics:
                console.detail(f"{r.output.filename}: {f.member}:{d.line}: {d.message}")
            for s in f.strings:
                console.detail(f"{r.output.filename}: {f.member}:{s.line}: string {s.old!r} relocated to {s.new!r}")
        for w in r.warnings:
            console.info(f"warning: {r.output.filename}: {w.render(flag, wheel=False)}")
        for dropped in r.dropped:
            console.detail(f"{r.output.filename}: dropped {dropped}")
    for r in result.outputs:
        slower = _deaccelerated(r)
        if slower:
            console.info(f"note: {r.output.display_name}: {slower}")
    for note in plan.notes:
        console.info(f"note: {note}")
    for wheel, why in plan.ignored:
        console.detail(f"not used: {wheel}: {why}")
    total = sum(r.diagnostics for r in result.outputs)
    cached = sum(r.cached for r in result.outputs)
    console.info(
        f"wrote {len(result.outputs)} wheels to {args.out}"
        + (f" ({cached} from the cache)" if cached else "")
        + (f"; {total} diagnostics (see -v or the report)" if total else "")
    )
    if args.verify:
        from mvpy_vendor.verify import VerifyOptions

        from .verify import report_verify

        cache = None if args.no_cache else Path(args.cache_dir) if args.cache_dir else default_cache_dir()
        return report_verify(Path(args.out), console, VerifyOptions(cache_dir=cache))
    return 0
