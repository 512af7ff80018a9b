"""Lengths kept apart from strings: in a Rust binary (``&str``, PyO3 C strings from literals)
found on real bytes built by gcc, updated with the pointer, or refused; in a C binary never read
from beside a pointer."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from mvpy_vendor.native import elf
from mvpy_vendor.native._view import Use

SOURCE = Path(__file__).with_name("data") / "lengths.c"
NAMES = {"cfoo": "_mv_cfoo_1_0"}
GROWTH = len("_mv_cfoo_1_0") - len("cfoo")


def _build(tmp: Path, *flags: str) -> bytes:
    if shutil.which("gcc") is None:  # pragma: no cover
        pytest.skip("gcc is not installed")
    out = tmp / "lengths.so"
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", *flags, str(SOURCE), "-o", str(out)], check=True)
    return out.read_bytes()


def _uses(data: bytes, names: dict[str, str] = NAMES) -> dict[str, list[Use]]:
    found: dict[str, list[Use]] = {}
    for use in elf.ElfView(elf.parse(data, "m"), names).uses():
        found.setdefault(use.text, []).append(use)
    return found


def _word(data: bytes, address: int, width: int) -> int:
    view = elf.ElfView(elf.parse(data, "m"), {})
    return int.from_bytes(view.read(address, width), "little")


def test_a_c_binary_keeps_no_length_beside_a_pointer(tmp_path: Path) -> None:
    """In a C binary a word after a pointer equal to the string's length (or one more), or an
    immediate beside the ``lea``, is nothing the C ABI makes a length (``tp_basicsize`` follows
    ``tp_name``): no length is read or written. What these strings are used for (a struct of no
    known layout, functions of no known meaning) cannot be told: every reference is kept, and
    each occurrence says why."""
    data = _build(tmp_path)
    assert not _uses(data)
    found = {o.text: o for o in elf.inspect(data, "m", NAMES).view.occurrences()}
    assert {t: (o.kind, o.lengths, o.blocks) for t, o in found.items()} == {
        "cfoo.helper": ("kept", 0, False),
        "cfoo.counted": ("kept", 0, False),
        "cfoo.firstcfoo.second": ("kept", 0, False),
        "cfoo.code": ("kept", 0, False),
        "cfoo.plain": ("kept", 0, False),
    }
    assert found["cfoo.helper"].detail == "its pointer is in a struct of no known layout"
    assert found["cfoo.code"].detail == "it is passed as argument 1 of take"

    view = elf.ElfView(elf.parse(data, "m"), NAMES)
    words = {
        text: view.pointer_slot(view.pointers[address][0]) + 8
        for address, text in view.strings.items()
        if text in ("cfoo.helper", "cfoo.counted")
    }
    patched = elf.patch(data, "m", NAMES, None)
    assert {t: _word(patched, at, 8) for t, at in words.items()} == {"cfoo.helper": 11, "cfoo.counted": 13}
    assert {o.kind for o in elf.inspect(patched, "m", NAMES).view.occurrences()} == {"kept"}


def test_rust_binary_prefix_and_refusal(tmp_path: Path) -> None:
    data = _build(tmp_path, "-DRUST_NOTE")
    view = elf.ElfView(elf.parse(data, "m"), NAMES)
    assert view.rust
    uses = {u.text: u for u in view.uses()}
    # pointer plus length into text that runs on: the string is the first 10 bytes
    assert uses["cfoo.first"].length is not None and uses["cfoo.first"].length.value == 10
    assert "cfoo.firstcfoo.second" not in uses
    refused = [o for o in view.occurrences() if o.kind == "delimited"]
    assert [o.text for o in refused] == ["cfoo.bare\x01\x02"]
    assert refused[0].blocks and "the length cannot be updated" in refused[0].why_not
    assert "is referenced as pointer plus length at 0x" in refused[0].why_not

    patched = elf.patch(data, "m", NAMES, None)
    first = next(u for u in _uses(patched, {"_mv_cfoo_1_0": "x"}).values() for u in u if u.text == "_mv_cfoo_1_0.first")
    assert first.length is not None and _word(patched, first.length.at, 8) == 10 + GROWTH
