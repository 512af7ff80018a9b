import foo.sub


def depth():
    return "deep in foo " + foo.__version__
