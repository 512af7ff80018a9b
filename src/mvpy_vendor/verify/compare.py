"""What each finding would be in the original world, and what the original must show to share it.

A renamed copy must behave as its original does, but for its module names. So every finding of
verify (a failed or crashing import, a module registered or named under another name, a file of
another distribution, a class that crashes when made or does not pickle by name) is a
:class:`Suspect`: fatal, unless the original wheels of its world, probed the same way, show the
same thing once renamed. Pure: the probing is :mod:`.judge`'s.

The comparison maps the original's names forward (plain -> renamed), never back: a renamed copy
of ``foo`` that registers ``sys.modules['foo.hijack']`` maps back to ``foo.hijack``, which the
original registers too, but the original's ``foo.hijack``, renamed, is ``_mv_foo_1_0_0.hijack``.
A plain name that the world maps elsewhere is therefore never what the original shows, and such
a finding is fatal without asking the original (an unrenamed name pulled in, a ``__module__``
claiming the plain name, a module registered under the plain name): :meth:`Names.original` is None.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mvpy_vendor.report import ReportOutput

from .findings import CRASHED, FAILED, LEAK, PROVENANCE, PULLS, SAME, Finding, error_cause

__all__ = ["Names", "Question", "Suspect", "answer_note", "is_same", "same_finding"]

# What an original world's probe answers (``outcome``), besides how a process ended
IMPORTS, FAILS, MISSING = "imports", "fails", "missing"
MADE, PICKLING_FAILS = "ok", "pickling fails"
PRESENT, ABSENT = "present", "absent"


@dataclass(frozen=True)
class Names:
    """One world's renaming of top-level names (plain -> renamed, only those that change)."""

    forward: Mapping[str, str]

    @functools.cached_property
    def back(self) -> dict[str, str]:
        return {new: old for old, new in self.forward.items()}

    @classmethod
    def of_output(cls, output: ReportOutput) -> Names:
        """The renaming ``output``'s code sees: its own import map. Not its world's: a consumer
        may be given another world's copy of a name it imports without declaring it (s3fs's
        ``botocore``, placed), which the world's own members keep plain."""
        return cls({old: new for old, new in output.import_map.items() if old != new})

    def renamed(self, name: str) -> str:
        """``name`` (a dotted module name) as the renamed world names it."""
        top, dot, rest = name.partition(".")
        return self.forward.get(top, top) + dot + rest

    def original(self, name: str) -> str | None:
        """The name that the original shows as ``name`` once renamed; None if no name does."""
        top, dot, rest = name.partition(".")
        plain = self.back.get(top, top) + dot + rest
        return plain if self.renamed(plain) == name else None

    def renamed_file(self, rel: str) -> str:
        """A site-relative path (``foo/x.py``, ``foo.cpython-311-x86_64-linux-gnu.so``) as renamed."""
        first, sep, rest = rel.partition("/")
        stem, dot, suffix = first.partition(".")
        return self.forward.get(stem, stem) + dot + suffix + sep + rest

    def original_file(self, rel: str) -> str | None:
        """The site-relative path that the original shows as ``rel`` once renamed; None if none does."""
        first, sep, rest = rel.partition("/")
        stem, dot, suffix = first.partition(".")
        plain = self.back.get(stem, stem) + dot + suffix + sep + rest
        return plain if self.renamed_file(plain) == rel else None


@dataclass(frozen=True)
class Question:
    """What is asked of a world's original wheels, in the original's names: how importing module
    ``name`` ends ("import"), what making class ``name`` (module.Class) with no arguments and
    pickling it does ("construct"), or what ``sys.modules[name]`` is once module ``via`` is
    imported ("entry")."""

    kind: str
    name: str
    via: str = ""

    @property
    def item(self) -> tuple[str, str, str]:
        """What a verdict is kept under (with the world's original wheels)."""
        return (self.kind, self.name, self.via)


@dataclass(frozen=True)
class Suspect:
    """A finding, fatal unless the answer to ``question`` holds everything in ``expect``.

    ``question`` None: nothing the original can show is the same (or there is no world to ask).
    """

    finding: Finding
    output: ReportOutput | None
    question: Question | None = None
    expect: tuple[tuple[str, str], ...] = ()

    @property
    def world(self) -> int | None:
        return self.output.origin if self.output is not None else None


def is_same(s: Suspect, answer: Mapping[str, Any]) -> bool:
    """Whether the original's ``answer`` shows what ``s`` found, the same way."""
    return s.question is not None and all(answer.get(k) == v for k, v in s.expect)


def same_finding(s: Suspect) -> Finding:
    """``s``, reported as shown the same way by the original: not fatal."""
    f = s.finding
    return Finding(SAME, f.distribution, f.module, f.detail, fatal=False, cause=f.cause)


