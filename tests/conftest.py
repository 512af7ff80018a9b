"""Shared fixtures: the fixture wheels are built once per session from testwheels/."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The CLI caches by default: keep the suite's cache out of the user's."""
    os.environ["MVPY_VENDOR_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory of fixture wheels built by testwheels/build_wheels.py (hostile ones in hostile/)."""
    out = tmp_path_factory.mktemp("testwheels")
    subprocess.run(
        [sys.executable, str(ROOT / "testwheels" / "build_wheels.py"), str(out)], check=True, capture_output=True
    )
    return out


def pick(directory: Path, *names: str) -> list[Path]:
    """The wheels in ``directory`` whose file names start with one of ``names`` + '-'."""
    found = sorted(p for p in directory.glob("*.whl") if p.name.split("-")[0] in names)
    assert len(found) >= len(names), (names, found)
    return found


FOO_SET = ("foo", "slow_package", "myapp")
TRANSPORT_SET = ("client", "transport", "legacy_tool", "modern_app")
GIZMO_SET = ("gizmo", "gizmo_old_user", "gizmo_app")
C_SET = ("cfoo", "cpkg", "c_old_user", "c_app")
CY_SET = ("cypkg", "cy_old_user", "cy_app")
