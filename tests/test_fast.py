"""The fast path against the reference: the same bytes, changes and diagnostics, file by file.

The reference is the whole-file libcst rewrite (``rewrite_source(..., whole_file=True)``).
Here: every before/after case of the rewriter, the fixture sources under testwheels/, and a
corpus of statements chosen to break a lexer or a statement finder, and every Python file of
sympy, Django and pydantic (1 and 2) from the registry.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
import textwrap
import zipfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

import mvpy_vendor
from mvpy_vendor.rewrite import fast as fast_rewrite
from mvpy_vendor.rewrite.names import NameMap
from mvpy_vendor.rewrite.source import rewrite_source
from mvpy_vendor.rewrite.stack import stop_worker_thread

from .conftest import download, real_wheel_cache
from .test_source import CASES

ROOT = Path(__file__).resolve().parent.parent
NAMES = NameMap({"foo": "_mv_foo_1_0_0", "bar": "_mv_bar_2"}, {"foo": "mv-foo-1-0-0", "bar-dist": "mv-bar-2"})


def assert_same(source: bytes, names: NameMap = NAMES) -> None:
    fast = rewrite_source(source, names)
    whole = rewrite_source(source, names, whole_file=True)
    assert (fast.status, fast.changes, fast.diagnostics, fast.strings, fast.error_line) == (
        whole.status,
        whole.changes,
        whole.diagnostics,
        whole.strings,
        whole.error_line,
    )
    assert fast.data == whole.data


def took_fast_path(source: bytes, names: NameMap = NAMES) -> bool:
    return fast_rewrite.rewrite_statements(source, names) is not None


@pytest.mark.parametrize("case", [c[0] for c in CASES], ids=[c[0].splitlines()[-1][:40] for c in CASES])
def test_every_rewriter_case_matches_the_reference(case: str) -> None:
    source = textwrap.dedent(case).encode()
    assert_same(source)
    assert_same(source, NameMap({"foo": "_mv_foo_1_0_0"}, {"foo": "mv-foo-1-0-0"}))
    assert_same(source, NameMap({"foo": "_mv_foo_1_0_0"}, {"foo": "mv-foo-1-0-0"}, strings=False))


TRICKY = {
    "compound headers": """
        import importlib, sys
        if "foo" in sys.modules:
            pass
        elif importlib.import_module("foo.x"):  # comment: with a 'quote
            pass
        else: importlib.import_module("foo.y")
        while sys.modules.get("foo"): break
        for m in [importlib.import_module("foo")]: pass
        try: import foo.sub
        except ImportError as e: importlib.import_module("foo.z")
        finally: sys.modules.pop("foo.w", None)
        with open("f") as f: import foo
        class A(importlib.import_module("foo").Base): import foo.inner; x = 1
        def f(m=importlib.import_module("foo")):
            return m
        async def g(): import foo.a as fa
    """,
    "decorators and mock": """
        from unittest import mock
        import unittest.mock
        @mock.patch("foo.thing")
        @unittest.mock.patch.multiple("foo.other", a=1)
        def test(m): pass
        @mock.patch(
            "foo.thing",
            new=1,
        )
        class T: pass
        def test2(mocker):
            mocker.patch("foo.x.y")
    """,
    "aliases": """
        from importlib import import_module as im
        from importlib import metadata as md
        import importlib.util as iu
        import sys as _sys
        im("foo.a")
        md.version("foo")
        md.version("bar-dist")
        iu.find_spec("foo")
        _sys.modules["foo"]
        def inner():
            from importlib import import_module as late
            late("foo")
    """,
    "aliases rebound": """
        from os import sys
        sys.modules["foo"]
        from importlib import import_module as im
        from mylib import im
        im("foo")
        import foo
    """,
    "alias of sys.modules": """
        from sys import modules as mods
        mods["foo"] = None
        x = "foo" in mods
        import foo
    """,
    "strings and comments that look like code": '''
        """Docstring.

        from foo import x
        import foo
        """
        x = "import foo"  # import foo
        y = \'\'\'
        import foo.bar
        \'\'\'
        z = f"{'foo'}" + f\'{"import foo"}\'
        w = rb"\\"import foo"
        import foo
    ''',
    "continuations": """
        from foo import (
            a,
            b,  # trailing
        )
        import foo.bar, \\
            foo.baz
        x = [
            importlib.import_module("foo.q"),
        ]
        import importlib
        y = (1 +
             2); import foo
    """,
    "semicolons and suites": """
        import os; import foo; from foo.x import y
        if True: import foo.bar as fb; import bar.sub
        import os, foo.a, bar as b, foo
        import foo.a.b  # keep me
        import  foo . a
    """,
    "dynamic targets": """
        import importlib, sys
        import foo
        importlib.import_module(name)
        importlib.import_module(f"{pkg}.x")
        importlib.import_module(
            "fo" + suffix,
        )
        sys.modules[name]
        __import__("foo.x")
        __import__(name, fromlist=["x"])
    """,
    "relative and near misses": """
        from . import foo
        from .foo import x
        from ..foo.bar import y
        import foobar, foo_x
        from foobar import foo
        obj.foo.bar
        foo = 1
        import foo
    """,
    "match statement": """
        import importlib
        import foo
        match importlib.import_module("foo"):
            case x if importlib.import_module("foo.y"):
                pass
            case _:
                importlib.import_module("foo.z")
    """,
    "metadata lookups": """
        import importlib.metadata
        from importlib.metadata import version, distribution
        import foo
        importlib.metadata.version("foo")
        version("FOO")
        distribution("bar_dist")
        version("foo>=1")
    """,
    "tabs": "import foo\nif x:\n\timport foo.a\n\tif y:\n\t\tfrom foo import b\n",
    "module paths in strings": '''
        """Module docstring naming 'foo' and "foo.bar"."""
        X = "foo.bar"  # "foo.in_comment"
        Y = ['foo', "bar.x",
             'foo.y', """foo.z""", b"foo", f"foo", "foo" "bar"]
        Z = "foo"'foo'
        W = ("a 'foo' b", 'x "foo" y', "'foo'", '"foo"')
        def f(a: "foo.T" = "foo", *, b: 'bar' = ("foo.c")) -> "foo":
            "foo"
            return "foo.r"
        @set_module("foo")
        class A(module='bar.q'):
            x: "foo.T" = "foo.t"
        if name == "foo": pass
        elif name == "foo.e": pass
        else: name = "foo.f"
        try: v = cast("foo.T", "foo")
        except KeyError: v = "foo.g"
        T = TypeVar("T", "foo", bound="foo.B")
        getattr(m, "foo"); setattr(m, "foo", "foo.v")
        with ctx("foo"), other(\\
                "bar"): pass
        lambda: "foo.l"
        d = {"foo": 1,
             # 'foo' in a comment in a bracket
             "foo.k": "'foo'"}
        def test(monkeypatch):
            monkeypatch.setattr("foo.a.b", 1); monkeypatch.setattr(obj, "foo", "foo")
            monkeypatch.setitem(sys.modules, "bar", None)
        for p in ("foo", "bar.x"):
            __import__(p)
        async def g(): await h("foo")
        x = \'\'\'foo\'\'\'; y = """
        'foo'
        """
        s = 'foo\\'foo'
        t = "foo\\
        "
    ''',
    "no final newline": "import importlib\nimport foo\nimportlib.import_module('foo')",
    # a loop over module names is one candidate with its body, found by indentation
    "loops over module names": """
        import sys
        def f():
            for p in ("foo", "idna"):
          # a comment less indented than the body
                locals()[p] = __import__(p)
                s = '''
        foo'''

                for m in list(sys.modules):  # nested, and named like the outer loop's names
                    if m.startswith(f"{p}."):
                        sys.modules[f"pkg.{m}"] = sys.modules[m]
                        sys.modules["pkg." + m] = sys.modules.get(m)
            else:
                setattr(sys, p, 1)
            setattr(sys, p, 2)
            for q in ["bar"]: globals()[q] = sys.modules["foo"]
            for r in ("foo",):
                pass
        for t in ("foo",): getattr(sys, t)
        globals()[t] = importlib.import_module("foo")
    """,
}


@pytest.mark.parametrize("source", list(TRICKY.values()), ids=list(TRICKY))
def test_tricky_statements_match_the_reference(source: str) -> None:
    data = textwrap.dedent(source).encode()
    assert_same(data)


@pytest.mark.parametrize("source", list(TRICKY.values()), ids=list(TRICKY))
def test_tricky_statements_match_with_crlf(source: str) -> None:
    assert_same(textwrap.dedent(source).replace("\n", "\r\n").encode())


def test_most_tricky_files_take_the_fast_path() -> None:
    # Otherwise the comparisons above would only compare the reference with itself.
    fast = [name for name, source in TRICKY.items() if took_fast_path(textwrap.dedent(source).encode())]
    assert set(TRICKY) - set(fast) <= {"match statement"}


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("\ufeffimport foo\n".encode(), "a byte-order mark"),
        ("# -*- coding: latin-1 -*-\nimport foo\ns = 'é'\n".encode("latin-1"), "latin-1"),
        (b"import foo\rx = 1\n", "a bare carriage return"),
        (b"import foo\nx = '''unterminated\n", "an unterminated string"),
        (b"import foo\nx = importlib.import_module(\n", "an unclosed bracket in a candidate"),
        (b"import foo\n\xff\n", "invalid UTF-8"),
        (b"import foo as\n", "a candidate that does not parse"),
        (b"import importlib\nmatch x:\n    case importlib.import_module('foo'): pass\n", "a case clause"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_what_the_fast_path_cannot_vouch_for_goes_to_the_reference(raw: bytes, why: str) -> None:
    assert not took_fast_path(raw), why
    assert_same(raw)


def test_a_form_feed_libcst_drops_is_kept() -> None:
    # libcst does not round-trip a form feed that starts a top-level line (the reference loses
    # it); statements parsed on their own never see it, so the fast path keeps every byte.
    import libcst

    source = b"import foo\n\x0cimport foo\n"
    assert libcst.parse_module(source).bytes != source
    assert rewrite_source(source, NAMES).data == b"import _mv_foo_1_0_0 as foo\n\x0cimport _mv_foo_1_0_0 as foo\n"


def test_utf8_cookie_and_non_ascii_take_the_fast_path() -> None:
    source = "# -*- coding: utf-8 -*-\nimport foo\nnom = 'é'  # café\nfrom foo import ü\n".encode()
    assert took_fast_path(source)
    assert_same(source)


@pytest.mark.parametrize(
    "source",
    [b"import foo\nprint 'python 2'\n", b"import foo\nif x:", b"import foo\nelse: importlib.import_module('foo')\n"],
    ids=["python 2 statement", "header at end of file", "dangling else"],
)
def test_syntax_errors_outside_the_statements_parsed_are_not_reported(source: bytes) -> None:
    # The one deliberate difference from the reference: only candidate statements are parsed,
    # each on its own, so errors elsewhere or in how statements fit together are not seen.
    assert rewrite_source(source, NAMES, whole_file=True).status == "unparsable"
    result = rewrite_source(source, NAMES)
    assert result.status == "rewritten"
    assert result.data.startswith(b"import _mv_foo_1_0_0 as foo\n")


def test_a_syntax_error_in_a_statement_to_rewrite_is_reported_with_its_line() -> None:
    source = b"x = 1\nimport foo as\ny = 2\n"
    result = rewrite_source(source, NAMES)
    assert (result.status, result.error_line) == ("unparsable", 3)  # libcst's position: the next token
    assert_same(source)


def test_fixture_sources_match_the_reference() -> None:
    names = NameMap(
        {n: f"_mv_{n}_1" for n in ("foo", "transport", "client", "gizmo", "cfoo", "cpkg", "cypkg", "pydantic")},
        {n: f"mv-{n}-1" for n in ("foo", "transport", "client", "gizmo", "cfoo", "cpkg", "cypkg", "pydantic")},
    )
    sources = sorted((ROOT / "testwheels").rglob("*.py"))
    assert len(sources) > 30
    for path in sources:
        assert_same(path.read_bytes(), names)


# ---- the real-wheel corpus: every Python file of sympy, Django and pydantic ------------------

CORPUS = {
    # wheel: the names renamed in it (its own top-level name and its dependencies, as a renamed
    # copy would have them; the stress map renames the standard-library names every file imports)
    "sympy==1.13.3": ("sympy", "mpmath"),
    "django==5.2.19": ("django", "sqlparse", "asgiref"),
    "pydantic==2.14.3": ("pydantic", "pydantic_core", "typing_extensions", "annotated_types"),
    "pydantic==1.10.27": ("pydantic", "typing_extensions"),
}
STRESS = ("os", "sys", "re", "typing", "collections", "importlib", "warnings", "functools", "unittest")


# Parts each wheel's files are compared in: one test each, so that the suite shows progress.
CHUNKS = {"sympy==1.13.3": 8, "django==5.2.19": 4, "pydantic==2.14.3": 2, "pydantic==1.10.27": 1}


@functools.lru_cache(maxsize=1)
def _reference_fingerprint() -> str:
    """What decides the reference's output: libcst and the rewriter's own sources."""
    digest = hashlib.sha256(f"libcst {importlib.metadata.version('libcst')}".encode())
    package = Path(mvpy_vendor.__file__).parent
    for path in sorted([*(package / "rewrite").glob("*.py"), package / "outcome.py"]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _reference(
    data: bytes, names: NameMap, store: Path
) -> tuple[str, str, int, list[list[object]], list[list[object]]]:
    """The whole-file rewrite's outcome (status, sha256 of the bytes, changes, diagnostics, strings).

    Kept between runs by the file's hash, the map and the fingerprint of everything that decides
    it, so that a second run compares against libcst without parsing every file again.
    """
    key = hashlib.sha256(
        json.dumps(
            [_reference_fingerprint(), sorted(names.imports.items()), sorted(names.dists.items()), names.strings]
        ).encode()
        + hashlib.sha256(data).digest()
    ).hexdigest()
    path = store / key[:2] / f"{key}.json"
    try:
        known = json.loads(path.read_text())
        return known[0], known[1], known[2], known[3], known[4]
    except (OSError, ValueError, IndexError):
        pass
    whole = rewrite_source(data, names, whole_file=True)
    found = (
        whole.status.value,
        hashlib.sha256(whole.data).hexdigest(),
        whole.changes,
        [[d.line, d.message] for d in whole.diagnostics],
        [[r.line, r.old, r.new] for r in whole.strings],
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(found))
    os.replace(tmp, path)
    return found


def _compare(item: tuple[str, bytes, NameMap, Path]) -> str | None:
    member, data, names, store = item
    fast = rewrite_source(data, names)
    status, sha256, changes, diagnostics, strings = _reference(data, names, store)
    same = (fast.status.value, hashlib.sha256(fast.data).hexdigest(), fast.changes) == (status, sha256, changes)
    same = same and [[d.line, d.message] for d in fast.diagnostics] == diagnostics
    same = same and [[r.line, r.old, r.new] for r in fast.strings] == strings
    return None if same else f"{member}: fast {fast.status.value}/{fast.changes}, reference {status}/{changes}"


def _map(names: tuple[str, ...]) -> NameMap:
    return NameMap({n: f"_mv_{n}_9_9" for n in names}, {n.replace("_", "-"): f"mv-{n}-9-9" for n in names})


@pytest.fixture(scope="session")
def corpus() -> dict[str, Path]:
    found = {}
    for spec in CORPUS:
        dest = real_wheel_cache() / "corpus"
        name, _, version = spec.partition("==")
        wheels = [p for p in dest.glob("*.whl") if p.name.lower().startswith(f"{name}-{version}-")]
        if not wheels:
            download(dest, "--no-deps", "--platform", "any", spec)
            wheels = [p for p in dest.glob("*.whl") if p.name.lower().startswith(f"{name}-{version}-")]
        found[spec] = wheels[0]
    return found


def _files(wheel: Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(wheel) as zf:
        return [(n, zf.read(n)) for n in sorted(zf.namelist()) if n.endswith(".py")]


def _maps(spec: str) -> list[NameMap]:
    return [_map(CORPUS[spec])] + ([] if spec.startswith("sympy") else [_map(STRESS)])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("spec", "part"),
    [(spec, part) for spec, parts in CHUNKS.items() for part in range(parts)],
    ids=[f"{spec}-part{part + 1}of{parts}" for spec, parts in CHUNKS.items() for part in range(parts)],
)
def test_every_python_file_of_real_wheels_matches_the_reference(spec: str, part: int, corpus: dict[str, Path]) -> None:
    files = _files(corpus[spec])[part :: CHUNKS[spec]]
    store = real_wheel_cache() / "reference-outcomes"
    items = [(member, data, names, store) for names in _maps(spec) for member, data in files]
    stop_worker_thread()  # fork only a single-threaded process
    with ProcessPoolExecutor(os.cpu_count() or 1) as pool:
        mismatches = [m for m in pool.map(_compare, items, chunksize=4) if m]
    assert len(files) > 10
    assert mismatches == []


@pytest.mark.slow
@pytest.mark.parametrize("spec", list(CORPUS))
def test_most_real_files_take_the_fast_path(spec: str, corpus: dict[str, Path]) -> None:
    # Otherwise the comparison above would be the reference against itself.
    names = _maps(spec)[0]
    mentioning = [data for _, data in _files(corpus[spec]) if names.mentions(data)]
    fast = sum(fast_rewrite.rewrite_statements(data, names) is not None for data in mentioning)
    assert len(mentioning) > 50
    assert fast >= 0.95 * len(mentioning)
