"""The plan: every world, every output wheel, every name mapping and every member's fate.

``make_plan`` is pure: it takes validated wheel descriptions and resolved worlds and returns a
frozen :class:`Plan` whose outputs have their name maps. What happens to each member of each
output (:class:`MemberPlan`) needs the wheels' bytes and is decided by
:mod:`mvpy_vendor.planning.members`; after that nothing is left to decide, only to execute.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from mvpy_vendor._version import __version__
from mvpy_vendor.errors import ConfigError, Problem
from mvpy_vendor.naming import (
    dist_info_dir,
    filename_component,
    renamed_dist_name,
    renamed_import_name,
    shared_namespace_name,
)
from mvpy_vendor.native.model import NativeModule
from mvpy_vendor.wheel.layout import EXTENSION_SUFFIXES, installed_path, module_name_of
from mvpy_vendor.wheel.validate import WheelInfo

from .consumers import ImportPlacement, ImportScan, place_imports
from .graph import Binding, Graph
from .hooks import Alias
from .resolve import ROOT, World
from .target import Target

__all__ = [
    "Action",
    "MemberPlan",
    "Output",
    "Placement",
    "Plan",
    "Role",
    "make_plan",
    "output_for",
    "UNNEEDED",
    "requirements_txt",
]


class Role(str, enum.Enum):
    PRIMARY = "primary"
    SHARED = "shared"
    RENAMED = "renamed copy"
    CONSUMER = "rewritten consumer"


class Action(str, enum.Enum):
    """What is done with one member of a source wheel."""

    #: copied as it is stored (never inflated or deflated again)
    COPY = "copy"
    #: Python source (a module, a stub, a ``#!python`` script) rewritten
    REWRITE = "rewrite"
    #: a ``.pth`` file: its ``import`` lines rewritten as Python, its paths moved
    REWRITE_PTH = "rewrite-pth"
    #: METADATA, ``entry_points.txt`` or ``top_level.txt`` rewritten
    METADATA = "metadata"
    #: a compiled module patched (strings repointed, ``PyInit_`` renamed)
    PATCH = "patch"
    #: a compiled module dropped; the pure-Python source shipped beside it is used
    DEACCELERATE = "de-accelerate"
    #: not written (see the reason)
    DROP = "drop"
    #: RECORD, written anew for the output
    REGENERATE = "regenerate"
    #: cannot be made safe: the build fails with the member plan's problem
    REFUSE = "refuse"
    #: a module that only runs an import hook aliasing a plain name: written as an empty module
    NEUTRALISE = "neutralise"


@dataclass(frozen=True)
class MemberPlan:
    """What will happen to one member, where it goes, and why."""

    member: str
    action: Action
    #: its name in the output wheel (None: not written)
    target: str | None
    reason: str = ""
    #: an error (``REFUSE``) or a warning that comes with doing it
    problem: Problem | None = None
    #: what inspecting a compiled module found
    native: NativeModule | None = None
    #: ``PyInit_`` old and new suffix, for a compiled module whose last name component changes
    init_rename: tuple[str, str] | None = None
    #: what handling it leaves out of the output (the member itself, or console scripts it declares)
    drops: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"member": self.member, "action": self.action.value}
        if self.target != self.member:
            data["target"] = self.target
        if self.reason:
            data["reason"] = self.reason
        if self.problem is not None:
            data["problem"] = self.problem.to_json()
        if self.native is not None:
            data["native"] = self.native.to_json()
        if self.init_rename is not None:
            data["init_rename"] = list(self.init_rename)
        if self.drops:
            data["drops"] = list(self.drops)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MemberPlan:
        init = data.get("init_rename")
        return cls(
            member=data["member"],
            action=Action(data["action"]),
            target=data.get("target", data["member"]),
            reason=data.get("reason", ""),
            problem=Problem.from_json(data["problem"]) if "problem" in data else None,
            native=NativeModule.from_json(data["native"]) if "native" in data else None,
            init_rename=(str(init[0]), str(init[1])) if init else None,
            drops=tuple(data.get("drops", ())),
        )


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
    note: str = ""
    #: appended to renamed names when two different private copies would clash
    suffix: str = ""
    #: what happens to every member (empty for an output copied whole), in the order written
    members: tuple[MemberPlan, ...] = ()
    #: a file that mentions a renamed name but cannot be parsed is copied with a warning (else: an error)
    allow_unparsable: bool = False
    #: string literals naming a renamed module are kept as written, not relocated (setting ``keep-strings``)
    keep_strings: bool = False
    #: why it is a renamed copy (what its plain name would collide with)
    why: str = ""
    #: own top-level names that are a namespace shared with other renamed copies -> its one new name
    namespaces: tuple[tuple[str, str], ...] = ()
    #: for each namespace in ``import_map``: the module paths under it that the renamed copies
    #: install (``a.b``; a package as ``a.``): the only strings relocated under that name
    module_paths: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: plain names its import hooks serve as its own modules (``distutils``): renamed with it
    aliases: tuple[Alias, ...] = ()
    #: names its code imports without declaring them, given the copy a requirement pins
    placed: tuple[ImportPlacement, ...] = ()
    #: names its code imports without declaring them that its requirements pin ambiguously (warnings)
    placement_warnings: tuple[Problem, ...] = ()
    #: what an installer gives it alone, where that is not its world's members: it requires
    #: something another world provides (verify's original environment for it)
    original: tuple[tuple[NormalizedName, Version], ...] = ()

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
    def moved(self) -> dict[str, str]:
        """Packages installed as top-level names of their own: an alias's target directory
        (``setuptools/_distutils``) -> its renamed name (``_mv_distutils_65_5_1``)."""
        mapping = dict(self.import_map)
        return {a.target.replace(".", "/"): mapping[a.name] for a in self.aliases if a.name in mapping}

    @property
    def top_level(self) -> tuple[str, ...]:
        """The top-level import names this output installs."""
        own = self.own_imports
        return tuple(sorted([*(own.get(n, n) for n in self.source.import_names), *self.moved.values()]))

    @property
    def action(self) -> str:
        if self.renamed:
            return "rename"
        if self.import_map or self.requires_map:
            return "rewrite"
        return "copy"

    @property
    def dist_info(self) -> str:
        """The output's ``.dist-info`` directory."""
        return dist_info_dir(self.name, self.version) if self.renamed else self.source.dist_info

    @property
    def dropped(self) -> tuple[str, ...]:
        """What is left out of the output, and why (scripts, entry points, signatures)."""
        return tuple(d for m in self.members for d in m.drops)

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
            "note": self.note,
            "why": self.why,
            "aliases": [a.to_json() for a in self.aliases],
            "placed_imports": [p.to_json() for p in self.placed],
            "placement_warnings": [w.to_json() for w in self.placement_warnings],
            "original": {n: str(v) for n, v in self.original},
            "allow_unparsable": self.allow_unparsable,
            "keep_strings": self.keep_strings,
            "namespaces": dict(self.namespaces),
            "module_paths": {k: list(v) for k, v in self.module_paths},
            "members": [m.to_json() for m in self.members],
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
    #: every validated input wheel
    inputs: tuple[WheelInfo, ...] = ()
    target: Target = field(default_factory=Target)

    def output(self, key: str) -> Output:
        for out in self.outputs:
            if out.key == key:
                return out
        raise KeyError(key)

    def to_json(self) -> dict[str, Any]:
        return {
            "tool": {"name": "mvpy-vendor", "version": __version__},
            "target": self.target.to_json(),
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


#: why a valid wheel that fits the target is left out
UNNEEDED = "not needed by any world"

Identity = tuple[NormalizedName, Version, frozenset[tuple[NormalizedName, Version]]]


class _Collisions:
    """Why a member of a world other than the main one cannot keep its name, if it can't.

    Only what collides is renamed: a distribution that the other worlds need at one version
    with one set of dependencies, that the main world does not have, and whose import names
    nothing else provides, keeps its name and is installed once.
    """

    def __init__(self, graph: Graph, worlds: Sequence[World], rename: Collection[NormalizedName]) -> None:
        self.rename = rename
        self.main = worlds[0]
        self.identities: dict[NormalizedName, set[Identity]] = {}
        self.providers: dict[str, set[NormalizedName]] = {}
        for world in worlds:
            for name, wheel in world.members.items():
                for imported in wheel.import_names:
                    self.providers.setdefault(imported, set()).add(name)
                if world.index:
                    identity = (name, wheel.version, graph.versions(graph.closure((world.index, name))))
                    self.identities.setdefault(name, set()).add(identity)

    def why(self, name: NormalizedName, wheel: WheelInfo, taken: Collection[NormalizedName]) -> str | None:
        if name in self.rename:
            return "renaming it was asked for (setting rename)"
        if name in self.main.members:
            return f"{self.main.members[name]} keeps the name in world 0"
        if name in taken:
            return f"another {name} keeps the name"
        if len(self.identities.get(name, ())) > 1:
            return f"{name} is needed in {len(self.identities[name])} different versions or dependency sets"
        for imported in wheel.import_names:
            others = sorted(self.providers.get(imported, set()) - {name})
            if others:
                return f"its import name {imported!r} is also provided by {', '.join(others)}"
        return None


def make_plan(
    worlds: Sequence[World],
    all_wheels: Sequence[WheelInfo],
    ignored: Sequence[tuple[WheelInfo, str]] = (),
    rename: Collection[NormalizedName] = (),
    aliases: Callable[[WheelInfo], Sequence[Alias]] | None = None,
    imports: ImportScan | None = None,
) -> Plan:
    """Decide every output wheel and every name mapping for resolved ``worlds``.

    ``rename``: distributions to rename wherever they are not the main world's, even where
    nothing collides with them (setting ``rename``). ``aliases``: the plain names a wheel's
    import hooks serve (read from its files, only for a wheel that is renamed). ``imports``:
    which of some top-level names a wheel's code imports (read from its files, only for a wheel
    whose requirements reach another world; see :mod:`.consumers`); without it, nothing is
    placed by its imports.
    """
    graph = Graph(worlds)
    main = worlds[0]
    notes: list[str] = []
    taken_dists = {w.name for w in all_wheels}
    taken_imports = {n for w in all_wheels for n in w.import_names}
    collisions = _Collisions(graph, worlds, rename)

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
        # top-level names two members of this world provide: a renamed copy's gets a shared name
        provided = [n for m in world.members.values() for n in set(m.import_names)]
        shared_names = {n for n in provided if provided.count(n) > 1}
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
            # A world's own root keeps its name where it can: its requirers elsewhere import it by it.
            kept_root = name in root_names and name not in real_names and name not in rename
            why = None if kept_root else collisions.why(name, wheel, real_names)
            if why is None:
                out = Output(wheel, wheel.name, wheel.display_name, False, (world.index,))
                real_names.add(name)
                role = Role.PRIMARY
            else:
                out = replace(
                    _renamed_output(wheel, world.index, taken_dists, taken_imports, notes, shared_names),
                    why=why,
                    aliases=tuple(aliases(wheel)) if aliases is not None else (),
                )
                role = Role.RENAMED
            by_identity[identity] = out.key
            add(out, binding, role)

    shared = _shared_namespaces(worlds, outputs, provider, taken_imports)
    outputs = {k: replace(o, namespaces=shared[k]) if k in shared else o for k, o in outputs.items()}
    if imports is not None:
        renames = {key: _renames_of(out) for key, out in outputs.items()}
        for key, placed in place_imports(graph, outputs, provider, renames, imports).items():
            outputs[key] = replace(outputs[key], placed=placed.imports, placement_warnings=placed.warnings)
    outputs = {k: replace(o, original=_original(graph, o)) for k, o in outputs.items()}
    outputs = _with_name_maps(graph, outputs, provider)

    placements = []
    for binding, key in sorted(provider.items()):
        role = roles[binding]
        if role is Role.PRIMARY and outputs[key].action != "copy":
            role = Role.CONSUMER
        placements.append(Placement(binding[0], binding[1], graph.wheel(binding).version, role, key))
    used = {o.source.path for o in outputs.values()} | {w.path for w, _ in ignored}
    unused = [(w.filename, UNNEEDED) for w in all_wheels if w.path not in used]
    return Plan(
        worlds=tuple(worlds),
        placements=tuple(placements),
        outputs=tuple(sorted(outputs.values(), key=lambda o: o.key)),
        ignored=tuple(sorted([(w.filename, why) for w, why in ignored] + unused)),
        notes=tuple(notes),
    )


def _with_name_maps(graph: Graph, outputs: dict[str, Output], provider: Mapping[Binding, str]) -> dict[str, Output]:
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
        modules: dict[str, set[str]] = {}
        for seen in [start, *sorted(graph.closure(start, local=True))]:
            target = outputs[provider[seen]]
            for old, new in renames[target.key].items():
                if import_map.setdefault(old, new) != new:
                    raise ConfigError(
                        f"{out.source.filename}: import name {old!r} is provided by both "
                        f"{owner[old]} and {target.key} in world {home}, renamed differently; "
                        "a namespace shared by renamed copies in one world gets one name"
                    )
                owner.setdefault(old, target.key)
                if old in dict(target.namespaces) or _is_namespace(target.source, old):
                    modules.setdefault(old, set()).update(_module_paths(target.source, old))
            if target.renamed:
                dist_map[target.source.name] = target.display_name
        for placed in out.placed:  # a name imported, not declared: the copy a requirement pins
            target = outputs[placed.output]
            if placed.target != placed.name:
                import_map[placed.name] = placed.target
            if target.renamed:
                dist_map[target.source.name] = target.display_name
            if placed.name in dict(target.namespaces) or _is_namespace(target.source, placed.name):
                modules.setdefault(placed.name, set()).update(_module_paths(target.source, placed.name))
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
            module_paths=tuple((n, tuple(sorted(paths))) for n, paths in sorted(modules.items())),
        )
    return result


