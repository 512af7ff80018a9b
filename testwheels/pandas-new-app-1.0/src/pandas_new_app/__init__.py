"""pandas 2 API, missing from 1.5: DataFrame.map, Series.case_when, read_csv's dtype_backend, on numpy 2's
np.long; imported before the pandas-1.5 library it uses."""
import io
import json

import numpy as np
import pandas as pd

CSV = "day,city,rain,sun\n2023-01-02,Oslo,1.5,2\n2023-01-03,Rome,,7\n2023-01-04,Oslo,3.25,1\n"


def own():
    df = pd.read_csv(io.StringIO(CSV), parse_dates=["day"], dtype_backend="numpy_nullable")
    more = pd.concat([df, pd.DataFrame({"city": ["Rome"], "rain": [0.5], "sun": [6]})], ignore_index=True)
    wet = more["rain"].case_when([(more["rain"] > 1, "wet"), (more["rain"] >= 0, "dry")])
    return {
        "version": pd.__version__,
        "numpy": np.__version__,
        "module": pd.DataFrame.__module__,
        "columns": [[name, str(column.dtype)] for name, column in more.items()],
        "doubled": more[["sun"]].map(lambda v: v * 2).to_dict(orient="list"),
        "wet": wet.tolist(),
        "rain": [None if pd.isna(v) else float(v) for v in more["rain"]],
        "by_city": more.groupby("city")["sun"].sum().to_dict(),
        "long": str(np.arange(3, dtype=np.long).dtype),
        "read_json": pd.read_json(io.StringIO(more[["sun"]].to_json(orient="split")), orient="split").to_dict(),
    }


def check():
    found = {"app": own()}
    import pandas_old_user

    found["library"] = pandas_old_user.check()
    return found


def main():
    print(json.dumps(check(), sort_keys=True))
