"""``verify`` against the cost of installing and importing the same wheelhouse with uv.

    python benchmarks/verify_speed.py [--runs N] [--cases foo,click,pydantic] [--cold] [--json FILE] [--findings DIR]

For each wheelhouse, in one run: the **baseline** (``uv venv`` + ``uv pip install --offline`` of
the wheelhouse + one interpreter importing every top-level module it installs: the least any
check of a wheelhouse costs) and **ours** (``verify_wheelhouse`` with uv, every module of every
distribution imported and probed), alternating, ``--runs`` times each: the median, the spread
(min-max) and the ratio of the medians. Target: at most 2x. Neither compiles bytecode at install
time (uv's default); both compile what they import, except that verify reuses the bytecode it
compiled before for the same source content (its bytecode store: see --cold). Cases:

* ``foo``: the quick-start wheelhouse (foo 2, foo 1 renamed, slow-package, myapp).
* ``pydantic``: pydantic 2.14.3 (with pydantic-core and the rest) beside pydantic 1.10.27 renamed,
  with the two consumer fixtures (downloaded once into ``MVPY_BENCH_CACHE``, default
  ``~/.cache/mvpy-vendor-bench``).
* ``click``: click 8.1.8 beside click 7.1.2 renamed, with a click-7 consumer and a click-8 app
  that uses it (both written by this script).

By default both run warm, as they would on a second run: the baseline with uv's own cache, verify
with its content-keyed one (uv's cache and the bytecode store under ``MVPY_VENDOR_CACHE_DIR``,
by default ``~/.cache/mvpy-vendor``). ``--cold`` gives both an empty cache on every run.

``--findings DIR`` writes each case's ``--json`` findings to ``DIR/CASE.json`` (to compare what
verify finds across commits: it must not change).

Needs uv (the ``uv`` package or on PATH) and ``wheel`` (to build the fixtures). Not part of the
test suite: compare the JSON across commits.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("MVPY_BENCH_CACHE", Path.home() / ".cache" / "mvpy-vendor-bench"))


def _download(dest: Path, *args: str) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", "-d", str(dest), *args]
    subprocess.run(cmd, check=True)


_CLICK_USER = """import click


@click.command()
@click.option("--name", default="v7")
def hello(name):
    click.echo(name)


def version():
    return click.__version__ if hasattr(click, "__version__") else "?"
"""
_CLICK_APP = """import click
import click7_user


@click.group()
def cli():
    pass


def versions():
    return click.__version__, click7_user.version()
