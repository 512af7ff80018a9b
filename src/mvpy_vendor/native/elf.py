"""ELF (Linux): inspected on any architecture, patched on x86-64."""

from __future__ import annotations

import io
import struct
from collections.abc import Collection, Mapping
from typing import Any

from mvpy_vendor.errors import NativeError

from ._binary import load_lief
from ._code import rip_references
from ._flow import Code, stubs
from ._view import Inspection, View, renamed_blob
from .check import check_elf, unshifted_nobits

__all__ = ["inspect", "ElfView", "parse", "patch"]


class ElfView(View):
    """ELF: pointers are ``R_X86_64_RELATIVE`` relocations whose addend is the string."""

    def __init__(self, binary: Any, names: Mapping[str, str], files: Collection[str] = ()) -> None:
        super().__init__(binary)
        lief = load_lief()
        flags = lief.ELF.Section.FLAGS
        self.analyzable = binary.header.machine_type == lief.ELF.ARCH.X86_64
        comment = binary.get_section(".comment")
        regions = [
            (s.virtual_address, bytes(s.content))
            for s in binary.sections
            if s.has(flags.ALLOC) and not s.has(flags.EXECINSTR) and s.type != lief.ELF.Section.TYPE.NOBITS
        ]
        # the segment a previous patch added holds strings but no section
        regions += [
            (g.virtual_address, bytes(g.content))
            for g in binary.segments
            if g.type == lief.ELF.Segment.TYPE.LOAD and not g.has(lief.ELF.Segment.FLAGS.X) and not list(g.sections)
        ]
        self.scan(
            regions,
            names,
            files,
            rust=comment is not None and b"rustc version " in bytes(comment.content),
        )
        # every start of a name (a Rust string has no NUL to find it by) and every table chunk
        targets = {**self.starts, **self.targets}
        if not targets:
            return
        relative = lief.ELF.Relocation.TYPE.X86_64_RELATIVE
        for reloc in binary.dynamic_relocations:
            self.slots[reloc.address] = reloc.addend if reloc.type == relative else -1
            if reloc.type == relative and reloc.addend in targets:
                self.pointers.setdefault(reloc.addend, []).append(reloc)
        if not self.analyzable:
            return
        self.code = _code(binary)
        self.find_arrays()
        targets.update((start, b"") for start in self.arrays)
        for section in binary.sections:
            if section.has(flags.EXECINSTR) and section.size:
                content, base = bytes(section.content), section.virtual_address
                rip_references(content, base, targets, self.rip, self.rip_lengths, self.sweep)

    def pointer_slot(self, where: Any) -> int:
        return int(where.address)

    def file_offset(self, address: int) -> int:
        return int(self.binary.virtual_address_to_offset(address))

    def write_pointer(self, where: Any, new: int) -> None:
        where.addend = new


def _code(binary: Any) -> Code:
    """The executable sections of an x86-64 ELF file, with the names of the functions it imports
    (through PLT stubs or GOT slots) and of its own (where its symbol tables name them)."""
    lief = load_lief()
    flags = lief.ELF.Section.FLAGS
    slots = {r.address: r.symbol.name for r in binary.relocations if r.has_symbol and r.symbol.name}
    sections = [(s.virtual_address, bytes(s.content)) for s in binary.sections if s.has(flags.EXECINSTR) and s.size]
    plt = [
        (a, c)
        for a, c in sections
        if any(s.virtual_address == a and s.name.startswith(".plt") for s in binary.sections)
    ]
    names = {
        s.value: s.name
        for s in binary.symbols
        if s.value and s.name and s.type == lief.ELF.Symbol.TYPE.FUNC
    }  # fmt: skip
    # A function the binary exports is called through its own PLT too (mypyc's CPy_TypeError):
    # it is read as one of the binary's functions, not as an import.
    own = {name: address for address, name in names.items()}
    imports = stubs(plt, slots, 16)
    redirects = {stub: own[name] for stub, name in imports.items() if name in own}
    slots = {slot: name for slot, name in slots.items() if name not in own}
    imports = {stub: name for stub, name in imports.items() if name not in own}
    return Code(sections, imports, slots, "sysv", names, redirects)


