"""Compare what a patched compiled module exposes with what its original exposes, and judge it.

Both sides are described by the same probe (:mod:`._shape_probe`) in the original's names: the
module's attributes (kind, and the value of a plain scalar), every type reachable from it
(``__basicsize__``, ``__itemsize__``, ``__flags__``, ``__weakrefoffset__``, ``__dictoffset__``,
``__mro__`` names, metaclass, and the kind of every ``__dict__`` entry: methods, members,
getsets) and the warnings its import raised. Anything that differs is a :class:`Difference`;
the original is the oracle. Pure: no I/O.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Attempt", "Difference", "ModuleComparison", "Verdict", "compare_shapes", "judge"]

Shape = Mapping[str, Any]

_LISTED = 6  # names listed in one line before "and N more"
_TYPE_FIELDS = ("__basicsize__", "__itemsize__", "__weakrefoffset__", "__dictoffset__")


@dataclass(frozen=True)
class Difference:
    """One field of one module or type that differs from the original."""

    subject: str  # "type numpy.character", "module numpy.core._multiarray_umath"
    field: str  # "__basicsize__", "attribute", "__dict__ entry", "import"
    text: str  # "__basicsize__ is 27 in the renamed copy, 16 in the original"

    def __str__(self) -> str:
        return f"{self.subject}: {self.text}"


@dataclass(frozen=True)
class Attempt:
    """One side's import of one module: the probe's shape, or why it failed."""

    ok: bool
    shape: Shape | None = None
    error: str = ""


class Verdict(str, enum.Enum):
    SAME = "same"
    #: the renamed copy differs, or does not import where the original does: a build error
    DIFFERS = "differs"
    #: the original does not import here: not compared, and why (a warning)
    NOT_COMPARED = "not compared"
    #: not attempted, and why: built for another platform, or its patch already failed
    SKIPPED = "skipped"


@dataclass(frozen=True)
class ModuleComparison:
    """The differential check of one patched module: what was compared, and what was found."""

    member: str  # the original's member
    module: str  # the original's module name
    verdict: Verdict
    #: "with its package" or "alone" (its package's __init__ does not import here)
    how: str = ""
    #: why it was imported alone, or why it was not compared
    reason: str = ""
    types: int = 0
    attributes: int = 0
    type_members: int = 0
    #: some containers were too large to follow to the end (on either side)
    partial: bool = False
    differences: tuple[str, ...] = field(default=())
    #: the setting that made it "not compared" rather than "differs" (``keep-strings``)
    setting: str = ""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"member": self.member, "module": self.module, "verdict": self.verdict.value}
        if self.how:
            data["imported"] = self.how
        if self.reason:
            data["reason"] = self.reason
        if self.verdict in (Verdict.SAME, Verdict.DIFFERS):
            data.update(types=self.types, attributes=self.attributes, type_members=self.type_members)
        if self.partial:
            data["partial"] = True
        if self.differences:
            data["differences"] = list(self.differences)
        if self.setting:
            data["setting"] = self.setting
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModuleComparison:
        return cls(
            str(data["member"]),
            str(data["module"]),
            Verdict(data["verdict"]),
            str(data.get("imported", "")),
            str(data.get("reason", "")),
            int(data.get("types", 0)),
            int(data.get("attributes", 0)),
            int(data.get("type_members", 0)),
            bool(data.get("partial", False)),
            tuple(str(d) for d in data.get("differences", ())),
            str(data.get("setting", "")),
        )


def _listed(names: Sequence[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:_LISTED])
    return shown + (f" and {len(names) - _LISTED} more" if len(names) > _LISTED else "")


def _was(patched: object, original: object) -> str:
    return f"is {patched} in the renamed copy, {original} in the original"


def _compare_names(
    subject: str, what: str, original: Mapping[str, Any], patched: Mapping[str, Any], nested: bool
) -> list[Difference]:
    """Entries missing, added, or different (each part of an entry, when ``nested``)."""
    found = []
    missing = sorted(set(original) - set(patched))
    added = sorted(set(patched) - set(original))
    if missing:
        found.append(Difference(subject, what, f"lacks {what} {_listed(missing)}, which the original has"))
    if added:
        found.append(Difference(subject, what, f"has {what} {_listed(added)}, which the original does not"))
    for name in sorted(set(original) & set(patched)):
        before, after = original[name], patched[name]
        if not nested:
            if before != after:
                found.append(Difference(subject, what, f"{what} {name!r} " + _was(after, before)))
            continue
        for part in sorted(set(before) | set(after)):
            if before.get(part) != after.get(part):
                text = f"{what} {name!r}: {part} " + _was(after.get(part), before.get(part))
                found.append(Difference(subject, what, text))
    return found


def _compare_type(name: str, before: Shape, after: Shape) -> list[Difference]:
    subject = f"type {name}"
    found = [
        Difference(subject, f, f"{f} " + _was(after.get(f), before.get(f)))
        for f in _TYPE_FIELDS
        if before.get(f) != after.get(f)
    ]
    if before.get("__flags__") != after.get("__flags__"):
        old, new = int(before.get("__flags__", 0)), int(after.get("__flags__", 0))
        text = "__flags__ " + _was(hex(new), hex(old)) + f" (bits {old ^ new:#x} differ)"
        found.append(Difference(subject, "__flags__", text))
    if before.get("__mro__") != after.get("__mro__"):
        old_mro, new_mro = ", ".join(before.get("__mro__", ())), ", ".join(after.get("__mro__", ()))
        found.append(Difference(subject, "__mro__", "__mro__ " + _was(f"({new_mro})", f"({old_mro})")))
    if before.get("metaclass") != after.get("metaclass"):
        text = "metaclass " + _was(after.get("metaclass"), before.get("metaclass"))
        found.append(Difference(subject, "metaclass", text))
    found += _compare_names(subject, "__dict__ entry", before.get("__dict__", {}), after.get("__dict__", {}), False)
    return found


def _canonical(described: Shape) -> str:
    return json.dumps(described, sort_keys=True)


def _types(shape: Shape) -> dict[str, list[Shape]]:
    by_name: dict[str, list[Shape]] = {}
    for name, described in shape.get("types", ()):
        by_name.setdefault(str(name), []).append(described)
    return by_name


def compare_shapes(module: str, original: Shape, patched: Shape) -> tuple[list[Difference], ModuleComparison]:
    """Every difference between the two shapes of ``module`` (the renamed copy's already in the
    original's names), and the counts of what was compared."""
    subject = f"module {module}"
    found = _compare_names(subject, "attribute", original.get("attributes", {}), patched.get("attributes", {}), True)
    partial = not original.get("complete", True) or not patched.get("complete", True)
    before, after = _types(original), _types(patched)
    members = 0
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name, []), after.get(name, [])
        if not old or not new:
            if not partial:  # a walk cut short may not have reached it
                where = "the original only" if old else "the renamed copy only"
                found.append(Difference(f"type {name}", "reachable", f"reachable from {where}"))
            continue
        members += sum(len(t.get("__dict__", {})) for t in old)
        if len(old) == 1 and len(new) == 1:
            found += _compare_type(name, old[0], new[0])
        elif sorted(map(_canonical, old)) != sorted(map(_canonical, new)):
            text = f"the {len(new)} types of this name differ from the original's {len(old)}"
            found.append(Difference(f"type {name}", "shapes", text))
    for text in sorted(set(patched.get("warnings", ())) - set(original.get("warnings", ()))):
        found.append(Difference(subject, "import", f"importing it warns {text!r}, the original does not"))
    for text in sorted(set(original.get("warnings", ())) - set(patched.get("warnings", ()))):
        found.append(Difference(subject, "import", f"importing it does not warn {text!r}, the original does"))
    counts = ModuleComparison(
        "",
        module,
        Verdict.DIFFERS if found else Verdict.SAME,
        types=sum(len(v) for k, v in before.items() if k in after),
        attributes=len(original.get("attributes", {})),
        type_members=members,
        partial=partial,
    )
    return found, counts


