"""Real wheels from the registry: pydantic 1.10 (pure-Python wheel) and pydantic 2 in one process.

The wheels are downloaded once into a cache (``MVPY_TEST_CACHE``, default
``~/.cache/mvpy-vendor-tests``); the tests are skipped, with the reason shown, only when the
registry cannot be reached.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path
from typing import Any

import lief
import pytest

from mvpy_vendor.cli import main
from mvpy_vendor.native import inspect_native, patch_native

from .conftest import EXT_SUFFIX, clean_env, download, gather, install_wheelhouse, make_wheel, pick, real_wheel_cache

pytestmark = pytest.mark.slow

PYDANTIC_1 = "pydantic==1.10.27"
PYDANTIC_2 = "pydantic==2.14.3"
# Two versions of each compiled library: C (ujson, markupsafe), Cython 3.0 (msgpack 1.0), Rust (orjson).
COMPILED = {
    "ujson": ("6.1.0", "5.10.0"),
    "msgpack": ("1.2.4", "1.0.8"),
    "markupsafe": ("3.0.4", "2.1.5"),
    "orjson": ("3.13.0", "3.10.18"),
}


@pytest.fixture(scope="session")
def pydantic_wheels() -> Path:
    """pydantic 2 with its dependencies, and pydantic 1.10's pure-Python wheel (not the compiled one)."""
    cache = real_wheel_cache()
    v2 = cache / "pydantic2"
    if not list(v2.glob("pydantic-2*.whl")):
        download(v2, PYDANTIC_2)
    v1 = cache / "pydantic1-pure"
    if not list(v1.glob("pydantic-1*-py3-none-any.whl")):
        download(v1, "--no-deps", "--platform", "any", PYDANTIC_1)
    return cache


@pytest.fixture(scope="session")
def compiled_wheels() -> Path:
    cache = real_wheel_cache() / "compiled"
    for name, versions in COMPILED.items():
        for version in versions:
            if not [p for p in cache.glob("*.whl") if p.name.lower().startswith(f"{name}-{version}-")]:
                download(cache, "--no-deps", f"{name}=={version}")
    return cache


@pytest.fixture(scope="session")
def pydantic1_compiled() -> Path:
    cache = real_wheel_cache() / "pydantic1-compiled"
    if not list(cache.glob("pydantic-1*-cp*.whl")):
        download(cache, "--no-deps", PYDANTIC_1)
    return cache


def compared(report: dict[str, Any]) -> dict[str, dict[str, tuple[str, int]]]:
    """The differential check in a build report: output -> module -> (verdict, types compared)."""
    return {
        o["distribution"]: {m["module"]: (m["verdict"], m.get("types", 0)) for m in o["differential_check"]["modules"]}
        for o in report["outputs"]
        if "differential_check" in o
    }


def test_two_versions_of_compiled_libraries(
    compiled_wheels: Path, pydantic_wheels: Path, pydantic1_compiled: Path, wheels: Path, tmp_path: Path
) -> None:
    """One wheel set: two versions each of ujson, markupsafe, msgpack, orjson and (compiled) pydantic."""
    inputs = gather(
        tmp_path / "in",
        [
            *compiled_wheels.glob("*.whl"),
            *(pydantic_wheels / "pydantic2").glob("*.whl"),
            *pydantic1_compiled.glob("*.whl"),
            *pick(wheels, "pydantic_v1_user", "pydantic_v2_app"),
        ],
    )
    out = tmp_path / "out"
    roots = [f"--require={n}=={v}" for n, versions in COMPILED.items() for v in versions] + [
        "--require=pydantic-v2-app"
    ]
    assert main(["build", "-q", "--wheels", str(inputs), "--out", str(out), *roots]) == 0
    report = json.loads((out / "mvpy-vendor-report.json").read_text())
    statuses = {
        f["member"]: f["status"] for o in report["outputs"] if o["action"] == "rename" for f in o["files"]
    }  # fmt: skip
    ext = sysconfig.get_config_var("EXT_SUFFIX")
    # Names inside longer strings (docstrings, messages) are reported, neither patched nor blocking.
    cmsgpack = next(
        m for o in report["outputs"] if o["distribution"] == "mv-msgpack-1-0-8" for m in o["compiled_modules"]
    )
    embedded = [x for x in cmsgpack["occurrences"] if x["kind"] == "embedded"]
    assert embedded and not any(x["blocks"] or x["patchable"] for x in embedded)
    assert any("not valid msgpack." in x["text"] for x in embedded)
    # Every patched module imported beside its original and compared: the same (pydantic 1's
    # compiled modules are de-accelerated, none is patched).
    assert compared(report) == {
        "mv-markupsafe-2-1-5": {"markupsafe._speedups": ("same", 0)},
        "mv-msgpack-1-0-8": {"msgpack._cmsgpack": ("same", 9)},
        "mv-orjson-3-10-18": {"orjson.orjson": ("same", 2)},
        "mv-ujson-5-10-0": {"ujson": ("same", 1)},
    }
    pydantic_modules = {m: s for m, s in statuses.items() if m.startswith("pydantic/") and m.endswith(".so")}
    assert len(pydantic_modules) == 25 and set(pydantic_modules.values()) == {"de-accelerated"}
    assert {m: s for m, s in statuses.items() if m.endswith(".so") and not m.startswith("pydantic/")} == {
        f"markupsafe/_speedups{ext}": "patched",
        f"msgpack/_cmsgpack{ext}": "patched",
        f"orjson/orjson{ext}": "patched",
        f"ujson{ext}": "patched",
    }
    python, env = install_wheelhouse(out, tmp_path / "venv"), clean_env()
    code = """
import json, pickle, sys
import ujson, _mv_ujson_5_10_0 as ujson5, msgpack, _mv_msgpack_1_0_8 as msgpack10
import markupsafe, _mv_markupsafe_2_1_5 as markupsafe2, orjson, _mv_orjson_3_10_18 as orjson310
try:
    orjson310.loads("{")
except orjson310.JSONDecodeError as exc:
    orjson_error = type(exc).__module__
print(json.dumps({
    "ujson": [ujson.__version__, ujson5.__version__, ujson5.dumps([1]), ujson5.JSONDecodeError.__module__],
    "msgpack": [list(msgpack.version), list(msgpack10.version), msgpack10.unpackb(msgpack10.packb({"x": 1})),
                msgpack10.Packer.__module__],
    "markupsafe": [str(markupsafe2.escape("<b>")), type(markupsafe2.escape("<b>")).__module__,
                   markupsafe2._speedups.__name__],
    "orjson": [orjson.__version__, orjson310.__version__, orjson310.dumps([1]).decode(), orjson_error],
    "unrenamed": sorted(k for k in sys.modules if k.split(".")[0] in ("ujson", "msgpack", "markupsafe", "orjson")),
}))
import pydantic_v2_app
pydantic_v2_app.main()
"""
    lines = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    seen, pydantic_seen = map(json.loads, lines.splitlines())
    assert pydantic_seen["app"]["version"] == "2.14.3" and pydantic_seen["app"]["rejected"]
    assert pydantic_seen["library"]["version"] == "1.10.27" and pydantic_seen["library"]["rejected"]
    assert pydantic_seen["library"]["module"] == "_mv_pydantic_1_10_27"
    assert seen == {
        "ujson": ["6.1.0", "5.10.0", "[1]", "_mv_ujson_5_10_0"],
        "msgpack": [[1, 2, 4], [1, 0, 8], {"x": 1}, "_mv_msgpack_1_0_8._cmsgpack"],
        "markupsafe": ["&lt;b&gt;", "_mv_markupsafe_2_1_5", "_mv_markupsafe_2_1_5._speedups"],
        "orjson": ["3.13.0", "3.10.18", "[1]", "_mv_orjson_3_10_18"],
        # only the primaries, which this script imported itself
        "unrenamed": ["markupsafe", "markupsafe._speedups", "msgpack", "msgpack._cmsgpack", "msgpack.exceptions",
                      "msgpack.ext", "orjson", "orjson.orjson", "ujson"],
    }  # fmt: skip
    assert main(["verify", str(out)]) == 0


