"""Self-tests of the harness's pure parts and its import hook: ``python -m pytest conformance/selftest``.

Not collected by the project's suite (its testpaths is tests/); they take a second.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))

from mvconf.compare import compare, split_flaky  # noqa: E402
from mvconf.config import Expected  # noqa: E402
from mvconf.pytest_run import Outcome  # noqa: E402


def _o(**outcomes: str) -> dict[str, Outcome]:
    return {k.replace("_", "::"): Outcome(v) for k, v in outcomes.items()}


def test_worse_is_failing_missing_or_newly_skipped() -> None:
    base = _o(a="passed", b="passed", c="passed", d="failed", e="skipped", f="passed")
    renamed = _o(a="passed", b="failed", d="failed", e="error", f="skipped")
    result = compare(base, renamed, [], "isolated")
    assert [(c.id, c.baseline, c.renamed) for c in result.unexplained] == [
        ("b", "passed", "failed"),
        ("c", "passed", "absent"),
        ("e", "skipped", "error"),
        ("f", "passed", "skipped"),
    ]


def test_failing_in_the_baseline_is_never_counted_and_passing_renamed_is_fixed() -> None:
    result = compare(_o(a="failed", b="error"), _o(a="failed", b="passed"), [], "as-written")
    assert result.unexplained == () and result.fixed == ("b",)


def test_expected_entries_match_by_id_prefix_and_mode() -> None:
    expected = [Expected("t.py::C", ("isolated",), "asserts the module name"), Expected("u.py::x", ("isolated",), "r")]
    base = _o(**{"t.py::C::x": "passed", "t.py::D::y": "passed"})
    renamed = _o(**{"t.py::C::x": "failed", "t.py::D::y": "failed"})
    isolated = compare(base, renamed, expected, "isolated")
    assert [c.id for c in isolated.expected] == ["t.py::C::x"] and [c.id for c in isolated.unexplained] == [
        "t.py::D::y"
    ]
    assert [e.id for e in isolated.stale] == ["u.py::x"]
    assert len(compare(base, renamed, expected, "as-written").unexplained) == 2


def test_a_rerun_that_passes_makes_a_test_flaky() -> None:
    base = _o(a="passed", b="passed")
    result = compare(base, _o(a="failed", b="failed"), [], "isolated")
    confirmed = split_flaky(
        result, base, [_o(a="failed", b="passed"), _o(a="failed", b="failed")], [_o(a="passed", b="passed")]
    )
    assert [c.id for c in confirmed.unexplained] == ["a"] and [c.id for c in confirmed.flaky] == ["b"]


def test_the_alias_hook_returns_the_renamed_modules_themselves(tmp_path: Path) -> None:
    pkg = tmp_path / "_mv_foo_1_0_0"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("X = 1\n")
    (pkg / "sub" / "__init__.py").write_text("class K: pass\n")
    # like requests' packages.py: a key under a module that is not a package
    (pkg / "mod.py").write_text("import sys\nY = 2\nsys.modules[__name__ + '.inner'] = sys\n")
    probe = (
        "import mvconf_alias, sys, foo, foo.sub, foo.mod\n"
        "import _mv_foo_1_0_0.mod as real\n"
        "assert foo is sys.modules['_mv_foo_1_0_0'] and foo.mod is real\n"
        "assert foo.sub.K.__module__ == '_mv_foo_1_0_0.sub', foo.sub.K.__module__\n"
        "assert foo.mod.__spec__.name == '_mv_foo_1_0_0.mod' and not hasattr(foo.mod, '__path__')\n"
        "try:\n    import foo.missing\nexcept ModuleNotFoundError as e:\n    assert e.name == 'foo.missing', e.name\n"
        "else:\n    raise AssertionError('imported a missing module')\n"
        "import foo.mod.inner\n"
        "assert sys.modules['foo.mod.inner'] is sys\n"
        "print('ok')\n"
    )
    env = {**os.environ, "MVCONF_ALIASES": "foo=_mv_foo_1_0_0"}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(HERE / "mvconf" / "inject")])
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr
    # python -m foo runs the copy's __main__ as __main__, its path in sys.argv[0] (runpy, as -m does)
    (pkg / "__main__.py").write_text(
        "import os, sys\nprint(__name__, sys.modules['foo'].__name__, os.path.basename(sys.argv[0]))\n"
    )
    runner = "import mvconf_alias, runpy, sys; sys.argv = ['-m']; runpy._run_module_as_main('foo')"
    main = subprocess.run([sys.executable, "-c", runner], env=env, capture_output=True, text=True)
    assert main.stdout.strip() == "__main__ _mv_foo_1_0_0 __main__.py", main.stderr
