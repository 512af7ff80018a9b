"""The plan: every world, every output wheel and every name mapping, decided before anything is written.

``make_plan`` is pure: it takes validated wheel descriptions and resolved worlds and returns a
frozen :class:`Plan`. Finding which members mention a renamed name needs the wheels' bytes and is
done by :func:`mvpy_vendor.build.plan_build`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from . import __version__
from .errors import ConfigError
from .naming import filename_component, renamed_dist_name, renamed_import_name
from .resolve import ROOT, World
from .wheel_input import WheelInfo

__all__ = [
    "Output",
    "Placement",
    "Plan",
    "Role",
    "make_plan",
    "output_for",
    "requirements_txt",
]


class Role(str, enum.Enum):
    PRIMARY = "primary"
    SHARED = "shared"
    RENAMED = "renamed copy"
    CONSUMER = "rewritten consumer"


@dataclass(frozen=True)
class Output:
    """One wheel of the output wheelhouse and how to make it from its source wheel."""

    source: WheelInfo
    name: NormalizedName
    display_name: str
    renamed: bool
    worlds: tuple[int, ...]
    #: old top-level import name -> new, for every name this wheel's code may import
    import_map: tuple[tuple[str, str], ...] = ()
    #: old distribution name (canonical) -> new distribution name, for metadata lookups
    dist_map: tuple[tuple[str, str], ...] = ()
    #: Requires-Dist (as written, in force) -> what replaces it
    requires_map: tuple[tuple[str, str], ...] = ()
    #: members whose bytes mention an old name (the pre-filter's verdict)
    files_to_rewrite: tuple[str, ...] = ()
    note: str = ""
    #: appended to renamed names when two different private copies would clash
    suffix: str = ""

    @property
    def version(self) -> Version:
        return self.source.version

    @property
    def key(self) -> str:
        return f"{self.name}=={self.version}"

    @property
    def own_imports(self) -> dict[str, str]:
        """How this wheel's own top-level names are renamed (empty unless renamed)."""
        mapping = dict(self.import_map)
        return {n: mapping[n] for n in self.source.import_names if n in mapping}

    @property
    def top_level(self) -> tuple[str, ...]:
        """The top-level import names this output installs."""
        own = self.own_imports
        return tuple(sorted(own.get(n, n) for n in self.source.import_names))

    @property
    def action(self) -> str:
        if self.renamed:
            return "rename"
        if self.import_map or self.requires_map:
            return "rewrite"
        return "copy"

    @property
    def filename(self) -> str:
        tail = self.source.filename[: -len(".whl")].split("-")[-3:]
        build = [str(self.source.build_tag[0]) + self.source.build_tag[1]] if self.source.build_tag else []
        return "-".join([filename_component(self.name), str(self.version), *build, *tail]) + ".whl"

    def to_json(self) -> dict[str, Any]:
        return {
            "distribution": self.display_name,
            "version": str(self.version),
            "wheel": self.filename,
            "action": self.action,
            "source": {
                "wheel": self.source.filename,
                "distribution": self.source.display_name,
                "sha256": self.source.sha256,
            },
            "worlds": list(self.worlds),
            "top_level": list(self.top_level),
            "import_map": dict(self.import_map),
            "dist_map": dict(self.dist_map),
            "requires_map": dict(self.requires_map),
            "files_to_rewrite": list(self.files_to_rewrite),
            "note": self.note,
        }


@dataclass(frozen=True)
class Placement:
    """How one member of one world is provided."""

    world: int
    name: NormalizedName
    version: Version
    role: Role
    output: str

    def to_json(self) -> dict[str, Any]:
        return {
            "world": self.world,
            "distribution": self.name,
            "version": str(self.version),
            "role": self.role.value,
            "output": self.output,
        }


@dataclass(frozen=True)
class Plan:
    worlds: tuple[World, ...]
    placements: tuple[Placement, ...]
    outputs: tuple[Output, ...]
    ignored: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = field(default=())

    def output(self, key: str) -> Output:
        for out in self.outputs:
            if out.key == key:
                return out
        raise KeyError(key)

    def to_json(self) -> dict[str, Any]:
        return {
            "tool": {"name": "mvpy-vendor", "version": __version__},
            "worlds": [
                {
                    "index": w.index,
                    "roots": [str(e.requirement) for e in w.roots],
                    "members": {n: str(m.version) for n, m in w.members.items()},
                    "links": dict(sorted(w.links.items())),
                    "evicted": dict(sorted(w.evicted_because.items())),
                }
                for w in self.worlds
            ],
            "placements": [p.to_json() for p in self.placements],
            "outputs": [o.to_json() for o in self.outputs],
            "ignored": [{"wheel": w, "reason": r} for w, r in self.ignored],
            "notes": list(self.notes),
        }


Binding = tuple[int, NormalizedName]


class _Graph:
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


