"""The source rewriter's fast path: parse only the statements that can change.

The whole-file libcst rewrite (:func:`.reference.transform_whole`) is the reference; this
gives the same bytes, diagnostics and change count for work proportional to what changes:

1. Strings and comments are masked (:mod:`.mask`); every code occurrence of a renamed
   top-level name, of ``import``, of the names that start a call the rewriter looks at
   (``importlib``, ``mock``, ``modules``, ... and local aliases of them) and of the words of the
   other uses it acts on (``__module__``, ``setattr``, ``exec``, ``getLogger``, ...:
   :data:`.tables.SINK_WORDS`) is found by one regular expression over the masked code.
2. The logical lines holding them are the only candidates: an import of a renamed module needs
   ``import`` and the name on one logical line; every rewritten or reported string sits in a
   use that starts with one of those words. Some strings are found in the file's bytes instead:
   one that may be code (a quote, then ``from `` or ``import ``; or an import statement of a
   renamed module anywhere inside a string), a ``"__module__"`` key, a ``"-m"`` or ``"-c"``
   (the module or code after it in a command line is run), and an f-string whose line holds one of the words (the
   code in its braces is masked with it).
3. The aliases the reference collects from all imports matter only for names that can start
   such a call; the imports binding those names are parsed, in file order, to the same map.
4. ``from NAME... import`` and single ``import NAME...`` lines are edited by splicing (the
   reference's output for them is fixed); any other candidate is parsed on its own with libcst
   (inside a minimal valid wrapper when it is an ``else:``, a decorator, ...) and rewritten by
   the same transformer with the file's aliases, then spliced back.
5. A loop that may iterate ``sys.modules`` (its header holds ``modules``) is one candidate with
   its whole body: in the body its variable is a module's name, which the reference compares
   with. The body is found by indentation in the masked code.

Whenever a step cannot vouch for the reference's result (an encoding other than UTF-8, a
statement that does not parse alone, a lexical oddity) it returns None and the caller runs the
reference. One difference is deliberate: statements that need no change are not parsed, so a
syntax error in them is not reported (Python reports it when the file is imported).
"""

from __future__ import annotations

import codecs
import functools
import io
import keyword
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Union

import libcst as cst

from mvpy_vendor.outcome import Diagnostic, Relocation

from .aliases import Aliases
from .mask import STRING_LITERAL, MaskedSource, mask
from .names import NameMap
from .reference import Outcome, rewrite_module
from .tables import DIST_CALLS, MODULE_CALLS, MONKEYPATCH_ATTR_CALLS, MONKEYPATCH_ITEM_CALLS, SINK_WORDS

__all__ = ["Piece", "Streamed", "rewrite_statements", "stream_statements"]


_TABLE = (*MODULE_CALLS, *DIST_CALLS, *MONKEYPATCH_ATTR_CALLS, *MONKEYPATCH_ITEM_CALLS, "sys.modules")
# Names that can start a call, subscript or comparison the rewriter acts on when not aliased.
# ``sys`` itself is not one: ``sys.modules`` always has ``modules`` in it.
_ROOTS = frozenset(name.partition(".")[0] for name in _TABLE) - {"sys"} | {"modules"}
# Imports binding these decide the aliases the rewriter consults.
_ALIAS_ROOTS = _ROOTS | {"sys"}
# The word a statement holding a candidate string literal is marked with (never a code word).
_STRING = b"\x01"
_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", re.MULTILINE)


def _interesting(value: str) -> bool:
    """Can a name aliased to ``value`` start a call or a ``sys.modules`` use the rewriter acts on?"""
    return value != "sys" and any(k == value or k.startswith(value + ".") for k in _TABLE)


def _words(names: Sequence[str]) -> re.Pattern[bytes]:
    alternatives = b"|".join(re.escape(n.encode()) for n in sorted(names, key=len, reverse=True))
    # Every name starts and ends with a word character, so \b is exactly "not inside a longer
    # name"; unlike a look-behind it lets the engine skip ahead to possible first bytes.
    return re.compile(rb"\b(?:" + alternatives + rb")\b")


