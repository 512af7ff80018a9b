"""Prove that a change to mvpy-vendor did not change what it builds.

    python scripts/compare_builds.py --before REV [--after TREE] [--work DIR]
                                     [--sets fixtures,compiled,pydantic,sympy] [--cache DIR] [--all-members]
                                     [--wheels-only]

The tool as it was at git revision REV ("before", exported with ``git archive`` from the
repository holding this script) and as it is in the working tree TREE ("after", default: that
repository's working tree, uncommitted changes included) are each installed, not editable, into
a fresh virtual environment of their own. Each then builds the same wheelhouses from the same
input wheels through its own ``mvpy-vendor build ... --no-cache -q``, with the same environment
(``SOURCE_DATE_EPOCH`` unset) and the same output path, and every result is compared:

* the exit code, stdout and stderr of each build (a build that fails must fail the same way);
* every wheel byte for byte, member by member (headers, stored bytes, order). The only
  difference allowed is the tool version in the provenance file
  ``<dist-info>/mvpy_vendor.json`` and, in consequence, that file's RECORD row;
* the set of files in each wheelhouse, and every other file byte for byte, except that
  ``mvpy-vendor-report.json`` (and a plan printed by ``--plan-only``) may differ in the tool
  versions it records and in the sha256 of the wheels that differ only as above.

So with ``--before HEAD`` and a working tree that was only refactored, every line must say
"same"; any change in what the tool writes or how it fails is reported, member by member. A
change that means to change the report's format or the wording of messages, but not one byte
of a wheel, is checked with ``--wheels-only``: wheels, ``requirements.txt`` and exit codes must
be identical, and the other differences are listed as notes.

Wheel sets (``--sets``):

* ``fixtures``: the fixture wheels of ``testwheels/`` (built once from the after tree) in the
  invocations the test suite makes: the foo, transport, gizmo, C and Cython sets, a
  ``--primary`` flip, two roots on one name, ``--native prefer-source`` / ``error``,
  ``--native-for``, ``--plan-only``, a hostile wheel and an unsatisfiable root.
* ``compiled``: two versions each of ujson, msgpack, markupsafe and orjson, pydantic 2 with its
  dependencies, compiled pydantic 1.10 and the pydantic fixtures, as in
  ``tests/test_real_wheels.py::test_two_versions_of_compiled_libraries``.
* ``pydantic``: pydantic 2 and pydantic 1.10 (pure-Python wheel, and compiled wheel) with the
  pydantic fixtures, as in ``test_pydantic_1_and_2_in_one_process``.
* ``sympy``: sympy 1.14.0 (primary), sympy 1.13.3 (renamed) and mpmath, as in the
  ``cache-rebuild`` case of ``benchmarks/rewrite_speed.py``.

Registry wheels are downloaded once into ``--cache`` (default ``~/.cache/mvpy-vendor-compare``).
Prints one line per wheelhouse and per wheel, then a summary; exit status 0 if everything is
identical, 1 if anything differs (or cannot be set up), 2 for a usage error. The work directory
(``--work``, default a temporary one, removed unless something differs) keeps both sides'
wheelhouses under ``before/`` and ``after/``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SETS = ("fixtures", "compiled", "pydantic", "sympy")
SIDES = ("before", "after")

# tests/conftest.py
FOO_SET = ("foo", "slow_package", "myapp")
TRANSPORT_SET = ("client", "transport", "legacy_tool", "modern_app")
GIZMO_SET = ("gizmo", "gizmo_old_user", "gizmo_app")
C_SET = ("cfoo", "cpkg", "c_old_user", "c_app")
CY_SET = ("cypkg", "cy_old_user", "cy_app")
PYDANTIC_FIXTURES = ("pydantic_v1_user", "pydantic_v2_app")

# tests/test_real_wheels.py
PYDANTIC_1 = "pydantic==1.10.27"
PYDANTIC_2 = "pydantic==2.14.3"
COMPILED = {
    "ujson": ("6.1.0", "5.10.0"),
    "msgpack": ("1.2.4", "1.0.8"),
    "markupsafe": ("3.0.4", "2.1.5"),
    "orjson": ("3.13.0", "3.10.18"),
}
# benchmarks/rewrite_speed.py, cache-rebuild
SYMPY = ("sympy==1.14.0", "sympy==1.13.3", "mpmath==1.3.0")

# Each download: the cache subdirectory it goes to, and pip download's arguments.
DOWNLOADS: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "compiled": [("compiled", ("--no-deps", f"{n}=={v}")) for n, vs in COMPILED.items() for v in vs],
    "pydantic2": [("pydantic2", (PYDANTIC_2,))],
    "pydantic1-pure": [("pydantic1-pure", ("--no-deps", "--platform", "any", PYDANTIC_1))],
    "pydantic1-compiled": [("pydantic1-compiled", ("--no-deps", PYDANTIC_1))],
    "sympy": [("sympy", ("--no-deps", spec)) for spec in SYMPY],
}
NEEDS = {
    "fixtures": (),
    "compiled": ("compiled", "pydantic2", "pydantic1-compiled"),
    "pydantic": ("pydantic2", "pydantic1-pure", "pydantic1-compiled"),
    "sympy": ("sympy",),
}

REPORT_NAME = "mvpy-vendor-report.json"
PROVENANCE = "mvpy_vendor.json"
# The tool object of a provenance or report file: {"name": ..., "version": ...}, in any layout.
_TOOL_VERSION = re.compile(rb'("tool"\s*:\s*\{[^{}]*?"version"\s*:\s*)"(?:[^"\\]|\\.)*"')
_LOCAL_HEADER = 30  # fixed part of a zip local file header
MAX_MEMBERS_SHOWN = 12


class SetupError(Exception):
    """Something needed for the comparison could not be prepared (not a difference found)."""


@dataclass(frozen=True)
class Case:
    """One wheelhouse: a build both sides run with the same inputs and flags."""

    group: str
    name: str
    wheels: tuple[Path, ...]
    flags: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.group}/{self.name}"


@dataclass(frozen=True)
class Side:
    name: str
    venv: Path
    source: Path


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str
    seconds: float
    house: Path


@dataclass
class Outcome:
    case: Case
    runs: dict[str, Run]
    problems: list[str] = field(default_factory=list)
    wheels: dict[str, list[str]] = field(default_factory=dict)  # wheel name -> what differs (empty: same)
    #: differences in what the tool prints and reports, with --wheels-only: listed, not failing
    notes: list[str] = field(default_factory=list)


# --- running things -------------------------------------------------------------------------------


def _env() -> dict[str, str]:
    """This environment without what would change a build or leak a tree into a venv."""
    drop = ("SOURCE_DATE_EPOCH", "PYTHONPATH", "PYTHONHOME", "PYTHONUSERBASE", "VIRTUAL_ENV", "PIP_PYTHON")
    return {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("MVPY_VENDOR_")}


def _run(args: Sequence[str | Path], what: str) -> str:
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, check=False, env=_env())
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise SetupError(f"{what} failed (exit {proc.returncode}):\n{tail}")
    return proc.stdout


def _new_venv(path: Path, python: str, packages: Sequence[str | Path], what: str) -> Path:
    """A fresh virtual environment at ``path`` with ``packages`` installed by pip; its interpreter."""
    if path.exists():
        shutil.rmtree(path)
    _run([python, "-m", "venv", path], f"creating the {what} venv")
    interpreter = path / "bin" / "python"
    pip: list[str | Path] = [interpreter, "-m", "pip", "--disable-pip-version-check", "--no-input", "-q"]
    _run([*pip, "install", *packages], f"installing {what}")
    return interpreter


def _commit(repo: Path, rev: str) -> str | None:
    """The short hash of commit ``rev`` in ``repo``, or None if it names no commit."""
    args = ["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", "--short", f"{rev}^{{commit}}"]
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    return proc.stdout.strip() if proc.returncode == 0 and proc.stdout.strip() else None


def _export(repo: Path, rev: str, dest: Path) -> None:
    """``git archive REV`` of ``repo`` unpacked into ``dest``."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    archive = subprocess.Popen(["git", "-C", str(repo), "archive", "--format=tar", rev], stdout=subprocess.PIPE)
    untar = subprocess.run(["tar", "-x", "-C", str(dest)], stdin=archive.stdout, check=False)
    if archive.stdout is not None:
        archive.stdout.close()
    if archive.wait() != 0 or untar.returncode != 0:
        raise SetupError(f"exporting {rev} of {repo} failed")


