"""``mvpy-vendor lock``, and what every project-mode command shares: its options and reading the project."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mvpy_vendor.errors import ConfigError
from mvpy_vendor.planning.target import PLATFORMS

from .console import Console

if TYPE_CHECKING:
    from mvpy_vendor.project.config import ProjectConfig

__all__ = ["add_project_options", "load_config", "run"]

#: the options that only project mode reads
PROJECT_ONLY = ("isolate", "resolver", "extra", "group", "index-url", "extra-index-url", "find-links", "no-index")


def add_project_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("project mode (each is also a key of [tool.mvpy-vendor] in pyproject.toml)")
    g.add_argument("--project", metavar="DIR", default=".", help="the directory of pyproject.toml (default: .)")
    g.add_argument("--isolate", action="append", metavar="REQ", help="resolve REQ in a world of its own")
    g.add_argument("--resolver", choices=("uv", "pip"), help="default: uv if it is available, else pip")
    g.add_argument("--extra", action="append", metavar="NAME", help="an extra of the project for the main world")
    g.add_argument("--group", action="append", metavar="NAME", help="a dependency group for the main world")
    g.add_argument("--python-version", metavar="X.Y", help="the target Python (default: the running one)")
    g.add_argument(
        "--platform",
        metavar="PLATFORM",
        help="the target platform, as uv names it: " + ", ".join(n for n in PLATFORMS if "manylinux" not in n),
    )
    g.add_argument("--index-url", metavar="URL", help="the index the resolvers use (default: their configuration)")
    g.add_argument("--extra-index-url", action="append", metavar="URL", help="another index")
    g.add_argument("--find-links", action="append", metavar="PATH", help="a directory or page of files to use")
    g.add_argument("--no-index", action="store_true", help="only --find-links, no index")


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    from mvpy_vendor.project.config import KEYS

    given = {}
    for key in KEYS:
        value = getattr(args, key.replace("-", "_"), None)
        if value is not None and value is not False and value != []:
            given[key] = value
    return given


def load_config(args: argparse.Namespace) -> ProjectConfig:
    """The project's configuration, with what the command line says on top."""
    from mvpy_vendor.project.config import load_project

    return load_project(Path(args.project), _overrides(args))


def reject_project_options(args: argparse.Namespace) -> None:
    """``--wheels`` mode: the options that only project mode reads are a usage error."""
    for key in PROJECT_ONLY:
        value = getattr(args, key.replace("-", "_"), None)
        if value is not None and value is not False:
            raise ConfigError("is read only in project mode (without --wheels)", setting=key)
    for key in ("locked", "frozen", "offline"):
        if getattr(args, key, False):
            raise ConfigError("needs project mode (without --wheels): it is about pyproject.toml's lock", setting=key)


def run(args: argparse.Namespace, console: Console) -> int:
    from mvpy_vendor.project.gather import lock_project, write_lock

    if getattr(args, "embed", False):
        return _lock_embeds(args, console)
    config = load_config(args)
    lock = lock_project(config, console)
    written = write_lock(config, lock)
    sizes = ", ".join(f"{w.world.name}: {len(w.artifacts)}" for w in lock.worlds)
    state = "wrote" if written else "unchanged:"
    console.info(
        f"{state} {config.lock_path} ({len(lock.worlds)} worlds resolved with {lock.resolver}; packages {sizes})"
    )
    return 0


def _lock_embeds(args: argparse.Namespace, console: Console) -> int:
    """``lock --embed``: resolve what [tool.mvpy-vendor.backend] embeds into the lock's world ``embed``."""
    from mvpy_vendor.backend.config import load_config as load_backend
    from mvpy_vendor.backend.embed import lock_embeds

    settings = {f"mvpy-vendor.{k}": v for k, v in _overrides(args).items() if k in _EMBED_KEYS}
    config = load_backend(Path(args.project), settings)
    path, written = lock_embeds(config)
    console.info(f"{'wrote' if written else 'unchanged:'} {path} (world embed: {', '.join(config.embed)})")
    return 0


#: the lock options that also mean something to ``lock --embed``
_EMBED_KEYS = ("resolver", "index-url", "extra-index-url", "find-links", "no-index")
