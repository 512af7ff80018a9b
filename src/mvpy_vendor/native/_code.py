"""Finding and rewriting code references to addresses: x86-64 RIP-relative operands (capstone)
and arm64 ``adrp``/``add`` pairs (decoded here)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["adrp_add_pairs", "patch_adrp_add", "rip_references"]

# An adrp and the add or load that completes it are emitted close together; past this many
# bytes a register is not trusted to still hold the page.
_ADRP_REACH = 64
_RIP_OPERAND = re.compile(r"\[rip ([+-]) (0x[0-9a-f]+|\d+)\]")


def rip_references(
    code: bytes, base: int, targets: Mapping[int, bytes], found: dict[int, list[tuple[int, int, int]]]
) -> None:
    """x86-64: every RIP-relative operand in ``code`` (at address ``base``) that lands on one of
    ``targets``, as (instruction address, size, offset of its 32-bit displacement).

    capstone's "lite" disassembly (no operand details) is several times faster; the displacement
    is read from the operand text and located in the instruction's bytes. SKIPDATA: a linear
    sweep must not stop at bytes that are not instructions (MSVC puts data in ``.text``).
    """
    import capstone

    disassembler = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    disassembler.skipdata = True
    for address, size, _mnemonic, operands in disassembler.disasm_lite(code, base):
        match = _RIP_OPERAND.search(operands)
        if match is None:
            continue
        disp = int(match[2], 0) * (-1 if match[1] == "-" else 1)
        target = address + size + disp
        if target not in targets:
            continue
        start = address - base
        offset = code.find(disp.to_bytes(4, "little", signed=True), start + 1, start + size) - start
        if offset > 0:
            found.setdefault(target, []).append((address, size, offset))


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
