"""Fidelity: a renamed copy does what its original does, pattern by pattern, the original being the oracle.

The fixtures ``quirk`` 1.0 and 2.0 (same module names, incompatible APIs and values) and
``quirk-user`` 1.0 (requires ``quirk<2``) live in testwheels/. quirk 1.0 names itself in strings
in every way a library does: as data (dict keys, ``**kwargs`` built from them, an option value
compared with the name and looked up in a table, ``__all__`` entries, a registry of pickled
class paths, logger and warning-filter arguments, text) and as module names (import calls,
``sys.modules``, ``__module__`` assignments, comparisons with ``__name__``, entry points, code in
strings run by ``exec``/``eval``); option values and module names reach it both as literals and
as data read from JSON. quirk-user's ``PATTERNS`` maps each pattern to a function returning a
JSON-able value.

mvpy-vendor builds quirk 2.0 as the primary beside quirk-user, which gets quirk 1.0 renamed
(``_mv_quirk_1_0``); the wheelhouse is installed with pip into a venv. The oracle is another
venv holding only the original quirk 1.0 and quirk-user. For each pattern, a fresh interpreter on
each side imports ``quirk`` first (2.0 in the renamed world, so a copy that reaches for the plain
name finds the wrong version, as it would in a user's process), then runs the pattern through
quirk-user; the outcomes (a value, or an exception's type and message) must be equal.

The only difference allowed is the copy's own module name where a value *is* a module name:
each pattern lists those positions (``module_keys``: keys of the returned dict holding a module
name or a list of them; ``message``: a regular expression whose groups are module names in an
exception's message; the module of an exception's type is always one). There the oracle's
``quirk`` is mapped to ``_mv_quirk_1_0`` before comparing. This is the normalization
``_mv_quirk_1_0`` -> ``quirk``, applied the other way round: a copy that still said ``quirk`` in
such a position (naming quirk 2.0's module) fails instead of passing.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mvpy_vendor.cli import main

from .conftest import ROOT, clean_env, install_wheelhouse, new_venv

pytestmark = pytest.mark.slow

RENAMED = "_mv_quirk_1_0"


@dataclass(frozen=True)
class Pattern:
    """One use of the package's name; where its outcome legitimately holds the copy's module name."""

    name: str
    module_keys: tuple[str, ...] = ()
    message: str | None = None
    raises: bool = False  # the original raises: the exception is the outcome compared


PATTERNS = (
    # The module object itself: its __name__ is the copy's.
    Pattern("plain_import", module_keys=("module",)),
    # Data: {"quirk": ...} keys, and a dict of keyword arguments with a "quirk" key.
    Pattern("dict_keys"),
    Pattern("kwargs_from_dict"),
    # An option whose value is the package's name: from literals, then from a JSON document.
    Pattern("option_literal"),
    Pattern("option_from_data"),
    # The option table's keys appear in the error message: data, not normalized.
    Pattern("unknown_option", raises=True),
    # __all__ naming a function called "quirk", and `from quirk.sub import *`.
    Pattern("all_star"),
    # type(obj).__module__ of a class loaded back from a pickle.
    Pattern("pickle_roundtrip", module_keys=("module",)),
    # The registry of moved class paths is data; the class found through it is the copy's.
    Pattern("pickle_registry", module_keys=("module",)),
    # __module__ set from a decorator's parameter: a literal argument, then a value from JSON.
    Pattern("set_module_literal", module_keys=("class_module", "function_module")),
    Pattern("set_module_data", module_keys=("module",)),
    # type(..., {"__module__": ...}), ns["__module__"] = ..., setattr(cls, "__module__", ...).
    Pattern("dunder_module_assign", module_keys=("modules",)),
    # import_module(name) with a parameter: literals passed in, names from JSON, a tuple loop.
    Pattern("import_module_param", module_keys=("name",)),
    Pattern("import_module_data", module_keys=("name",)),
    Pattern("import_module_loop", module_keys=("names",)),
    # The name that is not found is the module name in ModuleNotFoundError's message.
    Pattern("missing_module", message=r"No module named '([^']+)'", raises=True),
    Pattern("sys_modules"),
    Pattern("sys_modules_param", module_keys=("name",)),
    # Code in strings: exec of a star import, an option table of code strings, eval/compile.
    Pattern("exec_star"),
    Pattern("exec_option_table"),
    Pattern("eval_code"),
    # __name__ / __spec__.name / type(x).__module__ compared with the package's name.
    Pattern("compare_dunder_name"),
    Pattern("compare_type_module"),
    # An entry point's value is "module:attr": its module part is the copy's.
    Pattern("entry_point", module_keys=("value",)),
    # Logger names follow the module loggers (getLogger(__name__)) they are the parents of: the
    # literal "quirk" must stay the parent of the copy's module loggers, as in the original.
    Pattern("logger_names", module_keys=("name", "record_names")),
    # filterwarnings(module=...) matches module names; filterwarnings(message=...) matches text.
    Pattern("warning_filters"),
    Pattern("resources"),
    Pattern("mock_patch_target"),
    # Text that leaves the process: a banner, an SQL table prefix, a user-agent part.
    Pattern("banner_text"),
    # quirk-user's own data keyed by "quirk", and its own option compared with "quirk".
    Pattern("consumer_data"),
)

# Run in each venv: import quirk first, then one pattern through quirk-user; print the outcome.
RUNNER = """
import json, sys
import quirk
import quirk_user

