"""The project's lock, ``pylock.mvpy-vendor.toml``: PEP 751, read and written with ``packaging.pylock``.

One file holds every world. PEP 751 lets one lock describe several installable sets through
dependency groups: each world is a group (``main``, ``isolate-<name>``), and every package entry
carries the marker of the worlds that use it (``'main' in dependency_groups``), so a package at
two versions (the whole point of this tool) is two entries that are never installed together,
as the spec requires. What the plan needs beyond the spec (the requirements each world was
resolved from, the target, the resolver) is kept under the spec's ``[tool.mvpy-vendor]`` table,
and ``--locked`` compares it with ``pyproject.toml``.
"""

from __future__ import annotations

import sys
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import Marker
from packaging.pylock import Package, PackageSdist, PackageWheel, Pylock, PylockValidationError
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from mvpy_vendor._version import __version__
from mvpy_vendor.errors import ConfigError
from mvpy_vendor.planning.target import Target
from mvpy_vendor.pylock import dump

from .config import ProjectConfig, World
from .resolvers import Artifact

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["EMBED_WORLD", "LOCK_FORMAT", "LockedWorld", "ProjectLock"]

#: the version of what this tool keeps under [tool.mvpy-vendor]
LOCK_FORMAT = 1
#: the world of what a library embeds (``mvpy-vendor lock --embed``, read by the build backend);
#: project mode keeps it as it is
EMBED_WORLD = "embed"


@dataclass(frozen=True)
class LockedWorld:
    world: World
    artifacts: tuple[Artifact, ...]


@dataclass(frozen=True)
class ProjectLock:
    worlds: tuple[LockedWorld, ...]
    target: Target
    resolver: str

    def to_pylock(self, root: Path) -> Pylock:
        """The lock; a local file under ``root`` (the lock's directory) is given by relative ``path``."""
        users: dict[tuple[str, Version], list[str]] = {}
        by_key: dict[tuple[str, Version], Artifact] = {}
        for locked in self.worlds:
            for a in locked.artifacts:
                by_key[a.key] = a
                users.setdefault(a.key, []).append(locked.world.name)
        packages = []
        for key in sorted(by_key):
            a = by_key[key]
            marker = Marker(" or ".join(f"'{w}' in dependency_groups" for w in users[key]))
            hashes = {"sha256": a.sha256}
            url, path = _relative(a.url, root)
            packages.append(
                Package(
                    name=a.name,
                    version=a.version,
                    marker=marker,
                    sdist=PackageSdist(name=a.filename, url=url, path=path, size=a.size, hashes=hashes)
                    if a.is_sdist
                    else None,
                    wheels=None
                    if a.is_sdist
                    else [PackageWheel(name=a.filename, url=url, path=path, size=a.size, hashes=hashes)],
                )
            )
        target = {k: v for k, v in self.target.to_json().items() if v is not None}
        tool = {
            "lock-format": LOCK_FORMAT,
            "resolver": self.resolver,
            "target": target,
            "worlds": [{"name": w.world.name, "requirements": list(w.world.requirements)} for w in self.worlds],
        }
        names = [w.world.name for w in self.worlds]
        return Pylock(
            lock_version=Version("1.0"),
            created_by="mvpy-vendor",
            dependency_groups=[w.world.name for w in self.worlds],
            # a library's lock (``mvpy-vendor lock --embed``) may hold only the world ``embed``
            default_groups=[next((n for n in names if n == "main"), names[0])],
            packages=packages,
            tool={"mvpy-vendor": tool},
        )

    def dumps(self, root: Path) -> str:
        return dump(self.to_pylock(root), f"# written by mvpy-vendor {__version__} ('mvpy-vendor lock'); do not edit\n")

    @classmethod
    def load(cls, path: Path) -> ProjectLock:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            lock = Pylock.from_dict(data)
        except FileNotFoundError:
            raise ConfigError(f"{path}: no lock (run 'mvpy-vendor lock' first)", setting="locked") from None
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, PylockValidationError) as exc:
            raise ConfigError(f"{path}: not a valid PEP 751 lock: {exc}") from None
        tool = (lock.tool or {}).get("mvpy-vendor")
        if not isinstance(tool, Mapping) or tool.get("lock-format") != LOCK_FORMAT:
            raise ConfigError(
                f"{path}: not written by 'mvpy-vendor lock' (no [tool.mvpy-vendor] lock-format = {LOCK_FORMAT})"
            )
        try:
            target = Target(**{k.replace("-", "_"): v for k, v in dict(tool.get("target", {})).items()})
            worlds = [World(str(w["name"]), tuple(str(r) for r in w["requirements"])) for w in tool["worlds"]]
            resolver = str(tool["resolver"])
        except (KeyError, TypeError, ValueError, ConfigError) as exc:
            raise ConfigError(f"{path}: [tool.mvpy-vendor]: malformed ({exc})") from None
        found: dict[str, list[Artifact]] = {w.name: [] for w in worlds}
        for package in lock.packages:
            artifact = _artifact(path, package, path.parent)
            for world in worlds:
                if package.marker is None or package.marker.evaluate(
                    {"dependency_groups": frozenset({world.name})}, context="lock_file"
                ):
                    found[world.name].append(artifact)
        return cls(tuple(LockedWorld(w, tuple(found[w.name])) for w in worlds), target, resolver)

    def stale(self, config: ProjectConfig) -> str | None:
        """Why this lock does not describe ``config`` (None: it does)."""
        if self.target != config.target:
            return f"it is for {self.target.describe()}, the project asks for {config.target.describe()}"
        locked = {w.world.name: w.world for w in self.worlds}
        wanted = {w.name: w for w in config.worlds}
        for name, world in wanted.items():
            if name not in locked:
                return f"the world {name} ({', '.join(world.requirements)}) is not in the lock"
            old = set(locked[name].requirements)
            for req in world.requirements:
                if req not in old:
                    return f"world {name}: {req!r} is not in the lock"
            dropped = sorted(old - set(world.requirements))
            if dropped:
                return f"world {name}: the lock still has {dropped[0]!r}, which pyproject.toml no longer asks for"
        for name in locked:
            if name not in wanted and name != EMBED_WORLD:
                return f"the lock has the world {name}, which pyproject.toml no longer asks for"
        return None


def _relative(url: str, root: Path) -> tuple[str | None, str | None]:
    """``(url, None)``, or ``(None, relative path)`` for a ``file:`` URL under ``root``."""
    if not url.startswith("file:"):
        return url, None
    local = Path(urllib.request.url2pathname(urllib.parse.urlparse(url).path))
    try:
        return None, local.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return url, None


def _artifact(path: Path, package: Package, root: Path) -> Artifact:
    files: Sequence[PackageWheel | PackageSdist] = list(package.wheels or ()) + (
        [package.sdist] if package.sdist else []
    )
    if package.version is None or len(files) != 1:
        raise ConfigError(f"{path}: package {package.name}: expected a version and exactly one wheel or sdist")
    file = files[0]
    url = file.url or ((root / file.path).resolve().as_uri() if file.path else None)
    if not url or "sha256" not in file.hashes:
        raise ConfigError(f"{path}: package {package.name}: expected a url or path, and a sha256")
    name = file.name or url.rsplit("/", 1)[-1]
    try:
        return Artifact(
            canonicalize_name(package.name), Version(str(package.version)), url, file.hashes["sha256"], name, file.size
        )
    except InvalidVersion as exc:  # pragma: no cover (validated by packaging.pylock)
        raise ConfigError(f"{path}: package {package.name}: {exc}") from None
