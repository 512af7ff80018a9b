"""``mvpy-vendor check``: what the rewriter cannot fix, as ``path:line:col: CODE message``; exit 1 when found."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .console import Console

__all__ = ["add_options", "run"]

FORMATS = ("text", "json", "github")


def add_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="files or directories (default: the project's sources and configuration); a pyproject.toml "
        "or pylock.mvpy-vendor.toml among them checks that project's configuration",
    )
    p.add_argument(
        "--project",
        metavar="DIR",
        help="the directory of pyproject.toml for every PATH (default: the nearest above each; without PATH: .)",
    )
    p.add_argument(
        "--select",
        action="append",
        default=[],
        metavar="CODE",
        help="report only these codes (or prefixes: 'dynamic'); comma-separated or repeated",
    )
    p.add_argument(
        "--ignore", action="append", default=[], metavar="CODE", help="do not report these codes (or prefixes)"
    )
    p.add_argument(
        "--output-format", choices=FORMATS, default="text", help="text (default), json, or github (annotations)"
    )


def _split(values: list[str]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def _github(text: str, *, value: bool = False) -> str:
    """Escaped for a workflow command: its message, or (``value``) a property value."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if value else text


def run(args: argparse.Namespace, console: Console) -> int:
    from mvpy_vendor.check import run_check, selected_codes

    codes = selected_codes(_split(args.select), _split(args.ignore))
    project = Path(args.project) if args.project else None
    result = run_check([Path(p) for p in args.paths], project, codes)
    for name, why in result.renamed:
        console.detail(f"renamed: {name} ({why})")
    if args.output_format == "json":
        print(json.dumps([f.to_json() for f in result.findings], indent=2), file=console.out)
    elif args.output_format == "github":
        for f in result.findings:
            where = f"file={_github(f.path, value=True)},line={f.line},col={f.column}"
            title = _github(f"mvpy-vendor {f.code.value}", value=True)
            print(f"::error {where},title={title}::{_github(f.message)}", file=console.out)
    else:
        for f in result.findings:
            print(f"{f.path}:{f.line}:{f.column}: {f.code.value} {f.message}", file=console.out)
        files = f"{result.files} file{'s' * (result.files != 1)} checked"
        n = len(result.findings)
        console.info(f"found {n} problem{'s' * (n != 1)} ({files})" if n else f"no problems ({files})")
    return 1 if result.findings else 0
