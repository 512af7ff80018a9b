"""Every hostile wheel of testwheels/hostile.py, in a build of the foo set: rejected before anything
is written with one line naming the wheel, the member and the reason (and, where pip and uv
disagree about the input, which one refuses it), or accepted (with a warning where it is
dangerous) and a wheelhouse that both pip and uv install. Never a traceback."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from mvpy_vendor.cli import main

from .conftest import FOO_SET, clean_env, hostile_module, install_wheelhouse, new_venv, pick, uv_binary

HOSTILE = hostile_module()


def _snapshot(path: Path) -> dict[str, bytes]:
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def _inputs(wheels: Path, case: Any, tmp_path: Path) -> list[Path]:
    made = case.make(wheels, tmp_path / "made")
    inputs = [w for w in pick(wheels, *FOO_SET) if w.name != case.base]
    if made.parent.name == "twin":  # given besides the fixture of the same name
        return [*inputs, wheels / case.base, made]
    return [*inputs, made]


def _build(inputs: list[Path], out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["build", "--wheels", *map(str, inputs), "--out", str(out), "--no-cache"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


REJECTED = [c for c in HOSTILE.CASES if c.verdict == "reject"]
ACCEPTED = [c for c in HOSTILE.CASES if c.verdict in ("warn", "accept")]
#: accepted cases whose member is a Python file that the build must rewrite (its reason: a line of the result)
REWRITTEN = [c for c in HOSTILE.CASES if c.verdict == "accept" and c.member.endswith(".py")]


@pytest.mark.parametrize("case", REJECTED, ids=[c.name for c in REJECTED])
def test_rejected_before_anything_is_written(
    wheels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], case: Any
) -> None:
    inputs = _inputs(wheels, case, tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "kept.txt").write_text("from before\n")
    before = _snapshot(out)
    code, _, err = _build(inputs, out, capsys)
    assert code == 1, err
    lines = err.splitlines()
    assert lines and all(line.startswith("mvpy-vendor: error: ") for line in lines), err
    assert "Traceback" not in err and "internal error" not in err
    head = f"mvpy-vendor: error: {case.base}: " + (f"{case.member}: " if case.member else "")
    assert any(line.startswith(head) and case.reason in line for line in lines), err
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["made", "out"]  # no staging directory beside


@pytest.mark.slow
@pytest.mark.parametrize("case", ACCEPTED, ids=[c.name for c in ACCEPTED])
def test_accepted_and_installed_by_pip_and_uv(
    wheels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], case: Any
) -> None:
    inputs = _inputs(wheels, case, tmp_path)
    out = tmp_path / "out"
    code, printed, err = _build(inputs, out, capsys)
    assert code == 0, err
    warnings = [line for line in printed.splitlines() if line.startswith("warning: ")]
    if case.verdict == "warn":
        assert any(f": {case.member}: " in line and case.reason in line for line in warnings), printed
    else:
        assert warnings == [], printed
    imports = "import foo, myapp, slow_package"
    if case in REWRITTEN:
        imports += ", " + case.member.removesuffix(".py").replace("foo/", "_mv_foo_1_0_0.")
    python = install_wheelhouse(out, tmp_path / "pip-venv")
    subprocess.run([str(python), "-c", imports], check=True)
    python = new_venv(tmp_path / "uv-venv")
    uv = uv_binary()
    subprocess.run(
        [uv, "pip", "install", "--offline", "--no-index", "--no-cache", "-q", "--python", str(python),
         "--find-links", str(out), "-r", str(out / "requirements.txt")],
        check=True, env=clean_env(),
    )  # fmt: skip
    subprocess.run([str(python), "-c", imports], check=True)


@pytest.mark.parametrize("case", REWRITTEN, ids=[c.name for c in REWRITTEN])
def test_accepted_and_rewritten(wheels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], case: Any) -> None:
    inputs = _inputs(wheels, case, tmp_path)
    out = tmp_path / "out"
    code, printed, err = _build(inputs, out, capsys)
    assert code == 0 and not err, err
    assert not [line for line in printed.splitlines() if line.startswith("warning: ")], printed
    renamed = case.member.replace("foo/", "_mv_foo_1_0_0/", 1)
    with zipfile.ZipFile(out / "mv_foo_1_0_0-1.0.0-py3-none-any.whl") as zf:
        lines = zf.read(renamed).decode().splitlines()
    assert case.reason.strip() in (line.strip() for line in lines)
    assert "import foo" not in lines  # strings that are data ('foo.sub.m1') stay as written


def test_the_generator_runs_as_a_script(wheels: Path, tmp_path: Path) -> None:
    script = Path(HOSTILE.__file__)
    proc = subprocess.run(
        [shutil.which("python3") or "python3", str(script), str(wheels), str(tmp_path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert proc.stdout.splitlines()[-1] == f"wrote {len(HOSTILE.CASES)} hostile wheels and a large one into {tmp_path}"
