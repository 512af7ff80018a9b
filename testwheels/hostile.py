"""Hostile variants of the foo fixture wheels, and a large one for fault tests.

    python testwheels/hostile.py FIXTURES OUTDIR

FIXTURES is a directory built by build_wheels.py (it holds ``foo-1.0.0-py3-none-any.whl``, which
a build of the foo set renames, and ``foo-2.0.0-py3-none-any.whl``, which it only copies). Each
case in :data:`CASES` writes one wheel: a copy of one of them with one thing wrong, written
byte by byte by :func:`raw_zip` (so that names, flags, CRCs and sizes can be anything), and says
what a build of it must do (reject it, warn, or accept it) and which member and reason the one
line must name.
"""

from __future__ import annotations

import base64
import hashlib
import struct
import sys
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CASES", "Case", "Member", "big_wheel", "raw_zip", "read_members", "record_for"]

FOO1 = "foo-1.0.0-py3-none-any.whl"
FOO2 = "foo-2.0.0-py3-none-any.whl"
DIST1 = "foo-1.0.0.dist-info"
DIST2 = "foo-2.0.0.dist-info"


@dataclass
class Member:
    """One zip member as written: ``name`` as raw bytes, and what its headers claim."""

    name: bytes
    data: bytes
    deflate: bool = True
    utf8_flag: bool = False
    crc: int | None = None  # None: the true CRC
    size: int | None = None  # None: the true size (both headers)
    mode: int = 0o100644


def _hash(data: bytes, algorithm: str = "sha256") -> str:
    h = hashlib.new(algorithm, data)
    digest = h.digest(32) if algorithm.startswith("shake_") else h.digest()  # type: ignore[call-arg]
    return f"{algorithm}=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def raw_zip(path: Path, members: list[Member]) -> Path:
    """Write a zip of ``members`` exactly as given (no zipfile checks, no normalisation)."""
    out = bytearray()
    directory = bytearray()
    for m in members:
        packed = m.data
        method = 0
        if m.deflate:
            c = zlib.compressobj(6, zlib.DEFLATED, -15)
            packed = c.compress(m.data) + c.flush()
            method = 8
        crc = zlib.crc32(m.data) if m.crc is None else m.crc
        size = len(m.data) if m.size is None else m.size
        flags = 0x800 if m.utf8_flag else 0
        offset = len(out)
        out += struct.pack(
            "<4sHHHHHIIIHH", b"PK\x03\x04", 20, flags, method, 0, 0x21, crc, len(packed), size, len(m.name), 0
        )
        out += m.name + packed
        directory += struct.pack(
            "<4sBBHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 3, 20, flags, method, 0, 0x21, crc, len(packed), size,
            len(m.name), 0, 0, 0, 0, m.mode << 16, offset,
        )  # fmt: skip
        directory += m.name
    start = len(out)
    out += directory
    out += struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(members), len(members), len(directory), start, 0)
    path.write_bytes(bytes(out))
    return path


def read_members(wheel: Path) -> dict[str, bytes]:
    """A fixture wheel's members (RECORD left out: :func:`record_for` makes a new one)."""
    with zipfile.ZipFile(wheel) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist() if not i.filename.endswith("/RECORD")}


def record_for(members: dict[str, bytes], dist_info: str, algorithm: str = "sha256") -> bytes:
    rows = "".join(f"{n},{_hash(d, algorithm)},{len(d)}\n" for n, d in members.items())
    return (rows + f"{dist_info}/RECORD,,\n").encode()


def _wheel(
    path: Path, members: dict[str, bytes], dist_info: str, record: bytes | None = None, **overrides: Member
) -> Path:
    """A wheel of ``members`` with a correct RECORD (unless ``record`` is given); ``overrides`` by name."""
    record = record_for(members, dist_info) if record is None else record
    listed = [overrides.get(name, Member(name.encode(), data)) for name, data in members.items()]
    listed.append(Member(f"{dist_info}/RECORD".encode(), record))
    return raw_zip(path, listed)


@dataclass(frozen=True)
class Case:
    """One hostile input: ``make(fixtures, dest)`` writes it (under the file name it must have).

    ``verdict`` is ``reject`` (exit 1, nothing written, an error line naming ``member`` and
    holding ``reason``), ``warn`` (exit 0, a warning line naming them) or ``accept``.
    ``base`` is the fixture it replaces in a build of the foo set.
    """

    name: str
    base: str
    verdict: str
    member: str
    reason: str
    make: Callable[[Path, Path], Path] = field(repr=False)


