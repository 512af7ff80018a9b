"""The reference rewrite of one Python file: libcst parses the whole file, the transformer edits it.

Every import statement of a renamed top-level name is rewritten so that it binds exactly the
names it bound before, now to the renamed modules. A string is rewritten only where it is *used*
as a module name, never for its value: the calls that take a module or distribution name
(``importlib.import_module``, ``sys.modules`` keys and methods, resources, metadata, mock
targets, entry-point groups, ``find_class``), assignments to ``__module__``/``__package__``
(also through ``setattr``, ``d["__module__"]``, a ``module=`` keyword), and comparisons with an
expression that is a module's name (``__name__``, ``x.__module__``, ``__spec__.name``, a key of
``sys.modules``, ``.startswith``). A literal there is rewritten; a value known only at run time
gets a mapping call (:mod:`.runtime`). Code in strings (``exec("from foo import *")``, a string
that is only import statements) is rewritten as code. Everything else, every other string
included, is preserved byte for byte. The fast path (:mod:`.fast`) is tested against this.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Literal, Optional

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import CodeRange, PositionProvider
from packaging.utils import canonicalize_name

from mvpy_vendor.errors import Code
from mvpy_vendor.outcome import Diagnostic, Relocation

from .aliases import Aliases
from .names import NameMap, relocated_path
from .pieces import Substitute, replace_text, string_pieces, string_value
from .runtime import distribution_call, mapping_call, unmapping_call
from .tables import (
    CODE_CALLS,
    DIST_CALLS,
    IMPORT_FUNCTIONS,
    MODULE_ARGUMENT_CALLS,
    MODULE_ATTRIBUTES,
    MODULE_CALLS,
    MODULE_KEYWORD_CALLS,
    MODULE_NAME_READS,
    MONKEYPATCH_ATTR_CALLS,
    MONKEYPATCH_ITEM_CALLS,
    NAME_PARTS,
    SYS_MODULES_METHODS,
    UNSURE_NAME_READS,
    diagnostic_code,
)

__all__ = ["Outcome", "rewrite_module", "transform_whole"]

# A rewrite's outcome: the new bytes (None: unchanged), the changes made, the diagnostics, the
# string literals relocated.
Outcome = tuple[Optional[bytes], int, list[Diagnostic], list[Relocation]]  # a run-time alias: no "X | None" on 3.9
# What a call the rewriter acts on takes a module or distribution name as: its qualified name,
# the kind, the position of the argument and the keywords it may be passed as.
_Target = tuple[str, Literal["module", "dist"], int, tuple[str, ...]]


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
        # Docstrings (original nodes): never code to rewrite.
        self._kept: set[cst.CSTNode] = set()
        # The names bound to keys of sys.modules by the loops and comprehensions around the
        # current node, and the quotes of the f-strings around it.
        self._module_vars: list[set[str]] = []
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

    # ---- module names in strings: relocated where they are used as module names -----------------

    def _rewrite_string(
        self,
        expr: cst.BaseExpression,
        line_node: cst.CSTNode,
        what: str,
        kind: Literal["module", "dist"],
        separators: str,
        *,
        dynamic: bool = True,
        paths: bool = False,
    ) -> cst.BaseExpression | None:
        """The string expression ``expr``, used as a module (or distribution) name, relocated.

        A literal, or a literal head that holds the whole first component (``"foo.%s" % x``,
        ``f"foo.{x}"``), is rewritten; a value known only at run time is wrapped in a mapping
        call (:mod:`.runtime`) unless ``dynamic`` is off; a value that is a module's own name
        (``__name__``, a key of ``sys.modules``) is already right. ``paths``: under a renamed
        namespace only a module path moves (:func:`.names.relocated_path`), as in every use but
        an import's. None: nothing to change.
        """
        if self._module_name(expr):
            return None
        pieces = string_pieces(expr)
        if pieces is None:
            return self._mapped(expr, line_node, what, kind) if dynamic else None
        prefix = ""
        is_dynamic = False
        for piece in pieces:
            if piece.node is None:
                is_dynamic = True
                if not prefix and self._module_name(piece.expr):
                    return None
                break
            prefix += piece.text
        cut = min((i for i in (prefix.find(c) for c in separators) if i >= 0), default=-1)
        first = prefix if cut < 0 else prefix[:cut]
        if kind == "dist":
            first = re.split(r"[\s<>=!~;\[(@]", prefix, maxsplit=1)[0]
        complete = cut >= 0 or not is_dynamic or (kind == "dist" and first != prefix)
        if not complete:
            candidates = self.names.dists if kind == "dist" else self.names.imports
            if dynamic and (not first or any(c.startswith(first) for c in candidates)):
                return self._mapped(expr, line_node, what, kind)
            return None
        if kind == "dist":
            new = self.names.dists.get(canonicalize_name(first))
        else:
            text = prefix if not is_dynamic else first
            moves = not paths or relocated_path(text, self.names) is not None
            new = self.names.imports.get(first) if moves else None
            if new is None and paths and is_dynamic and first in self.names.modules and dynamic:
                return self._mapped(expr, line_node, what, kind)  # under a namespace: known at run time
        if new is None:
            return None
        head = pieces[0]
        if not head.text.startswith(first):
            self._note(line_node, what, "renamed name split across literals; left unchanged", Code.SPLIT_NAME)
            return None
        self.changes += 1
        assert head.node is not None
        self.strings.append(Relocation(self._position(line_node)[0], head.text, new + head.text[len(first) :]))
        replacement = replace_text(head, first, new)
        return expr.visit(Substitute({head.node: replacement}))  # type: ignore[return-value]

    def _mapped(
        self, expr: cst.BaseExpression, line_node: cst.CSTNode, what: str, kind: Literal["module", "dist"]
    ) -> cst.BaseExpression | None:
        """``expr`` wrapped in the mapping call of this world (a module or distribution name known
        only at run time); None when no quote is free inside the f-strings around it."""
        if (kind == "dist" and not self.names.dists) or (kind == "module" and not self.names.imports):
            return None
        if not self.names.strings:  # keep-strings: every string as written, what cannot be known reported
            self._note(line_node, what, "target not known statically; left unchanged")
            return None
        quote = self._quote()
        if quote is None:
            self._note(line_node, what, "target not known statically, inside an f-string; left unchanged")
            return None
        old = _CODE.code_for_node(expr)
        text = (distribution_call if kind == "dist" else mapping_call)(self.names, old, quote)
        self.changes += 1
        self.strings.append(Relocation(self._position(line_node)[0], old, text, "mapped"))
        return cst.parse_expression(text)

    def _note(self, node: cst.CSTNode, what: str, message: str, code: Code | None = None) -> None:
        line, column = self._position(node)
        self.diagnostics.append(Diagnostic(line, f"{what}: {message}", code or diagnostic_code(what), column))

    def _quote(self, *more: str) -> str | None:
        """A quote character no f-string around the new code uses (before Python 3.12 it cannot)."""
        used = "".join(self._quotes) + "".join(more)
        return next((q for q in ("'", '"') if q not in used), None)

    def visit_FormattedString(self, node: cst.FormattedString) -> bool:
        self._quotes.append(node.end)
        return True

    def leave_FormattedString(self, original: cst.FormattedString, updated: cst.FormattedString) -> cst.BaseExpression:
        self._quotes.pop()
        return updated

    # ---- what is a module name -------------------------------------------------------------

    def _module_name(self, expr: cst.BaseExpression | None, *, sure: bool = False) -> bool:
        """Is ``expr`` a module's name as Python knows it (renamed where the module is)?

        ``__name__``, ``__package__``, ``x.__module__``, ``__spec__.name``, a key of
        ``sys.modules`` (a loop's variable over it), and their first parts (``m.split(".")[0]``);
        ``x.__name__`` and ``ep.group`` too unless ``sure`` (:data:`.tables.UNSURE_NAME_READS`).
        """
        if expr is None:
            return False
        if isinstance(expr, cst.Name):
            return expr.value in ("__name__", "__package__") or any(expr.value in s for s in self._module_vars)
        if isinstance(expr, cst.Attribute):
            attr = expr.attr.value
            if attr in ("name", "parent"):
                return isinstance(expr.value, (cst.Name, cst.Attribute)) and (
                    get_full_name_for_node(expr.value) or ""
                ).endswith("__spec__")
            return attr in MODULE_NAME_READS and not (sure and attr in UNSURE_NAME_READS)
        if isinstance(expr, cst.Subscript) and isinstance(expr.value, cst.Call):
            func = expr.value.func
            return (
                isinstance(func, cst.Attribute)
                and func.attr.value in NAME_PARTS
                and self._module_name(func.value, sure=sure)
            )
        return False

    def _iterates_modules(self, iterable: cst.BaseExpression) -> bool:
        """``sys.modules``, ``list(sys.modules)``, ``sys.modules.keys()``, ``.items()``, ``.copy()``."""
        if self._qualified(iterable) == "sys.modules":
            return True
        if not isinstance(iterable, cst.Call):
            return False
        func = iterable.func
        if isinstance(func, cst.Name) and func.value in ("list", "tuple", "sorted", "set", "reversed", "frozenset"):
            return len(iterable.args) >= 1 and self._iterates_modules(iterable.args[0].value)
        return (
            isinstance(func, cst.Attribute)
            and func.attr.value in ("keys", "items", "copy")
            and self._qualified(func.value) == "sys.modules"
        )

    def _module_targets(self, target: cst.BaseExpression, iterable: cst.BaseExpression) -> set[str]:
        """The names a loop over ``iterable`` binds to module names."""
        if not self._iterates_modules(iterable):
            return set()
        if isinstance(target, cst.Name):
            return {target.value}
        if isinstance(target, (cst.Tuple, cst.List)) and target.elements:
            first = target.elements[0].value
            return {first.value} if isinstance(first, cst.Name) else set()
        return set()

    def visit_For(self, node: cst.For) -> bool:
        self._module_vars.append(self._module_targets(node.target, node.iter))
        return True

    def leave_For(self, original: cst.For, updated: cst.For) -> cst.BaseStatement:
        self._module_vars.pop()
        return updated

    def _enter_comprehension(self, node: cst.BaseComp) -> None:
        found: set[str] = set()
        loop: cst.CompFor | None = node.for_in
        while loop is not None:
            found |= self._module_targets(loop.target, loop.iter)
            loop = loop.inner_for_in
        self._module_vars.append(found)

    def visit_ListComp(self, node: cst.ListComp) -> bool:
        self._enter_comprehension(node)
        return True

    def visit_SetComp(self, node: cst.SetComp) -> bool:
        self._enter_comprehension(node)
        return True

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> bool:
        self._enter_comprehension(node)
        return True

    def visit_DictComp(self, node: cst.DictComp) -> bool:
        self._enter_comprehension(node)
        return True

    def leave_ListComp(self, original: cst.ListComp, updated: cst.ListComp) -> cst.BaseExpression:
        self._module_vars.pop()
        return updated

    def leave_SetComp(self, original: cst.SetComp, updated: cst.SetComp) -> cst.BaseExpression:
        self._module_vars.pop()
        return updated

    def leave_GeneratorExp(self, original: cst.GeneratorExp, updated: cst.GeneratorExp) -> cst.BaseExpression:
        self._module_vars.pop()
        return updated

    def leave_DictComp(self, original: cst.DictComp, updated: cst.DictComp) -> cst.BaseExpression:
        self._module_vars.pop()
        return updated

    # ---- calls -------------------------------------------------------------------------------

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

    def _with_argument(
        self, call: cst.Call, arg: cst.Arg, original: cst.CSTNode, what: str, *, dynamic: bool = True, sep: str = "."
    ) -> cst.Call:
        new = self._rewrite_string(arg.value, original, what, "module", sep, dynamic=dynamic, paths=True)
        if new is None:
            return call
        return call.with_changes(args=[a.with_changes(value=new) if a is arg else a for a in call.args])

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        updated = self._rewrite_call(original, updated)
        if not self.names.strings:
            return updated
        func = updated.func
        last = func.value if isinstance(func, cst.Name) else func.attr.value if isinstance(func, cst.Attribute) else ""
        what = _CODE.code_for_node(func)
        if last in MODULE_ARGUMENT_CALLS:
            position, keywords = MODULE_ARGUMENT_CALLS[last]
            arg = self._argument(updated, position, keywords)
            if arg is not None:
                updated = self._with_argument(updated, arg, original, what)
        elif last in MODULE_KEYWORD_CALLS:
            arg = self._argument(updated, -1, ("module",))
            if arg is not None:
                updated = self._with_argument(updated, arg, original, what)
        elif isinstance(func, cst.Name) and last == "setattr":
            name, value = self._argument(updated, 1, ("name",)), self._argument(updated, 2, ("value",))
            if name is not None and value is not None and string_value(name.value) in MODULE_ATTRIBUTES:
                updated = self._with_argument(updated, value, original, what)
        elif isinstance(func, cst.Name) and last in CODE_CALLS:
            updated = self._code_call(original, updated, last)
        elif last == "startswith" and isinstance(func, cst.Attribute) and self._module_name(func.value):
            arg = self._argument(updated, 0, ())
            if arg is not None:
                updated = self._with_compared(updated, arg, original, sure=self._module_name(func.value, sure=True))
        for arg in updated.args:
            if arg.keyword is not None and arg.keyword.value == "__module__":
                updated = self._with_argument(updated, arg, original, what)
        return updated

    def _with_compared(self, call: cst.Call, arg: cst.Arg, original: cst.CSTNode, *, sure: bool) -> cst.Call:
        new = self._compared(arg.value, original, sure=sure)
        return (
            call
            if new is None
            else call.with_changes(args=[a.with_changes(value=new) if a is arg else a for a in call.args])
        )

    def _compared(self, expr: cst.BaseExpression, original: cst.CSTNode, *, sure: bool) -> cst.BaseExpression | None:
        """What a module name is compared with (or tested to start with): a module name too; a
        tuple, list or set display of them element by element."""
        if isinstance(expr, (cst.Tuple, cst.List, cst.Set)):
            elements = list(expr.elements)
            changed = False
            for i, element in enumerate(elements):
                if isinstance(element, cst.Element):
                    new = self._rewrite_string(
                        element.value, original, "comparison", "module", ".", dynamic=sure, paths=True
                    )
                    if new is not None:
                        elements[i], changed = element.with_changes(value=new), True
            return expr.with_changes(elements=elements) if changed else None
        return self._rewrite_string(expr, original, "comparison", "module", ".", dynamic=sure, paths=True)

    def _rewrite_call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        target = self._call_target(updated)
        if target is None:
            return updated
        qualified, kind, position, keywords = target
        arg = self._argument(updated, position, keywords)
        if arg is None:
            return updated
        if qualified in MONKEYPATCH_ATTR_CALLS and string_pieces(arg.value) is None:
            return updated  # an object and an attribute name
        separators = ".:" if qualified.endswith("resolve_name") else "."
        new = self._rewrite_string(arg.value, original, qualified, kind, separators)
        if new is None:
            return updated
        return updated.with_changes(args=[a.with_changes(value=new) if a is arg else a for a in updated.args])

    # ---- code in strings ---------------------------------------------------------------------

    def _code_call(self, original: cst.Call, updated: cst.Call, name: str) -> cst.Call:
        """``exec("from foo import *", ns)``: a literal is rewritten as code; anything else noted."""
        arg = self._argument(updated, 0, ("source", "expression", "object"))
        if arg is None:
            return updated
        value = arg.value
        if isinstance(value, cst.SimpleString) and "b" not in value.prefix.lower():
            new = self._code_string(value, original, "code")
            if new is None:
                return updated
            return updated.with_changes(args=[a.with_changes(value=new) if a is arg else a for a in updated.args])
        if string_value(value) is None and not isinstance(value, (cst.ConcatenatedString, cst.FormattedString)):
            self._note(
                original, f"{name}()", "code not known statically; imports in it are not rewritten", Code.DYNAMIC_CODE
            )
        return updated

    def _code_string(
        self, node: cst.SimpleString, original: cst.CSTNode, kind: Literal["code", "imports", "program"]
    ) -> cst.SimpleString | None:
        """A string (or bytes) literal holding Python code, with the code rewritten; None when it is
        not code. ``kind``: ``"code"``, any (an argument of ``exec``); ``"imports"``, only import
        statements, one naming a renamed module; ``"program"``, several lines of code with an
        import statement naming one (a script handed to another interpreter)."""
        try:
            evaluated = node.evaluated_value
            value = evaluated.decode("utf-8") if isinstance(evaluated, bytes) else evaluated
        except Exception:  # noqa: BLE001 - an escape libcst cannot evaluate, or not UTF-8: not code we rewrite
            return None
        if not isinstance(value, str) or not self.names.mentions(value.encode("utf-8", "surrogatepass")):
            return None
        if kind == "program" and ("\n" not in value.strip() or not self._imports_renamed(value)):
            return None
        try:
            module = cst.parse_module(value)
        except (cst.ParserSyntaxError, RecursionError):
            return None
        if kind == "imports" and not all(
            isinstance(s, cst.SimpleStatementLine) and all(isinstance(b, (cst.Import, cst.ImportFrom)) for b in s.body)
            for s in module.body
        ):
            return None
        aliases = Aliases()
        module.visit(aliases)
        new, *_ = rewrite_module(module, self.names, aliases.aliases, 0)
        if new is None:
            return None
        text = new.decode("utf-8", "surrogatepass")
        raw = node.value[len(node.prefix) + len(node.quote) : -len(node.quote)]
        if raw == value and node.quote not in text and "\\" not in text and ("\n" not in text or len(node.quote) == 3):
            literal = node.prefix + node.quote + text + node.quote
        else:
            is_bytes = isinstance(evaluated, bytes)
            literal = (
                repr(text.encode("utf-8")) if is_bytes else ("u" if "u" in node.prefix.lower() else "") + repr(text)
            )
            if literal.lstrip("ub")[0] in self._quotes:
                return None
        self.changes += 1
        self.strings.append(Relocation(self._position(original)[0], value, text, "code"))
        return node.with_changes(value=literal)

    def _imports_renamed(self, text: str) -> bool:
        """Does ``text`` hold an import statement naming a renamed module (a quick test)?"""
        return any(
            re.search(rf"(?m)^[ \t]*(?:from[ \t]+{re.escape(n)}\b|import[ \t]+{re.escape(n)}\b)", text) is not None
            for n in self.names.imports
        )

    def visit_Expr(self, node: cst.Expr) -> bool:
        self._kept.add(node.value)  # a string statement is a docstring or prose
        return True

    def leave_SimpleString(self, original: cst.SimpleString, updated: cst.SimpleString) -> cst.BaseExpression:
        """A literal that is code importing a renamed module: import statements only (``("from
        sympy.functions import *",)`` in an option table that ``exec`` runs), or a program of
        several lines (click's tests hand one to ``python -``, as bytes)."""
        if not self.names.strings or original in self._kept:
            return updated
        body = updated.value[len(updated.prefix) + len(updated.quote) :].lstrip()
        new = None
        if body.startswith(("from ", "import ")) and "b" not in updated.prefix.lower():
            new = self._code_string(updated, original, "imports")
        if new is None and len(updated.quote) == 3 and "import" in body:
            new = self._code_string(updated, original, "program")
        return updated if new is None else new

    # ---- a command line that runs a module ------------------------------------------------------

    def leave_List(self, original: cst.List, updated: cst.List) -> cst.BaseExpression:
        return self._run_module(original, updated)

    def leave_Tuple(self, original: cst.Tuple, updated: cst.Tuple) -> cst.BaseExpression:
        return self._run_module(original, updated)

    def _run_module(self, original: cst.CSTNode, updated: cst.List | cst.Tuple) -> cst.BaseExpression:
        """``[sys.executable, "-m", "foo", ...]``: the element after ``"-m"`` names the module
        another interpreter runs (jsonschema's tests run ``python -m jsonschema``), and after
        ``"-c"`` is the code it runs (pandas' ``python -c "import pandas; ..."``)."""
        if not self.names.strings:
            return updated
        elements = list(updated.elements)
        changed = False
        for i, element in enumerate(elements[:-1]):
            after = elements[i + 1]
            flag = string_value(element.value)
            if flag not in ("-m", "-c") or not isinstance(after, cst.Element):
                continue
            if flag == "-m":
                new = self._rewrite_string(after.value, original, "-m", "module", ".", paths=True)
            else:
                code = after.value
                new = self._code_string(code, original, "code") if isinstance(code, cst.SimpleString) else None
            if new is not None:
                elements[i + 1], changed = after.with_changes(value=new), True
        return updated.with_changes(elements=elements) if changed else updated

    # ---- assignments of module names ---------------------------------------------------------

    def _names_module_target(self, target: cst.BaseExpression) -> bool:
        """``x.__module__``, ``__module__`` (a class body), ``__package__``, ``__name__``, ``d["__module__"]``."""
        if isinstance(target, cst.Name):
            return target.value in (*MODULE_ATTRIBUTES, "__name__")
        if isinstance(target, cst.Attribute):
            return target.attr.value in MODULE_ATTRIBUTES
        if isinstance(target, cst.Subscript) and len(target.slice) == 1:
            index = target.slice[0].slice
            return isinstance(index, cst.Index) and string_value(index.value) == "__module__"
        return False

    def leave_Assign(self, original: cst.Assign, updated: cst.Assign) -> cst.BaseSmallStatement:
        if self.names.strings and any(self._names_module_target(t.target) for t in updated.targets):
            new = self._rewrite_string(updated.value, original, "__module__", "module", ".", paths=True)
            if new is not None:
                return updated.with_changes(value=new)
        return self._import_function_value(original, updated)

    def leave_AnnAssign(self, original: cst.AnnAssign, updated: cst.AnnAssign) -> cst.BaseSmallStatement:
        if self.names.strings and updated.value is not None and self._names_module_target(updated.target):
            new = self._rewrite_string(updated.value, original, "__module__", "module", ".", paths=True)
            if new is not None:
                return updated.with_changes(value=new)
        return updated

    def leave_DictElement(self, original: cst.DictElement, updated: cst.DictElement) -> cst.DictElement:
        if self.names.strings and string_value(updated.key) == "__module__":
            new = self._rewrite_string(updated.value, original, "__module__", "module", ".", paths=True)
            if new is not None:
                return updated.with_changes(value=new)
        return updated

    def _import_function(self, value: cst.BaseExpression) -> bool:
        """``__import__``, ``importlib.import_module``, ``getattr(builtins, "__import__")``."""
        if isinstance(value, (cst.Name, cst.Attribute)):
            return self._qualified(value) in IMPORT_FUNCTIONS
        if isinstance(value, cst.Call) and isinstance(value.func, cst.Name) and value.func.value == "getattr":
            owner, name = self._argument(value, 0, ()), self._argument(value, 1, ())
            return (
                owner is not None
                and name is not None
                and len(value.args) == 2
                and self._qualified(owner.value) in ("builtins", "__builtins__")
                and string_value(name.value) == "__import__"
            )
        return False

    def _import_function_value(self, original: cst.Assign, updated: cst.Assign) -> cst.Assign:
        """``import_ = __import__``: the import function taken as a value maps its first argument
        wherever it is called (``compat.import_(name)`` in another module)."""
        value = updated.value
        if not self.names.strings or not self.names.imports or not self._import_function(value):
            return updated
        quote = self._quote() or "'"
        old = _CODE.code_for_node(updated.value)
        text = f"(lambda f: lambda name, *a, **k: f({mapping_call(self.names, 'name', quote)}, *a, **k))({old})"
        self.changes += 1
        self.strings.append(Relocation(self._position(original)[0], old, text, "mapped"))
        return updated.with_changes(value=cst.parse_expression(text))

    # ---- sys.modules keys and comparisons ----------------------------------------------------

    def leave_Subscript(self, original: cst.Subscript, updated: cst.Subscript) -> cst.BaseExpression:
        if len(updated.slice) != 1:
            return updated
        element = updated.slice[0]
        if not isinstance(element.slice, cst.Index) or self._qualified(updated.value) != "sys.modules":
            return updated
        key = self._plain_tails(element.slice.value, original)
        key = self._rewrite_string(key or element.slice.value, original, "sys.modules[...]", "module", ".") or key
        if key is None:
            return updated
        return updated.with_changes(slice=[element.with_changes(slice=element.slice.with_changes(value=key))])

    def _plain_tails(self, key: cst.BaseExpression, original: cst.CSTNode) -> cst.BaseExpression | None:
        """A ``sys.modules`` key built from a literal head and a module's name after a dot
        (``f"pkg.compat.{m}"``, ``"pkg." + m``, with ``m`` a key of ``sys.modules``): that name
        back to the name as written, as the original has it there."""
        if not isinstance(key, cst.FormattedString) or not self.names.strings or not self.names.imports:
            return None
        quote = self._quote(key.end)
        parts = list(key.parts)
        for i, part in enumerate(parts):
            if (
                quote is not None
                and i > 0
                and isinstance(part, cst.FormattedStringExpression)
                and isinstance(part.expression, cst.Name)
                and any(part.expression.value in s for s in self._module_vars)
                and part.conversion is None
                and part.format_spec is None
                and isinstance(parts[i - 1], cst.FormattedStringText)
                and parts[i - 1].value.endswith(".")  # type: ignore[attr-defined]
            ):
                old = part.expression.value
                text = unmapping_call(self.names, old, quote)
                parts[i] = part.with_changes(expression=cst.parse_expression(text))
                self.changes += 1
                self.strings.append(Relocation(self._position(original)[0], old, text, "name"))
        return key.with_changes(parts=parts) if parts != list(key.parts) else None

    def leave_Comparison(self, original: cst.Comparison, updated: cst.Comparison) -> cst.BaseExpression:
        if len(updated.comparisons) != 1:
            return updated
        target = updated.comparisons[0]
        operator, left, right = target.operator, updated.left, target.comparator
        if isinstance(operator, (cst.In, cst.NotIn)):
            if self._qualified(right) == "sys.modules":
                new = self._rewrite_string(left, original, "... in sys.modules", "module", ".")
                return updated if new is None else updated.with_changes(left=new)
            if self.names.strings and self._module_name(left):
                new = (
                    self._compared(right, original, sure=False)
                    if isinstance(right, (cst.Tuple, cst.List, cst.Set))
                    else None
                )
                if new is not None:
                    return updated.with_changes(comparisons=[target.with_changes(comparator=new)])
            return updated
        if not self.names.strings or not isinstance(operator, (cst.Equal, cst.NotEqual)):
            return updated
        if self._module_name(left) and not self._module_name(right):
            new = self._compared(right, original, sure=self._module_name(left, sure=True))
            if new is not None:
                return updated.with_changes(comparisons=[target.with_changes(comparator=new)])
        elif self._module_name(right) and not self._module_name(left):
            new = self._compared(left, original, sure=self._module_name(right, sure=True))
            if new is not None:
                return updated.with_changes(left=new)
        return updated


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
