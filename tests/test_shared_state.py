"""Shared process state: the thread-state dict keys read from compiled modules (fixtures compiled
with gcc, and Cython), what the build refuses for them, and the f2py callback pattern run in
threads, renamed beside another version, against each original alone."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from mvpy_vendor.cli import main
from mvpy_vendor.native.registry import THREAD_DICT, imports_symbol, read_keys

from .conftest import EXT_SUFFIX, clean_env, compile_extension, gather, install_wheelhouse, pick, rewrite_wheel

FCB_SET = ("fcb", "fcb_old_user", "fcb_app")

# One compiled module: the body defines ``run`` (the module's one function, METH_O), and
# ``setup`` when SETUP is defined (called by PyInit).
_MODULE = """
#define PY_SSIZE_T_CLEAN
#include <Python.h>
%s
#ifndef SETUP
static int setup(void) { return 0; }
#endif
static PyMethodDef methods[] = {{"run", run, METH_O, NULL}, {NULL}};
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "%s", NULL, -1, methods};
PyMODINIT_FUNC PyInit_%s(void) { return setup() < 0 ? NULL : PyModule_Create(&def); }
"""


def _compiled(tmp_path: Path, module: str, body: str, optimize: str | None = None) -> bytes:
    if optimize is None:
        return compile_extension(tmp_path / module, module, _MODULE % (body, module, module))
    source, built = tmp_path / f"{module}.c", tmp_path / f"{module}{EXT_SUFFIX}"
    source.write_text(_MODULE % (body, module, module))
    include = sysconfig.get_paths()["include"]
    subprocess.run(["gcc", "-shared", "-fPIC", optimize, f"-I{include}", str(source), "-o", str(built)], check=True)
    return built.read_bytes()


@pytest.mark.parametrize("optimize", ["-O0", "-O2"])
def test_a_module_path_key_is_read(tmp_path: Path, optimize: str) -> None:
    """A C string key, as scipy's _superlu keeps its state: read, with where it is (at -O0 the
    dict goes through the stack; at -O2 it stays in registers)."""
    body = """
static PyObject *run(PyObject *m, PyObject *value) {
    PyObject *d = PyThreadState_GetDict();
    if (d == NULL) return NULL;
    if (PyDict_GetItemString(d, "tsd.state.__global_object") == NULL) PyErr_Clear();
    if (PyDict_SetItemString(d, "tsd.state.__global_object", value) < 0) return NULL;
    Py_RETURN_NONE;
}"""
    use = read_keys(_compiled(tmp_path, "tsd", body, optimize))
    assert (
        use.calls
        and use.readable
        and [(k.text, k.how) for k in use.keys] == [("tsd.state.__global_object", "C string")]
    )


def test_keys_its_callers_pass_are_read_at_each_call(tmp_path: Path) -> None:
    """A helper taking the key, called with two constants (and a function that returns the
    dict, used by its caller): both keys are read where the helper is called."""
    body = """
__attribute__((noinline)) static PyObject *thread_dict(void) { return PyThreadState_GetDict(); }
__attribute__((noinline)) static int put(const char *key, PyObject *value) {
    PyObject *d = PyThreadState_GetDict();
    return d == NULL ? -1 : PyDict_SetItemString(d, key, value);
}
static PyObject *run(PyObject *m, PyObject *value) {
    if (put("first_key", value) < 0 || put("second_key", value) < 0) return NULL;
    PyObject *d = thread_dict();
    if (d == NULL || PyDict_DelItemString(d, "third_key") < 0) PyErr_Clear();
    Py_RETURN_NONE;
}"""
    use = read_keys(_compiled(tmp_path, "tsd", body))
    assert use.readable and [k.text for k in use.keys] == ["first_key", "second_key", "third_key"]


def test_an_interned_global_key_is_read(tmp_path: Path) -> None:
    """numpy 1.26 keeps ``UFUNC_PYVALS`` in a global made once by PyUnicode_InternFromString."""
    body = """
