"""Before/after tests for every rewrite rule, and execution tests of what the rewritten code binds."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mvpy_vendor.errors import Code
from mvpy_vendor.rewrite.names import NameMap
from mvpy_vendor.rewrite.runtime import distribution_call, mapping_call, unmapping_call
from mvpy_vendor.rewrite.source import rewrite_source

NAMES = NameMap({"foo": "_mv_foo_1_0_0"}, {"foo": "mv-foo-1-0-0"})


def M(value: str, names: NameMap | None = None, quote: str = "'") -> str:
    """The mapping call the rewriter puts around ``value``, a module name known only at run time
    (what it does is tested on its own: test_the_mapping_calls_map_plain_names_of_their_world)."""
    return mapping_call(names or NAMES, value, quote)


def U(value: str, quote: str = "'") -> str:
    """The call that puts a module name as Python knows it back to the name as written."""
    return unmapping_call(NAMES, value, quote)


def rw(source: str, names: NameMap = NAMES) -> str:
    return rewrite_source(textwrap.dedent(source).encode(), names).data.decode()


CASES = [
    # import statements
    ("import foo\n", "import _mv_foo_1_0_0 as foo\n"),
    ("import foo as f\n", "import _mv_foo_1_0_0 as f\n"),
    ("import foo.bar\n", 'foo = __import__("_mv_foo_1_0_0.bar")\n'),
    ("import foo.bar as fb\n", "import _mv_foo_1_0_0.bar as fb\n"),
    ("from foo import x\n", "from _mv_foo_1_0_0 import x\n"),
    ("from foo.bar import x as y\n", "from _mv_foo_1_0_0.bar import x as y\n"),
    ("from foo import *\n", "from _mv_foo_1_0_0 import *\n"),
    ("from foo import (a,\n    b)  # keep\n", "from _mv_foo_1_0_0 import (a,\n    b)  # keep\n"),
    ("import os, foo, sys\n", "import os, _mv_foo_1_0_0 as foo, sys\n"),
    (
        "import os, foo.bar, foo.baz as z, sys  # note\n",
        'import os; foo = __import__("_mv_foo_1_0_0.bar"); import _mv_foo_1_0_0.baz as z, sys  # note\n',
    ),
    ("def f():\n    import foo.sub\n", 'def f():\n    foo = __import__("_mv_foo_1_0_0.sub")\n'),
    (
        "try:\n    import foo\nexcept ImportError:\n    foo = None\n",
        "try:\n    import _mv_foo_1_0_0 as foo\nexcept ImportError:\n    foo = None\n",
    ),
    ("try: import foo\nexcept ImportError: pass\n", "try: import _mv_foo_1_0_0 as foo\nexcept ImportError: pass\n"),
    (
        "if TYPE_CHECKING:\n    from foo.types import T\n",
        "if TYPE_CHECKING:\n    from _mv_foo_1_0_0.types import T\n",
    ),
    # left alone
    ("from . import foo\nfrom .foo import x\nfrom ..foo.bar import y\n", None),
    ("import foobar\nimport food.foo\nfrom foo_extra import x\n", None),
    ('"""foo docs: import foo"""\n# import foo\nx = "foo bar"\ny = "a.foo"\nz = "foo.."\n', None),
    # string references in calls
    (
        'import importlib\nimportlib.import_module("foo.x")\n',
        'import importlib\nimportlib.import_module("_mv_foo_1_0_0.x")\n',
    ),
    (
        "from importlib import import_module as im\nim('foo')\n",
        "from importlib import import_module as im\nim('_mv_foo_1_0_0')\n",
    ),
    ('__import__("foo.bar", fromlist=["x"])\n', '__import__("_mv_foo_1_0_0.bar", fromlist=["x"])\n'),
    (
        'import importlib.util\nimportlib.util.find_spec("foo")\n',
        'import importlib.util\nimportlib.util.find_spec("_mv_foo_1_0_0")\n',
    ),
    (
        'import pkgutil\npkgutil.resolve_name("foo.bar:obj")\npkgutil.resolve_name("foo:obj")\n',
        'import pkgutil\npkgutil.resolve_name("_mv_foo_1_0_0.bar:obj")\npkgutil.resolve_name("_mv_foo_1_0_0:obj")\n',
    ),
    (
        "from numpy.lib import add_newdoc\nadd_newdoc('foo.core', 'T', 'doc')\n"
        "add_newdoc(place='foo', obj='f', doc='')\n",
        "from numpy.lib import add_newdoc\nadd_newdoc('_mv_foo_1_0_0.core', 'T', 'doc')\n"
        "add_newdoc(place='_mv_foo_1_0_0', obj='f', doc='')\n",
    ),
    (
        'import numpy as np\nnp.add_newdoc("foo", "x", "y")\n',
        'import numpy as np\nnp.add_newdoc("_mv_foo_1_0_0", "x", "y")\n',
    ),
    (
        'from importlib.resources import files\nfiles("foo.data")\n',
        'from importlib.resources import files\nfiles("_mv_foo_1_0_0.data")\n',
    ),
    (
        'import importlib.resources as r\nr.files(anchor="foo")\n',
        'import importlib.resources as r\nr.files(anchor="_mv_foo_1_0_0")\n',
    ),
    (
        'import pkgutil\npkgutil.get_data("foo", "a.txt")\n',
        'import pkgutil\npkgutil.get_data("_mv_foo_1_0_0", "a.txt")\n',
    ),
    (
        'import pkg_resources\npkg_resources.resource_filename("foo", "a.txt")\n',
        'import pkg_resources\npkg_resources.resource_filename("_mv_foo_1_0_0", "a.txt")\n',
    ),
    (
        'from unittest import mock\n@mock.patch("foo.bar.baz")\ndef t(m): pass\n',
        'from unittest import mock\n@mock.patch("_mv_foo_1_0_0.bar.baz")\ndef t(m): pass\n',
    ),
    (
        'from unittest.mock import patch\nwith patch(target="foo.x"): pass\n',
        'from unittest.mock import patch\nwith patch(target="_mv_foo_1_0_0.x"): pass\n',
    ),
    ('import sys\nsys.modules["foo.bar"]\n', 'import sys\nsys.modules["_mv_foo_1_0_0.bar"]\n'),
    ('import sys\nsys.modules.get("foo")\n', 'import sys\nsys.modules.get("_mv_foo_1_0_0")\n'),
    ('import sys\ndel sys.modules["foo"]\n', 'import sys\ndel sys.modules["_mv_foo_1_0_0"]\n'),
    (
        'import sys\nif "foo" in sys.modules and "foo.x" not in sys.modules: pass\n',
        'import sys\nif "_mv_foo_1_0_0" in sys.modules and "_mv_foo_1_0_0.x" not in sys.modules: pass\n',
    ),
    ('from sys import modules\nmodules["foo"]\n', 'from sys import modules\nmodules["_mv_foo_1_0_0"]\n'),
    (
        'import importlib\nimportlib.import_module(f"foo.{name}")\n',
        'import importlib\nimportlib.import_module(f"_mv_foo_1_0_0.{name}")\n',
    ),
    (
        'import importlib\nimportlib.import_module("foo." + name)\n',
        'import importlib\nimportlib.import_module("_mv_foo_1_0_0." + name)\n',
    ),
    (
        'import importlib\nimportlib.import_module("foo" ".x")\n',
        'import importlib\nimportlib.import_module("_mv_foo_1_0_0" ".x")\n',
    ),
    (
        "import importlib\nimportlib.import_module(r'foo.x')\n",
        "import importlib\nimportlib.import_module(r'_mv_foo_1_0_0.x')\n",
    ),
    # metadata lookups of a renamed distribution
    (
        'from importlib.metadata import version\n__version__ = version("foo")\n',
        'from importlib.metadata import version\n__version__ = version("mv-foo-1-0-0")\n',
    ),
    (
        'import importlib.metadata\nimportlib.metadata.distribution("Foo")\nimportlib.metadata.metadata("foo")\n',
        'import importlib.metadata\nimportlib.metadata.distribution("mv-foo-1-0-0")\n'
        'importlib.metadata.metadata("mv-foo-1-0-0")\n',
    ),
    (
        'import pkg_resources\npkg_resources.get_distribution("foo").version\n',
        'import pkg_resources\npkg_resources.get_distribution("mv-foo-1-0-0").version\n',
    ),
    # a literal assigned to __module__ (yarl's public classes are given "yarl")
    (
        'def public(obj):\n    obj.__module__ = "foo"\n    return obj\n',
        'def public(obj):\n    obj.__module__ = "_mv_foo_1_0_0"\n    return obj\n',
    ),
    (
        'class C:\n    __module__: str = "foo.sub"\nf.__module__ = g.__module__ = "foo"\n',
        'class C:\n    __module__: str = "_mv_foo_1_0_0.sub"\nf.__module__ = g.__module__ = "_mv_foo_1_0_0"\n',
    ),
    # a value known only at run time is mapped where it is used as a module name
    ("obj.__module__ = __name__\nobj.__module__ = other.__module__\n", None),
    ('obj.__module__ = f"foo{x}"\n', "obj.__module__ = " + M('f"foo{x}"') + "\n"),
    # by use, never by value: "foobar" is no module of foo, __doc__ is no module name
    (
        'obj.__module__ = "foobar"\nobj.__doc__ = "foo"\nx = obj.__module__ == "foo"\n',
        'obj.__module__ = "foobar"\nobj.__doc__ = "foo"\nx = obj.__module__ == "_mv_foo_1_0_0"\n',
    ),
    ('from importlib.metadata import version\nversion("other")\n', None),
    # not a metadata lookup: a call of the file's own function with data
    ('def version(x): pass\nversion("foo")\n', None),
    # a literal head that holds the whole first component
    (
        '__import__("foo.dialects.%s" % (name,)).dialects\nimportlib.import_module("foo.{}.x".format(n))\n',
        '__import__("_mv_foo_1_0_0.dialects.%s" % (name,)).dialects\n'
        'importlib.import_module("_mv_foo_1_0_0.{}.x".format(n))\n',
    ),
    # data: a string is never rewritten for its value
    ('x = "foo.bar"\nname.startswith("foo.")\n', None),
    ("x = 'foo'\ny = r'foo.a.b'\nz = u\"foo\"\n", None),
    ('x = """foo.sub"""\n', None),
    ('d = {"foo": 1, "k": "foo.x"}\n__all__ = ["foo"]\nx = f"{\'foo\'}"\n', None),
    ("log = logging.getLogger(__name__)\n", None),
    # ... until it reaches a use: SQLAlchemy's preload_module, numpy's add_newdoc and set_module
    # and VendorImporter pass data to the place that imports, which maps it
    (
        'util.preload_module("foo.sql.util")\npreloaded.import_prefix("foo.sql")\n'
        "add_newdoc('foo.core', 'thing', 'doc')\n@set_module('foo')\ndef f(): pass\n"
        "class A(module='foo'): pass\nVendorImporter(__name__, names, 'foo._vendor').install()\n",
        None,
    ),
    (
        "for name in ('foo', 'other', ['foo.x']):\n    __import__(name)\n",
        f"for name in ('foo', 'other', ['foo.x']):\n    __import__({M('name')})\n",
    ),
    ('if __name__ == "foo.m": pass\n', 'if __name__ == "_mv_foo_1_0_0.m": pass\n'),
    # a logger's name is a module path: the copy's loggers stay one tree, apart from the other version's
    (
        'a = logging.getLogger("foo.x")\nb = getLogger(name)\n',
        f'a = logging.getLogger("_mv_foo_1_0_0.x")\nb = getLogger({M("name")})\n',
    ),
    # comparisons with a module's name: a literal relocated; a value mapped where the name is surely one
    (
        'if type(x).__module__.startswith(("foo.", "bar")): pass\nif x.__module__ in ("foo", "a"): pass\n'
        'if x.__module__ == name: pass\nif x.__name__ == name: pass\nif m.split(".")[0] != "foo": pass\n',
        'if type(x).__module__.startswith(("_mv_foo_1_0_0.", "bar")): pass\n'
        'if x.__module__ in ("_mv_foo_1_0_0", "a"): pass\n'
        f'if x.__module__ == {M("name")}: pass\nif x.__name__ == name: pass\nif m.split(".")[0] != "foo": pass\n',
    ),
    # names that set a module: a module= keyword, setattr, a namespace's "__module__" key
    (
        'N = namedtuple("N", "a", module="foo.n")\nsetattr(f, "__module__", m)\n'
        'T = type("T", (), {"__module__": "foo.t"})\n'
        'ns["__module__"] = "foo.x"\nwarnings.filterwarnings("ignore", message="foo", module="foo")\n',
        'N = namedtuple("N", "a", module="_mv_foo_1_0_0.n")\n'
        f'setattr(f, "__module__", {M("m")})\nT = type("T", (), {{"__module__": "_mv_foo_1_0_0.t"}})\n'
        'ns["__module__"] = "_mv_foo_1_0_0.x"\n'
        'warnings.filterwarnings("ignore", message="foo", module="_mv_foo_1_0_0")\n',
    ),
    # code in strings: exec'd literals, and strings that are only import statements
    (
        'exec("from foo import *", ns)\neval("__import__(\'foo.x\')")\n'
        'OPTS = {"foo": ("from foo.functions import *", "import foo as f", "import os")}\n',
        'exec("from _mv_foo_1_0_0 import *", ns)\neval("__import__(\'_mv_foo_1_0_0.x\')")\n'
        'OPTS = {"foo": ("from _mv_foo_1_0_0.functions import *", "import _mv_foo_1_0_0 as f", "import os")}\n',
    ),
    ('"""import foo"""\nx = "from foo import a; b = 1"\n', None),
    (  # a command line that runs a module in another interpreter
        'subprocess.run([sys.executable, "-m", "foo", "--version"])\ncmd = ("-m", name)\nx = ["-m"]\n'
        'check_call([sys.executable, "-c", "import foo; foo.x"])\n',
        'subprocess.run([sys.executable, "-m", "_mv_foo_1_0_0", "--version"])\ncmd = ("-m", '
        + M("name")
        + ')\nx = ["-m"]\ncheck_call([sys.executable, "-c", "import _mv_foo_1_0_0 as foo; foo.x"])\n',
    ),
    (  # a script of several lines handed to another interpreter (click's tests), bytes too
        'S = b"""\\\nimport os\nimport foo\nfoo.run()\n"""\nD = """see:\nimport foo\n"""\n',
        'S = b\'import os\\nimport _mv_foo_1_0_0 as foo\\nfoo.run()\\n\'\nD = """see:\nimport foo\n"""\n',
    ),
    # an import function taken as a value maps what it is called with
    ("import_ = __import__\n", f"import_ = (lambda f: lambda name, *a, **k: f({M('name')}, *a, **k))(__import__)\n"),
    (  # SQLAlchemy 1.4's compat.import_, called with module names from its registry
        'import builtins\nimport_ = getattr(builtins, "__import__")\n',
        "import builtins\nimport_ = (lambda f: lambda name, *a, **k: f("
        + M("name")
        + ', *a, **k))(getattr(builtins, "__import__"))\n',
    ),
    # ... and what is never a module name: a docstring, bytes, f-strings, annotations and
    # forward references, attribute names, paths that are not whole identifiers
    ('def f():\n    "foo"\n"foo.bar"\n', None),
    ('x = b"foo"\ny = f"foo"\nz = f"foo.{x}"\nw = "foo" ".x"\n', None),
    ('def f(a: "foo.T") -> "foo.U": pass\nv: "foo.T" = 1\nw: list["foo"] = []\n', None),
    ('x = cast("foo.T", y)\nT = TypeVar("T", bound="foo.Base")\nr = typing.ForwardRef("foo")\n', None),
    ('getattr(m, "foo")\nhasattr(m, "foo")\nsetattr(m, "foo", 1)\n', None),
    ('x = "foo-bar"\ny = "foo:main"\nz = "foo/x"\nw = "foo.x y"\nv = "foo.1"\n', None),
    # pytest's monkeypatch names modules in strings like mock.patch
    (
        'def test(monkeypatch):\n    monkeypatch.setattr("foo.mod.attr", 1)\n    monkeypatch.delattr("foo.x")\n',
        'def test(monkeypatch):\n    monkeypatch.setattr("_mv_foo_1_0_0.mod.attr", 1)\n'
        '    monkeypatch.delattr("_mv_foo_1_0_0.x")\n',
    ),
    (
        'import sys\ndef test(monkeypatch):\n    monkeypatch.setitem(sys.modules, "foo", None)\n'
        '    monkeypatch.delitem(sys.modules, name="foo.x")\n    monkeypatch.setattr(obj, "foo", 1)\n'
        '    monkeypatch.setitem(d, "foo", 1)\n',
        'import sys\ndef test(monkeypatch):\n    monkeypatch.setitem(sys.modules, "_mv_foo_1_0_0", None)\n'
        '    monkeypatch.delitem(sys.modules, name="_mv_foo_1_0_0.x")\n    monkeypatch.setattr(obj, "foo", 1)\n'
        '    monkeypatch.setitem(d, "foo", 1)\n',
    ),
    (
        'def test(monkeypatch):\n    monkeypatch.setattr(f"foo.{m}.attr", 1)\n',
        'def test(monkeypatch):\n    monkeypatch.setattr(f"_mv_foo_1_0_0.{m}.attr", 1)\n',
    ),
    # requests' packages.py: the names stay data; the import maps them, a key of sys.modules is a
    # module's name (compared with mapped values), and after a dot in a new key it is put back
    # to the name as written, as the original has it there
    (
        "import sys\n"
        'for package in ("foo", "idna"):\n'
        "    locals()[package] = __import__(package)\n"
        "    for mod in list(sys.modules):\n"
        '        if mod == package or mod.startswith(f"{package}."):\n'
        '            sys.modules[f"pkg.packages.{mod}"] = sys.modules[mod]\n',
        "import sys\n"
        'for package in ("foo", "idna"):\n'
        f"    locals()[package] = __import__({M('package')})\n"
        "    for mod in list(sys.modules):\n"
        f"        if mod == {M('package')} or mod.startswith(" + M('f"{package}."') + "):\n"
        f'            sys.modules[f"pkg.packages.{{{U("mod")}}}"] = sys.modules[mod]\n',
    ),
    (
        'for name in ["foo.sub", "json"]:\n'
        "    setattr(ns, name, importlib.import_module(name))\n"
        "    globals()[name] = getattr(ns, name=name)\n"
        '    sys.modules.setdefault("pkg.compat." + name, sys.modules[name])\n',
        'for name in ["foo.sub", "json"]:\n'
        f"    setattr(ns, name, importlib.import_module({M('name')}))\n"
        "    globals()[name] = getattr(ns, name=name)\n"
        f'    sys.modules.setdefault("pkg.compat." + name, sys.modules[{M("name")}])\n',
    ),
    # the new code's quotes differ from every f-string's around it; none left: unchanged (reported)
    ("x = f'''{f\"{importlib.import_module(m)}\"}'''\n", None),
    ("x = f'{importlib.import_module(m)}'\n", f"x = f'{{importlib.import_module({M('m', quote=chr(34))})}}'\n"),
]


@pytest.mark.parametrize(("before", "after"), CASES, ids=[c[0].splitlines()[-1][:40] for c in CASES])
def test_before_after(before: str, after: str | None) -> None:
    assert rw(before) == (before if after is None else after)


def test_dynamic_targets_are_mapped_at_run_time_with_their_line() -> None:
    source = b"import importlib\nimport foo\nimportlib.import_module(name)\nimportlib.import_module(f'{x}.y')\n"
    result = rewrite_source(source, NAMES)
    assert result.diagnostics == ()
    assert [(r.line, r.kind, r.old) for r in result.strings] == [(3, "mapped", "name"), (4, "mapped", "f'{x}.y'")]
    assert f"importlib.import_module({M('name')})".encode() in result.data


def test_the_mapping_calls_map_plain_names_of_their_world() -> None:
    """What the inline calls do, whatever the value: only a plain name of this world moves."""
    names = NameMap(
        {"foo": "_mv_foo_1_0_0", "google": "_mv_google_x"},
        {"foo": "mv-foo-1-0-0"},
        modules={"google": ("google.", "google.api.", "google.api.http_pb2")},
    )
    cases = {
        "foo": "_mv_foo_1_0_0",
        "foo.sub.x": "_mv_foo_1_0_0.sub.x",
        "foo.": "_mv_foo_1_0_0.",
        "foobar": "foobar",
        "bar.foo": "bar.foo",
        "_mv_foo_1_0_0.x": "_mv_foo_1_0_0.x",
        "": "",
        "google": "_mv_google_x",
        "google.api.http_pb2.Http": "_mv_google_x.api.http_pb2.Http",
        "google.protobuf": "google.protobuf",
        None: None,
        3: 3,
    }
    for quote in ("'", '"'):
        for value, expected in cases.items():
            assert eval(mapping_call(names, repr(value), quote), {"str": None, "len": None}) == expected, value
        assert eval(unmapping_call(names, repr("_mv_foo_1_0_0.sub"), quote)) == "foo.sub"
        assert eval(unmapping_call(names, repr("json.x"), quote)) == "json.x"
        assert eval(distribution_call(names, repr("Foo_"), quote)) == "Foo_"
        assert eval(distribution_call(names, repr("FOO"), quote)) == "mv-foo-1-0-0"


def test_self_references_are_not_reported() -> None:
    source = b"import importlib, sys\nimport foo\nimportlib.import_module(__name__ + '.x')\nsys.modules[__name__]\n"
    assert rewrite_source(source, NAMES).diagnostics == ()


def test_a_prefix_of_a_renamed_name_is_mapped_at_run_time() -> None:
    result = rewrite_source(b"import importlib\nimportlib.import_module('fo' + x)  # foo\n", NAMES)
    assert result.diagnostics == ()
    assert [(r.kind, r.old) for r in result.strings] == [("mapped", "'fo' + x")]


@pytest.mark.parametrize(
    "raw",
    [
        "# -*- coding: utf-8 -*-\r\nimport foo\r\nx = 'é'\r\n".encode(),
        "\ufeffimport foo  # bom\n".encode(),
        "# -*- coding: latin-1 -*-\nimport foo\ns = 'é'\n".encode("latin-1"),
        b"import foo\n\n\n# trailing comment without newline",
        b"if True:\n\timport foo\n",
    ],
    ids=["crlf", "bom", "latin1", "no-final-newline", "tabs"],
)
def test_everything_else_is_preserved_byte_for_byte(raw: bytes) -> None:
    result = rewrite_source(raw, NAMES)
    assert result.status == "rewritten"
    assert result.data == raw.replace(b"import foo", b"import _mv_foo_1_0_0 as foo")


def test_files_that_do_not_mention_a_renamed_name_are_not_parsed() -> None:
    broken = b"print 'python 2'\n"
    result = rewrite_source(broken, NAMES)
    assert result.status == "unchanged" and result.data is broken


def test_unchanged_rewrite_returns_the_original_bytes() -> None:
    source = b"# mentions foo in a comment only\nx = 1\n"
    result = rewrite_source(source, NAMES)
    assert result.status == "unchanged" and result.data is source


def test_unparsable_file_mentioning_a_name_is_an_error_with_its_line() -> None:
    # The whole-file reference parses every statement (the fast path only those it changes).
    result = rewrite_source(b"import foo\nprint 'x'\n", NAMES, whole_file=True)
    assert result.status == "unparsable"
    assert result.error_line == 2
    assert result.data == b"import foo\nprint 'x'\n"


def test_long_expression_chain_is_rewritten() -> None:
    # 1500 terms overflow libcst at Python's default recursion limit (1000) on the main thread;
    # CPython compiles it, so real wheels can hold such files (sympy does).
    source = b"import foo\nx = " + b" + ".join([b"a"] * 1500) + b"\n"
    compile(source, "chain.py", "exec")
    result = rewrite_source(source, NAMES)
    assert result.status == "rewritten"
    assert result.data == source.replace(b"import foo", b"import _mv_foo_1_0_0 as foo")


# ---- execution: the rewritten module binds the same names, to the renamed modules -------------

PACKAGE = {
    "__init__.py": "VALUE = 'v'\n__all__ = ['VALUE', 'helper']\ndef helper(): return 'h'\n",
    "bar.py": "x = 1\n",
    "baz/__init__.py": "",
    "baz/deep.py": "y = 2\n",
    "data.txt": "payload\n",
}

CONSUMER = """\
import importlib
import importlib.util
import sys
import foo
import foo as f
import foo.bar
import foo.baz.deep as deep
from foo import helper
from foo.bar import x as renamed_x
from foo import *
import os, foo.baz, json
from importlib.resources import files
try:
    import foo.missing_module
