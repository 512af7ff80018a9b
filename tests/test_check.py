"""The structural check of patched ELF files, the GNU and SysV hash lookups it relies on, and the
load check in a child process, on binaries compiled with gcc from testwheels/ sources."""

from __future__ import annotations

import struct
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import lief
import pytest

from mvpy_vendor import BuildRequest, build
from mvpy_vendor.errors import NativeError, WheelProblems
from mvpy_vendor.native import elf, patch_native
from mvpy_vendor.native.check import ElfImage, LoadTarget, check_elf, gnu_hash, load_check, sysv_hash

from .conftest import C_SET, ROOT, pick

EXT = sysconfig.get_config_var("EXT_SUFFIX")
CFOO = {"cfoo": "_mv_cfoo_1_0"}
INIT = ("cfoo", "_mv_cfoo_1_0")


def _cfoo(wheels: Path) -> bytes:
    with zipfile.ZipFile(pick(wheels, "cfoo")[0]) as zf:
        return zf.read(f"cfoo{EXT}")


def _compile(tmp_path: Path, name: str, source: str | Path, *flags: str) -> bytes:
    """A shared object built with gcc against this Python's headers."""
    src = Path(source) if isinstance(source, Path) else tmp_path / f"{name}.c"
    if not isinstance(source, Path):
        src.write_text(source)
    out = tmp_path / f"{name}.so"
    include = sysconfig.get_paths()["include"]
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", f"-I{include}", *flags, str(src), "-o", str(out)], check=True)
    return out.read_bytes()


def _section(data: bytes, name: str) -> tuple[int, int]:
    (found,) = [s for s in ElfImage(data).sections if s.name == name]
    return found.offset, found.size


def test_hash_functions() -> None:
    assert gnu_hash(b"") == 5381
    assert gnu_hash(b"printf") == 0x156B2BB8
    assert sysv_hash(b"") == 0
    assert sysv_hash(b"printf") == 0x077905A6


def test_gnu_hash_lookup_finds_every_exported_symbol_of_a_real_binary(wheels: Path) -> None:
    data = _cfoo(wheels)
    image, binary = ElfImage(data), lief.ELF.parse(list(data))
    exported = {s.name: s.value for s in binary.dynamic_symbols if s.value and s.name}
    assert "PyInit_cfoo" in exported
    for name, value in exported.items():
        found = image.gnu_lookup(name.encode())
        assert found is not None and found.value == value, name
        assert binary.gnu_hash.check(name)  # LIEF's own lookup agrees
    # The chain values are the hashes LIEF reads, with the end bit set on each chain's last one.
    table = image.gnu_table
    assert table is not None and table[0] == binary.gnu_hash.nb_buckets
    imported = [s.name for s in binary.dynamic_symbols if not s.value and s.name]
    assert "PyModule_Create2" in imported
    for name in [*imported, "PyInit_nothing", "PyInit_cfooo", ""]:
        assert image.gnu_lookup(name.encode()) is None, name
    assert image.sysv_table is None and image.sysv_lookup(b"PyInit_cfoo") is None  # gcc's default: GNU only


def test_sysv_hash_lookup(tmp_path: Path) -> None:
    data = _compile(
        tmp_path,
        "cfoo",
        ROOT / "testwheels" / "cfoo-1.0" / "ext" / "cfoo.c",
        "-Wl,--hash-style=both",
        '-DFIXTURE_VERSION="1.0"',
    )
    image = ElfImage(data)
    assert image.sysv_table is not None and image.gnu_table is not None
    exported = [s for s in image.symbols if s.exported]
    assert len(exported) >= 1
    for sym in exported:
        assert image.sysv_lookup(sym.name) == sym == image.gnu_lookup(sym.name)
    # Unlike the GNU table, the SysV table also holds undefined symbols; the loader skips them.
    imported = image.sysv_lookup(b"PyModule_Create2")
    assert imported is not None and not imported.exported and image.gnu_lookup(b"PyModule_Create2") is None
    assert image.sysv_lookup(b"nope") is None
    patched = patch_native(data, "cfoo.so", CFOO, INIT)  # LIEF rebuilds both tables; both checked
    assert ElfImage(patched).sysv_lookup(b"PyInit__mv_cfoo_1_0") is not None


def test_a_sound_patch_passes(wheels: Path) -> None:
    data = _cfoo(wheels)
    patched = patch_native(data, "cfoo.so", CFOO, INIT)  # checked inside
    check_elf(data, patched, "cfoo.so", INIT)
    with pytest.raises(NativeError, match=r"'gnu-hash': 1 of 1 exported symbols .*\(PyInit__mv_cfoo_1_0\)$"):
        check_elf(data, data, "cfoo.so", INIT)  # not renamed


def _table_in_gnu_hash(patched: bytes) -> bytes:
    """What LIEF wrote for numpy: the section header table copied over ``.gnu.hash``."""
    shoff, (shentsize, shnum) = struct.unpack_from("<Q", patched, 0x28)[0], struct.unpack_from("<HH", patched, 0x3A)
    table = patched[shoff : shoff + shentsize * shnum]
    where = _section(patched, ".gnu.hash")[0] + 8
    broken = bytearray(patched)
    broken[where : where + len(table)] = table
    struct.pack_into("<Q", broken, 0x28, where)
    return bytes(broken)


def test_section_table_inside_gnu_hash_fails(wheels: Path) -> None:
    data = _cfoo(wheels)
    broken = _table_in_gnu_hash(patch_native(data, "cfoo.so", CFOO, INIT))
    with pytest.raises(NativeError) as info:
        check_elf(data, broken, "cfoo.so", INIT)
    assert info.value.message.startswith("cfoo.so: patched binary failed the structural check 'layout': section ")
    assert "overlaps the section header table" in info.value.message


