"""Looking modules up in sys.modules, by literal and by a name that arrives as a parameter."""
import sys

import quirk.sub
from quirk import models


def loaded():
    return {
        "api": sys.modules["quirk"].api_version(),
        "has_sub": "quirk.sub" in sys.modules,
        "own_models": sys.modules.get("quirk.models") is models,
        "sub_f": sys.modules["quirk.sub"].f() == quirk.sub.f(),
    }


def lookup(name):
    return sys.modules[name]
