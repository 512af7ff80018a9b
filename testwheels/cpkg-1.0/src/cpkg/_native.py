"""Pure-Python twin of the compiled cpkg._native (what Cython's pure-Python mode ships)."""
import importlib


def helper_version():
    return importlib.import_module("cpkg.helper").VERSION


def built_for():
    return "source"
