"""Execute a plan: write every output wheel, ``requirements.txt`` and the report; decide nothing.

Each member is handled as its :class:`~.planning.plan.MemberPlan` says, from a reader of the
source wheel into a writer of the output; each yields a :class:`~.outcome.MemberOutcome`. Every
problem of every output is collected, and the build fails once at the end. Everything is written
into a staging directory first: ``out_dir`` is touched only when every wheel is written.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import json
import multiprocessing
import os
import shutil
import signal
import sys
import threading
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, NoReturn, Optional

from ._version import __version__
from .cache import Cache, cache_key
from .errors import BuildError, Code, NativeError, Problem, Severity, WheelProblems
from .native import file_names, patch_native
from .native.check import LoadTarget, can_load_here, load_check
from .native.differential import compare_output, job_for, subjects_of
from .options import ApplyOptions
from .outcome import MemberOutcome, Status
from .outdir import keep_unverified, locked_out_dir, move_into, os_error, unverified_dir
from .planning.members import name_map
from .planning.plan import Action, MemberPlan, Output, Plan, requirements_txt
from .progress import SILENT, Reporter
from .pylock import WHEELHOUSE_LOCK, wheelhouse_lock
from .report import PROVENANCE_NAME, REPORT_NAME, BuildResult, OutputResult
from .rewrite.metadata import (
    rewrite_entry_points,
    rewrite_metadata,
    rewrite_namespace_packages,
    rewrite_pth,
    rewrite_top_level,
)
from .rewrite.names import NameMap
from .rewrite.source import SourceResult, rewrite_source_deflated
from .rewrite.stack import stop_worker_thread
from .wheel.layout import installed_path, is_python, module_name_of
from .wheel.reader import MemberReader
from .wheel.records import file_sha256, hash_chunks, sha256_hashes
from .wheel.writer import Compressed, SourceMember, WheelWriter

__all__ = ["Gate", "UnverifiedError", "apply_plan"]

# Below this much source to rewrite, starting workers and shipping files to them costs more than
# the fast path takes on its own.
_PARALLEL_MIN_BYTES = 4 << 20
_CHUNK_FILES = 8  # files per job sent to a worker

_PR_SET_PDEATHSIG = 1  # linux/prctl.h

#: Private, for tests only: False makes workers rely on the portable lifeline alone (as on macOS
#: and Windows, which have no ``PR_SET_PDEATHSIG``), so that Linux can test it.
_USE_PDEATHSIG = True

# The write ends of the lifelines this process holds: a worker forked from it closes its copies,
# so that the pipe reaches end-of-file when this process dies.
_LIFELINE_ENDS: list[Connection] = []

# In a worker: the shared slots, and the index of the one holding "the file being rewritten".
_SLOT: tuple[Any, int] | None = None


_Done = tuple[SourceResult, Optional[Compressed]]  # a rewrite's outcome and the new file, deflated


def _rewrite_members(wheel: str, members: list[str], names: NameMap, start: int) -> list[_Done]:
    """A worker's job: rewrite (and deflate) these members of ``wheel``, read here rather than
    sent from the build process; the results go back without their bytes (the compressed form
    carries them, and an unchanged file is copied by the writer from the source wheel). Each
    member's index among the wheel's (``start``, ``start + 1``, ...) is noted in the worker's slot
    while it is rewritten, for the build to name if this process dies."""
    global _worker_reader
    if _worker_reader is None or _worker_reader[0] != wheel:
        if _worker_reader is not None:
            _worker_reader[1].close()
        _worker_reader = (wheel, MemberReader(Path(wheel)))
    reader = _worker_reader[1]
    done = []
    for i, member in enumerate(members, start):
        if _SLOT is not None:
            _SLOT[0][_SLOT[1]] = i
        done.append(rewrite_source_deflated(reader.read(member), names))
    if _SLOT is not None:  # between batches: the last file done, as -2 - its index
        _SLOT[0][_SLOT[1]] = -2 - (start + len(members) - 1)
    return done


_worker_reader: tuple[str, MemberReader] | None = None  # a worker's reader of the wheel it last read


def _rewrite_in_parallel(
    out: Output, names: NameMap, reader: MemberReader, workers: _Workers | None
) -> dict[str, Callable[[], _Done]]:
    """Start rewriting (and deflating) a large wheel's Python files in worker processes, ahead of
    writing: for each, a function that waits for its outcome.

    Nothing is done (the files are then rewritten one by one as they are written) without
    workers, or for less source than is worth starting them for. A worker reads its files from
    the wheel itself: no file's bytes are sent to it. A worker that dies (a signal, a crash of the
    interpreter) fails the build with one line naming the wheel, the file it was rewriting (when
    known) and how it died.
    """
    members = [
        m.member for m in out.members if m.action is Action.REWRITE and is_python(m.member, out.source.dist_info)
    ]
    if workers is None or sum(reader.getinfo(m).file_size for m in members) < _PARALLEL_MIN_BYTES:
        return {}
    # Submitted in chunks rather than through ``map``, whose results iterator cancels what is
    # pending when it is interrupted, which the executor (Python 3.11) then trips over.
    waits: dict[str, Callable[[], _Done]] = {}
    try:
        executor = workers.executor()
        for i in range(0, len(members), _CHUNK_FILES):
            chunk = members[i : i + _CHUNK_FILES]
            future = executor.submit(_rewrite_members, str(out.source.path), chunk, names, i)
            for j, member in enumerate(chunk):
                waits[member] = functools.partial(_nth, future, j, out, workers, members)
    except BrokenProcessPool:
        _died(out, workers, members)
    return waits


def _nth(future: Future[list[_Done]], index: int, out: Output, workers: _Workers, members: list[str]) -> _Done:
    try:
        return future.result()[index]
    except BrokenProcessPool:
        _died(out, workers, members)


def _died(out: Output, workers: _Workers, members: list[str]) -> NoReturn:
    member, how, during = workers.death(members)
    if member is None:
        where = "while rewriting this wheel's files"
    else:
        where = "while rewriting it" if during else "after rewriting it, between two batches of files"
    raise WheelProblems([Problem(out.source.filename, f"{how} {where}", member, code=Code.REWRITE_FAILED)]) from None


def _source_outcome(out: Output, member: str, result: SourceResult) -> MemberOutcome:
    """One Python file's outcome; an unparsable file fails the build unless the plan allows copying it."""
    problem = None
    if result.status is Status.FAILED:
        problem = Problem(out.source.filename, result.error or "", member, result.error_line, Code.REWRITE_FAILED)
    elif result.status is Status.UNPARSABLE and not out.allow_unparsable:
        problem = Problem(out.source.filename, result.error or "", member, result.error_line, Code.UNPARSABLE)
    elif result.status is Status.UNPARSABLE:
        problem = Problem(
            out.source.filename,
            f"{result.error}; copied unchanged",
            member,
            code=Code.COPIED_UNPARSABLE,
            severity=Severity.WARNING,
            setting="allow-unparsable",
        )
    return MemberOutcome(
        member, result.status, result.changes, result.diagnostics, result.error or "", problem, result.strings
    )


