"""What keeps the command line to one-line errors: SIGTERM as an exception, internal errors written
to a file, and an argument parser that takes no abbreviations and suggests what was meant."""

from __future__ import annotations

import argparse
import contextlib
import difflib
import signal
import tempfile
import threading
import traceback
from collections.abc import Iterator, Sequence
from types import FrameType
from typing import Any, NoReturn

from mvpy_vendor._version import __version__

__all__ = ["Parser", "Terminated", "internal_error", "on_sigterm", "parse"]


class Terminated(BaseException):
    """SIGTERM arrived: unwind (every ``finally`` runs, the staging directory goes) and exit 143.

    A BaseException, as KeyboardInterrupt is, so that no ``except Exception`` swallows it.
    """


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated


@contextlib.contextmanager
def on_sigterm() -> Iterator[None]:
    """SIGTERM raises :class:`Terminated` in the main thread while inside (elsewhere: nothing)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def internal_error(exc: BaseException) -> str:
    """One line for a bug: what it is, and the file holding the traceback."""
    text = f"mvpy-vendor {__version__}\n" + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    where = ""
    with (
        contextlib.suppress(OSError),
        tempfile.NamedTemporaryFile(
            "w", prefix="mvpy-vendor-crash-", suffix=".txt", delete=False, encoding="utf-8"
        ) as fh,
    ):
        fh.write(text)
        where = fh.name
    first = (str(exc).splitlines() or [""])[0]
    line = f"internal error: {type(exc).__name__}" + (f": {first}" if first else "")
    return line + (f" (details in {where}; please report it)" if where else "")


class Parser(argparse.ArgumentParser):
    """No abbreviated long options (``--out`` is not ``--o``); subcommands get the same class."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def unknown(self, extras: Sequence[str]) -> NoReturn:
        """Reject ``extras`` with this parser's usage, suggesting the nearest option for each."""
        options = [s for a in self._actions for s in a.option_strings if s.startswith("--")]
        hints = []
        for arg in extras:
            name = arg.partition("=")[0]
            if name.startswith("-"):
                close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
                if close:
                    hints.append(f"{name} (did you mean {close[0]}?)")
                    continue
            hints.append(arg)
        self.error("unrecognized arguments: " + " ".join(hints))


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse ``argv``; unknown arguments are reported by the subcommand they were given to."""
    args, extras = parser.parse_known_args(argv)
    if extras:
        target: argparse.ArgumentParser = parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                target = action.choices.get(getattr(args, action.dest, None) or "", parser)
        if isinstance(target, Parser):
            target.unknown(extras)
        target.error("unrecognized arguments: " + " ".join(extras))
    return args