def _original(graph: Graph, out: Output) -> tuple[tuple[NormalizedName, Version], ...]:
    """What an installer gives ``out`` alone, if it requires something of another world (else empty).

    Its closure through the links; where a name is reached in two versions (an installer would
    refuse that set), its own world's, else the first world's, is taken.
    """
    start = (out.worlds[0], out.source.name)
    reached = graph.closure(start)
    if all(world == start[0] for world, _ in reached):
        return ()
    chosen: dict[NormalizedName, Binding] = {start[1]: start}
    for binding in sorted(reached, key=lambda b: (b[0] != start[0], b)):
        chosen.setdefault(binding[1], binding)
    return tuple(sorted((name, graph.wheel(b).version) for name, b in chosen.items()))


def _renames_of(out: Output) -> dict[str, str]:
    if not out.renamed:
        return {}
    shared = dict(out.namespaces)
    renames = {n: shared.get(n) or renamed_import_name(n, out.version, out.suffix) for n in out.source.import_names}
    for alias in out.aliases:  # ``distutils`` -> ``_mv_distutils_65_5_1``, where setuptools/_distutils/ goes
        renames.setdefault(alias.name, renamed_import_name(alias.name, out.version, out.suffix))
    return renames


def _is_namespace(wheel: WheelInfo, top: str) -> bool:
    """Is ``top`` a directory without ``__init__`` in ``wheel`` (PEP 420, or setuptools' ``-nspkg.pth``)?"""
    paths = {installed_path(m, wheel.data_dir) for m in wheel.members}
    inits = {f"{top}/__init__.py", f"{top}/__init__.pyc"}
    return any(p.startswith(top + "/") for p in paths) and not any(
        p in inits or (p.startswith(f"{top}/__init__.") and p.endswith(EXTENSION_SUFFIXES)) for p in paths
    )