def answer_note(s: Suspect, answer: Mapping[str, Any]) -> str:
    """What the original did instead, to follow a fatal finding's detail: `` (the original: ...)``."""
    outcome = str(answer.get("outcome"))
    kind = s.question.kind if s.question is not None else ""
    said = {
        ("import", IMPORTS): "imports it",
        ("import", FAILS): f"fails too, {answer.get('error')}",
        ("import", MISSING): "has no such module",
        ("construct", MADE): "makes it with no crash and pickles it",
        ("construct", PICKLING_FAILS): f"pickling fails ({answer.get('error')})",
        ("construct", MISSING): "has no such class",
        ("entry", ABSENT): "has no such sys.modules entry",
        ("entry", PRESENT): f"__name__ {answer.get('name')!r}, from {answer.get('file')}",
    }.get((kind, outcome), outcome)  # else how its process ended: a signal, an exit, a hang
    return f" (the original: {said})"


# ---- suspects, one per thing the probes found ------------------------------------------------


def crashed(output: ReportOutput | None, names: Names, module: str, how: str) -> Suspect:
    """Importing ``module`` ended the probe (``how``): the same if the original's import ends so."""
    dist = output.distribution if output is not None else "?"
    finding = Finding(CRASHED, dist, module, how, cause=how)
    original = names.original(module)
    if output is None or original is None:
        return Suspect(finding, output)
    return Suspect(finding, output, Question("import", original), (("outcome", how),))


def failed(output: ReportOutput | None, names: Names, module: str, error: str) -> Suspect:
    """``module`` fails to import: the same if the original has it and it fails there too."""
    dist = output.distribution if output is not None else "?"
    finding = Finding(FAILED, dist, module, error, cause=error_cause(module, error))
    original = names.original(module)
    if output is None or original is None:
        return Suspect(finding, output)
    return Suspect(finding, output, Question("import", original), (("outcome", FAILS),))


def leaked(output: ReportOutput, names: Names, leak: Mapping[str, Any]) -> Suspect:
    """A module of a renamed copy under a ``sys.modules`` key or ``__name__`` outside it: the same
    if the original's module (by its file) is under that key and name, both renamed."""
    key, name, rel = str(leak["key"]), str(leak.get("name", "?")), str(leak.get("file", ""))
    plain = key if key.partition(".")[0] != leak["owner"] else name
    cause = f"renamed module {'registered' if plain == key else 'named'} under {plain.partition('.')[0]!r}"
    finding = Finding(LEAK, output.distribution, key, str(leak["what"]), cause=cause)
    o_key, o_name, o_file = names.original(key), names.original(name), names.original_file(rel)
    via = names.original(str(leak.get("via", "")))
    if o_key is None or o_name is None or o_file is None or not via:
        return Suspect(finding, output)
    expect = (("outcome", PRESENT), ("name", o_name), ("file", o_file))
    return Suspect(finding, output, Question("entry", o_key, via), expect)


def claimed(output: ReportOutput, item: Mapping[str, Any]) -> Suspect:
    """A public class or function of a renamed module whose ``__module__`` is the plain name: the
    original's ``__module__``, renamed, is never a plain name its world maps (see the module's
    docstring), so it is fatal as found."""
    what = str(item["what"])
    return Suspect(Finding(LEAK, output.distribution, str(item["key"]), what, cause=what), output)


def made(output: ReportOutput, names: Names, item: Mapping[str, Any]) -> Suspect:
    """A class of a renamed compiled module whose making crashed (``construct``) or whose instance
    does not pickle by name (``pickling``): the same if the original's class does so too."""
    key = str(item["key"])
    original = names.original(key)
    if item["kind"] == "pickling":
        finding = Finding(LEAK, output.distribution, key, str(item["what"]), cause="pickling fails")
        expect = (("outcome", PICKLING_FAILS),)
    else:
        how = str(item["how"])
        finding = Finding(CRASHED, output.distribution, key, str(item["what"]), cause=f"made with no arguments: {how}")
        expect = (("outcome", how),)
    if original is None:
        return Suspect(finding, output)
    return Suspect(finding, output, Question("construct", original), expect)


def misplaced(output: ReportOutput | None, names: Names, item: Mapping[str, Any]) -> Suspect:
    """A module loaded from a file of a distribution that does not provide its name: the same if
    the original's module is loaded from that file, renamed."""
    key = str(item["key"])
    dist = output.distribution if output is not None else "?"
    detail = f"loaded from {item['file']}, which belongs to {item['owner']}"
    finding = Finding(PROVENANCE, dist, key, detail, cause=f"files of {item['owner']}")
    o_key, o_file = names.original(key), names.original_file(str(item.get("rel", "")))
    if output is None or o_key is None or o_file is None:
        return Suspect(finding, output)
    return Suspect(finding, output, Question("entry", o_key, o_key), (("outcome", PRESENT), ("file", o_file)))


def pulled(output: ReportOutput, key: str) -> Suspect:
    """Importing ``output`` alone loaded ``key``, a plain name its world maps elsewhere: never what
    the original shows once renamed (see the module's docstring), so fatal as found."""
    top = key.partition(".")[0]
    detail = f"importing {output.distribution} loaded {key}"
    return Suspect(Finding(PULLS, output.distribution, key, detail, cause=f"{top} pulled in"), output)
