import fcb


def call(fn, n, x):
    return fcb.call(fn, n, x)


def bump():
    return fcb.bump()


def version():
    return [fcb.__name__, fcb.version()]
