"""``mvpy-vendor check``: each code on a positive and a negative fixture, suppression, selection, output formats."""

from __future__ import annotations

import hashlib
import json
import shutil
import textwrap
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from mvpy_vendor.check import CHECK_CODES, run_check
from mvpy_vendor.check.source import TRIGGERS, check_source
from mvpy_vendor.cli import main
from mvpy_vendor.errors import Code
from mvpy_vendor.planning.target import Target
from mvpy_vendor.project.config import World, load_project
from mvpy_vendor.project.lock import LockedWorld, ProjectLock
from mvpy_vendor.project.resolvers import Artifact
from mvpy_vendor.rewrite import fast
from mvpy_vendor.rewrite.names import NameMap
from mvpy_vendor.rewrite.source import rewrite_source
from mvpy_vendor.rewrite.tables import CODE_CALLS

from .conftest import download, real_wheel_cache

LIBRARY = """\
[project]
name = "mylib"
version = "0.1"
dependencies = ["pydantic>=1.10,<2"]

[tool.mvpy-vendor.backend]
inner = "setuptools.build_meta"
embed = ["pydantic>=1.10,<2"]
"""
# The library keeps its own strings as written: the build maps no module name known only at run
# time in it, so check reports those uses (without keep-strings the build maps them: nothing to report).
KEPT = LIBRARY + 'keep-strings = ["mylib"]\n'


def _project(tmp_path: Path, files: dict[str, str], pyproject: str = KEPT) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


def _codes(root: Path, *paths: str) -> list[tuple[str, int, str]]:
    result = run_check([root / p for p in paths], None) if paths else run_check([], root)
    return [(Path(f.path).name, f.line, f.code.value) for f in result.findings]


NAMES = NameMap({"pydantic": "_mv_pydantic_check"}, strings=False)

# (code, positive source, negative source): each positive has exactly one finding, on line 3.
CASES = [
    (
        Code.DYNAMIC_IMPORT,
        "import importlib, pydantic\n\nm = importlib.import_module(name)\n",
        'import importlib, pydantic\n\nm = importlib.import_module("pydantic." + name)\n',
    ),
    (
        Code.DYNAMIC_IMPORT,
        "from importlib.util import find_spec as fs\nimport pydantic\ns = fs(name)\n",
        'from importlib.util import find_spec as fs\nimport pydantic\ns = fs("pydantic.fields")\n',
    ),
    (
        Code.DYNAMIC_IMPORT,
        "import pkgutil\nimport pydantic\no = pkgutil.resolve_name(ref)\n",
        'import pkgutil\nimport pydantic\no = pkgutil.resolve_name("pydantic.fields:Field")\n',
    ),
    (
        Code.DYNAMIC_IMPORT,
        "import pydantic\n\nm = __import__(name)\n",
        'import pydantic\n\nm = __import__("pydantic")\n',
    ),
    (
        Code.DYNAMIC_SYS_MODULES,
        "import sys\nimport pydantic\nm = sys.modules[key]\n",
        'import sys\nimport pydantic\nm = sys.modules["pydantic"]\n',
    ),
    (
        Code.DYNAMIC_SYS_MODULES,
        "import sys\nimport pydantic\nloaded = key in sys.modules\n",
        'import sys\nimport pydantic\nloaded = "pydantic.fields" in sys.modules\n',
    ),
    (
        Code.DYNAMIC_REFERENCE,
        "import importlib.resources\nimport pydantic\nf = importlib.resources.files(package)\n",
        'import importlib.resources\nimport pydantic\nf = importlib.resources.files("pydantic")\n',
    ),
    (
        Code.SPLIT_NAME,
        'import importlib\nimport pydantic\nm = importlib.import_module("pyd" "antic")\n',
        'import importlib\nimport pydantic\nm = importlib.import_module("pydantic")\n',
    ),
    (
        Code.RENAMED_NAME,
        "import pydantic\n\nimport _mv_pydantic_1_10_27.fields\n",
        "import pydantic  # not _mv_pydantic_1_10_27\n\n_mv_count = 1\n",
    ),
    (
        Code.UNPARSABLE,
        "import importlib\nimport pydantic\nm = importlib.import_module(name) print\n",
        "import importlib\nimport pydantic\nm = importlib.import_module(name)  # mvpy: ignore[dynamic-import]\n",
    ),
]


@pytest.mark.parametrize(
    ("code", "positive", "negative"), CASES, ids=[f"{c[0].value}-{i}" for i, c in enumerate(CASES)]
)
def test_each_source_code_on_a_positive_and_a_negative_fixture(
    tmp_path: Path, code: Code, positive: str, negative: str
) -> None:
    root = _project(tmp_path, {"pos.py": positive, "neg.py": negative})
    assert _codes(root, "pos.py") == [("pos.py", 3, code.value)]
    assert _codes(root, "neg.py") == []


