"""Is a patched ELF binary still sound? Checked on its bytes before it is written.

A binary rewriter can produce a file that every tool still reads and that the dynamic linker
cannot use: LIEF, given an auditwheel-repaired library (patchelf appends segments after the
section header table), wrote the section header table over ``.gnu.hash``, and 214 of 349
exported symbols of numpy's ``_multiarray_umath`` could no longer be found; importing it
crashed in ``do_lookup_x``. So every patched ELF is read again here the way the loader reads it,
from the program headers and the dynamic section (section headers only where they describe
file content), and compared with the original:

* **layout**: the ELF header, program header table and section header table lie inside the
  file; ``PT_LOAD`` segments are in ascending address order, congruent with their offsets
  modulo their alignment, and overlap neither in memory nor in the file; section contents do
  not overlap each other, and an allocated section lies in one ``PT_LOAD`` at the address its
  offset gives;
* **the loader's tables** (dynamic section, ``DT_SYMTAB``, ``DT_STRTAB``, ``DT_GNU_HASH``,
  ``DT_HASH``, ``DT_RELA``, ``DT_JMPREL``, ``DT_RELR``, symbol versions) each lie in one
  ``PT_LOAD``'s file content and overlap neither each other, nor the program or section header
  table, nor a section that is not loaded;
* **symbols**: every dynamic symbol the original exported is still found, by name, through the
  GNU hash table (Bloom filter, bucket, chain, as the loader searches it) and through the SysV
  hash table when there is one, defined, of the same type and binding, at an address in a
  loaded segment; ``PyInit_<new name>`` is found the same way and lies in an executable one;
* **relocations**: every relocation applies inside a loaded segment and names a symbol that
  exists; the strings the dynamic section names (``DT_NEEDED``, rpaths, ``DT_SONAME``) are in
  the string table.

:func:`check_elf` raises :class:`~mvpy_vendor.errors.NativeError` naming the check that failed.
:func:`load_check` goes further where the platform allows it: it loads patched modules, placed
as the wheel installs them, in a child process.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

from mvpy_vendor.errors import NativeError

__all__ = [
    "ElfImage",
    "LoadTarget",
    "check_elf",
    "gnu_hash",
    "load_check",
    "sysv_hash",
]

_PT_LOAD, _PT_DYNAMIC, _PT_PHDR, _PT_TLS = 1, 2, 6, 7
_PF_X = 1
_SHT_NOBITS = 8
_SHF_ALLOC = 2
_STB_LOCAL = 0
_STV_DEFAULT, _STV_PROTECTED = 0, 3
_SHN_UNDEF, _SHN_ABS = 0, 0xFFF1
_STT_NOTYPE, _STT_TLS = 0, 6

# Dynamic tags read here.
_DT_NULL, _DT_NEEDED, _DT_PLTRELSZ, _DT_HASH, _DT_STRTAB, _DT_SYMTAB = 0, 1, 2, 4, 5, 6
_DT_RELA, _DT_RELASZ, _DT_STRSZ, _DT_SONAME, _DT_RPATH, _DT_JMPREL = 7, 8, 10, 14, 15, 23
_DT_RUNPATH, _DT_RELRSZ, _DT_RELR = 29, 35, 36
_DT_GNU_HASH, _DT_VERSYM, _DT_VERDEF, _DT_VERDEFNUM, _DT_VERNEED, _DT_VERNEEDNUM = (
    0x6FFFFEF5,
    0x6FFFFFF0,
    0x6FFFFFFC,
    0x6FFFFFFD,
    0x6FFFFFFE,
    0x6FFFFFFF,
)
_STRING_TAGS = {_DT_NEEDED: "DT_NEEDED", _DT_SONAME: "DT_SONAME", _DT_RPATH: "DT_RPATH", _DT_RUNPATH: "DT_RUNPATH"}

_PHDR = struct.Struct("<IIQQQQQQ")
_SHDR = struct.Struct("<IIQQQQIIQQ")
_SYM = struct.Struct("<IBBHQQ")
_RELA = struct.Struct("<QQq")


def gnu_hash(name: bytes) -> int:
    """The GNU hash of a symbol name (``dl_new_hash``: h = h * 33 + c, from 5381, 32 bits)."""
    h = 5381
    for c in name:
        h = (h * 33 + c) & 0xFFFFFFFF
    return h


def sysv_hash(name: bytes) -> int:
    """The SysV ELF hash of a symbol name (``elf_hash``)."""
    h = 0
    for c in name:
        h = ((h << 4) + c) & 0xFFFFFFFF
        g = h & 0xF0000000
        if g:
            h ^= g >> 24
        h &= ~g & 0xFFFFFFFF
    return h


class _Corrupt(Exception):
    """One failed check: its name and what was found."""

    def __init__(self, check: str, detail: str) -> None:
        super().__init__(f"{check}: {detail}")
        self.check = check
        self.detail = detail


@dataclass(frozen=True)
class Segment:
    type: int
    flags: int
    offset: int
    vaddr: int
    filesz: int
    memsz: int
    align: int


@dataclass(frozen=True)
class Section:
    index: int
    name: str
    type: int
    flags: int
    addr: int
    offset: int
    size: int

    @property
    def in_file(self) -> bool:
        return self.type != _SHT_NOBITS and self.size > 0


@dataclass(frozen=True)
class Symbol:
    index: int
    name: bytes
    info: int
    other: int
    shndx: int
    value: int

    @property
    def exported(self) -> bool:
        """Defined, global or weak, and visible: what another object can find by name."""
        return (
            bool(self.name)
            and self.shndx != _SHN_UNDEF
            and self.info >> 4 != _STB_LOCAL
            and self.other & 3 in (_STV_DEFAULT, _STV_PROTECTED)
        )


def _hex(start: int, end: int) -> str:
    return f"{start:#x}-{end:#x}"


class ElfImage:
    """A 64-bit little-endian ELF file read the way the dynamic linker reads it.

    Every read is bounds-checked; what cannot be read raises :class:`_Corrupt`.
    """

    def __init__(self, data: bytes) -> None:
        if data[:4] != b"\x7fELF":
            raise _Corrupt("header", "not an ELF file")
        if data[4] != 2 or data[5] != 1:
            raise _Corrupt("header", "only 64-bit little-endian ELF files are checked")
        self.data = data
        (self.phoff, self.shoff) = struct.unpack_from("<QQ", data, 0x20)
        (phentsize, self.phnum, shentsize, self.shnum, self.shstrndx) = struct.unpack_from("<HHHHH", data, 0x36)
        if self.phnum and phentsize != _PHDR.size:
            raise _Corrupt("header", f"program header entries of {phentsize} bytes")
        if self.shnum and shentsize != _SHDR.size:
            raise _Corrupt("header", f"section header entries of {shentsize} bytes")
        self.pht = (self.phoff, self.phoff + self.phnum * _PHDR.size)
        self.sht = (self.shoff, self.shoff + self.shnum * _SHDR.size) if self.shnum else (0, 0)
        for what, (start, end) in (("program header table", self.pht), ("section header table", self.sht)):
            if end > len(data):
                raise _Corrupt("header", f"the {what} ({_hex(start, end)}) ends past the end of the file")

    # -- program headers, sections --------------------------------------------------------

    @cached_property
    def segments(self) -> list[Segment]:
        return [
            Segment(t, f, off, vaddr, filesz, memsz, align)
            for t, f, off, vaddr, _paddr, filesz, memsz, align in (
                _PHDR.unpack_from(self.data, self.phoff + i * _PHDR.size) for i in range(self.phnum)
            )
        ]

    @cached_property
    def loads(self) -> list[Segment]:
        return [s for s in self.segments if s.type == _PT_LOAD]

    @cached_property
    def sections(self) -> list[Section]:
        raw = [_SHDR.unpack_from(self.data, self.shoff + i * _SHDR.size) for i in range(self.shnum)]
        names = b""
        if 0 < self.shstrndx < len(raw):
            _n, stype, _f, _a, off, size, *_ = raw[self.shstrndx]
            if stype != _SHT_NOBITS and off + size <= len(self.data):
                names = self.data[off : off + size]

        def name(at: int) -> str:
            end = names.find(b"\x00", at)
            return names[at:end].decode("ascii", "replace") if 0 <= at < len(names) and end >= 0 else f"#{at}"

        return [
            Section(i, name(n), stype, flags, addr, off, size)
            for i, (n, stype, flags, addr, off, size, _link, _info, _align, _entsize) in enumerate(raw)
            if i
        ]

    def load_of(self, vaddr: int, size: int = 1, *, file_backed: bool = True) -> Segment | None:
        """The ``PT_LOAD`` whose file content (or memory) holds ``[vaddr, vaddr + size)``."""
        for seg in self.loads:
            extent = seg.filesz if file_backed else seg.memsz
            if seg.vaddr <= vaddr and vaddr + size <= seg.vaddr + extent:
                return seg
        return None

    def offset_of(self, vaddr: int, size: int, what: str) -> int:
        seg = self.load_of(vaddr, max(size, 1))
        if seg is None:
            raise _Corrupt("tables", f"{what} ({_hex(vaddr, vaddr + size)}) is not inside one loaded segment's content")
        return seg.offset + (vaddr - seg.vaddr)

    # -- the dynamic section and the tables it points at --------------------------------

    @cached_property
    def dynamic_range(self) -> tuple[int, int] | None:
        dyn = [s for s in self.segments if s.type == _PT_DYNAMIC]
        if not dyn:
            return None
        seg = dyn[0]
        if self.load_of(seg.vaddr, seg.filesz) is None:
            raise _Corrupt("tables", "the dynamic section is not inside a loaded segment")
        start = self.offset_of(seg.vaddr, seg.filesz, "the dynamic section")
        return start, start + seg.filesz

    @cached_property
    def dynamic(self) -> list[tuple[int, int]]:
        if self.dynamic_range is None:
            return []
        start, end = self.dynamic_range
        entries = []
        for tag, value in struct.iter_unpack("<Qq", self.data[start : start + (end - start) // 16 * 16]):
            if tag == _DT_NULL:
                break
            entries.append((tag, value & 0xFFFFFFFFFFFFFFFF))
        return entries

    def tag(self, tag: int) -> int | None:
        for t, v in self.dynamic:
            if t == tag:
                return v
        return None

    @cached_property
    def strtab(self) -> bytes:
        addr, size = self.tag(_DT_STRTAB), self.tag(_DT_STRSZ)
        if addr is None or size is None:
            raise _Corrupt("tables", "no DT_STRTAB/DT_STRSZ in the dynamic section")
        start = self.offset_of(addr, size, "DT_STRTAB")
        return self.data[start : start + size]

    def string(self, at: int, what: str) -> bytes:
        end = self.strtab.find(b"\x00", at)
        if not 0 <= at < len(self.strtab) or end < 0:
            raise _Corrupt("strings", f"{what} names offset {at:#x}, outside the dynamic string table")
        return self.strtab[at:end]

    def _words(self, vaddr: int, count: int, fmt: str, what: str) -> tuple[int, ...]:
        size = struct.calcsize(fmt)
        start = self.offset_of(vaddr, count * size, what)
        return struct.unpack_from(f"<{count}{fmt}", self.data, start)

    @cached_property
    def gnu_table(self) -> tuple[int, int, int, tuple[int, ...], tuple[int, ...], int, int] | None:
        """(nbuckets, symoffset, bloom shift, bloom words, buckets, address of the chains,
        number of symbols) of ``DT_GNU_HASH``."""
        addr = self.tag(_DT_GNU_HASH)
        if addr is None:
            return None
        nbuckets, symoffset, bloom_size, shift = self._words(addr, 4, "I", "DT_GNU_HASH")
        if nbuckets == 0 or bloom_size == 0 or bloom_size & (bloom_size - 1):
            raise _Corrupt("gnu-hash", f"{nbuckets} buckets, {bloom_size} Bloom words: not a GNU hash table")
        bloom = self._words(addr + 16, bloom_size, "Q", "DT_GNU_HASH Bloom filter")
        buckets = self._words(addr + 16 + 8 * bloom_size, nbuckets, "I", "DT_GNU_HASH buckets")
        chains = addr + 16 + 8 * bloom_size + 4 * nbuckets
        # The symbol count: past the highest bucket's start, follow its chain to the end bit.
        last = max(buckets)
        count = symoffset
        if last >= symoffset:
            i = last
            while True:
                (word,) = self._words(chains + 4 * (i - symoffset), 1, "I", "DT_GNU_HASH chains")
                i += 1
                if word & 1:
                    break
            count = i
        return nbuckets, symoffset, shift, bloom, buckets, chains, count

    @cached_property
    def sysv_table(self) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
        addr = self.tag(_DT_HASH)
        if addr is None:
            return None
        nbucket, nchain = self._words(addr, 2, "I", "DT_HASH")
        words = self._words(addr + 8, nbucket + nchain, "I", "DT_HASH")
        return words[:nbucket], words[nbucket:]

    @cached_property
    def symbol_count(self) -> int:
        if self.gnu_table is not None:
            return self.gnu_table[6]
        if self.sysv_table is not None:
            return len(self.sysv_table[1])
        raise _Corrupt("tables", "neither DT_GNU_HASH nor DT_HASH: the dynamic symbols cannot be looked up")

    def symbol(self, index: int) -> Symbol:
        addr = self.tag(_DT_SYMTAB)
        if addr is None:
            raise _Corrupt("tables", "no DT_SYMTAB in the dynamic section")
        name, info, other, shndx, value, _size = _SYM.unpack_from(
            self.data, self.offset_of(addr + index * _SYM.size, _SYM.size, f"dynamic symbol {index}")
        )
        return Symbol(index, self.string(name, f"dynamic symbol {index}"), info, other, shndx, value)

    @cached_property
    def symbols(self) -> list[Symbol]:
        return [self.symbol(i) for i in range(self.symbol_count)]

    def gnu_lookup(self, name: bytes) -> Symbol | None:
        """Find ``name`` through ``DT_GNU_HASH`` as the loader does: Bloom filter, bucket, chain."""
        table = self.gnu_table
        if table is None:
            return None
        nbuckets, symoffset, shift, bloom, buckets, chains, _count = table
        h = gnu_hash(name)
        word = bloom[(h // 64) % len(bloom)]
        if not (word >> (h % 64)) & (word >> ((h >> shift) % 64)) & 1:
            return None
        i = buckets[h % nbuckets]
        if i < symoffset:
            return None
        while True:
            (chain,) = self._words(chains + 4 * (i - symoffset), 1, "I", "DT_GNU_HASH chains")
            if chain | 1 == h | 1:
                sym = self.symbol(i)
                if sym.name == name:
                    return sym
            if chain & 1:
                return None
            i += 1

    def sysv_lookup(self, name: bytes) -> Symbol | None:
        """Find ``name`` through ``DT_HASH``: bucket, then the chain."""
        table = self.sysv_table
        if table is None:
            return None
        buckets, chains = table
        if not buckets:
            return None
        i = buckets[sysv_hash(name) % len(buckets)]
        seen = 0
        while i and seen <= len(chains):
            if i >= len(chains):
                raise _Corrupt("sysv-hash", f"a chain of DT_HASH reaches symbol {i} of {len(chains)}")
            sym = self.symbol(i)
            if sym.name == name:
                return sym
            i, seen = chains[i], seen + 1
        return None

    def tables(self) -> Iterator[tuple[str, int, int]]:
        """(name, file start, file end) of every table the loader reads."""
        if self.dynamic_range is not None:
            yield ("the dynamic section", *self.dynamic_range)
        strtab = self.tag(_DT_STRTAB)
        if strtab is not None:
            start = self.offset_of(strtab, len(self.strtab), "DT_STRTAB")
            yield "DT_STRTAB", start, start + len(self.strtab)
        symtab = self.tag(_DT_SYMTAB)
        if symtab is not None:
            size = self.symbol_count * _SYM.size
            start = self.offset_of(symtab, size, "DT_SYMTAB")
            yield "DT_SYMTAB", start, start + size
        if self.gnu_table is not None:
            addr = self.tag(_DT_GNU_HASH)
            assert addr is not None
            _n, symoffset, _s, _b, _k, chains, count = self.gnu_table
            end = chains + 4 * max(count - symoffset, 0)
            start = self.offset_of(addr, end - addr, "DT_GNU_HASH")
            yield "DT_GNU_HASH", start, start + end - addr
        if self.sysv_table is not None:
            addr = self.tag(_DT_HASH)
            assert addr is not None
            size = 8 + 4 * (len(self.sysv_table[0]) + len(self.sysv_table[1]))
            start = self.offset_of(addr, size, "DT_HASH")
            yield "DT_HASH", start, start + size
        for name, tag, size_tag in (
            ("DT_RELA", _DT_RELA, _DT_RELASZ),
            ("DT_JMPREL", _DT_JMPREL, _DT_PLTRELSZ),
            ("DT_RELR", _DT_RELR, _DT_RELRSZ),
        ):
            at, length = self.tag(tag), self.tag(size_tag)
            if at is not None and length:
                start = self.offset_of(at, length, name)
                yield name, start, start + length
        versym = self.tag(_DT_VERSYM)
        if versym is not None:
            start = self.offset_of(versym, 2 * self.symbol_count, "DT_VERSYM")
            yield "DT_VERSYM", start, start + 2 * self.symbol_count
        for name, tag, count_tag, entry, aux in (
            ("DT_VERNEED", _DT_VERNEED, _DT_VERNEEDNUM, "<HHIIII", "<IHHII"),
            ("DT_VERDEF", _DT_VERDEF, _DT_VERDEFNUM, "<HHHHIII", "<II"),
        ):
            at, entries = self.tag(tag), self.tag(count_tag)
            if at is not None and entries:
                yield (name, *self._version_extent(at, entries, entry, aux, name))

    def _version_extent(self, addr: int, count: int, entry: str, aux: str, what: str) -> tuple[int, int]:
        """The bytes a version-needed or version-definition list spans, following its links."""
        entry_size, aux_size = struct.calcsize(entry), struct.calcsize(aux)
        start = self.offset_of(addr, entry_size, what)
        end, here = start, start
        for _ in range(count):
            fields = struct.unpack_from(entry, self.data, self.offset_of(addr + here - start, entry_size, what))
            # vn_cnt / vd_cnt, the first auxiliary entry and the next entry (relative offsets).
            cnt, aux_at, next_at = (
                (fields[1], fields[3], fields[4]) if what == "DT_VERNEED" else (fields[3], fields[5], fields[6])
            )
            end = max(end, here + entry_size)
            a = here + aux_at
            for _ in range(cnt):
                aux_fields = struct.unpack_from(aux, self.data, self.offset_of(addr + a - start, aux_size, what))
                end = max(end, a + aux_size)
                a += aux_fields[-1]
            here += next_at
            if not next_at:
                break
        return start, end

    def relocations(self) -> Iterator[tuple[str, int, int]]:
        """(table, r_offset, symbol index) of every RELA relocation."""
        for name, tag, size_tag in (("DT_RELA", _DT_RELA, _DT_RELASZ), ("DT_JMPREL", _DT_JMPREL, _DT_PLTRELSZ)):
            addr, size = self.tag(tag), self.tag(size_tag)
            if addr is None or not size:
                continue
            start = self.offset_of(addr, size, name)
            for r_offset, r_info, _addend in _RELA.iter_unpack(
                self.data[start : start + size // _RELA.size * _RELA.size]
            ):
                yield name, r_offset, r_info >> 32


def _overlaps(spans: Iterable[tuple[str, int, int]]) -> tuple[str, str] | None:
    """The first two spans (name, start, end) that overlap, or None."""
    ordered = sorted((s for s in spans if s[2] > s[1]), key=lambda s: (s[1], s[2]))
    widest: tuple[str, int, int] | None = None
    for span in ordered:
        if widest is not None and span[1] < widest[2]:
            return f"{widest[0]} ({_hex(widest[1], widest[2])})", f"{span[0]} ({_hex(span[1], span[2])})"
        if widest is None or span[2] > widest[2]:
            widest = span
    return None


def _check_layout(image: ElfImage) -> None:
    size = len(image.data)
    loads = image.loads
    if not loads:
        raise _Corrupt("layout", "no PT_LOAD segment")
    for i, seg in enumerate(loads):
        if seg.offset + seg.filesz > size:
            raise _Corrupt(
                "layout", f"PT_LOAD {i} ({_hex(seg.offset, seg.offset + seg.filesz)}) ends past the end of the file"
            )
        if seg.filesz > seg.memsz:
            raise _Corrupt("layout", f"PT_LOAD {i} holds more file content than memory")
        if seg.align > 1 and (seg.align & (seg.align - 1) or (seg.offset - seg.vaddr) % seg.align):
            raise _Corrupt(
                "layout",
                f"PT_LOAD {i}: offset {seg.offset:#x} and address {seg.vaddr:#x} disagree modulo {seg.align:#x}",
            )
    if [s.vaddr for s in loads] != sorted(s.vaddr for s in loads):
        raise _Corrupt("layout", "PT_LOAD segments are not in ascending address order")
    clash = _overlaps((f"PT_LOAD {i} in memory", s.vaddr, s.vaddr + s.memsz) for i, s in enumerate(loads))
    if clash is None:
        clash = _overlaps((f"PT_LOAD {i}", s.offset, s.offset + s.filesz) for i, s in enumerate(loads))
    if clash is not None:
        raise _Corrupt("layout", f"{clash[0]} overlaps {clash[1]}")
    contents = []
    for sec in image.sections:
        if sec.in_file:
            if sec.offset + sec.size > size:
                raise _Corrupt("layout", f"section {sec.name} ends past the end of the file")
            contents.append((f"section {sec.name}", sec.offset, sec.offset + sec.size))
        if sec.flags & _SHF_ALLOC and sec.size:
            home = image.load_of(sec.addr, sec.size, file_backed=sec.in_file)
            if home is None:
                raise _Corrupt(
                    "layout",
                    f"section {sec.name} ({_hex(sec.addr, sec.addr + sec.size)}) is not inside one loaded segment",
                )
            if sec.in_file and sec.offset - home.offset != sec.addr - home.vaddr:
                raise _Corrupt(
                    "layout",
                    f"section {sec.name} is at offset {sec.offset:#x} "
                    f"but loaded from {home.offset + sec.addr - home.vaddr:#x}",
                )
    clash = _overlaps(contents)
    if clash is not None:
        raise _Corrupt("layout", f"{clash[0]} overlaps {clash[1]}")
    headers = [("the program header table", *image.pht), ("the section header table", *image.sht)]
    clash = _overlaps(headers + contents)
    if clash is not None:
        raise _Corrupt("layout", f"{clash[0]} overlaps {clash[1]}")
    phdr = [s for s in image.segments if s.type == _PT_PHDR]
    if phdr and (phdr[0].offset != image.phoff or image.load_of(phdr[0].vaddr, phdr[0].filesz) is None):
        raise _Corrupt("layout", "PT_PHDR does not describe the program header table inside a loaded segment")


def _check_tables(image: ElfImage) -> None:
    tables = list(image.tables())
    # glibc accepts DT_JMPREL as the tail of DT_RELA; any other overlap is two tables in one place.
    rela = {name: (start, end) for name, start, end in tables if name in ("DT_RELA", "DT_JMPREL")}
    if len(rela) == 2 and rela["DT_RELA"][0] <= rela["DT_JMPREL"][0] and rela["DT_JMPREL"][1] == rela["DT_RELA"][1]:
        tables = [t if t[0] != "DT_RELA" else ("DT_RELA", t[1], rela["DT_JMPREL"][0]) for t in tables]
    clash = _overlaps(tables)
    if clash is None:
        headers = [("the program header table", *image.pht), ("the section header table", *image.sht)]
        unloaded = [
            (f"section {s.name}", s.offset, s.offset + s.size)
            for s in image.sections
            if s.in_file and not s.flags & _SHF_ALLOC
        ]
        clash = _overlaps(tables + headers + unloaded)
    if clash is not None:
        raise _Corrupt("tables", f"{clash[0]} overlaps {clash[1]}")
    for tag, value in image.dynamic:
        if tag in _STRING_TAGS:
            image.string(value, _STRING_TAGS[tag])
    count = image.symbol_count
    for table, r_offset, sym in image.relocations():
        if image.load_of(r_offset, 8, file_backed=False) is None:
            raise _Corrupt(
                "relocations", f"a relocation of {table} applies at {r_offset:#x}, outside every loaded segment"
            )
        if sym >= count:
            raise _Corrupt("relocations", f"a relocation of {table} names symbol {sym} of {count}")


def _relocated(original: ElfImage, image: ElfImage) -> Callable[[Symbol], int]:
    """Where an original symbol's value should be now: moved as far as its section moved."""
    now = {s.name: s for s in image.sections}
    spans = [
        (o.addr, o.addr + o.size, now[o.name].addr - o.addr)
        for o in original.sections
        if o.flags & _SHF_ALLOC and o.size and o.name in now
    ]

    def where(sym: Symbol) -> int:
        if sym.shndx == _SHN_ABS or sym.info & 0xF == _STT_TLS:
            return sym.value
        inside = [d for a, b, d in spans if a <= sym.value < b] or [d for a, b, d in spans if a <= sym.value <= b]
        return sym.value + (inside[0] if inside else 0)

    return where


