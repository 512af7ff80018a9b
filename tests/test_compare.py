"""verify/compare.py and judging: every finding is compared with the original wheels of its world.

The fixture ``cquirk`` (testwheels/cquirk-1.0, 2.0: C modules compiled by the suite with gcc) is
odd in the original too: ``_bare`` names itself ``_quirkbare`` and registers that bare
``sys.modules`` key (scipy 1.11's ``_csparsetools``), ``_named`` names itself
``quirkish.named`` (websockets 10.4's ``websocket.speedups``), ``_made.Crasher()`` segfaults
(pandas 1.5.3's ``parsers.TextReader()``) and ``_made.Sleeper()`` never returns. Its
``_check.Checker()`` aborts only when renamed: it imports its own package by a name put together
at run time, and finds the other version there.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from mvpy_vendor.cli import main
from mvpy_vendor.report import ReportOutput
from mvpy_vendor.verify import VerifyOptions, VerifyResult, compare, verify_wheelhouse
from mvpy_vendor.verify.compare import Names, Question

from .conftest import EXT_SUFFIX, compile_extension, pick, rewrite_wheel

NAMES = Names({"foo": "_mv_foo_1_0_0", "numpy": "_mv_numpy_1_26_4"})


def _output(name: str = "mv-foo-1-0-0", world: int = 1) -> ReportOutput:
    return ReportOutput(
        distribution=name,
        version="1.0.0",
        wheel=f"{name}.whl",
        action="rename",
        source_wheel="foo.whl",
        source_distribution="foo",
        worlds=(world,),
        top_level=("_mv_foo_1_0_0",),
        import_map={"foo": "_mv_foo_1_0_0", "numpy": "_mv_numpy_1_26_4"},
    )


def test_names_map_forward_and_a_plain_name_the_world_maps_is_no_original() -> None:
    assert NAMES.renamed("foo.sub") == "_mv_foo_1_0_0.sub"
    assert NAMES.original("_mv_foo_1_0_0.sub") == "foo.sub"
    assert NAMES.original("websocket.speedups") == "websocket.speedups"  # not renamed: itself
    assert NAMES.original("_csparsetools") == "_csparsetools"
    # "foo.hijack" maps back to itself, but the original's foo.hijack is _mv_foo_1_0_0.hijack
    assert NAMES.original("foo.hijack") is None
    assert NAMES.original("foo") is None
    assert NAMES.original_file("_mv_foo_1_0_0/sub/x.py") == "foo/sub/x.py"
    assert NAMES.original_file(f"_mv_foo_1_0_0{EXT_SUFFIX}") == f"foo{EXT_SUFFIX}"  # a top-level module
    assert NAMES.original_file("foo/x.py") is None  # the primary's file
    assert NAMES.original_file("bar/x.py") == "bar/x.py"


def test_names_are_the_outputs_own_not_a_placed_consumers() -> None:
    """s3fs, in world 0 beside botocore 1.44, imports botocore without declaring it and is given
    world 1's copy (placed): its map renames botocore, the world's botocore keeps its name, and
    a module of it that fails asks the original under that name."""
    placed = replace(_output("s3fs", 0), action="rewrite", top_level=("s3fs",),
                     import_map={"botocore": "_mv_botocore_1_31_17"})  # fmt: skip
    primary = replace(_output("botocore", 0), action="copy", top_level=("botocore",), import_map={})
    assert Names.of_output(placed).original("_mv_botocore_1_31_17.client") == "botocore.client"
    assert Names.of_output(placed).original("botocore.client") is None
    suspect = compare.failed(primary, Names.of_output(primary), "botocore.crt.auth", "ImportError: awscrt")
    assert suspect.question == Question("import", "botocore.crt.auth")


def test_a_leak_asks_for_the_originals_entry_unless_no_original_can_show_it() -> None:
    named = {
        "key": "_mv_foo_1_0_0.speedups",
        "owner": "_mv_foo_1_0_0",
        "what": "registered (module __name__ 'fo.speedups')",
        "name": "fo.speedups",
        "file": f"_mv_foo_1_0_0/speedups{EXT_SUFFIX}",
        "via": "_mv_foo_1_0_0.speedups",
    }
    s = compare.leaked(_output(), NAMES, named)
    assert s.finding.cause == "renamed module named under 'fo'"
    assert s.question == Question("entry", "foo.speedups", "foo.speedups")
    assert s.expect == (("outcome", "present"), ("name", "fo.speedups"), ("file", f"foo/speedups{EXT_SUFFIX}"))
    assert compare.is_same(s, {"outcome": "present", "name": "fo.speedups", "file": f"foo/speedups{EXT_SUFFIX}"})
    differs = {"outcome": "present", "name": "foo.speedups", "file": f"foo/speedups{EXT_SUFFIX}"}
    assert not compare.is_same(s, differs)
    assert compare.answer_note(s, differs) == f" (the original: __name__ 'foo.speedups', from foo/speedups{EXT_SUFFIX})"
    assert compare.answer_note(s, {"outcome": "absent"}) == " (the original: has no such sys.modules entry)"
    hijack = {**named, "key": "foo.hijack", "name": "_mv_foo_1_0_0.hijack", "file": "_mv_foo_1_0_0/hijack.py"}
    assert compare.leaked(_output(), NAMES, hijack).question is None  # fatal without asking


def test_crashes_failures_classes_and_files_each_ask_their_question() -> None:
    out = _output()
    crash = compare.crashed(out, NAMES, "_mv_foo_1_0_0._boom", "killed by SIGSEGV")
    assert (crash.question, crash.expect) == (Question("import", "foo._boom"), (("outcome", "killed by SIGSEGV"),))
    assert compare.answer_note(crash, {"outcome": "imports"}) == " (the original: imports it)"
    failed = compare.failed(out, NAMES, "_mv_foo_1_0_0.win", "ModuleNotFoundError: No module named 'winreg'")
    assert compare.is_same(failed, {"outcome": "fails", "error": "ModuleNotFoundError: No module named 'winreg'"})
    assert not compare.is_same(failed, {"outcome": "missing", "error": "No module named 'foo.win'"})
    made = {"key": "_mv_foo_1_0_0._c.Reader", "kind": "construct", "what": "Reader() killed by SIGSEGV"}
    s = compare.made(out, NAMES, {**made, "how": "killed by SIGSEGV", "owner": "_mv_foo_1_0_0"})
    assert (s.finding.kind, s.finding.cause) == ("crashed", "made with no arguments: killed by SIGSEGV")
    assert s.question == Question("construct", "foo._c.Reader")
    assert compare.answer_note(s, {"outcome": "ok"}) == " (the original: makes it with no crash and pickles it)"
    same = compare.same_finding(s)
    assert (same.kind, same.fatal, same.detail) == ("same in original", False, "Reader() killed by SIGSEGV")
    misplaced = {"key": "_mv_foo_1_0_0.x", "file": "/site/bar/x.py", "rel": "bar/x.py", "owner": "bar"}
    s = compare.misplaced(out, NAMES, misplaced)
    assert s.expect == (("outcome", "present"), ("file", "bar/x.py"))
    serving = {**misplaced, "file": "/site/foo/x.py", "rel": "foo/x.py", "owner": "foo"}
    assert compare.misplaced(out, NAMES, serving).question is None  # the primary's files: never the original's
    assert compare.pulled(out, "foo.sub").question is None
    claim = {"key": "_mv_foo_1_0_0.X", "kind": "module", "what": "__module__ is 'foo'", "owner": "_mv_foo_1_0_0"}
    assert compare.claimed(out, claim).question is None


# ---- on a wheelhouse built from the fixtures --------------------------------------------------

BOOM = """
#include <Python.h>
#include <signal.h>
PyMODINIT_FUNC PyInit__boom(void) { raise(SIGSEGV); return NULL; }
"""


@pytest.fixture(scope="module")
def quirk_house(wheels: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """cquirk 1.0 renamed beside 2.0; 1.0's wheel also holds a module whose import segfaults."""
    tmp = tmp_path_factory.mktemp("quirk")
    inputs = tmp / "in"
    for wheel in pick(wheels, "cquirk"):
        rewrite_wheel(wheel, {}, inputs)
    (old,) = inputs.glob("cquirk-1.0-*.whl")
    rewrite_wheel(old, {f"cquirk/_boom{EXT_SUFFIX}": compile_extension(tmp / "c", "_boom", BOOM)})
    out = tmp / "out"
    requires = ["cquirk==1.0", "cquirk==2.0"]
    assert main(["build", "-q", "--wheels", str(inputs), "--out", str(out), "--primary", "cquirk==2.0",
                 *(a for r in requires for a in ("--require", r))]) == 0  # fmt: skip
    return out


