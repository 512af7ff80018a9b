"""Build, install with real pip (and uv) into real virtual environments, run in fresh interpreters, verify."""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from mvpy_vendor.cli import main
from mvpy_vendor.naming import shared_namespace_name

from .conftest import (
    FOO_SET,
    GIZMO_SET,
    TRANSPORT_SET,
    clean_env,
    download,
    gather,
    install_wheelhouse,
    make_wheel,
    new_venv,
    pick,
    real_wheel_cache,
    rewrite_wheel,
    uv_binary,
)

pytestmark = pytest.mark.slow


def _build(inputs: list[Path], out: Path) -> None:
    assert main(["build", "-q", "--wheels", *map(str, inputs), "--out", str(out)]) == 0


def _run(python: Path, *args: str) -> str:
    return subprocess.run([str(python), *args], check=True, capture_output=True, text=True, env=clean_env()).stdout


EXPECTED_MYAPP = {
    "myapp": {
        "foo_version": "2.0.0",
        "foo_module": "foo",
        "greeting": "foo2 says hi to myapp",
        "backend": "foo2-default",
    },
    "slow_package": {
        "foo_version": "1.0.0",
        "foo_module": "_mv_foo_1_0_0",
        "greeting": "foo1 says hello to slow-package",
        "depth": "deep in foo 1.0.0",
        "backend": "foo1-default",
        "same_backend": True,
    },
}


@pytest.fixture(scope="module")
def foo_house(wheels: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("foo-house")
    _build(pick(wheels, *FOO_SET), out)
    return out


def test_myapp_uses_foo2_while_slow_package_uses_foo1(foo_house: Path, tmp_path: Path) -> None:
    python = install_wheelhouse(foo_house, tmp_path / "venv")
    # The console script and the module, each in a fresh interpreter.
    assert json.loads(_run(tmp_path / "venv" / "bin" / "myapp")) == EXPECTED_MYAPP
    assert json.loads(_run(python, "-m", "myapp")) == EXPECTED_MYAPP
    # The primary keeps its console script; the renamed copy's was dropped, not installed over it.
    assert _run(tmp_path / "venv" / "bin" / "foo").strip() == "foo 2.0.0"
    listing = _run(
        python, "-c", "import importlib.metadata as m; print(sorted(d.metadata['Name'] for d in m.distributions()))"
    )
    assert "'foo'" in listing and "'mv-foo-1-0-0'" in listing


def test_uv_installs_the_same_wheelhouse(foo_house: Path, tmp_path: Path) -> None:
    uv = uv_binary()
    if not Path(uv).exists():
        pytest.fail("uv is a test dependency and must be installed")
    python = new_venv(tmp_path / "venv")
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "--no-config",
            "--offline",
            "--no-index",
            "--python",
            str(python),
            "--find-links",
            str(foo_house),
            "-r",
            str(foo_house / "requirements.txt"),
            "-q",
        ],
        check=True,
        env=clean_env(),
    )
    assert json.loads(_run(python, "-m", "myapp")) == EXPECTED_MYAPP


def test_verify_passes(foo_house: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(foo_house)]) == 0
    assert capsys.readouterr().out.strip() == "verify: OK: 4 distributions, 14 modules imported, 0 problems"


