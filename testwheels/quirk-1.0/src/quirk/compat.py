"""Loading old pickles: a registry of moved classes, dotted paths kept as data (pandas' pickle_compat)."""
import io
import pickle

from quirk.models import Thing

# Where classes moved between releases: the paths that old pickles hold.
_MOVED = {("quirk.legacy", "Thing"): ("quirk.models", "Thing")}

# A pickle written by quirk 0.9, when Thing lived in quirk.legacy.
LEGACY_PICKLE = b"cquirk.legacy\nThing\n(tR."


class Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        module, name = _MOVED.get((module, name), (module, name))
        return super().find_class(module, name)


def load(data):
    return Unpickler(io.BytesIO(data)).load()


def registry():
    return [[*old, *new] for old, new in sorted(_MOVED.items())]


def roundtrip(obj):
    return pickle.loads(pickle.dumps(obj))

