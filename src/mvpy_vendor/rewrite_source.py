"""Rewrite one Python source file so that it imports renamed copies: a pure function of bytes.

Every import statement of a renamed top-level name is rewritten so that it binds exactly the
names it bound before, now to the renamed modules; string references to modules in the calls
that take them (``importlib.import_module("foo.x")``, ``sys.modules["foo"]``, ...) and metadata
lookups of renamed distributions are rewritten too. Everything else is preserved byte for byte.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal, Optional, TypeVar

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import CodeRange, PositionProvider
from packaging.utils import canonicalize_name

__all__ = [
    "Diagnostic",
    "NameMap",
    "SourceResult",
    "rewrite_module_reference",
    "rewrite_source",
    "stop_worker_thread",
]

_T = TypeVar("_T")


class NameMap:
    """What to rename: top-level import names and distribution names (canonical) to new ones."""

    __slots__ = ("_needle", "_quick", "dists", "imports")

    def __init__(self, imports: Mapping[str, str], dists: Mapping[str, str] | None = None) -> None:
        self.imports: dict[str, str] = dict(imports)
        self.dists: dict[str, str] = {canonicalize_name(k): v for k, v in (dists or {}).items()}
        words = [re.escape(n) for n in sorted(self.imports)]
        words += ["[-_.]+".join(map(re.escape, re.split(r"[-_.]+", d))) for d in sorted(self.dists)]
        # Names start and end with word characters: \b is "not inside a longer name".
        pattern = rb"\b(?:" + "|".join(words).encode() + rb")\b" if words else rb"(?!)"
        self._needle = re.compile(pattern, re.IGNORECASE if self.dists else 0)
        # A cheaper first test: some part of some name, in the lower-cased file.
        quick = {n.lower() for n in self.imports} | {re.split(r"[-_.]+", d)[0] for d in self.dists}
        self._quick = tuple(sorted(w.encode() for w in quick))

    def __bool__(self) -> bool:
        return bool(self.imports or self.dists)

    def __repr__(self) -> str:
        return f"NameMap({self.imports!r}, {self.dists!r})"

    def mentions(self, data: bytes) -> bool:
        """The pre-filter: could this file need a rewrite? (Never a false negative.)"""
        lowered = data.lower()
        if not any(word in lowered for word in self._quick):
            return False
        return self._needle.search(data) is not None

    def new_module(self, dotted: str) -> str | None:
        """``foo.bar`` -> ``_mv_foo_1_0_0.bar`` if ``foo`` is renamed, else None."""
        first, sep, rest = dotted.partition(".")
        new = self.imports.get(first)
        return None if new is None else new + sep + rest


@dataclass(frozen=True)
class Diagnostic:
    line: int
    message: str

    def to_json(self) -> dict[str, object]:
        return {"line": self.line, "message": self.message}


# A rewrite's outcome: the new bytes (None: unchanged), the changes made, the diagnostics.
Outcome = tuple[Optional[bytes], int, list[Diagnostic]]  # a run-time alias: no "X | None" on 3.9


@dataclass(frozen=True)
class SourceResult:
    """The outcome for one file; ``data`` is the original bytes unless ``status`` is ``rewritten``."""

    status: Literal["rewritten", "unchanged", "unparsable", "failed"]
    data: bytes
    changes: int = 0
    diagnostics: tuple[Diagnostic, ...] = ()
    error: str | None = None
    error_line: int | None = None


# Calls whose first argument (or the named keyword) is a module name.
_MODULE_CALLS = {
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
_DIST_CALLS = {
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
_SYS_MODULES_METHODS = {"get", "pop", "setdefault", "__contains__", "__getitem__"}


class _Aliases(cst.CSTVisitor):
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


@dataclass
class _Piece:
    """One literal or dynamic piece of a string expression, left to right."""

    node: cst.CSTNode | None  # SimpleString or FormattedStringText; None when dynamic
    text: str  # raw text of the literal (without prefix and quotes)
    expr: cst.BaseExpression | None = None  # the dynamic expression, when there is one


def _pieces(expr: cst.BaseExpression) -> list[_Piece] | None:
    """Flatten a string expression into pieces, or None if it is not a string expression."""
    if isinstance(expr, cst.SimpleString):
        if "b" in expr.prefix.lower():
            return None
        return [_Piece(expr, expr.value[len(expr.prefix) + len(expr.quote) : -len(expr.quote)])]
    if isinstance(expr, cst.ConcatenatedString):
        left, right = _pieces(expr.left), _pieces(expr.right)
        return None if left is None or right is None else left + right
    if isinstance(expr, cst.FormattedString):
        found: list[_Piece] = []
        for part in expr.parts:
            if isinstance(part, cst.FormattedStringText):
                found.append(_Piece(part, part.value))
            elif isinstance(part, cst.FormattedStringExpression):
                found.append(_Piece(None, "", part.expression))
        return found
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Add):
        left, right = _pieces(expr.left), _pieces(expr.right)
        if left is None and right is None:
            return None
        return (left or [_Piece(None, "", expr.left)]) + (right or [_Piece(None, "", expr.right)])
    return None


_SELF_NAMES = {"__name__", "__package__", "__spec__.name", "__spec__.parent"}


def _names_itself(expr: cst.BaseExpression | None) -> bool:
    """``__name__`` and friends already carry the renamed name at run time."""
    return expr is not None and get_full_name_for_node(expr) in _SELF_NAMES


class _Rewriter(cst.CSTTransformer):
    def __init__(self, names: NameMap, aliases: Mapping[str, str]) -> None:
        super().__init__()
        self.names = names
        self.aliases = aliases
        self.changes = 0
        self.diagnostics: list[Diagnostic] = []
        self._line: Callable[[cst.CSTNode], int] = lambda node: 0

    # ---- names ------------------------------------------------------------------------------

    def _qualified(self, node: cst.BaseExpression) -> str | None:
        full = get_full_name_for_node(node)
        if full is None:
            return None
        first, sep, rest = full.partition(".")
        return self.aliases.get(first, first) + sep + rest

    def _renamed_dotted(self, node: cst.BaseExpression) -> cst.BaseExpression | None:
        """Replace the first component of a dotted name node, if it is renamed."""
        if isinstance(node, cst.Name):
            new = self.names.imports.get(node.value)
            return None if new is None else node.with_changes(value=new)
        if isinstance(node, cst.Attribute):
            inner = self._renamed_dotted(node.value)
            return None if inner is None else node.with_changes(value=inner)
        return None

    # ---- import statements ------------------------------------------------------------------

    def leave_ImportFrom(self, original: cst.ImportFrom, updated: cst.ImportFrom) -> cst.ImportFrom:
        if updated.relative or updated.module is None:
            return updated
        module = self._renamed_dotted(updated.module)
        if module is None:
            return updated
        self.changes += 1
        assert isinstance(module, (cst.Name, cst.Attribute))
        return updated.with_changes(module=module)

    def leave_SimpleStatementLine(
        self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine:
        return updated.with_changes(body=self._rewrite_body(updated.body))

    def leave_SimpleStatementSuite(
        self, original: cst.SimpleStatementSuite, updated: cst.SimpleStatementSuite
    ) -> cst.SimpleStatementSuite:
        return updated.with_changes(body=self._rewrite_body(updated.body))

    def _rewrite_body(self, body: Sequence[cst.BaseSmallStatement]) -> Sequence[cst.BaseSmallStatement]:
        if not any(isinstance(s, cst.Import) for s in body):
            return body
        new: list[cst.BaseSmallStatement] = []
        for stmt in body:
            new.extend(self._rewrite_import(stmt) if isinstance(stmt, cst.Import) else [stmt])
        return new

    def _rewrite_import(self, stmt: cst.Import) -> list[cst.BaseSmallStatement]:
        """``import a, foo.bar as b, foo.c`` -> ``import a, _mv.bar as b; foo = __import__("_mv.c")``."""
        out: list[cst.BaseSmallStatement] = []
        group: list[cst.ImportAlias] = []
        changed = False

        def flush() -> None:
            if group:
                group[-1] = group[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                out.append(stmt.with_changes(names=list(group), semicolon=cst.MaybeSentinel.DEFAULT))
                group.clear()

        for alias in stmt.names:
            full = get_full_name_for_node(alias.name) or ""
            first, dot, _ = full.partition(".")
            new_first = self.names.imports.get(first)
            if new_first is None:
                group.append(alias)
                continue
            changed = True
            self.changes += 1
            renamed = self._renamed_dotted(alias.name)
            assert isinstance(renamed, (cst.Name, cst.Attribute))
            if alias.asname is not None:
                group.append(alias.with_changes(name=renamed))
            elif not dot:
                group.append(
                    alias.with_changes(
                        name=renamed,
                        asname=cst.AsName(
                            name=cst.Name(first),
                            whitespace_before_as=cst.SimpleWhitespace(" "),
                            whitespace_after_as=cst.SimpleWhitespace(" "),
                        ),
                    )
                )
            else:
                # ``import foo.bar`` binds ``foo`` and loads ``foo.bar``: exactly what
                # ``foo = __import__("foo.bar")`` does, without binding any other name.
                flush()
                target = self.names.new_module(full)
                out.append(
                    cst.Assign(
                        targets=[cst.AssignTarget(target=cst.Name(first))],
                        value=cst.Call(
                            func=cst.Name("__import__"),
                            args=[cst.Arg(cst.SimpleString(f'"{target}"'))],
                        ),
                    )
                )
        if not changed:
            return [stmt]
        flush()
        for i, small in enumerate(out[:-1]):
            out[i] = small.with_changes(semicolon=cst.Semicolon(whitespace_after=cst.SimpleWhitespace(" ")))
        out[-1] = out[-1].with_changes(semicolon=stmt.semicolon)
        return out

    # ---- strings ----------------------------------------------------------------------------

    def _rewrite_string(
        self,
        expr: cst.BaseExpression,
        line_node: cst.CSTNode,
        what: str,
        kind: Literal["module", "dist"],
        separators: str,
    ) -> cst.BaseExpression | None:
        """Rewrite the module or distribution a string expression names; note what cannot be known."""
        pieces = _pieces(expr)
        if pieces is None:
            if not _names_itself(expr):
                self._note(line_node, f"{what}: target not known statically; left unchanged")
            return None
        prefix = ""
        dynamic = False
        for piece in pieces:
            if piece.node is None:
                dynamic = True
                if not prefix and _names_itself(piece.expr):
                    return None
                break
            prefix += piece.text
        cut = min((i for i in (prefix.find(c) for c in separators) if i >= 0), default=-1)
        first = prefix if cut < 0 else prefix[:cut]
        if kind == "dist":
            first = re.split(r"[\s<>=!~;\[(@]", prefix, maxsplit=1)[0]
        complete = cut >= 0 or not dynamic or (kind == "dist" and first != prefix)
        if not complete:
            candidates = self.names.dists if kind == "dist" else self.names.imports
            if not first or any(c.startswith(first) for c in candidates):
                self._note(line_node, f"{what}: target not known statically; left unchanged")
            return None
        new = self.names.dists.get(canonicalize_name(first)) if kind == "dist" else self.names.imports.get(first)
        if new is None:
            return None
        head = pieces[0]
        if not head.text.startswith(first):
            self._note(line_node, f"{what}: renamed name split across literals; left unchanged")
            return None
        self.changes += 1
        assert head.node is not None
        replacement = _replace_text(head, first, new)
        return expr.visit(_Substitute({head.node: replacement}))  # type: ignore[return-value]

    def _note(self, node: cst.CSTNode, message: str) -> None:
        self.diagnostics.append(Diagnostic(self._line(node), message))

    def _call_target(self, call: cst.Call) -> tuple[str, Literal["module", "dist"], tuple[str, ...]] | None:
        qualified = self._qualified(call.func)
        if qualified is None:
            return None
        if qualified in _MODULE_CALLS:
            return qualified, "module", _MODULE_CALLS[qualified]
        if qualified in _DIST_CALLS:
            return qualified, "dist", _DIST_CALLS[qualified]
        func = call.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in _SYS_MODULES_METHODS
            and self._qualified(func.value) == "sys.modules"
        ):
            return f"sys.modules.{func.attr.value}", "module", ("key",)
        return None

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        target = self._call_target(updated)
        if target is None:
            return updated
        qualified, kind, keywords = target
        for i, arg in enumerate(updated.args):
            positional = arg.keyword is None and arg.star == "" and i == 0
            if positional or (arg.keyword is not None and arg.keyword.value in keywords):
                separators = ".:" if qualified.endswith("resolve_name") else "."
                new = self._rewrite_string(arg.value, original, qualified, kind, separators)
                if new is None:
                    return updated
                args = list(updated.args)
                args[i] = arg.with_changes(value=new)
                return updated.with_changes(args=args)
        return updated

    def leave_Subscript(self, original: cst.Subscript, updated: cst.Subscript) -> cst.BaseExpression:
        if self._qualified(updated.value) != "sys.modules" or len(updated.slice) != 1:
            return updated
        element = updated.slice[0]
        if not isinstance(element.slice, cst.Index):
            return updated
        new = self._rewrite_string(element.slice.value, original, "sys.modules[...]", "module", ".")
        if new is None:
            return updated
        index = element.slice.with_changes(value=new)
        return updated.with_changes(slice=[element.with_changes(slice=index)])

    def leave_Comparison(self, original: cst.Comparison, updated: cst.Comparison) -> cst.BaseExpression:
        if len(updated.comparisons) != 1:
            return updated
        target = updated.comparisons[0]
        if not isinstance(target.operator, (cst.In, cst.NotIn)):
            return updated
        if self._qualified(target.comparator) != "sys.modules":
            return updated
        new = self._rewrite_string(updated.left, original, "... in sys.modules", "module", ".")
        return updated if new is None else updated.with_changes(left=new)


class _Substitute(cst.CSTTransformer):
    def __init__(self, mapping: Mapping[cst.CSTNode, cst.CSTNode]) -> None:
        super().__init__()
        self.mapping = mapping

    def on_leave(self, original: cst.CSTNode, updated: cst.CSTNode) -> cst.CSTNode:  # type: ignore[override]
        return self.mapping.get(original, updated)


def _replace_text(piece: _Piece, old: str, new: str) -> cst.CSTNode:
    node = piece.node
    text = new + piece.text[len(old) :]
    if isinstance(node, cst.SimpleString):
        head = node.value[: len(node.prefix) + len(node.quote)]
        return node.with_changes(value=head + text + node.quote)
    assert isinstance(node, cst.FormattedStringText)
    return node.with_changes(value=text)


_STACK_BYTES = 512 * 1024 * 1024
_RECURSION_LIMIT = 30_000
_worker: ThreadPoolExecutor | None = None
_worker_lock = threading.Lock()


def _forget_worker() -> None:
    """A forked child inherits the reference to the worker but not its thread: start afresh."""
    global _worker, _worker_lock
    _worker = None
    _worker_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_worker)


def stop_worker_thread() -> None:
    """Stop the large-stack thread (it starts again when needed).

    Call before forking worker processes: forking a process that has other threads risks a
    child deadlocked on a lock one of them held (Python 3.12+ warns of it).
    """
    global _worker
    with _worker_lock:
        worker, _worker = _worker, None
    if worker is not None:
        worker.shutdown(wait=True)


def _setup_worker() -> None:
    sys.setrecursionlimit(max(sys.getrecursionlimit(), _RECURSION_LIMIT))


def _on_deep_stack(fn: Callable[[], _T]) -> _T:
    """Run ``fn`` on a thread with a large C stack.

    libcst's native parser and its code generator recurse once per nesting level; long
    expression chains in real files (sympy has some) overflow the main thread's stack, which
    would crash the whole process rather than fail one file.
    """
    global _worker
    with _worker_lock:
        if _worker is None:
            old = threading.stack_size()
            threading.stack_size(_STACK_BYTES)
            try:
                _worker = ThreadPoolExecutor(1, thread_name_prefix="mvpy-libcst", initializer=_setup_worker)
                _worker.submit(lambda: None).result()  # start the thread while the size is set
            finally:
                threading.stack_size(old)
        worker = _worker
    return worker.submit(fn).result()


def _transform_whole(data: bytes, names: NameMap) -> Outcome:
    """The reference: parse the whole file with libcst, rewrite, generate the whole file."""
    module = cst.parse_module(data)
    aliases = _Aliases()
    module.visit(aliases)
    return _rewrite_module(module, names, aliases.aliases, 0)


def _rewrite_module(module: cst.Module, names: NameMap, aliases: Mapping[str, str], line_offset: int) -> Outcome:
    rewriter = _Rewriter(names, aliases)
    positions: list[Mapping[cst.CSTNode, CodeRange]] = []

    def line(node: cst.CSTNode) -> int:
        # Positions cost a whole extra pass; only diagnostics need them.
        if not positions:
            wrapper = cst.MetadataWrapper(module, unsafe_skip_copy=True)
            positions.append(wrapper.resolve(PositionProvider))
        pos = positions[0].get(node)
        return pos.start.line + line_offset if pos is not None else 0

    rewriter._line = line
    new = module.visit(rewriter)
    if rewriter.changes == 0:
        return None, 0, rewriter.diagnostics
    return new.bytes, rewriter.changes, rewriter.diagnostics


def rewrite_source(data: bytes, names: NameMap, *, whole_file: bool = False) -> SourceResult:
    """Rewrite one file's imports and module strings according to ``names``.

    By default only the statements that can change are parsed (see :mod:`.fast_rewrite`);
    ``whole_file`` parses the whole file with libcst instead, as the reference the fast path
    is tested against. The fast path hands a file to the reference whenever it cannot vouch
    for giving the same result.
    """
    if not names.mentions(data):
        return SourceResult("unchanged", data)
    from .fast_rewrite import rewrite_statements

    def run() -> Outcome:
        fast = None if whole_file else rewrite_statements(data, names)
        return fast if fast is not None else _transform_whole(data, names)

    try:
        new, changes, diagnostics = _on_deep_stack(run)
    except RecursionError:
        return SourceResult("failed", data, error="nested too deeply to rewrite")
    except cst.ParserSyntaxError as exc:
        # The position in libcst's message is more precise than its raw_line/raw_column.
        where = re.search(r"error at (\d+):", exc.message)
        line = int(where[1]) if where else exc.raw_line
        return SourceResult("unparsable", data, error="cannot parse: not valid Python 3 syntax", error_line=line)
    except (UnicodeDecodeError, LookupError, SyntaxError) as exc:
        return SourceResult("unparsable", data, error=f"cannot decode: {exc}")
    except Exception as exc:  # noqa: BLE001 - one bad file must not end the batch
        return SourceResult("failed", data, error=f"{type(exc).__name__}: {exc}")
    if new is None or new == data:
        return SourceResult("unchanged", data, diagnostics=tuple(diagnostics))
    return SourceResult("rewritten", new, changes, tuple(diagnostics))


def rewrite_module_reference(reference: str, names: NameMap, separators: Sequence[str] = (".", ":")) -> str:
    """Rewrite an object reference like ``foo.cli:main`` (entry points, .pth paths)."""
    cut = min((i for i in (reference.find(s) for s in separators) if i >= 0), default=len(reference))
    new = names.imports.get(reference[:cut])
    return reference if new is None else new + reference[cut:]
