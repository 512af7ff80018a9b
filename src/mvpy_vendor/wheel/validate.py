"""Validate input wheels before anything is planned or written, collecting every problem first."""

from __future__ import annotations

import hashlib
import re
import stat
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path, PurePosixPath
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag, parse_tag
from packaging.utils import (
    BuildTag,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from mvpy_vendor.cache import Cache, cache_key
from mvpy_vendor.errors import ConfigError, Problem, Severity, WheelProblems

from .layout import import_name_of, installed_path
from .reader import BadMemberName, MemberReader
from .records import SIGNATURE_FILES, WEAK_HASHES, RecordError, file_sha256, hash_chunks, record_rows

__all__ = [
    "WheelInfo",
    "collect_wheel_paths",
    "read_wheels",
]

# What reading a damaged or unsupported member can raise.
_UNREADABLE = (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError, OSError, zlib.error)


def _requires_python(text: str | None) -> str:
    try:
        return str(SpecifierSet(text)) if text else ""
    except InvalidSpecifier:
        return ""


@dataclass(frozen=True)
class WheelInfo:
    """What the planner needs to know about one validated input wheel."""

    path: Path
    name: NormalizedName
    display_name: str
    version: Version
    build_tag: BuildTag
    tags: frozenset[Tag]
    sha256: str
    dist_info: str
    data_dir: str
    requires: tuple[Requirement, ...]
    import_names: tuple[str, ...]
    members: tuple[str, ...]
    #: the METADATA ``Requires-Python`` ('' when absent or not a valid specifier)
    requires_python: str = ""
    #: (member, reason) for what is legal but dangerous (names that collide on some systems, a
    #: ``.pth`` file that runs code)
    warnings: tuple[tuple[str, str], ...] = ()

    @property
    def filename(self) -> str:
        return self.path.name

    @property
    def key(self) -> tuple[NormalizedName, Version]:
        return (self.name, self.version)

    def __str__(self) -> str:
        return f"{self.name} {self.version}"

    def to_json(self) -> dict[str, Any]:
        """Everything but the path (for the cache)."""
        return {
            "name": self.name,
            "display_name": self.display_name,
            "version": str(self.version),
            "build_tag": list(self.build_tag),
            "tags": sorted(str(t) for t in self.tags),
            "sha256": self.sha256,
            "dist_info": self.dist_info,
            "data_dir": self.data_dir,
            "requires": [str(r) for r in self.requires],
            "import_names": list(self.import_names),
            "members": list(self.members),
            "requires_python": self.requires_python,
            "warnings": [list(w) for w in self.warnings],
        }

    @classmethod
    def from_json(cls, path: Path, data: dict[str, Any]) -> WheelInfo:
        tags = frozenset(t for text in data["tags"] for t in parse_tag(text))
        build = data["build_tag"]
        return cls(
            path=path,
            name=canonicalize_name(data["name"]),
            display_name=data["display_name"],
            version=Version(data["version"]),
            build_tag=(int(build[0]), str(build[1])) if build else (),
            tags=tags,
            sha256=data["sha256"],
            dist_info=data["dist_info"],
            data_dir=data["data_dir"],
            requires=tuple(Requirement(r) for r in data["requires"]),
            requires_python=str(data.get("requires_python", "")),
            import_names=tuple(data["import_names"]),
            members=tuple(data["members"]),
            warnings=tuple((str(m), str(r)) for m, r in data.get("warnings", [])),
        )

    def warning_problems(self) -> list[Problem]:
        return [Problem(self.filename, reason, member, severity=Severity.WARNING) for member, reason in self.warnings]


def collect_wheel_paths(paths: Iterable[Path]) -> list[Path]:
    """Expand directories to the wheels they contain; reject anything that is not a wheel."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.suffix == ".whl" and p.is_file()))
        elif path.is_file() and path.suffix == ".whl":
            found.append(path)
        elif not path.exists():
            raise ConfigError(f"{path}: no such file or directory")
        else:
            raise ConfigError(f"{path}: not a wheel (.whl) file or a directory of wheels")
    if not found:
        raise ConfigError("no wheels found in " + ", ".join(str(p) for p in paths))
    return found


def _member_problems(wheel: str, infos: Sequence[zipfile.ZipInfo]) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        parts = PurePosixPath(name).parts
        if name in seen:
            problems.append(Problem(wheel, "duplicate member", name))
        seen.add(name)
        if name.startswith("/") or "\\" in name or ".." in parts or (parts and ":" in parts[0]):
            problems.append(Problem(wheel, "member name leaves the wheel's root", name))
        elif any(ord(c) < 0x20 or c == "\x7f" for c in info.orig_filename):  # zipfile cuts names at a NUL
            shown = info.orig_filename.encode("unicode_escape").decode("ascii")
            reason = (
                "member name holds a control character (NUL, newline, ...; uv refuses it, pip installs it cut short)"
            )
            problems.append(Problem(wheel, reason, shown))
        elif any(part in ("", ".") for part in name.removesuffix("/").split("/")):
            problems.append(
                Problem(wheel, "member name is not normalized (an empty or '.' part aliases another)", name)
            )
        if stat.S_ISLNK(info.external_attr >> 16):
            problems.append(Problem(wheel, "symbolic links are not allowed in wheels", name))
    return problems


#: the ``.data`` subdirectories installers know (the sysconfig install schemes' keys)
DATA_SCHEMES = ("data", "headers", "platlib", "purelib", "scripts")
#: what is read of the small metadata files, at most (a larger one is refused, not read)
_METADATA_LIMIT = 16 << 20
_RECORD_LIMIT = 128 << 20


def _collisions(files: Iterable[str]) -> list[tuple[str, str]]:
    """(member, reason) for names that differ only in case or in Unicode normalization."""
    found: list[tuple[str, str]] = []
    by_case: dict[str, str] = {}
    by_form: dict[str, str] = {}
    for name in sorted(files):
        form = unicodedata.normalize("NFC", name)
        other = by_form.setdefault(form, name)
        if other != name:
            found.append((name, f"differs from {other!r} only in Unicode normalization (the same file on macOS)"))
            continue
        folded = form.casefold()
        other = by_case.setdefault(folded, name)
        if other != name:
            found.append(
                (name, f"differs from {other!r} only in case (they overwrite each other on macOS and Windows)")
            )
    return found


def _wheel_file_problems(wheel: str, text: str, member: str) -> list[Problem]:
    """The WHEEL file: a ``Wheel-Version`` that pip and uv install (1.x)."""
    header = HeaderParser().parsestr(text)
    version = (header.get("Wheel-Version") or "").strip()
    if not version:
        return [Problem(wheel, "no Wheel-Version (not a WHEEL file)", member)]
    major, _, minor = version.partition(".")
    if not (major.isdigit() and minor.isdigit()):
        return [Problem(wheel, f"invalid Wheel-Version {version!r}", member)]
    if int(major) != 1:
        return [Problem(wheel, f"Wheel-Version {version} is not supported (pip and uv install 1.x only)", member)]
    purelib = (header.get("Root-Is-Purelib") or "").strip().lower()
    if purelib not in ("true", "false"):
        return [Problem(wheel, f"Root-Is-Purelib must be true or false, not {purelib!r}", member)]
    return []


_TEXT_FILES = ("METADATA", "WHEEL", "entry_points.txt", "top_level.txt", "namespace_packages.txt")


def _layout_problems(
    wheel: str, name: NormalizedName, version: Version, dist_info: str, files: Iterable[str]
) -> list[Problem]:
    """The .dist-info directory named for the file's distribution and version; known .data schemes."""
    problems: list[Problem] = []
    stem = dist_info[: -len(".dist-info")]
    dist_name, _, dist_version = stem.partition("-")
    try:
        same = canonicalize_name(dist_name) == name and Version(dist_version) == version
    except InvalidVersion:
        same = False
    if not same:
        problems.append(
            Problem(wheel, f"the .dist-info directory {dist_info!r} does not match the file name", dist_info)
        )
    data_dir = stem + ".data"
    for member in sorted(m for m in files if m.startswith(data_dir + "/") and m.count("/") == 1):
        reason = f"a file directly in {data_dir}/ (not under a scheme: pip and uv refuse it)"
        problems.append(Problem(wheel, reason, member))
    schemes = sorted({m.split("/")[1] for m in files if m.startswith(data_dir + "/") and m.count("/") >= 2})
    for scheme in schemes:
        if scheme not in DATA_SCHEMES:
            known = ", ".join(DATA_SCHEMES)
            problems.append(
                Problem(wheel, f"unknown .data scheme {scheme!r} (installers know {known})", f"{data_dir}/{scheme}")
            )
    return problems


# A script's object reference: ``module.sub:function``, extras allowed (pip wants the callable).
_SCRIPT_REF = re.compile(r"[\w.]+\s*:\s*[\w.]+\s*(\[[^\]]*\])?")


def _entry_point_problems(wheel: str, text: str, member: str) -> list[Problem]:
    """entry_points.txt as uv reads it (the stricter of pip and uv): a section header before the
    first entry, no section or key twice, ``name = value``, scripts ``module:function``. Other
    groups' values are not checked: neither installer reads them."""
    problems: list[Problem] = []
    section: str | None = None
    seen: set[str] = set()
    keys: set[str] = set()
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line[1:].partition("]")[0].strip() if line.endswith("]") else None
            if section is None:
                reason = f"line {lineno}: malformed section header (uv refuses it; pip installs it)"
                problems.append(Problem(wheel, reason, member))
                return problems
            if section in seen:
                reason = f"line {lineno}: section [{section}] twice (uv refuses it; pip installs it)"
                problems.append(Problem(wheel, reason, member))
            seen.add(section)
            keys = set()
            continue
        if section is None:
            reason = f"line {lineno}: an entry before any section header (uv refuses it; pip installs it)"
            problems.append(Problem(wheel, reason, member))
            return problems
        name, eq, value = line.partition("=")
        if not eq or not name.strip():
            reason = f"line {lineno}: not 'name = object reference' (pip and uv refuse it)"
            problems.append(Problem(wheel, reason, member))
            continue
        key = name.strip()
        if key in keys:
            reason = f"line {lineno}: {key!r} twice in [{section}] (uv refuses it; pip installs it)"
            problems.append(Problem(wheel, reason, member))
        keys.add(key)
        if section in ("console_scripts", "gui_scripts") and not _SCRIPT_REF.fullmatch(value.strip()):
            reason = f"line {lineno}: invalid script entry point {value.strip()!r} (pip and uv refuse it)"
            problems.append(Problem(wheel, reason, member))
    return problems


def _pth_runs_code(data: bytes) -> bool:
    """Does a ``.pth`` file hold a line that Python runs (one starting ``import``)?"""
    return any(line.startswith((b"import ", b"import\t")) for line in data.splitlines())


def _record_problems(
    wheel: str, reader: MemberReader, record_name: str, files: dict[str, zipfile.ZipInfo]
) -> list[Problem]:
    problems: list[Problem] = []
    listed: set[str] = set()
    if files[record_name].file_size > _RECORD_LIMIT:
        return [Problem(wheel, f"larger than {_RECORD_LIMIT >> 20} MiB", record_name)]
    try:
        rows = record_rows(reader.read(record_name))
    except RecordError as exc:
        return [Problem(wheel, str(exc), record_name)]
    for lineno, row in enumerate(rows, 1):
        if not row:
            continue
        if len(row) != 3:
            problems.append(Problem(wheel, f"malformed RECORD line {lineno}", record_name))
            continue
        path, hash_spec, size_text = row
        listed.add(path)
        if path == record_name or path.endswith(SIGNATURE_FILES):
            continue
        info = files.get(path)
        if info is None:
            problems.append(Problem(wheel, "listed in RECORD but not in the wheel", path))
            continue
        if not hash_spec:
            problems.append(Problem(wheel, "RECORD gives no hash", path))
            continue
        algorithm, _, expected = hash_spec.partition("=")
        if algorithm in WEAK_HASHES or algorithm not in hashlib.algorithms_guaranteed or algorithm.startswith("shake_"):
            problems.append(Problem(wheel, f"RECORD uses unsupported hash {algorithm!r}", path))
            continue
        if info.flag_bits & 0x1:
            problems.append(Problem(wheel, "encrypted member", path))
            continue
        if size_text and size_text != str(info.file_size):  # known without reading the member
            problems.append(Problem(wheel, f"size {info.file_size} does not match RECORD ({size_text})", path))
            continue
        try:
            actual, size = hash_chunks(reader.chunks(info), algorithm)
        except _UNREADABLE as exc:
            problems.append(Problem(wheel, f"cannot read: {exc}", path))
            continue
        if actual != expected:
            problems.append(Problem(wheel, "hash does not match RECORD", path))
        elif size_text and size_text != str(size):
            problems.append(Problem(wheel, f"size {size} does not match RECORD ({size_text})", path))
    for path in files:
        if path not in listed and path != record_name and not path.endswith(SIGNATURE_FILES):
            problems.append(Problem(wheel, "not mentioned in RECORD", path))
    return problems


def _read_one(path: Path, sha256: str) -> tuple[WheelInfo | None, list[Problem]]:
    wheel = path.name
    try:
        name, version, build_tag, tags = parse_wheel_filename(wheel)
    except (InvalidWheelFilename, InvalidVersion) as exc:
        return None, [Problem(wheel, f"invalid wheel file name: {exc}")]
    try:
        reader = MemberReader(path)
    except BadMemberName as exc:
        return None, [Problem(wheel, exc.reason, exc.member)]
    except (zipfile.BadZipFile, OSError) as exc:
        return None, [Problem(wheel, f"not a readable zip archive: {exc}")]
    with reader:
        infos = reader.infolist()
        problems = _member_problems(wheel, infos)
        files = {i.filename: i for i in infos if not i.is_dir()}
        dist_infos = sorted(
            {n.split("/", 1)[0] for n in files if n.split("/", 1)[0].endswith(".dist-info") and "/" in n}
        )
        if len(dist_infos) != 1:
            found = ", ".join(dist_infos) or "none"
            problems.append(Problem(wheel, f"expected exactly one .dist-info directory, found {found}"))
            return None, problems
        dist_info = dist_infos[0]
        data_dir = dist_info[: -len(".dist-info")] + ".data"
        for required in ("METADATA", "WHEEL", "RECORD"):
            if f"{dist_info}/{required}" not in files:
                problems.append(Problem(wheel, "missing", f"{dist_info}/{required}"))
        if problems:
            return None, problems
        problems += _layout_problems(wheel, name, version, dist_info, files)
        texts: dict[str, str] = {}
        for text_name in _TEXT_FILES:
            member = f"{dist_info}/{text_name}"
            if member not in files:
                continue
            if files[member].file_size > _METADATA_LIMIT:
                problems.append(Problem(wheel, f"larger than {_METADATA_LIMIT >> 20} MiB", member))
                continue
            try:
                texts[text_name] = reader.read(member).decode("utf-8")
            except UnicodeDecodeError as exc:
                who = "; pip refuses it, uv installs it" if text_name == "METADATA" else ""
                problems.append(Problem(wheel, f"not valid UTF-8 (at byte {exc.start}{who})", member))
            except _UNREADABLE as exc:
                problems.append(Problem(wheel, f"cannot read: {exc}", member))
        if "WHEEL" in texts:
            problems += _wheel_file_problems(wheel, texts["WHEEL"], f"{dist_info}/WHEEL")
        try:
            problems += _record_problems(wheel, reader, f"{dist_info}/RECORD", files)
        except _UNREADABLE as exc:
            problems.append(Problem(wheel, f"corrupt zip member: {exc}"))
            return None, problems
        if problems or "METADATA" not in texts:
            return None, problems
        metadata = HeaderParser().parsestr(texts["METADATA"])
        warnings = _collisions(files)
        for member in files:
            if member.endswith(".pth") and "/" not in installed_path(member, data_dir).rstrip("/"):
                try:
                    if _pth_runs_code(reader.read(member)):
                        warnings.append((member, "a .pth file that runs code at every start of the interpreter"))
                except _UNREADABLE:
                    pass  # hashed above: cannot happen
    display_name = metadata.get("Name", "")
    meta_version = metadata.get("Version", "")
    if canonicalize_name(display_name) != name:
        problems.append(
            Problem(
                wheel,
                f"METADATA Name {display_name!r} does not match the file name (pip and uv refuse it)",
                f"{dist_info}/METADATA",
            )
        )
    try:
        if Version(meta_version) != version:
            problems.append(
                Problem(
                    wheel,
                    f"METADATA Version {meta_version!r} does not match the file name (uv refuses it; pip installs it)",
                    f"{dist_info}/METADATA",
                )
            )
    except InvalidVersion:
        problems.append(Problem(wheel, f"invalid METADATA Version {meta_version!r}", f"{dist_info}/METADATA"))
    requires: list[Requirement] = []
    for text in metadata.get_all("Requires-Dist") or []:
        try:
            requires.append(Requirement(text))
        except InvalidRequirement as exc:
            problems.append(
                Problem(wheel, f"invalid Requires-Dist {text!r}: {str(exc).splitlines()[0]}", f"{dist_info}/METADATA")
            )
    requires_python = metadata.get("Requires-Python")
    if requires_python is not None:
        try:
            SpecifierSet(requires_python)
        except InvalidSpecifier:
            reason = f"invalid Requires-Python {requires_python!r} (uv refuses it; pip installs it with a warning)"
            problems.append(Problem(wheel, reason, f"{dist_info}/METADATA"))
    if "entry_points.txt" in texts:
        problems += _entry_point_problems(wheel, texts["entry_points.txt"], f"{dist_info}/entry_points.txt")
    import_names = sorted(
        {n for member in files if (n := import_name_of(installed_path(member, data_dir))) is not None}
    )
    if problems:
        return None, problems
    return (
        WheelInfo(
            path=path,
            name=name,
            display_name=display_name,
            version=version,
            build_tag=build_tag,
            tags=frozenset(tags),
            sha256=sha256,
            dist_info=dist_info,
            data_dir=data_dir,
            requires=tuple(requires),
            requires_python=_requires_python(metadata.get("Requires-Python")),
            import_names=tuple(import_names),
            members=tuple(sorted(files)),
            warnings=tuple(warnings),
        ),
        [],
    )


def read_wheels(paths: Sequence[Path], cache: Cache | None = None) -> list[WheelInfo]:
    """Validate every wheel; raise one :class:`WheelProblems` naming every problem in every wheel.

    With a ``cache``, a wheel already validated (same file name, same sha256) is not read again.
    """
    infos: list[WheelInfo] = []
    problems: list[Problem] = []
    seen: dict[str, tuple[Path, str]] = {}
    for path in paths:
        sha256 = file_sha256(path)
        first = seen.setdefault(path.name, (path, sha256))
        if first[0] != path:
            if first[1] != sha256:
                problems.append(Problem(path.name, f"two different files of this name: {first[0]} and {path}"))
            continue  # the same wheel twice: once is enough
        key = cache_key("wheel", path.name, sha256)
        known = cache.get_json("wheels", key) if cache is not None else None
        if known is not None:
            try:
                infos.append(WheelInfo.from_json(path, known))
                continue
            except (KeyError, TypeError, ValueError, AttributeError, IndexError):
                pass  # not what this code writes: validate the wheel again
        info, found = _read_one(path, sha256)
        problems += found
        if info is not None:
            infos.append(info)
            if cache is not None:
                cache.put_json("wheels", key, info.to_json())
    if problems:
        raise WheelProblems(problems)
    return infos
