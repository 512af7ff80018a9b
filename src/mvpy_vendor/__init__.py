"""mvpy-vendor: install and import two incompatible versions of one library in one process."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
