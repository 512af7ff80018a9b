"""Compiled extension modules: inspection, patching, policy, hostile binaries, and the real thing
installed side by side (fixtures compiled with gcc during the test session)."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from mvpy_vendor import ApplyOptions, BuildRequest, build
from mvpy_vendor.cli import main
from mvpy_vendor.errors import WheelProblems
from mvpy_vendor.native import inspect_native, patch_native
from mvpy_vendor.wheel.layout import module_name_of

from .conftest import C_SET, CY_SET, install_wheelhouse, pick, rewrite_wheel

EXT = sysconfig.get_config_var("EXT_SUFFIX")
CFOO = {"cfoo": "_mv_cfoo_1_0"}


def _member(wheel: Path, name: str) -> bytes:
    with zipfile.ZipFile(wheel) as zf:
        return zf.read(name)


def test_module_names() -> None:
    assert module_name_of(f"cfoo{EXT}") == "cfoo"
    assert module_name_of(f"pkg/_native{EXT}") == "pkg._native"
    assert module_name_of(f"pkg/__init__{EXT}") == "pkg"


def test_inspect_reports_init_kind_and_every_reference(wheels: Path) -> None:
    cfoo = inspect_native(_member(pick(wheels, "cfoo")[0], f"cfoo{EXT}"), "cfoo.so", CFOO)
    assert (cfoo.format, cfoo.arch, cfoo.init_symbols, cfoo.init_kind) == (
        "ELF",
        "X86_64",
        ("PyInit_cfoo",),
        "single-phase",
    )
    assert {(o.text, o.kind) for o in cfoo.occurrences} == {
        ("cfoo", "relocated"),  # m_name in the module definition
        ("cfoo.Thing", "relocated"),  # tp_name in the static type
        ("cfoo.Error", "code"),  # PyErr_NewException("cfoo.Error", ...) in code
    }
    assert cfoo.patchable
    cpkg = inspect_native(_member(pick(wheels, "cpkg")[0], f"cpkg/_native{EXT}"), "n.so", {"cpkg": "_mv_cpkg_1_0"})
    assert cpkg.init_kind == "multi-phase"
    assert {(o.text, o.kind) for o in cpkg.occurrences} == {("cpkg._native", "relocated"), ("cpkg.helper", "code")}


def test_cli_inspect(wheels: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", "--json", str(pick(wheels, "cfoo")[0])]) == 0
    (module,) = json.loads(capsys.readouterr().out)
    assert module["member"] == f"cfoo{EXT}" and module["patchable"] is True and module["verdict"] == "patchable"
    cfoo = pick(wheels, "cfoo")[0]
    assert main(["inspect", str(cfoo)]) == 0
    lines = capsys.readouterr().out.splitlines()
    # a verdict per module, then one for the wheel, before the detail
    assert lines[0].startswith(f"cfoo{EXT}: patchable: ") and lines[0].endswith(" names repointed, PyInit_ renamed")
    assert lines[1] == f"{cfoo.name}: patchable: every compiled module can be patched"
    assert lines[2] == "" and lines[3].startswith("module ")
    assert main(["inspect", str(pick(wheels, "foo")[0])]) == 0
    assert (
        capsys.readouterr().out.strip()
        == "foo-1.0.0-py3-none-any.whl: no compiled modules: renaming it needs no patching"
    )


def test_patched_module_loads_under_its_new_name_only(wheels: Path, tmp_path: Path) -> None:
    data = _member(pick(wheels, "cfoo")[0], f"cfoo{EXT}")
    patched = patch_native(data, "cfoo.so", CFOO, ("cfoo", "_mv_cfoo_1_0"))
    (tmp_path / f"_mv_cfoo_1_0{EXT}").write_bytes(patched)
    (tmp_path / f"cfoo{EXT}").write_bytes(data)
    code = (
        "import json, pickle, sys; sys.path.insert(0, '.'); import _mv_cfoo_1_0 as m; t = m.Thing(3); "
        "print(json.dumps([m.__name__, type(t).__module__, m.Error.__module__, "
        "pickle.loads(pickle.dumps(t)).get(), sorted(k for k in sys.modules if 'cfoo' in k)]))"
    )
    out = subprocess.run([sys.executable, "-I", "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == ["_mv_cfoo_1_0", "_mv_cfoo_1_0", "_mv_cfoo_1_0", 3, ["_mv_cfoo_1_0"]]
    again = inspect_native(patched, "x.so", CFOO)
    assert again.init_symbols == ("PyInit__mv_cfoo_1_0",)
    assert all(o.kind == "unreferenced" for o in again.occurrences)  # the old strings are left, unused


def _plain_shared_object(tmp_path: Path) -> bytes:
    src = tmp_path / "plain.c"
    src.write_text("int answer(void) { return 42; }\n")
    subprocess.run(["gcc", "-shared", "-fPIC", str(src), "-o", str(tmp_path / "plain.so")], check=True)
    return (tmp_path / "plain.so").read_bytes()


def test_hostile_binaries_give_clear_problems(wheels: Path, tmp_path: Path) -> None:
    real = _member(pick(wheels, "cfoo")[0], f"cfoo{EXT}")
    cases = {
        "truncated": real[:200],
        "wrong-magic": b"\x00ELF" + real[4:],
        "empty": b"",
        "not-python": _plain_shared_object(tmp_path),
    }
    found = {name: inspect_native(data, f"{name}.so", CFOO).problems for name, data in cases.items()}
    assert found == {
        "truncated": ("not a readable ELF file",),
        "wrong-magic": ("not a compiled module in a known format",),
        "empty": ("not a compiled module in a known format",),
        "not-python": ("exports no PyInit_ function: not a Python extension module",),
    }


def test_hostile_binary_in_a_renamed_copy_stops_the_build(wheels: Path, tmp_path: Path) -> None:
    cfoo1 = pick(wheels, "cfoo")[0]
    bad = rewrite_wheel(cfoo1, {f"cfoo{EXT}": _member(cfoo1, f"cfoo{EXT}")[:300]}, tmp_path / "in")
    others = [p for p in pick(wheels, *C_SET) if not p.name.startswith("cfoo-1.0")]
    out = tmp_path / "out"
    with pytest.raises(WheelProblems) as info:
        build(BuildRequest(wheels=[bad, *others]), out)
    assert str(info.value) == (
        f"{cfoo1.name}: cfoo{EXT}: cannot be patched: not a readable ELF file; "
        "no pure-Python source of this module is shipped to fall back on, "
        "and it is not an optional accelerator (no Python file of the wheel imports it)"
    )
    assert not out.exists()


def test_native_policy_error_and_prefer_source(wheels: Path, tmp_path: Path) -> None:
    inputs = pick(wheels, *C_SET)
    with pytest.raises(WheelProblems, match=r"needs patching and the native policy is 'error' \(native\)"):
        build(BuildRequest(wheels=inputs, options=ApplyOptions(native_policy="error")), tmp_path / "a")
    result = build(BuildRequest(wheels=inputs, options=ApplyOptions(native_policy="prefer-source")), tmp_path / "b")
    cpkg = next(r for r in result.outputs if r.output.name == "mv-cpkg-1-0")
    assert [(f.member, f.status) for f in cpkg.files if f.status == "de-accelerated"] == [
        (f"cpkg/_native{EXT}", "de-accelerated")
    ]
    with zipfile.ZipFile(tmp_path / "b" / cpkg.output.filename) as zf:
        names = zf.namelist()
    assert "_mv_cpkg_1_0/_native.py" in names and not any(n.endswith(EXT) for n in names)
    # cfoo ships no source: with prefer-source it is still patched.
    cfoo = next(r for r in result.outputs if r.output.name == "mv-cfoo-1-0")
    assert [f.status for f in cfoo.files] == ["patched"]
    # The policy can be set for one distribution: only cfoo refuses.
    with pytest.raises(WheelProblems) as info:
        build(BuildRequest(wheels=inputs, options=ApplyOptions(native_policy_for={"cfoo": "error"})), tmp_path / "c")
    assert [p.wheel.split("-")[0] for p in info.value.problems] == ["cfoo"]
    assert main(["build", "--wheels", str(inputs[0]), "--out", str(tmp_path / "d"), "--native-for", "cfoo"]) == 2


EXPECTED = {
    "app": {"cfoo": "2.0", "thing_module": "cfoo", "cpkg_helper": "2.0"},
    "old_user": {
        # The consumer's key "cfoo" is data, never used as a module name: kept, as the original
        # has it (README, "Import rewriting": strings are relocated by use).
        "cfoo": "1.0",
        "cfoo_module": "_mv_cfoo_1_0",
        "thing_module": "_mv_cfoo_1_0",
        "pickled": 11,
        "error_module": "_mv_cfoo_1_0",
        # cpkg 1.0's C code imports "cpkg.helper": patched, it reaches its own helper, not 2.0's.
        "cpkg_helper": "1.0",
    },
}


@pytest.mark.slow
def test_two_versions_of_compiled_modules_in_one_process(wheels: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["build", "-q", "--wheels", *map(str, pick(wheels, *C_SET)), "--out", str(out)]) == 0
    python = install_wheelhouse(out, tmp_path / "venv")
    seen = subprocess.run([str(python), "-c", "import c_app; c_app.main()"], capture_output=True, text=True, check=True)
    assert json.loads(seen.stdout) == EXPECTED
    assert main(["verify", str(out)]) == 0


@pytest.mark.slow
def test_verify_catches_unpatched_names_in_a_compiled_module(
    wheels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["build", "-q", "--wheels", *map(str, pick(wheels, *C_SET)), "--out", str(out)]) == 0
    # Swap in a binary whose PyInit_ is renamed but whose baked-in names are not.
    original = _member(pick(wheels, "cfoo")[0], f"cfoo{EXT}")
    half = patch_native(original, "cfoo.so", {}, ("cfoo", "_mv_cfoo_1_0"))
    copy = out / f"mv_cfoo_1_0-1.0-{pick(wheels, 'cfoo')[0].name.split('-', 2)[2]}"
    rewrite_wheel(copy, {f"_mv_cfoo_1_0{EXT}": half})
    assert main(["verify", "-v", str(out)]) == 1
    rows = [" ".join(line.split()) for line in capsys.readouterr().out.splitlines()]
    assert "leak mv-cfoo-1-0 _mv_cfoo_1_0 registered (module __name__ 'cfoo')" in rows
    assert "leak mv-cfoo-1-0 _mv_cfoo_1_0.Thing __module__ is 'cfoo'" in rows


@pytest.mark.slow
def test_two_versions_of_a_cython_module_in_one_process(wheels: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["build", "-q", "--wheels", *map(str, pick(wheels, *CY_SET)), "--out", str(out)]) == 0
    report = json.loads((out / "mvpy-vendor-report.json").read_text())
    copy = next(o for o in report["outputs"] if o["action"] == "rename")
    assert [f["status"] for f in copy["files"] if f["member"].endswith(EXT)] == ["patched"]
    python = install_wheelhouse(out, tmp_path / "venv")
    seen = subprocess.run(
        [str(python), "-c", "import cy_app; cy_app.main()"], capture_output=True, text=True, check=True
    )
    assert json.loads(seen.stdout) == {
        "app": {"helper": "2.0", "counter_module": "cypkg._fast"},
        # Cython's own pickling support (__pyx_unpickle_Counter) finds the renamed class.
        "old_user": {"helper": "1.0", "counter_module": "_mv_cypkg_1_0._fast", "pickled": 42, "same_class": True},
    }
    assert main(["verify", str(out)]) == 0


def _chunk(*entries: bytes) -> bytes:
    """A mypyc string-table chunk as mypyc's codegen lays it out (lengths < 128 here)."""
    return bytes([len(entries)]) + b"".join(bytes([len(e)]) + e for e in entries) + b"\x00"


