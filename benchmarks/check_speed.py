"""``mvpy-vendor check`` on 1,000 real source files, start-up included, against baselines of the same run.

The project: every ``.py`` file of Django 5.2.19 (885) and the first 115 of sympy 1.14.0 (sorted),
1,000 files, 11.5 MB, under ``src/`` of a temporary project whose ``pyproject.toml`` embeds

* ``names-in-40-files``: ``asgiref`` and ``sqlparse`` (Django's own dependencies: 40 of the files
  mention them, so libcst is imported and the rewriter's engine runs on those 40);
* ``names-nowhere``: ``pydantic`` (no file mentions it: no file is parsed, libcst is not imported).

Each command is a fresh process (``mvpy-vendor check src``, as pre-commit runs it), timed as the
median of ``--runs`` runs (wall clock, and CPU time: user + system, steadier on a shared
machine) after one warm-up run that also writes the bytecode caches.
The baselines, in the same run: ``python -c pass`` (the interpreter's start) and a Python process
that walks ``src/`` and reads every file (the floor of any checker that reads the files).

Wheels are downloaded once into ``MVPY_BENCH_CACHE`` (default ``~/.cache/mvpy-vendor-bench``).
Usage: ``python benchmarks/check_speed.py [--runs N] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

_READ_ALL = (
    "import os,sys\n"
    "n=0\n"
    "for d,_,fs in os.walk(sys.argv[1]):\n"
    "    for f in fs:\n"
    "        if f.endswith(('.py','.pyi')):\n"
    "            n+=len(open(os.path.join(d,f),'rb').read())\n"
)
_CASES = {"names-in-40-files": '["asgiref>=3.8", "sqlparse>=0.3.1"]', "names-nowhere": '["pydantic>=1.10,<2"]'}


def _cache() -> Path:
    path = Path(os.environ.get("MVPY_BENCH_CACHE", Path.home() / ".cache" / "mvpy-vendor-bench"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _wheel(spec: str) -> Path:
    name, version = spec.split("==")
    found = [p for p in _cache().glob("*.whl") if p.name.lower().startswith(f"{name}-{version}-")]
    if not found:
        download = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:"]
        subprocess.run([*download, "-d", str(_cache()), spec], check=True)
        found = [p for p in _cache().glob("*.whl") if p.name.lower().startswith(f"{name}-{version}-")]
    return found[0]


def _corpus(src: Path) -> tuple[int, int]:
    count = size = 0
    for spec, limit in (("django==5.2.19", None), ("sympy==1.14.0", 115)):
        with zipfile.ZipFile(_wheel(spec)) as zf:
            members = sorted(m for m in zf.namelist() if m.endswith(".py") and ".dist-info/" not in m)
            for member in members[:limit]:
                data = zf.read(member)
                target = src / member
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
                count, size = count + 1, size + len(data)
    return count, size


def _time(argv: list[str], cwd: Path, runs: int, env: dict[str, str]) -> tuple[float, float, int]:
    """Median wall-clock and CPU (user + system) seconds of ``runs`` runs, and the exit code."""
    code = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=False).returncode  # warm-up
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=False)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus), code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # as users run it
    tool = shutil.which("mvpy-vendor", path=str(Path(sys.executable).parent)) or "mvpy-vendor"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        count, size = _corpus(root / "src")
        python, _, _ = _time([sys.executable, "-c", "pass"], root, args.runs, env)
        read, read_cpu, _ = _time([sys.executable, "-c", _READ_ALL, "src"], root, args.runs, env)
        for case, embed in _CASES.items():
            (root / "pyproject.toml").write_text(
                '[project]\nname = "bench"\nversion = "0"\n'
                f"dependencies = {embed}\n\n[tool.mvpy-vendor.backend]\n"
                f'inner = "setuptools.build_meta"\nembed = {embed}\n',
                encoding="utf-8",
            )
            ours, cpu, code = _time([tool, "check", "-q", "src"], root, args.runs, env)
            rows.append(
                {
                    "case": case,
                    "files": count,
                    "mb": round(size / 1e6, 1),
                    "exit": code,
                    "python_s": round(python, 3),
                    "read_all_s": round(read, 3),
                    "read_all_cpu_s": round(read_cpu, 3),
                    "check_s": round(ours, 3),
                    "check_cpu_s": round(cpu, 3),
                    "check_over_read_all": round(ours / read, 2),
                }
            )
    header = list(rows[0])
    widths = [max(len(h), *(len(str(r[h])) for r in rows)) for h in header]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    for r in rows:
        print("  ".join(str(r[h]).ljust(w) for h, w in zip(header, widths)))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
