"""Bindings between worlds: which (world, member) each requirement of a member lands on.

Inside a world a requirement binds to that world's member of the name; a name the world evicted
binds, through the world's ``links``, to the root of the world that provides it.
"""

from __future__ import annotations

from collections.abc import Sequence

from packaging.utils import NormalizedName
from packaging.version import Version

from mvpy_vendor.wheel.validate import WheelInfo

from .resolve import World

__all__ = ["Binding", "Graph"]

#: a member of a world: (world index, distribution)
Binding = tuple[int, NormalizedName]


class Graph:
    """Bindings between worlds: which (world, member) a requirement inside a world lands on."""

    def __init__(self, worlds: Sequence[World]) -> None:
        self.worlds = worlds
        self._closures: dict[tuple[Binding, bool], frozenset[Binding]] = {}

    def bind(self, world: int, name: NormalizedName) -> Binding | None:
        w = self.worlds[world]
        if name in w.members:
            return (world, name)
        if name in w.links:
            return (w.links[name], name)
        return None

    def deps(self, binding: Binding) -> list[tuple[str, Binding]]:
        world, name = binding
        found = []
        for edge in self.worlds[world].member_requirements(name):
            target = self.bind(world, edge.name)
            if target is not None:
                found.append((str(edge.requirement), target))
        return found

    def closure(self, start: Binding, *, local: bool = False) -> frozenset[Binding]:
        """Every binding reachable from ``start``, not including it.

        ``local``: do not follow links out of ``start``'s world (the linked root is included,
        what it needs in its own world is not): the names a member's code can see.
        """
        key = (start, local)
        cached = self._closures.get(key)
        if cached is not None:
            return cached
        seen: set[Binding] = set()
        stack = [start]
        while stack:
            for _, target in self.deps(stack.pop()):
                if target not in seen:
                    seen.add(target)
                    if not local or target[0] == start[0]:
                        stack.append(target)
        seen.discard(start)
        result = frozenset(seen)
        self._closures[key] = result
        return result

    def wheel(self, binding: Binding) -> WheelInfo:
        return self.worlds[binding[0]].members[binding[1]]

    def versions(self, bindings: frozenset[Binding]) -> frozenset[tuple[NormalizedName, Version]]:
        return frozenset((n, self.wheel((w, n)).version) for w, n in bindings)

    def route(self, start: Binding, goal: Binding) -> tuple[tuple[Binding, str, Binding], ...]:
        """The shortest chain of requirements from ``start`` to ``goal`` (each step: who requires,
        the requirement as written, what it binds to); empty if ``goal`` is not reachable."""
        parent: dict[Binding, tuple[Binding, str]] = {}
        queue = [start]
        for here in queue:  # breadth first; ``queue`` grows while it is walked
            if here == goal:
                break
            for written, target in self.deps(here):
                if target != start and target not in parent:
                    parent[target] = (here, written)
                    queue.append(target)
        if goal not in parent:
            return ()
        steps: list[tuple[Binding, str, Binding]] = []
        node = goal
        while node != start:
            before, written = parent[node]
            steps.append((before, written, node))
            node = before
        return tuple(reversed(steps))
