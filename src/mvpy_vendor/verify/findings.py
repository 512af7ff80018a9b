"""What verification found, one finding per module, grouped by cause for people to read."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Finding", "Group", "group"]

# Kinds, as the table and the JSON name them.
LEAK = "leak"
PULLS = "pulls unrenamed"
PROVENANCE = "wrong provenance"
FAILED = "import failed"
#: what the original wheels of the world show the same way: reported, not fatal
SAME = "same in original"
CRASHED = "crashed"


@dataclass(frozen=True)
class Finding:
    """One thing wrong (or, when not ``fatal``, worth knowing) about one module."""

    kind: str
    distribution: str
    module: str
    detail: str
    fatal: bool = True
    #: what findings of one root cause share (the leaked name, the error, the owner of the file)
    cause: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "distribution": self.distribution,
            "module": self.module,
            "detail": self.detail,
            "fatal": self.fatal,
            "cause": self.cause or self.detail,
        }


@dataclass(frozen=True)
class Group:
    """Findings of one kind, distribution and cause."""

    kind: str
    distribution: str
    cause: str
    findings: tuple[Finding, ...]

    @property
    def fatal(self) -> bool:
        return any(f.fatal for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "distribution": self.distribution,
            "cause": self.cause,
            "count": len(self.findings),
            "fatal": self.fatal,
            "findings": [f.to_json() for f in self.findings],
        }


def error_cause(module: str, error: str) -> str:
    """An import error with the failing module's own name taken out, so that one cause is one text."""
    return re.sub(rf"(?<![\w.]){re.escape(module)}(?![\w])", "<module>", error)


def group(findings: Sequence[Finding]) -> tuple[Group, ...]:
    """One group per (kind, distribution, cause), fatal ones first, in order of first appearance."""
    groups: dict[tuple[str, str, str], list[Finding]] = {}
    for f in findings:
        groups.setdefault((f.kind, f.distribution, f.cause or f.detail), []).append(f)
    made = [Group(kind, dist, cause, tuple(items)) for (kind, dist, cause), items in groups.items()]
    return tuple(sorted(made, key=lambda g: not g.fatal))
