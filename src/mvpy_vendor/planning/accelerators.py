"""Is a compiled module an optional accelerator: does every import of it fall back to pure Python?

yarl's ``_quoting_c``, markupsafe's ``_speedups``, msgpack's ``_cmsgpack`` and many others are
imported only inside ``try: ... except ImportError: <the pure-Python equivalent>``. Such a
module can be dropped from a renamed copy when it cannot be patched: the package then runs its
own fallback, slower but leak-free. This decides that statically, from the wheel's own files,
and conservatively: the module is optional only if it is referenced at least once and every
reference in the wheel is guarded.

A reference is an ``import`` or ``from ... import`` (relative ones resolved) that loads the
module, or any string constant other than a docstring that holds its last name component as a
word (``importlib.import_module("._c", __package__)``, ``sys.modules["pkg._c"]``, an
``__all__`` entry that a star import would follow). It is guarded when the innermost enclosing
``try`` of the same scope (a function body does not run where it is defined) whose handlers
catch ``ImportError`` (or ``ModuleNotFoundError``, ``Exception``, ``BaseException``, a bare
``except``; the first matching handler is the one that runs) has a handler that raises nothing
and binds every name the ``try`` body binds (or those names were bound before that ``try`` in
the same block), except names mentioned nowhere in the wheel's Python files but in that body
and its ``else:`` (which run only when the import worked: ``try: from ._c import X as CX``
``except ImportError: pass`` ``else: X = CX`` is a fallback). Anything else is unguarded: a
file that mentions the name and cannot be parsed, a ``.pth`` file or entry point naming it, or
another compiled module that names it (in full, or by its last name in the same directory).
Prose (METADATA's description) imports nothing and is not read. Another compiled module whose
strings are compressed cannot be read; it is either dropped too, refused, or kept with a leak
the user accepted, so nothing is hidden. Environment switches such as ``YARL_NO_EXTENSIONS`` play no part.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from mvpy_vendor.wheel.layout import EXTENSION_SUFFIXES, installed_path, is_script, module_name_of

__all__ = ["Accelerator", "Accelerators"]

_CATCHES = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})
# sources that are shipped but never imported at run time
_NOT_RUN = (".pyi", ".pyx", ".pxd", ".pxi", ".c", ".h", ".cpp", ".hpp")
_NEW_SCOPE = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_OWN_NAMES = (*_NEW_SCOPE, ast.ClassDef, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


@dataclass(frozen=True)
class Accelerator:
    """The verdict on one compiled module: optional (with every guarded import) or not, and why."""

    optional: bool
    guards: tuple[str, ...] = ()  # "yarl/_quoting.py:17", one per reference
    why_not: str = ""

    @property
    def reason(self) -> str:
        return f"optional accelerator: every import of it ({', '.join(self.guards)}) falls back to pure Python"


@dataclass(frozen=True)
class _Guard:
    """An enclosing ``try`` and the names bound before it in its block."""

    node: ast.Try
    before: frozenset[str]


@dataclass(frozen=True)
class _Reference:
    line: int
    statement: ast.stmt
    guards: tuple[_Guard, ...]


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    for t in types:
        builtin = isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "builtins"
        name = t.id if isinstance(t, ast.Name) else t.attr if builtin and isinstance(t, ast.Attribute) else ""
        if name in _CATCHES:
            return True
    return False


def _walk_scope(nodes: Sequence[ast.AST]) -> Iterator[ast.AST]:
    """Every node under ``nodes`` in their own scope (not inside a nested function, class or
    comprehension, though those nodes themselves are yielded)."""
    stack = list(nodes)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, _OWN_NAMES):
            continue
        stack.extend(ast.iter_child_nodes(node))


def _targets(node: ast.AST) -> Iterator[str]:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
            yield sub.id


def _bound(nodes: Sequence[ast.AST]) -> frozenset[str]:
    """The names that ``nodes`` bind in their own scope (``*`` for a star import)."""
    names: set[str] = set()
    for node in _walk_scope(nodes):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*":
                    names.add("*")
                elif alias.asname:
                    names.add(alias.asname)
                else:
                    names.add(alias.name.split(".")[0] if isinstance(node, ast.Import) else alias.name)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(n for t in node.targets for n in _targets(t))
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor, ast.NamedExpr)):
            names.update(_targets(node.target))
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            names.update(n for item in node.items if item.optional_vars for n in _targets(item.optional_vars))
    return frozenset(names)


def _raises(nodes: Sequence[ast.AST]) -> bool:
    return any(isinstance(node, ast.Raise) for node in _walk_scope(nodes))


def _statement_binds(statement: ast.stmt) -> frozenset[str]:
    """What the referencing statement itself binds (not what statements nested in it bind)."""
    if isinstance(statement, (ast.Import, ast.ImportFrom, ast.Assign, ast.AnnAssign, ast.AugAssign)):
        return _bound([statement])
    return frozenset()


def _docstrings(tree: ast.Module) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


class _Finder:
    """The references to ``target`` in one parsed file, each with the ``try`` blocks around it."""

    def __init__(self, tree: ast.Module, target: str, package: str) -> None:
        self.target = target
        self.package = package
        self.word = re.compile(rf"(?<![\w]){re.escape(target.rpartition('.')[2])}(?![\w])")
        self.docstrings = _docstrings(tree)
        self.found: list[_Reference] = []
        self._block(tree.body, ())

    def _loads(self, node: ast.AST) -> bool:
        target = self.target
        if isinstance(node, ast.Import):
            return any(a.name == target or a.name.startswith(target + ".") for a in node.names)
        if isinstance(node, ast.ImportFrom):
            base = self._absolute(node.module or "", node.level)
            if base is None:
                return False
            if base == target or base.startswith(target + "."):
                return True
            return any(f"{base}.{a.name}" == target for a in node.names if base)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return id(node) not in self.docstrings and self.word.search(node.value) is not None
        return False

    def _absolute(self, module: str, level: int) -> str | None:
        if not level:
            return module
        parts = self.package.split(".") if self.package else []
        if level - 1 > len(parts):
            return None
        base = ".".join(parts[: len(parts) - (level - 1)])
        return f"{base}.{module}" if base and module else base or module

    def _block(self, body: Sequence[ast.stmt], guards: tuple[_Guard, ...]) -> None:
        for i, statement in enumerate(body):
            if isinstance(statement, ast.Try):
                self._block(statement.body, (*guards, _Guard(statement, _bound(body[:i]))))
                for part in (*statement.handlers, *statement.orelse, *statement.finalbody):
                    self._visit(part, statement, guards)
            else:
                self._visit(statement, statement, guards)

    def _visit(self, node: ast.AST, statement: ast.stmt, guards: tuple[_Guard, ...]) -> None:
        if isinstance(node, ast.stmt):
            statement = node
        if self._loads(node):
            self.found.append(_Reference(getattr(node, "lineno", statement.lineno), statement, guards))
        for field, value in ast.iter_fields(node):
            # a function's (or lambda's) body runs when called, outside any try around its definition
            inner = () if field == "body" and isinstance(node, _NEW_SCOPE) else guards
            if isinstance(value, list):
                if value and isinstance(value[0], ast.stmt):
                    self._block(value, inner)
                else:
                    for item in value:
                        if isinstance(item, ast.AST):
                            self._visit(item, statement, inner)
            elif isinstance(value, ast.AST):
                self._visit(value, statement, inner)


class Accelerators:
    """Decides, for one source wheel, which compiled modules are optional accelerators."""

    def __init__(self, members: Sequence[str], dist_info: str, data_dir: str, read: Callable[[str], bytes]) -> None:
        self.members = members
        self.dist_info = dist_info
        self.data_dir = data_dir
        self.read = read
        self._trees: dict[str, ast.Module | str] = {}
        self._sources: dict[str, bytes] | None = None
        self._lines: dict[str, list[bytes]] = {}

    def _tree(self, member: str, data: bytes) -> ast.Module | str:
        """The parsed file, or why it cannot be parsed."""
        if member not in self._trees:
            try:
                self._trees[member] = ast.parse(data, filename=member)
            except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
                self._trees[member] = f"{member} mentions it and cannot be parsed ({type(exc).__name__})"
        return self._trees[member]

    def _python(self, member: str, data: bytes | None = None) -> bool:
        if is_script(member, self.data_dir):
            return (self.read(member) if data is None else data).startswith(b"#!python")
        return member.endswith(".py") and not member.startswith(self.dist_info + "/")

    def _loader(self, member: str) -> bool:
        """A file that the import system or an installer acts on: ``.pth``, entry points."""
        return member.endswith(".pth") or member == f"{self.dist_info}/entry_points.txt"

    def _python_sources(self) -> dict[str, bytes]:
        if self._sources is None:
            self._sources = {m: self.read(m) for m in self.members if self._python(m)}
        return self._sources

    def _mentioned(self, name: str, member: str, skipped: Sequence[tuple[int, int]]) -> bool:
        """Is ``name`` mentioned in any Python file of the wheel, outside lines ``skipped`` of ``member``?"""
        if name == "*":
            return True
        word = re.compile(rb"(?<![\w])" + re.escape(name.encode()) + rb"(?![\w])")
        for other, data in self._python_sources().items():
            if other != member:
                if word.search(data):
                    return True
                continue
            lines = self._lines.setdefault(member, data.splitlines())
            for number, line in enumerate(lines, 1):
                if word.search(line) and not any(a <= number <= b for a, b in skipped):
                    return True
        return False

    def _falls_back(self, reference: _Reference, member: str) -> bool:
        """Does an ``ImportError`` raised by this reference land in a handler that provides a
        fallback: raises nothing, and binds whatever the ``try`` body would have bound that is
        used anywhere but in that body and its ``else:`` (which run only when the import worked)?"""
        for guard in reversed(reference.guards):
            handler = next((h for h in guard.node.handlers if _catches_import_error(h)), None)
            if handler is None:
                continue  # propagates to an outer try
            if _raises(handler.body):
                return False
            needed = _statement_binds(reference.statement) | _bound(guard.node.body)
            missing = needed - _bound(handler.body) - guard.before
            spans = [(s.lineno, s.end_lineno or s.lineno) for s in (*guard.node.body, *guard.node.orelse)]
            return not any(self._mentioned(name, member, spans) for name in sorted(missing))
        return False

    def check(self, compiled: str) -> Accelerator:
        """Is the compiled member ``compiled`` (a path in the wheel) an optional accelerator?"""
        target = module_name_of(installed_path(compiled, self.data_dir))
        last = target.rpartition(".")[2].encode()
        word = re.compile(rb"(?<![\w])" + re.escape(last) + rb"(?![\w])")
        directory = compiled.rpartition("/")[0]
        guards: list[str] = []
        for member in self.members:
            if member == compiled or member == f"{self.dist_info}/RECORD" or member.endswith(_NOT_RUN):
                continue
            data = self.read(member)
            if not word.search(data):
                continue
            if member.endswith(EXTENSION_SUFFIXES):
                # C names a module in full; a sibling may import it by its last name alone
                sibling = member.rpartition("/")[0] == directory and b"\x00" + last + b"\x00" in data
                if target.encode() in data or sibling:
                    return Accelerator(False, why_not=f"the compiled module {member} names it")
                continue
            if not self._python(member, data):
                if self._loader(member) and target.encode() in data:
                    return Accelerator(False, why_not=f"{member} names {target}")
                continue
            tree = self._tree(member, data)
            if isinstance(tree, str):
                return Accelerator(False, why_not=tree)
            path = installed_path(member, self.data_dir)
            module = module_name_of(path) if path else ""
            package = module if path.endswith("/__init__.py") else module.rpartition(".")[0]
            for reference in _Finder(tree, target, package).found:
                where = f"{member}:{reference.line}"
                if not self._falls_back(reference, member):
                    return Accelerator(False, why_not=f"{where} imports it without a pure-Python fallback")
                guards.append(where)
        if not guards:
            return Accelerator(False, why_not="no Python file of the wheel imports it")
        return Accelerator(True, tuple(dict.fromkeys(guards)))
