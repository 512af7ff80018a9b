import warnings


def user_warning():
    warnings.warn("careful", UserWarning)


def future_warning():
    warnings.warn("quirk 2 will change this", FutureWarning)


def deprecation():
    warnings.warn("old api", DeprecationWarning)
