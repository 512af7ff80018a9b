"""Plugins imported by a name that arrives as a parameter, and from a tuple of names."""
import importlib


def load_plugin(name):
    return importlib.import_module(name)


def preload(*names):
    return [importlib.import_module(name).PLUGIN_ID for name in names]


def load_all():
    found = []
    for name in ("quirk.plugins.alpha", "quirk.plugins.beta"):
        found.append(importlib.import_module(name))
    return found
