"""Code held in strings: exec'd star imports, an option table of code (sympy's lambdify), eval."""
import quirk.sub
from quirk.errors import QuirkError

# Which statements make the namespace of each ``modules`` option.
NAMESPACES = {
    "quirk": ("from quirk.sub import *",),
    "math": ("from math import *",),
}


def exec_star():
    namespace = {}
    exec("from quirk import *", namespace)
    return {
        "names": sorted(name for name in namespace if not name.startswith("_")),
        "api": namespace["api_version"](),
    }


def evaluate(expr, modules="quirk"):
    if modules not in NAMESPACES:
        raise QuirkError(f"{modules!r} module cannot be used for evaluation")
    namespace = {}
    for statement in NAMESPACES[modules]:
        exec(statement, namespace)
    return eval(expr, namespace)


def eval_code():
    namespace = {}
    exec(compile("from quirk.sub import f\nRESULT = f()", "<quirk-code>", "exec"), namespace)
    return {
        "attribute": eval("quirk.sub.f()"),
        "import_call": eval("__import__('quirk.sub', fromlist=['f']).f()"),
        "compiled": namespace["RESULT"],
    }
