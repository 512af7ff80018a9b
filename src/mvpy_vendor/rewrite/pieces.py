"""A string expression as the rewriter reads it: literal and dynamic pieces, left to right."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import libcst as cst

__all__ = ["StringPiece", "Substitute", "replace_text", "string_pieces", "string_value"]


@dataclass
class StringPiece:
    """One literal or dynamic piece of a string expression, left to right."""

    node: cst.CSTNode | None  # SimpleString or FormattedStringText; None when dynamic
    text: str  # raw text of the literal (without prefix and quotes)
    expr: cst.BaseExpression | None = None  # the dynamic expression, when there is one


def string_pieces(expr: cst.BaseExpression) -> list[StringPiece] | None:
    """Flatten a string expression into pieces, or None if it is not a string expression."""
    if isinstance(expr, cst.SimpleString):
        if "b" in expr.prefix.lower():
            return None
        return [StringPiece(expr, expr.value[len(expr.prefix) + len(expr.quote) : -len(expr.quote)])]
    if isinstance(expr, cst.ConcatenatedString):
        left, right = string_pieces(expr.left), string_pieces(expr.right)
        return None if left is None or right is None else left + right
    if isinstance(expr, cst.FormattedString):
        found: list[StringPiece] = []
        for part in expr.parts:
            if isinstance(part, cst.FormattedStringText):
                found.append(StringPiece(part, part.value))
            elif isinstance(part, cst.FormattedStringExpression):
                found.append(StringPiece(None, "", part.expression))
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
        left, right = string_pieces(expr.left), string_pieces(expr.right)
        if left is None and right is None:
            return None
        return (left or [StringPiece(None, "", expr.left)]) + (right or [StringPiece(None, "", expr.right)])
    return None


def _formatted(template: cst.BaseExpression, placeholder: str, dynamic: cst.BaseExpression) -> list[StringPiece] | None:
    if not isinstance(template, cst.SimpleString) or "b" in template.prefix.lower():
        return None
    text = template.value[len(template.prefix) + len(template.quote) : -len(template.quote)]
    cut = text.find(placeholder)
    return [StringPiece(template, text if cut < 0 else text[:cut]), StringPiece(None, "", dynamic)]


def string_value(node: cst.BaseExpression | None) -> str | None:
    if not isinstance(node, cst.SimpleString) or "b" in node.prefix.lower():
        return None
    return node.value[len(node.prefix) + len(node.quote) : -len(node.quote)]


class Substitute(cst.CSTTransformer):
    def __init__(self, mapping: Mapping[cst.CSTNode, cst.CSTNode]) -> None:
        super().__init__()
        self.mapping = mapping

    def on_leave(self, original: cst.CSTNode, updated: cst.CSTNode) -> cst.CSTNode:  # type: ignore[override]
        return self.mapping.get(original, updated)


def replace_text(piece: StringPiece, old: str, new: str) -> cst.CSTNode:
    node = piece.node
    if isinstance(node, cst.SimpleString):
        head = node.value[: len(node.prefix) + len(node.quote)]
        inner = node.value[len(head) : -len(node.quote)]  # the whole literal, also past a placeholder
        return node.with_changes(value=head + new + inner[len(old) :] + node.quote)
    text = new + piece.text[len(old) :]
    assert isinstance(node, cst.FormattedStringText)
    return node.with_changes(value=text)
