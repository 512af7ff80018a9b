"""The source rewriter's fast path: parse only the statements that can change.

The whole-file libcst rewrite (:func:`.reference.transform_whole`) is the reference; this
gives the same bytes, diagnostics and change count for work proportional to what changes:

1. Strings and comments are masked (:mod:`.mask`); every code occurrence of a renamed
   top-level name, of ``import`` and of the names that start a call the rewriter looks at
   (``importlib``, ``mock``, ``modules``, ... and local aliases of them) is found by one
   regular expression over the masked code.
2. The logical lines holding them are the only candidates: an import of a renamed module needs
   ``import`` and the name on one logical line; every rewritten or reported string sits in a
   call, subscript or comparison that starts with one of those names, or is a string literal
   whose whole value is a module path under a renamed name: the file's bytes are searched for
   a quote, such a path and a quote, and a match whose first quote is masked as a string (not
   in a comment) makes its logical line a candidate too.
3. The aliases the reference collects from all imports matter only for names that can start
   such a call; the imports binding those names are parsed, in file order, to the same map.
4. ``from NAME... import`` and single ``import NAME...`` lines are edited by splicing (the
   reference's output for them is fixed); any other candidate is parsed on its own with libcst
   (inside a minimal valid wrapper when it is an ``else:``, a decorator, ...) and rewritten by
   the same transformer with the file's aliases, then spliced back.
5. A loop over module names (:func:`.reference.module_name_loop`; its header is a candidate,
   for its string literals) is one candidate with its whole body: what changes in the body
   depends on the loop. The body is found by indentation in the masked code.

Whenever a step cannot vouch for the reference's result (an encoding other than UTF-8, a
statement that does not parse alone, a lexical oddity) it returns None and the caller runs the
reference. One difference is deliberate: statements that need no change are not parsed, so a
syntax error in them is not reported (Python reports it when the file is imported).
"""

from __future__ import annotations

import codecs
import functools
import keyword
import re
from collections.abc import Sequence

import libcst as cst

from mvpy_vendor.outcome import Diagnostic, Relocation

from .mask import MaskedSource, mask
from .names import NameMap
from .reference import Outcome, module_name_loop, rewrite_module
from .tables import DIST_CALLS, MODULE_CALLS, MONKEYPATCH_ATTR_CALLS, MONKEYPATCH_ITEM_CALLS, Aliases

