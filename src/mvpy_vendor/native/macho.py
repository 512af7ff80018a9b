"""Mach-O (macOS): thin arm64 and x86-64 files without chained fixups are patched."""

from __future__ import annotations

import io
from collections.abc import Collection, Mapping
from typing import Any

from mvpy_vendor.errors import NativeError

from ._arm64 import Arm64Code, arm64_head, arm64_stubs
from ._binary import load_lief, written
from ._code import adrp_add_pairs, rip_references
from ._flow import Code, stubs
from ._view import Inspection, View, renamed_blob

__all__ = ["inspect", "MachOView", "parse", "patch"]

SEGMENT = "__MVSTR"  # where the renamed strings of a patched Mach-O go


class MachOView(View):
    """Thin Mach-O: pointers listed by the rebase information; code references as arm64
    ``adrp``/``add`` pairs or x86-64 RIP-relative operands."""

    def __init__(self, binary: Any, names: Mapping[str, str], files: Collection[str] = ()) -> None:
        super().__init__(binary)
        lief = load_lief()
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
        regions += [(s.virtual_address, bytes(s.content)) for s in binary.segments if s.name == SEGMENT]
        self.scan(regions, names, files)
        targets = self.targets
        for reloc in binary.relocations if targets and not self.chained else ():
            if not isinstance(reloc, lief.MachO.RelocationDyld) or reloc.size != 64:
                continue
            raw = bytes(binary.get_content_from_virtual_address(reloc.address, 8))
            target = int.from_bytes(raw, "little") if len(raw) == 8 else -1
            self.slots[reloc.address] = target
            if target in targets:
                self.pointers.setdefault(target, []).append(reloc.address)
        # pointers bound to imported symbols (a type's ob_type, a stub's target): by name
        imported = {b.address: b.symbol.name.removeprefix("_") for b in binary.bindings if b.has_symbol}
        for address in imported:
            self.slots.setdefault(address, -1)
        if targets and self.analyzable:
            sections = [(c.virtual_address, bytes(c.content)) for c in binary.sections if c.has(code_flag) and c.size]
            stub_sections = [(c.virtual_address, bytes(c.content)) for c in binary.sections if c.name == "__stubs"]
            if arm64:
                self.code = Arm64Code(sections, arm64_stubs(stub_sections, imported), imported)
            else:
                self.code = Code(sections, stubs(stub_sections, imported), imported, "sysv")
            self.find_arrays()
            targets = {**targets, **{start: b"" for start in self.arrays}}
        unclear_pages: set[int] = set()
        for section in binary.sections if targets else ():
            if not section.has(code_flag) or not section.size:
                continue
            if arm64:
                pairs, loaded, unclear = adrp_add_pairs(bytes(section.content), section.virtual_address, targets)
                for target, found in pairs.items():
                    self.pairs.setdefault(target, []).extend(found)
                    if self.code is not None:
                        self.sweep.heads.update((add, arm64_head(self.code, adrp)) for adrp, add in found)
                self.opaque |= loaded
                unclear_pages |= unclear
            else:
                content, base = bytes(section.content), section.virtual_address
                rip_references(content, base, targets, self.rip, self.rip_lengths, self.sweep)
        # A string on a page some adrp reaches for an unknown purpose, with no reference of its
        # own found, may still be referenced: it cannot be called unreferenced.
        self.opaque |= {
            a for a in targets
            if a & ~0xFFF in unclear_pages and a not in self.pointers and a not in self.pairs and a not in self.rip
        }  # fmt: skip

    def write_pointer(self, where: Any, new: int) -> None:
        self.binary.patch_address(where, list(new.to_bytes(8, "little")))


def parse(data: bytes, member: str) -> tuple[Any, int]:
    """The first (or only) image of a Mach-O file, and how many architectures the file holds."""
    fat = load_lief().MachO.parse(io.BytesIO(data))
    if fat is None or fat.size == 0:
        raise NativeError(f"{member}: not a readable Mach-O file")
    return fat.at(0), fat.size


def inspect(data: bytes, member: str, names: Mapping[str, str], files: Collection[str] = ()) -> Inspection:
    binary, archs = parse(data, member)
    view = MachOView(binary, names, files)
    problems = []
    if archs > 1:
        problems.append("universal (fat) Mach-O files are not patched yet")
    if view.chained:
        problems.append("Mach-O chained fixups are not patched yet")
    return Inspection(
        view,
        str(binary.header.cpu_type).rsplit(".", 1)[-1],
        frozenset(s.name.removeprefix("_") for s in binary.exported_symbols),
        frozenset(s.name.removeprefix("_") for s in binary.imported_symbols),
        tuple(problems),
    )


def patch(
    data: bytes, member: str, names: Mapping[str, str], init: tuple[str, str] | None, files: Collection[str] = ()
) -> bytes:
    """Renamed strings in an added read-only ``__MVSTR`` segment; ``PyInit_`` renamed in the
    symbol table and the exports; the code signature removed (to be re-signed on macOS)."""
    lief = load_lief()
    binary, archs = parse(data, member)
    if archs != 1:
        raise NativeError(f"{member}: only single-architecture Mach-O files are patched")
    blob, offsets = renamed_blob(MachOView(binary, names, files).uses(), names)
    if blob:
        segment = lief.MachO.SegmentCommand(SEGMENT, list(blob))
        segment.init_protection = 1  # read-only
        segment.max_protection = 1
        base = binary.add(segment).virtual_address
        MachOView(binary, names, files).repoint(base, offsets)  # adding may move things: look again
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
    return written(binary)
