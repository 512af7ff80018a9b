"""Resolve (or read the lock), fetch, and turn a project into a :class:`~mvpy_vendor.options.BuildRequest`."""

from __future__ import annotations

import enum
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mvpy_vendor.cache import Cache
from mvpy_vendor.errors import ConfigError
from mvpy_vendor.options import ApplyOptions, BuildRequest
from mvpy_vendor.progress import SILENT, Reporter

from .config import ProjectConfig
from .fetch import Store
from .lock import EMBED_WORLD, LockedWorld, ProjectLock
from .resolvers import find_resolver, resolve_world

__all__ = ["LockMode", "Project", "lock_project", "project_request", "write_lock"]


class LockMode(str, enum.Enum):
    #: resolve again and rewrite the lock where it changed (plain ``build``, ``lock``)
    REFRESH = "refresh"
    #: use the lock; fail when it is missing or out of date with pyproject.toml (``--locked``)
    LOCKED = "locked"
    #: use the lock as it is (``--frozen``)
    FROZEN = "frozen"


@dataclass(frozen=True)
class Project:
    """A project ready to plan: its lock, whether the lock file was (re)written, and the request."""

    lock: ProjectLock
    lock_written: bool
    request: BuildRequest
    #: the lock resolved anew, to be written only once the wheelhouse built from it is published
    #: (``defer_lock``: a build that is verified first); None when there is nothing to write
    deferred: ProjectLock | None = None


def lock_project(config: ProjectConfig, reporter: Reporter = SILENT) -> ProjectLock:
    """Resolve every world of ``config`` with its resolver (uv or pip)."""
    resolver = find_resolver(config.get("resolver"))
    worlds = []
    for i, world in enumerate(config.worlds):
        reporter.progress(i, len(config.worlds), f"resolving {world.name} with {resolver[0]}")
        worlds.append(LockedWorld(world, tuple(resolve_world(world, resolver, config.target, config.index))))
    reporter.progress(len(config.worlds), len(config.worlds), "")
    if config.lock_path.is_file():  # a library's embed world (the build backend's) is kept as it is
        try:
            old = ProjectLock.load(config.lock_path)
        except ConfigError:
            old = None
        if old is not None and old.target == config.target:
            worlds += [w for w in old.worlds if w.world.name == EMBED_WORLD]
    return ProjectLock(tuple(worlds), config.target, resolver[0])


def write_lock(config: ProjectConfig, lock: ProjectLock) -> bool:
    """Write the lock file if its text changed; True if it was written."""
    text = lock.dumps(config.root)
    path = config.lock_path
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except (OSError, UnicodeDecodeError):
        pass
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return True


def _locked(config: ProjectConfig, mode: LockMode, remedy: str) -> ProjectLock:
    lock = ProjectLock.load(config.lock_path)
    if mode is LockMode.LOCKED:
        why = lock.stale(config)
        if why is not None:
            raise ConfigError(f"{config.lock_path.name} is out of date with pyproject.toml: {why} ({remedy})")
    return lock


def project_request(
    config: ProjectConfig,
    mode: LockMode,
    store: Store,
    options: ApplyOptions,
    reporter: Reporter = SILENT,
    cache: Cache | None = None,
    offline: bool = False,
    defer_lock: bool = False,
) -> Project:
    """The lock (refreshed, checked or taken as it is), every file fetched, and the request to plan.

    ``defer_lock``: a refreshed lock is not written here but returned as ``deferred``, for the
    caller to write once the wheelhouse built from it has passed verification and is published.
    """
    if not any(w.requirements for w in config.worlds):
        raise ConfigError(f"{config.pyproject}: nothing to build: [project].dependencies and isolate are empty")
    if mode is LockMode.REFRESH and offline:
        # no resolver runs offline: an up-to-date lock is the only source
        lock = _locked(config, LockMode.LOCKED, "--offline needs a lock that is up to date")
        written = False
    elif mode is LockMode.REFRESH:
        lock = lock_project(config, reporter)
        written = False if defer_lock else write_lock(config, lock)
    else:
        lock = _locked(config, mode, "run 'mvpy-vendor lock', or build without --locked to refresh it")
        written = False
    seen: dict[tuple[str, str], Path] = {}
    project_worlds = [w for w in lock.worlds if w.world.name != EMBED_WORLD]
    artifacts = [a for w in project_worlds for a in w.artifacts]
    for i, artifact in enumerate(artifacts):
        key = (artifact.name, str(artifact.version))
        if key not in seen:
            reporter.progress(i, len(artifacts), f"fetching {artifact.filename}")
            seen[key] = store.wheel(artifact, lock.target)
    reporter.progress(len(artifacts), len(artifacts), "")
    main = next((w for w in lock.worlds if w.world.name == "main"), None)
    if main is None:
        raise ConfigError(
            f"{config.lock_path.name}: no world main (a lock of the embedding backend only?): run 'mvpy-vendor lock'"
        )
    roots = [r for w in project_worlds for r in w.world.requirements]
    request = BuildRequest(
        wheels=sorted(seen.values()),
        requires=list(dict.fromkeys(roots)),
        primaries=config.get("primary"),
        rename=config.get("rename"),
        options=options,
        target=lock.target,
        prefer=[f"{a.name}=={a.version}" for a in main.artifacts],
        cache=cache,
    )
    deferred = lock if defer_lock and mode is LockMode.REFRESH and not offline else None
    return Project(lock, written, request, deferred)
