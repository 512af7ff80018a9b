"""scipy 1.11.4 and numpy 1.26.4 renamed beside the newest scipy and numpy 2: real wheels from the registry.

One build with ``--verify`` (which must pass) for the module, installed by pip:

* a consumer written against the scipy 1.11 API (``integrate.simps``, ``trapz``, ``cumtrapz``,
  ``misc.derivative``, ``interpolate.interp2d``: gone since) on numpy 1, and an app on the newest
  scipy (``integrate.simpson`` with ``x`` keyword-only, ``cumulative_trapezoid``,
  ``scipy.differentiate``) and numpy 2, in one process; each gives what its own scipy gives
  installed alone. scipy documents its compiled types with numpy's ``add_newdoc('scipy.odr',
  ...)``, which imports the module it names: a plain ``'scipy...'`` there reached scipy 1.17 from
  the renamed 1.11 (and, where no other scipy was installed, failed to import);
* both versions' sparse LU, BLAS, LAPACK and f2py callbacks, in threads: ``_superlu`` keeps its
  state in the thread-state dict under its own module path, which the patch renames (the
  patcher once kept it, as "a dict key", and the build refused the copy as sharing state).
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from mvpy_vendor.cli import main
from mvpy_vendor.native.registry import THREAD_DICT, imports_symbol

from .conftest import (
    EXT_SUFFIX,
    as_original,
    clean_env,
    download,
    gather,
    install_wheelhouse,
    pick,
    real_wheel_cache,
    run_json,
    venv_with,
)

pytestmark = pytest.mark.slow

SCIPY_OLD, NUMPY_OLD, SCIPY_NEW, NUMPY_NEW = "1.11.4", "1.26.4", "1.17.1", "2.4.6"


@pytest.fixture(scope="module")
def scipy_wheels() -> Path:
    cache = real_wheel_cache() / "scipy"
    for name, version in (("scipy", SCIPY_OLD), ("numpy", NUMPY_OLD), ("scipy", SCIPY_NEW), ("numpy", NUMPY_NEW)):
        if not list(cache.glob(f"{name}-{version}-*.whl")):
            download(cache, "--no-deps", f"{name}=={version}")
    return cache


# One version's scipy, in three threads and the main one: a sparse LU (SuperLU keeps its state in
# the thread-state dict), BLAS and LAPACK through f2py, and (SCIPY_OLD) COBYLA's f2py callback.
SCIPY_RUN = r"""
import ctypes, importlib, json, sys, threading
spec = json.loads(sys.argv[1])
sys.path[:0] = spec["paths"]


def work(sp, np_name, callback):
    np = importlib.import_module(np_name)
    sparse, splinalg = (importlib.import_module(f"{sp}.{m}") for m in ("sparse", "sparse.linalg"))
    linalg, optimize = (importlib.import_module(f"{sp}.{m}") for m in ("linalg", "optimize"))
    lu = splinalg.splu(sparse.csc_matrix(np.array([[4.0, 1, 0, 0], [1, 3, 1, 0], [0, 1, 2, 1], [0, 0, 1, 5]])))
    m = np.array([[2.0, 1], [1, 3]])
    found = {"splu": lu.solve(np.array([1.0, 2, 3, 4])).tolist(), "perm": lu.perm_r.tolist(),
             "gemm": linalg.blas.dgemm(1.0, m, m).tolist(), "solve": linalg.solve(m, np.array([1.0, 1])).tolist()}
    if callback:
        calls = []
        f = lambda x: calls.append(1) or float((x[0] - 1) ** 2 + (x[1] + 2) ** 2)
        best = optimize.fmin_cobyla(f, [0.0, 0.0], [lambda x: 10 - x[0]], rhoend=1e-8, disp=0)
        found["cobyla"] = [round(float(v), 6) for v in best] + [len(calls)]
    return found


out = {tag: [None] * 3 for tag in spec["sides"]}


def thread(tag, j):
    out[tag][j] = work(*spec["sides"][tag])


threads = [threading.Thread(target=thread, args=(tag, j)) for j in range(3) for tag in spec["sides"]]
for t in threads:
    t.start()
for t in threads:
    t.join()
for tag, side in spec["sides"].items():
    out[tag].append(work(*side))
