"""Embed renamed copies of dependencies into a library's built wheel, with the engine of ``build``.

The library's wheel (built by the inner backend, or by hatchling under the hook) and the wheels
of what it embeds go through one plan: every embedded distribution becomes a renamed copy whose
top-level names are unique to the embedding library (``foo`` 1.0.0 embedded by ``mylib`` is
``_mv_mylib_foo_1_0_0``), so two libraries that embed the same version never share a file; the
library's own imports of them are rewritten. The copies are then merged into the library's wheel:
their package files at its root, their metadata (with their licence files) as a ``.dist-info``
installed beside them through the wheel's ``.data/purelib`` (so ``importlib.metadata.version``
inside a copy finds its own version), the embedded requirements removed from ``Requires-Dist``
and what the copies need from outside added, ``License-File`` entries for the copies' licences,
a fresh RECORD. Nothing is written outside the directories given.
"""

from __future__ import annotations

import json
import re
import tempfile
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.tags import Tag
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from mvpy_vendor._version import __version__
from mvpy_vendor.apply import apply_plan
from mvpy_vendor.cache import default_cache_dir
from mvpy_vendor.errors import BuildError, ConfigError
from mvpy_vendor.naming import dist_info_dir, filename_component, renamed_dist_name, renamed_import_name
from mvpy_vendor.planning.members import plan_members
from mvpy_vendor.planning.plan import Output, Plan
from mvpy_vendor.planning.target import Target
from mvpy_vendor.project.config import World
from mvpy_vendor.project.fetch import Store
from mvpy_vendor.project.lock import EMBED_WORLD, LockedWorld, ProjectLock
from mvpy_vendor.project.resolvers import find_resolver, resolve_world
from mvpy_vendor.report import PROVENANCE_NAME, REPORT_NAME, SCHEMA_VERSION
from mvpy_vendor.wheel.layout import member_order
from mvpy_vendor.wheel.validate import WheelInfo, read_wheels
from mvpy_vendor.wheel.writer import WheelWriter

from .config import EmbedConfig

__all__ = ["EMBED_WORLD", "Embedded", "embed_into", "embedded_wheels", "lock_embeds", "write_wheelhouse"]

#: licence files a wheel keeps at the top of its dist-info (before PEP 639's licenses/)
_LICENCE = re.compile(r"(?i)^(licen[cs]e|copying|notice|authors|copyright)([.-].*)?$")
#: dist-info files of an embedded copy that are not installed with it
_NOT_KEPT = {"RECORD", "WHEEL", "INSTALLER", "REQUESTED", "direct_url.json", "RECORD.jws", "RECORD.p7s"}


@dataclass(frozen=True)
class Embedded:
    """One embedded copy: where it came from, and the names it has inside the library."""

    source: WheelInfo
    #: the copy's distribution name (``mv-mylib-foo-1-0-0``), found by importlib.metadata
    dist: NormalizedName
    #: original top-level import name -> the copy's
    imports: Mapping[str, str]


# ---- where the embedded wheels come from -------------------------------------------------------


def _world(config: EmbedConfig) -> World:
    return World(EMBED_WORLD, config.embed)


def _store(config: EmbedConfig) -> Store:
    root = Path(config.get("cache-dir")) if config.get("cache-dir") else default_cache_dir()
    return Store(root, offline=bool(config.get("offline")))


def _resolve(config: EmbedConfig, target: Target) -> LockedWorld:
    world = _world(config)
    resolver = find_resolver(config.get("resolver"))
    return LockedWorld(world, tuple(resolve_world(world, resolver, target, config.index)))


