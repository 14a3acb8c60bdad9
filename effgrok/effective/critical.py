"""Probability that a random training set pins the structure, and the critical size.

Method
------
Prefixes of a uniformly random ordering of the examples are uniformly random training
sets of every size at once, and adding examples can only lower the nullity.  So for
each random ordering ``k`` effgrok finds its *pinning size* ``T_k``: the smallest prefix
length whose training nullity equals the full-table nullity.  Then, for every size ``n``,

    P̂(pinned | n) = #{k : T_k ≤ n} / S

is an unbiased estimate from ``S`` uniformly random training sets of size ``n`` (the same
orderings serve all sizes -- common random numbers -- so the curve is exactly monotone).

The critical size is the ½-crossing of the (linearly interpolated) curve, close to the median
of ``T``; its interval inverts the pointwise Clopper–Pearson band, and the exact
distribution-free order-statistic interval of the median of ``T`` (binomial with ``q = ½``)
is reported beside it.  ``r_c = n_c / |D0|``.

Two exact-in-practice ways to find ``T_k``:

``"incremental"``
    feed constraint rows ``u_x − u_first(class)`` in order to a reduced row-echelon
    basis kept *exactly* over the prime field GF(2³¹−1) (Numba, parallel over orderings).
    Cost ``O(p³)`` per ordering, no tolerance.  Rank over GF(q) can only undercount the
    rational rank, and only if ``q`` divides every maximal minor -- not seen in any test.
``"bisect"``
    for large tasks: bracket ``T_k`` from below by counting constraint rows, gallop up,
    then bisect; each probe assembles ``G_D`` per class and tests ``G_D + s·P0 − τI``
    for positive definiteness with one LAPACK Cholesky (``P0`` projects on the full-table
    null space, which every ``G_D`` annihilates).  ``O(p³/3)`` per probe with BLAS.

Random orderings come from SplitMix64 streams seeded per ordering from
``SeedSequence(seed, spawn_key=coords)``, so results are identical whatever the method,
chunking or number of workers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numba as nb
import numpy as np

from .._checks import choice, fraction, integer
from .._parallel import Threaded, thread_count
from .._record import Result, jsonable
from ..tasks import TASK_NAMES, Task, make_task, takes_task
from .constraints import _gram_grouped, _group_by_class
from .spectrum import full_table_null_space, full_table_nullity

__all__ = [
    "CriticalResult",
    "critical_fraction",
    "critical_scan",
    "median_interval",
    "pinned_fraction",
    "pinning_sizes",
    "random_ordering",
    "summarize_pinning_sizes",
]

_PRIME = np.int64(2147483647)  # 2**31 - 1
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_INCREMENTAL_MAX_SLOTS = 2048
_CHUNK = 256


# --------------------------------------------------------------------------- random orderings
@nb.njit(cache=True, inline="always")
def _mix64(z):  # pragma: no cover - compiled
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@nb.njit(cache=True, nogil=True)
def _stream_start(key, k):  # pragma: no cover - compiled
    return _mix64(key ^ _mix64(np.uint64(k) + np.uint64(1)))


@nb.njit(cache=True, inline="always")
def _below(state, n):  # pragma: no cover - compiled
    """Unbiased integer in [0, n) from a SplitMix64 stream (rejection on 2⁶⁴ mod n)."""
    n64 = np.uint64(n)
    threshold = (np.uint64(0) - n64) % n64
    while True:
        state = state + _GOLDEN
        r = _mix64(state)
        if r >= threshold:
            return state, np.int64(r % n64)


@nb.njit(cache=True, inline="always")
def _swap_in(perm, t, state):  # pragma: no cover - compiled
    """Fisher–Yates step ``t``: swap a uniform pick of ``perm[t:]`` into ``perm[t]``; the new state."""
    state, j = _below(state, perm.shape[0] - t)
    j += t
    x = perm[j]
    perm[j] = perm[t]
    perm[t] = x
    return state


@nb.njit(cache=True, nogil=True)
def _shuffle_prefix(perm, m, key, index):  # pragma: no cover - compiled
    """Fisher–Yates on the first ``m`` positions of ``perm = 0..N-1`` with stream ``index``."""
    n = perm.shape[0]
    for i in range(n):
        perm[i] = i
    state = _stream_start(key, index)
    for t in range(m):
        state = _swap_in(perm, t, state)


def _key(seed: int, coords: tuple[int, ...]) -> np.uint64:
    ss = np.random.SeedSequence(seed, spawn_key=tuple(int(c) for c in coords))
    return np.uint64(ss.generate_state(1, np.uint64)[0])


def random_ordering(n_examples: int, seed: int, index: int, coords: tuple[int, ...] = ()) -> np.ndarray:
    """The ``index``-th random ordering of ``0..n_examples-1`` used by the critical scans."""
    perm = np.empty(n_examples, dtype=np.int64)
    _shuffle_prefix(perm, n_examples, _key(seed, coords), index)
    return perm


# --------------------------------------------------------------------------- exact incremental rank
@nb.njit(cache=True, inline="always")
def _inv_mod(a):  # pragma: no cover - compiled
    result = np.int64(1)
    e = _PRIME - 2
    b = a
    while e > 0:
        if e & 1:
            result = result * b % _PRIME
        b = b * b % _PRIME
        e >>= 1
    return result


@nb.njit(cache=True, nogil=True)
def _pinning_size_one(
    slots, results, n_classes, n_slots, target_rank, state, max_size, perm, basis, pivot_row, first, row
):  # pragma: no cover - compiled
    """Smallest prefix length at which the rank reaches ``target_rank`` (or max_size+1)."""
    n = slots.shape[0]
    for i in range(n):
        perm[i] = i
    first[:] = -1
    pivot_row[:] = -1
    rank = 0
    if target_rank == 0:
        return 1
    for t in range(max_size):
        state = _swap_in(perm, t, state)
        x = perm[t]
        s = results[x]
        y = first[s]
        if y < 0:
            first[s] = x
            continue
        # row = u_x − u_y, in GF(q)
        sup0 = slots[x, 0]
        sup1 = slots[x, 1]
        sup2 = slots[y, 0]
        sup3 = slots[y, 1]
        row[sup0] += 1
        row[sup1] += 1
        row[sup2] += _PRIME - 1
        row[sup3] += _PRIME - 1
        for c in (sup0, sup1, sup2, sup3):
            row[c] %= _PRIME
        for c in (sup0, sup1, sup2, sup3):
            pr = pivot_row[c]
            f = row[c]
            if pr >= 0 and f != 0:
                for k in range(n_slots):
                    b = basis[pr, k]
                    if b != 0:
                        row[k] = (row[k] + (_PRIME - f) * b) % _PRIME
        piv = -1
        for k in range(n_slots):
            if row[k] != 0:
                piv = k
                break
        if piv < 0:
            continue  # dependent row (row is already all zero)
        inv = _inv_mod(row[piv])
        for k in range(n_slots):
            if row[k] != 0:
                row[k] = row[k] * inv % _PRIME
        for i in range(rank):
            f = basis[i, piv]
            if f != 0:
                for k in range(n_slots):
                    if row[k] != 0:
                        basis[i, k] = (basis[i, k] + (_PRIME - f) * row[k]) % _PRIME
        for k in range(n_slots):
            basis[rank, k] = row[k]
            row[k] = 0
        pivot_row[piv] = rank
        rank += 1
        if rank == target_rank:
            return t + 1
    return max_size + 1


@nb.njit(cache=True, nogil=True)
def _pinning_block(
    b,
    out,
    slots,
    results,
    n_classes,
    n_slots,
    target_rank,
    key,
    start,
    count,
    max_size,
    perm,
    basis,
    pivot_row,
    first,
    row,
):  # pragma: no cover - compiled
    """Orderings ``b, b + n_blocks, ...`` of a chunk, on workspace ``b`` (of ``n_blocks``, one
    row of ``perm`` each)."""
    for k in range(b, count, perm.shape[0]):
        state = _stream_start(key, start + k)
        out[k] = _pinning_size_one(
            slots,
            results,
            n_classes,
            n_slots,
            target_rank,
            state,
            max_size,
            perm[b],
            basis[b],
            pivot_row[b],
            first[b],
            row[b],
        )


@nb.njit(cache=True, nogil=True)
def _blocks_range(start, stop, *args):  # pragma: no cover - compiled
    for b in range(start, stop):
        _pinning_block(b, *args)


#: ``_blocks(n_blocks, *args)``: ``_pinning_block(b, *args)`` for every block ``b``.
_blocks = Threaded(_blocks_range)


def _pinning_sizes_incremental(task: Task, target_rank: int, key, start: int, count: int, max_size: int):
    """Pinning sizes of orderings ``start .. start + count − 1`` (one exact basis per block)."""
    n_blocks = _n_blocks(count, task.n_slots)
    n_slots, n_classes = task.n_slots, task.n_classes
    out = np.empty(count, dtype=np.int64)
    perm = np.empty((n_blocks, task.slots.shape[0]), dtype=np.int64)
    basis = np.zeros((n_blocks, max(target_rank, 1), n_slots), dtype=np.int64)
    pivot_row = np.empty((n_blocks, n_slots), dtype=np.int64)
    first = np.empty((n_blocks, n_classes), dtype=np.int64)
    row = np.zeros((n_blocks, n_slots), dtype=np.int64)
    problem = (task.slots, task.results, n_classes, n_slots, target_rank)
    work = (perm, basis, pivot_row, first, row)
    _blocks(n_blocks, out, *problem, key, np.int64(start), np.int64(count), np.int64(max_size), *work)
    return out


# --------------------------------------------------------------------------- bisection with Cholesky
@nb.njit(cache=True, nogil=True)
def _first_countable(results, perm, n_classes, target_rank):  # pragma: no cover - compiled
    """Smallest prefix with at least ``target_rank`` constraint rows (|prefix| − classes seen)."""
    seen = np.zeros(n_classes, dtype=np.bool_)
    rows = 0
    if target_rank == 0:
        return 1
    for t in range(perm.shape[0]):
        s = results[perm[t]]
        if seen[s]:
            rows += 1
            if rows >= target_rank:
                return t + 1
        else:
            seen[s] = True
    return perm.shape[0]


class _CholeskyProbe:
    """Tests "prefix of length m pins the structure" by one Cholesky factorisation."""

    def __init__(self, task: Task):
        from scipy.linalg import lapack  # here: only the bisect method needs LAPACK (0.25 s to import)

        self._dpotrf = lapack.dpotrf
        self.task = task
        basis = full_table_null_space(task)
        self.projector = basis @ basis.T

    def __call__(self, perm: np.ndarray, m: int) -> bool:
        t = self.task
        members, offsets = _group_by_class(t.results, perm[:m], t.n_classes)
        g = _gram_grouped(t.slots, members, offsets, t.n_slots)
        diag_max = float(np.max(np.diag(g))) if g.size else 0.0
        s = max(1.0, diag_max)
        tau = 1e-9 * s
        g += s * self.projector
        g[np.diag_indices_from(g)] -= tau
        _, info = self._dpotrf(g, lower=1, overwrite_a=1, clean=0)
        return info == 0


def _pinning_size_bisect(probe: _CholeskyProbe, perm: np.ndarray, target_rank: int) -> int:
    n = perm.shape[0]
    lo = _first_countable(probe.task.results, perm, probe.task.n_classes, target_rank) - 1
    hi = lo + 1
    while hi < n and not probe(perm, hi):
        lo = hi
        hi = min(n, hi + max(1, hi // 2))
    # invariant: prefix lo is not pinned (or lo = 0), prefix hi is pinned
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if probe(perm, mid):
            hi = mid
        else:
            lo = mid
    return max(hi, 1)


# --------------------------------------------------------------------------- public API
def _n_blocks(count: int, n_slots: int) -> int:
    """Work blocks of the parallel kernel (each holds an ``n_slots²`` exact basis)."""
    per_thread = 4 if n_slots <= 256 else 1
    return max(1, min(count, per_thread * thread_count()))


_METHODS = ("auto", "incremental", "bisect")


def _choose_method(task: Task, method: str) -> str:
    choice("method", method, _METHODS)
    if method == "auto":
        return "incremental" if task.n_slots <= _INCREMENTAL_MAX_SLOTS else "bisect"
    return method


@takes_task
def pinning_sizes(
    task: Task,
    n_orderings: int,
    *,
    seed: int = 0,
    coords: tuple[int, ...] = (),
    method: str = "auto",
    start: int = 0,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Pinning size ``T_k`` of ``n_orderings`` random orderings of the task's examples.

    ``T_k`` is the smallest ``n`` such that the first ``n`` examples of ordering ``k``
    pin the structure (training nullity = full-table nullity).

    Parameters
    ----------
    task : Task
    n_orderings : int
        Number of random orderings ``S``.
    seed : int
        User seed; ordering ``k`` is drawn from ``SeedSequence(seed, spawn_key=coords)``
        and ``k`` alone, so any subset of orderings can be recomputed independently.
    coords : tuple of int
        Grid coordinates of this job (e.g. ``(p,)`` in a scan over ``p``).
    method : {"auto", "incremental", "bisect"}
        ``auto`` takes ``incremental`` up to 2048 embedding rows, ``bisect`` above
        (where one exact basis per thread would take too much memory).
    start : int
        Index of the first ordering: orderings ``start .. start + n_orderings − 1`` are
        computed, so a long scan can be split into chunks with identical results.
    progress : callable, optional
        Called with the number of orderings finished since the last call.

    Returns
    -------
    ndarray of int64, shape (n_orderings,)
    """
    n_orderings = integer("n_orderings", n_orderings, lo=1)
    seed = integer("seed", seed, lo=0)
    start = integer("start", start, lo=0)
    method = _choose_method(task, method)
    target = task.n_slots - full_table_nullity(task)
    key = _key(seed, coords)
    out = np.empty(n_orderings, dtype=np.int64)
    if method == "incremental":
        for lo in range(0, n_orderings, _CHUNK):
            count = min(_CHUNK, n_orderings - lo)
            out[lo : lo + count] = _pinning_sizes_incremental(
                task, target, key, start + lo, count, task.n_examples
            )
            if progress is not None:
                progress(count)
    else:
        probe = _CholeskyProbe(task)
        perm = np.empty(task.n_examples, dtype=np.int64)
        for k in range(n_orderings):
            _shuffle_prefix(perm, task.n_examples, key, start + k)
            out[k] = _pinning_size_bisect(probe, perm, target)
            if progress is not None:
                progress(1)
    return out


