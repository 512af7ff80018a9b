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
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

__all__ = ["BytecodeStore", "compile_ahead"]

_TAG: str | None = getattr(sys.implementation, "cache_tag", None)  # None: no bytecode written
_CHECKED_HASH = 0b11  # PEP 552 flags: hash-based, check the source


def _pyc_of(source: str) -> str:
    head, name = os.path.split(source)
    return os.path.join(head, "__pycache__", f"{name[:-3]}.{_TAG}.pyc")


def _sources(sites: Iterable[str]) -> Iterator[tuple[str, str]]:
    """(source, its .pyc path) for every .py file under ``sites``."""
    for site in sites:
        for root, _, names in os.walk(site):
            if os.path.basename(root) == "__pycache__":
                continue
            for name in names:
                if name.endswith(".py"):
                    source = os.path.join(root, name)
                    yield source, _pyc_of(source)


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


def _importable(site: str, top: str) -> Iterator[str]:
    """The sources of ``top`` (a package or module under ``site``) that walking it imports: the
    ``.py`` files of packages reachable through ``__init__.py`` files, except ``__main__``."""
    module = os.path.join(site, top + ".py")
    if os.path.isfile(module):
        yield module
    for root, dirs, names in os.walk(os.path.join(site, top)):
        if "__init__.py" not in names:
            dirs.clear()
            continue
        dirs[:] = sorted(d for d in dirs if d.isidentifier())
        for name in sorted(names):
            if name.endswith(".py") and name != "__main__.py" and name[:-3].isidentifier():
                yield os.path.join(root, name)


def compile_ahead(python: Path, sites: Sequence[str], tops: Sequence[str]) -> subprocess.Popen[bytes] | None:
    """Compile, in a process of its own, the sources of ``tops`` that have no bytecode yet, last
    first: the probe imports them first to last, so each of the two does what the other has not
    reached (an import finds the ``.pyc`` written, exactly as if it had written it itself). None if
    there is nothing to compile. The caller ends it when the probe no longer needs it."""
    if _TAG is None:
        return None
    missing = [
        source
        for top in reversed(sorted(tops))
        for site in sites
        for source in reversed(list(_importable(site, top)))
        if not os.path.exists(_pyc_of(source))
    ]
    if not missing:
        return None
    from .environment import clean_env

    proc = subprocess.Popen(
        [str(python), "-I", "-S", "-m", "compileall", "-q", "-i", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=clean_env(),
    )
    assert proc.stdin is not None
    try:
        proc.stdin.write("".join(f"{source}\n" for source in missing).encode(sys.getfilesystemencoding()))
        proc.stdin.close()
    except OSError:
        pass  # it ended: the probe compiles what it needs
    return proc