def parse(data: bytes, member: str) -> Any:
    binary = load_lief().ELF.parse(io.BytesIO(data))
    if binary is None or not binary.sections:
        raise NativeError(f"{member}: not a readable ELF file")
    return binary


def inspect(data: bytes, member: str, names: Mapping[str, str], files: Collection[str] = ()) -> Inspection:
    binary = parse(data, member)
    dynamic = [s for s in binary.dynamic_symbols if s.name]
    return Inspection(
        ElfView(binary, names, files),
        str(binary.header.machine_type).rsplit(".", 1)[-1],
        frozenset(s.name for s in dynamic if s.value),
        frozenset(s.name for s in dynamic if not s.value),
    )


def section_table_last(data: bytes) -> bytes:
    """``data`` with its section header table moved past every section and segment, if it is not.

    A linker writes the section header table last; patchelf (which auditwheel runs on every
    repaired wheel) appends segments after it. LIEF assumes the linker's layout: when it adds a
    segment it moves the table forward by what the file grew instead of past the new end, and
    on such a file wrote it over ``.gnu.hash`` (numpy 1.26's ``_multiarray_umath``). The copy
    at the end is what LIEF then reads and moves; the old one is left as unreferenced bytes
    outside every segment and section.
    """
    if data[4] != 2 or data[5] != 1:  # only 64-bit little-endian files are patched
        return data
    phoff, shoff = struct.unpack_from("<QQ", data, 0x20)
    phentsize, phnum, shentsize, shnum = struct.unpack_from("<HHHH", data, 0x36)
    if not shnum:
        return data
    end = 0
    for i in range(phnum):
        _t, _f, offset, _v, _p, filesz, _m, _a = struct.unpack_from("<IIQQQQQQ", data, phoff + i * phentsize)
        end = max(end, offset + filesz)
    for i in range(1, shnum):
        _n, kind, _f, _a, offset, size, *_ = struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
        if kind != 8:  # SHT_NOBITS has no file content
            end = max(end, offset + size)
    if shoff >= end:
        return data
    table = data[shoff : shoff + shnum * shentsize]
    start = (len(data) + 7) & ~7
    moved = bytearray(data) + bytes(start - len(data)) + table
    struct.pack_into("<Q", moved, 0x28, start)
    return bytes(moved)


def patch(
    data: bytes, member: str, names: Mapping[str, str], init: tuple[str, str] | None, files: Collection[str] = ()
) -> bytes:
    """Patch, write and check: a binary that fails :func:`.check.check_elf` is an error, never output."""
    original = data
    data = section_table_last(data)
    binary = parse(data, member)
    blob, offsets = renamed_blob(ElfView(binary, names, files).uses(), names)
    if blob:
        base = add_segment(binary, blob)
        # Adding a segment may move the whole image: find every address again afterwards.
        ElfView(binary, names, files).repoint(base, offsets)
    if init is not None:
        symbol = binary.get_dynamic_symbol(f"PyInit_{init[0]}")
        if symbol is None:
            raise NativeError(f"{member}: exports no PyInit_{init[0]}")
        symbol.name = f"PyInit_{init[1]}"
    patched = unshifted_nobits(original, _write(binary))
    check_elf(original, patched, member, init)
    return patched


def add_segment(binary: Any, blob: bytes) -> int:
    """Add ``blob`` in a read-only loaded segment of its own; its virtual address."""
    lief = load_lief()
    segment = lief.ELF.Segment()
    segment.type = lief.ELF.Segment.TYPE.LOAD
    segment.flags = lief.ELF.Segment.FLAGS.R
    segment.alignment = 0x1000
    segment.content = list(blob)
    return int(binary.add(segment).virtual_address)


def _write(binary: Any) -> bytes:
    return bytes(binary.write_to_bytes())
