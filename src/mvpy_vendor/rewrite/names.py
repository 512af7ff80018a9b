"""What a rewrite renames: top-level import names and distribution names, and the pre-filter."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence

from packaging.utils import canonicalize_name

from .tables import STRING_USE_WORDS

__all__ = ["MODULE_PATH", "NameMap", "relocated_path", "rewrite_module_reference"]


# The pre-filter's first test lower-cases a copy of the file: only for files up to this size.
_QUICK_BYTES = 1 << 20


class NameMap:
    """What to rename: top-level import names and distribution names (canonical) to new ones."""

    __slots__ = ("_needle", "_quick", "_uses", "dists", "imports", "modules", "strings")

    def __init__(
        self,
        imports: Mapping[str, str],
        dists: Mapping[str, str] | None = None,
        *,
        strings: bool = True,
        modules: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        self.imports: dict[str, str] = dict(imports)
        #: rewrite module names in strings at every use beyond the import calls (off: setting keep-strings)
        self.strings = strings
        #: renamed namespaces (``google``) -> the module paths under them (``google.api.http_pb2``;
        #: packages as ``google.api.``): a string under such a name is relocated only if it names one
        self.modules: dict[str, frozenset[str]] = {k: frozenset(v) for k, v in (modules or {}).items()}
        self.dists: dict[str, str] = {canonicalize_name(k): v for k, v in (dists or {}).items()}
        words = [re.escape(n) for n in sorted(self.imports)]
        words += ["[-_.]+".join(map(re.escape, re.split(r"[-_.]+", d))) for d in sorted(self.dists)]
        # Names start and end with word characters: \b is "not inside a longer name".
        pattern = rb"\b(?:" + "|".join(words).encode() + rb")\b" if words else rb"(?!)"
        self._needle = re.compile(pattern, re.IGNORECASE if self.dists else 0)
        # A cheaper first test: some part of some name, in the lower-cased file.
        quick = {n.lower() for n in self.imports} | {re.split(r"[-_.]+", d)[0] for d in self.dists}
        self._quick = tuple(sorted(w.encode() for w in quick))
        # The words of the uses where a value known only at run time is mapped: a file holding
        # one may need a rewrite without naming a renamed module.
        # (keep-strings maps nothing: only a file naming a renamed module can change)
        uses = sorted(STRING_USE_WORDS) if strings and self.imports else []
        self._uses = re.compile(rb"\b(?:" + "|".join(map(re.escape, uses)).encode() + rb")\b") if uses else None

    def __bool__(self) -> bool:
        return bool(self.imports or self.dists)

    def __repr__(self) -> str:
        return f"NameMap({self.imports!r}, {self.dists!r}, strings={self.strings!r}, modules={sorted(self.modules)!r})"

    def mentions(self, data: bytes) -> bool:
        """The pre-filter: could this file need a rewrite? (Never a false negative.)"""
        if self._uses is not None and self._uses.search(data) is not None:
            return True
        if len(data) <= _QUICK_BYTES:  # a large file is not copied lower-cased: the search alone decides
            lowered = data.lower()
            if not any(word in lowered for word in self._quick):
                return False
        return self._needle.search(data) is not None

    def new_module(self, dotted: str) -> str | None:
        """``foo.bar`` -> ``_mv_foo_1_0_0.bar`` if ``foo`` is renamed, else None."""
        first, sep, rest = dotted.partition(".")
        new = self.imports.get(first)
        return None if new is None else new + sep + rest


# A module path: ASCII identifiers joined by dots, or such a prefix ending in a dot ("foo.", as
# in ``name.startswith("foo.")``): what a string must be, whole, to be relocated.
MODULE_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\.?")


def relocated_path(text: str, names: NameMap) -> str | None:
    """``"foo.bar"`` -> ``"_mv_foo_1_0_0.bar"`` if the whole of ``text`` is a path under a renamed name."""
    if not MODULE_PATH.fullmatch(text):
        return None
    known = names.modules.get(text.partition(".")[0])
    if known is not None and not _names_module(text, known):
        return None
    return names.new_module(text)


def _names_module(text: str, known: frozenset[str]) -> bool:
    """Does ``text`` name, under a renamed namespace, a module, an attribute of one, or a package prefix?

    Under a namespace such as ``google`` most dotted strings are no module: protobuf's message
    and package names (``"google.protobuf.FileDescriptorProto"``, ``package="google.protobuf"``)
    are the Python package paths protoc derived them from, and must stay as they are. So a
    string is relocated if it is the namespace itself (``"google"``), a module file's path
    (``"google.api.http_pb2"``, the ``__module__`` of generated classes) or a path under one
    (``"google.protobuf.json_format.MessageToJson"``), or a package path ending in a dot
    (``"google.api."``); not a subpackage's bare path or a path under a package that no module
    file continues.
    """
    if "." not in text.rstrip("."):
        return True
    if text.endswith("."):
        return text in known
    cut = len(text)
    while cut > 0:
        prefix = text[:cut]
        if prefix + "." in known:
            return False
        if prefix in known:
            return True
        cut = text.rfind(".", 0, cut)
    return False


def rewrite_module_reference(reference: str, names: NameMap, separators: Sequence[str] = (".", ":")) -> str:
    """Rewrite an object reference like ``foo.cli:main`` (entry points, .pth paths)."""
    cut = min((i for i in (reference.find(s) for s in separators) if i >= 0), default=len(reference))
    new = names.imports.get(reference[:cut])
    return reference if new is None else new + reference[cut:]
