"""Which top-level names a wheel's own Python code imports, read from its sources.

Planning asks this only about the names that matter (those another world provides to a
consumer through one of its requirements, see :mod:`.consumers`): a file whose bytes do not
mention one of them is not parsed. An import counts wherever it is (in a function, under
``try``/``except ImportError``, under ``if TYPE_CHECKING``): the rewriter rewrites every one of
them alike. So do ``importlib.import_module("name...")`` and ``__import__("name...")`` with a
literal first argument. Relative imports name the wheel's own modules and never count. A file
that is not valid Python 3 is skipped (the build reports it where it matters).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Collection, Mapping, Sequence

from mvpy_vendor.cache import Cache, cache_key
from mvpy_vendor.wheel.reader import MemberReader
from mvpy_vendor.wheel.validate import WheelInfo

__all__ = ["find_imports", "wheel_imports"]

_CALLS = frozenset({"import_module", "__import__"})


def _top(dotted: str) -> str:
    return dotted.partition(".")[0]


def _imported(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, top-level name) of every absolute import in ``tree``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, _top(a.name)) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                found.append((node.lineno, _top(node.module)))
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            first = node.args[0]
            if called in _CALLS and isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.append((node.lineno, _top(first.value)))
    return found


def find_imports(members: Sequence[str], names: Collection[str], read: Callable[[str], bytes]) -> dict[str, str]:
    """Which of ``names`` the ``.py`` members import, each with the first place (``member:line``)."""
    if not names:
        return {}
    wanted = frozenset(names)
    words = re.compile(rb"\b(?:" + b"|".join(re.escape(n.encode()) for n in sorted(wanted)) + rb")\b")
    where: dict[str, str] = {}
    for member in sorted(members):
        if not member.endswith(".py"):
            continue
        data = read(member)
        if not words.search(data):
            continue
        try:
            tree = ast.parse(data)
        except (SyntaxError, ValueError):
            continue
        for line, name in sorted(_imported(tree)):
            if name in wanted:
                where.setdefault(name, f"{member}:{line}")
    return dict(sorted(where.items()))


def wheel_imports(wheel: WheelInfo, names: Collection[str], cache: Cache | None = None) -> Mapping[str, str]:
    """:func:`find_imports` for one input wheel, remembered by its hash and the names asked about."""
    asked = sorted(set(names))
    if not asked:
        return {}
    key = cache_key("imports", wheel.sha256, asked)
    known = cache.get_json("imports", key) if cache is not None else None
    if isinstance(known, dict):
        return {str(k): str(v) for k, v in known.items()}
    with MemberReader(wheel.path) as reader:
        found = find_imports(wheel.members, asked, reader.read)
    if cache is not None:
        cache.put_json("imports", key, found)
    return found
