"""Compiled extension modules: find the names baked into them, and patch them as one batch.

What a renamed copy's compiled module must change:
* the exported ``PyInit_<name>`` symbol, when the last component of the module's name changes;
* every reference to a NUL-terminated string naming a renamed module that the binary uses as a
  module name (``m_name``, ``tp_name``, exception and capsule names, ``PyImport_ImportModule``
  arguments, keys of ``sys.modules``: told by the struct the pointer sits in or by what the code
  does with the address, ``_purpose``), and every whole entry of a mypyc string table that is
  such a name (the chunk holding it is re-encoded). Strings cannot grow in place, so the renamed
  strings go into a segment or section added to the binary, and those references are
  repointed: pointers (ELF ``R_X86_64_RELATIVE`` addends, PE base-relocated DIR64 pointers,
  Mach-O rebased pointers) and code (x86-64 RIP-relative operands, arm64 ``adrp``/``add``
  pairs). A reference used as something else (a keyword, an attribute name, a dict key, a
  format, a message) or for something that cannot be told is kept, and reported;
* every length kept apart from such a string where the layout holds one (a Rust ``&str``, a
  PyO3 C string, an entry of Cython's string table, a ``PyUnicode_FromStringAndSize``
  argument), set to the twin's; never a word that merely follows a pointer in C
  (``tp_basicsize`` follows ``tp_name``). A reference whose length cannot be found where one is
  needed is refused.

Patched: ELF x86-64, PE x64, thin Mach-O arm64 and x86-64 (without chained fixups). Anything
else is inspected and reported as not patchable, as is any name referenced in a way that
cannot be followed. LIEF and capstone are imported only when a compiled module is looked at.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Protocol

from mvpy_vendor.errors import NativeError

from . import elf, macho, pe
from ._binary import embedded, format_of, init_kind, packed_cython_strings
from ._view import Inspection
from .model import PACKED_TABLE, NativeModule, Occurrence

__all__ = ["NativeModule", "Occurrence", "file_names", "inspect_native", "patch_native"]


class _Format(Protocol):
    def inspect(self, data: bytes, member: str, names: Mapping[str, str], files: Collection[str]) -> Inspection: ...

    def patch(
        self,
        data: bytes,
        member: str,
        names: Mapping[str, str],
        init: tuple[str, str] | None,
        files: Collection[str],
    ) -> bytes: ...


_FORMATS: dict[str, _Format] = {"ELF": elf, "Mach-O": macho, "PE": pe}


def file_names(members: Iterable[str]) -> frozenset[str]:
    """The names, with a dot, of the files a wheel ships outside its ``.dist-info``
    (``black.schema.json``): a string in a compiled module equal to one is a file name, even
    where it looks like a module path."""
    return frozenset(
        name
        for member in members
        if not member.partition("/")[0].endswith(".dist-info")
        for name in [member.rpartition("/")[2]]
        if "." in name
    )


def inspect_native(data: bytes, member: str, names: Mapping[str, str], files: Collection[str] = ()) -> NativeModule:
    """Inspect one compiled module for the renamed ``names`` (old top-level name -> new).
    ``files``: names of the files the wheel ships (:func:`file_names`); a string equal to one is
    a file name, not a module path, and is not renamed."""
    fmt = format_of(data)
    if fmt == "unknown":
        return NativeModule(member, fmt, "?", (), "unknown", problems=("not a compiled module in a known format",))
    try:
        found = _FORMATS[fmt].inspect(data, member, names, files)
    except NativeError as exc:
        return NativeModule(member, fmt, "?", (), "unknown", problems=(exc.message.split(": ", 1)[-1],))
    view, arch, exported, imported = found.view, found.arch, found.exported, found.imported
    problems = list(found.problems)
    inits = tuple(sorted(n for n in exported if n.startswith("PyInit_")))
    if not inits:
        problems.insert(0, "exports no PyInit_ function: not a Python extension module")
    if not view.analyzable and not problems:
        problems.append(f"code references cannot be followed in {fmt} for {arch}")
    handled = {view.file_offset(address) for address in view.handled() if address not in view.strings}
    occurrences = view.occurrences() + embedded(data, names, files, handled)
    if packed_cython_strings(data):
        # Cython 3.1+ keeps every string constant (module names in imports included) in one
        # packed, possibly compressed, table with lengths compiled in: nothing in it can be
        # found reliably or grown in place.
        occurrences.append(Occurrence(PACKED_TABLE, "packed", 0))
    return NativeModule(member, fmt, arch, inits, init_kind(imported), tuple(occurrences), tuple(problems))


def patch_native(
    data: bytes,
    member: str,
    names: Mapping[str, str],
    init_rename: tuple[str, str] | None,
    files: Collection[str] = (),
) -> bytes:
    """Apply every patch to one binary in one batch: renamed strings added, every reference
    repointed, ``PyInit_`` renamed. The caller has checked :func:`inspect_native`'s verdict."""
    fmt = format_of(data)
    if fmt not in _FORMATS:
        raise NativeError(f"{member}: not a compiled module in a known format")
    return _FORMATS[fmt].patch(data, member, names, init_rename, files)
