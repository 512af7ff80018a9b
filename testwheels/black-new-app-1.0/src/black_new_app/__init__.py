"""black 25, beside a library that formats with black 24, in one process."""
import json

import black
import black_old_user

# 2025 style: lower-case hex escapes, redundant parentheses around a case guard removed.
SOURCE = 'x = "\\xAB"\nmatch x:\n    case 1 if (y):\n        pass\n'


def check():
    return {
        "app": {
            "version": black.__version__,
            "module": black.__name__,
            "mode": black.Mode.__module__,
            "formatted": black.format_str(SOURCE, mode=black.Mode(target_versions={black.TargetVersion.PY311})),
        },
        "library": black_old_user.check(),
    }


def main():
    print(json.dumps(check(), sort_keys=True))
