"""How renamed copies are named: import names, distribution names, file names."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

__all__ = [
    "PREFIX",
    "dist_info_dir",
    "filename_component",
    "renamed_dist_name",
    "renamed_import_name",
    "shared_namespace_name",
]

PREFIX = "_mv_"
_NOT_IDENT = re.compile(r"[^a-z0-9_]+")


def _slug(text: str) -> str:
    return _NOT_IDENT.sub("_", text.lower())


def renamed_import_name(import_name: str, version: Version, suffix: str = "") -> str:
    """``foo`` at ``1.0.0rc1`` becomes ``_mv_foo_1_0_0rc1`` (``suffix`` disambiguates clashes)."""
    return f"{PREFIX}{_slug(import_name)}_{_slug(str(version))}{suffix}"


def shared_namespace_name(import_name: str, sharers: Iterable[str], suffix: str = "") -> str:
    """The one name of namespace ``import_name`` for every renamed copy that shares it.

    ``sharers`` are those copies (``mv-protobuf-3-20-3==3.20.3``: renamed name and version, so
    unique per copy); the name depends on nothing else, so it is the same for each of them and
    in every build, and differs from another set's: ``google`` shared by the renamed protobuf
    3.20.3 and googleapis-common-protos 1.56.4 becomes ``_mv_google_`` and ten hex digits.
    """
    digest = hashlib.sha256("\n".join(sorted(set(sharers))).encode()).hexdigest()[:10]
    return f"{PREFIX}{_slug(import_name)}_{digest}{suffix}"


def renamed_dist_name(dist_name: str, version: Version, suffix: str = "") -> NormalizedName:
    """``foo`` at ``1.0.0`` becomes the distribution ``mv-foo-1-0-0``."""
    slug = _slug(f"{dist_name}-{version}{suffix}")
    return canonicalize_name("mv-" + slug)


def filename_component(name: str) -> str:
    """The form of a distribution name used in wheel and dist-info file names."""
    return canonicalize_name(name).replace("-", "_")


def dist_info_dir(name: str, version: Version) -> str:
    return f"{filename_component(name)}-{version}.dist-info"