except ImportError:
    missing = True
def lazy():
    import foo.bar
    return foo.bar
lazy_bar = lazy()
dynamic = importlib.import_module("foo.baz.deep")
spec_name = importlib.util.find_spec("foo.bar").name
data = files("foo").joinpath("data.txt").read_text()
registered = "foo.bar" in sys.modules and sys.modules["foo.bar"] is foo.bar
"""

PROBE = """\
import json, sys, types
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import consumer
def describe(v):
    if isinstance(v, types.ModuleType):
        return ["module", v.__name__.replace(sys.argv[3], "foo")]
    if callable(v):
        return ["callable", v.__module__.replace(sys.argv[3], "foo"), v.__qualname__]
    return ["value", repr(v).replace(sys.argv[3], "foo")]
names = {k: describe(v) for k, v in vars(consumer).items() if not k.startswith("__")}
json.dump({"names": names, "unrenamed_loaded": sorted(m for m in sys.modules if m.split(".")[0] == "foo")}, sys.stdout)
"""


def _write_tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _run_probe(tmp: Path, packages: Path, code_dir: Path, new_name: str) -> dict[str, object]:
    probe = tmp / "probe.py"
    probe.write_text(PROBE, encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-I", str(probe), str(code_dir), str(packages), new_name],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)  # type: ignore[no-any-return]


def test_rewritten_module_binds_the_same_names_to_renamed_modules(tmp_path: Path) -> None:
    original = tmp_path / "original"
    _write_tree(original / "foo", PACKAGE)
    _write_tree(original / "code", {"consumer.py": CONSUMER})
    renamed = tmp_path / "renamed"
    _write_tree(renamed / "_mv_foo_1_0_0", PACKAGE)
    # A poisoned unrenamed ``foo`` on the path: importing it would be a leak.
    _write_tree(renamed / "foo", {"__init__.py": "raise ImportError('unrenamed foo imported')\n"})
    new_source = rw(CONSUMER)
    _write_tree(renamed / "code", {"consumer.py": new_source})

    before = _run_probe(tmp_path, original, original / "code", "_never_")
    after = _run_probe(tmp_path, renamed, renamed / "code", "_mv_foo_1_0_0")

    assert after["unrenamed_loaded"] == []
    assert before["names"] == after["names"]
    names = after["names"]
    assert isinstance(names, dict)
    assert names["foo"] == ["module", "foo"] and names["deep"] == ["module", "foo.baz.deep"]
    assert names["registered"] == ["value", "True"] and names["data"] == ["value", "'payload\\n'"]
    assert "_mv_foo_1_0_0" not in names


# A package that names its own modules in strings (as SQLAlchemy 1.4, setuptools and numpy do).
STRING_PACKAGE = {
    "__init__.py": "REGISTRY = set()\ndef preload(*names):\n    REGISTRY.update(names)\n    return lambda fn: fn\n",
    "sub/__init__.py": "",
    "sub/a.py": "A = 'a'\n",
    "sub/b.py": "B = 'b'\n",
    "core.py": (
        "import sys\n"
        "from foo import preload, REGISTRY\n"
        "@preload('foo.sub.a', 'foo.sub.b')\n"
        "def f(): pass\n"
        "PREFIX = 'foo.'\n"
        "loaded = {}\n"
        "for name in sorted(REGISTRY):\n"
        "    __import__(name, globals(), locals())\n"
        "    loaded[name.split(PREFIX)[-1].replace('.', '_')] = sys.modules[name]\n"
        "def set_module(module):\n"
        "    def deco(fn):\n"
        "        fn.__module__ = module\n"
        "        return fn\n"
        "    return deco\n"
        "@set_module('foo')\n"
        "def public(): pass\n"
        "mods = [__import__(m, fromlist=['x']).__name__ for m in ('foo.sub.a', 'foo.sub.b')]\n"
        "in_package = __name__.startswith('foo.')\n"
        "doc = 'foo'.upper()\n"
    ),
}
STRING_CONSUMER = """\
import foo.core
from foo.core import public, mods, in_package, doc
from foo.core import loaded as __loaded
keys = sorted(__loaded)
sub_a = __loaded["sub_a"]
"""


def test_relocated_strings_let_a_renamed_copy_load_its_own_modules(tmp_path: Path) -> None:
    original = tmp_path / "original"
    _write_tree(original / "foo", STRING_PACKAGE)
    _write_tree(original / "code", {"consumer.py": STRING_CONSUMER})
    renamed = tmp_path / "renamed"
    _write_tree(renamed / "_mv_foo_1_0_0", {k: rw(v) for k, v in STRING_PACKAGE.items()})
    _write_tree(renamed / "foo", {"__init__.py": "raise ImportError('unrenamed foo imported')\n"})
    _write_tree(renamed / "code", {"consumer.py": rw(STRING_CONSUMER)})

    before = _run_probe(tmp_path, original, original / "code", "_never_")
    after = _run_probe(tmp_path, renamed, renamed / "code", "_mv_foo_1_0_0")
    assert after["unrenamed_loaded"] == []
    names, was = after["names"], before["names"]
    assert isinstance(names, dict) and isinstance(was, dict)
    # Data stays data: text equal to the module's name is not touched.
    assert names["doc"] == ["value", "'FOO'"]
    assert was == names
    assert names["mods"] == ["value", "['foo.sub.a', 'foo.sub.b']"]
    assert names["keys"] == ["value", "['sub_a', 'sub_b']"] and names["sub_a"] == ["module", "foo.sub.a"]
    assert names["public"] == ["callable", "foo", "public"] and names["in_package"] == ["value", "True"]


def test_keep_strings_leaves_them_and_the_copy_reaches_for_the_original(tmp_path: Path) -> None:
    kept = NameMap(NAMES.imports, NAMES.dists, strings=False)
    source = STRING_PACKAGE["core.py"]
    assert rw(source, kept) == source.replace("from foo import", "from _mv_foo_1_0_0 import")
    result = rewrite_source(source.encode(), NAMES)
    # Every value reaches a use where it is mapped: the import, the sys.modules key, __module__,
    # and __name__.startswith's literal (__name__ is renamed).
    assert [(r.line, r.kind, r.old) for r in result.strings] == [
        (8, "mapped", "name"),
        (9, "mapped", "name"),
        (12, "mapped", "module"),
        (17, "mapped", "m"),
        (18, "string", "foo."),
    ]
    assert result.changes == len(result.strings) + 1  # and the import statement


# The exact statements of numpy 1.26 that name numpy in strings.
NUMPY = NameMap({"numpy": "_mv_numpy_1_26_4"})


@pytest.mark.parametrize(
    ("before", "after"),
    [
        # data, passed to the functions below, which use it
        ("add_newdoc('numpy.core', 'ndarray', ('T', 'doc'))\n", None),
        ('add_newdoc(\'numpy.core.multiarray\', \'array\',\n    """array(object)\n\n    docs""")\n', None),
        ("@set_module('numpy')\ndef f(): pass\n", None),
        (
            "array_function_dispatch = functools.partial(\n    overrides.array_function_dispatch, module='numpy')\n",
            None,
        ),
        ("_set_module('numpy.linalg')\n", None),
        (
            "def add_newdoc(place, obj, doc):\n    new = getattr(__import__(place, globals(), {}, [obj]), obj)\n",
            "def add_newdoc(place, obj, doc):\n"
            f"    new = getattr(__import__({M('place', NUMPY)}, globals(), {{}}, [obj]), obj)\n",
        ),
        (
            "def set_module(module):\n    def decorator(func):\n        if module is not None:\n"
            "            func.__module__ = module\n        return func\n    return decorator\n",
            "def set_module(module):\n    def decorator(func):\n        if module is not None:\n"
            f"            func.__module__ = {M('module', NUMPY)}\n        return func\n    return decorator\n",
        ),
    ],
)
def test_numpy_statements(before: str, after: str | None) -> None:
    assert rw(before, NUMPY) == (before if after is None else after)


# A renamed namespace: strings under it are relocated only where they name a module of it.
NS_NAMES = NameMap(
    {"google": "_mv_google_x"},
    modules={
        "google": ("google.", "google.protobuf.", "google.protobuf.json_format", "google.api.", "google.api.http_pb2")
    },
)
NS_CASES = [
    # the __module__ of generated classes, and a path under a module file
    ('d = {"__module__": "google.api.http_pb2"}\n', 'd = {"__module__": "_mv_google_x.api.http_pb2"}\n'),
    (
        'mock.patch("google.protobuf.json_format.MessageToJson")\nif x.__module__ == "google": pass\n',
        'mock.patch("_mv_google_x.protobuf.json_format.MessageToJson")\nif x.__module__ == "_mv_google_x": pass\n',
    ),
    ('if m.__name__.startswith("google.api."): pass\n', 'if m.__name__.startswith("_mv_google_x.api."): pass\n'),
    ('t = "google.protobuf.json_format.MessageToJson"\nn = "google"\n', None),
    # a value known at run time: only a module path of the copy moves
    ("d['__module__'] = module_name\n", "d['__module__'] = " + M("module_name", NS_NAMES) + "\n"),
    # protobuf's message and package names are no modules: kept
    ('full_name = "google.protobuf.FileDescriptorProto.name"\n', None),
    ('D(package="google.protobuf")\n', None),
    ('x = "google.api.Http"\n', None),
    ('y = "google.unknown"\n', None),
    # call rules are not restricted: an import of any path under the namespace is rewritten
    ('importlib.import_module("google.api.other_pb2")\n', 'importlib.import_module("_mv_google_x.api.other_pb2")\n'),
    ("import google.api.http_pb2 as h\n", "import _mv_google_x.api.http_pb2 as h\n"),
]


@pytest.mark.parametrize(("source", "expected"), NS_CASES)
def test_strings_under_a_renamed_namespace(source: str, expected: str | None) -> None:
    assert rw(source, NS_NAMES) == (source if expected is None else expected)
    assert (
        rewrite_source(source.encode(), NS_NAMES).data
        == rewrite_source(source.encode(), NS_NAMES, whole_file=True).data
    )


# ---- loops over module names: requests' ``requests/packages.py``, executed -------------------

# ``pkg`` registers aliases of its dependency ``foo`` (and of ``json``, standing for an
# unrenamed one) under ``pkg.packages``, exactly as requests 2.x does for urllib3 and idna.
PACKAGES_PY = """\
import sys

