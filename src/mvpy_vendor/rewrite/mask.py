"""Find the code and the logical lines of a Python file without parsing it.

The source rewriter's fast path needs the few statements of a file that can change, not a
syntax tree of all of it (a full parse of every file costs ten times a repack). One regular
expression finds the string literals and comments; they are masked, so what remains is code,
searchable with plain regular expressions. Logical lines are then found only around the
positions asked about, by counting brackets in the masked code with ``bytes.count``.
"""

from __future__ import annotations

import io
import re
from operator import methodcaller

__all__ = [
    "MAX_CHAIN",
    "MAX_DEPTH",
    "MAX_TOKENS",
    "MAX_SOURCE",
    "MAX_WHOLE_FILE",
    "STREAM_MASK_BYTES",
    "STRING_LITERAL",
    "MaskedSource",
    "TooComplex",
    "longest_chain",
    "mask",
    "too_deep",
]

#: CPython's own limit on nested brackets (its tokenizer's MAXLEVEL): deeper is not Python.
MAX_DEPTH = 200
#: The longest chain of operators (``a + a + ...``, ``a.b.c...``) in one expression the rewriter
#: parses: libcst's parser takes time quadratic in it (about 6 s for 2,000 on one core).
MAX_CHAIN = 2_000
#: What all of a file's parsed statements may cost, in squared chain lengths (chains of more than
#: :data:`_CHEAP` operators counted): a file with many long chains fails in seconds too.
MAX_WORK = MAX_CHAIN * MAX_CHAIN
_CHEAP = 100
#: The most tokens in one statement libcst parses on its own (about 70 us each to parse, transform
#: and generate again: 50,000 take some seconds). A long display assigned to a name does not
#: count: it is rewritten a chunk of elements at a time, plain literals without libcst.
MAX_TOKENS = 50_000
#: The largest file libcst parses whole, where the statement fast path cannot vouch for it (not
#: UTF-8, a candidate that does not parse alone, ...): libcst holds about 125 MB per MiB of source
#: and takes some seconds per MiB, so a larger file fails alone, fast, in bounded memory.
MAX_WHOLE_FILE = 1 << 20
#: The largest file rewritten at all: the fast path holds a file and its masked copy (twice its
#: size), so that with it the peak memory of a build stays under 200 MB whatever its inputs.
MAX_SOURCE = 64 << 20
# Names and numbers, string literals (masked), and every other character that is not white space.
_TOKEN = re.compile(rb"\w+|\x01+|[^\w\s\x01]")


