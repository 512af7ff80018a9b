"""Data files found by package name."""
import importlib.resources
import pkgutil


def read():
    return {
        "files": importlib.resources.files("quirk.data").joinpath("info.txt").read_text(),
        "get_data": pkgutil.get_data("quirk", "data/info.txt").decode(),
    }
