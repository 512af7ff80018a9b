"""Where a value goes in x86-64 code: a small abstract interpreter over straight-line code.

What a binary does with a string is told by what its code does with the string's address:
which function it is passed to, and as which argument; which struct it is stored into. This
module follows values along one path of instructions (fall-through, and unconditional jumps
within the binary) and records every call with the values of its argument registers, and every
store with the value stored and where. It knows registers (64-bit families), the stack (slots
addressed from ``rsp`` whose offset is followed across ``push``, ``pop``, ``sub``/``add rsp``),
the two halves of xmm registers (compilers build pairs of pointers in them), and nothing else:
any value it cannot name is unknown, which never becomes a use.

A walk is a path, not every path: a use found on it is a real use; a use on a branch not taken
is not seen (the caller says "not told" then). Values are tuples:

* ``("addr", X)``: the address ``X``, loaded by ``lea reg, [rip + d]``; ``("ref", X)``: the
  same, loaded by the reference a walk is about (other loads of ``X`` are other references);
* ``("stack", K)``: the address of the stack slot at offset ``K`` from the walk's first ``rsp``;
* ``("field", V, K)``: ``V + K`` (``lea reg, [base + K]``), the address of a field of ``V``;
* ``("param", F, i)``: argument ``i`` of the function at ``F``, on entry;
* ``("ret", A)``: what the call at ``A`` returned;
* ``("load", X)``: the word read from address ``X``;
* ``("imm", n)``: a constant.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Call", "Code", "State", "Store", "Value", "Walk", "stubs"]

Value = tuple[object, ...]
Abi = Literal["sysv", "win64"]

_ARGS: dict[Abi, tuple[str, ...]] = {
    "sysv": ("rdi", "rsi", "rdx", "rcx", "r8", "r9"),
    "win64": ("rcx", "rdx", "r8", "r9"),
}
_CALLER_SAVED: dict[Abi, frozenset[str]] = {
    "sysv": frozenset({"rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11"}),
    "win64": frozenset({"rax", "rcx", "rdx", "r8", "r9", "r10", "r11"}),
}
_FAMILIES = {
    "rax": ("rax", "eax", "ax", "al", "ah"),
    "rbx": ("rbx", "ebx", "bx", "bl", "bh"),
    "rcx": ("rcx", "ecx", "cx", "cl", "ch"),
    "rdx": ("rdx", "edx", "dx", "dl", "dh"),
    "rsi": ("rsi", "esi", "si", "sil"),
    "rdi": ("rdi", "edi", "di", "dil"),
    "rbp": ("rbp", "ebp", "bp", "bpl"),
    "rsp": ("rsp", "esp", "sp", "spl"),
    **{f"r{i}": (f"r{i}", f"r{i}d", f"r{i}w", f"r{i}b") for i in range(8, 16)},
}
_FAMILY = {name: family for family, names in _FAMILIES.items() for name in names}
_DWORD = {names[1]: family for family, names in _FAMILIES.items()}
_XMM = re.compile(r"^[xy]mm(\d+)$")
_MEMORY = re.compile(r"^(?:(\w+) ptr )?\[([^\]]+)\]$")
_IMMEDIATE = re.compile(r"^-?(?:0x[0-9a-f]+|\d+)$")
_SIZES = {"byte": 1, "word": 2, "dword": 4, "qword": 8, "xmmword": 16, "ymmword": 32, "zmmword": 64}
# Instructions that read their first operand and write nothing named in it.
_READS = ("cmp", "test", "bt", "ucomis", "comis", "prefetch", "nop", "endbr", "push")
# Instructions that change registers they do not name first.
_IMPLICIT = {
    "cqo": ("rdx",), "cdq": ("rdx",), "cwd": ("rdx",), "cdqe": ("rax",), "cpuid": ("rax", "rbx", "rcx", "rdx"),
    "rdtsc": ("rax", "rdx"), "syscall": ("rax", "rcx", "r11"), "mul": ("rax", "rdx"), "div": ("rax", "rdx"),
    "idiv": ("rax", "rdx"), "cmpxchg": ("rax",), "cmpxchg16b": ("rax", "rdx"),
}  # fmt: skip
_ENDS = ("ret", "retf", "hlt", "ud2", "int3")
# String instructions (``movsd`` is also an SSE move, told apart by its xmm operand).
_STRING_OPS = {f"{op}{size}" for op in ("movs", "stos", "lods", "scas", "cmps") for size in "bwdq"}
_BUDGET = 800  # instructions looked at in one walk from a reference
_ENTRY_BUDGET = 3000  # in one walk of a function from its entry
_CHUNK = 512  # bytes disassembled at a time (most walks end within a few instructions)


@dataclass(frozen=True)
class Call:
    """A call (or a tail jump) at ``at``: to ``callee`` (an imported function's name, the address of a
    function of this binary, or None when it cannot be told), with its argument registers' values."""

    at: int
    callee: str | int | None
    args: tuple[Value | None, ...]


