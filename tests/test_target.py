"""The target: markers, wheel tags and Requires-Python for another Python or platform than the running one."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from packaging.tags import Tag

from mvpy_vendor.errors import ConfigError
from mvpy_vendor.options import BuildRequest
from mvpy_vendor.planning.planner import plan_build
from mvpy_vendor.planning.target import Target

from .conftest import make_wheel


def test_the_default_target_is_the_running_interpreter() -> None:
    target = Target()
    assert target.is_running
    assert target.environment()["python_version"] == "{}.{}".format(*sys.version_info[:2])


def test_a_named_target_has_its_own_markers_and_tags() -> None:
    linux = Target("3.12", "x86_64-manylinux_2_28")
    env = linux.environment()
    assert (env["python_version"], env["sys_platform"], env["platform_machine"]) == ("3.12", "linux", "x86_64")
    tags = linux.tags()
    assert tags[0] == Tag("cp312", "cp312", "manylinux_2_28_x86_64")
    assert Tag("cp312", "abi3", "manylinux2014_x86_64") in tags and Tag("py3", "none", "any") in tags
    assert Tag("cp312", "cp312", "manylinux_2_31_x86_64") not in tags  # newer than the target's glibc
    mac = Target("3.13", "aarch64-apple-darwin")
    assert mac.environment()["sys_platform"] == "darwin"
    assert Tag("cp313", "cp313", "macosx_11_0_arm64") in mac.tags()
    win = Target(None, "windows")
    assert win.environment()["os_name"] == "nt" and all(t.platform in ("win_amd64", "any") for t in win.tags())


@pytest.mark.parametrize(("version", "platform"), [("3", None), ("3.12.1", None), (None, "amiga")])
def test_a_bad_target_names_the_setting(version: str | None, platform: str | None) -> None:
    with pytest.raises(ConfigError) as info:
        Target(version, platform)
    assert info.value.setting == ("python-version" if version else "platform")


def test_the_plan_is_made_for_the_target(tmp_path: Path) -> None:
    """Requires-Python, markers and tags are those of the target: 3.12 gets newpy 2 and its marker-only dependency."""
    make_wheel(
        tmp_path, "newpy", "2.0", {"newpy/__init__.py": b"V = 2\n"}, ("only-312; python_version >= '3.12'",), ">=3.12"
    )
    make_wheel(tmp_path, "newpy", "1.0", {"newpy/__init__.py": b"V = 1\n"}, (), ">=3.8")
    make_wheel(tmp_path, "only-312", "1.0", {"only_312.py": b""})
    mine = plan_build(BuildRequest(wheels=[tmp_path], requires=["newpy"], target=Target("3.11")))
    assert {n: str(w.version) for n, w in mine.worlds[0].members.items()} == {"newpy": "1.0"}
    assert "it requires Python >=3.12 (the target: Python 3.11 on this platform)" in dict(mine.ignored).values()
    later = plan_build(BuildRequest(wheels=[tmp_path], requires=["newpy"], target=Target("3.12", "linux")))
    assert {n: str(w.version) for n, w in later.worlds[0].members.items()} == {"newpy": "2.0", "only-312": "1.0"}
    assert later.to_json()["target"] == {"python-version": "3.12", "platform": "linux"}
