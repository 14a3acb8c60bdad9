"""Binary-operation datasets: symbols, examples, result classes and train/test splits.

A *task* is a table ``a ∘ b`` over a finite set of symbols.  Every example is a pair of
symbols together with the class of its result.  The effective theory needs nothing more
than "which examples share a result", so every task -- non-modular addition, modular
arithmetic, a finite group -- is described by the same arrays:

``pairs[x] = (a, b)``
    symbol indices (0-based) of example ``x``;
``results[x]``
    result class of example ``x`` (0-based);
``slots[x] = (s, t)``
    rows of the embedding matrix that example ``x`` adds together.

Commutative tasks use unordered pairs ``a ≤ b`` and share one embedding between the two
operand positions (``encoding="sum"``: the example vector is ``u = e_a + e_b``).
Non-commutative tasks use all ordered pairs and, by default, separate embeddings for the
left and the right operand (``encoding="concat"``: ``u = e_a ⊕ e_b``, ``2n`` embedding
rows), the only additive model that can represent them at all.
"""

from __future__ import annotations

import functools
import inspect
import itertools
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import numpy as np

from ._checks import choice, integer
from ._checks import fraction as check_fraction

__all__ = [
    "TASK_NAMES",
    "Split",
    "Task",
    "as_task",
    "group_task",
    "is_prime",
    "make_task",
    "random_split",
    "split_from_indices",
    "split_from_pairs",
    "symmetric_group_task",
    "takes_task",
    "task_from_table",
]

#: Largest number of examples a task may have (keeps tables in memory comfortably).
MAX_EXAMPLES = 20_000_000


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class Task:
    """A binary-operation dataset with result classes.

    Build one with :func:`make_task`, :func:`task_from_table`, :func:`group_task` or
    :func:`symmetric_group_task`; the fields are read-only arrays.

    Attributes
    ----------
    name : str
        Task name (``"add"``, ``"add-mod"``, ...).
    p : int or None
        The size parameter the task was built with (``None`` for a table task).
    symbols : ndarray of int, shape (n_symbols,)
        Symbol labels (``0..p-1``, or ``1..p-1`` for ``mul-mod``).
    pairs : ndarray of int64, shape (n_examples, 2)
        Symbol indices of each example.
    results : ndarray of int64, shape (n_examples,)
        Result class of each example, ``0..n_classes-1``.
    result_labels : ndarray of int, shape (n_classes,)
        The result value of each class.
    commutative : bool
        Whether the table is symmetric (examples are then unordered pairs ``a ≤ b``).
    encoding : {"sum", "concat"}
        How an example combines embeddings: ``E_a + E_b`` or ``E^L_a + E^R_b``.
    """

    name: str
    p: int | None
    symbols: np.ndarray
    pairs: np.ndarray
    results: np.ndarray
    result_labels: np.ndarray
    commutative: bool
    encoding: str = "sum"
    _index_table: np.ndarray = field(repr=False, default=None)

    @property
    def n_symbols(self) -> int:
        return int(self.symbols.shape[0])

    @property
    def n_examples(self) -> int:
        return int(self.pairs.shape[0])

    @property
    def n_classes(self) -> int:
        return int(self.result_labels.shape[0])

    @property
    def n_slots(self) -> int:
        """Number of embedding rows: ``n_symbols`` (sum) or ``2 n_symbols`` (concat)."""
        return self.n_symbols * (1 if self.encoding == "sum" else 2)

    @cached_property
    def slots(self) -> np.ndarray:
        """Embedding rows combined by each example, shape (n_examples, 2)."""
        s = self.pairs.copy()
        if self.encoding == "concat":
            s[:, 1] += self.n_symbols
        return _readonly(s)

    @cached_property
    def class_order(self) -> tuple[np.ndarray, np.ndarray]:
        """Examples grouped by class: ``(order, offsets)``; class ``s`` is
        ``order[offsets[s]:offsets[s+1]]``."""
        order = np.argsort(self.results, kind="stable")
        counts = np.bincount(self.results, minlength=self.n_classes)
        offsets = np.concatenate([[0], np.cumsum(counts)])
        return _readonly(order.astype(np.int64)), _readonly(offsets.astype(np.int64))

    def example_index(self, a, b) -> np.ndarray:
        """Example indices of symbol-index pairs ``(a, b)`` (-1 where there is none)."""
        return self._index_table[np.asarray(a), np.asarray(b)]

    def __repr__(self) -> str:
        return (
            f"Task(name={self.name!r}, p={self.p}, n_symbols={self.n_symbols}, "
            f"n_examples={self.n_examples}, n_classes={self.n_classes}, encoding={self.encoding!r})"
        )


