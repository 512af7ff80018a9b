"""Resolve worlds: the main world, and a world for every member that cannot live in it.

A world is a consistent set of (distribution, version) pairs. The main world is resolved from
the roots; a member whose own requirements cannot be met inside a world is *evicted*: it stays
visible to its requirers (they still import it by its name) but gets a world of its own, resolved
inside the given wheels, preferring the main world's versions wherever its requirements allow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from mvpy_vendor.errors import ConfigError
from mvpy_vendor.wheel.validate import WheelInfo

from .target import Target

__all__ = [
    "ROOT",
    "Edge",
    "Index",
    "World",
    "default_roots",
    "requirements_in_force",
    "resolve_worlds",
]

_MAX_STEPS = 50_000

ROOT = "<root>"


@dataclass(frozen=True)
class Edge:
    """A requirement in force inside a world: who asked (``ROOT`` for a root), and what."""

    requirer: str
    requirement: Requirement
    depth: int

    @property
    def name(self) -> NormalizedName:
        return canonicalize_name(self.requirement.name)


@dataclass(frozen=True)
class Index:
    """The usable wheels, by distribution name, highest version first, and the wheels left out (with why)."""

    by_name: Mapping[NormalizedName, tuple[WheelInfo, ...]]
    ignored: tuple[tuple[WheelInfo, str], ...] = ()

    @classmethod
    def build(cls, wheels: Sequence[WheelInfo], target: Target | None = None) -> Index:
        target = target if target is not None else Target()
        rank = {tag: i for i, tag in enumerate(target.tags())}
        python = target.environment()["python_full_version"]
        best: dict[tuple[NormalizedName, Version], tuple[int, WheelInfo]] = {}
        ignored: list[tuple[WheelInfo, str]] = []
        for wheel in sorted(wheels, key=lambda w: w.filename):
            ranks = [rank[t] for t in wheel.tags if t in rank]
            if not ranks:
                ignored.append((wheel, f"its tags do not fit the target ({target.describe()})"))
                continue
            if wheel.requires_python and not SpecifierSet(wheel.requires_python).contains(python, prereleases=True):
                ignored.append((wheel, f"it requires Python {wheel.requires_python} (the target: {target.describe()})"))
                continue
            score = min(ranks)
            current = best.get(wheel.key)
            if current is None or score < current[0]:
                if current is not None:
                    ignored.append((current[1], f"{wheel.filename} fits the target better"))
                best[wheel.key] = (score, wheel)
            else:
                ignored.append((wheel, f"{current[1].filename} fits the target better"))
        by_name: dict[NormalizedName, list[WheelInfo]] = {}
        for _, wheel in best.values():
            by_name.setdefault(wheel.name, []).append(wheel)
        ordered = {n: tuple(sorted(v, key=lambda w: w.version, reverse=True)) for n, v in by_name.items()}
        return cls(ordered, tuple(ignored))

    def get(self, name: NormalizedName, version: Version) -> WheelInfo | None:
        for wheel in self.by_name.get(name, ()):
            if wheel.version == version:
                return wheel
        return None


@dataclass(frozen=True)
class World:
    """One resolved world. ``links`` maps an evicted name to the world that provides it."""

    index: int
    roots: tuple[Edge, ...]
    members: Mapping[NormalizedName, WheelInfo]
    extras: Mapping[NormalizedName, frozenset[str]]
    edges: Mapping[NormalizedName, tuple[Edge, ...]]
    links: Mapping[NormalizedName, int]
    evicted_because: Mapping[NormalizedName, str]

    def member_requirements(self, name: NormalizedName) -> tuple[Edge, ...]:
        return self.edges.get(name, ())


def requirements_in_force(wheel: WheelInfo, extras: frozenset[str], env: Mapping[str, str]) -> list[Requirement]:
    """The wheel's Requires-Dist that apply for ``env`` with the given extras requested."""
    chosen: list[Requirement] = []
    for req in wheel.requires:
        if req.marker is None:
            chosen.append(req)
            continue
        for extra in sorted({"", *extras}):
            if req.marker.evaluate({**env, "extra": extra}):
                chosen.append(req)
                break
    return chosen


@dataclass
class _Conflict:
    progress: int
    requirer: str
    requirement: Requirement
    missing: bool


