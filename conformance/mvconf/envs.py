"""Virtual environments for the runs, made with uv from local files only, cached by what goes in."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .fetch import HarnessError
from .store import Store, digest, file_sha256, files_key

__all__ = ["Venv", "make_venv", "uv_binary"]

_INJECT = Path(__file__).parent / "inject"


@dataclass(frozen=True)
class Venv:
    path: Path
    python: Path
    site: Path


def uv_binary() -> str:
    found = shutil.which("uv")
    if found:
        return found
    try:
        import uv

        return str(uv.find_uv_bin())
    except (ImportError, FileNotFoundError):
        raise HarnessError("uv is needed to make the test environments: pip install uv") from None


def _run(command: Sequence[str], log: Path) -> None:
    with log.open("a", encoding="utf-8") as out:
        out.write("$ " + " ".join(command) + "\n")
        out.flush()
        result = subprocess.run(list(command), stdout=out, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-4:]
        raise HarnessError(f"{command[0]} {command[1]} failed ({log}): {' | '.join(tail)}")


def make_venv(
    store: Store,
    label: str,
    wheels: Sequence[Path],
    requirements: Sequence[str],
    say: Callable[[str], None],
    *,
    remove: Sequence[str] = (),
    alias: bool = False,
) -> Venv:
    """A venv with ``requirements`` installed from ``wheels`` alone, the harness's plugin in it.

    ``remove``: distributions uninstalled afterwards (an as-written environment must not have the
    original of a renamed copy, which a test dependency may have pulled in); ``alias``: install
    the as-written import hook (``mvconf_alias.pth``).
    """
    # only what goes into this environment: a change to the alias hook leaves the other environments as they are
    inject = [_INJECT / "mvconf_plugin.py", *([_INJECT / "mvconf_alias.py"] if alias else [])]
    key = digest(
        "venv",
        label,
        files_key(wheels),
        list(requirements),
        list(remove),
        alias,
        [(p.name, file_sha256(p)) for p in inject],
        sys.version,
    )
    path = store.dir("venvs", key)
    python = path / "bin" / "python"
    if not store.done("venvs", key):
        say(f"making the {label} environment ({len(requirements)} requirements)")
        path = store.begin("venvs", key)
        log = path / "make.log"
        links = path / "links"
        links.mkdir()
        for wheel in wheels:
            if not (links / wheel.name).exists():
                try:
                    os.link(wheel, links / wheel.name)
                except OSError:
                    shutil.copyfile(wheel, links / wheel.name)
        uv = uv_binary()
        base = getattr(sys, "_base_executable", sys.executable)
        _run([uv, "venv", "--python", base, str(path / "env")], log)
        python = path / "env" / "bin" / "python"
        install = [uv, "pip", "install", "--python", str(python), "--no-index", "--find-links", str(links)]
        # copies, not links into uv's cache: a suite may write into the files it tests
        _run([*install, "--link-mode", "copy", *requirements], log)
        if remove:
            _run([uv, "pip", "uninstall", "--python", str(python), *remove], log)
        site = Path(
            subprocess.run(
                [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        )
        shutil.copyfile(_INJECT / "mvconf_plugin.py", site / "mvconf_plugin.py")
        if alias:
            shutil.copyfile(_INJECT / "mvconf_alias.py", site / "mvconf_alias.py")
            (site / "mvconf_alias.pth").write_text("import mvconf_alias\n", encoding="utf-8")
        freeze = subprocess.run(
            [uv, "pip", "freeze", "--python", str(python)], capture_output=True, text=True, check=True
        ).stdout
        store.finish("venvs", key, {"label": label, "site": str(site), "freeze": freeze.splitlines()})
    info = store.info("venvs", key)
    assert isinstance(info, dict)
    return Venv(path / "env", path / "env" / "bin" / "python", Path(info["site"]))
