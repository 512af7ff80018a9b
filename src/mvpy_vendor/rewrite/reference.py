"""The reference rewrite of one Python file: libcst parses the whole file, the transformer edits it.

Every import statement of a renamed top-level name is rewritten so that it binds exactly the
names it bound before, now to the renamed modules; string references to modules in the calls
that take them (``importlib.import_module("foo.x")``, ``sys.modules["foo"]``, ...) and metadata
lookups of renamed distributions are rewritten too, and so is every other string literal whose
whole value is a module path under a renamed name (``"foo"``, ``"foo.sub.attr"``): it is
relocated, as Maven Shade relocates string constants (see :meth:`_Rewriter.leave_SimpleString`
for what is left alone). Everything else is preserved byte for byte.
The fast path (:mod:`.fast`) is tested against this, file by file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Optional

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import CodeRange, PositionProvider
from packaging.utils import canonicalize_name

from mvpy_vendor.errors import Code
from mvpy_vendor.outcome import Diagnostic, Relocation

from .names import NameMap, relocated_path
from .tables import (
    ATTRIBUTE_CALLS,
    DIST_CALLS,
    FORWARD_REFERENCE_CALLS,
    MODULE_CALLS,
    MONKEYPATCH_ATTR_CALLS,
    MONKEYPATCH_ITEM_CALLS,
    SYS_MODULES_METHODS,
    Aliases,
    diagnostic_code,
)

__all__ = ["Outcome", "module_name_loop", "rewrite_module", "transform_whole"]

# A rewrite's outcome: the new bytes (None: unchanged), the changes made, the diagnostics, the
# string literals relocated.
Outcome = tuple[Optional[bytes], int, list[Diagnostic], list[Relocation]]  # a run-time alias: no "X | None" on 3.9
# What a call the rewriter acts on takes a module or distribution name as: its qualified name,
# the kind, the position of the argument and the keywords it may be passed as.
_Target = tuple[str, Literal["module", "dist"], int, tuple[str, ...]]


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
    # ``"foo.%s" % x`` and ``"foo.{}".format(x)``: the literal up to the first placeholder, then dynamic.
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Modulo):
        return _formatted(expr.left, "%", expr.right)
    if (
        isinstance(expr, cst.Call)
        and isinstance(expr.func, cst.Attribute)
        and expr.func.attr.value == "format"
        and isinstance(expr.func.value, cst.SimpleString)
    ):
        return _formatted(expr.func.value, "{", expr)
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Add):
        left, right = _pieces(expr.left), _pieces(expr.right)
        if left is None and right is None:
            return None
        return (left or [_Piece(None, "", expr.left)]) + (right or [_Piece(None, "", expr.right)])
    return None


def _formatted(template: cst.BaseExpression, placeholder: str, dynamic: cst.BaseExpression) -> list[_Piece] | None:
    if not isinstance(template, cst.SimpleString) or "b" in template.prefix.lower():
        return None
    text = template.value[len(template.prefix) + len(template.quote) : -len(template.quote)]
    cut = text.find(placeholder)
    return [_Piece(template, text if cut < 0 else text[:cut]), _Piece(None, "", dynamic)]


_SELF_NAMES = {"__name__", "__package__", "__spec__.name", "__spec__.parent"}


def _names_itself(expr: cst.BaseExpression | None) -> bool:
    """``__name__`` and friends already carry the renamed name at run time."""
    return expr is not None and get_full_name_for_node(expr) in _SELF_NAMES


# ---- loops over module names ------------------------------------------------------------------
#
# ``for p in ("foo", "bar"): ...`` iterates module names: its literals are relocated like any
# other (so ``__import__(p)`` and ``m == p`` see the copy's names), but where the loop uses ``p``
# as a Python name (``locals()[p]``, ``setattr(o, p, v)``) or puts a module name after a dot
# in a ``sys.modules`` key (``sys.modules[f"pkg.compat.{m}"]``, an alias), the name as written
# is meant: only the first component of a module path carries the renamed name (that is all the
# rewriter changes in the code that uses it), so there the plain name is put back at run time.
# requests' ``requests/packages.py`` is such a loop.

# Calls whose value is a namespace keyed by plain names: ``locals()[p]``, ``vars(o)[p]``.
_NAMESPACE_CALLS = frozenset({"locals", "globals", "vars"})


def _string_value(node: cst.BaseExpression) -> str | None:
    if not isinstance(node, cst.SimpleString) or "b" in node.prefix.lower():
        return None
    return node.value[len(node.prefix) + len(node.quote) : -len(node.quote)]


def _bound_names(target: cst.BaseExpression) -> set[str]:
    """The names an assignment target binds (not attributes or subscripts)."""
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, (cst.Tuple, cst.List)):
        return set().union(*(_bound_names(e.value) for e in target.elements))
    if isinstance(target, cst.StarredElement):
        return _bound_names(target.value)
    return set()


class _Binders(cst.CSTVisitor):
    """Every name bound anywhere in a subtree."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self.names |= _bound_names(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self.names |= _bound_names(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self.names |= _bound_names(node.target)

    def visit_For(self, node: cst.For) -> None:
        self.names |= _bound_names(node.target)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self.names |= _bound_names(node.target)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self.names |= _bound_names(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        self.names |= _bound_names(node.name)

    def visit_Del(self, node: cst.Del) -> None:
        self.names |= _bound_names(node.target)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.names.add(node.name.value)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.names.add(node.name.value)

    def visit_Global(self, node: cst.Global) -> None:
        self.names |= {n.name.value for n in node.names}

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self.names |= {n.name.value for n in node.names}


def module_name_loop(node: cst.For, names: NameMap) -> tuple[str, dict[str, str]] | None:
    """A loop over module names, some renamed: its variable and renamed -> original top-level names.

    Such a loop's iterable is a tuple or list of plain string literals (nothing else), at least
    one of them relocated, and its body never rebinds the variable. None when strings are not
    relocated (``keep-strings``).
    """
    if not names.strings or not isinstance(node.target, cst.Name) or not isinstance(node.iter, (cst.Tuple, cst.List)):
        return None
    renamed: dict[str, str] = {}
    for element in node.iter.elements:
        text = _string_value(element.value) if isinstance(element, cst.Element) else None
        if text is None:
            return None
        if relocated_path(text, names) is not None:
            first = text.partition(".")[0]
            renamed[names.imports[first]] = first
    if not renamed:
        return None
    binders = _Binders()
    node.body.visit(binders)
    return None if node.target.value in binders.names else (node.target.value, renamed)


def _plain_name(variable: str, renamed: Mapping[str, str], quote: str) -> cst.BaseExpression:
    """``("foo" + m[13:] if m.partition(".")[0] == "_mv_foo_1_0_0" else m)``: ``m`` with its first
    component back to the name as written."""
    text = variable
    for new, old in sorted(renamed.items(), reverse=True):
        head = f"{variable}.partition({quote}.{quote})[0] == {quote}{new}{quote}"
        text = f"{quote}{old}{quote} + {variable}[{len(new)}:] if {head} else {text}"
    return cst.parse_expression(f"({text})")


_CODE = cst.Module([])


class _Rewriter(cst.CSTTransformer):
    def __init__(
        self, names: NameMap, aliases: Mapping[str, str], position: Callable[[cst.CSTNode], tuple[int, int]]
    ) -> None:
        super().__init__()
        self.names = names
        self.aliases = aliases
        self.changes = 0
        self.diagnostics: list[Diagnostic] = []
        self.strings: list[Relocation] = []
        self._position = position
        # String literals the string rule leaves alone (original nodes): docstrings, parts of
        # concatenations, and the arguments the call, subscript and comparison rules handle.
        self._kept: set[cst.CSTNode] = set()
        # Inside an annotation or a forward-reference call (a type expression), and the calls that are.
        self._types = 0
        self._typing_calls: set[cst.CSTNode] = set()
        # The loops over module names around the current node (variable, renamed -> original
        # top-level names), the loops that are, and the quotes of the f-strings around it.
        self._loops: list[tuple[str, dict[str, str]]] = []
        self._loop_nodes: set[cst.CSTNode] = set()
        self._quotes: list[str] = []

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
        if self._loops:
            start = expr if pieces is None else pieces[0].expr if pieces[0].node is None else None
            if isinstance(start, cst.Name) and self._loop_names(start.value) is not None:
                return None  # the loop's literals, relocated: known, and already right
        if pieces is None:
            if not _names_itself(expr):
                self._note(line_node, what, "target not known statically; left unchanged")
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
                self._note(line_node, what, "target not known statically; left unchanged")
            return None
        new = self.names.dists.get(canonicalize_name(first)) if kind == "dist" else self.names.imports.get(first)
        if new is None:
            return None
        head = pieces[0]
        if not head.text.startswith(first):
            self._note(line_node, what, "renamed name split across literals; left unchanged", Code.SPLIT_NAME)
            return None
        self.changes += 1
        assert head.node is not None
        replacement = _replace_text(head, first, new)
        return expr.visit(_Substitute({head.node: replacement}))  # type: ignore[return-value]

    def _note(self, node: cst.CSTNode, what: str, message: str, code: Code | None = None) -> None:
        line, column = self._position(node)
        self.diagnostics.append(Diagnostic(line, f"{what}: {message}", code or diagnostic_code(what), column))

    def _call_target(self, call: cst.Call) -> _Target | None:
        qualified = self._qualified(call.func)
        if qualified is None:
            return None
        if qualified in MODULE_CALLS:
            return qualified, "module", 0, MODULE_CALLS[qualified]
        if qualified in DIST_CALLS:
            return qualified, "dist", 0, DIST_CALLS[qualified]
        if qualified in MONKEYPATCH_ATTR_CALLS:
            return qualified, "module", 0, MONKEYPATCH_ATTR_CALLS[qualified]
        if qualified in MONKEYPATCH_ITEM_CALLS:
            mapping = self._argument(call, 0, ("dic",))
            if mapping is not None and self._qualified(mapping.value) == "sys.modules":
                return qualified, "module", 1, MONKEYPATCH_ITEM_CALLS[qualified]
            return None
        func = call.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in SYS_MODULES_METHODS
            and self._qualified(func.value) == "sys.modules"
        ):
            return f"sys.modules.{func.attr.value}", "module", 0, ("key",)
        return None

    @staticmethod
    def _argument(call: cst.Call, position: int, keywords: tuple[str, ...]) -> cst.Arg | None:
        """The argument passed at ``position`` or as one of ``keywords`` (the first that is)."""
        for i, arg in enumerate(call.args):
            if (arg.keyword is None and arg.star == "" and i == position) or (
                arg.keyword is not None and arg.keyword.value in keywords
            ):
                return arg
        return None

    def visit_Call(self, node: cst.Call) -> bool:
        target = self._call_target(node)
        func = node.func
        attribute = None  # an attribute name is not a module path
        if target is not None:
            arg = self._argument(node, target[2], target[3])
            if arg is not None:
                self._kept.add(arg.value)
            if target[0] in MONKEYPATCH_ATTR_CALLS and (arg is None or _pieces(arg.value) is None):
                attribute = self._argument(node, 1, ("name",))  # an object and an attribute name
        elif isinstance(func, cst.Name) and func.value in ATTRIBUTE_CALLS:  # as written: no alias map needed
            attribute = self._argument(node, 1, ("name",))
        if attribute is not None:
            self._kept.add(attribute.value)
        last = func.value if isinstance(func, cst.Name) else func.attr.value if isinstance(func, cst.Attribute) else ""
        if last in FORWARD_REFERENCE_CALLS:
            self._types += 1
            self._typing_calls.add(node)
        return True

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if original in self._typing_calls:
            self._types -= 1
        updated = self._loop_call(original, self._rewrite_call(original, updated))
        return updated

    def _rewrite_call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        target = self._call_target(updated)
        if target is None:
            return updated
        qualified, kind, position, keywords = target
        for i, arg in enumerate(updated.args):
            positional = arg.keyword is None and arg.star == "" and i == position
            if positional or (arg.keyword is not None and arg.keyword.value in keywords):
                if qualified in MONKEYPATCH_ATTR_CALLS and _pieces(arg.value) is None:
                    return updated  # an object and an attribute name
                separators = ".:" if qualified.endswith("resolve_name") else "."
                new = self._rewrite_string(arg.value, original, qualified, kind, separators)
                if new is None:
                    return updated
                args = list(updated.args)
                args[i] = arg.with_changes(value=new)
                return updated.with_changes(args=args)
        return updated

    def visit_Subscript(self, node: cst.Subscript) -> bool:
        element = node.slice[0] if len(node.slice) == 1 else None
        if (
            element is not None
            and isinstance(element.slice, cst.Index)
            and self._qualified(node.value) == "sys.modules"
        ):
            self._kept.add(element.slice.value)
        return True

    def leave_Subscript(self, original: cst.Subscript, updated: cst.Subscript) -> cst.BaseExpression:
        if len(updated.slice) != 1:
            return updated
        element = updated.slice[0]
        if not isinstance(element.slice, cst.Index):
            return updated
        key: cst.BaseExpression | None = None
        if self._qualified(updated.value) == "sys.modules":
            key = self._rewrite_string(element.slice.value, original, "sys.modules[...]", "module", ".")
            if self._loops:
                key = self._plain_tails(key or element.slice.value, original, element.slice.value) or key
        elif self._loops and self._namespace(updated.value):
            key = self._plain_variable(element.slice.value, original)
        if key is None:
            return updated
        index = element.slice.with_changes(value=key)
        return updated.with_changes(slice=[element.with_changes(slice=index)])

    def visit_Comparison(self, node: cst.Comparison) -> bool:
        (target,) = node.comparisons if len(node.comparisons) == 1 else (None,)
        if (
            target is not None
            and isinstance(target.operator, (cst.In, cst.NotIn))
            and self._qualified(target.comparator) == "sys.modules"
        ):
            self._kept.add(node.left)
        return True

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

    # ---- loops over module names (see module_name_loop) ------------------------------------------

    def visit_For(self, node: cst.For) -> bool:
        loop = module_name_loop(node, self.names)
        if loop is not None:
            self._loops.append(loop)
            self._loop_nodes.add(node)
        return True

    def leave_For(self, original: cst.For, updated: cst.For) -> cst.BaseStatement:
        if original in self._loop_nodes:
            self._loops.pop()
        return updated

    def visit_FormattedString(self, node: cst.FormattedString) -> bool:
        self._quotes.append(node.end)
        return True

    def leave_FormattedString(self, original: cst.FormattedString, updated: cst.FormattedString) -> cst.BaseExpression:
        self._quotes.pop()
        return updated

    def _loop_names(self, variable: str) -> dict[str, str] | None:
        """The renamed names of the innermost loop over module names whose variable this is."""
        for name, renamed in reversed(self._loops):
            if name == variable:
                return renamed
        return None

    def _quote(self, *more: str) -> str | None:
        """A quote character no f-string around the new code uses (before Python 3.12 it cannot)."""
        used = "".join(self._quotes) + "".join(more)
        return next((q for q in ('"', "'") if q not in used), None)

    def _relocate_name(self, original: cst.CSTNode, old: cst.CSTNode, new: cst.CSTNode) -> None:
        self.changes += 1
        self.strings.append(
            Relocation(self._position(original)[0], _CODE.code_for_node(old), _CODE.code_for_node(new), "name")
        )

    @staticmethod
    def _namespace(value: cst.BaseExpression) -> bool:
        """Is ``value[...]`` a namespace keyed by plain names (``locals()``, ``vars(o)``, ``o.__dict__``)?"""
        if isinstance(value, cst.Call) and isinstance(value.func, cst.Name):
            return value.func.value in _NAMESPACE_CALLS
        return isinstance(value, cst.Attribute) and value.attr.value == "__dict__"

    def _plain_variable(self, expr: cst.BaseExpression, original: cst.CSTNode) -> cst.BaseExpression | None:
        """A loop variable used as a Python name: the name as written (``locals()[p]``, ``setattr(o, p, v)``)."""
        renamed = self._loop_names(expr.value) if isinstance(expr, cst.Name) else None
        quote = self._quote()
        if renamed is None or quote is None:
            return None
        assert isinstance(expr, cst.Name)
        new = _plain_name(expr.value, renamed, quote)
        self._relocate_name(original, expr, new)
        return new

    def _plain_tails(
        self, key: cst.BaseExpression, original: cst.CSTNode, before: cst.BaseExpression | None = None
    ) -> cst.BaseExpression | None:
        """A ``sys.modules`` key with a name after a dot (``f"pkg.compat.{m}"``, ``"pkg." + m``):
        that name's first component back to the name as written, for the loops around it."""
        renamed: dict[str, str] = {}
        for _, names in self._loops:
            renamed.update(names)
        new: cst.BaseExpression | None = None
        if isinstance(key, cst.FormattedString):
            quote = self._quote(key.end)
            parts = list(key.parts)
            for i, part in enumerate(parts):
                if (
                    quote is not None
                    and i > 0
                    and isinstance(part, cst.FormattedStringExpression)
                    and isinstance(part.expression, cst.Name)
                    and part.conversion is None
                    and part.format_spec is None
                    and isinstance(parts[i - 1], cst.FormattedStringText)
                    and parts[i - 1].value.endswith(".")  # type: ignore[attr-defined]
                ):
                    parts[i] = part.with_changes(expression=_plain_name(part.expression.value, renamed, quote))
            if parts != list(key.parts):
                new = key.with_changes(parts=parts)
        elif isinstance(key, cst.BinaryOperation) and isinstance(key.operator, cst.Add):
            left = _pieces(key.left)
            quote = self._quote()
            if (
                isinstance(key.right, cst.Name)
                and left
                and left[-1].node is not None
                and left[-1].text.endswith(".")
                and quote is not None
            ):
                new = key.with_changes(right=_plain_name(key.right.value, renamed, quote))
        if new is not None:
            self._relocate_name(original, before or key, new)
        return new

    def _loop_call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        """Loop variables as attribute names and ``sys.modules`` key tails, in calls."""
        if not self._loops:
            return updated
        func = updated.func
        if isinstance(func, cst.Name) and func.value in ATTRIBUTE_CALLS:
            arg = self._argument(updated, 1, ("name",))
            new = None if arg is None else self._plain_variable(arg.value, original)
        elif (
            isinstance(func, cst.Attribute)
            and func.attr.value in SYS_MODULES_METHODS
            and self._qualified(func.value) == "sys.modules"
        ):
            arg, before = self._argument(updated, 0, ("key",)), self._argument(original, 0, ("key",))
            new = None if arg is None or before is None else self._plain_tails(arg.value, original, before.value)
        else:
            return updated
        if arg is None or new is None:
            return updated
        return updated.with_changes(args=[a.with_changes(value=new) if a is arg else a for a in updated.args])

    # ---- module paths in any other string literal ---------------------------------------------

    def visit_Expr(self, node: cst.Expr) -> bool:
        self._kept.add(node.value)  # a string statement is a docstring or prose
        return True

    def visit_ConcatenatedString(self, node: cst.ConcatenatedString) -> bool:
        self._kept.update((node.left, node.right))  # a part is not the whole value
        return True

    def visit_Annotation(self, node: cst.Annotation) -> bool:
        self._types += 1
        return True

    def leave_Annotation(self, original: cst.Annotation, updated: cst.Annotation) -> cst.Annotation:
        self._types -= 1
        return updated

    def leave_SimpleString(self, original: cst.SimpleString, updated: cst.SimpleString) -> cst.BaseExpression:
        """Relocate a string literal whose whole value is a module path under a renamed name.

        Left alone: bytes and f-strings, a string statement (a docstring), a part of an implicit
        concatenation, a string in an annotation or in a ``cast``/``TypeVar``/``ForwardRef`` call
        (a forward reference evaluates where the old name is bound), and what the call, subscript
        and comparison rules above rewrite. Off altogether with ``NameMap(strings=False)``.
        """
        if not self.names.strings or self._types or original in self._kept:
            return updated
        prefix, quote = updated.prefix, updated.quote
        if "b" in prefix.lower():
            return updated
        text = updated.value[len(prefix) + len(quote) : -len(quote)]
        new = relocated_path(text, self.names)
        if new is None:
            return updated
        self.changes += 1
        self.strings.append(Relocation(self._position(original)[0], text, new))
        return updated.with_changes(value=prefix + quote + new + quote)


