"""Member plans (planning/members.py): every member's fate is decided before anything is written."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from mvpy_vendor import Action, ApplyOptions, BuildRequest, NativePolicy, plan_build
from mvpy_vendor.cache import Cache
from mvpy_vendor.errors import Code, Severity
from mvpy_vendor.planning.members import plan_members
from mvpy_vendor.planning.plan import MemberPlan, Output

from .conftest import C_SET, GIZMO_SET, pick

EXT = ".cpython-311-x86_64-linux-gnu.so"


def _renamed(plan_outputs: tuple[Output, ...], name: str) -> dict[str, MemberPlan]:
    out = next(o for o in plan_outputs if o.name == name)
    return {m.member: m for m in out.members}


def _plan(wheels: list[Path], **options: object) -> tuple[Output, ...]:
    return plan_build(BuildRequest(wheels=wheels, options=ApplyOptions(**options))).outputs  # type: ignore[arg-type]


def test_compiled_modules_are_decided_in_the_plan(wheels: Path) -> None:
    inputs = pick(wheels, *C_SET)
    cfoo = _renamed(_plan(inputs), "mv-cfoo-1-0")[f"cfoo{EXT}"]
    assert cfoo.action is Action.PATCH
    assert cfoo.target == f"_mv_cfoo_1_0{EXT}"
    assert cfoo.init_rename == ("cfoo", "_mv_cfoo_1_0")
    assert (
        cfoo.native is not None and cfoo.native.patchable and cfoo.reason == "3 strings repointed, PyInit_cfoo renamed"
    )
    # prefer-source: cpkg's module is dropped for the .py it ships, decided before writing.
    cpkg = _renamed(_plan(inputs, native_policy=NativePolicy.PREFER_SOURCE), "mv-cpkg-1-0")[f"cpkg/_native{EXT}"]
    assert (cpkg.action, cpkg.target, cpkg.reason) == (
        Action.DEACCELERATE,
        None,
        "dropped; cpkg/_native.py is used instead",
    )


def test_a_refused_module_names_the_setting_that_chose_its_policy(wheels: Path) -> None:
    inputs = pick(wheels, *C_SET)
    cfoo = _renamed(_plan(inputs, native_policy_for={"cfoo": NativePolicy.ERROR}), "mv-cfoo-1-0")[f"cfoo{EXT}"]
    assert cfoo.action is Action.REFUSE and cfoo.problem is not None
    assert (cfoo.problem.code, cfoo.problem.setting, cfoo.problem.severity) == (
        Code.NATIVE_REFUSED,
        "native-for",
        Severity.ERROR,
    )
    assert cfoo.problem.render(lambda s: f"--{s}") == (
        f"cfoo-1.0-cp311-cp311-linux_x86_64.whl: cfoo{EXT}: "
        "compiled module needs patching and the native policy is 'error' (--native-for)"
    )
    # A consumer's module that names the renamed copy is kept, with a warning instead.
    app = _renamed(_plan(inputs, native_policy=NativePolicy.ERROR), "cpkg")
    assert all(m.action is not Action.REFUSE for m in app.values())


def test_scripts_entry_points_signatures_and_record_in_the_plan(wheels: Path) -> None:
    members = _renamed(_plan(pick(wheels, *GIZMO_SET)), "mv-gizmo-1-0")
    actions = {m: (p.action, p.target) for m, p in members.items()}
    assert actions["gizmo-1.0.data/scripts/gizmo-tool"] == (Action.DROP, None)
    assert members["gizmo-1.0.data/scripts/gizmo-tool"].drops == ("script gizmo-tool (would overwrite the primary's)",)
    assert actions["gizmo-1.0.dist-info/RECORD"] == (Action.REGENERATE, None)
    assert actions["gizmo-1.0.dist-info/METADATA"] == (Action.METADATA, "mv_gizmo_1_0-1.0.dist-info/METADATA")
    assert actions["gizmo.pth"] == (Action.REWRITE_PTH, "_mv_gizmo_1_0.pth")
    # Written members come in the order the output is written: package files, then dist-info.
    written = [p.target for p in members.values() if p.target is not None]
    assert written == sorted(written, key=lambda t: (t.startswith("mv_gizmo_1_0-1.0.dist-info/"), t))


def test_member_plans_come_back_from_the_cache_unchanged(wheels: Path, tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    outputs = _plan(pick(wheels, *C_SET))
    for out in outputs:
        if out.action == "copy":
            continue
        bare = replace(out, members=())
        fresh = plan_members(bare, ApplyOptions(), cache)
        assert fresh == out.members
        assert plan_members(bare, ApplyOptions(), cache) == fresh  # from the cache now