def _tool_packages(python: Path) -> dict[str, str]:
    listed = json.loads(_run([python, "-m", "pip", "list", "--format=json", "--disable-pip-version-check"], "pip list"))
    return {p["name"].lower(): p["version"] for p in listed if p["name"].lower() != "mvpy-vendor"}


def _download(helper: Path, cache: Path, groups: Iterable[str]) -> None:
    """``pip download`` each needed group once; a stamp file records the downloads completed."""
    for group in groups:
        for subdir, args in DOWNLOADS[group]:
            dest = cache / subdir
            dest.mkdir(parents=True, exist_ok=True)
            stamp = dest / ".downloaded"
            done = stamp.read_text().splitlines() if stamp.exists() else []
            key = " ".join(args)
            if key in done:
                continue
            print(f"downloading {key} into {dest}", flush=True)
            pip: list[str | Path] = [helper, "-m", "pip", "--disable-pip-version-check", "-q", "download"]
            _run([*pip, "--only-binary=:all:", "-d", dest, *args], f"pip download {key}")
            with stamp.open("a") as fh:
                fh.write(key + "\n")


def _pick(directory: Path, *names: str) -> tuple[Path, ...]:
    """The wheels in ``directory`` whose file names start with one of ``names`` + '-' (as the tests pick)."""
    found = tuple(sorted(p for p in directory.glob("*.whl") if p.name.split("-")[0] in names))
    missing = set(names) - {p.name.split("-")[0] for p in found}
    if missing:
        raise SetupError(f"no wheel for {', '.join(sorted(missing))} in {directory}")
    return found


