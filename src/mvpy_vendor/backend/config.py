"""``[tool.mvpy-vendor.backend]`` (and the hatch hook's table): read, checked, overridden by config_settings.

Every key is checked as ``[tool.mvpy-vendor]``'s are: an unknown key, a wrong type or a bad value
is a :class:`~mvpy_vendor.errors.ConfigError` naming ``pyproject.toml:LINE`` and the key. A
frontend's config_settings (``-C mvpy-vendor.KEY=VALUE``, ``--config-setting``) override the
table's keys; a key given more than once arrives as a list, and a list key takes one string as a
one-item list.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name

from mvpy_vendor.errors import ConfigError
from mvpy_vendor.options import ApplyOptions, NativePolicy
from mvpy_vendor.project.config import CHOICES, LOCK_NAME, IndexSettings, _Lines, check_value
from mvpy_vendor.project.config import KEYS as PROJECT_KEYS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["BACKEND_TABLE", "HATCH_TABLE", "KEYS", "LOCK_NAME", "SETTINGS_PREFIX", "EmbedConfig", "load_config"]

BACKEND_TABLE = "tool.mvpy-vendor.backend"
HATCH_TABLE = "tool.hatch.build.hooks.mvpy-vendor"
#: config_settings keys are ``mvpy-vendor.KEY``
SETTINGS_PREFIX = "mvpy-vendor."

#: the keys of project mode that mean the same here (their types are project mode's)
_SHARED = (
    "resolver", "index-url", "extra-index-url", "find-links", "no-index", "native", "native-for",
    "accept-native-leak", "accept-shared-state", "keep-strings", "allow-unparsable", "cache-dir",
)  # fmt: skip
#: every key, with its type: "str", "bool" or "list" (of strings)
KEYS: Mapping[str, str] = {
    "inner": "str",
    "embed": "list",
    "external": "list",
    "locked": "bool",
    "offline": "bool",
    **{key: PROJECT_KEYS[key] for key in _SHARED},
}
#: keys the hatch hook does not take (hatchling is the backend there)
_NOT_HATCH = ("inner",)
# The keys hatchling itself reads in a hook's table.
_HATCH_OWN = ("dependencies", "require-runtime-dependencies", "require-runtime-features", "enable-by-default")


@dataclass(frozen=True)
class EmbedConfig:
    """What to embed into the library's wheel, and how."""

    root: Path
    #: the library's distribution name (canonical), from [project] name
    project: NormalizedName
    settings: Mapping[str, Any] = field(default_factory=dict)

    def get(self, key: str) -> Any:
        kind = KEYS[key]
        return self.settings.get(key, [] if kind == "list" else False if kind == "bool" else None)

    @property
    def inner(self) -> str:
        return str(self.settings["inner"])

    @property
    def embed(self) -> tuple[str, ...]:
        return tuple(str(Requirement(r)) for r in self.get("embed"))

    @property
    def external(self) -> frozenset[NormalizedName]:
        return frozenset(canonicalize_name(n) for n in self.get("external"))

    @property
    def index(self) -> IndexSettings:
        links = tuple(v if "://" in v else str(self.root / v) for v in self.get("find-links"))
        extra = tuple(self.get("extra-index-url"))
        return IndexSettings(self.get("index-url"), extra, links, bool(self.get("no-index")))

    @property
    def lock_path(self) -> Path:
        return self.root / LOCK_NAME

    def options(self) -> ApplyOptions:
        native_for: dict[str, NativePolicy] = {}
        for item in self.get("native-for"):
            dist, _, policy = item.partition("=")
            native_for[dist] = NativePolicy(policy)
        return ApplyOptions(
            allow_unparsable=bool(self.get("allow-unparsable")),
            jobs=1,
            native_policy=NativePolicy(self.get("native") or "patch"),
            native_policy_for=native_for,
            accept_native_leaks=tuple(self.get("accept-native-leak")),
            accept_shared_state=tuple(self.get("accept-shared-state")),
            keep_strings=tuple(self.get("keep-strings")),
        )


