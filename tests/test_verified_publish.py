"""Only a verified wheelhouse is published: ``build --verify`` that fails, or is interrupted, leaves
``--out`` (and the project's lock) exactly as they were, and says where the unverified output is."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mvpy_vendor.cli import main

from .conftest import FOO_SET, clean_env, gather, pick

pytestmark = pytest.mark.slow

#: fragile 1.0.0 fails to import when renamed (it checks its own directory's name), never as released
FRAGILE_SET = ("fragile", "fragile_user", "fragile_app")


def snapshot(directory: Path) -> dict[str, bytes | None]:
    """Every entry under ``directory`` (hidden ones too): a file's bytes, None for a directory."""
    if not directory.exists():
        return {}
    found: dict[str, bytes | None] = {".": None}
    for path in sorted(directory.rglob("*")):
        found[str(path.relative_to(directory))] = None if path.is_dir() else path.read_bytes()
    return found


def siblings(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.parent.iterdir())


@pytest.fixture
def published(wheels: Path, tmp_path: Path) -> Path:
    """A wheelhouse published by an earlier, successful build (foo 1 beside foo 2)."""
    out = tmp_path / "wheelhouse"
    assert main(["build", "-q", "--wheels", *map(str, pick(wheels, *FOO_SET)), "--out", str(out), "--verify"]) == 0
    return out