def _case(name: str, base: str, verdict: str, member: str, reason: str) -> Callable[..., Callable[..., Path]]:
    def register(make: Callable[[Path, Path], Path]) -> Callable[[Path, Path], Path]:
        CASES.append(Case(name, base, verdict, member, reason, make))
        return make

    return register


def _start(fixtures: Path, dest: Path, base: str) -> tuple[dict[str, bytes], Path]:
    dest.mkdir(parents=True, exist_ok=True)
    return read_members(fixtures / base), dest / base


CASES: list[Case] = []


# Tracebacks before: now one line each.
@_case("utf8-flag-bad-name", FOO1, "reject", "foo/\\xff.py", "member name is flagged as UTF-8 but is not valid UTF-8")
def _(fixtures: Path, dest: Path) -> Path:
    members, path = _start(fixtures, dest, FOO1)
    listed = [Member(n.encode(), d) for n, d in members.items()]
    listed.append(Member(b"foo/\xff.py", b"", utf8_flag=True))
    return raw_zip(path, [*listed, Member(f"{DIST1}/RECORD".encode(), record_for(members, DIST1))])


@_case(
    "record-field-over-128k", FOO1, "reject", f"{DIST1}/RECORD", "field limit (131072) (pip refuses it; uv installs it)"
)
def _(fixtures: Path, dest: Path) -> Path:
    members, path = _start(fixtures, dest, FOO1)
    record = record_for(members, DIST1) + b"foo/" + b"x" * (200 << 10) + b".py,,\n"
    return _wheel(path, members, DIST1, record)


@_case("record-hash-shake-128", FOO1, "reject", "foo/__init__.py", "RECORD uses unsupported hash 'shake_128'")
def _(fixtures: Path, dest: Path) -> Path:
    members, path = _start(fixtures, dest, FOO1)
    return _wheel(path, members, DIST1, record_for(members, DIST1, "shake_128"))


@_case("record-self-row-bad-utf8", FOO1, "reject", f"{DIST1}/RECORD", "is not valid UTF-8")
def _(fixtures: Path, dest: Path) -> Path:
    members, path = _start(fixtures, dest, FOO1)
    record = record_for(members, DIST1).replace(f"{DIST1}/RECORD,,".encode(), f"{DIST1}/RECORD".encode() + b"\xff,,")
    return _wheel(path, members, DIST1, record)


@_case("metadata-latin-1", FOO1, "reject", f"{DIST1}/METADATA", "not valid UTF-8 (at byte 131; pip refuses it, uv")
def _(fixtures: Path, dest: Path) -> Path:
    members, path = _start(fixtures, dest, FOO1)
    members[f"{DIST1}/METADATA"] += "Author: Zo\u00e9\n".encode("latin-1")
    return _wheel(path, members, DIST1)


@_case("top-level-case-clash", FOO1, "reject", "foo/__init__.py", "would be written as _mv_foo_1_0_0/__init__.py")
def _(fixtures: Path, dest: Path) -> Path:
    """``Foo/`` beside ``foo/``: both would become the renamed package (a ValueError before)."""
    members, path = _start(fixtures, dest, FOO1)
    members["Foo/__init__.py"] = b"X = 1\n"
    return _wheel(path, members, DIST1)


# Accepted before, and pip or uv then refused the output (or it was ambiguous): now rejected.
@_case("wheel-version-2", FOO1, "reject", f"{DIST1}/WHEEL", "Wheel-Version 2.0 is not supported")
def _(fixtures: Path, dest: Path) -> Path:
    members, path = _start(fixtures, dest, FOO1)
    members[f"{DIST1}/WHEEL"] = members[f"{DIST1}/WHEEL"].replace(b"Wheel-Version: 1.0", b"Wheel-Version: 2.0")
    return _wheel(path, members, DIST1)


@_case("wheel-file-garbage", FOO2, "reject", f"{DIST2}/WHEEL", "no Wheel-Version (not a WHEEL file)")
def _(fixtures: Path, dest: Path) -> Path:
    members, path = _start(fixtures, dest, FOO2)
    members[f"{DIST2}/WHEEL"] = b"\x00\x01 this is not a WHEEL file\n"
    return _wheel(path, members, DIST2)


@_case("dist-info-version-mismatch", FOO1, "reject", "foo-1.0.1.dist-info", "does not match the file name")
def _(fixtures: Path, dest: Path) -> Path:
    members, path = _start(fixtures, dest, FOO1)
    moved = {n.replace(DIST1, "foo-1.0.1.dist-info"): d for n, d in members.items()}
    return _wheel(path, moved, "foo-1.0.1.dist-info")