# The two statement forms spliced without a parse, in full, so that a malformed one is parsed
# (and reported) instead. Comments are masked to spaces; inside parentheses newlines are white
# space. Names are ASCII here (others go to libcst) and never keywords (checked after a match).
_S = rb"[ \t\f]"
_WS = rb"[ \t\f\r\n]"
_ID = rb"(?!as\b)[A-Za-z_][A-Za-z0-9_]*"
_ALIAS = _ID + rb"(?:" + _S + rb"+as" + _S + rb"+" + _ID + rb")?"
_PALIAS = _ID + rb"(?:" + _WS + rb"+as" + _WS + rb"+" + _ID + rb")?"
_NAMES = (
    rb"(?P<names>\*"
    + (rb"|" + _ALIAS + rb"(?:" + _S + rb"*," + _S + rb"*" + _ALIAS + rb")*")
    + (rb"|\(" + _WS + rb"*" + _PALIAS + rb"(?:" + _WS + rb"*," + _WS + rb"*" + _PALIAS + rb")*")
    + (_WS + rb"*,?" + _WS + rb"*\))")
)
_DOTTED = rb"(?P<rest>(?:" + _S + rb"*\." + _S + rb"*" + _ID + rb")*)"
_END = _S + rb"*(?:\r?\n)?\Z"
_KEYWORDS = frozenset(k.encode() for k in keyword.kwlist) - {b"as"}


class _Patterns:
    """The regular expressions for one name map, compiled once per process."""

    def __init__(self, names: NameMap) -> None:
        renamed = "|".join(re.escape(n) for n in sorted(names.imports, key=len, reverse=True))
        name = rb"(?P<name>" + renamed.encode() + rb")\b"
        self.words = _words([*names.imports, "import", *_ALIAS_ROOTS, *self.sinks(names)])
        # A quote then ``from `` or ``import `` (a string that may be import statements, code the
        # reference rewrites), or a ``"__module__"`` key: every string literal the reference acts on
        # for what it holds has an opening quote at such a match.
        # ... and an import statement of a renamed module inside a string (a program of several
        # lines, handed to another interpreter): its first byte is masked as the string is.
        program = rb"|\b(?:from|import)[ \t]+(?:" + renamed.encode() + rb")\b"
        self.strings = (
            re.compile(rb"[\"'](?:[ \t\r\n]*(?:from|import) |__module__[\"']|-[mc][\"'])" + program)
            if names.strings
            else None
        )
        self.from_import = re.compile(
            _S + rb"*from" + _S + rb"+" + name + _DOTTED + _S + rb"*import(?:" + _S + rb"+|(?=[(*]))" + _NAMES + _END
        )
        self.plain_import = re.compile(
            _S + rb"*(?P<keyword>import)" + _S + rb"+" + name + _DOTTED
            + rb"(?P<as>" + _S + rb"+as" + _S + rb"+(?P<target>" + _ID + rb"))?" + _END
        )  # fmt: skip

    @staticmethod
    def sinks(names: NameMap) -> list[str]:
        """The words of the uses the reference rewrites a string in beyond the tables' calls."""
        return sorted(SINK_WORDS) if names.strings else []


_IDENTIFIER = re.compile(_ID)


def _has_keyword(*texts: bytes | None) -> bool:
    return any(not _KEYWORDS.isdisjoint(_IDENTIFIER.findall(t)) for t in texts if t)


@functools.lru_cache(maxsize=2)  # by identity: a build rewrites a wheel's files with one map
def _patterns_for(names: NameMap) -> _Patterns:
    return _Patterns(names)


