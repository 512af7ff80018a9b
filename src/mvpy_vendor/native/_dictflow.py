"""Where one value goes inside x86-64 functions: the dict a C API function returns (the
interpreter's thread-state dict), followed through registers and stack slots to the calls that
read or write it, with what each call passes as the key.

A may-analysis: every register and stack slot holds the set of what it may contain (tokens), a
join is a union, and every path the code can take is followed (both sides of a branch, cold
parts of a function). What is not followed is said: the dict stored where this cannot see
(``escapes``), or code that cannot be followed (``incomplete``); the caller treats either as
"keys not read". Reading keys needs nothing else to be sound: a key read here is one the code
passes, on some path, to a call that takes the dict and a key.

Tokens (tuples): ``("dict",)`` the dict; ``("inner",)`` a pointer computed from it;
``("field",)`` a word loaded from the dict object (its type, a type's slot); ``("const", a)``
address ``a`` (``lea r, [rip+a]``); ``("global", a)`` the word stored at ``a``; ``("str", a)``
a str made from the C string at ``a``; ``("arg", r)`` the caller's register ``r``;
``("stack", o)`` the stack pointer at entry plus ``o``; ``("fn", name)`` an imported function's
address; ``("imm", n)`` the number ``n``; ``("unknown",)`` anything else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["ARGS", "Access", "Analyzer", "Call", "Program", "Result", "Token", "Value"]

Token = tuple[Any, ...]
Value = frozenset[Token]

ARGS = ("rdi", "rsi", "rdx", "rcx", "r8", "r9")
_CALLER_SAVED = ("rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11")


def _families() -> dict[str, str]:
    """Every name of a general-purpose register, or of a part of one -> the 64-bit register."""
    parts = {
        "rax": "eax ax al ah",
        "rbx": "ebx bx bl bh",
        "rcx": "ecx cx cl ch",
        "rdx": "edx dx dl dh",
        "rsi": "esi si sil",
        "rdi": "edi di dil",
        "rbp": "ebp bp bpl",
        "rsp": "esp sp spl",
    }
    parts.update({f"r{n}": f"r{n}d r{n}w r{n}b" for n in range(8, 16)})
    return {name: family for family, names in parts.items() for name in (family, *names.split())}


_FAMILY = _families()
UNKNOWN: Value = frozenset({("unknown",)})
DICT: Value = frozenset({("dict",)})
_HELD = frozenset({("dict",), ("inner",)})  # tokens that are the dict, or point into it
_WIDEST = 12  # more tokens than this in one place: only whether it may hold the dict is kept
_BUDGET = 400_000  # instructions interpreted per function, at most
_STACK_ARGUMENTS = 0x40  # bytes above the stack pointer a call may take arguments from


@dataclass(frozen=True)
class Access:
    """A call that reads or writes the dict under a key: ``api`` called at ``site`` with ``key``
    (what the key argument may be; ``by_string``: a ``char *`` rather than an object)."""

    site: int
    api: str
    key: Value
    by_string: bool


@dataclass(frozen=True)
class Call:
    """What a call does to the dict, decided by the program (see :class:`Program`)."""

    returns: Value = UNKNOWN
    accesses: tuple[Access, ...] = ()
    escapes: tuple[tuple[int, str], ...] = ()
    incomplete: tuple[tuple[int, str], ...] = ()
    noreturn: bool = False


@dataclass
class Result:
    """What following one function found."""

    accesses: list[Access] = field(default_factory=list)
    escapes: list[tuple[int, str]] = field(default_factory=list)  # (address, how the dict gets away)
    incomplete: list[tuple[int, str]] = field(default_factory=list)  # (address, what was not followed)
    returns: Value = frozenset()
    stores: list[tuple[int, Value]] = field(default_factory=list)  # (global written, what)


class Program(Protocol):
    """What the analysis asks of the binary."""

    def code(self, address: int) -> memoryview | None:
        """The bytes from ``address`` to the end of its executable section (None: not code)."""

    def extent(self, address: int) -> tuple[int, int] | None:
        """The function (start, end) holding ``address``, from the unwind tables or symbols."""

    def is_entry(self, address: int) -> bool:
        """Is ``address`` the start of a function something calls (a jump there is a tail call)?"""

    def slot_import(self, address: int) -> str | None:
        """The imported function whose address the word at ``address`` holds (a GOT slot)."""

    def call(self, target: Value | int, state: State, site: int, depth: int) -> Call:
        """What calling ``target`` (an address, or what a register held) does, given the registers."""


class State:
    """Registers and stack slots, each the set of what it may hold; ``sp``: the stack pointer
    relative to its value at entry (None: lost)."""

    __slots__ = ("regs", "slots", "sp", "zero")

    def __init__(self, regs: dict[str, Value], slots: dict[int, Value], sp: int | None) -> None:
        self.regs, self.slots, self.sp = regs, slots, sp
        # registers that hold what the last ``test r, r`` (or ``cmp r, 0``) looked at: on the
        # branch where it was zero they are NULL, not the dict (``if (d == NULL) return NULL``)
        self.zero: tuple[str, ...] = ()

    def copy(self) -> State:
        state = State(dict(self.regs), dict(self.slots), self.sp)
        state.zero = self.zero
        return state

    def reg(self, name: str) -> Value:
        if name == "rsp":
            return frozenset({("stack", self.sp)}) if self.sp is not None else UNKNOWN
        return self.regs.get(name, UNKNOWN)

    def outgoing(self) -> dict[int, Value]:
        """The words a call finds above its return address (its stack arguments), as the
        callee's entry slots (8, 16, ...)."""
        if self.sp is None:
            return {}
        return {8 + o - self.sp: v for o, v in self.slots.items() if self.sp <= o < self.sp + _STACK_ARGUMENTS}

    def holds_dict(self) -> bool:
        return any(v & _HELD for v in self.regs.values()) or any(v & _HELD for v in self.slots.values())

    def slots_hold_dict(self, low: int | None = None, high: int | None = None) -> bool:
        return any(v & _HELD for o, v in self.slots.items() if (low is None or o >= low) and (high is None or o < high))

    def join(self, other: State) -> bool:
        """Merge ``other`` in; did anything change?"""
        changed = False
        if self.zero != other.zero and self.zero:
            self.zero, changed = (), True
        for name in set(self.regs) | set(other.regs):
            merged = _widen(self.reg(name) | other.reg(name))
            if merged != self.regs.get(name):
                self.regs[name], changed = merged, True
        if self.sp != other.sp and self.sp is not None:
            self.sp, changed = None, True
        for offset in set(self.slots) | set(other.slots):
            merged = _widen(self.slots.get(offset, UNKNOWN) | other.slots.get(offset, UNKNOWN))
            if merged != self.slots.get(offset):
                self.slots[offset], changed = merged, True
        return changed


