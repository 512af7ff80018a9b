"""``mvpy-vendor inspect``: the compiled modules of a wheel and what renaming it needs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from mvpy_vendor.errors import ConfigError
from mvpy_vendor.native.registry import THREAD_DICT, RegistryUse

from .console import Console, table

__all__ = ["run"]


def run(args: argparse.Namespace, console: Console) -> int:
    from mvpy_vendor.native.wheel import inspect_wheel, thread_state, verdicts

    wheel = Path(args.wheel)
    if not wheel.exists():
        raise ConfigError(f"{wheel}: no such file")
    if not wheel.is_file():
        raise ConfigError(f"{wheel}: not a wheel file (a directory?)")
    modules = inspect_wheel(wheel)
    fates = verdicts(wheel, modules)
    state = thread_state(wheel)
    if args.json:
        found = [
            {**m.to_json(), "verdict": v.verdict, "why": v.why, "thread_state_dict": _json(state.get(m.member))}
            for m, v in zip(modules, fates)
        ]
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
    if state:
        console.info("")
        console.info(f"thread-state dict ({THREAD_DICT}): the keys each module keeps there")
        for member, use in sorted(state.items()):
            console.info(f"  {member}: {_describe(use)}")
    return 0


def _json(use: RegistryUse | None) -> dict[str, Any] | None:
    return use.to_json() if use is not None else None


def _describe(use: RegistryUse) -> str:
    """One line: the keys, where they were read from, and what was not read."""
    if not use.calls:
        return f"never used: only by functions nothing calls ({', '.join(use.unreachable)})"
    keys = ", ".join(f"{k.text!r} ({k.how})" for k in use.keys) or "no key read"
    if use.unread:
        more = f" (and {len(use.unread) - 1} more)" if len(use.unread) > 1 else ""
        return f"{keys}; not all read: {use.unread[0]}{more}"
    return keys
