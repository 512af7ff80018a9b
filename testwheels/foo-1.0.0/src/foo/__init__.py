"""foo 1.x: greet() takes a name and nothing else."""
import importlib
from importlib.metadata import version

__version__ = version("foo")
API = 1


def greet(name):
    return "foo1 says hello to " + name


def backend():
    # String-based import: must follow the package wherever it is installed.
    module = importlib.import_module("foo.backends.default")
    return module.Backend()
