"""Masking strings and comments, and finding logical lines without a parse (rewrite/mask.py)."""

from __future__ import annotations

import pytest

from mvpy_vendor.rewrite.mask import mask


def test_masking_keeps_positions_and_hides_strings_and_comments() -> None:
    data = b"x = \"a(b\" + '''c\nd'''  # e)\ny = (1,\n     2)\n"
    source = mask(data)
    assert source is not None
    assert len(source.code) == len(data)
    assert b"(b" not in source.code and b"# e" not in source.code and b"c\nd" not in source.code
    first = source.logical_line(0)
    assert data[first[0] : first[1]] == b"x = \"a(b\" + '''c\nd'''  # e)\n"
    second = source.logical_line(data.index(b"2)"))
    assert data[second[0] : second[1]] == b"y = (1,\n     2)\n"


def test_strings_become_filler_that_is_neither_a_word_nor_white_space() -> None:
    source = mask(b"s = 'import foo'  # import foo\nimport foo\n")
    assert source is not None
    assert source.code == b"s = " + b"\x01" * 12 + b" " * 14 + b"\nimport foo\n"


def test_backslash_continuations_and_escaped_quotes_join_lines() -> None:
    data = b'a = "x\\"y" + \\\n    "z"\nb = 1\n'
    source = mask(data)
    assert source is not None
    start, end = source.logical_line(data.index(b"z"))
    assert data[start:end] == b'a = "x\\"y" + \\\n    "z"\n'
    start, end = source.logical_line(data.index(b"b = 1"))
    assert data[start:end] == b"b = 1\n"


def test_positions_may_be_asked_in_any_order() -> None:
    data = b"a = [\n  1,\n]\nb = (\n  2)\nc = 3\n"
    source = mask(data)
    assert source is not None
    spans = [source.logical_line(data.index(t)) for t in (b"c = 3", b"1,", b"2)", b"a =")]
    assert [data[s:e] for s, e in spans] == [b"c = 3\n", b"a = [\n  1,\n]\n", b"b = (\n  2)\n", b"a = [\n  1,\n]\n"]


def test_crlf_is_a_line_break_and_a_last_line_without_newline_counts() -> None:
    data = b"x = (1,\r\n 2)\r\ny = 3"
    source = mask(data)
    assert source is not None
    assert source.logical_line(data.index(b"2)")) == (0, data.index(b"y"))
    assert source.logical_line(data.index(b"y")) == (data.index(b"y"), len(data))


@pytest.mark.parametrize(
    "data",
    [b"x = 'unterminated\n", b'x = """never closed\n', b"x = 1\ry = 2\n", b"s = 'a\\\n"],
    ids=["single quote", "triple quote", "lone carriage return", "escaped newline at end"],
)
def test_what_this_lexer_cannot_read_is_refused(data: bytes) -> None:
    assert mask(data) is None
