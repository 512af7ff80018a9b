"""The upstream test files of a target, and the consumer wheel that carries them into the old world."""

from __future__ import annotations

import base64
import hashlib
import stat
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from .config import Target
from .fetch import Downloads, HarnessError, dist_of
from .store import Store, digest, file_sha256

__all__ = ["consumer_name", "consumer_wheel", "test_tree"]


def _included(relative: PurePosixPath, include: tuple[str, ...]) -> bool:
    text = relative.as_posix()
    return any(text == i or text.startswith(i.rstrip("/") + "/") for i in include)


def _safe(relative: PurePosixPath) -> bool:
    return not relative.is_absolute() and ".." not in relative.parts and bool(relative.parts)


def _members_of_sdist(sdist: Path) -> Iterator[tuple[PurePosixPath, bytes]]:
    if sdist.name.endswith(".zip"):
        with zipfile.ZipFile(sdist) as zf:
            for info in zf.infolist():
                if not info.is_dir():
                    yield PurePosixPath(*PurePosixPath(info.filename).parts[1:]), zf.read(info)
        return
    with tarfile.open(sdist) as tf:
        for member in tf:
            if member.isfile():
                data = tf.extractfile(member)
                if data is not None:
                    yield PurePosixPath(*PurePosixPath(member.name).parts[1:]), data.read()


def _members_of_wheel(wheel: Path) -> Iterator[tuple[PurePosixPath, bytes]]:
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            if not info.is_dir():
                yield PurePosixPath(info.filename), zf.read(info)


def _library_wheel(target: Target, downloads: Downloads) -> Path:
    want = target.library.replace("_", "-").lower()
    for wheel in downloads.old:
        if dist_of(wheel)[0] == want:
            return wheel
    raise HarnessError(f"{target.name}: no wheel of {target.library} among the old world's downloads")


def test_tree(target: Target, downloads: Downloads, store: Store, *, data: bool = False) -> Path:
    """A directory holding the included files at their upstream relative paths (sdist root or wheel root).

    ``data``: the sdist's ``tests.data`` files instead (what the tests read from outside the package).
    """
    from_sdist = data or target.tests_source == "sdist"
    source = downloads.sdist if from_sdist else _library_wheel(target, downloads)
    if source is None:
        raise HarnessError(f"{target.name}: no sdist downloaded for tests.sdist")
    include = target.data if data else target.include
    key = digest("tree", file_sha256(source), list(include))
    if store.done("trees", key):
        return store.dir("trees", key)
    root = store.begin("trees", key)
    members = _members_of_sdist(source) if from_sdist else _members_of_wheel(source)
    count = 0
    for relative, content in members:
        if _safe(relative) and _included(relative, include):
            path = root.joinpath(*relative.parts)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            count += 1
    if count == 0:
        raise HarnessError(f"{target.name}: {source.name} has no file under {list(include)}")
    store.finish("trees", key, {"source": source.name, "files": count})
    return root


def consumer_name(target: Target) -> str:
    """The consumer's distribution name (and, with underscores, its module)."""
    return "mvconf-tests-" + target.name.replace(".", "-")


def _record_line(name: str, data: bytes) -> str:
    hashed = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={hashed},{len(data)}"


def consumer_wheel(target: Target, tree: Path, pins: list[str], store: Store) -> Path:
    """A wheel requiring the old world exactly, with the sdist's test files in it (none for a wheel's own tests).

    mvpy-vendor builds it in the old world as a rewritten consumer: its imports (and the module
    paths it holds in strings) of the renamed libraries are rewritten like any consumer's.
    """
    dist = consumer_name(target)
    module = dist.replace("-", "_")
    files: dict[str, bytes] = {
        f"{module}.py": f"import {target.import_name}  # the library this world is for\n".encode()
    }
    if target.tests_source == "sdist":
        for path in sorted(tree.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                files[path.relative_to(tree).as_posix()] = path.read_bytes()
    key = digest("consumer", dist, pins, sorted((n, hashlib.sha256(d).hexdigest()) for n, d in files.items()))
    if store.done("consumers", key):
        return next(store.dir("consumers", key).glob("*.whl"))
    out = store.begin("consumers", key)
    info = f"{module}-0.0.0.dist-info"
    meta = "Metadata-Version: 2.1\nName: " + dist + "\nVersion: 0.0.0\n"
    meta += "".join(f"Requires-Dist: {pin}\n" for pin in pins)
    files[f"{info}/METADATA"] = meta.encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: mvconf\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = [_record_line(name, data) for name, data in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = out / f"{module}-0.0.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            entry = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            entry.external_attr = (stat.S_IFREG | 0o644) << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(entry, data)
    store.finish("consumers", key, {"wheel": wheel.name, "requires": pins})
    return wheel
