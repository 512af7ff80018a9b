"""The differential check: every patched compiled module imported beside its original, compared.

The comparison itself on hand-written shapes; then real builds of compiled fixtures (gcc, Cython)
that pass it, a patch made wrong on purpose (a type's ``tp_basicsize``, a method's name) that
it stops, a renamed copy that crashes on import, and modules whose original cannot be imported
here, with or without their package, which are reported for what they are.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from wheel.wheelfile import WheelFile

from mvpy_vendor import apply
from mvpy_vendor.cli import main
from mvpy_vendor.errors import Code, Severity
from mvpy_vendor.native.compare import Attempt, ModuleComparison, Verdict, compare_shapes, judge
from mvpy_vendor.native.differential import Comparison

from .conftest import C_SET, CY_SET, compile_extension, make_wheel, pick, rewrite_wheel, set_basicsize

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="builds and corrupts ELF extension modules")

EXT = sysconfig.get_config_var("EXT_SUFFIX")
_TAG = f"cp{sys.version_info[0]}{sys.version_info[1]}"
PLATFORM_TAG = f"{_TAG}-{_TAG}-{sysconfig.get_platform().replace('-', '_').replace('.', '_')}"


# -- the comparison, on shapes as the probe reports them --------------------------------------


def _shape(**types: dict[str, object]) -> dict[str, object]:
    base = {
        "__basicsize__": 24,
        "__itemsize__": 0,
        "__weakrefoffset__": 0,
        "__dictoffset__": 0,
        "__flags__": 0x41000,
        "__mro__": ["m.T", "builtins.object"],
        "metaclass": "builtins.type",
        "__dict__": {"get": "builtins.method_descriptor", "__doc__": "builtins.NoneType"},
    }
    return {
        "attributes": {"T": {"kind": "builtins.type"}, "__name__": {"kind": "builtins.str", "value": "m"}},
        "types": [[name, {**base, **fields}] for name, fields in types.items()],
        "complete": True,
        "warnings": [],
    }


def test_every_field_that_differs_is_named() -> None:
    same, counts = compare_shapes("m", _shape(**{"m.T": {}}), _shape(**{"m.T": {}}))
    assert same == [] and (counts.verdict, counts.types, counts.type_members, counts.attributes) == (
        Verdict.SAME, 1, 2, 2,
    )  # fmt: skip
    changed = _shape(
        **{
            "m.T": {
                "__basicsize__": 27,
                "__flags__": 0x41001,
                "__mro__": ["m.T", "m.Base", "builtins.object"],
                "__dict__": {"got": "builtins.method_descriptor", "__doc__": "builtins.str"},
            },
            "m.Extra": {},
        }
    )
    changed["attributes"]["__name__"]["value"] = "other"  # type: ignore[index]
    changed["warnings"] = ["RuntimeWarning: m.T size changed"]
    found, counts = compare_shapes("m", _shape(**{"m.T": {}}), changed)
    assert [str(d) for d in found] == [
        "module m: attribute '__name__': value is other in the renamed copy, m in the original",
        "type m.Extra: reachable from the renamed copy only",
        "type m.T: __basicsize__ is 27 in the renamed copy, 24 in the original",
        "type m.T: __flags__ is 0x41001 in the renamed copy, 0x41000 in the original (bits 0x1 differ)",
        "type m.T: __mro__ is (m.T, m.Base, builtins.object) in the renamed copy, "
        "(m.T, builtins.object) in the original",
        "type m.T: lacks __dict__ entry 'get', which the original has",
        "type m.T: has __dict__ entry 'got', which the original does not",
        "type m.T: __dict__ entry '__doc__' is builtins.str in the renamed copy, builtins.NoneType in the original",
        "module m: importing it warns 'RuntimeWarning: m.T size changed', the original does not",
    ]
    assert [(d.subject, d.field) for d in found][2:5] == [
        ("type m.T", "__basicsize__"), ("type m.T", "__flags__"), ("type m.T", "__mro__"),
    ]  # fmt: skip
    assert counts.verdict is Verdict.DIFFERS
    # A walk cut short on either side does not make a type "missing".
    cut = {**changed, "complete": False}
    assert "type m.Extra: reachable from the renamed copy only" not in map(str, compare_shapes("m", _shape(), cut)[0])


def test_the_probe_describes_what_a_module_exposes_in_the_original_names() -> None:
    """The child's probe, run here on a module made in memory: a renamed copy's names mapped back,
    temporary paths replaced, types reached through containers, bases, subclasses and a
    submodule the module made itself; the interpreter's own types named, not described."""
    import types

    from mvpy_vendor.native._shape_probe import _Probe

    module = types.ModuleType("_mv_pkg_1_0._c")
    base = type("Base", (), {"__module__": "_mv_pkg_1_0._c", "__slots__": ("x",)})
    hidden = type("Hidden", (), {"__module__": "_mv_pkg_1_0._c"})
    sub = type("Sub", (base,), {"__module__": "_mv_pkg_1_0._c", "get": lambda self: 1})
    inner = types.ModuleType("_c.inner")  # made by the module, no file: PyO3's submodules
    inner.Thing = type("Thing", (), {"__module__": "_mv_pkg_1_0._c.inner"})  # type: ignore[attr-defined]
    module.__dict__.update(
        Sub=sub, table={"k": [(hidden, 1)]}, inner=inner, where="/tmp/xyz/0/_mv_pkg_1_0/_c.so", os=types
    )
    shape = _Probe({"_mv_pkg_1_0": "pkg"}, {"/tmp/xyz/0": "<site0>"}).shape(module)
    described = dict(shape["types"])
    assert sorted(described) == ["pkg._c.Base", "pkg._c.Hidden", "pkg._c.Sub", "pkg._c.inner.Thing"]
    assert described["pkg._c.Sub"]["__mro__"] == ["pkg._c.Sub", "pkg._c.Base", "builtins.object"]
    assert described["pkg._c.Sub"]["__dict__"]["get"] == "builtins.function"
    assert described["pkg._c.Base"]["__dict__"]["x"] == "builtins.member_descriptor"
    assert described["pkg._c.Base"]["__basicsize__"] == base.__basicsize__
    attributes = shape["attributes"]
    assert attributes["where"] == {"kind": "builtins.str", "value": "<site0>/pkg/_c.so"}
    assert attributes["inner.Thing"] == {"kind": "builtins.type"}
    assert attributes["os"] == {"kind": "builtins.module", "value": "types"}  # a module from a file: not entered
    assert not any(name.startswith("os.") for name in attributes)


