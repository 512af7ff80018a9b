"""Peak memory of a build whose inputs hold a 1 GiB member, a 50 MiB source file or a million imports.

    python benchmarks/memory.py [--json FILE] [--data-mib N] [--source-mib N] [--import-lines N]
                                [--literal-items N] [--only data|source|imports|literal] [--jobs N]

Builds the foo fixture set (testwheels/build_wheels.py) with foo 1.0.0, the version a build
renames, carrying (1) an honest 1 GiB data member, copied as stored, (2) a 50 MiB Python file
that imports foo, rewritten, (3) a Python file of 1,000,000 ``import foo`` lines, each
rewritten, and (4) a file holding a dict and a list display of 20,000 module paths each (every
one relocated); each build runs in its own process, and its peak RSS (``ru_maxrss`` from ``wait4``: the
largest of the build process and its worker processes) and wall time are printed. Not a timed
test: run it by hand.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOO1 = "foo-1.0.0-py3-none-any.whl"
DIST1 = "foo-1.0.0.dist-info"
_CHUNK = 1 << 20


def _b64(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _wheel_with(fixture: Path, dest: Path, name: str, chunks: object) -> Path:
    """``fixture`` plus member ``name`` streamed from ``chunks`` (an iterable of bytes), RECORD anew."""
    rows = []
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / FOO1
    with zipfile.ZipFile(fixture) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            if info.filename.endswith("/RECORD"):
                continue
            data = src.read(info)
            out.writestr(info.filename, data)
            rows.append(f"{info.filename},sha256={_b64(hashlib.sha256(data).digest())},{len(data)}")
        digest, size = hashlib.sha256(), 0
        with out.open(zipfile.ZipInfo(name, (2023, 11, 14, 0, 0, 0)), "w", force_zip64=True) as fh:
            for chunk in chunks:  # type: ignore[attr-defined]
                digest.update(chunk)
                size += len(chunk)
                fh.write(chunk)
        rows.append(f"{name},sha256={_b64(digest.digest())},{size}")
        out.writestr(f"{DIST1}/RECORD", "\n".join([*rows, f"{DIST1}/RECORD,,"]) + "\n")
    return path


def _data(mib: int) -> object:
    block = bytes(range(256)) * (_CHUNK // 256)  # compresses, but not to nothing
    return (block for _ in range(mib))


def _source(mib: int) -> object:
    line = b"import foo.sub  # a comment to make the line longer than it needs to be, and then some\n"
    body = b"x = foo.sub.VALUE\n" + line * (_CHUNK // len(line))
    return (body for _ in range(mib))


def _imports(lines: int) -> object:
    block = b"import foo\n" * 10_000
    full, rest = divmod(lines, 10_000)
    return [*(block for _ in range(full)), b"import foo\n" * rest]


def _literal(items: int) -> object:
    rows = b"".join(b"    'k%d': 'foo.sub.m%d',\n" % (i, i) for i in range(items))
    return [b"import foo\nTABLE = {\n", rows, b"}\nNAMES = [", b"'foo.sub', " * items, b"]\n"]


def _build(inputs: list[Path], out: Path, jobs: int | None) -> tuple[float, float, int]:
    """Peak RSS (MB), wall seconds and exit code of one build, in its own process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    args = [sys.executable, "-m", "mvpy_vendor", "build", "--wheels", *map(str, inputs)]
    if jobs is not None:
        args += ["--jobs", str(jobs)]
    start = time.monotonic()
    proc = subprocess.Popen(
        [*args, "--out", str(out), "--no-cache", "-q"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.stderr is not None
    err = proc.stderr.read().decode()
    if proc.returncode:
        print(err, file=sys.stderr)
    return usage.ru_maxrss / 1024, seconds, proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--data-mib", type=int, default=1024)
    parser.add_argument("--source-mib", type=int, default=50)
    parser.add_argument("--import-lines", type=int, default=1_000_000)
    parser.add_argument("--literal-items", type=int, default=20_000)
    parser.add_argument("--only", choices=["data", "source", "imports", "literal"], action="append")
    parser.add_argument("--jobs", type=int, help="passed to the build (default: its own)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mvpy-memory-") as tmp:
        work = Path(tmp)
        fixtures = work / "fixtures"
        names = ["foo", "slow-package", "myapp"]
        script = ROOT / "testwheels" / "build_wheels.py"
        subprocess.run([sys.executable, str(script), str(fixtures), *names], check=True, stdout=subprocess.DEVNULL)
        others = [p for p in fixtures.glob("*.whl") if p.name != FOO1]
        cases = {
            "data": (f"{args.data_mib} MiB data member", "foo/big.dat", _data(args.data_mib)),
            "source": (f"{args.source_mib} MiB source file", "foo/generated.py", _source(args.source_mib)),
            "imports": (f"{args.import_lines:,} import lines", "foo/imports.py", _imports(args.import_lines)),
            "literal": (f"{args.literal_items:,}-item displays", "foo/table.py", _literal(args.literal_items)),
        }
        results = []
        for i, (label, member, chunks) in enumerate(v for k, v in cases.items() if k in (args.only or cases)):
            wheel = _wheel_with(fixtures / FOO1, work / f"in{i}", member, chunks)
            rss, seconds, code = _build([wheel, *others], work / f"out{i}", args.jobs)
            results.append({"case": label, "peak_rss_mb": round(rss, 1), "seconds": round(seconds, 1), "exit": code})
            print(f"{label}: peak RSS {rss:.0f} MB, {seconds:.1f} s, exit {code}", flush=True)
            wheel.unlink()
            for p in (work / f"out{i}").glob("*"):
                p.unlink()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