static PyObject *key;
static PyObject *run(PyObject *m, PyObject *value) {
    PyObject *d = PyThreadState_GetDict();
    if (d == NULL || PyDict_SetItem(d, key, value) < 0) return NULL;
    Py_RETURN_NONE;
}
#define SETUP
static int setup(void) { key = PyUnicode_InternFromString("INTERNED_KEY"); return key ? 0 : -1; }"""
    use = read_keys(_compiled(tmp_path, "tsd", body))
    assert use.readable and [(k.text, k.how) for k in use.keys] == [("INTERNED_KEY", "str from a C string")]


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (  # the key comes from Python
            """static PyObject *run(PyObject *m, PyObject *key) {
    PyObject *d = PyThreadState_GetDict();
    if (d == NULL || PyDict_SetItem(d, key, Py_None) < 0) return NULL;
    Py_RETURN_NONE;
}""",
            "reads or writes it under a key its caller passes, and is called through a pointer",
        ),
        (  # the dict kept where it cannot be followed
            """PyObject *kept;
static PyObject *run(PyObject *m, PyObject *key) { kept = PyThreadState_GetDict(); Py_RETURN_NONE; }""",
            "stores the dict in memory",
        ),
        (  # the dict given to a function that may do anything with it
            """static PyObject *run(PyObject *m, PyObject *f) {
    return PyObject_CallOneArg(f, PyThreadState_GetDict());
}""",
            "passes the dict to PyObject_CallOneArg",
        ),
    ],
    ids=["key-from-python", "dict-stored", "dict-passed"],
)
def test_keys_that_cannot_be_read_are_said(tmp_path: Path, body: str, why: str) -> None:
    use = read_keys(_compiled(tmp_path, "tsd", body))
    assert use.calls and not use.readable
    assert any(why in reason for reason in use.unread), use.unread


def test_helpers_nothing_calls_do_not_count(wheels: Path) -> None:
    """f2py links F2PySwapThreadLocalCallbackPtr and F2PyGetThreadLocalCallbackPtr into every
    module and calls them only without thread-local storage: imported, never run."""
    with zipfile.ZipFile(pick(wheels, "fcb")[0]) as zf:
        data = zf.read(f"fcb/_native{EXT_SUFFIX}")
    assert imports_symbol(data, THREAD_DICT)  # the old, structural rule refused this
    use = read_keys(data)
    assert not use.calls and use.readable and use.keys == ()
    assert use.unreachable == ("F2PyGetThreadLocalCallbackPtr", "F2PySwapThreadLocalCallbackPtr")


def test_cython_string_constants_are_read(tmp_path: Path) -> None:
    """A Cython module keyed like lxml's etree (a str literal): read from its string table."""
    pyx = tmp_path / "cytsd.pyx"
    pyx.write_text(
        "from cpython.pystate cimport PyThreadState_GetDict\n"
        "from cpython.dict cimport PyDict_GetItem\n"
        "def context():\n"
        "    d = <dict>PyThreadState_GetDict()\n"
        "    found = PyDict_GetItem(d, u'_CyContext')\n"
        "    if found is NULL:\n"
        "        d[u'_CyContext'] = found_obj = object()\n"
        "        return found_obj\n"
        "    return <object>found\n"
    )
    subprocess.run([sys.executable, "-m", "cython", "-3", pyx.name, "-o", "cytsd.c"], check=True, cwd=tmp_path)
    use = read_keys(compile_extension(tmp_path / "build", "cytsd", (tmp_path / "cytsd.c").read_text()))
    assert "_CyContext" in {k.text for k in use.keys}
    assert {k.how for k in use.keys if k.text == "_CyContext"} == {"Cython string table"}


# -- the build -----------------------------------------------------------------------------


def _build(inputs: Path, out: Path, *extra: str) -> int:
    return main(["build", "-q", "--wheels", str(inputs), "--out", str(out), "--require", "fcb-app", *extra])


def _with_module(wheels: Path, tmp_path: Path, module: str, body: str) -> Path:
    """The fcb set, both fcb versions carrying one more compiled module ``fcb/<module>``."""
    inputs = gather(tmp_path / "in", pick(wheels, *FCB_SET))
    for wheel in sorted(inputs.glob("fcb-*.whl")):
        version = wheel.name.split("-")[1]
        data = compile_extension(tmp_path / version, module, _MODULE % (body, f"fcb.{module}", module))
        rewrite_wheel(wheel, {f"fcb/{module}{EXT_SUFFIX}": data})
    return inputs


