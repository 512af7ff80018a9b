"""numpy 1.26.4 renamed beside numpy 2.x: real auditwheel-repaired wheels from the registry.

auditwheel runs patchelf on every repaired wheel, which appends segments after the section
header table; LIEF then wrote that table over ``.gnu.hash`` of ``_multiarray_umath`` and the
renamed copy crashed on import. The patcher also took the word after ``numpy.character``'s
``tp_name`` for a string length, which only the differential check (each patched module imported
beside its original) sees. These tests build the real wheels.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from mvpy_vendor import apply
from mvpy_vendor.cli import main
from mvpy_vendor.native import elf

from .conftest import clean_env, download, gather, install_wheelhouse, pick, real_wheel_cache, set_basicsize

pytestmark = pytest.mark.slow

NUMPY_1, NUMPY_2 = "numpy==1.26.4", "numpy==2.4.6"


@pytest.fixture(scope="session")
def numpy_wheels() -> Path:
    cache = real_wheel_cache() / "numpy"
    for spec in (NUMPY_1, NUMPY_2):
        if not list(cache.glob(f"numpy-{spec.partition('==')[2]}-*.whl")):
            download(cache, "--no-deps", spec)
    return cache


def _inputs(numpy_wheels: Path, wheels: Path, tmp_path: Path) -> Path:
    return gather(tmp_path / "in", [*numpy_wheels.glob("numpy-*.whl"), *pick(wheels, "numpy_v1_user", "numpy_v2_app")])


EXT = ".cpython-311-x86_64-linux-gnu.so"
NUMPY_1_WHEEL = "numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"


#: Until the patcher's fix (branch native-use) is merged: numpy.character's tp_basicsize is
#: written 27 (it took the word for a string length), and the differential check stops the build.
#: Strict: once fixed, these pass, and the mark must go.
NUMPY_CHARACTER_BUG = pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="the patcher writes numpy.character's tp_basicsize as 27 (fixed on branch native-use): "
    "the differential check stops the build",
)


@NUMPY_CHARACTER_BUG
def test_numpy_1_is_patched_checked_and_loaded(numpy_wheels: Path, wheels: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert (
        main(["build", "-q", "--no-cache", "--wheels", str(_inputs(numpy_wheels, wheels, tmp_path)), "--out", str(out)])
        == 0
    )
    report = json.loads((out / "mvpy-vendor-report.json").read_text())
    (copy,) = [o for o in report["outputs"] if o["action"] == "rename"]
    compiled = {f["member"]: f["status"] for f in copy["files"] if f["member"].endswith(".so")}
    # Every binary passed the structural check and loaded (with numpy.libs/ placed beside it)
    # in a child process; a module the load check could not run on would be a warning.
    assert len(compiled) == 19 and set(compiled.values()) == {"patched"}
    # Each was imported beside its original and compared: all the same, but for a test module
    # numpy itself refuses to load without an environment variable (said, as a warning).
    checked = {m["module"]: m for m in copy["differential_check"]["modules"]}
    assert len(checked) == 19
    assert {n for n, m in checked.items() if m["verdict"] != "same"} == {"numpy.core._umath_tests"}
    assert {n: m["types"] for n, m in checked.items() if m.get("types", 0) > 10} == {
        "numpy.core._multiarray_umath": 81,
        "numpy.core._rational_tests": 67,
        "numpy.random.bit_generator": 12,
    }
    reason = (
        "the original does not import here (RuntimeError: cannot load _umath_tests module.), "
        "nor alone from its file (RuntimeError: cannot load _umath_tests module.)"
    )
    assert checked["numpy.core._umath_tests"]["reason"] == reason
    assert [(w["code"], w["member"], w["reason"]) for w in copy["warnings"]] == [
        (
            "native-uncompared",
            f"numpy/core/_umath_tests{EXT}",
            f"patched module not compared with the original: {reason}",
        )
    ]


def test_the_differential_check_stops_a_wrong_size_of_numpy_character(
    numpy_wheels: Path,
    wheels: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """numpy.character's tp_basicsize written wrong (99) in the renamed ``_multiarray_umath``, as
    the patcher wrote it (27): structurally sound, it loads; imported beside the original, the
    type's size and the warning numpy's Cython modules give about it stop the build."""
    real = apply.patch_native

    def wrong(data: bytes, member: str, *args: object) -> bytes:
        patched = real(data, member, *args)  # type: ignore[arg-type]
        if member != f"numpy/core/_multiarray_umath{EXT}":
            return patched
        return set_basicsize(patched, b"_mv_numpy_1_26_4.character", 99)

    monkeypatch.setattr(apply, "patch_native", wrong)
    out = tmp_path / "out"
    inputs = str(_inputs(numpy_wheels, wheels, tmp_path))
    assert main(["build", "-q", "--no-cache", "--wheels", inputs, "--out", str(out)]) == 1
    head = f"mvpy-vendor: error: {NUMPY_1_WHEEL}: numpy/core/"
    assert capsys.readouterr().err.splitlines() == [
        f"{head}_multiarray_tests{EXT}: patched module differs from the original: module "
        "numpy.core._multiarray_tests: importing it warns 'RuntimeWarning: numpy.character size changed, may "
        "indicate binary incompatibility. Expected 16 from C header, got 99 from PyObject', the original does not",
        f"{head}_multiarray_umath{EXT}: patched module differs from the original: type numpy.character: "
        "__basicsize__ is 99 in the renamed copy, 16 in the original",
    ]
    assert not out.exists()


def test_without_the_fix_the_check_stops_the_build(
    numpy_wheels: Path,
    wheels: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The section table left where patchelf put it: LIEF writes it over .gnu.hash again, and
    the structural check turns that into a build error naming the wheel and the member."""
    monkeypatch.setattr(elf, "section_table_last", lambda data: data)
    out = tmp_path / "out"
    assert (
        main(["build", "-q", "--no-cache", "--wheels", str(_inputs(numpy_wheels, wheels, tmp_path)), "--out", str(out)])
        == 1
    )
    errors = capsys.readouterr().err.splitlines()
    assert (
        "mvpy-vendor: error: numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl: "
        "numpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so: patched binary failed the structural check "
        "'layout': section .gnu.hash (0x70b028-0x70c14c) overlaps the section header table (0x70b208-0x70b908)"
    ) in errors
    assert not out.exists()