def is_prime(n: int) -> bool:
    """Deterministic primality test by trial division (fine for task sizes)."""
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    f = 3
    while f * f <= n:
        if n % f == 0:
            return False
        f += 2
    return True


def task_from_table(
    table,
    *,
    name: str = "table",
    symbols=None,
    p: int | None = None,
    encoding: str | None = None,
) -> Task:
    """Build a task from an operation table ``table[a, b] = result label``.

    Parameters
    ----------
    table : array_like of int, shape (n, n)
        Result label of every ordered pair of symbol indices.
    name : str
        Name recorded on the task.
    symbols : array_like of int, optional
        Labels of the ``n`` symbols (default ``0..n-1``).
    p : int, optional
        Size parameter to record.
    encoding : {"sum", "concat"}, optional
        Default: ``"sum"`` for a symmetric table, ``"concat"`` otherwise.

    Examples
    --------
    >>> t = task_from_table([[0, 1], [1, 0]], name="xor")
    >>> t.n_examples, t.n_classes, t.commutative
    (3, 2, True)
    """
    table = np.asarray(table)
    if table.ndim != 2 or table.shape[0] != table.shape[1] or table.shape[0] < 1:
        raise ValueError(f"operation table must be a non-empty square matrix, got shape {table.shape}")
    if not np.issubdtype(table.dtype, np.integer):
        raise ValueError(f"operation table must hold integer result labels, got dtype {table.dtype}")
    n = table.shape[0]
    commutative = bool(np.array_equal(table, table.T))
    if encoding is None:
        encoding = "sum" if commutative else "concat"
    choice("encoding", encoding, ("sum", "concat"))
    n_examples = n * (n + 1) // 2 if commutative else n * n
    if n_examples > MAX_EXAMPLES:
        raise ValueError(f"task would have {n_examples} examples; at most {MAX_EXAMPLES} are supported")
    if commutative:
        a, b = np.triu_indices(n)
    else:
        a, b = np.indices((n, n)).reshape(2, -1)
    a = a.astype(np.int64)
    b = b.astype(np.int64)
    labels, results = np.unique(table[a, b], return_inverse=True)
    index_table = np.full((n, n), -1, dtype=np.int64)
    index_table[a, b] = np.arange(a.size)
    if commutative:
        index_table[b, a] = np.arange(a.size)
    symbols = np.arange(n) if symbols is None else np.asarray(symbols)
    if symbols.shape != (n,):
        raise ValueError(f"symbols must have shape ({n},), got {symbols.shape}")
    return Task(
        name=name,
        p=p,
        symbols=_readonly(symbols),
        pairs=_readonly(np.stack([a, b], axis=1)),
        results=_readonly(results.astype(np.int64)),
        result_labels=_readonly(labels),
        commutative=commutative,
        encoding=encoding,
        _index_table=_readonly(index_table),
    )


def group_task(table, *, name: str = "group", encoding: str | None = None) -> Task:
    """Task of a finite group given by its multiplication table (checked to be a group).

    ``table[a, b]`` is the index of the product ``a·b``.  The table must be a Latin square
    with an identity and be associative.
    """
    table = np.asarray(table)
    if table.ndim != 2 or table.shape[0] != table.shape[1] or table.shape[0] < 1:
        raise ValueError(f"group table must be a non-empty square matrix, got shape {table.shape}")
    n = table.shape[0]
    if not np.issubdtype(table.dtype, np.integer) or table.min() < 0 or table.max() >= n:
        raise ValueError(f"group table entries must be element indices in 0..{n - 1}")
    rows_ok = all(np.unique(r).size == n for r in table)
    cols_ok = all(np.unique(c).size == n for c in table.T)
    if not (rows_ok and cols_ok):
        raise ValueError("group table is not a Latin square (some product repeats in a row or column)")
    ident = [
        e
        for e in range(n)
        if np.array_equal(table[e], np.arange(n)) and np.array_equal(table[:, e], np.arange(n))
    ]
    if not ident:
        raise ValueError("group table has no identity element")
    # (a·b)·c = table[table[a, b], c] against a·(b·c) = table[a, table[b, c]]
    lhs = table[table[:, :, None], np.arange(n)[None, None, :]]
    rhs = table[np.arange(n)[:, None, None], table[None, :, :]]
    if not np.array_equal(lhs, rhs):
        raise ValueError("group table is not associative")
    return task_from_table(table, name=name, p=None, encoding=encoding)