@dataclass(frozen=True)
class Store:
    """``value`` written to ``target`` (a Value naming an address: ``("stack", K)``, ``("field", V, K)``,
    ``("addr", X)``), ``size`` bytes, at instruction ``at``; when the value is an immediate, where
    its bytes are in the instruction (``immediate``: address, width)."""

    at: int
    value: Value | None
    target: Value | None
    size: int
    immediate: tuple[int, int] | None = None
    rsp: int | None = None  # where the target is on the stack: its displacement from rsp in the instruction


@dataclass(frozen=True)
class Walk:
    """What one walk saw, in order."""

    calls: tuple[Call, ...]
    stores: tuple[Store, ...]
    complete: bool  # did the walk end (return, tail call, every watched value dead) within its budget?


class State:
    def __init__(self, seed: Mapping[str, Value]) -> None:
        self.regs: dict[str, Value | None] = dict(seed)
        self.xmm: dict[int, tuple[Value | None, Value | None]] = {}
        self.stack: dict[int, Value | None] = {}
        self.sp: int | None = 0

    def copy(self) -> State:
        other = State({})
        other.regs, other.xmm, other.stack, other.sp = dict(self.regs), dict(self.xmm), dict(self.stack), self.sp
        return other

    def holds(self, watched: set[Value]) -> bool:
        return (
            any(v in watched for v in self.regs.values())
            or any(v in watched for pair in self.xmm.values() for v in pair)
            or any(v in watched for v in self.stack.values())
        )


