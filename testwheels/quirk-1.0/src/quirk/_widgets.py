"""numpy's ``set_module``: public objects name the module that re-exports them."""
import json


def set_module(module):
    def decorate(obj):
        if module is not None:
            obj.__module__ = module
        return obj

    return decorate


@set_module("quirk")
class Widget:
    def __init__(self, size=3):
        self.size = size


@set_module("quirk")
def make_widget(size):
    return Widget(size)


# Where public objects live, as a document says: the module name reaches set_module as data.
_PUBLIC = json.loads('{"Gadget": "quirk.api"}')


@set_module(_PUBLIC["Gadget"])
class Gadget:
    def __init__(self, parts=2):
        self.parts = parts
