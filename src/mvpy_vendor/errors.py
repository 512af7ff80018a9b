"""One exception tree, and :class:`Problem`: one thing wrong (or worth a warning) with one wheel.

Errors and problems name the *setting* that changes them (``allow-unparsable``,
``native-for``), never a command-line flag: the front end that received the setting renders it
as what its user wrote (``--allow-unparsable``, or a ``pyproject.toml`` key), through
:func:`render`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "BuildError",
    "Code",
    "ConfigError",
    "MvpyError",
    "NativeError",
    "Problem",
    "Severity",
    "SettingLabel",
    "VerifyError",
    "WheelProblems",
    "render",
]

#: How a front end spells a setting (``"allow-unparsable"`` -> ``"--allow-unparsable"``).
SettingLabel = Callable[[str], str]


def _plain(setting: str) -> str:
    return setting


class MvpyError(Exception):
    """Base class; ``exit_code`` is what a command line returns for it.

    ``setting`` (with the ``value`` given for it) names what the user can change; the message
    is then rendered as ``<setting> <value>: <message>``.
    """

    exit_code = 1

    def __init__(self, message: str, *, setting: str | None = None, value: str | None = None) -> None:
        self.message = message
        self.setting = setting
        self.value = value
        super().__init__(self.render())

    def render(self, label: SettingLabel = _plain) -> str:
        if self.setting is None:
            return self.message
        head = label(self.setting) + (f" {self.value!r}" if self.value is not None else "")
        return f"{head}: {self.message}"


class ConfigError(MvpyError):
    """The user asked for something that cannot be done as asked (bad setting, unsatisfiable requirement)."""

    exit_code = 2


class BuildError(MvpyError):
    """A wheel or a file in it could not be processed."""


class NativeError(BuildError):
    """A binary that cannot be read or patched as a compiled module."""


class VerifyError(BuildError):
    """Verification could not run (an environment could not be made, the probe failed)."""


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"


class Code(str, enum.Enum):
    """What kind of problem: stable names, for reports and front ends."""

    INVALID_WHEEL = "invalid-wheel"
    UNPARSABLE = "unparsable-source"
    REWRITE_FAILED = "rewrite-failed"
    COPIED_UNPARSABLE = "copied-unparsable"
    NATIVE_UNPATCHABLE = "native-unpatchable"
    NATIVE_REFUSED = "native-refused"
    NATIVE_PATCH_FAILED = "native-patch-failed"
    NATIVE_LOAD_UNCHECKED = "native-load-unchecked"
    #: a patched module exposes something other than its original does (the differential check)
    NATIVE_DIFFERS = "native-differs"
    #: a patched module not compared with its original, or only in part (its original does not import here)
    NATIVE_UNCOMPARED = "native-uncompared"
    NATIVE_LEAK_ACCEPTED = "native-leak-accepted"
    NATIVE_RESIGN = "native-resign"
    NATIVE_NOT_REWRITTEN = "native-not-rewritten"
    #: a renamed copy's module runs an import hook that serves a plain name, and does more (kept)
    START_UP_HOOK_KEPT = "start-up-hook-kept"
    #: a renamed copy's compiled module shares process state with another version (thread-state dict keys)
    SHARED_STATE = "shared-state"
    SHARED_STATE_ACCEPTED = "shared-state-accepted"
    #: a name imported without being declared that the requirements pin to different copies: left as written
    AMBIGUOUS_IMPORT = "ambiguous-import"
    # Diagnostics of the source rewriter (in the build's report, and from ``mvpy-vendor check``):
    #: ``import_module(name)``, ``__import__``, ``find_spec``, ``resolve_name``, ... with a target not known statically
    DYNAMIC_IMPORT = "dynamic-import"
    #: ``sys.modules[key]``, ``sys.modules.get(key)``, ``key in sys.modules`` with a key not known statically
    DYNAMIC_SYS_MODULES = "dynamic-sys-modules"
    #: resources, metadata lookups, ``mock.patch`` targets: a module or distribution name not known statically
    DYNAMIC_REFERENCE = "dynamic-reference"
    #: a renamed name split across string literals (``"pyd" "antic"``)
    SPLIT_NAME = "split-name"
    #: ``exec``/``eval``/``compile`` of code not known statically: imports in it are not rewritten
    DYNAMIC_CODE = "dynamic-code"
    # Only from ``mvpy-vendor check``:
    #: source that names a renamed copy (``_mv_foo_1_0_0``) instead of the plain name
    RENAMED_NAME = "renamed-name"
    #: an ``isolate`` entry that no longer matches ``[project].dependencies`` (or isolates nothing)
    ISOLATE_DRIFT = "isolate-drift"
    #: an ``embed`` entry of ``[tool.mvpy-vendor.backend]`` that no longer matches ``[project].dependencies``
    EMBED_DRIFT = "embed-drift"
    #: ``pylock.mvpy-vendor.toml`` out of date with ``pyproject.toml``
    LOCK_STALE = "lock-stale"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one wheel: ``wheel``, optionally ``member`` (and ``line``), and ``reason``.

    ``setting`` names what changes the outcome (rendered after the reason); a ``WARNING`` does
    not stop a build.
    """

    wheel: str
    reason: str
    member: str | None = None
    line: int | None = None
    code: Code = Code.INVALID_WHEEL
    severity: Severity = Severity.ERROR
    setting: str | None = None

    def render(self, label: SettingLabel = _plain, *, wheel: bool = True) -> str:
        parts = [self.wheel] if wheel else []
        if self.member is not None:
            parts.append(self.member if self.line is None else f"{self.member}:{self.line}")
        text = ": ".join([*parts, self.reason])
        return text + (f" ({label(self.setting)})" if self.setting is not None else "")

    def __str__(self) -> str:
        return self.render()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code.value, "severity": self.severity.value, "wheel": self.wheel}
        data.update({k: v for k, v in (("member", self.member), ("line", self.line)) if v is not None})
        data["reason"] = self.reason
        if self.setting is not None:
            data["setting"] = self.setting
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Problem:
        return cls(
            str(data["wheel"]),
            str(data["reason"]),
            data.get("member"),
            data.get("line"),
            Code(data["code"]),
            Severity(data["severity"]),
            data.get("setting"),
        )


def render(problems: Sequence[Problem], label: SettingLabel = _plain) -> str:
    return "\n".join(p.render(label) for p in problems)


class WheelProblems(BuildError):
    """Every problem found, collected before failing once."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__(render(self.problems))

    def render(self, label: SettingLabel = _plain) -> str:
        return render(getattr(self, "problems", ()), label) or self.message