def _locked(config: EmbedConfig) -> LockedWorld | None:
    """The lock's ``embed`` world, if the lock exists and says what the table asks for."""
    path = config.lock_path
    if not path.is_file():
        if config.get("locked"):
            raise ConfigError(f"{path}: no lock (run 'mvpy-vendor lock --embed' first)", setting="locked")
        return None
    lock = ProjectLock.load(path)
    found = next((w for w in lock.worlds if w.world.name == EMBED_WORLD), None)
    why = None
    if found is None:
        why = f"it has no world {EMBED_WORLD!r}"
    elif set(found.world.requirements) != set(config.embed):
        locked = ", ".join(found.world.requirements) or "nothing"
        why = f"it embeds {locked}, pyproject.toml asks for {', '.join(config.embed)}"
    elif not lock.target.is_running:
        why = f"it is for {lock.target.describe()}, not the running interpreter"
    if why is None:
        return found
    if config.get("locked") or config.get("offline"):
        raise ConfigError(f"{path} is out of date: {why} (run 'mvpy-vendor lock --embed')", setting="locked")
    return None


def lock_embeds(config: EmbedConfig) -> tuple[Path, bool]:
    """Resolve the ``embed`` world and write it into the project lock (other worlds kept); the
    path and whether the file changed."""
    path = config.lock_path
    target = Target()
    others: tuple[LockedWorld, ...] = ()
    resolver = find_resolver(config.get("resolver"))[0]
    if path.is_file():
        old = ProjectLock.load(path)
        others = tuple(w for w in old.worlds if w.world.name != EMBED_WORLD)
        if others and old.target != target:
            raise ConfigError(f"{path}: its other worlds are for {old.target.describe()}, not the running interpreter")
    lock = ProjectLock((*others, _resolve(config, target)), target, resolver)
    text = lock.dumps(config.root)
    try:
        if path.read_text(encoding="utf-8") == text:
            return path, False
    except OSError:
        pass
    path.write_text(text, encoding="utf-8")
    return path, True


def embedded_wheels(config: EmbedConfig, into: Path) -> list[Path]:
    """The wheels of the ``embed`` world: from the lock when it is up to date, else resolved now
    (with the table's index settings); fetched and hash-checked into the cache (``cache-dir``)."""
    if not config.embed:
        return []
    world = _locked(config) or _resolve(config, Target())
    store = _store(config)
    return [store.wheel(a, Target()) for a in world.artifacts]


# ---- the plan ----------------------------------------------------------------------------------


def _copy_names(project: str, wheels: Sequence[WheelInfo]) -> list[Embedded]:
    lib = filename_component(project)
    found: list[Embedded] = []
    owner: dict[str, str] = {}
    for w in wheels:
        imports = {}
        for name in w.import_names:
            if name in owner:
                raise ConfigError(
                    f"{w.filename}: top-level name {name!r} is also installed by {owner[name]}; embedding a "
                    "namespace shared by two distributions is not supported yet",
                    setting="embed",
                )
            owner[name] = w.filename
            imports[name] = renamed_import_name(f"{lib}_{name}", w.version)
        found.append(Embedded(w, renamed_dist_name(f"{lib}-{w.name}", w.version), imports))
    return found


def _closure(library: WheelInfo, wheels: Sequence[WheelInfo], config: EmbedConfig) -> list[WheelInfo]:
    """What is embedded: every wheel of the embed world but the ``external`` ones."""
    names = {w.name for w in wheels}
    for ext in config.external:
        if ext not in names:
            raise ConfigError(f"{ext}: not among the embedded distributions and their dependencies", setting="external")
    missing = [r for r in config.embed if canonicalize_name(Requirement(r).name) not in names]
    if missing:
        raise ConfigError(f"{', '.join(missing)}: no wheel was resolved for it", setting="embed")
    if library.name in names:
        raise ConfigError(f"{library.name}: a library cannot embed itself", setting="embed")
    return [w for w in wheels if w.name not in config.external]


