"""The command line as a user runs it: exit codes, messages, what is (not) written."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest

from mvpy_vendor import __version__
from mvpy_vendor.cli import main

from .conftest import C_SET, FOO_SET, pick


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mvpy_vendor", *args], capture_output=True, text=True, check=False)


def test_the_command_line_starts_without_the_engine() -> None:
    # Every command's options are known without importing the engine (what a pre-commit hook or
    # `verify` pays at each start); the native policies are spelled twice, and held equal here.
    from mvpy_vendor.cli.build import POLICIES
    from mvpy_vendor.options import NativePolicy

    assert tuple(p.value for p in NativePolicy) == POLICIES
    engine = ("packaging", "mvpy_vendor.planning.plan", "mvpy_vendor.options", "libcst")
    code = f"import sys, mvpy_vendor.cli; print(sorted(m for m in sys.modules if m.startswith({engine!r})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_version() -> None:
    proc = run("--version")
    assert (proc.returncode, proc.stdout.strip()) == (0, f"mvpy-vendor {__version__}")


def test_build_prints_a_summary_table(wheels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["build", "--wheels", *map(str, pick(wheels, *FOO_SET)), "--out", str(tmp_path / "out")]
    args += ["--cache-dir", str(tmp_path / "cache")]
    assert main([*args, "--report", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == [
        "distribution",
        "version",
        "world",
        "role",
        "installed",
        "as",
        "rewritten",
        "strings",
        "diagnostics",
    ]
    assert out[3].split() == ["foo", "1.0.0", "1", "renamed", "copy", "mv-foo-1-0-0", "4", "2", "0"]
    assert out[4].split() == ["slow-package", "0.1.0", "1", "rewritten", "consumer", "slow-package", "1", "1", "0"]
    assert out[-1] == f"wrote 4 wheels to {tmp_path / 'out'}"
    assert json.loads((tmp_path / "r.json").read_text())["plan"]["worlds"][1]["members"] == {
        "foo": "1.0.0",
        "slow-package": "0.1.0",
    }


def test_summary_says_which_compiled_modules_were_replaced_by_python(
    wheels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["build", "--wheels", *map(str, pick(wheels, *C_SET)), "--out", str(tmp_path / "out"), "--no-cache"]
    assert main(args) == 0
    notes = [line for line in capsys.readouterr().out.splitlines() if line.startswith("note:")]
    assert notes == []  # everything patched
    assert main([*args, "--native", "prefer-source"]) == 0
    notes = [line for line in capsys.readouterr().out.splitlines() if line.startswith("note:")]
    assert notes == [
        "note: mv-cpkg-1-0: 1 compiled module replaced by its Python source (slower): "
        "cpkg/_native.cpython-311-x86_64-linux-gnu.so"
    ]


def test_many_replaced_modules_are_counted_and_the_first_listed(wheels: Path, tmp_path: Path) -> None:
    from mvpy_vendor import ApplyOptions, BuildRequest, NativePolicy, apply_plan, plan_build
    from mvpy_vendor.cli.build import _deaccelerated
    from mvpy_vendor.outcome import MemberOutcome, Status

    request = BuildRequest(wheels=pick(wheels, *C_SET), options=ApplyOptions(native_policy=NativePolicy.PREFER_SOURCE))
    result = apply_plan(plan_build(request), tmp_path / "out")
    cpkg = next(r for r in result.outputs if r.output.name == "mv-cpkg-1-0")
    more = [MemberOutcome(f"cpkg/m{i}.so", Status.DEACCELERATED) for i in range(4)]
    assert _deaccelerated(replace(cpkg, files=(*cpkg.files, *more))) == (
        "5 compiled modules replaced by their Python source (slower): "
        "cpkg/_native.cpython-311-x86_64-linux-gnu.so, cpkg/m0.so, cpkg/m1.so and 2 more (see the report)"
    )
    cfoo = next(r for r in result.outputs if r.output.name == "mv-cfoo-1-0")
    assert _deaccelerated(cfoo) == ""


def test_quiet_prints_nothing(wheels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "-q", "--wheels", str(wheels), "--require", "myapp", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr() == ("", "")


def test_plan_only_writes_nothing(wheels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["build", "--wheels", str(wheels), "--require", "myapp", "--out", str(out), "--plan-only"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert not out.exists()
    renamed = [o for o in plan["outputs"] if o["action"] == "rename"]
    assert [o["distribution"] for o in renamed] == ["mv-foo-1-0-0"]
    # Every member's fate is in the plan: what is rewritten, where it goes, what is dropped and why.
    members = {m["member"]: m for m in renamed[0]["members"]}
    rewritten = sorted(m for m, plan in members.items() if plan["action"] == "rewrite")
    assert rewritten == ["foo/__init__.py", "foo/cli.py", "foo/sub/__init__.py", "foo/sub/deep.py"]
    assert members["foo/cli.py"]["target"] == "_mv_foo_1_0_0/cli.py"
    assert members["foo-1.0.0.dist-info/RECORD"]["action"] == "regenerate"
    entry_points = members["foo-1.0.0.dist-info/entry_points.txt"]
    assert entry_points["target"] == "mv_foo_1_0_0-1.0.0.dist-info/entry_points.txt"
    assert entry_points["drops"] == ["console_scripts: foo (would overwrite the primary's)"]
    unused = {i["wheel"] for i in plan["ignored"]}
    assert "transport-2.1.0-py3-none-any.whl" in unused


def test_hostile_wheel_is_rejected_and_nothing_written(wheels: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run("build", "--wheels", str(wheels / "hostile"), *map(str, pick(wheels, "foo")), "--out", str(out))
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "mvpy-vendor: error: badrecord-1.0-py3-none-any.whl: badrecord/__init__.py: hash does not match RECORD",
        "mvpy-vendor: error: evil-1.0-py3-none-any.whl: ../evil.py: member name leaves the wheel's root",
    ]
    assert proc.stdout == ""
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["build", "--wheels", "x.whl"], "--out is required"),
        (["build", "--wheels", "nope.whl", "--out", "o"], "nope.whl: no such file or directory"),
        (["build", "--wheels", "WHEELS", "--out", "o", "--primary", "foo"], "--primary 'foo': expected NAME==VERSION"),
        (["build", "--wheels", "WHEELS", "--out", "o", "--primary", "foo==9"], "--primary 'foo==9': no such wheel"),
        (["build", "--wheels", "WHEELS", "--out", "o", "--require", "myapp>5"], "requires myapp>5, which no given"),
        (["build", "--wheels", "WHEELS", "--out", "o", "--require", "my app"], "--require 'my app'"),
        (["verify", "WHEELS"], "no mvpy-vendor-report.json"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_usage_and_config_errors_exit_2(wheels: Path, tmp_path: Path, args: list[str], message: str) -> None:
    args = [str(wheels) if a == "WHEELS" else str(tmp_path / a) if a in ("o", "nope.whl") else a for a in args]
    proc = run(*args)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) <= 2
    assert not (tmp_path / "o").exists()


def _build_on(tmp_path: Path, wheels: Path, terminal: bool) -> bytes:
    """Run a build with stderr on a real pseudo-terminal (or a pipe); return what stderr got."""
    args = [sys.executable, "-m", "mvpy_vendor", "build", "--wheels", *map(str, pick(wheels, *FOO_SET))]
    args += ["--out", str(tmp_path / ("tty" if terminal else "pipe")), "--no-cache"]
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if not terminal:
        return subprocess.run(args, capture_output=True, env=env, check=True).stderr
    main_end, child_end = pty.openpty()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=child_end, env=env)
    os.close(child_end)
    seen = b""
    while True:
        try:
            chunk = os.read(main_end, 4096)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        seen += chunk
    os.close(main_end)
    assert proc.wait() == 0
    return seen


def test_progress_is_shown_on_a_terminal_only(wheels: Path, tmp_path: Path) -> None:
    shown = _build_on(tmp_path, wheels, terminal=True)
    assert b"\r\x1b[K[0/4] " in shown and b"\r\x1b[K[3/4] " in shown
    assert b"mv_foo_1_0_0-1.0.0-py3-none-any.whl" in shown
    assert _build_on(tmp_path, wheels, terminal=False) == b""


def test_abbreviated_options_are_refused_with_a_suggestion(
    wheels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["build", "--wheels", str(wheels), "--ou", str(tmp_path / "out")])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: mvpy-vendor build ")  # the subcommand's usage, not the top level's
    expected = f"mvpy-vendor build: error: unrecognized arguments: --ou (did you mean --out?) {tmp_path / 'out'}"
    assert err.splitlines()[-1] == expected
    assert not (tmp_path / "out").exists()
    with pytest.raises(SystemExit):
        main(["inspect", "x.whl", "--jsn"])
    assert capsys.readouterr().err.splitlines()[-1].endswith("--jsn (did you mean --json?)")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["inspect", "{tmp}/missing.whl"], "{tmp}/missing.whl: no such file"),
        (["inspect", "{tmp}"], "{tmp}: not a wheel file (a directory?)"),
        (["verify", "{tmp}/missing"], "{tmp}/missing: not a directory"),
    ],
)
def test_every_command_gives_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code = main([a.format(tmp=tmp_path) for a in args])
    assert code in (1, 2)
    assert capsys.readouterr().err == f"mvpy-vendor: error: {message.format(tmp=tmp_path)}\n"


def test_an_internal_error_is_one_line_and_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug (here: an inspector that raises) prints one line naming a file that holds the traceback."""
    import mvpy_vendor.native.wheel as native_wheel

    def broken(path: Path) -> None:
        raise KeyError("a bug")

    monkeypatch.setattr(native_wheel, "inspect_wheel", broken)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    tempfile.tempdir = None  # read TMPDIR again
    wheel = tmp_path / "x-1.0-py3-none-any.whl"
    wheel.write_bytes(b"")
    try:
        assert main(["inspect", str(wheel)]) == 70
    finally:
        tempfile.tempdir = None
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("mvpy-vendor: error: internal error: KeyError: 'a bug' (details in ")
    details = Path(err.split("(details in ")[1].split(";")[0])
    assert details.parent == tmp_path
    assert "Traceback" in details.read_text() and "raise KeyError" in details.read_text()