ctypes.pythonapi.PyThreadState_GetDict.restype = ctypes.py_object
out["keys"] = sorted(str(k) for k in ctypes.pythonapi.PyThreadState_GetDict())
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def scipy_build(scipy_wheels: Path, wheels: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The wheelhouse and the Python of a venv pip installed it into."""
    tmp = tmp_path_factory.mktemp("scipy")
    inputs = gather(tmp / "in", [*scipy_wheels.glob("*.whl"), *pick(wheels, "scipy_old_user", "scipy_new_app")])
    out = tmp / "out"
    assert main(["build", "-q", "--verify", "--wheels", str(inputs), "--out", str(out)]) == 0
    return out, install_wheelhouse(out, tmp / "venv")


OLD, OLD_NUMPY = f"_mv_scipy_{SCIPY_OLD.replace('.', '_')}", f"_mv_numpy_{NUMPY_OLD.replace('.', '_')}"


def test_scipy_1_11_and_the_newest_in_one_process(
    scipy_build: tuple[Path, Path], scipy_wheels: Path, wheels: Path, tmp_path: Path
) -> None:
    _, python = scipy_build
    both: dict[str, Any] = run_json(python, "import scipy_new_app; scipy_new_app.main()")
    app, library = both["app"], both["library"]
    assert (app["version"], app["numpy"], app["module"]) == (SCIPY_NEW, NUMPY_NEW, "scipy.integrate._quadpack_py")
    assert (library["version"], library["numpy"], library["module"]) == (
        SCIPY_OLD, NUMPY_OLD, f"{OLD}.integrate._quadpack_py",
    )  # fmt: skip
    assert library["docs"]["SuperLU"][0] == "LU factorization of a sparse matrix."
    assert library["simps"] == app["simpson"] and library["cobyla"] == [1.0, -2.0]

    # The oracles: each scipy installed alone (with its numpy), running the same code.
    old = venv_with(tmp_path / "old", [scipy_wheels, wheels], "scipy-old-user", f"numpy=={NUMPY_OLD}")
    alone = run_json(old, "import json, scipy_old_user; print(json.dumps(scipy_old_user.check()))")
    assert as_original(library, {OLD: "scipy", OLD_NUMPY: "numpy"}) == alone
    new = venv_with(
        tmp_path / "new", [scipy_wheels, wheels], f"scipy=={SCIPY_NEW}", f"numpy=={NUMPY_NEW}",
        no_deps=["scipy-new-app"],
    )  # fmt: skip
    assert app == run_json(new, "import json, scipy_new_app; print(json.dumps(scipy_new_app.own()))")


def test_renamed_numpy_and_scipy_import_without_a_warning(scipy_build: tuple[Path, Path]) -> None:
    """Under ``-W error``: numpy 1.26's Cython modules, and scipy's, warn when a type of numpy
    they import changed size (the patcher once wrote numpy.character's)."""
    _, python = scipy_build
    code = f"import {OLD_NUMPY}.random, {OLD_NUMPY}.linalg, {OLD}.sparse.linalg, {OLD}.special, {OLD}.stats"
    proc = subprocess.run(
        [str(python), "-W", "error", "-c", code], capture_output=True, text=True, env=clean_env(), check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_scipy_old_beside_new_keeps_its_thread_state_apart(
    scipy_build: tuple[Path, Path], scipy_wheels: Path, tmp_path: Path
) -> None:
    """Three compiled modules of both versions import PyThreadState_GetDict, which the structural
    rule refused: _superlu keys its state by "scipy.sparse.linalg._dsolve._superlu.__global_object",
    which the patcher renames; _fblas and _flapack only link f2py's unused helpers. Built; run in
    one process, in threads, each version gives what it gives alone, and the dict holds two
    distinct keys."""
    out, python = scipy_build
    modules = [f"scipy/{m}{EXT_SUFFIX}" for m in ("sparse/linalg/_dsolve/_superlu", "linalg/_fblas", "linalg/_flapack")]
    for wheel in scipy_wheels.glob("scipy-*.whl"):
        with zipfile.ZipFile(wheel) as zf:
            assert all(imports_symbol(zf.read(m), THREAD_DICT) for m in modules)
    report = json.loads((out / "mvpy-vendor-report.json").read_text())
    renamed = next(o for o in report["outputs"] if o["distribution"] == f"mv-scipy-{SCIPY_OLD.replace('.', '-')}")
    statuses = {f["member"]: f["status"] for f in renamed["files"]}
    assert [statuses[m] for m in modules] == ["patched"] * 3
    assert not [w for w in renamed["warnings"] if "shared-state" in w["code"]]
    (superlu,) = [m for m in renamed["compiled_modules"] if m["member"] == modules[0]]
    assert {(o["text"], o["kind"], o["detail"]) for o in superlu["occurrences"] if "__global" in o["text"]} == {
        (
            "scipy.sparse.linalg._dsolve._superlu.__global_object",
            "code",
            "a key of the thread-state dict, named after the module (PyDict_GetItemString); "
            "a key of the thread-state dict, named after the module (PyDict_SetItemString)",
        )
    }
    spec = {"paths": [], "sides": {"old": [OLD, OLD_NUMPY, True], "new": ["scipy", "numpy", False]}}
    both = run_json(python, SCIPY_RUN, json.dumps(spec))
    for tag, versions in (("old", (SCIPY_OLD, NUMPY_OLD)), ("new", (SCIPY_NEW, NUMPY_NEW))):
        original = tmp_path / f"original-{tag}"
        for name, version in zip(("scipy", "numpy"), versions):
            with zipfile.ZipFile(next(scipy_wheels.glob(f"{name}-{version}-*.whl"))) as zf:
                zf.extractall(original)
        alone = {"paths": [str(original)], "sides": {tag: ["scipy", "numpy", tag == "old"]}}
        assert both[tag] == run_json(Path(sys.executable), SCIPY_RUN, json.dumps(alone))[tag]
    assert both["keys"] == [
        f"{OLD}.sparse.linalg._dsolve._superlu.__global_object",
        "scipy.sparse.linalg._dsolve._superlu.__global_object",
    ]
