"""Rewrite one Python source file so that it imports renamed copies: a pure function of bytes that never raises."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

import libcst as cst

from mvpy_vendor.outcome import Diagnostic, Relocation, Status
from mvpy_vendor.wheel.writer import Compressed, Deflater

from .fast import Piece, Streamed, stream_statements
from .mask import MAX_CHAIN, MAX_DEPTH, MAX_SOURCE, MAX_WHOLE_FILE, TooComplex, longest_chain, mask, too_deep
from .names import NameMap
from .reference import transform_whole
from .stack import on_deep_stack

__all__ = ["SourceResult", "rewrite_source", "rewrite_source_deflated"]


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


class _Sink(Protocol):
    def write(self, piece: Piece, /) -> object: ...


_S = TypeVar("_S", bound=_Sink)


def rewrite_source(data: bytes, names: NameMap, *, whole_file: bool = False) -> SourceResult:
    """Rewrite one file's imports and module strings according to ``names``.

    By default only the statements that can change are parsed (see :mod:`.fast`);
    ``whole_file`` parses the whole file with libcst instead, as the reference the fast path
    is tested against. The fast path hands a file to the reference whenever it cannot vouch
    for giving the same result.
    """
    result, out = _rewrite(data, names, whole_file, io.BytesIO)
    if out is None:
        return result
    return replace(result, data=out.getvalue())


def rewrite_source_deflated(data: bytes, names: NameMap) -> tuple[SourceResult, Compressed | None]:
    """:func:`rewrite_source`, with a rewritten file deflated as it is made (its ``data`` is then
    empty): the new file is never held whole, only its compressed form."""
    result, out = _rewrite(data, names, False, Deflater)
    return replace(result, data=b""), (None if out is None else out.result())


class _TooLarge(Exception):
    pass


def _bytes(size: int) -> str:
    return f"{size:,} bytes"


def _rewrite(data: bytes, names: NameMap, whole_file: bool, sink: Callable[[], _S]) -> tuple[SourceResult, _S | None]:
    """The outcome, and the sink the new file went to when it is ``REWRITTEN`` (else None)."""
    if not names.mentions(data):
        return SourceResult(Status.UNCHANGED, data), None
    if len(data) > MAX_SOURCE:
        error = f"too large to rewrite: a file of {_bytes(len(data))} (the limit is {MAX_SOURCE >> 20} MiB)"
        return SourceResult(Status.FAILED, data, error=error), None
    masked = mask(data)
    code = masked.code if masked is not None else data
    if too_deep(code):
        error = f"cannot parse: brackets nested more than {MAX_DEPTH} deep (Python refuses them too)"
        return SourceResult(Status.UNPARSABLE, data, error=error), None
    out: list[_S] = []

    def run() -> Streamed:
        if not whole_file and masked is not None:
            out.append(sink())
            fast = stream_statements(masked, names, out[-1].write)
            if fast is not None:
                return fast
        if not whole_file and len(data) > MAX_WHOLE_FILE:
            raise _TooLarge(
                f"too large to rewrite whole: a file of {_bytes(len(data))} that the statement fast path "
                f"cannot rewrite (the limit is {MAX_WHOLE_FILE >> 20} MiB)"
            )
        chain = longest_chain(code)  # the whole file is parsed: every statement counts
        if chain > MAX_CHAIN:
            raise TooComplex(f"an expression with {chain} operators in a row (the limit is {MAX_CHAIN})")
        new, changes, diagnostics, strings = transform_whole(data, names)
        out[:] = [sink()]
        differs = new is not None and new != data
        if differs:
            assert new is not None
            out[0].write(new)
        return differs, changes, diagnostics, strings

    try:
        differs, changes, diagnostics, strings = on_deep_stack(run)
    except _TooLarge as exc:
        return SourceResult(Status.FAILED, data, error=str(exc)), None
    except TooComplex as exc:
        error = f"too complex to rewrite: {exc}"
        return SourceResult(Status.FAILED, data, error=error, error_line=exc.line or None), None
    except RecursionError:
        return SourceResult(Status.FAILED, data, error="nested too deeply to rewrite"), None
    except cst.ParserSyntaxError as exc:
        # The position in libcst's message is more precise than its raw_line/raw_column.
        where = re.search(r"error at (\d+):", exc.message)
        line = int(where[1]) if where else exc.raw_line
        error = "cannot parse: not valid Python 3 syntax"
        return SourceResult(Status.UNPARSABLE, data, error=error, error_line=line), None
    except (UnicodeDecodeError, LookupError, SyntaxError) as exc:
        return SourceResult(Status.UNPARSABLE, data, error=f"cannot decode: {exc}"), None
    except Exception as exc:  # noqa: BLE001 - one bad file must not end the batch
        return SourceResult(Status.FAILED, data, error=f"{type(exc).__name__}: {exc}"), None
    if not differs:
        return SourceResult(Status.UNCHANGED, data, diagnostics=tuple(diagnostics)), None
    return SourceResult(Status.REWRITTEN, data, changes, tuple(diagnostics), strings=tuple(strings)), out[0]