def _utf8(data: bytes) -> bool:
    """Is ``data`` UTF-8 without a BOM, as snippets parsed on their own are taken to be?"""
    if data.startswith(codecs.BOM_UTF8) or b"\0" in data:
        return False
    head, pos = [], 0  # the first two lines
    for _ in range(2):
        newline = data.find(b"\n", pos)
        head.append(data[pos : len(data) if newline < 0 else newline])
        if newline < 0:
            break
        pos = newline + 1
    for line in head:
        cookie = _COOKIE.match(line)
        if cookie:
            try:
                if codecs.lookup(cookie[1].decode("ascii")).name != "utf-8":
                    return False
            except (LookupError, UnicodeDecodeError):
                return False
            break
        if line.strip() and not line.lstrip().startswith(b"#"):
            break
    decoder = codecs.getincrementaldecoder("utf-8")()  # a slice at a time: never a copy of the whole file
    try:
        with memoryview(data) as view:
            for i in range(0, len(data), _SLICE):
                decoder.decode(view[i : i + _SLICE])
        decoder.decode(b"", True)
    except UnicodeDecodeError:
        return False
    return True


class _Statement:
    """One logical line that may change, parsed on its own when it has to be."""

    __slots__ = ("_checked", "_module", "_wrap", "block", "code", "end", "start", "words")

    def __init__(self, start: int, end: int, code: bytes, *, block: bool = False) -> None:
        self.start = start
        self.end = end
        self.code = code  # masked
        # a compound statement with its body: parsed as indented as it is (its lines' relative
        # indentation is what the parser reads), under ``if 1:`` when it is indented
        self.block = block
        self.words: set[bytes] = set()
        self._module: cst.Module | None = None
        self._wrap: tuple[bytes, bytes] | None = None
        self._checked = False

    def adopt(self, other: _Statement) -> None:
        """Take the parse of ``other``, the same logical line found before."""
        if other.start == self.start and other.end == self.end and other.block == self.block:
            self._module, self._wrap, self._checked = other._module, other._wrap, other._checked

    def indent(self) -> int:
        return len(self.code) - len(self.code.lstrip(b" \t\f"))

    def wrapper(self) -> tuple[bytes, bytes] | None:
        """What makes this logical line a module on its own: text before and after it."""
        stripped = self.code.lstrip(b" \t\f")
        head = re.match(rb"[A-Za-z_]+|@", stripped)
        first = head[0] if head else b""
        header = stripped.rstrip().endswith(b":")
        if header and not stripped.endswith(b"\n"):
            return None
        if first in (b"elif", b"else"):
            return b"if 0: pass\n", b" pass\n" if header else b""
        if first in (b"except", b"finally"):
            return b"try: pass\n", b" pass\n" if header else b""
        if first == b"try":
            return b"", (b" pass\n" if header else b"") + b"finally: pass\n"
        if first == b"@":
            return b"", b"def _(): pass\n"
        if first == b"case":
            return None
        if first == b"match" and header:
            return b"", b" case _: pass\n"
        return b"", b" pass\n" if header else b""

    def parse(self, source: MaskedSource) -> cst.Module | None:
        """The statement parsed on its own (once), or None when it does not parse alone.

        Raises :class:`.mask.TooComplex` when it is over the rewriter's limits."""
        if self._module is None:
            wrap = self.wrapper()
            if wrap is None:
                return None
            if not self._checked:
                self._checked = True
                source.check(self.start, self.end)
                source.check_size(self.start, self.end)
            data = source.data
            text = data[self.start + self.indent() : self.end]
            if self.block and self.indent():
                wrap, text = (b"if 1:\n" + wrap[0], wrap[1]), data[self.start : self.end]
            try:
                self._module = cst.parse_module(wrap[0] + text + wrap[1])
            except cst.ParserSyntaxError:
                return None
            self._wrap = wrap
        return self._module

    def wrap_lines(self) -> int:
        """Lines the wrapper puts before the statement."""
        assert self._wrap is not None
        return self._wrap[0].count(b"\n")

    def unwrap(self, generated: bytes) -> bytes | None:
        assert self._wrap is not None
        before, after = self._wrap
        if not (generated.startswith(before) and generated.endswith(after)):
            return None
        return generated[len(before) : len(generated) - len(after)]


