"""Resolving worlds (planning/resolve.py): the index, the main world, evictions and the worlds they spawn."""

from __future__ import annotations

import dataclasses

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from mvpy_vendor.errors import ConfigError
from mvpy_vendor.planning.resolve import Index, default_roots, requirements_in_force, resolve_worlds
from mvpy_vendor.planning.target import Target

from .test_plan import FOO, whl

ENV = Target().environment()


def test_index_keeps_the_best_fitting_wheel_of_each_version_highest_first() -> None:
    generic = whl("lib", "1.0", tag="py3-none-any")
    specific = whl("lib", "1.0", tag="cp311-cp311-linux_x86_64")
    alien = whl("lib", "2.0", tag="cp311-cp311-win_amd64")
    older = whl("lib", "0.9")
    index = Index.build([generic, specific, alien, older], Target("3.11", "linux"))
    assert index.by_name["lib"] == (specific, older)
    reasons = dict((w.filename, why) for w, why in index.ignored)
    assert reasons[alien.filename] == "its tags do not fit the target (Python 3.11 on linux)"
    assert reasons[generic.filename] == f"{specific.filename} fits the target better"
    assert index.get("lib", Version("0.9")) is older  # type: ignore[arg-type]
    assert index.get("lib", Version("5")) is None  # type: ignore[arg-type]


def test_an_evicted_member_gets_a_world_of_its_own_and_a_link_to_it() -> None:
    index = Index.build(FOO)
    main, second = resolve_worlds(index, [Requirement("myapp")], {}, ENV)
    assert {n: str(w.version) for n, w in main.members.items()} == {"foo": "2.0.0", "myapp": "0.1.0"}
    assert main.links == {"slow-package": 1}
    assert main.evicted_because == {"slow-package": "its requirements conflict with world 0"}
    assert [str(e.requirement) for e in second.roots] == ["slow-package==0.1.0"]
    assert {n: str(w.version) for n, w in second.members.items()} == {"foo": "1.0.0", "slow-package": "0.1.0"}
    assert second.links == {}


def test_worlds_and_the_index_are_frozen() -> None:
    index = Index.build(FOO)
    world = resolve_worlds(index, [Requirement("myapp")], {}, ENV)[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        world.links = {}  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        index.ignored = ()  # type: ignore[misc]


def test_a_root_that_conflicts_with_the_main_world_is_split_off() -> None:
    index = Index.build(FOO[:2])
    worlds = resolve_worlds(index, [Requirement("foo==2.0.0"), Requirement("foo==1.0.0")], {}, ENV)
    assert [{n: str(w.version) for n, w in world.members.items()} for world in worlds] == [
        {"foo": "2.0.0"},
        {"foo": "1.0.0"},
    ]
    assert worlds[0].evicted_because == {"foo": "the root foo==1.0.0 conflicts with world 0"}


def test_a_pinned_primary_must_exist_and_names_the_setting() -> None:
    with pytest.raises(ConfigError) as info:
        resolve_worlds(Index.build(FOO), [Requirement("myapp")], {"foo": Version("3")}, ENV)  # type: ignore[dict-item]
    assert (info.value.setting, info.value.value) == ("primary", "foo==3")
    assert info.value.render(lambda s: f"--{s}") == "--primary 'foo==3': no such wheel was given"


def test_default_roots_are_what_nothing_else_needs() -> None:
    assert [str(r) for r in default_roots(Index.build(FOO), ENV)] == ["myapp"]


def test_requirements_in_force_follow_markers_and_extras() -> None:
    wheel = whl("lib", "1.0", "a", "b; extra == 'fast'", "c; python_version < '3'", "d; extra == 'other'")
    assert [str(r) for r in requirements_in_force(wheel, frozenset(), ENV)] == ["a"]
    chosen = requirements_in_force(wheel, frozenset({"fast"}), ENV)
    assert [r.name for r in chosen] == ["a", "b"]
