"""How renamed copies are named: import names, distribution names, file names."""

from __future__ import annotations

import re

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

__all__ = [
    "PREFIX",
    "dist_info_dir",
    "filename_component",
    "renamed_dist_name",
    "renamed_import_name",
]

PREFIX = "_mv_"
_NOT_IDENT = re.compile(r"[^a-z0-9_]+")


def _slug(text: str) -> str:
    return _NOT_IDENT.sub("_", text.lower())


def renamed_import_name(import_name: str, version: Version, suffix: str = "") -> str:
    """``foo`` at ``1.0.0rc1`` becomes ``_mv_foo_1_0_0rc1`` (``suffix`` disambiguates clashes)."""
    return f"{PREFIX}{_slug(import_name)}_{_slug(str(version))}{suffix}"


def renamed_dist_name(dist_name: str, version: Version, suffix: str = "") -> NormalizedName:
    """``foo`` at ``1.0.0`` becomes the distribution ``mv-foo-1-0-0``."""
    slug = _slug(f"{dist_name}-{version}{suffix}")
    return canonicalize_name("mv-" + slug)


def filename_component(name: str) -> str:
    """The form of a distribution name used in wheel and dist-info file names."""
    return canonicalize_name(name).replace("-", "_")


def dist_info_dir(name: str, version: Version) -> str:
    return f"{filename_component(name)}-{version}.dist-info"
