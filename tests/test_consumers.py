"""Consumers placed by their imports: a name imported but not declared gets the copy a requirement pins."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from mvpy_vendor.cli import main
from mvpy_vendor.errors import Code
from mvpy_vendor.planning.imports import find_imports
from mvpy_vendor.planning.plan import Plan, make_plan, output_for
from mvpy_vendor.planning.resolve import Index, resolve_worlds
from mvpy_vendor.planning.target import Target
from mvpy_vendor.report import Report
from mvpy_vendor.verify.environment import find_installer
from mvpy_vendor.verify.judge import OriginalWorlds
from mvpy_vendor.wheel.validate import WheelInfo

from .conftest import clean_env, install_wheelhouse, pick
from .test_plan import whl

BASE = [
    whl("base", "1.0.0"),
    whl("base", "2.0.0"),
    whl("mid", "1.0.0", "base<2"),
    whl("user", "1.0.0", "mid<2"),
    whl("app", "1.0.0", "base>=2", "user"),
]


def _scan(imported: Mapping[str, Collection[str]]) -> object:
    """What each wheel's sources import (by distribution), as :mod:`.imports` would read it."""

    def scan(wheel: WheelInfo, names: Collection[str]) -> dict[str, str]:
        return {n: f"{wheel.name}/__init__.py:1" for n in sorted(names) if n in imported.get(wheel.name, ())}

    return scan


def _plan(wheels: list[WheelInfo], roots: list[str], imported: Mapping[str, Collection[str]]) -> Plan:
    env = Target().environment()
    index = Index.build(wheels)
    worlds = resolve_worlds(index, [Requirement(r) for r in roots], {}, env)
    return make_plan(worlds, wheels, index.ignored, imports=_scan(imported))  # type: ignore[arg-type]


def test_an_undeclared_import_gets_the_copy_a_requirement_pins() -> None:
    plan = _plan(BASE, ["app"], {"user": {"base", "mid"}, "app": {"base", "user"}})
    user = output_for(plan, 0, "user")
    assert dict(user.import_map) == {"base": "_mv_base_1_0_0"}
    assert dict(user.dist_map) == {"base": "mv-base-1-0-0"}
    assert user.action == "rewrite"
    (placed,) = user.placed
    assert (placed.name, placed.output, placed.target, placed.world, placed.via) == (
        "base",
        "mv-base-1-0-0==1.0.0",
        "_mv_base_1_0_0",
        1,
        ("mid<2", "base<2"),
    )
    assert placed.reason == (
        "imports base (user/__init__.py:1) without declaring it; mid<2 -> base<2 pins base 1.0.0 (world 1): "
        "gets that as _mv_base_1_0_0"
    )
    # what an installer gives it alone: verify's original environment for it
    assert {n: str(v) for n, v in user.original} == {"user": "1.0.0", "mid": "1.0.0", "base": "1.0.0"}
    # the app declares base: its own world decides, as before
    app = output_for(plan, 0, "app")
    assert app.import_map == () and app.placed == ()
    shown = json.dumps(plan.to_json())
    assert placed.reason in shown


def test_nothing_is_placed_for_a_name_not_imported_or_without_a_scan() -> None:
    plan = _plan(BASE, ["app"], {"user": {"mid"}})
    assert output_for(plan, 0, "user").import_map == ()
    env = Target().environment()
    index = Index.build(BASE)
    unscanned = make_plan(resolve_worlds(index, [Requirement("app")], {}, env), BASE, index.ignored)
    assert output_for(unscanned, 0, "user").placed == ()


def test_a_placement_follows_a_chain_of_requirements() -> None:
    wheels = [*BASE[:3], whl("wrapper", "1.0.0", "mid"), whl("user", "1.0.0", "wrapper"), BASE[4]]
    plan = _plan(wheels, ["app"], {"user": {"base"}})
    (placed,) = output_for(plan, 0, "user").placed
    assert placed.via == ("wrapper", "mid", "base<2")


