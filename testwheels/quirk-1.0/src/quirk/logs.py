"""The package logger, named by a literal, and a module logger named by ``__name__``."""
import logging

from quirk import x


class _Keep(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)


def logger_names():
    package = logging.getLogger("quirk")
    keep = _Keep()
    package.addHandler(keep)
    try:
        x.emit("hello from x")
    finally:
        package.removeHandler(keep)
    return {
        "name": logging.getLogger("quirk.x").name,
        "same_logger": logging.getLogger("quirk.x") is x.log,
        "record_names": [record.name for record in keep.records],
        "messages": [record.getMessage() for record in keep.records],
    }
