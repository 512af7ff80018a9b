"""The renamed copy, built by the mvpy-vendor being measured, beside the newest release."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .fetch import Downloads, HarnessError, dist_of
from .store import Store, digest, files_key
from .tool import Tool

__all__ = ["Wheelhouse", "build_wheelhouse"]


@dataclass(frozen=True)
class Wheelhouse:
    """A built wheelhouse and what its report says about the consumer's (the old) world."""

    path: Path
    #: the wheel files of the consumer's world, the consumer itself left out
    old_world: tuple[Path, ...]
    #: original top-level import name -> renamed, in the consumer's world
    renames: dict[str, str]
    #: original distribution names of the renamed copies
    renamed_dists: tuple[str, ...]
    consumer: Path


def _read_report(path: Path, consumer: str) -> tuple[tuple[Path, ...], dict[str, str], tuple[str, ...], Path]:
    data = json.loads((path / "mvpy-vendor-report.json").read_text(encoding="utf-8"))
    outputs = data["outputs"]
    mine = [o for o in outputs if o["distribution"] == consumer]
    if len(mine) != 1:
        raise HarnessError(f"{path}: the report has {len(mine)} outputs for {consumer}")
    worlds = set(mine[0]["worlds"])
    renames = {k: v for k, v in mine[0]["import_map"].items() if k != v}
    world = [o for o in outputs if set(o["worlds"]) & worlds and o["distribution"] != consumer]
    renamed = tuple(sorted(o["source"]["distribution"] for o in world if o["action"] == "rename"))
    return tuple(path / o["wheel"] for o in world), renames, renamed, path / mine[0]["wheel"]


def build_wheelhouse(
    tool: Tool, downloads: Downloads, consumer: Path, store: Store, say: Callable[[str], None]
) -> Wheelhouse:
    """``mvpy-vendor build`` of the old world (rooted at the consumer) beside the newest world."""
    consumer_dist = dist_of(consumer)[0]
    new_versions = dict(dist_of(p) for p in downloads.new)
    old_versions = dict(dist_of(p) for p in downloads.old)
    inputs = {p.name: p for p in (*downloads.old, *downloads.new, consumer)}
    args = ["--require", consumer_dist]
    args += [a for name, version in new_versions.items() for a in ("--require", f"{name}=={version}")]
    # whatever both worlds have at different versions keeps its name in the newest world
    args += [
        a
        for name, version in new_versions.items()
        if old_versions.get(name, version) != version
        for a in ("--primary", f"{name}=={version}")
    ]
    key = digest("wheelhouse", tool.fingerprint, files_key(inputs.values()), args)
    if not store.done("wheelhouses", key):
        root = store.begin("wheelhouses", key)
        wheels = root / "inputs"
        wheels.mkdir()
        for name, path in inputs.items():
            try:
                os.link(path, wheels / name)
            except OSError:
                shutil.copyfile(path, wheels / name)
        out = root / "wheelhouse"
        command = tool.command(
            "build", "--wheels", str(wheels), "--out", str(out), *args, "--cache-dir", str(store.root / "mvpy-vendor")
        )
        say("mvpy-vendor " + " ".join(command[3:]))
        log = root / "build.log"
        with log.open("w", encoding="utf-8") as f:
            f.write(" ".join(command) + "\n")
            f.flush()
            result = subprocess.run(command, stdout=f, stderr=subprocess.STDOUT, env=tool.environ())
        if result.returncode != 0:
            tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
            raise HarnessError(f"mvpy-vendor build failed with {result.returncode} ({log}): {' | '.join(tail)}")
        store.finish("wheelhouses", key, {"args": args, "tool": tool.commit})
    path = store.dir("wheelhouses", key) / "wheelhouse"
    old_world, renames, renamed, consumer_out = _read_report(path, consumer_dist)
    if not renames:
        raise HarnessError(f"{path}: nothing was renamed in the consumer's world; is the old world the newest?")
    return Wheelhouse(path, old_world, renames, renamed, consumer_out)
