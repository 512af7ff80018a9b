"""PEP 751 lock files as text (through ``packaging.pylock`` and ``tomli_w``), and the wheelhouse's own lock.

The wheelhouse ships ``pylock.toml`` beside ``requirements.txt``: every output wheel by relative
path, with its sha256 and size, so that ``pip install -r wheelhouse/pylock.toml`` (pip 26.1+) and
``uv pip install -r wheelhouse/pylock.toml`` install exactly the planned set. Every output has a
distinct name (renamed copies are other distributions), so one lock holds them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import tomli_w
from packaging.pylock import Package, PackageWheel, Pylock
from packaging.utils import canonicalize_name
from packaging.version import Version

from ._version import __version__

__all__ = ["WHEELHOUSE_LOCK", "dump", "wheelhouse_lock"]

WHEELHOUSE_LOCK = "pylock.toml"


def dump(lock: Pylock, header: str = "") -> str:
    """``lock`` as TOML text, validated first."""
    lock.validate()
    return header + tomli_w.dumps(dict(lock.to_dict()))


def wheelhouse_lock(wheels: Sequence[tuple[str, Version, Path, str]]) -> str:
    """The lock of a wheelhouse: (distribution, version, wheel file, sha256) for every wheel in it."""
    packages = [
        Package(
            name=canonicalize_name(name),
            version=version,
            wheels=[
                PackageWheel(name=path.name, path=f"./{path.name}", size=path.stat().st_size, hashes={"sha256": sha})
            ],
        )
        for name, version, path, sha in sorted(wheels, key=lambda w: canonicalize_name(w[0]))
    ]
    lock = Pylock(lock_version=Version("1.0"), created_by="mvpy-vendor", packages=packages)
    return dump(lock, f"# the wheelhouse written by mvpy-vendor {__version__}: install it with -r\n")
