"""Fresh virtual environments for verification, filled offline, isolated from this machine's settings."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from mvpy_vendor.errors import VerifyError

__all__ = ["clean_env", "make_venv", "pip_install", "run"]


def clean_env() -> dict[str, str]:
    """The environment for pip and probes: no pip/uv settings and no config file from this machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "PYTHON"))}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def run(cmd: Sequence[str], what: str) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=clean_env(), check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise VerifyError(f"{what} failed: " + " | ".join(tail))
    return proc.stdout


def make_venv(path: Path) -> Path:
    """A fresh virtual environment; returns its interpreter."""
    has_pip = importlib.util.find_spec("pip") is not None
    cmd = [sys.executable, "-m", "venv", str(path)]
    if has_pip:
        cmd.insert(3, "--without-pip")
    run(cmd, "creating a virtual environment")
    return path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def pip_install(python: Path, args: Sequence[str]) -> None:
    """Install with pip, offline: the running pip drives ``python`` if it has one, else the venv's."""
    if importlib.util.find_spec("pip") is not None:
        cmd = [sys.executable, "-m", "pip", "--python", str(python)]
    else:
        cmd = [str(python), "-m", "pip"]
    run([*cmd, "install", "--no-index", "--no-cache-dir", "--quiet", *args], "pip install")
