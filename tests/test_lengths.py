"""Lengths kept apart from strings (Rust ``&str``, PyO3 C strings from literals, C structs of
pointer and length): found on real bytes built by gcc, updated with the pointer, or refused."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from mvpy_vendor.native import elf
from mvpy_vendor.native._binary import Use

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


def test_c_binary_lengths_beside_pointers(tmp_path: Path) -> None:
    data = _build(tmp_path)
    uses = _uses(data)
    fat, counted, code = uses["cfoo.helper"][0], uses["cfoo.counted"][0], uses["cfoo.code"][0]
    assert fat.length is not None and (fat.length.value, fat.length.width, fat.length.counts_nul) == (11, 8, False)
    assert counted.length is not None and (counted.length.value, counted.length.counts_nul) == (13, True)
    assert code.length is not None and (code.length.value, code.length.width) == (9, 4)  # mov esi, 9
    assert uses["cfoo.plain"][0].length is None
    # Not Rust: a length that cuts a C string short is not trusted; the pointer reads the C string.
    assert [u.length for u in uses["cfoo.firstcfoo.second"]] == [None]
    assert "cfoo.first" not in uses
    module = elf.inspect(data, "m", NAMES).view.occurrences()
    assert not [o for o in module if o.kind == "delimited"]

    patched = elf.patch(data, "m", NAMES, None)
    after = _uses(patched, {"_mv_cfoo_1_0": "x"})
    for text, old in (("cfoo.helper", 11), ("cfoo.counted", 13), ("cfoo.code", 9)):
        (use,) = after["_mv_" + text.replace("cfoo", "cfoo_1_0")]
        assert use.length is not None and use.length.value == old + GROWTH
        assert _word(patched, use.length.at, use.length.width) == old + GROWTH
    assert not _uses(patched)  # nothing refers to the old names


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
