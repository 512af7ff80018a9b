"""What the differential check of patched compiled modules finds on real wheels, and what it costs.

    python benchmarks/native_compare.py [--sets numpy,compiled,...] [--json FILE] [--modes ...]

Each set is the input of one of the suite's real-wheel builds (the wheels the tests download,
from ``MVPY_TEST_CACHE``, default ``~/.cache/mvpy-vendor-tests``, and the fixture consumers
built by testwheels/build_wheels.py). For each set, four builds, each a fresh process:

* ``with-cold``: the differential check on, an empty cache;
* ``with-warm``: again, with the cache the first build filled (outputs and comparisons);
* ``without-cold`` / ``without-warm``: the same with the check taken out (``apply._compared``
  replaced by the identity), for the cost of the check.

Each build's wall time and CPU time (user + system, of the build and every process it waited
for: workers, the load check's and the differential check's children) are printed, and those
of the differential check itself (its calls timed inside the build).

Printed per set: each build's times and exit status, and per patched module what the check
compared (types, type members, module attributes) and every difference it found (the
comparisons are recorded as the build makes them, so a failing build shows them too). Not a
timed test: run it by hand on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_PY = f"py{sys.version_info[0]}{sys.version_info[1]}"

# set -> (directories under the test cache, file name prefixes to leave out, fixture consumers, roots)
_COMPILED_ROOTS = [
    f"--require={n}=={v}"
    for n, vs in {
        "ujson": ("6.1.0", "5.10.0"),
        "msgpack": ("1.2.4", "1.0.8"),
        "markupsafe": ("3.0.4", "2.1.5"),
        "orjson": ("3.13.0", "3.10.18"),
    }.items()
    for v in vs
] + ["--require=pydantic-v2-app"]
SETS: dict[str, tuple[list[str], list[str], list[str], list[str]]] = {
    "numpy": (["numpy"], [], ["numpy_v1_user", "numpy_v2_app"], []),
    "compiled": (
        ["compiled", "pydantic2", "pydantic1-compiled"],
        [],
        ["pydantic_v1_user", "pydantic_v2_app"],
        _COMPILED_ROOTS,
    ),
    "sqlalchemy": (["sqlalchemy"], [], ["sqlalchemy_v14_user", "sqlalchemy_v2_app"], []),
    "cryptography": (["cryptography"], [], ["crypto_app", "crypto_old_user"], []),
    "charset": (
        ["mypyc"],
        ["black-", "click-", "mypy_ext", "packaging-", "pathspec-", "platformdirs-", "pytokens-"],
        ["charset_old_user", "charset_new_app"],
        [],
    ),
    "black": (["mypyc"], ["charset_normalizer-"], ["black_old_user", "black_new_app"], []),
    "yarl": (["yarl"], [], ["yarl_old_user", "yarl_app"], []),
    "fixtures-c": ([], [], ["cfoo", "cpkg", "c_old_user", "c_app"], []),
    "fixtures-cython": ([], [], ["cypkg", "cy_old_user", "cy_app"], []),
}

# Run in the child: record every comparison the build makes, then run the command line.
_CHILD = """
import json, resource, sys, time
from mvpy_vendor import apply
record, mode = sys.argv[1], sys.argv[2]
seen = []
real = apply.compare_output
def cpu():
    return sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
               for f in ("ru_utime", "ru_stime"))
def recording(job, skipped=(), cache=None):
    start, used = time.monotonic(), cpu()
    found = real(job, skipped, cache)
    took = {"seconds": round(time.monotonic() - start, 2), "cpu_seconds": round(cpu() - used, 2)}
    seen.append({"wheel": job.wheel, "cached": found.cached, **took, **found.to_json()})
    with open(record, "w") as fh:
        json.dump(seen, fh)
    return found
apply.compare_output = recording
if mode == "without":
    apply._compared = lambda plan, staging, results, problems, reporter, cache: results
from mvpy_vendor.cli import main
sys.exit(main(sys.argv[3:]))
"""


def _inputs(name: str, fixtures: Path, dest: Path) -> tuple[Path, list[str]]:
    dirs, leave_out, consumers, roots = SETS[name]
    cache = Path(os.environ.get("MVPY_TEST_CACHE", Path.home() / ".cache" / "mvpy-vendor-tests")) / _PY
    dest.mkdir(parents=True)
    for d in dirs:
        for wheel in sorted((cache / d).glob("*.whl")):
            if not wheel.name.startswith(tuple(leave_out)):
                shutil.copy(wheel, dest)
    for wheel in sorted(fixtures.glob("*.whl")):
        if wheel.name.split("-")[0] in consumers:
            shutil.copy(wheel, dest)
    return dest, roots


def _build(
    inputs: Path, roots: list[str], out: Path, cache: Path, mode: str, record: Path
) -> tuple[float, float, int, str]:
    """One build in a fresh process: wall seconds, CPU seconds (user + system, of the build and
    every process it waited for), exit status, stderr."""
    command = [sys.executable, "-c", _CHILD, str(record), mode, "build", "-q", "--wheels", str(inputs)]
    command += ["--out", str(out), "--cache-dir", str(cache), *roots]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.returncode, proc.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--modes", default="with-cold,with-warm,without-cold,without-warm")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="mvpy-bench-compare-") as tmp:
        work = Path(tmp)
        fixtures = work / "fixtures"
        subprocess.run([sys.executable, str(ROOT / "testwheels" / "build_wheels.py"), str(fixtures)], check=True,
                       capture_output=True)  # fmt: skip
        for name in args.sets.split(","):
            inputs, roots = _inputs(name, fixtures, work / name / "in")
            timings = {}
            comparisons: list[dict[str, object]] = []
            for mode in args.modes.split(","):
                side, temperature = mode.split("-")
                cache = work / name / f"cache-{side}"
                if temperature == "cold":
                    shutil.rmtree(cache, ignore_errors=True)
                out, record = work / name / f"out-{mode}", work / name / f"record-{mode}.json"
                seconds, cpu, code, errors = _build(inputs, roots, out, cache, side, record)
                timings[mode] = {"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2), "exit": code}
                print(f"{name}: {mode}: {seconds:.1f} s wall, {cpu:.1f} s CPU, exit {code}", flush=True)
                for line in errors.splitlines():
                    print(f"    {line}", flush=True)
                if side == "with" and record.exists():
                    recorded = json.loads(record.read_text())
                    phase = sum(w["seconds"] for w in recorded), sum(w["cpu_seconds"] for w in recorded)
                    timings[mode]["check_seconds"], timings[mode]["check_cpu_seconds"] = phase
                    print(f"    the check itself: {phase[0]:.1f} s wall, {phase[1]:.1f} s CPU", flush=True)
                    comparisons = comparisons or recorded
            for wheel in comparisons:
                print(f"  {wheel['wheel']}: {wheel['seconds']} s wall, {wheel['cpu_seconds']} s CPU")
                for m in wheel["modules"]:  # type: ignore[attr-defined]
                    counts = f"{m.get('types', 0)} types, {m.get('type_members', 0)} type members, "
                    counts += f"{m.get('attributes', 0)} attributes"
                    extra = f" ({m['reason']})" if m.get("reason") else ""
                    print(f"    {m['module']}: {m['verdict']}, {m.get('imported', '-')}: {counts}{extra}")
                    for d in m.get("differences", ()):
                        print(f"      {d}")
            results[name] = {"timings": timings, "comparisons": comparisons}
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
