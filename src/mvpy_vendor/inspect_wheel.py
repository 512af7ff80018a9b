"""``mvpy-vendor inspect``: what renaming a wheel would mean for its compiled modules."""

from __future__ import annotations

import zipfile
from pathlib import Path

from .naming import renamed_import_name
from .native import NativeModule, inspect_native
from .wheel_input import EXTENSION_SUFFIXES, read_wheels

__all__ = ["inspect_wheel"]


def inspect_wheel(path: Path) -> list[NativeModule]:
    """Inspect every compiled module of a (validated) wheel for the names renaming it would change."""
    (wheel,) = read_wheels([path])
    names = {n: renamed_import_name(n, wheel.version) for n in wheel.import_names}
    found = []
    with zipfile.ZipFile(path) as zf:
        for member in wheel.members:
            if member.endswith(EXTENSION_SUFFIXES):
                found.append(inspect_native(zf.read(member), member, names))
    return found
