"""The differential check: each patched compiled module imported beside its original, and compared.

The structural check reads a patched binary as the loader does, the load check loads it; neither
compares it with the original, and a patch that writes a wrong word (a type's ``tp_basicsize``
taken for a string's length) passes both. Here, for one output wheel, the original wheel and the
output are each installed (extracted) into temporary directories with the wheels of their world
that they need (the dependencies their requirements reach, the originals from the input wheels,
the renamed copy's from the output wheels), and each side's patched modules are imported in one
child interpreter per side that sees nothing else (``-I -S``: the standard library and those
directories), with the package around them. What each exposes is described by
:mod:`._shape_probe` and compared by :mod:`.compare`, the original as the oracle.

A module whose package does not import here is loaded alone from its file on both sides; one
whose original cannot be loaded here at all is reported as not compared, with the reason. A
module built for another platform or interpreter is not compared either, and the report says so.
Results are cached by the content of every wheel involved and the interpreter that ran them.
"""

from __future__ import annotations

import json
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name

from mvpy_vendor.cache import Cache, cache_key
from mvpy_vendor.errors import Code, Problem, Severity
from mvpy_vendor.wheel.layout import installed_path, module_name_of

from .compare import Attempt, ModuleComparison, Verdict, judge

if TYPE_CHECKING:
    from mvpy_vendor.planning.plan import Output, Plan
    from mvpy_vendor.wheel.validate import WheelInfo

__all__ = [
    "NOT_IMPORTABLE",
    "Comparison",
    "Placed",
    "Subject",
    "compare_output",
    "importable_here",
    "job_for",
    "subjects_of",
]

_TIMEOUT = 600  # seconds for one side's child process
_SHOWN = 50  # differences turned into error lines per module


def importable_here(member: str) -> bool:
    """Does the file name of ``member`` say it is built for this interpreter (not only ``.so``)?"""
    return member.endswith(tuple(s for s in EXTENSION_SUFFIXES if s != ".so"))


@dataclass(frozen=True)
class Placed:
    """One wheel installed on one side's path: the file, its ``.data`` directory, its sha256."""

    path: Path
    data_dir: str
    sha256: str

    def to_json(self) -> list[str]:
        return [self.path.name, self.data_dir, self.sha256]


@dataclass(frozen=True)
class Subject:
    """One patched module: its member and module name in the original wheel and in the output."""

    member: str
    module: str
    target: str
    renamed_module: str


@dataclass(frozen=True)
class Job:
    """The differential check of one output wheel, as it is run (and cached)."""

    wheel: str  # the source wheel's file name
    original: tuple[Placed, ...]  # the source wheel first, then its dependencies
    patched: tuple[Placed, ...]  # the output wheel first, then the outputs that provide them
    back: tuple[tuple[str, str], ...]  # renamed top-level name -> the original's
    subjects: tuple[Subject, ...]
    #: its strings keep naming the original's modules (setting ``keep-strings``)
    kept_strings: bool = False

    def key(self) -> str:
        interpreter = [sys.version, sys.executable, sys.platform, platform.machine()]
        return cache_key(
            "native-compare",
            interpreter,
            [p.to_json() for p in self.original],
            [p.to_json() for p in self.patched],
            self.back,
            [[s.member, s.module, s.target, s.renamed_module] for s in self.subjects],
            self.kept_strings,
        )


@dataclass(frozen=True)
class Comparison:
    """What the differential check found for one output wheel."""

    modules: tuple[ModuleComparison, ...]
    #: the wheels on each side's path (file names), the module's own first
    original: tuple[str, ...] = ()
    patched: tuple[str, ...] = ()
    #: taken from the cache
    cached: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "original_path": list(self.original),
            "renamed_path": list(self.patched),
            "modules": [m.to_json() for m in self.modules],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, cached: bool = False) -> Comparison:
        return cls(
            tuple(ModuleComparison.from_json(m) for m in data["modules"]),
            tuple(data["original_path"]),
            tuple(data["renamed_path"]),
            cached,
        )

    def problems(self, wheel: str) -> list[Problem]:
        """One error per difference (each reported once, under the first module that shows it),
        one warning per module compared only in part or not at all (but for another platform)."""
        found: list[Problem] = []
        seen: set[str] = set()
        for m in self.modules:
            if m.verdict is Verdict.DIFFERS:
                new = [d for d in m.differences if d not in seen]
                seen.update(new)
                for d in new[:_SHOWN]:
                    reason = f"patched module differs from the original: {d}"
                    found.append(Problem(wheel, reason, m.member, code=Code.NATIVE_DIFFERS))
                if len(new) > _SHOWN:
                    reason = f"patched module differs from the original in {len(new) - _SHOWN} more ways"
                    found.append(Problem(wheel, reason, m.member, code=Code.NATIVE_DIFFERS))
            warning = ""
            if m.verdict is Verdict.NOT_COMPARED:
                warning = f"patched module not compared with the original: {m.reason}"
            elif m.how == "alone":
                warning = f"patched module compared with the original loaded alone: {m.reason}"
            if warning:
                code, severity = Code.NATIVE_UNCOMPARED, Severity.WARNING
                found.append(Problem(wheel, warning, m.member, code=code, severity=severity, setting=m.setting or None))
        return found