def outcome(function):
    try:
        value = function()
    except Exception as error:
        return {"raised": type(error).__module__ + "." + type(error).__qualname__, "message": str(error)}
    return {"value": json.loads(json.dumps(value, default=repr))}

names = sys.argv[1:]
print(json.dumps({
    "first": quirk.__version__,
    "patterns": list(quirk_user.PATTERNS),
    "outcomes": {name: outcome(quirk_user.PATTERNS[name]) for name in names},
}))
"""


@dataclass(frozen=True)
class Worlds:
    renamed: Path  # the interpreter of the venv holding the built wheelhouse
    original: Path  # the interpreter of the oracle venv: quirk 1.0 and quirk-user, as published

    def run(self, python: Path, *patterns: str) -> dict[str, Any]:
        proc = subprocess.run(
            [str(python), "-I", "-c", RUNNER, *patterns],
            capture_output=True, text=True, env=clean_env(), cwd=python.parent, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        result: dict[str, Any] = json.loads(proc.stdout)
        return result


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> Worlds:
    base = tmp_path_factory.mktemp("fidelity")
    wheels = base / "wheels"
    subprocess.run(
        [sys.executable, str(ROOT / "testwheels" / "build_wheels.py"), str(wheels), "quirk", "quirk-user"],
        check=True, capture_output=True,
    )  # fmt: skip
    house = base / "house"
    inputs = [str(p) for p in sorted(wheels.glob("*.whl"))]
    assert main(["build", "-q", "--wheels", *inputs, "--primary", "quirk==2.0", "--out", str(house)]) == 0
    renamed = install_wheelhouse(house, base / "renamed")
    original = new_venv(base / "original")
    published = base / "published"
    published.mkdir()
    for wheel in wheels.glob("*.whl"):
        if not wheel.name.startswith("quirk-2.0-"):
            (published / wheel.name).write_bytes(wheel.read_bytes())
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(original), "install", "--no-index", "--no-cache-dir", "-q",
         "--find-links", str(published), "quirk-user"],
        check=True, env=clean_env(),
    )  # fmt: skip
    return Worlds(renamed, original)


def _relocate(name: str) -> str:
    """The copy's name for a module name of the original (other names unchanged)."""
    top, dot, rest = name.partition(".")
    return f"{RENAMED}{dot}{rest}" if top == "quirk" else name


def _in_module_position(value: Any, relocate: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return relocate(value)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), value
    return [relocate(v) for v in value]


def expected_in_copy(pattern: Pattern, original: dict[str, Any]) -> dict[str, Any]:
    """The original's outcome with its module names, where the pattern says it holds them, the copy's."""
    if "raised" in original:
        module, _, qualname = original["raised"].rpartition(".")
        message = original["message"]
        if pattern.message is not None:
            assert re.search(pattern.message, message), (pattern.message, message)  # the fixture says what it names
            message = re.sub(pattern.message, lambda m: _replace_groups(m, _relocate), message)
        return {"raised": f"{_relocate(module)}.{qualname}", "message": message}
    value = original["value"]
    if pattern.module_keys:
        assert isinstance(value, dict) and set(pattern.module_keys) <= set(value), (pattern.module_keys, value)
        value = {k: _in_module_position(v, _relocate) if k in pattern.module_keys else v for k, v in value.items()}
    return {"value": value}


def _replace_groups(match: re.Match[str], relocate: Callable[[str], str]) -> str:
    text, start = match.group(0), match.start(0)
    for group in range(len(match.groups()), 0, -1):  # right to left: earlier offsets stay valid
        at, end = match.start(group) - start, match.end(group) - start
        text = text[:at] + relocate(text[at:end]) + text[end:]
    return text


def test_each_world_imports_its_quirk_first_and_offers_every_pattern(worlds: Worlds) -> None:
    renamed, original = worlds.run(worlds.renamed), worlds.run(worlds.original)
    assert (renamed["first"], original["first"]) == ("2.0", "1.0")
    assert renamed["patterns"] == original["patterns"] == [p.name for p in PATTERNS]


def test_normalization_maps_only_the_module_names_it_is_told_of() -> None:
    missing = Pattern("p", message=r"No module named '([^']+)'")
    assert expected_in_copy(
        missing, {"raised": "builtins.ModuleNotFoundError", "message": "No module named 'quirk.a' (quirk)"}
    ) == {"raised": "builtins.ModuleNotFoundError", "message": f"No module named '{RENAMED}.a' (quirk)"}
    assert expected_in_copy(Pattern("p"), {"raised": "quirk.errors.E", "message": "quirk"}) == {
        "raised": f"{RENAMED}.errors.E",
        "message": "quirk",
    }
    value = {"module": "quirk.models", "names": ["quirk", "json", "quirky"], "data": "quirk"}
    assert expected_in_copy(Pattern("p", module_keys=("module", "names")), {"value": value}) == {
        "value": {"module": f"{RENAMED}.models", "names": [RENAMED, "json", "quirky"], "data": "quirk"}
    }


@pytest.mark.parametrize("pattern", PATTERNS, ids=[p.name for p in PATTERNS])
def test_the_renamed_copy_does_what_the_original_does(worlds: Worlds, pattern: Pattern) -> None:
    original = worlds.run(worlds.original, pattern.name)["outcomes"][pattern.name]
    # The fixture works in the original: an exception is the outcome only where the pattern says so.
    assert ("raised" in original) == pattern.raises, original
    copy = worlds.run(worlds.renamed, pattern.name)["outcomes"][pattern.name]
    assert copy == expected_in_copy(pattern, original)