def _widen(value: Value) -> Value:
    if len(value) <= _WIDEST:
        return value
    return (value & _HELD) | UNKNOWN


def entry_state(args: dict[str, Value] | None = None, stack: dict[int, Value] | None = None) -> State:
    """At a function's entry: the arguments (given, or the caller's), the stack arguments
    (given, by offset from the stack pointer at entry), everything else unknown."""
    regs = {r: frozenset({("arg", r)}) for r in ARGS}
    regs.update(args or {})
    return State(regs, dict(stack or {}), 0)


def is_held(value: Value) -> bool:
    return bool(value & _HELD)


class Analyzer:
    """Follows functions of one program; ``decode`` turns bytes at an address into capstone
    instructions (with operand details)."""

    def __init__(self, program: Program) -> None:
        import capstone

        self.program = program
        self._cs = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
        self._cs.detail = True
        self._x86 = capstone.x86
        self._read, self._write = capstone.CS_AC_READ, capstone.CS_AC_WRITE
        self._insns: dict[int, Any] = {}

    def _insn(self, address: int) -> Any | None:
        if address not in self._insns:
            code = self.program.code(address)
            insn = next(self._cs.disasm(bytes(code[:16]), address, 1), None) if code else None
            self._insns[address] = insn
        return self._insns[address]

    def follow(self, start: int, state: State, depth: int = 0) -> Result:
        """Interpret the function at ``start`` from ``state`` until every path has returned."""
        result = Result()
        extent = self.program.extent(start)
        if extent is None:
            result.incomplete.append((start, "no function boundaries known there"))
            return result
        allowed = [extent]
        states: dict[int, State] = {start: state}
        work = [start]
        steps = 0
        while work:
            address = work.pop()
            steps += 1
            if steps > _BUDGET:
                result.incomplete.append((start, f"more than {_BUDGET} instructions to follow"))
                return result
            insn = self._insn(address)
            if insn is None:
                result.incomplete.append((address, "bytes that do not decode as an instruction"))
                continue
            out = states[address].copy()
            successors = self._step(insn, out, result, depth, allowed)
            following = insn.address + insn.size
            for target in successors:
                state = out
                if isinstance(target, tuple):  # the branch where the tested register was zero
                    target, state = target[0], out.copy()
                    for name in out.zero:
                        state.regs[name] = frozenset({("imm", 0)})
                if not any(lo <= target < hi for lo, hi in allowed):
                    if target == following:
                        continue  # past the function's end: after a call that does not return
                    part = self.program.extent(target)
                    if part is None:
                        result.incomplete.append((address, f"a jump to {target:#x}, outside any known function"))
                        continue
                    allowed.append(part)  # a cold part of this function, only jumped to
                known = states.get(target)
                if known is None:
                    states[target] = state.copy()
                    work.append(target)
                    continue
                if known.sp != state.sp and (known.slots_hold_dict() or state.slots_hold_dict()):
                    result.incomplete.append((target, "paths meet with different stack depths, the dict on the stack"))
                if known.join(state):
                    work.append(target)
        return result

    # -- one instruction ---------------------------------------------------------------------

    def _step(
        self, insn: Any, st: State, result: Result, depth: int, allowed: list[tuple[int, int]]
    ) -> list[int | tuple[int]]:
        """Apply ``insn`` to ``st``; the addresses that may run next (in a 1-tuple: the branch
        where the registers in ``st.zero`` are zero)."""
        mnemonic: str = insn.mnemonic.split()[-1]  # without prefixes (notrack jmp, bnd ret, repz ret)
        following = insn.address + insn.size
        ops = insn.operands
        x86 = self._x86
        if mnemonic in ("ret", "retf", "iret", "iretq"):
            result.returns = result.returns | st.reg("rax")
            return []
        if mnemonic in ("ud2", "hlt", "int3"):
            return []
        if mnemonic == "call":
            st.zero = ()
            return [] if self._call(insn, st, result, depth).noreturn else [following]
        if mnemonic == "jmp" or mnemonic.startswith("j") or mnemonic.startswith("loop"):
            conditional = mnemonic != "jmp"
            op = ops[0] if ops else None
            if op is not None and op.type == x86.X86_OP_IMM:
                target = int(op.imm)
                if not self._tail(target, allowed):
                    if mnemonic == "je" and st.zero:
                        return [(target,), following]
                    if mnemonic == "jne" and st.zero:
                        return [target, (following,)]
                    return [target, following] if conditional else [target]
            elif op is not None and not self._through_pointer(insn, op, st):
                result.incomplete.append((insn.address, f"an indirect jump ({mnemonic} {insn.op_str})"))
                return [following] if conditional else []
            # a tail call: the callee returns for this function
            taken = st.copy() if conditional else st
            call = self._call(insn, taken, result, depth)
            if not call.noreturn:
                result.returns = result.returns | taken.reg("rax")
            return [following] if conditional else []
        if mnemonic in ("endbr64", "nop") or mnemonic.startswith("prefetch"):
            return [following]
        self._data(insn, st, result)
        return [following]

    def _tail(self, target: int, allowed: list[tuple[int, int]]) -> bool:
        """Is a jump to ``target`` a tail call (to an import, or to another function's entry)?"""
        if any(lo <= target < hi for lo, hi in allowed):
            return False
        return self.program.is_entry(target) or self.program.extent(target) is None

    def _through_pointer(self, insn: Any, op: Any, st: State) -> bool:
        """Is an indirect jump a tail call through a function pointer (an import's GOT slot, a
        type's slot, a pointer read from a global) rather than a jump table?"""
        if op.type == self._x86.X86_OP_MEM:
            return op.mem.base == self._x86.X86_REG_RIP and not op.mem.index
        value = st.reg(_FAMILY.get(insn.reg_name(op.reg), "?"))
        return bool(value) and all(t[0] in ("fn", "field", "global", "arg") for t in value)

    def _call(self, insn: Any, st: State, result: Result, depth: int) -> Call:
        op = insn.operands[0]
        target: Value | int
        if op.type == self._x86.X86_OP_IMM:
            target = int(op.imm)
        elif op.type == self._x86.X86_OP_REG:
            target = st.reg(_FAMILY.get(insn.reg_name(op.reg), "?"))
        else:
            target = self._load(insn, op, st)
        call = self.program.call(target, st, insn.address, depth)
        result.accesses.extend(call.accesses)
        result.escapes.extend(call.escapes)
        result.incomplete.extend(call.incomplete)
        for name in _CALLER_SAVED:
            st.regs[name] = UNKNOWN
        st.regs["rax"] = call.returns
        if st.sp is not None:
            st.slots = {o: v for o, v in st.slots.items() if o >= st.sp}
        return call

    # -- data movement -----------------------------------------------------------------------

    def _location(self, insn: Any, op: Any, st: State) -> list[tuple[str, int]]:
        """Where a memory operand may point: ("stack", offset), ("global", address), ("dict",
        displacement; -1 unknown), ("field", 0) (memory a word of the dict points to), ("other", 0)."""
        mem, x86 = op.mem, self._x86
        if mem.segment not in (0, x86.X86_REG_DS, x86.X86_REG_SS):
            return [("other", 0)]
        if mem.base == x86.X86_REG_RIP:
            return [("global", insn.address + insn.size + mem.disp)]
        base = st.reg(_FAMILY.get(insn.reg_name(mem.base), "?")) if mem.base else frozenset()
        index = st.reg(_FAMILY.get(insn.reg_name(mem.index), "?")) if mem.index else frozenset()
        places: list[tuple[str, int]] = []
        for token in base:
            if token[0] == "stack" and not mem.index and st.sp is not None:
                places.append(("stack", token[1] + mem.disp))
            elif token[0] == "dict":
                places.append(("dict", mem.disp if not mem.index else -1))
            elif token[0] == "inner":
                places.append(("dict", -1))
            elif token[0] == "field":
                places.append(("field", 0))
            else:
                places.append(("other", 0))
        if index & _HELD:
            places.append(("dict", -1))
        return places or [("other", 0)]

    def _load(self, insn: Any, op: Any, st: State) -> Value:
        """The word a memory operand reads (an 8-byte load)."""
        found: set[Token] = set()
        for kind, where in self._location(insn, op, st):
            if kind == "stack":
                found |= st.slots.get(where, UNKNOWN)
            elif kind == "global":
                name = self.program.slot_import(where)
                found.add(("fn", name) if name else ("global", where))
            elif kind in ("dict", "field"):
                found.add(("field",))
            else:
                found.add(("unknown",))
        return _widen(frozenset(found))

    def _store(self, insn: Any, op: Any, st: State, value: Value, result: Result) -> None:
        places = self._location(insn, op, st)
        for kind, where in places:
            if kind == "stack":
                size = op.size or 8
                for offset in [o for o in st.slots if where - 7 <= o < where + size and o != where]:
                    st.slots[offset] = UNKNOWN  # a partial overwrite
                if len(places) == 1 and size == 8:
                    st.slots[where] = value
                else:
                    st.slots[where] = _widen(st.slots.get(where, UNKNOWN) | (value if size == 8 else UNKNOWN))
            elif kind == "global":
                result.stores.append((where, value))
                if value & _HELD:
                    result.escapes.append((insn.address, f"stores the dict in memory ({insn.mnemonic} {insn.op_str})"))
            elif kind == "dict" and where != 0:  # the reference count, at offset 0, is not the dict's content
                result.escapes.append((insn.address, f"writes into the dict object ({insn.mnemonic} {insn.op_str})"))
            elif kind != "dict" and value & _HELD:
                result.escapes.append((insn.address, f"stores the dict in memory ({insn.mnemonic} {insn.op_str})"))

    def _address(self, insn: Any, op: Any, st: State) -> Value:
        """What ``lea`` computes."""
        found: set[Token] = set()
        for kind, where in self._location(insn, op, st):
            if kind == "stack":
                found.add(("stack", where))
            elif kind == "global":
                found.add(("const", where))
            elif kind == "dict":
                found.add(("inner",))
            elif kind == "field":
                found.add(("field",))
            else:
                found.add(("unknown",))
        return frozenset(found)

    def _gpr(self, insn: Any, op: Any) -> str | None:
        """The 64-bit register a register operand is, when it is all of it (None: a part, or not a GPR)."""
        name = insn.reg_name(op.reg)
        family = _FAMILY.get(name)
        return family if family == name else None

    def _data(self, insn: Any, st: State, result: Result) -> None:
        x86, mnemonic, ops = self._x86, insn.mnemonic, insn.operands
        reg, mem, imm = x86.X86_OP_REG, x86.X86_OP_MEM, x86.X86_OP_IMM
        if mnemonic == "push":
            value = self._value(insn, ops[0], st)
            if st.sp is not None:
                st.sp -= 8
                self._store_slot(st, st.sp, value)
            elif value & _HELD:
                result.escapes.append((insn.address, "pushes the dict where the stack is not followed"))
            return
        if mnemonic == "pop":
            value = st.slots.get(st.sp, UNKNOWN) if st.sp is not None else UNKNOWN
            if st.sp is not None:
                st.sp += 8
            self._set(insn, ops[0], st, value, result)
            return
        if mnemonic == "leave":
            rbp = st.reg("rbp")
            stack = [t for t in rbp if t[0] == "stack"]
            if len(rbp) == 1 and stack:
                st.sp = stack[0][1]
                st.regs["rbp"] = st.slots.get(st.sp, UNKNOWN)
                st.sp += 8
            else:
                self._lose_stack(insn, st, result)
                st.regs["rbp"] = UNKNOWN
            return
        if mnemonic in ("add", "sub") and ops[0].type == reg and self._gpr(insn, ops[0]) == "rsp":
            if ops[1].type == imm and st.sp is not None:
                st.sp += int(ops[1].imm) * (1 if mnemonic == "add" else -1)
            else:
                self._lose_stack(insn, st, result)
            return
        if mnemonic in ("mov", "movabs") and len(ops) == 2:
            dst, src = ops
            value = self._value(insn, src, st)
            if dst.type == reg:
                self._set(insn, dst, st, value if dst.size == 8 else UNKNOWN, result)
                copied = self._gpr(insn, src) if src.type == reg and dst.size == 8 else None
                if copied in st.zero and self._gpr(insn, dst):
                    st.zero = (*st.zero, self._gpr(insn, dst) or "")
            elif dst.type == mem:
                self._store(insn, dst, st, value if dst.size == 8 else UNKNOWN, result)
            return
        if mnemonic == "lea":
            self._set(insn, ops[0], st, self._address(insn, ops[1], st) if ops[0].size == 8 else UNKNOWN, result)
            return
        if mnemonic.startswith("cmov") and ops[0].type == reg:
            value = self._value(insn, ops[1], st) | self._value(insn, ops[0], st)
            self._set(insn, ops[0], st, _widen(value) if ops[0].size == 8 else UNKNOWN, result)
            return
        if mnemonic == "xchg" and all(o.type == reg for o in ops) and all(o.size == 8 for o in ops):
            first, second = self._value(insn, ops[0], st), self._value(insn, ops[1], st)
            self._set(insn, ops[0], st, second, result)
            self._set(insn, ops[1], st, first, result)
            return
        if mnemonic in ("test", "cmp"):
            st.zero = ()
            first, second = ops
            name = self._gpr(insn, first) if first.type == reg else None
            if (name and mnemonic == "test" and second.type == reg and self._gpr(insn, second) == name) or (
                name and mnemonic == "cmp" and second.type == imm and second.imm == 0
            ):
                st.zero = (name,)
            return
        if mnemonic == "bt" or mnemonic.startswith("ucomi") or mnemonic.startswith("comi"):
            st.zero = ()
            return  # flags only
        self._other(insn, st, result)

    def _other(self, insn: Any, st: State, result: Result) -> None:
        """Any other instruction: what it writes is unknown, or a pointer into the dict if it
        computed from the dict in a register; the dict moved anywhere else is lost."""
        x86 = self._x86
        reads, writes = insn.regs_access()
        tainted = False
        explicit: set[str | None] = set()
        for op in insn.operands:
            if op.type == x86.X86_OP_REG:
                explicit.add(_FAMILY.get(insn.reg_name(op.reg)))
                if op.access & self._read:
                    tainted |= is_held(st.reg(_FAMILY.get(insn.reg_name(op.reg), "?")))
            elif op.type == x86.X86_OP_MEM:
                for part in (op.mem.base, op.mem.index):
                    if part:
                        explicit.add(_FAMILY.get(insn.reg_name(part)))
                if op.access & self._read and any(
                    k == "stack" and is_held(st.slots.get(w, UNKNOWN)) for k, w in self._location(insn, op, st)
                ):
                    result.escapes.append((insn.address, f"copies the dict with {insn.mnemonic}"))
        # registers read without being named (rep movs reads rsi and rdi): addresses, or data
        implicit = {_FAMILY.get(insn.reg_name(r)) for r in reads} - explicit - {None, "rsp"}
        tainted |= any(is_held(st.reg(name)) for name in implicit if name)
        gprs_written = {_FAMILY.get(insn.reg_name(r)) for r in writes} - {None}
        if any(insn.reg_name(r) in ("rflags", "eflags", "flags") for r in writes) or gprs_written & set(st.zero):
            st.zero = ()
        for op in insn.operands:
            if op.type == x86.X86_OP_MEM and op.access & self._write:
                self._store(insn, op, st, frozenset({("inner",)}) if tainted else UNKNOWN, result)
        if tainted and not gprs_written - {"rsp"} and not any(o.type == x86.X86_OP_MEM for o in insn.operands):
            result.escapes.append((insn.address, f"moves the dict with {insn.mnemonic} {insn.op_str}"))
        if insn.mnemonic.startswith(("rep", "movs", "stos")) and is_held(st.reg("rsi")):
            result.escapes.append((insn.address, f"copies from the dict with {insn.mnemonic}"))
        for name in gprs_written:
            if name == "rsp":
                self._lose_stack(insn, st, result)
            elif name is not None:
                st.regs[name] = frozenset({("inner",)}) if tainted else UNKNOWN

    def _value(self, insn: Any, op: Any, st: State) -> Value:
        x86 = self._x86
        if op.type == x86.X86_OP_REG:
            name = self._gpr(insn, op)
            return st.reg(name) if name and op.size == 8 else UNKNOWN
        if op.type == x86.X86_OP_MEM:
            return self._load(insn, op, st) if op.size == 8 else UNKNOWN
        if op.type == x86.X86_OP_IMM:
            return frozenset({("imm", int(op.imm))})
        return UNKNOWN

    def _set(self, insn: Any, op: Any, st: State, value: Value, result: Result) -> None:
        x86 = self._x86
        if op.type == x86.X86_OP_MEM:
            self._store(insn, op, st, value, result)
            return
        if op.type != x86.X86_OP_REG:
            return
        family = _FAMILY.get(insn.reg_name(op.reg))
        if family in st.zero:
            st.zero = tuple(n for n in st.zero if n != family)
        if family is None:
            if value & _HELD:
                result.escapes.append((insn.address, f"moves the dict into {insn.reg_name(op.reg)}"))
            return
        if family == "rsp":
            stack = [t for t in value if t[0] == "stack"]
            if len(value) == 1 and stack:
                st.sp = stack[0][1]
            else:
                self._lose_stack(insn, st, result)
            return
        st.regs[family] = value if self._gpr(insn, op) else UNKNOWN

    def _store_slot(self, st: State, offset: int, value: Value) -> None:
        st.slots[offset] = value

    def _lose_stack(self, insn: Any, st: State, result: Result) -> None:
        if st.slots_hold_dict():
            result.incomplete.append((insn.address, f"the stack is realigned ({insn.mnemonic}) with the dict on it"))
        st.sp = None
        st.slots = {}
        for name, value in st.regs.items():
            if any(t[0] == "stack" for t in value):
                st.regs[name] = frozenset(t for t in value if t[0] != "stack") | UNKNOWN


def substitute(key: Value, args: Callable[[str], Value]) -> Value:
    """``key`` with every ``("arg", r)`` replaced by what the caller's ``r`` held."""
    out: set[Token] = set()
    for token in key:
        out |= args(token[1]) if token[0] == "arg" else {token}
    return _widen(frozenset(out))


def tokens(values: Iterable[Value]) -> Value:
    out: set[Token] = set()
    for value in values:
        out |= value
    return frozenset(out)
