"""What ``check`` knows about a project: the names that will be renamed in its code, and configuration drift.

The names come from ``pyproject.toml``:

* ``[tool.mvpy-vendor.backend] embed = [...]`` (the library-embedding backend): the library's own
  code is rewritten to import the embedded copies, so every embedded distribution's import names;
* ``[tool.mvpy-vendor]`` (project mode), through the lock ``pylock.mvpy-vendor.toml`` where one
  exists: every distribution the lock holds at more than one version (one of them is renamed);
* ``[tool.mvpy-vendor.check] names = [...]``: import names given by hand.

A distribution's import names are read from its wheel when the lock's file is in the cache (the
top-level names the wheel installs); otherwise they are taken to be its canonical name with
``-`` as ``_`` (``typing-extensions`` -> ``typing_extensions``), which ``names`` can correct
(``PyYAML`` installs ``yaml``).
"""

from __future__ import annotations

import re
import sys
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name

from mvpy_vendor.errors import Code, ConfigError

from .source import Finding

if TYPE_CHECKING:
    from mvpy_vendor.project.config import ProjectConfig
    from mvpy_vendor.project.lock import ProjectLock
    from mvpy_vendor.rewrite.names import NameMap

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["CHECK_KEYS", "LOCK_NAME", "CheckProject", "load_check_project"]

#: project.config.LOCK_NAME, spelled here so that a check of files that name nothing renamed
#: does not import project mode (packaging's markers and tags) at start-up; a test keeps them equal
LOCK_NAME = "pylock.mvpy-vendor.toml"
#: the keys of [tool.mvpy-vendor.check]
CHECK_KEYS = {"names": "import names to treat as renamed", "paths": "what 'check' without PATH checks"}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LINE = re.compile(r":(\d+)$")


@dataclass
class CheckProject:
    """One ``pyproject.toml`` (or none: ``pyproject`` is None) as ``check`` sees it."""

    root: Path
    pyproject: Path | None = None
    #: import name -> why it will be renamed ("embedded: pydantic>=1.10,<2")
    renamed: dict[str, str] = field(default_factory=dict)
    #: what ``check`` without PATH checks
    paths: tuple[Path, ...] = ()
    #: directories never walked into (the wheelhouse)
    excluded: tuple[Path, ...] = ()
    #: configuration drift, found while loading
    drift: list[Finding] = field(default_factory=list)
    #: the project's own strings are kept as written (its name in a ``keep-strings`` setting): the
    #: build then maps no value known only at run time, so those uses are reported
    keep_strings: bool = False
    _names: NameMap | None = None

    @property
    def names(self) -> NameMap:
        if self._names is None:
            from mvpy_vendor.rewrite.names import NameMap

            # The new names do not matter: check keeps no output, only the diagnostics.
            self._names = NameMap({n: f"_mv_{n}_check" for n in self.renamed}, strings=not self.keep_strings)
        return self._names


class _Where:
    """``pyproject.toml:LINE`` of a key, from config.py's line finder."""

    def __init__(self, path: Path, text: str) -> None:
        from mvpy_vendor.project.config import _Lines

        self.lines = _Lines(path, text)

    def line(self, table: str, key: str | None = None) -> int:
        match = _LINE.search(self.lines.of(table, key))
        return int(match[1]) if match else 1

    def error(self, table: str, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.lines.of(table, key)}: [{table}] {key}: {message}")


