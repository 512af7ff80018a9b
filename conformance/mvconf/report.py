"""Per-target JSON results (for diffs between runs) and the RESULTS.md written from all of them."""

from __future__ import annotations

import datetime
import gzip
import json
import os
import platform
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .compare import Change, matches
from .config import Expected
from .pytest_run import Outcome, RunResult
from .suite import ModeResult, TargetResult
from .tool import Tool

__all__ = [
    "diff_results",
    "load_outcomes",
    "load_results",
    "mode_ok",
    "outcome_maps",
    "reapply_expected",
    "render_markdown",
    "target_json",
    "write_atomic",
    "write_target_json",
]

SCHEMA = 1
#: how many tests RESULTS.md lists per target and list (the JSON has all of them)
LISTED = 60


def _run_json(run: RunResult) -> dict[str, Any]:
    return {
        "counts": _counts(run.outcomes),
        "wall": round(run.wall, 1),
        "resumes": run.resumes,
        "incomplete": run.incomplete,
        "exit_codes": list(run.exit_codes),
        # every test's outcome is in the NAME.outcomes.json.gz beside this file; here only those that did not pass
        "not_passed": {k: [v.outcome, v.message] for k, v in sorted(run.outcomes.items()) if v.outcome != "passed"},
    }


def _counts(outcomes: Mapping[str, Outcome]) -> dict[str, int]:
    out = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
    for o in outcomes.values():
        key = {"xpassed": "passed", "xfailed": "skipped", "crashed": "error", "collect-error": "error"}.get(
            o.outcome, o.outcome
        )
        out[key] = out.get(key, 0) + 1
    return out


def _change(c: Change) -> dict[str, str]:
    data = {"id": c.id, "baseline": c.baseline, "renamed": c.renamed, "message": c.message}
    if c.reason:
        data["reason"] = c.reason
    return data


def mode_ok(data: Mapping[str, Any]) -> bool:
    """A mode passes when its run went to its end, ran tests, and nothing changed for the worse unexplained."""
    return not data["incomplete"] and sum(data["counts"].values()) > 0 and not data["unexplained"]


def _mode_json(result: TargetResult, mode: ModeResult, tool: Tool, date: str) -> dict[str, Any]:
    data = _run_json(mode.run)
    data.update(
        {
            "tool": {"commit": tool.commit, "fingerprint": tool.fingerprint[:16]},
            "date": date,
            "unexplained": [_change(c) for c in mode.comparison.unexplained],
            "expected": [_change(c) for c in mode.comparison.expected],
            "fixed": list(mode.comparison.fixed),
            "flaky": [_change(c) for c in mode.comparison.flaky],
            "stale_expected": [{"id": e.id, "reason": e.reason} for e in mode.comparison.stale],
        }
    )
    data["ok"] = mode_ok(data) and not result.baseline.incomplete
    return data


def target_json(result: TargetResult, tool: Tool, previous: Mapping[str, Any] | None) -> dict[str, Any]:
    """The per-target record; modes not run this time are carried over from ``previous``."""
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    t = result.target
    modes = dict(previous.get("modes", {})) if previous else {}
    for mode in result.modes:
        modes[mode.mode] = _mode_json(result, mode, tool, date)
    baseline = _run_json(result.baseline)
    baseline["reused"] = result.baseline_reused
    return {
        "schema": SCHEMA,
        "target": t.name,
        "library": t.library,
        "date": date,
        "tool": {"commit": tool.commit, "fingerprint": tool.fingerprint[:16]},
        "python": platform.python_version(),
        "versions": {k: result.downloads.versions(k) for k in ("old", "new", "deps")},
        "renames": dict(sorted(result.wheelhouse.renames.items())),
        "subset": t.subset,
        "paths": list(t.paths),
        "deselected": [{"id": d.pattern, "reason": d.reason} for d in t.deselect],
        "wall": round(result.wall, 1),
        "baseline": baseline,
        "modes": dict(sorted(modes.items())),
    }


