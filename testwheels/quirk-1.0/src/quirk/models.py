"""Classes defined here, made at run time, and told where they live."""
VALUE = 7


class Thing:
    def __init__(self, value=1):
        self.value = value


def read_value():
    return VALUE


# A class made at run time, its module given in the namespace (what namedtuple does).
Made = type("Made", (), {"__module__": "quirk.models", "kind": "made"})


def _namespace():
    namespace = {"kind": "built"}
    namespace["__module__"] = "quirk.models"
    return namespace


Built = type("Built", (), _namespace())


class Tagged:
    pass


# Re-exported by quirk/__init__.py, and says so.
setattr(Tagged, "__module__", "quirk")
