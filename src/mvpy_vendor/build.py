"""Plan a build from wheels, then apply the plan to an output directory.

This is the one entry point that the CLI, a build backend or a pre-commit hook call:
``plan_build(request)`` decides everything, ``apply_plan(plan, ...)`` writes it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from . import __version__
from .cache import Cache, cache_key
from .errors import ConfigError, Problem, WheelProblems
from .naming import dist_info_dir, filename_component
from .native import NativeError, NativeModule, inspect_native, module_name_of, patch_native
from .plan import Output, Plan, make_plan, requirements_txt
from .resolve import Index, default_roots, resolve_worlds, target_environment
from .rewrite_metadata import rewrite_entry_points, rewrite_metadata, rewrite_pth, rewrite_top_level
from .rewrite_source import Diagnostic, NameMap, SourceResult, rewrite_source, stop_worker_thread
from .wheel_input import (
    EXTENSION_SUFFIXES,
    WheelInfo,
    collect_wheel_paths,
    file_sha256,
    installed_path,
    read_wheels,
    record_hash,
    record_hashes,
)
from .wheel_output import Compressed, SourceMember, WheelWriter, compress
from .zip_reader import MemberReader

__all__ = [
    "REPORT_NAME",
    "ApplyOptions",
    "BuildRequest",
    "BuildResult",
    "FileOutcome",
    "OutputResult",
    "apply_plan",
    "build",
    "plan_build",
]

REPORT_NAME = "mvpy-vendor-report.json"
PROVENANCE_NAME = "mvpy_vendor.json"

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class ApplyOptions:
    """How to write a plan's outputs: the choices the plan itself does not make."""

    #: copy files libcst cannot parse (but that mention a renamed name) with a warning
    allow_unparsable: bool = False
    #: worker processes for large wheels (None: the number of CPUs)
    jobs: int | None = None
    #: compiled modules that need changes: "patch" them (default), "prefer-source" (drop them
    #: for the pure-Python source the wheel ships), or "error"
    native_policy: str = "patch"
    #: per-distribution overrides of ``native_policy``
    native_policy_for: Mapping[str, str] = field(default_factory=dict)
    #: distributions whose compiled modules may keep names that cannot be patched (with a warning)
    accept_native_leaks: Sequence[str] = ()

    def policy(self, dist: str) -> str:
        for name, policy in self.native_policy_for.items():
            if canonicalize_name(name) == dist:
                return policy
        return self.native_policy

    def accepts_leak(self, dist: str) -> bool:
        return any(canonicalize_name(name) == dist for name in self.accept_native_leaks)

    @property
    def workers(self) -> int:
        return self.jobs if self.jobs is not None else (os.cpu_count() or 1)


@dataclass(frozen=True)
class BuildRequest:
    """Everything a build needs to know; the CLI, a backend or a hook fill it in."""

    wheels: Sequence[Path]
    requires: Sequence[str] = ()
    primaries: Sequence[str] = ()
    options: ApplyOptions = field(default_factory=ApplyOptions)
    #: where validated wheels, pre-filter results and built outputs are remembered (None: nowhere)
    cache: Cache | None = None


@dataclass(frozen=True)
class FileOutcome:
    member: str
    status: str
    changes: int = 0
    diagnostics: tuple[Diagnostic, ...] = ()
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"member": self.member, "status": self.status}
        if self.changes:
            data["changes"] = self.changes
        if self.diagnostics:
            data["diagnostics"] = [d.to_json() for d in self.diagnostics]
        if self.reason:
            data["reason"] = self.reason
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileOutcome:
        diagnostics = tuple(Diagnostic(d["line"], d["message"]) for d in data.get("diagnostics", ()))
        return cls(data["member"], data["status"], data.get("changes", 0), diagnostics, data.get("reason", ""))