def _gather(dest: Path, wheels: Iterable[Path]) -> tuple[Path, ...]:
    """Copy ``wheels`` into one input directory (as the real-wheel tests do); pass that directory."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for wheel in wheels:
        shutil.copy(wheel, dest)
    return (dest,)


def _wheels_in(directory: Path, pattern: str = "*.whl") -> list[Path]:
    found = sorted(directory.glob(pattern))
    if not found:
        raise SetupError(f"no {pattern} in {directory}")
    return found


def _cases(sets: Sequence[str], fixtures: Path, cache: Path, inputs: Path) -> list[Case]:
    cases: list[Case] = []
    if "fixtures" in sets:
        foo = _pick(fixtures, *FOO_SET)
        c_set = _pick(fixtures, *C_SET)
        hostile = fixtures / "hostile"
        cases += [
            Case("fixtures", "foo", foo),
            Case("fixtures", "foo-primary-foo1", foo, ("--primary", "foo==1.0.0")),
            Case("fixtures", "foo-two-roots", _pick(fixtures, "foo"), ("--require=foo==2.0.0", "--require=foo==1.0.0")),
            Case("fixtures", "all-require-myapp", (fixtures,), ("--require", "myapp")),
            Case("fixtures", "foo-plan-only", foo, ("--plan-only",)),
            Case("fixtures", "transport", _pick(fixtures, *TRANSPORT_SET)),
            Case("fixtures", "gizmo", _pick(fixtures, *GIZMO_SET)),
            Case("fixtures", "c", c_set),
            Case("fixtures", "c-prefer-source", c_set, ("--native", "prefer-source")),
            Case("fixtures", "c-native-error", c_set, ("--native", "error")),
            Case("fixtures", "c-native-for-cfoo-error", c_set, ("--native-for", "cfoo=error")),
            Case("fixtures", "cy", _pick(fixtures, *CY_SET)),
            Case("fixtures", "hostile", (hostile, *_pick(fixtures, "foo"))),
            Case("fixtures", "unsatisfiable-root", foo, ("--require", "myapp>5")),
        ]  # fmt: skip
    if "compiled" in sets:
        wheels = [
            *_wheels_in(cache / "compiled"),
            *_wheels_in(cache / "pydantic2"),
            *_wheels_in(cache / "pydantic1-compiled", "pydantic-1*-cp*.whl"),
            *_pick(fixtures, *PYDANTIC_FIXTURES),
        ]
        roots = [f"--require={n}=={v}" for n, versions in COMPILED.items() for v in versions]
        flags = (*roots, "--require=pydantic-v2-app")
        cases.append(Case("compiled", "two-versions-each", _gather(inputs / "compiled", wheels), flags))
    if "pydantic" in sets:
        for variant, v1 in (
            ("pure", _wheels_in(cache / "pydantic1-pure", "pydantic-1*-py3-none-any.whl")),
            ("compiled", _wheels_in(cache / "pydantic1-compiled", "pydantic-1*-cp*.whl")),
        ):
            wheels = [*_wheels_in(cache / "pydantic2"), *v1, *_pick(fixtures, *PYDANTIC_FIXTURES)]
            cases.append(Case("pydantic", f"v1-{variant}-and-v2", _gather(inputs / f"pydantic-{variant}", wheels)))
    if "sympy" in sets:
        sympy = []
        for spec in SYMPY:
            name, _, version = spec.partition("==")
            sympy += _wheels_in(cache / "sympy", f"{name}-{version}-*.whl")
        flags = tuple(f for spec in SYMPY[:2] for f in ("--require", spec))
        cases.append(Case("sympy", "1.14.0-and-1.13.3", tuple(sympy), flags))
    return cases


def _normalise_text(text: str, sides: Iterable[Side]) -> str:
    for side in sides:
        text = text.replace(str(side.venv), "<venv>").replace(str(side.source), "<tree>")
    return text


def _build(side: Side, case: Case, scratch: Path, dest: Path, sides: Sequence[Side]) -> Run:
    """Run ``side``'s CLI on ``case`` into ``scratch`` (the same path for both sides), then move the
    wheelhouse to ``dest``."""
    for path in (scratch, dest):
        if path.exists():
            shutil.rmtree(path)
    args = [side.venv / "bin" / "mvpy-vendor", "build", "--wheels", *case.wheels, "--out", scratch, "--no-cache"]
    start = time.perf_counter()
    proc = subprocess.run(
        [str(a) for a in [*args, "-q", *case.flags]], capture_output=True, text=True, env=_env(), check=False
    )
    seconds = time.perf_counter() - start
    if scratch.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(scratch), str(dest))
    return Run(proc.returncode, _normalise_text(proc.stdout, sides), _normalise_text(proc.stderr, sides), seconds, dest)


# --- comparing ------------------------------------------------------------------------------------


def _without_tool_version(data: bytes, blank: Iterable[bytes] = ()) -> bytes | None:
    """``data`` (a provenance or report JSON file, a printed plan) with every tool version and every
    string in ``blank`` replaced by ``*``; None if it holds no tool version."""
    blanked, count = _TOOL_VERSION.subn(rb'\1"*"', data)
    if count == 0:
        return None
    try:
        tool = json.loads(blanked)["tool"]
    except (ValueError, KeyError, TypeError):
        return None
    if not (isinstance(tool, dict) and tool.get("version") == "*"):
        return None
    for text in blank:
        blanked = blanked.replace(b'"' + text + b'"', b'"*"')
    return blanked


def _same_but_tool_version(a: bytes, b: bytes, blank_a: Iterable[bytes] = (), blank_b: Iterable[bytes] = ()) -> bool:
    blanked_a, blanked_b = _without_tool_version(a, blank_a), _without_tool_version(b, blank_b)
    return blanked_a is not None and blanked_a == blanked_b


def _same_record_but_row(a: bytes, b: bytes, member: str) -> bool:
    """Two RECORD files equal but for the row of ``member`` (its hash and size)."""
    rows_a, rows_b = a.splitlines(keepends=True), b.splitlines(keepends=True)
    prefix = member.encode() + b","
    return len(rows_a) == len(rows_b) and all(
        x == y or (x.startswith(prefix) and y.startswith(prefix)) for x, y in zip(rows_a, rows_b)
    )


def _segments(data: bytes, zf: zipfile.ZipFile) -> dict[str, bytes]:
    """Each member's stored form: local header, name, extra, compressed bytes (and data descriptor)."""
    starts = sorted({i.header_offset for i in zf.infolist()})
    ends = dict(zip(starts, [*starts[1:], zf.start_dir]))
    return {i.filename: data[i.header_offset : ends[i.header_offset]] for i in zf.infolist()}