"""


def _fixture(out: Path, name: str, requires: list[str], code: str) -> Path:
    """A one-module pure-Python wheel ``name`` 1.0, written with ``wheel``'s WheelFile."""
    from wheel.wheelfile import WheelFile

    module = name.replace("-", "_")
    path = out / f"{module}-1.0-py3-none-any.whl"
    requires_dist = "".join(f"Requires-Dist: {r}\n" for r in requires)
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n{requires_dist}\n"
    with WheelFile(path, "w") as wf:
        wf.writestr(f"{module}/__init__.py", code)
        wf.writestr(f"{module}-1.0.dist-info/METADATA", meta)
        wf.writestr(
            f"{module}-1.0.dist-info/WHEEL",
            "Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
    return path


def _inputs(case: str, work: Path) -> list[Path]:
    fixtures = work / "fixtures"
    if case == "click":
        fixtures.mkdir(parents=True, exist_ok=True)
        click = CACHE / "verify-click"
        for version in ("7.1.2", "8.1.8"):
            if not list(click.glob(f"click-{version}-*.whl")):
                _download(click, "--no-deps", f"click=={version}")
        return [
            *sorted(click.glob("click-*.whl")),
            _fixture(fixtures, "click7-user", ["click>=7,<8"], _CLICK_USER),
            _fixture(fixtures, "click8-app", ["click>=8", "click7-user"], _CLICK_APP),
        ]
    names = ["foo", "slow-package", "myapp"] if case == "foo" else ["pydantic-v1-user", "pydantic-v2-app"]
    subprocess.run([sys.executable, str(ROOT / "testwheels" / "build_wheels.py"), str(fixtures), *names], check=True,
                   capture_output=True)  # fmt: skip
    wheels = sorted(fixtures.glob("*.whl"))
    if case == "pydantic":
        v2, v1 = CACHE / "verify-pydantic2", CACHE / "verify-pydantic1"
        if not list(v2.glob("pydantic-2*.whl")):
            _download(v2, "pydantic==2.14.3")
        if not list(v1.glob("pydantic-1*.whl")):
            _download(v1, "--no-deps", "--platform", "any", "pydantic==1.10.27")
        wheels += sorted(v2.glob("*.whl")) + sorted(v1.glob("*.whl"))
    return wheels


def _cpu() -> float:
    """CPU seconds of this process and its waited-for children so far."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _baseline(house: Path, uv: str, top_level: list[str], work: Path, cache: Path | None) -> tuple[float, float]:
    venv = work / "baseline-venv"
    start, cpu = time.perf_counter(), _cpu()
    env = {**os.environ, "UV_NO_CONFIG": "1"}
    if cache is not None:
        env["UV_CACHE_DIR"] = str(cache)
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True, env=env)
    subprocess.run(
        [uv, "pip", "install", "-q", "--offline", "--no-index", "--python", str(venv / "bin" / "python"),
         "--find-links", str(house), "-r", str(house / "requirements.txt")],
        check=True, env=env,
    )  # fmt: skip
    code = f"import importlib\nfor name in {top_level!r}: importlib.import_module(name)"
    subprocess.run([str(venv / "bin" / "python"), "-I", "-c", code], check=True)
    elapsed, used = time.perf_counter() - start, _cpu() - cpu
    subprocess.run(["rm", "-rf", str(venv)], check=True)
    return elapsed, used


def _spread(values: list[float]) -> str:
    return f"{min(values):.3f}-{max(values):.3f}"


def _case(case: str, runs: int, findings: Path | None, cold: bool) -> dict[str, object]:
    from mvpy_vendor import BuildRequest, build
    from mvpy_vendor.report import Report
    from mvpy_vendor.verify import VerifyOptions, verify_wheelhouse
    from mvpy_vendor.verify.environment import find_installer

    uv = find_installer("uv").uv
    assert uv is not None
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        house = work / "house"
        build(BuildRequest(wheels=_inputs(case, work)), house)
        top_level = sorted({t for o in Report.load(house).outputs for t in o.top_level})
        baseline, ours, baseline_cpu, ours_cpu = [], [], [], []
        result = None
        for i in range(runs):  # alternate, so that both see the same machine
            # --cold: both start from an empty cache, every run (uv's for the baseline, verify's own)
            cache = work / f"cold-{i}" if cold else None
            elapsed, used = _baseline(house, uv, top_level, work, cache / "uv" if cache else None)
            baseline.append(elapsed)
            baseline_cpu.append(used)
            options = VerifyOptions(installer="uv", cache_dir=cache) if cache else VerifyOptions(installer="uv")
            start, cpu = time.perf_counter(), _cpu()
            result = verify_wheelhouse(house, options=options)
            ours.append(time.perf_counter() - start)
            ours_cpu.append(_cpu() - cpu)
        assert result is not None and result.ok, result
        wheels = len(list(house.glob("*.whl")))
    if findings is not None:
        findings.mkdir(parents=True, exist_ok=True)
        (findings / f"{case}.json").write_text(json.dumps(result.to_json(), indent=2, sort_keys=True) + "\n")
    return {
        "case": case,
        "wheels": wheels,
        "modules_imported": result.modules_imported,
        "baseline_s": round(statistics.median(baseline), 3),
        "baseline_spread": _spread(baseline),
        "ours_s": round(statistics.median(ours), 3),
        "ours_spread": _spread(ours),
        "ratio": round(statistics.median(ours) / statistics.median(baseline), 2),
        "baseline_cpu_s": round(statistics.median(baseline_cpu), 3),
        "ours_cpu_s": round(statistics.median(ours_cpu), 3),
        "cpu_ratio": round(statistics.median(ours_cpu) / statistics.median(baseline_cpu), 2),
        "baseline_all": [round(b, 3) for b in baseline],
        "ours_all": [round(o, 3) for o in ours],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--findings", metavar="DIR", type=Path)
    parser.add_argument("--cases", default="foo,click,pydantic")
    parser.add_argument("--cold", action="store_true", help="every run of both starts from an empty cache")
    args = parser.parse_args()
    rows = [_case(case, args.runs, args.findings, args.cold) for case in args.cases.split(",")]
    head = ("case", "wheels", "modules", "baseline s", "(spread)", "verify s", "(spread)", "ratio")
    head += ("base CPU s", "CPU s", "CPU ratio")
    keys = ("case", "wheels", "modules_imported", "baseline_s", "baseline_spread", "ours_s", "ours_spread", "ratio")
    keys += ("baseline_cpu_s", "ours_cpu_s", "cpu_ratio")
    widths = (10, 6, 8, 10, 12, 9, 12, 6, 10, 6, 9)
    print(" ".join(f"{h:>{w}}" for h, w in zip(head, widths)))
    for r in rows:
        print(" ".join(f"{r[k]!s:>{w}}{'x' if k.endswith('ratio') else ''}" for k, w in zip(keys, widths)))
    data = {"runs": args.runs, "cold": args.cold, "rows": rows}
    print(json.dumps(data))
    if args.json:
        Path(args.json).write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    main()