@dataclass(frozen=True)
class OutputResult:
    output: Output
    sha256: str
    files: tuple[FileOutcome, ...] = ()
    dropped: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    native: tuple[NativeModule, ...] = ()
    #: taken from the cache (not part of the report: a cached build's report is the cold one's)
    cached: bool = False

    @property
    def rewritten(self) -> int:
        return sum(1 for f in self.files if f.status in ("rewritten", "patched"))

    @property
    def diagnostics(self) -> int:
        return sum(len(f.diagnostics) for f in self.files) + len(self.warnings)

    def to_json(self) -> dict[str, Any]:
        return {**self.output.to_json(), "sha256": self.sha256, **self.outcome_json()}

    def outcome_json(self) -> dict[str, Any]:
        """What this output's build found (cached with the wheel)."""
        return {
            "files": [f.to_json() for f in self.files],
            "dropped": list(self.dropped),
            "warnings": list(self.warnings),
            "compiled_modules": [m.to_json() for m in self.native],
        }

    @classmethod
    def from_cache(cls, output: Output, sha256: str, data: dict[str, Any]) -> OutputResult:
        return cls(
            output,
            sha256,
            tuple(FileOutcome.from_json(f) for f in data["files"]),
            tuple(data["dropped"]),
            tuple(data["warnings"]),
            tuple(NativeModule.from_json(m) for m in data["compiled_modules"]),
            cached=True,
        )


@dataclass(frozen=True)
class BuildResult:
    plan: Plan
    outputs: tuple[OutputResult, ...]
    out_dir: Path
    inputs: tuple[WheelInfo, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "tool": {"name": "mvpy-vendor", "version": __version__},
            "inputs": [{"wheel": str(w.path.resolve()), "sha256": w.sha256} for w in self.inputs],
            "plan": self.plan.to_json(),
            "outputs": [o.to_json() for o in self.outputs],
        }


def _parse_requires(texts: Sequence[str]) -> list[Requirement]:
    reqs = []
    for text in texts:
        try:
            reqs.append(Requirement(text))
        except InvalidRequirement as exc:
            raise ConfigError(f"--require {text!r}: {str(exc).splitlines()[0]}") from None
    return reqs


def _parse_primaries(texts: Sequence[str]) -> dict[Any, Version]:
    pins = {}
    for text in texts:
        name, sep, version = text.partition("==")
        try:
            if not sep or not name.strip():
                raise InvalidVersion(text)
            pins[canonicalize_name(name.strip())] = Version(version.strip())
        except InvalidVersion:
            raise ConfigError(f"--primary {text!r}: expected NAME==VERSION") from None
    return pins


def plan_build(request: BuildRequest) -> tuple[Plan, list[WheelInfo]]:
    """Read and validate the wheels, resolve the worlds and decide every output; write nothing."""
    wheels = read_wheels(collect_wheel_paths(request.wheels), request.cache)
    env = target_environment()
    index = Index.build(wheels)
    roots = _parse_requires(request.requires) or default_roots(index, env)
    plan = make_plan(resolve_worlds(index, roots, _parse_primaries(request.primaries), env), wheels, index.ignored)
    outputs = tuple(
        replace(out, files_to_rewrite=_files_to_rewrite(out, request.cache)) if out.action != "copy" else out
        for out in plan.outputs
    )
    return replace(plan, outputs=outputs), wheels


def name_map(out: Output) -> NameMap:
    return NameMap(dict(out.import_map), dict(out.dist_map))


def _files_to_rewrite(out: Output, cache: Cache | None = None) -> tuple[str, ...]:
    key = cache_key("prefilter", out.source.sha256, out.import_map, out.dist_map)
    known = cache.get_json("prefilter", key) if cache is not None else None
    if known is not None:
        return tuple(known)
    names = name_map(out)
    found = []
    with MemberReader(out.source.path) as reader:
        for member in out.source.members:
            candidate = _is_python(member, out.source) or member.endswith(".pth")
            if candidate and names.mentions(reader.read(member)):
                found.append(member)
    if cache is not None:
        cache.put_json("prefilter", key, found)
    return tuple(found)


