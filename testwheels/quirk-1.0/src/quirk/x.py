import logging

log = logging.getLogger(__name__)


def emit(message):
    log.warning(message)
