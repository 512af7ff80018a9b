"""The build backend (mvpy_vendor.backend) and the hatch hook, run for real: python -m build, pip, uv.

Build isolation installs mvpy-vendor itself into the build environment: a wheel of this worktree
is built once per session and offered through find-links, beside the fixture wheels (foo 1.0.0
and 2.0.0, cfoo 1.0 and 2.0, compiled with gcc); setuptools and hatchling come from the registry
(pip's and uv's own configuration). A test skips only when those cannot be had.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from mvpy_vendor.backend.config import load_config
from mvpy_vendor.backend.embed import embedded_wheels, write_wheelhouse
from mvpy_vendor.errors import ConfigError
from mvpy_vendor.verify import verify_wheelhouse

from .conftest import ROOT, download, make_wheel, new_venv, rewrite_wheel, uv_binary

pytestmark = pytest.mark.slow

UV = uv_binary()

LIB_CODE = """import foo
import foo.sub.deep
from foo import greet


def which():
    return foo.__version__, foo.API, greet("{name}")
"""


@pytest.fixture(scope="module")
def links(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """find-links: a wheel of this worktree and the fixture wheels."""
    out = tmp_path_factory.mktemp("links")
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "-o", str(out), str(ROOT)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot build mvpy-vendor itself (hatchling from the registry?): {proc.stderr[-300:]}")
    subprocess.run(
        [sys.executable, str(ROOT / "testwheels" / "build_wheels.py"), str(out), "foo", "cfoo"],
        check=True, capture_output=True,
    )  # fmt: skip
    download(out / "registry", "packaging")  # what the fixture libraries need besides what they embed
    return out


def _env(links: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PIP_FIND_LINKS"] = " ".join(filter(None, [str(links), os.environ.get("PIP_FIND_LINKS", "")]))
    env["UV_FIND_LINKS"] = str(links)
    env["SOURCE_DATE_EPOCH"] = "1700000000"
    return env


def _run(cmd: list[str], cwd: Path, env: dict[str, str], ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if ok and proc.returncode != 0:
        tail = (proc.stdout + proc.stderr)[-3000:]
        if "Could not find a version that satisfies" in tail and ("setuptools" in tail or "hatchling" in tail):
            pytest.skip(f"the registry is unreachable: {tail[-300:]}")
        raise AssertionError(f"{' '.join(cmd)} failed:\n{tail}")
    return proc


def make_lib(
    root: Path,
    name: str,
    links: Path,
    *,
    inner: str | None = "setuptools.build_meta",
    embed: str = "foo<2",
    hook: bool = False,
    code: str = LIB_CODE,
) -> Path:
    """A library project using ``embed``: built by the backend around ``inner``, or by hatchling with the hook."""
    src = root / name
    (src / "src" / name).mkdir(parents=True)
    (src / "src" / name / "__init__.py").write_text(code.format(name=name))
    dist = embed.split("<")[0]
    table = f'embed = ["{embed}"]\nfind-links = ["{links}"]\nno-index = true\n'
    if hook:
        build = 'requires = ["hatchling", "mvpy-vendor"]\nbuild-backend = "hatchling.build"\n'
        tool = f'[tool.hatch.build.targets.wheel]\npackages = ["src/{name}"]\n\n'
        tool += f"[tool.hatch.build.hooks.mvpy-vendor]\n{table}"
    else:
        requires = '"setuptools>=68"' if inner and inner.startswith("setuptools") else '"hatchling"'
        build = f'requires = ["mvpy-vendor", {requires}]\nbuild-backend = "mvpy_vendor.backend"\n'
        tool = f'[tool.mvpy-vendor.backend]\ninner = "{inner}"\n{table}'
        if inner == "hatchling.build":
            tool += f'\n[tool.hatch.build.targets.wheel]\npackages = ["src/{name}"]\n'
    (src / "pyproject.toml").write_text(
        f'[build-system]\n{build}\n[project]\nname = "{name}"\nversion = "0.1.0"\n'
        f'dependencies = ["{embed}", "packaging"]\n\n{tool}'
    )
    (src / "LICENSE").write_text("MIT, for the test\n")
    del dist
    return src


def _tree(root: Path) -> list[str]:
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if "build" not in p.relative_to(root).parts and not any(x.endswith(".egg-info") for x in p.parts)
    )


def _members(wheel: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(wheel) as zf:
        return {n: zf.read(n) for n in zf.namelist() if not n.endswith("/RECORD")}


def _check_installed(wheels: list[Path], tmp: Path, libs: list[str], links: Path) -> Path:
    """Install ``wheels`` beside foo 2.0.0 in a fresh venv; each side sees its own foo; verify is clean."""
    house = write_wheelhouse([*wheels, *links.glob("foo-2.0.0-*.whl"), *links.glob("registry/*.whl")], tmp / "house")
    venv = tmp / "venv"
    python = new_venv(venv)
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-index", "--find-links",
         str(house), "-r", str(house / "requirements.txt")],
        check=True,
    )  # fmt: skip
    probe = "import foo, json\n" + "".join(f"import {n}\n" for n in libs)
    probe += "print(json.dumps([foo.__version__, foo.API, " + ", ".join(f"{n}.which()" for n in libs) + "]))"
    out = subprocess.run([str(python), "-c", probe], check=True, capture_output=True, text=True).stdout
    data = json.loads(out)
    assert data[:2] == ["2.0.0", 2]
    for lib, seen in zip(libs, data[2:]):
        assert seen == ["1.0.0", 1, f"foo1 says hello to {lib}"]
    result = verify_wheelhouse(house)
    assert result.ok, [f.to_json() for f in result.findings]
    assert result.modules_imported > 5
    return python


def test_setuptools_sdist_then_wheel(tmp_path: Path, links: Path) -> None:
    lib = make_lib(tmp_path, "mylib", links)
    env = _env(links)
    _run([sys.executable, "-m", "mvpy_vendor", "lock", "--embed"], lib, env)
    assert 'name = "embed"' in (lib / "pylock.mvpy-vendor.toml").read_text()
    before = _tree(lib)
    _run([sys.executable, "-m", "build", "-o", str(tmp_path / "dist"), str(lib)], lib, env)  # sdist, then wheel from it
    _run([sys.executable, "-m", "build", "--wheel", "-o", str(tmp_path / "tree"), str(lib)], lib, env)
    assert _tree(lib) == before  # setuptools itself writes build/ and *.egg-info there; the backend nothing
    wheel = next((tmp_path / "dist").glob("*.whl"))
    from_tree = next((tmp_path / "tree").glob("*.whl"))
    assert _members(wheel) == _members(from_tree)
    members = _members(wheel)
    assert "_mv_mylib_foo_1_0_0/__init__.py" in members
    assert b"import _mv_mylib_foo_1_0_0 as foo" in members["mylib/__init__.py"]
    meta = members["mylib-0.1.0.dist-info/METADATA"].decode()
    assert "Requires-Dist: packaging" in meta and "foo" not in meta.split("Requires-Dist: packaging")[0] + meta
    with tarfile.open(next((tmp_path / "dist").glob("*.tar.gz"))) as sdist:
        names = sdist.getnames()
        assert "mylib-0.1.0/pylock.mvpy-vendor.toml" in names
        pkg = sdist.extractfile("mylib-0.1.0/PKG-INFO").read().decode()  # type: ignore[union-attr]
        assert "Requires-Dist: foo<2" in pkg and "Dynamic: Requires-Dist" in pkg
        assert b"import foo\n" in sdist.extractfile("mylib-0.1.0/src/mylib/__init__.py").read()  # type: ignore[union-attr]
    _check_installed([wheel], tmp_path, ["mylib"], links)


def test_hatchling_inner_uv_build(tmp_path: Path, links: Path) -> None:
    lib = make_lib(tmp_path, "hlib", links, inner="hatchling.build")
    _run([UV, "build", "-o", str(tmp_path / "dist"), str(lib)], lib, _env(links))
    wheel = next((tmp_path / "dist").glob("*.whl"))
    assert "_mv_hlib_foo_1_0_0/sub/deep.py" in _members(wheel)
    _check_installed([wheel], tmp_path, ["hlib"], links)


def test_hatch_hook(tmp_path: Path, links: Path) -> None:
    lib = make_lib(tmp_path, "hooklib", links, inner=None, hook=True)
    _run([sys.executable, "-m", "build", "--wheel", "-o", str(tmp_path / "dist"), str(lib)], lib, _env(links))
    wheel = next((tmp_path / "dist").glob("*.whl"))
    members = _members(wheel)
    assert b"import _mv_hooklib_foo_1_0_0 as foo" in members["hooklib/__init__.py"]
    _check_installed([wheel], tmp_path, ["hooklib"], links)


def test_pip_install_dot_and_editable_refused(tmp_path: Path, links: Path) -> None:
    lib = make_lib(tmp_path, "piplib", links)
    env = _env(links)
    python = new_venv(tmp_path / "venv")
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q"]
    _run([*pip, "foo==2.0.0", str(next(links.glob("registry/packaging-*.whl")))], lib, env)
    _run([*pip, "."], lib, env)
    out = _run([str(python), "-c", "import foo, piplib; print(foo.__version__, piplib.which()[0])"], lib, env)
    assert out.stdout.split() == ["2.0.0", "1.0.0"]
    edit = _run([*pip, "-e", str(tmp_path / "piplib")], lib, env, ok=False)
    assert edit.returncode != 0
    assert "an editable install cannot embed foo<2" in edit.stdout + edit.stderr


def test_two_libraries_share_nothing(tmp_path: Path, links: Path) -> None:
    env = _env(links)
    wheels = []
    for name in ("alib", "blib"):
        lib = make_lib(tmp_path, name, links)
        _run([sys.executable, "-m", "build", "--wheel", "-o", str(tmp_path / "dist"), str(lib)], lib, env)
        wheels.append(next((tmp_path / "dist").glob(f"{name}-*.whl")))
    python = _check_installed(wheels, tmp_path, ["alib", "blib"], links)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "uninstall", "-y", "-q", "alib"], check=True)
    out = subprocess.run([str(python), "-c", "import foo, blib; print(foo.__version__, *blib.which()[:2])"],
                         check=True, capture_output=True, text=True)  # fmt: skip
    assert out.stdout.split() == ["2.0.0", "1.0.0", "1"]
    gone = subprocess.run([str(python), "-c", "import alib"], capture_output=True, text=True)
    assert gone.returncode != 0


CFOO_CODE = """import cfoo


