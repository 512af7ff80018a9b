"""Rewrite the text files of a wheel's metadata: METADATA, entry_points.txt, top_level.txt, .pth.

Each function is pure (text in, text out) and changes only what it must; every other byte,
line ending and comment stays as it was.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement

from .names import NameMap, relocated_path, rewrite_module_reference
from .source import rewrite_source

__all__ = [
    "EntryPoints",
    "rewrite_entry_points",
    "rewrite_metadata",
    "rewrite_namespace_packages",
    "rewrite_pth",
    "rewrite_top_level",
]

_SCRIPT_GROUPS = {"console_scripts", "gui_scripts"}
_OBJECT_REF = re.compile(r"([ \t]*)([^\s\[#;]+)(.*)", re.DOTALL)
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\n|\r|$)")


def _lines(text: str) -> list[str]:
    return [m for m in _LINE.findall(text) if m]


def _normalized(requirement: str) -> str:
    try:
        return str(Requirement(requirement.strip()))
    except InvalidRequirement:
        return requirement.strip()


def rewrite_metadata(text: str, new_name: str | None, requires: Mapping[str, str]) -> str:
    """Change ``Name`` (when renamed) and the ``Requires-Dist`` lines in ``requires``.

    ``requires`` is keyed by the normalized form (``str(Requirement(...))``) of each line.
    """
    out: list[str] = []
    in_headers = True
    for line in _lines(text):
        body = line.rstrip("\r\n")
        ending = line[len(body) :]
        if in_headers and not body:
            in_headers = False
        elif in_headers and ":" in body and not body[:1].isspace():
            field, _, value = body.partition(":")
            key = field.strip().lower()
            if key == "name" and new_name is not None:
                line = f"{field}: {new_name}{ending}"
            elif key == "requires-dist" and _normalized(value) in requires:
                line = f"{field}: {requires[_normalized(value)]}{ending}"
        out.append(line)
    return "".join(out)


@dataclass(frozen=True)
class EntryPoints:
    text: str
    dropped_scripts: tuple[str, ...]


def rewrite_entry_points(text: str, names: NameMap, drop_scripts: bool, *, groups: bool = False) -> EntryPoints:
    """Rewrite object references; drop console and GUI scripts when ``drop_scripts``.

    ``groups`` (a renamed copy whose strings are relocated): a group named by a module path
    under a renamed name (``[distutils.commands]``) is relocated as the copy's code that reads
    it is (``entry_points(group="distutils.commands")``), so the copy still finds its own.
    """
    out: list[str] = []
    dropped: list[str] = []
    section = ""
    for line in _lines(text):
        body = line.strip()
        if body.startswith("[") and body.endswith("]"):
            section = body[1:-1].strip()
            if drop_scripts and section in _SCRIPT_GROUPS:
                continue
            relocated = relocated_path(section, names) if groups and names.strings else None
            out.append(line if relocated is None else line.replace(section, relocated, 1))
            continue
        if drop_scripts and section in _SCRIPT_GROUPS:
            if body and not body.startswith(("#", ";")):
                dropped.append(f"{section}: {body.partition('=')[0].strip()}")
            continue
        if "=" in body and not body.startswith(("#", ";")):
            key, _, value = line.partition("=")
            ref = _OBJECT_REF.match(value)
            if ref is not None:
                line = f"{key}={ref[1]}{rewrite_module_reference(ref[2], names)}{ref[3]}"
        out.append(line)
    return EntryPoints("".join(out), tuple(dropped))


def rewrite_top_level(text: str, names: NameMap) -> str:
    return "".join(
        rewrite_module_reference(line.rstrip("\r\n"), names, ()) + line[len(line.rstrip("\r\n")) :]
        for line in _lines(text)
    )


def rewrite_namespace_packages(text: str, names: NameMap) -> str:
    """``namespace_packages.txt``: dotted package names (``google``, ``google.logging``), one a line."""
    return "".join(
        rewrite_module_reference(line.rstrip("\r\n"), names, (".",)) + line[len(line.rstrip("\r\n")) :]
        for line in _lines(text)
    )


# A plain string literal in a .pth line (they hold no escapes that matter here).
_PTH_STRING = re.compile(rb"(?P<q>['\"])(?P<text>[A-Za-z_][A-Za-z0-9_.]*)(?P=q)")


def _relocate_pth_strings(line: bytes, names: NameMap) -> bytes:
    """Every string literal of a .pth ``import`` line that is a renamed module path, relocated."""

    def moved(match: re.Match[bytes]) -> bytes:
        new = relocated_path(match["text"].decode("ascii"), names)
        return match[0] if new is None else match["q"] + new.encode("ascii") + match["q"]

    return _PTH_STRING.sub(moved, line)


def rewrite_pth(data: bytes, names: NameMap) -> bytes:
    """``import`` lines are Python and rewritten as such; other lines are paths from site-packages.

    Every string of an ``import`` line that names a renamed module is relocated, for its value
    (the one place mvpy-vendor does so: a .pth line is the start-up code of the copy's own
    files, never data), whatever the ``keep-strings`` setting says, and a namespace's
    subpackage too (``'google.logging'``):
    setuptools' ``-nspkg.pth`` lines name their namespace in ``os.path.join(sitedir,
    *('google',))`` and ``find_spec('google', ...)`` as well as in ``sys.modules``, and all of
    them must move together.
    """
    if not names.strings or names.modules:
        names = NameMap(names.imports, names.dists)
    out: list[bytes] = []
    for line in re.findall(rb"[^\r\n]*(?:\r\n|\n|\r|$)", data):
        if not line:
            continue
        if line.startswith((b"import ", b"import\t")):
            new = _relocate_pth_strings(rewrite_source(line, names).data, names)
            if not new.startswith(b"import"):
                # site.py runs a .pth line only if it starts with "import"; ``import foo.bar``
                # may have become ``foo = __import__(...)``.
                new = b"import sys; " + new
            out.append(new)
        elif line.strip() and not line.startswith(b"#"):
            body = line.rstrip(b"\r\n")
            text = body.decode("utf-8", errors="surrogateescape")
            moved = rewrite_module_reference(text, names, ("/", "\\"))
            out.append(moved.encode("utf-8", errors="surrogateescape") + line[len(body) :])
        else:
            out.append(line)
    return b"".join(out)