class _Substitute(cst.CSTTransformer):
    def __init__(self, mapping: Mapping[cst.CSTNode, cst.CSTNode]) -> None:
        super().__init__()
        self.mapping = mapping

    def on_leave(self, original: cst.CSTNode, updated: cst.CSTNode) -> cst.CSTNode:  # type: ignore[override]
        return self.mapping.get(original, updated)


def _replace_text(piece: _Piece, old: str, new: str) -> cst.CSTNode:
    node = piece.node
    if isinstance(node, cst.SimpleString):
        head = node.value[: len(node.prefix) + len(node.quote)]
        inner = node.value[len(head) : -len(node.quote)]  # the whole literal, also past a placeholder
        return node.with_changes(value=head + new + inner[len(old) :] + node.quote)
    text = new + piece.text[len(old) :]
    assert isinstance(node, cst.FormattedStringText)
    return node.with_changes(value=text)


def transform_whole(data: bytes, names: NameMap) -> Outcome:
    """The reference: parse the whole file with libcst, rewrite, generate the whole file."""
    module = cst.parse_module(data)
    aliases = Aliases()
    module.visit(aliases)
    return rewrite_module(module, names, aliases.aliases, 0)


def rewrite_module(
    module: cst.Module, names: NameMap, aliases: Mapping[str, str], line_offset: int, indent: tuple[int, int] = (0, 0)
) -> Outcome:
    """Rewrite ``module``; its line N is line N + ``line_offset`` of the file, and on the file's
    line ``indent[0]`` its columns are ``indent[1]`` to the left of the file's (a statement parsed alone)."""
    positions: list[Mapping[cst.CSTNode, CodeRange]] = []

    def position(node: cst.CSTNode) -> tuple[int, int]:
        # Positions cost a whole extra pass; only diagnostics need them.
        if not positions:
            wrapper = cst.MetadataWrapper(module, unsafe_skip_copy=True)
            positions.append(wrapper.resolve(PositionProvider))
        pos = positions[0].get(node)
        if pos is None:
            return 0, 0
        line = pos.start.line + line_offset
        return line, pos.start.column + 1 + (indent[1] if line == indent[0] else 0)

    rewriter = _Rewriter(names, aliases, position)
    new = module.visit(rewriter)
    if rewriter.changes == 0:
        return None, 0, rewriter.diagnostics, rewriter.strings
    return new.bytes, rewriter.changes, rewriter.diagnostics, rewriter.strings
