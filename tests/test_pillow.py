"""Pillow 9.5 renamed beside the newest Pillow: real wheels from the registry, both in one process.

Pillow's C core (``_imaging``, with libjpeg, libpng, libwebp and freetype in ``Pillow.libs``) and
its plugins, which ``Image.init()`` imports by names it builds (``__import__(f"PIL.{plugin}")``).
A consumer written against the Pillow 9 API (``Image.ANTIALIAS``, ``Image.LINEAR``,
``ImageDraw.textsize``, ``FreeTypeFont``-less ``getsize``: gone in Pillow 10) and an app on the
newest Pillow (``Image.Resampling``, ``textbbox``) draw, filter and encode images in one
process; each must give what its own Pillow gives installed alone: the same image bytes.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mvpy_vendor.cli import main

from .conftest import (
    as_original,
    clean_env,
    download,
    gather,
    install_wheelhouse,
    pick,
    real_wheel_cache,
    run_json,
    venv_with,
)

pytestmark = pytest.mark.slow

PILLOW_OLD, PILLOW_NEW = "9.5.0", "13.0.0"
RENAMED = {"_mv_pil_9_5_0": "PIL"}


@pytest.fixture(scope="module")
def pillow_wheels() -> Path:
    cache = real_wheel_cache() / "pillow"
    for version in (PILLOW_OLD, PILLOW_NEW):
        if not [p for p in cache.glob("*.whl") if p.name.lower().startswith(f"pillow-{version}-")]:
            download(cache, "--no-deps", f"pillow=={version}")
    return cache


@pytest.fixture(scope="module")
def pillow_venv(pillow_wheels: Path, wheels: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Pillow 9.5 renamed beside the newest, with the two consumers: built with ``--verify`` (which
    must pass) once for the module, installed by pip: its Python."""
    tmp = tmp_path_factory.mktemp("pillow")
    inputs = gather(tmp / "in", [*pillow_wheels.glob("*.whl"), *pick(wheels, "pillow_old_user", "pillow_new_app")])
    out = tmp / "out"
    assert main(["build", "-q", "--verify", "--wheels", str(inputs), "--out", str(out)]) == 0
    return install_wheelhouse(out, tmp / "venv")


def test_pillow_9_5_and_the_newest_in_one_process(
    pillow_venv: Path, pillow_wheels: Path, wheels: Path, tmp_path: Path
) -> None:
    both = run_json(pillow_venv, "import pillow_new_app; pillow_new_app.main()")
    app, library = both["app"], both["library"]
    assert (app["version"], app["module"], app["core"]) == (PILLOW_NEW, "PIL.Image", "PIL._imaging")
    assert (library["version"], library["module"], library["core"]) == (
        PILLOW_OLD, "_mv_pil_9_5_0.Image", "_mv_pil_9_5_0._imaging",
    )  # fmt: skip
    assert library["pickled"] == ["_mv_pil_9_5_0.Image", True]
    # Pillow 9.5's deprecations, in its words; every plugin found by the names Image.init() builds
    assert len(library["warnings"]) == 4 and all("Pillow 10" in w for w in library["warnings"])
    assert len(library["formats"]) > 60

    # The oracles: each Pillow installed alone, running the same code.
    old = venv_with(tmp_path / "old", [pillow_wheels, wheels], f"pillow=={PILLOW_OLD}", "pillow-old-user")
    alone = run_json(old, "import json, pillow_old_user; print(json.dumps(pillow_old_user.check()))")
    assert as_original(library, RENAMED) == alone
    new = venv_with(tmp_path / "new", [pillow_wheels, wheels], f"pillow=={PILLOW_NEW}", no_deps=["pillow-new-app"])
    assert app == run_json(new, "import json, pillow_new_app; print(json.dumps(pillow_new_app.own()))")


def test_renamed_pillow_imports_without_a_warning(pillow_venv: Path) -> None:
    code = "import _mv_pil_9_5_0.Image, _mv_pil_9_5_0.ImageFont, _mv_pil_9_5_0._imaging, _mv_pil_9_5_0._webp"
    proc = subprocess.run(
        [str(pillow_venv), "-W", "error", "-c", code], capture_output=True, text=True, env=clean_env(), check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
