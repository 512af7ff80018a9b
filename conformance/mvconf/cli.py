"""``python conformance/run.py``: run the targets, write RESULTS.md and the JSON; exit 0 only when all is explained."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .config import MODES, ConfigError, load_expected, load_target, target_names
from .fetch import HarnessError
from .pytest_run import netns_available
from .report import (
    diff_results,
    load_outcomes,
    load_results,
    mode_ok,
    outcome_maps,
    reapply_expected,
    render_markdown,
    target_json,
    write_atomic,
    write_target_json,
)
from .store import Store
from .suite import run_target
from .tool import ToolError, find_tool

HERE = Path(__file__).resolve().parent.parent
TARGETS = HERE / "targets"
RESULTS = HERE / "results"
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mvpy-conformance"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python conformance/run.py", description=__doc__)
    p.add_argument("--only", nargs="+", metavar="TARGET", help="run these targets (default: all)")
    p.add_argument("--mode", choices=MODES, action="append", help="run this mode only (repeatable; default: both)")
    p.add_argument(
        "--tool", metavar="PATH", help="the mvpy-vendor to measure: a checkout or its src, or a Python that has it"
    )
    p.add_argument(
        "--cache", type=Path, default=DEFAULT_CACHE, help=f"downloads, builds, environments (default: {DEFAULT_CACHE})"
    )
    p.add_argument(
        "--results", type=Path, default=RESULTS, help="where the per-target JSON goes (default: conformance/results)"
    )
    p.add_argument(
        "--markdown",
        type=Path,
        help="the RESULTS.md to write (default: conformance/RESULTS.md for the default results)",
    )
    p.add_argument("--refresh", action="store_true", help="download the newest releases again")
    p.add_argument(
        "--rerun-baseline", action="store_true", help="run the baseline even when an earlier one had the same inputs"
    )
    p.add_argument(
        "--allow-network",
        action="store_true",
        help="run the suites where 'unshare --net' is not allowed (they can then reach the network)",
    )
    p.add_argument(
        "--reapply-expected",
        action="store_true",
        help="apply the expected lists as they are now to the stored results (no run) and rewrite RESULTS.md",
    )
    p.add_argument("--list", action="store_true", help="list the targets and exit")
    p.add_argument(
        "--snapshot", metavar="NAME", help="copy the current results and RESULTS.md to results/NAME/ and exit"
    )
    p.add_argument(
        "--diff", nargs="+", metavar="DIR", help="compare the results in DIR with the current ones (or a second DIR)"
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    markdown = args.markdown or (HERE / "RESULTS.md" if args.results == RESULTS else args.results / "RESULTS.md")
    names = target_names(TARGETS)
    if args.list:
        print("\n".join(names))
        return 0
    if args.snapshot:
        dest = RESULTS / args.snapshot
        dest.mkdir(parents=True, exist_ok=True)
        for path in [*args.results.glob("*.json"), *args.results.glob("*.outcomes.json.gz")]:
            shutil.copyfile(path, dest / path.name)
        (dest / "RESULTS.md").write_text(render_markdown(load_results(dest), f"Conformance results: {args.snapshot}"))
        print(f"wrote {dest}")
        return 0
    if args.diff:
        if len(args.diff) > 2:
            print("error: --diff takes one or two directories", file=sys.stderr)
            return 2
        after = Path(args.diff[1]) if len(args.diff) == 2 else args.results
        print(diff_results(load_results(Path(args.diff[0])), load_results(after)))
        return 0
    if args.reapply_expected:
        for name, data in load_results(args.results).items():
            if name in names:
                reapply_expected(data, load_expected(load_target(TARGETS / f"{name}.toml")))
                write_atomic(
                    args.results / f"{name}.json", (json.dumps(data, indent=1, sort_keys=True) + "\n").encode()
                )
        write_atomic(markdown, render_markdown(load_results(args.results)).encode())
        print(f"wrote {markdown}")
        return 0
    unknown = sorted(set(args.only or ()) - set(names))
    if unknown:
        print(f"error: no such target: {', '.join(unknown)} (see --list)", file=sys.stderr)
        return 2
    try:
        targets = [load_target(TARGETS / f"{n}.toml") for n in (args.only or names)]
        tool = find_tool(args.tool, HERE.parent / "src")
    except (ConfigError, ToolError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    netns = netns_available()
    if not netns and not args.allow_network:
        print(
            "error: cannot make a network namespace (unshare --net); the suites would reach the network "
            "(--allow-network runs them anyway)",
            file=sys.stderr,
        )
        return 2
    modes = tuple(args.mode or MODES)
    store = Store(args.cache)
    os.nice(5)  # 2 shared cores: every step below, and its children, yields to interactive work
    print(
        f"mvpy-vendor {tool.commit} ({tool.package_parent}); {len(targets)} targets; modes {', '.join(modes)}",
        flush=True,
    )
    failed = 0
    for index, target in enumerate(targets, 1):
        began = time.monotonic()

        def say(text: str, name: str = target.name, index: int = index, began: float = began) -> None:
            print(f"[{index}/{len(targets)} {name} {time.monotonic() - began:6.0f}s] {text}", flush=True)

        try:
            result = run_target(
                target,
                tool,
                store,
                modes,
                say,
                refresh=args.refresh,
                rerun_baseline=args.rerun_baseline,
                netns=netns,
            )
        except (HarnessError, ConfigError, OSError) as exc:
            say(f"FAILED: {exc}")
            failed += 1
            continue
        previous = load_results(args.results).get(target.name)
        data = target_json(result, tool, previous)
        write_target_json(args.results, data, outcome_maps(result, load_outcomes(args.results, target.name)))
        write_atomic(markdown, render_markdown(load_results(args.results)).encode())
        bad = [m for m, d in data["modes"].items() if m in modes and not d["ok"]]
        failed += bool(bad)
        say(f"done in {result.wall:.0f} s: " + ("ok" if not bad else f"NOT OK in {', '.join(bad)}"))
    every = load_results(args.results)
    print(f"wrote {markdown}")
    stale = [n for n, d in every.items() if n in names and not all(mode_ok(m) for m in d["modes"].values())]
    if stale:
        print(f"not conforming: {', '.join(sorted(stale))}")
    return 1 if failed else 0
