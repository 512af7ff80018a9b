"""Applying a plan: the wheels written, their metadata, determinism, and failing without leftovers."""

from __future__ import annotations

import json
import threading
import zipfile
from pathlib import Path
from typing import Any

import pytest
from wheel.wheelfile import WheelFile

from mvpy_vendor import ApplyOptions, BuildRequest, build
from mvpy_vendor import apply as apply_module
from mvpy_vendor.errors import WheelProblems
from mvpy_vendor.report import REPORT_NAME
from mvpy_vendor.wheel.validate import read_wheels

from .conftest import FOO_SET, GIZMO_SET, pick, rewrite_wheel


def _build(wheels: list[Path], out: Path, **kwargs: object) -> None:
    build(BuildRequest(wheels=wheels, **kwargs), out)  # type: ignore[arg-type]


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def test_output_wheelhouse(wheels: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _build(pick(wheels, *FOO_SET), out)
    assert sorted(p.name for p in out.iterdir()) == [
        "foo-2.0.0-py3-none-any.whl",
        "mv_foo_1_0_0-1.0.0-py3-none-any.whl",
        REPORT_NAME,
        "myapp-0.1.0-py3-none-any.whl",
        "pylock.toml",
        "requirements.txt",
        "slow_package-0.1.0-py3-none-any.whl",
    ]
    assert (out / "requirements.txt").read_text() == (
        "foo==2.0.0\nmv-foo-1-0-0==1.0.0\nmyapp==0.1.0\nslow-package==0.1.0\n"
    )
    # Every output is a valid wheel: RECORD present and matching, one dist-info.
    infos = {i.filename: i for i in read_wheels(sorted(out.glob("*.whl")))}
    assert infos["mv_foo_1_0_0-1.0.0-py3-none-any.whl"].import_names == ("_mv_foo_1_0_0",)
    # Unchanged wheels are copied byte for byte.
    assert (out / "foo-2.0.0-py3-none-any.whl").read_bytes() == pick(wheels, "foo")[1].read_bytes()


def test_renamed_copy_contents(wheels: Path, tmp_path: Path) -> None:
    _build(pick(wheels, *FOO_SET), tmp_path)
    original = _members(pick(wheels, "foo")[0])
    copy = _members(tmp_path / "mv_foo_1_0_0-1.0.0-py3-none-any.whl")
    di = "mv_foo_1_0_0-1.0.0.dist-info"
    assert list(copy) == [
        "_mv_foo_1_0_0/__init__.py",
        "_mv_foo_1_0_0/backends/__init__.py",
        "_mv_foo_1_0_0/backends/default.py",
        "_mv_foo_1_0_0/cli.py",
        "_mv_foo_1_0_0/sub/__init__.py",
        "_mv_foo_1_0_0/sub/deep.py",
        f"{di}/METADATA",
        f"{di}/WHEEL",
        f"{di}/entry_points.txt",
        f"{di}/mvpy_vendor.json",
        f"{di}/top_level.txt",
        f"{di}/RECORD",
    ]
    assert copy["_mv_foo_1_0_0/backends/default.py"] == original["foo/backends/default.py"]
    assert b'version("mv-foo-1-0-0")' in copy["_mv_foo_1_0_0/__init__.py"]
    assert b'importlib.import_module("_mv_foo_1_0_0.backends.default")' in copy["_mv_foo_1_0_0/__init__.py"]
    assert copy[f"{di}/METADATA"].decode().splitlines()[1] == "Name: mv-foo-1-0-0"
    # the group is a module path under the renamed name: relocated, as the copy's code reading it is
    assert (
        copy[f"{di}/entry_points.txt"]
        == b"[_mv_foo_1_0_0.backends]\ndefault = _mv_foo_1_0_0.backends.default:Backend\n\n"
    )
    assert copy[f"{di}/top_level.txt"] == b"_mv_foo_1_0_0\n"
    assert copy[f"{di}/WHEEL"] == original["foo-1.0.0.dist-info/WHEEL"]
    provenance = json.loads(copy[f"{di}/mvpy_vendor.json"])
    assert provenance["original"]["name"] == "foo" and provenance["original"]["version"] == "1.0.0"
    assert provenance["import_map"] == {"foo": "_mv_foo_1_0_0"}
    assert len(provenance["original"]["sha256"]) == 64
    report = json.loads((tmp_path / REPORT_NAME).read_text())
    renamed = next(o for o in report["outputs"] if o["distribution"] == "mv-foo-1-0-0")
    assert renamed["dropped"] == ["console_scripts: foo (would overwrite the primary's)"]


def test_consumer_keeps_name_and_requires_the_renamed_copy(wheels: Path, tmp_path: Path) -> None:
    _build(pick(wheels, *FOO_SET), tmp_path)
    slow = _members(tmp_path / "slow_package-0.1.0-py3-none-any.whl")
    metadata = slow["slow_package-0.1.0.dist-info/METADATA"].decode()
    assert "Name: slow-package\n" in metadata and "Requires-Dist: mv-foo-1-0-0==1.0.0\n" in metadata
    assert "foo>=1" not in metadata


def test_deterministic_and_source_date_epoch(wheels: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inputs = pick(wheels, *FOO_SET)
    _build(inputs, tmp_path / "a")
    _build(inputs, tmp_path / "b")
    for path in sorted((tmp_path / "a").iterdir()):
        assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes(), path.name
    with zipfile.ZipFile(tmp_path / "a" / "mv_foo_1_0_0-1.0.0-py3-none-any.whl") as zf:
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert {i.external_attr >> 16 for i in zf.infolist()} == {0o100644}
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    _build(inputs, tmp_path / "c")
    with zipfile.ZipFile(tmp_path / "c" / "mv_foo_1_0_0-1.0.0-py3-none-any.whl") as zf:
        assert {i.date_time for i in zf.infolist()} == {(2023, 11, 14, 22, 13, 20)}


def test_failed_run_leaves_output_directory_as_it_was(wheels: Path, tmp_path: Path) -> None:
    foo1, foo2, slow, app = pick(wheels, *FOO_SET)
    broken = rewrite_wheel(foo1, {"foo/legacy.py": b"import foo\nfrom foo import x y\n"}, tmp_path / "in")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    with pytest.raises(WheelProblems) as info:
        _build([broken, foo2, slow, app], out)
    assert str(info.value) == "foo-1.0.0-py3-none-any.whl: foo/legacy.py:2: cannot parse: not valid Python 3 syntax"
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    assert (out / "keep.txt").read_text() == "precious"
    fresh = tmp_path / "fresh"
    with pytest.raises(WheelProblems):
        _build([broken, foo2, slow, app], fresh)
    assert not fresh.exists()
    # The explicit flag downgrades it to a warning and copies the file unchanged.
    result = build(BuildRequest(wheels=[broken, foo2, slow, app], options=ApplyOptions(allow_unparsable=True)), out)
    copy = next(r for r in result.outputs if r.output.renamed)
    assert copy.warnings and copy.warnings[0].member == "foo/legacy.py"
    assert copy.warnings[0].setting == "allow-unparsable"
    assert _members(out / copy.output.filename)["_mv_foo_1_0_0/legacy.py"] == b"import foo\nfrom foo import x y\n"


def test_unparsable_file_that_does_not_mention_a_renamed_name_is_copied(wheels: Path, tmp_path: Path) -> None:
    foo1, foo2, slow, app = pick(wheels, *FOO_SET)
    odd = rewrite_wheel(foo1, {"foo/py2only.py": b"print 'hello'\n"}, tmp_path / "in")
    result = build(BuildRequest(wheels=[odd, foo2, slow, app]), tmp_path / "out")
    copy = next(r for r in result.outputs if r.output.renamed)
    assert _members(tmp_path / "out" / copy.output.filename)["_mv_foo_1_0_0/py2only.py"] == b"print 'hello'\n"


def test_single_file_module_pth_data_dir_and_scripts(wheels: Path, tmp_path: Path) -> None:
    result = build(BuildRequest(wheels=pick(wheels, *GIZMO_SET)), tmp_path)
    copy = _members(tmp_path / "mv_gizmo_1_0-1.0-py3-none-any.whl")
    assert sorted(copy) == [
        "_mv_gizmo_1_0.pth",
        "_mv_gizmo_1_0.py",
        "_mv_gizmo_extra_1_0/__init__.py",
        "_mv_gizmo_extra_1_0/_pth_hook.py",
        "mv_gizmo_1_0-1.0.data/purelib/_mv_gizmo_plugins_1_0/__init__.py",
        "mv_gizmo_1_0-1.0.dist-info/METADATA",
        "mv_gizmo_1_0-1.0.dist-info/RECORD",
        "mv_gizmo_1_0-1.0.dist-info/WHEEL",
        "mv_gizmo_1_0-1.0.dist-info/mvpy_vendor.json",
        "mv_gizmo_1_0-1.0.dist-info/top_level.txt",
    ]
    assert copy["_mv_gizmo_1_0.pth"] == b'import sys; gizmo_extra = __import__("_mv_gizmo_extra_1_0._pth_hook")\n'
    assert copy["mv_gizmo_1_0-1.0.dist-info/top_level.txt"] == b"_mv_gizmo_1_0\n_mv_gizmo_extra_1_0\n"
    renamed = next(r for r in result.outputs if r.output.renamed)
    assert renamed.output.own_imports == {
        "gizmo": "_mv_gizmo_1_0",
        "gizmo_extra": "_mv_gizmo_extra_1_0",
        "gizmo_plugins": "_mv_gizmo_plugins_1_0",
    }
    assert renamed.dropped == ("script gizmo-tool (would overwrite the primary's)",)
    consumer = _members(tmp_path / "gizmo_old_user-1.0-py3-none-any.whl")
    script = consumer["gizmo_old_user-1.0.data/scripts/old-gizmo-tool"]
    assert script.startswith(b"#!python\nimport _mv_gizmo_1_0 as gizmo\n")
    with zipfile.ZipFile(tmp_path / "gizmo_old_user-1.0-py3-none-any.whl") as zf:
        mode = zf.getinfo("gizmo_old_user-1.0.data/scripts/old-gizmo-tool").external_attr >> 16
    assert mode == 0o100755


def _wheel(directory: Path, name: str, version: str, files: dict[str, str], requires: tuple[str, ...] = ()) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stem = name.replace("-", "_")
    path = directory / f"{stem}-{version}-py3-none-any.whl"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(
        f"Requires-Dist: {r}\n" for r in requires
    )
    with WheelFile(path, "w") as wf:
        for member, text in files.items():
            wf.writestr(member, text)
        wf.writestr(f"{stem}-{version}.dist-info/METADATA", meta + "\n")
        wf.writestr(
            f"{stem}-{version}.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
    return path


def test_parallel_rewrite_gives_the_same_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started = []

    class Pool(apply_module.ProcessPoolExecutor):
        def __init__(self, workers: int, **kwargs: Any) -> None:
            started.append((workers, threading.active_count()))
            super().__init__(workers, **kwargs)

    monkeypatch.setattr(apply_module, "ProcessPoolExecutor", Pool)
    monkeypatch.setattr(apply_module, "_PARALLEL_MIN_BYTES", 0)  # workers even for these small files
    modules = {f"big/m{i}.py": f"import big\nfrom big.m{(i + 1) % 40} import *\nX{i} = {i}\n" for i in range(40)}
    inputs = [
        _wheel(tmp_path / "in", "big", "1.0", {"big/__init__.py": "", **modules}),
        _wheel(tmp_path / "in", "big", "2.0", {"big/__init__.py": ""}),
        _wheel(tmp_path / "in", "old", "1.0", {"old/__init__.py": "import big.m1\n"}, ("big<2",)),
        _wheel(tmp_path / "in", "app", "1.0", {"app/__init__.py": "import big, old\n"}, ("big>=2", "old")),
    ]
    one = build(BuildRequest(wheels=inputs, options=ApplyOptions(jobs=1)), tmp_path / "one")
    two = build(BuildRequest(wheels=inputs, options=ApplyOptions(jobs=2)), tmp_path / "two")
    assert started == [(2, 1)]  # two workers, forked from a process with no other thread
    assert [r.rewritten for r in one.outputs] == [r.rewritten for r in two.outputs]
    assert next(r for r in two.outputs if r.output.renamed).rewritten == 40
    for path in sorted((tmp_path / "one").iterdir()):
        assert path.read_bytes() == (tmp_path / "two" / path.name).read_bytes(), path.name


def test_apply_executes_the_plan_and_decides_nothing(wheels: Path, tmp_path: Path) -> None:
    from dataclasses import replace

    from mvpy_vendor import Action, apply_plan, plan_build
    from mvpy_vendor.errors import Problem

    plan = plan_build(BuildRequest(wheels=pick(wheels, *FOO_SET)))
    renamed = next(o for o in plan.outputs if o.renamed)
    # Told to copy foo/cli.py as it is, apply copies it (under its new path), unrewritten.
    members = tuple(replace(m, action=Action.COPY) if m.member == "foo/cli.py" else m for m in renamed.members)
    edited = replace(plan, outputs=tuple(replace(o, members=members) if o is renamed else o for o in plan.outputs))
    result = apply_plan(edited, tmp_path / "a")
    written = _members(tmp_path / "a" / renamed.filename)
    source = _members(pick(wheels, "foo")[0])
    assert written["_mv_foo_1_0_0/cli.py"] == source["foo/cli.py"]
    assert written["_mv_foo_1_0_0/__init__.py"] != source["foo/__init__.py"]
    outcome = next(r for r in result.outputs if r.output.renamed)
    assert "foo/cli.py" not in {f.member for f in outcome.files}
    # Told to refuse a member, apply fails with the plan's problem and writes nothing.
    problem = Problem(renamed.source.filename, "refused by the plan", "foo/cli.py")
    refused = tuple(
        replace(m, action=Action.REFUSE, problem=problem) if m.member == "foo/cli.py" else m for m in renamed.members
    )
    edited = replace(plan, outputs=tuple(replace(o, members=refused) if o is renamed else o for o in plan.outputs))
    with pytest.raises(WheelProblems) as info:
        apply_plan(edited, tmp_path / "b")
    assert info.value.problems == (problem,)
    assert not (tmp_path / "b").exists()