def test_client_transport_worlds_in_one_process(
    wheels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    _build(pick(wheels, *TRANSPORT_SET), out)
    python = install_wheelhouse(out, tmp_path / "venv")
    seen = _run(python, "-c", "import json, modern_app; print(json.dumps(modern_app.generations()))")
    assert json.loads(seen) == {
        "modern": {"transport": 2, "client_sees": 2},
        # legacy_tool's dict key "transport" is a whole-value module name: relocated with the rest.
        "legacy": {"transport": 1, "client_sees": 1},  # the consumer's own dict key: data, as written
    }
    assert main(["verify", str(out)]) == 0


def _rows(text: str) -> list[str]:
    """Table rows with runs of padding collapsed to one space."""
    return [" ".join(line.split()) for line in text.splitlines()]


def test_verify_catches_leaks(foo_house: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    house = tmp_path / "house"
    shutil.copytree(foo_house, house)
    # A consumer that still imports the unrenamed foo, and a renamed module registering itself under "foo.*".
    rewrite_wheel(house / "slow_package-0.1.0-py3-none-any.whl", {"slow_package/oops.py": b"import foo\n"})
    rewrite_wheel(
        house / "mv_foo_1_0_0-1.0.0-py3-none-any.whl",
        {"_mv_foo_1_0_0/hijack.py": b"import sys\nsys.modules['foo.hijack'] = sys.modules[__name__]\n"},
    )
    assert main(["verify", "-v", str(house)]) == 1
    rows = _rows(capsys.readouterr().out)
    assert "pulls unrenamed slow-package foo importing slow-package loaded foo" in rows
    assert "leak mv-foo-1-0-0 foo.hijack registered (module __name__ '_mv_foo_1_0_0.hijack')" in rows
    assert rows[-1].startswith("verify: FAILED")


def test_verify_accepts_aliases_of_what_the_world_imports(
    foo_house: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``sys.modules["pkg.vendored.foo"] = foo`` (requests' ``requests.packages``): an alias is right
    when it is of the foo its owner's world imports, a leak or wrong provenance when it is not."""
    house = tmp_path / "house"
    shutil.copytree(foo_house, house)
    world_1 = b"import sys\nimport _mv_foo_1_0_0 as foo\nsys.modules['slow_package.vendored.foo'] = foo\n"
    other = b"import sys, importlib\nsys.modules['slow_package.vendored.foo2'] = importlib.import_module('f' + 'oo')\n"
    rewrite_wheel(
        house / "slow_package-0.1.0-py3-none-any.whl",
        {"slow_package/vendored.py": world_1, "slow_package/other.py": other},
    )
    world_0 = b"import sys\nimport _mv_foo_1_0_0\nsys.modules['myapp.vendored.foo'] = _mv_foo_1_0_0\n"
    rewrite_wheel(house / "myapp-0.1.0-py3-none-any.whl", {"myapp/vendored.py": world_0})
    assert main(["verify", "-v", str(house)]) == 1
    out = capsys.readouterr().out
    rows = _rows(out)
    assert "slow_package.vendored.foo " not in out  # slow-package's world imports _mv_foo_1_0_0 as foo
    # world 1's original (foo 1 and slow-package) has no myapp to register it
    assert (
        "leak mv-foo-1-0-0 myapp.vendored.foo registered (module __name__ '_mv_foo_1_0_0')"
        " (the original: has no such sys.modules entry)"
    ) in rows
    assert any(r.startswith("wrong provenance slow-package slow_package.vendored.foo2 loaded from ") for r in rows), (
        rows
    )
    assert rows[-1].startswith("verify: FAILED")


def test_submodule_failing_in_the_original_too_is_not_fatal(
    wheels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = gather(tmp_path / "in", pick(wheels, *FOO_SET))
    rewrite_wheel(inputs / "foo-1.0.0-py3-none-any.whl", {"foo/optional.py": b"import foo\nimport not_installed\n"})
    # Code computed at run time cannot be rewritten (a module name computed at run time is mapped):
    # it reaches the primary foo 2, whose API differs.
    dynamic = b"import foo\nns = {}\nexec('import ' + 'f' + 'oo', ns)\nassert ns['foo'].API == 1\n"
    rewrite_wheel(inputs / "slow_package-0.1.0-py3-none-any.whl", {"slow_package/broken.py": dynamic})
    out = tmp_path / "out"
    _build(sorted(inputs.iterdir()), out)
    assert main(["verify", "-v", str(out)]) == 1
    rows = _rows(capsys.readouterr().out)
    assert (
        "same in original mv-foo-1-0-0 _mv_foo_1_0_0.optional ModuleNotFoundError: No module named 'not_installed'"
        in rows
    )
    assert "import failed slow-package slow_package.broken AssertionError (the original: imports it)" in rows
    assert "pulls unrenamed slow-package foo importing slow-package loaded foo" in rows
    assert rows[-1] == "verify: FAILED: 4 distributions, 14 modules imported, 2 problems"


def test_pth_hooks_scripts_and_data_dirs_of_both_versions(wheels: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _build(pick(wheels, *GIZMO_SET), out)
    python = install_wheelhouse(out, tmp_path / "venv")
    seen = _run(
        python, "-c", "import json, os, gizmo_app; print(json.dumps([gizmo_app.SEES, os.environ['GIZMO_BOOTED']]))"
    )
    sees, booted = json.loads(seen)
    # gizmo_old_user's key "gizmo" is a whole-value module name, relocated with the rest.
    assert sees == {"app": "2.0", "old_user": {"gizmo": "1.0", "extra": "1.0", "plugins": "1.0"}}
    # Both .pth start-up hooks ran, each from its own copy.
    assert sorted(booted.strip(";").split(";")) == ["_mv_gizmo_extra_1_0._pth_hook", "gizmo_extra._pth_hook"]
    bin_dir = tmp_path / "venv" / "bin"
    assert _run(bin_dir / "gizmo-tool").strip() == "gizmo-tool 2.0"
    assert _run(bin_dir / "old-gizmo-tool").strip() == "old-gizmo-tool 1.0"
    assert main(["verify", str(out)]) == 0


def test_what_nothing_collides_with_keeps_its_name(wheels: Path, tmp_path: Path) -> None:
    # helper is needed only by slow-package (world 1) and nothing else is called helper: it is
    # installed once, under its own name, and imports the foo of its world (foo 1, renamed).
    foo1, foo2, slow, app = pick(wheels, *FOO_SET)
    inputs = gather(tmp_path / "in", (foo1, foo2, app))
    helper = b"import foo\nSEES = foo.__name__\n"
    make_wheel(inputs, "helper", "1.0", {"helper/__init__.py": helper}, ("foo<2",))
    uses = b"import helper\nHELPER_SEES = helper.SEES\n"
    rewrite_wheel(slow, {"slow_package/uses_helper.py": uses}, inputs)
    _patch_requires(inputs / slow.name, "helper")
    out = tmp_path / "out"
    assert main(["build", "-q", "--wheels", str(inputs), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.glob("helper*.whl")) == ["helper-1.0-py3-none-any.whl"]
    python = install_wheelhouse(out, tmp_path / "venv")
    seen = _run(python, "-c", "import helper, slow_package.uses_helper as u, foo; print(u.HELPER_SEES, foo.__name__)")
    assert seen.split() == ["_mv_foo_1_0_0", "foo"]
    assert main(["verify", str(out)]) == 0
    # Asked to, it renames helper as well.
    out2 = tmp_path / "out2"
    assert main(["build", "-q", "--wheels", str(inputs), "--out", str(out2), "--rename", "helper"]) == 0
    assert [p.name for p in out2.glob("*helper*.whl")] == ["mv_helper_1_0-1.0-py3-none-any.whl"]


def _patch_requires(wheel: Path, requirement: str) -> None:
    """Add a Requires-Dist line to ``wheel``'s METADATA (RECORD regenerated)."""
    import zipfile

    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        text = zf.read(name).decode()
    head, sep, body = text.partition("\n\n")
    rewrite_wheel(wheel, {name: (head + f"\nRequires-Dist: {requirement}" + sep + body).encode()})


# One namespace, ``nsx``, shared by two distributions in each of two versions, in each of the
# four ways a namespace package is made.
NSPKG_PTH = (
    "import sys, types, os;has_mfs = sys.version_info > (3, 5);p = os.path.join(sys._getframe(1).f_locals"
    "['sitedir'], *('nsx',));importlib = has_mfs and __import__('importlib.util');has_mfs and "
    "__import__('importlib.machinery');m = has_mfs and sys.modules.setdefault('nsx', importlib.util."
    "module_from_spec(importlib.machinery.PathFinder.find_spec('nsx', [os.path.dirname(p)])));m = m or "
    "sys.modules.setdefault('nsx', types.ModuleType('nsx'));mp = (m or []) and m.__dict__.setdefault("
    "'__path__',[]);(p not in mp) and mp.append(p)\n"
)
NS_INIT = {
    "pep420": None,
    "pkgutil": b"__path__ = __import__('pkgutil').extend_path(__path__, __name__)\n",
    "pkg_resources": b"__import__('pkg_resources').declare_namespace(__name__)\n",
    "nspkg": None,
}
NS_USER = """
import importlib, json, nsx, nsx.core
from nsx.extra import CORE, VERSION

SEES = {{
    "core": nsx.core.VERSION, "extra": VERSION, "extra_core": CORE, "ns": nsx.__name__,
    "mod": importlib.import_module(nsx.core.MOD).__name__, "msg": nsx.core.MSG,
    "dir": nsx.core.__file__.split("site-packages/")[1].split("/")[0],
}}
"""


def _namespace_wheels(dest: Path, style: str) -> list[Path]:
    made = []
    for version in ("1.0", "2.0"):
        for dist, files in (
            ("nsx-core", {
                "nsx/core/__init__.py": f'VERSION = "{version}"\nMOD = "nsx.core.mod"\nMSG = "nsx.core.Message"\n',
                "nsx/core/mod.py": "X = 1\n",
            }),
            ("nsx-extra", {"nsx/extra/__init__.py": f'from nsx.core import VERSION as CORE\nVERSION = "{version}"\n'}),
        ):  # fmt: skip
            content = {k: v.encode() for k, v in files.items()}
            stem = f"{dist.replace('-', '_')}-{version}"
            if NS_INIT[style] is not None:
                content["nsx/__init__.py"] = NS_INIT[style]
            if style in ("pkg_resources", "nspkg"):
                content[f"{stem}.dist-info/namespace_packages.txt"] = b"nsx\n"
            if style == "nspkg":
                content[f"{stem}-nspkg.pth"] = NSPKG_PTH.encode()
            requires = ("setuptools",) if style == "pkg_resources" else ()
            requires += (f"nsx-core=={version}",) if dist == "nsx-extra" else ()
            made.append(make_wheel(dest, dist, version, content, requires))
    pins = {"nsx-old-user": "==1.0", "nsx-app": ">=2"}
    for user, pin in pins.items():
        code = NS_USER.format().encode()
        made.append(
            make_wheel(dest, user, "1.0", {f"{user.replace('-', '_')}.py": code}, (f"nsx-core{pin}", f"nsx-extra{pin}"))
        )
    return made


@pytest.mark.parametrize("style", list(NS_INIT))
def test_a_namespace_shared_by_two_distributions_in_each_version(style: str, tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    _namespace_wheels(inputs, style)
    if style == "pkg_resources":
        cache = real_wheel_cache() / "setuptools"
        if not list(cache.glob("setuptools-80.9.0-*.whl")):
            download(cache, "--no-deps", "setuptools==80.9.0")
        shutil.copy(next(cache.glob("setuptools-80.9.0-*.whl")), inputs)
    out = tmp_path / "out"
    args = [
        "build",
        "-q",
        "--wheels",
        str(inputs),
        "--out",
        str(out),
        "--require",
        "nsx-app",
        "--require",
        "nsx-old-user",
    ]
    assert main(args) == 0
    new = shared_namespace_name("nsx", ["mv-nsx-core-1-0==1.0", "mv-nsx-extra-1-0==1.0"])

    # Before and after: the same layout, moved under the one new name; nothing else renamed.
    def members(wheel: Path) -> set[str]:
        with zipfile.ZipFile(wheel) as zf:
            return {n for n in zf.namelist() if ".dist-info/" not in n or n.endswith("namespace_packages.txt")}

    core_in = members(inputs / "nsx_core-1.0-py3-none-any.whl")
    core_out = members(out / "mv_nsx_core_1_0-1.0-py3-none-any.whl")
    expected = {
        n.replace("nsx/", f"{new}/", 1)
        .replace("nsx_core-1.0.dist-info", "mv_nsx_core_1_0-1.0.dist-info")
        .replace("nsx_core-1.0-nspkg.pth", "mv_nsx_core_1_0-nsx_core-1.0-nspkg.pth")
        for n in core_in
    }
    assert core_out == expected
    assert (f"{new}/__init__.py" in core_out) is (NS_INIT[style] is not None)
    with zipfile.ZipFile(out / "mv_nsx_extra_1_0-1.0-py3-none-any.whl") as zf:
        names = zf.namelist()
        assert f"{new}/extra/__init__.py" in names
        extra = zf.read(f"{new}/extra/__init__.py").decode()
        assert extra == f'from {new}.core import VERSION as CORE\nVERSION = "1.0"\n'
        if style in ("pkg_resources", "nspkg"):
            assert zf.read("mv_nsx_extra_1_0-1.0.dist-info/namespace_packages.txt") == f"{new}\n".encode()
        if style == "nspkg":
            pth = zf.read("mv_nsx_extra_1_0-nsx_extra-1.0-nspkg.pth").decode()
            assert pth == NSPKG_PTH.replace("'nsx'", f"'{new}'") and "'nsx'" not in pth
    with zipfile.ZipFile(out / "mv_nsx_core_1_0-1.0-py3-none-any.whl") as zf:
        core = zf.read(f"{new}/core/__init__.py").decode()
        # strings are data: the consumer's import_module(nsx.core.MOD) maps the module path it is given
        assert core == 'VERSION = "1.0"\nMOD = "nsx.core.mod"\nMSG = "nsx.core.Message"\n'
    # The primary's wheels are copied byte for byte.
    assert (out / "nsx_core-2.0-py3-none-any.whl").read_bytes() == (
        inputs / "nsx_core-2.0-py3-none-any.whl"
    ).read_bytes()

    python = install_wheelhouse(out, tmp_path / "venv")
    seen = _run(
        python,
        "-W",
        "ignore",
        "-c",
        "import json, nsx_old_user as o, nsx_app as a; print(json.dumps([o.SEES, a.SEES]))",
    )
    old, app = json.loads(seen)
    assert old == {
        "core": "1.0", "extra": "1.0", "extra_core": "1.0", "ns": new, "mod": f"{new}.core.mod",
        "msg": "nsx.core.Message", "dir": new,
    }  # fmt: skip
    assert app == {
        "core": "2.0", "extra": "2.0", "extra_core": "2.0", "ns": "nsx", "mod": "nsx.core.mod",
        "msg": "nsx.core.Message", "dir": "nsx",
    }  # fmt: skip
    assert main(["verify", "-q", str(out)]) == 0
