"""foo 2.x: greet() needs a keyword-only greeting; Thing is new."""
import importlib.metadata
import sys

__version__ = importlib.metadata.version("foo")
API = 2


class Thing:
    pass


def greet(name, *, greeting):
    return f"foo2 says {greeting} to {name}"


def backend():
    module = __import__("foo.backends.default", fromlist=["Backend"])
    assert "foo.backends.default" in sys.modules
    return module.Backend()
