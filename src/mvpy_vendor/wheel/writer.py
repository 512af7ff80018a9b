"""Write wheels deterministically: fixed timestamps and modes, members in the order given, fresh RECORD.

Members come in three ways: bytes to compress (``write``), bytes already compressed, for
instance by a worker process (``write_compressed``), or a member of a source zip copied as its
stored compressed bytes without being inflated or deflated again (``copy``). The zip format is
written here rather than through :mod:`zipfile`, which cannot copy a member's compressed bytes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import struct
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from .records import record_digest, record_hash

__all__ = ["Compressed", "Deflater", "SourceMember", "WheelWriter", "compress", "zip_date_time"]

_EPOCH_1980 = 315532800  # the earliest time a zip file can store
_DEFLATED = 8
_VERSION_NEEDED = {0: 20, 8: 20, 12: 46, 14: 63}  # stored, deflate, bzip2, lzma
_ZIP64_VERSION = 45
_UTF8_FLAG = 0x800
_LIMIT = 0xFFFFFFFF  # sizes and offsets at or above this need zip64 fields
_COUNT_LIMIT = 0xFFFF  # and member counts at or above this
_MASK32, _MASK16 = 0xFFFFFFFF, 0xFFFF  # what the classic fields then hold


def _field(value: int, limit: int, mask: int) -> int:
    return mask if value >= limit else value


def zip_date_time() -> tuple[int, int, int, int, int, int]:
    """SOURCE_DATE_EPOCH if set (clamped to 1980), else 1980-01-01 00:00:00."""
    raw = os.environ.get("SOURCE_DATE_EPOCH", "")
    epoch = int(raw) if raw.strip().isdigit() else _EPOCH_1980
    return time.gmtime(max(epoch, _EPOCH_1980))[:6]


@dataclass(frozen=True)
class Compressed:
    """A member's bytes deflated, with what the zip and RECORD need to know of the original."""

    data: bytes
    crc: int
    size: int
    record_hash: str
    method: int = _DEFLATED


def compress(data: bytes) -> Compressed:
    """Deflate at level 6 (raw stream, as zip stores it); a pure function, fit for a worker."""
    deflater = zlib.compressobj(6, zlib.DEFLATED, -15)
    packed = deflater.compress(data) + deflater.flush()
    return Compressed(packed, zlib.crc32(data), len(data), record_hash(data))


class Deflater:
    """:func:`compress` for bytes written in pieces (bytes-like, not kept): the same result,
    without the whole input ever held."""

    def __init__(self) -> None:
        self._deflater = zlib.compressobj(6, zlib.DEFLATED, -15)
        self._packed: list[bytes] = []
        self._crc = 0
        self._size = 0
        self._hash = hashlib.sha256()

    def write(self, piece: bytes | bytearray | memoryview) -> None:
        self._packed.append(self._deflater.compress(piece))
        self._crc = zlib.crc32(piece, self._crc)
        self._size += len(piece)
        self._hash.update(piece)

    def result(self) -> Compressed:
        self._packed.append(self._deflater.flush())
        return Compressed(b"".join(self._packed), self._crc, self._size, record_digest(self._hash.digest()))


@dataclass(frozen=True)
class SourceMember:
    """A member of a validated source zip, to be copied as it is stored."""

    method: int
    crc: int
    compress_size: int
    size: int
    record_hash: str


@dataclass
class _Entry:
    name: bytes
    flags: int
    method: int
    crc: int
    compress_size: int
    size: int
    offset: int
    mode: int