class _OutputWriter:
    """Writes one output wheel, member by member, as planned."""

    def __init__(self, out: Output, reader: MemberReader, writer: WheelWriter) -> None:
        self.out = out
        self.reader = reader
        self.writer = writer
        self.names = name_map(out)
        self.hashes = sha256_hashes(reader.read(f"{out.source.dist_info}/RECORD"))
        self.outcomes: list[MemberOutcome] = []
        self.warnings: list[Problem] = []
        self.problems: list[Problem] = []
        self.to_load: list[LoadTarget] = []  # patched modules this machine can load, to check

    def copy(self, plan: MemberPlan, info: zipfile.ZipInfo, executable: bool) -> None:
        """Copy a member as it is stored; RECORD keeps its validated hash."""
        assert plan.target is not None
        known = self.hashes.get(info.filename)
        if known is None:  # RECORD used another algorithm: hash it now
            known = "sha256=" + hash_chunks(self.reader.chunks(info), "sha256")[0]
        stored = SourceMember(info.compress_type, info.CRC, info.compress_size, info.file_size, known)
        self.writer.copy(plan.target, stored, self.reader.stored(info), executable)

    def note(self, outcome: MemberOutcome) -> None:
        self.outcomes.append(outcome)
        problem = outcome.problem
        if problem is not None:
            (self.warnings if problem.severity is Severity.WARNING else self.problems).append(problem)

    def source(
        self,
        plan: MemberPlan,
        info: zipfile.ZipInfo,
        executable: bool,
        done: Callable[[], _Done] | None,
    ) -> None:
        assert plan.target is not None
        if done is not None:  # rewritten (and deflated) by a worker
            result, packed = done()
        else:
            result, packed = rewrite_source_deflated(self.reader.read(info), self.names)
        outcome = _source_outcome(self.out, plan.member, result)
        self.note(outcome)
        if plan.problem is not None:
            self.warnings.append(plan.problem)
        if result.status is not Status.REWRITTEN or packed is None:
            self.copy(plan, info, executable)
        else:
            self.writer.write_compressed(plan.target, packed, executable)

    def metadata(self, plan: MemberPlan, info: zipfile.ZipInfo, executable: bool) -> None:
        assert plan.target is not None
        out, text = self.out, self.reader.read(info).decode("utf-8")
        name = plan.member.rpartition("/")[2]
        if name == "METADATA":
            new = rewrite_metadata(text, out.display_name if out.renamed else None, dict(out.requires_map))
        elif name == "entry_points.txt":
            new = rewrite_entry_points(text, self.names, drop_scripts=out.renamed, groups=out.renamed).text
        elif name == "namespace_packages.txt":
            new = rewrite_namespace_packages(text, self.names)
        else:
            new = rewrite_top_level(text, self.names)
        self.writer.write(plan.target, new.encode("utf-8"), executable)

    def native(self, plan: MemberPlan, info: zipfile.ZipInfo, executable: bool) -> None:
        assert plan.target is not None
        data = self.reader.read(info)
        try:
            files = file_names(self.out.source.members)
            patched = patch_native(data, plan.member, self.names.imports, plan.init_rename, files)
        except NativeError as exc:
            reason = exc.message.removeprefix(f"{plan.member}: ")
            problem = Problem(self.out.source.filename, reason, plan.member, code=Code.NATIVE_PATCH_FAILED)
            self.problems.append(problem)
            self.copy(plan, info, executable)
            return
        self.note(MemberOutcome(plan.member, Status.PATCHED, reason=plan.reason, problem=plan.problem))
        self.writer.write(plan.target, patched, executable)
        if data.startswith(b"\x7fELF") and can_load_here(plan.target):
            last = module_name_of(installed_path(plan.member, self.out.source.data_dir)).rpartition(".")[2]
            old, new = plan.init_rename or (last, last)
            self.to_load.append(LoadTarget(plan.target, f"PyInit_{new}", plan.member, f"PyInit_{old}"))

    def check_loads(self, written: Path) -> None:
        """Load the patched modules of the wheel just written, as installed, in a child process:
        one that the original loads and the patched file does not is an error."""
        if not self.to_load:
            return
        source = self.out.source
        data_dir = self.out.dist_info[: -len(".dist-info")] + ".data"
        try:
            broken, unchecked = load_check(written, data_dir, source.path, source.data_dir, self.to_load)
        except NativeError as exc:
            self.problems.append(Problem(source.filename, exc.message, code=Code.NATIVE_PATCH_FAILED))
            return
        members = {t.member: t.original_member for t in self.to_load}
        for target, why in sorted(broken.items()):
            reason = f"patched binary failed the load check: {why}"
            self.problems.append(Problem(source.filename, reason, members[target], code=Code.NATIVE_PATCH_FAILED))
        for target, why in sorted(unchecked.items()):
            reason = f"patched binary not loaded to check it: {why}"
            problem = Problem(
                source.filename, reason, members[target], code=Code.NATIVE_LOAD_UNCHECKED, severity=Severity.WARNING
            )
            self.warnings.append(problem)

    def member(self, plan: MemberPlan, done: Callable[[], _Done] | None) -> None:
        action = plan.action
        if action in (Action.DROP, Action.REGENERATE):
            return
        if action is Action.REFUSE:
            assert plan.problem is not None
            self.problems.append(plan.problem)
            return
        if action is Action.DEACCELERATE:
            self.outcomes.append(MemberOutcome(plan.member, Status.DEACCELERATED, reason=plan.reason))
            return
        info = self.reader.getinfo(plan.member)
        executable = bool((info.external_attr >> 16) & 0o111)
        if action is Action.COPY:
            if plan.problem is not None:
                self.warnings.append(plan.problem)
            self.copy(plan, info, executable)
        elif action is Action.REWRITE:
            self.source(plan, info, executable, done)
        elif action is Action.REWRITE_PTH:
            assert plan.target is not None
            data = self.reader.read(info)
            new = rewrite_pth(data, self.names)
            if new != data:
                self.outcomes.append(MemberOutcome(plan.member, Status.REWRITTEN))
            self.writer.write(plan.target, new, executable)
        elif action is Action.METADATA:
            self.metadata(plan, info, executable)
        elif action is Action.NEUTRALISE:
            assert plan.target is not None
            self.outcomes.append(MemberOutcome(plan.member, Status.NEUTRALISED, reason=plan.reason))
            self.writer.write(plan.target, _neutralised(plan), executable)
        else:
            self.native(plan, info, executable)


