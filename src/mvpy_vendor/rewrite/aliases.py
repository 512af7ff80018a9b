"""The local names a file binds to modules and objects by its imports: the rewriter's alias map."""

from __future__ import annotations

import libcst as cst
from libcst.helpers import get_full_name_for_node

__all__ = ["Aliases"]


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
