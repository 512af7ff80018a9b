"""What happened to one member of one wheel: the one outcome type that the rewriter, the
appliers, the report and the front ends all speak."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Literal

from .errors import Code, Problem

__all__ = ["Diagnostic", "MemberOutcome", "Relocation", "Status"]


class Status(str, enum.Enum):
    REWRITTEN = "rewritten"
    UNCHANGED = "unchanged"
    #: not valid Python 3 or not decodable: failed, or copied unchanged where allowed
    UNPARSABLE = "unparsable"
    FAILED = "failed"
    PATCHED = "patched"
    #: a compiled module dropped for the pure-Python source shipped beside it
    DEACCELERATED = "de-accelerated"
    #: a module that only ran an import hook serving a plain name, written empty in a renamed copy
    NEUTRALISED = "neutralised"

    @property
    def changed(self) -> bool:
        return self in (Status.REWRITTEN, Status.PATCHED, Status.NEUTRALISED)


@dataclass(frozen=True)
class Diagnostic:
    """Something the rewriter saw and could not do (a dynamic import target), at ``line`` (and ``column``).

    ``code`` is stable (``mvpy-vendor check`` reports the same codes); ``column`` counts from 1
    (0: not known).
    """

    line: int
    message: str
    code: Code = Code.DYNAMIC_IMPORT
    column: int = 0

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"line": self.line, "message": self.message, "code": self.code.value}
        if self.column:
            data["column"] = self.column
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Diagnostic:
        code = Code(data["code"]) if data.get("code") in Code._value2member_map_ else Code.DYNAMIC_IMPORT
        return cls(int(data["line"]), str(data["message"]), code, int(data.get("column", 0)))


@dataclass(frozen=True)
class Relocation:
    """A module reference in a string, relocated where it is used as a module name, at ``line``.

    ``kind``: ``"string"``, a literal rewritten (``"foo.x"`` -> ``"_mv_foo_1_0_0.x"``);
    ``"mapped"``, a value known only at run time wrapped in a mapping call at the place that uses
    it as a module name (``old`` and ``new`` are the expression's source before and after);
    ``"code"``, a string holding Python code (``exec("from foo import *")``) rewritten as code;
    ``"name"``, a module name as Python knows it put back to the name as written where the
    original builds a key from it (the tail of a ``sys.modules`` key).
    """

    line: int
    old: str
    new: str
    kind: Literal["string", "mapped", "code", "name"] = "string"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"line": self.line, "from": self.old, "to": self.new}
        if self.kind != "string":
            data["kind"] = self.kind
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Relocation:
        kind = data.get("kind", "string")
        if kind not in ("string", "mapped", "code", "name"):
            kind = "string"
        return cls(int(data["line"]), str(data["from"]), str(data["to"]), kind)


@dataclass(frozen=True)
class MemberOutcome:
    """One member's outcome: its ``status``, what changed, what was noticed, and why."""

    member: str
    status: Status
    changes: int = 0
    diagnostics: tuple[Diagnostic, ...] = ()
    reason: str = ""
    #: the error or warning this member raised, if any
    problem: Problem | None = None
    #: string literals naming a renamed module that were relocated (counted in ``changes`` too)
    strings: tuple[Relocation, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"member": self.member, "status": self.status.value}
        if self.changes:
            data["changes"] = self.changes
        if self.diagnostics:
            data["diagnostics"] = [d.to_json() for d in self.diagnostics]
        if self.reason:
            data["reason"] = self.reason
        if self.strings:
            data["strings"] = [r.to_json() for r in self.strings]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MemberOutcome:
        return cls(
            str(data["member"]),
            Status(data["status"]),
            int(data.get("changes", 0)),
            tuple(Diagnostic.from_json(d) for d in data.get("diagnostics", ())),
            str(data.get("reason", "")),
            strings=tuple(Relocation.from_json(r) for r in data.get("strings", ())),
        )