def _neutralised(plan: MemberPlan) -> bytes:
    """The empty module that replaces one that only ran an aliasing import hook."""
    why = plan.reason.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    return f'"""Emptied by mvpy-vendor: {plan.member} {why}."""\n'.encode()


def _write_output(out: Output, path: Path, workers: _Workers | None) -> tuple[OutputResult, list[Problem]]:
    """Write one output wheel. Members that do not change are copied as stored, never inflated."""
    provenance = f"{out.dist_info}/{PROVENANCE_NAME}"
    with MemberReader(out.source.path) as reader, WheelWriter(path, out.dist_info) as writer:
        job = _OutputWriter(out, reader, writer)
        prefetched = _rewrite_in_parallel(out, job.names, reader, workers)
        pending_provenance = True
        for plan in out.members:
            if (
                pending_provenance
                and plan.target is not None
                and plan.target > provenance
                and plan.target.startswith(out.dist_info + "/")
            ):
                writer.write(provenance, _provenance(out))
                pending_provenance = False
            job.member(plan, prefetched.pop(plan.member, None))
        if pending_provenance:
            writer.write(provenance, _provenance(out))
    job.check_loads(path)
    natives = tuple(m.native for m in out.members if m.native is not None)
    result = OutputResult(out, "", tuple(job.outcomes), out.dropped, tuple(job.warnings), natives)
    return result, job.problems


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


