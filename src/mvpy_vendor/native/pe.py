"""PE (Windows): inspected on any architecture, patched on x64."""

from __future__ import annotations

import io
from collections.abc import Collection, Mapping
from typing import Any

from mvpy_vendor.errors import NativeError

from ._binary import load_lief, written
from ._code import rip_references
from ._flow import Code, stubs
from ._view import Inspection, View, renamed_blob

__all__ = ["inspect", "PeView", "parse", "patch"]


class PeView(View):
    """PE, in relative virtual addresses: pointers are absolute addresses listed in the base
    relocations (DIR64)."""

    def __init__(self, binary: Any, names: Mapping[str, str], files: Collection[str] = ()) -> None:
        super().__init__(binary)
        lief = load_lief()
        self.analyzable = binary.header.machine == lief.PE.Header.MACHINE_TYPES.AMD64
        self.imagebase = binary.optional_header.imagebase
        execute = lief.PE.Section.CHARACTERISTICS.MEM_EXECUTE
        self.scan(
            (
                (s.virtual_address, bytes(s.content))
                for s in binary.sections
                if not s.has_characteristic(execute) and s.name not in (".reloc", ".rsrc", ".pdata")
            ),
            names,
            files,
        )
        rva = lief.Binary.VA_TYPES.RVA
        targets = self.targets
        for block in binary.relocations if targets else ():
            for entry in block.entries:
                if entry.type != lief.PE.RelocationEntry.BASE_TYPES.DIR64:
                    continue
                where = block.virtual_address + entry.position
                raw = bytes(binary.get_content_from_virtual_address(where, 8, rva))
                target = int.from_bytes(raw, "little") - self.imagebase if len(raw) == 8 else -1
                self.slots[where] = target
                if target in targets:
                    self.pointers.setdefault(target, []).append(where)
        if self.analyzable and targets:
            sections = [
                (s.virtual_address, bytes(s.content))
                for s in binary.sections
                if s.has_characteristic(execute) and s.size
            ]
            # MSVC calls an import through its IAT slot (``call qword ptr [rip + __imp_X]``), or
            # through a thunk that jumps there
            slots = {e.iat_address: e.name for lib in binary.imports for e in lib.entries if e.name}
            self.code = Code(sections, stubs(sections, slots), slots, "win64")
            self.find_arrays()
            targets = {**targets, **{start: b"" for start in self.arrays}}
            for base, content in sections:
                rip_references(content, base, targets, self.rip, sweep=self.sweep)

    def read(self, address: int, size: int) -> bytes:
        return bytes(self.binary.get_content_from_virtual_address(address, size, load_lief().Binary.VA_TYPES.RVA))

    def file_offset(self, address: int) -> int:
        return int(self.binary.rva_to_offset(address))

    def write_pointer(self, where: Any, new: int) -> None:
        value = (self.imagebase + new).to_bytes(8, "little")
        self.binary.patch_address(where, list(value), load_lief().Binary.VA_TYPES.RVA)


def parse(data: bytes, member: str) -> Any:
    binary = load_lief().PE.parse(io.BytesIO(data))
    if binary is None:
        raise NativeError(f"{member}: not a readable PE file")
    return binary


def inspect(data: bytes, member: str, names: Mapping[str, str], files: Collection[str] = ()) -> Inspection:
    binary = parse(data, member)
    return Inspection(
        PeView(binary, names, files),
        str(binary.header.machine).rsplit(".", 1)[-1],
        frozenset(e.name for e in binary.get_export().entries) if binary.has_exports else frozenset(),
        frozenset(e.name for lib in binary.imports for e in lib.entries if e.name),
    )


def patch(
    data: bytes, member: str, names: Mapping[str, str], init: tuple[str, str] | None, files: Collection[str] = ()
) -> bytes:
    """Renamed strings in an added ``.mvstr`` section (appended: nothing moves); export table
    rebuilt, its names kept sorted; checksum cleared."""
    lief = load_lief()
    binary = parse(data, member)
    view = PeView(binary, names, files)
    blob, offsets = renamed_blob(view.uses(), names)
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
    return written(binary, config)
