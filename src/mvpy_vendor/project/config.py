"""``[tool.mvpy-vendor]`` in ``pyproject.toml``: read, checked and merged with the command line.

Every key is the long command-line option of the same name (``native-for`` is
``--native-for``), so anything said on the command line can be said in the file, and the command
line wins. An unknown key, a wrong type or an invalid value is a :class:`ConfigError` naming
``file:line`` and the key.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name

from mvpy_vendor.errors import ConfigError
from mvpy_vendor.planning.target import Target

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["CHOICES", "KEYS", "LOCK_NAME", "IndexSettings", "ProjectConfig", "World", "check_value", "load_project"]

TABLE = "tool.mvpy-vendor"
#: the project's lock, beside pyproject.toml (project mode's worlds, and the embedding backend's ``embed``)
LOCK_NAME = "pylock.mvpy-vendor.toml"

#: every key of the table, with its type: "str", "bool", "int" or "list" (of strings)
KEYS: Mapping[str, str] = {
    "isolate": "list",
    "out": "str",
    "resolver": "str",
    "require": "list",
    "primary": "list",
    "rename": "list",
    "extra": "list",
    "group": "list",
    "native": "str",
    "native-for": "list",
    "accept-native-leak": "list",
    "accept-shared-state": "list",
    "keep-strings": "list",
    "allow-unparsable": "bool",
    "jobs": "int",
    "python-version": "str",
    "platform": "str",
    "index-url": "str",
    "extra-index-url": "list",
    "find-links": "list",
    "no-index": "bool",
    "verify": "bool",
    "cache-dir": "str",
    "no-cache": "bool",
    "report": "str",
}

_EXPECTED = {"str": "a string", "bool": "true or false", "int": "a positive integer", "list": "a list of strings"}
#: the keys whose value is one of a few strings
CHOICES: Mapping[str, tuple[str, ...]] = {"resolver": ("uv", "pip"), "native": ("patch", "prefer-source", "error")}
#: keys whose values are paths, relative to the project directory
_PATHS = ("out", "cache-dir", "report")


@dataclass(frozen=True)
class IndexSettings:
    """Where the resolvers look (settings ``index-url``, ``extra-index-url``, ``find-links``, ``no-index``).

    Unset, each resolver uses its own configuration (pip's ``pip.conf`` and ``PIP_*``, uv's
    ``uv.toml`` and ``UV_*``).
    """

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False

    def args(self) -> list[str]:
        """The options pip and uv both spell the same way."""
        args: list[str] = []
        if self.index_url:
            args += ["--index-url", self.index_url]
        for url in self.extra_index_urls:
            args += ["--extra-index-url", url]
        for link in self.find_links:
            args += ["--find-links", link]
        if self.no_index:
            args.append("--no-index")
        return args


@dataclass(frozen=True)
class World:
    """A set of requirements resolved together: ``main`` (the project's dependencies) or one ``isolate`` entry."""

    name: str
    requirements: tuple[str, ...]


@dataclass(frozen=True)
class ProjectConfig:
    """The project's settings after the command line has been applied."""

    root: Path
    pyproject: Path
    settings: Mapping[str, Any]
    worlds: tuple[World, ...]
    target: Target = field(default_factory=Target)

    def get(self, key: str) -> Any:
        return self.settings.get(key, _default(KEYS[key]))

    @property
    def index(self) -> IndexSettings:
        return IndexSettings(
            self.get("index-url"),
            tuple(self.get("extra-index-url")),
            tuple(self.get("find-links")),
            bool(self.get("no-index")),
        )

    @property
    def lock_path(self) -> Path:
        return self.root / LOCK_NAME


def _default(kind: str) -> Any:
    return [] if kind == "list" else False if kind == "bool" else None


class _Lines:
    """Where a key of a table is written, for ``file:line`` in errors (tomllib gives no positions)."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def of(self, table: str, key: str | None = None) -> str:
        header = re.compile(r"^\s*\[\s*" + r"\s*\.\s*".join(re.escape(p) for p in _split(table)) + r"\s*\]\s*(#.*)?$")
        inside = False
        for number, line in enumerate(self.lines, 1):
            if line.lstrip().startswith("["):
                if inside:
                    break
                inside = bool(header.match(line))
                if inside and key is None:
                    return f"{self.path}:{number}"
                continue
            if inside and key is not None and re.match(r'^\s*["\']?' + re.escape(key) + r'["\']?\s*=', line):
                return f"{self.path}:{number}"
        if key is not None:  # a sub-table: [tool.mvpy-vendor.KEY]
            found = self.of(f"{table}.{key}")
            if found != str(self.path):
                return found
        return str(self.path)


def _split(table: str) -> list[str]:
    head, _, rest = table.partition(".")
    return [head, rest] if rest else [head]


def check_value(where: str, key: str, value: Any, keys: Mapping[str, str] = KEYS) -> Any:
    """``value`` if its type (and choice) is right for ``key`` of ``keys``; ``where`` says who gave it
    (``file:line: [table] key``, or ``--key``)."""
    kind = keys[key]

    def wrong(expected: str) -> ConfigError:
        return ConfigError(f"{where}: expected {expected}, got {value!r}")

    if kind == "list":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise wrong(_EXPECTED[kind])
    elif kind == "bool":
        if not isinstance(value, bool):
            raise wrong(_EXPECTED[kind])
    elif kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise wrong(_EXPECTED[kind])
    elif not isinstance(value, str):
        raise wrong(_EXPECTED[kind])
    if key in CHOICES and value not in CHOICES[key]:
        raise wrong(" or ".join(repr(c) for c in CHOICES[key]))
    return value


def _check(where: str, key: str, value: Any) -> Any:
    check_value(where, key, value)
    if key in ("isolate", "require"):
        for text in value:
            _requirement(text, where)
    return value


def _requirement(text: str, where: str) -> Requirement:
    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        raise ConfigError(f"{where}: {text!r} is not a requirement: {str(exc).splitlines()[0]}") from None


def _group(groups: Mapping[str, Any], name: str, lines: _Lines, seen: tuple[str, ...] = ()) -> list[str]:
    """The requirements of a PEP 735 dependency group, its ``include-group`` entries expanded."""
    where = lines.of("dependency-groups", name)
    wanted = {canonicalize_name(k): v for k, v in groups.items()}.get(canonicalize_name(name))
    if wanted is None:
        raise ConfigError(
            f"{lines.of(TABLE, 'group')}: [{TABLE}] group: no dependency group {name!r} in [dependency-groups]"
        )
    if name in seen:
        raise ConfigError(f"{where}: [dependency-groups] {name}: includes itself")
    found: list[str] = []
    for item in wanted if isinstance(wanted, list) else [None]:
        if isinstance(item, str):
            _requirement(item, f"{where}: [dependency-groups] {name}")
            found.append(item)
        elif isinstance(item, dict) and set(item) == {"include-group"} and isinstance(item["include-group"], str):
            found += _group(groups, item["include-group"], lines, (*seen, name))
        else:
            raise ConfigError(
                f"{where}: [dependency-groups] {name}: expected requirement strings or {{include-group = ...}}"
            )
    return found


def _main_requirements(data: Mapping[str, Any], settings: Mapping[str, Any], lines: _Lines) -> list[str]:
    project = data.get("project")
    if not isinstance(project, dict):
        raise ConfigError(f"{lines.path}: no [project] table: project mode resolves [project].dependencies")
    if "dependencies" in project.get("dynamic", []):
        raise ConfigError(
            f"{lines.of('project', 'dynamic')}: [project].dependencies is dynamic: project mode needs them "
            "written in pyproject.toml (or gather the wheels yourself and pass --wheels)"
        )
    deps = project.get("dependencies", [])
    where = lines.of("project", "dependencies")
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        raise ConfigError(f"{where}: [project] dependencies: expected a list of requirement strings")
    found = [str(_requirement(d, f"{where}: [project] dependencies")) for d in deps]
    optional = project.get("optional-dependencies", {})
    for extra in settings.get("extra", []):
        chosen = {canonicalize_name(k): v for k, v in optional.items()}.get(canonicalize_name(extra))
        if chosen is None:
            raise ConfigError(
                f"{lines.of(TABLE, 'extra')}: [{TABLE}] extra: no extra {extra!r} in [project.optional-dependencies]"
            )
        found += [
            str(_requirement(d, f"{lines.of('project.optional-dependencies', extra)}: extra {extra}")) for d in chosen
        ]
    groups = data.get("dependency-groups", {})
    for group in settings.get("group", []):
        found += [str(Requirement(r)) for r in _group(groups, group, lines)]
    found += [str(Requirement(r)) for r in settings.get("require", [])]
    return list(dict.fromkeys(found))


def _worlds(main: list[str], isolate: Sequence[str], where: str) -> tuple[World, ...]:
    worlds = [World("main", tuple(main))]
    seen: dict[NormalizedName, str] = {}
    for text in isolate:
        name = canonicalize_name(Requirement(text).name)
        if name in seen:
            raise ConfigError(f"{where}: [{TABLE}] isolate: {text!r} and {seen[name]!r} name the same distribution")
        seen[name] = text
        worlds.append(World(f"isolate-{name}", (str(Requirement(text)),)))
    return tuple(worlds)


def load_project(directory: Path, overrides: Mapping[str, Any] | None = None) -> ProjectConfig:
    """Read ``directory/pyproject.toml`` and apply ``overrides`` (what the command line gave, by key)."""
    path = directory / "pyproject.toml"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file (project mode reads pyproject.toml; or pass --wheels)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"at line (\d+)", str(exc))
        where = f"{path}:{match.group(1)}" if match else str(path)
        raise ConfigError(f"{where}: not valid TOML: {exc}") from None
    lines = _Lines(path, text)
    table = data.get("tool", {}).get("mvpy-vendor", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{lines.of('tool')}: [tool] mvpy-vendor: expected a table")
    settings: dict[str, Any] = {}
    for key, value in table.items():
        if key not in KEYS:
            if key in ("backend", "check") and isinstance(value, dict):
                continue  # [tool.mvpy-vendor.backend] belongs to the build backend, .check to 'check'

            close = [k for k in KEYS if k.replace("-", "") == key.replace("-", "").replace("_", "")]
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(
                f"{lines.of(TABLE, key)}: [{TABLE}] {key}: unknown key{hint}; known keys: {', '.join(KEYS)}"
            )
        settings[key] = _check(f"{lines.of(TABLE, key)}: [{TABLE}] {key}", key, value)
    for key, value in (overrides or {}).items():
        if value is not None and value != [] and value is not False:
            settings[key] = _check(f"--{key}", key, value)
    for key in _PATHS:
        if key in settings and key not in (overrides or {}):
            settings[key] = str(directory / settings[key])
    if "find-links" in settings and "find-links" not in (overrides or {}):
        settings["find-links"] = [v if "://" in v else str(directory / v) for v in settings["find-links"]]
    main = _main_requirements(data, settings, lines)
    try:
        target = Target(settings.get("python-version"), settings.get("platform"))
    except ConfigError as exc:
        if str(exc.setting) in (overrides or {}):
            raise
        raise ConfigError(f"{lines.of(TABLE, str(exc.setting))}: [{TABLE}] {exc.render()}") from None
    return ProjectConfig(
        root=directory,
        pyproject=path,
        settings=settings,
        worlds=_worlds(main, settings.get("isolate", []), lines.of(TABLE, "isolate")),
        target=target,
    )
