"""The zip writer: raw copies, zip64 structures and RECORD, read back by zipfile and installed by pip."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import zipfile
from pathlib import Path

import pytest

from mvpy_vendor import ApplyOptions, BuildRequest, build
from mvpy_vendor.wheel import writer as wheel_output
from mvpy_vendor.wheel.reader import MemberReader
from mvpy_vendor.wheel.records import record_hash
from mvpy_vendor.wheel.validate import read_wheels
from mvpy_vendor.wheel.writer import SourceMember, WheelWriter

from .conftest import FOO_SET, install_wheelhouse, pick


def _source_zip(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(zipfile.ZipInfo("stored.txt"), b"kept as stored\n" * 10, compress_type=zipfile.ZIP_STORED)
        zf.writestr(zipfile.ZipInfo("deflated.txt"), b"deflated " * 1000, compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr(zipfile.ZipInfo("lzma.txt"), b"lzma " * 1000, compress_type=zipfile.ZIP_LZMA)


def _write(path: Path, source: Path) -> None:
    with MemberReader(source) as reader, WheelWriter(path, "x-1.dist-info") as writer:
        writer.write("new/é.py", b"print('hi')\n", executable=True)
        for info in reader.zip.infolist():
            data = reader.read(info)
            member = SourceMember(info.compress_type, info.CRC, info.compress_size, info.file_size, record_hash(data))
            writer.copy("copied/" + info.filename, member, reader.stored(info))


def _raw_bytes(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as zf, path.open("rb") as fh:
        info = zf.getinfo(name)
        fh.seek(info.header_offset + 26)
        skip = int.from_bytes(fh.read(2), "little") + int.from_bytes(fh.read(2), "little")
        fh.seek(info.header_offset + 30 + skip)
        return fh.read(info.compress_size)


@pytest.mark.parametrize("zip64", [False, True], ids=["plain", "zip64"])
def test_copies_are_stored_bytes_and_the_zip_reads_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, zip64: bool
) -> None:
    if zip64:  # every size, offset and count past the limits: each zip64 structure is written
        monkeypatch.setattr(wheel_output, "_LIMIT", 1)
        monkeypatch.setattr(wheel_output, "_COUNT_LIMIT", 1)
    source, out = tmp_path / "source.zip", tmp_path / "out.whl"
    _source_zip(source)
    _write(out, source)
    with zipfile.ZipFile(out) as zf:
        assert zf.testzip() is None
        infos = {i.filename: i for i in zf.infolist()}
        assert sorted(infos) == [
            "copied/deflated.txt", "copied/lzma.txt", "copied/stored.txt", "new/é.py", "x-1.dist-info/RECORD"
        ]  # fmt: skip
        assert zf.read("copied/deflated.txt") == b"deflated " * 1000
        assert infos["copied/stored.txt"].compress_type == zipfile.ZIP_STORED
        assert infos["copied/lzma.txt"].compress_type == zipfile.ZIP_LZMA
        assert infos["new/é.py"].external_attr >> 16 == 0o100755
        assert infos["new/é.py"].flag_bits & 0x800  # the name is UTF-8
        record = zf.read("x-1.dist-info/RECORD").decode()
    for name in ("deflated.txt", "lzma.txt", "stored.txt"):
        assert _raw_bytes(out, "copied/" + name) == _raw_bytes(source, name)
    digest = base64.urlsafe_b64encode(hashlib.sha256(b"print('hi')\n").digest()).rstrip(b"=").decode()
    assert f"new/é.py,sha256={digest},12\n" in record


def test_output_is_deterministic(tmp_path: Path) -> None:
    source = tmp_path / "source.zip"
    _source_zip(source)
    _write(tmp_path / "a.whl", source)
    _write(tmp_path / "b.whl", source)
    assert (tmp_path / "a.whl").read_bytes() == (tmp_path / "b.whl").read_bytes()


def _rehash_record(wheel: Path, algorithm: str) -> Path:
    """The same wheel with its RECORD in ``algorithm`` (valid, but not sha256)."""
    out = wheel.parent / "rehashed" / wheel.name
    out.parent.mkdir(exist_ok=True)
    with zipfile.ZipFile(wheel) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        rows = []
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.endswith(".dist-info/RECORD"):
                record = info.filename
                continue
            digest = base64.urlsafe_b64encode(hashlib.new(algorithm, data).digest()).rstrip(b"=").decode()
            rows.append(f"{info.filename},{algorithm}={digest},{len(data)}\n")
            zout.writestr(info, data)
        zout.writestr(record, "".join(rows) + f"{record},,\n")
    return out


def test_record_in_another_algorithm_is_rehashed_for_copies(wheels: Path, tmp_path: Path) -> None:
    inputs = [_rehash_record(w, "sha512") for w in pick(wheels, *FOO_SET)]
    out = tmp_path / "out"
    result = build(BuildRequest(wheels=inputs, options=ApplyOptions(jobs=1)), out)
    read_wheels(sorted(out.glob("*.whl")))  # every RECORD hash checked again
    rebuilt = [out / r.output.filename for r in result.outputs if r.output.action != "copy"]
    assert len(rebuilt) >= 2
    for wheel in rebuilt:
        with zipfile.ZipFile(wheel) as zf:
            record = zf.read(next(n for n in zf.namelist() if n.endswith("/RECORD"))).decode()
        assert "sha512=" not in record
    python = install_wheelhouse(out, tmp_path / "venv")
    run = subprocess.run([str(python), "-m", "myapp"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "foo2 says hi to myapp" in run.stdout