def test_the_same_key_in_both_versions_is_refused_and_named(
    wheels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = """static PyObject *run(PyObject *m, PyObject *value) {
    PyObject *d = PyThreadState_GetDict();
    if (d == NULL || PyDict_SetItemString(d, "_FixedContext", value) < 0) return NULL;
    Py_RETURN_NONE;
}"""
    inputs = _with_module(wheels, tmp_path, "_fixed", body)
    capsys.readouterr()
    assert _build(inputs, tmp_path / "out") == 1
    wheel = next(inputs.glob("fcb-1.0-*.whl")).name
    errors = [line for line in capsys.readouterr().err.splitlines() if "process state" in line]
    assert errors == [
        f"mvpy-vendor: error: {wheel}: fcb/_fixed{EXT_SUFFIX}: shares process state with fcb 2.0, which renaming "
        "cannot separate: its fcb._fixed keeps objects in the interpreter's thread-state dict under the key "
        "'_FixedContext', as fcb 2.0's fcb._fixed does (renaming does not change it), so each finds the other's "
        "objects there (--accept-shared-state)"
    ]


def test_keys_that_cannot_be_read_are_refused_with_the_reason(
    wheels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = """static PyObject *run(PyObject *m, PyObject *f) {
    return PyObject_CallOneArg(f, PyThreadState_GetDict());
}"""
    inputs = _with_module(wheels, tmp_path, "_opaque", body)
    capsys.readouterr()
    assert _build(inputs, tmp_path / "out") == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if "process state" in line]
    wheel = next(inputs.glob("fcb-1.0-*.whl")).name
    opaque, state = sorted(errors)
    # its own keys unread: the module passes the dict to a function that may do anything with it
    assert opaque.startswith(
        f"mvpy-vendor: error: {wheel}: fcb/_opaque{EXT_SUFFIX}: may share process state with fcb 2.0: its "
        "fcb._opaque uses the interpreter's thread-state dict (PyThreadState_GetDict) and its keys cannot be read "
        "from the code (run passes the dict to PyObject_CallOneArg (at 0x"
    )
    assert opaque.endswith("and fcb 2.0's fcb._opaque uses that dict too, so they may meet under one key "
                           "(--accept-shared-state)")  # fmt: skip
    # fcb._state's keys are read, but the other version's fcb._opaque may use any key
    assert state.startswith(
        f"mvpy-vendor: error: {wheel}: fcb/_state{EXT_SUFFIX}: may share process state with fcb 2.0: its "
        "fcb._state keeps '_mv_fcb_1_0._state.__global_object' in the interpreter's thread-state dict, and the keys "
        "fcb 2.0's fcb._opaque keeps there cannot be read from the code (run passes the dict to PyObject_CallOneArg"
    )


# The workload, run in a fresh interpreter: THREADS threads per version, each calling its
# version's routine ROUNDS times with a callback that calls the *other* version's routine
# (when there is one) and yields the GIL; each thread also bumps its version's per-thread state.
_WORKLOAD = r"""
import ctypes, importlib, json, sys, threading, time
spec = json.loads(sys.argv[1])
sys.path[:0] = spec["paths"]
mods = {tag: importlib.import_module(name) for tag, name in spec["modules"].items()}
N, X, ROUNDS, THREADS = 5, 0.5, 6, 4


def inner(i, x):
    time.sleep(0)
    return i + x


def outer(j, nested, seen):
    def fn(i, x):
        if nested is not None:
            seen.append(nested.call(inner, 3, x + i))
        time.sleep(0)
        return i * x + j
    return fn


out = {tag: {"calls": [None] * THREADS, "bumps": [None] * THREADS, "nested": [None] * THREADS} for tag in mods}
start = threading.Barrier(THREADS * len(mods))


def work(tag, j):
    mod = mods[tag]
    other = next((m for t, m in mods.items() if t != tag), None)
    seen, calls, bumps = [], [], []
    start.wait()
    for _ in range(ROUNDS):
        calls.append(mod.call(outer(j, other, seen), N, X))
        bumps.append(list(mod.bump()))
    out[tag]["calls"][j], out[tag]["bumps"][j], out[tag]["nested"][j] = calls, bumps, seen


threads = [threading.Thread(target=work, args=(tag, j)) for j in range(THREADS) for tag in mods]
for t in threads:
    t.start()
for t in threads:
    t.join()
for tag, mod in mods.items():
    out[tag]["inner"] = [mod.call(inner, 3, X + i) for i in range(N)]
    try:
        mod.call(lambda i, x: 1 / (i - 2), 4, 0.0)
    except ZeroDivisionError as exc:
        out[tag]["error"] = [type(exc).__name__, str(exc)]
    out[tag]["after_error"] = mod.call(inner, 2, 1.0)
    out[tag]["version"] = mod.version()
    mod.bump()
ctypes.pythonapi.PyThreadState_GetDict.restype = ctypes.py_object
out["thread_dict_keys"] = sorted(k for k in ctypes.pythonapi.PyThreadState_GetDict() if "fcb" in str(k))
print(json.dumps(out))
"""


def _run(python: str, paths: list[str], modules: dict[str, str]) -> dict[str, object]:
    spec = json.dumps({"paths": paths, "modules": modules})
    proc = subprocess.run([python, "-c", _WORKLOAD, spec], capture_output=True, text=True, env=clean_env())
    assert proc.returncode == 0, proc.stderr
    found: dict[str, object] = json.loads(proc.stdout)
    return found


def _interleaved(inputs: Path, tmp_path: Path) -> None:
    """The wheelhouse built from ``inputs`` (in ``tmp_path/out``) installed, the workload run with
    both versions in one process, and compared with each original version run alone."""
    python = str(install_wheelhouse(tmp_path / "out", tmp_path / "venv"))
    both = _run(python, [], {"v1": "fcb_old_user", "v2": "fcb_app"})
    alone = {}
    for tag, version in (("v1", "1.0"), ("v2", "2.0")):
        original = tmp_path / f"original-{version}"
        with zipfile.ZipFile(next(inputs.glob(f"fcb-{version}-*.whl"))) as zf:
            zf.extractall(original)
        found = _run(sys.executable, [str(original)], {tag: "fcb"})[tag]
        assert isinstance(found, dict)
        alone[tag] = found
    for tag, other in (("v1", "v2"), ("v2", "v1")):
        mine = both[tag]
        assert isinstance(mine, dict)
        for field in ("calls", "bumps", "inner", "error", "after_error"):
            assert mine[field] == alone[tag][field], (tag, field)
        # every call of the other version's routine, made from inside this version's callbacks
        for thread in mine["nested"]:
            assert [thread[k : k + 5] for k in range(0, 30, 5)] == [alone[other]["inner"]] * 6
    assert alone["v1"]["calls"] != alone["v2"]["calls"]  # the versions' routines differ
    assert [both["v1"]["version"], both["v2"]["version"]] == [["_mv_fcb_1_0", "1.0"], ["fcb", "2.0"]]  # type: ignore[index]
    assert both["thread_dict_keys"][-2:] == ["_mv_fcb_1_0._state.__global_object", "fcb._state.__global_object"]  # type: ignore[index]


def test_f2py_callbacks_of_two_versions_interleave_in_threads_as_each_alone(wheels: Path, tmp_path: Path) -> None:
    """fcb 1.0 renamed beside fcb 2.0 (both modules of each import PyThreadState_GetDict: the old
    rule refused them). Built, installed, and run in one process: four threads per version, each
    routine calling back into Python, each callback calling the other version's routine and
    yielding the GIL; every result, the per-thread state, a callback's exception and the call
    after it are those of the original version run alone, and the two state keys are distinct."""
    inputs = gather(tmp_path / "in", pick(wheels, *FCB_SET))
    assert _build(inputs, tmp_path / "out") == 0
    report = json.loads((tmp_path / "out" / "mvpy-vendor-report.json").read_text())
    renamed = next(o for o in report["outputs"] if o["distribution"] == "mv-fcb-1-0")
    assert not [w for w in renamed["warnings"] if "shared-state" in w["code"]]
    _interleaved(inputs, tmp_path)


def test_f2py_callbacks_in_the_thread_state_dict_are_refused_though_they_would_meet_safely(
    wheels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """f2py without thread-local storage (-DF2PY_USE_PYTHON_TLS) keeps the callback pointer in the
    thread-state dict under "__f2py_cb_" + the callback's name, the same in both versions: the
    build refuses it, naming the key. Accepted, the workload still matches each original alone,
    since every call restores the pointer it replaced: the refusal is conservative here (the
    save-and-restore discipline is not proven from the code)."""
    inputs = gather(tmp_path / "in", pick(wheels, *FCB_SET))
    include = sysconfig.get_paths()["include"]
    for wheel in sorted(inputs.glob("fcb-*.whl")):
        version = wheel.name.split("-")[1]
        source = Path(__file__).parents[1] / "testwheels" / f"fcb-{version}" / "ext" / "fcb._native.c"
        built = tmp_path / f"native-{version}{EXT_SUFFIX}"
        subprocess.run(
            ["gcc", "-O2", "-shared", "-fPIC", f"-I{include}", f'-DFIXTURE_VERSION="{version}"',
             "-DF2PY_USE_PYTHON_TLS", str(source), "-o", str(built)],
            check=True,
        )  # fmt: skip
        rewrite_wheel(wheel, {f"fcb/_native{EXT_SUFFIX}": built.read_bytes()})
    capsys.readouterr()
    assert _build(inputs, tmp_path / "out") == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if "process state" in line]
    assert errors == [
        f"mvpy-vendor: error: {next(inputs.glob('fcb-1.0-*.whl')).name}: fcb/_native{EXT_SUFFIX}: shares process "
        "state with fcb 2.0, which renaming cannot separate: its fcb._native keeps objects in the interpreter's "
        "thread-state dict under the key '__f2py_cb_cb_fn', as fcb 2.0's fcb._native does (renaming does not "
        "change it), so each finds the other's objects there (--accept-shared-state)"
    ]
    assert _build(inputs, tmp_path / "out", "--accept-shared-state", "fcb") == 0
    _interleaved(inputs, tmp_path)


def test_other_formats_and_undecodable_code_are_not_read(tmp_path: Path) -> None:
    """Keys are read from ELF x86-64 code only, and only from code that decodes: anything else
    that imports the function is "not read", with the reason, never an exception."""
    import capstone
    import lief

    body = """static PyObject *run(PyObject *m, PyObject *value) {
    PyObject *d = PyThreadState_GetDict();
    if (d == NULL || PyDict_SetItemString(d, "tsd_key", value) < 0) return NULL;
    Py_RETURN_NONE;
}"""
    data = _compiled(tmp_path, "tsd", body)
    assert [k.text for k in read_keys(data).keys] == ["tsd_key"]
    machine = bytearray(data)
    machine[18:20] = (183).to_bytes(2, "little")  # e_machine: EM_AARCH64
    use = read_keys(bytes(machine))
    assert use.calls and use.unread == ("keys are read from ELF x86-64 code only, not AARCH64",)
    # the instructions after the call of PyThreadState_GetDict replaced by bytes that are none
    binary = lief.ELF.parse(str(tmp_path / "tsd" / f"tsd{EXT_SUFFIX}"))
    run = next(s for s in binary.symbols if s.name == "run")
    start = binary.virtual_address_to_offset(run.value)
    disassembler = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    call = next(i for i in disassembler.disasm(data[start : start + run.size], 0) if i.mnemonic == "call")
    at = start + call.address + call.size
    use = read_keys(data[:at] + b"\x06" * 8 + data[at + 8 :])  # 0x06: push es, invalid in 64-bit mode
    assert use.calls and not use.readable
    assert any("bytes that do not decode as an instruction" in why for why in use.unread), use.unread
