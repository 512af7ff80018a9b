"""``mvpy-vendor check``: catch, before a build, what the rewriter cannot fix.

:mod:`.project` reads what will be renamed from ``pyproject.toml`` (and the lock) and finds
configuration drift; :mod:`.source` checks one file with the rewriter's own engine. Nothing here
imports libcst unless a file mentions a call the rewriter acts on.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from mvpy_vendor.errors import Code, ConfigError

from .project import LOCK_NAME, CheckProject, iter_sources, load_check_project, nearest_root
from .source import Finding, check_source, suppressed

__all__ = ["CHECK_CODES", "CheckResult", "Finding", "run_check", "selected_codes"]

#: every code ``check`` reports
CHECK_CODES: tuple[Code, ...] = (
    Code.DYNAMIC_IMPORT,
    Code.DYNAMIC_SYS_MODULES,
    Code.DYNAMIC_REFERENCE,
    Code.SPLIT_NAME,
    Code.DYNAMIC_CODE,
    Code.RENAMED_NAME,
    Code.UNPARSABLE,
    Code.ISOLATE_DRIFT,
    Code.EMBED_DRIFT,
    Code.LOCK_STALE,
)


@dataclass(frozen=True)
class CheckResult:
    findings: tuple[Finding, ...]
    files: int
    #: import names that will be renamed, over every project checked, with why
    renamed: tuple[tuple[str, str], ...] = ()


def selected_codes(select: Sequence[str], ignore: Sequence[str]) -> frozenset[Code]:
    """The codes ``--select`` / ``--ignore`` leave; each selector is a code or a prefix of codes (``dynamic``)."""

    def matching(selector: str, option: str) -> set[Code]:
        found = {c for c in CHECK_CODES if c.value == selector or c.value.startswith(selector + "-")}
        if not found:
            raise ConfigError(
                f"--{option}: {selector!r} is not a code; codes: {', '.join(c.value for c in CHECK_CODES)}"
            )
        return found

    chosen = set().union(*(matching(s, "select") for s in select)) if select else set(CHECK_CODES)
    for s in ignore:
        chosen -= matching(s, "ignore")
    return frozenset(chosen)


def _shown(path: Path) -> str:
    """A path as a user wants to see it: relative to the working directory when it is under it."""
    if not path.is_absolute():
        return path.as_posix()
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()


def run_check(paths: Sequence[Path], project: Path | None = None, codes: Collection[Code] = CHECK_CODES) -> CheckResult:
    """Check ``paths`` (none: the project's sources and configuration) and return the findings, sorted.

    Each file is checked with the names of the ``pyproject.toml`` nearest above it (or of
    ``project``); configuration drift is reported when no path is given, or when a project's
    ``pyproject.toml`` or lock is among them.
    """
    projects: dict[Path, CheckProject] = {}
    roots: dict[Path, Path] = {}
    sources: list[tuple[CheckProject, Path]] = []
    configured: list[CheckProject] = []

    def project_of(root: Path) -> CheckProject:
        key = root.resolve()
        if key not in projects:
            projects[key] = load_check_project(root)
        return projects[key]

    if not paths:
        chosen = project_of(project or Path("."))
        configured.append(chosen)
        sources = [(chosen, p) for p in iter_sources(chosen.paths, chosen.excluded)]
    else:
        for path in paths:
            if not path.exists():
                raise ConfigError(f"{path}: no such file or directory")
            found = project_of(project if project is not None else nearest_root(path, roots))
            if path.name in ("pyproject.toml", LOCK_NAME):
                if found not in configured:
                    configured.append(found)
                continue
            sources += [(found, p) for p in iter_sources([path], found.excluded)]
    findings: list[Finding] = []
    for owner, path in sources:
        shown = _shown(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            findings.append(Finding(shown, 1, 1, Code.UNPARSABLE, f"cannot be read: {exc.strerror or exc}"))
            continue
        findings += check_source(shown, data, owner.names)
    for owner in configured:
        findings += [Finding(_shown(Path(f.path)), f.line, f.column, f.code, f.message) for f in owner.drift]
    kept = [f for f in findings if f.code in codes]
    lines: dict[str, list[str]] = {}
    for f in kept:
        if f.path not in lines:
            try:
                lines[f.path] = Path(f.path).read_bytes().decode("utf-8", "replace").splitlines()
            except OSError:
                lines[f.path] = []
    kept = [f for f in kept if not suppressed(f, lines[f.path])]
    renamed = {(name, why) for p in projects.values() for name, why in p.renamed.items()}
    return CheckResult(tuple(sorted(set(kept))), len(sources), tuple(sorted(renamed)))
