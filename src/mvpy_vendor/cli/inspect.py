"""``mvpy-vendor inspect``: the compiled modules of a wheel and what renaming it needs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mvpy_vendor.errors import ConfigError

from .console import Console, table

__all__ = ["run"]


def run(args: argparse.Namespace, console: Console) -> int:
    from mvpy_vendor.native.wheel import inspect_wheel

    wheel = Path(args.wheel)
    if not wheel.exists():
        raise ConfigError(f"{wheel}: no such file")
    if not wheel.is_file():
        raise ConfigError(f"{wheel}: not a wheel file (a directory?)")
    modules = inspect_wheel(wheel)
    if args.json:
        console.out.write(json.dumps([m.to_json() for m in modules], indent=2) + "\n")
        return 0
    if not modules:
        console.info(f"{Path(args.wheel).name}: no compiled modules")
        return 0
    rows = [["module", "format", "arch", "init", "string", "reference", "patchable"]]
    for m in modules:
        head = [m.member, m.format, m.arch, f"{m.init_kind} ({', '.join(m.init_symbols) or 'no PyInit_'})"]
        for problem in m.problems:
            rows.append([*head, "-", problem, "no"])
            head = ["", "", "", ""]
        for o in m.occurrences:
            verdict = "yes" if o.patchable else "no (not blocking)" if not o.blocks else "no"
            rows.append([*head, o.text, f"{o.kind} x{o.references}", verdict])
            head = ["", "", "", ""]
        if not m.problems and not m.occurrences:
            rows.append([*head, "-", "-", "yes"])
    console.info(table(rows))
    return 0
