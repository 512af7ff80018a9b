"""How the library reports progress: one small protocol, rendered (or not) by the front end."""

from __future__ import annotations

from typing import Protocol

__all__ = ["SILENT", "Reporter"]


class Reporter(Protocol):
    """Receives what a long operation is doing; the library never prints."""

    def step(self, text: str) -> None:
        """A new phase has started (``installing the wheelhouse``)."""

    def progress(self, done: int, total: int, label: str) -> None:
        """``done`` of ``total`` items are finished; ``label`` names the next ('' at the end)."""


class _Silent:
    def step(self, text: str) -> None:
        pass

    def progress(self, done: int, total: int, label: str) -> None:
        pass


SILENT: Reporter = _Silent()
