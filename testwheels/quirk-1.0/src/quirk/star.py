"""A star import: binds what quirk.sub's ``__all__`` names."""
from quirk.sub import *  # noqa: F403

NAMES = sorted(name for name in dir() if not name.startswith("_"))
