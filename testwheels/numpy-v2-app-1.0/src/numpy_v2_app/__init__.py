"""numpy 2.x API, missing from 1.26: np.long and np.strings (and numpy.exceptions, 1.25+)."""
import json

import numpy as np
import numpy_v1_user
from numpy.exceptions import DTypePromotionError


def check():
    a = np.arange(6, dtype=np.long).reshape(2, 3)
    try:
        np.result_type(np.dtype("M8[s]"), np.dtype("f8"))
        promotion_rejected = False
    except DTypePromotionError:
        promotion_rejected = True
    return {
        "app": {
            "version": np.__version__,
            "module": np.__name__,
            "sum": int(a.sum()),
            "matmul": (a @ a.T).tolist(),
            "upper": np.strings.upper(np.array(["numpy", "two"])).tolist(),
            "promotion_rejected": promotion_rejected,
        },
        "library": numpy_v1_user.check(),
    }


def main():
    print(json.dumps(check(), sort_keys=True))