_CENTRAL_FIELDS = (
    "orig_filename", "date_time", "compress_type", "comment", "extra", "create_system", "create_version",
    "extract_version", "reserved", "flag_bits", "volume", "internal_attr", "external_attr",
)  # fmt: skip
_SIZE_FIELDS = ("CRC", "compress_size", "file_size")


def _member_diff(za: zipfile.ZipFile, zb: zipfile.ZipFile, name: str, seg_a: bytes, seg_b: bytes) -> str | None:
    """How member ``name`` differs between two wheels (None: not at all)."""
    ia, ib = za.getinfo(name), zb.getinfo(name)
    header = [f for f in _CENTRAL_FIELDS if getattr(ia, f) != getattr(ib, f)]
    sizes = [f for f in _SIZE_FIELDS if getattr(ia, f) != getattr(ib, f)]
    if seg_a == seg_b and not header and not sizes:
        return None
    if za.read(name) != zb.read(name):
        return "content"
    if header:
        return "header: " + ", ".join(header)
    # Same content, compressed or framed differently.
    return "stored bytes" + "".join(f", {f}" for f in sizes)


def _local_header_same_but_sizes(seg_a: bytes, seg_b: bytes) -> bool:
    """The local headers agree except in CRC and sizes (offsets 14 to 26)."""
    end = _LOCAL_HEADER + int.from_bytes(seg_a[26:28], "little") + int.from_bytes(seg_a[28:30], "little")
    return seg_a[:14] == seg_b[:14] and seg_a[26:end] == seg_b[26:end]