def _check_symbols(original: ElfImage, image: ElfImage, init: tuple[str, str] | None) -> None:
    where = _relocated(original, image)

    def _same(before: Symbol, after: Symbol | None) -> bool:
        return after is not None and after.exported and after.info == before.info and after.value == where(before)

    renamed = {}
    if init is not None:
        renamed[f"PyInit_{init[0]}".encode()] = f"PyInit_{init[1]}".encode()
    tls = [s for s in image.segments if s.type == _PT_TLS]
    expected = [(renamed.get(s.name, s.name), s) for s in original.symbols if s.exported]
    for kind, lookup, present in (
        ("gnu-hash", image.gnu_lookup, image.gnu_table is not None),
        ("sysv-hash", image.sysv_lookup, image.sysv_table is not None),
    ):
        if not present:
            if kind == "gnu-hash" and original.gnu_table is not None:
                raise _Corrupt(kind, "the original has DT_GNU_HASH, the patched file has none")
            continue
        missing = [name for name, before in expected if not _same(before, lookup(name))]
        if missing:
            shown = ", ".join(n.decode("ascii", "replace") for n in missing[:5]) + (", ..." if len(missing) > 5 else "")
            table = "DT_GNU_HASH" if kind == "gnu-hash" else "DT_HASH"
            raise _Corrupt(
                kind,
                f"{len(missing)} of {len(expected)} exported symbols are no longer found through {table} ({shown})",
            )
    for name, _before in expected:
        found = image.gnu_lookup(name) if image.gnu_table is not None else image.sysv_lookup(name)
        assert found is not None
        if found.shndx == _SHN_ABS:
            continue
        if found.info & 0xF == _STT_TLS:
            if not tls or found.value >= tls[0].memsz:
                raise _Corrupt("symbols", f"{name.decode()} is outside the TLS segment")
        elif image.load_of(found.value, 0 if found.info & 0xF == _STT_NOTYPE else 1, file_backed=False) is None:
            # a marker the linker defines (``_end``, ``_edata``) may stand right past a segment's end
            raise _Corrupt("symbols", f"{name.decode()} ({found.value:#x}) is outside every loaded segment")
    inits = [name for name, _ in expected if name.startswith(b"PyInit_")]
    wanted = f"PyInit_{init[1]}".encode() if init is not None else None
    if wanted is not None and wanted not in inits:
        raise _Corrupt("init", f"{wanted.decode()} is not exported")
    for name in inits:
        found = image.gnu_lookup(name) if image.gnu_table is not None else image.sysv_lookup(name)
        assert found is not None
        seg = image.load_of(found.value)
        if seg is None or not seg.flags & _PF_X:
            raise _Corrupt("init", f"{name.decode()} ({found.value:#x}) is not in an executable segment")


