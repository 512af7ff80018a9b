"""Rewrite one Python source file so that it imports renamed copies: a pure function of bytes that never raises."""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst

from mvpy_vendor.outcome import Diagnostic, Relocation, Status

from .fast import rewrite_statements
from .mask import MAX_CHAIN, MAX_DEPTH, TooComplex, longest_chain, mask, too_deep
from .names import NameMap
from .reference import Outcome, transform_whole
from .stack import on_deep_stack

__all__ = ["SourceResult", "rewrite_source"]


@dataclass(frozen=True)
class SourceResult:
    """The outcome for one file; ``data`` is the original bytes unless ``status`` is ``REWRITTEN``."""

    status: Status
    data: bytes
    changes: int = 0
    diagnostics: tuple[Diagnostic, ...] = ()
    error: str | None = None
    error_line: int | None = None
    #: string literals relocated (each also counted in ``changes``)
    strings: tuple[Relocation, ...] = ()


def rewrite_source(data: bytes, names: NameMap, *, whole_file: bool = False) -> SourceResult:
    """Rewrite one file's imports and module strings according to ``names``.

    By default only the statements that can change are parsed (see :mod:`.fast`);
    ``whole_file`` parses the whole file with libcst instead, as the reference the fast path
    is tested against. The fast path hands a file to the reference whenever it cannot vouch
    for giving the same result.
    """
    if not names.mentions(data):
        return SourceResult(Status.UNCHANGED, data)
    masked = mask(data)
    code = masked.code if masked is not None else data
    if too_deep(code):
        error = f"cannot parse: brackets nested more than {MAX_DEPTH} deep (Python refuses them too)"
        return SourceResult(Status.UNPARSABLE, data, error=error)

    def run() -> Outcome:
        fast = None if whole_file else rewrite_statements(data, names)
        if fast is not None:
            return fast
        chain = longest_chain(code)  # the whole file is parsed: every statement counts
        if chain > MAX_CHAIN:
            raise TooComplex(f"an expression with {chain} operators in a row (the limit is {MAX_CHAIN})")
        return transform_whole(data, names)

    try:
        new, changes, diagnostics, strings = on_deep_stack(run)
    except TooComplex as exc:
        return SourceResult(Status.FAILED, data, error=f"too complex to rewrite: {exc}", error_line=exc.line or None)
    except RecursionError:
        return SourceResult(Status.FAILED, data, error="nested too deeply to rewrite")
    except cst.ParserSyntaxError as exc:
        # The position in libcst's message is more precise than its raw_line/raw_column.
        where = re.search(r"error at (\d+):", exc.message)
        line = int(where[1]) if where else exc.raw_line
        return SourceResult(Status.UNPARSABLE, data, error="cannot parse: not valid Python 3 syntax", error_line=line)
    except (UnicodeDecodeError, LookupError, SyntaxError) as exc:
        return SourceResult(Status.UNPARSABLE, data, error=f"cannot decode: {exc}")
    except Exception as exc:  # noqa: BLE001 - one bad file must not end the batch
        return SourceResult(Status.FAILED, data, error=f"{type(exc).__name__}: {exc}")
    if new is None or new == data:
        return SourceResult(Status.UNCHANGED, data, diagnostics=tuple(diagnostics))
    return SourceResult(Status.REWRITTEN, new, changes, tuple(diagnostics), strings=tuple(strings))