class _Decline(Exception):
    """The fast path cannot vouch for the reference's result: the caller runs the reference."""


# The opening of an f-string (its prefix is code, its quote the first masked byte): the code in
# its braces is masked with it, so a word there is looked for in the file's bytes.
_FSTRING = re.compile(rb"(?<![\w])(?:[fF][rRbB]?|[rR][fF])(?=[\"'])")


def _candidates(
    source: MaskedSource, words: re.Pattern[bytes], strings: re.Pattern[bytes] | None = None
) -> Iterator[_Statement]:
    """The logical lines holding a code match of ``words``, a string literal ``strings`` matches
    (when given), or an f-string whose text holds a match of ``words`` (code in its braces), in
    file order, each with the words matched in it (:data:`_STRING` for such a literal)."""
    code, data = source.code, source.data
    word = words.search(code)
    literal = _literal(source, strings, 0)
    fstring = _fstring(source, words, 0)
    while word is not None or literal is not None or fstring is not None:
        pos = min(m.start() for m in (word, literal, fstring) if m is not None)
        start, end = source.logical_line(pos)
        statement = _Statement(start, end, code[start:end])
        if word is not None and word.start() < end:
            statement.words.update(words.findall(code, word.start(), end))
            word = words.search(code, end)
        if literal is not None and literal.start() < end:
            statement.words.add(_STRING)
            literal = _literal(source, strings, end)
        if fstring is not None and fstring.start() < end:
            statement.words.update(words.findall(data, start, end))
            fstring = _fstring(source, words, end)
        yield statement


def _fstring(source: MaskedSource, words: re.Pattern[bytes], pos: int) -> re.Match[bytes] | None:
    """The first f-string at or after ``pos`` whose logical line's bytes hold a match of ``words``."""
    code, data = source.code, source.data
    match = _FSTRING.search(data, pos)
    while match is not None:
        end = match.end()
        if code[end] == 1 and (match.start() == 0 or code[match.start() - 1] != 1):
            start, stop = source.logical_line(match.start())
            if words.search(data, start, stop) is not None:
                return match
            match = _FSTRING.search(data, stop)
            continue
        match = _FSTRING.search(data, end)
    return match


def _literal(source: MaskedSource, strings: re.Pattern[bytes] | None, pos: int) -> re.Match[bytes] | None:
    """The first match of ``strings`` at or after ``pos`` in the file that is not in a comment
    (its first quote is masked as a string)."""
    if strings is None:
        return None
    match = strings.search(source.data, pos)
    while match is not None and source.code[match.start()] != 1:
        match = strings.search(source.data, match.end())
    return match


_IMPORT = re.compile(rb"\bimport\b")


def _aliases(source: MaskedSource) -> tuple[dict[str, str], list[str]]:
    """The reference's alias map, exact for every name that can start what the rewriter acts on,
    and the names (beyond :data:`_ALIAS_ROOTS`) found to be aliases of such a start.

    Those are the roots and any name an import binds to something under a root; every import
    binding such a name spells it out, so parsing the imports that mention one, in file order,
    gives the reference's value for it. A newly found alias can be rebound elsewhere: repeat.
    """
    relevant = set(_ALIAS_ROOTS)
    while True:
        collector = Aliases()
        for statement in _candidates(source, _words(sorted(relevant))):
            if _IMPORT.search(source.code, statement.start, statement.end) is None:
                continue
            module = statement.parse(source)
            if module is None:
                raise _Decline
            module.visit(collector)
        new = {k for k, v in collector.aliases.items() if _interesting(v)} - relevant
        if not new:
            return collector.aliases, sorted(relevant - _ALIAS_ROOTS)
        relevant |= new


_ELSE = re.compile(rb"else\b")