class TooComplex(ValueError):
    """A statement (or file) over the rewriter's limits; ``line`` is 1-based, 0 if not known."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.line = line


_OPEN, _CLOSE = b"([{", b")]}"
_BRACKET = re.compile(rb"[()\[\]{}]")
_CONTINUATIONS = (b"\\\n", b"\\\r\n")
_ONLY_BRACKETS = bytes.maketrans(_OPEN + _CLOSE, b"(((" + b")))")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in _OPEN + _CLOSE)


def too_deep(code: bytes, limit: int = MAX_DEPTH) -> bool:
    """Do brackets in ``code`` nest deeper than ``limit``? (Linear passes in C, one per level.)"""
    only = code.translate(_ONLY_BRACKETS, _NOT_BRACKETS)
    for _ in range(limit):
        if b"()" not in only:
            return False
        only = only.replace(b"()", b"")  # each pass removes the innermost pairs
    return b"()" in only


# An innermost bracketed group; what separates the operands of one expression from the next; the
# tokens that make a nested tree in libcst, by precedence, lowest first: a chain of operators of
# one level nests once per operator, operands at a higher level are trees of their own
# (``a*b + c*d`` is a chain of one ``+`` over two chains of one ``*``).
_GROUP = re.compile(rb"[(\[{][^()\[\]{}]*[)\]}]")
_SEPARATOR = re.compile(rb"[,:;]|(?<![=!<>*/%@&|^+\-])=(?!=)")
_LEVELS = [
    re.compile(pattern)
    for pattern in (
        rb"\b(?:if|else|lambda)\b",
        rb"\bor\b",
        rb"\band\b",
        rb"\bnot\b",
        rb"\|",
        rb"\^",
        rb"&",
        rb"<<|>>",
        rb"[-+]",
        rb"//|(?<!\*)\*(?!\*)|[/%@]",
        rb"~|\bawait\b",
        rb"\*\*",
        rb"\.(?!\d)",
    )
]
_ANY_OPERATOR = re.compile(b"|".join(level.pattern for level in _LEVELS))


def _chain(text: bytes, level: int = 0) -> int:
    """The longest chain of one precedence level in an expression without brackets."""
    if level == len(_LEVELS):
        return 0
    pieces = _LEVELS[level].split(text)
    return max(len(pieces) - 1, *(_chain(piece, level + 1) for piece in pieces))


def _chain_in(text: bytes, lines: bool) -> int:
    parts = _SEPARATOR.split(text)
    if lines:
        parts = [line for part in parts for line in part.split(b"\n")]
    return max((_chain(part) for part in parts if _ANY_OPERATOR.search(part)), default=0)


def longest_chain(code: bytes, limit: int = MAX_CHAIN) -> int:
    """The most operators in one run of ``code`` (masked) not broken by a separator, at any bracket
    level: bracketed groups are measured innermost first and then stand for one operand.

    0 when there are no more than ``limit`` operators in all (the usual case, one regex pass);
    brackets must not nest deeper than :data:`MAX_DEPTH` (see :func:`too_deep`).
    """
    code = code.replace(b"\\\r\n", b"  ").replace(b"\\\n", b" ")  # backslash continuations
    if len(_ANY_OPERATOR.findall(code)) <= limit:
        return 0
    best = 0
    for _ in range(MAX_DEPTH + 1):
        groups = _GROUP.findall(code)
        if not groups:
            break
        best = max(best, max(_chain_in(g[1:-1], False) for g in groups))
        code = _GROUP.sub(b"_", code)
    return max(best, _chain_in(code, True))


# Strings are written "unrolled" (normal* (special normal*)*) so that an unterminated one fails
# in linear time. A quote that starts no complete string stays in the code: the file is refused.
_STRINGS = (
    rb'"""[^"\\]*(?:(?:\\(?:\r\n|.)|"(?!""))[^"\\]*)*"""'
    rb"|'''[^'\\]*(?:(?:\\(?:\r\n|.)|'(?!''))[^'\\]*)*'''"
    rb'|"[^"\\\r\n]*(?:\\(?:\r\n|.)[^"\\\r\n]*)*"'
    rb"|'[^'\\\r\n]*(?:\\(?:\r\n|.)[^'\\\r\n]*)*'"
)
_SKIPPED = re.compile(rb"(#[^\r\n]*|" + _STRINGS + rb")", re.S)
#: One string literal, quotes included and prefix excluded, as masking finds them.
STRING_LITERAL = re.compile(_STRINGS, re.S)
# A string becomes a run of \x01 (neither a word character nor white space, so a line ending
# in a string does not look like one ending in a colon), a comment a run of spaces.
_STRING_FILL = methodcaller("translate", bytes([1]) * 256)
_COMMENT_FILL = methodcaller("translate", b" " * 256)