# -- what to compare, and with what on the path: from the plan ------------------------------


def _environment(plan: Plan, out: Output) -> list[tuple[WheelInfo, str]]:
    """(original wheel, key of the output that provides it) for ``out``'s source, then for every
    distribution its requirements reach; a name seen twice keeps its first binding, as one path
    can hold only one."""
    if plan.worlds:
        return _in_worlds(plan, out)
    return _in_outputs(plan, out)


def _in_worlds(plan: Plan, out: Output) -> list[tuple[WheelInfo, str]]:
    """A plan of resolved worlds: what ``out``'s source requires in its first world, through
    links into other worlds too, each provided by the output its placement names."""
    worlds = {w.index: w for w in plan.worlds}
    provider = {(p.world, str(p.name)): p.output for p in plan.placements}
    start = (out.worlds[0], str(out.source.name))
    order, names, stack = [start], {start[1]}, [start]
    while stack:
        world, name = stack.pop(0)
        here = worlds[world]
        for edge in here.member_requirements(name):  # type: ignore[arg-type]
            dep = str(edge.name)
            target = world if dep in here.members else here.links.get(edge.name)
            if target is None or dep in names:
                continue
            names.add(dep)
            order.append((target, dep))
            stack.append((target, dep))
    found = [(out.source, out.key)]
    for world, name in order[1:]:
        found.append((worlds[world].members[name], provider[(world, name)]))  # type: ignore[index]
    return found


def _in_outputs(plan: Plan, out: Output) -> list[tuple[WheelInfo, str]]:
    """A plan without worlds (the build backend's: a library and the copies it embeds, each
    distribution once): what ``out``'s source requires among the outputs' sources, each
    provided by its own output."""
    from mvpy_vendor.planning.resolve import requirements_in_force

    by_name = {o.source.name: o for o in plan.outputs}
    env = plan.target.environment()
    found, names, stack = [(out.source, out.key)], {out.source.name}, [out]
    while stack:
        here = stack.pop(0)
        for req in requirements_in_force(here.source, frozenset(), env):
            dep = by_name.get(canonicalize_name(req.name))
            if dep is None or dep.source.name in names:
                continue
            names.add(dep.source.name)
            found.append((dep.source, dep.key))
            stack.append(dep)
    return found


def job_for(
    plan: Plan,
    out: Output,
    staged: Mapping[str, tuple[Path, str]],
    subjects: Sequence[Subject],
) -> Job:
    """The check of ``out``'s ``subjects``; ``staged``: output key -> (written file, sha256)."""
    original: list[Placed] = []
    patched: list[Placed] = []
    for source, key in _environment(plan, out):
        original.append(Placed(source.path, source.data_dir, source.sha256))
        made = plan.output(key)
        if made.action == "copy":  # the same bytes as its input
            patched.append(Placed(made.source.path, made.source.data_dir, made.source.sha256))
        else:
            path, sha = staged[key]
            patched.append(Placed(path, made.dist_info[: -len(".dist-info")] + ".data", sha))
    back = tuple(sorted((new, old) for old, new in out.import_map if new != old))
    return Job(out.source.filename, tuple(original), tuple(patched), back, tuple(subjects), out.keep_strings)


#: why a module is not compared on this machine
NOT_IMPORTABLE = "built for another platform or interpreter: it cannot be imported here"


def subjects_of(
    out: Output, patched: Collection[str], failed: Collection[str]
) -> tuple[list[Subject], list[ModuleComparison]]:
    """``out``'s patched modules (``patched``: members whose patch was written) to compare, and
    those not to (with why): built for another platform, or whose patch already failed a check
    (``failed``: members with an error)."""
    from mvpy_vendor.planning.plan import Action

    data_dir = out.dist_info[: -len(".dist-info")] + ".data"
    subjects: list[Subject] = []
    skipped: list[ModuleComparison] = []
    for m in out.members:
        if m.action is not Action.PATCH or m.member not in patched or m.target is None:
            continue
        module = module_name_of(installed_path(m.member, out.source.data_dir))
        if m.member in failed:
            skipped.append(ModuleComparison(m.member, module, Verdict.SKIPPED, reason="its patch failed a check"))
        elif not importable_here(m.target):
            skipped.append(ModuleComparison(m.member, module, Verdict.SKIPPED, reason=NOT_IMPORTABLE))
        else:
            renamed = module_name_of(installed_path(m.target, data_dir))
            subjects.append(Subject(m.member, module, m.target, renamed))
    return subjects, skipped


# -- running it ------------------------------------------------------------------------------


def _extract(wheel: Path, data_dir: str, dest: Path) -> None:
    """Install ``wheel``'s importable files and its ``.dist-info`` under ``dest``, as an installer would."""
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            name = info.filename
            target = name if name.partition("/")[0].endswith(".dist-info") else installed_path(name, data_dir)
            parts = target.split("/")
            if not target or name.endswith("/") or ".." in parts or target.startswith("/") or "" in parts:
                continue
            path = dest.joinpath(*parts)
            path.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(path, "wb") as out:
                shutil.copyfileobj(src, out)


