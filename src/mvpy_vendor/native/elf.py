"""ELF (Linux): inspected on any architecture, patched on x86-64."""

from __future__ import annotations

import io
from collections.abc import Collection, Mapping
from typing import Any

from mvpy_vendor.errors import NativeError

from ._binary import Inspection, View, load_lief, renamed_blob
from ._code import rip_references

__all__ = ["inspect", "ElfView", "parse", "patch"]


class ElfView(View):
    """ELF: pointers are ``R_X86_64_RELATIVE`` relocations whose addend is the string."""

    def __init__(self, binary: Any, names: Mapping[str, str], files: Collection[str] = ()) -> None:
        super().__init__(binary)
        lief = load_lief()
        flags = lief.ELF.Section.FLAGS
        self.analyzable = binary.header.machine_type == lief.ELF.ARCH.X86_64
        self.find(
            (
                (s.virtual_address, bytes(s.content))
                for s in binary.sections
                if s.has(flags.ALLOC) and not s.has(flags.EXECINSTR) and s.type != lief.ELF.Section.TYPE.NOBITS
            ),
            names,
            files,
        )
        targets = self.targets
        for reloc in binary.dynamic_relocations if targets else ():
            if reloc.type == lief.ELF.Relocation.TYPE.X86_64_RELATIVE and reloc.addend in targets:
                self.pointers.setdefault(reloc.addend, []).append(reloc)
        if self.analyzable and targets:
            for section in binary.sections:
                if section.has(flags.EXECINSTR) and section.size:
                    rip_references(bytes(section.content), section.virtual_address, targets, self.rip)
        self.settle()

    def write_pointer(self, where: Any, new: int) -> None:
        where.addend = new


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


def patch(
    data: bytes, member: str, names: Mapping[str, str], init: tuple[str, str] | None, files: Collection[str] = ()
) -> bytes:
    lief = load_lief()
    binary = parse(data, member)
    blob, offsets = renamed_blob(ElfView(binary, names, files), names)
    if blob:
        segment = lief.ELF.Segment()
        segment.type = lief.ELF.Segment.TYPE.LOAD
        segment.flags = lief.ELF.Segment.FLAGS.R
        segment.alignment = 0x1000
        segment.content = list(blob)
        # Adding a segment may move the whole image: find every address again afterwards.
        base = binary.add(segment).virtual_address
        ElfView(binary, names, files).repoint(base, offsets)
    if init is not None:
        symbol = binary.get_dynamic_symbol(f"PyInit_{init[0]}")
        if symbol is None:
            raise NativeError(f"{member}: exports no PyInit_{init[0]}")
        symbol.name = f"PyInit_{init[1]}"
    return bytes(binary.write_to_bytes())