# A module exposing an object of a static type it never makes ready, as f2py does with its
# ``fortran`` type (one object per Fortran routine): the type has no __mro__ and no __dict__.
UNREADY = """
#define PY_SSIZE_T_CLEAN
#include <Python.h>
static PyTypeObject FortranType = {PyVarObject_HEAD_INIT(NULL, 0) .tp_name = "fortran",
                                   .tp_basicsize = sizeof(PyObject), .tp_flags = Py_TPFLAGS_DEFAULT};
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "unready", NULL, -1, NULL};
PyMODINIT_FUNC PyInit_unready(void) {
    PyObject *m = PyModule_Create(&def);
    if (!m) return NULL;
    Py_SET_TYPE(&FortranType, &PyType_Type);
    PyModule_AddObject(m, "routine", (PyObject *)PyObject_New(PyObject, &FortranType));
    return m;
}
"""


def test_the_probe_describes_a_type_never_made_ready(tmp_path: Path) -> None:
    """scipy 1.11's 20 f2py modules went uncompared ("cannot be described: TypeError: 'NoneType'
    object is not iterable"), their original as much as their copy."""
    compile_extension(tmp_path, "unready", UNREADY)
    probe = Path(apply.__file__).parent / "native"
    code = (
        "import json, os, sys; import _shape_probe, unready; "
        "print(json.dumps(_shape_probe._Probe({}, {}).shape(unready)['types']), flush=True); os._exit(0)"
    )
    env = {"PYTHONPATH": f"{probe}{os.pathsep}{tmp_path}"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    described = dict(json.loads(proc.stdout))
    assert described["builtins.fortran"]["__mro__"] == []
    assert described["builtins.fortran"]["__dict__"] == {}
    assert described["builtins.fortran"]["__basicsize__"] == 16


def test_the_verdict_follows_what_each_side_could_import() -> None:
    shape = _shape(**{"m.T": {}})
    ok, failed = Attempt(True, shape), Attempt(False, error="ImportError: nope")
    assert judge("m.so", "m", {"import": ok}, {"import": ok}).verdict is Verdict.SAME
    # the renamed copy must import wherever the original does
    broken = judge("m.so", "m", {"import": ok}, {"import": failed, "alone": ok})
    assert broken.verdict is Verdict.DIFFERS
    assert broken.differences == ("module m: does not import where the original does: ImportError: nope",)
    # an original whose package does not import here is compared alone, on both sides, and says so
    alone = judge("m.so", "m", {"import": failed, "alone": ok}, {"import": failed, "alone": ok})
    assert (alone.verdict, alone.how, alone.reason) == (
        Verdict.SAME, "alone", "its package does not import here (ImportError: nope)",
    )  # fmt: skip
    # unless its strings were kept naming the original's modules (setting keep-strings), which its path lacks
    kept = judge("m.so", "m", {"import": ok}, {"import": failed}, kept_strings=True)
    assert (kept.verdict, kept.setting) == (Verdict.NOT_COMPARED, "keep-strings")
    assert kept.reason.startswith("the renamed copy does not import (ImportError: nope); its strings keep naming")
    never = judge("m.so", "m", {"import": failed, "alone": failed}, {"import": failed, "alone": failed})
    assert never.verdict is Verdict.NOT_COMPARED
    assert (
        never.reason
        == "the original does not import here (ImportError: nope), nor alone from its file (ImportError: nope)"
    )


def test_each_difference_is_one_error_and_each_gap_one_warning() -> None:
    shared = "type m.T: __basicsize__ is 27 in the renamed copy, 24 in the original"
    comparison = Comparison(
        (
            ModuleComparison("a.so", "a", Verdict.DIFFERS, "with its package", differences=(shared,)),
            ModuleComparison("b.so", "b", Verdict.DIFFERS, "with its package", differences=(shared, "module b: x")),
            ModuleComparison("c.so", "c", Verdict.NOT_COMPARED, reason="the original does not import here (E)"),
            ModuleComparison("d.so", "d", Verdict.SAME, "alone", "its package does not import here (E)"),
            ModuleComparison("e.so", "e", Verdict.SKIPPED, reason="built for another platform or interpreter"),
            ModuleComparison(
                "f.so", "f", Verdict.NOT_COMPARED, reason="the renamed copy does not import", setting="keep-strings"
            ),
        )
    )
    assert [(p.severity, p.code, p.render()) for p in comparison.problems("w.whl")] == [
        (Severity.ERROR, Code.NATIVE_DIFFERS, f"w.whl: a.so: patched module differs from the original: {shared}"),
        (Severity.ERROR, Code.NATIVE_DIFFERS, "w.whl: b.so: patched module differs from the original: module b: x"),
        (Severity.WARNING, Code.NATIVE_UNCOMPARED,
         "w.whl: c.so: patched module not compared with the original: the original does not import here (E)"),
        (Severity.WARNING, Code.NATIVE_UNCOMPARED,
         "w.whl: d.so: patched module compared with the original loaded alone: its package does not import here (E)"),
        (Severity.WARNING, Code.NATIVE_UNCOMPARED,
         "w.whl: f.so: patched module not compared with the original: the renamed copy does not import (keep-strings)"),
    ]  # fmt: skip
    assert Comparison.from_json(comparison.to_json()) == comparison


# -- real builds ------------------------------------------------------------------------------


def _checked(out: Path) -> dict[str, list[dict[str, object]]]:
    report = json.loads((out / "mvpy-vendor-report.json").read_text())
    return {o["wheel"]: o["differential_check"]["modules"] for o in report["outputs"] if "differential_check" in o}


def test_compiled_fixtures_pass_and_a_warm_build_takes_the_result_from_the_cache(
    wheels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = [str(p) for p in pick(wheels, *C_SET, *CY_SET)]
    cache = tmp_path / "cache"
    out = tmp_path / "out"
    assert main(["build", "-v", "--wheels", *inputs, "--out", str(out), "--cache-dir", str(cache)]) == 0
    cold = capsys.readouterr().out.splitlines()
    checked = _checked(out)
    tail = f"-1.0-{PLATFORM_TAG}.whl"
    assert {w: [(m["module"], m["verdict"], m["imported"], m["types"]) for m in ms] for w, ms in checked.items()} == {
        f"mv_cfoo_1_0{tail}": [("cfoo", "same", "with its package", 2)],  # Thing, Error
        f"mv_cpkg_1_0{tail}": [("cpkg._native", "same", "with its package", 0)],
        f"mv_cypkg_1_0{tail}": [("cypkg._fast", "same", "with its package", 2)],  # Counter, its Cython pickling helper
    }
    cfoo = checked[f"mv_cfoo_1_0{tail}"][0]
    assert cfoo["attributes"] == 10 and cfoo["type_members"] == 8
    line = (
        f"mv_cfoo_1_0{tail}: cfoo{EXT}: compared with the original, imported with its package: "
        "2 types, 8 type members, 10 module attributes: the same"
    )
    assert line in cold
    report = (out / "mvpy-vendor-report.json").read_text()
    # Warm: the outputs and their comparisons come from the cache; the report is the cold one's.
    again = tmp_path / "again"
    assert main(["build", "-v", "--wheels", *inputs, "--out", str(again), "--cache-dir", str(cache)]) == 0
    assert f"{line} (cached)" in capsys.readouterr().out.splitlines()
    assert (again / "mvpy-vendor-report.json").read_text() == report


def test_a_wrong_basicsize_and_a_renamed_method_stop_the_build(
    wheels: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The patcher made to write a wrong ``tp_basicsize`` into cfoo 1.0's ``Thing`` (as it did
    into numpy 1.26's ``numpy.character``) and to rename its module function ``version``: both
    binaries pass the structural and the load check; the differential check names each field."""
    real = apply.patch_native

    def wrong(data: bytes, member: str, *args: object) -> bytes:
        patched = real(data, member, *args)  # type: ignore[arg-type]
        if member != f"cfoo{EXT}":
            return patched
        # the method table's name in .rodata (not the symbol of the C function, in .strtab)
        assert b"\0cfoo\0version\0" in patched
        return set_basicsize(patched, b"_mv_cfoo_1_0.Thing", 99).replace(b"\0cfoo\0version\0", b"\0cfoo\0vers1on\0")

    monkeypatch.setattr(apply, "patch_native", wrong)
    out = tmp_path / "out"
    inputs = [str(p) for p in pick(wheels, *C_SET)]
    assert main(["build", "-q", "--no-cache", "--wheels", *inputs, "--out", str(out)]) == 1
    errors = capsys.readouterr().err.splitlines()
    head = f"mvpy-vendor: error: cfoo-1.0-{PLATFORM_TAG}.whl: cfoo{EXT}: patched module differs from the original: "
    assert errors == [
        head + "module cfoo: lacks attribute 'version', which the original has",
        head + "module cfoo: has attribute 'vers1on', which the original does not",
        head + "type cfoo.Thing: __basicsize__ is 99 in the renamed copy, 24 in the original",
    ]
    assert not out.exists()


def _compiled_wheel(
    dest: Path, name: str, version: str, files: dict[str, bytes], requires: tuple[str, ...] = ()
) -> Path:
    """A wheel for this interpreter's platform holding compiled modules (``files``)."""
    dist_info = f"{name}-{version}.dist-info"
    path = dest / f"{name}-{version}-{PLATFORM_TAG}.whl"
    dest.mkdir(parents=True, exist_ok=True)
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {r}\n" for r in requires)
    with WheelFile(path, "w") as wf:
        for member, data in files.items():
            wf.writestr(member, data)
        wf.writestr(f"{dist_info}/METADATA", metadata)
        wf.writestr(f"{dist_info}/WHEEL", f"Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: {PLATFORM_TAG}\n")
    return path


_HEAD = "#define PY_SSIZE_T_CLEAN\n#include <Python.h>\n#include <signal.h>\n#include <string.h>\n"
# Crashes when its module is named anything but "crashy": what a patch that breaks the renamed
# copy's initialisation does, while the original imports.
CRASHY = (
    _HEAD
    + """
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "crashy", NULL, -1, NULL};
PyMODINIT_FUNC PyInit_crashy(void) {
    PyObject *m = PyModule_Create(&def);
    if (m && strlen(PyModule_GetName(m)) != 6) raise(SIGSEGV);
    return m;
}
"""
)
BROKEN = (
    _HEAD
    + """
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "broken", NULL, -1, NULL};
PyMODINIT_FUNC PyInit_broken(void) { PyErr_SetString(PyExc_ImportError, "broken on purpose"); return NULL; }
"""
)
# A module ``<pkg>._c`` with one static type.
BOX = (
    _HEAD
    + """
typedef struct { PyObject_HEAD long v; } Box;
static PyTypeObject BoxType = {PyVarObject_HEAD_INIT(NULL, 0) .tp_name = "PKG._c.Box", .tp_basicsize = sizeof(Box),
                               .tp_flags = Py_TPFLAGS_DEFAULT, .tp_new = PyType_GenericNew};
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "PKG._c", NULL, -1, NULL};
PyMODINIT_FUNC PyInit__c(void) {
    PyObject *m = PyModule_Create(&def);
    if (!m || PyType_Ready(&BoxType) < 0) return NULL;
    Py_INCREF(&BoxType);
    PyModule_AddObject(m, "Box", (PyObject *)&BoxType);
    return m;
}
"""
)


def _pair(dest: Path, name: str, old: dict[str, bytes], requires: tuple[str, ...] = ()) -> None:
    """``name`` 1.0 (compiled, ``old``) and 2.0 (pure Python), so that a world needing 1.0 renames it."""
    _compiled_wheel(dest, name, "1.0", old, requires)
    make_wheel(dest, name, "2.0", {f"{name}/__init__.py": b"VERSION = '2.0'\n"})


def _users(dest: Path, names: tuple[str, ...]) -> None:
    """``olduser`` needs every ``name`` < 2; ``app`` needs every ``name`` >= 2, and ``olduser``."""
    make_wheel(dest, "olduser", "1.0", {"olduser/__init__.py": b""}, requires=tuple(f"{n}<2" for n in names))
    make_wheel(dest, "app", "1.0", {"app/__init__.py": b""}, requires=(*(f"{n}>=2" for n in names), "olduser"))


def test_a_renamed_copy_that_crashes_on_import_stops_the_build(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = tmp_path / "in"
    _compiled_wheel(inputs, "crashy", "1.0", {f"crashy{EXT}": compile_extension(tmp_path / "c", "crashy", CRASHY)})
    make_wheel(inputs, "crashy", "2.0", {"crashy.py": b""})
    _users(inputs, ("crashy",))
    out = tmp_path / "out"
    assert main(["build", "-q", "--no-cache", "--wheels", str(inputs), "--out", str(out)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"mvpy-vendor: error: crashy-1.0-{PLATFORM_TAG}.whl: crashy{EXT}: patched module differs from the original: "
        "module crashy: does not import where the original does: the process importing it died (signal SIGSEGV)"
    ]


def test_what_cannot_be_imported_here_is_said_and_a_dependency_is_on_the_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``broken`` 1.0 does not import anywhere (not compared: a warning); ``lonely`` 1.0's package
    imports a module no wheel provides (its compiled module is compared loaded alone: a warning);
    ``needy`` 1.0's package imports its dependency ``helperdep``, a wheel of its world, which is
    on the path on both sides (compared with its package, no warning)."""
    inputs, work = tmp_path / "in", tmp_path / "c"
    _pair(inputs, "broken", {f"broken{EXT}": compile_extension(work, "broken", BROKEN)})
    _pair(inputs, "lonely", {
        "lonely/__init__.py": b"import not_in_any_wheel\n",
        f"lonely/_c{EXT}": compile_extension(work / "lonely", "_c", BOX.replace("PKG", "lonely")),
    })  # fmt: skip
    _pair(inputs, "needy", {
        "needy/__init__.py": b"import helperdep\nfrom needy._c import Box\n",
        f"needy/_c{EXT}": compile_extension(work / "needy", "_c", BOX.replace("PKG", "needy")),
    }, requires=("helperdep",))  # fmt: skip
    make_wheel(inputs, "helperdep", "1.0", {"helperdep/__init__.py": b"VALUE = 1\n"})
    _users(inputs, ("broken", "lonely", "needy"))
    out = tmp_path / "out"
    assert main(["build", "--no-cache", "--wheels", str(inputs), "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert [line for line in printed if "not compared" in line or "loaded alone" in line] == [
        f"warning: mv_broken_1_0-1.0-{PLATFORM_TAG}.whl: broken{EXT}: patched module not compared with the "
        "original: the original does not import here (ImportError: broken on purpose), nor alone from its file "
        "(ImportError: broken on purpose)",
        f"warning: mv_lonely_1_0-1.0-{PLATFORM_TAG}.whl: lonely/_c{EXT}: patched module compared with the original "
        "loaded alone: its package does not import here (ModuleNotFoundError: No module named 'not_in_any_wheel')",
    ]
    checked = {m["module"]: m for ms in _checked(out).values() for m in ms}
    assert checked["broken"]["verdict"] == "not compared" and "types" not in checked["broken"]
    assert {k: checked["lonely._c"][k] for k in ("verdict", "imported", "types")} == {
        "verdict": "same", "imported": "alone", "types": 1,
    }  # fmt: skip
    assert {k: checked["needy._c"][k] for k in ("verdict", "imported", "types")} == {
        "verdict": "same", "imported": "with its package", "types": 1,
    }  # fmt: skip
    report = json.loads((out / "mvpy-vendor-report.json").read_text())
    needy = next(o for o in report["outputs"] if o["distribution"] == "mv-needy-1-0")
    assert needy["differential_check"]["original_path"] == [
        f"needy-1.0-{PLATFORM_TAG}.whl", "helperdep-1.0-py3-none-any.whl",
    ]  # fmt: skip
    assert needy["differential_check"]["renamed_path"] == [
        f"mv_needy_1_0-1.0-{PLATFORM_TAG}.whl", "helperdep-1.0-py3-none-any.whl",
    ]  # fmt: skip


def test_a_module_for_another_interpreter_is_not_compared_and_the_build_says_so(
    wheels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """cfoo 1.0's module renamed as if built for another Python (``cpython-399``): patched, but
    this interpreter cannot import it, so it is counted in a note and marked in the report."""
    inputs = tmp_path / "in"
    for wheel in pick(wheels, *C_SET):
        rewrite_wheel(wheel, {}, inputs)
    (cfoo,) = inputs.glob("cfoo-1.0-*.whl")
    foreign = f"cfoo{EXT.replace('311', '399')}"
    with zipfile.ZipFile(cfoo) as zf:
        data = zf.read(f"cfoo{EXT}")
    rewrite_wheel(cfoo, {f"cfoo{EXT}": None, foreign: data})
    out = tmp_path / "out"
    assert main(["build", "--no-cache", "--wheels", str(inputs), "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert (
        "note: mv-cfoo-1-0: 1 patched compiled module not compared with the original: built for another "
        "platform or interpreter (see the report)"
    ) in printed
    (module,) = _checked(out)[f"mv_cfoo_1_0-1.0-{PLATFORM_TAG}.whl"]
    assert module == {
        "member": foreign,
        "module": "cfoo",
        "verdict": "skipped",
        "reason": "built for another platform or interpreter: it cannot be imported here",
    }


def test_an_embedded_compiled_copy_is_compared_with_its_embedded_dependency_on_the_path(tmp_path: Path) -> None:
    """The build backend's plan has no worlds, only a library and the copies it embeds: the copy of
    ``needy`` is compared with its package, which imports ``helperdep``, embedded too and found by
    ``needy``'s requirement: its original on the original's path, its copy on the copy's."""
    from packaging.utils import canonicalize_name

    from mvpy_vendor.apply import apply_plan
    from mvpy_vendor.backend.config import EmbedConfig
    from mvpy_vendor.backend.embed import _closure, _copy_names, _plan
    from mvpy_vendor.wheel.validate import read_wheels

    needy = _compiled_wheel(tmp_path / "in", "needy", "1.0", {
        "needy/__init__.py": b"import helperdep\nfrom needy._c import Box\n",
        f"needy/_c{EXT}": compile_extension(tmp_path / "c", "_c", BOX.replace("PKG", "needy")),
    }, requires=("helperdep",))  # fmt: skip
    helper = make_wheel(tmp_path / "in", "helperdep", "1.0", {"helperdep/__init__.py": b"VALUE = 1\n"})
    library = make_wheel(
        tmp_path / "lib", "hostlib", "0.1", {"hostlib/__init__.py": b"import needy\n"}, requires=("needy<2",)
    )
    config = EmbedConfig(tmp_path, canonicalize_name("hostlib"), {"embed": ["needy<2"]})
    lib, *others = read_wheels([library, needy, helper])
    plan = _plan(lib, _copy_names(config.project, _closure(lib, others, config)), config)
    assert plan.worlds == ()
    built = apply_plan(plan, tmp_path / "house", config.options())
    compared = {r.output.source.name: r.comparison for r in built.outputs if r.comparison is not None}
    assert list(compared) == ["needy"]
    comparison = compared["needy"]
    assert [(m.module, m.verdict, m.how) for m in comparison.modules] == [
        ("needy._c", Verdict.SAME, "with its package")
    ]
    assert comparison.original == (needy.name, helper.name)
    assert comparison.patched == (
        f"mv_hostlib_needy_1_0-1.0-{PLATFORM_TAG}.whl", "mv_hostlib_helperdep_1_0-1.0-py3-none-any.whl",
    )  # fmt: skip