def _plan(library: WheelInfo, copies: Sequence[Embedded], config: EmbedConfig) -> Plan:
    everything = {old: new for c in copies for old, new in c.imports.items()}
    dists = {c.source.name: c.dist for c in copies}
    # The library's own direct requirements that are not embedded keep their plain names.
    embedded_roots = {canonicalize_name(Requirement(r).name) for r in config.embed}
    plain = {r.name for r in library.requires if canonicalize_name(r.name) not in embedded_roots}
    own = {
        old: new
        for c in copies
        if c.source.name in embedded_roots or c.source.name not in {canonicalize_name(p) for p in plain}
        for old, new in c.imports.items()
    }
    options = config.options()
    outputs = [
        Output(
            library,
            library.name,
            library.display_name,
            False,
            (0,),
            import_map=tuple(sorted(own.items())),
            dist_map=tuple(sorted((k, v) for k, v in dists.items() if any(n in own for n in _names(copies, k)))),
            keep_strings=options.keeps_strings(library.name),
            allow_unparsable=options.allow_unparsable,
        ),
        *(
            Output(
                c.source,
                c.dist,
                c.dist,
                True,
                (1,),
                import_map=tuple(sorted(everything.items())),
                dist_map=tuple(sorted(dists.items())),
                keep_strings=options.keeps_strings(c.source.name),
                allow_unparsable=options.allow_unparsable,
                why=f"embedded in {library.display_name}",
            )
            for c in copies
        ),
    ]
    outputs = [o if o.action == "copy" else _with_members(o, config) for o in outputs]
    return Plan(worlds=(), placements=(), outputs=tuple(outputs), inputs=(library, *(c.source for c in copies)))


def _names(copies: Sequence[Embedded], dist: str) -> list[str]:
    return [n for c in copies if c.source.name == dist for n in c.imports]


def _with_members(out: Output, config: EmbedConfig) -> Output:
    from dataclasses import replace

    return replace(out, members=plan_members(out, config.options()))


# ---- merging -----------------------------------------------------------------------------------


def _entries(path: Path) -> list[tuple[zipfile.ZipInfo, bytes]]:
    with zipfile.ZipFile(path) as zf:
        return [(i, zf.read(i)) for i in zf.infolist() if not i.is_dir()]


def _executable(info: zipfile.ZipInfo) -> bool:
    return bool((info.external_attr >> 16) & 0o111)


def _headers(text: str) -> tuple[list[str], str]:
    head, sep, body = text.partition("\n\n")
    return head.split("\n"), sep + body


def _external_requirements(copies: Sequence[Embedded], embedded: set[NormalizedName]) -> list[str]:
    """What the copies need from outside the library: their requirements on what is not embedded."""
    found: list[str] = []
    for c in copies:
        for req in c.source.requires:
            if canonicalize_name(req.name) in embedded:
                continue
            if req.marker is not None and "extra" in str(req.marker):
                continue  # an extra of the copy that nobody asked for
            found.append(str(req))
    return list(dict.fromkeys(found))


def _metadata(text: str, remove: set[NormalizedName], add: Sequence[str], licences: Sequence[str]) -> str:
    lines, body = _headers(text)
    kept: list[str] = []
    for line in lines:
        key, _, value = line.partition(":")
        if key.strip().lower() == "requires-dist":
            try:
                if canonicalize_name(Requirement(value.strip()).name) in remove:
                    continue
            except ValueError:
                pass
        kept.append(line)
    present = {ln.partition(":")[2].strip() for ln in kept if ln.lower().startswith("requires-dist:")}
    extra = [f"Requires-Dist: {r}" for r in add if r not in present]
    extra += [f"License-File: {p}" for p in licences]
    if licences:
        for i, line in enumerate(kept):
            if line.lower().startswith("metadata-version:"):
                version = Version(line.partition(":")[2].strip())
                if version < Version("2.4"):
                    kept[i] = "Metadata-Version: 2.4"
    return "\n".join(kept + extra) + (body if body else "\n")


def _wheel_file(text: str, tags: Sequence[str], purelib: bool) -> str:
    lines = [ln for ln in text.splitlines() if not ln.startswith(("Tag:", "Root-Is-Purelib:"))]
    lines.insert(min(2, len(lines)), f"Root-Is-Purelib: {'true' if purelib else 'false'}")
    return "\n".join(lines + [f"Tag: {t}" for t in tags]) + "\n"


