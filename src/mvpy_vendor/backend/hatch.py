"""The hatch build hook: ``[tool.hatch.build.hooks.mvpy-vendor]``, for projects that keep hatchling.

```toml
[build-system]
requires = ["hatchling", "mvpy-vendor"]
build-backend = "hatchling.build"

[tool.hatch.build.hooks.mvpy-vendor]
embed = ["foo<2"]
```

The same engine as :mod:`mvpy_vendor.backend`: after hatchling writes the wheel, the hook
replaces it with the wheel that embeds the renamed copies (same name: a copy with compiled
modules makes the hook set the wheel's tag before the build). Editable wheels are refused, for
the reason the backend gives.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface
from hatchling.plugin import hookimpl

from mvpy_vendor.errors import ConfigError
from mvpy_vendor.outdir import publish_file
from mvpy_vendor.wheel.validate import read_wheels

from .config import EmbedConfig, load_config
from .embed import embed_into, embedded_wheels

__all__ = ["MvpyVendorBuildHook", "hatch_register_build_hook"]


class MvpyVendorBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "mvpy-vendor"

    def _embed_config(self) -> EmbedConfig:
        return load_config(Path(self.root), hatch_table=dict(self.config))

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        config = self._embed_config()
        if version == "editable" and config.embed:
            raise ConfigError(
                f"{config.root / 'pyproject.toml'}: an editable install cannot embed {', '.join(config.embed)}: the "
                "source tree imports them by their plain names, and an editable install would import whatever is "
                "installed under those names instead of the renamed copy. Install it normally (pip install .)",
                setting="embed",
            )
        with tempfile.TemporaryDirectory(prefix="mvpy-hatch-") as tmp:
            wheels = embedded_wheels(config, Path(tmp))
            specific = sorted(
                {str(t) for w in read_wheels(wheels) for t in w.tags if t.platform != "any" or t.abi != "none"}
            )
        if specific:
            if len(specific) > 1:
                raise ConfigError(
                    f"the embedded compiled copies have several wheel tags ({', '.join(specific)}); "
                    "the hook can give the wheel only one",
                    setting="embed",
                )
            build_data["tag"] = specific[0]
            build_data["pure_python"] = False

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        config = self._embed_config()
        built = Path(artifact_path)
        with tempfile.TemporaryDirectory(prefix="mvpy-hatch-") as tmp:
            work = Path(tmp)
            wheels = embedded_wheels(config, work)
            (work / "out").mkdir()
            out = embed_into(built, config, wheels, work / "out")
            if out.name != built.name:
                raise ConfigError(f"{built.name}: the embedding wheel would be {out.name}", setting="embed")
            publish_file(out, built)  # replaces hatchling's wheel whole or not at all


@hookimpl
def hatch_register_build_hook() -> type[MvpyVendorBuildHook]:
    return MvpyVendorBuildHook