def _same_frame(
    za: zipfile.ZipFile, zb: zipfile.ZipFile, name: str, seg_a: dict[str, bytes], seg_b: dict[str, bytes]
) -> bool:
    """Member ``name`` has the same central and local header fields in both, but for CRC and sizes."""
    ia, ib = za.getinfo(name), zb.getinfo(name)
    central = all(getattr(ia, f) == getattr(ib, f) for f in _CENTRAL_FIELDS)
    return central and _local_header_same_but_sizes(seg_a[name], seg_b[name])


def _only_tool_version(
    za: zipfile.ZipFile, zb: zipfile.ZipFile, name: str, seg_a: dict[str, bytes], seg_b: dict[str, bytes]
) -> bool:
    """Provenance file ``name`` differs in its tool version and nothing else."""
    return _same_frame(za, zb, name, seg_a, seg_b) and _same_but_tool_version(za.read(name), zb.read(name))


def _compare_wheels(a_path: Path, b_path: Path) -> list[str]:
    """What differs between two wheels, member by member; empty when identical but for the tool
    version in the provenance file (and, in consequence, that file's RECORD row)."""
    a_data, b_data = a_path.read_bytes(), b_path.read_bytes()
    if a_data == b_data:
        return []
    try:
        za, zb = zipfile.ZipFile(io.BytesIO(a_data)), zipfile.ZipFile(io.BytesIO(b_data))
    except zipfile.BadZipFile as exc:
        return [f"(not a readable zip: {exc})"]
    names_a, names_b = za.namelist(), zb.namelist()
    in_a, in_b = set(names_a), set(names_b)
    diffs = [f"{n} (only before)" for n in names_a if n not in in_b]
    diffs += [f"{n} (only after)" for n in names_b if n not in in_a]
    common = [n for n in names_a if n in in_b]
    if common != [n for n in names_b if n in in_a]:
        diffs.append("(member order)")
    seg_a, seg_b = _segments(a_data, za), _segments(b_data, zb)
    differing = {n: kind for n in common if (kind := _member_diff(za, zb, n, seg_a[n], seg_b[n])) is not None}
    provenance = [n for n in differing if n.count("/") == 1 and n.endswith(f".dist-info/{PROVENANCE}")]
    tolerated = len(provenance) == 1 and _only_tool_version(za, zb, provenance[0], seg_a, seg_b)
    if tolerated:
        # The provenance file differs in tool.version alone; RECORD may then differ in its row alone.
        name = provenance[0]
        del differing[name]
        record = name.rsplit("/", 1)[0] + "/RECORD"
        if (
            record in differing
            and _same_frame(za, zb, record, seg_a, seg_b)
            and _same_record_but_row(za.read(record), zb.read(record), name)
        ):
            del differing[record]
    diffs += [f"{n} ({kind})" for n, kind in differing.items()]
    if za.comment != zb.comment:
        diffs.append("(archive comment)")
    first_a = min((i.header_offset for i in za.infolist()), default=za.start_dir)
    first_b = min((i.header_offset for i in zb.infolist()), default=zb.start_dir)
    if a_data[:first_a] != b_data[:first_b]:
        diffs.append("(bytes before the first member)")
    if not diffs and not tolerated:
        diffs.append("(central directory)")  # every member the same, yet the files differ
    return diffs