@takes_task
def pinned_fraction(
    task: Task, n_train: int, splits: int, *, seed: int = 0, coords: tuple[int, ...] = ()
) -> float:
    """Fraction of ``splits`` independent uniformly random training sets of size ``n_train``
    that pin the structure (exact GF(q) rank).  Orderings are keyed by ``coords + (n_train,)``,
    so different sizes use independent draws."""
    n_train = integer("n_train", n_train, lo=1, hi=task.n_examples)
    splits = integer("splits", splits, lo=1)
    target = task.n_slots - full_table_nullity(task)
    key = _key(integer("seed", seed, lo=0), (*coords, n_train))
    t = _pinning_sizes_incremental(task, target, key, 0, splits, n_train)
    return float(np.mean(t <= n_train))


def _binom_half_cdf(k, n: int) -> np.ndarray:
    """``P(X ≤ k)`` for ``X ~ Binomial(n, ½)``: the regularized incomplete beta
    ``I_½(k + 1, n − k)`` complemented (``scipy.special`` only: ``scipy.stats`` takes most of a
    second to import, more than the whole computation of ``effgrok critical``)."""
    from scipy.special import betaincc

    k = np.asarray(k, dtype=np.float64)
    inside = np.clip(k, 0, n - 1)
    return np.where(k < 0, 0.0, np.where(k >= n, 1.0, betaincc(inside + 1, n - inside, 0.5)))


