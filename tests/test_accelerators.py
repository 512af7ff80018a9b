"""Optional accelerators (planning/accelerators.py): every import of a compiled module falls back
to pure Python, decided statically from the wheel's own files, conservatively."""

from __future__ import annotations

import textwrap

import pytest

from mvpy_vendor.planning.accelerators import Accelerator, Accelerators

SO = "pkg/_c.cpython-311-x86_64-linux-gnu.so"
FALLBACK = "pkg/_py.py"
DIST_INFO = "pkg-1.0.dist-info"


def check(files: dict[str, str | bytes], compiled: str = SO) -> Accelerator:
    members = {
        SO: b"\x7fELF...",
        FALLBACK: "def f(): pass\n",
        "pkg/__init__.py": "",
        f"{DIST_INFO}/METADATA": "Name: pkg\n\nA description naming pkg._c and _c.\n",
        f"{DIST_INFO}/RECORD": f"{SO},,\n",
        **files,
    }
    data = {k: v if isinstance(v, bytes) else textwrap.dedent(v).encode() for k, v in members.items()}
    return Accelerators(tuple(data), DIST_INFO, "pkg-1.0.data", data.__getitem__).check(compiled)


GUARDED = {
    "yarl style": """
        import os
        if os.environ.get("PKG_NO_EXTENSIONS"):
            from ._py import f
        else:
            try:
                from ._c import f
            except ImportError:  # pragma: no cover
                from ._py import f
    """,
    "absolute, tuple of exceptions": """
        try:
            from pkg._c import f
        except (AttributeError, ImportError):
            from pkg._py import f
    """,
    "module not found, import as": """
        try:
            import pkg._c as c
        except ModuleNotFoundError:
            import pkg._py as c
    """,
    "bare except": "try:\n    from . import _c\nexcept:\n    from . import _py as _c\n",
    "builtins.ImportError": """
        import builtins
        try:
            from ._c import f
        except builtins.ImportError:
            f = None
    """,
    "bound before the try": """
        from ._py import f
        try:
            from ._c import f
        except ImportError:
            pass
    """,
    "inner try that does not catch it": """
        try:
            try:
                from ._c import f
            except ValueError:
                raise
        except Exception:
            from ._py import f
    """,
    "inside a function, with its own try": """
        def load():
            try:
                from ._c import f
            except ImportError:
                from ._py import f
            return f
    """,
    "star import": "try:\n    from ._c import *\nexcept ImportError:\n    from ._py import *\n",
    "frozenlist style: the C name used only in else": """
        from ._py import f
        try:
            from ._c import f as c_f
        except ImportError:
            pass
        else:
            f = c_f
    """,
    "propcache style: C aliases used only in the try": """
        try:
            from ._c import f as f_c
            f = f_c
        except ImportError:
            from ._py import f as f_py
            f = f_py
    """,
    "aiohttp style: defined before, replaced in the try": """
        def f(): pass
        f_py = f
        try:
            from ._c import f
            f_c = f
        except ImportError:  # pragma: no cover
            pass
    """,
    "string import": """
        import importlib
        try:
            c = importlib.import_module("pkg._c")
        except ImportError:
            c = importlib.import_module("pkg._py")
    """,
    "docstring and comment mention it": '''
        """Uses _c when it can."""
        # import pkg._c
        try:
            from ._c import f
        except ImportError:
            from ._py import f
    ''',
}


@pytest.mark.parametrize("source", list(GUARDED.values()), ids=list(GUARDED))
def test_every_guarded_import_is_optional(source: str) -> None:
    found = check({"pkg/_load.py": source})
    assert found.optional, found.why_not
    assert len(found.guards) == 1 and found.guards[0].startswith("pkg/_load.py:")


def test_the_reason_names_every_guarding_file_and_line() -> None:
    guarded = "try:\n    from ._c import f\nexcept ImportError:\n    from ._py import f\n"
    found = check({"pkg/a.py": guarded, "pkg/b.py": "import os\n" + guarded})
    assert found == Accelerator(True, ("pkg/a.py:2", "pkg/b.py:3"))
    assert found.reason == "optional accelerator: every import of it (pkg/a.py:2, pkg/b.py:3) falls back to pure Python"


