"""What a front end fills in: a :class:`BuildRequest` (wheels, roots, pins) and its :class:`ApplyOptions`."""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from .planning.target import Target

if TYPE_CHECKING:
    from .cache import Cache

__all__ = ["ApplyOptions", "BuildRequest", "NativePolicy"]


class NativePolicy(str, enum.Enum):
    """What to do with a compiled module that needs changes."""

    #: patch it; where it cannot be patched, use the pure-Python source the wheel ships, else fail
    PATCH = "patch"
    #: use the shipped pure-Python source wherever there is one, patch the rest
    PREFER_SOURCE = "prefer-source"
    #: fail at any compiled module that would need a change
    ERROR = "error"


@dataclass(frozen=True)
class ApplyOptions:
    """The choices a build makes beyond the worlds: they shape the plan's member actions and the writing."""

    #: copy files that cannot be parsed (but mention a renamed name) unchanged, with a warning
    allow_unparsable: bool = False
    #: worker processes for large wheels (None: the number of CPUs)
    jobs: int | None = None
    native_policy: NativePolicy = NativePolicy.PATCH
    #: per-distribution overrides of ``native_policy``
    native_policy_for: Mapping[str, NativePolicy] = field(default_factory=dict)
    #: distributions whose compiled modules may keep names that cannot be patched (with a warning)
    accept_native_leaks: Sequence[str] = ()
    #: distributions whose compiled modules may share process state with another version of
    #: themselves (thread-state dict keys), with a warning (setting ``accept-shared-state``)
    accept_shared_state: Sequence[str] = ()
    #: distributions whose string literals naming renamed modules are kept as written (setting ``keep-strings``)
    keep_strings: Sequence[str] = ()

    def policy(self, dist: str) -> NativePolicy:
        for name, policy in self.native_policy_for.items():
            if canonicalize_name(name) == dist:
                return NativePolicy(policy)
        return NativePolicy(self.native_policy)

    def policy_setting(self, dist: str) -> str:
        """The setting that chose ``dist``'s native policy."""
        if any(canonicalize_name(name) == dist for name in self.native_policy_for):
            return "native-for"
        return "native"

    def accepts_leak(self, dist: str) -> bool:
        return any(canonicalize_name(name) == dist for name in self.accept_native_leaks)

    def accepts_shared_state(self, dist: str) -> bool:
        return any(canonicalize_name(name) == dist for name in self.accept_shared_state)

    def keeps_strings(self, dist: str) -> bool:
        return any(canonicalize_name(name) == dist for name in self.keep_strings)

    @property
    def workers(self) -> int:
        return self.jobs if self.jobs is not None else (os.cpu_count() or 1)


@dataclass(frozen=True)
class BuildRequest:
    """Everything a build needs to know; the CLI, a backend or a hook fill it in.

    ``requires`` are the main world's roots (setting ``require``; default: what nothing in the
    set depends on), ``primaries`` the ``NAME==VERSION`` pins that keep their plain name
    (setting ``primary``).
    """

    wheels: Sequence[Path]
    requires: Sequence[str] = ()
    primaries: Sequence[str] = ()
    #: distributions renamed outside the main world even where nothing collides with them (setting ``rename``)
    rename: Sequence[str] = ()
    options: ApplyOptions = field(default_factory=ApplyOptions)
    #: the Python version and platform the wheelhouse is for (settings ``python-version``, ``platform``)
    target: Target = field(default_factory=Target)
    #: ``NAME==VERSION`` versions tried first in the main world (what a resolver chose for it)
    prefer: Sequence[str] = ()
    #: where validated wheels, planning results and built outputs are remembered (None: nowhere)
    cache: Cache | None = None
