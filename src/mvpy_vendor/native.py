"""Compiled extension modules: find the names baked into them, and patch them as one batch.

What a renamed copy's compiled module must change:
* the exported ``PyInit_<name>`` symbol, when the last component of the module's name changes;
* every NUL-terminated string that names a renamed module (``m_name``, ``tp_name``, exception
  names, ``PyImport_ImportModule("foo.bar")`` arguments). Strings cannot grow in place, so the new
  strings go into a segment added to the binary and every reference is repointed: relocated
  pointers (``R_X86_64_RELATIVE`` addends) and, on x86-64, RIP-relative code references
  (found by disassembling executable sections with capstone).

Supported for patching: ELF x86-64. Other formats and architectures are inspected (format,
architecture, init symbols) and reported as not patchable. LIEF and capstone are imported only
when a compiled module has to be looked at.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "NativeError",
    "NativeModule",
    "Occurrence",
    "inspect_native",
    "module_name_of",
    "patch_native",
    "rename_init",
]

Kind = Literal["relocated", "code", "unreferenced", "unknown", "packed"]
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
    def why_not(self) -> str:
        if self.kind == "packed":
            return "built with Cython 3.1+, whose packed string table (module names in imports) cannot be patched"
        return f"{self.text!r} is referenced in a way that cannot be followed here (format or architecture)"

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "kind": self.kind, "references": self.references, "patchable": self.patchable}


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
        return not self.problems and all(o.patchable for o in self.occurrences)

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


def module_name_of(member: str) -> str:
    """``pkg/_speedups.cpython-311-x86_64-linux-gnu.so`` -> ``pkg._speedups``; ``pkg/__init__...so`` -> ``pkg``."""
    parts = member.split("/")
    parts[-1] = parts[-1].split(".", 1)[0]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _pattern(names: Mapping[str, str]) -> re.Pattern[bytes]:
    words = b"|".join(re.escape(n.encode()) for n in sorted(names, key=len, reverse=True))
    return re.compile(rb"(?<![\w.])(?:" + words + rb")(?:\.[\w.]*)?\x00")


class _PeView:
    """The same as :class:`_ElfView` for a PE image (x64), in relative virtual addresses:
    pointers are absolute addresses listed in the base relocations (DIR64)."""

    def __init__(self, binary: Any, names: Mapping[str, str]) -> None:
        lief = _lief()
        self.binary = binary
        self.x86_64 = binary.header.machine == lief.PE.Header.MACHINE_TYPES.AMD64
        self.imagebase = binary.optional_header.imagebase
        execute = lief.PE.Section.CHARACTERISTICS.MEM_EXECUTE
        self.strings: dict[int, str] = {}
        pattern = _pattern(names)
        for section in binary.sections if names else ():
            if section.has_characteristic(execute) or section.name in (".reloc", ".rsrc", ".pdata"):
                continue
            for match in pattern.finditer(bytes(section.content)):
                self.strings[section.virtual_address + match.start()] = match.group()[:-1].decode("ascii")
        # pointer location (RVA) per string RVA
        self.pointers: dict[int, list[int]] = {}
        if self.strings:
            for block in binary.relocations:
                for entry in block.entries:
                    if entry.type != lief.PE.RelocationEntry.BASE_TYPES.DIR64:
                        continue
                    where = block.virtual_address + entry.position
                    raw = bytes(binary.get_content_from_virtual_address(where, 8, lief.Binary.VA_TYPES.RVA))
                    target = int.from_bytes(raw, "little") - self.imagebase if len(raw) == 8 else -1
                    if target in self.strings:
                        self.pointers.setdefault(target, []).append(where)
        self.code: dict[int, list[tuple[int, int, int]]] = {}
        if self.x86_64 and self.strings:
            for section in binary.sections:
                if section.has_characteristic(execute) and section.size:
                    _rip_references(bytes(section.content), section.virtual_address, self.strings, self.code)

    def occurrences(self) -> list[Occurrence]:
        found = []
        for address, text in sorted(self.strings.items()):
            pointers, code = len(self.pointers.get(address, ())), len(self.code.get(address, ()))
            kind: Kind
            if not self.x86_64:
                kind = "unknown"
            elif code:
                kind = "code"
            else:
                kind = "relocated" if pointers else "unreferenced"
            found.append(Occurrence(text, kind, pointers + code))
        return found


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


class _MachOView:
    """Names in a thin Mach-O image: pointers listed by the rebase information, and code
    references (arm64 ``adrp``/``add`` pairs, x86-64 RIP-relative operands)."""

    def __init__(self, binary: Any, names: Mapping[str, str]) -> None:
        lief = _lief()
        self.binary = binary
        cpu = binary.header.cpu_type
        self.arm64 = cpu == lief.MachO.Header.CPU_TYPE.ARM64
        self.x86_64 = cpu == lief.MachO.Header.CPU_TYPE.X86_64
        self.chained = binary.has_dyld_chained_fixups
        code_flag = lief.MachO.Section.FLAGS.PURE_INSTRUCTIONS
        self.strings: dict[int, str] = {}
        pattern = _pattern(names)
        regions = [
            (s.virtual_address, bytes(s.content))
            for s in (binary.sections if names else ())
            if not s.has(code_flag) and s.segment_name != "__LINKEDIT" and s.size
        ]
        # the segment a previous patch added holds strings but no sections
        regions += [
            (s.virtual_address, bytes(s.content)) for s in binary.segments if names and s.name == _MACHO_SEGMENT
        ]
        for start, content in regions:
            for match in pattern.finditer(content):
                self.strings[start + match.start()] = match.group()[:-1].decode("ascii")
        self.pointers: dict[int, list[int]] = {}
        if self.strings and not self.chained:
            for reloc in binary.relocations:
                if not isinstance(reloc, lief.MachO.RelocationDyld) or reloc.size != 64:
                    continue
                raw = bytes(binary.get_content_from_virtual_address(reloc.address, 8))
                target = int.from_bytes(raw, "little") if len(raw) == 8 else -1
                if target in self.strings:
                    self.pointers.setdefault(target, []).append(reloc.address)
        self.pairs: dict[int, list[tuple[int, int]]] = {}
        self.rip: dict[int, list[tuple[int, int, int]]] = {}
        self.loaded: set[int] = set()
        self.unclear_pages: set[int] = set()
        for section in binary.sections if self.strings else ():
            if not section.has(code_flag) or not section.size:
                continue
            if self.arm64:
                pairs, loaded, unclear = _adrp_add_pairs(bytes(section.content), section.virtual_address, self.strings)
                for target, found in pairs.items():
                    self.pairs.setdefault(target, []).extend(found)
                self.loaded |= loaded
                self.unclear_pages |= unclear
            elif self.x86_64:
                _rip_references(bytes(section.content), section.virtual_address, self.strings, self.rip)

    def occurrences(self) -> list[Occurrence]:
        found = []
        for address, text in sorted(self.strings.items()):
            pointers = len(self.pointers.get(address, ()))
            code = len(self.pairs.get(address, ())) + len(self.rip.get(address, ()))
            kind: Kind
            if self.chained or not (self.arm64 or self.x86_64) or address in self.loaded:
                kind = "unknown"
            elif code:
                kind = "code"
            elif pointers:
                kind = "relocated"
            else:
                kind = "unknown" if address & ~0xFFF in self.unclear_pages else "unreferenced"
            found.append(Occurrence(text, kind, pointers + code))
        return found


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


class _ElfView:
    """Strings naming renamed modules in a parsed ELF, and everything that refers to them."""

    def __init__(self, binary: Any, names: Mapping[str, str]) -> None:
        lief = _lief()
        self.binary = binary
        self.lief = lief
        self.x86_64 = binary.header.machine_type == lief.ELF.ARCH.X86_64
        flags = lief.ELF.Section.FLAGS
        self.strings: dict[int, str] = {}
        pattern = _pattern(names)
        for section in binary.sections if names else ():
            if (
                not section.has(flags.ALLOC)
                or section.has(flags.EXECINSTR)
                or section.type == lief.ELF.Section.TYPE.NOBITS
            ):
                continue
            for match in pattern.finditer(bytes(section.content)):
                self.strings[section.virtual_address + match.start()] = match.group()[:-1].decode("ascii")
        self.relocations: dict[int, list[Any]] = {}
        for reloc in binary.dynamic_relocations:
            if reloc.type == lief.ELF.Relocation.TYPE.X86_64_RELATIVE and reloc.addend in self.strings:
                self.relocations.setdefault(reloc.addend, []).append(reloc)
        # (instruction address, instruction size, displacement offset) per string address
        self.code: dict[int, list[tuple[int, int, int]]] = {}
        if self.x86_64 and self.strings:
            self._find_code_references()

    def _find_code_references(self) -> None:
        flags = self.lief.ELF.Section.FLAGS
        for section in self.binary.sections:
            if section.has(flags.EXECINSTR) and section.size:
                _rip_references(bytes(section.content), section.virtual_address, self.strings, self.code)

    def occurrences(self) -> list[Occurrence]:
        found = []
        for address, text in sorted(self.strings.items()):
            relocs, code = len(self.relocations.get(address, ())), len(self.code.get(address, ()))
            kind: Kind
            if not self.x86_64 and not relocs:
                kind = "unknown"  # code references cannot be followed on this architecture
            elif code:
                kind = "code" if self.x86_64 else "unknown"
            elif relocs:
                kind = "relocated"
            else:
                kind = "unreferenced"
            found.append(Occurrence(text, kind, relocs + code))
        return found


def _packed_cython_strings(data: bytes) -> bool:
    """Cython 3.1+ (its ABI module name says so), or compressed string data (its error message
    is in the binary even where no ABI name is, e.g. a compiled package ``__init__``)."""
    abi = _CYTHON_ABI.search(data)
    if abi is not None and (int(abi[1]), int(abi[2])) >= (3, 1):
        return True
    return b"cython_runtime\x00" in data and b" string data decompression failed\x00" in data


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


def _parse_elf(data: bytes, member: str) -> Any:
    lief = _lief()
    binary = lief.ELF.parse(io.BytesIO(data))
    if binary is None or not binary.sections:
        raise NativeError(f"{member}: not a readable ELF file")
    return binary


def _init_kind(imported: set[str]) -> Literal["single-phase", "multi-phase", "unknown"]:
    if "PyModuleDef_Init" in imported:
        return "multi-phase"
    return "single-phase" if "PyModule_Create2" in imported else "unknown"


def _inspect_other(data: bytes, member: str, fmt: str, names: Mapping[str, str]) -> NativeModule:
    """Mach-O (thin) and PE: exports, init kind, and every name with what refers to it."""
    lief = _lief()
    view: _MachOView | _PeView
    problems: list[str] = []
    if fmt == "Mach-O":
        fat = lief.MachO.parse(io.BytesIO(data))
        if fat is None or fat.size == 0:
            return NativeModule(member, fmt, "?", (), "unknown", problems=("not a readable Mach-O file",))
        binary = fat.at(0)
        arch = "+".join(str(fat.at(i).header.cpu_type).rsplit(".", 1)[-1] for i in range(fat.size))
        exported = {s.name[1:] if s.name.startswith("_") else s.name for s in binary.exported_symbols}
        imported = {s.name[1:] if s.name.startswith("_") else s.name for s in binary.imported_symbols}
        view = _MachOView(binary, names)
        if fat.size > 1:
            problems.append("universal (fat) Mach-O files are not patched yet")
        if view.chained:
            problems.append("Mach-O chained fixups are not patched yet")
        if not (view.arm64 or view.x86_64):
            problems.append(f"patching code references is supported on arm64 and x86-64 only, not {arch}")
    else:
        binary = lief.PE.parse(io.BytesIO(data))
        if binary is None:
            return NativeModule(member, fmt, "?", (), "unknown", problems=("not a readable PE file",))
        arch = str(binary.header.machine).rsplit(".", 1)[-1]
        exported = {e.name for e in binary.get_export().entries} if binary.has_exports else set()
        imported = {e.name for lib in binary.imports for e in lib.entries if e.name}
        view = _PeView(binary, names)
        if not view.x86_64:
            problems.append(f"patching code references is supported on x64 only, not {arch}")
    inits = tuple(sorted(n for n in exported if n.startswith("PyInit_")))
    if not inits:
        problems.insert(0, "exports no PyInit_ function: not a Python extension module")
    occurrences = tuple(view.occurrences())
    return NativeModule(member, fmt, arch, inits, _init_kind(imported), occurrences, tuple(problems))


def inspect_native(data: bytes, member: str, names: Mapping[str, str]) -> NativeModule:
    """Inspect one compiled module for the renamed ``names`` (old top-level name -> new)."""
    fmt = _format_of(data)
    if fmt == "unknown":
        return NativeModule(member, fmt, "?", (), "unknown", problems=("not a compiled module in a known format",))
    if fmt != "ELF":
        return _inspect_other(data, member, fmt, names)
    try:
        binary = _parse_elf(data, member)
    except NativeError as exc:
        return NativeModule(member, "ELF", "?", (), "unknown", problems=(str(exc).split(": ", 1)[-1],))
    arch = str(binary.header.machine_type).rsplit(".", 1)[-1]
    dynamic = [s for s in binary.dynamic_symbols if s.name]
    exported = sorted({s.name for s in dynamic if s.name.startswith("PyInit_") and s.value})
    imported = {s.name for s in dynamic if not s.value}
    init_kind = _init_kind(imported)
    problems = [] if exported else ["exports no PyInit_ function: not a Python extension module"]
    view = _ElfView(binary, names)
    occurrences = view.occurrences()
    if _packed_cython_strings(data):
        # Cython 3.1+ keeps every string constant (module names in imports included) in one
        # packed, possibly compressed, table with lengths compiled in: nothing in it can be
        # found reliably or grown in place.
        occurrences.append(Occurrence(PACKED_TABLE, "packed", 0))
    if not view.x86_64:
        problems.append(f"patching code references is supported on x86-64 only, not {arch}")
    return NativeModule(member, "ELF", arch, tuple(exported), init_kind, tuple(occurrences), tuple(problems))


def _repoint_macho_strings(data: bytes, member: str, names: Mapping[str, str]) -> bytes:
    """Thin Mach-O: renamed strings in an added read-only segment; rebased pointers, arm64
    ``adrp``/``add`` pairs and x86-64 RIP-relative operands repointed; code signature removed."""
    lief = _lief()
    fat = lief.MachO.parse(io.BytesIO(data))
    if fat is None or fat.size != 1:
        raise NativeError(f"{member}: only single-architecture Mach-O files are patched")
    binary = fat.at(0)
    view = _MachOView(binary, names)
    if not view.strings:
        return data
    blob = bytearray()
    offsets: dict[str, int] = {}
    for text in sorted(set(view.strings.values())):
        first, dot, rest = text.partition(".")
        offsets[text] = len(blob)
        blob += (names[first] + dot + rest).encode("ascii") + b"\x00"
    segment = lief.MachO.SegmentCommand(_MACHO_SEGMENT, list(blob))
    segment.init_protection = 1  # read-only
    segment.max_protection = 1
    base = binary.add(segment).virtual_address
    view = _MachOView(binary, names)  # adding a segment may move things: look again
    for address, text in view.strings.items():
        new = base + offsets[text]
        for where in view.pointers.get(address, ()):
            binary.patch_address(where, list(new.to_bytes(8, "little")))
        for adrp, add in view.pairs.get(address, ()):
            _patch_adrp_add(binary, adrp, add, new)
        for insn, size, disp_offset in view.rip.get(address, ()):
            binary.patch_address(insn + disp_offset, list((new - (insn + size)).to_bytes(4, "little", signed=True)))
    binary.remove_signature()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "module")
        binary.write(path)
        with open(path, "rb") as fh:
            return fh.read()


def _patch_adrp_add(binary: Any, adrp: int, add: int, target: int) -> None:
    """Re-encode an ``adrp``/``add`` pair so that it computes ``target``."""
    word = int.from_bytes(bytes(binary.get_content_from_virtual_address(adrp, 4)), "little")
    delta = ((target & ~0xFFF) - (adrp & ~0xFFF)) >> 12
    word = (word & 0x9F00001F) | ((delta & 3) << 29) | (((delta >> 2) & 0x7FFFF) << 5)
    binary.patch_address(adrp, list(word.to_bytes(4, "little")))
    word = int.from_bytes(bytes(binary.get_content_from_virtual_address(add, 4)), "little")
    word = (word & ~(0xFFF << 10)) | ((target & 0xFFF) << 10)
    binary.patch_address(add, list(word.to_bytes(4, "little")))


def _repoint_pe_strings(data: bytes, member: str, names: Mapping[str, str]) -> bytes:
    """PE x64: renamed strings in a new read-only section; pointers and RIP-relative code repointed."""
    lief = _lief()
    binary = lief.PE.parse(io.BytesIO(data))
    view = _PeView(binary, names)
    if not view.strings:
        return data
    blob = bytearray()
    offsets: dict[str, int] = {}
    for text in sorted(set(view.strings.values())):
        first, dot, rest = text.partition(".")
        offsets[text] = len(blob)
        blob += (names[first] + dot + rest).encode("ascii") + b"\x00"
    section = lief.PE.Section(".mvstr")
    section.content = list(blob)
    section.characteristics = int(
        lief.PE.Section.CHARACTERISTICS.MEM_READ | lief.PE.Section.CHARACTERISTICS.CNT_INITIALIZED_DATA
    )
    base = binary.add_section(section).virtual_address  # appended: existing addresses do not move
    rva = lief.Binary.VA_TYPES.RVA
    for address, text in view.strings.items():
        new = base + offsets[text]
        for where in view.pointers.get(address, ()):
            binary.patch_address(where, list((view.imagebase + new).to_bytes(8, "little")), rva)
        for insn, size, disp_offset in view.code.get(address, ()):
            binary.patch_address(
                insn + disp_offset, list((new - (insn + size)).to_bytes(4, "little", signed=True)), rva
            )
    binary.optional_header.checksum = 0
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "module")
        binary.write(path)
        with open(path, "rb") as fh:
            return fh.read()


def rename_init(data: bytes, member: str, old: str, new: str) -> bytes:
    """Rename ``PyInit_<old>`` in a Mach-O (symbol table and exports; the code signature is
    removed) or PE (export table rebuilt, names kept sorted, checksum cleared) binary."""
    lief = _lief()
    fmt = _format_of(data)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "module")
        if fmt == "Mach-O":
            fat = lief.MachO.parse(io.BytesIO(data))
            if fat is None or fat.size != 1:
                raise NativeError(f"{member}: only single-architecture Mach-O files are patched")
            macho = fat.at(0)
            symbol = macho.get_symbol(f"_PyInit_{old}")
            if symbol is None:
                raise NativeError(f"{member}: exports no PyInit_{old}")
            address = symbol.value
            macho.unexport(f"_PyInit_{old}")
            macho.add_exported_function(address, f"_PyInit_{new}")
            for sym in macho.symbols:
                if sym.name == f"_PyInit_{old}":
                    sym.name = f"_PyInit_{new}"
            macho.remove_signature()
            macho.write(path)
        elif fmt == "PE":
            pe = lief.PE.parse(io.BytesIO(data))
            if pe is None or not pe.has_exports:
                raise NativeError(f"{member}: not a PE file with exports")
            entries = [e for e in pe.get_export().entries if e.name == f"PyInit_{old}"]
            if not entries:
                raise NativeError(f"{member}: exports no PyInit_{old}")
            for entry in entries:
                entry.name = f"PyInit_{new}"
            pe.optional_header.checksum = 0
            config = lief.PE.Builder.config_t()
            config.exports = True
            pe.write(path, config)
        else:
            raise NativeError(f"{member}: {fmt} is not Mach-O or PE")
        with open(path, "rb") as fh:
            return fh.read()


def patch_native(data: bytes, member: str, names: Mapping[str, str], init_rename: tuple[str, str] | None) -> bytes:
    """Apply every patch in one batch: new strings in an added segment, references repointed,
    ``PyInit_`` renamed. The caller has checked :func:`inspect_native`'s verdict."""
    lief = _lief()
    fmt = _format_of(data)
    if fmt == "PE" and names:
        data = _repoint_pe_strings(data, member, names)
    elif fmt == "Mach-O" and names:
        data = _repoint_macho_strings(data, member, names)
    if fmt in ("Mach-O", "PE"):
        return data if init_rename is None else rename_init(data, member, *init_rename)
    binary = _parse_elf(data, member)
    strings = sorted(set(_ElfView(binary, names).strings.values()))
    blob = bytearray()
    offsets: dict[str, int] = {}
    for text in strings:
        first, dot, rest = text.partition(".")
        offsets[text] = len(blob)
        blob += (names[first] + dot + rest).encode("ascii") + b"\x00"
    if blob:
        segment = lief.ELF.Segment()
        segment.type = lief.ELF.Segment.TYPE.LOAD
        segment.flags = lief.ELF.Segment.FLAGS.R
        segment.alignment = 0x1000
        segment.content = list(blob)
        # Adding a segment may move the whole image; find every address again afterwards.
        base = binary.add(segment).virtual_address
        view = _ElfView(binary, names)
        for address, text in view.strings.items():
            new = base + offsets[text]
            for reloc in view.relocations.get(address, ()):
                reloc.addend = new
            for insn, size, disp_offset in view.code.get(address, ()):
                disp = new - (insn + size)
                binary.patch_address(insn + disp_offset, list(disp.to_bytes(4, "little", signed=True)))
    if init_rename is not None:
        old, new_name = init_rename
        symbol = binary.get_dynamic_symbol(f"PyInit_{old}")
        if symbol is None:
            raise NativeError(f"{member}: exports no PyInit_{old}")
        symbol.name = f"PyInit_{new_name}"
    return bytes(binary.write_to_bytes())
