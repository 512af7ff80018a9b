"""A target's configuration (``targets/NAME.toml``) and its expected list (``targets/NAME.expected.toml``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib

__all__ = ["MODES", "ConfigError", "Deselect", "Expected", "Target", "load_expected", "load_target", "target_names"]

MODES = ("isolated", "as-written")


class ConfigError(Exception):
    """A target file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Deselect:
    """Tests left out of every run of a target (baseline and renamed alike), and why."""

    pattern: str
    reason: str


@dataclass(frozen=True)
class Expected:
    """A newly failing test that is accepted: it asserts the original dotted module name."""

    id: str
    modes: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class Target:
    """One library release whose upstream tests are run against the original and the renamed copy."""

    name: str
    path: Path
    #: the distribution under test and its import name
    library: str
    import_name: str
    #: requirements of the old world (the original release and what it must run with), pip syntax
    old: tuple[str, ...]
    #: requirements of the newest world, beside which the copy is built and imported
    new: tuple[str, ...]
    #: extra arguments for ``pip download`` of the old world (a pure wheel: ``--platform any``)
    old_pip_args: tuple[str, ...]
    #: "sdist" (tests taken from the sdist) or "wheel" (the package ships them)
    tests_source: str
    #: the sdist requirement (``packaging==21.3``) where tests_source is "sdist"
    sdist: str
    #: files and directories of the sdist (or the wheel) that make the test tree
    include: tuple[str, ...]
    #: what pytest is given, relative to the test tree
    paths: tuple[str, ...]
    #: more files of the sdist the tests read (``{data}`` in ``env`` is where they are)
    data: tuple[str, ...]
    #: copy the data files into each run's working directory too (settings read from the cwd)
    data_in_cwd: bool
    #: the test dependencies, pinned
    deps: tuple[str, ...]
    #: the ini file pytest runs with (upstream's settings), written as ``pytest.ini``
    ini: str
    #: more pytest arguments, the same in every run
    args: tuple[str, ...]
    deselect: tuple[Deselect, ...]
    #: modules imported before the suite in isolated mode (default: the library's import name)
    preimport: tuple[str, ...]
    #: seconds a single test may run before the process is ended and resumed after it
    test_timeout: int
    #: environment variables for every run
    env: dict[str, str] = field(default_factory=dict)
    #: why a subset is run (empty: the whole suite)
    subset: str = ""
    notes: str = ""


def _strs(data: dict[str, Any], key: str, where: Path, default: tuple[str, ...] = ()) -> tuple[str, ...]:
    value = data.get(key, list(default))
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key!r} must be a list of strings")
    return tuple(value)


def _str(data: dict[str, Any], key: str, where: Path, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {key!r} must be a string" + ("" if default is not None else " (required)"))
    return value


def load_target(path: Path) -> Target:
    """The target described by ``path``; a ConfigError naming the file and key otherwise."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    tests = data.get("tests", {})
    if not isinstance(tests, dict):
        raise ConfigError(f"{path}: [tests] must be a table")
    source = _str(tests, "source", path, "sdist")
    if source not in ("sdist", "wheel"):
        raise ConfigError(f"{path}: tests.source must be 'sdist' or 'wheel', not {source!r}")
    deselect = []
    for entry in tests.get("deselect", []):
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not entry.get("reason"):
            raise ConfigError(f"{path}: each tests.deselect entry needs an 'id' and a 'reason'")
        deselect.append(Deselect(entry["id"], str(entry["reason"])))
    library = _str(data, "library", path)
    import_name = _str(data, "import_name", path, library.replace("-", "_").lower())
    env = tests.get("env", {})
    if not isinstance(env, dict):
        raise ConfigError(f"{path}: tests.env must be a table")
    target = Target(
        name=path.name.removesuffix(".toml"),
        path=path,
        library=library,
        import_name=import_name,
        old=_strs(data, "old", path),
        new=_strs(data, "new", path),
        old_pip_args=_strs(data, "old_pip_args", path),
        tests_source=source,
        sdist=_str(tests, "sdist", path, ""),
        include=_strs(tests, "include", path),
        paths=_strs(tests, "paths", path),
        data=_strs(tests, "data", path),
        data_in_cwd=bool(tests.get("data_in_cwd", False)),
        deps=_strs(tests, "deps", path),
        ini=_str(tests, "ini", path, "[pytest]\n"),
        args=_strs(tests, "args", path),
        deselect=tuple(deselect),
        preimport=_strs(tests, "preimport", path, (import_name,)),
        test_timeout=int(tests.get("timeout", 600)),
        env={str(k): str(v) for k, v in env.items()},
        subset=_str(tests, "subset", path, ""),
        notes=_str(data, "notes", path, ""),
    )
    if not target.old or not target.new or not target.include or not target.paths:
        raise ConfigError(f"{path}: 'old', 'new', 'tests.include' and 'tests.paths' must not be empty")
    if (source == "sdist" or target.data) and not target.sdist:
        raise ConfigError(f"{path}: tests.source = 'sdist' and tests.data need tests.sdist (the sdist's requirement)")
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]*", target.name):
        raise ConfigError(f"{path}: a target's file name must be lower case letters, digits, '.' and '-'")
    return target


def load_expected(target: Target) -> tuple[Expected, ...]:
    """The accepted newly failing tests of ``target`` (none when it has no expected file)."""
    path = target.path.with_name(f"{target.name}.expected.toml")
    if not path.exists():
        return ()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    out = []
    for entry in data.get("expected", []):
        modes = tuple(entry.get("modes", MODES))
        if not isinstance(entry.get("id"), str) or not entry.get("reason") or not set(modes) <= set(MODES):
            raise ConfigError(f"{path}: each [[expected]] needs an 'id', a 'reason' and 'modes' among {MODES}")
        out.append(Expected(entry["id"], modes, str(entry["reason"])))
    return tuple(out)


def target_names(directory: Path) -> list[str]:
    """Every target configured in ``directory``, sorted."""
    return sorted(
        p.name.removesuffix(".toml") for p in directory.glob("*.toml") if not p.name.endswith(".expected.toml")
    )