def median_interval(n: int, confidence: float) -> tuple[int, int, float]:
    """1-based order statistics ``(j, k)`` with ``P(X_(j) ≤ median ≤ X_(k)) ≥ confidence``.

    Distribution-free: the number of samples below the median is Binomial(n, ½), so the
    coverage of ``(j, k = n − j + 1)`` is ``F(k − 1) − F(j − 1)`` with ``F`` its distribution
    function; ``j`` starts at the ``α/2`` quantile of ``F`` and goes down until the coverage is
    reached.  Returns ``(j, k, coverage)``.

    Examples
    --------
    >>> j, k, cov = median_interval(101, 0.95)
    >>> (j, k), round(cov, 4)
    ((41, 61), 0.954)
    """
    alpha = 1.0 - confidence
    j, top = 0, n  # smallest j with F(j) >= α/2, by bisection (F(n) = 1): O(log n) values of F
    while j < top:
        mid = (j + top) // 2
        if _binom_half_cdf(mid, n) >= alpha / 2:
            top = mid
        else:
            j = mid + 1
    while j >= 1 and _binom_half_cdf(n - j, n) - _binom_half_cdf(j - 1, n) < confidence:
        j -= 1
    j = max(j, 1)
    k = n - j + 1
    coverage = float(_binom_half_cdf(k - 1, n) - _binom_half_cdf(j - 1, n))
    return j, k, coverage


