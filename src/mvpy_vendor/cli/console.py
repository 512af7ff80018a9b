"""The console: the only place that prints, and how settings are spelled on the command line."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

__all__ = ["Console", "flag", "table", "write_atomic"]


def flag(setting: str) -> str:
    """A setting as the command line spells it: every setting is the long option of the same name."""
    return f"--{setting}"


class Console:
    def __init__(self, verbosity: int, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.verbosity = verbosity
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.live = self.err.isatty() and not os.environ.get("CI") and verbosity >= 0

    def info(self, text: str) -> None:
        if self.verbosity >= 0:
            print(text, file=self.out)

    def detail(self, text: str) -> None:
        if self.verbosity > 0:
            print(text, file=self.out)

    def error(self, text: str) -> None:
        for line in text.splitlines() or [""]:
            print(f"mvpy-vendor: error: {line}", file=self.err)

    def progress(self, done: int, total: int, label: str) -> None:
        if not self.live:
            return
        line = f"[{done}/{total}] {label}" if label else ""
        print(f"\r\033[K{line}", end="", file=self.err, flush=True)

    def step(self, text: str) -> None:
        if self.live:
            print(f"\r\033[K{text}", end="", file=self.err, flush=True)
        else:
            self.detail(text)

    def end_steps(self) -> None:
        if self.live:
            print("\r\033[K", end="", file=self.err, flush=True)


def table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
