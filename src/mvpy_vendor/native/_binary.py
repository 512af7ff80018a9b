"""Shared by every format: LIEF (imported when first needed), the names a binary holds, the
renamed strings added to it, and the base view that repoints references."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ._code import patch_adrp_add
from .model import InitKind, Kind, Occurrence

__all__ = [
    "Inspection",
    "View",
    "embedded",
    "find_names",
    "format_of",
    "init_kind",
    "load_lief",
    "packed_cython_strings",
    "renamed_blob",
    "written",
]

# Cython names its shared ABI module after its version: "_cython_3_3_0".
_CYTHON_ABI = re.compile(rb"_cython_(\d+)_(\d+)_(\d+)(?![\d_])")

_MAGIC = {
    b"\x7fELF": "ELF",
    b"\xcf\xfa\xed\xfe": "Mach-O",
    b"\xce\xfa\xed\xfe": "Mach-O",
    b"\xca\xfe\xba\xbe": "Mach-O",
    b"MZ": "PE",
}


def load_lief() -> Any:
    """LIEF, imported when first needed and quiet. (Typed loosely: its stubs mark nearly every
    result optional; every result used here is checked where it can be missing.)"""
    import lief

    lief.logging.disable()
    return lief


def format_of(data: bytes) -> str:
    for magic, name in _MAGIC.items():
        if data.startswith(magic):
            return name
    return "unknown"


def _pattern(names: Mapping[str, str]) -> re.Pattern[bytes]:
    words = b"|".join(re.escape(n.encode()) for n in sorted(names, key=len, reverse=True))
    return re.compile(rb"(?<![\w.])(?:" + words + rb")(?:\.[\w.]*)?\x00")


def find_names(regions: Iterable[tuple[int, bytes]], names: Mapping[str, str]) -> dict[int, str]:
    """Address -> text of every NUL-terminated string in ``regions`` naming a renamed module."""
    if not names:
        return {}
    pattern = _pattern(names)
    return {
        start + m.start(): m.group()[:-1].decode("ascii")
        for start, content in regions
        for m in pattern.finditer(content)
    }


def renamed_blob(texts: Iterable[str], names: Mapping[str, str]) -> tuple[bytes, dict[str, int]]:
    """The renamed twin of every string, NUL-terminated, and where each one starts."""
    blob = bytearray()
    offsets: dict[str, int] = {}
    for text in sorted(set(texts)):
        first, dot, rest = text.partition(".")
        offsets[text] = len(blob)
        blob += (names[first] + dot + rest).encode("ascii") + b"\x00"
    return bytes(blob), offsets


def embedded(data: bytes, names: Mapping[str, str]) -> list[Occurrence]:
    """Names inside longer strings: not the start of a NUL-terminated module name."""
    if not names:
        return []
    words = b"|".join(re.escape(n.encode()) for n in sorted(names, key=len, reverse=True))
    starts = {m.start() for m in _pattern(names).finditer(data)}
    found = []
    for match in re.finditer(rb"(?<![\w.])(?:" + words + rb")(?![\w])", data):
        if match.start() in starts:
            continue
        context = re.search(rb"[ -~]{0,24}$", data[max(0, match.start() - 24) : match.start()])
        tail = re.match(rb"[ -~]{0,60}", data[match.start() :])
        text = (context[0] if context else b"") + (tail[0] if tail else b"")
        found.append(Occurrence(text.decode("ascii").strip(), "embedded", 0))
    return found


def written(binary: Any, *config: Any) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "module")
        binary.write(path, *config)
        with open(path, "rb") as fh:
            return fh.read()


def packed_cython_strings(data: bytes) -> bool:
    """Cython 3.1+ (its ABI module name says so), or compressed string data (its error message
    is in the binary even where no ABI name is, e.g. a compiled package ``__init__``)."""
    abi = _CYTHON_ABI.search(data)
    if abi is not None and (int(abi[1]), int(abi[2])) >= (3, 1):
        return True
    return b"cython_runtime\x00" in data and b" string data decompression failed\x00" in data


def init_kind(imported: Collection[str]) -> InitKind:
    if "PyModuleDef_Init" in imported:
        return "multi-phase"
    return "single-phase" if "PyModule_Create2" in imported else "unknown"


class View:
    """Strings naming renamed modules in one binary, and what refers to each (by address)."""

    def __init__(self, binary: Any) -> None:
        self.binary = binary
        self.strings: dict[int, str] = {}
        self.pointers: dict[int, list[Any]] = {}  # pointer locations (ELF: the relocations)
        self.rip: dict[int, list[tuple[int, int, int]]] = {}  # x86-64 RIP-relative operands
        self.pairs: dict[int, list[tuple[int, int]]] = {}  # arm64 adrp/add pairs
        self.opaque: set[int] = set()  # referenced in a way that cannot be repointed or told
        self.analyzable = False  # can code references be followed on this format and architecture?

    def occurrences(self) -> list[Occurrence]:
        found = []
        for address, text in sorted(self.strings.items()):
            pointers = len(self.pointers.get(address, ()))
            code = len(self.rip.get(address, ())) + len(self.pairs.get(address, ()))
            kind: Kind
            if not self.analyzable or address in self.opaque:
                kind = "unknown"
            elif code:
                kind = "code"
            else:
                kind = "relocated" if pointers else "unreferenced"
            found.append(Occurrence(text, kind, pointers + code))
        return found

    def write_pointer(self, where: Any, new: int) -> None:
        raise NotImplementedError

    def repoint(self, base: int, offsets: Mapping[str, int], *address_type: Any) -> None:
        """Point every reference at the renamed twin, ``base + offsets[text]``."""
        for address, text in self.strings.items():
            new = base + offsets[text]
            for where in self.pointers.get(address, ()):
                self.write_pointer(where, new)
            for insn, size, disp_offset in self.rip.get(address, ()):
                disp = (new - (insn + size)).to_bytes(4, "little", signed=True)
                self.binary.patch_address(insn + disp_offset, list(disp), *address_type)
            for adrp, add in self.pairs.get(address, ()):
                patch_adrp_add(self.binary, adrp, add, new)


@dataclass(frozen=True)
class Inspection:
    """What a format module reads off one binary: its view of the names, architecture and symbols."""

    view: View
    arch: str
    exported: frozenset[str]
    imported: frozenset[str]
    problems: tuple[str, ...] = ()
