"""The persistent build cache: a warm build is byte-identical to a cold one, and never wrong."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mvpy_vendor.cli import main

from .conftest import FOO_SET, gather, pick


def _build(inputs: list[Path], out: Path, cache: Path | None) -> None:
    args = ["build", "--wheels", *map(str, inputs), "--out", str(out)]
    args += ["--cache-dir", str(cache)] if cache is not None else ["--no-cache"]
    assert main(args) == 0


def _same_dirs(a: Path, b: Path) -> None:
    assert sorted(p.name for p in a.iterdir()) == sorted(p.name for p in b.iterdir())
    for path in a.iterdir():
        assert path.read_bytes() == (b / path.name).read_bytes(), path.name


def test_warm_build_is_byte_identical(wheels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inputs = pick(wheels, *FOO_SET)
    cache = tmp_path / "cache"
    _build(inputs, tmp_path / "cold", cache)
    assert capsys.readouterr().out.splitlines()[-1] == f"wrote 4 wheels to {tmp_path / 'cold'}"
    _build(inputs, tmp_path / "warm", cache)
    # The two rewritten wheels (mv-foo-1-0-0 and slow-package) come from the cache.
    assert capsys.readouterr().out.splitlines()[-1] == f"wrote 4 wheels to {tmp_path / 'warm'} (2 from the cache)"
    _build(inputs, tmp_path / "uncached", None)
    _same_dirs(tmp_path / "cold", tmp_path / "warm")
    _same_dirs(tmp_path / "cold", tmp_path / "uncached")


def test_what_decides_the_bytes_is_in_the_key(
    wheels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs = pick(wheels, *FOO_SET)
    cache = tmp_path / "cache"
    _build(inputs, tmp_path / "a", cache)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    capsys.readouterr()
    _build(inputs, tmp_path / "b", cache)
    assert "from the cache" not in capsys.readouterr().out
    _build(inputs, tmp_path / "c", None)
    _same_dirs(tmp_path / "b", tmp_path / "c")


def test_broken_or_unwritable_cache_never_breaks_a_build(wheels: Path, tmp_path: Path) -> None:
    inputs = pick(wheels, *FOO_SET)
    cache = tmp_path / "cache"
    _build(inputs, tmp_path / "a", cache)
    for entry in cache.rglob("*.json"):
        entry.write_text("{ not json")
    for entry in cache.rglob("*.bin"):
        entry.write_bytes(b"")
    _build(inputs, tmp_path / "b", cache)
    _same_dirs(tmp_path / "a", tmp_path / "b")
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    _build(inputs, tmp_path / "c", blocked)
    _same_dirs(tmp_path / "a", tmp_path / "c")


def test_a_changed_wheel_is_validated_again(wheels: Path, tmp_path: Path) -> None:
    inputs = gather(tmp_path / "in", pick(wheels, *FOO_SET))
    cache = tmp_path / "cache"
    _build(sorted(inputs.iterdir()), tmp_path / "a", cache)
    # Same file name, other (broken) content: the cache must not vouch for it.
    shutil.copy(wheels / "hostile" / "badrecord-1.0-py3-none-any.whl", inputs / "foo-1.0.0-py3-none-any.whl")
    args = ["build", "--wheels", str(inputs), "--out", str(tmp_path / "b"), "--cache-dir", str(cache)]
    assert main(args) == 1
    assert not (tmp_path / "b").exists()
