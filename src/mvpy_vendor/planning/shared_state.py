"""Shared process state that renaming cannot separate: compiled modules keying per-thread state
by fixed names in the interpreter's thread-state dict.

``PyThreadState_GetDict()`` returns one dict per thread, shared by every extension module in the
process. lxml's ``etree`` keeps its per-thread parser context there under a fixed key
(``"_ParserDictionaryContext"``); a renamed copy of lxml keeps using the same key, so two lxml
versions in one process find each other's objects ("Cannot convert
lxml.etree._ParserDictionaryContext to _mv_lxml_...etree._ParserDictionaryContext"). No renaming
changes that: the keys are run-time values, and Cython 3.1+ compresses its strings.

The test is structural and conservative: a compiled module of a renamed copy is reported when it
imports ``PyThreadState_GetDict`` *and* the same module (same dotted name) of another version of
the same distribution in the wheelhouse imports it too. The keys themselves are not recovered from
the binaries (they are interned strings among thousands, compressed in Cython 3.1+), so what is
named is the mechanism. One side alone is not reported: numpy 1.26 keeps its error state there
(``"UFUNC_PYVALS"``) and numpy 2 does not, so they do not meet.
"""

from __future__ import annotations

from mvpy_vendor.cache import Cache, cache_key
from mvpy_vendor.native._binary import load_lief
from mvpy_vendor.wheel.layout import EXTENSION_SUFFIXES, installed_path, module_name_of
from mvpy_vendor.wheel.reader import MemberReader
from mvpy_vendor.wheel.validate import WheelInfo

from .plan import Output

__all__ = ["THREAD_DICT", "shared_state", "thread_dict_users"]

THREAD_DICT = "PyThreadState_GetDict"


def _imports(data: bytes, symbol: str) -> bool:
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


def thread_dict_users(wheel: WheelInfo, cache: Cache | None = None) -> tuple[str, ...]:
    """The compiled modules (dotted names) of ``wheel`` that import ``PyThreadState_GetDict``."""
    key = cache_key("thread-dict", wheel.sha256)
    known = cache.get_json("thread-dict", key) if cache is not None else None
    if known is not None:
        return tuple(known)
    found = []
    with MemberReader(wheel.path) as reader:
        for member in wheel.members:
            if member.endswith(EXTENSION_SUFFIXES) and _imports(reader.read(member), THREAD_DICT):
                found.append(module_name_of(installed_path(member, wheel.data_dir)))
    result = tuple(sorted(found))
    if cache is not None:
        cache.put_json("thread-dict", key, list(result))
    return result


def shared_state(outputs: tuple[Output, ...], cache: Cache | None = None) -> dict[str, dict[str, str]]:
    """For each renamed output (by key): member -> why it shares process state with another version."""
    by_dist: dict[str, list[Output]] = {}
    for out in outputs:
        by_dist.setdefault(out.source.name, []).append(out)
    found: dict[str, dict[str, str]] = {}
    for versions in by_dist.values():
        if len(versions) < 2 or not any(o.renamed for o in versions):
            continue
        users = {o.key: set(thread_dict_users(o.source, cache)) for o in versions}
        for out in versions:
            if not out.renamed or not users[out.key]:
                continue
            source = out.source
            for member in source.members:
                if not member.endswith(EXTENSION_SUFFIXES):
                    continue
                module = module_name_of(installed_path(member, source.data_dir))
                others = [o for o in versions if o.key != out.key and module in users[o.key]]
                if module not in users[out.key] or not others:
                    continue
                other = ", ".join(f"{o.source.display_name} {o.version}" for o in others)
                found.setdefault(out.key, {})[member] = (
                    f"shares process state with {other}, which renaming cannot separate: both versions' "
                    f"{module} key per-thread state by fixed names in the interpreter's thread-state dict "
                    f"(each imports {THREAD_DICT}), so each finds the other's objects there"
                )
    return found