@_case("unknown-data-scheme", FOO1, "reject", "foo-1.0.0.data/evil", "unknown .data scheme 'evil'")
def _(fixtures: Path, dest: Path) -> Path:
    members, path = _start(fixtures, dest, FOO1)
    members["foo-1.0.0.data/evil/payload.txt"] = b"where does this go?\n"
    return _wheel(path, members, DIST1)


@_case("nul-in-member-name", FOO1, "reject", "foo/a\\x00b.py", "control character (NUL, newline, ...; uv refuses it")
def _(fixtures: Path, dest: Path) -> Path:
    members, path = _start(fixtures, dest, FOO1)
    members["foo/a\x00b.py"] = b"X = 1\n"
    return _wheel(path, members, DIST1)


@_case("newline-in-member-name", FOO2, "reject", "foo/a\\nb.py", "control character (NUL, newline, ...; uv refuses it")
def _(fixtures: Path, dest: Path) -> Path:
    members, path = _start(fixtures, dest, FOO2)
    members["foo/a\nb.py"] = b"X = 1\n"
    return _wheel(path, members, DIST2)


@_case("dot-part-aliases-a-member", FOO1, "reject", "foo/./cli.py", "member name is not normalized")
def _(fixtures: Path, dest: Path) -> Path:
    members, path = _start(fixtures, dest, FOO1)
    members["foo/./cli.py"] = b"import os\nos.system('echo surprise')\n"
    return _wheel(path, members, DIST1)


@_case("crc-mismatch", FOO2, "reject", "foo/cli.py", "its CRC-32 does not match its data")
def _(fixtures: Path, dest: Path) -> Path:
    members, path = _start(fixtures, dest, FOO2)
    return _wheel(path, members, DIST2, **{"foo/cli.py": Member(b"foo/cli.py", members["foo/cli.py"], crc=0xDEADBEEF)})


@_case("inflates-past-its-size", FOO1, "reject", "foo/big.dat", "holds more than the 100 bytes")
def _(fixtures: Path, dest: Path) -> Path:
    """A member that declares 100 bytes and inflates to 256 MiB (a zip bomb)."""
    members, path = _start(fixtures, dest, FOO1)
    bomb = b"\0" * (256 << 20)
    members["foo/big.dat"] = bomb
    record = record_for(members, DIST1).replace(b",268435456\n", b",100\n")  # RECORD agrees: 100
    return _wheel(path, members, DIST1, record, **{"foo/big.dat": Member(b"foo/big.dat", bomb, size=100)})


@_case("record-size-lies", FOO1, "reject", "foo/big.dat", "size 268435456 does not match RECORD (10)")
def _(fixtures: Path, dest: Path) -> Path:
    """A RECORD row claiming 10 bytes for a 256 MiB member: refused without reading it."""
    members, path = _start(fixtures, dest, FOO1)
    members["foo/big.dat"] = b"\0" * (256 << 20)
    record = record_for(members, DIST1).replace(b",268435456\n", b",10\n")
    return _wheel(path, members, DIST1, record)


@_case("metadata-over-16-mib", FOO1, "reject", f"{DIST1}/METADATA", "larger than 16 MiB")
def _(fixtures: Path, dest: Path) -> Path:
    members, path = _start(fixtures, dest, FOO1)
    members[f"{DIST1}/METADATA"] += b"\n" + b"x" * (17 << 20)
    return _wheel(path, members, DIST1)


@_case("twin-input-other-content", FOO2, "reject", "", "two different files of this name")
def _(fixtures: Path, dest: Path) -> Path:
    """Another file of foo 2.0.0's name, with other contents (given besides the fixture itself)."""
    members, path = _start(fixtures, dest / "twin", FOO2)
    members["foo/extra.py"] = b"X = 2\n"
    return _wheel(path, members, DIST2)


@_case("deeply-nested-statement", FOO1, "reject", "foo/deep.py", "brackets nested more than 200 deep")
def _(fixtures: Path, dest: Path) -> Path:
    """100,000 nested brackets in a statement the rewriter must change (crashed the process)."""
    members, path = _start(fixtures, dest, FOO1)
    n = 100_000
    members["foo/deep.py"] = (
        b"import importlib\nm = importlib.import_module(" + b"(" * n + b"'foo.sub'" + b")" * n + b")\n"
    )
    return _wheel(path, members, DIST1)