def outcome_maps(result: TargetResult, previous: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    """Every test's outcome of each run (modes not run this time carried over from ``previous``)."""
    maps = {k: dict(v) for k, v in previous.items()}
    maps["baseline"] = {k: v.outcome for k, v in result.baseline.outcomes.items()}
    for mode in result.modes:
        maps[mode.mode] = {k: v.outcome for k, v in mode.run.outcomes.items()}
    return maps


def write_target_json(directory: Path, data: Mapping[str, Any], outcomes: Mapping[str, Mapping[str, str]]) -> Path:
    """``NAME.json`` (the summary) and ``NAME.outcomes.json.gz`` (every test's outcome per run), deterministic."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{data['target']}.json"
    raw = json.dumps(outcomes, sort_keys=True, separators=(",", ":")).encode()
    write_atomic(directory / f"{data['target']}.outcomes.json.gz", gzip.compress(raw, 9, mtime=0))
    write_atomic(path, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode())
    return path


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``path`` so that a reader (another run of the harness) never sees it half written."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def load_outcomes(directory: Path, target: str) -> dict[str, dict[str, str]]:
    """The outcome maps written with ``target``'s results (empty when there are none)."""
    path = directory / f"{target}.outcomes.json.gz"
    if not path.exists():
        return {}
    data = json.loads(gzip.decompress(path.read_bytes()))
    return {str(k): {str(t): str(o) for t, o in v.items()} for k, v in data.items()}


def load_results(directory: Path) -> dict[str, dict[str, Any]]:
    """Every target's record in ``directory``, by target name."""
    out = {}
    for path in sorted(directory.glob("*.json")):  # not the .outcomes.json.gz
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("schema") == SCHEMA:
            out[str(data["target"])] = data
    return out


def _pfes(counts: Mapping[str, int]) -> str:
    return "/".join(str(counts.get(k, 0)) for k in ("passed", "failed", "error", "skipped"))


def _lib_versions(data: Mapping[str, Any]) -> str:
    lib = str(data["library"]).lower().replace("_", "-")
    return f"{data['versions']['old'].get(lib, '?')} → {data['versions']['new'].get(lib, '?')}"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def render_markdown(results: Mapping[str, Mapping[str, Any]], title: str = "Conformance results") -> str:
    """RESULTS.md: one table row per target and mode, then each target's details."""
    lines = [
        f"# {title}",
        "",
        "Written by `python conformance/run.py` (see conformance/README.md). Counts are "
        "passed/failed/error/skipped (xpassed counted as passed, xfailed as skipped, a crash or a "
        "module that does not import as an error). *Unexplained* tests are worse in the renamed "
        "run than in the baseline (the original release) and not in the target's expected list; "
        "the run passes only when every mode of every target has none.",
        "",
        "| target | mode | original → newest | baseline p/f/e/s | renamed p/f/e/s | unexplained | expected "
        "| flaky | fixed | renamed run | tool | date | ok |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, data in sorted(results.items()):
        for mode, m in sorted(data["modes"].items()):
            lines.append(
                f"| {name} | {mode} | {_lib_versions(data)} | {_pfes(data['baseline']['counts'])} "
                f"| {_pfes(m['counts'])} "
                f"| {len(m['unexplained'])} | {len(m['expected'])} | {len(m.get('flaky', []))} | {len(m['fixed'])} "
                f"| {_minutes(m['wall'])} "
                f"| {m['tool']['commit']} | {m['date']} | {'yes' if m['ok'] else '**no**'} |"
            )
    for name, data in sorted(results.items()):
        lines += ["", f"## {name}", ""]
        old = ", ".join(f"{k} {v}" for k, v in data["versions"]["old"].items())
        new = ", ".join(f"{k} {v}" for k, v in data["versions"]["new"].items())
        renames = ", ".join(f"`{k}` → `{v}`" for k, v in data["renames"].items())
        lines += [f"- original world: {old}", f"- newest world: {new}", f"- renamed: {renames}"]
        lines.append(f"- tests run: {', '.join(f'`{p}`' for p in data['paths'])}")
        if data["subset"]:
            lines.append(f"- subset: {data['subset']}")
        if data["deselected"]:
            lines.append(f"- deselected in every run: {len(data['deselected'])} (see the target's config)")
        b = data["baseline"]
        lines.append(
            f"- baseline: {_pfes(b['counts'])} in {_minutes(b['wall'])}"
            + (" (reused from an earlier run with the same inputs)" if b.get("reused") else "")
            + (f"; INCOMPLETE: {b['incomplete']}" if b["incomplete"] else "")
        )
        for mode, m in sorted(data["modes"].items()):
            lines += ["", f"### {name}, {mode}", ""]
            lines.append(
                f"renamed {_pfes(m['counts'])} in {_minutes(m['wall'])}, {m['resumes']} resumed crashes; "
                f"tool {m['tool']['commit']}, {m['date']}"
            )
            if m["incomplete"]:
                lines.append(f"\n**Incomplete run:** {m['incomplete']}")
            lists = (
                ("unexplained", "Unexplained"),
                ("expected", "Expected"),
                ("flaky", "Flaky (not confirmed when run again)"),
            )
            for key, label in lists:
                if m.get(key):
                    lines += ["", f"{label} ({len(m[key])}):", ""]
                    for c in m[key][:LISTED]:
                        why = c.get("reason") or c["message"]
                        lines.append(f"- `{c['id']}`: {c['baseline']} → {c['renamed']}: {_one_line(why)}")
                    if len(m[key]) > LISTED:
                        lines.append(f"- ... and {len(m[key]) - LISTED} more (all in results/{name}.json)")
            if m["stale_expected"]:
                lines += ["", "Expected entries that matched nothing (stale):", ""]
                lines += [f"- `{e['id']}`" for e in m["stale_expected"]]
    return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= 240 else text[:237] + "..."


def diff_results(before: Mapping[str, Mapping[str, Any]], after: Mapping[str, Mapping[str, Any]]) -> str:
    """Per target and mode: the unexplained tests fixed and the ones newly broken between two result sets."""
    lines = []
    for name in sorted(set(before) | set(after)):
        for mode in sorted(set(before.get(name, {}).get("modes", {})) | set(after.get(name, {}).get("modes", {}))):
            old = {c["id"] for c in before.get(name, {}).get("modes", {}).get(mode, {}).get("unexplained", [])}
            new = {c["id"] for c in after.get(name, {}).get("modes", {}).get(mode, {}).get("unexplained", [])}
            lines.append(
                f"{name} {mode}: {len(old)} -> {len(new)} unexplained ({len(old - new)} fixed, {len(new - old)} new)"
            )
            lines += [f"  new: {t}" for t in sorted(new - old)[:LISTED]]
    return "\n".join(lines)


def reapply_expected(data: dict[str, Any], expected: Sequence[Expected]) -> None:
    """Move the stored unexplained tests that ``expected`` now lists to the expected ones (no run)."""
    for mode, m in data["modes"].items():
        mine = [e for e in expected if mode in e.modes]
        keep = []
        for change in m["unexplained"]:
            hit = next((e for e in mine if matches(change["id"], e.id)), None)
            if hit is None:
                keep.append(change)
            else:
                m["expected"].append({**change, "reason": hit.reason})
        m["unexplained"] = keep
        m["ok"] = mode_ok(m) and not data["baseline"]["incomplete"]
