"""black 24: format_str() with its 2024 stable style."""
import black
import black.schema  # compiled; reads its black.schema.json resource

# 2024 style keeps upper-case hex escapes and the parentheses around a case guard.
SOURCE = 'x = "\\xAB"\nmatch x:\n    case 1 if (y):\n        pass\n'


def check():
    return {
        "version": black.__version__,
        "module": black.__name__,
        "mode": black.Mode.__module__,
        "formatted": black.format_str(SOURCE, mode=black.Mode(target_versions={black.TargetVersion.PY311})),
        "schema": sorted(black.schema.get_schema()["properties"])[:2],
    }
