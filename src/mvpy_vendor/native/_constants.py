"""What a global holds when it is a string constant: the key objects compiled modules pass to
the thread-state dict are mostly globals filled once at import (Cython's string constants, a
``PyUnicode_InternFromString`` result kept in a static). Each reader here says where the string
comes from, or nothing: a global not found is a key not read."""

from __future__ import annotations

import re
from typing import Any

from ._dictflow import entry_state
from ._program import MAX_KEY, RIP, ElfProgram, rip_target

__all__ = ["Constants"]

_STACK_STORE = re.compile(r"qword ptr \[rsp(?: \+ (0x[0-9a-f]+|\d+))?\], (\w+)$")
_TABLE_STORE = re.compile(r"qword ptr \[(\w+) \+ \w+\*8\], \w+$")
Found = tuple[str, int, str]  # text, where its bytes are (-1: inside a packed table), how it was read


class Constants:
    """The string constants of one program, read when first asked for."""

    def __init__(self, program: ElfProgram) -> None:
        self.program = program
        self._strings: dict[int, Found] | None = None
        self._globals: dict[int, Found | str] = {}
        self._stack_tables: dict[int, dict[int, Found]] = {}

    def held_by(self, address: int) -> Found | str:
        """The string the global at ``address`` holds, or why it is not known."""
        found = self.cython_strings().get(address) or self.stack_table(address)
        if found is not None:
            return found
        return self.global_string(address)

    def global_string(self, address: int) -> Found | str:
        """The str a global holds when every instruction that writes it stores one made from one
        C string (``key = PyUnicode_InternFromString("...")`` at initialisation; NULL stores
        aside), or why not. Only instructions that name the global (RIP-relative) can write it:
        its address taken or relocated into data would let anything write it."""
        if address in self._globals:
            return self._globals[address]
        why: Found | str = "which no string table fills"
        sites = self.program.refs.get(address, [])
        pointed = any(a == address for a in self.program.pointers.values())
        leas = [s for s in sites if (insn := self.program.analyzer._insn(s)) is not None and insn.mnemonic == "lea"]
        if pointed or leas or not sites:
            self._globals[address] = why
            return why
        extents = [self.program.extent(s) for s in sites]
        if any(e is None for e in extents):
            self._globals[address] = why
            return why
        values: set[tuple[Any, ...]] = set()
        for start in sorted({e[0] for e in extents if e is not None}):
            result = self.program.analyzer.follow(start, entry_state())
            values |= {t for at, value in result.stores if at == address for t in value}
            if result.incomplete:
                values.add(("unknown",))
        strings = {t for t in values if t[0] == "str"}
        text = self.program.c_string(next(iter(strings))[1]) if len(strings) == 1 else None
        if text is not None and values <= strings | {("imm", 0)}:
            why = (text, next(iter(strings))[1], "str from a C string")
        self._globals[address] = why
        return why

    def cython_strings(self) -> dict[int, Found]:
        """Global -> (text, where, how) for every global a Cython string table fills."""
        if self._strings is None:
            self._strings = {**self._pointer_table(), **self._packed_table()}
        return self._strings

    def _pointer_table(self) -> dict[int, Found]:
        """Cython 0.29 and 3.0: ``__Pyx_StringTabEntry {PyObject **p; const char *s; Py_ssize_t n;
        const char *encoding; char is_unicode, is_str, intern;}`` entries in data, ``p`` and ``s``
        relocated, ``n`` the size of ``s`` with its NUL, the three flags 0 or 1."""
        program = self.program
        found: dict[int, Found] = {}
        for at, target in program.pointers.items():
            text_at = program.pointers.get(at + 8)
            if text_at is None or not program.writable(target):
                continue
            entry = program.read(at + 16, 19)
            size = int.from_bytes(entry[:8], "little")
            if len(entry) != 19 or any(flag > 1 for flag in entry[16:19]):
                continue
            if int.from_bytes(entry[8:16], "little") and at + 24 not in program.pointers:
                continue  # the encoding: NULL, or a pointer
            raw = program.read(text_at, size) if 0 < size <= MAX_KEY + 1 else b""
            if len(raw) != size or not raw.endswith(b"\0") or b"\0" in raw[:-1]:
                continue
            try:
                found[target] = (raw[:-1].decode("utf-8"), text_at, "Cython string table")
            except UnicodeDecodeError:
                continue
        return found

    def stack_table(self, address: int) -> Found | None:
        """Cython 3.0 builds its ``__Pyx_StringTabEntry`` array on the stack, entry by entry
        (``lea rax, [rip+p]; mov [rsp+k], rax``, the same for ``s`` at ``k+8``, ``mov qword
        ptr [rsp+k+16], n``): the global at ``address`` is filled from the string beside the
        instruction that takes its address."""
        for site in self.program.refs.get(address, []):
            extent = self.program.extent(site)
            if extent is None:
                continue
            if extent[0] not in self._stack_tables:
                self._stack_tables[extent[0]] = self._entries(*extent)
            found = self._stack_tables[extent[0]].get(address)
            if found is not None:
                return found
        return None

    def _entries(self, start: int, end: int) -> dict[int, Found]:
        import capstone

        code = self.program.code(start)
        if code is None:
            return {}
        disassembler = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
        loaded: dict[str, int] = {}
        slots: dict[int, tuple[str, int]] = {}
        for address, size, mnemonic, operands in disassembler.disasm_lite(bytes(code[: end - start]), start):
            match = RIP.search(operands)
            if mnemonic == "lea" and match is not None:
                loaded[operands.split(",")[0]] = rip_target(address, size, match)
                continue
            store = _STACK_STORE.match(operands) if mnemonic == "mov" else None
            if store is None:
                continue
            offset = int(store[1], 0) if store[1] else 0
            if store[2] in loaded:
                slots[offset] = ("address", loaded[store[2]])
            elif store[2].startswith("0x") or store[2].isdigit():
                slots[offset] = ("number", int(store[2], 0))
        found: dict[int, Found] = {}
        for offset, (kind, pointer) in slots.items():
            text_at, size = slots.get(offset + 8), slots.get(offset + 16)
            if kind != "address" or text_at is None or text_at[0] != "address" or size is None or size[0] != "number":
                continue
            text = self.program.c_string(text_at[1])
            if text is not None and len(text.encode()) + 1 == size[1]:
                found[pointer] = (text, text_at[1], "Cython string table")
        return found

    def _packed_table(self) -> dict[int, Found]:
        """Cython 3.2: the strings of the packed table (see :mod:`.cython_table`), stored in
        order into ``__pyx_string_tab``, whose address is the base of the store in the loop that
        makes them (``mov [base + i*8], rax``), the loop's bound being the number of strings."""
        from mvpy_vendor.errors import NativeError

        from .cython_table import find_table

        if not any(n == "PyUnicode_DecodeUTF8" for n in self.program.slots.values()):
            return {}
        try:
            table = find_table(self.program.binary, "module")
        except (NativeError, StopIteration, ValueError):
            return {}
        extent = self.program.extent(table.reference[0])
        code = self.program.code(extent[0]) if extent is not None else None
        if extent is None or code is None:
            return {}
        import capstone

        disassembler = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
        bases: dict[str, int] = {}
        found: set[int] = set()
        bound = False
        since = 99  # instructions since the last call of PyUnicode_DecodeUTF8
        for address, size, mnemonic, operands in disassembler.disasm_lite(
            bytes(code[: extent[1] - extent[0]]), extent[0]
        ):
            since += 1
            if (
                mnemonic == "call"
                and operands.startswith("0x")
                and self.program.plt.get(int(operands, 16)) == "PyUnicode_DecodeUTF8"
            ):
                since = 0
            match = RIP.search(operands)
            if mnemonic == "lea" and match is not None:
                bases[operands.split(",")[0]] = rip_target(address, size, match)
            store = _TABLE_STORE.match(operands) if mnemonic == "mov" else None
            if store is not None and store[1] in bases and since <= 12:
                found.add(bases[store[1]])
            if mnemonic == "cmp" and operands.endswith(f", {len(table.strings):#x}"):
                bound = True
        if len(found) != 1 or not bound:
            return {}
        base = found.pop()
        strings: dict[int, Found] = {}
        for i, raw in enumerate(table.strings):
            try:
                strings[base + 8 * i] = (raw.decode("utf-8"), -1, "Cython packed string table")
            except UnicodeDecodeError:
                continue
        return strings