def test_two_requirements_pinning_different_versions_warn_and_change_nothing() -> None:
    wheels = [
        *BASE[:3],
        whl("base", "1.5.0"),
        whl("mid", "1.0.0", "base<2"),
        whl("side", "1.0.0", "base<1.5"),
        whl("torn", "1.0.0", "mid<2", "side<2"),
        whl("app", "1.0.0", "base>=2", "torn"),
    ]
    plan = _plan(wheels, ["app"], {"torn": {"base"}})
    torn = output_for(plan, 0, "torn")
    assert torn.import_map == () and torn.placed == ()
    (warning,) = torn.placement_warnings
    assert warning.code is Code.AMBIGUOUS_IMPORT
    assert warning.reason == (
        "torn imports base (torn/__init__.py:1) without declaring it, and its requirements pin different copies: "
        "base 1.5.0 (world 1) through mid<2 -> base<2, base 1.0.0 (world 2) through side<2 -> base<1.5; "
        "its import of base is left as written"
    )


def test_its_own_world_giving_another_copy_warns_and_keeps_it() -> None:
    wheels = [*BASE[:3], whl("new", "1.0.0", "base>=2"), whl("user", "1.0.0", "mid<2", "new"), BASE[4]]
    plan = _plan(wheels, ["app"], {"user": {"base"}})
    user = output_for(plan, 0, "user")
    assert user.import_map == ()
    (warning,) = user.placement_warnings
    assert "base 2.0.0 (world 0) in its own world through new -> base>=2" in warning.reason
    assert "base 1.0.0 (world 1) through mid<2 -> base<2; it keeps its own world's base" in warning.reason


def test_find_imports_reads_every_kind_of_absolute_import() -> None:
    files = {
        "pkg/__init__.py": b"from . import base\nimport os, base.sub as s\n",
        "pkg/a.py": b"def f():\n    try:\n        from base.x import y\n    except ImportError:\n        pass\n",
        "pkg/b.py": b"import importlib\nm = importlib.import_module('other.mod')\n__import__('third')\n",
        "pkg/c.py": b"# base other third: only a comment\nx = 'base'\n",
        "pkg/bad.py": b"print 'base'\n",
        "pkg/stub.pyi": b"import fourth\n",
    }
    found = find_imports(list(files), ["base", "other", "third", "fourth", "absent"], files.__getitem__)
    assert found == {"base": "pkg/__init__.py:2", "other": "pkg/b.py:2", "third": "pkg/b.py:3"}


# ---- built, installed with pip, run --------------------------------------------------------------


def _python(python: Path, code: str) -> str:
    proc = subprocess.run([str(python), "-c", code], capture_output=True, text=True, env=clean_env(), check=True)
    return proc.stdout


