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

__all__ = ["NEVER", "RQI_THRESHOLD", "reached"]

#: The one sentinel for "never reached within the budget" (NaN; ``null`` in JSON records).
NEVER: float = float("nan")
#: The representation counts as learned once RQI exceeds this (Liu et al. 2022, §3.3).
RQI_THRESHOLD: float = 0.95


def reached(steps) -> np.ndarray | bool:
    """True where ``steps`` holds a step (or time) that was reached, False where it is ``NEVER``."""
    out = np.isfinite(np.asarray(steps, dtype=np.float64))
    return bool(out) if out.ndim == 0 else out
