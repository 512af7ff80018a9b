"""numpy 1.x API, gone in 2.0: np.float_, np.product, np.core.numeric, np.round_, np.alltrue."""
import numpy as np
from numpy.core import numeric


def check():
    a = np.arange(1, 7, dtype=np.float_).reshape(2, 3)
    inverse = np.linalg.inv(np.array([[2.0, 1.0], [1.0, 3.0]]))
    return {
        "version": np.__version__,
        "module": np.__name__,
        "product": float(np.product(a)),
        "numeric": numeric.__name__,
        "rounded": np.round_(a / 7, 2).tolist(),
        "alltrue": bool(np.alltrue(a > 0)),
        "matmul": (a @ a.T).tolist(),
        "inverse": np.round_(inverse, 4).tolist(),
        "fft": np.round_(np.abs(np.fft.fft(np.array([1.0, 0.0, -1.0, 0.0]))), 6).tolist(),
        "dtype": str(np.zeros(2, dtype=np.float_).dtype),
    }
