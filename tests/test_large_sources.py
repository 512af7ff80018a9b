"""Large source files: the same bytes as the reference, produced without holding the file many times.

The fast path rewrites one statement at a time and hands the new file on in pieces (deflated as
it is made, for the writer); a long list, set or dict display assigned to a name is rewritten a
chunk of elements at a time, plain literals without libcst. Each shape here is compared with the
whole-file libcst reference (``rewrite_source(..., whole_file=True)``). Memory and time figures
are in benchmarks/memory.py, not here.
"""

from __future__ import annotations

import random
import textwrap
import zlib

import pytest

from mvpy_vendor.rewrite import fast
from mvpy_vendor.rewrite import mask as mask_module
from mvpy_vendor.rewrite.mask import mask
from mvpy_vendor.rewrite.names import NameMap
from mvpy_vendor.rewrite.source import rewrite_source, rewrite_source_deflated
from mvpy_vendor.wheel.writer import Deflater, compress

from .test_fast import NAMES, TRICKY, assert_same

KEEP = NameMap({"foo": "_mv_foo_1_0_0"}, {"foo": "mv-foo-1-0-0"}, strings=False)


def _elements(count: int, make: object) -> bytes:
    return b"".join(make(i) for i in range(count))  # type: ignore[operator]


DISPLAYS = {
    "one line of module paths": b"x = [" + _elements(600, lambda i: b"'foo.m%d', " % i) + b"]\n",
    "one line after non-ASCII": b"import importlib\ny = ["
    + _elements(300, lambda i: "'é.%d', 'foo.ü%d', ".encode() % (i, i))
    + b"importlib.import_module(name), 'foo']\n",
    "one per line, comments, trailing comma": b"import importlib\nMODULES = [\n"
    + _elements(700, lambda i: b"    'foo.m%d',  # %d\n" % (i, i) + (b"    # a comment line\n" if i % 50 == 0 else b""))
    + b"]\n",
    "dict of paths and names": b"import importlib\nTABLE = {\n"
    + _elements(
        600, lambda i: b"    'k%d': %s,\n" % (i, [b"'foo.x'", b"foo.sub", b"None", b"-1", b"1.5", b'"bar"'][i % 6])
    )
    + b"    'dyn': importlib.import_module(name),\n}\n",
    "set with prefixes and triple quotes": b"S = {"
    + _elements(400, lambda i: [b"r'foo.a', ", b'u"foo.b", ', b"'''foo.c''', ", b'"""foo""", ', b"'x.y', "][i % 5])
    + b"}\n",
    "elements libcst must see": b"import importlib, sys\nALL = [\n"
    + _elements(
        520,
        lambda i: [
            b"    'foo.a',\n",
            b"    'foo' 'bar',\n",
            b"    f'foo.{x}',\n",
            b"    b'foo',\n",
            b"    sys.modules['foo'],\n",
            b"    ('foo.t', 1),\n",
            b"    *rest,\n",
            b"    (y := 'foo.w'),\n",
            b"    'foo.%s' % z,\n",
            b"    importlib.import_module('foo.q'),\n",
        ][i % 10],
    )
    + b"]\n",
    "dict with unpacking": b"D = {" + _elements(300, lambda i: b"'k%d': 'foo.v', " % i) + b"**other, 'z': 'foo'}\n",
    "annotated, dotted and renamed targets": b"import foo\nx: list[str] = ["
    + _elements(300, lambda i: b"'foo.a', ")
    + b"]\nself.y = ["
    + _elements(300, lambda i: b"'foo.b', ")
    + b"]\nfoo = ["
    + _elements(300, lambda i: b"'foo.c', ")
    + b"]\n",
    "indented, in a function and a loop": b"def f():\n    x = ["
    + _elements(300, lambda i: b"'foo.a', ")
    + b"]\n    for m in ['foo', 'foo.b']:\n        y = ["
    + _elements(300, lambda i: b"'foo.c', ")
    + b"]\n",
    "lambdas and comprehensions are not split": b"F = ["
    + _elements(100, lambda i: b"lambda a, b='foo.x': a, ")
    + b"]\nG = {"
    + _elements(100, lambda i: b"'k%d': 'foo.y', " % i)
    + b"**{k: 'foo' for k, v in z}}\n",
    "a call around it is parsed whole": b"setup(packages=[" + _elements(300, lambda i: b"'foo.p%d', " % i) + b"])\n",
    "short displays": b"x = ['foo.a', 'foo.b']\ny = {'a': 'foo'}\n",
}


