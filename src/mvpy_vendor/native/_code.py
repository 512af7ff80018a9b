"""Finding and rewriting code references to addresses: x86-64 RIP-relative operands (capstone)
and arm64 ``adrp``/``add`` pairs (decoded here)."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Sweep", "adrp_add_pairs", "length_site", "patch_adrp_add", "rip_references"]

# An adrp and the add or load that completes it are emitted close together; past this many
# bytes a register is not trusted to still hold the page.
_ADRP_REACH = 64
_STACK_CONSTANT = re.compile(r"^qword ptr \[rsp \+ (0x[0-9a-f]+|\d+)\], (0x[0-9a-f]+|\d+)$")
_RIP_OPERAND = re.compile(r"\[rip ([+-]) (0x[0-9a-f]+|\d+)\]")


@dataclass
class Sweep:
    """What the sweep over the code gathers for :mod:`._flow`: for each reference, where the
    straight-line code leading to it starts (``heads``: at most a window back; calls and
    conditional branches do not stop it, an unconditional jump or a return does); every small
    constant stored to a stack slot (``mov qword ptr [rsp + X], imm``) by ``X`` (``constants``:
    address of the immediate, width, value), where Cython's string table built on the stack keeps
    the lengths of the strings it stores with vector instructions; every load of a pointer from
    a variable (``mov reg, qword ptr [rip + d]``) by the variable's address (``loads``), and
    every store of one (``mov qword ptr [rip + d], reg``: ``stores``); and the address of every
    function a direct call reaches (``entries``)."""

    heads: dict[int, int] = field(default_factory=dict)
    constants: dict[int, list[tuple[int, int, int]]] = field(default_factory=dict)
    loads: dict[int, list[int]] = field(default_factory=dict)
    stores: dict[int, list[int]] = field(default_factory=dict)
    entries: set[int] = field(default_factory=set)


def rip_references(
    code: bytes,
    base: int,
    targets: Mapping[int, object],
    found: dict[int, list[tuple[int, int, int]]],
    lengths: dict[int, tuple[int, int, int]] | None = None,
    sweep: Sweep | None = None,
) -> None:
    """x86-64: every RIP-relative operand in ``code`` (at address ``base``) that lands on one of
    ``targets``, as (instruction address, size, offset of its 32-bit displacement). With
    ``lengths``: for each such ``lea``, the immediate that holds the length kept with the pointer
    (see :func:`length_site`), by instruction address. With ``sweep``: what :mod:`._flow` needs
    besides, gathered on the way (see :class:`Sweep`).

    capstone's "lite" disassembly (no operand details) is several times faster; the displacement
    is read from the operand text and located in the instruction's bytes. SKIPDATA: a linear
    sweep must not stop at bytes that are not instructions (MSVC puts data in ``.text``).
    """
    import capstone

    disassembler = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    disassembler.skipdata = True
    window: deque[Insn] = deque(maxlen=_HEAD_WINDOW if sweep is not None else _WINDOW)
    pending: list[tuple[list[Insn], Insn, list[Insn]]] = []
    for insn in disassembler.disasm_lite(code, base):
        for waiting in pending:
            waiting[2].append(insn)
        if pending and len(pending[0][2]) >= _WINDOW:
            _settle(pending.pop(0), code, base, lengths)
        window.append(insn)
        address, size, mnemonic, operands = insn
        if sweep is not None and mnemonic == "call" and operands.startswith("0x"):
            sweep.entries.add(int(operands, 16))
        if sweep is not None and mnemonic == "mov" and operands.startswith("qword ptr [rsp + "):
            constant = _STACK_CONSTANT.match(operands)
            if constant is not None and int(constant[2], 0) < 1 << 16:
                at = address + size - 4
                if int.from_bytes(code[at - base : at - base + 4], "little") == int(constant[2], 0):
                    sweep.constants.setdefault(int(constant[1], 0), []).append((at, 4, int(constant[2], 0)))
        match = _RIP_OPERAND.search(operands)
        if match is None:
            continue
        disp = int(match[2], 0) * (-1 if match[1] == "-" else 1)
        target = address + size + disp
        if sweep is not None and mnemonic == "mov" and ", qword ptr [rip " in operands:
            sweep.loads.setdefault(target, []).append(address)
        elif sweep is not None and mnemonic == "mov" and operands.startswith("qword ptr [rip "):
            sweep.stores.setdefault(target, []).append(address)
        if target not in targets:
            continue
        start = address - base
        offset = code.find(disp.to_bytes(4, "little", signed=True), start + 1, start + size) - start
        if offset > 0:
            found.setdefault(target, []).append((address, size, offset))
            if sweep is not None:
                sweep.heads[address] = _head(window)
            if lengths is not None:
                pending.append((list(window)[-_WINDOW:-1], insn, []))
    for waiting in pending:
        _settle(waiting, code, base, lengths)


def _head(window: deque[Insn]) -> int:
    """Where the straight-line code in ``window`` that ends with its last instruction starts.
    Calls and conditional branches do not end it; an unconditional jump or a return does, unless
    a jump in the window leads to where it starts (the walk can take that jump)."""
    insns = list(window)
    head = insns[-1][0]
    j = len(insns) - 2
    while j >= 0:
        if insns[j][2] == "jmp" or insns[j][2].startswith(("ret", "ud2", "int3", "hlt")):
            into = [k for k in range(j, -1, -1) if insns[k][2].startswith("j") and insns[k][3] == hex(head)]
            if not into:
                break
            j = into[0]
        head = insns[j][0]
        j -= 1
    return head


def _settle(
    waiting: tuple[list[Insn], Insn, list[Insn]],
    code: bytes,
    base: int,
    lengths: dict[int, tuple[int, int, int]] | None,
) -> None:
    site = length_site(*waiting, code, base)
    if site is not None and lengths is not None:
        lengths[waiting[1][0]] = site


def adrp_add_pairs(
    code: bytes, base: int, targets: Mapping[int, bytes]
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


def patch_adrp_add(binary: Any, adrp: int, add: int, target: int) -> None:
    """Re-encode an ``adrp``/``add`` pair so that it computes ``target``."""
    word = int.from_bytes(bytes(binary.get_content_from_virtual_address(adrp, 4)), "little")
    delta = ((target & ~0xFFF) - (adrp & ~0xFFF)) >> 12
    word = (word & 0x9F00001F) | ((delta & 3) << 29) | (((delta >> 2) & 0x7FFFF) << 5)
    binary.patch_address(adrp, list(word.to_bytes(4, "little")))
    word = int.from_bytes(bytes(binary.get_content_from_virtual_address(add, 4)), "little")
    word = (word & ~(0xFFF << 10)) | ((target & 0xFFF) << 10)
    binary.patch_address(add, list(word.to_bytes(4, "little")))


# Where a string's length travels beside a pointer loaded by ``lea``: in the argument register
# after the pointer's (System V: rdi, rsi, rdx, rcx, r8, r9, so (ptr, len) pairs), or in the
# stack slot 8 bytes past the one the pointer is stored to (a fat pointer built in memory).
_ARGS = ("rdi", "rsi", "rdx", "rcx", "r8", "r9")
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
_FAMILY_OF = {name: family for family, names in _FAMILIES.items() for name in names}
# Instructions that change registers they do not name first (or change them all): a length
# held in a register across one of them is not trusted.
_CLOBBERS = ("cqo", "cdq", "cwd", "mul", "div", "idiv", "syscall", "cpuid", "rdtsc", "xchg", "cmpxchg", "xadd")
_READS_ONLY = ("cmp", "test", "push", "bt", "ucomisd", "ucomiss", "comisd", "comiss")
_ENDS = ("call", "ret", "int3", "ud2", "hlt")
_SIZES = {"byte": 1, "word": 2, "dword": 4, "qword": 8, "xmmword": 16, "ymmword": 32, "zmmword": 64}
_MEMORY = re.compile(r"^(\w+) ptr \[(\w+)(?: ([+-]) (0x[0-9a-f]+|\d+))?\]$")
_IMMEDIATE = re.compile(r"^(0x[0-9a-f]+|\d+)$")
_WINDOW = 24  # instructions looked at on each side of a reference
_HEAD_WINDOW = 96  # instructions looked at before a reference for where the code leading to it starts

Insn = tuple[int, int, str, str]  # address, size, mnemonic, operands (capstone "lite")


def _ends_block(insn: Insn) -> bool:
    return insn[2].startswith("j") or insn[2].startswith(_ENDS)


def _operands(insn: Insn) -> list[str]:
    return insn[3].split(", ") if insn[3] else []


def _memory(operand: str) -> tuple[int, str, int] | None:
    """``qword ptr [rsp + 0x58]`` -> (8, "rsp", 0x58); RIP-relative and indexed forms: None."""
    match = _MEMORY.match(operand)
    if match is None or match[1] not in _SIZES or match[2] == "rip":
        return None
    disp = int(match[4], 0) * (-1 if match[3] == "-" else 1) if match[4] else 0
    return _SIZES[match[1]], match[2], disp


def _writes_register(insn: Insn, family: str) -> bool:
    ops = _operands(insn)
    if insn[2].startswith("rep") or insn[2] in _CLOBBERS or insn[2].startswith(("movs", "stos", "lods")):
        return True
    return bool(ops) and _FAMILY_OF.get(ops[0]) == family and not insn[2].startswith(_READS_ONLY)


def _immediate_site(insn: Insn, code: bytes, base: int) -> tuple[int, int, int] | None:
    """A ``mov`` of an immediate: (address of the immediate, its width, value), when the
    immediate is the instruction's last 4 (or, for ``movabs``, 8) bytes."""
    ops = _operands(insn)
    if insn[2] == "xor" and len(ops) == 2 and ops[0] == ops[1]:
        return insn[0], 0, 0  # a length of zero: nothing is read, nothing to update
    if insn[2] not in ("mov", "movabs") or len(ops) != 2 or not _IMMEDIATE.match(ops[1]):
        return None
    value = int(ops[1], 0)
    width = 8 if insn[2] == "movabs" else 4
    start = insn[0] + insn[1] - width
    if int.from_bytes(code[start - base : start - base + width], "little") != value:
        return None
    return start, width, value


