"""Representation quality (RQI), ideal accuracy and predicted accuracy (SPEC §3).

Conventions
-----------
*Standardisation.*  Each embedding dimension (column of ``E``) is centred and divided by
its unbiased standard deviation (``ddof=1``) before defects are measured, which makes
RQI invariant to translations and to a positive (or negative) rescaling of each column.
A column with zero variance carries no structure and is dropped; an embedding whose
columns are all constant realises no parallelogram (RQI = 0).

*Realised parallelogram.*  ``{(a,b), (c,d)}`` is realised when the mean over dimensions
of the squared defect ``(E_a + E_b − E_c − E_d)²`` is below ``δ²``, ``δ = 0.1`` (the
reference code's 0.01 on the squared defect).  RQI = realised / permissible.

*Accuracies.*  A test example is predictable from a training set when it forms a
parallelogram with some training example of its class: an *induced* one (in the row
space of ``A_D``) for the ideal accuracy Acc-bar, a *realised* one for the predicted
accuracy Acc-hat.  Training examples count as correct.  ``test`` is the fraction of test
examples predictable (NaN with no test examples), ``overall`` the fraction of the table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

from .._checks import finite_array, positive
from .._record import Result, never_to_none
from ..tasks import Task, takes_task
from .constraints import gram_matrix, parallelograms, training_mask
from .spectrum import DEFAULT_RTOL, null_space

__all__ = [
    "DEFAULT_DELTA",
    "Accuracy",
    "ideal_accuracy",
    "induced_parallelograms",
    "predicted_accuracy",
    "realised_parallelograms",
    "rqi",
    "standardize",
]

#: Threshold on the root-mean-square parallelogram defect of a standardised embedding.
DEFAULT_DELTA = 0.1

#: Tolerance on ``|N_Dᵀ a|`` (orthonormal null basis, integer row ``a``) for "a ∈ row space".
_ROWSPACE_TOL = 1e-7


@dataclass(frozen=True)
class Accuracy(Result):
    """Accuracy of a predictor over a training split.

    Attributes
    ----------
    test : float
        Fraction of test examples predicted correctly (NaN if the test set is empty).
    overall : float
        Fraction of all examples (training examples count as correct).
    correct : ndarray of bool
        Per-example correctness over the whole table.
    """

    test: float
    overall: float
    correct: np.ndarray

    def record(self) -> dict:
        """``test``, ``overall`` (``None`` where undefined) and ``n_correct`` of ``n_examples``."""
        return {
            "test": never_to_none(self.test),
            "overall": never_to_none(self.overall),
            "n_correct": int(np.sum(self.correct)),
            "n_examples": int(np.size(self.correct)),
        }

    def tables(self) -> dict[str, list[dict]]:
        """``accuracy``: the record as one row; ``examples``: correctness per example."""
        rows = [{"example": k, "correct": bool(c)} for k, c in enumerate(np.ravel(self.correct))]
        return {"accuracy": [self.record()], "examples": rows}


def _accuracy(mask: np.ndarray, predictable: np.ndarray) -> Accuracy:
    correct = mask | predictable
    n_test = int((~mask).sum())
    test = float((predictable & ~mask).sum() / n_test) if n_test else float("nan")
    correct.setflags(write=False)
    return Accuracy(test=test, overall=float(correct.mean()), correct=correct)


def _example_vectors_dot(task: Task, basis: np.ndarray) -> np.ndarray:
    """``B_x = Nᵀ u_x`` for every example (rows), from the rows of ``N`` at the two slots."""
    s = task.slots
    return basis[s[:, 0]] + basis[s[:, 1]]


@takes_task
def induced_parallelograms(task: Task, train, rtol: float = DEFAULT_RTOL) -> np.ndarray:
    """Mask over :func:`~effgrok.effective.constraints.parallelograms` selecting ``P(D)``.

    A permissible parallelogram is induced when its row lies in the row space of ``A_D``,
    i.e. is orthogonal to the null space of ``G_D``; ``P0(D) ⊆ P(D)``.
    """
    mask = training_mask(task, train)
    basis = null_space(gram_matrix(task, mask), rtol)
    b = _example_vectors_dot(task, basis)
    pars = parallelograms(task)
    return np.linalg.norm(b[pars[:, 0]] - b[pars[:, 1]], axis=1) <= _ROWSPACE_TOL


@takes_task
def ideal_accuracy(task: Task, train, rtol: float = DEFAULT_RTOL) -> Accuracy:
    """Ideal accuracy Acc-bar: training examples plus test examples linked to a training
    example of their class by an induced parallelogram.

    Because induced rows form a subspace, linking to one training example of the class
    is the same as linking to any, so each test example is checked once: ``O(|D0| k)``
    for a null space of dimension ``k``.

    Examples
    --------
    >>> import numpy as np
    >>> from effgrok.tasks import make_task
    >>> t = make_task("add", 10)
    >>> ideal_accuracy(t, np.ones(t.n_examples, bool)).overall
    1.0
    """
    mask = training_mask(task, train)
    basis = null_space(gram_matrix(task, mask), rtol)
    b = _example_vectors_dot(task, basis)
    # one training representative per class (-1: the class has no training example)
    rep = np.full(task.n_classes, -1, dtype=np.int64)
    train_idx = np.flatnonzero(mask)
    rep[task.results[train_idx[::-1]]] = train_idx[::-1]
    r = rep[task.results]
    has = r >= 0
    predictable = np.zeros(task.n_examples, dtype=bool)
    diff = b[has] - b[r[has]]
    predictable[has] = np.linalg.norm(diff, axis=1) <= _ROWSPACE_TOL
    return _accuracy(mask, predictable)


def standardize(E) -> np.ndarray:
    """Centre each column and divide by its unbiased std; constant columns are dropped.

    Returns an array of shape (n_rows, d') with ``d' ≤ d``.
    """
    E = np.asarray(E, dtype=np.float64)
    if E.ndim == 1:
        E = E[:, None]
    if E.ndim != 2 or E.shape[0] < 2:
        raise ValueError(f"embedding must have shape (n_rows >= 2, d), got {E.shape}")
    finite_array("embedding", E)
    centred = E - E.mean(axis=0)
    std = centred.std(axis=0, ddof=1)
    scale = np.max(np.abs(E), axis=0)
    keep = std > 1e-12 * np.maximum(scale, np.finfo(float).tiny)
    return centred[:, keep] / std[keep]


def _check_embedding(task: Task, E) -> np.ndarray:
    E = np.asarray(E, dtype=np.float64)
    if E.ndim == 1:
        E = E[:, None]
    if E.ndim != 2 or E.shape[0] != task.n_slots or E.shape[1] < 1:
        raise ValueError(
            f"embedding must have shape ({task.n_slots},) or ({task.n_slots}, d) for task "
            f"{task.name!r}, got {np.shape(E)}"
        )
    return E


@nb.njit(cache=True, nogil=True)
def _realised_kernel(h, order, offsets, train, delta2):  # pragma: no cover - compiled
    """Count realised parallelograms class by class and mark test examples that form a
    realised parallelogram with a training example.  ``O(Σ_s c_s² d)``, no enumeration."""
    d = h.shape[1]
    n_real = 0
    predictable = np.zeros(h.shape[0], dtype=np.bool_)
    for s in range(offsets.shape[0] - 1):
        for i in range(offsets[s], offsets[s + 1]):
            x = order[i]
            for j in range(i + 1, offsets[s + 1]):
                y = order[j]
                acc = 0.0
                for k in range(d):
                    diff = h[x, k] - h[y, k]
                    acc += diff * diff
                if acc < delta2 * d:
                    n_real += 1
                    if train[x] and not train[y]:
                        predictable[y] = True
                    elif train[y] and not train[x]:
                        predictable[x] = True
    return n_real, predictable


def _pair_sums(task: Task, E) -> np.ndarray:
    z = standardize(_check_embedding(task, E))
    if z.shape[1] == 0:
        return None
    s = task.slots
    return np.ascontiguousarray(z[s[:, 0]] + z[s[:, 1]])


@takes_task
def rqi(task: Task, E, delta: float = DEFAULT_DELTA) -> float:
    """Representation quality index: fraction of permissible parallelograms realised.

    ``RQI = |{ {x,y} : mean_k (h_xk − h_yk)² < δ² }| / |permissible|`` with
    ``h_x = Ê_a + Ê_b`` of the standardised embedding ``Ê`` (Liu et al. 2022, §3.3).

    Examples
    --------
    >>> import numpy as np
    >>> from effgrok.tasks import make_task
    >>> rqi(make_task("add", 10), 3.0 + 0.5 * np.arange(10))   # any affine embedding
    1.0
    """
    delta = positive("delta", delta)
    order, offsets = task.class_order
    sizes = np.diff(offsets)
    total = int(np.sum(sizes * (sizes - 1) // 2))
    if total == 0:
        raise ValueError(f"task {task.name!r} has no permissible parallelogram")
    h = _pair_sums(task, E)
    if h is None:
        return 0.0
    n_real, _ = _realised_kernel(h, order, offsets, np.zeros(task.n_examples, np.bool_), delta * delta)
    return n_real / total


@takes_task
def realised_parallelograms(task: Task, E, delta: float = DEFAULT_DELTA) -> np.ndarray:
    """Mask over :func:`~effgrok.effective.constraints.parallelograms` of realised ones."""
    delta = positive("delta", delta)
    pars = parallelograms(task)
    h = _pair_sums(task, E)
    if h is None:
        return np.zeros(pars.shape[0], dtype=bool)
    return np.mean((h[pars[:, 0]] - h[pars[:, 1]]) ** 2, axis=1) < delta * delta


@takes_task
def predicted_accuracy(task: Task, train, E, delta: float = DEFAULT_DELTA) -> Accuracy:
    """Predicted accuracy Acc-hat: training examples plus test examples forming a realised
    parallelogram with a training example of their class (Liu et al. 2022, §3.3)."""
    delta = positive("delta", delta)
    mask = training_mask(task, train)
    h = _pair_sums(task, E)
    if h is None:
        return _accuracy(mask, np.zeros(task.n_examples, dtype=bool))
    order, offsets = task.class_order
    _, predictable = _realised_kernel(h, order, offsets, mask, delta * delta)
    return _accuracy(mask, predictable)
