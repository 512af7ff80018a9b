"""Downloads with ``pip download``, cached: the old world, the newest world, the sdist, the test dependencies."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename

from .config import Target
from .store import Store, digest

__all__ = ["Downloads", "HarnessError", "dist_of", "download"]


class HarnessError(Exception):
    """A step of the harness failed (not a test): the message names the step and where its log is."""


@dataclass(frozen=True)
class Downloads:
    """What one target needs, every file in the cache."""

    old: tuple[Path, ...]
    new: tuple[Path, ...]
    #: the test dependencies, resolved together with the old world (so the baseline is consistent)
    deps: tuple[Path, ...]
    sdist: Path | None

    def versions(self, which: str) -> dict[str, str]:
        files = {"old": self.old, "new": self.new, "deps": self.deps}[which]
        return dict(sorted(dist_of(p) for p in files))


def dist_of(path: Path) -> tuple[str, str]:
    """(canonical name, version) of a wheel or sdist file."""
    if path.name.endswith(".whl"):
        name, version, _, _ = parse_wheel_filename(path.name)
    else:
        name, version = parse_sdist_filename(path.name)
    return str(canonicalize_name(name)), str(version)


def _pip_download(dest: Path, args: Sequence[str], log: Path) -> None:
    command = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "-d", str(dest), *args]
    with log.open("w", encoding="utf-8") as out:
        out.write(" ".join(command) + "\n")
        out.flush()
        result = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
        raise HarnessError(f"pip download failed ({log}): {' | '.join(tail)}")


def _fetch(store: Store, kind: str, args: Sequence[str], refresh: bool, say: Callable[[str], None]) -> tuple[Path, ...]:
    key = digest(kind, list(args))
    if refresh or not store.done("downloads", key):
        say(f"pip download {' '.join(args)}")
        dest = store.begin("downloads", key)
        _pip_download(dest, args, dest.parent / f"{key}.log")
        store.finish("downloads", key, list(args))
    directory = store.dir("downloads", key)
    return tuple(sorted(p for p in directory.iterdir() if p.name.endswith((".whl", ".tar.gz", ".zip"))))


def download(target: Target, store: Store, refresh: bool, say: Callable[[str], None]) -> Downloads:
    """Every file ``target`` needs; ``refresh`` downloads again (the newest release may have moved)."""
    old = _fetch(store, "old", ["--only-binary", ":all:", *target.old_pip_args, *target.old], False, say)
    new = _fetch(store, "new", ["--only-binary", ":all:", *target.new], refresh, say)
    pins = [f"{name}=={version}" for name, version in (dist_of(p) for p in old)]
    # the dependencies are resolved with the old world pinned: the baseline must install as one set
    deps = _fetch(store, "deps", ["--prefer-binary", *target.deps, *pins], False, say) if target.deps else ()
    deps = tuple(p for p in deps if dist_of(p)[0] not in {dist_of(o)[0] for o in old})
    sdist = None
    if target.sdist:
        # --no-binary for this one name: ":all:" would build the sdist's build requirements from source too
        name = Requirement(target.sdist).name
        files = _fetch(store, "sdist", ["--no-deps", "--no-binary", name, target.sdist], False, say)
        if len(files) != 1:
            raise HarnessError(f"{target.name}: expected one sdist for {target.sdist}, got {[p.name for p in files]}")
        sdist = files[0]
    return Downloads(old, new, deps, sdist)
