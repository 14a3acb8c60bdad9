"""The four learning phases of Liu et al. (2022, Table 1) and phase diagrams over a grid.

A run with budget ``B`` steps, accuracy threshold 90 % (train and test) and gap ``G``:

* **comprehension**: both thresholds reached and ``step_test − step_train < G``;
* **grokking**: both reached and ``step_test − step_train ≥ G`` (a gap of exactly ``G`` is
  grokking -- the reference code silently called it comprehension);
* **memorization**: train reached, test not;
* **confusion**: train not reached -- including runs whose *test* accuracy reached 90 % while
  the training accuracy did not (the reference code called those comprehension; a run that
  has not fit its training set is not a learned solution).  Such runs are also counted
  separately as ``test_only``.
"""

from __future__ import annotations

import numpy as np

from ..constants import reached

__all__ = ["PHASES", "classify_phases", "phase_fractions"]

PHASES = ("comprehension", "grokking", "memorization", "confusion")


def classify_phases(step_train, step_test, budget: int, gap: int = 1000) -> np.ndarray:
    """Phase index (into :data:`PHASES`) per run from the first steps reaching 90 % train and
    test accuracy (``NaN`` -- :data:`effgrok.constants.NEVER` -- or ``> budget``: not reached).

    Examples
    --------
    >>> nan = float("nan")
    >>> [PHASES[i] for i in classify_phases([10, 10, 10, nan, nan], [500, 1010, nan, 40, nan], budget=10_000)]
    ['comprehension', 'grokking', 'memorization', 'confusion', 'confusion']
    """
    st = np.asarray(step_train, dtype=np.float64)
    se = np.asarray(step_test, dtype=np.float64)
    tr = reached(st) & (st <= budget)
    te = reached(se) & (se <= budget)
    out = np.full(np.broadcast(st, se).shape, PHASES.index("confusion"))
    both = tr & te
    out[both & (se - st < gap)] = PHASES.index("comprehension")
    out[both & (se - st >= gap)] = PHASES.index("grokking")
    out[tr & ~te] = PHASES.index("memorization")
    return out


def phase_fractions(phases: np.ndarray, axis: int = -1) -> np.ndarray:
    """Fraction of runs in each phase along ``axis`` (last axis of the result indexes :data:`PHASES`)."""
    phases = np.asarray(phases)
    return np.stack([np.mean(phases == k, axis=axis) for k in range(len(PHASES))], axis=-1)
