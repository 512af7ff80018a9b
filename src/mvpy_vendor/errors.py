"""Exceptions raised by mvpy-vendor; each carries the wheel, member and reason it concerns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "BuildError",
    "ConfigError",
    "MvpyError",
    "Problem",
    "WheelProblems",
]


class MvpyError(Exception):
    """Base class; ``exit_code`` is what the CLI returns for it."""

    exit_code = 1


class ConfigError(MvpyError):
    """The user asked for something that cannot be done as asked (bad option, unsatisfiable requirement)."""

    exit_code = 2


class BuildError(MvpyError):
    """A wheel or a file in it could not be processed."""

    exit_code = 1


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one wheel: ``wheel``, optionally ``member`` (and ``line``), and ``reason``."""

    wheel: str
    reason: str
    member: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = self.wheel
        if self.member is not None:
            where += f": {self.member}"
            if self.line is not None:
                where += f":{self.line}"
        return f"{where}: {self.reason}"


class WheelProblems(BuildError):
    """Every problem found, collected before failing once."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