def test_an_emptied_bloom_filter_hides_every_export(wheels: Path) -> None:
    """Layout intact, lookups broken: only the hash check can tell."""
    data = _cfoo(wheels)
    patched = patch_native(data, "cfoo.so", CFOO, INIT)
    start = _section(patched, ".gnu.hash")[0]
    bloom_words = struct.unpack_from("<I", patched, start + 8)[0]
    broken = bytearray(patched)
    broken[start + 16 : start + 16 + 8 * bloom_words] = bytes(8 * bloom_words)
    exported = sum(s.exported for s in ElfImage(data).symbols)
    with pytest.raises(NativeError) as info:
        check_elf(data, bytes(broken), "cfoo.so", INIT)
    assert info.value.message == (
        "cfoo.so: patched binary failed the structural check 'gnu-hash': "
        f"{exported} of {exported} exported symbols are no longer found through DT_GNU_HASH (PyInit__mv_cfoo_1_0)"
    )


def test_a_moved_symbol_fails(wheels: Path) -> None:
    data = _cfoo(wheels)
    patched = bytearray(patch_native(data, "cfoo.so", CFOO, INIT))
    image = ElfImage(bytes(patched))
    (init,) = [s for s in image.symbols if s.name == b"PyInit__mv_cfoo_1_0"]
    symtab = image.offset_of(image.tag(6) or 0, 24, "symtab")  # DT_SYMTAB
    struct.pack_into("<Q", patched, symtab + 24 * init.index + 8, init.value + 16)
    with pytest.raises(NativeError, match=r"'gnu-hash': 1 of 1 exported symbols"):
        check_elf(data, bytes(patched), "cfoo.so", INIT)


def test_the_build_fails_naming_wheel_member_and_check(
    wheels: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer that corrupts the binary (as LIEF did numpy's) is a build error, never a wheel."""
    write = elf._write
    monkeypatch.setattr(elf, "_write", lambda binary: _table_in_gnu_hash(write(binary)))
    out = tmp_path / "out"
    with pytest.raises(WheelProblems) as info:
        build(BuildRequest(wheels=pick(wheels, *C_SET)), out)
    problems = [p for p in info.value.problems if p.member == f"cfoo{EXT}"]
    assert len(problems) == 1
    assert problems[0].wheel == pick(wheels, "cfoo")[0].name
    assert problems[0].code.value == "native-patch-failed"
    assert problems[0].reason.startswith("patched binary failed the structural check 'layout': section ")
    assert not out.exists()


def test_section_table_is_moved_last_before_lief_reads_it(wheels: Path) -> None:
    """patchelf's layout (segments after the section header table) is normalised first."""
    data = _cfoo(wheels)
    assert elf.section_table_last(data) == data  # a linker's layout is left alone
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    shnum = struct.unpack_from("<H", data, 0x3C)[0]
    end = shoff + 64 * shnum
    # Pretend something lies after the table: a section whose content starts past it.
    early = bytearray(data + bytes(64))
    gnu_hash_index = next(s.index for s in ElfImage(data).sections if s.name == ".comment")
    struct.pack_into("<Q", early, shoff + 64 * gnu_hash_index + 24, end + 8)
    moved = elf.section_table_last(bytes(early))
    new_shoff = struct.unpack_from("<Q", moved, 0x28)[0]
    assert new_shoff >= len(early) and new_shoff % 8 == 0
    assert moved[new_shoff:] == bytes(early[shoff:end])


def _wheel(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


@pytest.mark.skipif(sys.platform != "linux", reason="loads ELF files")
def test_load_check_in_a_child_process(wheels: Path, tmp_path: Path) -> None:
    data = _cfoo(wheels)
    patched = patch_native(data, "cfoo.so", CFOO, INIT)
    crash = _compile(
        tmp_path, "crash", "#include <signal.h>\n__attribute__((constructor)) void boom(void) { raise(SIGSEGV); }\n"
    )
    member, crashing = f"_mv_cfoo_1_0{EXT}", f"crash/_mv_cfoo_1_0{EXT}"
    new = _wheel(tmp_path / "new.whl", {member: patched, crashing: crash, "other/lib.so": crash})
    old = _wheel(tmp_path / "old.whl", {f"cfoo{EXT}": data, f"crash/cfoo{EXT}": data})
    targets = [
        LoadTarget(member, "PyInit__mv_cfoo_1_0", f"cfoo{EXT}", "PyInit_cfoo"),
        LoadTarget(crashing, "PyInit__mv_cfoo_1_0", f"crash/cfoo{EXT}", "PyInit_cfoo"),
    ]
    broken, unchecked = load_check(new, "x.data", old, "y.data", targets)
    assert broken == {crashing: "the process loading it died (signal SIGSEGV)"} and unchecked == {}
    # A symbol the patched file lacks while the original has it: broken by the patch.
    missing = [LoadTarget(member, "PyInit_cfoo", f"cfoo{EXT}", "PyInit_cfoo")]
    broken, unchecked = load_check(new, "x.data", old, "y.data", missing)
    assert list(broken) == [member] and "PyInit_cfoo" in broken[member]
    # What the original cannot do here either is not the patch's fault: reported as unchecked.
    neither = [LoadTarget(member, "PyInit_other", f"cfoo{EXT}", "PyInit_other")]
    broken, unchecked = load_check(new, "x.data", old, "y.data", neither)
    assert broken == {} and unchecked[member].startswith("the original does not load here either (")