@pytest.mark.parametrize("source", list(DISPLAYS.values()), ids=list(DISPLAYS))
def test_long_displays_match_the_reference(source: bytes) -> None:
    assert fast.rewrite_statements(source, NAMES) is not None  # the fast path vouches for them
    assert_same(source)
    assert_same(source, KEEP)
    assert_same(source.replace(b"\n", b"\r\n"))


INVALID = [b"1..2", b"01", b"if", b"as", b"a.", b"'x' 'y", b"1 2", b"'k': 'v'"]


@pytest.mark.parametrize("bad", INVALID)
def test_a_syntax_error_among_plain_elements_is_reported(bad: bytes) -> None:
    """An element the plain lane does not know goes to libcst, which reports it as the reference does."""
    code = b"'from foo import a', "  # a string of code: the display is a candidate
    listed = b"x = [" + code + b"'foo.a', " * 300 + bad + b", 'foo.b']\n"
    assert_same(listed)
    mapped = (
        b"y = {'c': " + code + b"'k': 'foo.a', " * 300 + (b"'z'" if bad == b"'k': 'v'" else b"'z': " + bad) + b"}\n"
    )
    assert_same(mapped)
    assert rewrite_source(listed, NAMES).status == "unparsable"


def test_a_dict_and_a_set_mixed_across_chunks_is_reported() -> None:
    source = b"x = {'c': 'import foo', " + b"'k': 'foo.a', " * 300 + b"'foo.b', " * 300 + b"}\n"
    assert_same(source)
    assert rewrite_source(source, NAMES).status == "unparsable"


def test_a_long_display_of_plain_literals_is_not_parsed_by_libcst(monkeypatch: pytest.MonkeyPatch) -> None:
    """20,000 module paths (12 s through libcst) beside one string of code: only the chunk of
    elements that holds it is parsed; the paths are data, kept from the masked code alone."""
    source = (
        b"import foo\nx = ['from foo import a', "
        + b"'foo.a', " * 20_000
        + b"]\ny = {"
        + b"'k': 'foo', " * 20_000
        + b"'c': 'import foo'}\n"
    )
    parsed: list[bytes] = []
    real = fast.cst.parse_module

    def counting(text: bytes) -> object:
        parsed.append(text)
        return real(text)

    monkeypatch.setattr(fast.cst, "parse_module", counting)
    result = rewrite_source(source, NAMES)
    displays = [t for t in parsed if isinstance(t, bytes) and t.startswith((b"x = [", b"y = {"))]  # not code strings
    assert len(displays) == 2 and all(t.count(b",") <= 256 for t in displays)
    assert result.changes == 3 and [r.kind for r in result.strings] == ["code", "code"]
    assert result.data == (
        b"import _mv_foo_1_0_0 as foo\n"
        + source[11:]
        .replace(b"'from foo import a'", b"'from _mv_foo_1_0_0 import a'")
        .replace(b"'import foo'", b"'import _mv_foo_1_0_0 as foo'")
    )
    assert {r.line for r in result.strings} == {2, 3}


def test_a_million_import_lines_are_each_rewritten() -> None:
    source = b"import foo\n" * 1_000_000
    result = rewrite_source(source, NAMES)
    assert result.changes == 1_000_000
    assert result.data == b"import _mv_foo_1_0_0 as foo\n" * 1_000_000


def test_many_import_lines_match_the_reference() -> None:
    lines = [b"import foo\n", b"import foo.sub  # c\n", b"from foo import x\n", b"import os\n", b"x = foo.y\n"]
    rng = random.Random(7)
    assert_same(b"".join(rng.choice(lines) for _ in range(3_000)))


