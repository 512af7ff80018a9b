"""Judging against the original wheels: a finding is only excused if the original shows it the same way.

Every suspect (:mod:`.compare`) that can be the same in the original asks its world's original
wheels a question, in an environment holding only them (built when first needed: as soon as the
first suspect of that world is seen, while the rest is still being probed): how importing a
module ends, what making a class with no arguments and pickling it does (each in a child of its
own), what a ``sys.modules`` entry is named and loaded from. It is "same in original", and not
fatal, only if the answer, renamed, is what was found: ``blackd`` without ``black[d]``'s aiohttp
fails either way, websockets 10.4's C module names itself ``websocket.speedups`` either way; a
module that the original does not have at all is a real failure (a renamed namespace that serves
another distribution's files looks like that). The answers are kept by the original wheels'
content (:class:`Verdicts`).
"""

from __future__ import annotations

import functools
import os
import sys
import sysconfig
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from mvpy_vendor.cache import Cache, cache_key
from mvpy_vendor.progress import Reporter
from mvpy_vendor.report import Report

from .bytecode import BytecodeStore
from .compare import ABSENT, FAILS, IMPORTS, MISSING, PRESENT, Question, Suspect, answer_note, is_same, same_finding
from .environment import Installer, sha256_of, site_dirs
from .findings import Finding
from .probe import ProbeResult, run_probe

__all__ = ["OriginalWorlds", "Verdicts", "judge"]


class Verdicts:
    """What each world's original wheels answered to a question, kept by their content (None: not kept)."""

    def __init__(self, report: Report, cache_dir: Path | None, installer: str) -> None:
        self.report, self.cache_dir, self.installer = report, cache_dir, installer
        self._keys: dict[int, str | None] = {}
        self._lock = threading.Lock()

    @functools.cached_property
    def cache(self) -> Cache | None:
        # made when first needed: its fingerprint reads this tool's code
        return Cache(self.cache_dir / "verify") if self.cache_dir is not None else None

    def _world(self, world: int) -> str | None:
        with self._lock:
            if world not in self._keys:
                wheels = _original_wheels(self.report.origins[world], self.report)
                self._keys[world] = None
                if self.cache is not None and wheels is not None:
                    interpreter = [os.path.realpath(sys.executable), sys.version, sysconfig.get_platform()]
                    self._keys[world] = cache_key(interpreter, self.installer, sorted(map(sha256_of, wheels)))
            return self._keys[world]

    def get(self, world: int, item: tuple[str, ...]) -> dict[str, Any] | None:
        key = self._world(world)
        if key is None or self.cache is None:
            return None
        found = self.cache.get_json("verdicts", cache_key(key, item))
        return found if isinstance(found, dict) else None

    def put(self, world: int, item: tuple[str, ...], verdict: Mapping[str, Any]) -> None:
        key = self._world(world)
        if key is not None and self.cache is not None:
            self.cache.put_json("verdicts", cache_key(key, item), dict(verdict))


class OriginalWorlds:
    """Environments of each world's original wheels, each built once, when first asked for, in ``pool``."""

    def __init__(
        self,
        report: Report,
        installer: Installer,
        work: Path,
        pool: Executor,
        bytecode: BytecodeStore | None = None,
        verdicts: Verdicts | None = None,
    ) -> None:
        self.report, self.installer, self.work, self.pool = report, installer, work, pool
        self.bytecode = bytecode
        self.verdicts = verdicts or Verdicts(report, None, installer.kind)
        self.pythons: list[Path] = []
        self._built: dict[int, Future[Path] | None] = {}
        self._lock = threading.Lock()

    def prepare(self, world: int) -> Future[Path] | None:
        """The interpreter of world ``world``'s original environment, being built; None if its
        original wheels are not all available."""
        with self._lock:
            if world not in self._built:
                wheels = _original_wheels(self.report.origins[world], self.report)
                self._built[world] = None if wheels is None else self.pool.submit(self._build, world, wheels)
            return self._built[world]

    def prepare_for(self, suspect: Suspect) -> None:
        """Start building the world of ``suspect`` (just seen), unless it asks nothing or its
        answer is known."""
        q, world = suspect.question, suspect.world
        if q is not None and world is not None and self.verdicts.get(world, q.item) is None:
            self.prepare(world)

    def _build(self, world: int, wheels: Sequence[Path]) -> Path:
        python = self.installer.make_venv(self.work / f"original-{world}")
        self.installer.install(python, wheels=wheels)
        if self.bytecode is not None:
            self.bytecode.place(site_dirs(python))
        with self._lock:
            self.pythons.append(python)
        return python


