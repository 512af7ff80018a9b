"""Read a zip's members through one file handle, with less overhead per member than zipfile.

Wheels hold thousands of small members; ``ZipFile.open`` costs more per member than inflating
a small one. This reader takes the central directory from :mod:`zipfile` and reads stored and
deflated members itself (others through ``zipfile``), checking each local header against the
central directory and each member's length and CRC-32. Callers check content by hash (RECORD).
A damaged member raises ``zipfile.BadZipFile`` saying what is wrong; the caller names the member.

Nothing is read further than the central directory says: a member that inflates to more than
its declared size fails as soon as it passes it (a zip bomb costs one chunk), and a member is
produced in chunks of at most 1 MiB whatever its compression ratio.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

__all__ = ["BadMemberName", "MemberReader"]


class BadMemberName(zipfile.BadZipFile):
    """A member name that cannot be decoded as its flags say; ``member`` is it, escaped."""

    def __init__(self, member: str, reason: str) -> None:
        super().__init__(reason)
        self.member = member
        self.reason = reason


_CHUNK = 1 << 20
_STORED, _DEFLATED = 0, 8


class MemberReader:
    """Members of the zip at ``path``, by their :class:`zipfile.ZipInfo`."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fh = path.open("rb")
        self._zip: zipfile.ZipFile | None = None
        try:
            infos = self.zip.infolist()
        except UnicodeDecodeError as exc:
            self.close()
            raw = exc.object if isinstance(exc.object, bytes) else b""
            name = raw.decode("utf-8", "backslashreplace")
            raise BadMemberName(name, "member name is flagged as UTF-8 but is not valid UTF-8") from None
        except BaseException:
            self.close()
            raise
        self._infos = infos
        self._by_name = {i.filename: i for i in infos}

    @property
    def zip(self) -> zipfile.ZipFile:
        """The archive through :mod:`zipfile` (opened when first needed)."""
        if self._zip is None:
            self._zip = zipfile.ZipFile(self._path)
        return self._zip

    def infolist(self) -> list[zipfile.ZipInfo]:
        return list(self._infos)

    def getinfo(self, name: str) -> zipfile.ZipInfo:
        return self._by_name[name]

    def data_offset(self, info: zipfile.ZipInfo) -> int:
        """Where ``info``'s stored bytes start, after a local header that matches the directory."""
        fh = self._fh
        fh.seek(info.header_offset)
        header = fh.read(30)
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile("bad local file header")
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        name = fh.read(name_length)
        if name != info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437", errors="replace"):
            raise zipfile.BadZipFile(f"its local file header names {name.decode('utf-8', 'replace')!r}")
        return int(info.header_offset + 30 + name_length + extra_length)

    def stored(self, info: zipfile.ZipInfo) -> Iterator[bytes]:
        """``info``'s bytes as stored (compressed), in chunks."""
        fh = self._fh
        fh.seek(self.data_offset(info))
        left = info.compress_size
        while left:
            chunk = fh.read(min(left, _CHUNK))
            if not chunk:
                raise zipfile.BadZipFile("its data ends early")
            left -= len(chunk)
            yield chunk

    def chunks(self, info: zipfile.ZipInfo) -> Iterator[bytes]:
        """``info``'s uncompressed bytes, in chunks of at most 1 MiB; never more than it declares."""
        if info.flag_bits & 0x1:
            raise zipfile.BadZipFile("encrypted")
        limit = info.file_size
        size = crc = 0

        def counted(out: bytes) -> bytes:
            nonlocal size, crc
            size += len(out)
            if size > limit:
                raise zipfile.BadZipFile(f"holds more than the {limit} bytes the central directory says")
            crc = zlib.crc32(out, crc)
            return out

        if info.compress_type == _STORED:
            if info.compress_size != limit:
                raise zipfile.BadZipFile(f"{info.compress_size} bytes, where the central directory says {limit}")
            for chunk in self.stored(info):
                yield counted(chunk)
        elif info.compress_type == _DEFLATED:
            inflater = zlib.decompressobj(-15)
            for chunk in self.stored(info):
                data = chunk
                while data and not inflater.eof:
                    out = inflater.decompress(data, _CHUNK)
                    data = inflater.unconsumed_tail
                    if out:
                        yield counted(out)
                if inflater.eof:
                    break
            out = inflater.flush()
            if out:
                yield counted(out)
            if not inflater.eof:
                raise zipfile.BadZipFile("its deflate stream ends early")
        else:
            with self.zip.open(info) as fh:
                while chunk := fh.read(_CHUNK):
                    yield counted(chunk)
        if size != limit:
            raise zipfile.BadZipFile(f"{size} bytes, where the central directory says {limit}")
        if crc != info.CRC:
            raise zipfile.BadZipFile("its CRC-32 does not match its data")

    def read(self, info: zipfile.ZipInfo | str) -> bytes:
        if isinstance(info, str):
            info = self.getinfo(info)
        return b"".join(self.chunks(info))

    def close(self) -> None:
        self._fh.close()
        if self._zip is not None:
            self._zip.close()

    def __enter__(self) -> MemberReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
