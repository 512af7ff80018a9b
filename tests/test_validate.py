from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from mvpy_vendor.errors import ConfigError, WheelProblems
from mvpy_vendor.wheel.layout import import_name_of
from mvpy_vendor.wheel.validate import collect_wheel_paths, read_wheels

from .conftest import pick


def test_fixture_wheels_are_valid(wheels: Path) -> None:
    infos = {i.filename: i for i in read_wheels(collect_wheel_paths([wheels]))}
    foo = infos["foo-1.0.0-py3-none-any.whl"]
    assert (foo.name, str(foo.version), foo.import_names) == ("foo", "1.0.0", ("foo",))
    slow = infos["slow_package-0.1.0-py3-none-any.whl"]
    assert [str(r) for r in slow.requires] == ["foo<2,>=1"]
    assert slow.dist_info == "slow_package-0.1.0.dist-info"


def test_hostile_wheels_are_rejected_with_every_problem(wheels: Path) -> None:
    with pytest.raises(WheelProblems) as info:
        read_wheels(sorted((wheels / "hostile").glob("*.whl")))
    lines = str(info.value).splitlines()
    assert "badrecord-1.0-py3-none-any.whl: badrecord/__init__.py: hash does not match RECORD" in lines
    assert "evil-1.0-py3-none-any.whl: ../evil.py: member name leaves the wheel's root" in lines


def _rewrite_zip(src: Path, dst: Path, drop: str = "", add: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            if item.filename != drop:
                zout.writestr(item, zin.read(item))
        for name, data in (add or {}).items():
            zout.writestr(name, data)
    return dst


def test_missing_record_unlisted_member_and_second_dist_info(wheels: Path, tmp_path: Path) -> None:
    (foo,) = pick(wheels, "foo")[:1]
    no_record = _rewrite_zip(foo, tmp_path / foo.name, drop="foo-1.0.0.dist-info/RECORD")
    with pytest.raises(WheelProblems, match=r"foo-1\.0\.0\.dist-info/RECORD: missing"):
        read_wheels([no_record])
    extra = tmp_path / "x" / foo.name
    extra.parent.mkdir()
    _rewrite_zip(foo, extra, add={"foo/sneaky.py": b"", "bar-1.dist-info/METADATA": b""})
    with pytest.raises(WheelProblems, match=r"expected exactly one \.dist-info directory"):
        read_wheels([extra])
    unlisted = tmp_path / "y" / foo.name
    unlisted.parent.mkdir()
    _rewrite_zip(foo, unlisted, add={"foo/sneaky.py": b""})
    with pytest.raises(WheelProblems, match=r"foo/sneaky\.py: not mentioned in RECORD"):
        read_wheels([unlisted])


def test_not_a_zip_and_bad_names(tmp_path: Path) -> None:
    junk = tmp_path / "junk-1.0-py3-none-any.whl"
    junk.write_bytes(b"not a zip")
    bad = tmp_path / "not_a_wheel_name.whl"
    bad.write_bytes(b"")
    with pytest.raises(WheelProblems) as info:
        read_wheels([junk, bad])
    text = str(info.value)
    assert "junk-1.0-py3-none-any.whl: not a readable zip archive" in text
    assert "not_a_wheel_name.whl: invalid wheel file name" in text


def test_paths_that_are_not_wheels_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        collect_wheel_paths([tmp_path / "missing.whl"])
    with pytest.raises(ConfigError, match="no wheels found"):
        collect_wheel_paths([tmp_path])


@pytest.mark.parametrize(
    ("member", "expected"),
    [
        ("foo/__init__.py", "foo"),
        ("foo/sub/x.py", "foo"),
        ("foo.py", "foo"),
        ("_speedups.cpython-311-x86_64-linux-gnu.so", "_speedups"),
        # mypyc's shared library: a hash, not a Python identifier, imported by name from C
        ("30fcd23745efe32ce681__mypyc.cpython-311-x86_64-linux-gnu.so", "30fcd23745efe32ce681__mypyc"),
        ("lib-foo.cpython-311-x86_64-linux-gnu.so", None),
        ("foo-stubs/__init__.pyi", None),
        ("foo/README.txt", None),
        ("thing.pth", None),
    ],
)
def test_import_names(member: str, expected: str | None) -> None:
    assert import_name_of(member) == expected


def _damaged(wheel: Path, dst: Path, member_suffix: str, damage: str) -> tuple[Path, str]:
    """``wheel`` with one member damaged at the byte level, as a hostile or broken zip would be."""
    data = bytearray(wheel.read_bytes())
    with zipfile.ZipFile(wheel) as zf:
        info = next(i for i in zf.infolist() if i.filename.endswith(member_suffix))
    name = info.filename.encode()
    local = info.header_offset
    central = data.find(b"PK\x01\x02")
    while data[central + 46 : central + 46 + len(name)] != name:
        central = data.find(b"PK\x01\x02", central + 1)
    if damage == "encrypted":  # the "encrypted" flag, in both headers
        data[local + 6] |= 0x1
        data[central + 8] |= 0x1
    elif damage == "renamed locally":  # the local header names another file than the directory
        data[local + 30] ^= 0x20
    elif damage == "truncated stream":  # the deflate stream says it ends before its data does
        start = local + 30 + len(name) + int.from_bytes(data[local + 28 : local + 30], "little")
        data[start : start + info.compress_size] = bytes([0x03, 0x00]) + bytes(info.compress_size - 2)
    dst.mkdir(parents=True, exist_ok=True)
    (dst / wheel.name).write_bytes(bytes(data))
    return dst / wheel.name, info.filename


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("encrypted", "encrypted member"),
        ("renamed locally", "cannot read: its local file header names 'Slow_package/__init__.py'"),
        ("truncated stream", "cannot read: 0 bytes, where the central directory says"),
    ],
)
def test_damaged_members_are_problems_not_crashes(wheels: Path, tmp_path: Path, damage: str, message: str) -> None:
    (slow,) = pick(wheels, "slow_package")
    broken, member = _damaged(slow, tmp_path / "in", "slow_package/__init__.py", damage)
    with pytest.raises(WheelProblems) as problem:
        read_wheels([broken])
    assert str(problem.value).startswith(f"{slow.name}: {member}: " + message.format(member=member))