@pytest.mark.parametrize("pydantic1", ["pure", "compiled"])
def test_pydantic_1_and_2_in_one_process(
    pydantic1: str, pydantic_wheels: Path, request: pytest.FixtureRequest, wheels: Path, tmp_path: Path
) -> None:
    v1 = pydantic_wheels / "pydantic1-pure" if pydantic1 == "pure" else request.getfixturevalue("pydantic1_compiled")
    inputs = gather(
        tmp_path / "in",
        [
            *(pydantic_wheels / "pydantic2").glob("*.whl"),
            *v1.glob("*.whl"),
            *pick(wheels, "pydantic_v1_user", "pydantic_v2_app"),
        ],
    )
    out = tmp_path / "out"
    assert main(["build", "-q", "--wheels", str(inputs), "--out", str(out)]) == 0
    report = json.loads((out / "mvpy-vendor-report.json").read_text())
    roles = {(p["distribution"], p["version"], p["role"]) for p in report["plan"]["placements"]}
    assert ("pydantic", "2.14.3", "primary") in roles
    assert ("pydantic", "1.10.27", "renamed copy") in roles
    assert ("pydantic-v1-user", "1.0", "rewritten consumer") in roles
    copy = next(o for o in report["outputs"] if o["action"] == "rename")
    compiled = [f for f in copy["files"] if f["member"].endswith(".so")]
    if pydantic1 == "compiled":
        # Built with Cython 3.1+: its packed string tables cannot be patched, so every compiled
        # module is dropped for the .py source the wheel ships beside it.
        assert len(compiled) == 25 and {f["status"] for f in compiled} == {"de-accelerated"}
    else:
        assert compiled == []

    python, env = install_wheelhouse(out, tmp_path / "venv"), clean_env()
    seen = subprocess.run(
        [str(python), "-c", "import pydantic_v2_app; pydantic_v2_app.main()"],
        check=True, capture_output=True, text=True, env=env,
    ).stdout  # fmt: skip
    assert json.loads(seen) == {
        "app": {"version": "2.14.3", "module": "pydantic", "dict": {"name": "v2", "count": 4}, "rejected": True},
        "library": {
            "version": "1.10.27",
            "module": "_mv_pydantic_1_10_27",
            "dict": {"name": "v1", "count": 3},
            "rejected": True,
        },
    }
    assert main(["verify", str(out)]) == 0


FOREIGN = {"Mach-O arm64": "macosx_11_0_arm64", "Mach-O x86_64": "macosx_10_9_x86_64", "PE": "win_amd64"}


@pytest.fixture(scope="session")
def foreign_ujson() -> dict[str, Path]:
    """ujson 5.10.0 for macOS (arm64, x86-64) and Windows (amd64): patched here, loaded there."""
    cache = real_wheel_cache() / "foreign"
    found = {}
    for key, platform in FOREIGN.items():
        wheels = list(cache.glob(f"ujson-5.10.0-*{platform}.whl"))
        if not wheels:
            download(cache, "--no-deps", "--platform", platform, "--python-version", "3.11", "ujson==5.10.0")
            wheels = list(cache.glob(f"ujson-5.10.0-*{platform}.whl"))
        found[key] = wheels[0]
    return found


def _compiled_member(wheel: Path) -> tuple[str, bytes]:
    with zipfile.ZipFile(wheel) as zf:
        (member,) = [n for n in zf.namelist() if n.endswith((".so", ".pyd"))]
        return member, zf.read(member)


@pytest.mark.parametrize("platform", FOREIGN)
def test_foreign_binaries_are_inspected(platform: str, foreign_ujson: dict[str, Path]) -> None:
    member, data = _compiled_member(foreign_ujson[platform])
    found = inspect_native(data, member, {"ujson": "_mv_ujson_5_10_0"})
    assert (found.format, found.arch, found.init_symbols, found.init_kind) == (
        platform.split()[0],
        {"Mach-O arm64": "ARM64", "Mach-O x86_64": "X86_64", "PE": "AMD64"}[platform],
        ("PyInit_ujson",),
        "single-phase",
    )
    # The module name is a relocated pointer in the module definition; the exception name is
    # loaded by code (an adrp/add pair on arm64, a RIP-relative lea on x86-64; on Windows past
    # the data MSVC leaves inside .text), followed to the imported function it is passed to
    # (a stub on macOS, the IAT on Windows).
    assert {o.text: (o.kind, o.detail) for o in found.occurrences if o.kind != "embedded"} == {
        "ujson": ("relocated", "m_name of a PyModuleDef"),
        "ujson.JSONDecodeError": ("code", "the qualified exception name of PyErr_NewException"),
    }
    # The module's own file name is kept in the binary (reported, neither patched nor blocking).
    assert {o.text for o in found.occurrences if o.kind == "embedded"} <= {
        "ujson.cpython-311-darwin.so",
        "ujson.cp311-win_amd64.pyd",
    }
    assert found.patchable


@pytest.mark.parametrize("platform", FOREIGN)
def test_foreign_binaries_are_patched(platform: str, foreign_ujson: dict[str, Path]) -> None:
    member, data = _compiled_member(foreign_ujson[platform])
    patched = patch_native(data, member, {"ujson": "_mv_ujson_5_10_0"}, ("ujson", "_mv_ujson_5_10_0"))
    after = inspect_native(patched, member, {"ujson": "x"})
    assert after.init_symbols == ("PyInit__mv_ujson_5_10_0",)
    # Nothing refers to the old names any more ...
    assert {o.text: o.kind for o in after.occurrences if o.kind != "embedded"} == {
        "ujson": "unreferenced",
        "ujson.JSONDecodeError": "unreferenced",
    }
    # ... and the new names carry exactly the references the old ones had.
    new = inspect_native(patched, member, {"_mv_ujson_5_10_0": "x"})
    assert {(o.text, o.kind, o.references) for o in new.occurrences} == {
        ("_mv_ujson_5_10_0", "relocated", 1),
        ("_mv_ujson_5_10_0.JSONDecodeError", "code", 1),
    }
    if platform.startswith("Mach-O"):
        binary = lief.MachO.parse(io.BytesIO(patched)).at(0)
        exported = [s.name for s in binary.exported_symbols]
        assert "_PyInit__mv_ujson_5_10_0" in exported and "_PyInit_ujson" not in exported
        assert not binary.has_code_signature  # to be ad-hoc re-signed on macOS
    else:
        binary = lief.PE.parse(io.BytesIO(patched))
        exported = [e.name for e in binary.get_export().entries]
        assert "PyInit__mv_ujson_5_10_0" in exported and "PyInit_ujson" not in exported
        assert exported == sorted(exported)  # the loader binary-searches the name table
        assert binary.optional_header.checksum == 0


# mypyc-compiled wheels: one shared library ``<hash>__mypyc`` at the wheel's root holds the code
# of every compiled module; each module is a shim that imports it by name and takes a capsule
# named ``<hash>__mypyc.init_<module>``; the library looks itself up in sys.modules by a name
# kept, like its imports, in mypyc's length-prefixed string table.
MYPYC = {
    "charset-normalizer": ("3.5.3", "3.4.9"),  # 3.4 has the shared library, 3.5 one library per module
    "black": ("25.12.0", "24.10.0"),  # both name their library 30fcd23745efe32ce681__mypyc
}


@pytest.fixture(scope="session")
def mypyc_wheels() -> Path:
    cache = real_wheel_cache() / "mypyc"
    for name, versions in MYPYC.items():
        for version in versions:
            stem = name.replace("-", "_")
            if not list(cache.glob(f"{stem}-{version}-cp*.whl")):
                # the primary's dependencies too (black's click, pathspec, pytokens ...)
                download(cache, *(() if version == versions[0] else ("--no-deps",)), f"{name}=={version}")
    return cache


