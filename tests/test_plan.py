"""Worlds and the plan: who is primary, what is shared, what becomes a renamed copy."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.tags import parse_tag
from packaging.utils import canonicalize_name
from packaging.version import Version

from mvpy_vendor.errors import ConfigError
from mvpy_vendor.naming import shared_namespace_name
from mvpy_vendor.planning.plan import Plan, Role, make_plan, output_for
from mvpy_vendor.planning.resolve import Index, default_roots, resolve_worlds
from mvpy_vendor.planning.target import Target
from mvpy_vendor.wheel.validate import WheelInfo


def whl(name: str, version: str, *requires: str, tag: str = "py3-none-any", imports: tuple[str, ...] = ()) -> WheelInfo:
    dist = canonicalize_name(name)
    stem = dist.replace("-", "_")
    return WheelInfo(
        path=Path(f"/nowhere/{stem}-{version}-{tag}.whl"),
        name=dist,
        display_name=name,
        version=Version(version),
        build_tag=(),
        tags=frozenset(parse_tag(tag)),
        sha256="0" * 64,
        dist_info=f"{stem}-{version}.dist-info",
        data_dir=f"{stem}-{version}.data",
        requires=tuple(Requirement(r) for r in requires),
        import_names=imports or (stem,),
        members=(),
    )


def plan_of(wheels: list[WheelInfo], roots: list[str] | None = None, primaries: dict[str, str] | None = None) -> Plan:
    env = Target().environment()
    index = Index.build(wheels)
    reqs = [Requirement(r) for r in roots] if roots else default_roots(index, env)
    pins = {canonicalize_name(k): Version(v) for k, v in (primaries or {}).items()}
    return make_plan(resolve_worlds(index, reqs, pins, env), wheels, index.ignored)


def roles(plan: Plan) -> set[tuple[int, str, str, str, str]]:
    return {(p.world, p.name, str(p.version), p.role.value, p.output) for p in plan.placements}


FOO = [
    whl("foo", "1.0.0"),
    whl("foo", "2.0.0"),
    whl("slow-package", "0.1.0", "foo<2"),
    whl("myapp", "0.1.0", "foo>=2", "slow-package"),
]


def test_foo_worlds() -> None:
    plan = plan_of(FOO)
    assert roles(plan) == {
        (0, "foo", "2.0.0", "primary", "foo==2.0.0"),
        (0, "myapp", "0.1.0", "primary", "myapp==0.1.0"),
        (1, "foo", "1.0.0", "renamed copy", "mv-foo-1-0-0==1.0.0"),
        (1, "slow-package", "0.1.0", "rewritten consumer", "slow-package==0.1.0"),
    }
    slow = output_for(plan, 1, "slow-package")
    assert dict(slow.import_map) == {"foo": "_mv_foo_1_0_0"}
    assert dict(slow.requires_map) == {"foo<2": "mv-foo-1-0-0==1.0.0"}
    copy = output_for(plan, 1, "foo")
    assert copy.own_imports == {"foo": "_mv_foo_1_0_0"} and copy.filename == "mv_foo_1_0_0-1.0.0-py3-none-any.whl"
    assert dict(copy.dist_map) == {"foo": "mv-foo-1-0-0"}
    assert output_for(plan, 0, "myapp").action == "copy"
    json.dumps(plan.to_json())  # the plan is printable as JSON


def test_client_transport_closure() -> None:
    plan = plan_of(
        [
            whl("transport", "1.5.0"),
            whl("transport", "2.1.0"),
            whl("client", "1.0.0", "transport"),
            whl("legacy-tool", "0.3.0", "transport<2", "client"),
            whl("modern-app", "1.0.0", "transport>=2", "client", "legacy-tool"),
        ]
    )
    assert {(w, n, r) for w, n, _, r, _ in roles(plan)} == {
        (0, "client", "primary"),
        (0, "transport", "primary"),
        (0, "modern-app", "primary"),
        (1, "client", "renamed copy"),
        (1, "transport", "renamed copy"),
        (1, "legacy-tool", "rewritten consumer"),
    }
    private_client = output_for(plan, 1, "client")
    assert dict(private_client.import_map) == {"client": "_mv_client_1_0_0", "transport": "_mv_transport_1_5_0"}
    assert dict(private_client.requires_map) == {"transport": "mv-transport-1-5-0==1.5.0"}
    assert output_for(plan, 0, "client").action == "copy"


def test_identical_closure_is_shared() -> None:
    plan = plan_of(
        [
            *FOO[:2],
            whl("utils", "1.0"),
            whl("slow-package", "0.1.0", "foo<2", "utils"),
            whl("myapp", "0.1.0", "foo>=2", "slow-package", "utils"),
        ]
    )
    assert (1, "utils", "1.0", "shared", "utils==1.0") in roles(plan)
    assert dict(output_for(plan, 1, "slow-package").requires_map) == {"foo<2": "mv-foo-1-0-0==1.0.0"}


def test_primary_pin_decides_who_keeps_the_name() -> None:
    plan = plan_of(FOO, primaries={"foo": "1.0.0"})
    assert roles(plan) == {
        (0, "foo", "1.0.0", "primary", "foo==1.0.0"),
        (1, "foo", "2.0.0", "renamed copy", "mv-foo-2-0-0==2.0.0"),
        (1, "myapp", "0.1.0", "rewritten consumer", "myapp==0.1.0"),
        # slow-package's world uses the primary foo 1.0.0: shared, and nothing to rewrite.
        (2, "foo", "1.0.0", "shared", "foo==1.0.0"),
        (2, "slow-package", "0.1.0", "primary", "slow-package==0.1.0"),
    }


def test_two_roots_on_one_name_give_a_renamed_copy() -> None:
    plan = plan_of([whl("foo", "1.0.0"), whl("foo", "2.0.0")], roots=["foo==2.0.0", "foo==1.0.0"])
    assert roles(plan) == {
        (0, "foo", "2.0.0", "primary", "foo==2.0.0"),
        (1, "foo", "1.0.0", "renamed copy", "mv-foo-1-0-0==1.0.0"),
    }


def test_unsatisfiable_requirement_names_requirer_and_requirement() -> None:
    with pytest.raises(ConfigError, match=r"slow-package requires foo<1, which no given wheel satisfies"):
        plan_of([whl("foo", "2.0.0"), whl("slow-package", "0.1.0", "foo<1")])
    with pytest.raises(ConfigError, match=r"the roots requires nothing, which no given wheel satisfies"):
        plan_of([whl("foo", "2.0.0")], roots=["nothing"])
    with pytest.raises(ConfigError, match=r"primary 'foo==3': no such wheel"):
        plan_of([whl("foo", "2.0.0")], primaries={"foo": "3"})


def test_different_private_copies_of_one_version_are_disambiguated() -> None:
    plan = plan_of(
        [
            whl("dep", "1"),
            whl("dep", "2"),
            whl("dep", "3"),
            whl("lib", "1.0", "dep"),
            whl("a", "1", "dep==1", "lib"),
            whl("b", "1", "dep==2", "lib"),
            whl("app", "1", "dep==3", "lib", "a", "b"),
        ]
    )
    libs = sorted({p.output for p in plan.placements if p.name == "lib"})
    assert libs == ["lib==1.0", "mv-lib-1-0-2==1.0", "mv-lib-1-0==1.0"]
    second = plan.output("mv-lib-1-0-2==1.0")
    assert second.own_imports == {"lib": "_mv_lib_1_0_2"}
    assert any("mv-lib-1-0-2" in note for note in plan.notes)


def test_identical_private_copies_are_one_output() -> None:
    plan = plan_of(
        [
            whl("dep", "1"),
            whl("dep", "2"),
            whl("a", "1", "dep==1"),
            whl("c", "1", "dep==1"),
            whl("app", "1", "dep==2", "a", "c"),
        ]
    )
    copy = plan.output("mv-dep-1==1")
    assert copy.worlds == (1, 2)
    assert [o.key for o in plan.outputs].count("mv-dep-1==1") == 1


def test_markers_and_extras() -> None:
    plan = plan_of(
        [
            whl("foo", "1", 'speedups ; extra == "fast"', 'never ; python_version < "3"'),
            whl("speedups", "1"),
            whl("app", "1", "foo[fast]"),
        ],
        roots=["app"],
    )
    assert {p.name for p in plan.placements} == {"app", "foo", "speedups"}


def test_incompatible_and_unused_wheels_are_reported() -> None:
    plan = plan_of(
        [whl("foo", "1"), whl("foo", "1", tag="cp27-cp27mu-manylinux1_x86_64"), whl("bar", "1")], roots=["foo"]
    )
    assert dict(plan.ignored) == {
        "foo-1-cp27-cp27mu-manylinux1_x86_64.whl": "its tags do not fit the target (Python 3.11 on this platform)",
        "bar-1-py3-none-any.whl": "not needed by any world",
    }


def test_roles_enum_values() -> None:
    assert [r.value for r in Role] == ["primary", "shared", "renamed copy", "rewritten consumer"]


def test_only_what_collides_is_renamed() -> None:
    # helper is needed by slow-package alone, at one version, and nothing else provides "helper":
    # it keeps its name and is installed once; foo 1 collides with the main world's foo 2.
    wheels = [*FOO[:2], whl("helper", "1.0"), whl("slow-package", "0.1.0", "foo<2", "helper"), FOO[3]]
    plan = plan_of(wheels)
    assert roles(plan) >= {
        (1, "foo", "1.0.0", "renamed copy", "mv-foo-1-0-0==1.0.0"),
        (1, "helper", "1.0", "primary", "helper==1.0"),
    }
    assert plan.output("mv-foo-1-0-0==1.0.0").why == "foo 2.0.0 keeps the name in world 0"
    assert plan.output("helper==1.0").why == "" and not plan.output("helper==1.0").renamed
    # Asked for, it is renamed all the same.
    plan = make_plan_with(wheels, rename={"helper"})
    assert plan.output("mv-helper-1-0==1.0").why == "renaming it was asked for (setting rename)"


def test_an_import_name_that_something_else_provides_is_renamed() -> None:
    wheels = [
        *FOO[:2],
        whl("helper", "1.0", imports=("common",)),
        whl("other-common", "1.0", imports=("common",)),
        whl("slow-package", "0.1.0", "foo<2", "helper"),
        whl("myapp", "0.1.0", "foo>=2", "slow-package", "other-common"),
    ]
    plan = plan_of(wheels)
    renamed = plan.output("mv-helper-1-0==1.0")
    assert renamed.why == "its import name 'common' is also provided by other-common"


def test_a_name_needed_in_two_versions_outside_the_main_world_is_renamed_in_both() -> None:
    # a and b are each evicted from the main world (they need foo<2), each with its own dep.
    wheels = [
        *FOO[:2],
        whl("dep", "1"),
        whl("dep", "2"),
        whl("a", "1", "foo<2", "dep==1"),
        whl("b", "1", "foo<2", "dep==2"),
        whl("app", "1", "foo>=2", "a", "b"),
    ]
    plan = plan_of(wheels, roots=["app"])
    assert "dep" not in plan.worlds[0].members
    copies = [o for o in plan.outputs if o.source.name == "dep"]
    assert len(copies) == 2 and all(o.renamed for o in copies)
    assert {o.why for o in copies} == {"dep is needed in 2 different versions or dependency sets"}
    # a and b themselves keep their names: nothing else is called a or b.
    assert {o.name: o.renamed for o in plan.outputs if o.source.name in ("a", "b")} == {"a": False, "b": False}


def make_plan_with(wheels: list[WheelInfo], rename: set[str]) -> Plan:
    env = Target().environment()
    index = Index.build(wheels)
    worlds = resolve_worlds(index, default_roots(index, env), {}, env)
    return make_plan(worlds, wheels, index.ignored, {canonicalize_name(n) for n in rename})


def ns_whl(name: str, version: str, *requires: str, files: tuple[str, ...]) -> WheelInfo:
    """A wheel of the namespace ``ns`` installing ``files`` (paths from site-packages)."""
    stem = canonicalize_name(name).replace("-", "_")
    return replace(
        whl(name, version, *requires, imports=("ns",)), members=(*files, f"{stem}-{version}.dist-info/RECORD")
    )


NS = [
    ns_whl("ns-core", "1.0", files=("ns/core/__init__.py", "ns/core/msg.py")),
    ns_whl("ns-core", "2.0", files=("ns/core/__init__.py", "ns/core/msg.py")),
    ns_whl("ns-extra", "1.0", "ns-core==1.0", files=("ns/extra/__init__.py",)),
    ns_whl("ns-extra", "2.0", "ns-core==2.0", files=("ns/extra/__init__.py",)),
    whl("old-user", "1.0", "ns-core==1.0", "ns-extra==1.0"),
    whl("app", "1.0", "ns-core>=2", "ns-extra>=2"),
]


def test_a_namespace_shared_by_renamed_copies_gets_one_name() -> None:
    plan = plan_of(NS, roots=["app", "old-user"])
    core, extra = plan.output("mv-ns-core-1-0==1.0"), plan.output("mv-ns-extra-1-0==1.0")
    new = shared_namespace_name("ns", ["mv-ns-core-1-0==1.0", "mv-ns-extra-1-0==1.0"])
    assert new.startswith("_mv_ns_") and len(new) == len("_mv_ns_") + 10
    assert core.namespaces == extra.namespaces == (("ns", new),)
    assert core.own_imports == extra.own_imports == {"ns": new}
    user = output_for(plan, 1, "old-user")
    assert dict(user.import_map) == {"ns": new}
    # What strings are relocated under it: the modules and packages the copies install.
    assert dict(user.module_paths) == {"ns": ("ns.", "ns.core.", "ns.core.msg", "ns.extra.")}
    assert dict(core.module_paths) == {"ns": ("ns.", "ns.core.", "ns.core.msg")}
    # The main world's namespace keeps its name.
    assert not plan.output("ns-core==2.0").namespaces and not output_for(plan, 0, "app").import_map
    # Deterministic: the same inputs, the same name.
    assert plan_of(NS, roots=["app", "old-user"]).output("mv-ns-core-1-0==1.0").namespaces == core.namespaces


def test_a_namespace_split_between_renamed_and_plain_names_is_refused() -> None:
    # ns-extra 1.5 (no dependencies) is shared by both worlds; ns-core 1.0 is renamed in world 1.
    wheels = [
        *NS[:2],
        ns_whl("ns-extra", "1.5", files=("ns/extra/__init__.py",)),
        whl("old-user", "1.0", "ns-core==1.0", "ns-extra"),
        whl("app", "1.0", "ns-core>=2", "ns-extra"),
    ]
    with pytest.raises(ConfigError, match="namespace cannot be split") as found:
        plan_of(wheels, roots=["app", "old-user"])
    assert "'ns' is shared in world 1 by renamed mv-ns-core-1-0==1.0 and by ns-extra==1.5" in str(found.value)


def test_copies_sharing_a_namespace_must_not_install_the_same_file() -> None:
    wheels = [*NS[:2], *(replace(w, members=(*w.members, "ns/core/msg.py")) for w in NS[2:4]), *NS[4:]]
    with pytest.raises(ConfigError, match=r"ns/core/msg.py is installed by both mv-ns-core-1-0==1.0 and mv-ns-extra"):
        plan_of(wheels, roots=["app", "old-user"])