def judge(
    member: str,
    module: str,
    original: Mapping[str, Attempt],
    patched: Mapping[str, Attempt],
    kept_strings: bool = False,
) -> ModuleComparison:
    """The verdict on one module from each side's attempts (``import``: with its package;
    ``alone``: from its file, after the import failed).

    The renamed copy must import wherever the original does, in the same way; a module whose
    original does not import here at all is not compared, and says why. ``kept_strings``: its
    wheel's strings keep naming the original's modules (setting ``keep-strings``), which its
    path does not hold: a copy that does not import is then not compared, rather than wrong.
    """
    imported = original.get("import")
    if imported is not None and imported.ok:
        how, reason = "with its package", ""
        mode = "import"
    else:
        alone = original.get("alone")
        why = imported.error if imported is not None else "not attempted"
        if alone is None or not alone.ok:
            reason = f"the original does not import here ({why})"
            if alone is not None and alone.error:
                reason += f", nor alone from its file ({alone.error})"
            return ModuleComparison(member, module, Verdict.NOT_COMPARED, reason=reason)
        how, reason = "alone", f"its package does not import here ({why})"
        mode = "alone"
    before, after = original[mode], patched.get(mode)
    assert before.shape is not None
    if after is None or not after.ok or after.shape is None:
        error = after.error if after is not None else "not attempted"
        verb = "import" if mode == "import" else "load alone"
        if kept_strings:
            why = (
                f"the renamed copy does not {verb} ({error}); its strings keep naming the original's "
                "modules, which only the original's distribution provides"
            )
            return ModuleComparison(member, module, Verdict.NOT_COMPARED, reason=why, setting="keep-strings")
        difference = f"module {module}: does not {verb} where the original does: {error}"
        return ModuleComparison(member, module, Verdict.DIFFERS, how, reason, differences=(difference,))
    found, counts = compare_shapes(module, before.shape, after.shape)
    return ModuleComparison(
        member,
        module,
        counts.verdict,
        how,
        reason,
        counts.types,
        counts.attributes,
        counts.type_members,
        counts.partial,
        tuple(str(d) for d in found),
    )
