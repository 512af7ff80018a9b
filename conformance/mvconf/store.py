"""The harness's cache directory: content-keyed steps that a later run reuses when their inputs match."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Store", "digest", "file_sha256"]


def digest(*parts: object) -> str:
    """A short stable key of ``parts`` (JSON-serialised)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:20]


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def files_key(paths: Iterable[Path]) -> list[tuple[str, str]]:
    """Names and contents of ``paths``, for a key."""
    return sorted((p.name, file_sha256(p)) for p in paths)


@dataclass(frozen=True)
class Store:
    """``root/KIND/KEY/``: a step's output directory, complete once its ``.done`` marker exists."""

    root: Path

    def dir(self, kind: str, key: str) -> Path:
        return self.root / kind / key

    def done(self, kind: str, key: str) -> bool:
        return (self.dir(kind, key) / ".done").exists()

    def begin(self, kind: str, key: str) -> Path:
        """An empty directory for the step (what an interrupted earlier attempt left is removed)."""
        path = self.dir(kind, key)
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True)
        return path

    def finish(self, kind: str, key: str, info: object = None) -> None:
        marker = self.dir(kind, key) / ".done"
        tmp = marker.with_suffix(".tmp")
        tmp.write_text(json.dumps(info, sort_keys=True, indent=1, default=str), encoding="utf-8")
        os.replace(tmp, marker)

    def info(self, kind: str, key: str) -> object:
        return json.loads((self.dir(kind, key) / ".done").read_text(encoding="utf-8"))
