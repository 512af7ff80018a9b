"""A compiled module (ELF x86-64) as the thread-state dict analysis sees it: its code, the
functions the unwind tables and symbols delimit, the imports its PLT and GOT reach, who calls or
refers to what, and what each call does to the dict (:class:`._dictflow.Program`)."""

from __future__ import annotations

import bisect
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ._binary import format_of, load_lief
from ._capi import HARMLESS, NO_ARGUMENTS, NORETURN, OBJECT_KEYED, STR_FROM, STRING_KEYED
from ._dictflow import ARGS, DICT, UNKNOWN, Access, Analyzer, Call, State, Value, entry_state, is_held, substitute

__all__ = ["MAX_KEY", "RIP", "ElfProgram", "Summary", "Unread", "rip_target"]

RIP = re.compile(r"\[rip ([+-]) (0x[0-9a-f]+|\d+)\]")
MAX_KEY = 4096  # bytes of a key read, at most
_DEPTH = 6  # calls followed into, at most


def rip_target(address: int, size: int, match: re.Match[str]) -> int:
    """The address a RIP-relative operand (matched by ``RIP``) of an instruction lands on."""
    return address + size + int(match[2], 0) * (-1 if match[1] == "-" else 1)


class Unread(Exception):
    """The module cannot be read at all (the reason is the message)."""


@dataclass(frozen=True)
class Summary:
    """What calling one function does to the dict, as seen from its callers: it returns the
    dict, or reads or writes it under keys its callers pass (``("arg", r)`` in the keys)."""

    returns_dict: bool
    accesses: tuple[Access, ...]


