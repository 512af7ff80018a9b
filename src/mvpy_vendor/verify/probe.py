"""Run the probe in fresh interpreters: results over a channel of its own, crashes and hangs named.

The child (:mod:`._probe`) appends one JSON line per event to a file. When it dies (a signal,
``os._exit``, an import that hangs past the timeout), the module it had started and not
finished is the culprit: that is a finding, and the probe runs again without it, so the other
modules are still probed.

Where ``os.fork`` exists, the probes of one environment are forked by one :class:`ProbeServer`
started there (``-I -S``): each probe is still a process of its own, with its own streams and
exit status, started as a fresh interpreter would be but without paying for the interpreter's
start and the probe's imports (about 0.04 s of CPU each). Elsewhere each is a new interpreter.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from mvpy_vendor.errors import VerifyError

from .environment import clean_env

__all__ = ["Crash", "OnEvent", "ProbeResult", "ProbeServer", "run_probe"]

_PROBE = Path(__file__).with_name("_probe.py")
#: crashes tolerated in one probe before giving up on it
_MAX_CRASHES = 25
_POLL = 0.01


@dataclass(frozen=True)
class Crash:
    """A module whose import ended the probe: ``how`` is the signal, the exit code or the hang."""

    module: str
    how: str


@dataclass
class ProbeResult:
    report: dict[str, Any]
    crashes: list[Crash] = field(default_factory=list)
    site_dirs: list[str] = field(default_factory=list)


def _events(path: Path) -> list[dict[str, Any]]:
    found = []
    for line in path.read_bytes().splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue  # a line cut short by the crash
        if isinstance(event, dict):
            found.append(event)
    return found


def _culprit(events: list[dict[str, Any]]) -> str | None:
    open_: list[str] = []
    for event in events:
        if event.get("event") == "start":
            open_.append(str(event["module"]))
        elif event.get("event") in ("done", "failed") and open_:
            open_.pop()
    return open_[-1] if open_ else None


def _how(code: int | None, hung: float | None) -> str:
    if hung is not None:
        return f"hung: no progress for {hung:g} s"
    assert code is not None
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


_Run = tuple[list[dict[str, Any]], Optional[int], Optional[float], str]  # events, exit code, hang, stderr
#: called with each event as the probe writes it (from the thread running the probe)
OnEvent = Callable[[dict[str, Any]], None]


class _Tail:
    """The complete lines appended to the events file since the last look, as events."""

    def __init__(self, path: Path, on_event: OnEvent | None) -> None:
        self.path, self.on_event, self.offset, self.rest = path, on_event, 0, b""

    def read(self) -> None:
        if self.on_event is None:
            return
        with self.path.open("rb") as fh:
            fh.seek(self.offset)
            data = fh.read()
        self.offset += len(data)
        *lines, self.rest = (self.rest + data).split(b"\n")
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                self.on_event(event)


class _Job:
    """A probe forked by a :class:`ProbeServer`, waited on and killed as a ``Popen`` is."""

    def __init__(self, server: ProbeServer, job: int) -> None:
        self.server, self.job = server, job
        self.returncode: int | None = None

    def wait(self, timeout: float | None = None) -> int:
        code = self.server.exit_code(self.job, timeout)
        if code is None:
            raise subprocess.TimeoutExpired(f"probe {self.job}", timeout or 0.0)
        self.returncode = code
        return code

    def kill(self) -> None:
        self.server.kill(self.job)


class ProbeServer:
    """An interpreter of one environment, started once with ``-I -S``, that forks each probe."""

    def __init__(self, python: Path, work: Path) -> None:
        work.mkdir(parents=True, exist_ok=True)
        self._exits: dict[int, int] = {}
        self._changed = threading.Condition()
        self._writing = threading.Lock()
        self._next = 0
        with (work / "server-stderr.txt").open("wb") as err:
            self.proc = subprocess.Popen(
                [str(python), "-I", "-S", "-X", "faulthandler", str(_PROBE), "--serve"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                env=clean_env(),
            )
        self._stderr = work / "server-stderr.txt"
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict) and event.get("event") == "exit":
                with self._changed:
                    self._exits[int(event["job"])] = int(event["code"])
                    self._changed.notify_all()
        self.proc.wait()
        with self._changed:
            self._changed.notify_all()

    def _send(self, message: Mapping[str, Any]) -> None:
        assert self.proc.stdin is not None
        try:
            with self._writing:
                self.proc.stdin.write((json.dumps(message) + "\n").encode("utf-8"))
                self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            raise self._gone() from None

    def _gone(self) -> VerifyError:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)  # its pipe broke: it is ending
        code = self.proc.returncode
        how = _how(code, None) if code is not None else "stopped reading its jobs"
        tail = self._stderr.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
        detail = f": {' | '.join(tail)}" if tail else ""
        return VerifyError(f"the probe server ended ({how}){detail}")

    def start(self, spec_file: Path, events_file: Path, stderr_file: Path) -> _Job:
        with self._changed:
            job, self._next = self._next, self._next + 1
        self._send({"job": job, "spec": str(spec_file), "events": str(events_file), "stderr": str(stderr_file)})
        return _Job(self, job)

    def exit_code(self, job: int, timeout: float | None) -> int | None:
        """The job's exit code, waiting at most ``timeout`` seconds for it (None: as long as it takes)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while job not in self._exits:
                if self.proc.poll() is not None and not self._reader.is_alive():
                    raise self._gone()
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return None
                self._changed.wait(left)
            return self._exits[job]

    def kill(self, job: int) -> None:
        self._send({"kill": job})

    def close(self) -> None:
        """End the server (and any probe still running)."""
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._reader.join()

    def __enter__(self) -> ProbeServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def can_fork() -> bool:
    """Whether probes can be forked by a server here."""
    return hasattr(os, "fork") and _FORK


