__all__ = ["f"]


def f():
    return "sub.f of quirk 2.0"