MYPYC_NAMES = {"black": "_mv_black_24", "30fcd__mypyc": "_mv_30fcd__mypyc_24"}
# A .rodata-like region: an ordinary C string, then chunks (one with an empty entry, whose
# length is a NUL byte, and a prose entry naming the package), then a file name the wheel ships.
TABLE_REGION = (
    b"\x00black.Mode\x00"
    + _chunk(b"30fcd__mypyc", b"__file__", b"")
    + _chunk(b"see black for details", b"black.linegen", b"black.schema.json")
    + b"\x00\x00"
)


def test_mypyc_table_entries_are_found_by_parsing_their_chunk() -> None:
    from mvpy_vendor.native._binary import embedded, find_names, find_tables

    tables = find_tables([(0x1000, TABLE_REGION)], MYPYC_NAMES, files={"black.schema.json"})
    first = 0x1000 + TABLE_REGION.index(b"\x03\x0c30fcd")
    second = 0x1000 + TABLE_REGION.index(b"\x03\x15see")
    assert sorted(tables) == [first, second]
    assert tables[first].names == ("30fcd__mypyc",)
    assert tables[second].names == ("black.linegen",)  # not the prose, not the file name
    # Renamed entries get their new length; the others are kept byte for byte.
    assert tables[first].renamed(MYPYC_NAMES) == _chunk(b"_mv_30fcd__mypyc_24", b"__file__", b"")[:-1]
    assert (
        tables[second].renamed(MYPYC_NAMES)
        == _chunk(b"see black for details", b"_mv_black_24.linegen", b"black.schema.json")[:-1]
    )
    # The plain scanner sees the NUL-terminated C string; the last entry of a chunk also ends in
    # a NUL, but the file name the wheel ships is left out.
    assert set(find_names([(0, TABLE_REGION)], MYPYC_NAMES, {"black.schema.json"}).values()) == {"black.Mode"}
    # Before: without the table, "black.linegen" and "30fcd__mypyc" were only "embedded" names.
    # After: they are table entries; the prose and the file name stay embedded (reported, not patched).
    assert {o.text for o in embedded(TABLE_REGION, MYPYC_NAMES, {"black.schema.json"})} == {
        "see black for details",
        "black.schema.json",
    }


def test_bytes_that_only_look_like_a_chunk_are_not_tables() -> None:
    from mvpy_vendor.native._binary import find_tables

    lengths_wrong = b"\x00\x02\x0c30fcd__mypyc\x08__file_\x00"  # second entry runs past the NUL
    no_nul_after = b"\x00\x01\x0c30fcd__mypycX\x00"
    not_after_nul = b"x\x01\x0c30fcd__mypyc\x00"
    for region in (lengths_wrong, no_nul_after, not_after_nul):
        assert find_tables([(0, region)], MYPYC_NAMES) == {}


def test_a_name_merged_into_the_tail_of_a_longer_string_counts_only_where_referenced() -> None:
    from mvpy_vendor.native._binary import find_names, find_tails

    # The linker keeps m_name "black" as the tail of "30fcd__mypyc.init_black".
    region = b"\x00" + b"30fcd__mypyc.init_black\x00" + b"not_black_here\x00"
    assert set(find_names([(0, region)], MYPYC_NAMES).values()) == {"30fcd__mypyc.init_black"}
    assert find_tails([(0, region)], MYPYC_NAMES) == {region.index(b"black\x00"): "black"}
