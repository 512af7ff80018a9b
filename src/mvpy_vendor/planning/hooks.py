"""Start-up hooks: plain names a wheel puts into ``sys.modules`` through an import hook of its own.

setuptools (60 and later) ships ``_distutils_hack``: a finder on ``sys.meta_path`` that answers
the plain name ``distutils`` with setuptools' own ``setuptools._distutils`` (the module object
itself, renamed ``distutils``), and ``setuptools/__init__.py`` runs it at import
(``import _distutils_hack.override``, whose only statement calls ``do_override()``: it clears
``distutils`` from ``sys.modules`` and imports it again through the finder). A renamed copy that
kept doing that would replace the primary's (or the standard library's) ``distutils`` in every
process that imports it.

This finds such aliases structurally, from the wheel's own Python files, so that planning can
treat the aliased name as one the distribution provides:

* an **alias** is a function, in a module whose code installs an import hook (``sys.meta_path``
  or ``sys.path_hooks`` outside strings and comments), that builds a module spec for a literal
  top-level name the wheel does not install (``spec_from_loader("distutils", ...)``,
  ``ModuleSpec(...)``, ``spec_from_file_location(...)``) and imports one of the wheel's own
  modules by a literal name (``import_module("setuptools._distutils")``): the wheel provides
  ``distutils`` as ``setuptools._distutils``. In a renamed copy that package is installed as a
  top-level name of its own (``_mv_distutils_65_5_1``, as the hook made it the top-level
  ``distutils``), and imports of ``distutils`` (and strings naming it) are rewritten to it, like
  any of the copy's names;
* a **trigger** is a module whose top-level statements only import and call into such a hook
  module (``__import__('_distutils_hack').do_override()``): in a renamed copy it is written as an
  empty module, since the rewritten imports already give the copy its own module, and running
  the hook would re-register the alias under the plain name. A module that calls into the hook
  at import time and does other things too is not changed, with a warning.

Nothing here is keyed on a file or package name: any wheel with the same structure is treated
the same way.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from mvpy_vendor.cache import Cache, cache_key
from mvpy_vendor.rewrite.mask import mask
from mvpy_vendor.wheel.layout import installed_path, module_name_of
from mvpy_vendor.wheel.reader import MemberReader
from mvpy_vendor.wheel.validate import WheelInfo

__all__ = ["Alias", "find_aliases", "trigger", "wheel_aliases"]

HOOKS = re.compile(rb"\b(?:meta_path|path_hooks)\b")
_SPEC_MAKERS = frozenset({"spec_from_loader", "ModuleSpec", "spec_from_file_location"})
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Alias:
    """``name`` (a plain top-level name) is served as the wheel's own module ``target`` by ``hook``."""

    name: str
    target: str
    #: the module holding the finder, and where (``_distutils_hack``, ``_distutils_hack/__init__.py:203``)
    hook: str
    where: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "target": self.target, "hook": self.hook, "where": self.where}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Alias:
        return cls(str(data["name"]), str(data["target"]), str(data["hook"]), str(data["where"]))

    @property
    def reason(self) -> str:
        return f"{self.hook} serves plain {self.name!r} as {self.target} (import hook: {self.where})"


def _literal_arg(call: ast.Call) -> str | None:
    if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return call.args[0].value
    for keyword in call.keywords:
        if keyword.arg == "name" and isinstance(keyword.value, ast.Constant) and isinstance(keyword.value.value, str):
            return keyword.value.value
    return None


def _called(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _functions(tree: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def _aliases_in(tree: ast.Module, own: Collection[str]) -> Iterator[tuple[str, str]]:
    for function in _functions(tree):
        specs: set[str] = set()
        imported: set[str] = set()
        for node in ast.walk(function):
            if not isinstance(node, ast.Call):
                continue
            called, text = _called(node), _literal_arg(node)
            if text is None:
                continue
            if called in _SPEC_MAKERS and _IDENTIFIER.fullmatch(text) and text not in own:
                specs.add(text)
            elif called in ("import_module", "__import__") and text.partition(".")[0] in own:
                imported.add(text)
        if len(imported) == 1:
            (target,) = imported
            for name in sorted(specs):
                yield name, target


def find_aliases(
    members: Sequence[str], data_dir: str, import_names: Collection[str], read: Callable[[str], bytes]
) -> tuple[Alias, ...]:
    """Every plain name the wheel's import hooks serve as one of its own modules."""
    found: dict[str, Alias] = {}
    for member in members:
        if not member.endswith(".py"):
            continue
        path = installed_path(member, data_dir)
        if path.partition("/")[0].removesuffix(".py") not in import_names:
            continue
        data = read(member)
        if not HOOKS.search(data):
            continue
        masked = mask(data)
        hook = HOOKS.search(masked.code) if masked is not None else None
        if masked is None or hook is None:
            continue
        try:
            tree = ast.parse(data)
        except (SyntaxError, ValueError):
            continue
        line = masked.data.count(b"\n", 0, hook.start()) + 1
        where = f"sys.{hook[0].decode()} at {member}:{line}"
        for name, target in _aliases_in(tree, import_names):
            found.setdefault(name, Alias(name, target, module_name_of(path), where))
    return tuple(found[n] for n in sorted(found))


def wheel_aliases(wheel: WheelInfo, cache: Cache | None = None) -> tuple[Alias, ...]:
    """:func:`find_aliases` for one input wheel, remembered by its hash."""
    key = cache_key("aliases", wheel.sha256)
    known = cache.get_json("aliases", key) if cache is not None else None
    if known is not None:
        return tuple(Alias.from_json(a) for a in known)
    with MemberReader(wheel.path) as reader:
        found = find_aliases(wheel.members, wheel.data_dir, wheel.import_names, reader.read)
    if cache is not None:
        cache.put_json("aliases", key, [a.to_json() for a in found])
    return found


def _hook_root(node: ast.expr, hooks: Collection[str], bound: Collection[str]) -> bool:
    """Does ``node`` (a callee) start at a hook module: ``__import__('hook')``, or a name bound to it?"""
    while isinstance(node, (ast.Attribute, ast.Call)):
        if isinstance(node, ast.Call):
            if _called(node) == "__import__" and _literal_arg(node) in hooks:
                return True
            node = node.func
        else:
            node = node.value
    return isinstance(node, ast.Name) and node.id in bound


def trigger(data: bytes, hooks: Collection[str]) -> bool | None:
    """Does this module run a hook module at import: True if that is all it does, False if it
    does other things too, None if it does not call into a hook module at its top level."""
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError):
        return None
    bound: set[str] = set()
    calls = other = 0
    for stmt in tree.body:
        if isinstance(stmt, ast.Import):
            bound.update(
                (a.asname or a.name).partition(".")[0] for a in stmt.names if a.name.partition(".")[0] in hooks
            )
        elif isinstance(stmt, ast.ImportFrom):
            if stmt.level == 0 and stmt.module in hooks:
                bound.update(a.asname or a.name for a in stmt.names)
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str):
            pass  # a docstring
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and _hook_root(stmt.value, hooks, bound):
            calls += 1
        else:
            other += 1
    if not calls:
        return None
    return not other