def _strings(value: Any, where: _Where, table: str, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise where.error(table, key, f"expected a list of strings, got {value!r}")
    return list(value)


def _requirements(value: Any, where: _Where, table: str, key: str) -> list[Requirement]:
    found = []
    for text in _strings(value, where, table, key):
        try:
            found.append(Requirement(text))
        except InvalidRequirement as exc:
            raise where.error(table, key, f"{text!r} is not a requirement: {str(exc).splitlines()[0]}") from None
    return found


def _import_names(wheel: Path) -> set[str]:
    """The top-level import names a wheel installs (its packages, modules and extension modules)."""
    found: set[str] = set()
    try:
        with zipfile.ZipFile(wheel) as zf:
            members = zf.namelist()
    except (OSError, zipfile.BadZipFile):
        return found
    for member in members:
        first, slash, _ = member.partition("/")
        if first.endswith((".dist-info", ".data")):
            continue
        name = first if slash else first.partition(".")[0] if first.endswith((".py", ".so", ".pyd")) else ""
        if _IDENTIFIER.fullmatch(name):
            found.add(name)
    return found


def _fallback(dist: str) -> set[str]:
    return {canonicalize_name(dist).replace("-", "_")}


def _dependencies(data: Mapping[str, Any]) -> dict[NormalizedName, list[Requirement]]:
    project = data.get("project")
    deps = project.get("dependencies", []) if isinstance(project, dict) else []
    found: dict[NormalizedName, list[Requirement]] = {}
    for text in deps if isinstance(deps, list) else []:
        try:
            req = Requirement(text)
        except (InvalidRequirement, TypeError):
            continue  # project mode reports it with its line; the backend's inner backend does too
        found.setdefault(canonicalize_name(req.name), []).append(req)
    return found


def load_check_project(root: Path) -> CheckProject:
    """Read ``root/pyproject.toml`` (absent: nothing is renamed); a bad table is a :class:`ConfigError`."""
    pyproject = root / "pyproject.toml"
    try:
        text = pyproject.read_text(encoding="utf-8")
    except FileNotFoundError:
        return CheckProject(root, paths=(root,))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{pyproject}: cannot be read: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{pyproject}: not valid TOML: {exc}") from None
    table = data.get("tool", {}).get("mvpy-vendor")
    project = CheckProject(root, pyproject, paths=(root,))
    if not isinstance(table, dict):
        return project
    where = _Where(pyproject, text)
    _read_check_table(project, table.get("check", {}), where)
    backend = table.get("backend", {})
    own = data.get("project", {}).get("name") if isinstance(data.get("project"), dict) else None
    for keeps in (table.get("keep-strings"), backend.get("keep-strings") if isinstance(backend, dict) else None):
        if isinstance(own, str) and isinstance(keeps, list):
            project.keep_strings |= canonicalize_name(own) in {canonicalize_name(str(k)) for k in keeps}
    embed = _requirements(backend.get("embed", []), where, "tool.mvpy-vendor.backend", "embed") if backend else []
    lock_path = root / LOCK_NAME
    config = lock = None
    if set(table) - {"backend", "check"} or lock_path.is_file():
        from mvpy_vendor.project.config import load_project

        config = load_project(root)
        project.excluded = (Path(config.get("out") or root / "wheelhouse"),)
        lock = _lock(project, config, lock_path)
    locked = _locked_versions(lock)
    wheels = _wheel_names(config, lock) if lock is not None else {}

    def names_of(dist: NormalizedName) -> set[str]:
        found = set().union(*(wheels.get((dist, v), set()) for v in locked.get(dist, ())))
        return found or _fallback(dist)

    for req in embed:
        for name in sorted(names_of(canonicalize_name(req.name))):
            project.renamed.setdefault(name, f"embedded: {req}")
    for world in lock.worlds if lock is not None and embed else ():
        from mvpy_vendor.project.lock import EMBED_WORLD  # loaded with the lock already

        if world.world.name != EMBED_WORLD:
            continue
        if sorted(str(Requirement(r)) for r in world.world.requirements) != sorted(str(r) for r in embed):
            project.drift.append(
                Finding(
                    str(lock_path), 1, 1, Code.LOCK_STALE,
                    f"{lock_path.name} is out of date with pyproject.toml: its world {EMBED_WORLD} embeds "
                    f"{', '.join(world.world.requirements) or 'nothing'}, [tool.mvpy-vendor.backend] embed says "
                    f"{', '.join(str(r) for r in embed)}; run 'mvpy-vendor lock --embed'",
                )
            )  # fmt: skip
        for a in world.artifacts:  # what the embedded copies need is embedded with them
            for name in sorted(names_of(a.name)):
                project.renamed.setdefault(name, f"embedded with {', '.join(str(r) for r in embed)}")
    for dist, versions in sorted(locked.items()):
        if len(versions) > 1:
            for name in sorted(names_of(dist)):
                project.renamed.setdefault(name, f"{dist} is locked at {len(versions)} versions")
    deps = _dependencies(data)
    project.drift += _embed_drift(embed, deps, pyproject, where)
    if config is not None:
        project.drift += _isolate_drift(config, lock, deps, pyproject, where)
    return project


def _read_check_table(project: CheckProject, table: Any, where: _Where) -> None:
    name = "tool.mvpy-vendor.check"
    if not isinstance(table, dict):
        raise ConfigError(f"{where.lines.of('tool.mvpy-vendor', 'check')}: [tool.mvpy-vendor] check: expected a table")
    for key, value in table.items():
        if key not in CHECK_KEYS:
            raise where.error(name, key, f"unknown key; known keys: {', '.join(CHECK_KEYS)}")
        values = _strings(value, where, name, key)
        if key == "names":
            for n in values:
                if not _IDENTIFIER.fullmatch(n):
                    raise where.error(name, key, f"{n!r} is not an import name")
                project.renamed.setdefault(n, "[tool.mvpy-vendor.check] names")
        else:
            project.paths = tuple(project.root / v for v in values)


def _lock(project: CheckProject, config: ProjectConfig, path: Path) -> ProjectLock | None:
    if not path.is_file():
        return None
    from mvpy_vendor.project.lock import ProjectLock

    try:
        lock = ProjectLock.load(path)
    except ConfigError as exc:
        project.drift.append(Finding(str(path), 1, 1, Code.LOCK_STALE, f"{exc.render()}; run 'mvpy-vendor lock'"))
        return None
    from mvpy_vendor.project.lock import EMBED_WORLD

    # a library's lock may hold only the backend's world: project mode's worlds are then not locked
    why = lock.stale(config) if any(w.world.name != EMBED_WORLD for w in lock.worlds) else None
    if why is not None:
        project.drift.append(
            Finding(
                str(path),
                1,
                1,
                Code.LOCK_STALE,
                f"{path.name} is out of date with pyproject.toml: {why}; run 'mvpy-vendor lock'",
            )
        )
        return None  # what it says is no longer what will be built
    return lock


def _locked_versions(lock: ProjectLock | None) -> dict[NormalizedName, set[str]]:
    found: dict[NormalizedName, set[str]] = {}
    for world in lock.worlds if lock is not None else ():
        for a in world.artifacts:
            found.setdefault(a.name, set()).add(str(a.version))
    return found


def _wheel_names(config: ProjectConfig | None, lock: ProjectLock) -> dict[tuple[NormalizedName, str], set[str]]:
    """Import names of every locked wheel found in the cache's file store (its ``files/<sha256>/``)."""
    from mvpy_vendor.cache import default_cache_dir

    cache = Path(config.get("cache-dir")) if config is not None and config.get("cache-dir") else default_cache_dir()
    found: dict[tuple[NormalizedName, str], set[str]] = {}
    for world in lock.worlds:
        for a in world.artifacts:
            wheel = cache / "files" / a.sha256 / a.filename
            if not a.is_sdist and wheel.is_file():
                names = _import_names(wheel)
                if names:
                    found[(a.name, str(a.version))] = names
    return found


def _specifiers(req: Requirement) -> frozenset[str]:
    return frozenset(str(s) for s in req.specifier)


def _embed_drift(
    embed: Sequence[Requirement],
    deps: Mapping[NormalizedName, list[Requirement]],
    pyproject: Path,
    where: _Where,
) -> list[Finding]:
    found = []
    line = where.line("tool.mvpy-vendor.backend", "embed")
    for req in embed:
        declared = deps.get(canonicalize_name(req.name))
        if not declared:
            found.append(
                Finding(
                    str(pyproject),
                    line,
                    1,
                    Code.EMBED_DRIFT,
                    f"embed entry {str(req)!r}: [project].dependencies does not name {req.name}, so the library's "
                    "code is developed against whatever is installed, not the version it embeds: add "
                    f"{str(req)!r} to [project].dependencies (the built wheel drops it) or remove the entry",
                )
            )
        elif all(_specifiers(d) != _specifiers(req) for d in declared):
            shown = ", ".join(repr(str(d)) for d in declared)
            found.append(
                Finding(
                    str(pyproject),
                    line,
                    1,
                    Code.EMBED_DRIFT,
                    f"embed entry {str(req)!r} does not match [project].dependencies {shown}: the wheel embeds one "
                    "version range, the sources are developed against the other; make them the same",
                )
            )
    return found


def _isolate_drift(
    config: ProjectConfig,
    lock: ProjectLock | None,
    deps: Mapping[NormalizedName, list[Requirement]],
    pyproject: Path,
    where: _Where,
) -> list[Finding]:
    found = []
    line = where.line("tool.mvpy-vendor", "isolate")
    main = next((w for w in lock.worlds if w.world.name == "main"), None) if lock is not None else None
    main_keys = {(a.name, a.version) for a in main.artifacts} if main is not None else set()
    main_names = {a.name for a in main.artifacts} if main is not None else set()
    for text in config.get("isolate"):
        req = Requirement(text)
        name = canonicalize_name(req.name)
        same = [d for d in deps.get(name, []) if _specifiers(d) == _specifiers(req)]
        if same:
            found.append(
                Finding(
                    str(pyproject),
                    line,
                    1,
                    Code.ISOLATE_DRIFT,
                    f"isolate entry {text!r} asks for what [project].dependencies already has ({str(same[0])!r}): "
                    "both worlds get the same version, so it isolates nothing; remove one of them",
                )
            )
            continue
        world = next((w for w in lock.worlds if w.world.name == f"isolate-{name}"), None) if lock else None
        if world is None or main is None:
            continue
        colliding = [a for a in world.artifacts if a.name in main_names and (a.name, a.version) not in main_keys]
        if not colliding:
            found.append(
                Finding(
                    str(pyproject),
                    line,
                    1,
                    Code.ISOLATE_DRIFT,
                    f"isolate entry {text!r}: the lock resolves its world to the main world's versions only, so "
                    "nothing is renamed for it (the dependencies it was isolated from changed): remove the entry",
                )
            )
    return found


def nearest_root(path: Path, cache: dict[Path, Path]) -> Path:
    """The directory of the ``pyproject.toml`` nearest above ``path`` (``path``'s own directory if none)."""
    start = path if path.is_dir() else path.parent
    start = start.resolve()
    seen: list[Path] = []
    current: Path | None = start
    root = start
    while current is not None:
        if current in cache:
            root = cache[current]
            break
        seen.append(current)
        if (current / "pyproject.toml").is_file():
            root = current
            break
        current = current.parent if current.parent != current else None
    for directory in seen:
        cache[directory] = root
    return root


def iter_sources(paths: Iterable[Path], excluded: Sequence[Path]) -> Iterable[Path]:
    """Python files under ``paths``: files as given, directories walked (not into hidden, build or venv directories)."""
    import os

    skip = {os.path.abspath(p) for p in excluded}
    for path in paths:
        if path.is_file():
            yield path
            continue
        for directory, dirs, files in os.walk(path):
            dirs[:] = sorted(
                d
                for d in dirs
                if not d.startswith(".")
                and d not in _NEVER
                and not os.path.exists(os.path.join(directory, d, "pyvenv.cfg"))
                and not (skip and os.path.abspath(os.path.join(directory, d)) in skip)
            )
            for f in sorted(files):
                if f.endswith((".py", ".pyi")):
                    yield Path(directory, f)


_NEVER = frozenset({"__pycache__", "build", "dist", "node_modules", "site-packages", "venv", "wheelhouse"})
