"""Constants shared across effgrok: one definition each (issue 17).

``NEVER``
    The one sentinel for "never reached within the budget": a first-crossing step, a
    steps-to-RQI or a grokking time that did not happen is ``NaN`` (``effgrok.NEVER``) in every
    array and scalar the library returns, and ``null`` in every JSON record.  Test with
    :func:`reached`, never with ``< 0`` or ``is None``.  Runs that never reached a level are
    *censored* at the budget, not dropped.
``RQI_THRESHOLD``
    The representation counts as learned once RQI > 0.95 (Liu et al. 2022, §3.3).

>>> import numpy as np
>>> reached(np.array([120.0, NEVER]))
array([ True, False])
"""

from __future__ import annotations

import numpy as np

__all__ = ["NEVER", "RQI_THRESHOLD", "first_crossing", "never_from_legacy", "reached"]

#: The one sentinel for "never reached within the budget" (NaN; ``null`` in JSON records).
NEVER: float = float("nan")
#: The representation counts as learned once RQI exceeds this (Liu et al. 2022, §3.3).
RQI_THRESHOLD: float = 0.95


def reached(steps) -> np.ndarray | bool:
    """True where ``steps`` holds a step (or time) that was reached, False where it is ``NEVER``."""
    out = np.isfinite(np.asarray(steps, dtype=np.float64))
    return bool(out) if out.ndim == 0 else out


def first_crossing(curve, steps, level: float, *, below: bool = False, strict: bool = False) -> np.ndarray:
    """First recorded step where ``curve`` reaches ``level``; :data:`NEVER` where it never does.

    Reaching is ``curve ≥ level`` (``≤`` with ``below``; ``>``/``<`` with ``strict``).
    ``curve`` is ``[..., record]`` over ``steps``; the result (float64) has the leading shape,
    so its resolution is the recording stride.  The one first-crossing helper of the library
    (:meth:`effgrok.nets.engine.Runs.first_crossing` uses it).

    >>> first_crossing([[0.1, 0.5, 0.95, 0.9]], [0, 10, 20, 30], 0.9)
    array([20.])
    >>> first_crossing([0.5, 0.4], [0, 10], 0.1, below=True)
    array(nan)
    """
    c = np.asarray(curve)
    if c.dtype.kind != "f":
        c = c.astype(np.float64)
    # a float32 curve is compared in float32 (an accuracy of exactly 0.9 reaches 0.9)
    s = np.asarray(steps, dtype=np.float64)
    if c.shape[-1:] != s.shape:
        raise ValueError(f"curve's last axis ({c.shape[-1:]}) must match steps ({s.shape})")
    if below:
        hit = c < level if strict else c <= level
    else:
        hit = c > level if strict else c >= level
    return np.where(hit.any(axis=-1), s[np.argmax(hit, axis=-1)], NEVER)


def never_from_legacy(steps) -> np.ndarray:
    """A step array written before ``NEVER`` (stores of earlier versions used −1 for "never
    reached" in the networks) as float64 with ``NaN`` there; a NaN array passes unchanged.

    >>> never_from_legacy(np.array([120, -1]))
    array([120.,  nan])
    """
    a = np.asarray(steps, dtype=np.float64)
    return np.where(a == -1, NEVER, a)
