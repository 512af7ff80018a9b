"""Where a value goes in arm64 code (AAPCS64: arguments in x0-x7, x19-x28 kept across calls):
the interpreter of :mod:`._flow` for the instructions compilers use to move addresses around.

An address is made by an ``adrp``/``add`` pair (a page, then the offset within it); a call is
``bl`` (to a stub, for an imported function: ``adrp x16``, ``ldr x16, [x16, #off]``, ``br x16``);
values move with ``mov``, ``ldr``/``str``, ``ldp``/``stp`` (the stack is addressed from ``sp``,
whose offset is followed through pre- and post-indexed writes and ``sub``/``add sp``).
Anything else a register is written by makes its value unknown."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ._flow import Call, Code, State, Store, Value

__all__ = ["Arm64Code", "arm64_head", "arm64_stubs"]

_ARGS = tuple(f"x{i}" for i in range(8))
_CLOBBERED = frozenset({f"x{i}" for i in range(19)} | {"x30"})
_ALIASES = {"fp": "x29", "lr": "x30", "wsp": "sp", "xzr": "zr", "wzr": "zr"}
_MEMORY = re.compile(r"^\[(\w+)(?:, #(-?(?:0x[0-9a-f]+|\d+)))?\](!?)$")
_NUMBER = re.compile(r"^#?(-?(?:0x[0-9a-f]+|\d+))$")
_CONDITIONAL = ("b.", "cbz", "cbnz", "tbz", "tbnz")
_READS = ("cmp", "cmn", "tst", "ccmp", "ccmn", "fcmp", "fccmp", "prfm", "nop", "hint", "bti", "pac", "aut")
Insn = tuple[int, int, str, str]


def _operands(text: str) -> list[str]:
    """Operands split at commas outside brackets."""
    found, depth, current = [], 0, ""
    for ch in text:
        depth += ch == "["
        depth -= ch == "]"
        if ch == "," and depth == 0:
            found.append(current.strip())
            current = ""
        else:
            current += ch
    return [*found, current.strip()] if current.strip() else found


def _register(name: str) -> str | None:
    """The 64-bit register a name is part of (``w5`` -> ``x5``), ``sp``, ``zr``, or None."""
    name = _ALIASES.get(name, name)
    if name in ("sp", "zr"):
        return name
    if len(name) > 1 and name[0] in "xw" and name[1:].isdigit():
        return "x" + name[1:]
    return None


def _number(operand: str) -> int | None:
    match = _NUMBER.match(operand)
    return int(match[1], 0) if match else None


class Arm64Code(Code):
    """:class:`._flow.Code` for arm64 (Mach-O)."""

    def __init__(
        self, sections: Sequence[tuple[int, bytes]], imports: Mapping[int, str], slots: Mapping[int, str]
    ) -> None:
        super().__init__(sections, imports, slots)
        self.args = _ARGS
        self.clobbered = _CLOBBERED

    @staticmethod
    def _disassembler(capstone: Any) -> Any:
        disassembler = capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)
        disassembler.skipdata = True
        return disassembler

    def loads_address(self, insn: Insn) -> bool:
        return insn[2] == "add"

    def _conditional(self, insn: Insn) -> int | None:
        if not insn[2].startswith(_CONDITIONAL):
            return None
        return _number(_operands(insn[3])[-1])

    def _mark(self, state: State, insn: Insn) -> None:
        ops = _operands(insn[3])
        register = _register(ops[0]) if ops else None
        loaded = state.regs.get(register) if register else None
        if register and loaded is not None and loaded[0] == "addr":
            state.regs[register] = ("ref", loaded[1])

    def _step(
        self, state: State, insn: Insn, calls: list[Call], stores: list[Store], watched: set[Value]
    ) -> str | int | None:
        address, _size, mnemonic, text = insn
        ops = _operands(text)
        regs = state.regs
        if mnemonic in ("bl", "b") and ops:
            target = _number(ops[0])
            callee: str | int | None = None
            if target is not None:
                callee = self.imports.get(target, self.redirects.get(target, target))
            if mnemonic == "b" and isinstance(callee, int):
                return callee if self.in_code(callee) else "end"
            return self._call(state, address, callee, calls, watched, tail=mnemonic == "b")
        if mnemonic in ("blr", "blraa", "blraaz", "blrab", "blrabz"):
            return self._call(state, address, None, calls, watched, tail=False)
        if mnemonic.startswith(("ret", "br", "eret")) or mnemonic in ("brk", "udf", "hlt"):
            return "end"
        if mnemonic.startswith(_CONDITIONAL) or mnemonic.startswith(_READS) or not ops:
            return None
        first = _register(ops[0])
        if mnemonic == "adrp" and first and len(ops) == 2:
            page = _number(ops[1])
            regs[first] = ("page", page) if page is not None else None
        elif mnemonic in ("add", "sub") and first and len(ops) >= 3:
            self._arithmetic(state, mnemonic, first, ops)
        elif mnemonic in ("mov", "movz") and first and len(ops) == 2:
            source = _register(ops[1])
            if source == "sp":
                regs[first] = ("stack", state.sp) if state.sp is not None else None
            elif source is not None and ops[0][0] == "x" and ops[1][0] == "x":
                regs[first] = regs.get(source)
            elif _number(ops[1]) is not None and source is None:
                regs[first] = ("imm", _number(ops[1]))
            else:
                regs[first] = None
        elif mnemonic in ("ldr", "ldur", "ldp") and first:
            self._load(state, mnemonic, ops)
        elif mnemonic in ("str", "stur", "stp") and first:
            self._store_pair(state, insn, ops, stores, watched)
        elif mnemonic.startswith(("str", "stur", "stlr", "stx", "stlx")):
            self._writeback(state, ops)
            where = self._where(state, ops[-1] if _MEMORY.match(ops[-1]) else ops[1])
            if where is not None and where[0] == "stack" and isinstance(where[1], int):
                for slot in range(where[1] - 7, where[1] + 8):
                    state.stack.pop(slot, None)
        elif first and first != "sp":
            regs[first] = None
        return None

    def _call(
        self, state: State, address: int, callee: str | int | None, calls: list[Call], watched: set[Value], tail: bool
    ) -> str | None:
        args = tuple(state.regs.get(r) for r in self.args)
        calls.append(Call(address, callee, args))
        if tail:
            return "end"
        if any(a in watched for a in args):
            watched.add(("ret", address))
        for reg in self.clobbered:
            state.regs.pop(reg, None)
        state.regs["x0"] = ("ret", address)
        return None

    def _arithmetic(self, state: State, mnemonic: str, first: str, ops: list[str]) -> None:
        source = _register(ops[1])
        amount = _number(ops[2])
        if amount is not None and len(ops) == 4 and ops[3] == "lsl #12":
            amount <<= 12
        if amount is not None and mnemonic == "sub":
            amount = -amount
        if first == "sp":
            if source == "sp" and amount is not None and state.sp is not None:
                state.sp += amount
            else:
                state.sp = None
                state.stack.clear()
            return
        if amount is None or source is None:
            state.regs[first] = None
            return
        if source == "sp":
            state.regs[first] = ("stack", state.sp + amount) if state.sp is not None else None
            return
        held = state.regs.get(source)
        if held is None:
            state.regs[first] = None
        elif held[0] == "page" and isinstance(held[1], int):
            state.regs[first] = ("addr", held[1] + amount)
        elif held[0] == "stack" and isinstance(held[1], int):
            state.regs[first] = ("stack", held[1] + amount)
        else:
            state.regs[first] = ("field", held, amount)

    def _where(self, state: State, operand: str) -> Value | None:
        """The address a memory operand names, as a value."""
        match = _MEMORY.match(operand)
        if match is None:
            return None
        base, offset = _register(match[1]), int(match[2], 0) if match[2] else 0
        if match[3]:  # pre-indexed: the base moves first
            return self._where(state, f"[{match[1]}]") if self._move_base(state, base, offset) else None
        if base == "sp":
            return ("stack", state.sp + offset) if state.sp is not None else None
        held = state.regs.get(base) if base else None
        if held is None:
            return None
        if held[0] == "page" and isinstance(held[1], int):
            return ("addr", held[1] + offset)
        if held[0] == "stack" and isinstance(held[1], int):
            return ("stack", held[1] + offset)
        return ("field", held, offset)

    def _move_base(self, state: State, base: str | None, amount: int) -> bool:
        if base == "sp":
            if state.sp is None:
                return False
            state.sp += amount
            return True
        if base is not None:
            held = state.regs.get(base)
            state.regs[base] = ("stack", held[1] + amount) if held and held[0] == "stack" else None  # type: ignore[operator]
        return base is not None

    def _writeback(self, state: State, ops: list[str]) -> None:
        """Post-indexed (``[sp], #16``): the base moves after the access."""
        if len(ops) >= 2 and _number(ops[-1]) is not None and _MEMORY.match(ops[-2]):
            match = _MEMORY.match(ops[-2])
            assert match is not None
            self._move_base(state, _register(match[1]), _number(ops[-1]) or 0)

    def _load(self, state: State, mnemonic: str, ops: list[str]) -> None:
        pair = mnemonic == "ldp"
        registers = [_register(o) for o in (ops[:2] if pair else ops[:1])]
        memory = ops[2] if pair else ops[1]
        where = self._where(state, memory) if _MEMORY.match(memory) else None
        literal = _number(memory) if not _MEMORY.match(memory) else None
        for i, (register, name) in enumerate(zip(registers, ops)):
            if register is None or register in ("sp", "zr"):
                continue
            value: Value | None = None
            if name[0] == "x" and where is not None and isinstance(where[1], int):
                if where[0] == "stack":
                    value = state.stack.get(where[1] + 8 * i)
                elif where[0] == "addr":
                    value = ("load", where[1] + 8 * i)
            elif name[0] == "x" and literal is not None:
                value = ("load", literal)
            state.regs[register] = value
        self._writeback(state, ops)

    def _store_pair(self, state: State, insn: Insn, ops: list[str], stores: list[Store], watched: set[Value]) -> None:
        pair = insn[2] == "stp"
        names = ops[:2] if pair else ops[:1]
        memory = ops[2] if pair else ops[1]
        where = self._where(state, memory)
        match = _MEMORY.match(memory)
        rsp = int(match[2], 0) if match and match[2] and _register(match[1]) == "sp" else 0
        for i, name in enumerate(names):
            register = _register(name)
            width = 8 if name[0] == "x" else 4
            value = state.regs.get(register) if register and width == 8 else None
            target: Value | None = None
            if where is not None:
                if where[0] in ("stack", "addr") and isinstance(where[1], int):
                    target = (where[0], where[1] + width * i)
                elif where[0] == "field" and isinstance(where[2], int):
                    target = ("field", where[1], where[2] + width * i)
            if target is not None and target[0] == "stack" and isinstance(target[1], int):
                for slot in range(target[1] - 7, target[1] + width):
                    state.stack.pop(slot, None)
                if width == 8:
                    state.stack[target[1]] = value
            stores.append(Store(insn[0], value, target, width, None, rsp + width * i if match else None))
            if value in watched and target is not None and target[0] == "field":
                watched.add(target[1])  # type: ignore[arg-type]
        self._writeback(state, ops)


def arm64_stubs(sections: Sequence[tuple[int, bytes]], slots: Mapping[int, str]) -> dict[int, str]:
    """Mach-O ``__stubs`` entries (``adrp x16, page``; ``ldr x16, [x16, #off]``; ``br x16``):
    address -> the imported name the pointer at ``page + off`` is bound to."""
    import capstone

    disassembler = capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)
    found: dict[int, str] = {}
    for base, code in sections:
        insns = list(disassembler.disasm_lite(code, base))
        for first, second in zip(insns, insns[1:]):
            if first[2] != "adrp" or second[2] != "ldr":
                continue
            page = _number(_operands(first[3])[-1])
            match = _MEMORY.match(_operands(second[3])[-1])
            if page is None or match is None:
                continue
            name = slots.get(page + (int(match[2], 0) if match[2] else 0))
            if name is not None:
                found[first[0]] = name
    return found


def arm64_head(code: Code, adrp: int, window: int = 64) -> int:
    """Where the straight-line code that reaches ``adrp`` starts (at most ``window`` instructions
    back): an unconditional branch or a return ends it, unless a branch in the window leads to
    where it starts."""
    insns = []
    for at in range(max(adrp - 4 * window, 0), adrp + 4, 4):
        insn = code.instruction(at)
        if insn is not None and insn[0] == at:
            insns.append(insn)
    head, j = adrp, len(insns) - 2
    while j >= 0:
        if insns[j][2] in ("b", "br", "ret", "brk") or insns[j][2].startswith("ret"):
            into = [k for k in range(j, -1, -1) if _branches_to(insns[k], head)]
            if not into:
                break
            j = into[0]
        head = insns[j][0]
        j -= 1
    return head


def _branches_to(insn: Insn, target: int) -> bool:
    if insn[2] != "b" and not insn[2].startswith(_CONDITIONAL):
        return False
    return _number(_operands(insn[3])[-1]) == target