def test_values_known_at_run_time_are_mapped_by_the_build_and_not_reported(tmp_path: Path) -> None:
    root = _project(
        tmp_path,
        {
            "m.py": "import importlib, sys\nimport pydantic\nm = importlib.import_module(name)\nsys.modules[key]\n",
            "c.py": "import pydantic\n\nexec(code)\n",
        },
        LIBRARY,
    )
    assert _codes(root, "m.py") == []
    assert _codes(root, "c.py") == [("c.py", 3, "dynamic-code")]


def test_a_file_without_a_renamed_name_is_not_parsed_and_an_unconfigured_project_reports_no_dynamic_import(
    tmp_path: Path,
) -> None:
    # A plugin loader that never names pydantic: the build leaves it alone, and so does check.
    root = _project(
        tmp_path, {"plugins.py": "import importlib\n\ndef load(n):\n    return importlib.import_module(n)\n"}
    )
    assert _codes(root, "plugins.py") == []
    other = tmp_path / "other"
    _project(other, {"m.py": "import importlib, pydantic\nimportlib.import_module(n)\n"}, '[project]\nname = "x"\n')
    assert _codes(other, "m.py") == []


def test_check_reports_what_build_reports_with_the_same_codes_and_positions() -> None:
    source = textwrap.dedent(
        """\
        import importlib, sys
        import pydantic

        def f(name, key):
            if key in sys.modules:
                return sys.modules.get(key)
            return importlib.import_module(name)
        """
    ).encode()
    kept = NameMap({"pydantic": "_mv_pydantic_1_10_27"}, strings=False)  # the project's keep-strings
    built = rewrite_source(source, kept)
    whole = rewrite_source(source, kept, whole_file=True)
    checked = check_source("f.py", source, NAMES)
    assert [(d.line, d.column, d.code) for d in built.diagnostics] == [(f.line, f.column, f.code) for f in checked]
    assert [(d.line, d.column, d.code) for d in whole.diagnostics] == [(f.line, f.column, f.code) for f in checked]
    assert [(f.line, f.column, f.code) for f in checked] == [
        (5, 8, Code.DYNAMIC_SYS_MODULES),
        (6, 16, Code.DYNAMIC_SYS_MODULES),
        (7, 12, Code.DYNAMIC_IMPORT),
    ]


def test_the_pre_filter_words_are_the_fast_paths_roots() -> None:
    assert {w.decode() for w in TRIGGERS} == set(fast._ROOTS) | CODE_CALLS


def test_suppression_is_by_code_on_the_line(tmp_path: Path) -> None:
    root = _project(
        tmp_path,
        {
            "m.py": """\
            import importlib, sys, pydantic
            a = importlib.import_module(x)  # mvpy: ignore[dynamic-import]
            b = importlib.import_module(x)  # mvpy: ignore[dynamic-sys-modules]
            c = sys.modules[k]  # mvpy: ignore[renamed-name, dynamic-sys-modules]
            d = sys.modules[k]  # mvpy: ignore
            e = sys.modules[k]
            """
        },
    )
    assert _codes(root, "m.py") == [("m.py", 3, "dynamic-import"), ("m.py", 6, "dynamic-sys-modules")]


