"""Verify a wheelhouse: install it offline into a fresh virtual environment and probe isolation.

Checks, each in a fresh interpreter:
1. every top-level module of every output distribution, and all their submodules, imports;
2. every module whose file lives inside a renamed copy is registered (and named) under the
   renamed name;
3. importing a renamed copy or a rewritten consumer never pulls in an unrenamed name that its
   world maps elsewhere.
A submodule that fails to import is fatal unless the same module fails in the original wheels
too (checked in a second environment holding that world's original wheels).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from .build import REPORT_NAME
from .errors import BuildError, ConfigError

__all__ = ["Finding", "VerifyResult", "verify"]

_PROBE = Path(__file__).with_name("_probe.py")

Log = Callable[[str], None]


@dataclass(frozen=True)
class Finding:
    kind: str
    distribution: str
    module: str
    detail: str
    fatal: bool = True


@dataclass(frozen=True)
class VerifyResult:
    findings: tuple[Finding, ...]
    modules_imported: int
    distributions: int

    @property
    def ok(self) -> bool:
        return not any(f.fatal for f in self.findings)


def _clean_env() -> dict[str, str]:
    """The environment for pip and probes: no pip/uv settings and no config file from this machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "PYTHON"))}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(cmd: Sequence[str], what: str) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_clean_env(), check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise BuildError(f"{what} failed: " + " | ".join(tail))
    return proc.stdout


def make_venv(path: Path) -> Path:
    """A fresh virtual environment; returns its interpreter."""
    has_pip = importlib.util.find_spec("pip") is not None
    cmd = [sys.executable, "-m", "venv", str(path)]
    if has_pip:
        cmd.insert(3, "--without-pip")
    _run(cmd, "creating a virtual environment")
    python = path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    return python


def pip_install(python: Path, args: Sequence[str]) -> None:
    """Install with pip, offline: the running pip drives ``python`` if it has one, else the venv's."""
    if importlib.util.find_spec("pip") is not None:
        cmd = [sys.executable, "-m", "pip", "--python", str(python)]
    else:
        cmd = [str(python), "-m", "pip"]
    _run([*cmd, "install", "--no-index", "--no-cache-dir", "--quiet", *args], "pip install")


def _probe(python: Path, spec: Mapping[str, Any], work: Path) -> dict[str, Any]:
    """Run the probe in a fresh interpreter; with ``site_dirs`` in ``spec``, without ``site``
    (so that no .pth hook imports anything first)."""
    spec_file = work / "probe-spec.json"
    spec_file.write_text(json.dumps(spec), encoding="utf-8")
    flags = ["-I", "-S"] if "site_dirs" in spec else ["-I"]
    out = _run([str(python), *flags, str(_PROBE), str(spec_file)], "probe")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def _load_report(wheelhouse: Path) -> dict[str, Any]:
    path = wheelhouse / REPORT_NAME
    if not path.is_file():
        raise ConfigError(f"{wheelhouse}: no {REPORT_NAME}; is this a wheelhouse written by mvpy-vendor build?")
    report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return report


