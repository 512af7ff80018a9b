"""mock.patch with a dotted target."""
from unittest import mock

from quirk import models


def patched_value():
    with mock.patch("quirk.models.VALUE", 42):
        inside = models.read_value()
    return {"inside": inside, "after": models.read_value()}
