"""Rewriting speed against the repack floor, on real wheels.

    python benchmarks/rewrite_speed.py [--jobs N] [--json FILE]

For each case, in one run: the **floor** (read every member of the wheel, hash it, write a new
zip with deflate level 6: what any repack costs) and **ours** (validate the wheel, then write its
rewritten output, as ``mvpy-vendor build`` does for that wheel), their ratio, files rewritten, and
peak memory (each case runs in a process of its own). Cases:

* ``sympy-renamed``: a renamed copy of sympy 1.13.3 (every self-import and string reference).
* ``django-consumer``: Django rewritten for renamed ``sqlparse`` and ``asgiref``.
* ``botocore-renamed``: a renamed copy of botocore 1.44.5 (and its ``urllib3`` renamed too),
  mostly JSON data that is copied as stored.
* ``pydantic1-renamed``: a renamed copy of pydantic 1.10.27, the compiled wheel for this
  platform (its Cython modules are dropped for their shipped sources: "de-accelerated").
* ``cache-rebuild``: the whole wheelhouse of sympy 1.14.0 (primary), sympy 1.13.3 (renamed) and
  mpmath built through the public API, cold and then again with the cache warm; the floor is
  the sum of its input wheels' floors, the ratio is the warm build's.

Wheels are downloaded once into ``MVPY_BENCH_CACHE`` (default ``~/.cache/mvpy-vendor-bench``).
Not part of the test suite: compare the JSON across commits.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

CASES = {
    # case: (wheel to download, import renames, distribution renames, renamed copy?)
    "sympy-renamed": ("sympy==1.13.3", {"sympy": "_mv_sympy_1_13_3"}, {"sympy": "mv-sympy-1-13-3"}, True),
    "django-consumer": (
        "django==5.2.19",
        {"sqlparse": "_mv_sqlparse_0_5_3", "asgiref": "_mv_asgiref_3_8_1"},
        {"sqlparse": "mv-sqlparse-0-5-3", "asgiref": "mv-asgiref-3-8-1"},
        False,
    ),
    "botocore-renamed": (
        "botocore==1.44.5",
        {"botocore": "_mv_botocore_1_44_5", "urllib3": "_mv_urllib3_1_26_20"},
        {"botocore": "mv-botocore-1-44-5", "urllib3": "mv-urllib3-1-26-20"},
        True,
    ),
    "pydantic1-renamed": (
        "pydantic==1.10.27",
        {"pydantic": "_mv_pydantic_1_10_27"},
        {"pydantic": "mv-pydantic-1-10-27"},
        True,
    ),
}


def _cache() -> Path:
    path = Path(os.environ.get("MVPY_BENCH_CACHE", Path.home() / ".cache" / "mvpy-vendor-bench"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _wheel(spec: str) -> Path:
    name, _, version = spec.partition("==")
    found = [p for p in _cache().glob("*.whl") if p.name.lower().startswith(f"{name}-{version}-")]
    if not found:
        download = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:"]
        subprocess.run([*download, "-d", str(_cache()), spec], check=True)
        found = [p for p in _cache().glob("*.whl") if p.name.lower().startswith(f"{name}-{version}-")]
    return found[0]


def _floor(wheel: Path, out: Path) -> None:
    with zipfile.ZipFile(wheel) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            hashlib.sha256(data).digest()
            zout.writestr(info.filename, data)


def _ours(wheel: Path, out_dir: Path, imports: dict[str, str], dists: dict[str, str], renamed: bool, jobs: int) -> int:
    # The applier for one output, as `build` runs it (private API: this is a benchmark).
    from mvpy_vendor.apply import _write_output
    from mvpy_vendor.options import ApplyOptions
    from mvpy_vendor.planning.members import plan_members
    from mvpy_vendor.planning.plan import Output
    from mvpy_vendor.wheel.validate import read_wheels

    (info,) = read_wheels([wheel])
    name = dists[info.name] if renamed else info.name
    output = Output(
        info,
        name,  # type: ignore[arg-type]
        name,
        renamed,
        (1,),
        import_map=tuple(sorted(imports.items())),
        dist_map=tuple(sorted(dists.items())),
    )
    output = dataclasses.replace(output, members=plan_members(output, ApplyOptions()))
    pool = ProcessPoolExecutor(jobs) if jobs > 1 else None
    try:
        result, problems = _write_output(output, out_dir / output.filename, (lambda: pool) if pool else None)
    finally:
        if pool is not None:
            pool.shutdown()
    if problems:
        raise SystemExit("\n".join(map(str, problems)))
    return result.rewritten


REBUILD = ["sympy==1.14.0", "sympy==1.13.3", "mpmath==1.3.0"]


def _run_rebuild(jobs: int) -> dict[str, object]:
    from mvpy_vendor import ApplyOptions, BuildRequest, build
    from mvpy_vendor.cache import Cache

    wheels = [_wheel(spec) for spec in REBUILD]
    with tempfile.TemporaryDirectory() as tmp:
        floor = 0.0
        for i, wheel in enumerate(wheels):
            start = time.perf_counter()
            _floor(wheel, Path(tmp) / f"floor{i}.whl")
            floor += time.perf_counter() - start
        request = BuildRequest(
            wheels=wheels, requires=REBUILD[:2], options=ApplyOptions(jobs=jobs), cache=Cache(Path(tmp) / "cache")
        )
        start = time.perf_counter()
        cold = build(request, Path(tmp) / "cold")
        cold_s = time.perf_counter() - start
        start = time.perf_counter()
        warm = build(request, Path(tmp) / "warm")
        warm_s = time.perf_counter() - start
        identical = all(
            (Path(tmp) / "cold" / p.name).read_bytes() == p.read_bytes() for p in (Path(tmp) / "warm").iterdir()
        )
    return {
        "case": "cache-rebuild",
        "wheel": " + ".join(w.name for w in wheels),
        "python_files": sum(1 for w in cold.plan.inputs for m in w.members if m.endswith(".py")),
        "files_rewritten": sum(r.rewritten for r in warm.outputs),
        "floor_s": round(floor, 3),
        "cold_s": round(cold_s, 3),
        "ours_s": round(warm_s, 3),
        "ratio": round(warm_s / floor, 2),
        "byte_identical": identical,
        "peak_mb": _peak_mb(),
        "jobs": jobs,
    }


def _peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, children) / 1024, 1)


def _import_time() -> float:
    """Importing the tool (libcst above all): paid once per run, not per wheel, so timed apart."""
    start = time.perf_counter()
    import mvpy_vendor.apply  # noqa: F401

    return round(time.perf_counter() - start, 3)


def _run_case(case: str, jobs: int) -> dict[str, object]:
    spec, imports, dists, renamed = CASES[case]
    wheel = _wheel(spec)
    startup = _import_time()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        _floor(wheel, Path(tmp) / "floor.whl")
        floor = time.perf_counter() - start
        start = time.perf_counter()
        rewritten = _ours(wheel, Path(tmp), imports, dists, renamed, jobs)
        ours = time.perf_counter() - start
    with zipfile.ZipFile(wheel) as zf:
        files = sum(1 for n in zf.namelist() if n.endswith(".py"))
    return {
        "case": case,
        "wheel": wheel.name,
        "python_files": files,
        "files_rewritten": rewritten,
        "floor_s": round(floor, 3),
        "ours_s": round(ours, 3),
        "ratio": round(ours / floor, 2),
        "peak_mb": _peak_mb(),
        "jobs": jobs,
        "startup_s": startup,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--case", help=argparse.SUPPRESS)  # internal: run one case in this process
    args = parser.parse_args()
    if args.case:
        result = _run_rebuild(args.jobs) if args.case == "cache-rebuild" else _run_case(args.case, args.jobs)
        print(json.dumps(result))
        return
    rows = []
    for spec in REBUILD:
        _wheel(spec)  # download outside the measured processes
    for case in [*CASES, "cache-rebuild"]:
        if case in CASES:
            _wheel(CASES[case][0])
        proc = subprocess.run(
            [sys.executable, __file__, "--case", case, "--jobs", str(args.jobs)],
            check=True,
            capture_output=True,
            text=True,
        )
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    header = ["case", "files", "rewritten", "floor s", "ours s", "ratio", "peak MB"]
    table = [header] + [
        [r["case"], str(r["python_files"]), str(r["files_rewritten"]), f"{r['floor_s']:.3f}", f"{r['ours_s']:.3f}",
         f"{r['ratio']}x", str(r["peak_mb"])]
        for r in rows
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)))
    rebuild = rows[-1]
    print(f"cache-rebuild: cold {rebuild['cold_s']} s, warm outputs byte-identical: {rebuild['byte_identical']}")
    result = {"jobs": args.jobs, "rows": rows}
    print(json.dumps(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