def symmetric_group_task(degree: int, *, encoding: str | None = None) -> Task:
    """Task of composition in the symmetric group S_degree (elements in lexicographic order).

    The product ``a·b`` is the permutation ``x ↦ a(b(x))``.

    Examples
    --------
    >>> t = symmetric_group_task(3)
    >>> t.n_symbols, t.n_examples, t.commutative, t.encoding
    (6, 36, False, 'concat')
    """
    degree = integer("degree", degree, lo=1, hi=6)
    perms = list(itertools.permutations(range(degree)))
    index = {q: k for k, q in enumerate(perms)}
    n = len(perms)
    table = np.empty((n, n), dtype=np.int64)
    for i, a in enumerate(perms):
        for j, b in enumerate(perms):
            table[i, j] = index[tuple(a[b[x]] for x in range(degree))]
    return group_task(table, name=f"s{degree}", encoding=encoding)


def _modular_task(name: str, p: int, op) -> Task:
    s = np.arange(1, p) if name == "mul-mod" else np.arange(p)
    table = op(s[:, None], s[None, :]) % p
    return task_from_table(table, name=name, symbols=s, p=p)


_MAX_P = 6000

_BUILDERS = {
    "add": lambda p: task_from_table(np.add.outer(np.arange(p), np.arange(p)), name="add", p=p),
    "add-mod": lambda p: _modular_task("add-mod", p, np.add),
    "sub-mod": lambda p: _modular_task("sub-mod", p, np.subtract),
    "mul-mod": lambda p: _modular_task("mul-mod", p, np.multiply),
    "s3": lambda p: symmetric_group_task(3),
}

#: Names accepted by :func:`make_task`.
TASK_NAMES = tuple(_BUILDERS)


def make_task(name: str, p: int | None = None) -> Task:
    """Build a named task.

    Parameters
    ----------
    name : {"add", "add-mod", "sub-mod", "mul-mod", "s3"}
        ``add``: non-modular ``a + b`` on ``0..p-1`` (results ``0..2p-2``);
        ``add-mod``/``sub-mod``: ``a ± b mod p`` on ``0..p-1``;
        ``mul-mod``: ``a·b mod p`` on ``1..p-1`` (``p`` prime);
        ``s3``: composition in the symmetric group S3 (``p`` must be omitted or 6).
    p : int
        Number of symbols (modulus), ``p ≥ 2``.

    Examples
    --------
    >>> t = make_task("add", 10)
    >>> t.n_examples, t.n_classes
    (55, 19)
    >>> make_task("add", 10) is t   # tasks are immutable and cached
    True
    """
    if name not in _BUILDERS:
        raise ValueError(f"unknown task {name!r}; allowed: {', '.join(TASK_NAMES)}")
    if name == "s3":
        if p is not None and p != 6:
            raise ValueError(f"task 's3' has 6 symbols; p must be omitted or 6, got {p!r}")
        return _cached_task(name, 6)
    if p is None:
        raise ValueError(f"task {name!r} needs p (the number of symbols)")
    p = integer("p", p, lo=2, hi=_MAX_P)
    if name == "mul-mod":
        if p < 3 or not is_prime(p):
            raise ValueError(f"mul-mod needs a prime p >= 3, got {p}")
    return _cached_task(name, p)


def as_task(task, p: int | None = None, *, where: str = "") -> Task:
    """``task`` itself if it is a :class:`Task`, else the named task ``make_task(task, p)``.

    Every public function that takes a task accepts its name this way (see
    :func:`takes_task`); a name without the size it needs is refused with the call to write.

    >>> as_task("add", 10) is make_task("add", 10)
    True
    >>> as_task("add")
    Traceback (most recent call last):
    ValueError: task "add" needs its size: pass p=..., e.g. ("add", p=10), or make_task("add", 10)
    """
    if isinstance(task, Task):
        if p is not None and p != task.p:
            raise ValueError(f"p={p!r} was given with a task of p={task.p}; give one of them")
        return task
    if isinstance(task, str):
        if p is None and task in _BUILDERS and task != "s3":
            call = f"{where}(" if where else "("
            raise ValueError(
                f"task {task!r} needs its size: pass p=..., e.g. {call}{task!r}, p=10), "
                f"or make_task({task!r}, 10)".replace("'", '"')
            )
        return make_task(task, p)
    raise ValueError(
        f"task must be a Task (make_task(name, p)) or a task name ({', '.join(TASK_NAMES)}), "
        f"got {type(task).__name__}"
    )


