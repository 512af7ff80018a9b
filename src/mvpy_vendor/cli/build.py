"""``mvpy-vendor build``: fill in a request from the options, plan, apply, print the summary."""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mvpy_vendor.errors import ConfigError

from .console import Console, flag, table, write_atomic

if TYPE_CHECKING:
    from mvpy_vendor.cache import Cache
    from mvpy_vendor.options import ApplyOptions, BuildRequest, NativePolicy
    from mvpy_vendor.report import BuildResult, OutputResult

__all__ = ["POLICIES", "run"]

#: the values of :class:`~mvpy_vendor.options.NativePolicy` (held equal by a test: the command
#: line starts without importing the engine)
POLICIES = ("patch", "prefer-source", "error")


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, not {text!r}")
    return value


def _policies(texts: Sequence[str]) -> dict[str, NativePolicy]:
    from mvpy_vendor.options import NativePolicy

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
    from mvpy_vendor.outcome import Status

    dropped = [f.member for f in result.files if f.status is Status.DEACCELERATED]
    if not dropped:
        return ""
    n = len(dropped)
    listed = ", ".join(dropped[:shown]) + (f" and {n - shown} more (see the report)" if n > shown else "")
    what = "1 compiled module replaced by its" if n == 1 else f"{n} compiled modules replaced by their"
    return f"{what} Python source (slower): {listed}"


def _compared(result: OutputResult) -> list[str]:
    """What the differential check did with each patched module (for ``-v``)."""
    from mvpy_vendor.native.compare import Verdict

    if result.comparison is None:
        return []
    lines = []
    cached = " (cached)" if result.comparison.cached else ""
    for m in result.comparison.modules:
        if m.verdict in (Verdict.SAME, Verdict.DIFFERS):
            counts = f"{m.types} types, {m.type_members} type members, {m.attributes} module attributes"
            found = "the same" if m.verdict is Verdict.SAME else f"{len(m.differences)} differences"
            lines.append(f"{m.member}: compared with the original, imported {m.how}: {counts}: {found}{cached}")
        else:
            lines.append(f"{m.member}: not compared with the original: {m.reason}")
    return lines


def _not_importable(result: OutputResult) -> str:
    """``2 patched compiled modules not compared with their originals ...``, or ''."""
    from mvpy_vendor.native.differential import NOT_IMPORTABLE

    if result.comparison is None:
        return ""
    n = sum(1 for m in result.comparison.modules if m.reason == NOT_IMPORTABLE)
    if not n:
        return ""
    what = "1 patched compiled module" if n == 1 else f"{n} patched compiled modules"
    return f"{what} not compared with the original: built for another platform or interpreter (see the report)"


def _options(get: Callable[[str], Any]) -> ApplyOptions:
    from mvpy_vendor.options import ApplyOptions, NativePolicy

    return ApplyOptions(
        allow_unparsable=bool(get("allow-unparsable")),
        jobs=get("jobs"),
        native_policy=NativePolicy(get("native") or "patch"),
        native_policy_for=_policies(get("native-for")),
        accept_native_leaks=get("accept-native-leak"),
        accept_shared_state=get("accept-shared-state"),
        keep_strings=get("keep-strings"),
    )


def _cache(get: Callable[[str], Any]) -> Cache | None:
    from mvpy_vendor.cache import Cache, default_cache_dir

    if get("no-cache"):
        return None
    return Cache(Path(get("cache-dir")) if get("cache-dir") else default_cache_dir())


def _project(
    args: argparse.Namespace, console: Console, stack: contextlib.ExitStack
) -> tuple[BuildRequest, Any, Callable[[], None]]:
    """Project mode: the request from pyproject.toml (and the lock), the merged settings, and
    what to do once the wheelhouse is published (write a lock that waited for verification)."""
    from mvpy_vendor.cache import default_cache_dir
    from mvpy_vendor.project.fetch import Store
    from mvpy_vendor.project.gather import LockMode, project_request, write_lock

    from .lock import load_config

    if args.locked and args.frozen:
        raise ConfigError("--locked and --frozen cannot be used together", setting="frozen")
    config = load_config(args)
    get = config.get
    mode = LockMode.LOCKED if args.locked else LockMode.FROZEN if args.frozen else LockMode.REFRESH
    cache = _cache(get)
    if cache is not None:
        store = Store(Path(get("cache-dir")) if get("cache-dir") else default_cache_dir(), offline=args.offline)
    else:
        store = Store(
            Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mvpy-files-"))), offline=args.offline
        )
    # A verified build writes the lock only with a wheelhouse that passed: a failed verification
    # leaves pylock.mvpy-vendor.toml as it was, like the wheelhouse.
    verified = bool(get("verify")) and not args.plan_only
    project = project_request(
        config, mode, store, _options(get), console, cache, offline=args.offline, defer_lock=verified
    )
    console.end_steps()
    if project.lock_written:
        console.info(f"wrote {config.lock_path}")

    def published() -> None:
        if project.deferred is not None and write_lock(config, project.deferred):
            console.info(f"wrote {config.lock_path}")

    return project.request, get, published


