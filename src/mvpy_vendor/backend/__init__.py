"""A PEP 517 / PEP 660 build backend that embeds renamed copies of dependencies in a library's wheel.

```toml
[build-system]
requires = ["mvpy-vendor", "setuptools>=68"]
build-backend = "mvpy_vendor.backend"

[tool.mvpy-vendor.backend]
inner = "setuptools.build_meta"
embed = ["foo<2"]
```

Every hook is the inner backend's; the wheel it builds is then post-processed in a temporary
directory (:mod:`.embed`): the source tree is only read. Hooks the inner backend lacks are not
offered (``prepare_metadata_for_build_wheel`` always is: it builds the wheel, so its metadata is
the final wheel's). sdists are the inner backend's, with the lock added when it is not in them and
``Dynamic: Requires-Dist`` declared (the wheel's requirements differ from the source's). Editable
installs are refused at build time: the source tree imports the embedded distributions by their
plain names, which an editable install would resolve to whatever is installed under them.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import os
import shutil
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mvpy_vendor.errors import ConfigError
from mvpy_vendor.outdir import publish_file

from .config import LOCK_NAME, SETTINGS_PREFIX, EmbedConfig, load_config
from .embed import embed_into, embedded_wheels

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "build_sdist",
    "build_wheel",
    "get_requires_for_build_sdist",
    "get_requires_for_build_wheel",
    "prepare_metadata_for_build_wheel",
]

#: optional hooks offered only when the inner backend has them
_OPTIONAL = ("get_requires_for_build_editable", "prepare_metadata_for_build_editable", "build_editable")


def _config(config_settings: Mapping[str, Any] | None) -> EmbedConfig:
    return load_config(Path.cwd(), config_settings)


def _inner_settings(config_settings: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if config_settings is None:
        return None
    return {k: v for k, v in config_settings.items() if not k.startswith(SETTINGS_PREFIX)}


def _backend_path() -> list[str]:
    try:
        data = tomllib.loads((Path.cwd() / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return []
    paths = data.get("build-system", {}).get("backend-path", [])
    return [str((Path.cwd() / p).resolve()) for p in paths if isinstance(p, str)]


def _inner(config: EmbedConfig) -> Any:
    """The inner backend, imported by name (``backend-path`` of ``[build-system]`` honoured)."""
    for path in reversed(_backend_path()):
        if path not in sys.path:
            sys.path.insert(0, path)
    module_name, _, attribute = config.inner.partition(":")
    try:
        backend: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"cannot import {module_name!r}: {exc}; add the package that provides it to [build-system] requires",
            setting="inner",
            value=config.inner,
        ) from None
    for part in attribute.split(".") if attribute else ():
        backend = getattr(backend, part)
    return backend


def _needs_resolver(config: EmbedConfig) -> list[str]:
    """``pip`` when the embedded set must be resolved (no usable lock) and no resolver is installed."""
    if not config.embed or (config.lock_path.is_file() and config.get("locked") is not False):
        return []
    if importlib.util.find_spec("pip") is not None or importlib.util.find_spec("uv") is not None:
        return []
    return ["pip"]


def get_requires_for_build_wheel(config_settings: Mapping[str, Any] | None = None) -> list[str]:
    config = _config(config_settings)
    inner = _inner(config)
    hook = getattr(inner, "get_requires_for_build_wheel", None)
    found = list(hook(_inner_settings(config_settings))) if hook is not None else []
    return found + _needs_resolver(config)


def get_requires_for_build_sdist(config_settings: Mapping[str, Any] | None = None) -> list[str]:
    config = _config(config_settings)
    hook = getattr(_inner(config), "get_requires_for_build_sdist", None)
    return list(hook(_inner_settings(config_settings))) if hook is not None else []


def _build(config_settings: Mapping[str, Any] | None, into: Path) -> Path:
    """The final wheel, written into ``into``."""
    config = _config(config_settings)
    inner = _inner(config)
    with tempfile.TemporaryDirectory(prefix="mvpy-backend-") as tmp:
        work = Path(tmp)
        (work / "inner").mkdir()
        name = str(inner.build_wheel(str(work / "inner"), _inner_settings(config_settings)))
        wheels = embedded_wheels(config, work)
        (work / "out").mkdir()
        built = embed_into(work / "inner" / name, config, wheels, work / "out")
        target = into / built.name
        publish_file(built, target)  # whole or not at all, like a wheelhouse
    return target


def build_wheel(
    wheel_directory: str, config_settings: Mapping[str, Any] | None = None, metadata_directory: str | None = None
) -> str:
    # metadata_directory came from prepare_metadata_for_build_wheel, which built this same wheel
    return _build(config_settings, Path(wheel_directory)).name


def prepare_metadata_for_build_wheel(metadata_directory: str, config_settings: Mapping[str, Any] | None = None) -> str:
    """The final wheel's own ``.dist-info``: the wheel is built (in a temporary directory) to get it."""
    with tempfile.TemporaryDirectory(prefix="mvpy-metadata-") as tmp:
        wheel = _build(config_settings, Path(tmp))
        with zipfile.ZipFile(wheel) as zf:
            names = [n for n in zf.namelist() if n.split("/", 1)[0].endswith(".dist-info")]
            dist_info = names[0].split("/", 1)[0]
            for name in names:
                if name.startswith(dist_info + "/") and not name.endswith("/RECORD"):
                    target = Path(metadata_directory, *name.split("/"))
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(zf.read(name))
    return dist_info