@_case("long-operator-chain", FOO1, "reject", "foo/chain.py:2", "too complex to rewrite: an expression with 10000")
def _(fixtures: Path, dest: Path) -> Path:
    """A 10,000-term chain in a statement the rewriter must change (took 607 s)."""
    members, path = _start(fixtures, dest, FOO1)
    chain = b" + ".join([b"a"] * 10_000)
    members["foo/chain.py"] = b"import importlib\nm = importlib.import_module('foo.sub' + " + chain + b")\n"
    return _wheel(path, members, DIST1)


@_case("huge-statement", FOO1, "reject", "foo/huge.py:2", "too complex to rewrite: a statement of 80009 tokens")
def _(fixtures: Path, dest: Path) -> Path:
    """A 40,000-item list in a call, parsed whole by libcst (a display assigned to a name is not)."""
    members, path = _start(fixtures, dest, FOO1)
    members["foo/huge.py"] = b"import importlib\nimportlib.import_module(name, [" + b"'foo.sub', " * 40_000 + b"])\n"
    return _wheel(path, members, DIST1)


# Large but legal: accepted and rewritten (``reason`` is a line the rewritten member holds).
@_case("huge-flat-literal", FOO1, "accept", "foo/table.py", "'z': importlib.import_module('_mv_foo_1_0_0.sub'),")
def _(fixtures: Path, dest: Path) -> Path:
    """20,000-item displays of module paths (data, kept) around one import call (took 12 s in libcst)."""
    members, path = _start(fixtures, dest, FOO1)
    rows = b"".join(b"    'k%d': 'foo.sub.m%d',\n" % (i, i) for i in range(20_000))
    members["foo/table.py"] = (
        b"import importlib\nTABLE = {\n"
        + rows
        + b"    'z': importlib.import_module('foo.sub'),\n}\nNAMES = ["
        + b"'foo', " * 20_000
        + b"importlib]\n"
    )
    return _wheel(path, members, DIST1)


@_case("many-import-lines", FOO1, "accept", "foo/imports.py", "import _mv_foo_1_0_0 as foo")
def _(fixtures: Path, dest: Path) -> Path:
    """200,000 ``import foo`` lines, each rewritten (benchmarks/memory.py builds a million)."""
    members, path = _start(fixtures, dest, FOO1)
    members["foo/imports.py"] = b"import foo\n" * 200_000
    return _wheel(path, members, DIST1)


# Legal but dangerous: accepted, with a warning.
@_case("case-colliding-members", FOO1, "warn", "foo/a.py", "differs from 'foo/A.py' only in case")
def _(fixtures: Path, dest: Path) -> Path:
    members, path = _start(fixtures, dest, FOO1)
    members["foo/A.py"] = b"X = 1\n"
    members["foo/a.py"] = b"X = 2\n"
    return _wheel(path, members, DIST1)


@_case("normalization-colliding-members", FOO2, "warn", "foo/caf\u00e9.py", "only in Unicode normalization")
def _(fixtures: Path, dest: Path) -> Path:
    members, path = _start(fixtures, dest, FOO2)
    members["foo/caf\u00e9.py"] = b"X = 1\n"
    members["foo/cafe\u0301.py"] = b"X = 2\n"
    listed = {n: Member(n.encode(), d, utf8_flag=not n.isascii()) for n, d in members.items()}
    return _wheel(path, members, DIST2, **listed)


@_case("pth-runs-code", FOO1, "warn", "foo-hook.pth", "a .pth file that runs code")
def _(fixtures: Path, dest: Path) -> Path:
    members, path = _start(fixtures, dest, FOO1)
    members["foo-hook.pth"] = b"import sys; sys.flags\n"
    return _wheel(path, members, DIST1)


# Where pip and uv disagree (one installs the input, the other refuses it), or both refuse an
# input the build used to accept: rejected, the message saying which installer refuses it.
def _edit(fixtures: Path, dest: Path, member: str, old: bytes, new: bytes, base: str = FOO1) -> Path:
    members, path = _start(fixtures, dest, base)
    dist = DIST1 if base == FOO1 else DIST2
    key = f"{dist}/{member}"
    members[key] = members[key].replace(old, new) if old else new
    return _wheel(path, members, dist)


@_case("metadata-version-mismatch", FOO1, "reject", f"{DIST1}/METADATA", "match the file name (uv refuses it; pip")
def _(fixtures: Path, dest: Path) -> Path:
    return _edit(fixtures, dest, "METADATA", b"Version: 1.0.0", b"Version: 1.0.1")


