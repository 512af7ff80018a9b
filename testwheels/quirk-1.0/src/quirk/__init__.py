"""quirk 1.0: a library that names itself in strings, as data and as module names.

Each module holds one way a package uses its own name in a string; quirk-user calls them, and
tests/test_fidelity.py compares what they return in this original with what they return in a
renamed copy installed beside quirk 2.0.
"""
__version__ = "1.0"
__all__ = ["BANNER", "Tagged", "Widget", "api_version", "shout"]

# Text: the library's name shown to people, not a module reference.
BANNER = "quirk"


def api_version():
    return 1


def shout(text):
    return text.upper() + "!"


# Objects that say they live here although they are defined elsewhere (numpy's set_module).
from quirk._widgets import Widget  # noqa: E402
from quirk.models import Tagged  # noqa: E402
