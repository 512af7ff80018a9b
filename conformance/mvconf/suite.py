"""One target end to end: downloads, the renamed build, the baseline and the renamed runs, compared."""

from __future__ import annotations

import dataclasses
import fcntl
import json
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from .build import Wheelhouse, build_wheelhouse
from .compare import Comparison, compare, counts, split_flaky
from .config import Expected, Target, load_expected
from .envs import Venv, make_venv
from .fetch import Downloads, HarnessError, dist_of, download
from .pytest_run import Outcome, RunResult, RunSpec, run_pytest
from .store import Store, digest, file_sha256
from .testtree import consumer_wheel, test_tree
from .tool import Tool

__all__ = ["ModeResult", "TargetResult", "run_target"]


@dataclass(frozen=True)
class ModeResult:
    mode: str
    run: RunResult
    comparison: Comparison


@dataclass(frozen=True)
class TargetResult:
    target: Target
    downloads: Downloads
    wheelhouse: Wheelhouse
    baseline: RunResult
    #: the baseline came from an earlier run with the same inputs
    baseline_reused: bool
    modes: tuple[ModeResult, ...]
    expected: tuple[Expected, ...]
    wall: float


#: at most this many unexplained tests are run again to tell a flaky one from a confirmed one
CONFIRM_LIMIT = 3000


def _confirm(
    comparison: Comparison,
    baseline: dict[str, Outcome],
    renamed_spec: RunSpec,
    base_spec: RunSpec,
    say: Callable[[str], None],
) -> Comparison:
    """Run the unexplained tests again, twice renamed and once in the baseline; unconfirmed ones are flaky."""
    ids = tuple(c.id for c in comparison.unexplained)
    say(f"running the {len(ids)} unexplained tests again: renamed twice, baseline once")

    def rerun(spec: RunSpec, suffix: str) -> dict[str, Outcome]:
        again = replace(
            spec, label=f"{spec.label} {suffix}", workdir=renamed_spec.workdir.with_name(suffix), select=ids
        )
        return run_pytest(again, say).outcomes

    mode = renamed_spec.workdir.name
    renamed = [rerun(renamed_spec, f"{mode}-again-{i}") for i in (1, 2)]
    confirmed = split_flaky(comparison, baseline, renamed, [rerun(base_spec, f"{mode}-again-baseline")])
    say(f"{len(confirmed.unexplained)} confirmed, {len(confirmed.flaky)} flaky")
    return confirmed


def _isolated_ini(ini: str, renames: Mapping[str, str]) -> str:
    """The ini's warning filters with their categories and modules under the renamed names
    (``ignore::numpy.X``): in isolated mode the tests are a consumer of the copy, and their
    settings name its classes and modules."""
    lines = []
    for line in ini.splitlines(keepends=True):
        parts = line.split(":", 4)
        for field in (2, 3):  # the category (a class path) and the module (matched against __name__)
            head = parts[field].strip().partition(".")[0] if len(parts) > field else ""
            if head in renames:
                parts[field] = parts[field].replace(head, renames[head], 1)
        line = ":".join(parts)
        lines.append(line)
    return "".join(lines)


