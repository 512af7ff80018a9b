"""The calls the rewriter acts on, and the local aliases of them: shared by the reference and the fast path."""

from __future__ import annotations

import libcst as cst
from libcst.helpers import get_full_name_for_node

from mvpy_vendor.errors import Code

__all__ = [
    "ATTRIBUTE_CALLS",
    "CODE_CALLS",
    "MODULE_ARGUMENT_CALLS",
    "MODULE_ATTRIBUTES",
    "MODULE_KEYWORD_CALLS",
    "MODULE_NAME_READS",
    "NAME_PARTS",
    "SINK_WORDS",
    "DIST_CALLS",
    "IMPORT_FUNCTIONS",
    "FORWARD_REFERENCE_CALLS",
    "MODULE_CALLS",
    "MONKEYPATCH_ATTR_CALLS",
    "MONKEYPATCH_ITEM_CALLS",
    "SYS_MODULES_METHODS",
    "Aliases",
    "diagnostic_code",
]

# Calls whose first argument (or the named keyword) is a module name.
MODULE_CALLS = {
    "__import__": ("name",),
    "builtins.__import__": ("name",),
    "importlib.__import__": ("name",),
    "importlib.import_module": ("name",),
    "importlib.util.find_spec": ("name",),
    "importlib.find_loader": ("name",),
    "pkgutil.find_loader": ("fullname",),
    "pkgutil.get_loader": ("module_or_name",),
    "pkgutil.get_data": ("package",),
    "pkgutil.resolve_name": ("name",),
    "unittest.mock.patch": ("target",),
    "unittest.mock.patch.multiple": ("target",),
    "mock.patch": ("target",),
    "mock.patch.multiple": ("target",),
    "mocker.patch": ("target",),
    "pkg_resources.declare_namespace": ("packageName",),
    **{
        f"{mod}.{fn}": ("package", "anchor")
        for mod in ("importlib.resources", "importlib_resources")
        for fn in (
            "files",
            "open_binary",
            "open_text",
            "read_binary",
            "read_text",
            "path",
            "contents",
            "is_resource",
        )
    },
    **{
        f"pkg_resources.resource_{fn}": ("package_or_requirement",)
        for fn in ("string", "stream", "filename", "exists", "listdir", "isdir")
    },
}
# Calls whose first argument is a distribution name.
DIST_CALLS = {
    **{
        f"{mod}.{fn}": ("distribution_name",)
        for mod in ("importlib.metadata", "importlib_metadata")
        for fn in ("version", "distribution", "metadata", "files", "requires")
    },
    "importlib.metadata.Distribution.from_name": ("name",),
    "importlib_metadata.Distribution.from_name": ("name",),
    "pkg_resources.get_distribution": ("dist",),
    "pkg_resources.require": ("requirements",),
}
SYS_MODULES_METHODS = {"get", "pop", "setdefault", "__contains__", "__getitem__"}
# pytest's fixture (a parameter, never imported): ``monkeypatch.setattr("foo.mod.attr", value)``
# names a module when its first argument is a string (else it is an object and an attribute name).
MONKEYPATCH_ATTR_CALLS = {"monkeypatch.setattr": ("target",), "monkeypatch.delattr": ("target",)}
# ``monkeypatch.setitem(sys.modules, "foo", module)``: the key names a module when the mapping is sys.modules.
MONKEYPATCH_ITEM_CALLS = {"monkeypatch.setitem": ("name",), "monkeypatch.delitem": ("name",)}
# Builtins whose second argument is an attribute name, never relocated as a module path.
ATTRIBUTE_CALLS = frozenset({"getattr", "setattr", "hasattr", "delattr"})
# Calls (by their last name, as written) whose string arguments are type expressions, not modules:
# ``cast("foo.T", x)``, ``TypeVar("T", bound="foo.Base")``, ``ForwardRef("foo.T")``.
FORWARD_REFERENCE_CALLS = frozenset({"cast", "TypeVar", "ForwardRef"})