class MaskedSource:
    """A file's bytes, and the same bytes with every string literal and comment masked."""

    def __init__(self, data: bytes, code: bytes) -> None:
        self.data = data
        self.code = code
        self._cursor = 0  # bracket depth is known at this position
        self._cursor_depth = 0
        self._work = 0

    def check(self, start: int, end: int) -> None:
        """Raise :class:`TooComplex` if the statement ``code[start:end]`` (one the rewriter is about
        to parse) is over the limits, or the file's parsed statements so far are over them in all.

        Called once for each statement parsed (a statement that is not parsed costs nothing)."""
        chain = longest_chain(self.code[start:end], _CHEAP)
        if chain <= _CHEAP:
            return
        line = self.code.count(b"\n", 0, start) + 1
        if chain > MAX_CHAIN:
            raise TooComplex(f"an expression with {chain} operators in a row (the limit is {MAX_CHAIN})", line)
        self._work += chain * chain
        if self._work > MAX_WORK:
            raise TooComplex(f"too many long expressions to parse in one file (the limit is {MAX_WORK} units)", line)

    def check_size(self, start: int, end: int) -> None:
        """Raise :class:`TooComplex` if ``code[start:end]`` has more than :data:`MAX_TOKENS` tokens."""
        if end - start <= MAX_TOKENS:  # never more tokens than bytes
            return
        tokens = sum(1 for _ in _TOKEN.finditer(self.code, start, end))
        if tokens > MAX_TOKENS:
            line = self.code.count(b"\n", 0, start) + 1
            raise TooComplex(f"a statement of {tokens} tokens to parse (the limit is {MAX_TOKENS})", line)

    def _net(self, start: int, end: int) -> int:
        """Brackets opened minus brackets closed in ``code[start:end]``."""
        code = self.code
        if _BRACKET.search(code, start, end) is None:  # most lines: one scan instead of six
            return 0
        count = code.count
        return (
            count(b"(", start, end)
            + count(b"[", start, end)
            + count(b"{", start, end)
            - count(b")", start, end)
            - count(b"]", start, end)
            - count(b"}", start, end)
        )

    def _depth_at(self, pos: int) -> int:
        """Bracket depth at ``pos``, counted from the last position asked about (either way)."""
        if pos < self._cursor:
            self._cursor_depth -= self._net(pos, self._cursor)
        else:
            self._cursor_depth += self._net(self._cursor, pos)
        self._cursor = pos
        return self._cursor_depth

    def _continued(self, line_start: int) -> bool:
        """Does the physical line before ``line_start`` end with a backslash continuation?"""
        return self.code.endswith(_CONTINUATIONS, 0, line_start)

    def logical_line(self, pos: int) -> tuple[int, int]:
        """The span of the logical line holding code position ``pos``, newline included.

        Positions asked about in increasing order cost one pass over the file in all (and going
        back costs the distance gone back).
        """
        code = self.code
        start = code.rfind(b"\n", 0, pos) + 1
        depth = self._depth_at(start)
        while start > 0 and (depth > 0 or self._continued(start)):
            previous = code.rfind(b"\n", 0, start - 1) + 1
            depth -= self._net(previous, start)
            start = previous
        end = start
        depth = 0
        while True:
            newline = code.find(b"\n", end)
            if newline < 0:
                return start, len(code)
            depth += self._net(end, newline)
            end = newline + 1
            if depth <= 0 and not self._continued(end):
                return start, end


#: Above this size a file is masked into one growing buffer, match by match, rather than split
#: into a list of parts (which holds several copies of the file, part objects included, at once).
STREAM_MASK_BYTES = 1 << 20


def mask(data: bytes) -> MaskedSource | None:
    """Mask ``data``'s strings and comments; None if it is not lexically well formed.

    Not well formed: an unterminated string, or a carriage return that is not part of a CRLF
    (which this lexer does not treat as a line break, as Python does). A file larger than
    :data:`STREAM_MASK_BYTES` is masked with no more than about one more copy of it in memory.
    """
    if data.count(b"\r") != data.count(b"\r\n"):
        return None
    if len(data) > STREAM_MASK_BYTES:
        code = _mask_streamed(data)
    else:
        parts = _SKIPPED.split(data)
        parts[1::2] = [_COMMENT_FILL(s) if s[:1] == b"#" else _STRING_FILL(s) for s in parts[1::2]]
        code = b"".join(parts)
    if b'"' in code or b"'" in code:
        return None
    return MaskedSource(data, code)


def _mask_streamed(data: bytes) -> bytes:
    """What :func:`mask` joins, written piece by piece into one buffer (``getvalue`` shares it)."""
    out = io.BytesIO()
    view = memoryview(data)
    done = 0
    string, space = b"\x01", b" "
    for match in _SKIPPED.finditer(data):
        start, end = match.span()
        out.write(view[done:start])
        out.write((space if data[start] == 0x23 else string) * (end - start))  # 0x23: "#"
        done = end
    out.write(view[done:])
    view.release()
    return out.getvalue()
