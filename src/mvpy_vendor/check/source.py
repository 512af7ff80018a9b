"""One file checked: what the rewriter could not rewrite in it, and names of renamed copies used in it.

A file is read once as bytes and most files stop there. The build rewrites only the files whose
bytes mention a renamed name (:meth:`NameMap.mentions`, its own pre-filter), so only those can
hold an import it leaves as it is: only they import libcst and go through the rewriter's own
engine (its fast path, the reference where the fast path cannot vouch), so ``check`` and
``build`` report the same things with the same codes. A name known only at run time
(``import_module(name)``) needs no report: the build maps it where it is used, unless the
project keeps its strings as written (its name in ``keep-strings``); then it is reported. And
every diagnostic is about a call, subscript or comparison reached through one of a few words
(:data:`TRIGGERS`: ``importlib``, ``modules``, ``__import__``, ...): a file without one is not
parsed either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mvpy_vendor.errors import Code
from mvpy_vendor.naming import PREFIX

if TYPE_CHECKING:
    from mvpy_vendor.outcome import Diagnostic
    from mvpy_vendor.rewrite.names import NameMap

__all__ = ["TRIGGERS", "Finding", "check_source", "suppressed"]

#: The words that start every call, subscript or comparison the rewriter acts on, as written or
#: in the import that binds an alias of it (the fast path's roots; a test keeps them equal): a
#: file without one holds nothing the rewriter could report, so it is not parsed.
TRIGGERS: tuple[bytes, ...] = (
    b"modules",
    b"importlib",
    b"__import__",
    b"mock",
    b"pkgutil",
    b"pkg_resources",
    b"monkeypatch",
    b"mocker",
    b"builtins",
    b"unittest",
    b"importlib_metadata",
    b"importlib_resources",
    b"numpy",
    b"exec",
    b"eval",
    b"compile",
)

# A name mvpy-vendor gives a renamed copy (naming.py): _mv_<name>_<version> or _mv_<name>_<10 hex digits>.
_RENAMED = re.compile(
    rb"\b" + PREFIX.encode() + rb"(?P<plain>[a-z0-9_]+?)_(?:[0-9][a-z0-9_]*|[0-9a-f]{10}(?:_[0-9]+)?)\b"
)
_IGNORE = re.compile(r"#\s*mvpy:\s*ignore(?:\[(?P<codes>[^\]]*)\])?")

_HINTS = {
    Code.DYNAMIC_IMPORT: (
        "with keep-strings the build cannot map it, so where it names {names} it imports the installed one, "
        "not the copy this code is built with: "
        'pass a literal name ("{first}.sub") or a literal prefix ("{first}." + name)'
    ),
    Code.DYNAMIC_SYS_MODULES: (
        "with keep-strings the build cannot map it, so where it names {names} it finds the installed one, not the copy "
        'this code is built with: use a literal key (sys.modules["{first}"]) or a literal prefix ("{first}." + key)'
    ),
    Code.DYNAMIC_REFERENCE: (
        "with keep-strings the build cannot map it, so where it names {names} it reaches the installed one, "
        'not the copy this code is built with: use a literal name ("{first}") or a literal prefix ("{first}." + name)'
    ),
    Code.SPLIT_NAME: 'the build cannot rewrite it: write the module name in one literal ("{first}.sub")',
    Code.DYNAMIC_CODE: (
        "the build rewrites imports in code it can read (a literal), so where this code imports {names} it "
        "gets the installed one, not the copy this code is built with: pass the code as a literal"
    ),
}


@dataclass(frozen=True, order=True)
class Finding:
    """One diagnostic: ``path:line:column: code message`` (line and column from 1; 0 where not known)."""

    path: str
    line: int
    column: int
    code: Code
    message: str

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "code": self.code.value,
            "message": self.message,
        }


def _names_text(names: NameMap) -> tuple[str, str]:
    plain = sorted(names.imports)
    shown = ", ".join(plain[:3]) + (f" (or {len(plain) - 3} more)" if len(plain) > 3 else "")
    return shown, plain[0] if plain else "name"


def _from_diagnostic(path: str, d: Diagnostic, names: NameMap) -> Finding:
    shown, first = _names_text(names)
    hint = _HINTS.get(d.code)
    message = d.message.replace("; left unchanged", "").replace("; ", ": ")
    if hint is not None:
        message += ": " + hint.format(names=shown, first=first)
    return Finding(path, d.line, d.column, d.code, message)


def _line_and_column(data: bytes, offset: int) -> tuple[int, int]:
    start = data.rfind(b"\n", 0, offset) + 1
    return data.count(b"\n", 0, offset) + 1, len(data[start:offset].decode("utf-8", "replace")) + 1


def _renamed_names(path: str, data: bytes) -> list[Finding]:
    """Names of renamed copies written in code or strings (not in comments)."""
    from mvpy_vendor.rewrite.mask import mask

    masked = mask(data)
    found = []
    for match in _RENAMED.finditer(data):
        if masked is not None and masked.code[match.start()] == 0x20:  # in a comment
            continue
        line, column = _line_and_column(data, match.start())
        name, plain = match[0].decode(), match["plain"].decode()
        found.append(
            Finding(
                path,
                line,
                column,
                Code.RENAMED_NAME,
                f"{name} is the name of a renamed copy, which a build may change or drop: write the plain name "
                f"({plain}); the build rewrites it to the copy its world uses",
            )
        )
    return found


def check_source(path: str, data: bytes, names: NameMap) -> list[Finding]:
    """The findings in one file's bytes, unsuppressed and unfiltered (``names``: what will be renamed)."""
    found: list[Finding] = []
    if PREFIX.encode() in data:
        found += _renamed_names(path, data)
    if names and any(word in data for word in TRIGGERS) and names.mentions(data):
        found += _rewriter_findings(path, data, names)
    return found


def _rewriter_findings(path: str, data: bytes, names: NameMap) -> list[Finding]:
    """The rewriter's own diagnostics for ``data``: its fast path, or the reference where that declines."""
    import libcst as cst

    from mvpy_vendor.rewrite.fast import rewrite_statements
    from mvpy_vendor.rewrite.reference import transform_whole
    from mvpy_vendor.rewrite.stack import on_deep_stack

    def run() -> list[Diagnostic]:
        fast = rewrite_statements(data, names)
        return (fast if fast is not None else transform_whole(data, names))[2]

    try:
        diagnostics = on_deep_stack(run)
    except cst.ParserSyntaxError as exc:
        where = re.search(r"error at (\d+):(\d+)", exc.message)
        line, column = (int(where[1]), int(where[2]) + 1) if where else (exc.raw_line, exc.raw_column + 1)
        return [Finding(path, line, column, Code.UNPARSABLE, "cannot parse: not valid Python 3 syntax")]
    except (UnicodeDecodeError, LookupError, SyntaxError) as exc:
        return [Finding(path, 1, 1, Code.UNPARSABLE, f"cannot decode: {exc}")]
    except RecursionError:
        return [Finding(path, 1, 1, Code.UNPARSABLE, "nested too deeply to check")]
    return [_from_diagnostic(path, d, names) for d in diagnostics]


def suppressed(finding: Finding, lines: list[str]) -> bool:
    """Does the finding's line say ``# mvpy: ignore[CODE]`` (or a bare ``# mvpy: ignore``) for it?"""
    if not 0 < finding.line <= len(lines):
        return False
    match = _IGNORE.search(lines[finding.line - 1])
    if match is None:
        return False
    codes = match["codes"]
    return codes is None or finding.code.value in {c.strip() for c in codes.split(",")}
