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

__all__ = ["PHASES", "classify_phases", "phase_cells", "phase_fractions"]

PHASES = ("comprehension", "grokking", "memorization", "confusion")


def classify_phases(step_train, step_test, budget: int, gap: int = 1000) -> np.ndarray:
    """Phase index (into :data:`PHASES`) per run from the first steps reaching 90 % train and
    test accuracy (``−1`` or ``> budget``: not reached).

    Examples
    --------
    >>> [PHASES[i] for i in classify_phases([10, 10, 10, -1, -1], [500, 1010, -1, 40, -1], budget=10_000)]
    ['comprehension', 'grokking', 'memorization', 'confusion', 'confusion']
    """
    st = np.asarray(step_train)
    se = np.asarray(step_test)
    tr = (st >= 0) & (st <= budget)
    te = (se >= 0) & (se <= budget)
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


def phase_cells(x, y, fractions, test_only) -> list[dict]:
    """One row per cell of a phase diagram over the axes ``x = (name, values)`` and
    ``y = (name, values)``: the two coordinates, the majority phase, the fraction of runs in each
    phase and the number of test-only runs.  ``fractions`` has shape ``(len(y), len(x), 4)``
    (last axis indexes :data:`PHASES`), ``test_only`` shape ``(len(y), len(x))``; rows run over
    ``x`` fastest.

    Examples
    --------
    >>> fr = np.zeros((1, 2, 4)); fr[0, 0, 1] = fr[0, 1, 3] = 1.0
    >>> [c["phase"] for c in phase_cells(("lr", [0.1, 0.2]), ("wd", [0.0]), fr, np.zeros((1, 2)))]
    ['grokking', 'confusion']
    """
    (xn, xv), (yn, yv) = x, y
    fractions = np.asarray(fractions)
    cells = []
    for j, yval in enumerate(yv):
        for i, xval in enumerate(xv):
            fr = fractions[j, i]
            cells.append(
                {
                    xn: float(xval),
                    yn: float(yval),
                    "phase": PHASES[int(fr.argmax())],
                    **{f"fraction_{name}": float(fr[k]) for k, name in enumerate(PHASES)},
                    "test_only_runs": int(np.asarray(test_only)[j, i]),
                }
            )
    return cells
