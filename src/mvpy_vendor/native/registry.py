"""The keys a compiled module keeps in the interpreter's thread-state dict, read from its code.

``PyThreadState_GetDict()`` returns one dict per thread, shared by every module in the process:
two versions of a library that store under the same key find each other's objects there, and
renaming modules changes a key only where the key is a module name the patcher renames. So
what decides is the keys. They are read here from the code (ELF x86-64), soundly or not at
all:

* every call of ``PyThreadState_GetDict`` (through the PLT or the GOT) is found; the function
  holding it is followed (:mod:`._dictflow`) from its entry: where the dict goes (registers, stack
  slots, the functions it is passed to, the callers it is returned to) and what key each call
  that reads or writes it by key passes;
* a key read is a C string (``PyDict_GetItemString(d, "scipy...__global_object")``), a str made
  from one (``PyUnicode_InternFromString``), or a Cython string constant (the global a Cython
  string table fills: ``__pyx_n_u__ParserDictionaryContext``; Cython 0.29 and 3.0 tables of
  pointers, and Cython 3.2's packed table);
* a function nothing refers to (no call, no jump, no address taken, no relocation, not
  exported) never runs: f2py links ``F2PySwapThreadLocalCallbackPtr`` into every module and
  calls it only where the compiler lacks thread-local storage;
* anything else (the dict stored in memory, passed to an unknown function, a key that is a
  run-time value, code that cannot be followed, another format or architecture) is said as a
  reason the keys were not read: the caller refuses then.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._binary import load_lief
from ._constants import Constants
from ._dictflow import Access, entry_state, is_held
from ._program import ElfProgram, Summary, Unread

__all__ = ["THREAD_DICT", "Key", "RegistryUse", "imports_symbol", "read_keys"]

THREAD_DICT = "PyThreadState_GetDict"


@dataclass(frozen=True)
class Key:
    """One key the module passes to a call that reads or writes the dict: its text, where the
    text is (``-1``: inside a packed table) and how it was read."""

    text: str
    address: int
    how: str  # "C string", "str from a C string", "Cython string table", "Cython packed string table"

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "address": self.address, "how": self.how}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Key:
        return cls(data["text"], data["address"], data["how"])


@dataclass(frozen=True)
class RegistryUse:
    """What one compiled module does with the thread-state dict: ``calls`` (does it call
    ``PyThreadState_GetDict`` from code that can run), the ``keys`` read, why the keys could
    not all be read (``unread``; empty: every key is in ``keys``), and the functions that call
    it but never run (``unreachable``)."""

    calls: bool
    keys: tuple[Key, ...] = ()
    unread: tuple[str, ...] = ()
    unreachable: tuple[str, ...] = ()

    @property
    def readable(self) -> bool:
        return not self.unread

    def to_json(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "keys": [k.to_json() for k in self.keys],
            "unread": list(self.unread),
            "unreachable": list(self.unreachable),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RegistryUse:
        return cls(
            data["calls"],
            tuple(Key.from_json(k) for k in data["keys"]),
            tuple(data["unread"]),
            tuple(data["unreachable"]),
        )


def imports_symbol(data: bytes, symbol: str) -> bool:
    """Does this binary import ``symbol`` (ELF: an undefined dynamic symbol; PE, Mach-O: an import)?"""
    if symbol.encode() not in data:
        return False
    lief = load_lief()
    binary = lief.parse(list(data))
    if binary is None:
        return False
    if isinstance(binary, lief.ELF.Binary):
        return any(s.name == symbol and s.shndx == 0 for s in binary.dynamic_symbols)
    return any(f.name.lstrip("_") == symbol for f in binary.imported_functions)


def read_keys(data: bytes) -> RegistryUse:
    """The thread-state dict keys of one compiled module (see the module's docstring)."""
    if not imports_symbol(data, THREAD_DICT):
        return RegistryUse(False)
    try:
        program = ElfProgram(data, THREAD_DICT)
        return _keys(program, Constants(program))
    except Unread as exc:
        return RegistryUse(True, unread=(str(exc),))
    except Exception as exc:  # noqa: BLE001 - a binary LIEF or capstone chokes on: its keys are not read
        return RegistryUse(True, unread=(f"the code cannot be read ({type(exc).__name__}: {exc})",))


def _keys(program: ElfProgram, constants: Constants) -> RegistryUse:
    """Follow every function that calls the dict's source, then their callers where the dict or
    the key comes from them, and read the keys."""
    registry = program.source
    sources = [a for a, n in program.plt.items() if n == registry]
    slots = [a for a, n in program.slots.items() if n == registry]
    calls = {s for a in sources for s in program.callers.get(a, ())} | {
        s for a in slots for s in program.refs.get(a, ())
    }
    sites = sorted(s for s in calls if not program._in_plt(s))
    unread: list[str] = []
    roots: set[int] = set()
    for site in sites:
        extent = program.extent(site)
        if extent is None:
            unread.append(f"{registry} is called at {site:#x}, outside any known function")
        else:
            roots.add(extent[0])
    unreachable = sorted(program.name(r) for r in roots if not program.referenced(r))
    live = {r for r in roots if program.referenced(r)}
    results = {}
    pending = sorted(live)
    rounds = 0
    while pending and rounds < 64 + 4 * len(live):
        rounds += 1
        start = pending.pop(0)
        program._followed.clear()
        result = program.analyzer.follow(start, entry_state())
        results[start] = result
        with_args = tuple(a for a in result.accesses if any(t[0] == "arg" for t in a.key))
        summary = Summary(is_held(result.returns), with_args)
        if summary == program.summaries.get(start, Summary(False, ())):
            continue
        program.summaries[start] = summary
        if start in program.exported or start in program.taken:
            what = "returns the dict" if summary.returns_dict else "reads or writes it under a key its caller passes"
            unread.append(f"{program.name(start)} {what}, and is called through a pointer")
        for caller in sorted({e[0] for s in program.callers.get(start, ()) if (e := program.extent(s)) is not None}):
            if caller not in pending and program.referenced(caller) and caller != start:
                pending.append(caller)
    if pending:
        unread.append("the callers of the functions that use the dict go too deep to follow")
    found: dict[tuple[str, int, str], None] = {}
    for start, result in sorted(results.items()):
        where = program.name(start)
        unread += [f"{where} {how} (at {address:#x})" for address, how in result.escapes]
        unread += [f"{where}: {what} (at {address:#x})" for address, what in result.incomplete]
        for access in result.accesses:
            for token in access.key:
                if token[0] == "arg" and start in program.summaries:
                    continue  # its callers pass it: read there
                key = _key(program, constants, token, access)
                if isinstance(key, str):
                    unread.append(f"{where} calls {access.api} (at {access.site:#x}) with {key}")
                else:
                    found[key] = None
    keys = tuple(Key(text, address, how) for text, address, how in sorted(found))
    return RegistryUse(bool(live), keys, tuple(dict.fromkeys(unread)), tuple(unreachable))


def _key(
    program: ElfProgram, constants: Constants, token: tuple[Any, ...], access: Access
) -> tuple[str, int, str] | str:
    """The key a token stands for, or why it cannot be read."""
    kind = token[0]
    if kind == "const" and access.by_string:
        text = program.c_string(token[1])
        return (text, token[1], "C string") if text is not None else f"a key at {token[1]:#x} that is not text"
    if kind == "str" and not access.by_string:
        text = program.c_string(token[1])
        if text is not None:
            return (text, token[1], "str from a C string")
    if kind == "global" and not access.by_string:
        found = constants.held_by(token[1])
        if isinstance(found, tuple):
            return found
        return f"a key held in the global at {token[1]:#x}, {found}"
    if kind == "arg":
        return "a key its caller passes, from callers that are not all known"
    return "a key computed at run time" if kind == "unknown" else f"a key that is not a string constant ({kind})"