def _is_python(member: str, source: WheelInfo) -> bool:
    return member.endswith((".py", ".pyi")) and not member.startswith(source.dist_info + "/")


class _MemberMap:
    """Where each member of a source wheel goes in its output wheel (None: dropped)."""

    def __init__(self, out: Output) -> None:
        self.out = out
        self.source = out.source
        self.own = out.own_imports
        if out.renamed:
            self.dist_info = dist_info_dir(out.name, out.version)
        else:
            self.dist_info = self.source.dist_info
        self.data_dir = self.dist_info[: -len(".dist-info")] + ".data"

    def _site_path(self, path: str) -> str:
        """Rename a path relative to site-packages (root of a wheel, or purelib/platlib)."""
        first, sep, rest = path.partition("/")
        if first in self.own:
            return self.own[first] + sep + rest
        if first.endswith("-stubs") and first[: -len("-stubs")] in self.own:
            return self.own[first[: -len("-stubs")]] + "-stubs" + sep + rest
        if not sep:
            stem, dot, suffix = first.partition(".")
            if stem in self.own:
                return self.own[stem] + dot + suffix
            if first.endswith(".pth") and self.out.renamed:
                return f"{filename_component(self.out.name)}-{first}"
        return path

    def target(self, member: str) -> str | None:
        first, _, rest = member.partition("/")
        if first == self.source.dist_info:
            return f"{self.dist_info}/{rest}"
        if first == self.source.data_dir:
            scheme, _, inner = rest.partition("/")
            if scheme in ("purelib", "platlib"):
                inner = self._site_path(inner)
            elif scheme == "scripts" and self.out.renamed:
                return None
            return f"{self.data_dir}/{scheme}/{inner}"
        return self._site_path(member)


def _order(name: str, dist_info: str) -> tuple[int, str]:
    """Package files first, then dist-info, RECORD last (as installers expect)."""
    return (1 if name.startswith(dist_info + "/") else 0, name)


# Below this much source to rewrite, starting workers and shipping files to them costs more than
# the fast path takes on its own.
_PARALLEL_MIN_BYTES = 4 << 20


def _rewrite_and_compress(data: bytes, names: NameMap) -> tuple[SourceResult, Compressed | None]:
    """A worker's job for one file: rewrite it and, if it changed, deflate it too.

    The result goes back without its bytes (the compressed form carries them), and an
    unchanged file's bytes need not travel at all: the writer copies it from the source wheel.
    """
    result = rewrite_source(data, names)
    packed = compress(result.data) if result.status == "rewritten" else None
    return replace(result, data=b""), packed


def _rewrite_in_parallel(
    out: Output, names: NameMap, reader: MemberReader, pool: Callable[[], Executor] | None
) -> dict[str, tuple[SourceResult, Compressed | None]]:
    """Rewrite (and deflate) a large wheel's Python files in worker processes, ahead of writing.

    Nothing is done (the files are then rewritten one by one as they are written) without a
    pool, or for less source than is worth starting the workers for.
    """
    members = [m for m in out.files_to_rewrite if _is_python(m, out.source)]
    if pool is None or sum(reader.getinfo(m).file_size for m in members) < _PARALLEL_MIN_BYTES:
        return {}
    sources = [reader.read(m) for m in members]
    results = pool().map(_rewrite_and_compress, sources, [names] * len(sources), chunksize=8)
    return dict(zip(members, results))


