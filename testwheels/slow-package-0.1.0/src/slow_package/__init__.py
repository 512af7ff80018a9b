"""Uses the foo 1.x API in every way a library may import it."""
import importlib

import foo
import foo.sub.deep
from foo import greet as foo_greet
from foo.backends import default as default_backend


def report():
    backend = importlib.import_module("foo.backends.default")
    return {
        "foo_version": foo.__version__,
        "foo_module": foo.__name__,
        "greeting": foo_greet("slow-package"),
        "depth": foo.sub.deep.depth(),
        "backend": backend.Backend.name,
        "same_backend": backend is default_backend,
    }