def _output_key(out: Output) -> str:
    """Everything that decides an output wheel's bytes: the plan of it says all of it."""
    return cache_key("output", out.to_json(), os.environ.get("SOURCE_DATE_EPOCH", ""))


def _from_cache(cache: Cache | None, key: str, out: Output, target: Path) -> OutputResult | None:
    """The output wheel copied from the cache to ``target`` (checked against its digest), or None."""
    if cache is None:
        return None
    known = cache.get_json("outcomes", key)
    if known is None or not cache.copy_file("outputs", key, target):
        return None
    try:
        return OutputResult.from_cache(out, known)
    except (KeyError, TypeError, ValueError, AttributeError):
        target.unlink(missing_ok=True)
        return None


#: checks a staged wheelhouse (the result, and where it is) before it is published: True to publish
Gate = Callable[[BuildResult, Path], bool]


class UnverifiedError(BuildError):
    """The staged wheelhouse failed its check: nothing was published; it is kept in ``kept``."""

    def __init__(self, out_dir: Path, kept: Path) -> None:
        self.out_dir, self.kept = out_dir, kept
        super().__init__(f"verify failed: nothing was published to {out_dir}; the unverified wheelhouse is in {kept}")


def apply_plan(
    plan: Plan,
    out_dir: Path,
    options: ApplyOptions | None = None,
    *,
    reporter: Reporter = SILENT,
    cache: Cache | None = None,
    gate: Gate | None = None,
) -> BuildResult:
    """Write every output wheel, ``requirements.txt`` and the report into ``out_dir``.

    Only ``options.jobs`` is read here: everything else was decided when the plan was made.
    Everything is written into a staging directory first; ``out_dir`` is touched only once every
    wheel has been written, so a failed run leaves it as it was.

    ``gate`` (verification) is given the result and the complete staged wheelhouse before
    anything is published. If it returns False, or raises (an error, Ctrl-C, SIGTERM),
    ``out_dir`` is left as it was and the staged wheelhouse is kept in
    :func:`~mvpy_vendor.outdir.unverified_dir` (False raises :class:`UnverifiedError`).
    """
    workers = (options or ApplyOptions()).workers
    with locked_out_dir(out_dir) as staging:
        try:
            built = _apply(plan, out_dir, staging, workers, reporter, cache)
        except OSError as exc:  # a file system that refuses (read-only, full): one line
            raise os_error(exc, str(out_dir)) from None
        if gate is not None:
            try:
                passed = gate(built, staging)
            except BaseException:
                keep_unverified(staging, out_dir)
                raise
            if not passed:
                raise UnverifiedError(out_dir, keep_unverified(staging, out_dir))
        move_into(staging, out_dir)
        if gate is not None:  # what a failed run kept is older than what was just published
            shutil.rmtree(unverified_dir(out_dir), ignore_errors=True)
        return built


