"""The mvpy-vendor being measured: a source checkout or an interpreter that has it installed."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Tool", "ToolError", "find_tool"]


class ToolError(Exception):
    """The ``--tool`` given is not a usable mvpy-vendor."""


@dataclass(frozen=True)
class Tool:
    """How to run ``mvpy-vendor``, and what identifies the code that runs."""

    python: Path
    #: the directory holding the ``mvpy_vendor`` package (put on PYTHONPATH for a source checkout)
    package_parent: Path
    #: PYTHONPATH for the tool (empty when the interpreter has it installed)
    pythonpath: str
    #: sha256 of every file of the package: the key of every build made with it
    fingerprint: str
    #: the last commit that changed the package, and "+dirty" when the checkout has changes in it
    commit: str

    def command(self, *args: str) -> list[str]:
        return [str(self.python), "-m", "mvpy_vendor", *args]

    def environ(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.pythonpath:
            env["PYTHONPATH"] = self.pythonpath + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        return env


def _fingerprint(package: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _commit(package: Path) -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(package), *args], capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        # the last commit that changed the package, not HEAD: commits elsewhere (this harness) do not change the tool
        head = git("log", "-1", "--format=%h", "--abbrev=12", "--", ".")
        dirty = git("status", "--porcelain", "--", ".")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + ("+dirty" if dirty else "")


def find_tool(spec: str | None, default_src: Path) -> Tool:
    """The tool at ``spec``: a checkout, its ``src`` directory, or a Python that can import it."""
    path = Path(spec) if spec else default_src
    if path.is_dir():
        for parent in (path / "src", path):
            if (parent / "mvpy_vendor" / "__init__.py").is_file():
                package = parent / "mvpy_vendor"
                return Tool(
                    Path(sys.executable),
                    parent.resolve(),
                    str(parent.resolve()),
                    _fingerprint(package),
                    _commit(package),
                )
        raise ToolError(f"{path}: no mvpy_vendor package in it or in its src/")
    if path.is_file() and os.access(path, os.X_OK):
        probe = subprocess.run(
            [str(path), "-c", "import mvpy_vendor, os; print(os.path.dirname(mvpy_vendor.__file__))"],
            capture_output=True,
            text=True,
        )
        if probe.returncode != 0:
            raise ToolError(f"{path}: cannot import mvpy_vendor: {probe.stderr.strip().splitlines()[-1:]}")
        package = Path(probe.stdout.strip())
        return Tool(path, package.parent, "", _fingerprint(package), _commit(package))
    raise ToolError(f"{path}: neither a directory with mvpy_vendor nor an executable Python")