@pytest.mark.parametrize("source", list(TRICKY.values())[:8], ids=list(TRICKY)[:8])
def test_files_masked_piece_by_piece_match_the_reference(source: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Files over mask.STREAM_MASK_BYTES are masked into one buffer: the same masked code."""
    data = textwrap.dedent(source).encode()
    split = mask(data)
    monkeypatch.setattr(mask_module, "STREAM_MASK_BYTES", 0)
    streamed = mask(data)
    assert split is not None and streamed is not None and streamed.code == split.code
    assert_same(data)


def test_the_new_file_is_handed_on_in_pieces() -> None:
    head = b"import foo\n" + b"x = 1  # padding\n" * 200_000  # 3.4 MB unchanged after the first change
    source = head + b"import foo.sub\n" + b"y = 2\n" * 10
    masked = mask(source)
    assert masked is not None
    pieces: list[bytes] = []
    streamed = fast.stream_statements(masked, NAMES, lambda piece: pieces.append(bytes(piece)))
    assert streamed is not None and streamed[:2] == (True, 2)
    assert max(map(len, pieces)) <= 1 << 20 and len(pieces) > 3
    assert b"".join(pieces) == rewrite_source(source, NAMES, whole_file=True).data


def test_the_deflated_rewrite_is_the_rewrite_compressed() -> None:
    source = b"".join(b"import foo.m%d\nvalue_%d = foo.x\n" % (i, i) for i in range(50_000))
    plain = rewrite_source(source, NAMES)
    result, packed = rewrite_source_deflated(source, NAMES)
    assert packed is not None and result.data == b""
    assert (result.status, result.changes, result.strings) == (plain.status, plain.changes, plain.strings)
    assert packed == compress(plain.data)
    assert zlib.decompress(packed.data, -15) == plain.data
    unchanged, none = rewrite_source_deflated(b"x = 1\n", NAMES)
    assert none is None and unchanged.status == "unchanged"


@pytest.mark.parametrize("seed", range(5))
def test_deflating_in_pieces_gives_the_same_bytes(seed: int) -> None:
    rng = random.Random(seed)
    data = b"".join(
        rng.choice([b"import foo\n", b"x = 1\n", bytes(rng.randrange(256) for _ in range(40))]) for _ in range(20_000)
    )
    deflater = Deflater()
    pos = 0
    while pos < len(data):
        size = rng.choice([1, 7, 100, 4096, 65536, 300_000])
        deflater.write(memoryview(data)[pos : pos + size])
        pos += size
    assert deflater.result() == compress(data)


def test_a_long_display_is_parsed_by_libcst_only_where_it_must_be(monkeypatch: pytest.MonkeyPatch) -> None:
    source = (
        b"import importlib\nx = [" + b"'foo.a', " * 1000 + b"importlib.import_module(name), " + b"1, " * 1000 + b"]\n"
    )
    parsed: list[bytes] = []
    real = fast.cst.parse_module

    def counting(text: bytes) -> object:
        parsed.append(text)
        return real(text)

    monkeypatch.setattr(fast.cst, "parse_module", counting)
    result = rewrite_source(source, NAMES)
    # the import (for the aliases, then to rewrite it), and the one chunk of 256 elements
    assert [t for t in parsed if len(t) < 100] == [b"import importlib\n"] * 2
    assert len(parsed) == 3 and parsed[-1].startswith(b"x = [") and parsed[-1].count(b",") == 256
    assert result.diagnostics == ()  # the import's target is mapped at run time; the paths are data
    assert result.changes == 1 and [r.kind for r in result.strings] == ["mapped"]


@pytest.mark.parametrize(
    "data",
    [b'x = \'a\\\n b\'  # c\r\ny = """\n"""\n', b"x = 'unterminated\n", b"a = 1\rb = 2\n", b"", b"#", b"'''x'''"],
)
def test_masking_into_one_buffer_is_masking(data: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    split = mask(data)
    monkeypatch.setattr(mask_module, "STREAM_MASK_BYTES", -1)
    streamed = mask(data)
    assert (split is None) == (streamed is None)
    assert split is None or streamed is None or split.code == streamed.code
