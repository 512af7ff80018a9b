"""Fresh virtual environments for verification, filled offline, isolated from this machine's settings.

uv makes and fills them when it is available (on PATH, or installed as the ``uv`` Python
package), pip otherwise; both are run with no configuration file and no index, so the result
is the same whichever does it.

uv gets a cache of its own (``<cache>/verify/uv``) that cannot serve stale content: uv keys a
local wheel by its path, and a rebuilt wheel keeps its file name, so every wheel is installed
from a copy at a path named after its sha256 (``<cache>/verify/wheels/<sha256>/<file name>``),
written once and never changed. A wheel whose bytes changed is a new path, hence a cache miss;
an unchanged one (a primary copied as is, the original wheels a judge needs) is unpacked once.
Files are hard-linked from the cache (uv's default on Linux): imported code that writes into
one of its own installed files in place would write into the cache too, so :class:`Linked`
notes every such file after installing and :meth:`Linked.changed` tells, after the probes,
whether one was written; the caller then drops the cache and verifies again without it.
Without a cache (``cache=None``) uv runs with ``--no-cache``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mvpy_vendor.errors import ConfigError, VerifyError

__all__ = ["Installer", "Linked", "WheelStore", "clean_env", "find_installer", "run", "sha256_of", "site_dirs"]


def clean_env() -> dict[str, str]:
    """The environment for installers and probes: no pip/uv/Python settings and no config file from this machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "PYTHON"))}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["UV_NO_CONFIG"] = "1"
    return env


def run(cmd: Sequence[str], what: str) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=clean_env(), check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise VerifyError(f"{what} failed: " + " | ".join(tail))
    return proc.stdout


def _uv() -> str | None:
    """uv's binary: the ``uv`` Python package's (next to this interpreter, no wrapper) if installed,
    else the one on PATH (which may be a wrapper script, e.g. a pyenv shim costing a process a call)."""
    if importlib.util.find_spec("uv") is not None:
        try:
            from uv import find_uv_bin  # the uv package ships the binary

            return str(find_uv_bin())
        except (ImportError, FileNotFoundError):
            pass
    return shutil.which("uv")


#: a stored wheel unused for this long is removed (at most once a day, by the next run)
_KEEP_DAYS = 30


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def prune(root: Path, levels: int = 1) -> None:
    """Remove the entries ``levels`` deep under ``root`` unused for ``_KEEP_DAYS`` days (at most once a day)."""
    stamp = root / ".pruned"
    now = time.time()
    try:
        if now - stamp.stat().st_mtime < 86400:
            return
    except OSError:
        pass
    try:
        root.mkdir(parents=True, exist_ok=True)
        stamp.touch()
        for entry in root.glob("/".join(["*"] * levels)):
            if entry.name != ".pruned" and now - entry.stat().st_mtime > _KEEP_DAYS * 86400:
                if entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink()
    except OSError:
        pass  # a store that cannot be pruned still works