def _module_paths(wheel: WheelInfo, top: str) -> set[str]:
    """The modules (``a.b``) and packages (``a.``: directories holding modules) under ``top`` in ``wheel``."""
    found: set[str] = set()
    for member in wheel.members:
        path = installed_path(member, wheel.data_dir)
        if not path.startswith(top + "/") or not path.endswith((".py", ".pyi", *EXTENSION_SUFFIXES)):
            continue
        parts = path.split("/")
        found.update(".".join(parts[:i]) + "." for i in range(1, len(parts)))
        if not parts[-1].startswith("__init__."):
            found.add(module_name_of(path))
    return found


def _shared_namespaces(
    worlds: Sequence[World], outputs: Mapping[str, Output], provider: Mapping[Binding, str], taken: set[str]
) -> dict[str, tuple[tuple[str, str], ...]]:
    """One new name for each top-level name that renamed copies share in some world.

    Copies that provide ``google`` in one world move under one ``_mv_google_<hash>``; copies
    that share it in any world are joined, so a copy needed by two worlds has one name. A
    world where some providers of the name are renamed and others keep it cannot be split (its
    code would import ``google.auth`` from the renamed namespace): an error. Two copies in one
    namespace that install the same file other than an ``__init__`` (which pkgutil and
    pkg_resources namespaces repeat in every distribution) collide: an error.
    """
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(x: tuple[str, str]) -> tuple[str, str]:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for world in worlds:
        by_name: dict[str, set[str]] = {}
        for name, wheel in world.members.items():
            for n in wheel.import_names:
                by_name.setdefault(n, set()).add(provider[(world.index, name)])
        for n, keys in sorted(by_name.items()):
            renamed = sorted(k for k in keys if outputs[k].renamed)
            kept = sorted(k for k in keys if not outputs[k].renamed)
            if len(keys) < 2 or not renamed:
                continue
            if kept:
                raise ConfigError(
                    f"{outputs[renamed[0]].source.filename}: top-level name {n!r} is shared in world "
                    f"{world.index} by renamed {', '.join(renamed)} and by {', '.join(kept)}, which keeps "
                    "its name; a namespace cannot be split between a renamed and a plain name yet"
                )
            for key in renamed[1:]:
                parent[find((n, key))] = find((n, renamed[0]))
    groups: dict[tuple[str, str], list[str]] = {}
    for n, key in list(parent):
        groups.setdefault(find((n, key)), []).append(key)
    result: dict[str, dict[str, str]] = {}
    for (n, _), sharers in sorted(groups.items()):
        _check_overlap(n, sorted(sharers), outputs)
        i = 1
        while (new := shared_namespace_name(n, sharers, "" if i == 1 else f"_{i}")) in taken:
            i += 1
        taken.add(new)
        for key in sharers:
            result.setdefault(key, {})[n] = new
    return {key: tuple(sorted(names.items())) for key, names in result.items()}


def _check_overlap(top: str, keys: Sequence[str], outputs: Mapping[str, Output]) -> None:
    owner: dict[str, str] = {}
    for key in keys:
        wheel = outputs[key].source
        for member in wheel.members:
            path = installed_path(member, wheel.data_dir)
            if not path.startswith(top + "/") or path.rpartition("/")[2].startswith("__init__."):
                continue
            other = owner.setdefault(path, key)
            if other != key:
                raise ConfigError(
                    f"{wheel.filename}: {path} is installed by both {other} and {key}, which share the "
                    f"namespace {top!r} in one world"
                )


def _renamed_output(
    wheel: WheelInfo,
    world: int,
    taken_dists: set[NormalizedName],
    taken_imports: set[str],
    notes: list[str],
    shared: Collection[str] = (),
) -> Output:
    """``shared``: top-level names that get a shared namespace name (they need no name of their own)."""
    n = 1
    while True:
        suffix = "" if n == 1 else f"_{n}"
        dist = renamed_dist_name(wheel.name, wheel.version, suffix)
        imports = {renamed_import_name(i, wheel.version, suffix) for i in wheel.import_names if i not in shared}
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