def _worker_start(parent: int, lifeline: Connection, slots: Any, pdeathsig: bool) -> None:
    """A worker's initializer: die with the build process, however it dies; take a slot.

    On Linux the kernel kills the worker when the build dies (``PR_SET_PDEATHSIG``). Everywhere
    (the only way on macOS and Windows), a thread waits on the lifeline, a pipe whose write end
    only the build process holds: when that process dies the pipe reaches end-of-file and the
    worker exits at once. Interrupts are the build process's to handle (it stops the workers);
    SIGTERM kills a worker outright, whatever handler it inherited.
    """
    global _SLOT
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for end in _LIFELINE_ENDS:  # inherited by fork: this process must not keep the pipe open
        with contextlib.suppress(OSError):
            end.close()
    _LIFELINE_ENDS.clear()
    if pdeathsig and sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    threading.Thread(target=_exit_with_parent, args=(lifeline,), name="mvpy-vendor-lifeline", daemon=True).start()
    try:
        os.kill(parent, 0)
    except ProcessLookupError:  # the build died before the lines above
        os._exit(1)
    except OSError:
        pass
    with slots.get_lock():
        raw = slots.get_obj()
        for i in range(0, len(raw), 2):
            if raw[i] == 0:
                raw[i], raw[i + 1] = os.getpid(), -1
                _SLOT = (raw, i + 1)
                break


def _exit_with_parent(lifeline: Connection) -> None:
    """Block until the build process is gone (nothing is ever sent), then exit at once."""
    with contextlib.suppress(EOFError, OSError):
        while True:
            lifeline.recv_bytes()
    os._exit(1)


