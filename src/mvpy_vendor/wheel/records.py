"""RECORD files: the hash form they use, reading their rows, hashing files and members."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "SIGNATURE_FILES",
    "RecordError",
    "WEAK_HASHES",
    "file_sha256",
    "hash_chunks",
    "record_digest",
    "record_hash",
    "record_rows",
    "sha256_hashes",
]

#: RECORD signatures: they no longer match a rewritten wheel and are dropped
SIGNATURE_FILES = ("RECORD.jws", "RECORD.p7s")
#: algorithms too weak to trust for a RECORD (PEP 427 requires sha256 or better)
WEAK_HASHES = frozenset({"md5", "sha1", "sha224"})
_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _urlsafe(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def record_hash(data: bytes) -> str:
    """The ``sha256=...`` form used in RECORD files."""
    return record_digest(hashlib.sha256(data).digest())


def record_digest(sha256: bytes) -> str:
    """The ``sha256=...`` form of a SHA-256 digest."""
    return "sha256=" + _urlsafe(sha256)


def hash_chunks(chunks: Iterable[bytes], algorithm: str) -> tuple[str, int]:
    """The RECORD-style digest (without the ``algo=`` prefix) of streamed bytes, and their length."""
    h = hashlib.new(algorithm)
    size = 0
    for chunk in chunks:
        h.update(chunk)
        size += len(chunk)
    return _urlsafe(h.digest()), size


class RecordError(ValueError):
    """A RECORD that cannot be read as one: not UTF-8, or not CSV."""


def record_rows(data: bytes) -> list[list[str]]:
    """A RECORD file's rows, as the csv module reads them; :class:`RecordError` if it is not
    UTF-8 or a field is longer than the csv module's limit (128 KiB)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise RecordError(f"RECORD line {line} is not valid UTF-8") from None
    reader = csv.reader(io.StringIO(text))
    try:
        return list(reader)
    except csv.Error as exc:
        # The one limit pip applies (csv's) and uv does not: the stricter rule.
        raise RecordError(f"RECORD line {reader.line_num}: {exc} (pip refuses it; uv installs it)") from None


def sha256_hashes(data: bytes) -> dict[str, str]:
    """Path -> ``sha256=...`` for the rows of a validated RECORD that use sha256 (others left out)."""
    return {row[0]: row[1] for row in record_rows(data) if len(row) == 3 and row[1].startswith("sha256=")}
