"""Project mode end to end: pyproject.toml -> uv or pip resolves each world -> lock -> fetch -> build -> run."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import pytest

from mvpy_vendor.cli import main
from mvpy_vendor.options import ApplyOptions
from mvpy_vendor.planning.planner import plan_build
from mvpy_vendor.project.config import load_project
from mvpy_vendor.project.fetch import Store
from mvpy_vendor.project.gather import LockMode, project_request

from .conftest import FOO_SET, clean_env, install_wheelhouse, make_wheel, new_venv, pick, real_wheel_cache

pytestmark = pytest.mark.slow

USE_BOTH = (
    "import foo, slow_package; r = slow_package.report(); "
    "assert foo.API == 2 and r['foo_version'] == '1.0.0' and r['foo_module'] == '_mv_foo_1_0_0', r; print('ok')"
)


@pytest.fixture(autouse=True)
def _no_machine_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """The resolvers see only the project's own index settings (this machine's pip.conf adds find-links)."""
    for key in list(os.environ):
        if key.startswith(("PIP_", "UV_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("UV_NO_CONFIG", "1")


def write_project(root: Path, wheels: Path, deps: list[str], isolate: list[str], more: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""\
            [project]
            name = "demo-app"
            version = "0.1"
            dependencies = {json.dumps(deps)}

            [tool.mvpy-vendor]
            isolate = {json.dumps(isolate)}
            find-links = [{json.dumps(os.path.relpath(wheels, root))}]
            no-index = true
            """
        )
        + more
    )
    return root


@pytest.fixture
def foo_project(tmp_path: Path, wheels: Path) -> Path:
    local = tmp_path / "app" / "wheels"
    local.mkdir(parents=True)
    for wheel in pick(wheels, *FOO_SET):
        shutil.copy(wheel, local)
    return write_project(tmp_path / "app", local, ["foo>=2"], ["slow-package"])


def wheel_bytes(wheelhouse: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(wheelhouse.iterdir()) if p.suffix == ".whl"}


@pytest.mark.parametrize("resolver", ["uv", "pip"])
def test_a_project_builds_installs_with_pip_and_uv_and_verifies(
    foo_project: Path, resolver: str, tmp_path: Path
) -> None:
    assert main(["build", "--project", str(foo_project), "--resolver", resolver, "--verify", "-q"]) == 0
    wheelhouse = foo_project / "wheelhouse"
    assert sorted(wheel_bytes(wheelhouse)) == [
        "foo-2.0.0-py3-none-any.whl",
        "mv_foo_1_0_0-1.0.0-py3-none-any.whl",
        "slow_package-0.1.0-py3-none-any.whl",
    ]
    lock = (foo_project / "pylock.mvpy-vendor.toml").read_text()
    assert f'resolver = "{resolver}"' in lock and 'path = "wheels/foo-1.0.0-py3-none-any.whl"' in lock
    # pip from requirements.txt
    python = install_wheelhouse(wheelhouse, tmp_path / "pip-venv")
    assert subprocess.run([str(python), "-c", USE_BOTH], capture_output=True, text=True, check=True).stdout == "ok\n"
    # uv from the wheelhouse's pylock.toml
    uv_python = new_venv(tmp_path / "uv-venv")
    subprocess.run(
        ["uv", "pip", "install", "--quiet", "--offline", "--python", str(uv_python),
         "-r", str(wheelhouse / "pylock.toml")],
        check=True, env=clean_env(),
    )  # fmt: skip
    assert subprocess.run([str(uv_python), "-c", USE_BOTH], capture_output=True, text=True, check=True).stdout == "ok\n"


def test_pip_installs_the_wheelhouse_from_its_pylock(foo_project: Path, tmp_path: Path) -> None:
    from importlib.metadata import version

    from packaging.version import Version

    if Version(version("pip")) < Version("26.1"):
        pytest.fail(f"the test extra asks for pip>=26.1 (pylock.toml support), found {version('pip')}")
    assert main(["build", "--project", str(foo_project), "-q"]) == 0
    python = new_venv(tmp_path / "venv")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-index",
         "-r", str(foo_project / "wheelhouse" / "pylock.toml")],
        check=True, env=clean_env(), capture_output=True,
    )  # fmt: skip
    assert subprocess.run([str(python), "-c", USE_BOTH], capture_output=True, text=True, check=True).stdout == "ok\n"


