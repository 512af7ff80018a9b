"""What renaming a wheel would mean for its compiled modules (the ``inspect`` command's engine)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mvpy_vendor.naming import renamed_import_name
from mvpy_vendor.wheel.layout import EXTENSION_SUFFIXES, pure_source
from mvpy_vendor.wheel.reader import MemberReader
from mvpy_vendor.wheel.validate import read_wheels

from . import file_names, inspect_native
from .model import NativeModule
from .registry import THREAD_DICT, RegistryUse, imports_symbol, read_keys

__all__ = ["Verdict", "inspect_wheel", "thread_state", "verdicts"]


@dataclass(frozen=True)
class Verdict:
    """What a build with the default policy (``patch``) does with one compiled module when the wheel is renamed."""

    member: str
    #: "copied", "patchable", "source fallback" (its .py, or the fallback of every import of it) or "refused"
    verdict: str
    why: str


def inspect_wheel(path: Path) -> list[NativeModule]:
    """Inspect every compiled module of a (validated) wheel for the names renaming it would change."""
    (wheel,) = read_wheels([path])
    names = {n: renamed_import_name(n, wheel.version) for n in wheel.import_names}
    with MemberReader(path) as reader:
        return [
            inspect_native(reader.read(member), member, names, file_names(wheel.members))
            for member in wheel.members
            if member.endswith(EXTENSION_SUFFIXES)
        ]


def verdicts(path: Path, modules: Sequence[NativeModule]) -> list[Verdict]:
    """The fate of each module in ``modules`` (from :func:`inspect_wheel`), by the build's own rules."""
    from mvpy_vendor.planning.accelerators import Accelerators

    (wheel,) = read_wheels([path])
    found = []
    with MemberReader(path) as reader:
        optional = Accelerators(wheel.members, wheel.dist_info, wheel.data_dir, reader.read)
        for m in modules:
            if not m.occurrences and not m.init_symbols:
                found.append(Verdict(m.member, "copied", "no PyInit_ and no renamed name: copied as it is"))
                continue
            if m.patchable:
                count = sum(1 for o in m.occurrences if o.patchable)
                found.append(Verdict(m.member, "patchable", f"{count} names repointed, PyInit_ renamed"))
                continue
            pure = pure_source(wheel.members, m.member)
            if pure:
                found.append(Verdict(m.member, "source fallback", f"{pure} is used instead (slower)"))
                continue
            check = optional.check(m.member)
            if check.optional:
                found.append(Verdict(m.member, "source fallback", check.reason))
                continue
            reasons = list(m.problems) + [o.why_not for o in m.occurrences if o.blocks]
            found.append(
                Verdict(m.member, "refused", "; ".join(reasons) + f"; not an optional accelerator ({check.why_not})")
            )
    return found


def thread_state(path: Path) -> dict[str, RegistryUse]:
    """Member -> the thread-state dict keys it keeps, for every compiled module of the wheel that
    imports ``PyThreadState_GetDict`` (what decides whether two versions share process state)."""
    (wheel,) = read_wheels([path])
    found = {}
    with MemberReader(path) as reader:
        for member in wheel.members:
            if member.endswith(EXTENSION_SUFFIXES):
                data = reader.read(member)
                if imports_symbol(data, THREAD_DICT):
                    found[member] = read_keys(data)
    return found
