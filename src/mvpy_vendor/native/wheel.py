"""What renaming a wheel would mean for its compiled modules (the ``inspect`` command's engine)."""

from __future__ import annotations

from pathlib import Path

from mvpy_vendor.naming import renamed_import_name
from mvpy_vendor.wheel.layout import EXTENSION_SUFFIXES
from mvpy_vendor.wheel.reader import MemberReader
from mvpy_vendor.wheel.validate import read_wheels

from . import file_names, inspect_native
from .model import NativeModule

__all__ = ["inspect_wheel"]


def inspect_wheel(path: Path) -> list[NativeModule]:
    """Inspect every compiled module of a (validated) wheel for the names renaming it would change."""
    (wheel,) = read_wheels([path])
    names = {n: renamed_import_name(n, wheel.version) for n in wheel.import_names}
    with MemberReader(path) as reader:
        return [
            inspect_native(reader.read(member), member, names, file_names(wheel.members))
            for member in wheel.members
            if member.endswith(EXTENSION_SUFFIXES)
        ]