class Steps:
    def __init__(self) -> None:
        self.steps: list[str] = []

    def step(self, text: str) -> None:
        self.steps.append(text)

    def progress(self, done: int, total: int, label: str) -> None:
        raise AssertionError("verify has steps, not counted progress")


def _run(house: Path, cache: Path) -> tuple[VerifyResult, list[str]]:
    steps = Steps()
    result = verify_wheelhouse(house, reporter=steps, options=VerifyOptions(timeout=3, cache_dir=cache))
    return result, steps.steps


@pytest.mark.slow
def test_what_the_original_does_too_is_reported_and_not_fatal(quirk_house: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    result, steps = _run(quirk_house, cache)
    found = [(f.kind, f.module, f.detail, f.fatal) for f in result.findings]
    same = "same in original"
    assert found == [
        (same, "_mv_cquirk_1_0._boom", "killed by SIGSEGV", False),
        (same, "_mv_cquirk_1_0._named", "registered (module __name__ 'quirkish.named')", False),
        (same, "_quirkbare", "registered (module __name__ '_quirkbare')", False),
        # the one that differs: renamed, Checker() finds cquirk 2.0 and aborts; the original makes it
        (
            "crashed",
            "_mv_cquirk_1_0._check.Checker",
            "Checker() killed by SIGABRT (the original: makes it with no crash and pickles it)",
            True,
        ),
        (same, "_mv_cquirk_1_0._made.Crasher", "Crasher() killed by SIGSEGV", False),
        (same, "_mv_cquirk_1_0._made.Sleeper", "Sleeper() hung: no progress for 3 s", False),
    ]
    assert not result.ok and result.modules_imported == 7  # every other module and class was still probed
    causes = {g.cause: g.kind for g in result.groups}
    assert causes["renamed module named under 'quirkish'"] == same
    assert causes["renamed module registered under '_quirkbare'"] == same
    assert causes["made with no arguments: killed by SIGABRT"] == "crashed"
    assert "checking 6 finding(s) against the original wheels of world 1" in steps
    # Again, with the same original wheels: every answer is known, no original environment is
    # built, and the findings are the same, in the same order.
    again, steps = _run(quirk_house, cache)
    assert [(f.kind, f.module, f.detail, f.fatal) for f in again.findings] == found
    assert "6 finding(s) judged by what the same original wheels did before" in steps
    assert not any(s.startswith("checking 6") for s in steps)


@pytest.mark.slow
def test_the_table_says_same_in_original(quirk_house: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--no-cache", "--timeout", "3", "--json", str(quirk_house)]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["problems"] == 1
    rows = {(g["kind"], g["cause"], g["count"], g["fatal"]) for g in data["groups"]}
    assert ("crashed", "made with no arguments: killed by SIGABRT", 1, True) in rows
    assert ("same in original", "made with no arguments: killed by SIGSEGV", 1, False) in rows
    assert ("same in original", "killed by SIGSEGV", 1, False) in rows
