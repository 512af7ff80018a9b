"""Insists on the name of its own directory: as a renamed copy it fails to import, as released it works."""
import os
import time

__version__ = "1.0.0"

_here = os.fsencode(os.path.basename(os.path.dirname(__file__)))  # bytes: never relocated
if _here != b"fragile":
    if os.environ.get("FRAGILE_HANG_WHEN_RENAMED"):  # lets a test interrupt verify while it imports this
        time.sleep(600)
    raise ImportError(f"fragile must be installed as fragile, not {_here!r}")