class WheelWriter:
    """Add members one at a time (streamed, never all held); ``close`` appends RECORD."""

    def __init__(self, path: Path, dist_info: str) -> None:
        self.path = path
        self.record_name = f"{dist_info}/RECORD"
        year, month, day, hour, minute, second = zip_date_time()
        self._time = (hour << 11) | (minute << 5) | (second // 2)
        self._date = ((year - 1980) << 9) | (month << 5) | day
        self._out: BinaryIO = path.open("wb")
        self._offset = 0
        self._entries: list[_Entry] = []
        self._record: list[tuple[str, str, str]] = []
        self._names: set[str] = set()

    def write(self, name: str, data: bytes, executable: bool = False) -> None:
        self.write_compressed(name, compress(data), executable)

    def write_compressed(self, name: str, member: Compressed, executable: bool = False) -> None:
        entry = self._start(name, member.method, member.crc, len(member.data), member.size, executable)
        self._emit(member.data)
        self._finish(name, entry, member.record_hash)

    def copy(self, name: str, member: SourceMember, stored: Iterable[bytes], executable: bool = False) -> None:
        """Copy a member of another zip under ``name``, from its ``stored`` (compressed) bytes."""
        entry = self._start(name, member.method, member.crc, member.compress_size, member.size, executable)
        start = self._offset
        for chunk in stored:
            self._emit(chunk)
        if self._offset - start != member.compress_size:
            raise ValueError(f"{name}: {self._offset - start} stored bytes, expected {member.compress_size}")
        self._finish(name, entry, member.record_hash)

    def _start(self, name: str, method: int, crc: int, compress_size: int, size: int, executable: bool) -> _Entry:
        if name in self._names:
            raise ValueError(f"{self.path.name}: {name} written twice")
        self._names.add(name)
        encoded = name.encode("utf-8")
        flags = 0 if encoded.isascii() else _UTF8_FLAG
        mode = 0o100755 if executable else 0o100644
        entry = _Entry(encoded, flags, method, crc, compress_size, size, self._offset, mode)
        extra = b""
        version = _VERSION_NEEDED.get(method, 20)
        if size >= _LIMIT or compress_size >= _LIMIT:
            extra = struct.pack("<HHQQ", 1, 16, size, compress_size)
            size = compress_size = _MASK32
            version = max(version, _ZIP64_VERSION)
        header = struct.pack(
            "<4sHHHHHIIIHH",
            b"PK\x03\x04",
            version,
            flags,
            method,
            self._time,
            self._date,
            crc,
            compress_size,
            size,
            len(encoded),
            len(extra),
        )
        self._emit(header + encoded + extra)
        return entry

    def _finish(self, name: str, entry: _Entry, hash_text: str) -> None:
        self._entries.append(entry)
        self._record.append((name, hash_text, str(entry.size)))

    def _emit(self, data: bytes) -> None:
        self._out.write(data)
        self._offset += len(data)

    def _central_directory(self) -> bytes:
        parts = []
        for e in self._entries:
            zip64 = [v for v in (e.size, e.compress_size, e.offset) if v >= _LIMIT]
            extra = struct.pack(f"<HH{len(zip64)}Q", 1, 8 * len(zip64), *zip64) if zip64 else b""
            version = max(_VERSION_NEEDED.get(e.method, 20), _ZIP64_VERSION if zip64 else 0)
            parts.append(
                struct.pack(
                    "<4sBBHHHHHIIIHHHHHII",
                    b"PK\x01\x02",
                    version,
                    3,  # made by: Unix, so that the mode in the external attributes counts
                    version,
                    e.flags,
                    e.method,
                    self._time,
                    self._date,
                    e.crc,
                    _field(e.compress_size, _LIMIT, _MASK32),
                    _field(e.size, _LIMIT, _MASK32),
                    len(e.name),
                    len(extra),
                    0,
                    0,
                    0,
                    e.mode << 16,
                    _field(e.offset, _LIMIT, _MASK32),
                )
                + e.name
                + extra
            )
        return b"".join(parts)

    def close(self) -> None:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerows(self._record)
        writer.writerow((self.record_name, "", ""))
        self._names.discard(self.record_name)
        self.write(self.record_name, buf.getvalue().encode("utf-8"))
        directory = self._central_directory()
        start, count = self._offset, len(self._entries)
        self._emit(directory)
        if count >= _COUNT_LIMIT or start >= _LIMIT or len(directory) >= _LIMIT:
            end64 = self._offset
            self._emit(
                struct.pack(
                    "<4sQHHIIQQQQ", b"PK\x06\x06", 44, _ZIP64_VERSION, _ZIP64_VERSION, 0, 0, count, count,
                    len(directory), start,
                )
                + struct.pack("<4sIQI", b"PK\x06\x07", 0, end64, 1)
            )  # fmt: skip
        self._emit(
            struct.pack(
                "<4sHHHHIIH", b"PK\x05\x06", 0, 0, _field(count, _COUNT_LIMIT, _MASK16),
                _field(count, _COUNT_LIMIT, _MASK16), _field(len(directory), _LIMIT, _MASK32),
                _field(start, _LIMIT, _MASK32), 0,
            )
        )  # fmt: skip
        self._out.close()

    def abort(self) -> None:
        self._out.close()
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> WheelWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
