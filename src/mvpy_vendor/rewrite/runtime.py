"""The small mappings a rewritten file carries where a module name is only known at run time.

``func.__module__ = module`` in ``set_module(module)``, ``importlib.import_module(name)`` in a
loop over a tuple of names, ``sys.modules[key]``: the value comes from data (a literal elsewhere,
a parameter, a config file), so it cannot be rewritten where it is written; the rewriter leaves
it alone and maps it where it is *used* as a module name. The sink gets an inline call:

    func.__module__ = (lambda n, m={'foo': '_mv_foo_1_0_0'}: ...)(module)

which maps a plain name of this copy's world (``foo``, ``foo.sub``) to its renamed name and
returns every other value as it is (another name, an already renamed one, ``None``, an object).
It is plain Python inside the rewritten file: no import, no hook, no global state, and no
builtin name (a module may shadow ``str`` or ``len``), only the methods of the value itself.
The text is a pure function of the name map, so the fast path and the reference write the same.
"""

from __future__ import annotations

from collections.abc import Mapping

from .names import NameMap

__all__ = ["distribution_call", "mapping_call", "unmapping_call"]


def _dict(mapping: Mapping[str, str], quote: str) -> str:
    return "{" + ", ".join(f"{quote}{k}{quote}: {quote}{v}{quote}" for k, v in sorted(mapping.items())) + "}"


def _tuple(items: list[str], quote: str) -> str:
    return "(" + "".join(f"{quote}{i}{quote}, " for i in items) + ")"


def _map_first(
    mapping: Mapping[str, str], value: str, quote: str, namespaces: Mapping[str, list[str]] | None = None
) -> str:
    """``value`` with its first dotted component mapped through ``mapping`` when it is a ``str``.

    Under a renamed namespace (``google``) only the module paths of the copy move: the namespace
    itself, a module file's path (in ``namespaces``) or a path under one."""
    dot, empty = f"{quote}.{quote}", f"{quote}{quote}"
    defaults = f"m={_dict(mapping, quote)}"
    mapped = "m.get(h, h)"
    if namespaces:
        tops = sorted(namespaces)
        files = sorted({p for ps in namespaces.values() for p in ps})
        known, under = _tuple(sorted({*tops, *files}), quote), _tuple([p + "." for p in files], quote)
        defaults += f", s={_tuple(tops, quote)}, k={known}, d={under}"
        mapped = "(m.get(h, h) if h not in s or n in k or n.startswith(d) else h)"
    body = f"(lambda h, p, t: {mapped} + p + t)(*n.partition({dot}))"
    return f"(lambda n, {defaults}: {body} if n.__class__ is {empty}.__class__ else n)({value})"


def mapping_call(names: NameMap, value: str, quote: str = "'") -> str:
    """An expression: ``value`` with a plain module name of this world mapped to its renamed name."""
    namespaces = {
        top: [p for p in paths if not p.endswith(".")] for top, paths in names.modules.items() if top in names.imports
    }
    return _map_first(names.imports, value, quote, namespaces)


def unmapping_call(names: NameMap, value: str, quote: str = "'") -> str:
    """An expression: ``value`` (a module name as Python knows it) with a renamed first component
    back to the name as written: the tail of a key the original builds from a module's name."""
    return _map_first({v: k for k, v in names.imports.items()}, value, quote)


def distribution_call(names: NameMap, value: str, quote: str = "'") -> str:
    """An expression: ``value`` with a distribution name of this world mapped to its renamed one."""
    under, dash, dot = (f"{quote}{c}{quote}" for c in "_-.")
    canonical = f"n.lower().replace({under}, {dash}).replace({dot}, {dash})"
    empty = f"{quote}{quote}"
    return (
        f"(lambda n, m={_dict(names.dists, quote)}: m.get({canonical}, n) "
        f"if n.__class__ is {empty}.__class__ else n)({value})"
    )