def verify(wheelhouse: Path, log: Log | None = None) -> VerifyResult:
    """Install ``wheelhouse`` offline into a fresh environment and check imports and isolation."""
    report = _load_report(wheelhouse)
    say = log or (lambda message: None)
    outputs: list[dict[str, Any]] = report["outputs"]
    # renamed top-level name -> the original it replaces
    renamed = {
        new: old for o in outputs if o["action"] == "rename" for old, new in o["import_map"].items()
        if new in o["top_level"]
    }  # fmt: skip
    findings: list[Finding] = []
    imported = 0
    with tempfile.TemporaryDirectory(prefix="mvpy-verify-") as tmp:
        work = Path(tmp)
        say("creating a fresh virtual environment")
        python = make_venv(work / "venv")
        say("installing the wheelhouse with pip, offline")
        pip_install(python, ["--find-links", str(wheelhouse), "-r", str(wheelhouse / "requirements.txt")])
        owner = {t: o for o in outputs for t in o["top_level"]}
        say("importing every module of every distribution")
        everything = _probe(python, {"modules": sorted(owner), "renamed": renamed}, work)
        imported = len(everything["imported"])
        findings += [
            Finding("leak", _dist_of(owner, leak["owner"]), leak["key"], leak["what"]) for leak in everything["leaks"]
        ]
        failures: dict[str, str] = everything["failures"]
        for o in outputs:
            forbidden = sorted(old for old, new in o["import_map"].items() if old != new)
            if not forbidden:
                continue
            say(f"checking that {o['distribution']} imports no unrenamed {', '.join(forbidden)}")
            spec = {
                "modules": o["top_level"],
                "renamed": renamed,
                "forbidden": forbidden,
                "site_dirs": everything["site_dirs"],
            }
            alone = _probe(python, spec, work)
            for module in o["top_level"]:
                if module in alone["failures"] and module not in failures:
                    findings.append(Finding("import failed", o["distribution"], module, alone["failures"][module]))
            for key in alone["pulled"]:
                findings.append(
                    Finding("pulls unrenamed", o["distribution"], key, f"importing {o['distribution']} loaded {key}")
                )
        if failures:
            findings += _judge_failures(failures, owner, report, work, say)
    return VerifyResult(tuple(findings), imported, len(outputs))


def _dist_of(owner: Mapping[str, Mapping[str, Any]], module: str) -> str:
    out = owner.get(module.partition(".")[0])
    return str(out["distribution"]) if out is not None else "?"


def _judge_failures(
    failures: Mapping[str, str],
    owner: Mapping[str, Mapping[str, Any]],
    report: Mapping[str, Any],
    work: Path,
    say: Log,
) -> list[Finding]:
    """A failing submodule is fatal unless it fails in that world's original wheels too."""
    inputs = {Path(i["wheel"]).name: (Path(i["wheel"]), i["sha256"]) for i in report["inputs"]}
    findings: list[Finding] = []
    by_world: dict[int, list[tuple[str, str, Mapping[str, Any]]]] = {}
    for module, error in sorted(failures.items()):
        out = owner.get(module.partition(".")[0])
        if out is None:
            findings.append(Finding("import failed", "?", module, error))
            continue
        if "." not in module:
            findings.append(Finding("import failed", out["distribution"], module, error))
            continue
        by_world.setdefault(out["worlds"][0], []).append((module, error, out))
    worlds = report["plan"]["worlds"]
    for world, items in sorted(by_world.items()):
        wheels = _original_wheels(worlds[world]["members"], report, inputs)
        if wheels is None:
            findings += [
                Finding("import failed", o["distribution"], m, e + " (original wheels not available to compare)")
                for m, e, o in items
            ]
            continue
        say(f"checking {len(items)} failing submodule(s) against the original wheels of world {world}")
        python = make_venv(work / f"original-{world}")
        pip_install(python, ["--no-deps", *map(str, wheels)])
        originals = {}
        for module, _, out in items:
            reverse = {new: old for old, new in out["import_map"].items()}
            top, dot, rest = module.partition(".")
            originals[module] = reverse.get(top, top) + dot + rest
        result = _probe(python, {"modules": sorted(set(originals.values()))}, work)
        for module, error, out in items:
            same = originals[module] in result["failures"]
            findings.append(
                Finding(
                    "fails in original too" if same else "import failed",
                    out["distribution"],
                    module,
                    error,
                    fatal=not same,
                )
            )
    return findings


def _original_wheels(
    members: Mapping[str, str], report: Mapping[str, Any], inputs: Mapping[str, tuple[Path, str]]
) -> list[Path] | None:
    sources = {(o["source"]["distribution"].lower(), o["version"]): o["source"]["wheel"] for o in report["outputs"]}
    found = []
    for name, version in members.items():
        wheel = next((w for (n, v), w in sources.items() if v == version and canonicalize_name(n) == name), None)
        if wheel is None or wheel not in inputs or not inputs[wheel][0].is_file():
            return None
        found.append(inputs[wheel][0])
    return found