def unshifted_nobits(original: bytes, patched: bytes) -> bytes:
    """``patched`` with the section headers of ``.bss`` and the like put back where they belong.

    LIEF, adding a segment, moves a section that has no file content and starts where its
    segment's file content ends (``.bss``, typically) as if it lay after the insertion point:
    its header then names memory outside every segment, while the segment that really holds it
    is where it was, or moved as a whole. The loader never reads section headers, so only tools
    are misled. The header is set to where the section before it (with file content) moved it,
    when that is inside a loaded segment's memory.
    """
    try:
        before, after = ElfImage(original), ElfImage(patched)
        pairs = list(zip(before.sections, after.sections))
    except (_Corrupt, struct.error):
        return patched
    if len(before.sections) != len(after.sections) or any(o.name != n.name for o, n in pairs):
        return patched
    fixed: bytearray | None = None
    anchor: tuple[Section, Section] | None = None  # the last allocated section with file content
    for old, new in pairs:
        if old.flags & _SHF_ALLOC and old.in_file:
            anchor = (old, new)
        if new.type != _SHT_NOBITS or not new.flags & _SHF_ALLOC or old.size != new.size or anchor is None:
            continue
        addr = old.addr + anchor[1].addr - anchor[0].addr
        offset = old.offset + anchor[1].offset - anchor[0].offset
        if (addr, offset) == (new.addr, new.offset):
            continue
        # Where LIEF left it may be inside a segment all the same: the one it added for a moved
        # .dynstr, say (charset-normalizer 3.4's mypyc library). It is right only inside the
        # segment that holds the section it follows.
        home = after.load_of(anchor[1].addr, file_backed=False)
        if home is not None and home.vaddr <= new.addr and new.addr + new.size <= home.vaddr + home.memsz:
            continue
        if after.load_of(addr, new.size, file_backed=False) is None:
            continue
        fixed = fixed if fixed is not None else bytearray(patched)
        struct.pack_into("<QQ", fixed, after.shoff + new.index * _SHDR.size + 16, addr, offset)
    return patched if fixed is None else bytes(fixed)