def _mypyc_build(inputs: list[Path], tmp_path: Path) -> tuple[Path, dict[str, str], Path]:
    """``mvpy-vendor build --verify`` (verify must pass), the renamed copy's member statuses, and
    a fresh venv with the wheelhouse installed by pip."""
    src = gather(tmp_path / "in", inputs)
    out = tmp_path / "out"
    assert main(["build", "-q", "--verify", "--wheels", str(src), "--out", str(out)]) == 0
    report = json.loads((out / "mvpy-vendor-report.json").read_text())
    statuses = {f["member"]: f["status"] for o in report["outputs"] if o["action"] == "rename" for f in o["files"]}
    return out, statuses, install_wheelhouse(out, tmp_path / "venv")


def test_charset_normalizer_3_4_beside_3_5(mypyc_wheels: Path, wheels: Path, tmp_path: Path) -> None:
    inputs = [*mypyc_wheels.glob("charset_normalizer-*.whl"), *pick(wheels, "charset_old_user", "charset_new_app")]
    out, statuses, python = _mypyc_build(inputs, tmp_path)
    ext = sysconfig.get_config_var("EXT_SUFFIX")
    assert {m: s for m, s in statuses.items() if m.endswith(".so")} == {
        f"ada92cb5d92a588d1b93__mypyc{ext}": "patched",
        f"charset_normalizer/cd{ext}": "patched",
        f"charset_normalizer/md{ext}": "patched",
    }
    (copy,) = out.glob("mv_charset_normalizer_3_4_9-*.whl")
    assert f"_mv_ada92cb5d92a588d1b93__mypyc_3_4_9{ext}" in zipfile.ZipFile(copy).namelist()
    report = json.loads((out / "mvpy-vendor-report.json").read_text())
    assert compared(report) == {
        "mv-charset-normalizer-3-4-9": {
            "ada92cb5d92a588d1b93__mypyc": ("same", 0),
            "charset_normalizer.cd": ("same", 1),
            "charset_normalizer.md": ("same", 11),
        }
    }
    seen = subprocess.run(
        [str(python), "-c", "import charset_new_app; charset_new_app.main()"],
        check=True, capture_output=True, text=True, env=clean_env(),
    ).stdout  # fmt: skip
    assert json.loads(seen) == {
        "app": {
            "version": "3.5.3",
            "module": "charset_normalizer",
            "md": ["charset_normalizer.md", True],
            "encoding": "cp1250",
            "round_trip": True,
        },
        "library": {
            "version": "3.4.9",
            "module": "_mv_charset_normalizer_3_4_9",
            # compiled (a shim of the shared library), named and defining its classes under the new name
            "md": ["_mv_charset_normalizer_3_4_9.md", "_mv_charset_normalizer_3_4_9.md", True],
            "encoding": "cp1251",
            "round_trip": True,
            "detect": "windows-1251",
        },
    }


def test_black_24_beside_black_25(mypyc_wheels: Path, wheels: Path, tmp_path: Path) -> None:
    inputs = [
        *(w for w in mypyc_wheels.glob("*.whl") if not w.name.startswith("charset_normalizer-")),
        *pick(wheels, "black_old_user", "black_new_app"),
    ]
    out, statuses, python = _mypyc_build(inputs, tmp_path)
    ext = sysconfig.get_config_var("EXT_SUFFIX")
    compiled = {m: s for m, s in statuses.items() if m.endswith(".so")}
    assert compiled[f"30fcd23745efe32ce681__mypyc{ext}"] == "patched"
    assert len(compiled) > 20 and set(compiled.values()) == {"patched"}
    # Both versions' libraries have one name: the copy's must get its own, or pip overwrites one.
    (copy,) = out.glob("mv_black_24_10_0-*.whl")
    assert f"_mv_30fcd23745efe32ce681__mypyc_24_10_0{ext}" in zipfile.ZipFile(copy).namelist()
    # Each compared with its original, with black's dependencies (click, pathspec ...) on both
    # sides' paths; but blib2to3/pgen2/conv, which imports a "pgen2" that exists nowhere.
    report = json.loads((out / "mvpy-vendor-report.json").read_text())
    checked = compared(report)["mv-black-24-10-0"]
    assert len(checked) == 30 and {m for m, (v, _) in checked.items() if v != "same"} == {"blib2to3.pgen2.conv"}
    assert (checked["black"], checked["black.linegen"], checked["blib2to3.pytree"]) == (
        ("same", 38), ("same", 26), ("same", 10),
    )  # fmt: skip
    (black_copy,) = [o for o in report["outputs"] if o["distribution"] == "mv-black-24-10-0"]
    assert [w["reason"] for w in black_copy["warnings"] if w["code"] == "native-uncompared"] == [
        "patched module not compared with the original: the original does not import here (ModuleNotFoundError: "
        "No module named 'pgen2'), nor alone from its file (ModuleNotFoundError: No module named 'pgen2')"
    ]
    (primary,) = out.glob("black-25.12.0-*.whl")
    assert f"30fcd23745efe32ce681__mypyc{ext}" in zipfile.ZipFile(primary).namelist()
    code = "import json, sys, black_new_app; seen = black_new_app.check(); seen['mypyc'] = sorted(k for k in sys.modules if k.endswith('__mypyc') or '__mypyc_' in k); print(json.dumps(seen))"  # noqa: E501
    seen = json.loads(
        subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True, env=clean_env()).stdout
    )
    assert seen == {
        "app": {
            "version": "25.12.0",
            "module": "black",
            "mode": "black.mode",
            # 2025 stable style: lower-case hex escapes, no parentheses around a case guard
            "formatted": 'x = "\\xab"\nmatch x:\n    case 1 if y:\n        pass\n',
        },
        "library": {
            "version": "24.10.0",
            "module": "_mv_black_24_10_0",
            "mode": "_mv_black_24_10_0.mode",
            "formatted": 'x = "\\xAB"\nmatch x:\n    case 1 if (y):\n        pass\n',
            # black.schema finds its resource file "black.schema.json": a file name, not renamed
            "schema": ["check", "code"],
        },
        # black 25's, black 24's renamed, and pytokens' (mypyc-compiled too, needed by black 25 only)
        "mypyc": [
            "30fcd23745efe32ce681__mypyc",
            "_mv_30fcd23745efe32ce681__mypyc_24_10_0",
            "fd7dcdb10166ebd4db98__mypyc",
        ],
    }


def test_mypyc_shared_library_before_and_after_patching(mypyc_wheels: Path) -> None:
    """charset-normalizer 3.4.9's shared library: the names mypyc keeps in its string table (its
    own sys.modules key, the modules it imports and registers) are whole table entries, patched by
    re-encoding their chunk; its shims name the library and capsule in C strings."""
    (wheel,) = mypyc_wheels.glob("charset_normalizer-3.4.9-*.whl")
    ext = sysconfig.get_config_var("EXT_SUFFIX")
    old = {"charset_normalizer": "_mv_charset_normalizer_3_4_9", "ada92cb5d92a588d1b93__mypyc": "_mv_ada_3_4_9"}
    with zipfile.ZipFile(wheel) as zf:
        library, shim = zf.read(f"ada92cb5d92a588d1b93__mypyc{ext}"), zf.read(f"charset_normalizer/md{ext}")
    before = inspect_native(library, "lib.so", old)
    table = {o.text for o in before.occurrences if o.kind == "table"}
    assert {"ada92cb5d92a588d1b93__mypyc", "charset_normalizer.md", "charset_normalizer.utils"} <= table
    assert all(o.references == 1 for o in before.occurrences if o.kind == "table")  # one CPyLit_Str slot each
    # Before this scanner knew the table, these were "embedded" and the copy failed to import with
    # KeyError: 'ada92cb5d92a588d1b93__mypyc'. Prose and file names are still embedded:
    embedded = {o.text for o in before.occurrences if o.kind == "embedded"}
    assert embedded == {"src/charset_normalizer/cd.py", "src/charset_normalizer/md.py"}
    assert {(o.text, o.kind) for o in inspect_native(shim, "md.so", old).occurrences} == {
        ("ada92cb5d92a588d1b93__mypyc", "code"),
        ("ada92cb5d92a588d1b93__mypyc.ensure_deps", "code"),
        ("ada92cb5d92a588d1b93__mypyc.init_charset_normalizer___md", "code"),
    }
    patched = patch_native(library, "lib.so", old, ("ada92cb5d92a588d1b93__mypyc", "_mv_ada_3_4_9"))
    after = inspect_native(patched, "lib.so", old)
    assert after.init_symbols == ("PyInit__mv_ada_3_4_9",)
    assert {o.kind for o in after.occurrences if o.kind not in ("embedded", "kept")} == {"unreferenced"}
    # Type names in mypyc's "X object expected" messages are kept, as the original says them.
    assert {o.detail.partition(",")[0] for o in after.occurrences if o.kind == "kept"} == {
        "a value formatted by PyErr_Format"
    }
    # The renamed chunks (in a segment of their own, which no section covers) hold each entry
    # renamed, behind its new length.
    for text in table:
        first, _, rest = text.partition(".")
        twin = (old[first] + ("." + rest if rest else "")).encode()
        assert bytes([len(twin)]) + twin in patched


