import base
import mid
import side


def report():
    return {"version": base.__version__, "mid": mid.describe("torn"), "side": side.describe("torn")}
