import importlib


def load_plugin(name, *, strict):
    return importlib.import_module(name)
