"""The routine (``call``) calls a Python callable back, f2py-style; ``bump`` keeps per-thread state."""

from ._native import call, version
from ._state import bump

__all__ = ["bump", "call", "version"]
