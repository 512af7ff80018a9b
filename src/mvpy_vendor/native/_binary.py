"""Shared by every format: LIEF (imported when first needed), and the names a binary holds (C
strings and entries of mypyc's string tables)."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .model import InitKind, Occurrence

__all__ = [
    "Table",
    "embedded",
    "find_names",
    "find_tables",
    "find_tails",
    "format_of",
    "init_kind",
    "load_lief",
    "packed_cython_strings",
    "renamed_text",
    "written",
]

# Cython names its shared ABI module after its version: "_cython_3_3_0".
_CYTHON_ABI = re.compile(rb"_cython_(\d+)_(\d+)_(\d+)(?![\d_])")

_MAGIC = {
    b"\x7fELF": "ELF",
    b"\xcf\xfa\xed\xfe": "Mach-O",
    b"\xce\xfa\xed\xfe": "Mach-O",
    b"\xca\xfe\xba\xbe": "Mach-O",
    b"MZ": "PE",
}


def load_lief() -> Any:
    """LIEF, imported when first needed and quiet. (Typed loosely: its stubs mark nearly every
    result optional; every result used here is checked where it can be missing.)"""
    import lief

    lief.logging.disable()
    return lief


def format_of(data: bytes) -> str:
    for magic, name in _MAGIC.items():
        if data.startswith(magic):
            return name
    return "unknown"


def _words(names: Mapping[str, str]) -> bytes:
    return b"|".join(re.escape(n.encode()) for n in sorted(names, key=len, reverse=True))


def _pattern(names: Mapping[str, str]) -> re.Pattern[bytes]:
    return re.compile(rb"(?<![\w.])(?:" + _words(names) + rb")(?:\.[\w.]*)?\x00")


def _module_path(names: Mapping[str, str]) -> re.Pattern[bytes]:
    """A whole string that is a module path (or an attribute of one) under a renamed name."""
    return re.compile(rb"(?:" + _words(names) + rb")(?:\.[\w.]*)?")


def find_names(
    regions: Iterable[tuple[int, bytes]], names: Mapping[str, str], files: Collection[str] = ()
) -> dict[int, str]:
    """Address -> text of every NUL-terminated string in ``regions`` naming a renamed module.
    A string that is the name of a file the wheel ships (``black.schema.json``) is a file
    name, not a module path: it is left out."""
    if not names:
        return {}
    pattern = _pattern(names)
    found = {
        start + m.start(): m.group()[:-1].decode("ascii")
        for start, content in regions
        for m in pattern.finditer(content)
    }
    return {address: text for address, text in found.items() if text not in files}


def find_tails(
    regions: Iterable[tuple[int, bytes]], names: Mapping[str, str], files: Collection[str] = ()
) -> dict[int, str]:
    """Address -> text of every module path under a renamed name that ends a longer
    NUL-terminated string: where the linker merged ``black`` into ``...__mypyc.init_black``, a
    pointer to the tail is the string ``black``. Only a tail something refers to is one."""
    if not names:
        return {}
    pattern = re.compile(rb"(?<=[\w.])(?=((?:" + _words(names) + rb")(?:\.[\w.]*)?)\x00)")
    found = {
        start + m.start(): m.group(1).decode("ascii") for start, content in regions for m in pattern.finditer(content)
    }
    return {address: text for address, text in found.items() if text not in files}


def renamed_text(text: str, names: Mapping[str, str]) -> str:
    first, dot, rest = text.partition(".")
    return names[first] + dot + rest


# mypyc keeps a module's str (and bytes) literals in tables of C strings, each a "chunk": a
# varint count, then that many entries, each a varint length and the UTF-8 bytes, the whole
# NUL-terminated and reached through a pointer in the table (``CPyLit_Str``). An entry has no
# NUL of its own, and an empty entry's length is a NUL byte, so a chunk is found by parsing it.
# Entries are packed into chunks of at most 70 bytes (one longer entry gets a chunk of its own),
# so a chunk starts at most this far before any of its entries.
_CHUNK_REACH = 80


def _varint(data: bytes, i: int) -> tuple[int, int] | None:
    """A mypyc varint at ``i`` (big-endian groups of 7 bits, high bit: more follow): (value, end)."""
    value = 0
    for end in range(i, min(i + 4, len(data))):
        value = (value << 7) | (data[end] & 0x7F)
        if not data[end] & 0x80:
            return value, end + 1
    return None


def _varint_bytes(n: int) -> bytes:
    groups = [n & 0x7F]
    while n > 0x7F:
        n >>= 7
        groups.insert(0, (n & 0x7F) | 0x80)
    return bytes(groups)


def _chunk_at(data: bytes, start: int) -> tuple[tuple[int, int], ...] | None:
    """The entries (start, length) of a chunk beginning at ``start``, if one parses there exactly:
    after a NUL (or at the start of the region), at least one entry, and a NUL right after the last."""
    if start > 0 and data[start - 1] != 0:
        return None
    head = _varint(data, start)
    if head is None or head[0] == 0:
        return None
    count, i = head
    entries = []
    for _ in range(count):
        item = _varint(data, i)
        if item is None:
            return None
        length, i = item
        entries.append((i, length))
        i += length
        if i >= len(data):
            return None
    return tuple(entries) if data[i] == 0 else None


@dataclass(frozen=True)
class Table:
    """One chunk of a mypyc string table holding module paths under a renamed name as whole
    entries. ``entries``: each entry's (offset in the chunk, length); ``renamed``: the indices of
    the entries that are such module paths."""

    raw: bytes
    entries: tuple[tuple[int, int], ...]
    renamed_entries: tuple[int, ...]

    def texts(self) -> list[bytes]:
        return [self.raw[offset : offset + length] for offset, length in self.entries]

    @property
    def names(self) -> tuple[str, ...]:
        texts = self.texts()
        return tuple(texts[i].decode("ascii") for i in self.renamed_entries)

    def renamed(self, names: Mapping[str, str]) -> bytes:
        """The chunk with those entries renamed and their lengths re-encoded; the rest as it was."""
        out = bytearray(_varint_bytes(len(self.entries)))
        for i, text in enumerate(self.texts()):
            if i in self.renamed_entries:
                text = renamed_text(text.decode("ascii"), names).encode("ascii")
            out += _varint_bytes(len(text)) + text
        return bytes(out)


def _tables_in(content: bytes, names: Mapping[str, str], files: Collection[str]) -> Iterator[tuple[int, Table]]:
    """(offset, chunk) of every mypyc chunk in ``content`` with an entry that is a module path
    under a renamed name (file names the wheel ships excepted)."""
    path = _module_path(names)
    seen: set[int] = set()
    for hit in re.finditer(_words(names), content):
        at = hit.start()
        for start in range(max(0, at - _CHUNK_REACH), at):
            entries = _chunk_at(content, start)
            if entries is None or not any(offset == at for offset, _ in entries):
                continue
            if start not in seen:
                seen.add(start)
                texts = [content[offset : offset + length] for offset, length in entries]
                renamed = tuple(i for i, t in enumerate(texts) if path.fullmatch(t) and t.decode("ascii") not in files)
                if renamed:
                    end = entries[-1][0] + entries[-1][1]
                    relative = tuple((offset - start, length) for offset, length in entries)
                    yield start, Table(content[start:end], relative, renamed)
            break


def find_tables(
    regions: Iterable[tuple[int, bytes]], names: Mapping[str, str], files: Collection[str] = ()
) -> dict[int, Table]:
    """Address -> chunk of every mypyc string-table chunk in ``regions`` that holds a module path
    under a renamed name as a whole entry (mypyc's imports, ``__module__`` and the shared
    library's ``sys.modules`` key are such entries)."""
    if not names:
        return {}
    return {base + offset: table for base, content in regions for offset, table in _tables_in(content, names, files)}


def embedded(
    data: bytes, names: Mapping[str, str], files: Collection[str] = (), handled: Collection[int] = ()
) -> list[Occurrence]:
    """Names inside longer strings: neither a NUL-terminated module path nor a whole entry of a
    mypyc string table (those are patched), nor the start of a length-delimited one whose
    references are all made right (``handled``: file offsets); or the name of a file the wheel
    ships."""
    if not names:
        return []
    starts = {m.start() for m in _pattern(names).finditer(data) if m.group()[:-1].decode("ascii") not in files}
    for offset, table in _tables_in(data, names, files):
        starts.update(offset + table.entries[i][0] for i in table.renamed_entries)
    found = []
    for match in re.finditer(rb"(?<![\w.])(?:" + _words(names) + rb")(?![\w])", data):
        if match.start() in starts or match.start() in handled:
            continue
        context = re.search(rb"[ -~]{0,24}$", data[max(0, match.start() - 24) : match.start()])
        tail = re.match(rb"[ -~]{0,60}", data[match.start() :])
        text = (context[0] if context else b"") + (tail[0] if tail else b"")
        found.append(Occurrence(text.decode("ascii").strip(), "embedded", 0))
    return found


def written(binary: Any, *config: Any) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "module")
        binary.write(path, *config)
        with open(path, "rb") as fh:
            return fh.read()


def packed_cython_strings(data: bytes) -> bool:
    """Cython 3.1+ (its ABI module name says so), or compressed string data (its error message
    is in the binary even where no ABI name is, e.g. a compiled package ``__init__``)."""
    abi = _CYTHON_ABI.search(data)
    if abi is not None and (int(abi[1]), int(abi[2])) >= (3, 1):
        return True
    return b"cython_runtime\x00" in data and b" string data decompression failed\x00" in data


def init_kind(imported: Collection[str]) -> InitKind:
    if "PyModuleDef_Init" in imported:
        return "multi-phase"
    return "single-phase" if "PyModule_Create2" in imported else "unknown"
