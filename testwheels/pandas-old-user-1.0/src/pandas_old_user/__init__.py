"""pandas 1.5 API, gone in 2.0: DataFrame.append, iteritems, DataFrame.mad, Int64Index, read_json's
numpy=True (ujson's keyword); run by the compiled parsers, groupby, window, hashing and tslibs."""
import io
import pickle
import warnings

import numpy as np
import pandas as pd

CSV = "day,city,rain,sun\n2023-01-02,Oslo,1.5,2\n2023-01-03,Rome,0.0,7\n2023-01-04,Oslo,3.25,1\n2023-01-05,Rome,0.5,6\n"


def check():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = _check()
    # each deprecation pandas 1.5 announces, in its words
    found["warnings"] = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    return found


def _check():
    df = pd.read_csv(io.StringIO(CSV), parse_dates=["day"])
    df = df.append({"day": pd.Timestamp("2023-01-06"), "city": "Oslo", "rain": 0.75, "sun": 4}, ignore_index=True)
    split = df.drop(columns="day").to_json(orient="split")
    numbers = pd.DataFrame({"x": [1.0, 2.5, 4.0], "y": [0.5, 0.25, 0.125]}, dtype=np.float_)
    loaded = pd.read_json(numbers.to_json(orient="split"), orient="split", numpy=True)
    by_city = df.groupby("city").agg(rain=("rain", "sum"), sun=("sun", "mean"))
    return {
        "version": pd.__version__,
        "numpy": np.__version__,
        "module": pd.DataFrame.__module__,
        "columns": [[name, str(column.dtype)] for name, column in df.iteritems()],
        "split": split,
        "read_json": loaded.to_dict(orient="list"),
        "by_city": by_city.to_dict(orient="index"),
        "rolling": df["rain"].rolling(2).mean().round(6).tolist()[1:],
        "mad": round(float(df["rain"].mad()), 9),
        "index": [type(pd.Int64Index([1, 2])).__name__, pd.Int64Index([3, 1, 2]).sort_values().tolist()],
        "resampled": df.set_index("day")["sun"].resample("2D").sum().tolist(),
        "weekday": df["day"].dt.day_name().tolist(),
        "hash": [str(v) for v in pd.util.hash_pandas_object(df.drop(columns="day"), index=False)],
        "upper": df["city"].str.upper().unique().tolist(),
        "pickled": [type(pickle.loads(pickle.dumps(df))).__module__, pickle.loads(pickle.dumps(df)).equals(df)],
        "float_": str(numbers.dtypes["x"]),
    }
