"""Options whose value is the library's own name: data, compared and looked up."""
import json

from quirk.errors import QuirkError

FORMATS = {"quirk": "quirk's own format", "json": "JSON"}


def load(fmt="quirk"):
    if fmt == "quirk":
        return "read natively"
    if fmt == "json":
        return "read as JSON"
    raise QuirkError(f"unknown format {fmt!r} (expected one of: {', '.join(FORMATS)})")


def load_configured(document):
    """The library reading its own configuration: the option arrives as data."""
    return load(**json.loads(document))


def describe(fmt):
    return FORMATS[fmt]


def versions():
    """A report keyed by library name (requests.help.info(), pandas' show_versions)."""
    return {"quirk": "1.0", "json": json.__name__}


def _engine(quirk=False, strict=False):
    return {"quirk": quirk, "strict": strict}


def engine():
    """Keyword arguments built as a dict (pandas' read_json passes ``{"numpy": ...}``)."""
    kwargs = {"quirk": True, "strict": False}
    return _engine(**kwargs)