class _Search:
    """Backtracking search over one world; requirements are visited breadth first."""

    def __init__(
        self,
        index: Index,
        env: Mapping[str, str],
        prefer: Mapping[NormalizedName, Version],
        pinned: Mapping[NormalizedName, Version],
        evicted: frozenset[NormalizedName],
    ) -> None:
        self.index = index
        self.env = env
        self.prefer = prefer
        self.pinned = pinned
        self.evicted = evicted
        self.best: _Conflict | None = None
        self.steps = 0

    def _conflict(self, progress: int, edge: Edge, missing: bool = False) -> None:
        if self.best is None or progress > self.best.progress:
            self.best = _Conflict(progress, edge.requirer, edge.requirement, missing)

    def _candidates(self, edge: Edge) -> list[WheelInfo]:
        name = edge.name
        fitting = [
            w
            for w in self.index.by_name.get(name, ())
            if edge.requirement.specifier.contains(w.version, prereleases=True)
        ]
        if name in self.pinned:
            fitting = [w for w in fitting if w.version == self.pinned[name]]
        preferred = self.prefer.get(name)
        fitting.sort(key=lambda w: w.version != preferred)  # stable: otherwise highest first
        return fitting

    def _expand(self, wheel: WheelInfo, extras: frozenset[str], depth: int) -> list[Edge]:
        if wheel.name in self.evicted:
            return []
        return [Edge(wheel.name, req, depth) for req in requirements_in_force(wheel, extras, self.env)]

    def solve(
        self,
        pins: dict[NormalizedName, WheelInfo],
        extras: dict[NormalizedName, frozenset[str]],
        queue: list[Edge],
        i: int,
    ) -> tuple[dict[NormalizedName, WheelInfo], dict[NormalizedName, frozenset[str]], list[Edge]] | None:
        self.steps += 1
        if self.steps > _MAX_STEPS:
            return None
        while i < len(queue):
            edge = queue[i]
            name = edge.name
            chosen = pins.get(name)
            if chosen is not None:
                if not edge.requirement.specifier.contains(chosen.version, prereleases=True):
                    self._conflict(i, edge)
                    return None
                new = frozenset(edge.requirement.extras) - extras[name]
                if new:
                    extras = {**extras, name: extras[name] | new}
                    queue = queue + self._expand(chosen, new, edge.depth + 1)
                i += 1
                continue
            candidates = self._candidates(edge)
            if not candidates:
                self._conflict(
                    i,
                    edge,
                    missing=not any(
                        edge.requirement.specifier.contains(w.version, prereleases=True)
                        for w in self.index.by_name.get(name, ())
                    ),
                )
                return None
            for wheel in candidates:
                wanted = frozenset(edge.requirement.extras)
                result = self.solve(
                    {**pins, name: wheel},
                    {**extras, name: wanted},
                    queue + self._expand(wheel, wanted, edge.depth + 1),
                    i + 1,
                )
                if result is not None:
                    return result
                if self.steps > _MAX_STEPS:
                    return None
            return None
        return pins, extras, queue


@dataclass
class _Evicted:
    """Something a world could not hold: a member (with its pinned wheel) or a root requirement."""

    name: NormalizedName
    wheel: WheelInfo | None
    extras: frozenset[str]
    root: Requirement | None = None


