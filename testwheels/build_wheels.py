"""Build the fixture wheels from the sources beside this script.

    python testwheels/build_wheels.py OUTDIR [NAME ...]

Every directory here holding a ``pyproject.toml`` becomes one pure-Python wheel, written with
``wheel``'s own WheelFile (an implementation independent of mvpy-vendor's writer). Hostile wheels
(bad member names, RECORD mismatches) are written too, into ``OUTDIR/hostile/``. Given NAMEs
(project names, e.g. ``foo slow-package myapp``), only those fixtures are built, every version
of each, and no hostile ones. Fixtures with ``ext/*.c`` need gcc and the Python headers;
``ext/*.pyx`` also needs Cython. Output is reproducible: SOURCE_DATE_EPOCH is fixed.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

os.environ.setdefault("SOURCE_DATE_EPOCH", "1700000000")

from wheel.wheelfile import WheelFile

HERE = Path(__file__).resolve().parent
TAG = "py3-none-any"
_FIXED_TIME = (2023, 11, 14, 22, 13, 20)


def _metadata(project: dict) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {project['name']}", f"Version: {project['version']}"]
    if "description" in project:
        lines.append(f"Summary: {project['description']}")
    lines += [f"Requires-Dist: {req}" for req in project.get("dependencies", [])]
    for extra, reqs in sorted(project.get("optional-dependencies", {}).items()):
        lines.append(f"Provides-Extra: {extra}")
        lines += [f'Requires-Dist: {req} ; extra == "{extra}"' for req in reqs]
    return "\n".join(lines) + "\n\n"


def _entry_points(project: dict) -> str:
    groups = {}
    if "scripts" in project:
        groups["console_scripts"] = project["scripts"]
    groups.update(project.get("entry-points", {}))
    return "".join(
        f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in sorted(items.items())) + "\n"
        for group, items in groups.items()
    )


def _compile(c_file: Path, version: str, work: Path) -> tuple[str, bytes]:
    """``ext/pkg._native.c`` (or ``.pyx``, through Cython) -> (``pkg/_native.cpython-...so``, its
    bytes), compiled with gcc."""
    dotted = c_file.name.rsplit(".", 1)[0]
    target = dotted.replace(".", "/") + sysconfig.get_config_var("EXT_SUFFIX")
    built = work / Path(target).name
    if c_file.suffix == ".pyx":
        # Cython wants the package layout, not a dotted file name.
        pyx = work / "pyx" / (dotted.replace(".", "/") + ".pyx")
        pyx.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(c_file, pyx)
        generated = pyx.with_suffix(".c")
        subprocess.run(
            [sys.executable, "-m", "cython", "-3", "--module-name", dotted, pyx.name, "-o", generated.name],
            check=True, cwd=pyx.parent,
        )  # fmt: skip
        c_file = generated
    subprocess.run(
        ["gcc", "-O2", "-shared", "-fPIC", f"-I{sysconfig.get_paths()['include']}",
         f'-DFIXTURE_VERSION="{version}"', str(c_file), "-o", str(built)],
        check=True,
    )  # fmt: skip
    return target, built.read_bytes()


def _platform_tag() -> str:
    py = f"cp{sys.version_info[0]}{sys.version_info[1]}"
    return f"{py}-{py}-{sysconfig.get_platform().replace('-', '_').replace('.', '_')}"


def build_one(source: Path, out: Path) -> Path:
    project = tomllib.loads((source / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    name = project["name"].replace("-", "_")
    version = project["version"]
    dist_info = f"{name}-{version}.dist-info"
    ext = source / "ext"
    c_files = sorted([*ext.glob("*.c"), *ext.glob("*.pyx")]) if ext.is_dir() else []
    tag = _platform_tag() if c_files else TAG
    path = out / f"{name}-{version}-{tag}.whl"
    src = source / "src"
    files = sorted(p for p in src.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    data = source / "data"  # becomes the wheel's .data directory (scripts/, purelib/, ...)
    data_files = sorted(p for p in data.rglob("*") if p.is_file()) if data.is_dir() else []
    with WheelFile(path, "w") as wf:
        for file in files:
            wf.writestr(file.relative_to(src).as_posix(), file.read_bytes())
        with tempfile.TemporaryDirectory() as work:
            for c_file in c_files:
                target, binary = _compile(c_file, version, Path(work))
                wf.writestr(target, binary)
        for file in data_files:
            info = zipfile.ZipInfo(f"{name}-{version}.data/{file.relative_to(data).as_posix()}", _FIXED_TIME)
            if file.parent.name == "scripts":
                info.external_attr = 0o100755 << 16  # installers keep the member's mode
            wf.writestr(info, file.read_bytes())
        wf.writestr(f"{dist_info}/METADATA", _metadata(project))
        wf.writestr(
            f"{dist_info}/WHEEL",
            f"Wheel-Version: 1.0\nGenerator: mvpy-vendor-testwheels\n"
            f"Root-Is-Purelib: {'false' if c_files else 'true'}\nTag: {tag}\n\n",
        )
        tops = sorted(
            {f.relative_to(src).parts[0].split(".")[0] for f in files if f.suffix != ".pth"}
            | {c.name.split(".")[0] for c in c_files}
        )
        wf.writestr(f"{dist_info}/top_level.txt", "".join(t + "\n" for t in tops))
        entry_points = _entry_points(project)
        if entry_points:
            wf.writestr(f"{dist_info}/entry_points.txt", entry_points)
    return path


def _hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _raw_wheel(path: Path, members: dict[str, bytes], record: dict[str, bytes] | None = None) -> Path:
    """A wheel written member by member, with RECORD computed over ``record`` (default: the members)."""
    name, version = path.name.split("-")[:2]
    dist_info = f"{name}-{version}.dist-info"
    members = {
        **members,
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n".encode(),
        f"{dist_info}/WHEEL": f"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: {TAG}\n\n".encode(),
    }
    hashed = {**members, **(record or {})}
    rows = "".join(f"{n},{_hash(d)},{len(d)}\n" for n, d in hashed.items()) + f"{dist_info}/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as zf:
        for member, data in members.items():
            zf.writestr(zipfile.ZipInfo(member, (2023, 11, 14, 22, 13, 20)), data)
        zf.writestr(zipfile.ZipInfo(f"{dist_info}/RECORD", (2023, 11, 14, 22, 13, 20)), rows)
    return path


def build_hostile(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    return [
        _raw_wheel(out / f"evil-1.0-{TAG}.whl", {"evil/__init__.py": b"", "../evil.py": b"import os\n"}),
        _raw_wheel(
            out / f"badrecord-1.0-{TAG}.whl",
            {"badrecord/__init__.py": b"X = 1\n"},
            record={"badrecord/__init__.py": b"X = 2\n"},
        ),
    ]


def build_all(out: Path, names: list[str] | None = None) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    fixtures = [d for d in sorted(HERE.iterdir()) if (d / "pyproject.toml").is_file()]
    if names:
        fixtures = [d for d in fixtures if d.name.rsplit("-", 1)[0] in names]
        missing = set(names) - {d.name.rsplit("-", 1)[0] for d in fixtures}
        if missing:
            sys.exit(f"no such fixture: {', '.join(sorted(missing))}")
    built = [build_one(d, out) for d in fixtures]
    if not names:
        build_hostile(out / "hostile")
    return built


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    selected = sys.argv[2:]
    built = build_all(Path(sys.argv[1]), selected or None)
    extra = "" if selected else " (and hostile ones in hostile/)"
    print(f"built {len(built)} fixture wheels{extra} into {sys.argv[1]}")