def test_cli_text_output_sorted_exit_codes_select_and_ignore(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(
        tmp_path,
        {
            "src/mylib/b.py": "import sys, pydantic\nm = sys.modules[k]\n",
            "src/mylib/a.py": "import importlib, pydantic\n\nm = importlib.import_module(x)\n"
            "import _mv_pydantic_1_10_27\n",
            "src/mylib/clean.py": "import pydantic\n",
        },
    )
    monkeypatch.chdir(root)
    assert main(["check"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert [line.split(" ")[0:2] for line in out[:-1]] == [
        ["src/mylib/a.py:3:5:", "dynamic-import"],
        ["src/mylib/a.py:4:8:", "renamed-name"],
        ["src/mylib/b.py:2:5:", "dynamic-sys-modules"],
    ]
    assert "pass a literal name" in out[0]
    assert out[-1] == "found 3 problems (3 files checked)"
    assert main(["check", "--select", "dynamic"]) == 1
    assert [line.split(" ")[1] for line in capsys.readouterr().out.splitlines()[:-1]] == [
        "dynamic-import",
        "dynamic-sys-modules",
    ]
    assert main(["check", "--ignore", "dynamic,renamed-name"]) == 0
    assert capsys.readouterr().out == "no problems (3 files checked)\n"
    assert main(["check", "--select", "no-such-code"]) == 2
    assert "'no-such-code' is not a code" in capsys.readouterr().err
    assert main(["check", "-q", "src/mylib/clean.py"]) == 0
    assert capsys.readouterr().out == ""


def test_json_and_github_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path, {"m.py": "import importlib, pydantic\nm = importlib.import_module(x)\n"})
    monkeypatch.chdir(root)
    assert main(["check", "--output-format", "json", "m.py"]) == 1
    found = json.loads(capsys.readouterr().out)
    assert [{k: v for k, v in f.items() if k != "message"} for f in found] == [
        {"path": "m.py", "line": 2, "column": 5, "code": "dynamic-import"}
    ]
    assert found[0]["message"].startswith(
        "importlib.import_module: target not known statically: with keep-strings the build cannot"
    )
    assert main(["check", "--output-format", "github", "m.py"]) == 1
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith("::error file=m.py,line=2,col=5,title=mvpy-vendor dynamic-import::importlib.import_module")
    assert main(["check", "--output-format", "json", "--ignore", "dynamic-import", "m.py"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_every_code_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    for code in CHECK_CODES:
        assert f"| `{code.value}` |" in readme, code


# ---- configuration drift ---------------------------------------------------------------------


def test_embed_drift(tmp_path: Path) -> None:
    same = _project(tmp_path / "same", {})
    assert _codes(same) == []
    missing = _project(
        tmp_path / "missing", {}, LIBRARY.replace('dependencies = ["pydantic>=1.10,<2"]', "dependencies = []")
    )
    assert _codes(missing) == [("pyproject.toml", 8, "embed-drift")]
    other = _project(
        tmp_path / "other",
        {},
        LIBRARY.replace('dependencies = ["pydantic>=1.10,<2"]', 'dependencies = ["pydantic>=2"]'),
    )
    (finding,) = run_check([], other).findings
    assert finding.code is Code.EMBED_DRIFT
    assert "does not match [project].dependencies 'pydantic>=2'" in finding.message
    # The hook passes pyproject.toml: its configuration is checked; a Python file alone does not.
    (other / "m.py").write_text("x = 1\n", encoding="utf-8")
    assert _codes(other, "m.py") == []
    assert _codes(other, "pyproject.toml") == [("pyproject.toml", 8, "embed-drift")]


APP = """\
[project]
name = "app"
version = "0.1"
dependencies = ["foo>=2"]

[tool.mvpy-vendor]
isolate = ["slow-package"]
keep-strings = ["app"]  # the app's own strings as written: what the build cannot map is reported
"""


def _artifact(name: str, version: str) -> Artifact:
    filename = f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
    sha = hashlib.sha256(filename.encode()).hexdigest()
    return Artifact(canonicalize_name(name), Version(version), f"https://example.invalid/{filename}", sha, filename)


def _write_lock(root: Path, worlds: dict[str, tuple[tuple[str, ...], list[Artifact]]]) -> None:
    locked = tuple(LockedWorld(World(name, reqs), tuple(arts)) for name, (reqs, arts) in worlds.items())
    lock = ProjectLock(locked, Target(), "pip")
    (root / "pylock.mvpy-vendor.toml").write_text(lock.dumps(root), encoding="utf-8")


def test_lock_stale_and_isolate_drift(tmp_path: Path) -> None:
    root = _project(tmp_path, {"app.py": "import importlib, foo\nimportlib.import_module(n)\n"}, APP)
    assert _codes(root) == []  # no lock: nothing known to be renamed, nothing stale
    foo1, foo2, slow = _artifact("foo", "1.0.0"), _artifact("foo", "2.0.0"), _artifact("slow-package", "0.1.0")
    _write_lock(root, {"main": (("foo>=2",), [foo2]), "isolate-slow-package": (("slow-package",), [slow, foo1])})
    # The lock holds foo at two versions: foo is renamed somewhere, so the dynamic import is reported.
    assert _codes(root) == [("app.py", 2, "dynamic-import")]
    project = load_project(root)
    assert project.lock_path.is_file()
    # pyproject.toml changes: the lock is stale, and says why.
    (root / "pyproject.toml").write_text(APP.replace('"foo>=2"', '"foo>=2.1"'), encoding="utf-8")
    (finding,) = run_check([root / "pyproject.toml"]).findings
    assert (finding.code, Path(finding.path).name, finding.line) == (Code.LOCK_STALE, "pylock.mvpy-vendor.toml", 1)
    assert "'foo>=2.1' is not in the lock" in finding.message and "run 'mvpy-vendor lock'" in finding.message
    # A lock whose isolated world now uses only the main world's versions: the entry isolates nothing.
    (root / "pyproject.toml").write_text(APP, encoding="utf-8")
    _write_lock(root, {"main": (("foo>=2",), [foo2]), "isolate-slow-package": (("slow-package",), [slow, foo2])})
    assert _codes(root) == [("pyproject.toml", 7, "isolate-drift")]
    # An isolate entry that is also a main dependency, same specifier: drift without a lock too.
    (root / "pylock.mvpy-vendor.toml").unlink()
    (root / "pyproject.toml").write_text(APP.replace('["foo>=2"]', '["foo>=2", "slow-package"]'), encoding="utf-8")
    assert _codes(root) == [("pyproject.toml", 7, "isolate-drift")]


def test_import_names_come_from_the_locked_wheel_in_the_cache(tmp_path: Path) -> None:
    """PyYAML installs ``yaml``: read from the real wheel in the cache, not guessed from the name."""
    cache = real_wheel_cache() / "pyyaml"
    if not list(cache.glob("PyYAML-6.0.2-*.whl")) and not list(cache.glob("pyyaml-6.0.2-*.whl")):
        download(cache, "--no-deps", "pyyaml==6.0.2")
    wheel = next(p for p in cache.glob("*.whl") if "6.0.2" in p.name)
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    store = tmp_path / "store"
    (store / "files" / sha).mkdir(parents=True)
    shutil.copy(wheel, store / "files" / sha / wheel.name)
    app = APP.replace("foo>=2", "pyyaml>=6").replace('isolate = ["slow-package"]', 'isolate = ["old-yaml-user"]')
    root = _project(tmp_path / "app", {"a.py": "import importlib, yaml\nimportlib.import_module(n)\n"}, app)
    with (root / "pyproject.toml").open("a", encoding="utf-8") as fh:
        fh.write(f'cache-dir = "{store}"\n')
    new = Artifact(
        canonicalize_name("pyyaml"), Version("6.0.2"), f"https://example.invalid/{wheel.name}", sha, wheel.name
    )
    _write_lock(
        root,
        {
            "main": (("pyyaml>=6",), [new]),
            "isolate-old-yaml-user": (
                ("old-yaml-user",),
                [_artifact("old-yaml-user", "1.0"), _artifact("pyyaml", "5.4.1")],
            ),
        },
    )
    result = run_check([], root)
    assert ("yaml", "pyyaml is locked at 2 versions") in result.renamed
    assert "pyyaml" not in {name for name, _ in result.renamed}
    assert [f.code for f in result.findings] == [Code.DYNAMIC_IMPORT]
    # Without the wheel in the cache, the name is guessed ('pyyaml'), and [tool.mvpy-vendor.check] names corrects it.
    shutil.rmtree(store)
    assert [n for n, _ in run_check([], root).renamed] == ["pyyaml"]
    with (root / "pyproject.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[tool.mvpy-vendor.check]\nnames = ["yaml"]\n')
    assert [f.code for f in run_check([], root).findings] == [Code.DYNAMIC_IMPORT]


def test_a_bad_check_table_is_a_configuration_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(tmp_path, {}, LIBRARY + '\n[tool.mvpy-vendor.check]\nname = ["yaml"]\n')
    monkeypatch.chdir(tmp_path)
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert "pyproject.toml:11: [tool.mvpy-vendor.check] name: unknown key; known keys: names, paths" in err


def test_what_the_embedded_copies_need_is_checked_too(tmp_path: Path) -> None:
    """The lock's world ``embed`` holds the embedded distribution and its dependencies: all are renamed."""
    files = {"src/mylib/load.py": "import importlib, typing_extensions\nimportlib.import_module(name)\n"}
    root = _project(tmp_path, files)
    assert _codes(root) == []  # typing_extensions is not known to be embedded yet
    embedded = [_artifact("pydantic", "1.10.27"), _artifact("typing-extensions", "4.16.0")]
    _write_lock(root, {"embed": (("pydantic>=1.10,<2",), embedded)})
    assert _codes(root) == [("load.py", 2, "dynamic-import")]


def test_a_stale_embed_world_is_reported(tmp_path: Path) -> None:
    root = _project(tmp_path, {})
    _write_lock(root, {"embed": (("pydantic<1.9",), [_artifact("pydantic", "1.8.2")])})
    (finding,) = run_check([root / "pyproject.toml"]).findings
    assert finding.code is Code.LOCK_STALE and "run 'mvpy-vendor lock --embed'" in finding.message


def test_check_names_the_lock_as_project_mode_does() -> None:
    from mvpy_vendor.check.project import LOCK_NAME as CHECKED
    from mvpy_vendor.project.config import LOCK_NAME

    assert CHECKED == LOCK_NAME