def _how_it_died(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"worker process died with signal {signal.Signals(-code).name}"
        except ValueError:
            return f"worker process died with signal {-code}"
    if code is not None:
        return f"worker process exited with code {code}"
    return "a worker process died"


class _Workers:
    """The worker processes of one build, started when a wheel first needs them.

    Each worker keeps, in memory shared with the build, its pid and the index of the file it is
    rewriting, so that a worker that dies can be named with that file.
    """

    def __init__(self, count: int) -> None:
        self.count = count
        self._pool: ProcessPoolExecutor | None = None
        self._slots: Any = None
        self._ends: tuple[Connection, Connection] | None = None

    def executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            stop_worker_thread()  # fork only a single-threaded process
            context = multiprocessing.get_context()
            self._slots = context.Array("q", 2 * self.count)  # (pid, file index) per worker
            reader, writer = context.Pipe(duplex=False)
            self._ends = (reader, writer)
            _LIFELINE_ENDS.append(writer)
            args = (os.getpid(), reader, self._slots, _USE_PDEATHSIG)
            self._pool = ProcessPoolExecutor(self.count, mp_context=context, initializer=_worker_start, initargs=args)
        return self._pool

    def death(self, members: list[str]) -> tuple[str | None, str, bool]:
        """After the pool broke: the file the dead worker was rewriting (True) or had rewritten last
        (False), or None; and how it died.

        The executor notices a worker gone when its pipes close, a moment before the kernel
        gives its exit status, and then terminates the others (SIGTERM): their statuses are
        waited for (briefly; they are being killed). The dead worker is the one that did not
        end by that SIGTERM; its file is named only when there is one such worker.
        """
        processes = list((getattr(self._pool, "_processes", None) or {}).items())
        deadline = time.monotonic() + 5
        while True:
            codes = {pid: getattr(p, "exitcode", None) for pid, p in processes}
            if all(code is not None for code in codes.values()) or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        dead = [pid for pid, code in codes.items() if code not in (None, 0, -signal.SIGTERM)]
        dead = dead or [pid for pid, code in codes.items() if code == -signal.SIGTERM]
        if len(dead) != 1:
            return None, _how_it_died(None), False
        member, during = None, False
        if self._slots is not None:
            raw = self._slots.get_obj()
            for i in range(0, len(raw), 2):
                if raw[i] == dead[0]:
                    index = raw[i + 1]
                    during = index >= 0
                    index = index if during else -2 - index
                    member = members[index] if 0 <= index < len(members) else None
        return member, _how_it_died(codes[dead[0]]), during

    def stop(self, failed: bool) -> None:
        """Shut the workers down; after a failure (or an interrupt) without waiting for their work.

        The workers are terminated first: the executor then finds them gone, fails what was
        pending and stops. The queue feeding them is not waited for at exit (its thread may be
        blocked writing work that no worker will read). Cancelling futures instead races with
        that in Python 3.11 (InvalidStateError in the executor's thread). The lifeline is closed
        last: any worker still there exits.
        """
        pool = self._pool
        if pool is not None:
            if failed:
                calls = getattr(pool, "_call_queue", None)
                if calls is not None:
                    with contextlib.suppress(Exception):
                        calls.cancel_join_thread()
                for process in list((getattr(pool, "_processes", None) or {}).values()):
                    with contextlib.suppress(OSError, AttributeError):
                        process.terminate()
            pool.shutdown(wait=True)
        if self._ends is not None:
            for end in self._ends:
                end.close()
            with contextlib.suppress(ValueError):
                _LIFELINE_ENDS.remove(self._ends[1])
        self._pool, self._ends = None, None


def _compared(
    plan: Plan,
    staging: Path,
    results: list[OutputResult],
    problems: list[Problem],
    reporter: Reporter,
    cache: Cache | None,
) -> list[OutputResult]:
    """Every output with patched compiled modules, with the differential check of them: each
    imported beside its original, what they expose compared. Its errors join ``problems``; its
    warnings, the output's."""
    staged = {r.output.key: (staging / r.output.filename, r.sha256) for r in results}
    checked = []
    for r in results:
        out = r.output
        patched = {f.member for f in r.files if f.status is Status.PATCHED}
        failed = {p.member for p in problems if p.wheel == out.source.filename and p.member is not None}
        subjects, skipped = subjects_of(out, patched, failed)
        if not subjects and not skipped:
            checked.append(r)
            continue
        reporter.step(f"comparing the patched modules of {out.filename} with the original")
        comparison = compare_output(job_for(plan, out, staged, subjects), skipped, cache)
        found = comparison.problems(out.source.filename)
        problems += [p for p in found if p.severity is Severity.ERROR]
        warnings = tuple(p for p in found if p.severity is Severity.WARNING)
        checked.append(replace(r, comparison=comparison, warnings=(*r.warnings, *warnings)))
    return checked


def _apply(
    plan: Plan, out_dir: Path, staging: Path, workers: int, reporter: Reporter, cache: Cache | None
) -> BuildResult:
    pool = _Workers(workers) if workers > 1 else None
    failed = True
    try:
        results: list[OutputResult] = []
        problems: list[Problem] = []
        for i, out in enumerate(plan.outputs):
            reporter.progress(i, len(plan.outputs), out.filename)
            target = staging / out.filename
            cached = cache if out.action != "copy" else None
            key = _output_key(out) if cached is not None else ""
            if out.action == "copy":
                shutil.copyfile(out.source.path, target)
                result: OutputResult | None = OutputResult(out, "")
            else:
                result = _from_cache(cached, key, out, target)
            if result is None:
                result, found = _write_output(out, target, pool)
                problems += found
                if cached is not None and not found:
                    digest = file_sha256(target)
                    cached.put_file("outputs", key, target, digest)
                    cached.put_json("outcomes", key, result.outcome_json())
            # validation's and planning's: never cached with the output
            found_in_input = (*out.source.warning_problems(), *out.placement_warnings)
            results.append(replace(result, sha256=file_sha256(target), warnings=(*found_in_input, *result.warnings)))
        reporter.progress(len(plan.outputs), len(plan.outputs), "")
        results = _compared(plan, staging, results, problems, reporter, cache)
        if problems:
            raise WheelProblems(problems)
        built = BuildResult(plan, tuple(results), out_dir)
        (staging / "requirements.txt").write_text(requirements_txt(plan), encoding="utf-8")
        listed = [(r.output.display_name, r.output.version, staging / r.output.filename, r.sha256) for r in results]
        (staging / WHEELHOUSE_LOCK).write_text(wheelhouse_lock(listed), encoding="utf-8")
        (staging / REPORT_NAME).write_text(json.dumps(built.to_json(), indent=2) + "\n", encoding="utf-8")
        failed = False
        return built
    finally:
        if pool is not None:
            pool.stop(failed)
