"""What inspecting a compiled module finds: the names baked into it and what refers to each."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["PACKED_TABLE", "InitKind", "Kind", "NativeModule", "Occurrence"]

Kind = Literal[
    "relocated", "code", "table", "unreferenced", "unknown", "packed", "embedded", "delimited", "kept", "refused"
]
InitKind = Literal["single-phase", "multi-phase", "unknown"]
PACKED_TABLE = "(Cython string table)"


@dataclass(frozen=True)
class Occurrence:
    """One string naming a renamed module, and what refers to it: a NUL-terminated C string
    (``relocated``: through pointers; ``code``: from instructions), the text a pointer-plus-length
    reference reads (its length updated too), or a whole entry of a mypyc string table
    (``table``: the pointer to its chunk, which is re-encoded renamed). ``kept``: references left
    on the original string, because what the binary uses them for is no module name (a keyword,
    an attribute, a dict key, a format, a message) or cannot be told; ``refused``: references
    that cannot be made right (a module name also used as a keyword, say)."""

    text: str
    kind: Kind
    references: int
    lengths: int = 0  # references whose string length, kept apart (pointer plus length), is updated too
    detail: str = ""  # what the references are used for; for "kept" and "refused", why

    @property
    def patchable(self) -> bool:
        return self.kind in ("relocated", "code", "table", "unreferenced")

    @property
    def blocks(self) -> bool:
        """Does this occurrence keep the module from being made leak-free? A name inside a
        longer string (prose, a file name) is not patched and cannot be told apart from an import
        target statically; a kept reference is used for something that is not a module name, or
        for something that cannot be told: both reported, not blocking, and left to ``verify``,
        which catches imports made with them."""
        return not self.patchable and self.kind not in ("embedded", "kept")

    @property
    def why_not(self) -> str:
        if self.kind == "packed":
            return "built with Cython 3.1+, whose packed string table (module names in imports) cannot be patched"
        if self.kind == "delimited":
            return f"{self.text!r} {self.detail}; the length cannot be updated"
        if self.kind == "kept":
            return f"{self.text!r} is kept: {self.detail}"
        if self.kind == "refused":
            return f"{self.text!r} {self.detail}"
        if self.kind == "embedded":
            return f"{self.text!r} holds the name inside a longer string (or names a file); it is not patched"
        return f"{self.text!r} is referenced in a way that cannot be followed here (format or architecture)"

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "kind": self.kind,
            "references": self.references,
            "lengths": self.lengths,
            "detail": self.detail,
            "patchable": self.patchable,
            "blocks": self.blocks,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Occurrence:
        return cls(data["text"], data["kind"], data["references"], data.get("lengths", 0), data.get("detail", ""))


@dataclass(frozen=True)
class NativeModule:
    """What inspection found in one compiled module."""

    member: str
    format: str
    arch: str
    init_symbols: tuple[str, ...]
    init_kind: InitKind
    occurrences: tuple[Occurrence, ...] = ()
    problems: tuple[str, ...] = field(default=())

    @property
    def patchable(self) -> bool:
        return not self.problems and not any(o.blocks for o in self.occurrences)

    def to_json(self) -> dict[str, Any]:
        return {
            "member": self.member,
            "format": self.format,
            "arch": self.arch,
            "init_symbols": list(self.init_symbols),
            "init": self.init_kind,
            "occurrences": [o.to_json() for o in self.occurrences],
            "problems": list(self.problems),
            "patchable": self.patchable,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NativeModule:
        return cls(
            data["member"],
            data["format"],
            data["arch"],
            tuple(data["init_symbols"]),
            data["init"],
            tuple(Occurrence.from_json(o) for o in data["occurrences"]),
            tuple(data["problems"]),
        )
