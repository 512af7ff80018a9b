"""Command line: ``mvpy-vendor build`` and ``mvpy-vendor verify``. The only module that prints."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from . import __version__
from .errors import ConfigError, MvpyError

__all__ = ["main"]


class _Console:
    def __init__(self, verbosity: int, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.verbosity = verbosity
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.live = self.err.isatty() and not os.environ.get("CI") and verbosity >= 0

    def info(self, text: str) -> None:
        if self.verbosity >= 0:
            print(text, file=self.out)

    def detail(self, text: str) -> None:
        if self.verbosity > 0:
            print(text, file=self.out)

    def error(self, text: str) -> None:
        for line in text.splitlines() or [""]:
            print(f"mvpy-vendor: error: {line}", file=self.err)

    def progress(self, done: int, total: int, label: str) -> None:
        if not self.live:
            return
        line = f"[{done}/{total}] {label}" if label else ""
        print(f"\r\033[K{line}", end="", file=self.err, flush=True)

    def step(self, text: str) -> None:
        if self.live:
            print(f"\r\033[K{text}", end="", file=self.err, flush=True)
        else:
            self.detail(text)

    def end_steps(self) -> None:
        if self.live:
            print("\r\033[K", end="", file=self.err, flush=True)


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


_POLICIES = ("patch", "prefer-source", "error")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, not {text!r}")
    return value


def _policies(texts: Sequence[str]) -> dict[str, str]:
    found = {}
    for text in texts:
        dist, sep, policy = text.partition("=")
        if not sep or not dist or policy not in _POLICIES:
            raise ConfigError(f"--native-for {text!r}: expected DIST=POLICY, POLICY one of {', '.join(_POLICIES)}")
        found[dist] = policy
    return found


def _cmd_build(args: argparse.Namespace, console: _Console) -> int:
    from .build import ApplyOptions, BuildRequest, apply_plan, plan_build
    from .cache import Cache, default_cache_dir

    request = BuildRequest(
        wheels=[Path(p) for p in args.wheels],
        requires=args.require,
        primaries=args.primary,
        options=ApplyOptions(
            allow_unparsable=args.allow_unparsable,
            jobs=args.jobs,
            native_policy=args.native,
            native_policy_for=_policies(args.native_for),
            accept_native_leaks=args.accept_native_leak,
        ),
        cache=None if args.no_cache else Cache(Path(args.cache_dir) if args.cache_dir else default_cache_dir()),
    )
    plan, inputs = plan_build(request)
    if args.plan_only:
        text = json.dumps(plan.to_json(), indent=2) + "\n"
        if args.report:
            _write_atomic(Path(args.report), text)
        console.out.write(text)
        return 0
    result = apply_plan(
        plan, Path(args.out), request.options, inputs=inputs, progress=console.progress, cache=request.cache
    )
    if args.report:
        _write_atomic(Path(args.report), json.dumps(result.to_json(), indent=2) + "\n")
    by_key = {r.output.key: r for r in result.outputs}
    rows = [["distribution", "version", "world", "role", "installed as", "rewritten", "diagnostics"]]
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
                str(r.diagnostics) if first and r.output.action != "copy" else "-",
            ]
        )
    console.info(_table(rows))
    for r in result.outputs:
        for f in r.files:
            for d in f.diagnostics:
                console.detail(f"{r.output.filename}: {f.member}:{d.line}: {d.message}")
        for w in r.warnings:
            console.info(f"warning: {r.output.filename}: {w}")
        for dropped in r.dropped:
            console.detail(f"{r.output.filename}: dropped {dropped}")
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
        return _verify(Path(args.out), console)
    return 0


def _verify(wheelhouse: Path, console: _Console) -> int:
    from .verify import verify

    result = verify(wheelhouse, log=console.step)
    console.end_steps()
    if result.findings:
        rows = [["finding", "distribution", "module", "detail"]]
        rows += [[f.kind, f.distribution, f.module, f.detail] for f in result.findings]
        console.info(_table(rows))
    verdict = "verify: OK" if result.ok else "verify: FAILED"
    console.info(
        f"{verdict}: {result.distributions} distributions, {result.modules_imported} modules imported, "
        f"{sum(f.fatal for f in result.findings)} problems"
    )
    return 0 if result.ok else 1


def _cmd_inspect(args: argparse.Namespace, console: _Console) -> int:
    from .inspect_wheel import inspect_wheel

    modules = inspect_wheel(Path(args.wheel))
    if args.json:
        console.out.write(json.dumps([m.to_json() for m in modules], indent=2) + "\n")
        return 0
    if not modules:
        console.info(f"{Path(args.wheel).name}: no compiled modules")
        return 0
    rows = [["module", "format", "arch", "init", "string", "reference", "patchable"]]
    for m in modules:
        head = [m.member, m.format, m.arch, f"{m.init_kind} ({', '.join(m.init_symbols) or 'no PyInit_'})"]
        for problem in m.problems:
            rows.append([*head, "-", problem, "no"])
            head = ["", "", "", ""]
        for o in m.occurrences:
            verdict = "yes" if o.patchable else "no (not blocking)" if not o.blocks else "no"
            rows.append([*head, o.text, f"{o.kind} x{o.references}", verdict])
            head = ["", "", "", ""]
        if not m.problems and not m.occurrences:
            rows.append([*head, "-", "-", "yes"])
    console.info(_table(rows))
    return 0


def _cmd_verify(args: argparse.Namespace, console: _Console) -> int:
    return _verify(Path(args.wheelhouse), console)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mvpy-vendor",
        description="Install and import two incompatible versions of one library in one process.",
    )
    parser.add_argument("--version", action="version", version=f"mvpy-vendor {__version__}")
    # -q/-v are accepted before or after the command; SUPPRESS keeps one from resetting the other.
    common = argparse.ArgumentParser(add_help=False)
    noise = common.add_mutually_exclusive_group()
    noise.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="print only errors")
    noise.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="print every diagnostic")
    for action in common._actions:
        parser._add_action(action)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    b = sub.add_parser(
        "build", parents=[common], help="rewrite a set of wheels so that every version they need installs side by side"
    )
    b.add_argument("--wheels", nargs="+", required=True, metavar="PATH", help="wheel files or directories of wheels")
    b.add_argument("--out", metavar="DIR", help="the output wheelhouse (required unless --plan-only)")
    b.add_argument(
        "--require",
        action="append",
        default=[],
        metavar="REQ",
        help="a root of the main world (default: what nothing in the set depends on)",
    )
    b.add_argument(
        "--primary",
        action="append",
        default=[],
        metavar="NAME==VER",
        help="the version of NAME that keeps its name in the main world",
    )
    b.add_argument(
        "--jobs",
        type=_positive,
        default=None,
        metavar="N",
        help="worker processes for rewriting large wheels (default: the number of CPUs)",
    )
    b.add_argument("--no-cache", action="store_true", help="neither read nor write the build cache")
    b.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="the build cache (default: MVPY_VENDOR_CACHE_DIR, else the user cache directory)",
    )
    b.add_argument("--plan-only", action="store_true", help="print the plan as JSON and write nothing")
    b.add_argument("--report", metavar="FILE", help="also write the JSON report to FILE")
    b.add_argument("--verify", action="store_true", help="run 'verify' on the result")
    b.add_argument(
        "--allow-unparsable",
        action="store_true",
        help="copy files that cannot be parsed but mention a renamed name, with a warning",
    )
    b.add_argument(
        "--native",
        choices=_POLICIES,
        default="patch",
        help="compiled modules that name a renamed module: patch them (default), drop them for the "
        "pure-Python source the wheel ships (prefer-source), or stop (error)",
    )
    b.add_argument(
        "--native-for",
        action="append",
        default=[],
        metavar="DIST=POLICY",
        help="--native for one distribution only",
    )
    b.add_argument(
        "--accept-native-leak",
        action="append",
        default=[],
        metavar="DIST",
        help="keep DIST's compiled modules even where some names cannot be patched (they may reach "
        "the other version); patch what can be, and warn",
    )
    b.set_defaults(func=_cmd_build)

    i = sub.add_parser(
        "inspect", parents=[common], help="show the compiled modules of a wheel and what renaming it needs"
    )
    i.add_argument("wheel", metavar="WHEEL")
    i.add_argument("--json", action="store_true", help="print JSON")
    i.set_defaults(func=_cmd_inspect)

    v = sub.add_parser(
        "verify", parents=[common], help="install a wheelhouse in a fresh environment and check isolation"
    )
    v.add_argument("wheelhouse", metavar="DIR")
    v.set_defaults(func=_cmd_verify)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "build" and not args.out and not args.plan_only:
        parser.error("build: --out is required (unless --plan-only)")
    quiet, verbose = getattr(args, "quiet", False), getattr(args, "verbose", False)
    if quiet and verbose:
        parser.error("-q and -v cannot be used together")
    console = _Console(-1 if quiet else 1 if verbose else 0)
    try:
        code: int = args.func(args, console)
    except MvpyError as exc:
        console.end_steps()
        console.error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        console.error("interrupted")
        return 130
    except BrokenPipeError:
        # The reader went away (``mvpy-vendor inspect W | head``): stop quietly, as other tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
