"""Faults leave nothing behind: real signals sent to a real build of a large wheel (its main process
or one of its workers), then a second build byte-identical to a clean one; workers that die with
the build without PR_SET_PDEATHSIG; two builds into one --out; --out that cannot be written."""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import FOO_SET, ROOT, hostile_module, pick

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to find the workers")


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "mvpy_vendor", *args]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src")}


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return "X"


def _alive(pid: int) -> bool:
    return _state(pid) not in ("X", "Z")  # a zombie is dead, only not reaped yet


def _snapshot(path: Path) -> dict[str, bytes]:
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def _default_sigint() -> None:
    """A shell runs background jobs with SIGINT ignored, and Python then keeps it ignored: undo that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(scope="module")
def big_inputs(wheels: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The foo set with foo 1.0.0 made large (4,000 more modules to rewrite, in worker processes)."""
    inputs = tmp_path_factory.mktemp("big")
    for wheel in pick(wheels, *FOO_SET):
        shutil.copy(wheel, inputs)
    hostile_module().big_wheel(wheels, inputs)
    return inputs


@pytest.fixture(scope="module")
def clean_build(big_inputs: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("clean") / "out"
    subprocess.run(
        _cli("build", "--wheels", str(big_inputs), "--out", str(out), "--no-cache", "--jobs", "2"),
        check=True, env=_env(), capture_output=True,
    )  # fmt: skip
    return _snapshot(out)


def _start_build(
    inputs: Path, tmp_path: Path, preexec: Callable[[], None]
) -> tuple[dict[str, bytes], list[str], subprocess.Popen[bytes]]:
    """A build of ``inputs`` into ``tmp_path/out`` (holding a file from before) with the cache
    ``tmp_path/cache``, in a session of its own: what --out held, what was beside it, the build."""
    out, cache = tmp_path / "out", tmp_path / "cache"
    out.mkdir()
    (out / "kept.txt").write_text("from before\n")
    before, beside = _snapshot(out), sorted(p.name for p in tmp_path.iterdir())
    args = _cli("build", "--wheels", str(inputs), "--out", str(out), "--cache-dir", str(cache), "--jobs", "2")
    proc = subprocess.Popen(
        args, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, preexec_fn=preexec
    )
    return before, beside, proc


def _outliving(workers: set[int], seconds: float = 10) -> list[int]:
    """The workers still alive after waiting up to ``seconds`` for them to go."""
    deadline = time.monotonic() + seconds
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [w for w in workers if _alive(w)]


def _kill_all(proc: subprocess.Popen[bytes], workers: set[int]) -> None:
    """Whatever a failed test left running: the build's process group and its workers."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    for w in workers:
        if _alive(w):
            os.kill(w, signal.SIGKILL)


def _rebuilds_clean(proc: subprocess.Popen[bytes], out: Path, clean_build: dict[str, bytes]) -> None:
    """The same build run again (same --out, same cache) writes what a clean build writes."""
    subprocess.run(proc.args, check=True, env=_env(), capture_output=True)
    after = _snapshot(out)
    assert after.pop("kept.txt") == b"from before\n"
    assert after == clean_build


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name)
def test_a_signal_leaves_nothing_behind(
    big_inputs: Path, clean_build: dict[str, bytes], tmp_path: Path, signum: signal.Signals
) -> None:
    out = tmp_path / "out"
    before, beside, proc = _start_build(big_inputs, tmp_path, _default_sigint)
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while len(workers) < 2 and proc.poll() is None and time.monotonic() < deadline:
            workers = _children(proc.pid)
            time.sleep(0.02)
        assert len(workers) == 2, "the build ended before its workers were seen"
        time.sleep(0.3)  # into the rewriting
        os.kill(proc.pid, signum)  # the main process only, as a supervisor would
        _, err = proc.communicate(timeout=60)
        expected = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGKILL: -9}[signum]
        assert proc.returncode == expected, err
        if signum is not signal.SIGKILL:
            word = "interrupted" if signum is signal.SIGINT else "terminated"
            assert err.decode() == f"mvpy-vendor: error: {word}\n"  # nothing else, from no thread
        assert not _outliving(workers), "workers outlived the build"
    finally:
        _kill_all(proc, workers)
    assert _snapshot(out) == before
    left = sorted(p.name for p in tmp_path.iterdir() if p.name != "cache")
    if signum is signal.SIGKILL:  # nothing can clean up after SIGKILL: the staging directory stays beside
        assert [n for n in left if n not in beside and not n.startswith(".out.mvpy-staging-")] == []
    else:
        assert left == [n for n in beside if n != "cache"]
    # A second build, with the cache the interrupted one wrote into, is a clean build's twin.
    _rebuilds_clean(proc, out, clean_build)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "cache") == [n for n in beside if n != "cache"]


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _no_core_dump() -> None:
    _default_sigint()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # SIGSEGV below: no core file


def _await_workers(proc: subprocess.Popen[bytes]) -> set[int]:
    workers: set[int] = set()
    deadline = time.monotonic() + 120
    while len(workers) < 2 and proc.poll() is None and time.monotonic() < deadline:
        workers = _children(proc.pid)
        time.sleep(0.02)
    assert len(workers) == 2, "the build ended before its workers were seen"
    return workers


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGSEGV], ids=lambda s: s.name)
def test_a_dead_worker_fails_the_build_cleanly(
    big_inputs: Path, clean_build: dict[str, bytes], tmp_path: Path, signum: signal.Signals
) -> None:
    """One worker killed while it rewrites a file (SIGSEGV as a crash of the interpreter would
    send it): exit 1, one line naming the wheel, the file and the signal, --out as it was, no
    staging directory, no worker left; the next build, with the same cache, is a clean one."""
    out = tmp_path / "out"
    before, beside, proc = _start_build(big_inputs, tmp_path, _no_core_dump)
    workers: set[int] = set()
    try:
        workers = _await_workers(proc)
        victim = min(workers)
        # Into its work: a forked worker spends CPU only on rewriting, and is running while it does.
        while proc.poll() is None and not (_cpu_ticks(victim) >= 20 and _state(victim) == "R"):
            time.sleep(0.005)
        os.kill(victim, signum)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 1, err
        # the file it was rewriting; or, killed in the instant between two batches, the last it rewrote
        line = (
            rf"mvpy-vendor: error: foo-1\.0\.0-py3-none-any\.whl: foo/gen/m\d+\.py: worker process died with "
            rf"signal {signum.name} (while rewriting it|after rewriting it, between two batches of files)\n"
        )
        assert re.fullmatch(line, err.decode()), err
        assert not _outliving(workers), "a worker outlived the build"
    finally:
        _kill_all(proc, workers)
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "cache") == beside  # no staging directory
    _rebuilds_clean(proc, out, clean_build)


# The build, with PR_SET_PDEATHSIG switched off (the private switch in mvpy_vendor.apply) so that
# its workers have only the portable lifeline that macOS and Windows rely on.
_WITHOUT_PDEATHSIG = (
    "import sys; import mvpy_vendor.apply as a; a._USE_PDEATHSIG = False; "
    "from mvpy_vendor.cli import main; sys.exit(main(sys.argv[1:]))"
)


def test_workers_die_with_the_build_without_pdeathsig(big_inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = [sys.executable, "-c", _WITHOUT_PDEATHSIG, "build", "--wheels", str(big_inputs), "--out", str(out),
            "--no-cache", "--jobs", "2"]  # fmt: skip
    proc = subprocess.Popen(args, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    workers: set[int] = set()
    try:
        workers = _await_workers(proc)
        time.sleep(0.3)  # into the rewriting
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
        assert proc.returncode == -9
        # without the lifeline they run on for minutes, then wait forever
        assert not _outliving(workers, seconds=30), "workers outlived the build"
    finally:
        _kill_all(proc, workers)


def test_two_builds_into_one_out_serialize(big_inputs: Path, clean_build: dict[str, bytes], tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = _cli("build", "--wheels", str(big_inputs), "--out", str(out), "--no-cache", "--jobs", "1")
    procs = [subprocess.Popen(args, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    assert _snapshot(out) == clean_build
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def _foo_set(wheels: Path) -> list[str]:
    return [str(p) for p in pick(wheels, *FOO_SET)]


def test_out_that_is_a_file(wheels: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.write_text("a file\n")
    proc = subprocess.run(
        _cli("build", "--wheels", *_foo_set(wheels), "--out", str(out), "--no-cache"),
        env=_env(), capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr == f"mvpy-vendor: error: {out}: exists and is not a directory\n"
    assert out.read_text() == "a file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_read_only_out(wheels: Path, tmp_path: Path) -> None:
    """A directory this process cannot write (run as root, it runs without the capability to
    override file permissions)."""
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    out = parent / "out"
    drop = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "as root, this test needs setpriv (util-linux) to drop CAP_DAC_OVERRIDE"
        caps = "-dac_override,-dac_read_search"
        drop = [setpriv, "--bounding-set", caps, "--inh-caps", caps]
    proc = subprocess.run(
        [*drop, *_cli("build", "--wheels", *_foo_set(wheels), "--out", str(out), "--no-cache")],
        env=_env(), capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == f"mvpy-vendor: error: {out}: Permission denied\n"
    assert list(parent.iterdir()) == []


def test_disk_full_is_one_line(wheels: Path, tmp_path: Path) -> None:
    """Writes fail past a file size limit (EFBIG, as ENOSPC would): one line, nothing left."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    out = tmp_path / "out"
    proc = subprocess.run(
        _cli("build", "--wheels", *_foo_set(wheels), "--out", str(out), "--no-cache"),
        env=_env(), capture_output=True, text=True, preexec_fn=limit,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == f"mvpy-vendor: error: {out}: cannot write: File too large\n"
    assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []
