"""The uses of module names the rewriter acts on, as data: shared by the reference, the fast path and the pre-filter."""

from __future__ import annotations

from mvpy_vendor.errors import Code

__all__ = [
    "ATTRIBUTE_CALLS",
    "CODE_CALLS",
    "MODULE_ARGUMENT_CALLS",
    "MODULE_ATTRIBUTES",
    "MODULE_KEYWORD_CALLS",
    "MODULE_NAME_READS",
    "NAME_PARTS",
    "UNSURE_NAME_READS",
    "SINK_WORDS",
    "STRING_USE_WORDS",
    "DIST_CALLS",
    "IMPORT_FUNCTIONS",
    "FORWARD_REFERENCE_CALLS",
    "MODULE_CALLS",
    "MONKEYPATCH_ATTR_CALLS",
    "MONKEYPATCH_ITEM_CALLS",
    "SYS_MODULES_METHODS",
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
    # numpy's add_newdoc(place, obj, doc) imports ``place`` to document ``obj`` there; other
    # libraries document their compiled types with it (scipy 1.11: ``add_newdoc('scipy.odr',
    # 'odr', ...)``). numpy maps the value where it imports it, but only with the names of its
    # own world, which do not hold the caller's: the caller's literal is its own module's name.
    **{
        f"{mod}.add_newdoc": ("place",)
        for mod in ("numpy", "numpy.lib", "numpy.core.function_base", "numpy._core.function_base")
    },
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
    # A logger's name is a module path: the copy's ``getLogger("foo")`` stays the parent of its
    # ``getLogger(__name__)`` loggers, and never reaches the other version's.
    "getLogger": (0, ("name",)),
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
# Attributes whose value is a module name when read; ``x.__name__`` may be a class or function's,
# and ``ep.group`` is an entry point's group (a renamed copy's metadata relocates a group named by
# a module path, so the code that reads it compares with the relocated name): only literals there.
MODULE_NAME_READS = frozenset({"__module__", "__package__", "__name__", "group"})
UNSURE_NAME_READS = frozenset({"__name__", "group"})
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
        "group",
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


# The calls of the tables above start with these names (or with a name an import binds to one,
# in an import that spells it out); ``sys.modules`` always has ``modules`` in it.
_TABLE_ROOTS = frozenset(
    name.partition(".")[0] for name in (*MODULE_CALLS, *DIST_CALLS, *MONKEYPATCH_ATTR_CALLS, *MONKEYPATCH_ITEM_CALLS)
)
#: The words a file must hold for the rewriter to act on it without naming a renamed module: the
#: uses where a value known only at run time is mapped. Not ``__name__``, ``.group`` or
#: ``.startswith`` alone: the rewriter maps a value compared with them only beside a word here
#: (``x.__module__``, a key of ``sys.modules``), or relocates a literal that names the module.
STRING_USE_WORDS = frozenset({*_TABLE_ROOTS, "modules"}) | (SINK_WORDS - {"__name__", "group", "startswith"})
