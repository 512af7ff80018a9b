"""Find the code and the logical lines of a Python file without parsing it.

The source rewriter's fast path needs the few statements of a file that can change, not a
syntax tree of all of it (a full parse of every file costs ten times a repack). One regular
expression finds the string literals and comments; they are masked, so what remains is code,
searchable with plain regular expressions. Logical lines are then found only around the
positions asked about, by counting brackets in the masked code with ``bytes.count``.
"""

from __future__ import annotations

import re
from operator import methodcaller

__all__ = ["MaskedSource", "mask"]

# Strings are written "unrolled" (normal* (special normal*)*) so that an unterminated one fails
# in linear time. A quote that starts no complete string stays in the code: the file is refused.
_SKIPPED = re.compile(
    rb"(#[^\r\n]*"
    rb'|"""[^"\\]*(?:(?:\\(?:\r\n|.)|"(?!""))[^"\\]*)*"""'
    rb"|'''[^'\\]*(?:(?:\\(?:\r\n|.)|'(?!''))[^'\\]*)*'''"
    rb'|"[^"\\\r\n]*(?:\\(?:\r\n|.)[^"\\\r\n]*)*"'
    rb"|'[^'\\\r\n]*(?:\\(?:\r\n|.)[^'\\\r\n]*)*')",
    re.S,
)
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

    def _net(self, start: int, end: int) -> int:
        """Brackets opened minus brackets closed in ``code[start:end]``."""
        count = self.code.count
        return (
            count(b"(", start, end)
            + count(b"[", start, end)
            + count(b"{", start, end)
            - count(b")", start, end)
            - count(b"]", start, end)
            - count(b"}", start, end)
        )

    def _depth_at(self, pos: int) -> int:
        if pos < self._cursor:
            self._cursor, self._cursor_depth = 0, 0
        self._cursor_depth += self._net(self._cursor, pos)
        self._cursor = pos
        return self._cursor_depth

    def _continued(self, line_start: int) -> bool:
        """Does the physical line before ``line_start`` end with a backslash continuation?"""
        code = self.code
        return code.endswith(b"\\\n", 0, line_start) or code.endswith(b"\\\r\n", 0, line_start)

    def logical_line(self, pos: int) -> tuple[int, int]:
        """The span of the logical line holding code position ``pos``, newline included.

        Positions asked about in increasing order cost one pass over the file in all.
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


def mask(data: bytes) -> MaskedSource | None:
    """Mask ``data``'s strings and comments; None if it is not lexically well formed.

    Not well formed: an unterminated string, or a carriage return that is not part of a CRLF
    (which this lexer does not treat as a line break, as Python does).
    """
    if data.count(b"\r") != data.count(b"\r\n"):
        return None
    parts = _SKIPPED.split(data)
    parts[1::2] = [_COMMENT_FILL(s) if s[:1] == b"#" else _STRING_FILL(s) for s in parts[1::2]]
    code = b"".join(parts)
    if b'"' in code or b"'" in code:
        return None
    return MaskedSource(data, code)