def _files(house: Path) -> dict[str, Path]:
    if not house.is_dir():
        return {}
    return {p.relative_to(house).as_posix(): p for p in sorted(house.rglob("*")) if p.is_file()}


def _first_difference(a: str, b: str) -> str:
    for number, (la, lb) in enumerate(zip(a.splitlines(), b.splitlines()), 1):
        if la != lb:
            # From a little before the first differing character.
            at = next((i for i, (x, y) in enumerate(zip(la, lb)) if x != y), min(len(la), len(lb)))
            start = max(0, at - 30)
            cut_a, cut_b = (
                ("..." if start else "") + la[start : start + 100],
                ("..." if start else "") + lb[start : start + 100],
            )
            return f"line {number}: {cut_a.strip()!r} vs {cut_b.strip()!r}"
    return f"{len(a.splitlines())} lines vs {len(b.splitlines())} lines"


def _compare(outcome: Outcome, wheels_only: bool = False) -> None:
    """Fill in what differs. ``wheels_only``: the wheels, requirements.txt and exit codes must be the
    same; what the tool prints and its report (whose format a change may mean to change) are notes."""
    before, after = outcome.runs["before"], outcome.runs["after"]
    said = outcome.notes if wheels_only else outcome.problems
    if before.code != after.code:
        outcome.problems.append(f"exit {before.code} vs {after.code}")
    for stream in ("stdout", "stderr"):
        text_a, text_b = getattr(before, stream), getattr(after, stream)
        if text_a != text_b and not (stream == "stdout" and _same_but_tool_version(text_a.encode(), text_b.encode())):
            said.append(f"{stream} differs: {_first_difference(text_a, text_b)}")
    files_a, files_b = _files(before.house), _files(after.house)
    names = sorted(files_a.keys() | files_b.keys())
    # The sha256 of each wheel that differs in its tool version alone, as the report names it.
    blank_a: list[bytes] = []
    blank_b: list[bytes] = []
    for name in (n for n in names if n.endswith(".whl")):
        if name not in files_b:
            outcome.wheels[name] = ["only in before"]
        elif name not in files_a:
            outcome.wheels[name] = ["only in after"]
        else:
            outcome.wheels[name] = _compare_wheels(files_a[name], files_b[name])
            if not outcome.wheels[name]:
                blank_a.append(hashlib.sha256(files_a[name].read_bytes()).hexdigest().encode())
                blank_b.append(hashlib.sha256(files_b[name].read_bytes()).hexdigest().encode())
    for name in (n for n in names if not n.endswith(".whl")):
        if name not in files_a or name not in files_b:
            outcome.problems.append(f"{name} only in {'before' if name in files_a else 'after'}")
            continue
        data_a, data_b = files_a[name].read_bytes(), files_b[name].read_bytes()
        if data_a == data_b:
            continue
        if name == REPORT_NAME:
            if _same_but_tool_version(data_a, data_b, blank_a, blank_b):
                continue
            # Show the first difference that is not one of those allowed.
            data_a = _without_tool_version(data_a, blank_a) or data_a
            data_b = _without_tool_version(data_b, blank_b) or data_b
        text_a, text_b = (d.decode("utf-8", "replace") for d in (data_a, data_b))
        (said if name == REPORT_NAME else outcome.problems).append(
            f"{name} differs: {_first_difference(text_a, text_b)}"
        )