def _block_end(source: MaskedSource, statement: _Statement) -> int | None:
    """Where the compound statement ``statement`` starts (a ``for`` header) ends, its body and
    ``else:`` included; None when indentation cannot be compared by counting (tabs, form feeds)."""
    code = source.code
    indent = statement.indent()
    if b"\t" in statement.code[:indent] or b"\f" in statement.code[:indent]:
        return None
    last = pos = statement.end
    while pos < len(code):
        newline = code.find(b"\n", pos)
        line = code[pos : len(code) if newline < 0 else newline + 1]
        body = line.lstrip(b" \t\f")
        if not body.strip():  # blank, or a comment (masked to spaces)
            pos += len(line)
            continue
        lead = line[: len(line) - len(body)]
        if b"\t" in lead or b"\f" in lead:
            return None
        if not (len(lead) > indent or (len(lead) == indent and _ELSE.match(body))):
            break
        last = pos = source.logical_line(pos)[1]
    return last


_FOR = re.compile(rb"(?:async[ \t\f]+)?for\b")


def _with_loop_bodies(source: MaskedSource, statements: Iterable[_Statement]) -> Iterator[_Statement]:
    """``statements``, with every loop that may iterate ``sys.modules`` made one candidate with its
    body: in the body, the loop's variable is a module's name (the reference compares with it)."""
    block: _Statement | None = None  # the last loop made one candidate
    for statement in statements:
        if block is not None:
            if statement.start < block.end:  # inside it
                block.words |= statement.words
                continue
            yield block
            block = None
        if b"modules" in statement.words and _FOR.match(statement.code.lstrip(b" \t\f")):
            end = _block_end(source, statement)
            if end is None:
                raise _Decline
            block = _Statement(statement.start, end, source.code[statement.start : end], block=True)
            block.words = statement.words
            continue
        yield statement
    if block is not None:
        yield block


def _splice(statement: _Statement, data: bytes, names: NameMap, patterns: _Patterns) -> bytes | None:
    """The reference's output for a ``from NAME`` or single ``import NAME`` line, or None."""
    code = statement.code
    if b";" in code:
        return None
    text = data[statement.start : statement.end]
    match = patterns.from_import.match(code)
    if match:
        if _has_keyword(match["rest"], match["names"]):
            return None
        return text[: match.start("name")] + names.imports[match["name"].decode()].encode() + text[match.end("name") :]
    match = patterns.plain_import.match(code)
    if not match or _has_keyword(match["rest"], match["target"]):
        return None
    name = match["name"].decode()
    new = names.imports[name].encode()
    if match["as"] or not match["rest"]:
        replacement = new if match["as"] else new + b" as " + match["name"]
        return text[: match.start("name")] + replacement + text[match.end("name") :]
    # ``import foo.bar`` binds ``foo`` and loads ``foo.bar``: the reference writes an assignment.
    rest = re.sub(rb"\s+", b"", match["rest"])
    assign = match["name"] + b' = __import__("' + new + rest + b'")'
    return text[: match.start("keyword")] + assign + text[match.end("rest") :]


# A long display assigned to a name is rewritten a few hundred elements at a time, plain literals
# without libcst: libcst's parse, transform, positions and code generation cost about 100 us an
# element (a 20,000-item dict took 12 s), and what an element becomes depends only on it and on
# the statement around it, never on the other elements.
_DISPLAY = re.compile(
    rb"[ \t\f]*" + _ID + rb"(?:[ \t\f]*\.[ \t\f]*" + _ID + rb")*[ \t\f]*(?::[^=\n]*)?=(?!=)[ \t\f]*(?P<open>[\[{])"
)
_NESTING = re.compile(rb"[()\[\]{},]")
_UNSPLIT = re.compile(rb"\b(?:lambda|for)\b")  # their commas are not between elements
_CHUNK_ELEMENTS = 256
_CHUNK_MIN_ELEMENTS = 16


