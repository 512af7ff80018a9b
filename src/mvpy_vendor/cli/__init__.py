"""Command line: ``main(argv) -> int``; one module per command, and the console, the only place that prints."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from mvpy_vendor._version import __version__
from mvpy_vendor.errors import MvpyError

from . import build, check, guard, inspect, lock, verify
from .console import Console, flag

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = guard.Parser(
        prog="mvpy-vendor",
        description="Install and import two incompatible versions of one library in one process.",
    )
    parser.add_argument("--version", action="version", version=f"mvpy-vendor {__version__}")
    # -q/-v are accepted before or after the command; SUPPRESS keeps one from resetting the other.
    common = guard.Parser(add_help=False)
    noise = common.add_mutually_exclusive_group()
    noise.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="print only errors")
    noise.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="print every diagnostic")
    for action in common._actions:
        parser._add_action(action)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    b = sub.add_parser(
        "build", parents=[common], help="rewrite a set of wheels so that every version they need installs side by side"
    )
    b.add_argument(
        "--wheels",
        nargs="+",
        metavar="PATH",
        help="wheel files or directories of wheels (default: project mode, from pyproject.toml)",
    )
    b.add_argument(
        "--out", metavar="DIR", help="the output wheelhouse (project mode: default 'wheelhouse'; else required)"
    )
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
        "--rename",
        action="append",
        default=[],
        metavar="DIST",
        help="rename DIST outside the main world even where nothing collides with it (default: only what collides)",
    )
    b.add_argument(
        "--jobs",
        type=build.positive,
        default=None,
        metavar="N",
        help="worker processes for rewriting large wheels (default: the number of CPUs)",
    )
    b.add_argument(
        "--no-cache", action="store_true", help="neither read nor write the build cache (nor, with --verify, uv's)"
    )
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
        choices=build.POLICIES,
        default=None,
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
    b.add_argument(
        "--accept-shared-state",
        action="append",
        default=[],
        metavar="DIST",
        help="build DIST's renamed copies even where a compiled module shares process state with another "
        "version of DIST (the same thread-state dict key, or keys that cannot be read): they may meet at run "
        "time; warn",
    )
    b.add_argument(
        "--keep-strings",
        action="append",
        default=[],
        metavar="DIST",
        help='leave DIST\'s string literals that name a renamed module ("foo.sub") as written '
        "(default: relocate them to the renamed module)",
    )
    lock.add_project_options(b)
    b.add_argument("--locked", action="store_true", help="use the lock; fail if it is missing or out of date")
    b.add_argument("--frozen", action="store_true", help="use the lock as it is, without checking it")
    b.add_argument("--offline", action="store_true", help="use the lock and the cache only; fetch nothing")
    b.set_defaults(func=build.run)

    k = sub.add_parser(
        "lock", parents=[common], help="resolve the project's worlds and write pylock.mvpy-vendor.toml (PEP 751)"
    )
    lock.add_project_options(k)
    k.add_argument(
        "--embed",
        action="store_true",
        help="lock what [tool.mvpy-vendor.backend] embeds (world 'embed'; read by the build backend)",
    )
    k.set_defaults(func=lock.run)

    i = sub.add_parser(
        "inspect", parents=[common], help="show the compiled modules of a wheel and what renaming it needs"
    )
    i.add_argument("wheel", metavar="WHEEL")
    i.add_argument("--json", action="store_true", help="print JSON")
    i.set_defaults(func=inspect.run)

    c = sub.add_parser(
        "check", parents=[common], help="find what the rewriter cannot fix (dynamic imports of renamed names, drift)"
    )
    check.add_options(c)
    c.set_defaults(func=check.run)

    v = sub.add_parser(
        "verify", parents=[common], help="install a wheelhouse in a fresh environment and check isolation"
    )
    v.add_argument("wheelhouse", metavar="DIR")
    v.add_argument("--json", action="store_true", help="print the findings as JSON")
    verify.add_options(v)
    v.set_defaults(func=verify.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = guard.parse(parser, argv)
    if args.command == "build" and args.wheels is not None and not args.out and not args.plan_only:
        parser.error("build: --out is required with --wheels (unless --plan-only)")
    quiet, verbose = getattr(args, "quiet", False), getattr(args, "verbose", False)
    if quiet and verbose:
        parser.error("-q and -v cannot be used together")
    console = Console(-1 if quiet else 1 if verbose else 0)
    try:
        with guard.on_sigterm():
            code: int = args.func(args, console)
    except MvpyError as exc:
        console.end_steps()
        console.error(exc.render(flag))
        return exc.exit_code
    except KeyboardInterrupt:
        console.error("interrupted")
        return 130
    except guard.Terminated:
        console.error("terminated")
        return 143
    except BrokenPipeError:
        # The reader went away (``mvpy-vendor inspect W | head``): stop quietly, as other tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:  # noqa: BLE001 - a bug: one line, and the traceback in a file
        console.end_steps()
        console.error(guard.internal_error(exc))
        return 70
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
