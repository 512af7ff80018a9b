"""pandas 1.5.3 and numpy 1.26.4 renamed beside pandas 2 and numpy 2: real wheels from the registry.

pandas 1.5.3's ``_libs/json`` (C, from ujson) parses its arguments with a keyword list holding
``"numpy"``; the patcher once renamed that entry with the module name, and ``loads(s,
numpy=True)`` raised ``TypeError: 'numpy' is an invalid keyword argument`` in the renamed copy.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mvpy_vendor.cli import main

from .conftest import clean_env, download, gather, install_wheelhouse, make_wheel, new_venv, real_wheel_cache

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


def _probe(python: Path, top: str) -> dict[str, object]:
    proc = subprocess.run(
        [str(python), "-W", "error", "-c", PROBE, top], capture_output=True, text=True, env=clean_env(), check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def test_pandas_1_5_json_keeps_its_keyword_numpy(pandas_wheels: Path, tmp_path: Path) -> None:
    inputs = gather(tmp_path / "in", pandas_wheels.glob("*.whl"))
    user = {"pandas_old_user/__init__.py": b"import pandas\n"}
    make_wheel(inputs, "pandas-old-user", "1.0", user, (f"pandas=={PANDAS_OLD}", f"numpy=={NUMPY_OLD}"))
    app = {"pandas_new_app/__init__.py": b"import pandas\n"}
    make_wheel(inputs, "pandas-new-app", "1.0", app, ("pandas>=2", "pandas-old-user"))
    out = tmp_path / "out"
    assert main(["build", "-q", "--wheels", str(inputs), "--out", str(out), "--require", "pandas-new-app"]) == 0
    report = json.loads((out / "mvpy-vendor-report.json").read_text())
    copy = next(o for o in report["outputs"] if o["distribution"] == "mv-pandas-1-5-3")
    (module,) = [m for m in copy["compiled_modules"] if m["member"].startswith("pandas/_libs/json.")]
    kept = [(o["text"], o["detail"]) for o in module["occurrences"] if o["kind"] == "kept"]
    assert kept == [("numpy", "an entry of the keyword list of _PyArg_ParseTupleAndKeywords_SizeT")]
    assert {o["text"] for o in module["occurrences"] if o["kind"] == "code"} >= {"numpy.core._multiarray_umath"}

    renamed = install_wheelhouse(out, tmp_path / "venv")
    original = new_venv(tmp_path / "original")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(original), "install", "--no-index", "-q",
         "--find-links", str(pandas_wheels), f"pandas=={PANDAS_OLD}", f"numpy=={NUMPY_OLD}"],
        check=True, env=clean_env(),
    )  # fmt: skip
    before, after = _probe(original, "pandas"), _probe(renamed, "_mv_pandas_1_5_3")
    assert before["array"] == "array([1, 2, 3])"
    assert before["unknown"] == ["TypeError", "'not_a_keyword' is an invalid keyword argument for this function"]
    assert after == before
