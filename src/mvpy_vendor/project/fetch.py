"""Bring every chosen file onto this machine, checked against its sha256, and build sdists into wheels.

Downloads are kept in a content-addressed store (``<cache>/files/<sha256>/<filename>``) and
hashed again on every read: a cached file that no longer matches is thrown away and fetched
again (or, offline, is an error). An sdist is built with ``build`` (PEP 517, isolated) into a
wheel, kept under the sdist's sha256.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO, cast

from mvpy_vendor.errors import BuildError
from mvpy_vendor.planning.target import Target
from mvpy_vendor.wheel.records import file_sha256

from .resolvers import Artifact

__all__ = ["Store"]

_CHUNK = 1 << 20


class Store:
    """The files of a build, under ``root`` (the cache, or a directory that lives for one run)."""

    def __init__(self, root: Path, *, offline: bool = False) -> None:
        self.root = root
        self.offline = offline

    def _slot(self, artifact: Artifact) -> Path:
        return self.root / "files" / artifact.sha256 / artifact.filename

    def fetch(self, artifact: Artifact) -> Path:
        """The file of ``artifact``, verified against its sha256 (and its size where known)."""
        slot = self._slot(artifact)
        if slot.is_file():
            if file_sha256(slot) == artifact.sha256:
                return slot
            slot.unlink()  # tampered with or truncated: never used
            if self.offline:
                raise BuildError(
                    f"{artifact.filename}: the cached file does not match its sha256 {artifact.sha256} "
                    "and --offline forbids fetching it again"
                )
        if self.offline and not artifact.url.startswith("file:"):
            raise BuildError(f"{artifact.filename}: not in the cache, and offline ({artifact.url})", setting="offline")
        slot.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=slot.parent, prefix=".part-")
        partial = Path(name)
        try:
            digest, size = hashlib.sha256(), 0
            with open(fd, "wb") as out, self._open(artifact) as source:
                while chunk := source.read(_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
            if digest.hexdigest() != artifact.sha256:
                raise BuildError(
                    f"{artifact.filename}: {artifact.url} has sha256 {digest.hexdigest()}, "
                    f"the lock says {artifact.sha256}"
                )
            if artifact.size is not None and size != artifact.size:
                raise BuildError(f"{artifact.filename}: {artifact.url} is {size} bytes, the lock says {artifact.size}")
            partial.replace(slot)
        finally:
            partial.unlink(missing_ok=True)
        return slot

    @staticmethod
    def _open(artifact: Artifact) -> BinaryIO:
        url = artifact.url
        if url.startswith("file:"):
            path = Path(urllib.request.url2pathname(urllib.parse.urlparse(url).path))
            try:
                return path.open("rb")
            except OSError as exc:
                raise BuildError(f"{artifact.filename}: cannot read {path}: {exc.strerror}") from None
        try:
            return cast(BinaryIO, urllib.request.urlopen(url, timeout=120))
        except (urllib.error.URLError, OSError) as exc:
            raise BuildError(f"{artifact.filename}: cannot download {url}: {exc}") from None

    def wheel(self, artifact: Artifact, target: Target) -> Path:
        """A wheel for ``artifact``: the file itself, or the wheel built from the sdist."""
        source = self.fetch(artifact)
        if not artifact.is_sdist:
            return source
        built = self.root / "built" / artifact.sha256
        found = sorted(built.glob("*.whl")) if built.is_dir() else []
        if found:
            return found[0]
        if not target.is_running:
            raise BuildError(
                f"{artifact.filename}: {artifact.name} {artifact.version} exists only as an sdist, which can be "
                f"built only for the running interpreter, not for {target.describe()}",
                setting="python-version",
            )
        return _build(source, built, artifact)


def _unpack(sdist: Path, into: Path) -> Path:
    if sdist.name.endswith(".zip"):
        with zipfile.ZipFile(sdist) as zf:
            for member in zf.namelist():
                if member.startswith("/") or ".." in Path(member).parts:
                    raise BuildError(f"{sdist.name}: {member}: a path outside the sdist")
            zf.extractall(into)
    else:
        with tarfile.open(sdist) as tf:
            if hasattr(tarfile, "data_filter"):
                tf.extractall(into, filter="data")
            else:  # pragma: no cover (Python < 3.9.17 / 3.10.12 / 3.11.4)
                for info in tf.getmembers():
                    if info.name.startswith("/") or ".." in Path(info.name).parts or info.issym() or info.islnk():
                        raise BuildError(f"{sdist.name}: {info.name}: a path or link outside the sdist")
                tf.extractall(into)
    tops = [p for p in into.iterdir() if p.is_dir()]
    if len(tops) != 1 or (not (tops[0] / "pyproject.toml").exists() and not (tops[0] / "setup.py").exists()):
        raise BuildError(f"{sdist.name}: not an sdist (one top-level directory with pyproject.toml or setup.py)")
    return tops[0]


def _build(sdist: Path, built: Path, artifact: Artifact) -> Path:
    with tempfile.TemporaryDirectory(prefix="mvpy-sdist-") as tmp:
        source = _unpack(sdist, Path(tmp) / "src")
        out = Path(tmp) / "dist"
        cmd: Sequence[str] = [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(source)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=3600)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise BuildError(f"{sdist.name}: building a wheel failed: {exc}") from None
        wheels = sorted(out.glob("*.whl")) if out.is_dir() else []
        if proc.returncode != 0 or len(wheels) != 1:
            tail = " | ".join(ln for ln in (proc.stderr or proc.stdout).splitlines()[-5:] if ln.strip())
            raise BuildError(f"{sdist.name}: building {artifact.name} {artifact.version} into a wheel failed: {tail}")
        built.mkdir(parents=True, exist_ok=True)
        final = built / wheels[0].name
        shutil.copyfile(wheels[0], built / f".{wheels[0].name}.part")
        (built / f".{wheels[0].name}.part").replace(final)
        return final
