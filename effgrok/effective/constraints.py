"""Parallelogram constraints and their Gram matrix.

A *permissible parallelogram* is an unordered pair of distinct examples ``{x, y}`` with
the same result.  With example vectors ``u_x = e_a + e_b`` (see :mod:`effgrok.tasks`) it
contributes the constraint row ``a = u_x - u_y``, i.e. ``a·E = E_a + E_b - E_c - E_d``.

For a training set ``D``, ``P0(D)`` are the parallelograms with both examples in ``D`` and
``A_D`` their rows.  The Gram matrix ``G_D = A_Dᵀ A_D`` is assembled one result class at a
time: for a class with training vectors ``u_1..u_c``

    Σ_{x<y} (u_x - u_y)(u_x - u_y)ᵀ = c Σ_x u_x u_xᵀ - (Σ_x u_x)(Σ_x u_x)ᵀ,

which costs ``O(c)`` scatter updates plus ``O(c²)`` for the outer product of the class sum
(it has at most ``2c`` nonzeros) -- ``O(|D|·p)`` in all, never ``O(|P0(D)|·p²)``.
"""

from __future__ import annotations

from functools import lru_cache

import numba as nb
import numpy as np

from ..tasks import Task, takes_task

__all__ = [
    "constraint_rows",
    "gram_matrix",
    "n_training_parallelograms",
    "parallelograms",
    "training_mask",
    "training_parallelograms",
]


def training_mask(task: Task, train) -> np.ndarray:
    """Boolean mask over the task's examples from a mask, index array or :class:`~effgrok.tasks.Split`."""
    mask = getattr(train, "mask", None)
    if mask is not None:
        train = mask
    train = np.asarray(train)
    if train.dtype == bool:
        if train.shape != (task.n_examples,):
            raise ValueError(f"training mask must have shape ({task.n_examples},), got {train.shape}")
        return train
    if train.ndim != 1 or (train.size and not np.issubdtype(train.dtype, np.integer)):
        raise ValueError("training set must be a boolean mask, an index array or a Split")
    if train.size and (train.min() < 0 or train.max() >= task.n_examples):
        raise ValueError(f"training example indices must be in 0..{task.n_examples - 1}")
    m = np.zeros(task.n_examples, dtype=bool)
    m[train] = True
    return m


@takes_task
def parallelograms(task: Task) -> np.ndarray:
    """All permissible parallelograms as example-index pairs ``(x, y)``, ``x < y``.

    Ordered by result class, then lexicographically.  Their number is
    ``Σ_s c_s (c_s - 1) / 2`` over class sizes ``c_s``.  The (read-only) result is cached
    per task.

    Examples
    --------
    >>> from effgrok.tasks import make_task
    >>> parallelograms(make_task("add", 10)).shape
    (70, 2)
    """
    return _parallelograms(task)


@lru_cache(maxsize=32)
def _parallelograms(task: Task) -> np.ndarray:
    order, offsets = task.class_order
    out = []
    for s in range(task.n_classes):
        members = np.sort(order[offsets[s] : offsets[s + 1]])
        if members.size > 1:
            i, j = np.triu_indices(members.size, k=1)
            out.append(np.stack([members[i], members[j]], axis=1))
    pars = np.concatenate(out).astype(np.int64) if out else np.zeros((0, 2), dtype=np.int64)
    pars.setflags(write=False)
    return pars


@takes_task
def training_parallelograms(task: Task, train, pars: np.ndarray | None = None) -> np.ndarray:
    """Mask over :func:`parallelograms` selecting ``P0(D)`` (both examples in training)."""
    mask = training_mask(task, train)
    pars = parallelograms(task) if pars is None else pars
    return mask[pars[:, 0]] & mask[pars[:, 1]]