def _tags(library: WheelInfo, copies: Sequence[Embedded]) -> tuple[list[str], bool]:
    """The final wheel's tags: the library's, unless an embedded copy is platform-specific."""
    specific = {frozenset(c.source.tags) for c in copies if not _pure(c.source.tags)}
    if not specific:
        return sorted(str(t) for t in library.tags), _pure(library.tags)
    if len(specific) == 1 and frozenset(library.tags) in specific:
        return sorted(str(t) for t in library.tags), False  # the hatch hook gave the library the copy's tag
    if len(specific) > 1 or not _pure(library.tags):
        mine = sorted(str(t) for t in library.tags)
        raise BuildError(
            f"{library.filename}: the library ({', '.join(mine)}) and its embedded compiled copies "
            f"({'; '.join(', '.join(sorted(str(t) for t in s)) for s in specific)}) have no wheel tag in common "
            "that can be told without trying; build on one platform with one set of tags",
        )
    return sorted(str(t) for t in next(iter(specific))), False


def _pure(tags: Iterable[Tag]) -> bool:
    return all(t.platform == "any" and t.abi == "none" for t in tags)


def embed_into(library_wheel: Path, config: EmbedConfig, wheels: Sequence[Path], out_dir: Path) -> Path:
    """Write the library's wheel with renamed copies of ``wheels`` (the embed world) into
    ``out_dir``; the path of the new wheel (named as the final wheel must be)."""
    infos = read_wheels([library_wheel, *wheels])
    library, others = infos[0], infos[1:]
    if library.name != config.project:
        raise BuildError(f"{library.filename}: built for {library.name}, pyproject.toml names {config.project}")
    copies = _copy_names(config.project, _closure(library, others, config))
    if not copies:
        out = out_dir / library.filename
        out.write_bytes(library_wheel.read_bytes())
        return out
    plan = _plan(library, copies, config)
    with tempfile.TemporaryDirectory(prefix="mvpy-embed-") as tmp:
        built = apply_plan(plan, Path(tmp) / "house", config.options())
        by_source = {r.output.source.name: Path(tmp) / "house" / r.output.filename for r in built.outputs}
        return _merge(library, by_source[library.name], copies, by_source, out_dir, config)


def _merge(
    library: WheelInfo,
    rewritten: Path,
    copies: Sequence[Embedded],
    written: Mapping[NormalizedName, Path],
    out_dir: Path,
    config: EmbedConfig,
) -> Path:
    dist_info = library.dist_info
    data_dir = library.data_dir
    members: dict[str, tuple[bytes, bool]] = {}

    def put(name: str, data: bytes, executable: bool, owner: str) -> None:
        if name in members:
            raise BuildError(f"{owner}: {name} is also in {library.filename}; an embedded copy cannot overwrite it")
        members[name] = (data, executable)

    for info, data in _entries(rewritten):
        if info.filename != f"{dist_info}/RECORD" and info.filename != f"{dist_info}/{PROVENANCE_NAME}":
            put(info.filename, data, _executable(info), library.filename)
    licences: list[str] = []
    for c in copies:
        path = written[c.source.name]
        copy_info = dist_info_dir(c.dist, c.source.version)
        copy_data = copy_info[: -len(".dist-info")] + ".data"
        for info, data in _entries(path):
            first, _, rest = info.filename.partition("/")
            if first == copy_info:
                if rest in _NOT_KEPT or rest == PROVENANCE_NAME:
                    continue
                put(f"{data_dir}/purelib/{copy_info}/{rest}", data, False, c.source.filename)
                if rest.startswith("licenses/") or ("/" not in rest and _LICENCE.match(rest)):
                    inside = rest.removeprefix("licenses/")
                    licence = f"{c.dist}/{inside}"
                    put(f"{dist_info}/licenses/{licence}", data, False, c.source.filename)
                    licences.append(licence)
            elif first == copy_data:
                scheme, _, inner = rest.partition("/")
                if scheme not in ("purelib", "platlib"):
                    raise BuildError(
                        f"{c.source.filename}: {info.filename}: an embedded copy can ship only importable files "
                        f"(its {scheme!r} files would be installed outside the library)"
                    )
                put(inner, data, _executable(info), c.source.filename)
            else:
                put(info.filename, data, _executable(info), c.source.filename)
    embedded = {c.source.name for c in copies}
    roots = {canonicalize_name(Requirement(r).name) for r in config.embed}
    meta_name = f"{dist_info}/METADATA"
    text = members[meta_name][0].decode("utf-8")
    new_meta = _metadata(text, roots, _external_requirements(copies, embedded), sorted(licences))
    members[meta_name] = (new_meta.encode("utf-8"), False)
    tags, purelib = _tags(library, copies)
    wheel_name = f"{dist_info}/WHEEL"
    members[wheel_name] = (_wheel_file(members[wheel_name][0].decode("utf-8"), tags, purelib).encode(), False)
    members[f"{dist_info}/{PROVENANCE_NAME}"] = (_provenance(library, copies), False)
    stem = "-".join(library.filename[: -len(".whl")].split("-")[:-3])
    out = out_dir / f"{stem}-{_compressed_tags(tags)}.whl"
    with WheelWriter(out, dist_info) as writer:
        for name in sorted(members, key=lambda n: member_order(n, dist_info)):
            data, executable = members[name]
            writer.write(name, data, executable)
    return out


