class QuirkError(ValueError):
    """An option quirk does not know."""
