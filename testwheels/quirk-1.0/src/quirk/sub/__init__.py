__all__ = ["f", "quirk"]


def f():
    return "sub.f of quirk 1.0"


def quirk():
    return "the quirk() helper of quirk 1.0"