def takes_task(fn):
    """Let ``fn``'s first argument, ``task``, also be a task name, with its size as the
    keyword ``p`` (converted by :func:`as_task`): ``critical_fraction("add", p=10)`` is
    ``critical_fraction(make_task("add", 10))``.

    >>> @takes_task
    ... def n_examples(task):
    ...     return task.n_examples
    >>> n_examples("add", p=10), n_examples(make_task("add", 10))
    (55, 55)
    """
    sig = inspect.signature(fn)
    name = fn.__name__
    if next(iter(sig.parameters), None) != "task" or "p" in sig.parameters:
        raise TypeError(f"takes_task: {name} must take 'task' first and no 'p'")  # pragma: no cover

    @functools.wraps(fn)
    def accepting_a_name(task, *args, p: int | None = None, **kwargs):
        return fn(as_task(task, p, where=name), *args, **kwargs)

    extra = inspect.Parameter("p", inspect.Parameter.KEYWORD_ONLY, default=None, annotation="int | None")
    params = list(sig.parameters.values())
    at = next((k for k, q in enumerate(params) if q.kind is inspect.Parameter.VAR_KEYWORD), len(params))
    accepting_a_name.__signature__ = sig.replace(parameters=[*params[:at], extra, *params[at:]])
    return accepting_a_name


@lru_cache(maxsize=16)
def _cached_task(name: str, p: int) -> Task:
    # tasks are immutable, so one instance per (name, p) lets the per-task caches
    # (class order, parallelograms, full-table spectrum) serve every job of a scan
    return _BUILDERS[name](p)


@dataclass(frozen=True, eq=False)
class Split:
    """A training/test partition of a task's examples (sorted example indices)."""

    train: np.ndarray
    test: np.ndarray
    n_examples: int

    @property
    def n_train(self) -> int:
        return int(self.train.size)

    @property
    def fraction(self) -> float:
        """Training fraction ``r = n_train / n_examples``."""
        return self.n_train / self.n_examples

    @cached_property
    def mask(self) -> np.ndarray:
        """Boolean training mask over the task's examples."""
        m = np.zeros(self.n_examples, dtype=bool)
        m[self.train] = True
        return _readonly(m)


@takes_task
def split_from_indices(task: Task, train) -> Split:
    """Split whose training set is the given example indices (must be distinct, in range)."""
    train = np.asarray(train)
    if train.ndim != 1 or (train.size and not np.issubdtype(train.dtype, np.integer)):
        raise ValueError("training example indices must be a 1-D integer array")
    train = train.astype(np.int64)
    if train.size == 0:
        raise ValueError("the training set is empty")
    bad = train[(train < 0) | (train >= task.n_examples)]
    if bad.size:
        raise ValueError(f"example index {bad[0]} out of range 0..{task.n_examples - 1}")
    uniq, counts = np.unique(train, return_counts=True)
    if np.any(counts > 1):
        dup = uniq[counts > 1][0]
        a, b = task.symbols[task.pairs[dup]]
        raise ValueError(f"example ({a},{b}) appears more than once in the training set")
    test = np.setdiff1d(np.arange(task.n_examples), uniq, assume_unique=True)
    return Split(train=_readonly(uniq), test=_readonly(test), n_examples=task.n_examples)


@takes_task
def split_from_pairs(task: Task, pairs) -> Split:
    """Split whose training set is given as symbol-label pairs ``[(a, b), ...]``.

    For commutative tasks ``(a, b)`` and ``(b, a)`` name the same example.
    """
    arr = np.asarray(pairs)
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] == 0:
        raise ValueError("training pairs must be a non-empty list of (a, b) symbol pairs")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError("training pairs must be integers (symbol labels)")
    lookup = {int(s): k for k, s in enumerate(task.symbols)}
    idx = np.empty(arr.shape[0], dtype=np.int64)
    for r, (a, b) in enumerate(arr):
        if int(a) not in lookup or int(b) not in lookup:
            raise ValueError(
                f"pair ({a},{b}) is out of range: symbols of task {task.name!r} are "
                f"{task.symbols[0]}..{task.symbols[-1]}"
            )
        idx[r] = task.example_index(lookup[int(a)], lookup[int(b)])
    return split_from_indices(task, idx)


@takes_task
def random_split(
    task: Task, *, fraction: float | None = None, size: int | None = None, seed: int = 0
) -> Split:
    """Uniformly random training set of a given fraction or size.

    ``n_train = round(fraction · n_examples)`` (fraction in (0, 1]); exactly one of
    ``fraction`` and ``size`` must be given.  The draw uses ``numpy.random.default_rng(seed)``.

    Examples
    --------
    >>> s = random_split(make_task("add", 10), fraction=0.8, seed=58)
    >>> s.n_train, s.test.size
    (44, 11)
    """
    if (fraction is None) == (size is None):
        raise ValueError("give exactly one of fraction and size")
    n = task.n_examples
    if fraction is not None:
        size = int(np.floor(check_fraction("training fraction", fraction) * n + 0.5))
        if size < 1:
            raise ValueError(
                f"training fraction {fraction} gives no training example for a task with {n} examples"
            )
    size = integer("training size", size, lo=1, hi=n)
    seed = integer("seed", seed, lo=0)
    rng = np.random.default_rng(seed)
    return split_from_indices(task, rng.choice(n, size=size, replace=False))
