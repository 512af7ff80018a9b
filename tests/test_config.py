"""``[tool.mvpy-vendor]``: every key read, the command line on top, and every mistake named with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from mvpy_vendor.cli import main
from mvpy_vendor.errors import ConfigError
from mvpy_vendor.planning.target import Target
from mvpy_vendor.project.config import KEYS, load_project


def project(tmp_path: Path, table: str, extra: str = "") -> Path:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "0"\ndependencies = ["foo>=2"]\n'
        '[project.optional-dependencies]\nfast = ["speedups>=1"]\n'
        '[dependency-groups]\nbase = ["attrs"]\nall = [{include-group = "base"}, "click"]\n'
        f"{extra}\n[tool.mvpy-vendor]\n{table}\n"
    )
    return tmp_path


def test_worlds_come_from_project_dependencies_extras_groups_and_isolate(tmp_path: Path) -> None:
    config = load_project(
        project(tmp_path, 'isolate = ["slow-package<1", "legacy"]\nextra = ["fast"]\ngroup = ["all"]\nrequire = ["x"]')
    )
    assert [(w.name, w.requirements) for w in config.worlds] == [
        ("main", ("foo>=2", "speedups>=1", "attrs", "click", "x")),
        ("isolate-slow-package", ("slow-package<1",)),
        ("isolate-legacy", ("legacy",)),
    ]


def test_paths_in_the_file_are_relative_to_the_project_and_the_command_line_wins(tmp_path: Path) -> None:
    config = load_project(project(tmp_path, 'out = "dist/wh"\nfind-links = ["wheels", "https://x/simple"]\njobs = 3'))
    assert config.get("out") == str(tmp_path / "dist/wh")
    assert config.index.find_links == (str(tmp_path / "wheels"), "https://x/simple")
    assert config.get("jobs") == 3
    over = load_project(tmp_path, {"jobs": 1, "out": "elsewhere", "python-version": "3.12"})
    assert (over.get("jobs"), over.get("out"), over.target) == (1, "elsewhere", Target("3.12"))


def test_every_key_is_a_command_line_option_of_build() -> None:
    from mvpy_vendor.cli import _parser

    build = next(a for a in _parser()._subparsers._group_actions[0].choices.values() if a.prog.endswith("build"))  # type: ignore[union-attr]
    flags = {opt for action in build._actions for opt in action.option_strings if opt.startswith("--")}
    assert {f"--{key}" for key in KEYS} <= flags
    # and the other way round: every option of build but the ones about this one run is a key
    per_run = {
        "--help",
        "--quiet",
        "--verbose",
        "--wheels",
        "--project",
        "--plan-only",
        "--locked",
        "--frozen",
        "--offline",
    }
    assert flags - per_run == {f"--{key}" for key in KEYS}


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('isolte = ["x"]', r"pyproject.toml:\d+: \[tool.mvpy-vendor\] isolte: unknown key"),
        ("no_index = true", r"pyproject.toml:\d+: .* no_index: unknown key \(did you mean 'no-index'\?\)"),
        ('isolate = "x"', r"pyproject.toml:\d+: \[tool.mvpy-vendor\] isolate: expected a list of strings, got 'x'"),
        ("jobs = 0", r"jobs: expected a positive integer, got 0"),
        ('resolver = "poetry"', r"resolver: expected 'uv' or 'pip', got 'poetry'"),
        ('isolate = ["bad req!"]', r"isolate: 'bad req!' is not a requirement"),
        ('python-version = "4"', r"pyproject.toml:\d+: \[tool.mvpy-vendor\] python-version '4': expected a Python"),
        ('platform = "plan9"', r"platform 'plan9': expected one of linux"),
        ('extra = ["nope"]', r"extra: no extra 'nope'"),
        ('group = ["nope"]', r"group: no dependency group 'nope'"),
        ('isolate = ["a", "A>1"]', r"isolate: 'A>1' and 'a' name the same distribution"),
        ("[tool.mvpy-vendor.isolated]\na = 1", r"pyproject.toml:\d+: \[tool.mvpy-vendor\] isolated: unknown key"),
    ],
)
def test_mistakes_in_the_table_name_the_line_and_the_key(tmp_path: Path, table: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        load_project(project(tmp_path, table))
    assert info.value.exit_code == 2


def test_the_line_number_is_the_key_s_own(tmp_path: Path) -> None:
    path = project(tmp_path, 'out = "x"\njobs = "many"')
    line = next(
        i for i, text in enumerate((path / "pyproject.toml").read_text().splitlines(), 1) if text.startswith("jobs")
    )
    with pytest.raises(ConfigError, match=rf"pyproject.toml:{line}: "):
        load_project(path)


def test_a_missing_or_broken_pyproject_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "--project", str(tmp_path)]) == 2
    assert (
        capsys.readouterr().err.strip().endswith("no such file (project mode reads pyproject.toml; or pass --wheels)")
    )
    (tmp_path / "pyproject.toml").write_text("[project\n")
    assert main(["build", "--project", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "pyproject.toml:1: not valid TOML" in err
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "0"\ndynamic = ["dependencies"]\n')
    assert main(["build", "--project", str(tmp_path)]) == 2
    assert "[project].dependencies is dynamic" in capsys.readouterr().err


def test_project_options_are_refused_with_wheels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "--wheels", str(tmp_path), "--out", str(tmp_path / "o"), "--isolate", "x"]) == 2
    assert "--isolate: is read only in project mode (without --wheels)" in capsys.readouterr().err
    assert main(["build", "--wheels", str(tmp_path), "--out", str(tmp_path / "o"), "--locked"]) == 2
    assert "--locked: needs project mode" in capsys.readouterr().err


def test_a_project_with_nothing_to_build_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "0"\ndependencies = []\n')
    assert main(["build", "--project", str(tmp_path)]) == 2
    assert "nothing to build: [project].dependencies and isolate are empty" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pyproject.toml"]


def test_a_lock_is_stale_when_a_requirement_is_dropped(tmp_path: Path) -> None:
    from mvpy_vendor.project.lock import LockedWorld, ProjectLock

    config = load_project(project(tmp_path, 'isolate = ["slow-package"]'))
    lock = ProjectLock(tuple(LockedWorld(w, ()) for w in config.worlds), config.target, "uv")
    assert lock.stale(config) is None
    (tmp_path / "pyproject.toml").write_text((tmp_path / "pyproject.toml").read_text().replace('"foo>=2"', ""))
    assert lock.stale(load_project(tmp_path)) == (
        "world main: the lock still has 'foo>=2', which pyproject.toml no longer asks for"
    )


def test_frozen_with_a_lock_that_has_no_main_world_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mvpy_vendor.project.config import World
    from mvpy_vendor.project.lock import LockedWorld, ProjectLock

    root = project(tmp_path, "")
    lock = ProjectLock((LockedWorld(World("embed", ("foo<2",)), ()),), Target(), "uv")
    (root / "pylock.mvpy-vendor.toml").write_text(lock.dumps(root))
    assert main(["build", "--project", str(root), "--frozen"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "mvpy-vendor: error: pylock.mvpy-vendor.toml: no world main (a lock of the embedding backend only?): "
        "run 'mvpy-vendor lock'"
    )