class ElfProgram:
    """An ELF x86-64 module, as :class:`._dictflow.Program` sees it; ``source``: the imported function
    that returns the dict followed."""

    def __init__(self, data: bytes, source: str) -> None:
        self.source = source
        fmt = format_of(data)
        if fmt != "ELF":
            raise Unread(f"keys are read from ELF x86-64 code only, not {fmt}")
        lief = load_lief()
        binary = lief.ELF.parse(io.BytesIO(data))
        if binary is None or not binary.sections:
            raise Unread("not a readable ELF file")
        machine = str(binary.header.machine_type).rsplit(".", 1)[-1]
        if machine != "X86_64":
            raise Unread(f"keys are read from ELF x86-64 code only, not {machine}")
        self.binary = binary
        flags = lief.ELF.Section.FLAGS
        self.code_sections = [
            (s.virtual_address, bytes(s.content)) for s in binary.sections if s.has(flags.EXECINSTR) and s.size
        ]
        self.data_sections = [
            (s.virtual_address, bytes(s.content))
            for s in binary.sections
            if s.has(flags.ALLOC) and not s.has(flags.EXECINSTR) and s.type != lief.ELF.Section.TYPE.NOBITS
        ]
        self.writable_sections = [
            (s.virtual_address, s.virtual_address + s.size)
            for s in binary.sections
            if s.has(flags.ALLOC) and s.has(flags.WRITE) and not s.has(flags.EXECINSTR)
        ]
        kinds = lief.ELF.Relocation.TYPE
        self.slots: dict[int, str] = {}  # GOT slot -> imported function
        self.pointers: dict[int, int] = {}  # relocated word -> the address it holds
        for reloc in binary.dynamic_relocations:
            symbol = reloc.symbol if reloc.has_symbol else None
            if reloc.type == kinds.X86_64_RELATIVE:
                self.pointers[reloc.address] = reloc.addend
            elif symbol is not None and symbol.value:
                self.pointers[reloc.address] = symbol.value + reloc.addend
            elif symbol is not None and symbol.name:
                self.slots[reloc.address] = symbol.name
        for reloc in binary.pltgot_relocations:
            if reloc.has_symbol and reloc.symbol.name and not reloc.symbol.value:
                self.slots[reloc.address] = reloc.symbol.name
        self.exported = {s.value for s in binary.dynamic_symbols if s.value and s.shndx != 0}
        names: dict[int, str] = {}
        for symbol in binary.symbols:
            if symbol.value and symbol.name and symbol.type == lief.ELF.Symbol.TYPE.FUNC:
                names.setdefault(symbol.value, symbol.name)
        self.names = names
        extents = sorted({(f.address, f.address + f.size) for f in binary.functions if f.size})
        self.starts = [lo for lo, _ in extents]
        self.extents = extents
        self.plt = self._plt()
        self._scan()
        self.summaries: dict[int, Summary] = {}
        self.analyzer = Analyzer(self)
        self._followed: dict[tuple[int, tuple[tuple[str, Value], ...], tuple[tuple[int, Value], ...]], Call] = {}

    # -- the program ------------------------------------------------------------------------

    def code(self, address: int) -> memoryview | None:
        for start, content in self.code_sections:
            if start <= address < start + len(content):
                return memoryview(content)[address - start :]
        return None

    def extent(self, address: int) -> tuple[int, int] | None:
        i = bisect.bisect_right(self.starts, address) - 1
        if i >= 0 and self.extents[i][0] <= address < self.extents[i][1]:
            return self.extents[i]
        return None

    def is_entry(self, address: int) -> bool:
        return address in self.plt or address in self.called or address in self.exported or address in self.taken

    def slot_import(self, address: int) -> str | None:
        return self.slots.get(address)

    def call(self, target: Value | int, state: State, site: int, depth: int) -> Call:
        if isinstance(target, int):
            name = self.plt.get(target)
            if name is not None:
                return self._import(name, state, site)
            return self._internal(target, state, site, depth)
        imported = {t[1] for t in target if t[0] == "fn"}
        if imported and len(imported) == len(target):
            calls = [self._import(name, state, site) for name in sorted(imported)]
            return Call(
                _union(c.returns for c in calls),
                tuple(a for c in calls for a in c.accesses),
                tuple(e for c in calls for e in c.escapes),
                noreturn=all(c.noreturn for c in calls),
            )
        if ("field",) in target and is_held(state.reg("rdi")):
            # a slot of the dict's own type (mp_subscript, mp_ass_subscript): a lookup by rsi
            return Call(accesses=(Access(site, "a slot of the dict's type", state.reg("rsi"), False),))
        return Call(escapes=self._passed(state, site, "a function called through a pointer"))

    # -- calls ------------------------------------------------------------------------------

    def _passed(self, state: State, site: int, callee: str) -> tuple[tuple[int, str], ...]:
        """The dict given to ``callee``, whose effect is unknown: in an argument register, among
        the stack arguments, or on the stack a pointer argument reaches."""
        held = [r for r in ARGS if is_held(state.reg(r))]
        if held:
            return ((site, f"passes the dict to {callee}"),)
        if any(is_held(v) for v in state.outgoing().values()):
            return ((site, f"passes the dict to {callee} on the stack"),)
        pointers = any(t[0] == "stack" for r in ARGS for t in state.reg(r))
        if pointers and state.slots_hold_dict():
            return ((site, f"passes {callee} a pointer to the stack, which holds the dict"),)
        return ()

    def _import(self, name: str, state: State, site: int) -> Call:
        if name == self.source:
            return Call(returns=DICT)
        if name in NORETURN:
            return Call(noreturn=True)
        if name in STRING_KEYED or name in OBJECT_KEYED:
            accesses: tuple[Access, ...] = ()
            if is_held(state.reg("rdi")):
                accesses = (Access(site, name, state.reg("rsi"), name in STRING_KEYED),)
            others = [r for r in ARGS[1:] if is_held(state.reg(r))]
            escapes = ((site, f"passes the dict to {name} as a key or value"),) if others else ()
            return Call(accesses=accesses, escapes=escapes)
        if name in STR_FROM:
            rdi = state.reg("rdi")
            made = frozenset(("str", t[1]) for t in rdi if t[0] == "const")
            return Call(returns=made if len(made) == len(rdi) else made | UNKNOWN)
        if name in HARMLESS or name in NO_ARGUMENTS:
            return Call()
        return Call(escapes=self._passed(state, site, name))

    def _internal(self, target: int, state: State, site: int, depth: int) -> Call:
        summary = self.summaries.get(target)
        returns = DICT if summary is not None and summary.returns_dict else UNKNOWN
        accesses: list[Access] = []
        if summary is not None:
            for access in summary.accesses:
                key = substitute(access.key, state.reg)
                accesses.append(Access(site, access.api, key, access.by_string))
        held = {r: state.reg(r) for r in ARGS if is_held(state.reg(r))}
        stack = {o: _keep(v) for o, v in state.outgoing().items()}
        if not held and not any(is_held(v) for v in stack.values()):
            escapes = self._passed(state, site, self.name(target))
            return Call(returns, tuple(accesses), escapes)
        if depth >= _DEPTH:
            return Call(returns, tuple(accesses), incomplete=((site, "calls nested too deep to follow"),))
        # the callee gets the dict: follow it, with what this call passes
        args = tuple(sorted((r, _keep(state.reg(r))) for r in ARGS))
        words = tuple(sorted(stack.items()))
        known = self._followed.get((target, args, words))
        if known is None:
            result = self.analyzer.follow(target, entry_state(dict(args), stack), depth + 1)
            known = Call(
                result.returns if result.returns else UNKNOWN,
                tuple(result.accesses),
                tuple(result.escapes),
                tuple(result.incomplete),
            )
            self._followed[(target, args, words)] = known
        return Call(
            known.returns | returns,
            tuple(accesses) + known.accesses,
            known.escapes,
            known.incomplete,
        )

    def name(self, start: int) -> str:
        return self.names.get(start) or f"the function at {start:#x}"

    def referenced(self, start: int) -> bool:
        """Does anything outside the function at ``start`` refer to it?"""
        extent = self.extent(start) or (start, start + 1)
        outside = [s for s in self.callers.get(start, ()) if not extent[0] <= s < extent[1]]
        return bool(outside) or start in self.exported or start in self.taken

    # -- reading the binary -----------------------------------------------------------------

    def read(self, address: int, size: int) -> bytes:
        for start, content in [*self.data_sections, *self.code_sections]:
            if start <= address < start + len(content):
                return content[address - start : address - start + size]
        return b""

    def writable(self, address: int) -> bool:
        """Is ``address`` in a writable section (``.data``, ``.bss``): where a global lives?"""
        return any(lo <= address < hi for lo, hi in self.writable_sections)

    def c_string(self, address: int) -> str | None:
        raw = self.read(address, MAX_KEY + 1)
        end = raw.find(b"\0")
        if end <= 0:
            return None
        try:
            text = raw[:end].decode("utf-8")
        except UnicodeDecodeError:
            return None
        return text if text.isprintable() else None

    def _in_plt(self, address: int) -> bool:
        return any(lo <= address < hi for lo, hi in self.plt_sections)

    def _plt(self) -> dict[int, str]:
        """PLT entry -> the imported function it jumps to (``jmp [rip+slot]``, the entry starting
        after the previous entry's last jump or padding)."""
        import capstone

        found: dict[int, str] = {}
        disassembler = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
        disassembler.skipdata = True
        self.plt_sections = []
        for section in self.binary.sections:
            if not section.name.startswith(".plt"):
                continue
            self.plt_sections.append((section.virtual_address, section.virtual_address + section.size))
            start = None
            for address, size, mnemonic, operands in disassembler.disasm_lite(
                bytes(section.content), section.virtual_address
            ):
                start = address if start is None else start
                match = RIP.search(operands)
                if "jmp" in mnemonic and match is not None:
                    slot = rip_target(address, size, match)
                    if slot in self.slots:
                        found[start] = self.slots[slot]
                if "jmp" in mnemonic or mnemonic.startswith("nop"):
                    start = None
        return found

    def _scan(self) -> None:
        """One pass over the code: who calls or jumps to what, and every RIP-relative operand."""
        import capstone

        disassembler = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
        disassembler.skipdata = True
        callers: dict[int, list[int]] = {}
        refs: dict[int, list[int]] = {}
        called: set[int] = set()
        for base, content in self.code_sections:
            for address, size, mnemonic, operands in disassembler.disasm_lite(content, base):
                if operands[:2] == "0x" and (mnemonic[0] == "j" or mnemonic == "call"):
                    target = int(operands, 16)
                    callers.setdefault(target, []).append(address)
                    if mnemonic == "call":
                        called.add(target)
                elif "rip" in operands:
                    match = RIP.search(operands)
                    if match is not None:
                        target = rip_target(address, size, match)
                        refs.setdefault(target, []).append(address)
        code = [(b, b + len(c)) for b, c in self.code_sections]
        in_code = [t for t in refs if any(lo <= t < hi for lo, hi in code)]
        self.callers, self.refs, self.called = callers, refs, called
        # a function's address taken: by a RIP-relative operand other than a call or jump, or a pointer
        self.taken = set(in_code) | {a for a in self.pointers.values() if any(lo <= a < hi for lo, hi in code)}


def _keep(value: Value) -> Value:
    """What a callee is told its argument holds: the caller's tokens (its arguments stay the
    caller's: the callee's findings are the caller's), but not stack addresses, which are
    relative to each function's entry."""
    kept = frozenset(t for t in value if t[0] != "stack")
    return kept if len(kept) == len(value) else kept | UNKNOWN


def _union(values: Iterable[Value]) -> Value:
    out: frozenset[tuple[Any, ...]] = frozenset()
    for value in values:
        out |= value
    return out or UNKNOWN