# --- main -----------------------------------------------------------------------------------------


def _repo_of_script() -> Path:
    here = Path(__file__).resolve().parent
    proc = subprocess.run(
        ["git", "-C", str(here), "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=False
    )
    return Path(proc.stdout.strip()) if proc.returncode == 0 else here.parent


def _parse(argv: Sequence[str] | None, repo: Path) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="compare_builds.py",
        description="Build the same wheelhouses with mvpy-vendor at a git revision and in a working tree, "
        "and compare every output byte for byte.",
    )
    parser.add_argument("--before", required=True, metavar="REV", help=f"git revision of {repo}")
    parser.add_argument("--after", type=Path, default=repo, metavar="TREE", help="source tree (default: %(default)s)")
    parser.add_argument("--work", type=Path, metavar="DIR", help="work directory, kept (default: a temporary one)")
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated wheel sets (default: %(default)s)")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path.home() / ".cache" / "mvpy-vendor-compare",
        metavar="DIR",
        help="where downloaded wheels are kept (default: %(default)s)",
    )
    parser.add_argument("--all-members", action="store_true", help="list every differing member, not the first few")
    parser.add_argument(
        "--wheels-only",
        action="store_true",
        help="fail only on differing wheels, requirements.txt or exit codes; list differences in the report, "
        "the plan and messages as notes (for a change that means to change those)",
    )
    args = parser.parse_args(argv)
    args.sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    unknown = [s for s in args.sets if s not in SETS]
    if unknown or not args.sets:
        parser.error(f"--sets: unknown set {', '.join(unknown) or '(none given)'}; choose from {', '.join(SETS)}")
    if not (args.after / "pyproject.toml").is_file():
        parser.error(f"--after {args.after}: not a source tree (no pyproject.toml)")
    args.after = args.after.resolve()
    args.commit = _commit(repo, args.before)
    if args.commit is None:
        parser.error(f"--before {args.before!r}: not a commit of {repo}")
    return args


def _print_outcome(outcome: Outcome, all_members: bool) -> None:
    before, after = outcome.runs["before"], outcome.runs["after"]
    timing = f"before {before.seconds:.1f} s, after {after.seconds:.1f} s"
    wheels = f"{len(outcome.wheels)} wheel{'s' if len(outcome.wheels) != 1 else ''}"
    status = f"exit {before.code}" if before.code == after.code else f"exit {before.code} vs {after.code}"
    if before.code != 0 and before.stderr.strip():
        status += f", {before.stderr.strip().splitlines()[0][:100]!r}"  # what the failure was
    if outcome.problems:
        print(f"{outcome.case.label}: DIFFERENT: {'; '.join(outcome.problems)} ({status}, {wheels}; {timing})")
    else:
        print(f"{outcome.case.label}: same ({status}, {wheels}; {timing})")
    for note in outcome.notes:
        print(f"  note: {note}")
    for name, diffs in outcome.wheels.items():
        if not diffs:
            print(f"  {name}: same")
            continue
        shown = diffs if all_members else diffs[:MAX_MEMBERS_SHOWN]
        more = f", ... (+{len(diffs) - len(shown)} more)" if len(shown) < len(diffs) else ""
        print(f"  {name}: DIFFERENT: {len(diffs)} member{'s' if len(diffs) != 1 else ''}: {', '.join(shown)}{more}")


