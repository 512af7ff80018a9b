import base
import undeclared_user


def report():
    return {"version": base.__version__, "app": base.api_v2("app", loud=True), "user": undeclared_user.report()}