def _compressed_tags(tags: Sequence[str]) -> str:
    parts = [t.split("-") for t in tags]
    return "-".join(".".join(sorted({p[i] for p in parts})) for i in range(3))


def _provenance(library: WheelInfo, copies: Sequence[Embedded]) -> bytes:
    data = {
        "tool": {"name": "mvpy-vendor", "version": __version__},
        "embedded": [
            {
                "name": c.source.display_name,
                "version": str(c.source.version),
                "wheel": c.source.filename,
                "sha256": c.source.sha256,
                "distribution": c.dist,
                "import_map": dict(c.imports),
            }
            for c in copies
        ],
    }
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8")


# ---- checking an embedding wheel with verify ---------------------------------------------------


def write_wheelhouse(wheels: Sequence[Path], out: Path) -> Path:
    """A wheelhouse ``verify`` can check: ``wheels`` (a library that embeds copies, and anything
    installed beside it, such as the other version) copied into ``out``, with ``requirements.txt``
    and a report that says which top-level names are embedded copies."""
    out.mkdir(parents=True, exist_ok=True)
    infos = read_wheels(list(wheels))
    outputs = []
    for w in infos:
        (out / w.filename).write_bytes(w.path.read_bytes())
        embedded: list[dict[str, object]] = []
        with zipfile.ZipFile(w.path) as zf:
            name = f"{w.dist_info}/{PROVENANCE_NAME}"
            if name in zf.namelist():
                embedded = list(json.loads(zf.read(name)).get("embedded", []))
        import_map = {str(k): str(v) for e in embedded for k, v in dict(e["import_map"]).items()}  # type: ignore[call-overload]
        outputs.append(
            {
                "distribution": w.display_name,
                "version": str(w.version),
                "wheel": w.filename,
                "action": "rename" if import_map else "copy",
                "source": {"wheel": w.filename, "distribution": w.display_name, "sha256": w.sha256},
                "worlds": [0],
                "top_level": sorted(w.import_names),
                "import_map": import_map,
            }
        )
    report = {
        "schema": SCHEMA_VERSION,
        "tool": {"name": "mvpy-vendor", "version": __version__},
        "inputs": [{"wheel": str((out / w.filename).resolve()), "sha256": w.sha256} for w in infos],
        "plan": {"worlds": [{"members": {w.name: str(w.version) for w in infos}}]},
        "outputs": outputs,
    }
    (out / REPORT_NAME).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out / "requirements.txt").write_text("".join(f"{w.name}=={w.version}\n" for w in infos), encoding="utf-8")
    return out