def check_elf(original: bytes, patched: bytes, member: str, init: tuple[str, str] | None) -> None:
    """Raise :class:`NativeError` (naming ``member`` and the failed check) unless ``patched``,
    made from ``original`` with ``PyInit_<init[0]>`` renamed to ``PyInit_<init[1]>``, is sound."""
    try:
        before = ElfImage(original)
        before.symbols  # noqa: B018 (read now: a fault in the original is not the patch's)
    except (_Corrupt, struct.error) as exc:
        raise NativeError(f"{member}: the original binary cannot be checked: {exc}") from None
    try:
        image = ElfImage(patched)
        _check_layout(image)
        _check_tables(image)
        _check_symbols(before, image, init)
    except _Corrupt as exc:
        raise NativeError(f"{member}: patched binary failed the structural check '{exc.check}': {exc.detail}") from None
    except struct.error as exc:
        raise NativeError(
            f"{member}: patched binary failed the structural check 'tables': unreadable ({exc})"
        ) from None


# -- loading in a child process -----------------------------------------------------------

_SHARED_OBJECT = re.compile(r"\.so(\.[0-9][\w.]*)?$")

# Run in a fresh interpreter: load each (path, symbol) given as JSON on stdin, report each as
# one JSON line as soon as it is known, so that a crash names the module that caused it.
_CHILD = r"""
import ctypes, json, os, sys
for path, symbol in json.load(sys.stdin):
    print(json.dumps(["start", path]), flush=True)
    try:
        lib = ctypes.CDLL(path, mode=os.RTLD_NOW | os.RTLD_LOCAL)
        getattr(lib, symbol)
        print(json.dumps(["ok", path]), flush=True)
    except (OSError, AttributeError) as exc:
        print(json.dumps(["failed", path, str(exc)]), flush=True)
"""


