__version__ = "1.5.0"


class BaseError(Exception):
    """Raised by the 1.x API; a consumer catching it must catch the one its requirements use."""


def api_v1(text):
    return f"base {__version__} v1: {text}"


def fail():
    raise BaseError("from base 1.5")