def _display_elements(module: cst.Module, braces: bool) -> int | None:
    """How many elements the display assigned by the only statement of ``module`` has, if it is a
    dict (``braces``) or a list one (a set goes whole to libcst: a chunk of it could be a dict)."""
    if len(module.body) != 1 or not isinstance(module.body[0], cst.SimpleStatementLine):
        return None
    line = module.body[0]
    if len(line.body) != 1 or not isinstance(line.body[0], (cst.Assign, cst.AnnAssign)):
        return None
    value = line.body[0].value
    return len(value.elements) if isinstance(value, cst.Dict if braces else cst.List) else None


_WORD = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")
# A dotted name or a plain decimal number (other numbers go to libcst, which checks them).
_NAME_LIKE = re.compile(rb"-?(?:[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*|(?:0|[1-9][0-9]*)(?:\.[0-9]+)?)")
_NOT_NAMES = (_KEYWORDS | {b"as"}) - {b"None", b"True", b"False"}
_STRING_LIKE = re.compile(rb"(?P<prefix>[rRuU]?)\x01+")  # a string literal, or several side by side


def _simple_elements(
    source: MaskedSource,
    start: int,
    low: int,
    ends: list[int],
    braces: bool,
    triggers: set[bytes],
    names: NameMap,
) -> tuple[list[tuple[int, int, bytes]], list[Relocation]] | None:
    """What the reference does to a chunk of a display's elements (from ``start + low``, each
    ending at one of ``ends``), when each is a plain string literal, a dotted name or a decimal
    number (in braces, a ``key: value`` pair of them), none of them code or a ``"__module__"``
    key: nothing changes (a string is data there). The edits and relocations (none); None when
    some element is anything else."""
    code, data = source.code, source.data
    edits: list[tuple[int, int, bytes]] = []
    relocated: list[Relocation] = []
    begin = start + low
    for end in ends:
        end += start
        parts = [(begin, end)]
        colon = code.find(b":", begin, end)
        if (colon >= 0) != braces or (colon >= 0 and code.find(b":", colon + 1, end) >= 0):
            return None  # a dict's element is one key: value pair, a list's has no colon
        if colon >= 0:
            parts = [(begin, colon), (colon + 1, end)]
        for part, high in parts:
            text = code[part:high]
            lead = len(text) - len(text.lstrip())
            core = text.strip()
            if not core:
                return None
            at = part + lead
            if _NAME_LIKE.fullmatch(core):
                found = _WORD.findall(core)
                if not triggers.isdisjoint(found) or not _NOT_NAMES.isdisjoint(found):
                    return None  # a name that starts what the rewriter acts on, or a keyword: libcst
                continue
            string = _STRING_LIKE.fullmatch(core)
            if string is None:
                return None
            quoted = at + len(string["prefix"])
            if STRING_LITERAL.fullmatch(data, quoted, at + len(core)) is None:
                return None  # not one literal: an implicit concatenation
            if not names.strings:
                continue
            literal = data[quoted : at + len(core)].decode("utf-8")
            quote = literal[:3] if literal[:3] in ('"""', "'''") else literal[0]
            old = literal[len(quote) : -len(quote)]
            if old == "__module__" or old.lstrip().startswith(("from ", "import ")):
                return None  # a key whose value is a module name, or code: libcst
        begin = end + 1
    return edits, relocated


