"""Make the plan for a :class:`~mvpy_vendor.options.BuildRequest`: a frozen :class:`~.plan.Plan`
that holds every decision (worlds, outputs, name maps, and what happens to every member)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from mvpy_vendor.errors import ConfigError
from mvpy_vendor.options import BuildRequest
from mvpy_vendor.wheel.validate import collect_wheel_paths, read_wheels

from .hooks import wheel_aliases
from .imports import wheel_imports
from .members import plan_members
from .plan import Plan, make_plan
from .resolve import Index, default_roots, resolve_worlds
from .shared_state import shared_state

__all__ = ["plan_build"]


def _parse_requires(texts: Sequence[str]) -> list[Requirement]:
    reqs = []
    for text in texts:
        try:
            reqs.append(Requirement(text))
        except InvalidRequirement as exc:
            raise ConfigError(str(exc).splitlines()[0], setting="require", value=text) from None
    return reqs


def _parse_primaries(texts: Sequence[str], setting: str = "primary") -> dict[NormalizedName, Version]:
    pins = {}
    for text in texts:
        name, sep, version = text.partition("==")
        try:
            if not sep or not name.strip():
                raise InvalidVersion(text)
            pins[canonicalize_name(name.strip())] = Version(version.strip())
        except InvalidVersion:
            raise ConfigError("expected NAME==VERSION", setting=setting, value=text) from None
    return pins


def plan_build(request: BuildRequest) -> Plan:
    """Read and validate the wheels, resolve the worlds and decide every output and member; write nothing."""
    wheels = read_wheels(collect_wheel_paths(request.wheels), request.cache)
    env = request.target.environment()
    index = Index.build(wheels, request.target)
    roots = _parse_requires(request.requires) or default_roots(index, env)
    prefer = _parse_primaries(request.prefer, setting="prefer")
    worlds = resolve_worlds(index, roots, _parse_primaries(request.primaries), env, prefer)
    rename = {canonicalize_name(n) for n in request.rename}
    plan = make_plan(
        worlds,
        wheels,
        index.ignored,
        rename,
        lambda wheel: wheel_aliases(wheel, request.cache),
        lambda wheel, names: wheel_imports(wheel, names, request.cache),
    )
    plan = replace(plan, target=request.target)
    options = request.options
    shared = shared_state(plan.outputs, request.cache)
    outputs = tuple(
        replace(
            out,
            members=plan_members(out, options, request.cache, shared.get(out.key, {})),
            allow_unparsable=options.allow_unparsable,
            keep_strings=options.keeps_strings(out.source.name),
        )
        if out.action != "copy"
        else out
        for out in plan.outputs
    )
    return replace(plan, outputs=outputs, inputs=tuple(wheels))