SETUPTOOLS_OLD, SETUPTOOLS_NEW = "65.5.1", "80.9.0"


@pytest.fixture(scope="session")
def setuptools_wheels() -> Path:
    cache = real_wheel_cache() / "setuptools"
    for version in (SETUPTOOLS_OLD, SETUPTOOLS_NEW):
        if not list(cache.glob(f"setuptools-{version}-*.whl")):
            download(cache, "--no-deps", f"setuptools=={version}")
    return cache


_LEGACY_BUILD = b"""
import os, sys
import distutils.command.build_py  # with setuptools 65 installed, this is setuptools' own distutils
from setuptools import setup
import setuptools.command.build_py

VERSION = setuptools.__version__


def build(src, out):
    here = os.getcwd()
    os.chdir(src)
    try:
        args = ["-q", "build_py", "--build-lib", out]
        dist = setup(name="tiny", version="1.0", py_modules=["tiny"], script_args=args)
    finally:
        os.chdir(here)
    command = dist.get_command_obj("build_py")
    return {
        "version": VERSION,
        "built": sorted(os.listdir(out)),
        "command": type(command).__module__,
        "base": distutils.command.build_py.build_py.__module__,
        "subclass": issubclass(setuptools.command.build_py.build_py, distutils.command.build_py.build_py),
    }
"""

_MODERN_APP = b"""
import os, sys, tempfile
import setuptools, distutils.core, legacy_build

VERSIONS = (setuptools.__version__, legacy_build.VERSION)


def distutils_seen():
    return {k: getattr(m, "__file__", None) for k, m in sys.modules.items() if k.split(".")[0] == "distutils"}


def main(src):
    seen = [distutils_seen()]
    old = legacy_build.build(src, tempfile.mkdtemp())
    seen.append(distutils_seen())
    args = ["-q", "build_py", "--build-lib", tempfile.mkdtemp()]
    dist = distutils.core.run_setup(os.path.join(src, "setup.py"), args)
    seen.append(distutils_seen())
    return {"versions": VERSIONS, "old": old, "new": type(dist.get_command_obj("build_py")).__module__, "seen": seen,
            "renamed": sorted(k for k in sys.modules if k.split(".")[0] == "_mv_distutils_65_5_1")}
"""


def test_a_renamed_setuptools_does_not_hook_distutils(setuptools_wheels: Path, tmp_path: Path) -> None:
    """setuptools 65 renamed beside 80: its start-up hook (the ``.pth`` file, and the
    ``import _distutils_hack.override`` that ``import setuptools`` runs) would register its
    ``_distutils`` as plain ``distutils``. The plan finds that alias, installs the package as the
    copy's own ``_mv_distutils_65_5_1``, rewrites the copy's (and its consumer's) ``distutils``
    imports to it and writes the module that only runs the hook empty: in one process both
    versions build a project, and ``sys.modules['distutils']`` is always the primary's."""
    inputs = gather(tmp_path / "in", setuptools_wheels.glob("*.whl"))
    make_wheel(
        inputs, "legacy-build", "1.0", {"legacy_build/__init__.py": _LEGACY_BUILD}, (f"setuptools=={SETUPTOOLS_OLD}",)
    )
    make_wheel(inputs, "modern-app", "1.0", {"modern_app/__init__.py": _MODERN_APP}, ("setuptools>=70", "legacy-build"))
    out = tmp_path / "out"
    assert main(["build", "-q", "--wheels", str(inputs), "--out", str(out), "--require", "modern-app"]) == 0
    report = json.loads((out / "mvpy-vendor-report.json").read_text())
    renamed = next(o for o in report["outputs"] if o["action"] == "rename")
    assert renamed["distribution"] == "mv-setuptools-65-5-1"
    assert renamed["dropped"] == [
        "start-up hook distutils-precedence.pth dropped: _distutils_hack installs an import hook "
        "(sys.meta_path at _distutils_hack/__init__.py:203); a renamed copy must not hook imports"
    ]
    assert renamed["aliases"] == [
        {"name": "distutils", "target": "setuptools._distutils", "hook": "_distutils_hack",
         "where": "sys.meta_path at _distutils_hack/__init__.py:203"}
    ]  # fmt: skip
    assert renamed["import_map"]["distutils"] == "_mv_distutils_65_5_1"
    assert "_mv_distutils_65_5_1" in renamed["top_level"]
    files = {f["member"]: f for f in renamed["files"]}
    assert files["_distutils_hack/override.py"]["status"] == "neutralised"
    assert files["_distutils_hack/override.py"]["reason"].startswith("written empty: it only runs the import hook")
    # VendorImporter(__name__, names, "setuptools._vendor") keeps its data; its __import__ maps it
    kinds = {(f["member"], r.get("kind", "string")) for f in renamed["files"] for r in f.get("strings", ())}
    assert ("setuptools/extern/__init__.py", "mapped") in kinds, kinds
    (copy,) = out.glob("mv_setuptools_65_5_1-*.whl")
    names = zipfile.ZipFile(copy).namelist()
    assert "_mv_distutils_65_5_1/core.py" in names and not [n for n in names if "/_distutils/" in n]
    legacy = next(o for o in report["outputs"] if o["distribution"] == "legacy-build")
    assert legacy["import_map"]["distutils"] == "_mv_distutils_65_5_1"
    python = install_wheelhouse(out, tmp_path / "venv")
    project = tmp_path / "project"
    project.mkdir()
    (project / "tiny.py").write_text("X = 1\n")
    (project / "setup.py").write_text(
        "from setuptools import setup\nsetup(name='tiny', version='1.0', py_modules=['tiny'])\n"
    )
    code = f"import json, modern_app; print(json.dumps(modern_app.main({str(project)!r})))"
    proc = subprocess.run(
        [str(python), "-W", "ignore", "-c", code], capture_output=True, text=True, check=True, env=clean_env()
    )
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["versions"] == [SETUPTOOLS_NEW, SETUPTOOLS_OLD]
    assert result["old"] == {
        "version": SETUPTOOLS_OLD, "built": ["tiny.py"], "command": "_mv_setuptools_65_5_1.command.build_py",
        "base": "_mv_distutils_65_5_1.command.build_py", "subclass": True,
    }  # fmt: skip
    assert result["new"] == "setuptools.command.build_py"
    assert result["renamed"][0] == "_mv_distutils_65_5_1"  # the copy's distutils, under its own name
    # Before, after the renamed copy built, after the primary built: every distutils module is the primary's.
    primary = str(Path(python).parent.parent / "lib")
    for seen in result["seen"]:
        assert seen["distutils"] and seen["distutils.core"]
        assert all(
            f is None or ("/site-packages/setuptools/_distutils/" in f and f.startswith(primary)) for f in seen.values()
        ), seen
    assert main(["verify", str(out)]) == 0