def _chunked(
    statement: _Statement,
    source: MaskedSource,
    triggers: set[bytes],
    names: NameMap,
    aliases: dict[str, str],
    line: int,
) -> tuple[bytes, int, list[Diagnostic], list[Relocation]] | None:
    """The reference's rewrite of ``statement`` (the new statement, changes, diagnostics,
    relocations) when it assigns a long list, set or dict display, parsed in chunks of elements
    (each with the statement around it); None when it is not one (parse it whole)."""
    code = statement.code
    if statement.block or statement.wrapper() != (b"", b""):
        return None
    head = _DISPLAY.match(code)
    if head is None:
        return None
    opening = head.start("open")
    if b"\x01" in code[:opening] or not triggers.isdisjoint(_WORD.findall(code, 0, opening)):
        return None  # the target and annotation must not change: only the elements do
    commas: list[int] = []
    depth, closing = 0, -1
    for token in _NESTING.finditer(code, opening):
        char = token[0]
        if char in b"([{":
            depth += 1
        elif char != b",":
            depth -= 1
            if depth == 0:
                closing = token.start()
                break
        elif depth == 1:
            commas.append(token.start())
    if closing < 0 or len(commas) < _CHUNK_MIN_ELEMENTS or code[closing + 1 :].strip():
        return None
    if _UNSPLIT.search(code, opening, closing) is not None:
        return None
    source.check(statement.start, statement.end)  # as if parsed whole
    bounds = [opening + 1] + [commas[i] + 1 for i in range(_CHUNK_ELEMENTS - 1, len(commas), _CHUNK_ELEMENTS)]
    if not code[bounds[-1] : closing].strip():  # nothing after the last comma: it ends the last chunk
        bounds.pop()
    bounds.append(closing)
    data, start, indent = source.data, statement.start, statement.indent()
    prefix, suffix = data[start + indent : start + opening + 1], data[start + closing : statement.end]
    prefix_chars = len(prefix.decode("utf-8"))
    pieces = [data[start : start + opening + 1]]
    changes, diagnostics, strings = 0, [], []
    first = 0  # commas[first] is the first comma of the chunk
    for low, high in zip(bounds, bounds[1:]):
        last = first
        while last < len(commas) and commas[last] < high:
            last += 1
        ends = commas[first:last]
        if code[(commas[last - 1] + 1 if last else low) : high].strip():
            ends.append(high)  # an element without a comma after it
        first = last
        at = line + code.count(b"\n", 0, low)  # the file's line of the chunk's first byte
        simple = _simple_elements(source, start, low, ends, code[opening] == 0x7B, triggers, names)
        if simple is not None:
            edits, relocated = simple
            done = start + low
            for pos, length, text in edits:
                pieces += [data[done:pos], text]
                done = pos + length
            pieces.append(data[done : start + high])
            changes += len(edits)
            strings += [replace(r, line=at + r.line) for r in relocated]
            continue
        source.check_size(start + low, start + high)
        chunk = data[start + low : start + high]
        try:
            module = cst.parse_module(prefix + chunk + suffix)
        except cst.ParserSyntaxError:
            return None
        if _display_elements(module, code[opening] == 0x7B) != len(ends):
            return None
        line_start = data.rfind(b"\n", 0, start + low) + 1
        shift = len(data[line_start : start + low].decode("utf-8")) - prefix_chars
        generated, count, notes, relocated = rewrite_module(module, names, aliases, at - 1, (at, shift))
        diagnostics += notes
        strings += relocated
        if generated is None:
            pieces.append(chunk)
            continue
        if not (generated.startswith(prefix) and generated.endswith(suffix)):
            return None
        pieces.append(generated[len(prefix) : len(generated) - len(suffix)])
        changes += count
    pieces.append(suffix)
    return b"".join(pieces), changes, diagnostics, strings


#: Bytes-like pieces of a new file, as :func:`stream_statements` hands them on.
Piece = Union[bytes, bytearray, memoryview]
#: What :func:`stream_statements` returns: whether the bytes written differ from the file's, the
#: changes made, the diagnostics, the string literals relocated.
Streamed = tuple[bool, int, list[Diagnostic], list[Relocation]]
_FLUSH = 1 << 16  # pieces are handed on in runs of about this many bytes
_SLICE = 1 << 20  # and a long unchanged run in slices of at most this many


