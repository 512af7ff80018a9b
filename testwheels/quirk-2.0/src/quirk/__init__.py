"""quirk 2.0: the same module names as quirk 1.0, another API and other values, so that a
renamed quirk 1.0 that reaches this one by mistake shows it."""
__version__ = "2.0"
__all__ = ["BANNER", "api_version", "whisper"]

BANNER = "quirk 2"


def api_version():
    return 2


def whisper(text):
    return text.lower() + "..."