def _how_it_died(code: int) -> str:
    if code < 0:
        try:
            return f"the process importing it died (signal {signal.Signals(-code).name})"
        except ValueError:
            return f"the process importing it died (signal {-code})"
    return f"the process importing it exited with status {code}"


_PROBE = Path(__file__).with_name("_shape_probe.py")


def _probe(
    base: Path, side: Sequence[Placed], modules: Sequence[tuple[str, str]], back: Mapping[str, str]
) -> tuple[list[dict[str, Attempt]], bool]:
    """Install ``side`` under ``base`` and import ``modules`` (name, installed path) in child
    processes: each module's attempts, and whether something went wrong that a later run may
    not repeat (a crash, a time-out)."""
    dirs = []
    for i, placed in enumerate(side):
        dest = base / str(i)
        _extract(placed.path, placed.data_dir, dest)
        dirs.append(str(dest))
    roots = {d: f"<site{i}>" for i, d in enumerate(dirs)}
    source = _PROBE.read_text(encoding="utf-8")
    attempts: list[dict[str, Attempt]] = [{} for _ in modules]
    pending = list(range(len(modules)))
    transient = False
    while pending:
        request = {
            "paths": dirs,
            "modules": [[modules[i][0], str(Path(dirs[0], modules[i][1]))] for i in pending],
            "back": dict(back),
            "roots": roots,
        }
        try:
            proc = subprocess.run(
                [sys.executable, "-I", "-S", "-B", "-c", source],
                input=json.dumps(request),
                capture_output=True,
                text=True,
                cwd=base,
                timeout=_TIMEOUT,
                check=False,
            )
            lines, code, errors = proc.stdout.splitlines(), proc.returncode, proc.stderr
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
            lines, code, errors = out.splitlines(), None, ""
        started: int | None = None
        done: set[int] = set()
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:  # a line cut short by a crash
                break
            index = pending[event[1]]
            if event[0] == "start":
                started = index
            elif event[0] == "done":
                done.add(index)
                started = None
            else:
                attempts[index][event[0]] = Attempt(True, event[3]) if event[2] else Attempt(False, error=str(event[3]))
        if started is not None or len(done) < len(pending):
            transient = True
            if code is None:
                why = f"timed out after {_TIMEOUT} s"
            elif started is None:
                why = f"the probe failed ({_how_it_died(code)}): {errors.strip()[-300:]}"
            else:
                why = _how_it_died(code)
            if started is not None:  # the others go on in another process
                mode = "import" if "import" not in attempts[started] else "alone"
                attempts[started][mode] = Attempt(False, error=why)
                done.add(started)
            if code is None or started is None:  # no progress to be had from another run
                for i in pending:
                    if i not in done:
                        attempts[i]["import"] = Attempt(False, error=why)
                        done.add(i)
        pending = [i for i in pending if i not in done]
    return attempts, transient


def run(job: Job) -> tuple[tuple[ModuleComparison, ...], bool]:
    """Import each side's modules in a child process of its own (the two run at once) and judge
    each module: the comparisons, and whether the outcome may be transient (not to be cached)."""
    originals = [(s.module, installed_path(s.member, job.original[0].data_dir)) for s in job.subjects]
    renamed = [(s.renamed_module, installed_path(s.target, job.patched[0].data_dir)) for s in job.subjects]
    with tempfile.TemporaryDirectory(prefix="mvpy-compare-") as tmp, ThreadPoolExecutor(2) as pool:
        before = pool.submit(_probe, Path(tmp, "original"), job.original, originals, {})
        after = pool.submit(_probe, Path(tmp, "renamed"), job.patched, renamed, dict(job.back))
        (old, old_transient), (new, new_transient) = before.result(), after.result()
    modules = tuple(judge(s.member, s.module, o, n, job.kept_strings) for s, o, n in zip(job.subjects, old, new))
    return modules, old_transient or new_transient


def compare_output(job: Job, skipped: Sequence[ModuleComparison] = (), cache: Cache | None = None) -> Comparison:
    """The differential check of one output wheel (from the cache when it has it); ``skipped``:
    modules not compared, with why, reported as they are."""
    key = job.key()
    if cache is not None:
        known = cache.get_json("native-compare", key)
        if known is not None:
            try:
                found = Comparison.from_json(known, cached=True)
                return Comparison(found.modules + tuple(skipped), found.original, found.patched, True)
            except (KeyError, TypeError, ValueError):
                pass
    modules, transient = run(job) if job.subjects else ((), False)
    result = Comparison(modules, tuple(p.path.name for p in job.original), tuple(p.path.name for p in job.patched))
    if cache is not None and not transient and all(m.verdict is not Verdict.DIFFERS for m in modules):
        cache.put_json("native-compare", key, result.to_json())
    return Comparison(result.modules + tuple(skipped), result.original, result.patched)
