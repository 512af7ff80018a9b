"""pandas 1.5.3 and numpy 1.26.4 renamed beside pandas 2 and numpy 2: real wheels from the registry.

A consumer written against the pandas 1.5 API (``DataFrame.append``, ``iteritems``, ``mad``,
``Int64Index``, ``read_json(..., numpy=True)``: gone in 2.0) on numpy 1, and an app on pandas 2
(``DataFrame.map``, ``Series.case_when``, ``dtype_backend``) and numpy 2, built with ``--verify``
once for the module, run in one process; each gives what its own pandas gives installed alone.

pandas 1.5.3's ``_libs/json`` (C, from ujson) parses its arguments with a keyword list holding
``"numpy"``; the patcher once renamed that entry with the module name, and ``loads(s,
numpy=True)`` raised ``TypeError: 'numpy' is an invalid keyword argument`` in the renamed copy.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mvpy_vendor.cli import main

from .conftest import (
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

PANDAS_OLD, PANDAS_NEW = "1.5.3", "2.3.3"
NUMPY_OLD, NUMPY_NEW = "1.26.4", "2.4.6"

# The calls a renamed copy must answer exactly as the original does.
PROBE = """
import importlib, json, sys, warnings
top = sys.argv[1]
json_module = importlib.import_module(top + "._libs.json")
pd = importlib.import_module(top)
calls = {
    "array": lambda: json_module.loads("[1, 2, 3]", numpy=True),
    "nested": lambda: json_module.loads("[[1, 2], [3, 4]]", numpy=True, labelled=False),
    "labelled": lambda: json_module.loads('{"a": [1, 2]}', numpy=True, labelled=True),
    "plain": lambda: json_module.loads('{"a": [1, 2]}'),
    "unknown": lambda: json_module.loads("[1]", numpy=True, not_a_keyword=1),
    "dumped": lambda: json_module.dumps({"a": [1.5, None]}),
    "frame": lambda: pd.DataFrame({"a": [1, 2], "b": [3.0, 4.0]}).sum().to_dict(),
}
found = {}
for name, call in calls.items():
    try:
        found[name] = repr(call())
    except Exception as exc:
        found[name] = [type(exc).__name__, str(exc)]
print(json.dumps(found, sort_keys=True))
"""


@pytest.fixture(scope="session")
def pandas_wheels() -> Path:
    """pandas 2 with numpy 2 and their dependencies, pandas 1.5.3 and numpy 1.26.4."""
    cache = real_wheel_cache() / "pandas"
    if not list(cache.glob(f"pandas-{PANDAS_NEW}-*.whl")):
        download(cache, f"pandas=={PANDAS_NEW}", f"numpy=={NUMPY_NEW}")
    if not list(cache.glob(f"pandas-{PANDAS_OLD}-*.whl")) or not list(cache.glob(f"numpy-{NUMPY_OLD}-*.whl")):
        download(cache, "--no-deps", f"pandas=={PANDAS_OLD}", f"numpy=={NUMPY_OLD}")
    return cache


@pytest.fixture(scope="module")
def pandas_build(pandas_wheels: Path, wheels: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The wheelhouse (built with ``--verify``, which must pass) and the Python of a venv pip
    installed it into."""
    tmp = tmp_path_factory.mktemp("pandas")
    inputs = gather(tmp / "in", [*pandas_wheels.glob("*.whl"), *pick(wheels, "pandas_old_user", "pandas_new_app")])
    out = tmp / "out"
    assert main(["build", "-q", "--verify", "--wheels", str(inputs), "--out", str(out)]) == 0
    return out, install_wheelhouse(out, tmp / "venv")


def _original(pandas_wheels: Path, venv: Path) -> Path:
    return venv_with(venv, [pandas_wheels], f"pandas=={PANDAS_OLD}", f"numpy=={NUMPY_OLD}")


def test_pandas_1_5_json_keeps_its_keyword_numpy(
    pandas_build: tuple[Path, Path], pandas_wheels: Path, tmp_path: Path
) -> None:
    out, renamed = pandas_build
    report = json.loads((out / "mvpy-vendor-report.json").read_text())
    copy = next(o for o in report["outputs"] if o["distribution"] == "mv-pandas-1-5-3")
    (module,) = [m for m in copy["compiled_modules"] if m["member"].startswith("pandas/_libs/json.")]
    kept = [(o["text"], o["detail"]) for o in module["occurrences"] if o["kind"] == "kept"]
    assert kept == [("numpy", "an entry of the keyword list of _PyArg_ParseTupleAndKeywords_SizeT")]
    assert {o["text"] for o in module["occurrences"] if o["kind"] == "code"} >= {"numpy.core._multiarray_umath"}

    original = _original(pandas_wheels, tmp_path / "original")
    before = run_json(original, PROBE, "pandas", options=("-W", "error"))
    after = run_json(renamed, PROBE, "_mv_pandas_1_5_3", options=("-W", "error"))
    assert before["array"] == "array([1, 2, 3])"
    assert before["unknown"] == ["TypeError", "'not_a_keyword' is an invalid keyword argument for this function"]
    assert after == before


def test_pandas_1_5_and_pandas_2_in_one_process(
    pandas_build: tuple[Path, Path], pandas_wheels: Path, wheels: Path, tmp_path: Path
) -> None:
    _, python = pandas_build
    both: dict[str, Any] = run_json(python, "import pandas_new_app; pandas_new_app.main()")
    app, library = both["app"], both["library"]
    assert (app["version"], app["numpy"], app["module"]) == (PANDAS_NEW, NUMPY_NEW, "pandas.core.frame")
    assert (library["version"], library["numpy"], library["module"]) == (
        PANDAS_OLD, NUMPY_OLD, "_mv_pandas_1_5_3.core.frame",
    )  # fmt: skip
    assert library["pickled"] == ["_mv_pandas_1_5_3.core.frame", True]
    assert library["read_json"] == {"x": [1.0, 2.5, 4.0], "y": [0.5, 0.25, 0.125]}  # through numpy=True
    assert len(library["warnings"]) == 5  # pandas 1.5's deprecations, in its words

    # The oracles: each pandas installed alone (with its numpy), running the same code.
    old = venv_with(tmp_path / "old", [pandas_wheels, wheels], "pandas-old-user", f"pandas=={PANDAS_OLD}")
    alone = run_json(old, "import json, pandas_old_user; print(json.dumps(pandas_old_user.check()))")
    assert as_original(library, {"_mv_pandas_1_5_3": "pandas", "_mv_numpy_1_26_4": "numpy"}) == alone
    new = venv_with(
        tmp_path / "new", [pandas_wheels, wheels], f"pandas=={PANDAS_NEW}", f"numpy=={NUMPY_NEW}",
        no_deps=["pandas-new-app"],
    )  # fmt: skip
    assert app == run_json(new, "import json, pandas_new_app; print(json.dumps(pandas_new_app.own()))")


def test_renamed_numpy_and_pandas_import_without_a_warning(pandas_build: tuple[Path, Path]) -> None:
    """Under ``-W error`` (every test suite with ``filterwarnings = error``): numpy 1.26's Cython
    modules warn when a type's size changed (the patcher once wrote numpy.character's)."""
    _, python = pandas_build
    code = "import _mv_numpy_1_26_4.random, _mv_numpy_1_26_4.linalg, _mv_pandas_1_5_3, pandas"
    proc = subprocess.run(
        [str(python), "-W", "error", "-c", code], capture_output=True, text=True, env=clean_env(), check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