for package in ("foo", "json"):
    locals()[package] = __import__(package)
    for mod in list(sys.modules):
        if mod == package or mod.startswith(f"{package}."):
            sys.modules[f"pkg.packages.{mod}"] = sys.modules[mod]
"""
PKG = {"__init__.py": "from . import packages\n", "packages.py": PACKAGES_PY}


def _foo(version: str, keyword: str) -> dict[str, str]:
    """``foo`` with ``foo.util.retry.Retry`` taking ``keyword`` (urllib3 1.26: method_whitelist, 2: allowed_methods)."""
    retry = f"class Retry:\n    def __init__(self, {keyword}):\n        self.methods = {keyword}\n"
    return {
        "__init__.py": f"VERSION = {version!r}\nfrom .util import retry\n",
        "util/__init__.py": "",
        "util/retry.py": retry,
    }


LEGACY_CONSUMER = """\
import foo
import pkg.packages.foo
import pkg.packages.foo.util.retry as retry_module
from pkg.packages.foo.util.retry import Retry
try:
    methods = pkg.packages.foo.util.retry.Retry(method_whitelist=["GET"]).methods
except TypeError as exc:
    methods = str(exc)
version = pkg.packages.foo.VERSION
same = pkg.packages.foo is foo and retry_module.Retry is Retry is foo.util.retry.Retry
json_alias = pkg.packages.json is __import__("json")
"""
LOOP_PROBE = """\
import json, sys
sys.path[:0] = [sys.argv[1]]
import foo as main_foo  # the other world's foo, loaded first
import consumer
pkg = sys.argv[2]
print(json.dumps({
    "main": main_foo.VERSION, "version": consumer.version, "methods": consumer.methods, "same": consumer.same,
    "json": consumer.json_alias,
    "aliases": sorted(k.replace(pkg, "pkg") for k in sys.modules if k.startswith(pkg + ".packages.")),
}))
"""
LOOP_NAMES = NameMap({"foo": "_mv_foo_1_0_0", "pkg": "_mv_pkg_1_0_0"})


def _run_loop_probe(tmp: Path, root: Path, pkg: str) -> dict[str, object]:
    probe = tmp / "loop_probe.py"
    probe.write_text(LOOP_PROBE, encoding="utf-8")
    out = subprocess.run([sys.executable, "-I", str(probe), str(root), pkg], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def _legacy_world(root: Path, names: NameMap) -> None:
    """``foo`` 2 (the main world's) beside renamed ``foo`` 1 and ``pkg``, and the consumer, rewritten with ``names``."""
    _write_tree(root / "foo", _foo("2", "allowed_methods"))
    _write_tree(root / "_mv_foo_1_0_0", {k: rw(v, names) for k, v in _foo("1", "method_whitelist").items()})
    _write_tree(root / "_mv_pkg_1_0_0", {k: rw(v, names) for k, v in PKG.items()})
    _write_tree(root, {"consumer.py": rw(LEGACY_CONSUMER, names)})


def test_loop_over_module_names_registers_aliases_under_the_plain_names(tmp_path: Path) -> None:
    original = tmp_path / "original"
    _write_tree(original / "foo", _foo("1", "method_whitelist"))
    _write_tree(original / "pkg", PKG)
    _write_tree(original, {"consumer.py": LEGACY_CONSUMER})
    renamed = tmp_path / "renamed"
    _legacy_world(renamed, LOOP_NAMES)

    before = _run_loop_probe(tmp_path, original, "pkg")
    after = _run_loop_probe(tmp_path, renamed, "_mv_pkg_1_0_0")
    assert after["main"] == "2"  # the other world's foo is loaded, and untouched
    assert {k: v for k, v in after.items() if k != "main"} == {k: v for k, v in before.items() if k != "main"}
    assert after["version"] == "1" and after["methods"] == ["GET"] and after["same"] is True
    assert after["json"] is True
    assert "pkg.packages.foo.util.retry" in after["aliases"]  # type: ignore[operator]
    assert not [k for k in after["aliases"] if "_mv_" in k]  # type: ignore[union-attr]


def test_loop_over_module_names_is_mapped_and_kept_with_keep_strings(tmp_path: Path) -> None:
    result = rewrite_source(PACKAGES_PY.encode(), LOOP_NAMES)
    assert [(r.line, r.kind, r.old) for r in result.strings] == [
        (4, "mapped", "package"),
        (6, "mapped", "package"),
        (6, "mapped", 'f"{package}."'),
        (7, "name", "mod"),
        (7, "string", "pkg.packages."),
    ]
    assert result.diagnostics == ()

    # Opted out, nothing in the loop changes but the key's literal prefix (the sys.modules rule);
    # what is known only at run time is reported, and the renamed copy's aliases are the other
    # world's foo: what keep-strings is documented to do.
    kept = NameMap(LOOP_NAMES.imports, strings=False)
    assert rw(PACKAGES_PY, kept) == PACKAGES_PY.replace('f"pkg.packages.', 'f"_mv_pkg_1_0_0.packages.')
    assert [d.code for d in rewrite_source(PACKAGES_PY.encode(), kept).diagnostics] == [Code.DYNAMIC_IMPORT]
    root = tmp_path / "kept"
    _legacy_world(root, kept)
    after = _run_loop_probe(tmp_path, root, "_mv_pkg_1_0_0")
    assert after["version"] == "2" and after["same"] is False
    assert "unexpected keyword argument 'method_whitelist'" in str(after["methods"])