UNGUARDED = {
    "plain relative import": ("from ._c import f\n", "pkg/_load.py:1 imports it without a pure-Python fallback"),
    "from the package, elsewhere": ("from pkg import _c\n", "pkg/_load.py:1 imports it without a pure-Python fallback"),
    "dotted import": ("import pkg._c.sub\n", "pkg/_load.py:1 imports it without a pure-Python fallback"),
    "handler that re-raises": (
        "try:\n    from ._c import f\nexcept ImportError:\n    if STRICT:\n        raise\n    from ._py import f\n",
        "pkg/_load.py:2 imports it without a pure-Python fallback",
    ),
    "handler that binds nothing": (
        "try:\n    from ._c import f\nexcept ImportError:\n    pass\n",
        "pkg/_load.py:2 imports it without a pure-Python fallback",
    ),
    "handler that binds something else": (
        "try:\n    from ._c import f\n    HAVE = True\nexcept ImportError:\n    HAVE = False\n",
        "pkg/_load.py:2 imports it without a pure-Python fallback",
    ),
    "a C alias that is used after the try": (
        "try:\n    from ._c import f as f_c\nexcept ImportError:\n    pass\nuse(f_c)\n",
        "pkg/_load.py:2 imports it without a pure-Python fallback",
    ),
    "a name the try binds that another file uses": (
        "try:\n    from ._c import f\n    HAVE_C = True\nexcept ImportError:\n    from ._py import f\n",
        "pkg/_load.py:2 imports it without a pure-Python fallback",
    ),
    "the wrong exception": (
        "try:\n    from ._c import f\nexcept AttributeError:\n    from ._py import f\n",
        "pkg/_load.py:2 imports it without a pure-Python fallback",
    ),
    "the first matching handler raises": (
        "try:\n    from ._c import f\nexcept Exception:\n    raise\nexcept ImportError:\n    from ._py import f\n",
        "pkg/_load.py:2 imports it without a pure-Python fallback",
    ),
    "in the else branch of the try": (
        "try:\n    import os\nexcept ImportError:\n    pass\nelse:\n    from ._c import f\n",
        "pkg/_load.py:6 imports it without a pure-Python fallback",
    ),
    "in a function defined inside the try": (
        "try:\n    def load():\n        from ._c import f\n        return f\n"
        "except ImportError:\n    load = f = None\n",
        "pkg/_load.py:3 imports it without a pure-Python fallback",
    ),
    "in a lambda defined inside the try": (
        'try:\n    load = lambda: __import__("pkg._c")\nexcept ImportError:\n    load = None\n',
        "pkg/_load.py:2 imports it without a pure-Python fallback",
    ),
    "star import without a star fallback": (
        "try:\n    from ._c import *\nexcept ImportError:\n    from ._py import f\n",
        "pkg/_load.py:2 imports it without a pure-Python fallback",
    ),
    "string import": ('import importlib\nc = importlib.import_module("._c", "pkg")\n', "pkg/_load.py:2 imports"),
    "listed in __all__": ('__all__ = ["f", "_c"]\n', "pkg/_load.py:1 imports"),
    "sys.modules lookup": ('import sys\nif "pkg._c" in sys.modules:\n    pass\n', "pkg/_load.py:2 imports"),
    "a syntax error": ("from ._c import f\ndef (:\n", "pkg/_load.py mentions it and cannot be parsed (SyntaxError)"),
}


@pytest.mark.parametrize(("source", "why"), list(UNGUARDED.values()), ids=list(UNGUARDED))
def test_any_unguarded_reference_makes_it_not_optional(source: str, why: str) -> None:
    guarded = "try:\n    from ._c import f\nexcept ImportError:\n    from ._py import f\n"
    found = check({"pkg/_quoting.py": guarded, "pkg/_load.py": source, "pkg/use.py": "from ._load import HAVE_C\n"})
    assert not found.optional and found.guards == ()
    assert found.why_not.startswith(why)


def test_package_init_star_import_of_it_is_unguarded() -> None:
    found = check({"pkg/__init__.py": "from ._c import *\n"})
    assert found.why_not == "pkg/__init__.py:1 imports it without a pure-Python fallback"
    # relative imports resolve against the package: in pkg/__init__.py "." is pkg itself
    found = check({"pkg/__init__.py": "from . import _c\n"})
    assert found.why_not == "pkg/__init__.py:1 imports it without a pure-Python fallback"


def test_other_files_that_name_it() -> None:
    guarded = {"pkg/_quoting.py": "try:\n    from ._c import f\nexcept ImportError:\n    from ._py import f\n"}
    # another compiled module naming it may import it from C
    other = "pkg/_d.cpython-311-x86_64-linux-gnu.so"
    found = check({**guarded, other: b"\x7fELF\x00pkg._c\x00"})
    assert found.why_not == f"the compiled module {other} names it"
    # in the same directory it may import it by its last name (a relative import); elsewhere,
    # or inside a longer string, the last name alone is another name
    assert check({**guarded, other: b"\x7fELF\x00_c\x00"}).why_not == f"the compiled module {other} names it"
    assert check({**guarded, "sub/_d.so": b"\x7fELF\x00_c\x00", other: b"\x7fELF _c is\x00"}).optional
    # entry points and .pth files are acted on by the import system or the installer
    found = check({**guarded, f"{DIST_INFO}/entry_points.txt": "[x]\ny = pkg._c:main\n"})
    assert found.why_not == f"{DIST_INFO}/entry_points.txt names pkg._c"
    found = check({**guarded, "pkg-hook.pth": "import pkg._c\n"})
    assert found.why_not == "pkg-hook.pth names pkg._c"
    # prose (METADATA mentions it in every case here), stubs and Cython sources import nothing
    assert check({**guarded, "pkg/_c.pyi": "def f(): ...\n", "pkg/_c.pyx": "import pkg._c\n"}).optional
    # a Python script in .data/scripts is run: it counts
    found = check({**guarded, "pkg-1.0.data/scripts/tool": "#!python\nimport pkg._c\n"})
    assert found.why_not == "pkg-1.0.data/scripts/tool:2 imports it without a pure-Python fallback"


def test_a_module_nothing_imports_is_not_optional() -> None:
    assert check({}) == Accelerator(False, why_not="no Python file of the wheel imports it")


def test_names_are_matched_as_whole_words_and_modules() -> None:
    # pkg._cx, pkg.sub._c and other._c are other modules
    source = "import pkg._cx\nfrom pkg.sub import _c\nfrom other import _c\nx = '_cx'\n"
    guarded = "try:\n    from ._c import f\nexcept ImportError:\n    from ._py import f\n"
    assert check({"pkg/_load.py": source, "pkg/_quoting.py": guarded}).optional


def test_a_compiled_module_in_purelib_of_the_data_dir() -> None:
    so = "pkg-1.0.data/platlib/pkg/_c.cpython-311-x86_64-linux-gnu.so"
    guarded = "try:\n    from ._c import f\nexcept ImportError:\n    from ._py import f\n"
    found = check({so: b"\x7fELF", "pkg-1.0.data/platlib/pkg/_q.py": guarded}, compiled=so)
    assert found.guards == ("pkg-1.0.data/platlib/pkg/_q.py:2",)