@NUMPY_CHARACTER_BUG
def test_numpy_1_and_2_in_one_process(numpy_wheels: Path, wheels: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    inputs = _inputs(numpy_wheels, wheels, tmp_path)
    assert main(["build", "-q", "--verify", "--wheels", str(inputs), "--out", str(out)]) == 0
    python = install_wheelhouse(out, tmp_path / "venv")
    seen = subprocess.run(
        [str(python), "-c", "import numpy_v2_app; numpy_v2_app.main()"],
        check=True, capture_output=True, text=True, env=clean_env(),
    ).stdout  # fmt: skip
    result = json.loads(seen)
    assert result["app"] == {
        "version": "2.4.6",
        "module": "numpy",
        "sum": 15,
        "matmul": [[5, 14], [14, 50]],
        "upper": ["NUMPY", "TWO"],
        "promotion_rejected": True,
    }
    assert result["library"] == {
        "version": "1.26.4",
        "module": "_mv_numpy_1_26_4",
        "product": 720.0,
        "numeric": "_mv_numpy_1_26_4.core.numeric",
        "rounded": [[0.14, 0.29, 0.43], [0.57, 0.71, 0.86]],
        "alltrue": True,
        "matmul": [[14.0, 32.0], [32.0, 77.0]],
        "inverse": [[0.6, -0.2], [-0.2, 0.4]],
        "fft": [0.0, 2.0, 0.0, 2.0],
        "dtype": "float64",
    }
