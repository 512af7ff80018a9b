"""Cython 3.2's packed string table: read, renamed and written back (ELF x86-64). EXPERIMENTAL:
nothing in the build calls this yet; the build still treats every Cython 3.1+ module as packed
and not patchable.

What Cython 3.2 generates (``__Pyx_InitConstants`` in the module's C file) and what the compiler
makes of it:

* every string constant of the module (identifiers, ``__module__`` names, import targets such as
  ``"yarl._quoting_c"``, then the bytes of code-object line tables) is concatenated, without
  separators, into one buffer, compressed with zlib by default (``CYTHON_COMPRESS_STRINGS=1``;
  bz2 for 2; stored as is for 0);
* ``const struct { unsigned int length: W; } index[] = {{22},{179},...}``: one length per
  string, W the bit length of the longest; gcc keeps it in ``.rodata`` as one 32-bit word per
  entry and copies it to the stack (``lea rsi, [rip+index]; mov ecx, N; rep movsd``);
* ``__Pyx_DecompressString(cstring, <compressed length>, <algorithm>)``, inlined or not, passes
  the stream to ``zlib.decompress(memoryview(cstring[:length]))``: the compressed length is an
  immediate (``mov esi, 0x35f``) next to the ``lea`` that loads the stream's address; nothing
  records the uncompressed length (the loop adds up the lengths), and ``zlib.decompress``
  ignores bytes after the end of the stream;
* the strings are cut from the buffer by those lengths, in order, into ``__pyx_string_tab[i]``.

So renaming a module name inside it means: decompress, replace the strings, write the new
lengths into the ``.rodata`` words (each must stay below ``2**W``), recompress, and put the
stream back in place when it fits (zero padded), else somewhere new with the ``lea`` repointed
and the length immediate rewritten. Cython 3.3 is different: its own LZSS format, the
decompressor inlined, the uncompressed length compiled into several compares, and the lengths
stored by ``or``-ing immediates into a stack array; none of it is handled here.

Found so far: the table (stream, length index, the one lea, the length immediate) is found
uniquely in yarl 1.23's ``_quoting_c`` and in all eight Cython 3.2.9 modules of lxml 6.1.3
(``etree`` 1,743 strings, 15-bit lengths); re-deflated, six of those nine fit in place, two
(lxml's ``_elementpath``, ``sax``) are 8 and 2 bytes longer and are moved. Patched so, lxml 6.1.3
renamed imports and works alone (parse, xpath, objectify, builder, html diff, exceptions under
``_mv_lxml_6_1_3.etree``, no ``lxml`` module loaded). Beside another lxml in one process it does
not: lxml keeps per-thread state in the thread-state dict under fixed keys
(``_ParserDictionaryContext``), so each copy finds the other's objects ("Cannot convert
lxml.etree._ParserDictionaryContext to _mv_lxml_6_1_3.etree._ParserDictionaryContext"); the
same happens with lxml 5 renamed beside 6 (Cython 3.0, patched by the build today). A string
equal to a renamed top-level name alone (``"lxml"``, an identifier for ``import lxml``) is
renamed too, so a module global bound by such an import is stored under the new name.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mvpy_vendor.errors import NativeError

from ._binary import load_lief
from ._code import rip_references

__all__ = ["PackedTable", "find_table", "rename_table"]

_ZLIB_HEADER = re.compile(rb"x[\x01\x5e\x9c\xda]")
_MOV_IMM = re.compile(r"^e[a-ds][xi], (0x[0-9a-f]+|\d+)$")
_LEA_RSI = re.compile(r"^rsi, \[rip \+ (0x[0-9a-f]+|\d+)\]$")
_LOOK_BEHIND = 48  # bytes before the lea searched for the length immediate
_MODULE_NAME = re.compile(rb"[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*\Z")


@dataclass(frozen=True)
class PackedTable:
    """Where one Cython 3.2 string table lives, and what it holds."""

    stream: int  # address of the zlib stream
    size: int  # its compressed length (the immediate passed to decompress)
    lengths_at: int  # address of the first length, one 32-bit word each
    strings: tuple[bytes, ...]
    reference: tuple[int, int, int]  # the lea loading ``stream``: address, size, displacement offset
    size_immediate: int | None  # address of the 32-bit immediate holding ``size``, if found

    @property
    def width(self) -> int:
        """Bits each length has: at least the bit length of the longest string."""
        return max(1, max(len(s) for s in self.strings).bit_length())


def _regions(binary: Any) -> list[tuple[int, bytes]]:
    lief = load_lief()
    flags = lief.ELF.Section.FLAGS
    return [
        (s.virtual_address, bytes(s.content))
        for s in binary.sections
        if s.has(flags.ALLOC) and not s.has(flags.EXECINSTR) and s.type != lief.ELF.Section.TYPE.NOBITS and s.size
    ]


def _streams(regions: list[tuple[int, bytes]]) -> list[tuple[int, int, bytes]]:
    found = []
    for start, content in regions:
        for match in _ZLIB_HEADER.finditer(content):
            stream = zlib.decompressobj()
            try:
                plain = stream.decompress(content[match.start() :])
            except zlib.error:
                continue
            if stream.eof and plain:
                size = len(content) - match.start() - len(stream.unused_data)
                found.append((start + match.start(), size, plain))
    return found


def _length_tables(binary: Any, total: int) -> list[tuple[int, tuple[int, ...]]]:
    """Length indexes that the code copies to the stack and that add up to exactly ``total``:
    ``lea rsi, [rip+T]`` next to ``mov ecx, N`` and ``rep movsd`` (N words), or next to
    ``mov edx, M`` and a call (``memcpy``, M bytes)."""
    import capstone

    text = next(s for s in binary.sections if s.name == ".text")
    disassembler = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    instructions = list(disassembler.disasm_lite(bytes(text.content), text.virtual_address))
    found = []
    for i, (address, size, mnemonic, operands) in enumerate(instructions):
        match = _LEA_RSI.match(operands) if mnemonic == "lea" else None
        if match is None:
            continue
        table = address + size + int(match[1], 0)
        count = None
        window = instructions[max(0, i - 12) : i + 13]
        kinds = {m for _, _, m, _ in window}
        for _, _, m, o in window:
            move = _MOV_IMM.match(o) if m == "mov" else None
            if move and o.startswith("ecx") and "rep movsd" in kinds:
                count = int(move[1], 0)
            elif move and o.startswith("edx") and "call" in kinds and count is None:
                count = int(move[1], 0) // 4
        if not count or count > 1 << 20:
            continue
        try:
            words = struct.unpack(f"<{count}I", bytes(binary.get_content_from_virtual_address(table, 4 * count)))
        except (struct.error, MemoryError):
            continue
        if sum(words) == total and max(words) < 1 << 16:
            found.append((table, words))
    return found


def find_table(binary: Any, member: str) -> PackedTable:
    """The one zlib-compressed string table of a Cython 3.2 module, or NativeError saying why not."""
    candidates = []
    for stream, size, plain in _streams(_regions(binary)):
        for at, lengths in dict(_length_tables(binary, len(plain))).items():
            candidates.append((stream, size, plain, at, lengths))
    if len(candidates) != 1:
        raise NativeError(f"{member}: {len(candidates)} zlib string tables with a length index found, not one")
    stream, size, plain, at, lengths = candidates[0]
    strings, pos = [], 0
    for length in lengths:
        strings.append(plain[pos : pos + length])
        pos += length
    text = next(s for s in binary.sections if s.name == ".text")
    found: dict[int, list[tuple[int, int, int]]] = {}
    rip_references(bytes(text.content), text.virtual_address, {stream: "table"}, found)
    references = found.get(stream, [])
    if len(references) != 1:
        raise NativeError(f"{member}: the string table is referenced {len(references)} times, not once")
    reference = references[0]
    return PackedTable(stream, size, at, tuple(strings), reference, _size_immediate(binary, reference[0], size))


def _size_immediate(binary: Any, lea: int, size: int) -> int | None:
    """The ``mov e?x, size`` just before the lea (the decompress call's length argument)."""
    import capstone

    code = bytes(binary.get_content_from_virtual_address(lea - _LOOK_BEHIND, _LOOK_BEHIND))
    found = []
    disassembler = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    # the window may start inside an instruction: try every start, keep the ones that reach the lea
    for skip in range(16):
        hits = []
        end = lea - _LOOK_BEHIND + skip
        for address, insn_size, mnemonic, operands in disassembler.disasm_lite(code[skip:], end):
            end = address + insn_size
            match = _MOV_IMM.match(operands)
            if mnemonic == "mov" and match and int(match[1], 0) == size and insn_size == 5:
                hits.append(address + 1)
        if end == lea:
            found = hits
            break
    return found[-1] if len(found) >= 1 else None


def rename_table(table: PackedTable, names: Mapping[str, str], member: str) -> tuple[tuple[bytes, ...], int]:
    """The table's strings with every module name under a renamed one renamed, and how many."""
    renamed = []
    count = 0
    for string in table.strings:
        head, dot, rest = string.partition(b".")
        new = names.get(head.decode("ascii", "replace"))
        if new is None or not _MODULE_NAME.match(string):
            renamed.append(string)
            continue
        replacement = new.encode("ascii") + dot + rest
        if len(replacement) >= 1 << table.width:
            raise NativeError(f"{member}: {replacement.decode()!r} is too long for its {table.width}-bit length")
        renamed.append(replacement)
        count += 1
    return tuple(renamed), count


def _deflate(plain: bytes) -> bytes:
    """The shortest stream zlib gives for ``plain`` over its levels, memory levels and strategies."""
    best = None
    for level in (9, 6):
        for memory in range(9, 0, -1):
            for strategy in (zlib.Z_DEFAULT_STRATEGY, zlib.Z_FILTERED, zlib.Z_RLE, zlib.Z_FIXED):
                compressor = zlib.compressobj(level, zlib.DEFLATED, 15, memory, strategy)
                stream = compressor.compress(plain) + compressor.flush()
                if best is None or len(stream) < len(best):
                    best = stream
    assert best is not None
    return best


def patch_table(binary: Any, names: Mapping[str, str], member: str) -> int:
    """Rename the module names in the table, in place: the lengths, then the stream (zero padded).
    Returns how many strings were renamed. A stream that no longer fits is a NativeError (moving
    it, with the lea repointed and ``size_immediate`` rewritten, is not done yet)."""
    table = find_table(binary, member)
    strings, count = rename_table(table, names, member)
    if not count:
        return 0
    stream = _deflate(b"".join(strings))
    if len(stream) > table.size:
        raise NativeError(f"{member}: the renamed string table compresses to {len(stream)} bytes, over {table.size}")
    for i, (old, new) in enumerate(zip(table.strings, strings)):
        if len(old) != len(new):
            binary.patch_address(table.lengths_at + 4 * i, list(len(new).to_bytes(4, "little")))
    binary.patch_address(table.stream, list(stream + bytes(table.size - len(stream))))
    return count


def patch_packed(data: bytes, member: str, names: Mapping[str, str], init: tuple[str, str] | None) -> bytes:
    """EXPERIMENTAL, not called by the build: :func:`.elf.patch` plus the packed string table.

    The renamed NUL-terminated strings and, when the renamed table no longer fits in place, its
    new zlib stream go into one added segment; the stream's lea is repointed and the compressed
    length immediate rewritten; the lengths are rewritten in place."""
    from . import elf
    from ._view import renamed_blob

    binary = elf.parse(data, member)
    table = find_table(binary, member)
    strings, count = rename_table(table, names, member)
    stream = _deflate(b"".join(strings)) if count else b""
    moved = len(stream) > table.size
    if moved and table.size_immediate is None:
        raise NativeError(f"{member}: the renamed string table does not fit and its length immediate was not found")
    blob, offsets = renamed_blob(elf.ElfView(binary, names).uses(), names)
    stream_at = -1
    if moved:
        blob += bytes(-len(blob) % 16)
        stream_at = len(blob)
        blob += stream
    base = 0
    if blob:
        base = elf.add_segment(binary, blob)
        # Adding a segment may move the whole image: find every address again afterwards.
        elf.ElfView(binary, names).repoint(base, offsets)
        table = find_table(binary, member)
    if count:
        for i, (before, after) in enumerate(zip(table.strings, strings)):
            if len(before) != len(after):
                binary.patch_address(table.lengths_at + 4 * i, list(len(after).to_bytes(4, "little")))
        if moved:
            assert table.size_immediate is not None
            lea, size, offset = table.reference
            displacement = base + stream_at - (lea + size)
            binary.patch_address(lea + offset, list(displacement.to_bytes(4, "little", signed=True)))
            binary.patch_address(table.size_immediate, list(len(stream).to_bytes(4, "little")))
        else:
            binary.patch_address(table.stream, list(stream + bytes(table.size - len(stream))))
    if init is not None:
        symbol = binary.get_dynamic_symbol(f"PyInit_{init[0]}")
        if symbol is None:
            raise NativeError(f"{member}: exports no PyInit_{init[0]}")
        symbol.name = f"PyInit_{init[1]}"
    return bytes(binary.write_to_bytes())
