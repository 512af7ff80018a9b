"""The hooks of .pre-commit-hooks.yaml, run for real by ``pre-commit try-repo`` (pre-commit from the registry)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .test_check_source import KEPT as LIBRARY

ROOT = Path(__file__).resolve().parent.parent


DYNAMIC = """\
import importlib

import pydantic


def model_module(name):
    return importlib.import_module(name)
"""

FIXED = DYNAMIC.replace("importlib.import_module(name)", 'importlib.import_module("pydantic." + name)')


def _pre_commit() -> list[str]:
    found = shutil.which("pre-commit", path=str(Path(sys.executable).parent))
    if found is None:  # a test dependency (the test extra): missing is a broken environment, not a skip
        pytest.fail("pre-commit is not installed beside this interpreter (it is in the 'test' extra)")
    return [found]


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.mark.slow
def test_the_hook_fails_on_a_dynamic_import_of_an_embedded_package_and_passes_after_the_fix(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "src" / "mylib").mkdir(parents=True)
    (repo / "pyproject.toml").write_text(LIBRARY, encoding="utf-8")
    module = repo / "src" / "mylib" / "models.py"
    module.write_text(DYNAMIC, encoding="utf-8")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRE_COMMIT")}
    env["PRE_COMMIT_HOME"] = str(tmp_path / "pre-commit-home")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # try-repo takes this working tree, uncommitted changes included (it makes a shadow commit).
    command = [*_pre_commit(), "try-repo", str(ROOT), "mvpy-vendor-check", "--all-files"]
    failed = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, check=False)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert (
        "src/mylib/models.py:7:12: dynamic-import importlib.import_module: target not known statically: with "
        "keep-strings the build cannot map it, so where it names pydantic it imports the installed one" in failed.stdout
    ), failed.stdout
    assert 'pass a literal name ("pydantic.sub") or a literal prefix ("pydantic." + name)' in failed.stdout

    module.write_text(FIXED, encoding="utf-8")
    _git(repo, "add", "-A")
    passed = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, check=False)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "mvpy-vendor check" in passed.stdout and "Passed" in passed.stdout

    # The lock hook runs on pyproject.toml: an embed entry that drifted from the dependencies fails it.
    (repo / "pyproject.toml").write_text(LIBRARY.replace('["pydantic>=1.10,<2"]\n\n', '["pydantic>=2"]\n\n', 1))
    _git(repo, "add", "-A")
    lock_hook = [*_pre_commit(), "try-repo", str(ROOT), "mvpy-vendor-lock", "--all-files"]
    drift = subprocess.run(lock_hook, cwd=repo, env=env, capture_output=True, text=True, check=False)
    assert drift.returncode == 1, drift.stdout + drift.stderr
    assert "pyproject.toml:8:1: embed-drift embed entry 'pydantic<2,>=1.10' does not match" in drift.stdout
