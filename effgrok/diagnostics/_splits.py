"""A user's training split, read from the forms people save it in, and the primitive root
behind multiplicative Fourier coordinates: shared by :mod:`~effgrok.diagnostics.inspection`
and :mod:`~effgrok.diagnostics.network` (kept apart so that neither imports the other)."""

from __future__ import annotations

import numpy as np

from ..tasks import Split, Task, split_from_indices, split_from_pairs

__all__ = ["training_split"]


def training_split(task: Task, train) -> tuple[Split, str]:
    """The task's training split from a user's description, and how it was read (in words).

    ``train`` is a :class:`~effgrok.tasks.Split`; a boolean mask over the task's examples,
    over ordered pairs of symbol indices (shape ``(n, n)``, or ``n²`` flat, row-major); a
    1-D integer array of example indices; or pairs of symbol labels, shape ``(k, 2)``.
    Ordered pairs for a commutative task are mapped onto its unordered examples: an example
    is trained when either of its orders is.

    Examples
    --------
    >>> from effgrok.tasks import make_task
    >>> s, how = training_split(make_task("add", 4), [(0, 1), (1, 0), (2, 3)])
    >>> s.n_train, how
    (2, '3 ordered pairs onto 2 unordered examples (commutative task): 1 given in both orders, 1 in one')
    """
    if isinstance(train, Split):
        if train.n_examples != task.n_examples:
            raise ValueError(
                f"the split has {train.n_examples} examples, task {task.name!r} has {task.n_examples}"
            )
        return train, "a Split"
    arr = np.asarray(train)
    n = task.n_symbols
    if arr.dtype == bool:
        if arr.shape == (task.n_examples,):
            return split_from_indices(task, np.flatnonzero(arr)), "boolean mask over the task's examples"
        if arr.shape in ((n, n), (n * n,)):
            a, b = np.nonzero(arr.reshape(n, n))
            if a.size == 0:
                raise ValueError("the training mask selects no example")
            return _from_pairs(
                task, np.stack([task.symbols[a], task.symbols[b]], axis=1), "mask over ordered pairs"
            )
        raise ValueError(
            f"a training mask must have shape ({task.n_examples},) (the task's examples) or "
            f"({n}, {n}) (ordered pairs of symbols), got {arr.shape}"
        )
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"training pairs must be integers (symbol labels), got dtype {arr.dtype}")
    if arr.ndim == 1:
        return split_from_indices(task, arr), "example indices"
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] == 0:
        raise ValueError(f"training pairs must have shape (k, 2), got {arr.shape}")
    return _from_pairs(task, arr, "pairs of symbols")


def _from_pairs(task: Task, pairs: np.ndarray, source: str) -> tuple[Split, str]:
    if not task.commutative:
        return split_from_pairs(task, pairs), f"{pairs.shape[0]} {source} (ordered, as the task's examples)"
    # symbols are increasing, so sorting the labels of a pair sorts its symbol indices
    canon = np.sort(pairs, axis=1)
    uniq, counts = np.unique(canon, axis=0, return_counts=True)
    split = split_from_pairs(task, uniq)  # checks the symbols' range
    same, same_counts = np.unique(pairs, axis=0, return_counts=True)
    if np.any(same_counts > 1):  # the same ordered pair twice
        dup = same[same_counts > 1][0]
        raise ValueError(f"pair ({dup[0]},{dup[1]}) appears more than once in the training set")
    both = int(np.sum(counts > 1))  # (a, b) and (b, a), a != b
    if both == 0:
        each = "one unordered example" if pairs.shape[0] == 1 else "each one unordered example"
        return split, f"{pairs.shape[0]} {source}, {each} (commutative task)"
    return split, (
        f"{pairs.shape[0]} ordered pairs onto {uniq.shape[0]} unordered examples (commutative task): "
        f"{both} given in both orders, {uniq.shape[0] - both} in one"
    )


def _generator(p: int) -> int:
    m, q, factors = p - 1, 2, set()
    while q * q <= m:
        while m % q == 0:
            factors.add(q)
            m //= q
        q += 1
    if m > 1:
        factors.add(m)
    return next(g for g in range(2, p) if all(pow(g, (p - 1) // f, p) != 1 for f in factors))
