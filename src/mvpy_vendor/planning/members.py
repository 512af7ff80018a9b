"""Decide what happens to every member of an output wheel: copy, rewrite, patch, de-accelerate, drop.

This is the part of planning that reads the source wheel's bytes: which files mention a renamed
name (the pre-filter), which scripts are Python, which console scripts an entry-points file
declares, and what inspecting each compiled module finds, turned into an action by the native
policy. The result is cached by everything that decides it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Optional

from mvpy_vendor.cache import Cache, cache_key
from mvpy_vendor.errors import Code, Problem, Severity
from mvpy_vendor.naming import filename_component
from mvpy_vendor.native import file_names, inspect_native
from mvpy_vendor.options import ApplyOptions, NativePolicy
from mvpy_vendor.rewrite.mask import mask
from mvpy_vendor.rewrite.metadata import rewrite_entry_points
from mvpy_vendor.rewrite.names import NameMap
from mvpy_vendor.wheel.layout import (
    EXTENSION_SUFFIXES,
    installed_path,
    is_python,
    is_script,
    member_order,
    module_name_of,
)
from mvpy_vendor.wheel.layout import pure_source as shipped_source
from mvpy_vendor.wheel.reader import MemberReader
from mvpy_vendor.wheel.records import SIGNATURE_FILES

from .accelerators import Accelerators
from .hooks import trigger
from .plan import Action, MemberPlan, Output

__all__ = ["name_map", "plan_members"]

_OVERWRITES = "(would overwrite the primary's)"
# makes one member plan of a compiled module: action, reason, problem
_PlanFn = Callable[[Action, str, Optional[Problem]], MemberPlan]  # a run-time alias: no "X | None" on 3.9


def name_map(out: Output) -> NameMap:
    return NameMap(
        dict(out.import_map), dict(out.dist_map), strings=not out.keep_strings, modules=dict(out.module_paths)
    )


class _Targets:
    """Where each member of a source wheel goes in its output wheel (None: dropped)."""

    def __init__(self, out: Output) -> None:
        self.out = out
        self.source = out.source
        self.own = out.own_imports
        self.dist_info = out.dist_info
        self.data_dir = self.dist_info[: -len(".dist-info")] + ".data"
        self.moved = out.moved if out.renamed else {}

    def _site_path(self, path: str) -> str:
        """Rename a path relative to site-packages (root of a wheel, or purelib/platlib)."""
        for directory, new in self.moved.items():  # an aliased package becomes a top-level name
            if path.startswith(directory + "/"):
                return new + path[len(directory) :]
        first, sep, rest = path.partition("/")
        if first in self.own:
            return self.own[first] + sep + rest
        if first.endswith("-stubs") and first[: -len("-stubs")] in self.own:
            return self.own[first[: -len("-stubs")]] + "-stubs" + sep + rest
        if not sep:
            stem, dot, suffix = first.partition(".")
            if stem in self.own:
                return self.own[stem] + dot + suffix
            if first.endswith(".pth") and self.out.renamed:
                return f"{filename_component(self.out.name)}-{first}"
        return path

    def target(self, member: str) -> str | None:
        first, _, rest = member.partition("/")
        if first == self.source.dist_info:
            return f"{self.dist_info}/{rest}"
        if first == self.source.data_dir:
            scheme, _, inner = rest.partition("/")
            if scheme in ("purelib", "platlib"):
                inner = self._site_path(inner)
            elif scheme == "scripts" and self.out.renamed:
                return None
            return f"{self.data_dir}/{scheme}/{inner}"
        return self._site_path(member)


def _native(
    out: Output,
    member: str,
    target: str,
    data: bytes,
    names: NameMap,
    options: ApplyOptions,
    accelerators: Callable[[], Accelerators],
) -> MemberPlan:
    """Patch, drop for its source (shipped beside it, or the fallback every import of it has), or
    refuse one compiled module, as the native policy says."""
    source = out.source
    dist = source.name
    policy, setting = options.policy(dist), options.policy_setting(dist)
    old_module = module_name_of(installed_path(member, source.data_dir))
    new_module = names.new_module(old_module) or old_module
    old_last, new_last = old_module.rpartition(".")[2], new_module.rpartition(".")[2]
    module = inspect_native(data, member, names.imports, file_names(source.members))
    pure = shipped_source(source.members, member)

    def plan(action: Action, reason: str, problem: Problem | None) -> MemberPlan:
        init = (old_last, new_last) if action is Action.PATCH and old_last != new_last else None
        written = None if action is Action.DEACCELERATE else target
        return MemberPlan(member, action, written, reason, problem, module, init)

    def problem(code: Code, reason: str, severity: Severity = Severity.ERROR, setting: str | None = None) -> Problem:
        return Problem(source.filename, reason, member, code=code, severity=severity, setting=setting)

    if not module.occurrences and old_last == new_last:
        return plan(Action.COPY, "compiled module names no renamed module", None)
    if module.occurrences and all(o.kind == "kept" for o in module.occurrences) and old_last == new_last:
        # every reference to a renamed name is kept: nothing to patch (inspect says why)
        return plan(Action.COPY, "compiled module uses no renamed name as a module name", None)
    if pure and (policy is NativePolicy.PREFER_SOURCE or (policy is NativePolicy.PATCH and not module.patchable)):
        return plan(Action.DEACCELERATE, f"dropped; {pure} is used instead", None)
    if policy is NativePolicy.ERROR:
        reason = "compiled module needs patching and the native policy is 'error'"
        return _refused(out, plan, problem(Code.NATIVE_REFUSED, reason, setting=setting))
    optional = None
    if not module.patchable:
        # an optional accelerator: every import of it falls back to pure Python
        optional = accelerators().check(member)
        if optional.optional:
            return plan(Action.DEACCELERATE, f"dropped; {optional.reason}", None)
    reasons = list(module.problems) + [o.why_not for o in module.occurrences if o.blocks]
    accept = options.accepts_leak(dist)
    if reasons and not (accept and not module.problems):
        hint = ""
        if not pure:
            hint = "; no pure-Python source of this module is shipped to fall back on"
            hint += f", and it is not an optional accelerator ({optional.why_not})" if optional else ""
        found = problem(Code.NATIVE_UNPATCHABLE, "cannot be patched: " + "; ".join(reasons) + hint)
        return _refused(out, plan, found)
    patchable = [o for o in module.occurrences if o.patchable]
    reason = f"{len(patchable)} strings repointed" + (f", PyInit_{old_last} renamed" if old_last != new_last else "")
    kept = sum(o.references for o in module.occurrences if o.kind == "kept")
    if kept:
        reason += f"; {kept} references kept (used as no module name: see inspect)"
    warning = None
    if module.format == "Mach-O":
        reason += "; code signature removed: ad-hoc re-sign it on macOS (codesign --force --sign - FILE)"
        warning = problem(Code.NATIVE_RESIGN, reason, Severity.WARNING)
    if reasons:
        reason += "; LEAK ACCEPTED: " + "; ".join(reasons)
        warning = problem(Code.NATIVE_LEAK_ACCEPTED, reason, Severity.WARNING, "accept-native-leak")
    return plan(Action.PATCH, reason, warning)


def _shared_state(
    out: Output, member: str, why: str, options: ApplyOptions, native: Callable[[], MemberPlan]
) -> MemberPlan:
    """A compiled module that shares process state with another version: refused, unless accepted."""
    wheel = out.source.filename
    if not options.accepts_shared_state(out.source.name):
        found = Problem(wheel, why, member, code=Code.SHARED_STATE, setting="accept-shared-state")
        return MemberPlan(member, Action.REFUSE, None, why, found)
    planned = native()
    reason = f"{planned.reason}; SHARED STATE ACCEPTED: {why}"
    if planned.problem is not None and planned.problem.severity is Severity.ERROR:
        return replace(planned, reason=reason)
    warning = Problem(
        wheel, why, member, code=Code.SHARED_STATE_ACCEPTED, severity=Severity.WARNING, setting="accept-shared-state"
    )
    return replace(planned, reason=reason, problem=planned.problem or warning)


def _refused(out: Output, plan: _PlanFn, found: Problem) -> MemberPlan:
    """A renamed copy cannot ship a compiled module that keeps the old names; a consumer keeps it, warned."""
    if out.renamed:
        return plan(Action.REFUSE, found.reason, found)
    warning = Problem(
        found.wheel,
        found.reason + "; imports made from C are not rewritten",
        found.member,
        code=Code.NATIVE_NOT_REWRITTEN,
        severity=Severity.WARNING,
    )
    return plan(Action.COPY, warning.reason, warning)


def _decide(
    out: Output,
    member: str,
    target: str,
    reader: MemberReader,
    names: NameMap,
    options: ApplyOptions,
    accelerators: Callable[[], Accelerators],
    shared: Mapping[str, str],
) -> MemberPlan:
    source = out.source
    meta = source.dist_info + "/"
    if member == meta + "RECORD":
        return MemberPlan(member, Action.REGENERATE, None, "RECORD is written anew")
    if member in (meta + name for name in SIGNATURE_FILES):
        why = f"signature {member} (no longer valid)"
        return MemberPlan(member, Action.DROP, None, "no longer valid", drops=(why,))
    if member == meta + "METADATA":
        return MemberPlan(member, Action.METADATA, target, "name and requirements")
    if member == meta + "entry_points.txt":
        text = reader.read(member).decode("utf-8")
        drops = rewrite_entry_points(text, names, drop_scripts=True).dropped_scripts if out.renamed else ()
        return MemberPlan(
            member, Action.METADATA, target, "object references", drops=tuple(f"{d} {_OVERWRITES}" for d in drops)
        )
    if member == meta + "top_level.txt":
        return MemberPlan(member, Action.METADATA, target, "import names")
    if member == meta + "namespace_packages.txt":
        return MemberPlan(member, Action.METADATA, target, "namespace packages (pkg_resources declares them)")
    python = is_python(member, source.dist_info)
    if member.endswith(".pth") and out.renamed:
        hook = _import_hook(reader.read(member), out, reader)
        if hook is not None:
            why = f"start-up hook {member.rpartition('/')[2]} dropped: {hook}; a renamed copy must not hook imports"
            return MemberPlan(member, Action.DROP, None, hook, drops=(why,))
    if python and out.renamed and out.aliases and member.endswith(".py"):
        neutralised = _neutralised(out, member, target, reader.read(member))
        if neutralised is not None:
            return neutralised
    if python or member.endswith(".pth"):
        if names.mentions(reader.read(member)):
            action = Action.REWRITE if python else Action.REWRITE_PTH
            return MemberPlan(member, action, target, "mentions a renamed name")
        return MemberPlan(member, Action.COPY, target, "mentions no renamed name")
    data = reader.read(member) if is_script(member, source.data_dir) or member.endswith(EXTENSION_SUFFIXES) else b""
    if is_script(member, source.data_dir) and data.startswith(b"#!python") and names.mentions(data):
        return MemberPlan(member, Action.REWRITE, target, "Python script mentioning a renamed name")
    if member.endswith(EXTENSION_SUFFIXES) and member in shared:
        return _shared_state(
            out,
            member,
            shared[member],
            options,
            lambda: _native(out, member, target, data, names, options, accelerators),
        )
    if member.endswith(EXTENSION_SUFFIXES):
        if out.renamed or names.mentions(data):
            return _native(out, member, target, data, names, options, accelerators)
        return MemberPlan(member, Action.COPY, target, "compiled module names no renamed module")
    return MemberPlan(member, Action.COPY, target, "not code that names a module")


def _neutralised(out: Output, member: str, target: str, data: bytes) -> MemberPlan | None:
    """A module of a renamed copy that runs an aliasing import hook at import time (see ``hooks``)."""
    hooks = {a.hook for a in out.aliases}
    if not any(h.encode() in data for h in hooks):
        return None
    runs = trigger(data, hooks)
    if runs is None:
        return None
    served = "; ".join(a.reason for a in out.aliases)
    if runs:
        reason = (
            f"written empty: it only runs the import hook ({served}); the copy's imports of "
            f"{', '.join(repr(a.name) for a in out.aliases)} are rewritten to its own modules instead"
        )
        return MemberPlan(member, Action.NEUTRALISE, target, reason)
    reason = f"runs the import hook at import time and does more, so it is kept as it is: {served}"
    warning = Problem(out.source.filename, reason, member, code=Code.START_UP_HOOK_KEPT, severity=Severity.WARNING)
    return MemberPlan(member, Action.REWRITE, target, reason, warning)


_PTH_IMPORTS = re.compile(rb"""(?:^import[ \t]+([\w.]+)|__import__\(\s*['"]([\w.]+)['"])""", re.MULTILINE)
_HOOKS = re.compile(rb"\b(?:meta_path|path_hooks)\b")


def _import_hook(pth: bytes, out: Output, reader: MemberReader) -> str | None:
    """Does a ``.pth`` file of a renamed copy run code that installs an import hook?

    Such a hook (setuptools' ``_distutils_hack`` puts a finder for ``distutils`` on
    ``sys.meta_path``) would answer for plain names from inside the renamed copy, in every
    process. The modules the file's ``import`` lines load are read from the wheel, strings and
    comments masked, for ``sys.meta_path`` or ``sys.path_hooks``.
    """
    members = set(out.source.members)
    for match in _PTH_IMPORTS.finditer(pth):
        module = (match[1] or match[2]).decode()
        if module.partition(".")[0] not in out.source.import_names:
            continue
        stem = module.replace(".", "/")
        for candidate in (f"{stem}/__init__.py", f"{stem}.py"):
            if candidate not in members:
                continue
            source = mask(reader.read(candidate))
            found = _HOOKS.search(source.code) if source is not None else None
            if source is not None and found is not None:
                line = source.data.count(b"\n", 0, found.start()) + 1  # masking fills strings' newlines too
                return f"{module} installs an import hook (sys.{found[0].decode()} at {candidate}:{line})"
    return None


def _members_key(out: Output, options: ApplyOptions, shared: Mapping[str, str]) -> str:
    dist = out.source.name
    return cache_key(
        "members",
        out.source.sha256,
        out.renamed,
        out.name,
        out.import_map,
        out.dist_map,
        out.module_paths,
        options.policy(dist).value,
        options.policy_setting(dist),
        options.accepts_leak(dist),
        [a.to_json() for a in out.aliases],
        options.accepts_shared_state(dist),
        sorted(shared.items()),
    )


def plan_members(
    out: Output, options: ApplyOptions, cache: Cache | None = None, shared: Mapping[str, str] | None = None
) -> tuple[MemberPlan, ...]:
    """Every member's plan for ``out``, in the order the output is written; ``shared``: its compiled
    modules that share process state with another version (see ``shared_state``), and why."""
    shared = shared or {}
    key = _members_key(out, options, shared)
    known = cache.get_json("members", key) if cache is not None else None
    if known is not None:
        with contextlib.suppress(KeyError, TypeError, ValueError, AttributeError):
            return tuple(MemberPlan.from_json(m) for m in known)
    names = name_map(out)
    targets = _Targets(out)
    planned: list[MemberPlan] = []
    source = out.source
    with MemberReader(source.path) as reader:
        found: list[Accelerators] = []

        def accelerators() -> Accelerators:
            """Made when a compiled module first needs it; keeps the files it parsed."""
            if not found:
                found.append(Accelerators(source.members, source.dist_info, source.data_dir, reader.read))
            return found[0]

        for member in source.members:
            target = targets.target(member)
            if target is None:
                planned.append(MemberPlan(member, Action.DROP, None, "script", drops=(_script_drop(member),)))
            else:
                planned.append(_decide(out, member, target, reader, names, options, accelerators, shared))
    _refuse_clashes(out, planned)
    planned.sort(key=lambda m: _position(m, out.dist_info))
    if cache is not None:
        cache.put_json("members", key, [m.to_json() for m in planned])
    return tuple(planned)


def _refuse_clashes(out: Output, planned: list[MemberPlan]) -> None:
    """Two members that would be written under one name (``Foo/`` and ``foo/`` both renamed to
    ``_mv_foo_1_0_0/``): the second is refused."""
    seen: dict[str, str] = {}
    for i, m in enumerate(planned):
        if m.target is None:
            continue
        other = seen.setdefault(m.target, m.member)
        if other != m.member:
            reason = f"would be written as {m.target}, as {other} is"
            planned[i] = MemberPlan(
                m.member, Action.REFUSE, None, reason, Problem(out.source.filename, reason, m.member)
            )


def _script_drop(member: str) -> str:
    return f"script {member.rsplit('/', 1)[-1]} {_OVERWRITES}"


def _position(m: MemberPlan, dist_info: str) -> tuple[int, int, str]:
    """Written members in the output's order; members not written first, in source order."""
    if m.target is None:
        return (0, 0, "")
    return (1, *member_order(m.target, dist_info))
