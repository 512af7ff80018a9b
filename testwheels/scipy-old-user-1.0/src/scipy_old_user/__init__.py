"""scipy 1.11 API, gone since: integrate.simps, trapz and cumtrapz, misc.derivative, interpolate.interp2d;
run by its compiled modules (QUADPACK and ODEPACK calling back into Python, LAPACK, SuperLU, the
special functions, cKDTree, ndimage, signal), on numpy 1's np.float_; the docstrings
scipy adds to its compiled types with numpy's add_newdoc."""
import hashlib
import warnings

import numpy as np
import scipy
from scipy import fft, integrate, interpolate, linalg, misc, ndimage, odr, optimize, signal, sparse, spatial, special
from scipy import stats
from scipy.sparse import linalg as splinalg


def _list(values, digits=12):
    return np.round(np.asarray(values, dtype=np.float_), digits).tolist()


def check():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = _check()
    # each deprecation scipy 1.11 announces, in its words
    found["warnings"] = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    return found


def _doc(obj):
    """The docstring scipy gives a compiled object through numpy's add_newdoc (which imports the
    module it names): its first line and a digest."""
    doc = obj.__doc__ or ""
    return [doc.strip().splitlines()[0] if doc.strip() else "", hashlib.sha256(doc.encode()).hexdigest()[:16]]


def _check():
    x = np.linspace(0.0, np.pi, 31, dtype=np.float_)
    y = np.sin(x)
    grid = interpolate.interp2d([0.0, 1.0, 2.0], [0.0, 1.0], [[0.0, 1.0, 4.0], [1.0, 2.0, 5.0]], kind="linear")
    matrix = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]])
    best = optimize.minimize(optimize.rosen, [1.3, 0.7, 0.8], method="BFGS", jac=optimize.rosen_der)
    tree = spatial.cKDTree(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.5], [0.5, 2.0]]))
    distance, nearest = tree.query([0.9, 0.8])
    lu = splinalg.splu(sparse.csc_matrix(matrix))
    return {
        "version": scipy.__version__,
        "numpy": np.__version__,
        "module": integrate.quad.__module__,
        "simps": round(float(integrate.simps(y, x)), 12),
        "trapz": round(float(integrate.trapz(y, x)), 12),
        "cumtrapz": _list(integrate.cumtrapz(y, x)[::10]),
        "quad": _list(integrate.quad(lambda t: np.exp(-t * t), 0.0, np.inf)[:1]),
        "odeint": _list(integrate.odeint(lambda v, t: -0.5 * v, [2.0], [0.0, 1.0, 2.0]).ravel(), 8),
        "derivative": round(float(misc.derivative(np.cos, 1.0, dx=1e-3, n=1, order=5)), 10),
        "interp2d": _list(grid([0.5, 1.5], [0.5])),
        "solve": _list(linalg.solve(matrix, [1.0, 2.0, 3.0])),
        "eigvalsh": _list(linalg.eigvalsh(matrix)),
        "splu": _list(lu.solve(np.array([1.0, 0.0, 1.0]))),
        "docs": {"SuperLU": _doc(type(lu)), "odr": _doc(odr.__odrpack.odr)},
        "gamma": _list(special.gamma([0.5, 1.5, 4.0])),
        "jv": _list(special.jv(1, [0.5, 2.0])),
        "norm": _list([stats.norm.cdf(1.0), stats.norm.ppf(0.975)]),
        "ttest": _list(stats.ttest_ind([1.0, 2.0, 3.0, 4.0], [2.0, 3.5, 4.0, 6.0])),
        "bfgs": _list(best.x, 6),
        "cobyla": _list(optimize.fmin_cobyla(lambda p: (p[0] - 1) ** 2 + (p[1] + 2) ** 2, [0.0, 0.0],
                                             [lambda p: 10 - p[0]], rhoend=1e-8, disp=0), 6),
        "fft": _list(np.abs(fft.rfft([1.0, 0.0, -1.0, 0.0, 1.0, 0.0]))),
        "lfilter": _list(signal.lfilter([0.5, 0.5], [1.0, -0.2], [1.0, 2.0, 3.0, 4.0])),
        "gaussian": _list(ndimage.gaussian_filter(np.eye(4), 1.0)[0]),
        "kdtree": [round(float(distance), 12), int(nearest)],
    }
