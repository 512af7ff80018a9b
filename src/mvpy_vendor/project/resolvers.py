"""Resolve each world with the ecosystem's resolvers: ``uv pip compile`` or pip, never our own.

uv writes its answer as a PEP 751 lock (``--format pylock.toml``); pip as an installation
report (``pip install --dry-run --ignore-installed --report``). Either way the result is one
:class:`Artifact` per distribution: the file chosen for the target, its URL and its sha256. The
user's configuration of each resolver (``pip.conf`` and ``PIP_*``, ``uv.toml`` and ``UV_*``)
applies; the index settings of the project are passed on top.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.pylock import Package, Pylock, PylockValidationError
from packaging.tags import Tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from mvpy_vendor.errors import ConfigError
from mvpy_vendor.planning.target import Target

from .config import IndexSettings, World

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["Artifact", "find_resolver", "resolve_world"]


@dataclass(frozen=True)
class Artifact:
    """One file a world needs: a wheel, or an sdist to build (``is_sdist``)."""

    name: NormalizedName
    version: Version
    url: str
    sha256: str
    filename: str
    size: int | None = None

    @property
    def is_sdist(self) -> bool:
        return not self.filename.endswith(".whl")

    @property
    def key(self) -> tuple[NormalizedName, Version]:
        return self.name, self.version


def find_resolver(preference: str | None) -> tuple[str, str | None]:
    """``("uv", path)`` or ``("pip", None)``: uv if it is on PATH (or the uv package) unless pip is asked for."""
    from mvpy_vendor.verify.environment import find_installer

    if preference == "pip":
        return "pip", None
    uv = find_installer("auto").uv
    if uv is None and preference == "uv":
        raise ConfigError("uv is neither on PATH nor installed as the uv package", setting="resolver", value="uv")
    return ("uv", uv) if uv is not None else ("pip", None)


def _fail(world: World, tool: str, proc: subprocess.CompletedProcess[str]) -> ConfigError:
    lines = [ln.strip() for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
    said = " | ".join(lines[-6:]) or f"exit code {proc.returncode}"
    setting = None if world.name == "main" else "embed" if world.name == "embed" else "isolate"
    where = f"world {world.name} ({', '.join(world.requirements) or 'no requirements'})"
    return ConfigError(f"{where} cannot be resolved; {tool} says: {said}", setting=setting, value=None)


def _run(cmd: Sequence[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    try:
        return subprocess.run(list(cmd), capture_output=True, text=True, env=env, check=False, timeout=1800)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(list(cmd), 1, "", str(exc))


def _filename(url: str) -> str:
    return url.rsplit("/", 1)[-1].split("#", 1)[0].split("?", 1)[0]


def _best_wheel(package: Package, tags: Sequence[Tag]) -> tuple[str, str, int | None] | None:
    """The wheel of ``package`` that fits ``tags`` best: (url, sha256, size)."""
    rank = {tag: i for i, tag in enumerate(tags)}
    best: tuple[int, str, str, int | None] | None = None
    for wheel in package.wheels or ():
        if not wheel.url or "sha256" not in wheel.hashes:
            continue
        try:
            wheel_tags = parse_wheel_filename(_filename(wheel.url))[3]
        except InvalidWheelFilename:
            continue
        score = min((rank[t] for t in wheel_tags if t in rank), default=None)
        if score is not None and (best is None or score < best[0]):
            best = (score, wheel.url, wheel.hashes["sha256"], wheel.size)
    return best[1:] if best is not None else None


def _from_pylock(world: World, data: dict[str, Any], target: Target) -> list[Artifact]:
    try:
        lock = Pylock.from_dict(data)
    except PylockValidationError as exc:
        raise ConfigError(f"world {world.name}: uv wrote a lock that is not valid PEP 751: {exc}") from None
    tags = target.tags()
    found = []
    for package in lock.packages:
        if package.version is None:
            raise ConfigError(f"world {world.name}: {package.name} is not a released version (a path or VCS source)")
        wheel = _best_wheel(package, tags)
        if wheel is not None:
            url, sha256, size = wheel
        elif package.sdist is not None and package.sdist.url and "sha256" in package.sdist.hashes:
            url, sha256, size = package.sdist.url, package.sdist.hashes["sha256"], package.sdist.size
        else:
            raise ConfigError(
                f"world {world.name}: {package.name} {package.version} has no file for {target.describe()}"
            )
        found.append(Artifact(package.name, package.version, url, sha256, _filename(url), size))
    return found


def _uv(uv: str, world: World, target: Target, index: IndexSettings, work: Path) -> list[Artifact]:
    source = work / "requirements.in"
    source.write_text("".join(f"{r}\n" for r in world.requirements), encoding="utf-8")
    out = work / "pylock.world.toml"
    cmd = [
        uv,
        "pip",
        "compile",
        "--quiet",
        "--no-header",
        str(source),
        "-o",
        str(out),
        *target.uv_args(),
        *index.args(),
    ]
    if target.python_version is None:
        cmd += ["--python", sys.executable]
    proc = _run(cmd)
    if proc.returncode != 0:
        raise _fail(world, "uv pip compile", proc)
    data = tomllib.loads(out.read_text(encoding="utf-8"))
    return _from_pylock(world, data, target)


def _pip(world: World, target: Target, index: IndexSettings, work: Path) -> list[Artifact]:
    source = work / "requirements.in"
    source.write_text("".join(f"{r}\n" for r in world.requirements), encoding="utf-8")
    report = work / "report.json"
    cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet"]
    cmd += ["--report", str(report), "-r", str(source), *index.args()]
    if not target.is_running:
        # pip resolves for another interpreter only for a --target install of wheels
        cmd += ["--only-binary=:all:", "--target", str(work / "never-written"), *target.pip_args()]
    proc = _run(cmd)
    if proc.returncode != 0:
        raise _fail(world, "pip", proc)
    data = json.loads(report.read_text(encoding="utf-8"))
    found = []
    for item in data.get("install", []):
        info, meta = item.get("download_info", {}), item.get("metadata", {})
        url = info.get("url", "")
        sha256 = info.get("archive_info", {}).get("hashes", {}).get("sha256")
        name = canonicalize_name(meta.get("name", ""))
        if not url or sha256 is None or "dir_info" in info or "vcs_info" in info:
            raise ConfigError(
                f"world {world.name}: {name or url} is not a released file with a sha256 (a path or VCS source)"
            )
        found.append(Artifact(name, Version(meta["version"]), url, sha256, _filename(url)))
    return found


def resolve_world(
    world: World, resolver: tuple[str, str | None], target: Target, index: IndexSettings
) -> list[Artifact]:
    """The files ``world`` needs on ``target``, sorted by name, as the resolver chose them."""
    with tempfile.TemporaryDirectory(prefix="mvpy-resolve-") as tmp:
        kind, uv = resolver
        found = (
            _uv(uv, world, target, index, Path(tmp)) if kind == "uv" and uv else _pip(world, target, index, Path(tmp))
        )
    for artifact in found:
        try:
            if artifact.is_sdist:
                parse_sdist_filename(artifact.filename)
            else:
                parse_wheel_filename(artifact.filename)
        except (InvalidSdistFilename, InvalidWheelFilename):
            raise ConfigError(f"world {world.name}: {artifact.url} is neither a wheel nor an sdist") from None
    return sorted(found, key=lambda a: (a.name, a.version))
