"""The rewriter cannot take the process down: per-file limits on nesting and work, each failing one
file. (How fast they fail is measured in benchmarks/, not asserted here.)"""

from __future__ import annotations

from mvpy_vendor.outcome import Status
from mvpy_vendor.rewrite.mask import MAX_CHAIN, MAX_SOURCE, MAX_TOKENS, MAX_WHOLE_FILE, longest_chain, mask, too_deep
from mvpy_vendor.rewrite.names import NameMap
from mvpy_vendor.rewrite.source import rewrite_source

NAMES = NameMap({"foo": "_mv_foo_1_0_0"})
HEAD = b"import foo, importlib\n"


def test_deep_brackets_in_a_candidate_statement_fail_the_file_not_the_process() -> None:
    n = 100_000  # crashed the process with SIGSEGV
    data = HEAD + b"x = importlib.import_module(" + b"(" * n + b"'foo.x'" + b")" * n + b")\n"
    result = rewrite_source(data, NAMES)
    assert result.status is Status.UNPARSABLE
    assert result.error == "cannot parse: brackets nested more than 200 deep (Python refuses them too)"


def test_python_s_own_depth_limit_is_the_rewriter_s() -> None:
    ok = HEAD + b"x = importlib.import_module(" + b"(" * 150 + b"'foo.x'" + b")" * 150 + b")\n"
    result = rewrite_source(ok, NAMES)
    assert result.status is Status.REWRITTEN
    assert b"_mv_foo_1_0_0.x" in result.data
    compile(ok, "ok.py", "exec")  # Python takes it
    deep = b"x = " + b"(" * 201 + b"1" + b")" * 201 + b"\n"
    try:
        compile(deep, "deep.py", "exec")
    except (SyntaxError, RecursionError, MemoryError):
        pass
    else:  # pragma: no cover
        raise AssertionError("Python took 201 nested brackets")
    assert too_deep(deep) and not too_deep(b"x = " + b"(" * 200 + b"1" + b")" * 200)
    # brackets in strings and comments do not count
    source = mask(b"x = '" + b"(" * 300 + b")" * 300 + b"'  # " + b"[" * 300 + b"\n")
    assert source is not None and not too_deep(source.code)


def test_a_long_operator_chain_fails_the_file() -> None:
    for operand in (b"a", b"(a)", b"a\\\n"):  # plain, bracketed, continued over lines
        chain = b" + ".join([operand] * 10_000)  # took 607 s
        result = rewrite_source(HEAD + b"x = importlib.import_module('foo' + " + chain + b")\n", NAMES)
        assert result.status is Status.FAILED, operand
        assert (result.error or "").startswith("too complex to rewrite: an expression with 1")
        assert result.error_line == 2


def test_many_long_chains_in_one_file_fail_it() -> None:
    chain = b" + ".join([b"a"] * 1_500)
    data = HEAD + b"".join(b"x = importlib.import_module('foo' + " + chain + b")\n" for _ in range(10))
    result = rewrite_source(data, NAMES)
    assert result.status is Status.FAILED
    assert "too many long expressions" in (result.error or "")


def test_the_whole_file_path_has_the_same_limit() -> None:
    """A file the fast path hands to the whole-file rewrite (another encoding) is measured whole."""
    data = b"# -*- coding: latin-1 -*-\nimport foo\ny = " + b" + ".join([b"a"] * 10_000) + b"\n"
    result = rewrite_source(data, NAMES)
    assert result.status is Status.FAILED
    assert "operators in a row" in (result.error or "")


def test_chains_are_measured_per_expression() -> None:
    flat = b"x = [" + b", ".join([b"a + b"] * 5_000) + b"]"
    assert longest_chain(flat) <= 1  # many short expressions: no chain
    assert longest_chain(b"y = " + b" + ".join([b"(a + b)"] * 3_000)) == 2999
    assert longest_chain(b"z = a" + b".b" * (MAX_CHAIN + 5)) == MAX_CHAIN + 5


def test_a_huge_statement_libcst_would_parse_whole_fails_the_file() -> None:
    """A statement of more than MAX_TOKENS tokens that is not a display assigned to a name."""
    items = b"'foo.a', " * 30_000  # 60,000 tokens
    result = rewrite_source(HEAD + b"importlib.import_module('foo', [" + items + b"])\n", NAMES)
    assert result.status is Status.FAILED
    assert result.error == "too complex to rewrite: a statement of 60009 tokens to parse (the limit is 50000)"
    assert result.error_line == 2
    # The same display assigned to a name is rewritten, a chunk of elements at a time.
    result = rewrite_source(HEAD + b"packages = [" + items + b"importlib.import_module('foo')]\n", NAMES)
    assert result.status is Status.REWRITTEN and result.changes == 2
    # So is one under the limit, parsed whole.
    result = rewrite_source(HEAD + b"importlib.import_module('foo', [" + items[: 9 * 20_000] + b"])\n", NAMES)
    assert result.status is Status.REWRITTEN and result.changes == 2
    assert MAX_TOKENS == 50_000


def test_one_huge_element_of_a_long_display_fails_the_file() -> None:
    element = b"importlib.import_module(name, [" + b"1, " * 30_000 + b"])"
    result = rewrite_source(HEAD + b"x = [" + b"'foo.a', " * 100 + element + b"]\n", NAMES)
    assert result.status is Status.FAILED
    assert result.error is not None and "tokens to parse (the limit is 50000)" in result.error


def test_a_large_file_the_fast_path_declines_fails_alone() -> None:
    # Not UTF-8: the fast path hands it to libcst whole, which holds about 125 MB per MiB; above
    # 1 MiB the file fails alone instead. Just under the limit it is rewritten.
    body = b"# -*- coding: latin-1 -*-\nimport foo\n# caf\xe9\n"
    filler = b"x = 1\n" * ((MAX_WHOLE_FILE - len(body)) // 6)
    result = rewrite_source(body + filler, NAMES)
    assert result.status is Status.REWRITTEN and result.data.startswith(
        body.replace(b"import foo", b"import _mv_foo_1_0_0 as foo")
    )
    data = body + filler + b"x = 1\n" * 1000
    result = rewrite_source(data, NAMES)
    assert result.status is Status.FAILED
    assert result.error == (
        f"too large to rewrite whole: a file of {len(data):,} bytes that the statement fast path cannot rewrite"
        " (the limit is 1 MiB)"
    )
    # The same size in UTF-8 takes the fast path: no limit but the statements'
    utf8 = body.replace(b"latin-1", b"utf-8").replace(b"\xe9", b"e") + filler * 3
    assert rewrite_source(utf8, NAMES).status is Status.REWRITTEN


def test_no_file_over_64_mib_is_rewritten() -> None:
    # the fast path holds a file twice: this keeps a build's peak memory bounded whatever its inputs
    data = b"import foo\n" + b"#" * MAX_SOURCE
    result = rewrite_source(data, NAMES)
    assert result.status is Status.FAILED
    assert result.error == f"too large to rewrite: a file of {len(data):,} bytes (the limit is 64 MiB)"
    assert rewrite_source(b"import os\n" + b"#" * MAX_SOURCE, NAMES).status is Status.UNCHANGED  # not mentioned
