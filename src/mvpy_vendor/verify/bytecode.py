"""Bytecode kept by the content of its source, so that a module is compiled once, not once per environment and run.

Importing every module of a wheelhouse is mostly compiling it, and every environment of a run
(and of every run) is fresh. Before probing, :meth:`BytecodeStore.place` writes, for each
installed ``.py`` file whose content was compiled before, a *checked hash-based* ``.pyc``
(PEP 552) beside it: the interpreter itself checks that the source's hash matches before using
it, and compiles the source when it does not, exactly as without the store. After probing,
:meth:`BytecodeStore.harvest` keeps the code of every ``.pyc`` the interpreter wrote for a
source that is known unchanged since it was installed (a file hard-linked from uv's cache that
:class:`~.environment.Linked` saw unwritten) and that the ``.pyc`` says it was compiled from
(modification time and size), under the sha256 of that source. Loading cached code is the
import system's own path (``co_filename`` is set to the file's own path on load). The store
belongs to this interpreter's version (its cache tag and magic number), which is the version of
every environment verification makes.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import struct
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

__all__ = ["BytecodeStore"]

_TAG: str | None = getattr(sys.implementation, "cache_tag", None)  # None: no bytecode written
_CHECKED_HASH = 0b11  # PEP 552 flags: hash-based, check the source


def _sources(sites: Iterable[str]) -> Iterator[tuple[str, str]]:
    """(source, its .pyc path) for every .py file under ``sites``."""
    for site in sites:
        for root, _, names in os.walk(site):
            if os.path.basename(root) == "__pycache__":
                continue
            for name in names:
                if name.endswith(".py"):
                    yield os.path.join(root, name), os.path.join(root, "__pycache__", f"{name[:-3]}.{_TAG}.pyc")


class BytecodeStore:
    """``root/<cache tag>/<sha256 of source>``: the marshalled code compiled from that source."""

    def __init__(self, root: Path) -> None:
        self.root = root / (_TAG or "none") / importlib.util.MAGIC_NUMBER.hex()

    def _path(self, source: bytes) -> Path:
        key = hashlib.sha256(source).hexdigest()
        return self.root / key[:2] / key

    def place(self, sites: Iterable[str]) -> int:
        """Write a checked hash-based .pyc for every source compiled before that has none yet (noting
        its use); how many."""
        if _TAG is None:
            return 0
        from .environment import prune

        prune(self.root, levels=2)  # code unused for a month goes
        placed = 0
        for source_path, pyc in _sources(sites):
            if os.path.exists(pyc):
                continue  # placed already, or compiled here
            try:
                with open(source_path, "rb") as fh:
                    source = fh.read()
                stored = self._path(source)
                code = stored.read_bytes()
                os.utime(stored)
            except OSError:
                continue
            header = importlib.util.MAGIC_NUMBER + struct.pack("<I", _CHECKED_HASH) + importlib.util.source_hash(source)
            try:
                os.makedirs(os.path.dirname(pyc), exist_ok=True)
                with open(pyc, "wb") as fh:
                    fh.write(header + code)
            except OSError:
                continue
            placed += 1
        return placed

    def harvest(self, sites: Iterable[str], unchanged: Callable[[str], bool]) -> int:
        """Keep the code of every timestamp-based .pyc of a source ``unchanged`` says is as installed; how many new."""
        if _TAG is None:
            return 0
        kept = 0
        for source_path, pyc in _sources(sites):
            if not unchanged(source_path):
                continue
            try:
                with open(pyc, "rb") as fh:
                    data = fh.read()
                st = os.stat(source_path)
            except OSError:
                continue
            if len(data) < 16 or data[:4] != importlib.util.MAGIC_NUMBER:
                continue
            flags, mtime, size = struct.unpack("<III", data[4:16])
            if flags != 0 or mtime != int(st.st_mtime) & 0xFFFFFFFF or size != st.st_size & 0xFFFFFFFF:
                continue  # ours (hash-based), or the source changed after it was compiled
            try:
                with open(source_path, "rb") as fh:
                    source = fh.read()
            except OSError:
                continue
            target = self._path(source)
            if target.exists():
                continue
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
                with os.fdopen(fd, "wb") as out:
                    out.write(data[16:])
                os.replace(tmp, target)
            except OSError:
                continue  # a store that cannot be written is only slower
            kept += 1
        return kept