def _compare_all(args: argparse.Namespace, repo: Path, work: Path) -> int:
    python = sys.executable
    cache = args.cache.expanduser().resolve() / f"py{sys.version_info[0]}{sys.version_info[1]}"
    started = time.perf_counter()

    tree = work / "before-tree"
    _export(repo, args.commit, tree)
    print(f"before: {args.before} ({args.commit}) of {repo}, exported to {tree}")
    print(f"after:  {args.after}")
    print("installing both sides into fresh venvs", flush=True)
    sides = [
        Side("before", work / "venv-before", tree),
        Side("after", work / "venv-after", args.after),
    ]
    for side in sides:
        _new_venv(side.venv, python, [side.source], f"mvpy-vendor ({side.name})")
    versions = {
        s.name: _run([s.venv / "bin" / "mvpy-vendor", "--version"], "mvpy-vendor --version").strip() for s in sides
    }
    print(f"tool: before {versions['before']!r}, after {versions['after']!r}")
    packages = {s.name: _tool_packages(s.venv / "bin" / "python") for s in sides}
    for name in sorted(packages["before"].keys() | packages["after"].keys()):
        va, vb = packages["before"].get(name, "-"), packages["after"].get(name, "-")
        if va != vb:
            print(f"warning: the venvs differ in {name}: {va} before, {vb} after (a difference may come from it)")

    # Fixture wheels: built once, from the after tree (wheel and Cython 3.0 in a helper venv).
    helper = _new_venv(
        work / "venv-helper", python, ["wheel", "cython>=3.0,<3.1", "tomli; python_version < '3.11'"], "fixture tools"
    )
    fixtures = work / "fixtures"
    if fixtures.exists():
        shutil.rmtree(fixtures)
    script = next(
        (
            t / "testwheels" / "build_wheels.py"
            for t in (args.after, tree)
            if (t / "testwheels" / "build_wheels.py").is_file()
        ),
        None,
    )
    if script is None:
        raise SetupError("no testwheels/build_wheels.py in either tree")
    print(f"building fixture wheels with {script}", flush=True)
    _run([helper, script, fixtures], "building the fixture wheels")
    _download(helper, cache, sorted({g for s in args.sets for g in NEEDS[s]}))
    cases = _cases(args.sets, fixtures, cache, work / "inputs")
    setup = time.perf_counter() - started

    outcomes: list[Outcome] = []
    for case in cases:
        scratch = work / "build" / case.group / case.name
        runs = {s.name: _build(s, case, scratch, work / s.name / case.group / case.name, sides) for s in sides}
        outcome = Outcome(case, runs)
        _compare(outcome, args.wheels_only)
        _print_outcome(outcome, args.all_members)
        outcomes.append(outcome)
        sys.stdout.flush()

    for name in SIDES:
        total = sum(o.runs[name].seconds for o in outcomes)
        print(f"{name}: {len(outcomes)} builds in {total:.1f} s wall time")
    print(f"setup (export, venvs, fixtures, downloads): {setup:.1f} s; total {time.perf_counter() - started:.1f} s")
    houses = sum(1 for o in outcomes if o.problems or any(o.wheels.values()))
    wheels = sum(len(o.wheels) for o in outcomes)
    different = sum(1 for o in outcomes for d in o.wheels.values() if d)
    if houses == 0:
        print(f"{len(outcomes)} wheelhouses, {wheels} wheels compared: all identical")
        return 0
    plural = ("s" if houses != 1 else "", "s" if different != 1 else "")
    print(
        f"{len(outcomes)} wheelhouses, {wheels} wheels compared: "
        f"{houses} wheelhouse{plural[0]} and {different} wheel{plural[1]} DIFFERENT"
    )
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    repo = _repo_of_script()
    args = _parse(argv, repo)
    work = args.work.resolve() if args.work else Path(tempfile.mkdtemp(prefix="mvpy-compare-"))
    work.mkdir(parents=True, exist_ok=True)
    for sub in ("before", "after", "build", "inputs"):
        if (work / sub).exists():
            shutil.rmtree(work / sub)
    status = 1
    try:
        status = _compare_all(args, repo, work)
    except SetupError as exc:
        print(f"compare_builds: error: {exc}", file=sys.stderr)
        status = 1
    finally:
        if args.work is None and status == 0:
            shutil.rmtree(work, ignore_errors=True)
        elif args.work is None:
            print(f"work directory kept: {work}")
    return status


if __name__ == "__main__":
    sys.exit(main())