def _apply_output(
    out: Output, staging: Path, options: ApplyOptions, pool: Callable[[], Executor] | None = None
) -> tuple[OutputResult, list[Problem]]:
    """Write one output wheel. Members that do not change are copied as stored, never inflated."""
    source = out.source
    names = name_map(out)
    members = _MemberMap(out)
    files: list[FileOutcome] = []
    dropped: list[str] = []
    warnings: list[str] = []
    natives: list[NativeModule] = []
    problems: list[Problem] = []
    wheel = source.filename
    to_rewrite = set(out.files_to_rewrite)
    planned = []
    for member in source.members:
        target = members.target(member)
        if target is None:
            dropped.append(f"script {member.rsplit('/', 1)[-1]} (would overwrite the primary's)")
            continue
        planned.append((target, member))
    provenance = f"{members.dist_info}/{PROVENANCE_NAME}"
    planned.append((provenance, ""))
    planned.sort(key=lambda item: _order(item[0], members.dist_info))
    dist_info = source.dist_info + "/"
    path = staging / out.filename
    with MemberReader(source.path) as reader, WheelWriter(path, members.dist_info) as writer:
        hashes = record_hashes(reader, source.dist_info)
        prefetched = _rewrite_in_parallel(out, names, reader, pool)

        def copy(target: str, info: zipfile.ZipInfo, executable: bool) -> None:
            """Copy a member as it is stored; RECORD keeps its validated hash."""
            known = hashes.get(info.filename)
            if known is None:  # RECORD used another algorithm: hash it now
                known = record_hash(reader.read(info))
            stored = SourceMember(info.compress_type, info.CRC, info.compress_size, info.file_size, known)
            writer.copy(target, stored, reader.stored(info), executable)

        for target, member in planned:
            if target == provenance:
                writer.write(provenance, _provenance(out))
                continue
            info = reader.getinfo(member)
            executable = bool((info.external_attr >> 16) & 0o111)
            if member == dist_info + "RECORD":
                continue
            if member in (dist_info + "RECORD.jws", dist_info + "RECORD.p7s"):
                dropped.append(f"signature {member} (no longer valid)")
                continue
            done = prefetched.pop(member, None)  # rewritten by a worker
            if done is not None:
                result, packed = done
                if _record_source_result(out, member, result, options, files, problems, warnings) and packed:
                    writer.write_compressed(target, packed, executable)
                else:
                    copy(target, info, executable)
                continue
            script = None if member in to_rewrite else _script(member, source, reader, names)
            if member == dist_info + "METADATA":
                text = reader.read(info).decode("utf-8")
                new_name = out.display_name if out.renamed else None
                metadata = rewrite_metadata(text, new_name, dict(out.requires_map)).encode("utf-8")
                writer.write(target, metadata, executable)
            elif member == dist_info + "entry_points.txt":
                eps = rewrite_entry_points(reader.read(info).decode("utf-8"), names, drop_scripts=out.renamed)
                dropped.extend(f"{s} (would overwrite the primary's)" for s in eps.dropped_scripts)
                writer.write(target, eps.text.encode("utf-8"), executable)
            elif member == dist_info + "top_level.txt":
                top_level = rewrite_top_level(reader.read(info).decode("utf-8"), names).encode("utf-8")
                writer.write(target, top_level, executable)
            elif member in to_rewrite and member.endswith(".pth"):
                data = reader.read(info)
                new = rewrite_pth(data, names)
                if new != data:
                    files.append(FileOutcome(member, "rewritten"))
                writer.write(target, new, executable)
            elif member in to_rewrite or script is not None:
                result = rewrite_source(script if script is not None else reader.read(info), names)
                if _record_source_result(out, member, result, options, files, problems, warnings):
                    writer.write(target, result.data, executable)
                else:
                    copy(target, info, executable)
            elif member.endswith(EXTENSION_SUFFIXES):
                data = reader.read(info)
                if not (out.renamed or names.mentions(data)):
                    copy(target, info, executable)
                    continue
                accept = options.accepts_leak(out.source.name)
                outcome = _compiled_module(out, member, data, names, options.policy(out.source.name), accept)
                if "LEAK ACCEPTED" in outcome.reason or "re-sign" in outcome.reason:
                    warnings.append(f"{member}: {outcome.reason}")
                natives.append(outcome.module)
                if outcome.problem:
                    if out.renamed:
                        problems.append(Problem(wheel, outcome.problem, member))
                    else:
                        warnings.append(f"{member}: {outcome.problem}; imports made from C are not rewritten")
                if outcome.status:
                    files.append(FileOutcome(member, outcome.status, reason=outcome.reason))
                if outcome.status == "de-accelerated":
                    continue
                if outcome.data is data:
                    copy(target, info, executable)
                else:
                    writer.write(target, outcome.data, executable)
            else:
                copy(target, info, executable)
    return OutputResult(out, "", tuple(files), tuple(dropped), tuple(warnings), tuple(natives)), problems