__all__ = ["rewrite_statements"]


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
        self.words = _words([*names.imports, "import", *_ALIAS_ROOTS])
        # A quote, a module path under a renamed name, and (not consumed) a quote: every string
        # literal the reference relocates has its last opening quote at such a match.
        self.strings = (
            re.compile(rb"[\"'](?:" + renamed.encode() + rb")(?:\.[A-Za-z_][A-Za-z0-9_]*)*\.?(?=[\"'])")
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


def _has_keyword(*texts: bytes | None) -> bool:
    return any(not _KEYWORDS.isdisjoint(re.findall(_ID, t)) for t in texts if t)


@functools.lru_cache(maxsize=2)  # by identity: a build rewrites a wheel's files with one map
def _patterns_for(names: NameMap) -> _Patterns:
    return _Patterns(names)


def _utf8(data: bytes) -> bool:
    """Is ``data`` UTF-8 without a BOM, as snippets parsed on their own are taken to be?"""
    if data.startswith(codecs.BOM_UTF8) or b"\0" in data:
        return False
    head = data.split(b"\n", 2)[:2]
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
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class _Statement:
    """One logical line that may change, parsed on its own when it has to be."""

    __slots__ = ("_module", "_wrap", "block", "code", "end", "start", "words")

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

    def parse(self, data: bytes) -> cst.Module | None:
        if self._module is None:
            wrap = self.wrapper()
            if wrap is None:
                return None
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


def _statements(source: MaskedSource, pattern: re.Pattern[bytes], found: dict[int, _Statement]) -> None:
    """Add the logical lines holding a code match of ``pattern``, with the words matched."""
    current: _Statement | None = None
    for match in pattern.finditer(source.code):
        pos = match.start()
        if current is None or not current.start <= pos < current.end:
            start, end = source.logical_line(pos)
            current = found.get(start)
            if current is None:
                current = found[start] = _Statement(start, end, source.code[start:end])
        current.words.add(match[0])


def _string_statements(source: MaskedSource, pattern: re.Pattern[bytes], found: dict[int, _Statement]) -> None:
    """Add the logical lines holding a string literal that may be a whole module path."""
    code = source.code
    current: _Statement | None = None
    for match in pattern.finditer(source.data):
        pos = match.start()
        if code[pos] != 1:  # in a comment
            continue
        if current is None or not current.start <= pos < current.end:
            start, end = source.logical_line(pos)
            current = found.get(start)
            if current is None:
                current = found[start] = _Statement(start, end, code[start:end])
        current.words.add(_STRING)


def _aliases(data: bytes, source: MaskedSource, found: dict[int, _Statement]) -> dict[str, str] | None:
    """The reference's alias map, exact for every name that can start what the rewriter acts on.

    Those are the roots and any name an import binds to something under a root; every import
    binding such a name spells it out, so parsing the imports that mention one, in file order,
    gives the reference's value for it. A newly found alias can be rebound elsewhere: repeat.
    """
    relevant = {w.encode() for w in _ALIAS_ROOTS}
    while True:
        collector = Aliases()
        for start in sorted(found):
            statement = found[start]
            if b"import" in statement.words and statement.words & relevant:
                module = statement.parse(data)
                if module is None:
                    return None
                module.visit(collector)
        new = {k.encode() for k, v in collector.aliases.items() if _interesting(v)} - relevant
        if not new:
            return collector.aliases
        relevant |= new
        _statements(source, _words([w.decode() for w in new]), found)


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


def _loop_blocks(data: bytes, source: MaskedSource, names: NameMap, found: dict[int, _Statement]) -> bool:
    """Make every loop over module names one candidate with its body; False: cannot (run the reference)."""
    block: _Statement | None = None  # the last loop made one candidate
    for start in sorted(found):
        if block is not None and start < block.end:  # inside it
            block.words |= found.pop(start).words
            continue
        statement = found[start]
        if _STRING not in statement.words or not statement.code.lstrip(b" \t\f").startswith((b"for", b"async")):
            continue
        module = statement.parse(data)
        if module is None:
            return False
        if not any(isinstance(s, cst.For) and module_name_loop(s, names) is not None for s in module.body):
            continue
        end = _block_end(source, statement)
        if end is None:
            return False
        block = found[start] = _Statement(start, end, source.code[start:end], block=True)
        block.words = statement.words
    return True


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


def rewrite_statements(data: bytes, names: NameMap) -> Outcome | None:
    """The reference's outcome for ``data``, from its candidate statements alone; None: run the reference."""
    if not names.imports or not _utf8(data):
        return None
    source = mask(data)
    if source is None:
        return None
    patterns = _patterns_for(names)
    found: dict[int, _Statement] = {}
    _statements(source, patterns.words, found)
    if patterns.strings is not None:
        _string_statements(source, patterns.strings, found)
    aliases = _aliases(data, source, found)
    if aliases is None or (patterns.strings is not None and not _loop_blocks(data, source, names, found)):
        return None
    renamed = {n.encode() for n in names.imports}
    triggers = {w.encode() for w in _ROOTS} | {k.encode() for k, v in aliases.items() if _interesting(v)}
    pieces: list[bytes] = []
    diagnostics: list[Diagnostic] = []
    strings: list[Relocation] = []
    changes = 0
    done = 0  # data[:done] is in pieces
    counted, line = 0, 1  # data[:counted] holds line - 1 newlines
    for start in sorted(found):
        statement = found[start]
        words = statement.words
        parse = bool(words & triggers) or _STRING in words
        if not (parse or (b"import" in words and words & renamed)):
            continue
        new = None if parse else _splice(statement, data, names, patterns)
        if new is not None:
            count = 1
        else:
            module = statement.parse(data)
            if module is None:
                return None
            line += data.count(b"\n", counted, start)
            counted = start
            generated, count, notes, relocated = rewrite_module(
                module, names, aliases, line - 1 - statement.wrap_lines(), (line, statement.indent())
            )
            diagnostics += notes
            strings += relocated
            if generated is None:
                continue
            body = statement.unwrap(generated)
            if body is None:
                return None
            new = body if statement.block else data[start : start + statement.indent()] + body
        pieces += [data[done:start], new]
        changes += count
        done = statement.end
    if changes == 0:
        return None, 0, diagnostics, strings
    pieces.append(data[done:])
    return b"".join(pieces), changes, diagnostics, strings