def test_cryptography_rust_lengths(wheels: Path, tmp_path: Path) -> None:
    """cryptography 49 (Rust/PyO3) renamed beside 50: its module names are Rust ``&str`` (pointer
    plus length, in data and in code) and one PyO3 C string whose length counts the NUL; every
    length is updated with its pointer. Two consumers sign and verify, one per version, in one
    process, and the renamed copy never imports the unrenamed ``cryptography``."""
    cache = real_wheel_cache() / "cryptography"
    for version in ("49.0.0", "50.0.2"):
        if not list(cache.glob(f"cryptography-{version}-*.whl")):
            download(cache, f"cryptography=={version}")
    inputs = gather(tmp_path / "in", [*cache.glob("*.whl"), *pick(wheels, "crypto_app", "crypto_old_user")])
    out = tmp_path / "out"
    assert main(["build", "-q", "--wheels", str(inputs), "--out", str(out), "--verify"]) == 0
    report = json.loads((out / "mvpy-vendor-report.json").read_text())
    (rust,) = [
        m for o in report["outputs"] if o["distribution"] == "mv-cryptography-49-0-0" for m in o["compiled_modules"]
    ]  # fmt: skip
    patched = [x for x in rust["occurrences"] if x["patchable"]]
    assert rust["patchable"] and sum(x["lengths"] for x in patched) > 300
    assert not [x for x in rust["occurrences"] if x["blocks"]]
    error = next(x for x in patched if x["text"] == "cryptography.hazmat.bindings._rust.x509.VerificationError")
    assert error["lengths"] == 1
    # The Rust module and the submodules it makes (openssl, x509 ...) compared with the original's.
    assert compared(report) == {"mv-cryptography-49-0-0": {"cryptography.hazmat.bindings._rust": ("same", 149)}}
    python, env = install_wheelhouse(out, tmp_path / "venv"), clean_env()
    both = subprocess.run(
        [str(python), "-c", "import crypto_app; crypto_app.main()"], capture_output=True, text=True, check=True, env=env
    )
    result = json.loads(both.stdout)
    assert result["app"] == {
        "version": "50.0.2", "module": "cryptography", "raw_public_key_length": 32, "tampered_rejected": True,
        "key_class_module": "cryptography.hazmat.bindings._rust.openssl.ed25519",
    }  # fmt: skip
    assert result["old_user"] == {
        "version": "49.0.0", "module": "_mv_cryptography_49_0_0", "round_trip": True, "tampered_rejected": True,
        "key_class_module": "_mv_cryptography_49_0_0.hazmat.bindings._rust.openssl.rsa",
    }  # fmt: skip
    alone = (
        "import sys, crypto_old_user; crypto_old_user.report(); "
        "print(sorted(k for k in sys.modules if k.split('.')[0] == 'cryptography'))"
    )
    proc = subprocess.run([str(python), "-c", alone], capture_output=True, text=True, check=True, env=env)
    assert proc.stdout.strip() == "[]"


YARL = ("1.25.1", "1.23.0")  # both built with Cython 3.1+ (3.3 and 3.2): packed string tables


@pytest.fixture(scope="session")
def yarl_wheels() -> Path:
    """yarl 1.25 and 1.23 with what they need (multidict, propcache, idna: the same versions)."""
    cache = real_wheel_cache() / "yarl"
    for version in YARL:
        if not list(cache.glob(f"yarl-{version}-*.whl")):
            download(cache, f"yarl=={version}")
    return cache


def test_yarl_renamed_runs_its_pure_python_fallback(
    yarl_wheels: Path, wheels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """yarl's ``_quoting_c`` (Cython 3.1+) cannot be patched, ships no .py of its own, and every
    import of it falls back to ``_quoting_py``: the renamed copy drops it and runs the fallback."""
    inputs = gather(tmp_path / "in", [*yarl_wheels.glob("*.whl"), *pick(wheels, "yarl_old_user", "yarl_app")])
    out = tmp_path / "out"
    assert main(["build", "--wheels", str(inputs), "--out", str(out), "--no-cache", "--verify"]) == 0
    printed = capsys.readouterr().out.splitlines()
    ext = sysconfig.get_config_var("EXT_SUFFIX")
    assert f"note: mv-yarl-1-23-0: 1 compiled module replaced by its Python source (slower): yarl/_quoting_c{ext}" in (
        printed
    )
    assert printed[-2].startswith("verify: OK: 7 distributions")  # verified, then published:
    assert printed[-1].startswith(f"wrote 7 wheels to {out}")
    report = json.loads((out / "mvpy-vendor-report.json").read_text())
    roles = {(p["distribution"], p["version"], p["role"]) for p in report["plan"]["placements"]}
    assert {("yarl", "1.25.1", "primary"), ("yarl", "1.23.0", "renamed copy")} <= roles
    # multidict, propcache and idna are the same versions in both worlds: shared, not renamed
    assert {d for d, _, role in roles if role == "shared"} == {"multidict", "propcache", "idna"}
    copy = next(o for o in report["outputs"] if o["distribution"] == "mv-yarl-1-23-0")
    changed = {f["member"]: (f["status"], f.get("reason")) for f in copy["files"] if f["status"] != "unchanged"}
    assert changed == {
        f"yarl/_quoting_c{ext}": (
            "de-accelerated",
            "dropped; optional accelerator: every import of it (yarl/_quoting.py:17) falls back to pure Python",
        ),
        "yarl/_url.py": ("rewritten", None),  # obj.__module__ = "yarl"
    }
    (quoting_c,) = copy["compiled_modules"]
    assert [o["kind"] for o in quoting_c["occurrences"] if o["blocks"]] == ["packed"]
    assert compared(report) == {}  # no compiled module is patched: none to compare

    python, env = install_wheelhouse(out, tmp_path / "venv"), clean_env()
    code = """
import json, pickle, sys
import yarl_app, _mv_yarl_1_23_0 as old
url = pickle.loads(pickle.dumps(old.URL("http://example.com/a b")))
print(json.dumps({"check": yarl_app.check(), "pickled": [type(url).__module__, str(url)],
                  "unrenamed": sorted(k for k in sys.modules if k.split(".")[0] == "yarl")}))
"""
    seen = json.loads(
        subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    )
    both = {"quoted": "http://example.com/a%20b/%D1%86?q=x+y%26z", "unquoted": ["/ц x", "x y&z"]}
    assert seen["check"] == {
        "app": {
            **both,
            "version": "1.25.1",
            "module": "yarl",
            "quoter": "yarl._quoting_c",
            "query_to_pairs": [["a", " b"], ["c", ""]],
            "max_fields": True,
            "backslash_host": "rejected",
        },
        "library": {
            **both,
            "version": "1.23.0",
            "module": "_mv_yarl_1_23_0",
            "quoter": "_mv_yarl_1_23_0._quoting_py",
            "query_to_pairs": False,
            "backslash_host": "exa\\mple.com",
        },
    }
    assert seen["pickled"] == ["_mv_yarl_1_23_0", "http://example.com/a%20b"]
    # only the primary's modules, which yarl_app imported
    assert "yarl._quoting_py" not in seen["unrenamed"] and "yarl._quoting_c" in seen["unrenamed"]


def test_experimental_cython_table_patch_renames_yarl_quoting_c(yarl_wheels: Path, tmp_path: Path) -> None:
    """Not in the build path yet: yarl 1.23's ``_quoting_c`` (Cython 3.2, zlib table) with its
    packed string table renamed too, loaded under the renamed name in a fresh interpreter."""
    from mvpy_vendor.native import elf
    from mvpy_vendor.native.cython_table import find_table, patch_packed

    (wheel,) = yarl_wheels.glob("yarl-1.23.0-*.whl")
    ext = sysconfig.get_config_var("EXT_SUFFIX")
    member = f"yarl/_quoting_c{ext}"
    with zipfile.ZipFile(wheel) as zf:
        original = zf.read(member)
    names = {"yarl": "_mv_yarl_1_23_0"}
    table = find_table(elf.parse(original, member), member)
    assert (len(table.strings), table.width, table.size) == (85, 8, 863)
    assert [s for s in table.strings if s.startswith(b"yarl")] == [b"yarl._quoting_c"]
    patched = patch_packed(original, member, names, None)
    after = find_table(elf.parse(patched, member), member)
    assert [s for s in after.strings if b"yarl" in s] == [b"_mv_yarl_1_23_0._quoting_c"]
    # every NUL-terminated name is repointed as before; only the table marker is left
    left = inspect_native(patched, member, names)
    assert {o.kind for o in left.occurrences if o.blocks} == {"packed"}
    assert all(o.references == 0 for o in left.occurrences if o.patchable)
    package = tmp_path / "site" / "_mv_yarl_1_23_0"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / f"_quoting_c{ext}").write_bytes(patched)
    code = """
import json, sys
sys.path.insert(0, sys.argv[1])
import _mv_yarl_1_23_0._quoting_c as c
print(json.dumps([c.__name__, c._Quoter.__module__, c._Quoter()("a b/ц"), c._Unquoter()("%D1%86%20x"),
                  sorted(k for k in sys.modules if k.startswith("yarl"))]))
"""
    seen = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "site")], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(seen) == [
        "_mv_yarl_1_23_0._quoting_c", "_mv_yarl_1_23_0._quoting_c", "a%20b%2F%D1%86", "ц x", []
    ]  # fmt: skip


