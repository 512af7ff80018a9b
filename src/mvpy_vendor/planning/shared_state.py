"""Shared process state that renaming cannot separate: keys two versions of one library keep in
the interpreter's thread-state dict.

``PyThreadState_GetDict()`` returns one dict per thread, shared by every extension module in the
process. lxml's ``etree`` keeps its per-thread parser context there under ``"_ParserDictionaryContext"``;
a renamed copy of lxml keeps that key, so two lxml versions in one process find each other's
objects ("Cannot convert lxml.etree._ParserDictionaryContext to
_mv_lxml_...etree._ParserDictionaryContext"). Other modules use the dict without meeting: scipy's
``_superlu`` stores under ``"scipy.sparse.linalg._dsolve._superlu.__global_object"``, a module
path the patcher renames, so the renamed copy's key is its own; f2py links a helper that uses the
dict into every module and calls it only where the compiler has no thread-local storage.

So the keys decide. They are read from each compiled module's code
(:mod:`mvpy_vendor.native.registry`), and those of a module the patcher will rename are taken
as they will be after patching (a key that is a patched module-path string gets the new name).
A compiled module of a renamed copy is reported when, after patching, it keeps a key that a
module of another version of the same distribution keeps too, or when the keys of either side
cannot be read while both use the dict (then they may meet, and the reason is said). A module
whose only uses of the dict are in functions nothing calls does not use it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from mvpy_vendor.cache import Cache, cache_key
from mvpy_vendor.native import file_names, inspect_native
from mvpy_vendor.native._binary import renamed_text
from mvpy_vendor.native.registry import THREAD_DICT, RegistryUse, imports_symbol, read_keys
from mvpy_vendor.wheel.layout import EXTENSION_SUFFIXES, installed_path, module_name_of
from mvpy_vendor.wheel.reader import MemberReader
from mvpy_vendor.wheel.validate import WheelInfo

from .plan import Output

__all__ = ["THREAD_DICT", "registry_uses", "shared_state", "thread_dict_users"]

# Bumped when what the analysis finds changes, so that cached findings are made again.
_ANALYSIS = 1
_DICT = "the interpreter's thread-state dict"
_SHOWN = 3  # keys named in one message, at most


def thread_dict_users(wheel: WheelInfo, cache: Cache | None = None) -> tuple[str, ...]:
    """The compiled modules (members) of ``wheel`` that import ``PyThreadState_GetDict``: a cheap
    look at the imports, before the code is read."""
    key = cache_key("thread-dict", _ANALYSIS, wheel.sha256)
    known = cache.get_json("thread-dict", key) if cache is not None else None
    if isinstance(known, list) and all(isinstance(m, str) for m in known):
        return tuple(known)
    found = []
    with MemberReader(wheel.path) as reader:
        for member in wheel.members:
            if member.endswith(EXTENSION_SUFFIXES) and imports_symbol(reader.read(member), THREAD_DICT):
                found.append(member)
    result = tuple(sorted(found))
    if cache is not None:
        cache.put_json("thread-dict", key, list(result))
    return result


def registry_uses(wheel: WheelInfo, cache: Cache | None = None) -> dict[str, RegistryUse]:
    """Member -> what it does with the thread-state dict, for every compiled module of ``wheel``
    that imports ``PyThreadState_GetDict`` (its code read: seconds for a large module, cached)."""
    key = cache_key("thread-dict-keys", _ANALYSIS, wheel.sha256)
    known = cache.get_json("thread-dict-keys", key) if cache is not None else None
    if isinstance(known, dict):
        with contextlib.suppress(KeyError, TypeError, ValueError, AttributeError):
            return {member: RegistryUse.from_json(use) for member, use in known.items()}
    found: dict[str, RegistryUse] = {}
    with MemberReader(wheel.path) as reader:
        for member in thread_dict_users(wheel, cache):
            found[member] = read_keys(reader.read(member))
    if cache is not None:
        cache.put_json("thread-dict-keys", key, {m: u.to_json() for m, u in sorted(found.items())})
    return found


@dataclass(frozen=True)
class _Side:
    """One compiled module of one version that uses the dict: its keys after patching, or why
    they are not known."""

    out: Output
    member: str
    keys: frozenset[str]
    unread: tuple[str, ...]

    @property
    def module(self) -> str:
        return module_name_of(installed_path(self.member, self.out.source.data_dir))

    @property
    def who(self) -> str:
        return f"{self.out.source.display_name} {self.out.version}'s {self.module}"


def _patched(out: Output, member: str, use: RegistryUse) -> frozenset[str]:
    """The keys of ``member`` as the build will ship them: a key the patcher renames (a module
    path under a renamed name, found and patchable in the module) gets its new name."""
    names = dict(out.import_map)
    candidates = {k.text for k in use.keys if k.text.partition(".")[0] in names}
    if not candidates:
        return frozenset(k.text for k in use.keys)
    with MemberReader(out.source.path) as reader:
        data = reader.read(member)
    module = inspect_native(data, member, names, file_names(out.source.members))
    patched = {o.text for o in module.occurrences if o.patchable and o.text in candidates}
    return frozenset(renamed_text(k.text, names) if k.text in patched else k.text for k in use.keys)


def _sides(out: Output, cache: Cache | None) -> list[_Side]:
    return [
        _Side(out, member, _patched(out, member, use), use.unread)
        for member, use in sorted(registry_uses(out.source, cache).items())
        if use.calls
    ]


def _quoted(keys: frozenset[str]) -> str:
    shown = sorted(keys)[:_SHOWN]
    more = len(keys) - len(shown)
    return ", ".join(repr(k) for k in shown) + (f" and {more} more" if more else "")


def _conflict(mine: _Side, theirs: list[_Side]) -> str | None:
    """Why ``mine`` may meet one of ``theirs`` in the dict, or None."""
    for other in theirs:
        shared = mine.keys & other.keys
        if shared:
            plural = "s" if len(shared) > 1 else ""
            return (
                f"shares process state with {other.out.source.display_name} {other.out.version}, which renaming "
                f"cannot separate: its {mine.module} keeps objects in {_DICT} under the key{plural} {_quoted(shared)}, "
                f"as {other.who} does (renaming does not change {'them' if plural else 'it'}), so each finds the "
                "other's objects there"
            )
    if not theirs:
        return None
    if mine.unread:
        first = theirs[0]
        return (
            f"may share process state with {first.out.source.display_name} {first.out.version}: its {mine.module} "
            f"uses {_DICT} ({THREAD_DICT}) and its keys cannot be read from the code ({mine.unread[0]}), "
            f"and {first.who} uses that dict too, so they may meet under one key"
        )
    unread = next((o for o in theirs if o.unread), None)
    if unread is None:
        return None
    return (
        f"may share process state with {unread.out.source.display_name} {unread.out.version}: its {mine.module} "
        f"keeps {_quoted(mine.keys)} in {_DICT}, and the keys {unread.who} keeps there cannot be read from "
        f"the code ({unread.unread[0]}), so they may meet under one key"
    )


def shared_state(outputs: tuple[Output, ...], cache: Cache | None = None) -> dict[str, dict[str, str]]:
    """For each renamed output (by key): member -> why it shares process state with another version."""
    by_dist: dict[str, list[Output]] = {}
    for out in outputs:
        by_dist.setdefault(out.source.name, []).append(out)
    found: dict[str, dict[str, str]] = {}
    for versions in by_dist.values():
        users = {o.key: thread_dict_users(o.source, cache) for o in versions}
        if sum(1 for o in versions if users[o.key]) < 2 or not any(o.renamed and users[o.key] for o in versions):
            continue  # at most one version uses the dict: nothing to meet there
        sides = {o.key: _sides(o, cache) for o in versions}
        for out in versions:
            if not out.renamed:
                continue
            theirs = [s for o in versions if o.key != out.key for s in sides[o.key]]
            for mine in sides[out.key]:
                why = _conflict(mine, theirs)
                if why is not None:
                    found.setdefault(out.key, {})[mine.member] = why
    return found
