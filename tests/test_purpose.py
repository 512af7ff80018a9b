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
from mvpy_vendor.native._purpose import Purpose, _positions, decide

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
    "registered": m.registered(), "keyed": m.keyed(), "message": attempt(m.message),
    "formatted": m.formatted(), "capsule": attempt(m.capsule), "imported": attempt(m.imported),
    "handed": m.handed(), "error": m.Error.__module__,
    "imports": [attempt(f) for f in (m.by_function, m.by_method, m.by_builtin, m.by_object)],
    "split": m.split(), "given": m.call(str.upper), "tagged": m.tagged().__module__,
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
         "the module name builtins.__import__ takes (called by PyObject_CallObject with the tuple "
         "_Py_BuildValue_SizeT makes); "
         "the module name importlib.import_module takes (called by _PyObject_CallFunction_SizeT); "
         "the module name importlib.import_module takes (called by _PyObject_CallMethod_SizeT); "
         "the string made from it is the module imported by PyImport_Import; "
         "the string made from it is the module name importlib.import_module takes (called by "
         "PyObject_CallFunctionObjArgs); "
         "the string made from it is the value of the attribute __module__ (PyObject_SetAttrString)", 8, 1),
        ("layouts.Error", "the qualified exception name of PyErr_NewException", 1, 0),
        ("layouts.Plain_16", "tp_name of a static PyTypeObject", 1, 0),
        ("layouts.RecordOfEight24", "tp_name of a static PyTypeObject", 1, 0),
        ("layouts._C_API", "the capsule name (module path and attribute) of PyCapsule_Import; "
         "the capsule name of PyCapsule_New", 2, 0),
    }  # fmt: skip
    kept = {d: n for t, k, d, n, _ in found if k == "kept"}
    assert kept == {
        "an entry of the keyword list of _PyArg_ParseTupleAndKeywords_SizeT": 1,
        "the name of a member (PyMemberDef)": 1,
        "the name of a method or attribute (PyMethodDef, PyGetSetDef)": 2,
        "a dict key (PyDict_SetItemString)": 1,
        "the format of PyUnicode_FromFormat": 1,
        "the message of PyErr_SetString": 1,
        # data handed to Python code: returned, or given to a function that takes no module name
        "a value _Py_BuildValue_SizeT hands to Python code": 1,
        "a value _PyObject_CallMethod_SizeT hands to Python code (posixpath.splitext)": 1,
        "a value _PyObject_CallFunction_SizeT hands to Python code (a callable that cannot be told)": 1,
    }
    assert {t for t, k, *_ in found if k == "kept"} == {
        "layouts",
        "layouts.handed",
        "layouts.Int8DType",
        "layouts.given",
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
        "message": ["ValueError", "layouts"],
        "formatted": "layouts",
        "capsule": 42,
        "imported": "layouts",
        "handed": "layouts.handed",
        "error": "layouts",
        "imports": ["layouts"] * 4,
        "split": ["layouts", ".Int8DType"],
        "given": "LAYOUTS.GIVEN",
        "tagged": "layouts",
    }
    names = {"module", "imported", "error", "tagged"}
    expected = {k: "_mv_layouts_1_0" if k in names else v for k, v in before.items()}
    expected["record"] = ["_mv_layouts_1_0", "RecordOfEight24", 24, 16]
    expected["imports"] = ["_mv_layouts_1_0"] * 4
    assert after == expected


@pytest.mark.parametrize(
    ("uses", "fate"),
    [
        ([Purpose("module", "m"), Purpose("message", "t")], "repoint"),
        ([Purpose("python", "p"), Purpose("unknown", "u")], "keep"),
        ([Purpose("python", "p"), Purpose("module", "m")], "repoint"),
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


@pytest.mark.parametrize(
    ("form", "call", "positions"),
    [
        ("s", True, [0]),  # PyObject_CallFunction(f, "s", x): f(x)
        ("s", False, [None]),  # Py_BuildValue("s", x): x itself, no tuple
        ("(s)", False, [0]),
        ("(sO)", True, [0, 1]),  # one group: its items are the arguments
        ("Os", True, [0, 1]),
        ("s#s", True, [0, None, 1]),  # a length takes a value of its own
        ("O&s", True, [None, None, 1]),  # a converter and what it converts
        ("(ss)s", True, [None, None, 1]),  # a nested tuple is one argument
        ("{s:s}", False, [None, None]),
        ("s, i", True, [0, 1]),
        ("s)", True, None),
        ("s%", True, None),
    ],
)
def test_where_a_format_puts_each_value(form: str, call: bool, positions: list[int | None] | None) -> None:
    assert _positions(form, call) == positions