@_case("requires-python-invalid", FOO1, "reject", f"{DIST1}/METADATA", "'>=<3' (uv refuses it; pip installs it")
def _(fixtures: Path, dest: Path) -> Path:
    return _edit(fixtures, dest, "METADATA", b"Version: 1.0.0\n", b"Version: 1.0.0\nRequires-Python: >=<3\n")


_EP = f"{DIST1}/entry_points.txt"


@_case("entry-points-no-section", FOO1, "reject", _EP, "before any section header (uv refuses it; pip installs")
def _(fixtures: Path, dest: Path) -> Path:
    return _edit(fixtures, dest, "entry_points.txt", b"", b"this is [not an ini\n= = =\n")


@_case("entry-points-section-twice", FOO1, "reject", _EP, "[console_scripts] twice (uv refuses it; pip installs")
def _(fixtures: Path, dest: Path) -> Path:
    text = b"[console_scripts]\na = foo.cli:main\n[console_scripts]\nb = foo.cli:main\n"
    return _edit(fixtures, dest, "entry_points.txt", b"", text)


@_case("entry-points-key-twice", FOO1, "reject", _EP, "'a' twice in [console_scripts] (uv refuses it; pip")
def _(fixtures: Path, dest: Path) -> Path:
    return _edit(fixtures, dest, "entry_points.txt", b"", b"[console_scripts]\na = foo.cli:main\na = foo.cli:main\n")


@_case("entry-points-bad-script", FOO1, "reject", _EP, "invalid script entry point 'foo.cli' (pip and uv refuse")
def _(fixtures: Path, dest: Path) -> Path:
    return _edit(fixtures, dest, "entry_points.txt", b"", b"[console_scripts]\na = foo.cli\n")


@_case("data-file-outside-scheme", FOO1, "reject", "foo-1.0.0.data/x.txt", "not under a scheme: pip and uv refuse")
def _(fixtures: Path, dest: Path) -> Path:
    members, path = _start(fixtures, dest, FOO1)
    members["foo-1.0.0.data/x.txt"] = b"x\n"
    return _wheel(path, members, DIST1)


# Legal but unusual, and installed by both pip and uv: accepted, and so is the output.
@_case("dist-info-not-normalized", FOO1, "accept", "", "")
def _(fixtures: Path, dest: Path) -> Path:
    members, path = _start(fixtures, dest, FOO1)
    moved = {n.replace(DIST1, "Foo-1.0.0.dist-info"): d for n, d in members.items()}
    return _wheel(path, moved, "Foo-1.0.0.dist-info")


@_case("build-tag-and-newer-wheel-version", FOO1, "accept", "", "")
def _(fixtures: Path, dest: Path) -> Path:
    """A build tag in the file name, Wheel-Version 1.9 (pip warns), Metadata-Version 3.0, no Tag."""
    members, path = _start(fixtures, dest, FOO1)
    wheel, metadata = f"{DIST1}/WHEEL", f"{DIST1}/METADATA"
    members[wheel] = (
        members[wheel].replace(b"Wheel-Version: 1.0", b"Wheel-Version: 1.9").replace(b"Tag: py3-none-any\n", b"")
    )
    members[metadata] = members[metadata].replace(b"Metadata-Version: 2.1", b"Metadata-Version: 3.0")
    return _wheel(path.with_name("foo-1.0.0-1-py3-none-any.whl"), members, DIST1)


def big_wheel(fixtures: Path, dest: Path, modules: int = 4000) -> Path:
    """foo 1.0.0 with ``modules`` more modules (about 5 KB each) that import it: a build renames it
    and rewrites them in worker processes, for some seconds."""
    members = read_members(fixtures / FOO1)
    body = "".join(f"def f{j}(x):\n    import foo.sub\n    return foo.sub.deep.VALUE + x * {j}\n\n" for j in range(60))
    members["foo/gen/__init__.py"] = b""
    for i in range(modules):
        members[f"foo/gen/m{i}.py"] = ("import foo\nfrom foo import sub\n" + body).encode()
    dest.mkdir(parents=True, exist_ok=True)
    return _wheel(dest / FOO1, members, DIST1)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    fixtures, outdir = Path(sys.argv[1]), Path(sys.argv[2])
    for case in CASES:
        case.make(fixtures, outdir / case.name)
        print(f"{case.name}: {case.verdict} ({case.member}: {case.reason})")
    big_wheel(fixtures, outdir / "big")
    print(f"wrote {len(CASES)} hostile wheels and a large one into {outdir}")
