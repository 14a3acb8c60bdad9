"""Job functions importable by name ("_scan_jobs:...") in spawned pool workers (tests only)."""

import os

import numpy as np


def square(x: int) -> dict:
    return {"x": np.asarray(x), "square": np.asarray(x * x), "pid": np.asarray(os.getpid())}


NOT_CALLABLE = 3