def build_sdist(sdist_directory: str, config_settings: Mapping[str, Any] | None = None) -> str:
    """The inner backend's sdist, plain imports and all; the lock added if the backend left it out,
    and ``Requires-Dist`` / ``License-File`` declared dynamic in PKG-INFO (metadata 2.2+)."""
    config = _config(config_settings)
    inner = _inner(config)
    with tempfile.TemporaryDirectory(prefix="mvpy-sdist-") as tmp:
        name = str(inner.build_sdist(tmp, _inner_settings(config_settings)))
        source = Path(tmp, name)
        target = Path(sdist_directory, name)
        if not name.endswith(".tar.gz"):
            shutil.move(str(source), target)
            return name
        _finish_sdist(source, target, config)
    return name


def _dynamic(pkg_info: bytes, config: EmbedConfig) -> bytes:
    from packaging.version import Version

    text = pkg_info.decode("utf-8")
    head, sep, body = text.partition("\n\n")
    lines = head.split("\n")
    version = next((ln.partition(":")[2].strip() for ln in lines if ln.lower().startswith("metadata-version:")), "1.0")
    if not config.embed or Version(version) < Version("2.2"):
        return pkg_info
    have = {ln.partition(":")[2].strip().lower() for ln in lines if ln.lower().startswith("dynamic:")}
    add = [f"Dynamic: {f}" for f in ("Requires-Dist", "License-File") if f.lower() not in have]
    return ("\n".join(lines + add) + sep + body).encode("utf-8")


def _finish_sdist(source: Path, target: Path, config: EmbedConfig) -> None:
    lock = config.lock_path
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0") or 0)
    with tarfile.open(source, "r:gz") as old:
        members = old.getmembers()
        top = members[0].name.split("/", 1)[0] if members else ""
        names = {m.name for m in members}
        with tarfile.open(target, "w:gz", format=tarfile.PAX_FORMAT) as new:
            for member in members:
                data = old.extractfile(member) if member.isfile() else None
                if data is not None and member.name == f"{top}/PKG-INFO":
                    content = _dynamic(data.read(), config)
                    member.size = len(content)
                    new.addfile(member, io.BytesIO(content))
                else:
                    new.addfile(member, data)
            if lock.is_file() and f"{top}/{LOCK_NAME}" not in names:
                content = lock.read_bytes()
                info = tarfile.TarInfo(f"{top}/{LOCK_NAME}")
                info.size, info.mode, info.mtime = len(content), 0o644, epoch
                new.addfile(info, io.BytesIO(content))


def _editable_refused(*_: Any, **__: Any) -> Any:
    config = _config(None)
    names = ", ".join(config.embed)
    raise ConfigError(
        f"{config.root / 'pyproject.toml'}: an editable install cannot embed {names}: the source tree imports "
        "the embedded distributions by their plain names, and an editable install would import whatever is "
        "installed under those names (maybe another version) instead of the renamed copy. Install it normally "
        "(pip install .), or develop in an environment that has the embedded requirements installed as they are",
        setting="embed",
    )


def __getattr__(name: str) -> Any:
    """The optional hooks: offered only when the inner backend has them (PEP 517 frontends look them up)."""
    if name in _OPTIONAL:
        config = _config(None)
        if hasattr(_inner(config), name):
            return _editable_refused if config.embed else getattr(_inner(config), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