def test_a_failed_verify_leaves_out_as_it_was(
    wheels: Path, published: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = gather(tmp_path / "in", pick(wheels, *FRAGILE_SET))
    before, around = snapshot(published), siblings(published)
    assert main(["build", "--wheels", str(inputs), "--out", str(published), "--verify"]) == 1
    captured = capsys.readouterr()
    kept = tmp_path / "wheelhouse.unverified"
    assert "verify: FAILED" in captured.out
    assert captured.err.splitlines() == [
        f"mvpy-vendor: error: verify failed: nothing was published to {published}; "
        f"the unverified wheelhouse is in {kept}"
    ]
    assert snapshot(published) == before
    assert siblings(published) == sorted([*around, kept.name])  # and no staging directory left
    assert "mv-fragile-1-0-0==1.0.0\n" in (kept / "requirements.txt").read_text()
    assert (kept / "mv_fragile_1_0_0-1.0.0-py3-none-any.whl").is_file()
    # what was kept is a wheelhouse verify reads, and fails the same way
    assert main(["verify", "-q", str(kept)]) == 1

    # An --out that did not exist still does not.
    fresh = tmp_path / "fresh"
    assert main(["build", "-q", "--wheels", str(inputs), "--out", str(fresh), "--verify"]) == 1
    assert not fresh.exists() and (tmp_path / "fresh.unverified" / "requirements.txt").is_file()

    # A verified build publishes, and drops what an earlier failure kept.
    assert (
        main(["build", "-q", "--wheels", *map(str, pick(wheels, *FOO_SET)), "--out", str(published), "--verify"]) == 0
    )
    assert not kept.exists()
    assert snapshot(published) == before  # the same inputs: byte for byte the same wheelhouse


def test_a_build_that_passes_verify_is_published(
    wheels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["build", "--wheels", *map(str, pick(wheels, *FOO_SET)), "--out", str(out), "--verify"]) == 0
    lines = capsys.readouterr().out.splitlines()
    # verified first, then published
    assert lines[-2] == "verify: OK: 4 distributions, 14 modules imported, 0 problems"
    assert lines[-1].startswith(f"wrote 4 wheels to {out}")
    assert sorted(p.name for p in out.iterdir()) == [
        "foo-2.0.0-py3-none-any.whl",
        "mv_foo_1_0_0-1.0.0-py3-none-any.whl",
        "mvpy-vendor-report.json",
        "myapp-0.1.0-py3-none-any.whl",
        "pylock.toml",
        "requirements.txt",
        "slow_package-0.1.0-py3-none-any.whl",
    ]
    assert not (tmp_path / "out.unverified").exists()


@pytest.mark.parametrize(
    ("signum", "code", "said"), [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")]
)
def test_interrupting_verify_leaves_out_as_it_was(
    wheels: Path, published: Path, tmp_path: Path, signum: int, code: int, said: str
) -> None:
    inputs = gather(tmp_path / "in", pick(wheels, *FRAGILE_SET))
    before, around = snapshot(published), siblings(published)
    # the renamed fragile hangs on import instead of failing: verify is busy when the signal comes
    env = {**clean_env(), "FRAGILE_HANG_WHEN_RENAMED": "1", "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "mvpy_vendor", "build", "-v", "--wheels", str(inputs), "--out", str(published),
           "--verify"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("importing every module"):
            break
    else:
        pytest.fail(f"verify never started: {proc.communicate()}")
    time.sleep(0.5)  # into the probe's imports
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=120)
    kept = tmp_path / "wheelhouse.unverified"
    assert proc.returncode == code, (out, err)
    assert err.splitlines()[-2:] == [
        f"mvpy-vendor: error: verify interrupted: nothing was published to {published}; "
        f"the unverified wheelhouse is in {kept}",
        f"mvpy-vendor: error: {said}",
    ]
    assert snapshot(published) == before
    assert siblings(published) == sorted([*around, kept.name])
    assert (kept / "mv_fragile_1_0_0-1.0.0-py3-none-any.whl").is_file()


# ---- project mode: the lock is written only with a verified wheelhouse --------------------------


@pytest.fixture
def _no_machine_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """The resolvers see only the project's own index settings (this machine's pip.conf adds find-links)."""
    for key in list(os.environ):
        if key.startswith(("PIP_", "UV_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("UV_NO_CONFIG", "1")


def _project(root: Path, wheels: Path, deps: list[str], isolate: list[str]) -> Path:
    local = root / "wheels"
    local.mkdir(parents=True, exist_ok=True)
    for wheel in pick(wheels, *FOO_SET, *FRAGILE_SET):
        shutil.copy(wheel, local)
    (root / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""\
            [project]
            name = "demo-app"
            version = "0.1"
            dependencies = {json.dumps(deps)}

            [tool.mvpy-vendor]
            isolate = {json.dumps(isolate)}
            find-links = ["wheels"]
            no-index = true
            """
        )
    )
    return root


@pytest.mark.usefixtures("_no_machine_config")
def test_a_project_whose_verify_fails_keeps_its_lock_and_wheelhouse(
    wheels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _project(tmp_path / "app", wheels, ["foo>=2"], ["slow-package"])
    assert main(["build", "--project", str(root), "--verify", "-q"]) == 0
    lock = root / "pylock.mvpy-vendor.toml"
    house = root / "wheelhouse"
    locked, before = lock.read_bytes(), snapshot(house)

    # The project now needs fragile 2 in the main world and fragile-user (fragile 1) isolated.
    _project(root, wheels, ["foo>=2", "fragile>=2"], ["slow-package", "fragile-user"])
    capsys.readouterr()
    assert main(["build", "--project", str(root), "--verify"]) == 1
    captured = capsys.readouterr()
    assert "wrote" not in captured.out and "verify: FAILED" in captured.out
    assert captured.err.splitlines() == [
        f"mvpy-vendor: error: verify failed: nothing was published to {house}; "
        f"the unverified wheelhouse is in {root / 'wheelhouse.unverified'}"
    ]
    assert lock.read_bytes() == locked  # still the lock of the wheelhouse that was verified
    assert snapshot(house) == before
    # and --locked now says the lock is out of date, as it is
    assert main(["build", "--project", str(root), "--locked", "-q"]) == 2

    # Back to what verifies: published, and the lock follows.
    _project(root, wheels, ["foo>=2", "fragile>=2"], ["slow-package"])
    capsys.readouterr()
    assert main(["build", "--project", str(root), "--verify"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == f"wrote {lock}"
    assert "fragile" in lock.read_text() and not (root / "wheelhouse.unverified").exists()