def _record_source_result(
    out: Output,
    member: str,
    result: SourceResult,
    options: ApplyOptions,
    files: list[FileOutcome],
    problems: list[Problem],
    warnings: list[str],
) -> bool:
    """Note one Python file's outcome; True if its rewritten bytes are to be written."""
    files.append(FileOutcome(member, result.status, result.changes, result.diagnostics, result.error or ""))
    if result.status in ("unparsable", "failed"):
        if result.status == "failed" or not options.allow_unparsable:
            problems.append(Problem(out.source.filename, result.error or result.status, member, result.error_line))
        else:
            warnings.append(f"{member}: {result.error}; copied unchanged (--allow-unparsable)")
    return result.status == "rewritten"


@dataclass(frozen=True)
class _CompiledOutcome:
    module: NativeModule
    data: bytes
    status: str = ""  # "patched", "de-accelerated" or "" (nothing to change / failed)
    reason: str = ""
    problem: str = ""


def _compiled_module(
    out: Output, member: str, data: bytes, names: NameMap, policy: str, accept_leak: bool
) -> _CompiledOutcome:
    """Patch, drop for its source, or refuse one compiled module, as ``policy`` says."""
    path = installed_path(member, out.source.data_dir)
    old_module = module_name_of(path)
    new_module = names.new_module(old_module) or old_module
    old_last, new_last = old_module.rpartition(".")[2], new_module.rpartition(".")[2]
    module = inspect_native(data, member, names.imports)
    pure = _pure_source(out.source, member)
    needs_change = bool(module.occurrences) or old_last != new_last
    if not needs_change:
        return _CompiledOutcome(module, data)
    if pure and (policy == "prefer-source" or (policy == "patch" and not module.patchable)):
        return _CompiledOutcome(module, data, "de-accelerated", f"dropped; {pure} is used instead")
    if policy == "error":
        return _CompiledOutcome(module, data, problem="compiled module needs patching and --native is 'error'")
    reasons = list(module.problems) + [o.why_not for o in module.occurrences if o.blocks]
    if reasons and not (accept_leak and not module.problems):
        hint = "" if pure else "; no pure-Python source of this module is shipped to fall back on"
        return _CompiledOutcome(module, data, problem="cannot be patched: " + "; ".join(reasons) + hint)
    init = (old_last, new_last) if old_last != new_last else None
    try:
        patched = patch_native(data, member, names.imports, init)
    except NativeError as exc:
        return _CompiledOutcome(module, data, problem=str(exc))
    patchable = [o for o in module.occurrences if o.patchable]
    reason = f"{len(patchable)} strings repointed" + (f", PyInit_{old_last} renamed" if init else "")
    if module.format == "Mach-O":
        reason += "; code signature removed: ad-hoc re-sign it on macOS (codesign --force --sign - FILE)"
    if reasons:
        reason += "; LEAK ACCEPTED: " + "; ".join(reasons)
    return _CompiledOutcome(module, patched, "patched", reason)


def _pure_source(source: WheelInfo, member: str) -> str | None:
    """The ``.py`` file shipped beside a compiled module (Cython's pure-Python mode), if any."""
    stem = member.rsplit("/", 1)
    name = stem[-1].split(".", 1)[0] + ".py"
    candidate = f"{stem[0]}/{name}" if len(stem) == 2 else name
    return candidate if candidate in source.members else None