def test_an_isolated_world_shares_what_is_compatible(tmp_path: Path, wheels: Path) -> None:
    local = tmp_path / "wheels"
    for wheel in pick(wheels, "foo"):
        shutil.copy(wheel, local) if local.exists() else (local.mkdir(), shutil.copy(wheel, local))
    make_wheel(local, "helper", "1.0", {"helper.py": b"V = 1\n"})
    make_wheel(local, "helper", "1.1", {"helper.py": b"V = 1.1\n"})
    make_wheel(local, "iso-pkg", "1.0", {"iso_pkg.py": b"import foo, helper\n"}, ("foo<2", "helper>=1.0"))
    root = write_project(tmp_path / "app", local, ["foo>=2", "helper==1.0"], ["iso-pkg"])
    config = load_project(root)
    project = project_request(config, LockMode.REFRESH, Store(tmp_path / "store"), ApplyOptions())
    plan = plan_build(project.request)
    helper = [p for p in plan.placements if p.name == "helper"]
    # the isolated world would take helper 1.1 on its own; it shares the main world's 1.0 instead
    assert {str(plan.output(p.output).version) for p in helper} == {"1.0"}
    assert [o.display_name for o in plan.outputs if o.renamed] == ["mv-foo-1-0-0"]
    assert {p.role.value for p in helper} <= {"primary", "shared"}