class Code:
    """The executable sections of one x86-64 binary, the names of the functions it calls, and walks
    over them (memoized per start)."""

    def __init__(
        self,
        sections: Sequence[tuple[int, bytes]],
        imports: Mapping[int, str],
        slots: Mapping[int, str],
        abi: Abi = "sysv",
        names: Mapping[int, str] | None = None,
        redirects: Mapping[int, int] | None = None,
    ) -> None:
        """``imports``: address of a stub that jumps to an imported function (a PLT entry) -> its
        name; ``slots``: address of a pointer to an imported function (GOT, IAT) -> its name;
        ``names``: names of the binary's own functions, where it keeps them (shown, never relied on);
        ``redirects``: stubs that lead to one of the binary's own functions -> that function."""
        import capstone

        self.sections = sorted(sections)
        self.imports = imports
        self.slots = slots
        self.names = names or {}
        self.redirects = redirects or {}
        self.args = _ARGS[abi]
        self.clobbered = _CALLER_SAVED[abi]
        self._cs = self._disassembler(capstone)
        self._entries: dict[int, Walk] = {}
        self._decoded: dict[int, tuple[int, int, str, str]] = {}

    @staticmethod
    def _disassembler(capstone: Any) -> Any:
        disassembler = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
        disassembler.skipdata = True
        return disassembler

    def in_code(self, address: int) -> bool:
        return any(base <= address < base + len(code) for base, code in self.sections)

    def name(self, callee: str | int | None) -> str:
        """How to show a callee: its name, or where it is."""
        if isinstance(callee, int):
            return self.names.get(callee) or f"the function at 0x{callee:x}"
        return callee or "a function called through a register"

    def entry(self, function: int) -> Walk:
        """A walk from a function's entry, its arguments as ``("param", function, i)``, until none of
        them is held anywhere."""
        walk = self._entries.get(function)
        if walk is None:
            seed: dict[str, Value] = {reg: ("param", function, i) for i, reg in enumerate(self.args)}
            walk = self.walk(function, seed, set(seed.values()), budget=_ENTRY_BUDGET)
            self._entries[function] = walk
        return walk

    def walk(
        self, start: int, seed: Mapping[str, Value], watched: set[Value], after: int | None = None, budget: int = 0
    ) -> Walk:
        """Interpret from ``start``, down every branch (each block once), within a budget of
        instructions. A path ends at a return, a tail call, or, once it has passed ``after`` (if
        given: a path that branches away before it is not followed), when it holds no value of
        ``watched`` (which grows by the results of calls that take a watched value, and by the
        structs a watched value is stored into) in a register or stack slot."""
        calls: list[Call] = []
        stores: list[Store] = []
        watched = set(watched)
        budget = budget or _BUDGET
        paths: deque[tuple[int, State, bool]] = deque([(start, State(seed), after is None)])
        seen: set[tuple[int, bool]] = {(start, after is None)}  # blocks walked, apart before and after the reference
        while paths:
            pos, state, live = paths.popleft()
            while True:
                if budget <= 0:
                    return Walk(tuple(calls), tuple(stores), False)
                insn = self.instruction(pos)
                if insn is None:
                    break
                budget -= 1
                address, size = insn[0], insn[1]
                live = live or address == after
                if not live and after is not None and address > after:
                    break  # this path went past the reference without reaching it
                outcome = self._step(state, insn, calls, stores, watched)
                if address == after:
                    self._mark(state, insn)
                if outcome == "end":
                    break
                if live and watched and not state.holds(watched):
                    break
                branch = self._conditional(insn)
                # before the reference, only a branch forward to it can lead there
                toward = live or (after is not None and branch is not None and address < branch <= after)
                if branch is not None and toward and (branch, live) not in seen and self.in_code(branch):
                    seen.add((branch, live))
                    paths.append((branch, state.copy(), live))
                if isinstance(outcome, int):
                    if (outcome, live) in seen or not (live or (after is not None and address < outcome <= after)):
                        break
                    seen.add((outcome, live))
                    pos = outcome
                else:
                    pos = address + size
        return Walk(tuple(calls), tuple(stores), True)

    def instruction(self, pos: int) -> tuple[int, int, str, str] | None:
        """The instruction at ``pos`` (decoded a chunk at a time, kept)."""
        insn = self._decoded.get(pos)
        if insn is None:
            section = next(((b, c) for b, c in self.sections if b <= pos < b + len(c)), None)
            if section is None:
                return None
            base, code = section
            chunk = code[pos - base : pos - base + _CHUNK]
            end = pos + len(chunk) - (16 if len(chunk) == _CHUNK else 0)  # the last one may be cut short
            for decoded in self._cs.disasm_lite(chunk, pos):
                if decoded[0] >= end and decoded[0] != pos:
                    break
                if decoded[2] == ".byte":  # not an instruction (skipped data); nothing after it is trusted
                    break
                self._decoded[decoded[0]] = decoded
            insn = self._decoded.get(pos)
        return insn

    # -- what differs between architectures -------------------------------------------------

    def loads_address(self, insn: tuple[int, int, str, str]) -> bool:
        """Does ``insn`` compute an address into a register (the reference a walk follows)?"""
        return insn[2] == "lea"

    def _conditional(self, insn: tuple[int, int, str, str]) -> int | None:
        """Where a conditional branch goes (None: not one)."""
        if insn[2].startswith(("j", "loop")) and insn[2] != "jmp" and _IMMEDIATE.match(insn[3]):
            return int(insn[3], 0)
        return None

    def _mark(self, state: State, insn: tuple[int, int, str, str]) -> None:
        """The reference itself: its value is told apart from other loads of the same address."""
        if insn[2] != "lea":
            return
        family = _FAMILY.get(insn[3].partition(",")[0], "")
        loaded = state.regs.get(family)
        if loaded is not None and loaded[0] == "addr":
            state.regs[family] = ("ref", loaded[1])

    # -- one instruction ------------------------------------------------------------------

    def _step(
        self,
        state: State,
        insn: tuple[int, int, str, str],
        calls: list[Call],
        stores: list[Store],
        watched: set[Value],
    ) -> str | int | None:
        """Apply one instruction; "end" where the path ends, an address where it jumps to."""
        address, size, mnemonic, operands = insn
        ops = operands.split(", ") if operands else []
        regs = state.regs
        if mnemonic == "call" or mnemonic == "jmp":
            callee = self._target(address, size, ops[0]) if ops else None
            if mnemonic == "jmp" and isinstance(callee, int):
                # within the function, or a tail call to one of the binary's own: the same path
                return callee if self.in_code(callee) else "end"
            args = tuple(regs.get(r) for r in self.args)
            calls.append(Call(address, callee, args))
            if mnemonic == "jmp":
                return "end"
            if any(a in watched for a in args):
                watched.add(("ret", address))
            for reg in self.clobbered:
                regs.pop(reg, None)
            state.xmm.clear()
            regs["rax"] = ("ret", address)
            return None
        if mnemonic.startswith(_ENDS) or mnemonic.startswith("ret"):
            return "end"
        if mnemonic.startswith("j") or mnemonic.startswith("loop"):
            return None  # a conditional branch: the path goes on through the fall-through
        if mnemonic.startswith("rep") or (mnemonic in _STRING_OPS and "mm" not in operands):
            for reg in ("rdi", "rsi", "rcx", "rax"):
                regs.pop(reg, None)
            state.stack.clear()
            return None
        if mnemonic in _IMPLICIT:
            for reg in _IMPLICIT[mnemonic]:
                regs.pop(reg, None)
        if mnemonic == "push" and ops:
            value = self._read(state, ops[0], address, size)
            if state.sp is not None:
                state.sp -= 8
                state.stack[state.sp] = value
            return None
        if mnemonic == "pop" and ops:
            family = _FAMILY.get(ops[0])
            value = state.stack.get(state.sp) if state.sp is not None else None
            if family:
                regs[family] = value
            if state.sp is not None:
                state.sp += 8
            return None
        if len(ops) == 2 and ops[0] == "rsp" and mnemonic in ("sub", "add"):
            if state.sp is not None and _IMMEDIATE.match(ops[1]):
                state.sp += int(ops[1], 0) * (1 if mnemonic == "add" else -1)
            else:
                state.sp = None
                state.stack.clear()
            return None
        if mnemonic == "lea" and len(ops) == 2:
            self._write(state, ops[0], self._address(state, ops[1], address, size))
            return None
        if mnemonic in ("mov", "movabs", "movq") and len(ops) == 2:
            self._move(state, ops, insn, stores, watched)
            return None
        if mnemonic == "xor" and len(ops) == 2 and ops[0] == ops[1] and ops[0] in _FAMILY:
            regs[_FAMILY[ops[0]]] = ("imm", 0)
            return None
        if mnemonic == "xchg" and len(ops) == 2 and ops[0] in _FAMILY and ops[1] in _FAMILY:
            a, b = _FAMILY[ops[0]], _FAMILY[ops[1]]
            regs[a], regs[b] = regs.get(b), regs.get(a)
            return None
        if ops and _XMM.match(ops[0]):
            self._vector(state, mnemonic, ops, insn, stores, watched)
            return None
        if ops and len(ops) == 2 and _XMM.match(ops[1]) and _MEMORY.match(ops[0]):
            self._vector(state, mnemonic, ops, insn, stores, watched)
            return None
        if ops and not mnemonic.startswith(_READS):
            first = ops[0]
            if first in _FAMILY:
                regs[_FAMILY[first]] = None
            elif _MEMORY.match(first):
                self._forget(state, first, address, size)
        return None

    def _target(self, address: int, size: int, operand: str) -> str | int | None:
        if _IMMEDIATE.match(operand):
            target = int(operand, 0)
            return self.imports.get(target, self.redirects.get(target, target))
        memory = self._memory(operand)
        if memory is not None and memory[0] == "rip":
            return self.slots.get(address + size + memory[2])
        return None

    @staticmethod
    def _memory(operand: str) -> tuple[str, str | None, int, int] | None:
        """``[base + index*scale + disp]`` -> (base, index, displacement, size in bytes)."""
        match = _MEMORY.match(operand)
        if match is None:
            return None
        base: str | None = None
        index: str | None = None
        disp = 0
        for sign, term in re.findall(r"([+-]?)\s*([\w*]+)", match[2].replace(" ", "")):
            if "*" in term or (base is not None and term in _FAMILY):
                index = term
            elif term in _FAMILY or term == "rip":
                base = term
            elif _IMMEDIATE.match(term):
                disp += int(term, 0) * (-1 if sign == "-" else 1)
            else:
                return None
        if base is None:
            return None
        return base, index, disp, _SIZES.get(match[1] or "", 0)

    def _address(self, state: State, operand: str, address: int, size: int) -> Value | None:
        """The address a memory operand names, as a value."""
        memory = self._memory(operand)
        if memory is None or memory[1] is not None:
            return None
        base, _index, disp, _size = memory
        if base == "rip":
            return ("addr", address + size + disp)
        if _FAMILY.get(base) == "rsp":
            return ("stack", state.sp + disp) if state.sp is not None else None
        held = state.regs.get(_FAMILY.get(base, base))
        if held is None:
            return None
        if held[0] == "stack" and isinstance(held[1], int):
            return ("stack", held[1] + disp)
        return ("field", held, disp)

    def _read(self, state: State, operand: str, address: int, size: int) -> Value | None:
        if operand in _FAMILY:
            return state.regs.get(_FAMILY[operand]) if _FAMILY[operand] == operand else None
        if _IMMEDIATE.match(operand):
            return ("imm", int(operand, 0))
        where = self._address(state, operand, address, size)
        if where is None:
            return None
        if where[0] == "stack" and isinstance(where[1], int):
            return state.stack.get(where[1])
        if where[0] == "addr":
            return ("load", where[1])
        return None

    def _write(self, state: State, operand: str, value: Value | None) -> None:
        family = _FAMILY.get(operand)
        if family is None:
            return
        if family == operand:
            state.regs[family] = value
        elif operand in _DWORD and value is not None and value[0] == "imm" and isinstance(value[1], int):
            state.regs[family] = ("imm", value[1] & 0xFFFFFFFF)
        else:
            state.regs[family] = None

    def _forget(self, state: State, operand: str, address: int, size: int) -> None:
        """Something unknown is written to memory: a stack slot it covers no longer holds a value."""
        where = self._address(state, operand, address, size)
        memory = self._memory(operand)
        width = memory[3] if memory is not None else 8
        if where is not None and where[0] == "stack" and isinstance(where[1], int):
            for slot in range(where[1] - 7, where[1] + max(width, 1)):
                state.stack.pop(slot, None)

    def _move(
        self,
        state: State,
        ops: list[str],
        insn: tuple[int, int, str, str],
        stores: list[Store],
        watched: set[Value],
    ) -> None:
        address, size, _mnemonic, _ = insn
        destination, source = ops
        if _XMM.match(destination) or _XMM.match(source):
            self._vector(state, "movq", ops, insn, stores, watched)
            return
        if destination in _FAMILY:
            self._write(state, destination, self._read(state, source, address, size))
            return
        memory = self._memory(destination)
        if memory is None:
            return
        value = self._read(state, source, address, size)
        width = memory[3] or 8
        immediate = None
        if value is not None and value[0] == "imm" and isinstance(value[1], int) and _IMMEDIATE.match(source):
            immediate = (address + size - min(width, 4), min(width, 4))
            value = ("imm", value[1] & ((1 << (8 * width)) - 1)) if value[1] >= 0 else value
        self._store(state, destination, value, insn, stores, watched, width, immediate)

    def _store(
        self,
        state: State,
        operand: str,
        value: Value | None,
        insn: tuple[int, int, str, str],
        stores: list[Store],
        watched: set[Value],
        width: int,
        immediate: tuple[int, int] | None = None,
    ) -> None:
        address, size = insn[0], insn[1]
        target = self._address(state, operand, address, size)
        if target is not None and target[0] == "stack" and isinstance(target[1], int):
            self._forget(state, operand, address, size)
            if width == 8:
                state.stack[target[1]] = value
        memory = self._memory(operand)
        rsp = memory[2] if memory is not None and _FAMILY.get(memory[0]) == "rsp" and memory[1] is None else None
        stores.append(Store(address, value, target, width, immediate, rsp))
        if value in watched and target is not None and target[0] == "field":
            watched.add(target[1])  # type: ignore[arg-type]

    def _vector(
        self,
        state: State,
        mnemonic: str,
        ops: list[str],
        insn: tuple[int, int, str, str],
        stores: list[Store],
        watched: set[Value],
    ) -> None:
        """xmm registers as two 64-bit halves: enough for the pairs of pointers compilers build in them."""
        address, size = insn[0], insn[1]
        first = _XMM.match(ops[0])
        if ops[0] in _FAMILY:  # movq reg, xmm: the low half
            other = _XMM.match(ops[1]) if len(ops) > 1 else None
            state.regs[_FAMILY[ops[0]]] = state.xmm.get(int(other[1]), (None, None))[0] if other else None
            return
        if first is None:
            # a store of an xmm register to memory
            stored = _XMM.match(ops[1]) if len(ops) > 1 else None
            if stored is None:
                return
            low, high = state.xmm.get(int(stored[1]), (None, None))
            memory = self._memory(ops[0])
            width = memory[3] if memory is not None else 0
            if mnemonic in ("movq", "movsd", "vmovq"):
                self._store(state, ops[0], low, insn, stores, watched, 8)
            elif width == 16 and mnemonic.lstrip("v") in ("movaps", "movups", "movdqa", "movdqu", "movapd", "movupd"):
                self._store(state, ops[0], low, insn, stores, watched, 8)
                shifted = self._shift(ops[0], 8)
                if shifted is not None:
                    self._store(state, shifted, high, insn, stores, watched, 8)
            elif mnemonic in ("movhps", "movhpd", "vmovhps"):
                self._store(state, ops[0], high, insn, stores, watched, 8)
            else:
                self._forget(state, ops[0], address, size)
            return
        n = int(first[1])
        current = state.xmm.get(n, (None, None))
        source = ops[1] if len(ops) > 1 else ""
        other = _XMM.match(source)
        base = mnemonic.lstrip("v")
        if base in ("movq", "movd") and source in _FAMILY:
            state.xmm[n] = (self._read(state, source, address, size) if base == "movq" else None, None)
        elif base == "movq" and other is None:
            state.xmm[n] = (self._read(state, source.replace("xmmword", "qword"), address, size), None)
        elif base == "movq" and other is not None:
            state.xmm[n] = (state.xmm.get(int(other[1]), (None, None))[0], None)
        elif base in ("movaps", "movups", "movdqa", "movdqu", "movapd", "movupd") and other is not None:
            state.xmm[n] = state.xmm.get(int(other[1]), (None, None))
        elif base == "punpcklqdq" and other is not None:
            state.xmm[n] = (current[0], state.xmm.get(int(other[1]), (None, None))[0])
        elif base in ("movhps", "movhpd") and other is None:
            state.xmm[n] = (current[0], self._read(state, source.replace("xmmword", "qword"), address, size))
        elif base == "pinsrq" and len(ops) == 3 and ops[2] == "1":
            state.xmm[n] = (current[0], self._read(state, source, address, size))
        else:
            state.xmm[n] = (None, None)

    @staticmethod
    def _shift(operand: str, delta: int) -> str | None:
        """The memory operand ``delta`` bytes further, as a qword."""
        match = _MEMORY.match(operand)
        if match is None:
            return None
        return f"qword ptr [{match[2]} + {delta}]"


_RIP = re.compile(r"\[rip ([+-]) (0x[0-9a-f]+|\d+)\]")


def stubs(sections: Sequence[tuple[int, bytes]], slots: Mapping[int, str], entry: int | None = None) -> dict[int, str]:
    """Stubs that jump through a pointer to an imported function (ELF PLT entries, Mach-O
    ``__stubs``): address -> the imported name. ``entry``: the size of a stub, when stubs are
    aligned to it and the jump is not their first instruction (``endbr64`` before it)."""
    import capstone

    disassembler = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    disassembler.skipdata = True
    found: dict[int, str] = {}
    for base, code in sections:
        for address, size, mnemonic, operands in disassembler.disasm_lite(code, base):
            match = _RIP.search(operands) if mnemonic.endswith("jmp") else None
            if match is None:
                continue
            name = slots.get(address + size + int(match[2], 0) * (-1 if match[1] == "-" else 1))
            if name is not None:
                found[address] = name
                if entry:
                    found.setdefault(base + (address - base) // entry * entry, name)
    return found