def _copy_tree(tree: Path, dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(tree, dest, ignore=shutil.ignore_patterns("__pycache__", ".done"))


def _renamed_path(path: str, renames: dict[str, str]) -> str:
    head, *rest = PurePosixPath(path).parts
    return str(PurePosixPath(renames.get(head, head), *rest))


def _as_written_names(include: Sequence[str]) -> list[str]:
    """``pandas/tests`` -> ``pandas.tests``, ``pandas/conftest.py`` -> ``pandas.conftest``."""
    return [str(PurePosixPath(i.rstrip("/")).with_suffix("")).replace("/", ".") for i in include]


def _placeholders(src: Path, include: Sequence[str]) -> None:
    """Empty ``__init__.py`` in each package above the included parts, so pytest names their modules as upstream."""
    for entry in include:
        for parent in PurePosixPath(entry.rstrip("/")).parents:
            if str(parent) != ".":
                init = src.joinpath(*parent.parts, "__init__.py")
                if not init.exists():
                    init.parent.mkdir(parents=True, exist_ok=True)
                    init.write_text("# placeholder: the alias hook serves this package from the renamed copy\n")


def _result_json(result: RunResult) -> dict[str, object]:
    return {
        "outcomes": {k: [v.outcome, v.message] for k, v in sorted(result.outcomes.items())},
        "wall": result.wall,
        "resumes": result.resumes,
        "incomplete": result.incomplete,
        "log": str(result.log),
        "exit_codes": list(result.exit_codes),
    }


def _result_from_json(data: dict[str, object]) -> RunResult:
    outcomes = data["outcomes"]
    codes = data["exit_codes"]
    assert isinstance(outcomes, dict) and isinstance(codes, list)
    return RunResult(
        {k: Outcome(v[0], v[1]) for k, v in outcomes.items()},
        float(str(data["wall"])),
        int(str(data["resumes"])),
        str(data["incomplete"]),
        Path(str(data["log"])),
        tuple(int(c) for c in codes),
    )


def run_target(
    target: Target,
    tool: Tool,
    store: Store,
    modes: Sequence[str],
    say: Callable[[str], None],
    *,
    refresh: bool = False,
    rerun_baseline: bool = False,
    netns: bool = True,
) -> TargetResult:
    """Run ``target`` in ``modes``; every step is reused from the cache when its inputs are unchanged."""
    runs = store.root / "runs" / target.name
    runs.mkdir(parents=True, exist_ok=True)
    with (runs / ".lock").open("w") as lock:
        try:
            # two harness processes on one target would share its run directories
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise HarnessError(f"another run of the harness is running {target.name} ({runs})") from None
        return _run_target(target, tool, store, modes, say, refresh, rerun_baseline, netns)


def _run_target(
    target: Target,
    tool: Tool,
    store: Store,
    modes: Sequence[str],
    say: Callable[[str], None],
    refresh: bool,
    rerun_baseline: bool,
    netns: bool,
) -> TargetResult:
    started = time.monotonic()
    downloads = download(target, store, refresh, say)
    tree = test_tree(target, downloads, store)
    data = str(test_tree(target, downloads, store, data=True)) if target.data else ""
    pins = [f"{n}=={v}" for n, v in downloads.versions("old").items()]
    consumer = consumer_wheel(target, tree, pins, store)
    wheelhouse = build_wheelhouse(tool, downloads, consumer, store, say)
    deselect = tuple(d.pattern for d in target.deselect)
    runs = store.root / "runs" / target.name
    renames_env = ",".join(f"{new}={old}" for old, new in sorted(wheelhouse.renames.items()))
    common = {"ini": target.ini, "args": target.args, "deselect": deselect, "test_timeout": target.test_timeout}

    def spec(label: str, venv: Venv, rootdir: Path, paths: Sequence[str], env: dict[str, str]) -> RunSpec:
        return RunSpec(
            label=f"{target.name} {label}",
            python=venv.python,
            workdir=runs / label,
            rootdir=rootdir,
            paths=tuple(rootdir / p for p in paths),
            env={**{k: v.replace("{data}", data) for k, v in target.env.items()}, **env},
            ini=target.ini,
            args=target.args,
            deselect=deselect,
            test_timeout=target.test_timeout,
            netns=netns,
            site=venv.site,
        )

    # the original release, in a fresh environment: the oracle
    base_venv = make_venv(store, "baseline", (*downloads.old, *downloads.deps), (*pins, *target.deps), say)
    if target.tests_source == "sdist":
        _copy_tree(tree, runs / "baseline" / "src")
        base_spec = spec("baseline", base_venv, runs / "baseline" / "src", target.paths, {})
    else:
        base_spec = spec("baseline", base_venv, base_venv.site, target.paths, {})
    base_key = digest(
        "baseline", str(base_venv.path), file_sha256(consumer), common, list(target.paths), target.env, netns
    )
    cached = store.dir("baselines", base_key) / "result.json"
    reused = store.done("baselines", base_key) and not rerun_baseline
    if reused:
        baseline = _result_from_json(json.loads(cached.read_text(encoding="utf-8")))
        say(f"baseline: reusing the earlier run ({len(baseline.outcomes)} tests)")
    else:
        if target.data_in_cwd:
            shutil.copytree(data, base_spec.rootdir, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".done"))
        say(f"baseline: running {' '.join(target.paths)}")
        baseline = run_pytest(base_spec, say)
        if not baseline.outcomes or baseline.incomplete:
            # an empty or broken oracle measures nothing: stop before the renamed runs
            why = baseline.incomplete or "it ran no test"
            raise HarnessError(f"the baseline is unusable ({baseline.log}): {why}")
        store.begin("baselines", base_key)
        cached.write_text(json.dumps(_result_json(baseline)), encoding="utf-8")
        store.finish("baselines", base_key, {"target": target.name})
    say(f"baseline: {counts(baseline.outcomes)} in {baseline.wall:.0f} s")

    expected = load_expected(target)
    results = []
    for mode in modes:
        if mode == "isolated":
            requirements = (wheelhouse.path / "requirements.txt").read_text(encoding="utf-8").split()
            venv = make_venv(
                store,
                "isolated",
                (*sorted(wheelhouse.path.glob("*.whl")), *downloads.deps),
                (*requirements, *target.deps),
                say,
            )
            paths = [_renamed_path(p, wheelhouse.renames) for p in target.paths]
            env = {"MVCONF_RENAMES": renames_env, "MVCONF_PREIMPORT": ",".join(target.preimport)}
            run_spec = spec("isolated", venv, venv.site, paths, env)
            run_spec = dataclasses.replace(run_spec, ini=_isolated_ini(target.ini, wheelhouse.renames))
        else:
            world = [f"{n}=={v}" for n, v in (dist_of(w) for w in wheelhouse.old_world)]
            venv = make_venv(
                store,
                "as-written",
                (*wheelhouse.old_world, *downloads.old, *downloads.deps),
                (*world, *target.deps),
                say,
                remove=wheelhouse.renamed_dists,
                alias=True,
            )
            src = runs / "as-written" / "src"
            _copy_tree(tree, src)
            env = {
                "MVCONF_RENAMES": renames_env,
                "MVCONF_ALIASES": ",".join(f"{o}={n}" for o, n in wheelhouse.renames.items()),
            }
            if target.tests_source == "wheel":
                _placeholders(src, target.include)
                env["MVCONF_AS_WRITTEN"] = ",".join(_as_written_names(target.include))
                env["MVCONF_AS_WRITTEN_DIR"] = str(src)
            run_spec = spec("as-written", venv, src, target.paths, env)
        if target.data_in_cwd:
            shutil.copytree(data, run_spec.rootdir, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".done"))
        say(f"{mode}: running {' '.join(target.paths)}")
        run = run_pytest(run_spec, say)
        comparison = compare(baseline.outcomes, run.outcomes, expected, mode)
        if comparison.unexplained and len(comparison.unexplained) <= CONFIRM_LIMIT:
            comparison = _confirm(comparison, baseline.outcomes, run_spec, base_spec, say)
        say(
            f"{mode}: {counts(run.outcomes)} in {run.wall:.0f} s; newly failing: {len(comparison.unexplained)} "
            f"unexplained, {len(comparison.expected)} expected"
        )
        results.append(ModeResult(mode, run, comparison))
    return TargetResult(
        target, downloads, wheelhouse, baseline, reused, tuple(results), expected, time.monotonic() - started
    )
