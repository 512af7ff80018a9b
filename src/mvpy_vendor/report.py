"""The build report (``mvpy-vendor-report.json``): the one seam between build, verify and the front ends.

A build writes it from a :class:`BuildResult`; ``verify`` and other readers load it back as a
typed :class:`Report`, checking its schema version, without importing the rewriter. The report
holds the plan (every world, output and member decision), each output's sha256 and what its
build found (every file rewritten, every diagnostic, warning and dropped script).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import BuildError, ConfigError, Problem

if TYPE_CHECKING:  # not at run time: reading a report (as verify does) needs none of the engine
    from .native.differential import Comparison
    from .native.model import NativeModule
    from .outcome import MemberOutcome
    from .planning.plan import Output, Plan

__all__ = [
    "PROVENANCE_NAME",
    "REPORT_NAME",
    "SCHEMA_VERSION",
    "BuildResult",
    "OutputResult",
    "Report",
    "ReportOutput",
]

REPORT_NAME = "mvpy-vendor-report.json"
#: the provenance file written into every output's dist-info
PROVENANCE_NAME = "mvpy_vendor.json"
#: 2: member plans in the plan, warnings as problems with codes (1: the first layout, no "schema" key)
SCHEMA_VERSION = 2


@dataclass(frozen=True)
class OutputResult:
    """One output wheel as written: its sha256 and every member outcome, warning and drop."""

    output: Output
    sha256: str
    files: tuple[MemberOutcome, ...] = ()
    dropped: tuple[str, ...] = ()
    warnings: tuple[Problem, ...] = ()
    native: tuple[NativeModule, ...] = ()
    #: taken from the cache (not part of the report: a cached build's report is the cold one's)
    cached: bool = False
    #: the differential check of its patched compiled modules (None: it has none)
    comparison: Comparison | None = None

    @property
    def rewritten(self) -> int:
        return sum(1 for f in self.files if f.status.changed)

    @property
    def strings(self) -> int:
        """String literals naming a renamed module that were relocated."""
        return sum(len(f.strings) for f in self.files)

    @property
    def diagnostics(self) -> int:
        return sum(len(f.diagnostics) for f in self.files) + len(self.warnings)

    def to_json(self) -> dict[str, Any]:
        summary = {k: v for k, v in self.output.to_json().items() if k != "members"}
        data = {**summary, "sha256": self.sha256, **self.outcome_json()}
        if self.comparison is not None:  # cached on its own (it depends on other outputs too)
            data["differential_check"] = self.comparison.to_json()
        return data

    def outcome_json(self) -> dict[str, Any]:
        """What this output's build found (cached with the wheel)."""
        return {
            "files": [f.to_json() for f in self.files],
            "dropped": list(self.dropped),
            "warnings": [w.to_json() for w in self.warnings],
            "compiled_modules": [m.to_json() for m in self.native],
        }

    @classmethod
    def from_cache(cls, output: Output, data: dict[str, Any]) -> OutputResult:
        from .native.model import NativeModule
        from .outcome import MemberOutcome

        return cls(
            output,
            "",
            tuple(MemberOutcome.from_json(f) for f in data["files"]),
            tuple(data["dropped"]),
            tuple(Problem.from_json(w) for w in data["warnings"]),
            tuple(NativeModule.from_json(m) for m in data["compiled_modules"]),
            cached=True,
        )


@dataclass(frozen=True)
class BuildResult:
    """What :func:`~mvpy_vendor.apply.apply_plan` wrote: the plan, and one result per output."""

    plan: Plan
    outputs: tuple[OutputResult, ...]
    out_dir: Path

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "tool": {"name": "mvpy-vendor", "version": __version__},
            "inputs": [{"wheel": str(w.path.resolve()), "sha256": w.sha256} for w in self.plan.inputs],
            "plan": self.plan.to_json(),
            "outputs": [o.to_json() for o in self.outputs],
        }


# ---- reading a report back ---------------------------------------------------------------------


@dataclass(frozen=True)
class ReportOutput:
    """What a reader needs of one output wheel."""

    distribution: str
    version: str
    wheel: str
    #: "copy", "rewrite" or "rename"
    action: str
    source_wheel: str
    source_distribution: str
    worlds: tuple[int, ...]
    top_level: tuple[str, ...]
    #: old top-level import name -> new, for every name this wheel's code may import
    import_map: Mapping[str, str]
    #: which of :attr:`Report.origins` holds its original environment: its world's members, or
    #: (when it requires something another world provides) what an installer gives it alone
    origin: int = 0

    @property
    def renamed(self) -> bool:
        return self.action == "rename"


@dataclass(frozen=True)
class Report:
    """A build report, loaded and checked."""

    path: Path
    schema: int
    #: input wheel path -> sha256
    inputs: Mapping[Path, str]
    outputs: tuple[ReportOutput, ...]
    #: each world's members: canonical name -> version
    worlds: tuple[Mapping[str, str], ...]
    #: the original environments outputs are judged against: every world's members, then each
    #: distinct set an installer gives an output that requires something of another world
    origins: tuple[Mapping[str, str], ...] = ()

    @classmethod
    def load(cls, wheelhouse: Path) -> Report:
        """The report of ``wheelhouse``; one-line errors for a missing, unreadable or malformed one."""
        path = wheelhouse / REPORT_NAME
        if not wheelhouse.is_dir():
            raise ConfigError(f"{wheelhouse}: not a directory")
        if not path.is_file():
            raise ConfigError(f"{wheelhouse}: no {REPORT_NAME}; is this a wheelhouse written by mvpy-vendor build?")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise BuildError(f"{path}: not a readable report: {exc}") from None
        try:
            return cls._parse(path, data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BuildError(f"{path}: not a report this version understands: {type(exc).__name__}: {exc}") from None

    @classmethod
    def _parse(cls, path: Path, data: Any) -> Report:
        schema = int(data.get("schema", 1))
        if schema > SCHEMA_VERSION:
            raise ValueError(f"schema {schema} is newer than {SCHEMA_VERSION}; upgrade mvpy-vendor")
        raw = list(data["outputs"])
        inputs = {Path(i["wheel"]): str(i["sha256"]) for i in data["inputs"]}
        worlds = tuple({str(k): str(v) for k, v in w["members"].items()} for w in data["plan"]["worlds"])
        origins = list(worlds)
        origin: list[int] = []
        for o in raw:
            own = {str(k): str(v) for k, v in o.get("original", {}).items()}
            if own and own not in origins:
                origins.append(own)
            origin.append(origins.index(own) if own else int(o["worlds"][0]))
        outputs = tuple(
            ReportOutput(
                distribution=str(o["distribution"]),
                version=str(o["version"]),
                wheel=str(o["wheel"]),
                action=str(o["action"]),
                source_wheel=str(o["source"]["wheel"]),
                source_distribution=str(o["source"]["distribution"]),
                worlds=tuple(int(w) for w in o["worlds"]),
                top_level=tuple(str(t) for t in o["top_level"]),
                import_map={str(k): str(v) for k, v in o["import_map"].items()},
                origin=i,
            )
            for o, i in zip(raw, origin)
        )
        return cls(path, schema, inputs, outputs, worlds, tuple(origins))

    def describe_origin(self, origin: int) -> str:
        """``world 1``, or ``s3fs 2023.9.2 alone`` for an output's own original environment."""
        if origin < len(self.worlds):
            return f"world {origin}"
        owners = sorted(f"{o.distribution} {o.version}" for o in self.outputs if o.origin == origin)
        return f"{', '.join(owners)} alone"