def length_site(
    before: list[Insn], insn: Insn, after: list[Insn], code: bytes, base: int
) -> tuple[int, int, int] | None:
    """The length kept with the pointer that ``insn`` (a RIP-relative ``lea``) loads, when it is
    an immediate in the same basic block: (address of the immediate, width, value). Two forms:
    the next argument register set by ``mov reg, imm`` before the call that takes the pointer,
    and ``mov qword ptr [slot + 8], imm`` beside ``mov qword ptr [slot], reg``."""
    ops = _operands(insn)
    if insn[2] != "lea" or len(ops) != 2 or ops[0] not in _FAMILIES:
        return None
    pointer = ops[0]
    head: list[Insn] = []
    for earlier in reversed(before):
        if _ends_block(earlier):
            break
        head.insert(0, earlier)
    tail: list[Insn] = []
    end: Insn | None = None
    for later in after:
        if _ends_block(later):
            end = later
            break
        tail.append(later)
    block = [*head, *tail]
    # The pointer must still be in its register where it is used.
    live = tail
    for i, later in enumerate(tail):
        if _writes_register(later, pointer):
            live = tail[:i]
            break
    if pointer in _ARGS[:-1] and end is not None and end[2] in ("call", "jmp") and live is tail:
        family = _ARGS[_ARGS.index(pointer) + 1]
        writes = [i for i in block if _writes_register(i, family)]
        if writes:
            return _immediate_site(writes[-1], code, base)
    for store in live:
        store_ops = _operands(store)
        if store[2] != "mov" or len(store_ops) != 2 or store_ops[1] != pointer:
            continue
        slot = _memory(store_ops[0])
        if slot is None or slot[0] != 8:
            continue
        wanted = slot[2] + 8
        last = None
        for other in block:
            other_ops = _operands(other)
            target = _memory(other_ops[0]) if other_ops and not other[2].startswith(_READS_ONLY) else None
            if (
                target is not None
                and target[1] == slot[1]
                and target[2] < wanted + 8
                and wanted < target[2] + target[0]
            ):
                last = other
        if last is None or _memory(_operands(last)[0]) != (8, slot[1], wanted):
            continue
        # The slots must be the same memory: their base register unchanged in between.
        first, second = sorted((block.index(store), block.index(last)))
        if not any(_writes_register(i, slot[1]) for i in block[first:second]):
            return _immediate_site(last, code, base)
    return None
