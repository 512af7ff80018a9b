"""A persistent cache of what was validated, pre-filtered and built, so unchanged inputs rebuild fast.

Every entry is keyed by everything that decides it (the input wheel's sha256, the plan's maps,
the options, SOURCE_DATE_EPOCH) under a directory named after a fingerprint of this tool's own
code and of the libraries that shape its output (libcst, LIEF, capstone, packaging): a change to
any of them starts a fresh cache. A cache that cannot be read is a miss; one that cannot be
written is skipped: the cache never decides whether a build succeeds.

Entries are written atomically (a temporary file beside them, then renamed) and checked on
read: a JSON entry carries the sha256 of its text on its first line, a file entry has a
``.sha256`` beside it and is hashed as it is copied out. An entry that does not match its
digest (truncated, damaged, edited) is a miss and is removed. The digests catch corruption
and edits that do not also rewrite the digest; whoever can write the cache directory can still
write a consistent entry (as they could edit this tool itself).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from ._version import __version__

__all__ = ["Cache", "cache_key", "default_cache_dir"]

_SHAPING = ("libcst", "lief", "capstone", "packaging")


def default_cache_dir() -> Path:
    """``MVPY_VENDOR_CACHE_DIR``, else the platform's user cache directory."""
    explicit = os.environ.get("MVPY_VENDOR_CACHE_DIR")
    if explicit:
        return Path(explicit)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "mvpy-vendor"


@functools.lru_cache(maxsize=1)
def _fingerprint() -> str:
    from importlib import metadata  # here: it is slow to import, and most commands need no fingerprint

    digest = hashlib.sha256(__version__.encode())
    root = Path(__file__).parent
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    for dist in _SHAPING:
        try:
            digest.update(f"{dist}=={metadata.version(dist)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{dist} missing".encode())
    return digest.hexdigest()[:24]


def cache_key(*parts: Any) -> str:
    """A key for everything in ``parts`` (JSON-able values)."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_CHUNK = 1 << 20


def _remove(path: Path) -> None:
    """Remove a wrong entry; if it cannot be removed it is simply missed again next time."""
    with contextlib.suppress(OSError):
        path.unlink()


class Cache:
    """Entries under ``root/<tool fingerprint>/<kind>/``."""

    def __init__(self, root: Path) -> None:
        self.root = root / _fingerprint()

    def _path(self, kind: str, key: str, suffix: str) -> Path:
        return self.root / kind / key[:2] / (key + suffix)

    def get_json(self, kind: str, key: str) -> Any:
        """The value stored under ``key``, or None (missing, unreadable or not matching its digest)."""
        path = self._path(kind, key, ".json")
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        digest, _, text = raw.partition(b"\n")
        try:
            if hashlib.sha256(text).hexdigest().encode("ascii") != digest:
                raise ValueError("digest does not match")
            return json.loads(text.decode("utf-8"))
        except ValueError:
            _remove(path)
            return None

    def put_json(self, kind: str, key: str, value: Any) -> None:
        text = json.dumps(value).encode("utf-8")
        entry = hashlib.sha256(text).hexdigest().encode("ascii") + b"\n" + text
        self._store(self._path(kind, key, ".json"), lambda fh: fh.write(entry))

    def copy_file(self, kind: str, key: str, dest: Path) -> bool:
        """Copy the file stored under ``key`` to ``dest``, checking it against its digest on the way.

        False (and ``dest`` removed, the entry too if it is wrong) on a miss.
        """
        path = self._path(kind, key, ".bin")
        digest_path = path.with_suffix(".sha256")
        try:
            expected = digest_path.read_text(encoding="ascii").strip()
            digest = hashlib.sha256()
            with path.open("rb") as src, dest.open("wb") as out:
                while chunk := src.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
        except (OSError, ValueError):
            dest.unlink(missing_ok=True)
            return False
        if digest.hexdigest() != expected:
            dest.unlink(missing_ok=True)
            _remove(digest_path)
            _remove(path)
            return False
        return True

    def put_file(self, kind: str, key: str, source: Path, sha256: str) -> None:
        """Store a copy of ``source``, whose sha256 (hex) the caller has just computed."""

        def copy(fh: Any) -> None:
            with source.open("rb") as src:
                shutil.copyfileobj(src, fh)

        path = self._path(kind, key, ".bin")
        # The digest goes first: a file entry without its digest is never used, one with a
        # digest but a missing or partial file is a miss.
        self._store(path.with_suffix(".sha256"), lambda fh: fh.write(sha256.encode("ascii") + b"\n"))
        self._store(path, copy)

    @staticmethod
    def _store(path: Path, write: Any) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as fh:
                    write(fh)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError:
            pass  # a cache that cannot be written is skipped, never an error