@pytest.mark.slow
def test_the_consumer_gets_base_1_beside_the_app_on_base_2(
    wheels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = [p for p in pick(wheels, "base", "mid", "undeclared_user", "base_app") if "1.5.0" not in p.name]
    out = tmp_path / "house"
    assert main(["build", "--wheels", *map(str, inputs), "--out", str(out), "--verify"]) == 0
    printed = capsys.readouterr().out
    assert (
        "placed: undeclared-user: imports base (undeclared_user/__init__.py:2) without declaring it; "
        "mid<2 -> base<2 pins base 1.0.0 (world 1): gets that as _mv_base_1_0_0"
    ) in printed
    assert "verify: OK" in printed
    python = install_wheelhouse(out, tmp_path / "venv")
    seen = json.loads(_python(python, "import json, base_app; print(json.dumps(base_app.report()))"))
    assert seen == {
        "version": "2.0.0",
        "app": "BASE 2.0.0 V2: APP",
        "user": {
            "version": "1.0.0",
            "direct": "base 1.0.0 v1: user",
            "mid": "base 1.0.0 v1: user",
            "caught": "from base 1",
        },
    }
    # verify's original environment for the consumer is what an installer gives it alone
    report = Report.load(out)
    user = next(o for o in report.outputs if o.distribution == "undeclared-user")
    assert report.origins[user.origin] == {"undeclared-user": "1.0.0", "mid": "1.0.0", "base": "1.0.0"}
    assert report.describe_origin(user.origin) == "undeclared-user 1.0.0 alone"
    # ... and judge builds it from the original wheels: there undeclared-user runs as released
    with ThreadPoolExecutor(1) as pool:
        originals = OriginalWorlds(report, find_installer("pip"), tmp_path / "judge", pool)
        built = originals.prepare(user.origin)
        assert built is not None
        original = json.loads(
            _python(built.result(), "import json, undeclared_user as u; print(json.dumps(u.report()))")
        )
    assert original == seen["user"]


@pytest.mark.slow
def test_an_ambiguous_import_is_a_warning_naming_both(
    wheels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = pick(wheels, "base", "mid", "side", "torn_user", "base_app", "undeclared_user")
    out = tmp_path / "house"
    args = ["--require", "base-app", "--require", "torn-user"]
    assert main(["build", "--wheels", *map(str, inputs), *args, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert (
        "warning: torn_user-1.0.0-py3-none-any.whl: torn-user imports base (torn_user/__init__.py:1) without "
        "declaring it, and its requirements pin different copies: base 1.5.0 (world 1) through mid<2 -> base<2, "
        "base 1.0.0 (world 2) through side<2 -> base<1.5; its import of base is left as written"
    ) in printed
    plan = json.loads((out / "mvpy-vendor-report.json").read_text())["plan"]
    torn = next(o for o in plan["outputs"] if o["distribution"] == "torn-user")
    assert [w["code"] for w in torn["placement_warnings"]] == ["ambiguous-import"]
    assert torn["import_map"] == {} and torn["placed_imports"] == []
    # the other consumer, in the same build, reaches only mid's base: it is placed on it
    user = next(o for o in plan["outputs"] if o["distribution"] == "undeclared-user")
    assert user["import_map"] == {"base": "_mv_base_1_5_0"}


# ---- the real case: s3fs on aiobotocore 2.5 beside current boto3 ---------------------------------

S3FS = "s3fs==2023.9.2"  # requires aiobotocore~=2.5.4 (botocore 1.31.17) and imports botocore itself
BOTO3 = "boto3==1.44.18"  # botocore 1.44.18

S3_RUN = """
import asyncio, json, sys
import boto3, botocore, s3fs, s3fs.core, aiobotocore.client

def version_of(cls):
    return sys.modules[cls.__module__.partition(".")[0]].__version__

def base_client(client):
    return next(k for k in type(client).__mro__ if k.__name__ == "BaseClient")

app = boto3.client("s3", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")
seen = {"app": [botocore.__version__, version_of(base_client(app))],
        "s3fs_module": [s3fs.core.botocore.__name__, s3fs.core.botocore.__version__]}

async def main():
    fs = s3fs.S3FileSystem(key="k", secret="s", client_kwargs={"region_name": "us-east-1"}, asynchronous=True)
    client = await fs.set_session()  # creates the aiobotocore client: no request is sent
    seen["s3fs_client"] = version_of(base_client(client))
    seen["catches"] = issubclass(client.exceptions.ClientError, s3fs.core.ClientError)
    await client.close()

asyncio.run(main())
print(json.dumps(seen))
"""


@pytest.mark.slow
def test_s3fs_gets_the_botocore_its_aiobotocore_pins(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from .conftest import download, real_wheel_cache

    cache = real_wheel_cache() / "s3fs"
    for spec in (S3FS, BOTO3):
        name, version = spec.split("==")
        if not list(cache.glob(f"{name}-{version}-*.whl")):
            download(cache, spec)
    out = tmp_path / "house"
    args = ["--require", "boto3", "--require", S3FS, "--out", str(out), "--verify"]
    assert main(["build", "--wheels", str(cache), *args]) == 0
    printed = capsys.readouterr().out
    assert (
        "placed: s3fs: imports botocore (s3fs/core.py:28) without declaring it; aiobotocore~=2.5.4 -> "
        "botocore<1.31.18,>=1.31.17 pins botocore 1.31.17 (world 1): gets that as _mv_botocore_1_31_17"
    ) in printed
    assert "verify: OK" in printed and "fails in original too  s3fs" not in printed
    python = install_wheelhouse(out, tmp_path / "venv")
    seen = json.loads(_python(python, S3_RUN))
    assert seen == {
        "app": ["1.44.18", "1.44.18"],
        "s3fs_module": ["_mv_botocore_1_31_17", "1.31.17"],
        "s3fs_client": "1.31.17",
        "catches": True,  # s3fs's `except ClientError` catches what its own client raises
    }
