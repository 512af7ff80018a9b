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


def test_a_truncated_cached_output_wheel_is_ignored_and_removed(
    wheels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = pick(wheels, *FOO_SET)
    cache = tmp_path / "cache"
    _build(inputs, tmp_path / "cold", cache)
    entries = sorted(cache.rglob("*.bin"))
    assert len(entries) == 2  # the two rewritten wheels
    for entry in entries:
        data = entry.read_bytes()
        entry.write_bytes(data[: len(data) // 2])  # truncated: its digest no longer matches
    capsys.readouterr()
    _build(inputs, tmp_path / "warm", cache)
    assert "from the cache" not in capsys.readouterr().out
    _same_dirs(tmp_path / "cold", tmp_path / "warm")
    # The wrong entries were replaced by good ones: the next build uses them.
    _build(inputs, tmp_path / "again", cache)
    assert capsys.readouterr().out.splitlines()[-1].endswith("(2 from the cache)")
    _same_dirs(tmp_path / "cold", tmp_path / "again")


def test_a_poisoned_member_plan_is_ignored(wheels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A member plan entry edited to copy a file instead of rewriting it (its imports would then
    never be rewritten) does not match its digest: it is planned again."""
    inputs = pick(wheels, *FOO_SET)
    cache = tmp_path / "cache"
    _build(inputs, tmp_path / "cold", cache)
    poisoned = 0
    for entry in cache.rglob("*.json"):
        if entry.parent.parent.name != "members":
            continue
        text = entry.read_text(encoding="utf-8")
        if '"rewrite"' in text:
            entry.write_text(text.replace('"rewrite"', '"copy"'), encoding="utf-8")
            poisoned += 1
    assert poisoned
    for entry in cache.rglob("*.bin"):  # so that the output wheels are written again, from the plans
        entry.unlink()
    _build(inputs, tmp_path / "warm", cache)
    _same_dirs(tmp_path / "cold", tmp_path / "warm")
    members = [e for e in cache.rglob("*.json") if e.parent.parent.name == "members"]
    assert members and all('"rewrite"' in e.read_text(encoding="utf-8") for e in members)
