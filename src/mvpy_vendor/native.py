"""Compiled extension modules: find the names baked into them, and patch them as one batch.

What a renamed copy's compiled module must change:
* the exported ``PyInit_<name>`` symbol, when the last component of the module's name changes;
* every NUL-terminated string that names a renamed module (``m_name``, ``tp_name``, exception
  names, ``PyImport_ImportModule("foo.bar")`` arguments). Strings cannot grow in place, so the
  renamed strings go into a segment or section added to the binary, and every reference is
  repointed: pointers (ELF ``R_X86_64_RELATIVE`` addends, PE base-relocated DIR64 pointers,
  Mach-O rebased pointers) and code (x86-64 RIP-relative operands, arm64 ``adrp``/``add``
  pairs), found by disassembling executable sections.

Patched: ELF x86-64, PE x64, thin Mach-O arm64 and x86-64 (without chained fixups). Anything
else is inspected and reported as not patchable, as is any name referenced in a way that
cannot be followed. LIEF and capstone are imported only when a compiled module is looked at.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "NativeError",
    "NativeModule",
    "Occurrence",
    "inspect_native",
    "module_name_of",
    "patch_native",
]

Kind = Literal["relocated", "code", "unreferenced", "unknown", "packed", "embedded"]
# Cython names its shared ABI module after its version: "_cython_3_3_0".
_CYTHON_ABI = re.compile(rb"_cython_(\d+)_(\d+)_(\d+)(?![\d_])")
PACKED_TABLE = "(Cython string table)"
_MACHO_SEGMENT = "__MVSTR"  # where the renamed strings of a patched Mach-O go
# An adrp and the add or load that completes it are emitted close together; past this many
# bytes a register is not trusted to still hold the page.
_ADRP_REACH = 64
_RIP_OPERAND = re.compile(r"\[rip ([+-]) (0x[0-9a-f]+|\d+)\]")

_MAGIC = {
    b"\x7fELF": "ELF",
    b"\xcf\xfa\xed\xfe": "Mach-O",
    b"\xce\xfa\xed\xfe": "Mach-O",
    b"\xca\xfe\xba\xbe": "Mach-O",
    b"MZ": "PE",
}


class NativeError(Exception):
    """A binary that cannot be read as a compiled module."""


@dataclass(frozen=True)
class Occurrence:
    """One NUL-terminated string naming a renamed module, and what refers to it."""

    text: str
    kind: Kind
    references: int

    @property
    def patchable(self) -> bool:
        return self.kind in ("relocated", "code", "unreferenced")

    @property
    def blocks(self) -> bool:
        """Does this occurrence keep the module from being made leak-free? A name inside a
        longer string (prose, a file name, or a length-prefixed Rust ``&str``) is not patched and
        cannot be told apart from an import target statically: reported, not blocking, and left
        to ``verify``, which catches imports made with it."""
        return not self.patchable and self.kind != "embedded"

    @property
    def why_not(self) -> str:
        if self.kind == "packed":
            return "built with Cython 3.1+, whose packed string table (module names in imports) cannot be patched"
        if self.kind == "embedded":
            return f"{self.text!r} holds the name inside a longer string; it is not patched"
        return f"{self.text!r} is referenced in a way that cannot be followed here (format or architecture)"

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "kind": self.kind,
            "references": self.references,
            "patchable": self.patchable,
            "blocks": self.blocks,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Occurrence:
        return cls(data["text"], data["kind"], data["references"])


@dataclass(frozen=True)
class NativeModule:
    """What inspection found in one compiled module."""

    member: str
    format: str
    arch: str
    init_symbols: tuple[str, ...]
    init_kind: Literal["single-phase", "multi-phase", "unknown"]
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


def module_name_of(member: str) -> str:
    """``pkg/_speedups.cpython-311-x86_64-linux-gnu.so`` -> ``pkg._speedups``; ``pkg/__init__...so`` -> ``pkg``."""
    parts = member.split("/")
    parts[-1] = parts[-1].split(".", 1)[0]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _lief() -> Any:
    """LIEF, imported when first needed and quiet. (Typed loosely: its stubs mark nearly every
    result optional; every result used here is checked where it can be missing.)"""
    import lief

    lief.logging.disable()
    return lief


def _format_of(data: bytes) -> str:
    for magic, name in _MAGIC.items():
        if data.startswith(magic):
            return name
    return "unknown"


def _pattern(names: Mapping[str, str]) -> re.Pattern[bytes]:
    words = b"|".join(re.escape(n.encode()) for n in sorted(names, key=len, reverse=True))
    return re.compile(rb"(?<![\w.])(?:" + words + rb")(?:\.[\w.]*)?\x00")


def _find_names(regions: Iterable[tuple[int, bytes]], names: Mapping[str, str]) -> dict[int, str]:
    """Address -> text of every NUL-terminated string in ``regions`` naming a renamed module."""
    if not names:
        return {}
    pattern = _pattern(names)
    return {
        start + m.start(): m.group()[:-1].decode("ascii")
        for start, content in regions
        for m in pattern.finditer(content)
    }


def _renamed_blob(texts: Iterable[str], names: Mapping[str, str]) -> tuple[bytes, dict[str, int]]:
    """The renamed twin of every string, NUL-terminated, and where each one starts."""
    blob = bytearray()
    offsets: dict[str, int] = {}
    for text in sorted(set(texts)):
        first, dot, rest = text.partition(".")
        offsets[text] = len(blob)
        blob += (names[first] + dot + rest).encode("ascii") + b"\x00"
    return bytes(blob), offsets


def _embedded(data: bytes, names: Mapping[str, str]) -> list[Occurrence]:
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


def _written(binary: Any, *config: Any) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "module")
        binary.write(path, *config)
        with open(path, "rb") as fh:
            return fh.read()


def _packed_cython_strings(data: bytes) -> bool:
    """Cython 3.1+ (its ABI module name says so), or compressed string data (its error message
    is in the binary even where no ABI name is, e.g. a compiled package ``__init__``)."""
    abi = _CYTHON_ABI.search(data)
    if abi is not None and (int(abi[1]), int(abi[2])) >= (3, 1):
        return True
    return b"cython_runtime\x00" in data and b" string data decompression failed\x00" in data


def _init_kind(imported: set[str]) -> Literal["single-phase", "multi-phase", "unknown"]:
    if "PyModuleDef_Init" in imported:
        return "multi-phase"
    return "single-phase" if "PyModule_Create2" in imported else "unknown"


# ---- finding code references -------------------------------------------------------------------


def _rip_references(
    code: bytes, base: int, targets: Mapping[int, str], found: dict[int, list[tuple[int, int, int]]]
) -> None:
    """x86-64: every RIP-relative operand in ``code`` (at address ``base``) that lands on one of
    ``targets``, as (instruction address, size, offset of its 32-bit displacement).

    capstone's "lite" disassembly (no operand details) is several times faster; the displacement
    is read from the operand text and located in the instruction's bytes. SKIPDATA: a linear
    sweep must not stop at bytes that are not instructions (MSVC puts data in ``.text``).
    """
    import capstone

    disassembler = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    disassembler.skipdata = True
    for address, size, _mnemonic, operands in disassembler.disasm_lite(code, base):
        match = _RIP_OPERAND.search(operands)
        if match is None:
            continue
        disp = int(match[2], 0) * (-1 if match[1] == "-" else 1)
        target = address + size + disp
        if target not in targets:
            continue
        start = address - base
        offset = code.find(disp.to_bytes(4, "little", signed=True), start + 1, start + size) - start
        if offset > 0:
            found.setdefault(target, []).append((address, size, offset))


def _adrp_add_pairs(
    code: bytes, base: int, targets: Mapping[int, str]
) -> tuple[dict[int, list[tuple[int, int]]], set[int], set[int]]:
    """arm64: ``adrp xN, page`` + ``add xM, xN, #pageoff`` pairs that compute one of ``targets``,
    as (adrp address, add address) per target. Also: targets read by a load or store through an
    ``adrp`` (a reference that cannot be repointed), and pages of targets reached by an ``adrp``
    whose register no decodable instruction consumes (what refers to those cannot be told)."""
    pages = {t & ~0xFFF for t in targets}
    ends = {t: t + len(text) for t, text in targets.items()}
    pending: dict[int, tuple[int, int]] = {}  # register -> (adrp address, page)
    pairs: dict[int, list[tuple[int, int]]] = {}
    loaded: set[int] = set()
    consumed: set[int] = set()
    opened: dict[int, int] = {}  # adrp address -> page, for pages holding targets
    for i in range(0, len(code) - 3, 4):
        word = int.from_bytes(code[i : i + 4], "little")
        pc = base + i
        if word & 0x9F000000 == 0x90000000:  # ADRP
            imm = (((word >> 5) & 0x7FFFF) << 2) | ((word >> 29) & 3)
            imm -= (1 << 21) if imm & (1 << 20) else 0
            page = (pc & ~0xFFF) + (imm << 12)
            pending[word & 0x1F] = (pc, page)
            if page in pages:
                opened[pc] = page
        elif word & 0xFFC00000 == 0x91000000:  # ADD (immediate, 64-bit, unshifted)
            source = pending.get((word >> 5) & 0x1F)
            if source is not None and pc - source[0] <= _ADRP_REACH:
                consumed.add(source[0])
                target = source[1] + ((word >> 10) & 0xFFF)
                if target in targets:
                    pairs.setdefault(target, []).append((source[0], pc))
            pending.pop(word & 0x1F, None)  # the destination no longer holds a page
        elif word & 0x3B000000 == 0x39000000:  # LDR/STR (unsigned immediate), any size
            source = pending.get((word >> 5) & 0x1F)
            if source is not None and pc - source[0] <= _ADRP_REACH:
                consumed.add(source[0])
                address = source[1] + ((word >> 10) & 0xFFF) * (1 << (word >> 30))
                loaded.update(t for t, end in ends.items() if t <= address <= end)
            if word & 0x00400000:  # a load: its destination is overwritten
                pending.pop(word & 0x1F, None)
    unclear = {page for pc, page in opened.items() if pc not in consumed}
    return pairs, loaded, unclear


def _patch_adrp_add(binary: Any, adrp: int, add: int, target: int) -> None:
    """Re-encode an ``adrp``/``add`` pair so that it computes ``target``."""
    word = int.from_bytes(bytes(binary.get_content_from_virtual_address(adrp, 4)), "little")
    delta = ((target & ~0xFFF) - (adrp & ~0xFFF)) >> 12
    word = (word & 0x9F00001F) | ((delta & 3) << 29) | (((delta >> 2) & 0x7FFFF) << 5)
    binary.patch_address(adrp, list(word.to_bytes(4, "little")))
    word = int.from_bytes(bytes(binary.get_content_from_virtual_address(add, 4)), "little")
    word = (word & ~(0xFFF << 10)) | ((target & 0xFFF) << 10)
    binary.patch_address(add, list(word.to_bytes(4, "little")))


# ---- one view per format: names, and what refers to them ---------------------------------------


class _View:
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
                _patch_adrp_add(self.binary, adrp, add, new)


class _ElfView(_View):
    """ELF: pointers are ``R_X86_64_RELATIVE`` relocations whose addend is the string."""

    def __init__(self, binary: Any, names: Mapping[str, str]) -> None:
        super().__init__(binary)
        lief = _lief()
        flags = lief.ELF.Section.FLAGS
        self.analyzable = binary.header.machine_type == lief.ELF.ARCH.X86_64
        self.strings = _find_names(
            (
                (s.virtual_address, bytes(s.content))
                for s in binary.sections
                if s.has(flags.ALLOC) and not s.has(flags.EXECINSTR) and s.type != lief.ELF.Section.TYPE.NOBITS
            ),
            names,
        )
        for reloc in binary.dynamic_relocations:
            if reloc.type == lief.ELF.Relocation.TYPE.X86_64_RELATIVE and reloc.addend in self.strings:
                self.pointers.setdefault(reloc.addend, []).append(reloc)
        if self.analyzable and self.strings:
            for section in binary.sections:
                if section.has(flags.EXECINSTR) and section.size:
                    _rip_references(bytes(section.content), section.virtual_address, self.strings, self.rip)

    def write_pointer(self, where: Any, new: int) -> None:
        where.addend = new


class _PeView(_View):
    """PE, in relative virtual addresses: pointers are absolute addresses listed in the base
    relocations (DIR64)."""

    def __init__(self, binary: Any, names: Mapping[str, str]) -> None:
        super().__init__(binary)
        lief = _lief()
        self.analyzable = binary.header.machine == lief.PE.Header.MACHINE_TYPES.AMD64
        self.imagebase = binary.optional_header.imagebase
        execute = lief.PE.Section.CHARACTERISTICS.MEM_EXECUTE
        self.strings = _find_names(
            (
                (s.virtual_address, bytes(s.content))
                for s in binary.sections
                if not s.has_characteristic(execute) and s.name not in (".reloc", ".rsrc", ".pdata")
            ),
            names,
        )
        rva = lief.Binary.VA_TYPES.RVA
        for block in binary.relocations if self.strings else ():
            for entry in block.entries:
                if entry.type != lief.PE.RelocationEntry.BASE_TYPES.DIR64:
                    continue
                where = block.virtual_address + entry.position
                raw = bytes(binary.get_content_from_virtual_address(where, 8, rva))
                target = int.from_bytes(raw, "little") - self.imagebase if len(raw) == 8 else -1
                if target in self.strings:
                    self.pointers.setdefault(target, []).append(where)
        if self.analyzable and self.strings:
            for section in binary.sections:
                if section.has_characteristic(execute) and section.size:
                    _rip_references(bytes(section.content), section.virtual_address, self.strings, self.rip)

    def write_pointer(self, where: Any, new: int) -> None:
        value = (self.imagebase + new).to_bytes(8, "little")
        self.binary.patch_address(where, list(value), _lief().Binary.VA_TYPES.RVA)


class _MachOView(_View):
    """Thin Mach-O: pointers listed by the rebase information; code references as arm64
    ``adrp``/``add`` pairs or x86-64 RIP-relative operands."""

    def __init__(self, binary: Any, names: Mapping[str, str]) -> None:
        super().__init__(binary)
        lief = _lief()
        cpu = binary.header.cpu_type
        arm64 = cpu == lief.MachO.Header.CPU_TYPE.ARM64
        self.chained = binary.has_dyld_chained_fixups
        self.analyzable = (arm64 or cpu == lief.MachO.Header.CPU_TYPE.X86_64) and not self.chained
        code_flag = lief.MachO.Section.FLAGS.PURE_INSTRUCTIONS
        regions = [
            (s.virtual_address, bytes(s.content))
            for s in binary.sections
            if not s.has(code_flag) and s.segment_name != "__LINKEDIT" and s.size
        ]
        # the segment a previous patch added holds strings but no sections
        regions += [(s.virtual_address, bytes(s.content)) for s in binary.segments if s.name == _MACHO_SEGMENT]
        self.strings = _find_names(regions, names)
        for reloc in binary.relocations if self.strings and not self.chained else ():
            if not isinstance(reloc, lief.MachO.RelocationDyld) or reloc.size != 64:
                continue
            raw = bytes(binary.get_content_from_virtual_address(reloc.address, 8))
            target = int.from_bytes(raw, "little") if len(raw) == 8 else -1
            if target in self.strings:
                self.pointers.setdefault(target, []).append(reloc.address)
        unclear_pages: set[int] = set()
        for section in binary.sections if self.strings else ():
            if not section.has(code_flag) or not section.size:
                continue
            if arm64:
                pairs, loaded, unclear = _adrp_add_pairs(bytes(section.content), section.virtual_address, self.strings)
                for target, found in pairs.items():
                    self.pairs.setdefault(target, []).extend(found)
                self.opaque |= loaded
                unclear_pages |= unclear
            else:
                _rip_references(bytes(section.content), section.virtual_address, self.strings, self.rip)
        # A string on a page some adrp reaches for an unknown purpose, with no reference of its
        # own found, may still be referenced: it cannot be called unreferenced.
        self.opaque |= {
            a for a in self.strings
            if a & ~0xFFF in unclear_pages and a not in self.pointers and a not in self.pairs and a not in self.rip
        }  # fmt: skip

    def write_pointer(self, where: Any, new: int) -> None:
        self.binary.patch_address(where, list(new.to_bytes(8, "little")))


# ---- inspection --------------------------------------------------------------------------------


def _parse_elf(data: bytes, member: str) -> Any:
    binary = _lief().ELF.parse(io.BytesIO(data))
    if binary is None or not binary.sections:
        raise NativeError(f"{member}: not a readable ELF file")
    return binary


def _parse_macho(data: bytes, member: str) -> tuple[Any, int]:
    """The first (or only) image of a Mach-O file, and how many architectures the file holds."""
    fat = _lief().MachO.parse(io.BytesIO(data))
    if fat is None or fat.size == 0:
        raise NativeError(f"{member}: not a readable Mach-O file")
    return fat.at(0), fat.size


def _parse_pe(data: bytes, member: str) -> Any:
    binary = _lief().PE.parse(io.BytesIO(data))
    if binary is None:
        raise NativeError(f"{member}: not a readable PE file")
    return binary


def inspect_native(data: bytes, member: str, names: Mapping[str, str]) -> NativeModule:
    """Inspect one compiled module for the renamed ``names`` (old top-level name -> new)."""
    fmt = _format_of(data)
    if fmt == "unknown":
        return NativeModule(member, fmt, "?", (), "unknown", problems=("not a compiled module in a known format",))
    problems: list[str] = []
    view: _View
    try:
        if fmt == "ELF":
            binary = _parse_elf(data, member)
            arch = str(binary.header.machine_type).rsplit(".", 1)[-1]
            dynamic = [s for s in binary.dynamic_symbols if s.name]
            exported = {s.name for s in dynamic if s.value}
            imported = {s.name for s in dynamic if not s.value}
            view = _ElfView(binary, names)
        elif fmt == "Mach-O":
            binary, archs = _parse_macho(data, member)
            arch = str(binary.header.cpu_type).rsplit(".", 1)[-1]
            exported = {s.name.removeprefix("_") for s in binary.exported_symbols}
            imported = {s.name.removeprefix("_") for s in binary.imported_symbols}
            view = _MachOView(binary, names)
            if archs > 1:
                problems.append("universal (fat) Mach-O files are not patched yet")
            if view.chained:
                problems.append("Mach-O chained fixups are not patched yet")
        else:
            binary = _parse_pe(data, member)
            arch = str(binary.header.machine).rsplit(".", 1)[-1]
            exported = {e.name for e in binary.get_export().entries} if binary.has_exports else set()
            imported = {e.name for lib in binary.imports for e in lib.entries if e.name}
            view = _PeView(binary, names)
    except NativeError as exc:
        return NativeModule(member, fmt, "?", (), "unknown", problems=(str(exc).split(": ", 1)[-1],))
    inits = tuple(sorted(n for n in exported if n.startswith("PyInit_")))
    if not inits:
        problems.insert(0, "exports no PyInit_ function: not a Python extension module")
    if not view.analyzable and not problems:
        problems.append(f"code references cannot be followed in {fmt} for {arch}")
    occurrences = view.occurrences() + _embedded(data, names)
    if _packed_cython_strings(data):
        # Cython 3.1+ keeps every string constant (module names in imports included) in one
        # packed, possibly compressed, table with lengths compiled in: nothing in it can be
        # found reliably or grown in place.
        occurrences.append(Occurrence(PACKED_TABLE, "packed", 0))
    return NativeModule(member, fmt, arch, inits, _init_kind(imported), tuple(occurrences), tuple(problems))


# ---- patching ----------------------------------------------------------------------------------


def _patch_elf(data: bytes, member: str, names: Mapping[str, str], init: tuple[str, str] | None) -> bytes:
    lief = _lief()
    binary = _parse_elf(data, member)
    blob, offsets = _renamed_blob(_ElfView(binary, names).strings.values(), names)
    if blob:
        segment = lief.ELF.Segment()
        segment.type = lief.ELF.Segment.TYPE.LOAD
        segment.flags = lief.ELF.Segment.FLAGS.R
        segment.alignment = 0x1000
        segment.content = list(blob)
        # Adding a segment may move the whole image: find every address again afterwards.
        base = binary.add(segment).virtual_address
        _ElfView(binary, names).repoint(base, offsets)
    if init is not None:
        symbol = binary.get_dynamic_symbol(f"PyInit_{init[0]}")
        if symbol is None:
            raise NativeError(f"{member}: exports no PyInit_{init[0]}")
        symbol.name = f"PyInit_{init[1]}"
    return bytes(binary.write_to_bytes())


def _patch_pe(data: bytes, member: str, names: Mapping[str, str], init: tuple[str, str] | None) -> bytes:
    """Renamed strings in an added ``.mvstr`` section (appended: nothing moves); export table
    rebuilt, its names kept sorted; checksum cleared."""
    lief = _lief()
    binary = _parse_pe(data, member)
    view = _PeView(binary, names)
    blob, offsets = _renamed_blob(view.strings.values(), names)
    if blob:
        section = lief.PE.Section(".mvstr")
        section.content = list(blob)
        section.characteristics = int(
            lief.PE.Section.CHARACTERISTICS.MEM_READ | lief.PE.Section.CHARACTERISTICS.CNT_INITIALIZED_DATA
        )
        base = binary.add_section(section).virtual_address
        view.repoint(base, offsets, lief.Binary.VA_TYPES.RVA)
    if init is not None:
        entries = (
            [e for e in binary.get_export().entries if e.name == f"PyInit_{init[0]}"] if binary.has_exports else []
        )
        if not entries:
            raise NativeError(f"{member}: exports no PyInit_{init[0]}")
        for entry in entries:
            entry.name = f"PyInit_{init[1]}"
    binary.optional_header.checksum = 0
    config = lief.PE.Builder.config_t()
    config.exports = True
    return _written(binary, config)


def _patch_macho(data: bytes, member: str, names: Mapping[str, str], init: tuple[str, str] | None) -> bytes:
    """Renamed strings in an added read-only ``__MVSTR`` segment; ``PyInit_`` renamed in the
    symbol table and the exports; the code signature removed (to be re-signed on macOS)."""
    lief = _lief()
    binary, archs = _parse_macho(data, member)
    if archs != 1:
        raise NativeError(f"{member}: only single-architecture Mach-O files are patched")
    blob, offsets = _renamed_blob(_MachOView(binary, names).strings.values(), names)
    if blob:
        segment = lief.MachO.SegmentCommand(_MACHO_SEGMENT, list(blob))
        segment.init_protection = 1  # read-only
        segment.max_protection = 1
        base = binary.add(segment).virtual_address
        _MachOView(binary, names).repoint(base, offsets)  # adding may move things: look again
    if init is not None:
        symbol = binary.get_symbol(f"_PyInit_{init[0]}")
        if symbol is None:
            raise NativeError(f"{member}: exports no PyInit_{init[0]}")
        address = symbol.value
        binary.unexport(f"_PyInit_{init[0]}")
        binary.add_exported_function(address, f"_PyInit_{init[1]}")
        for sym in binary.symbols:
            if sym.name == f"_PyInit_{init[0]}":
                sym.name = f"_PyInit_{init[1]}"
    binary.remove_signature()
    return _written(binary)


def patch_native(data: bytes, member: str, names: Mapping[str, str], init_rename: tuple[str, str] | None) -> bytes:
    """Apply every patch to one binary in one batch: renamed strings added, every reference
    repointed, ``PyInit_`` renamed. The caller has checked :func:`inspect_native`'s verdict."""
    patchers = {"ELF": _patch_elf, "PE": _patch_pe, "Mach-O": _patch_macho}
    fmt = _format_of(data)
    if fmt not in patchers:
        raise NativeError(f"{member}: not a compiled module in a known format")
    return patchers[fmt](data, member, names, init_rename)
