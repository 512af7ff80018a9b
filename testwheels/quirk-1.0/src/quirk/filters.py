"""Warning filters: one by module (a module-name pattern), one by message (text)."""
import warnings

from quirk import noisy


def filtered():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=UserWarning, module="quirk.noisy")
        warnings.filterwarnings("ignore", message="quirk")
        noisy.user_warning()
        noisy.future_warning()
        noisy.deprecation()
    return [[w.category.__name__, str(w.message)] for w in caught]
