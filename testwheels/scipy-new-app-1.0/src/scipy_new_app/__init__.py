"""The newest scipy's API, missing from 1.11: integrate.simpson with x keyword-only, cumulative_trapezoid,
scipy.differentiate, sparse arrays; imported before the scipy-1.11 library it uses."""
import json

import numpy as np
import scipy
from scipy import differentiate, integrate, linalg, sparse, special
from scipy.sparse import linalg as splinalg


def _list(values, digits=12):
    return np.round(np.asarray(values, dtype=np.float64), digits).tolist()


def own():
    x = np.linspace(0.0, np.pi, 31)
    y = np.sin(x)
    matrix = sparse.csr_array([[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]])
    return {
        "version": scipy.__version__,
        "numpy": np.__version__,
        "module": integrate.quad.__module__,
        "simpson": round(float(integrate.simpson(y, x=x)), 12),
        "cumulative": _list(integrate.cumulative_trapezoid(y, x)[::10]),
        "derivative": round(float(differentiate.derivative(np.cos, 1.0).df), 10),
        "spsolve": _list(splinalg.spsolve(matrix.tocsc(), np.array([1.0, 0.0, 1.0]))),
        "solve": _list(linalg.solve(matrix.toarray(), [1.0, 2.0, 3.0])),
        "gamma": _list(special.gamma([0.5, 1.5, 4.0])),
        "long": str(np.arange(2, dtype=np.long).dtype),
    }


def check():
    found = {"app": own()}
    import scipy_old_user

    found["library"] = scipy_old_user.check()
    return found


def main():
    print(json.dumps(check(), sort_keys=True))
