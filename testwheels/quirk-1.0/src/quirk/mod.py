"""Comparisons with expressions that are module names."""
IS_MOD = __name__ == "quirk.mod"


def checks():
    return {
        "eq": __name__ == "quirk.mod",
        "ne": __name__ != "quirk.other",
        "spec": __spec__.name == "quirk.mod",
        "top": __name__.split(".")[0] == "quirk",
        "prefix": __name__.startswith("quirk."),
        "at_import": IS_MOD,
    }


def owns(obj):
    return type(obj).__module__.startswith("quirk")


def owns_top(obj):
    return type(obj).__module__.split(".")[0] == "quirk"
