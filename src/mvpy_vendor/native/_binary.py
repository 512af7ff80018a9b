"""Shared by every format: LIEF (imported when first needed), the names a binary holds, the
renamed strings added to it, and the base view that repoints references."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mvpy_vendor.errors import NativeError

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
        offsets[text] = len(blob)
        blob += renamed_text(text, names).encode("ascii") + b"\x00"
    return bytes(blob), offsets


def embedded(data: bytes, names: Mapping[str, str], handled: Collection[int] = ()) -> list[Occurrence]:
    """Names inside longer strings: not the start of a NUL-terminated module name, nor of a
    length-delimited one whose references are all made right (``handled``: file offsets)."""
    if not names:
        return []
    words = b"|".join(re.escape(n.encode()) for n in sorted(names, key=len, reverse=True))
    starts = {m.start() for m in _pattern(names).finditer(data)}
    found = []
    for match in re.finditer(rb"(?<![\w.])(?:" + words + rb")(?![\w])", data):
        if match.start() in starts or match.start() in handled:
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


# What marks a binary built by rustc, where every string is pointer plus length unless it was
# made a C string on purpose: the compiler's note (ELF .comment) or its paths in panic messages.
_RUST_MARKS = (b"rustc version ", b"/rustc/", b"rust_begin_unwind", b"rust_panic")
_WINDOW = 256  # bytes kept from every place a name starts (a length-delimited string is shorter)


def _dotted(names: Mapping[str, str]) -> re.Pattern[bytes]:
    words = b"|".join(re.escape(n.encode()) for n in sorted(names, key=len, reverse=True))
    return re.compile(rb"(?:" + words + rb")(?:\.\w+)*")


@dataclass(frozen=True)
class Length:
    """A length kept apart from its string: ``width`` bytes at ``at`` (a data word after a
    pointer, or a ``mov`` immediate), counting the NUL or not."""

    at: int
    width: int
    value: int
    counts_nul: bool


@dataclass(frozen=True)
class Use:
    """One reference to a string naming a renamed module, as it is read: ``text`` (all of a C
    string, or the ``length`` bytes a pointer-plus-length reference takes)."""

    target: int
    text: str
    length: Length | None


class View:
    """Strings naming renamed modules in one binary, and what refers to each (by address).

    Formats fill ``strings`` (NUL-terminated module names), ``starts`` (every place a renamed
    name starts, C string or not, with the bytes that follow), ``pointers``, ``slots`` (every
    pointer location, to tell a length word from a pointer), ``rip``, ``rip_lengths`` and
    ``pairs``; :meth:`uses` then decides, reference by reference, what text it reads and where
    its length is kept."""

    def __init__(self, binary: Any) -> None:
        self.binary = binary
        self.strings: dict[int, str] = {}
        self.starts: dict[int, bytes] = {}
        self.rust = False
        self.pointers: dict[int, list[Any]] = {}  # pointer locations (ELF: the relocations)
        self.slots: set[int] = set()  # address of every pointer the loader relocates
        self.rip: dict[int, list[tuple[int, int, int]]] = {}  # x86-64 RIP-relative operands
        self.rip_lengths: dict[int, tuple[int, int, int]] = {}  # lea address -> (imm address, width, value)
        self.pairs: dict[int, list[tuple[int, int]]] = {}  # arm64 adrp/add pairs
        self.opaque: set[int] = set()  # referenced in a way that cannot be repointed or told
        self.analyzable = False  # can code references be followed on this format and architecture?
        self.names: Mapping[str, str] = {}
        self._uses: tuple[list[tuple[Use, str, Any]], list[tuple[int, str, str]], set[int]] | None = None

    def scan(self, regions: Iterable[tuple[int, bytes]], names: Mapping[str, str], rust: bool = False) -> None:
        """Find the C strings and every start of a renamed name in ``regions`` (data, not code)."""
        self.names = names
        regions = list(regions)
        self.strings = find_names(regions, names)
        self.rust = rust or any(mark in content for _, content in regions for mark in _RUST_MARKS)
        if not names:
            return
        words = b"|".join(re.escape(n.encode()) for n in sorted(names, key=len, reverse=True))
        start = re.compile(rb"(?:" + words + rb")(?!\w)")
        for base, content in regions:
            for m in start.finditer(content):
                self.starts[base + m.start()] = content[m.start() : m.start() + _WINDOW]

    def pointer_slot(self, where: Any) -> int:
        """The address of a pointer found in :attr:`pointers`."""
        return int(where)

    def file_offset(self, address: int) -> int:
        return int(self.binary.virtual_address_to_offset(address))

    def read(self, address: int, size: int) -> bytes:
        return bytes(self.binary.get_content_from_virtual_address(address, size))

    def _length_of(self, target: int, value: int, at: int, width: int) -> tuple[str, Length] | None:
        """The text a reference with length ``value`` reads, when that is a whole module name."""
        window, text = self.starts.get(target, b""), self.strings.get(target)
        if text is not None and value in (len(text), len(text) + 1):
            return text, Length(at, width, value, value == len(text) + 1)
        if self.rust and 0 < value <= len(window) and _dotted(self.names).fullmatch(window[:value]):
            return window[:value].decode("ascii"), Length(at, width, value, False)
        return None

    def _decide(self) -> tuple[list[tuple[Use, str, Any]], list[tuple[int, str, str]], set[int]]:
        """(every use with the reference it comes from, every reference that cannot be made right
        as (text, address, why), the targets read as longer strings)."""
        if self._uses is not None:
            return self._uses
        uses: list[tuple[Use, str, Any]] = []
        refused: list[tuple[int, str, str]] = []
        longer: set[int] = set()
        for target in sorted(set(self.pointers) | set(self.rip) | set(self.pairs)):
            text = self.strings.get(target)
            shown = text or self.starts.get(target, b"").split(b"\x00")[0][:60].decode("ascii", "replace")
            for where in self.pointers.get(target, ()):
                slot = self.pointer_slot(where)
                after = slot + 8
                found = None
                # A PyType_Spec (name, basicsize and itemsize, flags, slots) is no (pointer, length).
                spec = not self.rust and slot + 24 in self.slots and slot + 16 not in self.slots
                if after not in self.slots and not spec:
                    raw = self.read(after, 8)
                    if len(raw) == 8:
                        found = self._length_of(target, int.from_bytes(raw, "little"), after, 8)
                if found is not None:
                    uses.append((Use(target, found[0], found[1]), "pointer", where))
                elif (
                    text is not None
                    and not self.rust
                    and slot - 8 not in self.slots
                    and self._is_length(slot - 8, text)
                ):
                    why = f"is pointed to from 0x{slot:x}, just after a word equal to its length"
                    refused.append((target, text, why))
                elif text is not None:
                    uses.append((Use(target, text, None), "pointer", where))
                elif self.rust and self._plain_name(target):
                    refused.append((target, shown, f"is referenced as pointer plus length at 0x{slot:x}"))
                else:
                    longer.add(target)
            for ref in self.rip.get(target, ()):
                site = self.rip_lengths.get(ref[0])
                found = self._length_of(target, site[2], site[0], site[1]) if site is not None else None
                if found is not None:
                    uses.append((Use(target, found[0], found[1]), "rip", ref))
                elif text is not None:
                    uses.append((Use(target, text, None), "rip", ref))
                elif self.rust and site is None and self._plain_name(target):
                    refused.append((target, shown, f"is referenced as pointer plus length at 0x{ref[0]:x}"))
                else:
                    longer.add(target)
            for pair in self.pairs.get(target, ()):
                if text is not None:
                    uses.append((Use(target, text, None), "pair", pair))
                elif self.rust and self._plain_name(target):
                    refused.append((target, shown, f"is referenced as pointer plus length at 0x{pair[0]:x}"))
        self._uses = (uses, refused, longer)
        return self._uses

    def _plain_name(self, target: int) -> bool:
        """Is the text at ``target`` a dotted name followed by no prose (by other names run on,
        or by bytes that are no text)? Such a string can only be a name, however long it is;
        one that goes on with a space or punctuation is a message that starts with a name."""
        window = self.starts.get(target, b"")
        run = _dotted(self.names).match(window)
        end = run.end() if run else 0
        return end >= len(window) or not 0x20 <= window[end] < 0x7F

    def _is_length(self, address: int, text: str) -> bool:
        raw = self.read(address, 8)
        return len(raw) == 8 and int.from_bytes(raw, "little") in (len(text), len(text) + 1)

    def uses(self) -> list[Use]:
        return [use for use, _, _ in self._decide()[0]]

    def occurrences(self) -> list[Occurrence]:
        uses, refused, _longer = self._decide()
        by_text: dict[str, list[tuple[Use, str]]] = {}
        for use, how, _ in uses:
            by_text.setdefault(use.text, []).append((use, how))
        found = []
        for text, those in sorted(by_text.items()):
            kind: Kind
            if not self.analyzable or any(u.target in self.opaque for u, _ in those):
                kind = "unknown"
            else:
                kind = "code" if any(how != "pointer" for _, how in those) else "relocated"
            found.append(Occurrence(text, kind, len(those), lengths=sum(u.length is not None for u, _ in those)))
        referenced = {use.target for use, _, _ in uses} | {t for t in self.pointers} | set(self.rip) | set(self.pairs)
        for address, text in sorted(self.strings.items()):
            if address not in referenced:
                kind = "unknown" if not self.analyzable or address in self.opaque else "unreferenced"
                found.append(Occurrence(text, kind, 0))
        for _target, text, why in refused:
            found.append(Occurrence(text, "delimited", 1, detail=why))
        return found

    def handled(self) -> set[int]:
        """Addresses of strings every reference of which is made right (not to be listed as embedded)."""
        uses, refused, _ = self._decide()
        return {use.target for use, _, _ in uses} - {target for target, _, _ in refused}

    def write_pointer(self, where: Any, new: int) -> None:
        raise NotImplementedError

    def repoint(self, base: int, offsets: Mapping[str, int], *address_type: Any) -> None:
        """Point every reference at the renamed twin, ``base + offsets[text]``, and set every
        length kept with one to the twin's."""
        written: dict[int, int] = {}
        for use, how, ref in self._decide()[0]:
            new = base + offsets[use.text]
            if how == "pointer":
                self.write_pointer(ref, new)
            elif how == "rip":
                insn, size, disp_offset = ref
                disp = (new - (insn + size)).to_bytes(4, "little", signed=True)
                self.binary.patch_address(insn + disp_offset, list(disp), *address_type)
            else:
                patch_adrp_add(self.binary, ref[0], ref[1], new)
            if use.length is not None:
                value = len(renamed_text(use.text, self.names)) + use.length.counts_nul
                if written.setdefault(use.length.at, value) != value:
                    raise NativeError(f"one length at 0x{use.length.at:x} serves strings of different lengths")
                raw = value.to_bytes(use.length.width, "little")
                self.binary.patch_address(use.length.at, list(raw), *address_type)


def renamed_text(text: str, names: Mapping[str, str]) -> str:
    first, dot, rest = text.partition(".")
    return names[first] + dot + rest


@dataclass(frozen=True)
class Inspection:
    """What a format module reads off one binary: its view of the names, architecture and symbols."""

    view: View
    arch: str
    exported: frozenset[str]
    imported: frozenset[str]
    problems: tuple[str, ...] = ()
