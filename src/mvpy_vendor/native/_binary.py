"""Shared by every format: LIEF (imported when first needed), the names a binary holds (C strings
and entries of mypyc's string tables), the renamed twins added to it, and the base view that
repoints references."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mvpy_vendor.errors import NativeError

from ._code import patch_adrp_add
from .model import InitKind, Kind, Occurrence

__all__ = [
    "Inspection",
    "Length",
    "Table",
    "Use",
    "View",
    "embedded",
    "find_names",
    "find_tables",
    "find_tails",
    "format_of",
    "init_kind",
    "load_lief",
    "packed_cython_strings",
    "renamed_blob",
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


def renamed_blob(uses: Iterable[Use], names: Mapping[str, str]) -> tuple[bytes, dict[bytes, int]]:
    """The renamed twin of every string and table chunk that ``uses`` read, each NUL-terminated,
    and where each one starts, by the original's bytes (addresses can move when the blob is
    added, bytes do not)."""
    blob = bytearray()
    offsets: dict[bytes, int] = {}
    twins = {use.original: use.twin(names) for use in uses}
    for original, twin in sorted(twins.items()):
        offsets[original] = len(blob)
        blob += twin + b"\x00"
    return bytes(blob), offsets


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


# What marks a binary built by rustc, where every string is pointer plus length unless it was
# made a C string on purpose: the compiler's note (ELF .comment) or its paths in panic messages.
_RUST_MARKS = (b"rustc version ", b"/rustc/", b"rust_begin_unwind", b"rust_panic")
_WINDOW = 256  # bytes kept from every place a name starts (a length-delimited string is shorter)


def _dotted(names: Mapping[str, str]) -> re.Pattern[bytes]:
    return re.compile(rb"(?:" + _words(names) + rb")(?:\.\w+)*")


@dataclass(frozen=True)
class Length:
    """A length kept apart from its string: ``width`` bytes at ``at`` (a data word after a
    pointer, or a ``mov`` immediate), counting the NUL or not."""

    at: int
    width: int
    value: int
    counts_nul: bool


@dataclass(frozen=True)
class Use:
    """One reference to a string naming a renamed module, as it is read: ``text`` (all of a C
    string, or the ``length`` bytes a pointer-plus-length reference takes), or a mypyc string-table
    chunk (``table``; ``text``: its renamed entries, space-separated)."""

    target: int
    text: str
    length: Length | None
    table: Table | None = None

    @property
    def original(self) -> bytes:
        """The bytes read at ``target``: what the twin replaces."""
        return self.table.raw if self.table is not None else self.text.encode("ascii")

    def twin(self, names: Mapping[str, str]) -> bytes:
        """The renamed bytes (without the NUL that ends them in the added segment)."""
        return self.table.renamed(names) if self.table is not None else renamed_text(self.text, names).encode("ascii")


class View:
    """Strings and mypyc table chunks naming renamed modules in one binary, and what refers to
    each (by address).

    Formats fill, through :meth:`scan`, ``strings`` (NUL-terminated module names), ``tails``
    (module names ending a longer string), ``tables`` (mypyc string-table chunks) and ``starts``
    (every place a renamed name starts, C string or not, with the bytes that follow); then
    ``pointers``, ``slots`` (every pointer location, to tell a length word from a pointer),
    ``rip``, ``rip_lengths`` and ``pairs``; :meth:`uses` then decides, reference by reference,
    what text it reads and where its length is kept."""

    def __init__(self, binary: Any) -> None:
        self.binary = binary
        self.strings: dict[int, str] = {}
        self.tails: dict[int, str] = {}  # names ending longer strings: strings of their own where referenced
        self.tables: dict[int, Table] = {}  # mypyc string-table chunks
        self.starts: dict[int, bytes] = {}
        self.rust = False
        self.pointers: dict[int, list[Any]] = {}  # pointer locations (ELF: the relocations)
        self.slots: set[int] = set()  # address of every pointer the loader relocates
        self.rip: dict[int, list[tuple[int, int, int]]] = {}  # x86-64 RIP-relative operands
        self.rip_lengths: dict[int, tuple[int, int, int]] = {}  # lea address -> (imm address, width, value)
        self.pairs: dict[int, list[tuple[int, int]]] = {}  # arm64 adrp/add pairs
        self.opaque: set[int] = set()  # referenced in a way that cannot be repointed or told
        self.analyzable = False  # can code references be followed on this format and architecture?
        self.names: Mapping[str, str] = {}
        self.files: Collection[str] = ()
        self._uses: tuple[list[tuple[Use, str, Any]], list[tuple[int, str, str]], set[int]] | None = None

    def scan(
        self,
        regions: Iterable[tuple[int, bytes]],
        names: Mapping[str, str],
        files: Collection[str] = (),
        rust: bool = False,
    ) -> None:
        """Find the C strings, tails, mypyc table chunks and every start of a renamed name in
        ``regions`` (data, not code). ``files``: names of files the wheel ships, left alone."""
        self.names, self.files = names, files
        regions = list(regions)
        self.strings = find_names(regions, names, files)
        self.tails = find_tails(regions, names, files)
        self.tables = find_tables(regions, names, files)
        self.rust = rust or any(mark in content for _, content in regions for mark in _RUST_MARKS)
        if not names:
            return
        start = re.compile(rb"(?:" + _words(names) + rb")(?!\w)")
        for base, content in regions:
            for m in start.finditer(content):
                self.starts[base + m.start()] = content[m.start() : m.start() + _WINDOW]

    @property
    def targets(self) -> dict[int, bytes]:
        """Address -> original bytes of every C string, tail and table chunk: what a reference
        that gets repointed to a twin lands on (on ELF, every start is looked for as well)."""
        found = {address: table.raw for address, table in self.tables.items()}
        found.update((address, text.encode("ascii")) for address, text in {**self.tails, **self.strings}.items())
        return found

    def pointer_slot(self, where: Any) -> int:
        """The address of a pointer found in :attr:`pointers`."""
        return int(where)

    def file_offset(self, address: int) -> int:
        return int(self.binary.virtual_address_to_offset(address))

    def read(self, address: int, size: int) -> bytes:
        return bytes(self.binary.get_content_from_virtual_address(address, size))

    def _length_of(self, target: int, value: int, at: int, width: int) -> tuple[str, Length] | None:
        """The text a reference with length ``value`` reads, when that is a whole module name."""
        window, text = self.starts.get(target, b""), self._c_string(target)
        if text is not None and value in (len(text), len(text) + 1):
            return text, Length(at, width, value, value == len(text) + 1)
        if self.rust and 0 < value <= len(window) and _dotted(self.names).fullmatch(window[:value]):
            read = window[:value].decode("ascii")
            return None if read in self.files else (read, Length(at, width, value, False))
        return None

    def _c_string(self, target: int) -> str | None:
        """The module name a C-string reference to ``target`` reads: a whole string, or a tail
        (a name the linker merged into the end of a longer string, read from where it starts)."""
        return self.strings.get(target) or self.tails.get(target)

    def _decide(self) -> tuple[list[tuple[Use, str, Any]], list[tuple[int, str, str]], set[int]]:
        """(every use with the reference it comes from, every reference that cannot be made right
        as (text, address, why), the targets read as longer strings)."""
        if self._uses is not None:
            return self._uses
        uses: list[tuple[Use, str, Any]] = []
        refused: list[tuple[int, str, str]] = []
        longer: set[int] = set()
        for target in sorted(set(self.pointers) | set(self.rip) | set(self.pairs)):
            table = self.tables.get(target)
            if table is not None:
                # A chunk is reached through the table of pointers mypyc's literals are read from:
                # the whole chunk is replaced by its renamed twin; no length is kept beside it.
                use = Use(target, " ".join(table.names), None, table)
                uses += [(use, "pointer", where) for where in self.pointers.get(target, ())]
                uses += [(use, "rip", ref) for ref in self.rip.get(target, ())]
                uses += [(use, "pair", pair) for pair in self.pairs.get(target, ())]
                continue
            text = self._c_string(target)
            shown = text or self.starts.get(target, b"").split(b"\x00")[0][:60].decode("ascii", "replace")
            for where in self.pointers.get(target, ()):
                slot = self.pointer_slot(where)
                after = slot + 8
                found = None
                # A PyType_Spec (name, basicsize and itemsize, flags, slots) is no (pointer, length).
                spec = not self.rust and slot + 24 in self.slots and slot + 16 not in self.slots
                if after not in self.slots and not spec:
                    raw = self.read(after, 8)
                    if len(raw) == 8:
                        found = self._length_of(target, int.from_bytes(raw, "little"), after, 8)
                if found is not None:
                    uses.append((Use(target, found[0], found[1]), "pointer", where))
                elif (
                    text is not None
                    and not self.rust
                    and slot - 8 not in self.slots
                    and self._is_length(slot - 8, text)
                ):
                    why = f"is pointed to from 0x{slot:x}, just after a word equal to its length"
                    refused.append((target, text, why))
                elif text is not None:
                    uses.append((Use(target, text, None), "pointer", where))
                elif self.rust and self._plain_name(target):
                    refused.append((target, shown, f"is referenced as pointer plus length at 0x{slot:x}"))
                else:
                    longer.add(target)
            for ref in self.rip.get(target, ()):
                site = self.rip_lengths.get(ref[0])
                found = self._length_of(target, site[2], site[0], site[1]) if site is not None else None
                if found is not None:
                    uses.append((Use(target, found[0], found[1]), "rip", ref))
                elif text is not None:
                    uses.append((Use(target, text, None), "rip", ref))
                elif self.rust and site is None and self._plain_name(target):
                    refused.append((target, shown, f"is referenced as pointer plus length at 0x{ref[0]:x}"))
                else:
                    longer.add(target)
            for pair in self.pairs.get(target, ()):
                if text is not None:
                    uses.append((Use(target, text, None), "pair", pair))
                elif self.rust and self._plain_name(target):
                    refused.append((target, shown, f"is referenced as pointer plus length at 0x{pair[0]:x}"))
        self._uses = (uses, refused, longer)
        return self._uses

    def _plain_name(self, target: int) -> bool:
        """Is the text at ``target`` a dotted name followed by no prose (by other names run on,
        or by bytes that are no text)? Such a string can only be a name, however long it is;
        one that goes on with a space or punctuation is a message that starts with a name.
        The name of a file the wheel ships is none."""
        window = self.starts.get(target, b"")
        run = _dotted(self.names).match(window)
        end = run.end() if run else 0
        if run is not None and run[0].decode("ascii") in self.files:
            return False
        return end >= len(window) or not 0x20 <= window[end] < 0x7F

    def _is_length(self, address: int, text: str) -> bool:
        raw = self.read(address, 8)
        return len(raw) == 8 and int.from_bytes(raw, "little") in (len(text), len(text) + 1)

    def uses(self) -> list[Use]:
        return [use for use, _, _ in self._decide()[0]]

    def _kind(self, those: list[tuple[Use, str]], referenced: Kind) -> Kind:
        if not self.analyzable or any(u.target in self.opaque for u, _ in those):
            return "unknown"
        return "code" if any(how != "pointer" for _, how in those) else referenced

    def occurrences(self) -> list[Occurrence]:
        uses, refused, _longer = self._decide()
        by_text: dict[str, list[tuple[Use, str]]] = {}
        by_table: dict[int, list[tuple[Use, str]]] = {}
        for use, how, _ in uses:
            if use.table is not None:
                by_table.setdefault(use.target, []).append((use, how))
            else:
                by_text.setdefault(use.text, []).append((use, how))
        found = []
        for text, those in sorted(by_text.items()):
            kind = self._kind(those, "relocated")
            found.append(Occurrence(text, kind, len(those), lengths=sum(u.length is not None for u, _ in those)))
        for address, table in sorted(self.tables.items()):
            those = by_table.get(address, [])
            if those:
                kind = self._kind(those, "table")
            else:
                kind = "unknown" if not self.analyzable or address in self.opaque else "unreferenced"
            found.extend(Occurrence(name, kind, len(those)) for name in table.names)
        referenced = {use.target for use, _, _ in uses} | set(self.pointers) | set(self.rip) | set(self.pairs)
        for address, text in sorted(self.strings.items()):
            if address not in referenced:
                kind = "unknown" if not self.analyzable or address in self.opaque else "unreferenced"
                found.append(Occurrence(text, kind, 0))
        for _target, text, why in refused:
            found.append(Occurrence(text, "delimited", 1, detail=why))
        return found

    def handled(self) -> set[int]:
        """Addresses of strings every reference of which is made right (not to be listed as embedded)."""
        uses, refused, _ = self._decide()
        return {use.target for use, _, _ in uses} - {target for target, _, _ in refused}

    def write_pointer(self, where: Any, new: int) -> None:
        raise NotImplementedError

    def repoint(self, base: int, offsets: Mapping[bytes, int], *address_type: Any) -> None:
        """Point every reference at the renamed twin, ``base + offsets[original bytes]``, and set
        every length kept with one to the twin's."""
        written: dict[int, int] = {}
        for use, how, ref in self._decide()[0]:
            new = base + offsets[use.original]
            if how == "pointer":
                self.write_pointer(ref, new)
            elif how == "rip":
                insn, size, disp_offset = ref
                disp = (new - (insn + size)).to_bytes(4, "little", signed=True)
                self.binary.patch_address(insn + disp_offset, list(disp), *address_type)
            else:
                patch_adrp_add(self.binary, ref[0], ref[1], new)
            if use.length is not None:
                value = len(renamed_text(use.text, self.names)) + use.length.counts_nul
                if written.setdefault(use.length.at, value) != value:
                    raise NativeError(f"one length at 0x{use.length.at:x} serves strings of different lengths")
                raw = value.to_bytes(use.length.width, "little")
                self.binary.patch_address(use.length.at, list(raw), *address_type)


@dataclass(frozen=True)
class Inspection:
    """What a format module reads off one binary: its view of the names, architecture and symbols."""

    view: View
    arch: str
    exported: frozenset[str]
    imported: frozenset[str]
    problems: tuple[str, ...] = ()