def _script(member: str, source: WheelInfo, reader: MemberReader, names: NameMap) -> bytes | None:
    """A Python script in ``.data/scripts`` (``#!python``) mentioning a renamed name: its bytes.

    Such scripts are rewritten like modules.
    """
    if not member.startswith(f"{source.data_dir}/scripts/"):
        return None
    data = reader.read(member)
    return data if data.startswith(b"#!python") and names.mentions(data) else None


def _provenance(out: Output) -> bytes:
    data = {
        "tool": {"name": "mvpy-vendor", "version": __version__},
        "original": {
            "name": out.source.display_name,
            "version": str(out.source.version),
            "wheel": out.source.filename,
            "sha256": out.source.sha256,
        },
        "import_map": dict(out.import_map),
        "dist_map": dict(out.dist_map),
        "requires_map": dict(out.requires_map),
    }
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _output_key(out: Output, options: ApplyOptions) -> str:
    """Everything that decides an output wheel's bytes."""
    dist = out.source.name
    return cache_key(
        "output",
        out.to_json(),
        options.allow_unparsable,
        options.policy(dist),
        options.accepts_leak(dist),
        os.environ.get("SOURCE_DATE_EPOCH", ""),
    )


def apply_plan(
    plan: Plan,
    out_dir: Path,
    options: ApplyOptions | None = None,
    *,
    inputs: Sequence[WheelInfo] = (),
    progress: Progress | None = None,
    cache: Cache | None = None,
) -> BuildResult:
    """Write every output wheel, ``requirements.txt`` and the report into ``out_dir``.

    Everything is written into a staging directory first; ``out_dir`` is touched only once every
    wheel has been written, so a failed run leaves it as it was.
    """
    options = options or ApplyOptions()
    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".mvpy-staging-", dir=out_dir))
    pools: list[Executor] = []
    stack = contextlib.ExitStack()

    def pool() -> Executor:
        """The worker processes, started when a wheel first needs them."""
        if not pools:
            stop_worker_thread()  # fork only a single-threaded process
            pools.append(stack.enter_context(ProcessPoolExecutor(options.workers)))
        return pools[0]

    try:
        results: list[OutputResult] = []
        problems: list[Problem] = []
        for i, out in enumerate(plan.outputs):
            if progress is not None:
                progress(i, len(plan.outputs), out.filename)
            cached = cache if out.action != "copy" else None
            key = _output_key(out, options) if cached is not None else ""
            hit = cached.get_file("outputs", key) if cached is not None else None
            known = cached.get_json("outcomes", key) if cached is not None and hit is not None else None
            if out.action == "copy":
                shutil.copyfile(out.source.path, staging / out.filename)
                result = OutputResult(out, "")
            elif hit is not None and known is not None:
                shutil.copyfile(hit, staging / out.filename)
                result = OutputResult.from_cache(out, "", known)
            else:
                result, found = _apply_output(out, staging, options, pool if options.workers > 1 else None)
                problems += found
                if cached is not None and not found:
                    cached.put_file("outputs", key, staging / out.filename)
                    cached.put_json("outcomes", key, result.outcome_json())
            results.append(replace(result, sha256=file_sha256(staging / out.filename)))
        if progress is not None:
            progress(len(plan.outputs), len(plan.outputs), "")
        if problems:
            raise WheelProblems(problems)
        built = BuildResult(plan, tuple(results), out_dir, tuple(inputs))
        (staging / "requirements.txt").write_text(requirements_txt(plan), encoding="utf-8")
        (staging / REPORT_NAME).write_text(json.dumps(built.to_json(), indent=2) + "\n", encoding="utf-8")
        for item in sorted(staging.iterdir()):
            item.replace(out_dir / item.name)
        return built
    finally:
        stack.close()
        shutil.rmtree(staging, ignore_errors=True)
        if created and not any(out_dir.iterdir()):
            out_dir.rmdir()


def build(request: BuildRequest, out_dir: Path, progress: Progress | None = None) -> BuildResult:
    """Plan and apply in one call."""
    plan, inputs = plan_build(request)
    return apply_plan(plan, out_dir, request.options, inputs=inputs, progress=progress, cache=request.cache)