# Calls, by their last name as written, that take a module name as an argument at a position or
# keyword (``super().find_class(module, name)`` in an Unpickler; entry-point group names, which a
# renamed copy's metadata relocates when they are module paths: ``entry_points(group="foo.x")``).
MODULE_ARGUMENT_CALLS = {
    "find_class": (0, ("module",)),
    "entry_points": (-1, ("group",)),
    "select": (-1, ("group",)),
    "iter_entry_points": (0, ("group",)),
    "get_entry_map": (1, ("group",)),
    "get_entry_info": (1, ("group",)),
    "load_entry_point": (1, ("group",)),
}
# Calls, by their last name as written, whose ``module`` keyword sets the ``__module__`` of what
# they make (or is a module-name pattern: ``warnings.filterwarnings(..., module="foo")``).
MODULE_KEYWORD_CALLS = frozenset(
    {
        "namedtuple",
        "Enum",
        "IntEnum",
        "Flag",
        "IntFlag",
        "StrEnum",
        "NamedTuple",
        "TypedDict",
        "filterwarnings",
        "warn_explicit",
        "make_dataclass",
    }
)
# Builtins whose first argument is code: a literal one is rewritten as code.
CODE_CALLS = frozenset({"exec", "eval", "compile"})
# Attributes (and names, in a class body or a module) whose value is a module name.
MODULE_ATTRIBUTES = frozenset({"__module__", "__package__"})
# Attributes whose value is a module name when read; ``x.__name__`` may be a class or function's.
MODULE_NAME_READS = frozenset({"__module__", "__package__", "__name__"})
# What a comparison or a ``startswith`` of a module name reads it through: ``m.split(".")[0]``.
NAME_PARTS = frozenset({"split", "rsplit", "partition", "rpartition"})
# The words (in code) that can start a use the rewriter acts on beyond the calls of the tables
# above and the names they are imported as: the fast path's candidates.
SINK_WORDS = frozenset(
    {
        "__module__",
        "__package__",
        "__name__",
        "__spec__",
        "setattr",
        "startswith",
        *MODULE_ARGUMENT_CALLS,
        *MODULE_KEYWORD_CALLS,
        *CODE_CALLS,
    }
)


# The calls whose target decides which module is imported (the rest name resources, metadata, mock targets).
_IMPORT_CALLS = frozenset(
    {
        "__import__",
        "builtins.__import__",
        "importlib.__import__",
        "importlib.import_module",
        "importlib.util.find_spec",
        "importlib.find_loader",
        "pkgutil.find_loader",
        "pkgutil.get_loader",
        "pkgutil.resolve_name",
    }
)


# The import functions: taken as a value (``import_ = __import__``), they are wrapped.
IMPORT_FUNCTIONS = frozenset({"__import__", "builtins.__import__", "importlib.__import__", "importlib.import_module"})


def diagnostic_code(what: str) -> Code:
    """The stable code of a diagnostic about the call (or ``sys.modules`` use) ``what``."""
    if what in _IMPORT_CALLS:
        return Code.DYNAMIC_IMPORT
    if "sys.modules" in what or what in MONKEYPATCH_ITEM_CALLS:
        return Code.DYNAMIC_SYS_MODULES
    return Code.DYNAMIC_REFERENCE


class Aliases(cst.CSTVisitor):
    """Flow-insensitive map of local names to the modules and objects they were imported as."""

    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            full = get_full_name_for_node(alias.name) or ""
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self.aliases[alias.asname.name.value] = full
            else:
                first = full.partition(".")[0]
                self.aliases.setdefault(first, first)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if node.relative or node.module is None or isinstance(node.names, cst.ImportStar):
            return
        module = get_full_name_for_node(node.module) or ""
        for alias in node.names:
            name = get_full_name_for_node(alias.name) or ""
            local = name
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            self.aliases[local] = f"{module}.{name}"