class _Pieces:
    """The new file, handed to ``write`` in pieces as it is made: it is never held whole."""

    def __init__(self, write: Callable[[Piece], object]) -> None:
        self._write = write
        self._buffer = bytearray()

    def add(self, piece: Piece) -> None:
        if len(piece) < _FLUSH:
            self._buffer += piece
            if len(self._buffer) >= _FLUSH:
                self.flush()
            return
        self.flush()
        for i in range(0, len(piece), _SLICE):
            self._write(piece[i : i + _SLICE])

    def flush(self) -> None:
        if self._buffer:
            self._write(bytes(self._buffer))
            self._buffer.clear()


def stream_statements(source: MaskedSource, names: NameMap, write: Callable[[Piece], object]) -> Streamed | None:
    """The reference's outcome for the masked file ``source``, from its candidate statements alone.

    The new file goes to ``write`` in pieces, file order, while the statements are rewritten one by
    one (nothing is written when nothing changes). None: run the reference (what was written so far
    is then void). Raises :class:`.mask.TooComplex` for a statement over the rewriter's limits.
    """
    if not names.imports or not _utf8(source.data):
        return None
    try:
        return _stream(source, names, _Pieces(write))
    except _Decline:
        return None


def _stream(source: MaskedSource, names: NameMap, out: _Pieces) -> Streamed:
    data = source.data
    patterns = _patterns_for(names)
    aliases, extra = _aliases(source)
    pattern = patterns.words
    if extra:
        pattern = _words([*names.imports, "import", *_ALIAS_ROOTS, *_Patterns.sinks(names), *extra])
    statements: Iterable[_Statement] = _candidates(source, pattern, patterns.strings)
    statements = _with_loop_bodies(source, statements)
    renamed = {n.encode() for n in names.imports}
    triggers = {w.encode() for w in (*_ROOTS, *_Patterns.sinks(names))}
    triggers |= {k.encode() for k, v in aliases.items() if _interesting(v)}
    view = memoryview(data)
    diagnostics: list[Diagnostic] = []
    strings: list[Relocation] = []
    changes = 0
    differs = False
    done = 0  # data[:done] has been handed on
    counted, line = 0, 1  # data[:counted] holds line - 1 newlines
    for statement in statements:
        words = statement.words
        parse = bool(words & triggers) or _STRING in words
        if not (parse or (b"import" in words and words & renamed)):
            continue
        start = statement.start
        new = None if parse else _splice(statement, data, names, patterns)
        chunked = None
        if new is None:
            line += data.count(b"\n", counted, start)
            counted = start
            chunked = _chunked(statement, source, triggers, names, aliases, line)
        if new is not None:
            count = 1
        elif chunked is not None:
            new, count, notes, relocated = chunked
            diagnostics += notes
            strings += relocated
            if not count:
                continue
        else:
            module = statement.parse(source)
            if module is None:
                raise _Decline
            generated, count, notes, relocated = rewrite_module(
                module, names, aliases, line - 1 - statement.wrap_lines(), (line, statement.indent())
            )
            diagnostics += notes
            strings += relocated
            if generated is None:
                continue
            body = statement.unwrap(generated)
            if body is None:
                raise _Decline
            new = body if statement.block else data[start : start + statement.indent()] + body
        out.add(view[done:start])
        out.add(new)
        differs = differs or new != view[start : statement.end]
        changes += count
        done = statement.end
    if changes:
        out.add(view[done:])
        out.flush()
    return differs, changes, diagnostics, strings


def rewrite_statements(data: bytes, names: NameMap, source: MaskedSource | None = None) -> Outcome | None:
    """The reference's outcome for ``data`` (masked: ``source``), from its candidate statements
    alone, the new file whole; None: run the reference."""
    if source is None:
        if not names.imports:
            return None
        source = mask(data)
        if source is None:
            return None
    out = io.BytesIO()
    streamed = stream_statements(source, names, out.write)
    if streamed is None:
        return None
    _, changes, diagnostics, strings = streamed
    return (out.getvalue() if changes else None), changes, diagnostics, strings