def test_lock_then_locked_is_byte_identical_and_a_changed_dependency_fails_it(
    foo_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from packaging.pylock import Pylock

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    assert main(["build", "--project", str(foo_project), "--out", str(foo_project / "a"), "-q"]) == 0
    assert main(["lock", "--project", str(foo_project), "-q"]) == 0
    lock_path = foo_project / "pylock.mvpy-vendor.toml"
    Pylock.from_dict(tomllib.loads(lock_path.read_text())).validate()
    assert main(["build", "--project", str(foo_project), "--locked", "--out", str(foo_project / "b"), "-q"]) == 0
    assert (
        main(["build", "--project", str(foo_project), "--frozen", "--no-cache", "--out", str(foo_project / "c"), "-q"])
        == 0
    )
    assert wheel_bytes(foo_project / "a") == wheel_bytes(foo_project / "b") == wheel_bytes(foo_project / "c")
    assert (foo_project / "a" / "pylock.toml").read_bytes() == (foo_project / "b" / "pylock.toml").read_bytes()
    before = lock_path.read_bytes()
    pyproject = foo_project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"foo>=2"', '"foo>=2", "helper"'))
    capsys.readouterr()
    assert main(["build", "--project", str(foo_project), "--locked", "--out", str(foo_project / "d")]) == 2
    err = capsys.readouterr().err
    assert "pylock.mvpy-vendor.toml is out of date with pyproject.toml: world main: 'helper' is not in the lock" in err
    assert lock_path.read_bytes() == before and not (foo_project / "d").exists()


def test_a_tampered_cached_wheel_is_never_used(
    foo_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "cache"
    args = ["build", "--project", str(foo_project), "--cache-dir", str(cache), "-q"]
    assert main([*args, "--out", str(tmp_path / "first")]) == 0
    cached = next((cache / "files").rglob("foo-1.0.0-py3-none-any.whl"))
    cached.write_bytes(cached.read_bytes()[:-10])  # truncated: its sha256 no longer matches
    assert main([*args, "--locked", "--out", str(tmp_path / "second")]) == 0  # fetched again from find-links
    assert wheel_bytes(tmp_path / "first") == wheel_bytes(tmp_path / "second")
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == cached.parent.name
    # the source itself changed under the lock: refused, naming the file and both hashes
    source = foo_project / "wheels" / "foo-1.0.0-py3-none-any.whl"
    source.write_bytes(source.read_bytes() + b"\0")
    cached.unlink()
    capsys.readouterr()
    assert main([*args, "--locked", "--out", str(tmp_path / "third")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("mvpy-vendor: error: foo-1.0.0-py3-none-any.whl: ") and "the lock says" in err
    assert err.count("\n") == 0 and not (tmp_path / "third").exists()


def test_offline_uses_the_lock_and_the_cache(
    foo_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["build", "--project", str(foo_project), "--cache-dir", str(tmp_path / "cache"), "-q"]
    assert main([*args, "--offline", "--out", str(tmp_path / "x")]) == 2  # no lock yet
    assert "no lock (run 'mvpy-vendor lock' first)" in capsys.readouterr().err
    assert main([*args, "--out", str(tmp_path / "y")]) == 0
    assert main([*args, "--offline", "--out", str(tmp_path / "z")]) == 0
    assert wheel_bytes(tmp_path / "y") == wheel_bytes(tmp_path / "z")


def sdist_only(dest: Path) -> Path:
    """``tinysdist`` 1.0 as an sdist whose in-tree PEP 517 backend writes the wheel (no build dependency to fetch)."""
    backend = """
import base64, hashlib, zipfile

FILES = {"tinysdist/__init__.py": b"VALUE = 42\\n"}
META = b"Metadata-Version: 2.1\\nName: tinysdist\\nVersion: 1.0\\nRequires-Dist: foo<2\\n"


def _record(files):
    rows = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        rows.append(f"{name},sha256={digest},{len(data)}")
    return "\\n".join(rows + ["tinysdist-1.0.dist-info/RECORD,,"]) + "\\n"


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = "tinysdist-1.0-py3-none-any.whl"
    files = dict(FILES)
    files["tinysdist-1.0.dist-info/METADATA"] = META
    files["tinysdist-1.0.dist-info/WHEEL"] = (
        b"Wheel-Version: 1.0\\nGenerator: tiny\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
    )
    with zipfile.ZipFile(f"{wheel_directory}/{name}", "w") as zf:
        for member, data in files.items():
            zf.writestr(member, data)
        zf.writestr("tinysdist-1.0.dist-info/RECORD", _record(files))
    return name


def build_sdist(sdist_directory, config_settings=None):
    raise NotImplementedError
"""
    src = dest / "src" / "tinysdist-1.0"
    src.mkdir(parents=True)
    (src / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n\n'
        '[project]\nname = "tinysdist"\nversion = "1.0"\ndependencies = ["foo<2"]\n'
    )
    (src / "backend.py").write_text(backend)
    (src / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: tinysdist\nVersion: 1.0\nRequires-Dist: foo<2\n")
    sdist = dest / "tinysdist-1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as tf:
        tf.add(src, arcname="tinysdist-1.0")
    shutil.rmtree(dest / "src")
    return sdist


@pytest.mark.parametrize("resolver", ["uv", "pip"])
def test_an_sdist_only_dependency_is_built_and_used(tmp_path: Path, wheels: Path, resolver: str) -> None:
    local = tmp_path / "wheels"
    local.mkdir()
    for wheel in pick(wheels, "foo"):
        shutil.copy(wheel, local)
    sdist_only(local)
    root = write_project(tmp_path / "app", local, ["foo>=2"], ["tinysdist"])
    assert (
        main(["build", "--project", str(root), "--resolver", resolver, "--cache-dir", str(tmp_path / "c"), "-q"]) == 0
    )
    assert 'name = "tinysdist-1.0.tar.gz"' in (root / "pylock.mvpy-vendor.toml").read_text()
    names = set(wheel_bytes(root / "wheelhouse"))
    assert "tinysdist-1.0-py3-none-any.whl" in names and "mv_foo_1_0_0-1.0.0-py3-none-any.whl" in names
    python = install_wheelhouse(root / "wheelhouse", tmp_path / "venv")
    code = "import foo, tinysdist; assert foo.API == 2 and tinysdist.VALUE == 42; print('ok')"
    assert subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout == "ok\n"


def test_a_target_other_than_the_running_one(tmp_path: Path, wheels: Path) -> None:
    local = tmp_path / "wheels"
    local.mkdir()
    for wheel in pick(wheels, *FOO_SET):
        shutil.copy(wheel, local)
    make_wheel(local, "newpy", "2.0", {"newpy.py": b""}, (), ">=3.12")
    make_wheel(local, "newpy", "1.0", {"newpy.py": b""}, (), ">=3.8")
    other = "3.12" if sys.version_info[:2] != (3, 12) else "3.13"
    root = write_project(
        tmp_path / "app", local, ["foo>=2", "newpy"], ["slow-package"], f'python-version = "{other}"\n'
    )
    for resolver in ("uv", "pip"):
        assert main(["build", "--project", str(root), "--resolver", resolver, "--plan-only", "-q"]) == 0
        lock = (root / "pylock.mvpy-vendor.toml").read_text()
        assert 'name = "newpy-2.0-py3-none-any.whl"' in lock and f'python-version = "{other}"' in lock, resolver


def test_unresolvable_isolate_entry_names_the_world_and_the_resolver_s_message(
    foo_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["build", "--project", str(foo_project), "--isolate", "no-such-dist>=1", "--resolver", "pip"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(
        "mvpy-vendor: error: --isolate: world isolate-no-such-dist (no-such-dist>=1) cannot be resolved; pip says:"
    )
    assert "no-such-dist" in err.split("pip says:")[1] and err.count("\n") == 0


def test_real_pydantic_2_app_with_an_isolated_package_that_needs_pydantic_1(tmp_path: Path) -> None:
    """From the registry: an app on pydantic 2, fastapi 0.99.1 (needs pydantic<2) isolated; locked, built, verified."""
    probe = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(tmp_path / "probe"), "fastapi==0.99.1"],
        capture_output=True, text=True, check=False,
        env={k: v for k, v in os.environ.items() if k != "PIP_CONFIG_FILE"},
    )  # fmt: skip
    if probe.returncode != 0:
        pytest.skip(f"the registry cannot be reached: {(probe.stderr.strip().splitlines() or ['?'])[-1]}")
    os.environ.pop("PIP_CONFIG_FILE")
    os.environ.pop("UV_NO_CONFIG")
    root = tmp_path / "app"
    root.mkdir()
    (root / "pyproject.toml").write_text(
        '[project]\nname = "real-app"\nversion = "0"\ndependencies = ["pydantic>=2,<3"]\n\n'
        '[tool.mvpy-vendor]\nisolate = ["fastapi==0.99.1"]\n'
    )
    cache = str(real_wheel_cache() / "project-store")
    assert main(["build", "--project", str(root), "--cache-dir", cache, "--verify", "-q"]) == 0
    first = wheel_bytes(root / "wheelhouse")
    assert (
        main(["build", "--project", str(root), "--cache-dir", cache, "--locked", "--out", str(root / "again"), "-q"])
        == 0
    )
    assert wheel_bytes(root / "again") == first
    assert any(name.startswith("mv_pydantic_1_") for name in first)
    python = install_wheelhouse(root / "wheelhouse", tmp_path / "venv")
    code = textwrap.dedent(
        """\
        import pydantic, fastapi
        from fastapi import FastAPI
        from pydantic import BaseModel

        class New(BaseModel):
            x: int
        assert pydantic.VERSION.startswith("2.") and New.model_validate({"x": "3"}).x == 3
        app = FastAPI()

        @app.get("/")
        def root() -> dict:
            return {}
        import fastapi.dependencies.utils as u, sys
        v1 = sys.modules[u.BaseModel.__module__.split(".")[0]]
        assert v1.VERSION.startswith("1.10"), v1.VERSION
        print("ok", fastapi.__version__, pydantic.VERSION, v1.VERSION)
        """
    )
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0 and out.stdout.startswith("ok 0.99.1 2."), out.stderr
