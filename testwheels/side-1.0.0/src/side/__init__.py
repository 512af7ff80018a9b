import base


def describe(text):
    return base.api_v1(text)