def _check(where: str, key: str, value: Any) -> Any:
    check_value(where, key, value, KEYS)

    def wrong(expected: str) -> ConfigError:
        return ConfigError(f"{where}: expected {expected}, got {value!r}")

    if key == "embed":
        for text in value:
            try:
                Requirement(text)
            except InvalidRequirement as exc:
                raise ConfigError(f"{where}: {text!r} is not a requirement: {str(exc).splitlines()[0]}") from None
    if key == "native-for":
        for text in value:
            dist, eq, policy = text.partition("=")
            if not eq or not dist or policy not in CHOICES["native"]:
                raise wrong("DIST=POLICY entries (POLICY: patch, prefer-source or error)")
    if key == "inner" and not re.fullmatch(r"[A-Za-z_][\w.]*(:[A-Za-z_][\w.]*)?", value):
        raise wrong("a PEP 517 backend such as 'setuptools.build_meta' or 'hatchling.build'")
    return value


def _from_setting(key: str, value: Any) -> Any:
    """A config_settings value (a string, or a list of strings for a repeated key) as the key's type."""
    kind = KEYS[key]
    where = f"config setting {SETTINGS_PREFIX}{key}"
    if kind == "list":
        value = [value] if isinstance(value, str) else value
    elif kind == "bool" and isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("1", "true", "yes", "on", ""):
            value = True
        elif lowered in ("0", "false", "no", "off"):
            value = False
    return _check(where, key, value)


def load_config(
    root: Path, config_settings: Mapping[str, Any] | None = None, *, hatch_table: Mapping[str, Any] | None = None
) -> EmbedConfig:
    """Read ``root/pyproject.toml``'s ``[tool.mvpy-vendor.backend]`` (or, for the hatch hook, the
    hook's table as hatchling passed it) and apply ``config_settings``."""
    path = root / "pyproject.toml"
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file (the mvpy-vendor backend reads pyproject.toml)") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None
    lines = _Lines(path, text)
    project = data.get("project", {})
    name = project.get("name") if isinstance(project, dict) else None
    if not isinstance(name, str):
        raise ConfigError(f"{path}: no [project] name: the embedded copies are named after the library")
    hatch = hatch_table is not None
    table_name = HATCH_TABLE if hatch else BACKEND_TABLE
    table: Any = hatch_table if hatch else data.get("tool", {}).get("mvpy-vendor", {}).get("backend")
    if table is None:
        raise ConfigError(f"{path}: no [{table_name}] table (it says which backend to run and what to embed)")
    if not isinstance(table, dict):
        raise ConfigError(f"{lines.of('tool.mvpy-vendor')}: [{table_name}]: expected a table")
    allowed = [k for k in KEYS if not (hatch and k in _NOT_HATCH)]
    settings: dict[str, Any] = {}
    for key, value in table.items():
        if hatch and key in _HATCH_OWN:
            continue
        where = f"{lines.of(table_name, key)}: [{table_name}] {key}"
        if key not in allowed:
            close = [k for k in allowed if k.replace("-", "") == key.replace("-", "").replace("_", "")]
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{where}: unknown key{hint}; known keys: {', '.join(allowed)}")
        settings[key] = _check(where, key, value)
    for full, value in (config_settings or {}).items():
        if not full.startswith(SETTINGS_PREFIX):
            continue  # the inner backend's
        key = full[len(SETTINGS_PREFIX) :]
        if key not in allowed:
            raise ConfigError(f"config setting {full}: unknown key; known keys: {', '.join(allowed)}")
        settings[key] = _from_setting(key, value)
    if not hatch and not settings.get("inner"):
        raise ConfigError(
            f"{lines.of(table_name)}: [{table_name}] inner: missing; name the PEP 517 backend that builds the "
            'library (inner = "setuptools.build_meta", "hatchling.build", "flit_core.buildapi", ...)'
        )
    return EmbedConfig(root, canonicalize_name(name), settings)