class WheelStore:
    """Wheels at paths named after their content: ``root/<sha256>/<file name>``, each written once."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, wheel: Path) -> Path:
        """The stored copy of ``wheel`` (made now if missing), its use noted."""
        stored = self.root / sha256_of(wheel) / wheel.name
        if stored.is_file():
            os.utime(stored.parent)
            return stored
        stored.parent.mkdir(parents=True, exist_ok=True)
        # a copy, never a hard link: a wheel rewritten in place must not change the stored one
        fd, tmp = tempfile.mkstemp(dir=stored.parent, suffix=".part")
        os.close(fd)
        try:
            shutil.copyfile(wheel, tmp)
            os.replace(tmp, stored)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return stored

    def prune(self) -> None:
        prune(self.root)


@dataclass(frozen=True)
class Installer:
    """Makes virtual environments and installs into them, offline: with uv (``uv`` is its path) or pip.

    ``cache``: the directory of uv's cache and of the wheel store (uv only; None: no cache);
    ``linked`` then notes the installed files that share their inode with it.
    """

    kind: str
    uv: str | None = None
    cache: Path | None = None
    linked: Linked | None = None

    def make_venv(self, path: Path) -> Path:
        """A fresh virtual environment without pip; returns its interpreter."""
        if self.uv is not None:
            run([self.uv, "venv", "--quiet", "--no-config", "--python", sys.executable, str(path)], "uv venv")
        else:
            cmd = [sys.executable, "-m", "venv", str(path)]
            if importlib.util.find_spec("pip") is not None:
                cmd.insert(3, "--without-pip")  # the running pip drives it
            run(cmd, "creating a virtual environment")
        return path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")

    def install(self, python: Path, *, wheels: Sequence[Path] = (), house: Path | None = None) -> None:
        """Install into ``python``'s environment from local files only: ``wheels`` as they are
        (``--no-deps``), or ``house``'s ``requirements.txt`` resolved against its wheels."""
        if house is not None:
            found = sorted(house.glob("*.whl"))
            args = ["-r", str(house / "requirements.txt")]
        else:
            found, args = list(wheels), ["--no-deps"]
        if self.uv is not None:
            cmd = [self.uv, "pip", "install", "--quiet", "--no-config", "--offline", "--no-index"]
            if self.cache is None:
                # a rebuilt wheel keeps its file name, and uv's cache (keyed by path) would serve the old one
                cmd.append("--no-cache")
                paths = found
            else:
                cmd += ["--cache-dir", str(self.cache / "uv"), "--link-mode", "hardlink"]
                store = WheelStore(self.cache / "wheels")
                store.prune()
                paths = [store.path_of(w) for w in found]
            if house is not None:  # one directory per wheel: the wheelhouse, at content-named paths
                links = [a for p in paths for a in ("--find-links", str(p.parent))]
                run([*cmd, "--python", str(python), *links, *args], "uv pip install")
            else:
                run([*cmd, "--python", str(python), *args, *map(str, paths)], "uv pip install")
            if self.linked is not None:
                self.linked.note(python)
            return
        if importlib.util.find_spec("pip") is not None:
            cmd = [sys.executable, "-m", "pip", "--python", str(python)]
        else:
            cmd = [str(python), "-m", "pip"]
        if house is not None:
            args = ["--find-links", str(house), *args]
        else:
            args += map(str, found)
        run([*cmd, "install", "--no-index", "--no-cache-dir", "--quiet", *args], "pip install")


class Linked:
    """The files of environments that share their inode with uv's cache, as installed (mtime, size)."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def note(self, python: Path) -> None:
        found = {}
        for site in site_dirs(python):
            for root, _, names in os.walk(site):
                for name in names:
                    path = os.path.join(root, name)
                    st = os.lstat(path)
                    if st.st_nlink > 1:
                        found[path] = (st.st_mtime_ns, st.st_size)
        with self._lock:
            self.files.update(found)

    def unchanged(self, path: str) -> bool:
        """``path`` was noted, and is as it was then."""
        noted = self.files.get(path)
        try:
            st = os.lstat(path)
        except OSError:
            return False
        return noted is not None and st.st_nlink > 1 and (st.st_mtime_ns, st.st_size) == noted

    def changed(self) -> list[str]:
        """Files written since they were noted (a file replaced by another one is not: the cache's is intact)."""
        written = []
        for path, (mtime, size) in self.files.items():
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if st.st_nlink > 1 and (st.st_mtime_ns, st.st_size) != (mtime, size):
                written.append(path)
        return written


def site_dirs(python: Path) -> list[str]:
    """Where the virtual environment of ``python`` (made by :class:`Installer`) keeps its packages.

    Computed here for this interpreter's venv layout when those directories exist (saving a
    process); asked of the environment's interpreter otherwise.
    """
    venv = python.parent.parent
    scheme = "venv" if "venv" in sysconfig.get_scheme_names() else ("nt" if os.name == "nt" else "posix_prefix")
    paths = sysconfig.get_paths(scheme, vars={"base": str(venv), "platbase": str(venv)})
    found = sorted({paths["purelib"], paths["platlib"]})
    if all(Path(d).is_dir() for d in found):
        return found
    code = "import json, sysconfig as s; print(json.dumps(sorted({s.get_paths()[k] for k in ('purelib', 'platlib')})))"
    result: list[str] = json.loads(run([str(python), "-I", "-c", code], "reading the environment's site dirs"))
    return result


def find_installer(preference: str = "auto", cache: Path | None = None) -> Installer:
    """uv where it is available (``auto``) or asked for (``uv``), else pip; ``cache`` as for :class:`Installer`."""
    if preference not in ("auto", "uv", "pip"):
        raise ConfigError("expected auto, uv or pip", setting="installer", value=preference)
    uv = _uv() if preference != "pip" else None
    if preference == "uv" and uv is None:
        raise ConfigError("uv is neither on PATH nor installed as the uv package", setting="installer", value="uv")
    if uv is None:
        return Installer("pip")
    return Installer("uv", uv, cache, Linked() if cache is not None else None)
