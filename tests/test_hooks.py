"""Aliases served by a wheel's own import hook, and the modules that only run such a hook."""

from __future__ import annotations

from mvpy_vendor.planning.hooks import find_aliases, trigger
from mvpy_vendor.rewrite.metadata import rewrite_entry_points
from mvpy_vendor.rewrite.names import NameMap

HOOK = b"""import sys

class Finder:
    def find_spec(self, fullname, path, target=None):
        return getattr(self, "spec_for_" + fullname, lambda: None)()

    def spec_for_plain(self):
        import importlib, importlib.util
        mod = importlib.import_module("pkg._plain")
        return importlib.util.spec_from_loader("plain", None, origin=mod.__file__)

def install():
    sys.meta_path.insert(0, Finder())
"""


def test_an_alias_is_a_spec_for_a_foreign_name_built_from_an_own_module() -> None:
    files = {"_hook/__init__.py": HOOK, "pkg/__init__.py": b"", "pkg/_plain/__init__.py": b""}
    (alias,) = find_aliases(list(files), "x.data", ("_hook", "pkg"), files.__getitem__)
    assert (alias.name, alias.target, alias.hook) == ("plain", "pkg._plain", "_hook")
    assert alias.where == "sys.meta_path at _hook/__init__.py:13"
    # Without the hook on sys.meta_path (only in a comment), or serving one of its own names: none.
    quiet = HOOK.replace(b"    sys.meta_path.insert(0, Finder())", b"    pass  # sys.meta_path")
    assert find_aliases(["_hook/__init__.py"], "x.data", ("_hook", "pkg"), {"_hook/__init__.py": quiet}.get) == ()
    assert find_aliases(list(files), "x.data", ("_hook", "pkg", "plain"), files.__getitem__) == ()


def test_a_trigger_only_runs_the_hook() -> None:
    hooks = {"_hook"}
    assert trigger(b"__import__('_hook').install()\n", hooks) is True
    assert trigger(b'"""doc"""\nimport _hook\n_hook.install()\n', hooks) is True
    assert trigger(b"from _hook import install\ninstall()\n", hooks) is True
    assert trigger(b"import _hook\n_hook.install()\nX = 1\n", hooks) is False
    assert trigger(b"import _hook\n", hooks) is None  # imports it, runs nothing
    assert trigger(b"def f():\n    __import__('_hook').install()\n", hooks) is None
    assert trigger(b"import other\nother.install()\n", hooks) is None


def test_entry_point_groups_of_a_renamed_copy_are_relocated() -> None:
    text = "[distutils.commands]\nbuild = setuptools.command.build:build\n[egg_info.writers]\nx = setuptools.w:x\n"
    names = NameMap({"setuptools": "_mv_s_1", "distutils": "_mv_distutils_1"})
    assert rewrite_entry_points(text, names, drop_scripts=True, groups=True).text == (
        "[_mv_distutils_1.commands]\nbuild = _mv_s_1.command.build:build\n[egg_info.writers]\nx = _mv_s_1.w:x\n"
    )
    assert rewrite_entry_points(text, names, drop_scripts=True).text.startswith("[distutils.commands]\n")
    kept = NameMap(names.imports, strings=False)
    assert rewrite_entry_points(text, kept, drop_scripts=True, groups=True).text.startswith("[distutils.commands]\n")
