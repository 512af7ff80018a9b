"""As-written mode: the plain name of each renamed copy is an alias of the copy itself.

Loaded by ``mvconf_alias.pth`` at interpreter start-up, before pytest imports anything, in the
as-written environments only (the harness's import hook; mvpy-vendor itself never uses one).
``MVCONF_ALIASES=pandas=_mv_pandas_1_5_3,numpy=_mv_numpy_1_26_4`` makes ``import pandas`` and
every ``import pandas.x`` return the modules ``_mv_pandas_1_5_3`` and ``_mv_pandas_1_5_3.x``
themselves (the same objects, under both keys of ``sys.modules``), so every literal of the
unrewritten tests reaches the copy as data from outside would.

Where the suite ships inside the package (``pandas/tests``), ``MVCONF_AS_WRITTEN`` names the
parts (``pandas.tests,pandas.conftest``) that are loaded, as written, from the original wheel's
files under ``MVCONF_AS_WRITTEN_DIR`` instead of from the copy.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Sequence
from types import CodeType, ModuleType


def _pairs(value: str) -> dict[str, str]:
    return {p.partition("=")[0]: p.partition("=")[2] for p in value.split(",") if "=" in p}


class _AliasLoader(importlib.abc.Loader):
    """Returns the already named module; puts back its own spec, which the import system replaced."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.spec: importlib.machinery.ModuleSpec | None = None

    # create_module is defined below, in code the warnings module takes for the import system's own

    def exec_module(self, module: ModuleType) -> None:
        module.__spec__ = self.spec
        _mirror()

    def get_code(self, fullname: str) -> CodeType | None:
        """The copy's code, for ``python -m name`` (runpy runs it as ``__main__``, as it would the original)."""
        spec = importlib.util.find_spec(self.target)
        loader = spec.loader if spec else None
        get_code = getattr(loader, "get_code", None)
        return get_code(self.target) if get_code else None


# The alias loader runs between the import statement and the copy's module code: where that code
# warns with a stacklevel meant for its importer (sympy's deprecated modules; sympy's tests check
# the line shown is the test's), the alias's frames must be skipped as the import system's are.
# ``warnings`` skips a frame whose file name holds "importlib" and "_bootstrap": create_module is
# compiled under such a name, and imports with the builtin ``__import__`` (no Python frame).
_HIDDEN: dict[str, object] = {"_modules": sys.modules}
exec(
    compile(
        "def create_module(self, spec):\n"
        "    __import__(self.target)\n"
        "    module = _modules[self.target]\n"
        "    self.spec = module.__spec__\n"
        "    return module\n",
        "<mvconf alias: hidden from warnings like importlib._bootstrap>",
        "exec",
    ),
    _HIDDEN,
)
_AliasLoader.create_module = _HIDDEN["create_module"]  # type: ignore[method-assign,assignment]

_ALIASES: dict[str, str] = {}


def _mirror() -> None:
    """Every ``sys.modules`` key under a renamed name is there under the plain name too.

    A copy registers modules under keys of its own (requests' ``packages.py`` puts
    ``_mv_requests_2_31_0.packages.urllib3`` there); the original would have registered the plain
    key, which ``import requests.packages.urllib3`` finds before it looks for a package.
    """
    for key, module in list(sys.modules.items()):
        head, dot, rest = key.partition(".")
        for plain, renamed in _ALIASES.items():
            if head == renamed:
                sys.modules.setdefault(plain + dot + rest, module)


class AliasFinder(importlib.abc.MetaPathFinder):
    """``name`` and ``name.x`` are ``target`` and ``target.x`` for each alias."""

    def __init__(self, aliases: dict[str, str], as_written: Sequence[str], as_written_dir: str) -> None:
        self.aliases = aliases
        self.as_written = tuple(as_written)
        self.as_written_dir = as_written_dir

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        head, dot, rest = fullname.partition(".")
        renamed = self.aliases.get(head)
        if renamed is None:
            return self._as_written_of_copy(fullname)
        if fullname in self.as_written:
            # the top of an as-written part: its file, not the copy's; asked of the finders after this one
            # (pytest's assertion rewriter among them) with the as-written directory as the path
            where = [os.path.join(self.as_written_dir, *fullname.split(".")[:-1])]
            for finder in sys.meta_path:
                find = getattr(finder, "find_spec", None)
                if finder is not self and find is not None:
                    spec = find(fullname, where, target)
                    if spec is not None:
                        return spec  # type: ignore[no-any-return]
            return None
        if any(fullname.startswith(p + ".") for p in self.as_written):
            return None  # found below the as-written part's own __path__
        target_name = renamed + dot + rest
        loaded = sys.modules.get(target_name)
        found = loaded.__spec__ if loaded is not None else importlib.util.find_spec(target_name)
        if found is None:
            return None  # the copy has no such module: the usual "No module named 'pandas.x'"
        # a package's spec says so (runpy runs pkg.__main__ for ``-m pkg``); the module keeps its own __path__
        # origin too: runpy puts it in sys.argv[0]
        return importlib.machinery.ModuleSpec(
            fullname,
            _AliasLoader(target_name),
            origin=found.origin,
            is_package=found.submodule_search_locations is not None,
        )

    def _as_written_of_copy(self, fullname: str) -> importlib.machinery.ModuleSpec | None:
        """``_mv_pkg_1_0.tests.x`` where ``pkg.tests`` is as written: the as-written module itself.

        The as-written files stand in for the copy's own (the suite inside the package): a copy
        that imports one of them by a module name it maps (``namedAny("pkg.tests.test_cli.X")``)
        gets the one module pytest loaded, as the original, which has only one, does.
        """
        head, dot, rest = fullname.partition(".")
        plain = next((p for p, r in self.aliases.items() if r == head), None)
        if plain is None:
            return None
        name = plain + dot + rest
        if not any(name == p or name.startswith(p + ".") for p in self.as_written):
            return None
        found = sys.modules.get(name) or importlib.import_module(name)
        spec = found.__spec__
        return importlib.machinery.ModuleSpec(
            fullname,
            _AliasLoader(name),
            origin=spec.origin if spec else None,
            is_package=spec is not None and spec.submodule_search_locations is not None,
        )


def install() -> AliasFinder | None:
    """Put the finder first on ``sys.meta_path`` when ``MVCONF_ALIASES`` asks for it."""
    aliases = _pairs(os.environ.get("MVCONF_ALIASES", ""))
    if not aliases:
        return None
    as_written = [p for p in os.environ.get("MVCONF_AS_WRITTEN", "").split(",") if p]
    _ALIASES.update(aliases)
    finder = AliasFinder(aliases, as_written, os.environ.get("MVCONF_AS_WRITTEN_DIR", ""))
    sys.meta_path.insert(0, finder)
    return finder


install()


def first() -> None:
    """Put the finder back in front of ``sys.meta_path`` (pytest's assertion rewriter inserts itself there).

    Otherwise the rewriter would look for ``pandas.conftest`` in the alias's ``__path__`` (the copy)
    and load the copy's file under the as-written name.
    """
    mine = [f for f in sys.meta_path if isinstance(f, AliasFinder)]
    for finder in mine:
        sys.meta_path.remove(finder)
    sys.meta_path[:0] = mine
