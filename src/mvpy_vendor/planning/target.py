"""The environment a wheelhouse is built for: a Python version and a platform.

Markers, wheel tags and ``Requires-Python`` are evaluated against a :class:`Target`. The default
(``Target()``) is the running interpreter; a named target lets a Linux wheelhouse be planned on a
Mac runner. Platforms are named as uv's ``--python-platform`` names them (``linux``,
``x86_64-manylinux_2_28``, ``macos``, ``aarch64-apple-darwin``, ``windows``, ...).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mvpy_vendor.errors import ConfigError

if TYPE_CHECKING:
    from packaging.tags import Tag

__all__ = ["PLATFORMS", "Target"]


@dataclass(frozen=True)
class _Platform:
    sys_platform: str
    platform_system: str
    os_name: str
    machine: str
    #: wheel platform tags, best first
    tags: tuple[str, ...]
    #: how pip's ``--platform`` spells them (the same list)
    pip: tuple[str, ...]


def _manylinux(arch: str, newest: int) -> tuple[str, ...]:
    """``manylinux_2_NEWEST_arch`` down to the oldest glibc, each with its legacy alias after it."""
    alias = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    oldest = 17 if arch not in ("x86_64", "i686") else 5
    tags: list[str] = []
    for minor in range(newest, oldest - 1, -1):
        tags.append(f"manylinux_2_{minor}_{arch}")
        if minor in alias:
            tags.append(f"{alias[minor]}_{arch}")
    return (*tags, f"linux_{arch}")


def _macos(arch: str, newest: int) -> tuple[str, ...]:
    versions = [f"{major}_0" for major in range(newest, 10, -1)] + [f"10_{minor}" for minor in range(16, 8, -1)]
    arches = (arch, "universal2") if arch in ("arm64", "x86_64") else (arch,)
    return tuple(f"macosx_{v}_{a}" for v in versions for a in arches)


def _linux(arch: str, newest: int) -> _Platform:
    tags = _manylinux(arch, newest)
    return _Platform("linux", "Linux", "posix", arch, tags, tags)


def _mac(arch: str) -> _Platform:
    tags = _macos(arch, 15)
    return _Platform("darwin", "Darwin", "posix", arch, tags, tags)


def _windows(tag: str, machine: str) -> _Platform:
    return _Platform("win32", "Windows", "nt", machine, (tag,), (tag,))


#: the platform names accepted (setting ``platform``), as uv names them
PLATFORMS: Mapping[str, _Platform] = {
    # uv: "linux" is x86_64-unknown-linux-gnu, which is manylinux_2_28
    "linux": _linux("x86_64", 28),
    "x86_64-unknown-linux-gnu": _linux("x86_64", 28),
    "aarch64-unknown-linux-gnu": _linux("aarch64", 28),
    "x86_64-manylinux2014": _linux("x86_64", 17),
    "aarch64-manylinux2014": _linux("aarch64", 17),
    **{f"{arch}-manylinux_2_{m}": _linux(arch, m) for arch in ("x86_64", "aarch64") for m in (17, 28, *range(31, 41))},
    "macos": _mac("arm64"),
    "aarch64-apple-darwin": _mac("arm64"),
    "x86_64-apple-darwin": _mac("x86_64"),
    "windows": _windows("win_amd64", "AMD64"),
    "x86_64-pc-windows-msvc": _windows("win_amd64", "AMD64"),
    "aarch64-pc-windows-msvc": _windows("win_arm64", "ARM64"),
}


@dataclass(frozen=True)
class Target:
    """``python_version`` (``"3.12"``) and ``platform`` (a :data:`PLATFORMS` name); None means the running one."""

    python_version: str | None = None
    platform: str | None = None

    def __post_init__(self) -> None:
        if self.python_version is not None and not re.fullmatch(r"3\.\d{1,2}", self.python_version):
            raise ConfigError(
                "expected a Python version such as 3.12", setting="python-version", value=self.python_version
            )
        if self.platform is not None and self.platform not in PLATFORMS:
            names = ", ".join(n for n in PLATFORMS if "manylinux" not in n)
            raise ConfigError(
                f"expected one of {names}, or ARCH-manylinux_2_NN as uv names it",
                setting="platform",
                value=self.platform,
            )

    @property
    def is_running(self) -> bool:
        return self.python_version is None and self.platform is None

    @property
    def version_tuple(self) -> tuple[int, int]:
        if self.python_version is None:
            return sys.version_info[:2]
        major, minor = self.python_version.split(".")
        return int(major), int(minor)

    def environment(self) -> dict[str, str]:
        """The marker environment of the target."""
        from packaging.markers import default_environment  # here: the command line starts without it

        env = {key: str(value) for key, value in default_environment().items()}
        if self.python_version is not None:
            major, minor = self.version_tuple
            env["python_version"] = f"{major}.{minor}"
            env["python_full_version"] = f"{major}.{minor}.0"
            env["implementation_version"] = env["python_full_version"]
            env["implementation_name"] = "cpython"
            env["platform_python_implementation"] = "CPython"
        if self.platform is not None:
            plat = PLATFORMS[self.platform]
            env.update(
                sys_platform=plat.sys_platform,
                platform_system=plat.platform_system,
                os_name=plat.os_name,
                platform_machine=plat.machine,
                platform_release="",
                platform_version="",
            )
        return env

    def tags(self) -> list[Tag]:
        """The wheel tags the target accepts, best first."""
        from packaging.tags import compatible_tags, cpython_tags, sys_tags

        if self.is_running:
            return list(sys_tags())
        platforms: Sequence[str] | None = PLATFORMS[self.platform].tags if self.platform is not None else None
        if platforms is None:
            platforms = [t.platform for t in sys_tags() if t.interpreter.startswith("cp")]
            platforms = list(dict.fromkeys(platforms))
        version = self.version_tuple
        interpreter = f"cp{version[0]}{version[1]}"
        return [*cpython_tags(version, platforms=platforms), *compatible_tags(version, interpreter, platforms)]

    def pip_args(self) -> list[str]:
        """pip's options for the target (pip then needs ``--only-binary=:all:`` and ``--target``)."""
        args: list[str] = []
        if self.python_version is not None:
            args += ["--python-version", self.python_version, "--implementation", "cp"]
        if self.platform is not None:
            for tag in PLATFORMS[self.platform].pip:
                args += ["--platform", tag]
        return args

    def uv_args(self) -> list[str]:
        args: list[str] = []
        if self.python_version is not None:
            args += ["--python-version", self.python_version]
        if self.platform is not None:
            args += ["--python-platform", self.platform]
        return args

    def describe(self) -> str:
        version = self.python_version or "{}.{}".format(*sys.version_info[:2])
        return f"Python {version} on {self.platform or 'this platform'}"

    def to_json(self) -> dict[str, str | None]:
        return {"python-version": self.python_version, "platform": self.platform}