def _clopper_pearson(successes: np.ndarray, n: int, confidence: float) -> np.ndarray:
    """Clopper–Pearson interval of ``successes`` out of ``n``: quantiles ``α/2`` and ``1 − α/2``
    of Beta(s, n − s + 1) and Beta(s + 1, n − s), by the inverse regularized incomplete beta."""
    from scipy.special import betaincinv

    alpha = 1.0 - confidence
    s = np.asarray(successes, dtype=np.float64)
    lo_s, hi_s = np.maximum(s, 1.0), np.minimum(s, n - 1.0)  # keep the unused branch finite
    lo = np.where(s > 0, betaincinv(lo_s, n - lo_s + 1, alpha / 2), 0.0)
    hi = np.where(s < n, betaincinv(hi_s + 1, n - hi_s, 1 - alpha / 2), 1.0)
    return np.stack([lo, hi], axis=1)


@dataclass(frozen=True)
class CriticalResult(Result):
    """P(structure pinned) curve and the critical training size of one task.

    Attributes
    ----------
    task : str
    p : int or None
    n_examples : int
        ``|D0|``; fractions are ``n_train / n_examples``.
    splits : int
        Random training sets per size (orderings).
    seed : int
    confidence : float
    method : str
    pinning_sizes : ndarray of int64
        ``T_k`` for every ordering.
    sizes : ndarray of int64
        Training sizes on the curve (every size when ``n_examples ≤ 500``).
    p_pinned : ndarray of float
        ``P̂(pinned | n)`` at ``sizes``.
    p_pinned_ci : ndarray, shape (len(sizes), 2)
        Clopper–Pearson interval of each point.
    n_c : float
        ½-crossing of the curve, linearly interpolated between neighbouring sizes.
    n_c_ci : tuple of float
        Where the upper and the lower pointwise Clopper–Pearson band cross ½ (binomial
        interval inverted along the curve).
    r_c, r_c_ci
        ``n_c`` and ``n_c_ci`` as fractions of ``n_examples``.
    median_size : int
        Median pinning size ``T_(⌈S/2⌉)``: the smallest ``n`` with ``P̂ ≥ ½``.
    median_size_ci : tuple of int
        Exact distribution-free order-statistic interval of the population median of ``T``
        (coverage ``median_ci_coverage ≥ confidence``).
    """

    task: str
    p: int | None
    n_examples: int
    splits: int
    seed: int
    confidence: float
    method: str
    pinning_sizes: np.ndarray
    sizes: np.ndarray
    p_pinned: np.ndarray
    p_pinned_ci: np.ndarray
    n_c: float
    n_c_ci: tuple[float, float]
    r_c: float
    r_c_ci: tuple[float, float]
    median_size: int
    median_size_ci: tuple[int, int]
    median_ci_coverage: float

    @property
    def fractions(self) -> np.ndarray:
        return self.sizes / self.n_examples

    def curve_rows(self) -> list[dict]:
        """One row per training size of the P(pinned) curve."""
        return [
            {
                "n_train": int(n),
                "fraction": float(n) / self.n_examples,
                "p_pinned": float(pp),
                "p_pinned_ci": [float(lo), float(hi)],
                "splits": self.splits,
            }
            for n, pp, (lo, hi) in zip(self.sizes, self.p_pinned, self.p_pinned_ci, strict=True)
        ]

    def record(self) -> dict:
        """JSON-ready: the settings, ``r_c``/``n_c``/median size with their intervals and the
        ``curve`` (one entry per size; the per-ordering pinning sizes are left out)."""
        keys = ("task", "p", "n_examples", "splits", "seed", "method", "confidence", "r_c", "r_c_ci")
        keys += ("n_c", "n_c_ci", "median_size", "median_size_ci", "median_ci_coverage")
        return jsonable({**{k: getattr(self, k) for k in keys}, "curve": self.curve_rows()})

    def tables(self) -> dict[str, list[dict]]:
        """``curve``: P(pinned) per size with its interval; ``critical``: one summary row."""
        rec = self.record()
        curve = []
        for row in rec["curve"]:
            lo, hi = row["p_pinned_ci"]
            head = {"task": self.task, "p": self.p, "n_train": row["n_train"], "fraction": row["fraction"]}
            curve.append(
                head | {"p_pinned": row["p_pinned"], "ci_low": lo, "ci_high": hi, "splits": self.splits}
            )
        summary = {k: rec[k] for k in ("task", "p", "n_examples", "splits", "seed", "r_c")}
        summary["r_c_ci_low"], summary["r_c_ci_high"] = rec["r_c_ci"]
        summary.update({k: rec[k] for k in ("n_c", "median_size", "method")})
        return {"curve": curve, "critical": [summary]}


