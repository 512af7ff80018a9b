"""Fresh virtual environments for verification, filled offline, isolated from this machine's settings.

uv makes and fills them when it is available (on PATH, or installed as the ``uv`` Python
package), pip otherwise; both are run with no configuration file and no index, so the result
is the same whichever does it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mvpy_vendor.errors import ConfigError, VerifyError

__all__ = ["Installer", "clean_env", "find_installer", "run"]


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
    found = shutil.which("uv")
    if found is not None:
        return found
    if importlib.util.find_spec("uv") is not None:
        try:
            from uv import find_uv_bin  # the uv package ships the binary

            return str(find_uv_bin())
        except (ImportError, FileNotFoundError):
            return None
    return None


@dataclass(frozen=True)
class Installer:
    """Makes virtual environments and installs into them, offline: with uv (``uv`` is its path) or pip."""

    kind: str
    uv: str | None = None

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

    def install(self, python: Path, args: Sequence[str]) -> None:
        """Install into ``python``'s environment from local files only."""
        if self.uv is not None:
            cmd = [self.uv, "pip", "install", "--quiet", "--no-config", "--offline", "--no-index"]
            run([*cmd, "--python", str(python), *args], "uv pip install")
            return
        if importlib.util.find_spec("pip") is not None:
            cmd = [sys.executable, "-m", "pip", "--python", str(python)]
        else:
            cmd = [str(python), "-m", "pip"]
        run([*cmd, "install", "--no-index", "--no-cache-dir", "--quiet", *args], "pip install")


def find_installer(preference: str = "auto") -> Installer:
    """uv where it is available (``auto``) or asked for (``uv``), else pip."""
    if preference not in ("auto", "uv", "pip"):
        raise ConfigError("expected auto, uv or pip", setting="installer", value=preference)
    uv = _uv() if preference != "pip" else None
    if preference == "uv" and uv is None:
        raise ConfigError("uv is neither on PATH nor installed as the uv package", setting="installer", value="uv")
    return Installer("uv", uv) if uv is not None else Installer("pip")
