"""Imports base without declaring it: it gets the base that mid pins, as an installer would give it."""
import base
import mid
from base import BaseError


def report():
    try:
        mid.fail()
    except BaseError as exc:  # base's error, as mid raises it: the same base
        caught = str(exc)
    return {"version": base.__version__, "direct": base.api_v1("user"), "mid": mid.describe("user"), "caught": caught}