def make_plan(
    worlds: Sequence[World],
    all_wheels: Sequence[WheelInfo],
    ignored: Sequence[tuple[WheelInfo, str]] = (),
) -> Plan:
    """Decide every output wheel and every name mapping for resolved ``worlds``."""
    graph = _Graph(worlds)
    main = worlds[0]
    notes: list[str] = []
    taken_dists = {w.name for w in all_wheels}
    taken_imports = {n for w in all_wheels for n in w.import_names}

    # Pass 1: who provides each (world, member).
    outputs: dict[str, Output] = {}
    provider: dict[Binding, str] = {}
    roles: dict[Binding, Role] = {}
    real_names: set[NormalizedName] = set()
    by_identity: dict[tuple[NormalizedName, Version, frozenset[tuple[NormalizedName, Version]]], str] = {}

    def add(out: Output, binding: Binding, role: Role) -> None:
        outputs[out.key] = out
        provider[binding] = out.key
        roles[binding] = role

    for name, wheel in main.members.items():
        add(Output(wheel, wheel.name, wheel.display_name, False, (0,)), (0, name), Role.PRIMARY)
        real_names.add(name)
    for world in worlds[1:]:
        root_names = {e.name for e in world.roots if e.requirer == ROOT}
        for name, wheel in world.members.items():
            binding = (world.index, name)
            closure = graph.versions(graph.closure(binding))
            identity = (name, wheel.version, closure)
            main_wheel = main.members.get(name)
            if (
                main_wheel is not None
                and main_wheel.version == wheel.version
                and graph.versions(graph.closure((0, name))) == closure
            ):
                provider[binding] = provider[(0, name)]
                roles[binding] = Role.SHARED
                continue
            if identity in by_identity:
                key = by_identity[identity]
                out = outputs[key]
                outputs[key] = replace(out, worlds=(*out.worlds, world.index))
                provider[binding] = key
                roles[binding] = Role.RENAMED if out.renamed else Role.PRIMARY
                continue
            if name in root_names and name not in real_names:
                out = Output(wheel, wheel.name, wheel.display_name, False, (world.index,))
                real_names.add(name)
                role = Role.PRIMARY
            else:
                out = _renamed_output(wheel, world.index, taken_dists, taken_imports, notes)
                role = Role.RENAMED
            by_identity[identity] = out.key
            add(out, binding, role)

    outputs = _with_name_maps(graph, outputs, provider)

    placements = []
    for binding, key in sorted(provider.items()):
        role = roles[binding]
        if role is Role.PRIMARY and outputs[key].action != "copy":
            role = Role.CONSUMER
        placements.append(Placement(binding[0], binding[1], graph.wheel(binding).version, role, key))
    used = {o.source.path for o in outputs.values()} | {w.path for w, _ in ignored}
    unused = [(w.filename, "not needed by any world") for w in all_wheels if w.path not in used]
    return Plan(
        worlds=tuple(worlds),
        placements=tuple(placements),
        outputs=tuple(sorted(outputs.values(), key=lambda o: o.key)),
        ignored=tuple(sorted([(w.filename, why) for w, why in ignored] + unused)),
        notes=tuple(notes),
    )


def _with_name_maps(graph: _Graph, outputs: dict[str, Output], provider: Mapping[Binding, str]) -> dict[str, Output]:
    """Fill in every output's import, distribution and requirement maps.

    An output sees the names bound in its own world: its own, and those of everything it
    needs there (a linked world's root is seen, not what that root needs in its own world).
    """
    renames = {key: _renames_of(out) for key, out in outputs.items()}
    result: dict[str, Output] = {}
    for key, out in outputs.items():
        home = out.worlds[0]
        start = (home, out.source.name)
        import_map: dict[str, str] = {}
        owner: dict[str, str] = {}
        dist_map: dict[str, str] = {}
        for seen in [start, *sorted(graph.closure(start, local=True))]:
            target = outputs[provider[seen]]
            for old, new in renames[target.key].items():
                if import_map.setdefault(old, new) != new:
                    raise ConfigError(
                        f"{out.source.filename}: import name {old!r} is provided by both "
                        f"{owner[old]} and {target.key} in world {home}; a top-level name shared "
                        "by two distributions (a namespace package) cannot be renamed"
                    )
                owner.setdefault(old, target.key)
            if target.renamed:
                dist_map[target.source.name] = target.display_name
        requires_map: dict[str, str] = {}
        for written, dep in graph.deps(start):
            target = outputs[provider[dep]]
            if target.name != dep[1]:
                requires_map[written] = _pinned(written, target)
        result[key] = replace(
            out,
            import_map=tuple(sorted(import_map.items())),
            dist_map=tuple(sorted(dist_map.items())),
            requires_map=tuple(sorted(requires_map.items())),
        )
    return result


def _renames_of(out: Output) -> dict[str, str]:
    if not out.renamed:
        return {}
    return {n: renamed_import_name(n, out.version, out.suffix) for n in out.source.import_names}


def _renamed_output(
    wheel: WheelInfo, world: int, taken_dists: set[NormalizedName], taken_imports: set[str], notes: list[str]
) -> Output:
    n = 1
    while True:
        suffix = "" if n == 1 else f"_{n}"
        dist = renamed_dist_name(wheel.name, wheel.version, suffix)
        imports = {renamed_import_name(i, wheel.version, suffix) for i in wheel.import_names}
        if dist not in taken_dists and not imports & taken_imports:
            break
        n += 1
    taken_dists.add(dist)
    taken_imports.update(imports)
    note = ""
    if suffix:
        note = f"{wheel} in world {world} differs from another private copy of the same version; named {dist}"
        notes.append(note)
    return Output(wheel, dist, dist, True, (world,), note=note, suffix=suffix)


def _pinned(written: str, target: Output) -> str:
    """``foo[x]<2; marker`` bound to a renamed copy becomes ``mv-foo-1-0-0[x]==1.0.0; marker``."""
    req = Requirement(written)
    extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
    marker = f"; {req.marker}" if req.marker is not None else ""
    return f"{target.display_name}{extras}=={target.version}{marker}"


def requirements_txt(plan: Plan) -> str:
    return "".join(f"{o.display_name}=={o.version}\n" for o in plan.outputs)


def output_for(plan: Plan, world: int, name: str) -> Output:
    """The output that provides ``name`` inside ``world`` (for callers and tests)."""
    cname = canonicalize_name(name)
    for p in plan.placements:
        if p.world == world and p.name == cname:
            return plan.output(p.output)
    raise KeyError((world, name))