def which():
    return cfoo.__name__, cfoo.version()
"""


def test_compiled_copy(tmp_path: Path, links: Path) -> None:
    lib = make_lib(tmp_path, "clib", links, embed="cfoo<2", code=CFOO_CODE)
    _run([sys.executable, "-m", "build", "--wheel", "-o", str(tmp_path / "dist"), str(lib)], lib, _env(links))
    wheel = next((tmp_path / "dist").glob("*.whl"))
    assert "-cp3" in wheel.name and "none-any" not in wheel.name
    house = write_wheelhouse([wheel, *links.glob("cfoo-2.0-*.whl"), *links.glob("registry/*.whl")], tmp_path / "house")
    python = new_venv(tmp_path / "venv")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-index",
                    "--find-links", str(house), "-r", str(house / "requirements.txt")], check=True)  # fmt: skip
    out = subprocess.run([str(python), "-c", "import cfoo, clib; print(cfoo.version(), *clib.which())"],
                         check=True, capture_output=True, text=True)  # fmt: skip
    assert out.stdout.split() == ["2.0", "_mv_clib_cfoo_1_0", "1.0"]
    assert verify_wheelhouse(house).ok


def test_prepare_metadata_equals_wheel(tmp_path: Path, links: Path) -> None:
    from build import ProjectBuilder
    from build.env import DefaultIsolatedEnv

    lib = make_lib(tmp_path, "metalib", links)
    os.environ["PIP_FIND_LINKS"] = _env(links)["PIP_FIND_LINKS"]
    try:
        with DefaultIsolatedEnv() as env:
            builder = ProjectBuilder.from_isolated_env(env, lib)
            env.install(builder.build_system_requires)
            env.install(builder.get_requires_for_build("wheel"))
            meta_dir = Path(builder.prepare("wheel", tmp_path / "meta") or "")
            wheel = Path(builder.build("wheel", tmp_path / "dist"))
    finally:
        del os.environ["PIP_FIND_LINKS"]
    members = _members(wheel)
    prepared = {p.relative_to(meta_dir).as_posix(): p.read_bytes() for p in meta_dir.rglob("*") if p.is_file()}
    in_wheel = {n.split("/", 1)[1]: d for n, d in members.items() if n.startswith(f"{meta_dir.name}/")}
    assert prepared == in_wheel
    assert b"foo" not in prepared["METADATA"].split(b"\n\n")[0].replace(b"metalib", b"")


def test_config_errors(tmp_path: Path, links: Path) -> None:
    lib = make_lib(tmp_path, "badlib", links)
    text = (lib / "pyproject.toml").read_text()
    (lib / "pyproject.toml").write_text(text.replace('inner = "setuptools.build_meta"\n', ""))
    with pytest.raises(ConfigError, match=r"pyproject.toml:\d+: \[tool.mvpy-vendor.backend\] inner: missing"):
        load_config(lib)
    (lib / "pyproject.toml").write_text(text.replace("embd", "x").replace("no-index = true", "no-index = 1"))
    with pytest.raises(ConfigError, match=r"pyproject.toml:\d+: \[tool.mvpy-vendor.backend\] no-index: expected true"):
        load_config(lib)
    (lib / "pyproject.toml").write_text(text.replace('embed = ["foo<2"]', 'embed = ["foo>=7"]'))
    with pytest.raises(ConfigError, match=r"embed: world embed \(foo>=7\) cannot be resolved"):
        embedded_wheels(load_config(lib), tmp_path)
    config = load_config(lib, {"mvpy-vendor.embed": ["foo<2", "cfoo<2"], "mvpy-vendor.no-index": "false"})
    assert config.embed == ("foo<2", "cfoo<2") and config.get("no-index") is False
    with pytest.raises(ConfigError, match=r"config setting mvpy-vendor\.embedd: unknown key"):
        load_config(lib, {"mvpy-vendor.embedd": "x"})


@pytest.mark.filterwarnings("ignore")
def test_licences_and_requirements_in_process(tmp_path: Path, links: Path) -> None:
    """embed_into alone: the copy's licence is listed in the library's METADATA; an external
    dependency of the copy becomes the library's requirement; the embedded one is gone."""
    from mvpy_vendor.backend.embed import embed_into

    foo = next(links.glob("foo-1.0.0-*.whl"))
    with zipfile.ZipFile(foo) as zf:
        meta = zf.read("foo-1.0.0.dist-info/METADATA").decode().replace("\n\n", "\nRequires-Dist: packaging>=20\n\n", 1)
    licensed = rewrite_wheel(
        foo,
        {"foo-1.0.0.dist-info/licenses/LICENSE": b"foo licence\n", "foo-1.0.0.dist-info/METADATA": meta.encode()},
        tmp_path / "in",
    )
    packaging = next(links.glob("registry/packaging-*.whl"))
    lib = make_lib(tmp_path, "inlib", links)
    library = make_wheel(
        tmp_path / "lib", "inlib", "0.1.0", {"inlib/__init__.py": b"import foo\n"}, requires=("foo<2", "packaging")
    )
    config = load_config(lib, {"mvpy-vendor.external": "packaging"})
    (tmp_path / "out").mkdir()
    out = embed_into(library, config, [licensed, packaging], tmp_path / "out")
    members = _members(out)
    meta_out = members["inlib-0.1.0.dist-info/METADATA"].decode()
    assert "License-File: mv-inlib-foo-1-0-0/LICENSE" in meta_out
    assert "Metadata-Version: 2.4" in meta_out
    assert members["inlib-0.1.0.dist-info/licenses/mv-inlib-foo-1-0-0/LICENSE"] == b"foo licence\n"
    requires = [ln for ln in meta_out.splitlines() if ln.startswith("Requires-Dist:")]
    assert requires == ["Requires-Dist: packaging", "Requires-Dist: packaging>=20"]
    assert "_mv_inlib_foo_1_0_0/__init__.py" in members and not any(
        n.startswith("_mv_inlib_packaging") for n in members
    )