def _curve_sizes(T: np.ndarray, n_examples: int, full_below: int = 500, points: int = 120) -> np.ndarray:
    if n_examples <= full_below:
        return np.arange(1, n_examples + 1, dtype=np.int64)
    lo = max(1, int(T.min()) - 1)
    hi = int(T.max())
    grid = np.unique(np.round(np.linspace(lo, hi, points)).astype(np.int64))
    return np.unique(np.concatenate([grid, np.unique(T)])) if np.unique(T).size <= points else grid


def _half_crossing(sizes: np.ndarray, values: np.ndarray) -> float:
    """First point where the piecewise-linear curve through ``(sizes, values)`` reaches ½."""
    i = int(np.searchsorted(values, 0.5, side="left"))
    if i >= values.size:
        return float(sizes[-1])
    if i == 0 or values[i] == values[i - 1]:
        return float(sizes[i])
    return float(
        sizes[i - 1] + (sizes[i] - sizes[i - 1]) * (0.5 - values[i - 1]) / (values[i] - values[i - 1])
    )


@takes_task
def summarize_pinning_sizes(
    task: Task, T: np.ndarray, *, seed: int, confidence: float = 0.95, method: str = "auto"
) -> CriticalResult:
    """Curve, ``n_c`` and ``r_c`` (with CI) from pinning sizes ``T``."""
    T = np.sort(np.asarray(T, dtype=np.int64))
    S = T.size
    N = task.n_examples
    sizes = _curve_sizes(T, N)
    counts = np.searchsorted(T, sizes, side="right")
    p_hat = counts / S
    ci = _clopper_pearson(counts, S, confidence)
    # ½-crossing of the linearly interpolated curve on every integer size, and of its
    # pointwise Clopper–Pearson band (inverted: where the upper/lower band reaches ½)
    grid = np.arange(max(1, int(T[0]) - 1), int(T[-1]) + 1, dtype=np.int64)
    c_grid = np.searchsorted(T, grid, side="right")
    band = _clopper_pearson(c_grid, S, confidence)
    n_c = _half_crossing(grid, c_grid / S)
    n_c_ci = (_half_crossing(grid, band[:, 1]), _half_crossing(grid, band[:, 0]))
    j, kk, coverage = median_interval(S, confidence)
    return CriticalResult(
        task=task.name,
        p=task.p,
        n_examples=N,
        splits=S,
        seed=seed,
        confidence=confidence,
        method=_choose_method(task, method),
        pinning_sizes=T,
        sizes=sizes,
        p_pinned=p_hat,
        p_pinned_ci=ci,
        n_c=n_c,
        n_c_ci=n_c_ci,
        r_c=n_c / N,
        r_c_ci=(n_c_ci[0] / N, n_c_ci[1] / N),
        median_size=int(T[(S + 1) // 2 - 1]),
        median_size_ci=(int(T[j - 1]), int(T[kk - 1])),
        median_ci_coverage=coverage,
    )


@takes_task
def critical_fraction(
    task: Task,
    splits: int = 10_000,
    *,
    seed: int = 0,
    confidence: float = 0.95,
    method: str = "auto",
    coords: tuple[int, ...] = (),
    workers: int | str | None = None,
    scheduler: str | None = None,
    out=None,
    progress: Callable[[int], None] | None = None,
    connect_timeout: float = 10.0,
) -> CriticalResult:
    """Critical training fraction ``r_c``: where P(structure pinned) crosses ½.

    ``P(pinned | n)`` is estimated from ``splits`` uniformly random training sets of every
    size ``n`` (prefixes of random orderings, see the module notes); ``n_c`` is the
    ½-crossing; ``r_c_ci`` inverts the pointwise Clopper–Pearson band (where its upper and
    lower edges cross ½), and ``median_size_ci`` is the exact order-statistic interval of
    the median pinning size.  Liu et al. (2022) report ``r_c ≈ 0.4`` for ``add`` with ``p = 10``.

    By default the orderings are computed in this process (all Numba threads).  ``workers``
    (an integer, or ``"auto"``: in process for short scans, one process per core for long
    ones), ``scheduler`` (a Dask address) or ``out`` (a folder to stream chunks to and
    resume from) run them as chunks through :func:`effgrok.scan.run_scan`; the numbers are
    the same on every executor and any number of workers.  Those need a task made by
    :func:`~effgrok.tasks.make_task`; ``workers`` and ``scheduler`` exclude each other, and
    ``connect_timeout`` is how long to wait for the scheduler (seconds).  ``task`` may be a
    name, with its size ``p``: ``critical_fraction("add", p=10)``.

    Examples
    --------
    >>> from effgrok.tasks import make_task
    >>> res = critical_fraction(make_task("add", 10), splits=2000, seed=0)
    >>> 0.35 < res.r_c < 0.45
    True
    """
    confidence = fraction("confidence", confidence, closed="neither")
    splits, seed = _scan_args(splits, seed, method, workers)
    if workers is None and scheduler is None and out is None:
        T = pinning_sizes(task, splits, seed=seed, coords=coords, method=method, progress=progress)
        return summarize_pinning_sizes(task, T, seed=seed, confidence=confidence, method=method)
    kw = dict(seed=seed, method=method, confidence=confidence, workers=workers, scheduler=scheduler, out=out)
    kw["connect_timeout"] = connect_timeout
    (res,) = run_critical_tasks([task], splits, coords=tuple(coords), progress=progress, **kw)
    return res


def critical_scan(
    name: str,
    ps,
    splits: int = 10_000,
    *,
    seed: int = 0,
    confidence: float = 0.95,
    method: str = "auto",
    workers: int | str | None = None,
    scheduler: str | None = None,
    out=None,
    progress: Callable[[int], None] | None = None,
    connect_timeout: float = 10.0,
) -> list[CriticalResult]:
    """:func:`critical_fraction` for task ``name`` at every ``p`` in ``ps``, as one scan.

    Each ``p`` is keyed by the coordinate ``(p,)``.  ``workers``, ``scheduler`` and ``out``
    as in :func:`critical_fraction` (one store holds every ``p``); the command
    ``effgrok critical`` calls this with ``workers="auto"``.

    Examples
    --------
    >>> [r.p for r in critical_scan("add", [6, 8], 200)]
    [6, 8]
    """
    tasks = [make_task(name, p) for p in ps]  # validates every p before any work
    confidence = fraction("confidence", confidence, closed="neither")
    splits, seed = _scan_args(splits, seed, method, workers)
    if workers is None and scheduler is None and out is None:
        return [
            critical_fraction(
                t, splits, seed=seed, confidence=confidence, method=method, coords=(t.p,), progress=progress
            )
            for t in tasks
        ]
    kw = dict(seed=seed, method=method, confidence=confidence, workers=workers, scheduler=scheduler, out=out)
    kw["connect_timeout"] = connect_timeout
    return run_critical_tasks(tasks, splits, progress=progress, **kw)


def _scan_args(splits, seed, method: str, workers) -> tuple[int, int]:
    """Check the arguments of a scan before any job is built."""
    choice("method", method, _METHODS)
    if workers is not None and workers != "auto":
        integer("workers", workers, lo=1)
    return integer("splits", splits, lo=1), integer("seed", seed, lo=0)


# ------------------------------------------------------------------------------ scan jobs
# The computation as scan jobs (critical_fraction and critical_scan with workers, scheduler
# or out): chunks of orderings per task.  A job recomputes its task from (name, p) and its
# orderings from the seed and the task's coordinates alone, so the numbers are the same on
# any executor and any number of workers.

#: Core-seconds per ordering: ``_EXAMPLE_COST · n_examples + _SLOT_COST · n_slots⁴``, fitted to
#: CPU times measured on one core (issue 25; add p=10 and add-mod p=97, 200, 500, 1000: the fit
#: is within 0.6-1.25x of each).  Decides ``workers="auto"`` and the command's time estimate.
_EXAMPLE_COST = 7e-8
_SLOT_COST = 3.4e-13


def core_seconds(tasks: list[Task], splits: int) -> float:
    """Estimated core-seconds of the pinning sizes of ``splits`` orderings of every task."""
    return float(sum(splits * (t.n_examples * _EXAMPLE_COST + t.n_slots**4 * _SLOT_COST) for t in tasks))


def choose_workers(tasks: list[Task], splits: int, workers, scheduler):
    """``workers`` with ``"auto"`` resolved (see :func:`effgrok.scan.auto_workers`)."""
    from ..scan import auto_workers

    if workers != "auto":
        return workers
    return None if scheduler is not None else auto_workers(core_seconds(tasks, splits))


_KIND = "effgrok.effective.critical:pinning_job"


def pinning_job(task: str, p, splits: int, start: int, seed: int, method: str, coords=None) -> dict:
    """One chunk: pinning sizes of orderings ``start .. start + splits − 1`` of task ``(task, p)``."""
    t = make_task(task, p)
    if coords is None:  # the scan's coordinate, (p,)
        coords = (t.p,) if t.p is not None else ()
    T = pinning_sizes(t, splits, seed=seed, coords=tuple(coords), method=method, start=start)
    return {"pinning_sizes": T}


def _jobs(t: Task, splits: int, seed: int, method: str, coords) -> list:
    from ..scan import chunk_jobs, chunk_size

    def params(start: int, n: int) -> dict:
        out = {"task": t.name, "p": t.p, "splits": n, "start": start, "seed": seed, "method": method}
        if coords is not None:
            out["coords"] = list(coords)
        return out

    return chunk_jobs(_KIND, splits, chunk_size(splits), params, prefix=f"{t.name}-p{t.p}")


def run_critical_tasks(
    tasks: list[Task],
    splits: int,
    *,
    seed: int,
    method: str,
    confidence: float,
    coords=None,
    workers,
    scheduler,
    out,
    progress: Callable[[int], None] | None,
    connect_timeout: float = 10.0,
) -> list:
    """:func:`~effgrok.effective.critical.summarize_pinning_sizes` of every task, its pinning
    sizes computed through :func:`effgrok.scan.run_scan` (resumable with ``out``).
    ``coords=None`` keys each task by ``(p,)``; otherwise by ``coords`` (one task only)."""
    from ..scan import ScanStore, gather, run_scan

    for t in tasks:
        if t.name not in TASK_NAMES:
            raise ValueError(
                f"workers, scheduler and out need a task made by make_task (one of "
                f"{', '.join(TASK_NAMES)}); got {t.name!r}"
            )
    per_task = [_jobs(t, splits, seed, method, coords) for t in tasks]
    workers = choose_workers(tasks, splits, workers, scheduler)
    store = None
    if out is not None:
        arguments = {"task": tasks[0].name, "p": [t.p for t in tasks], "splits": splits}
        arguments.update(seed=seed, method=method)
        if coords is not None:
            arguments["coords"] = list(coords)
        store = ScanStore(out, "critical", arguments)
    jobs = [j for js in per_task for j in js]
    executors = dict(workers=workers, scheduler=scheduler, connect_timeout=connect_timeout)
    res = run_scan(jobs, store=store, progress=progress, **executors)
    return [
        summarize_pinning_sizes(
            t, gather(res, js)["pinning_sizes"], seed=seed, confidence=confidence, method=method
        )
        for t, js in zip(tasks, per_task, strict=True)
    ]
