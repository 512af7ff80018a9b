__version__ = "2.0.0"


class BaseError(Exception):
    pass


def api_v2(text, *, loud=False):
    out = f"base {__version__} v2: {text}"
    return out.upper() if loud else out
