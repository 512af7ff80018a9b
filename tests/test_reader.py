"""Reading zip members through one handle (wheel/reader.py): stored, deflated and others, and damage."""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import pytest

from mvpy_vendor.wheel.reader import MemberReader


def make_zip(path: Path, members: dict[str, tuple[bytes, int]]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, (data, method) in members.items():
            zf.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data, compress_type=method)
    return path


def test_reads_stored_deflated_and_bzip2_members(tmp_path: Path) -> None:
    big = bytes(range(256)) * 8192  # 2 MiB: read in several chunks
    archive = make_zip(
        tmp_path / "a.zip",
        {
            "stored.txt": (b"plain", zipfile.ZIP_STORED),
            "deflated.bin": (big, zipfile.ZIP_DEFLATED),
            "bzip2.txt": (b"other method" * 100, zipfile.ZIP_BZIP2),
            "empty": (b"", zipfile.ZIP_DEFLATED),
        },
    )
    with MemberReader(archive) as reader:
        assert [i.filename for i in reader.infolist()] == ["stored.txt", "deflated.bin", "bzip2.txt", "empty"]
        assert reader.read("stored.txt") == b"plain"
        assert reader.read(reader.getinfo("deflated.bin")) == big
        assert len(list(reader.chunks(reader.getinfo("deflated.bin")))) > 1
        assert reader.read("bzip2.txt") == b"other method" * 100
        assert reader.read("empty") == b""


def test_stored_bytes_are_the_compressed_form(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {"d": (b"x" * 10000, zipfile.ZIP_DEFLATED)})
    with MemberReader(archive) as reader:
        info = reader.getinfo("d")
        stored = b"".join(reader.stored(info))
    assert len(stored) == info.compress_size < 10000
    assert zlib.decompress(stored, -15) == b"x" * 10000


def _patch(path: Path, old: bytes, new: bytes) -> None:
    data = path.read_bytes()
    assert data.count(old) >= 1
    path.write_bytes(data.replace(old, new, 1))


def test_a_local_header_that_names_another_member_is_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {"good.py": (b"x = 1\n", zipfile.ZIP_STORED)})
    _patch(archive, b"good.py", b"evil.py")  # the first occurrence is the local header's
    with MemberReader(archive) as reader, pytest.raises(zipfile.BadZipFile, match=r"names 'evil\.py'"):
        reader.read("good.py")


def test_a_member_whose_size_does_not_match_the_directory_is_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {"m": (b"0123456789", zipfile.ZIP_STORED)})
    with MemberReader(archive) as reader:
        info = reader.getinfo("m")
        info.file_size = 11  # what a lying central directory would say
        with pytest.raises(zipfile.BadZipFile, match="10 bytes, where the central directory says 11"):
            reader.read(info)


def test_a_truncated_archive_is_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {"m": (b"a" * 5000, zipfile.ZIP_STORED)})
    data = archive.read_bytes()
    cut = data.index(b"a" * 100) + 100
    archive.write_bytes(data[:cut])
    with pytest.raises(zipfile.BadZipFile):
        MemberReader(archive)