@takes_task
def n_training_parallelograms(task: Task, train) -> int:
    """``|P0(D)| = Σ_s c_s(c_s-1)/2`` over training class sizes ``c_s`` (no enumeration)."""
    mask = training_mask(task, train)
    c = np.bincount(task.results[mask], minlength=task.n_classes).astype(np.int64)
    return int(np.sum(c * (c - 1) // 2))


@takes_task
def constraint_rows(task: Task, pars: np.ndarray) -> np.ndarray:
    """Dense constraint rows ``u_x - u_y`` of the given parallelograms, shape (n, n_slots)."""
    pars = np.asarray(pars, dtype=np.int64).reshape(-1, 2)
    rows = np.zeros((pars.shape[0], task.n_slots))
    r = np.arange(pars.shape[0])
    slots = task.slots
    for k in range(2):
        np.add.at(rows, (r, slots[pars[:, 0], k]), 1.0)
        np.add.at(rows, (r, slots[pars[:, 1], k]), -1.0)
    return rows


@nb.njit(cache=True, nogil=True)
def _gram_grouped(slots, members, offsets, n_slots):  # pragma: no cover - compiled
    """Gram matrix from training examples grouped by class (``members[offsets[s]:offsets[s+1]]``)."""
    g = np.zeros((n_slots, n_slots))
    v = np.zeros(n_slots)
    touched = np.empty(n_slots, dtype=np.int64)
    for s in range(offsets.shape[0] - 1):
        lo = offsets[s]
        hi = offsets[s + 1]
        c = hi - lo
        if c < 2:
            continue
        nt = 0
        for k in range(lo, hi):
            x = members[k]
            a = slots[x, 0]
            b = slots[x, 1]
            # c Σ u uᵀ with u = e_a + e_b (a == b gives 4c on the diagonal)
            g[a, a] += c
            g[b, b] += c
            g[a, b] += c
            g[b, a] += c
            for j in (a, b):
                if v[j] == 0.0:
                    touched[nt] = j
                    nt += 1
                v[j] += 1.0
        # − (Σ u)(Σ u)ᵀ over the touched entries only
        for t1 in range(nt):
            i = touched[t1]
            vi = v[i]
            for t2 in range(nt):
                j = touched[t2]
                g[i, j] -= vi * v[j]
        for t in range(nt):
            v[touched[t]] = 0.0
    return g


@nb.njit(cache=True, nogil=True)
def _group_by_class(results, examples, n_classes):  # pragma: no cover - compiled
    """Counting sort of ``examples`` by result class: ``(members, offsets)``."""
    counts = np.zeros(n_classes + 1, dtype=np.int64)
    for x in examples:
        counts[results[x] + 1] += 1
    offsets = np.cumsum(counts)
    fill = offsets[:-1].copy()
    members = np.empty(examples.shape[0], dtype=np.int64)
    for x in examples:
        s = results[x]
        members[fill[s]] = x
        fill[s] += 1
    return members, offsets


@takes_task
def gram_matrix(task: Task, train) -> np.ndarray:
    """Gram matrix ``G_D = A_Dᵀ A_D`` of the training parallelograms, per result class.

    ``G_D = Σ_s [ c_s Σ_{x∈D_s} u_x u_xᵀ − (Σ_{x∈D_s} u_x)(Σ_{x∈D_s} u_x)ᵀ ]`` where ``D_s``
    are the training examples of class ``s`` and ``c_s = |D_s|`` (Liu et al. 2022, §3;
    effgrok SPEC §2).  Entries are integers stored as float64 (exact).

    Parameters
    ----------
    task : Task
    train : Split, bool mask or index array
        The training set ``D``.

    Returns
    -------
    ndarray, shape (n_slots, n_slots)

    Examples
    --------
    >>> from effgrok.tasks import make_task
    >>> t = make_task("add", 10)
    >>> G = gram_matrix(t, np.ones(t.n_examples, bool))
    >>> G.shape, float(np.trace(G))   # trace = Σ |a|² over the 70 permissible rows
    ((10, 10), 320.0)
    """
    examples = np.flatnonzero(training_mask(task, train)).astype(np.int64)
    members, offsets = _group_by_class(task.results, examples, task.n_classes)
    return _gram_grouped(task.slots, members, offsets, task.n_slots)
