"""Entry points: a "module:attr" value in the metadata and in a table, resolved."""
import importlib.metadata
import pkgutil

HOOKS = {"default": "quirk.cli:main"}


def entry_point():
    dist = importlib.metadata.distribution("quirk")
    (ep,) = [ep for ep in dist.entry_points if ep.group == "quirk.commands" and ep.name == "main"]
    return {
        "version": importlib.metadata.version("quirk"),
        "value": ep.value,
        "loaded": ep.load()(),
        "hook": pkgutil.resolve_name(HOOKS["default"])(),
        "direct": pkgutil.resolve_name("quirk.cli:main")(),
    }
