"""Where the members of a wheel install, and which of them are modules, scripts or metadata."""

from __future__ import annotations

import re
from collections.abc import Collection

__all__ = [
    "EXTENSION_SUFFIXES",
    "import_name_of",
    "installed_path",
    "is_python",
    "is_script",
    "member_order",
    "module_name_of",
    "pure_source",
]

# Suffixes of compiled extension modules on any platform: ``foo.cpython-311-x86_64-linux-gnu.so``
# and ``foo.cp311-win_amd64.pyd`` both provide ``foo``.
EXTENSION_SUFFIXES = (".so", ".pyd")
# An extension module is found by its file name and initialised by ``PyInit_<name>``: any ASCII
# C-identifier tail will do, even one that is no Python identifier. mypyc's shared library of a
# compilation group is one (``30fcd23745efe32ce681__mypyc``: a hash, often starting with a digit),
# imported by name from C by every module of the group.
_EXTENSION_NAME = re.compile(r"[A-Za-z0-9_]+")


def installed_path(member: str, data_dir: str) -> str:
    """Where a member lands relative to site-packages ('' for members outside it)."""
    first, _, rest = member.partition("/")
    if first == data_dir:
        scheme, _, inner = rest.partition("/")
        return inner if scheme in ("purelib", "platlib") else ""
    if first.endswith(".dist-info"):
        return ""
    return member


def _is_module_file(basename: str) -> bool:
    return basename.endswith((".py", ".pyi", ".pyc", *EXTENSION_SUFFIXES))


def import_name_of(member: str) -> str | None:
    """The top-level import name that a member at the root of site-packages provides, if any."""
    first, _, rest = member.partition("/")
    if rest:
        return first if first.isidentifier() and _is_module_file(rest.rpartition("/")[2]) else None
    if first.endswith((".py", ".pyi")):
        stem = first.rpartition(".")[0]
        return stem if stem.isidentifier() else None
    if first.endswith(EXTENSION_SUFFIXES):
        stem = first.split(".", 1)[0]
        return stem if _EXTENSION_NAME.fullmatch(stem) else None
    return None


def module_name_of(path: str) -> str:
    """``pkg/_speedups.cpython-311-x86_64-linux-gnu.so`` -> ``pkg._speedups``; ``pkg/__init__...so`` -> ``pkg``."""
    parts = path.split("/")
    parts[-1] = parts[-1].split(".", 1)[0]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_python(member: str, dist_info: str) -> bool:
    """A Python source file (not one of the dist-info's own files)."""
    return member.endswith((".py", ".pyi")) and not member.startswith(dist_info + "/")


def is_script(member: str, data_dir: str) -> bool:
    return member.startswith(f"{data_dir}/scripts/")


def pure_source(members: Collection[str], member: str) -> str | None:
    """The ``.py`` file shipped beside a compiled module (Cython's pure-Python mode), if any."""
    stem = member.rsplit("/", 1)
    name = stem[-1].split(".", 1)[0] + ".py"
    candidate = f"{stem[0]}/{name}" if len(stem) == 2 else name
    return candidate if candidate in members else None


def member_order(name: str, dist_info: str) -> tuple[int, str]:
    """Package files first, then dist-info, RECORD last (as installers expect); the sort key."""
    return (1 if name.startswith(dist_info + "/") else 0, name)
