"""A persistent cache of what was validated, pre-filtered and built, so unchanged inputs rebuild fast.

Every entry is keyed by everything that decides it (the input wheel's sha256, the plan's maps,
the options, SOURCE_DATE_EPOCH) under a directory named after a fingerprint of this tool's own
code and of the libraries that shape its output (libcst, LIEF, capstone, packaging): a change to
any of them starts a fresh cache. A cache that cannot be read is a miss; one that cannot be
written is skipped: the cache never decides whether a build succeeds.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import sys
import tempfile
from importlib import metadata
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


class Cache:
    """Entries under ``root/<tool fingerprint>/<kind>/``."""

    def __init__(self, root: Path) -> None:
        self.root = root / _fingerprint()

    def _path(self, kind: str, key: str, suffix: str) -> Path:
        return self.root / kind / key[:2] / (key + suffix)

    def get_json(self, kind: str, key: str) -> Any:
        try:
            return json.loads(self._path(kind, key, ".json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def put_json(self, kind: str, key: str, value: Any) -> None:
        self._store(self._path(kind, key, ".json"), lambda fh: fh.write(json.dumps(value).encode("utf-8")))

    def get_file(self, kind: str, key: str) -> Path | None:
        path = self._path(kind, key, ".bin")
        return path if path.is_file() else None

    def put_file(self, kind: str, key: str, source: Path) -> None:
        def copy(fh: Any) -> None:
            with source.open("rb") as src:
                shutil.copyfileobj(src, fh)

        self._store(self._path(kind, key, ".bin"), copy)

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
