"""One run of a suite under pytest, with the harness's plugin; resumed after a test that kills the process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Outcome", "RunResult", "RunSpec", "netns_available", "run_pytest"]

#: how often a run is resumed after a crash before it is given up as incomplete
MAX_RESUMES = 40


@dataclass(frozen=True)
class Outcome:
    outcome: str
    message: str = ""


@dataclass(frozen=True)
class RunSpec:
    """Everything one pytest run needs; the harness makes three of these per target and mode."""

    label: str
    python: Path
    workdir: Path
    rootdir: Path
    paths: tuple[Path, ...]
    ini: str
    args: tuple[str, ...]
    deselect: tuple[str, ...]
    test_timeout: int
    env: Mapping[str, str] = field(default_factory=dict)
    #: seconds one pytest process may take in all (a hang outside any test)
    process_timeout: int = 4 * 3600
    #: run in a network namespace of its own, with loopback only (``unshare --net``)
    netns: bool = True
    #: run only these tests (normalized ids); empty: all
    select: tuple[str, ...] = ()
    #: the environment's site-packages (a path in a test id is normalized under it first)
    site: Path = Path()


@dataclass(frozen=True)
class RunResult:
    outcomes: dict[str, Outcome]
    wall: float
    resumes: int
    #: empty when the run went to its end; else why it did not
    incomplete: str
    log: Path
    exit_codes: tuple[int, ...]


def netns_available() -> bool:
    """Whether this machine lets the harness make a network namespace with loopback up."""
    try:
        probe = subprocess.run(["unshare", "--net", "ip", "link", "set", "lo", "up"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def _read(path: Path, offset: int) -> tuple[list[dict[str, object]], int]:
    with path.open("rb") as f:
        f.seek(offset)
        data = f.read()
    complete = data[: data.rfind(b"\n") + 1]
    records = [json.loads(line) for line in complete.decode("utf-8").splitlines() if line.strip()]
    return records, offset + len(complete)


def _environ(spec: RunSpec, out: Path, deselect: Path, select: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTEST_ADDOPTS")}
    env.update(
        {
            "PYTHONHASHSEED": "0",
            "PYTHONNOUSERSITE": "1",
            "MVCONF_OUT": str(out),
            "MVCONF_DESELECT": str(deselect),
            "MVCONF_TEST_TIMEOUT": str(spec.test_timeout),
            # a temporary directory of its own: runs must not see each other's files (requests'
            # extract_zipped_paths keeps what an earlier run left in /tmp)
            "TMPDIR": str(spec.workdir / "tmp"),
        }
    )
    if spec.select:
        env["MVCONF_SELECT"] = str(select)
    # one label for all: a file of the suite is under the root in one run and under site-packages in another
    where = [spec.site, spec.rootdir, spec.python.parent.parent]
    env["MVCONF_PATHS"] = os.pathsep.join(f"{p}=<path>" for p in where if str(p) not in ("", "."))
    env.update(spec.env)
    return env


def run_pytest(spec: RunSpec, say: Callable[[str], None]) -> RunResult:
    """Run the suite to its end, resuming after any test that ends the process (recorded "crashed")."""
    spec.workdir.mkdir(parents=True, exist_ok=True)
    out, log, deselect, ini, select = (
        spec.workdir / n for n in ("outcomes.jsonl", "pytest.log", "deselect.txt", "pytest.ini", "select.txt")
    )
    select.write_text("".join(f"{s}\n" for s in spec.select), encoding="utf-8")
    if (spec.workdir / "tmp").exists():
        shutil.rmtree(spec.workdir / "tmp")
    (spec.workdir / "tmp").mkdir()
    for path in (out, log):
        path.write_text("", encoding="utf-8")
    ini.write_text(spec.ini, encoding="utf-8")
    done: list[str] = []
    outcomes: dict[str, Outcome] = {}
    command = [
        str(spec.python),
        "-m",
        "pytest",
        "-p",
        "mvconf_plugin",
        "-p",
        "no:cacheprovider",
        "-c",
        str(ini),
        "--rootdir",
        str(spec.rootdir),
        "--confcutdir",
        str(spec.rootdir),
        "-q",
        "-rN",
        "--tb=short",
        # a module that fails to import in one run must not stop the others from running
        "--continue-on-collection-errors",
        *spec.args,
        *(str(p) for p in spec.paths),
    ]
    if spec.netns:
        # a network namespace with loopback only: no test can reach anything but this machine
        command = ["unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *command]
    start = time.monotonic()
    offset, resumes, codes, incomplete = 0, 0, [], ""
    while True:
        deselect.write_text("".join(f"{d}\n" for d in (*spec.deselect, *done)), encoding="utf-8")
        with log.open("a", encoding="utf-8") as f:
            f.write(f"$ {' '.join(command)}\n")
            f.flush()
            try:
                rc = subprocess.run(
                    command,
                    # upstream runs its suite from the project's root: tests open files relative to it
                    cwd=spec.rootdir,
                    env=_environ(spec, out, deselect, select),
                    stdout=f,
                    stderr=subprocess.STDOUT,
                    timeout=spec.process_timeout,
                ).returncode
            except subprocess.TimeoutExpired:
                rc = -9
        codes.append(rc)
        records, offset = _read(out, offset)
        started: list[str] = []
        finished = False
        for record in records:
            if "start" in record:
                started.append(str(record["start"]))
            elif "finished" in record:
                finished = True
            else:
                outcomes[str(record["id"])] = Outcome(str(record["outcome"]), str(record.get("message", "")))
        if finished:
            break
        crashed = next((s for s in reversed(started) if s not in outcomes), None)
        if crashed is None:
            tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-2:]
            incomplete = f"pytest ended ({rc}) outside any test: {' | '.join(tail)}"
            break
        timed_out = "Timeout (" in log.read_text(encoding="utf-8", errors="replace")[-20000:]
        why = f"ran over {spec.test_timeout} s" if timed_out and rc == 1 else f"the process ended ({rc})"
        outcomes[crashed] = Outcome("crashed", why)
        say(f"{spec.label}: {crashed} {why}; resuming after it")
        done = sorted(outcomes)
        resumes += 1
        if resumes > MAX_RESUMES:
            incomplete = f"gave up after {MAX_RESUMES} resumed crashes"
            break
    return RunResult(outcomes, time.monotonic() - start, resumes, incomplete, log, tuple(codes))
