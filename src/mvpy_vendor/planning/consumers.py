"""Consumers placed by their imports: a name imported but not declared gets the version a requirement pins.

s3fs requires only ``aiobotocore~=2.5.4`` and imports ``botocore`` itself. Installed alone, it
gets the botocore that aiobotocore pins (1.31.17): that is the environment it was released and
tested against. When aiobotocore is evicted into a world of its own (the main world holds boto3
and botocore 1.44), s3fs stays in the main world, and its plain ``import botocore`` would find
the main world's 1.44 while its aiobotocore runs on the renamed 1.31.17. So, for every output:

* the names it can see *in its own world* (its own, and its requirements' there, as
  :meth:`.graph.Graph.closure` with ``local`` gives them) decide as before;
* a top-level name that only something reached *through a link* provides (a member of another
  world, required directly or transitively), and that the output's own sources import
  (:mod:`.imports`), is mapped to the copy that world uses: an :class:`ImportPlacement`, with
  the chain of requirements that pins it, shown in the plan;
* where that is ambiguous, nothing is changed and a warning names both sides: two requirements
  reach different copies of the name (two versions, or several distributions providing it
  under different names), or its own world already gives it one copy and a linked world pins
  another.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from packaging.utils import NormalizedName
from packaging.version import Version

from mvpy_vendor.errors import Code, Problem, Severity
from mvpy_vendor.wheel.validate import WheelInfo

from .graph import Binding, Graph

if TYPE_CHECKING:
    from .plan import Output

__all__ = ["ImportPlacement", "Placed", "place_imports"]

#: (wheel, the names asked about) -> which of them its sources import, each with where (``member:line``)
ImportScan = Callable[[WheelInfo, Collection[str]], Mapping[str, str]]


@dataclass(frozen=True)
class ImportPlacement:
    """A top-level name an output imports without declaring it, and the copy it is given."""

    #: the import name as written (``botocore``)
    name: str
    #: the distribution and version that provide it (``botocore`` 1.31.17), and its world
    distribution: NormalizedName
    version: Version
    world: int
    #: the output that provides it (its key) and the name the import is rewritten to
    output: str
    target: str
    #: the first place the output imports it (``s3fs/core.py:28``)
    where: str
    #: the requirements that pin it, from the output's own (``aiobotocore~=2.5.4 -> botocore<1.31.18,>=1.31.17``)
    via: tuple[str, ...]

    @property
    def reason(self) -> str:
        chain = " -> ".join(self.via)
        renamed = f" as {self.target}" if self.target != self.name else ""
        return (
            f"imports {self.name} ({self.where}) without declaring it; {chain} pins "
            f"{self.distribution} {self.version} (world {self.world}): gets that{renamed}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": str(self.version),
            "world": self.world,
            "output": self.output,
            "target": self.target,
            "where": self.where,
            "via": list(self.via),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Placed:
    """What placing one output's imports decided: its placements and its ambiguity warnings."""

    imports: tuple[ImportPlacement, ...] = ()
    warnings: tuple[Problem, ...] = ()


def _what(graph: Graph, binding: Binding) -> str:
    return f"{binding[1]} {graph.wheel(binding).version} (world {binding[0]})"


def _via(graph: Graph, start: Binding, goal: Binding) -> tuple[str, ...]:
    return tuple(written for _, written, _ in graph.route(start, goal))


def place_imports(
    graph: Graph,
    outputs: Mapping[str, Output],
    provider: Mapping[Binding, str],
    renames: Mapping[str, Mapping[str, str]],
    scan: ImportScan,
) -> dict[str, Placed]:
    """For every output whose requirements reach another world: the names it imports from there.

    ``renames``: each output's own ``old -> new`` top-level names (empty for one that keeps
    them). Only outputs with something to decide are in the result.
    """
    result: dict[str, Placed] = {}
    for key, out in sorted(outputs.items()):
        start = (out.worlds[0], out.source.name)
        local = {start, *graph.closure(start, local=True)}
        outside = sorted(graph.closure(start) - local)
        if not outside:
            continue
        # its own names, and those of what it declares, are never placed: its requirement decides
        own = {n for _, dep in graph.deps(start) for n in graph.wheel(dep).import_names}
        own.update(out.source.import_names)
        reached: dict[str, list[Binding]] = {}
        for binding in outside:
            for name in graph.wheel(binding).import_names:
                if name not in own:
                    reached.setdefault(name, []).append(binding)
        imported = scan(out.source, sorted(reached))
        placements: list[ImportPlacement] = []
        warnings: list[Problem] = []

        def becomes(binding: Binding, name: str) -> str:
            return renames[provider[binding]].get(name, name)

        for name, where in sorted(imported.items()):
            if name not in reached:
                continue
            here = [b for b in sorted(local) if name in graph.wheel(b).import_names and b != start]
            there = reached[name]
            targets = {becomes(b, name) for b in there}
            mine = {becomes(b, name) for b in here}
            head = f"{out.source.display_name} imports {name} ({where}) without declaring it"
            if here and targets - mine:
                warnings.append(
                    _ambiguous(
                        out,
                        f"{head}, and its requirements give it different copies: "
                        f"{_what(graph, here[0])} in its own world through {' -> '.join(_via(graph, start, here[0]))}, "
                        f"{_what(graph, there[0])} through {' -> '.join(_via(graph, start, there[0]))}; "
                        f"it keeps its own world's {name}",
                    )
                )
                continue
            if here:
                continue
            if len(targets) > 1:
                first = there[0]
                other = next(b for b in there if becomes(b, name) != becomes(first, name))
                warnings.append(
                    _ambiguous(
                        out,
                        f"{head}, and its requirements pin different copies: "
                        f"{_what(graph, first)} through {' -> '.join(_via(graph, start, first))}, "
                        f"{_what(graph, other)} through {' -> '.join(_via(graph, start, other))}; "
                        f"its import of {name} is left as written",
                    )
                )
                continue
            chosen = there[0]
            wheel = graph.wheel(chosen)
            placements.append(
                ImportPlacement(
                    name=name,
                    distribution=chosen[1],
                    version=wheel.version,
                    world=chosen[0],
                    output=provider[chosen],
                    target=becomes(chosen, name),
                    where=where,
                    via=_via(graph, start, chosen),
                )
            )
        if placements or warnings:
            result[key] = Placed(tuple(placements), tuple(warnings))
    return result


def _ambiguous(out: Output, reason: str) -> Problem:
    return Problem(
        out.source.filename,
        reason,
        code=Code.AMBIGUOUS_IMPORT,
        severity=Severity.WARNING,
    )