def run(args: argparse.Namespace, console: Console) -> int:
    with contextlib.ExitStack() as stack:
        return _run(args, console, stack)


def _run(args: argparse.Namespace, console: Console, stack: contextlib.ExitStack) -> int:
    from mvpy_vendor.apply import apply_plan
    from mvpy_vendor.options import BuildRequest
    from mvpy_vendor.outdir import unverified_dir
    from mvpy_vendor.planning.planner import plan_build
    from mvpy_vendor.planning.target import Target

    from .guard import Terminated
    from .lock import reject_project_options

    published: Callable[[], None] | None = None  # project mode: writes a lock that waited for verification
    if args.wheels is None:
        request, get, published = _project(args, console, stack)
    else:
        reject_project_options(args)

        def get(key: str) -> Any:
            return getattr(args, key.replace("-", "_"))

        request = BuildRequest(
            wheels=[Path(p) for p in args.wheels],
            requires=args.require,
            primaries=args.primary,
            rename=args.rename,
            options=_options(get),
            target=Target(args.python_version, args.platform),
            cache=_cache(get),
        )
    out = Path(get("out") or Path(args.project) / "wheelhouse")
    report = get("report")
    plan = plan_build(request)
    if args.plan_only:
        text = json.dumps(plan.to_json(), indent=2) + "\n"
        if report:
            write_atomic(Path(report), text)
        console.out.write(text)
        return 0
    verifying: list[Path] = []

    def gate(result: BuildResult, staged: Path) -> bool:
        """Verify the staged wheelhouse; only a wheelhouse that passes is published."""
        from mvpy_vendor.cache import default_cache_dir
        from mvpy_vendor.errors import MvpyError
        from mvpy_vendor.verify import VerifyOptions

        from .verify import report_verify

        _summary(result, console)
        verifying.append(staged)
        cache_dir = None if get("no-cache") else Path(get("cache-dir")) if get("cache-dir") else default_cache_dir()
        try:
            return report_verify(staged, console, VerifyOptions(cache_dir=cache_dir)) == 0
        except MvpyError as exc:  # verification could not run: not verified either
            console.end_steps()
            console.error(exc.render(flag))
            return False

    try:
        result = apply_plan(
            plan, out, request.options, reporter=console, cache=request.cache, gate=gate if get("verify") else None
        )
    except (KeyboardInterrupt, Terminated):
        if verifying:
            console.end_steps()
            kept = unverified_dir(out)
            console.error(f"verify interrupted: nothing was published to {out}; the unverified wheelhouse is in {kept}")
        raise
    if not verifying:
        _summary(result, console)
    if report:
        write_atomic(Path(report), json.dumps(result.to_json(), indent=2) + "\n")
    total = sum(r.diagnostics for r in result.outputs)
    cached = sum(r.cached for r in result.outputs)
    console.info(
        f"wrote {len(result.outputs)} wheels to {out}"
        + (f" ({cached} from the cache)" if cached else "")
        + (f"; {total} diagnostics (see -v or the report)" if total else "")
    )
    if published is not None:
        published()
    return 0


def _summary(result: BuildResult, console: Console) -> None:
    """What the build made of every member of every world, its warnings and notes."""
    from packaging.utils import parse_wheel_filename

    from mvpy_vendor.planning.plan import UNNEEDED  # here: the plan's modules are not needed by other commands

    plan = result.plan
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
    if not plan.target.is_running:
        console.info(f"target: {plan.target.describe()}")
    console.info(table(rows))
    for planned in plan.outputs:
        for placed in planned.placed:
            console.info(f"placed: {planned.display_name}: {placed.reason}")
    for r in result.outputs:
        for f in r.files:
            for d in f.diagnostics:
                console.detail(f"{r.output.filename}: {f.member}:{d.line}: {d.code.value} {d.message}")
            for s in f.strings:
                if s.kind == "name":
                    what = f"{s.old} keeps the plain module name: {s.new}"
                else:
                    what = f"string {s.old!r} relocated to {s.new!r}"
                console.detail(f"{r.output.filename}: {f.member}:{s.line}: {what}")
        for w in r.warnings:
            console.info(f"warning: {r.output.filename}: {w.render(flag, wheel=False)}")
        for dropped in r.dropped:
            console.detail(f"{r.output.filename}: dropped {dropped}")
        for line in _compared(r):
            console.detail(f"{r.output.filename}: {line}")
    for r in result.outputs:
        slower = _deaccelerated(r)
        if slower:
            console.info(f"note: {r.output.display_name}: {slower}")
        foreign = _not_importable(r)
        if foreign:
            console.info(f"note: {r.output.display_name}: {foreign}")
    for note in plan.notes:
        console.info(f"note: {note}")
    other = 0
    for wheel, why in plan.ignored:
        if why == UNNEEDED:
            name, version = parse_wheel_filename(wheel)[:2]
            console.info(f"not used: {wheel}: {why} ({flag('require')} {name}=={version} makes it a root)")
        else:
            other += 1
            console.detail(f"not used: {wheel}: {why}")
    if other:
        console.info(f"not used: {other} other wheels (for another target, or a better fitting one was given; see -v)")
