"""The public home of Gadget (its ``__module__`` says so)."""
from quirk._widgets import Gadget

__all__ = ["Gadget"]