@dataclass(frozen=True)
class LoadTarget:
    """One patched module to load: its member in the patched wheel and the symbol to find;
    the same for the original, to tell what this machine cannot load from what the patch broke."""

    member: str
    symbol: str
    original_member: str
    original_symbol: str


def can_load_here(member: str) -> bool:
    """Can this interpreter load ``member`` at all (Linux x86-64, an extension suffix it uses)?"""
    return (
        sys.platform == "linux"
        and platform.machine() in ("x86_64", "AMD64")
        and member.endswith(tuple(s for s in EXTENSION_SUFFIXES if s != ".so"))
    )


def _place(wheel: Path, root: Path, data_dir: str) -> None:
    """Extract every shared object of ``wheel`` where it installs, relative to ``root``."""
    from mvpy_vendor.wheel.layout import installed_path

    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            target = installed_path(info.filename, data_dir)
            if not target or not _SHARED_OBJECT.search(target.rpartition("/")[2]) or ".." in target.split("/"):
                continue
            dest = root / target
            dest.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out)


def _load(root: Path, items: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Load each (installed path, symbol) under ``root`` in child processes: path -> '' when it
    loads and the symbol is found, else why not. A crash ends one child; the rest go on in another."""
    results: dict[str, str] = {}
    pending = list(items)
    while pending:
        proc = subprocess.run(
            [sys.executable, "-I", "-c", _CHILD],
            input=json.dumps([[str(root / p), s] for p, s in pending]),
            capture_output=True,
            text=True,
            cwd=root,
            timeout=600,
            check=False,
        )
        started = None
        for line in proc.stdout.splitlines():
            event = json.loads(line)
            path = os.path.relpath(event[1], root)
            if event[0] == "start":
                started = path
            else:
                results[path] = "" if event[0] == "ok" else event[2]
                started = None
        if started is not None:
            code = -proc.returncode if proc.returncode < 0 else proc.returncode
            try:
                how = (
                    f"signal {__import__('signal').Signals(code).name}"
                    if proc.returncode < 0
                    else f"exit status {code}"
                )
            except ValueError:
                how = f"signal {code}"
            results[started] = f"the process loading it died ({how})"
        elif proc.returncode != 0 and len(results) < len(items):
            raise NativeError(f"the loader process failed: {proc.stderr.strip()[-300:]}")
        pending = [(p, s) for p, s in pending if p not in results]
    return results


def load_check(
    patched_wheel: Path,
    patched_data_dir: str,
    original_wheel: Path,
    original_data_dir: str,
    targets: Sequence[LoadTarget],
) -> tuple[dict[str, str], dict[str, str]]:
    """Load every target from ``patched_wheel`` in a child process, with the wheel's other shared
    objects (``numpy.libs/`` and the like, found through ``$ORIGIN`` rpaths) placed where they
    install. What fails is loaded again from ``original_wheel``.

    Returns (member -> why the patched file fails where the original loads: the patch broke it,
    member -> why neither loads here: cannot be checked on this machine). Libraries from outside
    the wheel are found as the system finds them; if the original cannot load without them
    either, the module is reported as unchecked, never as broken.
    """
    from mvpy_vendor.wheel.layout import installed_path

    broken: dict[str, str] = {}
    unchecked: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="mvpy-load-") as tmp:
        patched_root, original_root = Path(tmp, "patched"), Path(tmp, "original")
        _place(patched_wheel, patched_root, patched_data_dir)
        by_path = {installed_path(t.member, patched_data_dir): t for t in targets}
        failed = {p: why for p, why in _load(patched_root, [(p, t.symbol) for p, t in by_path.items()]).items() if why}
        if not failed:
            return broken, unchecked
        _place(original_wheel, original_root, original_data_dir)
        again = {installed_path(by_path[p].original_member, original_data_dir): by_path[p] for p in failed}
        original = _load(original_root, [(p, t.original_symbol) for p, t in again.items()])
        for path, target in again.items():
            patched_path = installed_path(target.member, patched_data_dir)
            if original.get(path):
                unchecked[target.member] = f"the original does not load here either ({original[path]})"
            else:
                broken[target.member] = failed[patched_path]
    return broken, unchecked