def _resolve_world(
    number: int,
    roots: list[Edge],
    index: Index,
    env: Mapping[str, str],
    prefer: Mapping[NormalizedName, Version],
    pinned: Mapping[NormalizedName, Version],
) -> tuple[World, list[_Evicted]]:
    """Resolve one world; return it and what it evicted.

    A member whose requirements cannot be met here is evicted (it stays reachable by name from
    its requirers); in the main world, a root that cannot be met is split off into a world of
    its own.
    """
    evicted: set[NormalizedName] = set()
    split: list[Requirement] = []
    roots = list(roots)
    root_names = {e.name for e in roots}
    while True:
        search = _Search(index, env, prefer, pinned, frozenset(evicted))
        result = search.solve({}, {}, list(roots), 0)
        if result is not None:
            break
        conflict = search.best
        if conflict is None:
            raise ConfigError("resolution gave up: too many combinations to try")
        if conflict.missing:
            who = "the roots" if conflict.requirer == ROOT else conflict.requirer
            raise ConfigError(f"{who} requires {conflict.requirement}, which no given wheel satisfies")
        if conflict.requirer == ROOT and number == 0 and len(roots) > 1:
            split.append(conflict.requirement)
            roots = [e for e in roots if e.requirement is not conflict.requirement]
            continue
        culprit = canonicalize_name(conflict.requirer) if conflict.requirer != ROOT else None
        if culprit is None or culprit in evicted or (number > 0 and culprit in root_names):
            who = "the roots" if culprit is None else str(culprit)
            raise ConfigError(
                f"{who} requires {conflict.requirement}, which conflicts with the other requirements of its own world"
            )
        evicted.add(culprit)
    pins, extras, queue = result
    edges: dict[NormalizedName, list[Edge]] = {}
    for edge in queue:
        edges.setdefault(canonicalize_name(edge.requirer), []).append(edge)
    because: dict[NormalizedName, str] = {}
    out = []
    for name in sorted(evicted):
        if name in pins:
            because[name] = f"its requirements conflict with world {number}"
            out.append(_Evicted(name, pins[name], extras[name]))
    for req in split:
        name = canonicalize_name(req.name)
        because.setdefault(name, f"the root {req} conflicts with world {number}")
        out.append(_Evicted(name, None, frozenset(req.extras), root=req))
    world = World(
        index=number,
        roots=tuple(roots),
        members={n: w for n, w in sorted(pins.items()) if n not in evicted},
        extras=dict(sorted(extras.items())),
        edges={n: tuple(e) for n, e in edges.items()},
        links={},
        evicted_because=because,
    )
    return world, out


def resolve_worlds(
    index: Index,
    roots: Sequence[Requirement],
    primaries: Mapping[NormalizedName, Version],
    env: Mapping[str, str],
    prefer: Mapping[NormalizedName, Version] | None = None,
) -> list[World]:
    """Resolve the main world (index 0) and every world it spawns, in a stable order.

    A primary pin (setting ``primary``) both constrains the main world and makes that version one of its
    members, so that it is installed under its own name. ``prefer`` (what a resolver chose for the main
    world) is tried first in the main world; the other worlds prefer the main world's versions.
    """
    for name, version in primaries.items():
        if index.get(name, version) is None:
            raise ConfigError("no such wheel was given", setting="primary", value=f"{name}=={version}")
    root_edges = [Edge(ROOT, r, 0) for r in roots]
    root_edges += [Edge(ROOT, Requirement(f"{n}=={v}"), 0) for n, v in sorted(primaries.items())]
    main, pending = _resolve_world(0, root_edges, index, env, prefer or {}, primaries)
    worlds = [main]
    prefer = {n: w.version for n, w in main.members.items()}
    by_root: dict[tuple[str, frozenset[str]], int] = {}
    queue = [(main, item) for item in pending]
    links: dict[int, dict[NormalizedName, int]] = {0: {}}
    while queue:
        parent, item = queue.pop(0)
        if item.wheel is not None:
            extras = f"[{','.join(sorted(item.extras))}]" if item.extras else ""
            root = Requirement(f"{item.wheel.display_name}{extras}=={item.wheel.version}")
        else:
            assert item.root is not None
            root = item.root
        key = (str(root), item.extras)
        if key not in by_root:
            world, more = _resolve_world(len(worlds), [Edge(ROOT, root, 0)], index, env, prefer, {})
            by_root[key] = world.index
            worlds.append(world)
            links[world.index] = {}
            queue.extend((world, m) for m in more)
        if item.wheel is not None:
            links[parent.index][item.name] = by_root[key]
    return [replace(w, links=dict(sorted(links[w.index].items()))) for w in worlds]


def default_roots(index: Index, env: Mapping[str, str]) -> list[Requirement]:
    """The distributions that nothing in the set depends on."""
    required: set[NormalizedName] = set()
    for versions in index.by_name.values():
        for wheel in versions:
            for req in wheel.requires:
                required.add(canonicalize_name(req.name))
    return [
        Requirement(versions[0].display_name)
        for name, versions in sorted(index.by_name.items())
        if name not in required
    ]
