"""The one result protocol (issue 17): every result dataclass has ``record()`` and ``tables()``.

``record()``
    A JSON-ready dictionary of the result: numpy scalars and arrays become Python numbers and
    lists, tuples become lists, and every non-finite float -- ``NEVER`` (NaN, "never reached"),
    an undefined value, or ``inf`` -- becomes ``None`` (JSON ``null``).  It holds what the
    result knows, not how it was asked for: a caller adds its own settings beside it.
``tables()``
    Table name -> list of row dicts (one CSV file each; every row of a table has the same keys).

Result classes inherit :class:`Result`: its ``record()`` takes every dataclass field through
:func:`jsonable` and its ``tables()`` is the record as one flat row (:func:`flat_row`); a class
overrides either where its fields are large arrays or its rows are per step, run or seed.

>>> import numpy as np
>>> jsonable({"t": np.array([3.0, np.nan]), "n": np.int64(2), "ci": (0.1, np.inf)})
{'t': [3.0, None], 'n': 2, 'ci': [0.1, None]}
>>> flat_row({"a": 1, "ci": [0.1, 0.2], "loss": {"z": "live"}})
{'a': 1, 'ci': '0.1 0.2', 'loss_z': 'live'}
"""

from __future__ import annotations

import math
import re
from dataclasses import fields, is_dataclass
from pathlib import PurePath

import numpy as np

__all__ = ["Result", "column_rows", "flat_row", "jsonable", "never_to_none", "step_or_none"]


def jsonable(obj):
    """``obj`` with numpy values turned into Python ones and non-finite floats into ``None``.

    Dictionaries (keys become strings), lists and tuples are converted element by element; an
    object with a ``record()`` method (a nested result) is replaced by its record; paths become
    strings.  Anything else is returned unchanged.
    """
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return never_to_none(obj)
    if isinstance(obj, PurePath):
        return str(obj)
    if hasattr(obj, "record") and callable(obj.record):
        return obj.record()
    return obj


def never_to_none(value) -> float | None:
    """A float, or ``None`` where it is not finite (``NEVER``, undefined, ``inf``)."""
    if value is None:
        return None
    v = float(value)
    return v if math.isfinite(v) else None


def step_or_none(value) -> int | None:
    """A reached step as an int; ``None`` for ``NEVER`` (NaN)."""
    if value is None or not math.isfinite(float(value)):
        return None
    return int(value)


def flat_row(record: dict, prefix: str = "") -> dict:
    """One CSV row from a record: nested dicts become ``outer_inner`` columns, lists of scalars
    space-separated strings."""
    row = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            row.update(flat_row(value, f"{name}_"))
        elif isinstance(value, list):
            row[name] = " ".join("" if v is None else str(v) for v in value)
        else:
            row[name] = value
    return row


def column_rows(columns: dict, index: str | None = None) -> list[dict]:
    """Rows from equal-length columns (name -> array), JSON-ready; ``index`` names a leading
    column holding the row number.

    >>> column_rows({"rqi": np.array([0.5, np.nan])}, index="step")
    [{'step': 0, 'rqi': 0.5}, {'step': 1, 'rqi': None}]
    """
    cols = jsonable(columns)
    n = len(next(iter(cols.values())))
    return [({index: i} if index else {}) | {k: v[i] for k, v in cols.items()} for i in range(n)]


def _table_name(cls) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()


class Result:
    """Base of the result dataclasses: the default ``record()`` and ``tables()``."""

    __slots__ = ()

    def record(self) -> dict:
        """JSON-ready dict of every field (see :mod:`effgrok._record`)."""
        if not is_dataclass(self):  # pragma: no cover - every Result is a dataclass
            raise TypeError(f"{type(self).__name__} is not a dataclass")
        return jsonable({f.name: getattr(self, f.name) for f in fields(self)})

    def tables(self) -> dict[str, list[dict]]:
        """Table name -> rows: by default the record as one row, named after the class."""
        return {_table_name(type(self)): [flat_row(self.record())]}
