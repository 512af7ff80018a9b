"""How long patching a compiled module adds, per MB of binary.

    python benchmarks/native_patch.py [--json FILE]

Downloads (once, into ``MVPY_BENCH_CACHE``, default ``~/.cache/mvpy-vendor-bench``) a few real
wheels with compiled modules, and for every compiled module measures, in the same run:
* the baseline: reading the module from its wheel and deflating it into a new zip (what a
  repack costs for that member anyway);
* inspection (finding names and references) and patching (inspection and the structural check
  of the written binary included; the check is also timed alone).
Members that are not Python extension modules (``numpy.libs/libopenblas...so``) are skipped:
builds copy them.
Prints a table and JSON, so results can be compared across commits. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

from mvpy_vendor.naming import renamed_import_name
from mvpy_vendor.native import inspect_native, patch_native
from mvpy_vendor.native.check import check_elf
from mvpy_vendor.wheel.layout import EXTENSION_SUFFIXES, module_name_of
from mvpy_vendor.wheel.validate import read_wheels

WHEELS = ["ujson==5.10.0", "msgpack==1.0.8", "markupsafe==2.1.5", "orjson==3.10.18", "numpy==1.26.4"]


def _best(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _repack(member: str, data: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(), "w", zipfile.ZIP_DEFLATED, compresslevel=6) as out:
        out.writestr(member, data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args()
    cache = Path(os.environ.get("MVPY_BENCH_CACHE", Path.home() / ".cache" / "mvpy-vendor-bench"))
    cache.mkdir(parents=True, exist_ok=True)
    for spec in WHEELS:
        name, _, version = spec.partition("==")
        if not any(p.name.lower().startswith(f"{name}-{version}-") for p in cache.glob("*.whl")):
            download = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:"]
            subprocess.run([*download, "-d", str(cache), spec], check=True)
    rows = []
    for wheel in read_wheels(sorted(cache.glob("*.whl"))):
        names = {n: renamed_import_name(n, wheel.version) for n in wheel.import_names}
        with zipfile.ZipFile(wheel.path) as zf:
            for member in (m for m in wheel.members if m.endswith(EXTENSION_SUFFIXES)):
                data = zf.read(member)
                if not inspect_native(data, member, names).init_symbols:
                    continue
                module = module_name_of(member)
                first, _, rest = module.partition(".")
                new_last = (names[first] + ("." + rest if rest else "")).rpartition(".")[2]
                init = (module.rpartition(".")[2], new_last) if new_last != module.rpartition(".")[2] else None
                mb = len(data) / 1e6
                repeat = 3 if mb < 1 else 1
                baseline = _best(partial(_repack, member, data), repeat)
                inspect = _best(partial(inspect_native, data, member, names), repeat)
                patch = _best(partial(patch_native, data, member, names, init), repeat)
                patched = patch_native(data, member, names, init)
                is_elf = data[:4] == b"\x7fELF"
                check = _best(partial(check_elf, data, patched, member, init), repeat) if is_elf else 0.0
                rows.append(
                    {
                        "wheel": wheel.filename,
                        "member": member,
                        "mb": round(mb, 3),
                        "baseline_s": round(baseline, 4),
                        "inspect_s": round(inspect, 4),
                        "patch_s": round(patch, 4),
                        "check_s": round(check, 4),
                        "patch_s_per_mb": round(patch / mb, 3),
                        "patch_over_baseline": round(patch / baseline, 1),
                    }
                )
    header = ["member", "MB", "repack s", "inspect s", "patch s", "check s", "patch s/MB", "patch/repack"]
    table = [header] + [
        [r["member"], f"{r['mb']:.3f}", f"{r['baseline_s']:.4f}", f"{r['inspect_s']:.4f}", f"{r['patch_s']:.4f}",
         f"{r['check_s']:.4f}", f"{r['patch_s_per_mb']:.3f}", f"{r['patch_over_baseline']:.1f}x"]
        for r in rows
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)))
    total_mb = sum(r["mb"] for r in rows)
    total_patch = sum(r["patch_s"] for r in rows)
    summary = {"modules": len(rows), "mb": round(total_mb, 3), "patch_s_per_mb": round(total_patch / total_mb, 3)}
    print(f"overall: {summary['patch_s_per_mb']} s of patching per MB of binary ({summary['mb']} MB)")
    result = {"rows": rows, "summary": summary}
    print(json.dumps(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
