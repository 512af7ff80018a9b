"""verify/: the report it reads, what it imports, and a run through the library API."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mvpy_vendor import ApplyOptions, BuildRequest, build
from mvpy_vendor.cli import main
from mvpy_vendor.errors import BuildError, ConfigError
from mvpy_vendor.report import REPORT_NAME, SCHEMA_VERSION, Report
from mvpy_vendor.verify import verify_wheelhouse

from .conftest import FOO_SET, pick


def test_importing_verify_loads_neither_the_rewriter_nor_lief() -> None:
    code = (
        "import sys, mvpy_vendor.verify; print(sorted(m for m in ('libcst', 'lief', 'capstone') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.fixture(scope="module")
def foo_house(wheels: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("house")
    build(BuildRequest(wheels=pick(wheels, *FOO_SET), options=ApplyOptions(jobs=1)), out)
    return out


def test_the_report_loads_typed(foo_house: Path) -> None:
    report = Report.load(foo_house)
    assert report.schema == SCHEMA_VERSION
    renamed = [o for o in report.outputs if o.renamed]
    assert [(o.distribution, o.top_level, dict(o.import_map)) for o in renamed] == [
        ("mv-foo-1-0-0", ("_mv_foo_1_0_0",), {"foo": "_mv_foo_1_0_0"})
    ]
    assert [dict(w) for w in report.worlds] == [
        {"foo": "2.0.0", "myapp": "0.1.0"},
        {"foo": "1.0.0", "slow-package": "0.1.0"},
    ]
    assert all(path.is_file() for path in report.inputs)


class Steps:
    def __init__(self) -> None:
        self.steps: list[str] = []

    def step(self, text: str) -> None:
        self.steps.append(text)

    def progress(self, done: int, total: int, label: str) -> None:
        raise AssertionError("verify has steps, not counted progress")


@pytest.mark.slow
def test_verify_through_the_library_reports_its_steps(foo_house: Path) -> None:
    steps = Steps()
    result = verify_wheelhouse(foo_house, reporter=steps)
    assert result.ok and (result.distributions, result.modules_imported) == (4, 14)
    assert steps.steps[:3] == [
        "creating a fresh virtual environment",
        "installing the wheelhouse with pip, offline",
        "importing every module of every distribution",
    ]
    assert "checking that slow-package imports no unrenamed foo" in steps.steps


def _house_with_report(tmp_path: Path, text: str) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / REPORT_NAME).write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not a readable report: Expecting property name"),
        ("", "not a readable report: Expecting value"),
        ('{"outputs": []}', "not a report this version understands: KeyError: 'inputs'"),
        ("[1, 2]", "not a report this version understands: AttributeError"),
        (json.dumps({"schema": SCHEMA_VERSION + 1}), f"schema {SCHEMA_VERSION + 1} is newer than {SCHEMA_VERSION}"),
    ],
    ids=["garbage", "empty", "missing key", "not an object", "newer schema"],
)
def test_a_bad_report_is_one_line_error(tmp_path: Path, text: str, message: str) -> None:
    house = _house_with_report(tmp_path / "house", text)
    with pytest.raises(BuildError) as info:
        Report.load(house)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_missing_report_or_directory_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigError, match=r"no mvpy-vendor-report\.json"):
        Report.load(tmp_path)
    assert main(["verify", str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err == f"mvpy-vendor: error: {tmp_path / 'missing'}: not a directory\n"


def test_cli_verify_of_a_garbage_report_exits_1_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    house = _house_with_report(tmp_path / "house", "{oops")
    assert main(["verify", str(house)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mvpy-vendor: error: ") and err.count("\n") == 1