def judge(suspects: Sequence[Suspect], worlds: OriginalWorlds, timeout: float, reporter: Reporter) -> list[Finding]:
    """One finding per suspect: fatal, or "same in original"; in the same order whatever was known
    before (suspects that ask nothing first, then by world, each as ``suspects`` lists them)."""
    findings = [s.finding for s in suspects if s.question is None or s.world is None]
    by_world: dict[int, list[Suspect]] = {}
    for s in suspects:
        if s.question is not None and s.world is not None:
            by_world.setdefault(s.world, []).append(s)
    known: dict[tuple[int, Question], Mapping[str, Any]] = {}  # what each world's original answered
    unavailable: set[int] = set()
    checks = []
    reused = 0
    with ThreadPoolExecutor(max(1, len(by_world))) as own:  # these wait on the builds in worlds.pool
        for world, items in sorted(by_world.items()):
            questions = sorted({s.question for s in items if s.question is not None}, key=lambda q: q.item)
            for q in questions:
                if (verdict := worlds.verdicts.get(world, q.item)) is not None:
                    known[world, q] = verdict
                    reused += 1
            unknown = [q for q in questions if (world, q) not in known]
            if not unknown:
                continue
            built = worlds.prepare(world)
            if built is None:
                unavailable.add(world)
            else:
                where = worlds.report.describe_origin(world)
                reporter.step(f"checking {len(unknown)} finding(s) against the original wheels of {where}")
                job = (world, unknown, built, worlds.work, timeout, worlds.bytecode)
                checks.append((world, own.submit(_original_world, *job)))
        for world, probed in checks:
            for q, answer in probed.result().items():
                known[world, q] = answer
                worlds.verdicts.put(world, q.item, answer)
    if reused:
        reporter.step(f"{reused} finding(s) judged by what the same original wheels did before")
    for world, items in sorted(by_world.items()):
        for s in items:
            assert s.question is not None
            seen = known.get((world, s.question))
            if seen is None:
                assert world in unavailable
                f = s.finding
                note = " (original wheels not available to compare)"
                findings.append(Finding(f.kind, f.distribution, f.module, f.detail + note, cause=f.cause))
            elif is_same(s, seen):
                findings.append(same_finding(s))
            else:
                f = s.finding
                detail = f.detail + answer_note(s, seen)
                findings.append(Finding(f.kind, f.distribution, f.module, detail, cause=f.cause))
    return findings


def _original_world(
    world: int,
    questions: Sequence[Question],
    built: Future[Path],
    work: Path,
    timeout: float,
    bytecode: BytecodeStore | None,
) -> dict[Question, dict[str, Any]]:
    """Ask ``questions`` of the environment of world ``world``'s original wheels, in one probe."""
    python = built.result()
    if bytecode is not None:  # what the main environment's probes compiled since it was built
        bytecode.place(site_dirs(python))
    modules: set[str] = set()
    objects: dict[str, list[str]] = {}
    entries: list[str] = []
    for q in questions:
        if q.kind == "import":
            modules.add(q.name)
        elif q.kind == "construct":
            module, _, attr = q.name.rpartition(".")
            modules.add(module)
            objects.setdefault(module, []).append(attr)
        else:
            modules.add(q.via)
            entries.append(q.name)
    spec = {"modules": sorted(modules), "walk": False, "objects": objects, "entries": entries, "timeout": timeout}
    result = run_probe(python, spec, work / f"original-{world}-probe", timeout)
    return {q: _answer(q, result, entries) for q in questions}


def _answer(q: Question, result: ProbeResult, entries: Sequence[str]) -> dict[str, Any]:
    """The original's answer to ``q``, from its probe's report."""
    report = result.report
    if q.kind == "import":
        crash = next((c.how for c in result.crashes if c.module == q.name), None)
        if crash is not None:
            return {"outcome": crash}
        if q.name in report["failures"]:
            exists = report["exists"].get(q.name, False)
            return {"outcome": FAILS if exists else MISSING, "error": report["failures"][q.name]}
        return {"outcome": IMPORTS}
    if q.kind == "construct":
        return dict(report["constructed"].get(q.name, {"outcome": MISSING}))
    entry = report["entries"][entries.index(q.name)]
    return {"outcome": ABSENT} if entry is None else {"outcome": PRESENT, **entry}


def _original_wheels(members: Mapping[str, str], report: Report) -> list[Path] | None:
    inputs = {path.name: path for path in report.inputs}
    sources = {(o.source_distribution.lower(), o.version): o.source_wheel for o in report.outputs}
    found = []
    for name, version in members.items():
        wheel = next((w for (n, v), w in sources.items() if v == version and canonicalize_name(n) == name), None)
        if wheel is None or wheel not in inputs or not inputs[wheel].is_file():
            return None
        found.append(inputs[wheel])
    return found
