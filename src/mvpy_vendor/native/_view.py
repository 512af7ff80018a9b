"""The base view of one binary: the names it holds, what refers to each and what for, and the
repointing of those references to renamed twins."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mvpy_vendor.errors import NativeError

from ._binary import Table, _words, find_names, find_tables, find_tails, renamed_text
from ._code import Sweep, patch_adrp_add
from ._flow import Code, Walk
from ._purpose import Purpose, code_purposes, data_purpose, decide, keyword_list, reader
from .model import Kind, Occurrence

__all__ = ["Inspection", "Length", "Use", "View", "renamed_blob"]


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


@dataclass
class _Decisions:
    """Every reference, decided: repointed (with the reference it comes from), kept or refused
    (text, address, why), and the targets read as longer strings."""

    uses: list[tuple[Use, str, Any, str]]
    refused: list[tuple[int, str, str]]
    kept: list[tuple[int, str, str]]
    longer: set[int]


class View:
    """Strings and mypyc table chunks naming renamed modules in one binary, what refers to each
    (by address), and what for.

    Formats fill, through :meth:`scan`, ``strings`` (NUL-terminated module names), ``tails``
    (module names ending a longer string), ``tables`` (mypyc string-table chunks) and ``starts``
    (every place a renamed name starts, C string or not, with the bytes that follow); then
    ``pointers``, ``slots`` (every pointer location and what it points to: -1 for an imported
    symbol), ``rip``, ``rip_lengths``, ``sweep`` and ``pairs``; ``code`` where the code can be
    followed (:mod:`._flow`), and ``arrays`` (where arrays of pointers holding a name start, for
    keyword lists). :meth:`uses` then decides, reference by reference, whether it is repointed:

    * in a Rust binary (every string is pointer plus length), every reference, with the length
      kept beside it (a ``&str``, or PyO3's C string whose length counts the NUL);
    * anywhere else, a reference whose use is a module name (:mod:`._purpose`); a length is
      updated only where the layout that uses it holds one (an entry of Cython's string table,
      a ``PyUnicode_FromStringAndSize`` argument); a reference used for anything else, or whose
      use cannot be told, is kept and said so."""

    def __init__(self, binary: Any) -> None:
        self.binary = binary
        self.strings: dict[int, str] = {}
        self.tails: dict[int, str] = {}  # names ending longer strings: strings of their own where referenced
        self.tables: dict[int, Table] = {}  # mypyc string-table chunks
        self.starts: dict[int, bytes] = {}
        self.rust = False
        self.pointers: dict[int, list[Any]] = {}  # pointer locations (ELF: the relocations)
        self.slots: dict[int, int] = {}  # every pointer the loader relocates -> where it points (-1: a symbol)
        self.rip: dict[int, list[tuple[int, int, int]]] = {}  # x86-64 RIP-relative operands
        self.rip_lengths: dict[int, tuple[int, int, int]] = {}  # lea address -> (imm address, width, value)
        self.sweep = Sweep()  # what the walks of the code need besides (heads, constants, loads, entries)
        self.pairs: dict[int, list[tuple[int, int]]] = {}  # arm64 adrp/add pairs
        self.opaque: set[int] = set()  # referenced in a way that cannot be repointed or told
        self.arrays: set[int] = set()  # starts of arrays of pointers that hold a name (keyword lists?)
        self.analyzable = False  # can code references be followed on this format and architecture?
        self.code: Code | None = None  # the code, where what it does with a string can be followed
        self.names: Mapping[str, str] = {}
        self.files: Collection[str] = ()
        self._decisions: _Decisions | None = None
        self._reader: Any = None
        self._array_uses: dict[int, list[Purpose]] = {}
        self._walks: dict[int, Walk] = {}

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

    def find_arrays(self) -> None:
        """Where the arrays of pointers that hold a pointer to a name start: a keyword list is one
        (its start is what code passes to ``PyArg_ParseTupleAndKeywords``)."""
        if self.rust:
            return
        texts = {**self.tails, **self.strings}
        for slot, target in self.slots.items():
            if target in texts:
                start = keyword_list(self, slot)
                if start is not None:
                    self.arrays.add(start)

    def pointer_slot(self, where: Any) -> int:
        """The address of a pointer found in :attr:`pointers`."""
        return int(where)

    def file_offset(self, address: int) -> int:
        return int(self.binary.virtual_address_to_offset(address))

    def read(self, address: int, size: int) -> bytes:
        return bytes(self.binary.get_content_from_virtual_address(address, size))

    # -- the binary as memory, for _purpose -------------------------------------------------

    def word(self, address: int) -> int | None:
        raw = self.read(address, 8)  # LIEF reads nothing outside the image
        return int.from_bytes(raw, "little") if len(raw) == 8 else None

    def pointer(self, address: int) -> int | None:
        return self.slots.get(address)

    def executable(self, address: int) -> bool:
        return self.code is not None and self.code.in_code(address)

    def c_string(self, address: int) -> bytes | None:
        raw = self.read(address, 64)
        end = raw.find(b"\x00")
        return raw[:end] if end >= 0 else None

    # -- deciding -----------------------------------------------------------------------------

    def _length_of(self, target: int, value: int, at: int, width: int) -> tuple[str, Length] | None:
        """Rust: the text a reference with length ``value`` reads, when that is a whole module name."""
        window, text = self.starts.get(target, b""), self._c_string(target)
        if text is not None and value in (len(text), len(text) + 1):
            return text, Length(at, width, value, value == len(text) + 1)
        if 0 < value <= len(window) and _dotted(self.names).fullmatch(window[:value]):
            read = window[:value].decode("ascii")
            return None if read in self.files else (read, Length(at, width, value, False))
        return None

    def _c_string(self, target: int) -> str | None:
        """The module name a C-string reference to ``target`` reads: a whole string, or a tail
        (a name the linker merged into the end of a longer string, read from where it starts)."""
        return self.strings.get(target) or self.tails.get(target)

    def _decide(self) -> _Decisions:
        if self._decisions is not None:
            return self._decisions
        found = _Decisions([], [], [], set())
        for target in sorted(set(self.pointers) | set(self.rip) | set(self.pairs)):
            table = self.tables.get(target)
            if table is not None:
                # A chunk is reached through the table of pointers mypyc's literals are read from:
                # the whole chunk is replaced by its renamed twin; no length is kept beside it.
                use = Use(target, " ".join(table.names), None, table)
                why = "an entry of a mypyc string table"
                found.uses += [(use, "pointer", where, why) for where in self.pointers.get(target, ())]
                found.uses += [(use, "rip", ref, why) for ref in self.rip.get(target, ())]
                found.uses += [(use, "pair", pair, why) for pair in self.pairs.get(target, ())]
                continue
            if self.rust:
                self._decide_rust(target, found)
                continue
            text = self._c_string(target)
            if text is None:
                if target not in self.arrays:
                    found.longer.add(target)
                continue
            for where in self.pointers.get(target, ()):
                self._settle(found, target, text, "pointer", where, self._data_uses(self.pointer_slot(where), text))
            for ref in self.rip.get(target, ()):
                self._settle(found, target, text, "rip", ref, self._code_uses(target, ref, text))
            for pair in self.pairs.get(target, ()):
                # an adrp/add pair: the add is where the address is complete
                self._settle(found, target, text, "pair", pair, self._code_uses(target, (pair[1], 4, 0), text))
        self._decisions = found
        return found

    def _data_uses(self, slot: int, text: str) -> list[Purpose]:
        # An array the code passes as a keyword list is one, whatever its entries look like;
        # otherwise the struct the pointer sits in tells.
        start = keyword_list(self, slot)
        array = self._array(start) if start is not None and start in self.arrays else []
        if any(p.use == "never" for p in array):
            return array
        purpose = data_purpose(self, slot, text)
        return array if purpose.use == "unknown" and array else [purpose]

    def _array(self, start: int) -> list[Purpose]:
        """What an entry of the array of pointers at ``start`` is, by what code does with the array."""
        if start not in self._array_uses:
            found: list[Purpose] = []
            for ref in self.rip.get(start, ()):
                for p in self._code_uses(start, ref, ""):
                    if p.use == "never" and p.why.startswith("the keyword list of "):
                        found.append(Purpose("never", "an entry of " + p.why))
                    else:
                        found.append(Purpose("unknown", f"an entry of an array of strings: the array's {p.why}"))
            self._array_uses[start] = found or [
                Purpose("unknown", "an entry of an array of strings no code is seen using")
            ]
        return self._array_uses[start]

    def _code_uses(self, target: int, ref: tuple[int, int, int], text: str) -> list[Purpose]:
        if self.code is None:
            return [Purpose("unknown", "code is not followed in this format")]
        if self._reader is None:
            sweep = self.sweep
            self._reader = reader(self.code, self, sweep.constants, sweep.loads, sorted(sweep.entries), sweep.stores)
        insn = self.code.instruction(ref[0])
        if insn is None or not self.code.loads_address(insn):
            shown = f"{insn[2]} {insn[3]}" if insn is not None else "?"
            return [Purpose("unknown", f"its bytes are read by code ({shown}), not its address")]
        return code_purposes(self.code, self, self._walk(target, ref[0]), target, text, self._reader)

    def _walk(self, target: int, at: int) -> Walk:
        """The walk from the code reference at ``at`` to ``target`` (all of them are walked first,
        so that each is read with what the others saw)."""
        assert self.code is not None
        if not self._walks:
            refs = [(address, ref[0]) for address, found in self.rip.items() for ref in found]
            refs += [(address, pair[1]) for address, found in self.pairs.items() for pair in found]
            for address, site in sorted(refs):
                insn = self.code.instruction(site)
                if insn is not None and self.code.loads_address(insn):
                    self._walks[site] = self.code.walk(
                        self.sweep.heads.get(site, site), {}, {("ref", address)}, after=site
                    )
                    self._reader.remember(self._walks[site])
        found = self._walks.get(at)
        if found is None:
            found = self._walks[at] = self.code.walk(self.sweep.heads.get(at, at), {}, {("ref", target)}, after=at)
        return found

    def _settle(self, found: _Decisions, target: int, text: str, how: str, ref: Any, uses: list[Purpose]) -> None:
        """Record one reference's fate."""
        fate, purpose = decide(uses)
        length = None
        if fate == "repoint" and purpose.length is not None:
            at, width, nul = purpose.length
            length = Length(at, width, len(text) + nul, nul)
        if fate == "repoint" and any(p.sized for p in uses if p.use == "module"):
            site = self.rip_lengths.get(ref[0]) if how == "rip" else None
            if site is not None and site[2] == len(text):
                length = Length(site[0], site[1], site[2], False)
            else:
                fate, why = "refuse", f"{purpose.why}, read with a length beside it that is not found"
                purpose = Purpose("refuse", why)
        at = self.pointer_slot(ref) if how == "pointer" else ref[1] if how == "pair" else ref[0]
        if fate == "repoint":
            found.uses.append((Use(target, text, length), how, ref, purpose.why))
        elif fate == "keep":
            found.kept.append((target, text, f"{purpose.why} (at 0x{at:x})"))
        else:
            found.refused.append((target, text, f"is not repointed: {purpose.why} (at 0x{at:x})"))

    def _decide_rust(self, target: int, found: _Decisions) -> None:
        """A Rust binary: every reference, a length beside each one that needs it."""
        text = self._c_string(target)
        shown = text or self.starts.get(target, b"").split(b"\x00")[0][:60].decode("ascii", "replace")
        why = "a name in a Rust binary (every reference to it is repointed)"
        for where in self.pointers.get(target, ()):
            slot = self.pointer_slot(where)
            after = slot + 8
            length = None
            if after not in self.slots:
                raw = self.read(after, 8)
                if len(raw) == 8:
                    length = self._length_of(target, int.from_bytes(raw, "little"), after, 8)
            if length is not None:
                found.uses.append((Use(target, length[0], length[1]), "pointer", where, why))
            elif text is not None:
                found.uses.append((Use(target, text, None), "pointer", where, why))
            elif self._plain_name(target):
                found.refused.append((target, shown, f"is referenced as pointer plus length at 0x{slot:x}"))
            else:
                found.longer.add(target)
        for ref in self.rip.get(target, ()):
            site = self.rip_lengths.get(ref[0])
            length = self._length_of(target, site[2], site[0], site[1]) if site is not None else None
            if length is not None:
                found.uses.append((Use(target, length[0], length[1]), "rip", ref, why))
            elif text is not None:
                found.uses.append((Use(target, text, None), "rip", ref, why))
            elif site is None and self._plain_name(target):
                found.refused.append((target, shown, f"is referenced as pointer plus length at 0x{ref[0]:x}"))
            else:
                found.longer.add(target)
        for pair in self.pairs.get(target, ()):
            if text is not None:
                found.uses.append((Use(target, text, None), "pair", pair, why))
            elif self._plain_name(target):
                found.refused.append((target, shown, f"is referenced as pointer plus length at 0x{pair[0]:x}"))

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

    def uses(self) -> list[Use]:
        return [use for use, _, _, _ in self._decide().uses]

    def _kind(self, those: list[tuple[Use, str]], referenced: Kind) -> Kind:
        if not self.analyzable or any(u.target in self.opaque for u, _ in those):
            return "unknown"
        return "code" if any(how != "pointer" for _, how in those) else referenced

    def occurrences(self) -> list[Occurrence]:
        decided = self._decide()
        by_text: dict[str, list[tuple[Use, str]]] = {}
        whys: dict[str, set[str]] = {}
        by_table: dict[int, list[tuple[Use, str]]] = {}
        for use, how, _, why in decided.uses:
            if use.table is not None:
                by_table.setdefault(use.target, []).append((use, how))
            else:
                by_text.setdefault(use.text, []).append((use, how))
                whys.setdefault(use.text, set()).add(why)
        found = []
        for text, those in sorted(by_text.items()):
            kind = self._kind(those, "relocated")
            lengths = sum(u.length is not None for u, _ in those)
            found.append(Occurrence(text, kind, len(those), lengths, "; ".join(sorted(whys[text]))))
        for address, table in sorted(self.tables.items()):
            those = by_table.get(address, [])
            if those:
                kind = self._kind(those, "table")
            else:
                kind = "unknown" if not self.analyzable or address in self.opaque else "unreferenced"
            found.extend(Occurrence(name, kind, len(those)) for name in table.names)
        referenced = (
            {use.target for use, _, _, _ in decided.uses} | set(self.pointers) | set(self.rip) | set(self.pairs)
        )
        for address, text in sorted(self.strings.items()):
            if address not in referenced:
                kind = "unknown" if not self.analyzable or address in self.opaque else "unreferenced"
                found.append(Occurrence(text, kind, 0))
        kept: dict[tuple[str, str], int] = {}
        for _target, text, why in decided.kept:
            key = (text, why.rpartition(" (at 0x")[0] or why)
            kept[key] = kept.get(key, 0) + 1
        for (text, why), count in sorted(kept.items()):
            found.append(Occurrence(text, "kept", count, detail=why))
        for _target, text, why in decided.refused:
            refusal: Kind = "delimited" if "pointer plus length" in why else "refused"
            found.append(Occurrence(text, refusal, 1, detail=why))
        return found

    def handled(self) -> set[int]:
        """Addresses of strings every reference of which is decided (not to be listed as embedded)."""
        decided = self._decide()
        return {use.target for use, _, _, _ in decided.uses} - {target for target, _, _ in decided.refused}

    def write_pointer(self, where: Any, new: int) -> None:
        raise NotImplementedError

    def repoint(self, base: int, offsets: Mapping[bytes, int], *address_type: Any) -> None:
        """Point every reference at the renamed twin, ``base + offsets[original bytes]``, and set
        every length kept with one to the twin's."""
        written: dict[int, int] = {}
        for use, how, ref, _why in self._decide().uses:
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
