"""Real wheels from the registry: pydantic 1.10 (pure-Python wheel) and pydantic 2 in one process.

The wheels are downloaded once into a cache (``MVPY_TEST_CACHE``, default
``~/.cache/mvpy-vendor-tests``); the tests are skipped, with the reason shown, only when the
registry cannot be reached.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mvpy_vendor.cli import main

from .conftest import pick

pytestmark = pytest.mark.slow

PYDANTIC_1 = "pydantic==1.10.27"
PYDANTIC_2 = "pydantic==2.14.3"


def _cache() -> Path:
    root = Path(os.environ.get("MVPY_TEST_CACHE", Path.home() / ".cache" / "mvpy-vendor-tests"))
    tag = f"py{sys.version_info[0]}{sys.version_info[1]}"
    path = root / tag
    path.mkdir(parents=True, exist_ok=True)
    return path


def _download(dest: Path, *args: str) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:", "-d", str(dest), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["pip download failed"])[-1]
        pytest.skip(f"registry not reachable for {' '.join(args)}: {last}")


@pytest.fixture(scope="session")
def pydantic_wheels() -> Path:
    """pydantic 2 with its dependencies, and pydantic 1.10's pure-Python wheel (not the compiled one)."""
    cache = _cache()
    v2 = cache / "pydantic2"
    if not list(v2.glob("pydantic-2*.whl")):
        _download(v2, PYDANTIC_2)
    v1 = cache / "pydantic1-pure"
    if not list(v1.glob("pydantic-1*-py3-none-any.whl")):
        _download(v1, "--no-deps", "--platform", "any", PYDANTIC_1)
    return cache


def test_pydantic_1_and_2_in_one_process(pydantic_wheels: Path, wheels: Path, tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    for wheel in [
        *(pydantic_wheels / "pydantic2").glob("*.whl"),
        *(pydantic_wheels / "pydantic1-pure").glob("*.whl"),
        *pick(wheels, "pydantic_v1_user", "pydantic_v2_app"),
    ]:
        shutil.copy(wheel, inputs)
    out = tmp_path / "out"
    assert main(["build", "-q", "--wheels", str(inputs), "--out", str(out)]) == 0
    report = json.loads((out / "mvpy-vendor-report.json").read_text())
    roles = {(p["distribution"], p["version"], p["role"]) for p in report["plan"]["placements"]}
    assert ("pydantic", "2.14.3", "primary") in roles
    assert ("pydantic", "1.10.27", "renamed copy") in roles
    assert ("pydantic-v1-user", "1.0", "rewritten consumer") in roles

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON"))}
    env["PIP_CONFIG_FILE"] = os.devnull
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q", "--no-index",
         "--find-links", str(out), "-r", str(out / "requirements.txt")],
        check=True, env=env,
    )  # fmt: skip
    seen = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import pydantic_v2_app; pydantic_v2_app.main()"],
        check=True, capture_output=True, text=True, env=env,
    ).stdout  # fmt: skip
    assert json.loads(seen) == {
        "app": {"version": "2.14.3", "module": "pydantic", "dict": {"name": "v2", "count": 4}, "rejected": True},
        "library": {
            "version": "1.10.27",
            "module": "_mv_pydantic_1_10_27",
            "dict": {"name": "v1", "count": 3},
            "rejected": True,
        },
    }
    assert main(["verify", str(out)]) == 0