SQLALCHEMY_OLD, SQLALCHEMY_NEW = "1.4.54", "2.0.43"


@pytest.fixture(scope="session")
def sqlalchemy_wheels() -> Path:
    """SQLAlchemy 1.4 and 2.0 with their dependencies (greenlet), as pip picks them for this Python."""
    cache = real_wheel_cache() / "sqlalchemy"
    for version in (SQLALCHEMY_OLD, SQLALCHEMY_NEW):
        if not [p for p in cache.glob("*.whl") if p.name.lower().startswith(f"sqlalchemy-{version}-")]:
            download(cache, f"sqlalchemy=={version}")
    return cache


def test_sqlalchemy_1_4_and_2_in_one_process(sqlalchemy_wheels: Path, wheels: Path, tmp_path: Path) -> None:
    """SQLAlchemy 1.4 names its modules in strings (``util.preload_module("sqlalchemy.sql.util")``,
    ``preloaded.import_prefix("sqlalchemy.sql")``): kept as data, mapped where its registry imports
    them, the renamed copy loads its own."""
    inputs = gather(
        tmp_path / "in", [*sqlalchemy_wheels.glob("*.whl"), *pick(wheels, "sqlalchemy_v14_user", "sqlalchemy_v2_app")]
    )
    out = tmp_path / "out"
    assert main(["build", "-q", "--wheels", str(inputs), "--out", str(out), "--verify"]) == 0
    report = json.loads((out / "mvpy-vendor-report.json").read_text())
    roles = {(p["distribution"], p["version"], p["role"]) for p in report["plan"]["placements"]}
    assert {("sqlalchemy", SQLALCHEMY_NEW, "primary"), ("sqlalchemy", SQLALCHEMY_OLD, "renamed copy")} <= roles
    copy = next(
        o for o in report["outputs"] if o["action"] == "rename" and o["distribution"].startswith("mv-sqlalchemy")
    )
    assert compared(report)["mv-sqlalchemy-1-4-54"] == {
        "sqlalchemy.cimmutabledict": ("same", 1),
        "sqlalchemy.cprocessors": ("same", 2),
        "sqlalchemy.cresultproxy": ("same", 6),
    }
    strings = [(f["member"], s) for f in copy["files"] for s in f.get("strings", ())]
    # The module names stay data as written; the registry's import and sys.modules lookup, and
    # compat.import_ (getattr(builtins, "__import__")), map them where they are used.
    mapped = {(m, s["from"]) for m, s in strings if s.get("kind") == "mapped"}
    assert {
        ("sqlalchemy/util/_preloaded.py", "module"),
        ("sqlalchemy/util/compat.py", 'getattr(builtins, "__import__")'),
    } <= mapped, mapped
    with zipfile.ZipFile(next(out.glob("mv_sqlalchemy_1_4_54-*.whl"))) as zf:
        source = zf.read("_mv_sqlalchemy_1_4_54/sql/util.py").decode()
    assert '@util.preload_module("sqlalchemy.sql.functions")' in source  # data, as written
    assert 20 < len(strings) < 60, len(strings)

    python, env = install_wheelhouse(out, tmp_path / "venv"), clean_env()
    seen = subprocess.run(
        [str(python), "-c", "import sqlalchemy_v2_app; sqlalchemy_v2_app.main()"],
        check=True, capture_output=True, text=True, env=env,
    ).stdout  # fmt: skip
    assert json.loads(seen) == {
        "app": {"version": SQLALCHEMY_NEW, "module": "sqlalchemy", "titles": ["c", "d", "e"], "count": 3},
        "library": {"version": SQLALCHEMY_OLD, "module": "_mv_sqlalchemy_1_4_54", "titles": ["a", "b"], "count": 2},
    }

    # Without mapping (setting keep-strings) the copy reaches into the primary, as before.
    kept = tmp_path / "kept"
    assert main(["build", "-q", "--wheels", str(inputs), "--out", str(kept), "--keep-strings", "sqlalchemy"]) == 0
    report = json.loads((kept / "mvpy-vendor-report.json").read_text())
    copy = next(
        o for o in report["outputs"] if o["action"] == "rename" and o["distribution"].startswith("mv-sqlalchemy")
    )
    assert copy["keep_strings"] is True
    kept_strings = [s for f in copy["files"] for s in f.get("strings", ())]
    assert kept_strings and {s.get("kind", "string") for s in kept_strings} == {"string"}  # import-call literals only
    # The differential check imports the copy without the primary: where it needs the primary's
    # modules it does not import, which keep-strings asked for: not compared, a warning.
    ext = sysconfig.get_config_var("EXT_SUFFIX")
    cause = "ImportError: public_factory location sqlalchemy.sql.util is not in sys.modules"
    reason = (
        f"patched module not compared with the original: the renamed copy does not import ({cause}); its strings "
        "keep naming the original's modules, which only the original's distribution provides"
    )
    assert [(w["member"], w["reason"], w["setting"]) for w in copy["warnings"]] == [
        (f"sqlalchemy/cimmutabledict{ext}", reason, "keep-strings"),
        (f"sqlalchemy/cresultproxy{ext}", reason, "keep-strings"),
    ]
    python = install_wheelhouse(kept, tmp_path / "venv-kept")
    proc = subprocess.run(
        [str(python), "-c", "import sqlalchemy_v2_app; sqlalchemy_v2_app.main()"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert proc.returncode != 0


PROTOBUF_OLD, PROTOS_OLD = "3.20.3", "1.56.4"
PROTOBUF_USER = """
import google.protobuf
from google.api import annotations_pb2, http_pb2
from google.protobuf import any_pb2, descriptor_pb2, json_format
from google.rpc import code_pb2, status_pb2


def run():
    rule = http_pb2.HttpRule(selector="a.B", get="/v1/{name}")
    detail = any_pb2.Any()
    detail.Pack(rule)
    status = status_pb2.Status(code=code_pb2.NOT_FOUND, message="hi", details=[detail])
    back = status_pb2.Status.FromString(status.SerializeToString())
    out = http_pb2.HttpRule()
    assert back == status and back.details[0].Unpack(out) and out.get == "/v1/{name}"
    fd = descriptor_pb2.FileDescriptorProto()
    annotations_pb2.DESCRIPTOR.CopyToProto(fd)
    return {
        "version": google.protobuf.__version__, "namespace": google.__name__,
        "json": json_format.MessageToDict(back)["details"][0]["@type"], "file": fd.name,
        "full_name": status_pb2.Status.DESCRIPTOR.full_name, "module": status_pb2.Status.__module__,
    }
"""


@pytest.fixture(scope="session")
def protobuf_wheels() -> Path:
    """protobuf 3.20.3 (pure Python) with googleapis-common-protos 1.56.4, and the current ones."""
    cache = real_wheel_cache() / "protobuf"
    if not list(cache.glob(f"protobuf-{PROTOBUF_OLD}-*.whl")):
        download(cache, "--no-deps", f"protobuf=={PROTOBUF_OLD}", f"googleapis-common-protos=={PROTOS_OLD}")
    current = cache / "current"
    if not list(current.glob("protobuf-*.whl")):
        download(current, "--no-deps", "protobuf>=5", "googleapis-common-protos>=1.70")
    return cache


def test_protobuf_3_20_beside_current_protobuf(protobuf_wheels: Path, tmp_path: Path) -> None:
    """Both versions install ``google/`` from two distributions each (3.20's with ``-nspkg.pth``
    files, the current ones as PEP 420): the renamed 3.20 world moves under one namespace."""
    current = {p.name.split("-")[0]: p.name.split("-")[1] for p in (protobuf_wheels / "current").glob("*.whl")}
    inputs = gather(tmp_path / "in", [*protobuf_wheels.glob("*.whl"), *(protobuf_wheels / "current").glob("*.whl")])
    requires = {"pb-legacy-user": ("protobuf<4", "googleapis-common-protos<1.57"), "pb-modern-user": ("protobuf>=5",
                "googleapis-common-protos>=1.70")}  # fmt: skip
    for user, reqs in requires.items():
        make_wheel(inputs, user, "1.0", {f"{user.replace('-', '_')}.py": PROTOBUF_USER.encode()}, reqs)
    out = tmp_path / "out"
    args = ["build", "-q", "--wheels", str(inputs), "--require", "pb-modern-user", "--require", "pb-legacy-user"]
    assert main([*args, "--out", str(out), "--verify"]) == 0
    report = json.loads((out / "mvpy-vendor-report.json").read_text())
    copies = {o["distribution"]: o for o in report["plan"]["outputs"] if o["action"] == "rename"}
    assert sorted(copies) == ["mv-googleapis-common-protos-1-56-4", "mv-protobuf-3-20-3"]
    namespace = copies["mv-protobuf-3-20-3"]["namespaces"]["google"]
    assert copies["mv-googleapis-common-protos-1-56-4"]["namespaces"] == {"google": namespace}
    assert namespace.startswith("_mv_google_") and copies["mv-protobuf-3-20-3"]["top_level"] == [namespace]
    with zipfile.ZipFile(out / "mv_protobuf_3_20_3-3.20.3-py2.py3-none-any.whl") as zf:
        pth = zf.read("mv_protobuf_3_20_3-protobuf-3.20.3-nspkg.pth").decode()
        assert "'google'" not in pth and f"*('{namespace}',)" in pth and f"find_spec('{namespace}'" in pth
        assert not [n for n in zf.namelist() if n.startswith("google/")]

    python, env = install_wheelhouse(out, tmp_path / "venv"), clean_env()
    code = "import json, pb_legacy_user as o, pb_modern_user as a; print(json.dumps([o.run(), a.run()]))"
    old, new = json.loads(subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True,
                                         env=env).stdout)  # fmt: skip
    same = {"json": "type.googleapis.com/google.api.HttpRule", "file": "google/api/annotations.proto",
            "full_name": "google.rpc.Status"}  # fmt: skip
    assert old == {**same, "version": PROTOBUF_OLD, "namespace": namespace, "module": f"{namespace}.rpc.status_pb2"}
    assert new == {**same, "version": current["protobuf"], "namespace": "google", "module": "google.rpc.status_pb2"}


LXML_OLD, LXML_NEW = "4.9.4", "6.1.3"


@pytest.fixture(scope="session")
def lxml_wheels() -> Path:
    cache = real_wheel_cache() / "lxml"
    for version in (LXML_OLD, LXML_NEW):
        if not list(cache.glob(f"lxml-{version}-*.whl")):
            download(cache, "--no-deps", f"lxml=={version}")
    return cache


_LXML_USER = b"""
from lxml import etree


def parse():
    return [etree.__name__, etree.LXML_VERSION[:2], etree.fromstring(b"<a><b>old</b></a>").findtext("b")]
"""
_LXML_APP = b"""
from lxml import etree
import lxml_old_user


def parse():
    return [etree.__name__, etree.LXML_VERSION[:2], etree.fromstring(b"<a><b>new</b></a>").findtext("b")]
"""


def test_lxml_shared_thread_state_is_refused(
    lxml_wheels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """lxml 4.9 renamed beside lxml 6: both etree modules keep per-thread state under the same
    fixed keys in the thread-state dict, read from their code (Cython 0.29's string table in 4.9,
    Cython 3.2's packed one in 6.1). The build refuses, in one line naming the wheel, the member,
    the keys and why; with the setting that accepts it, it builds, and the two copies then meet
    at run time exactly as the message says, under the key it names."""
    inputs = gather(tmp_path / "in", lxml_wheels.glob("*.whl"))
    make_wheel(inputs, "lxml-old-user", "1.0", {"lxml_old_user/__init__.py": _LXML_USER}, (f"lxml=={LXML_OLD}",))
    make_wheel(inputs, "lxml-app", "1.0", {"lxml_app/__init__.py": _LXML_APP}, ("lxml>=6", "lxml-old-user"))
    out = tmp_path / "out"
    capsys.readouterr()
    assert main(["build", "-q", "--wheels", str(inputs), "--out", str(out), "--require", "lxml-app"]) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    member = f"lxml/etree{sysconfig.get_config_var('EXT_SUFFIX')}"
    old_wheel = next(lxml_wheels.glob(f"lxml-{LXML_OLD}-*.whl")).name
    assert [line for line in errors if "shares process state" in line] == [
        f"mvpy-vendor: error: {old_wheel}: {member}: shares process state with lxml {LXML_NEW}, which renaming "
        "cannot separate: its lxml.etree keeps objects in the interpreter's thread-state dict under the keys "
        f"'_GlobalErrorLog', '_ParserDictionaryContext', '_XSLTErrorLog', as lxml {LXML_NEW}'s lxml.etree does "
        "(renaming does not change them), so each finds the other's objects there (--accept-shared-state)"
    ]
    assert not out.exists() or not list(out.glob("*.whl"))
    # Accepted: it builds, with the warning in the report, and the copies meet at run time.
    args = ["build", "-q", "--wheels", str(inputs), "--out", str(out), "--require", "lxml-app"]
    assert main([*args, "--accept-shared-state", "lxml"]) == 0
    report = json.loads((out / "mvpy-vendor-report.json").read_text())
    renamed = next(o for o in report["outputs"] if o["action"] == "rename")
    assert renamed["distribution"] == f"mv-lxml-{LXML_OLD.replace('.', '-')}"
    assert [w["code"] for w in renamed["warnings"] if w.get("member") == member] == ["shared-state-accepted"]
    python = install_wheelhouse(out, tmp_path / "venv")
    alone = "import json, lxml_old_user; print(json.dumps(lxml_old_user.parse()))"
    proc = subprocess.run([str(python), "-c", alone], capture_output=True, text=True, check=True, env=clean_env())
    assert json.loads(proc.stdout) == ["_mv_lxml_4_9_4.etree", [4, 9], "old"]
    both = (
        "import ctypes, json, lxml_app, lxml_old_user\n"
        "seen = []\n"
        "for user in (lxml_app, lxml_old_user):\n"
        "    try:\n        seen.append(user.parse())\n    except TypeError as exc:\n        seen.append(str(exc))\n"
        "ctypes.pythonapi.PyThreadState_GetDict.restype = ctypes.py_object\n"
        "found = ctypes.pythonapi.PyThreadState_GetDict()['_ParserDictionaryContext']\n"
        "print(json.dumps([seen, type(found).__module__]))"
    )
    proc = subprocess.run([str(python), "-c", both], capture_output=True, text=True, check=True, env=clean_env())
    seen, holder = json.loads(proc.stdout)
    # Both imported: lxml 6 finds the renamed 4.9's parser context under the key the build named.
    assert seen[0] == (
        "Cannot convert _mv_lxml_4_9_4.etree._ParserDictionaryContext to lxml.etree._ParserDictionaryContext"
    )
    assert holder == "_mv_lxml_4_9_4.etree"


# requests 2.x registers urllib3's modules under requests.packages (requests/packages.py); a
# legacy consumer reaching urllib3 1.26 that way, and an app on urllib3 2, in one process.
REQUESTS_OLD, REQUESTS_NEW = "2.31.0", "2.34.2"
URLLIB3_OLD, URLLIB3_NEW = "1.26.20", "2.5.0"
REQUESTS_DEPS = ("idna==3.20", "certifi==2026.10.19.post1", "charset-normalizer==3.5.3")

LEGACY_REQUESTS_USER = b"""\
import requests
import requests.packages.urllib3
import requests.packages.urllib3.util.retry as retry_module
from requests.packages.urllib3.util.retry import Retry
from requests.adapters import HTTPAdapter


def info(url):
    import urllib3
    retry = requests.packages.urllib3.util.retry.Retry(total=2, method_whitelist=frozenset(["GET"]))
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=retry))
    return {
        "rq": requests.__version__,
        "u3": urllib3.__version__,
        "aliased": requests.packages.urllib3 is urllib3 and retry_module.Retry is Retry is urllib3.util.retry.Retry,
        "whitelist": sorted(retry.method_whitelist),
        "got": session.get(url, timeout=10).text,
    }
"""
MODERN_REQUESTS_APP = b"""\
import requests
import urllib3
from urllib3.util.retry import Retry
from requests.adapters import HTTPAdapter

assert urllib3.__version__.startswith("2"), urllib3.__version__


def info(url):
    retry = Retry(total=2, allowed_methods=frozenset(["GET"]))
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=retry))
    return {
        "rq": requests.__version__,
        "u3": urllib3.__version__,
        "aliased": requests.packages.urllib3 is urllib3,
        "allowed": sorted(retry.allowed_methods),
        "got": session.get(url, timeout=10).text,
    }
"""
# Both consumers make a real GET, through their own requests and urllib3, against a local server.
REQUESTS_RUN = """\
import http.server, json, sys, threading

class Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"{self.path} for {self.headers['User-Agent']}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{server.server_address[1]}"
import consumer_a, consumer_b
aliases = [k for k in sys.modules if ".packages." in k]
print(json.dumps({
    "legacy": consumer_a.info(url + "/a"),
    "modern": consumer_b.info(url + "/b"),
    "aliases": len(aliases),
    "misnamed": sorted(k for k in aliases if "._mv_" in k),
}))
"""


@pytest.fixture(scope="session")
def requests_wheels() -> Path:
    cache = real_wheel_cache() / "requests"
    for spec in (f"requests=={REQUESTS_OLD}", f"requests=={REQUESTS_NEW}", f"urllib3=={URLLIB3_OLD}",
                 f"urllib3=={URLLIB3_NEW}", *REQUESTS_DEPS):  # fmt: skip
        name, version = spec.split("==")
        if not [p for p in cache.glob("*.whl") if p.name.lower().startswith(f"{name.replace('-', '_')}-{version}-")]:
            download(cache, "--no-deps", spec)
    return cache


@pytest.mark.parametrize(
    ("legacy_requests", "order"),
    [
        (REQUESTS_OLD, ("consumer-b", "consumer-a")),  # requests 2.31 on urllib3 1.26 renamed
        (REQUESTS_NEW, ("consumer-b", "consumer-a")),  # one requests, twice: its urllib3 differs
        (REQUESTS_NEW, ("consumer-a", "consumer-b")),  # the urllib3 2 side renamed
    ],
    ids=["requests-2.31-beside-2.34", "same-requests", "urllib3-2-renamed"],
)
def test_requests_packages_urllib3_in_both_worlds(
    requests_wheels: Path,
    tmp_path: Path,
    legacy_requests: str,
    order: tuple[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``requests.packages.urllib3`` is each world's urllib3; ``Retry(method_whitelist=...)`` works on 1.26."""
    wheels = [p for p in requests_wheels.glob("*.whl") if not p.name.startswith("requests-")]
    wheels += requests_wheels.glob(f"requests-{legacy_requests}-*.whl")
    wheels += requests_wheels.glob(f"requests-{REQUESTS_NEW}-*.whl")
    make_wheel(tmp_path / "own", "consumer-a", "1.0", {"consumer_a/__init__.py": LEGACY_REQUESTS_USER},
               (f"requests=={legacy_requests}", "urllib3<2"))  # fmt: skip
    make_wheel(tmp_path / "own", "consumer-b", "1.0", {"consumer_b/__init__.py": MODERN_REQUESTS_APP},
               (f"requests=={REQUESTS_NEW}", "urllib3>=2"))  # fmt: skip
    inputs = gather(tmp_path / "in", [*set(wheels), *(tmp_path / "own").glob("*.whl")])
    requires = [a for name in order for a in ("--require", name)]
    out = tmp_path / "out"
    assert main(["build", "-q", "--wheels", str(inputs), *requires, "--out", str(out), "--verify"]) == 0

    report = json.loads((out / "mvpy-vendor-report.json").read_text())
    renamed_u3 = URLLIB3_NEW if order[0] == "consumer-a" else URLLIB3_OLD
    renamed_rq = REQUESTS_NEW if order[0] == "consumer-a" else legacy_requests
    roles = {(p["distribution"], p["version"], p["role"]) for p in report["plan"]["placements"]}
    assert {("urllib3", renamed_u3, "renamed copy"), ("requests", renamed_rq, "renamed copy")} <= roles
    copy = next(o for o in report["outputs"] if o["distribution"] == f"mv-requests-{renamed_rq.replace('.', '-')}")
    packages = next(f for f in copy["files"] if f["member"].endswith("requests/packages.py"))
    names = [s for s in packages["strings"] if s.get("kind") == "name"]
    # the names stay data, mapped where they are imported; a module's name after "requests.packages."
    # in a new key goes back to the name as written
    assert names and {s["from"] for s in names} == {"mod"}, packages["strings"]

    python = install_wheelhouse(out, tmp_path / "venv")
    run = tmp_path / "run.py"
    run.write_text(REQUESTS_RUN)
    seen = json.loads(
        subprocess.run([str(python), str(run)], check=True, capture_output=True, text=True, env=clean_env()).stdout
    )
    assert seen["legacy"] == {
        "rq": legacy_requests,
        "u3": URLLIB3_OLD,
        "aliased": True,
        "whitelist": ["GET"],
        "got": f"/a for python-requests/{legacy_requests}",
    }
    assert seen["modern"] == {
        "rq": REQUESTS_NEW,
        "u3": URLLIB3_NEW,
        "aliased": True,
        "allowed": ["GET"],
        "got": f"/b for python-requests/{REQUESTS_NEW}",
    }
    assert seen["misnamed"] == [] and seen["aliases"] > 50, seen

    if legacy_requests == REQUESTS_NEW and order[0] == "consumer-b":
        # Opted out, the renamed requests aliases the other world's urllib3 2; verify says so.
        kept = tmp_path / "kept"
        args = ["build", "-q", "--wheels", str(inputs), *requires, "--out", str(kept), "--keep-strings", "requests"]
        assert main(args) == 0
        capsys.readouterr()
        assert main(["verify", "--json", str(kept)]) != 0
        groups = json.loads(capsys.readouterr().out)["groups"]
        fatal = {(g["kind"], g["distribution"], g["cause"]) for g in groups if g["fatal"]}
        assert fatal == {
            ("wrong provenance", "mv-requests-2-34-2", "files of urllib3"),  # requests.packages.urllib3 is urllib3 2
            ("pulls unrenamed", "mv-requests-2-34-2", "urllib3 pulled in"),
            ("pulls unrenamed", "consumer-a", "urllib3 pulled in"),
        }


def test_inspect_says_what_a_build_does_with_each_compiled_module(
    lxml_wheels: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """lxml 6 (Cython 3.2): etree cannot be patched and has no fallback; sax ships its .py beside it."""
    (wheel,) = lxml_wheels.glob(f"lxml-{LXML_NEW}-*.whl")
    assert main(["inspect", str(wheel)]) == 0
    verdicts = dict(line.split(": ", 2)[:2] for line in capsys.readouterr().out.split("\n\n")[0].splitlines())
    assert verdicts[f"lxml/etree{EXT_SUFFIX}"] == "refused"
    assert verdicts[f"lxml/sax{EXT_SUFFIX}"] == "source fallback"
    assert verdicts[wheel.name] == "refused"
