"""``verify`` against the cost of installing and importing the same wheelhouse with uv.

    python benchmarks/verify_speed.py [--runs N] [--json FILE]

For each wheelhouse, in one run: the **baseline** (``uv venv`` + ``uv pip install --offline`` of
the wheelhouse + one interpreter importing every top-level module it installs: the least any
check of a wheelhouse costs) and **ours** (``verify_wheelhouse`` with uv, every module of every
distribution imported and probed), each the best of ``--runs``, and their ratio. Target: at
most 2x. Cases:

* ``foo``: the quick-start wheelhouse (foo 2, foo 1 renamed, slow-package, myapp).
* ``pydantic``: pydantic 2.14.3 (with pydantic-core and the rest) beside pydantic 1.10.27 renamed,
  with the two consumer fixtures (downloaded once into ``MVPY_BENCH_CACHE``, default
  ``~/.cache/mvpy-vendor-bench``).

Needs uv (the ``uv`` package or on PATH) and ``wheel`` (to build the fixtures). Not part of the
test suite: compare the JSON across commits.
"""

from __future__ import annotations

import argparse
import json
import os
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


def _inputs(case: str, work: Path) -> list[Path]:
    fixtures = work / "fixtures"
    if case == "foo":
        names = ["foo", "slow-package", "myapp"]
    else:
        names = ["pydantic-v1-user", "pydantic-v2-app"]
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


def _baseline(house: Path, uv: str, top_level: list[str], work: Path) -> float:
    venv = work / "baseline-venv"
    start = time.perf_counter()
    env = {**os.environ, "UV_NO_CONFIG": "1"}
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True, env=env)
    subprocess.run(
        [uv, "pip", "install", "-q", "--offline", "--no-index", "--python", str(venv / "bin" / "python"),
         "--find-links", str(house), "-r", str(house / "requirements.txt")],
        check=True, env=env,
    )  # fmt: skip
    code = "import importlib\nfor name in %r: importlib.import_module(name)" % (top_level,)
    subprocess.run([str(venv / "bin" / "python"), "-I", "-c", code], check=True)
    elapsed = time.perf_counter() - start
    subprocess.run(["rm", "-rf", str(venv)], check=True)
    return elapsed


def _case(case: str, runs: int) -> dict[str, object]:
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
        baseline, ours = [], []
        result = None
        for _ in range(runs):  # alternate, so that both see the same machine
            baseline.append(_baseline(house, uv, top_level, work))
            start = time.perf_counter()
            result = verify_wheelhouse(house, options=VerifyOptions(installer="uv"))
            ours.append(time.perf_counter() - start)
        assert result is not None and result.ok, result
        wheels = len(list(house.glob("*.whl")))
    return {
        "case": case,
        "wheels": wheels,
        "modules_imported": result.modules_imported,
        "baseline_s": round(min(baseline), 3),
        "ours_s": round(min(ours), 3),
        "ratio": round(min(ours) / min(baseline), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    rows = [_case(case, args.runs) for case in ("foo", "pydantic")]
    print(f"{'case':10} {'modules':>8} {'baseline s':>11} {'verify s':>9} {'ratio':>6}")
    for r in rows:
        print(f"{r['case']:10} {r['modules_imported']:>8} {r['baseline_s']:>11} {r['ours_s']:>9} {r['ratio']:>5}x")
    data = {"runs": args.runs, "rows": rows}
    print(json.dumps(data))
    if args.json:
        Path(args.json).write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    main()
