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
import sys
from pathlib import Path
from typing import Any

import pytest

from mvpy_vendor import apply
from mvpy_vendor.cli import main
from mvpy_vendor.native import elf

from .conftest import clean_env, download, gather, install_wheelhouse, new_venv, pick, real_wheel_cache, set_basicsize

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


@pytest.fixture(scope="module")
def numpy_venv(numpy_wheels: Path, wheels: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """numpy 1.26.4 renamed beside numpy 2, built (and verified) once, installed by pip: its Python."""
    tmp = tmp_path_factory.mktemp("numpy")
    out = tmp / "out"
    inputs = _inputs(numpy_wheels, wheels, tmp)
    assert main(["build", "-q", "--verify", "--wheels", str(inputs), "--out", str(out)]) == 0
    return install_wheelhouse(out, tmp / "venv")


def test_numpy_1_and_2_in_one_process(numpy_venv: Path) -> None:
    seen = subprocess.run(
        [str(numpy_venv), "-c", "import numpy_v2_app; numpy_v2_app.main()"],
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


def test_renamed_numpy_imports_without_a_warning(numpy_venv: Path) -> None:
    """A static type whose tp_basicsize changed (the patcher once took numpy.character's, 16, for
    the length of its tp_name) makes every Cython module that imports it warn "size changed":
    under -W error the import fails."""
    proc = subprocess.run(
        [str(numpy_venv), "-W", "error", "-c", "import _mv_numpy_1_26_4.random, _mv_numpy_1_26_4.linalg"],
        capture_output=True, text=True, env=clean_env(), check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]


# Every type numpy's namespaces hold, by where it is found: its instance and item sizes.
_LAYOUTS = """
import importlib, json, sys
top = sys.argv[1]
found = {}
for sub in ("", ".core._multiarray_umath", ".core.multiarray", ".core.numerictypes", ".dtypes"):
    for name, value in vars(importlib.import_module(top + sub)).items():
        if isinstance(value, type) and value.__module__.split(".")[0] == top:
            found[sub + ":" + name] = [value.__basicsize__, value.__itemsize__]
print(json.dumps(found))
"""


@pytest.fixture(scope="module")
def numpy_original(numpy_wheels: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The oracle: numpy 1.26.4 installed alone, in its own environment: its Python."""
    original = new_venv(tmp_path_factory.mktemp("numpy-original") / "venv")
    (wheel,) = numpy_wheels.glob("numpy-1.26.4-*.whl")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(original), "install", "--no-index", "--no-deps", "-q",
         str(wheel)],
        check=True, env=clean_env(),
    )  # fmt: skip
    return original


def _each(script: str, numpy_original: Path, numpy_venv: Path) -> list[Any]:
    """What ``script`` prints (JSON), run on the original and on the renamed copy."""
    return [
        json.loads(subprocess.run([str(python), "-c", script, top], check=True, capture_output=True,
                                  text=True, env=clean_env()).stdout)
        for python, top in ((numpy_original, "numpy"), (numpy_venv, "_mv_numpy_1_26_4"))
    ]  # fmt: skip


def test_renamed_numpy_types_keep_their_sizes(numpy_venv: Path, numpy_original: Path) -> None:
    sizes = _each(_LAYOUTS, numpy_original, numpy_venv)
    assert len(sizes[0]) > 150 and sizes[0][":character"] == [16, 0]
    assert sizes[1] == sizes[0]


# What numpy.dtypes exports: its __all__, and what a star import of it binds (each name, and the
# module and name of the class bound), module names given as the original's.
_DTYPES = """
import importlib, json, sys
top = sys.argv[1]
def original(module):
    return "numpy" + module[len(top):] if module == top or module.startswith(top + ".") else module
bound = {}
exec(f"from {top}.dtypes import *", bound)
print(json.dumps({
    "all": importlib.import_module(top + ".dtypes").__all__,
    "star": sorted([k, original(v.__module__), v.__name__] for k, v in bound.items() if k != "__builtins__"),
}))
"""


def test_renamed_numpy_dtypes_exports_what_the_original_does(numpy_venv: Path, numpy_original: Path) -> None:
    """numpy 1.26's C code hands each dtype's alias ("numpy.dtypes.ByteDType") to
    ``numpy.dtypes._add_dtype_helper``, which strips the prefix "numpy.dtypes." to name the
    alias: data, kept in the binary as the prefix is in the Python code. Repointed, the alias
    kept its prefix: ``__all__`` named "_mv_numpy_1_26_4.dtypes.ByteDType" (and seven more), and
    a star import bound that name instead of ``ByteDType``."""
    original, renamed = _each(_DTYPES, numpy_original, numpy_venv)
    assert {"ByteDType", "Int8DType", "LongDType", "Float64DType"} <= set(original["all"])
    assert ["ByteDType", "numpy.dtypes", "Int8DType"] in original["star"]
    assert renamed == original
