"""mvpy-vendor: install and import two incompatible versions of one library in one process.

A front end fills in a :class:`BuildRequest`, gets a :class:`Plan` back from :func:`plan_build`
(every decision, nothing written), and a :class:`BuildResult` from :func:`apply_plan`;
:func:`verify_wheelhouse` checks the wheelhouse it wrote. Names are imported when first used, so that
``import mvpy_vendor`` (and :mod:`mvpy_vendor.verify`) stays cheap.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .apply import apply_plan
    from .errors import BuildError, ConfigError, MvpyError, NativeError, Problem, VerifyError, WheelProblems
    from .options import ApplyOptions, BuildRequest, NativePolicy
    from .outcome import MemberOutcome, Status
    from .planning.plan import Action, MemberPlan, Output, Plan
    from .planning.planner import plan_build
    from .progress import Reporter
    from .report import BuildResult, Report
    from .verify import VerifyResult, verify_wheelhouse

__all__ = [
    "Action",
    "ApplyOptions",
    "BuildError",
    "BuildRequest",
    "BuildResult",
    "ConfigError",
    "MemberOutcome",
    "MemberPlan",
    "MvpyError",
    "NativeError",
    "NativePolicy",
    "Output",
    "Plan",
    "Problem",
    "Report",
    "Reporter",
    "Status",
    "VerifyError",
    "VerifyResult",
    "WheelProblems",
    "__version__",
    "apply_plan",
    "build",
    "plan_build",
    "verify_wheelhouse",
]

_WHERE = {
    "apply_plan": "apply",
    **dict.fromkeys(
        ("BuildError", "ConfigError", "MvpyError", "NativeError", "Problem", "VerifyError", "WheelProblems"), "errors"
    ),
    **dict.fromkeys(("ApplyOptions", "BuildRequest", "NativePolicy"), "options"),
    **dict.fromkeys(("MemberOutcome", "Status"), "outcome"),
    **dict.fromkeys(("Action", "MemberPlan", "Output", "Plan"), "planning.plan"),
    "plan_build": "planning.planner",
    "Reporter": "progress",
    **dict.fromkeys(("BuildResult", "Report"), "report"),
    **dict.fromkeys(("VerifyResult", "verify_wheelhouse"), "verify"),
}


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'mvpy_vendor' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{where}", __name__), name)


def __dir__() -> list[str]:
    return sorted(__all__)


def build(request: BuildRequest, out_dir: Path, reporter: Reporter | None = None) -> BuildResult:
    """Plan and apply in one call."""
    from .apply import apply_plan
    from .planning.planner import plan_build
    from .progress import SILENT

    plan = plan_build(request)
    return apply_plan(plan, out_dir, request.options, reporter=reporter or SILENT, cache=request.cache)
