"""``mvpy-vendor inspect``: the compiled modules of a wheel and what renaming it needs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mvpy_vendor.errors import ConfigError

from .console import Console, table

__all__ = ["run"]


def run(args: argparse.Namespace, console: Console) -> int:
    from mvpy_vendor.native.wheel import inspect_wheel, verdicts

    wheel = Path(args.wheel)
    if not wheel.exists():
        raise ConfigError(f"{wheel}: no such file")
    if not wheel.is_file():
        raise ConfigError(f"{wheel}: not a wheel file (a directory?)")
    modules = inspect_wheel(wheel)
    fates = verdicts(wheel, modules)
    if args.json:
        found = [{**m.to_json(), "verdict": v.verdict, "why": v.why} for m, v in zip(modules, fates)]
        console.out.write(json.dumps(found, indent=2) + "\n")
        return 0
    if not modules:
        console.info(f"{wheel.name}: no compiled modules: renaming it needs no patching")
        return 0
    for v in fates:
        console.info(f"{v.member}: {v.verdict}: {v.why}")
    worst = next((w for w in ("refused", "source fallback") if any(v.verdict == w for v in fates)), "patchable")
    summary = {
        "patchable": "every compiled module can be patched",
        "source fallback": "renamable; some compiled modules are replaced by pure Python (slower)",
        "refused": "a renamed copy of it cannot be built (with --native patch): see the refused modules",
    }
    console.info(f"{wheel.name}: {worst}: {summary[worst]}")
    console.info("")
    rows = [["module", "format", "arch", "init", "string", "reference", "patchable", "used as"]]
    for m in modules:
        head = [m.member, m.format, m.arch, f"{m.init_kind} ({', '.join(m.init_symbols) or 'no PyInit_'})"]
        for problem in m.problems:
            rows.append([*head, "-", problem, "no", ""])
            head = ["", "", "", ""]
        for o in m.occurrences:
            verdict = "yes" if o.patchable else "no (not blocking)" if not o.blocks else "no"
            rows.append([*head, o.text, f"{o.kind} x{o.references}", verdict, o.detail])
            head = ["", "", "", ""]
        if not m.problems and not m.occurrences:
            rows.append([*head, "-", "-", "yes", ""])
    console.info(table(rows))
    return 0