#: tests switch this off to run every probe as an interpreter of its own, as where there is no fork
_FORK = True


def _once(
    python: Path,
    spec: Mapping[str, Any],
    work: Path,
    timeout: float,
    bare: bool,
    on_event: OnEvent | None = None,
    server: ProbeServer | None = None,
) -> _Run:
    work.mkdir(parents=True, exist_ok=True)
    spec_file = work / "probe-spec.json"
    events_file = work / "probe-events.jsonl"
    stderr_file = work / "probe-stderr.txt"
    spec_file.write_text(json.dumps(spec), encoding="utf-8")
    events_file.write_bytes(b"")
    flags = ["-I", "-S"] if bare else ["-I"]
    with stderr_file.open("wb") as err:
        proc: subprocess.Popen[bytes] | _Job
        if server is not None:
            proc = server.start(spec_file, events_file, stderr_file)
        else:
            proc = subprocess.Popen(
                [str(python), *flags, "-X", "faulthandler", str(_PROBE), str(spec_file), str(events_file)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                env=clean_env(),
            )
        size, last = 0, time.monotonic()
        hung = None
        tail = _Tail(events_file, on_event)
        while True:
            try:
                proc.wait(_POLL)
                break
            except subprocess.TimeoutExpired:
                pass
            now_size = events_file.stat().st_size
            if now_size != size:
                size, last = now_size, time.monotonic()
                tail.read()
            elif time.monotonic() - last > timeout:
                proc.kill()
                proc.wait()
                hung = timeout
                break
    tail.read()
    stderr = stderr_file.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
    return _events(events_file), proc.returncode, hung, " | ".join(stderr)


def run_probe(
    python: Path,
    spec: Mapping[str, Any],
    work: Path,
    timeout: float,
    *,
    bare: bool = False,
    on_event: OnEvent | None = None,
    server: ProbeServer | None = None,
) -> ProbeResult:
    """Probe ``spec`` in ``python``, again without each module that crashes or hangs, until it reports.

    ``bare``: run without ``site`` (no ``.pth`` file runs first); ``spec`` then names the site dirs.
    ``server``: a :class:`ProbeServer` of ``python``'s environment forks the probe (``spec`` then
    names the site dirs either way: a probe with ``site`` runs it first).
    ``work`` is this probe's own directory (probes may run at the same time). ``on_event`` sees
    every event while the probe runs (those of a run that crashed too), and a ``crashed`` event
    (``module``, ``how``) for each module that ended a run.
    """
    crashes: list[Crash] = []
    skip = list(spec.get("skip", ()))
    site_dirs: list[str] = []
    while True:
        job_spec = {**spec, "skip": skip, "run_site": server is not None and not bare}
        events, code, hung, stderr = _once(python, job_spec, work, timeout, bare, on_event, server)
        for event in events:
            if event.get("event") == "site":
                site_dirs = list(event["site_dirs"])
            if event.get("event") == "report":
                return ProbeResult(event, crashes, site_dirs)
        culprit = _culprit(events)
        how = _how(code, hung)
        if culprit is None or culprit in skip or len(crashes) >= _MAX_CRASHES:
            detail = f"; {stderr}" if stderr else ""
            raise VerifyError(f"the probe {how} before it reported, outside any module import{detail}")
        crashes.append(Crash(culprit, how))
        skip.append(culprit)
        if on_event is not None:
            on_event({"event": "crashed", "module": culprit, "how": how})
