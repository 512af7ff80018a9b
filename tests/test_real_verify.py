"""verify on real wheels that are odd in the original too: each renamed beside the newest release.

* websockets 10.4: its C module names itself ``websocket.speedups``;
* scipy 1.11.4 (on numpy 1.26.4): Cython modules register bare ``sys.modules`` keys
  (``_csparsetools``, ``_moduleTNC``, ...) and two have a ``__name__`` that is not their path;
* pandas 1.5.3 (on numpy 1.26.4): ``_libs.parsers.TextReader()`` segfaults when made with no
  arguments (verify used to stop there, naming neither the class nor the original's behaviour).

The original does each of these the same way: verify reports them as "same in original", and
passes. Wheels are downloaded once into ``MVPY_TEST_CACHE`` (see tests/test_real_wheels.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mvpy_vendor.cli import main

from .conftest import download, gather, make_wheel, real_wheel_cache

pytestmark = pytest.mark.slow

SAME = "same in original"


def _wheels(name: str, *pins: str, deps: bool = False) -> list[Path]:
    """The wheels of ``pins`` (NAME==VERSION), with their dependencies if ``deps``, downloaded once."""
    cache = real_wheel_cache() / f"verify-{name}"
    for pin in pins:
        project, _, version = pin.partition("==")
        if not list(cache.glob(f"{project}-{version}-*.whl")):
            download(cache, *([] if deps else ["--no-deps"]), pin)
    return sorted(cache.glob("*.whl"))


def _consumers(dest: Path, lib: str, old: str, new: str) -> list[Path]:
    """A consumer of ``lib`` ``old`` on numpy 1, and an app on ``new`` and numpy 2 that uses it."""
    user_code = f"import {lib}\n".encode()
    user = make_wheel(
        dest, f"{lib}-old-user", "1.0", {f"{lib}_old_user/__init__.py": user_code}, (f"{lib}=={old}", "numpy<2")
    )
    app_code = f"import {lib}\nimport {lib}_old_user\n".encode()
    requires = (f"{lib}=={new}", "numpy>=2", f"{lib}-old-user")
    app = make_wheel(dest, f"{lib}-new-app", "1.0", {f"{lib}_new_app/__init__.py": app_code}, requires)
    return [user, app]


def _verify(out: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code = main(["verify", "--no-cache", "--json", str(out)])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["ok"], [g for g in data["groups"] if g["fatal"]]
    return data


def _same(data: dict[str, Any], distribution: str) -> dict[str, list[str]]:
    """cause -> modules of the "same in original" groups of ``distribution``."""
    return {
        g["cause"]: [f["module"] for f in g["findings"]]
        for g in data["groups"]
        if g["kind"] == SAME and g["distribution"] == distribution
    }


def test_websockets_10_4_names_its_speedups_under_websocket_in_the_original_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = gather(tmp_path / "in", _wheels("websockets", "websockets==10.4", "websockets==17.4"))
    out = tmp_path / "out"
    args = ["build", "-q", "--wheels", str(inputs), "--out", str(out), "--primary", "websockets==17.4"]
    assert main([*args, "--require", "websockets==10.4", "--require", "websockets==17.4"]) == 0
    same = _same(_verify(out, capsys), "mv-websockets-10-4")
    assert same["renamed module named under 'websocket'"] == ["_mv_websockets_10_4.speedups"]


def test_scipy_1_11_registers_bare_module_keys_in_the_original_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wheels = _wheels("scipy", "scipy==1.11.4", "numpy==1.26.4", "scipy==1.17.1", "numpy==2.4.6", deps=True)
    inputs = gather(tmp_path / "in", [*wheels, *_consumers(tmp_path / "consumers", "scipy", "1.11.4", "1.17.1")])
    out = tmp_path / "out"
    assert main(["build", "-q", "--wheels", str(inputs), "--out", str(out)]) == 0
    same = _same(_verify(out, capsys), "mv-scipy-1-11-4")
    for key in ("_csparsetools", "_moduleTNC", "_ni_label", "_cytest"):
        assert same[f"renamed module registered under {key!r}"] == [key]
    assert same["renamed module named under 'uarray'"] == ["_mv_scipy_1_11_4._lib._uarray._uarray"]
    assert same["renamed module named under '_odrpack'"] == ["_mv_scipy_1_11_4.odr.__odrpack"]


def test_pandas_1_5_text_reader_segfaults_when_made_in_the_original_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wheels = _wheels("pandas", "pandas==1.5.3", "numpy==1.26.4", "pandas==3.1.1", "numpy==2.4.6", deps=True)
    inputs = gather(tmp_path / "in", [*wheels, *_consumers(tmp_path / "consumers", "pandas", "1.5.3", "3.1.1")])
    out = tmp_path / "out"
    assert main(["build", "-q", "--wheels", str(inputs), "--out", str(out)]) == 0
    data = _verify(out, capsys)
    same = _same(data, "mv-pandas-1-5-3")
    assert same["made with no arguments: killed by SIGSEGV"] == ["_mv_pandas_1_5_3._libs.parsers.TextReader"]
    (reader,) = [
        f for g in data["groups"] for f in g["findings"] if f["module"] == "_mv_pandas_1_5_3._libs.parsers.TextReader"
    ]
    assert (reader["kind"], reader["detail"], reader["fatal"]) == (SAME, "TextReader() killed by SIGSEGV", False)
