"""What a compiled module uses a string for (native/_purpose.py, native/_flow.py): on the layouts
fixture (testwheels/layouts-1.0, built with gcc), every C layout and every use of a string equal
to the module's name, decided, patched, and run as the original and as the renamed copy."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mvpy_vendor.native import inspect_native, patch_native
from mvpy_vendor.native._purpose import Purpose, decide

from .conftest import EXT_SUFFIX, pick

NAMES = {"layouts": "_mv_layouts_1_0"}

# Run where the module is: every call, its result or its error, as JSON.
PROBE = """
import importlib, json, sys
sys.path.insert(0, ".")
m = importlib.import_module(sys.argv[1])
r, p = m.Record(), m.Plain()
def attempt(f):
    try:
        return f()
    except Exception as exc:
        return [type(exc).__name__, str(exc)]
print(json.dumps({
    "module": m.__name__,
    "record": [type(r).__module__, type(r).__qualname__, m.Record.__basicsize__, m.Plain.__basicsize__],
    "member": attempt(lambda: r.layouts), "function": attempt(lambda: m.layouts(3)),
    "getset": attempt(lambda: p.layouts), "parse": attempt(lambda: m.parse(1, layouts=True)),
    "registered": m.registered(), "keyed": m.keyed(), "state": m.state(), "message": attempt(m.message),
    "formatted": m.formatted(), "capsule": attempt(m.capsule), "imported": attempt(m.imported),
    "handed": m.handed(), "error": m.Error.__module__,
}, sort_keys=True))
"""


def _layouts(wheels: Path) -> bytes:
    with zipfile.ZipFile(pick(wheels, "layouts")[0]) as zf:
        return zf.read(f"layouts{EXT_SUFFIX}")


def _run(directory: Path, module: str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-I", "-c", PROBE, module],
        cwd=directory, capture_output=True, text=True, check=True,
    )  # fmt: skip
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def test_each_reference_is_decided_by_its_use(wheels: Path) -> None:
    module = inspect_native(_layouts(wheels), "layouts.so", NAMES)
    found = {(o.text, o.kind, o.detail, o.references, o.lengths) for o in module.occurrences}
    # One string "layouts" (the linker merges equal literals) serves every use below.
    repointed = {(t, d, n, length) for t, k, d, n, length in found if k in ("relocated", "code")}
    assert repointed == {
        ("layouts", "a key of sys.modules (PyDict_GetItemString); m_name of a PyModuleDef; "
         "the string made from it is the module imported by PyImport_Import", 3, 1),
        ("layouts.Error", "the qualified exception name of PyErr_NewException", 1, 0),
        ("layouts.Plain_16", "tp_name of a static PyTypeObject", 1, 0),
        ("layouts.RecordOfEight24", "tp_name of a static PyTypeObject", 1, 0),
        ("layouts._C_API", "the capsule name (module path and attribute) of PyCapsule_Import; "
         "the capsule name of PyCapsule_New", 2, 0),
        ("layouts.__state", "a key of the thread-state dict (PyDict_SetItemString)", 1, 0),
    }  # fmt: skip
    kept = {d: n for t, k, d, n, _ in found if k == "kept"}
    assert kept == {
        "an entry of the keyword list of _PyArg_ParseTupleAndKeywords_SizeT": 1,
        "the name of a member (PyMemberDef)": 1,
        "the name of a method or attribute (PyMethodDef, PyGetSetDef)": 2,
        "a dict key (PyDict_SetItemString)": 1,
        "the format of PyUnicode_FromFormat": 1,
        "the message of PyErr_SetString": 1,
        "a value _Py_BuildValue_SizeT hands to Python code": 1,
    }
    # data handed to Python code: the Python side maps it where it uses it as a module name
    assert {(t, d) for t, k, d, *_ in found if k == "kept" and t != "layouts"} == {
        ("layouts.handed", "a value _Py_BuildValue_SizeT hands to Python code")
    }
    assert module.patchable  # kept references do not block


def test_the_renamed_copy_behaves_like_the_original(wheels: Path, tmp_path: Path) -> None:
    """The original is the oracle: the copy differs only where a module name is."""
    data = _layouts(wheels)
    original, renamed = tmp_path / "original", tmp_path / "renamed"
    original.mkdir()
    renamed.mkdir()
    (original / f"layouts{EXT_SUFFIX}").write_bytes(data)
    patched = patch_native(data, "layouts.so", NAMES, ("layouts", "_mv_layouts_1_0"))
    (renamed / f"_mv_layouts_1_0{EXT_SUFFIX}").write_bytes(patched)
    before, after = _run(original, "layouts"), _run(renamed, "_mv_layouts_1_0")
    assert before == {
        "module": "layouts",
        # tp_basicsize is the length of tp_name plus one (24), and the length itself (16)
        "record": ["layouts", "RecordOfEight24", 24, 16],
        "member": 5,  # a T_BYTE member named "layouts"
        "function": ["method", 3],
        "getset": "getset",
        "parse": [1, 1],  # the keyword "layouts"
        "registered": True,
        "keyed": {"layouts": True},
        "state": ["layouts.__state"],
        "message": ["ValueError", "layouts"],
        "formatted": "layouts",
        "capsule": 42,
        "imported": "layouts",
        "handed": "layouts.handed",
        "error": "layouts",
    }
    names = {"module", "imported", "error"}
    expected = {k: "_mv_layouts_1_0" if k in names else v for k, v in before.items()}
    expected["record"] = ["_mv_layouts_1_0", "RecordOfEight24", 24, 16]
    expected["state"] = ["_mv_layouts_1_0.__state"]
    assert after == expected


@pytest.mark.parametrize(
    ("uses", "fate"),
    [
        ([Purpose("module", "m"), Purpose("message", "t")], "repoint"),
        ([Purpose("python", "p"), Purpose("module", "m")], "repoint"),
        ([Purpose("python", "p"), Purpose("unknown", "u")], "keep"),
        ([Purpose("module", "m"), Purpose("never", "k")], "refuse"),
        ([Purpose("never", "k"), Purpose("unknown", "u")], "keep"),
        ([Purpose("message", "t"), Purpose("unknown", "u")], "keep"),
        ([Purpose("refuse", "r"), Purpose("module", "m")], "refuse"),
        ([], "keep"),
    ],
)
def test_one_fate_from_all_uses(uses: list[Purpose], fate: str) -> None:
    assert decide(uses)[0] == fate


def test_a_told_use_is_shown_before_an_untold_one() -> None:
    assert decide([Purpose("unknown", "u"), Purpose("message", "the message of X")])[1].why == "the message of X"
