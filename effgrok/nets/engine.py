"""The one training engine of :mod:`effgrok.nets`: run grid, schedule, driver and run results.

Every JAX trainer of effgrok (toy model, modular MLP, transformer, digits MLP, lazy→rich
committee, linear teacher–student) is a model definition -- init, apply, loss, metrics -- on
top of the four pieces here:

* **run grid** -- :func:`run_grid` broadcasts per-run settings (scalars or 1-D arrays) to
  ``R`` runs; :func:`run_rng` gives run ``k`` its own ``numpy.random.SeedSequence(seed_k)``
  generator, so a run's split, initial parameters and random stream do not depend on which or
  how many runs train beside it, nor on chunking; :func:`train_indices` turns per-run training
  masks into padded index arrays (the loss is computed on the training examples only);
* **schedule** -- :func:`schedule` checks ``steps``/``stride`` (and snapshot strides);
  :func:`scan_schedule` runs ``steps`` optimiser steps in a ``jax.lax.scan``, measuring every
  ``stride`` steps on the parameters *before* that step's update, plus once after the last;
* **driver** -- :func:`over_runs` applies a one-run program to every run: ``jax.vmap`` on an
  accelerator, a sequential ``jax.lax.map`` inside the same compiled program on a CPU (issue
  19: faster there); :func:`run_chunks` splits the runs into chunks that fit in memory;
* **run results** -- :class:`Runs`, the base of every trainer's result: recorded ``steps``,
  curves ``[run, record]``, per-run settings and values, :meth:`Runs.first_crossing`,
  :meth:`Runs.record` (JSON-ready) and :meth:`Runs.tables` (rows for CSV).

"Never reached" is :data:`effgrok.constants.NEVER` (NaN) in every step array (float64), never
−1; see :func:`first_crossing` (defined in :mod:`effgrok.constants`, re-exported here).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from typing import ClassVar

import numpy as np

from .. import _checks
from .._interrupt import check_interrupted
from .._record import Result
from .._started import started
from ..constants import first_crossing

__all__ = [
    "Runs",
    "first_crossing",
    "map_chunks",
    "over_runs",
    "per_run_array",
    "per_run_params",
    "run_bytes",
    "run_chunks",
    "run_grid",
    "run_rng",
    "scan_schedule",
    "schedule",
    "seed_array",
    "train_indices",
]


# ---------------------------------------------------------------------------------------------
# run grid


def seed_array(seeds) -> np.ndarray:
    """``seeds`` (an integer or a sequence of them) as a 1-D int64 array of non-negative seeds.

    >>> seed_array(3).tolist(), seed_array([0, 2]).tolist()
    ([3], [0, 2])
    """
    arr = np.atleast_1d(np.asarray(seeds))
    if arr.size == 0 or not np.issubdtype(arr.dtype, np.integer) or np.any(arr < 0):
        raise ValueError(f"seeds must be non-negative integers, got {np.asarray(seeds).tolist()!r}")
    return arr.astype(np.int64).ravel()


def run_grid(**settings) -> tuple[int, dict]:
    """Broadcast per-run settings (scalars or 1-D arrays) to one run axis of length ``R``.

    Returns ``(R, {name: 1-D array of length R})``; the arrays keep their dtypes.  Settings of
    different lengths (other than 1) are refused with the sizes named.

    >>> R, g = run_grid(seeds=[0, 1, 2], learning_rate=1e-3)
    >>> R, g["learning_rate"].tolist()
    (3, [0.001, 0.001, 0.001])
    """
    arrays = {k: np.atleast_1d(np.asarray(v)) for k, v in settings.items()}
    try:
        out = np.broadcast_arrays(*arrays.values())
    except ValueError:
        sizes = ", ".join(f"{k}: {a.size}" for k, a in arrays.items())
        raise ValueError(
            f"per-run arguments must be scalars or sequences of one common length; got sizes {sizes}"
        ) from None
    flat = {k: a.ravel().copy() for k, a in zip(arrays, out, strict=True)}
    return (next(iter(flat.values())).size if flat else 1), flat


def run_rng(seed) -> np.random.Generator:
    """Run ``seed``'s own generator, ``default_rng(SeedSequence(seed))``: the same draws
    whatever batch or chunk the run trains in."""
    return np.random.default_rng(np.random.SeedSequence(int(seed)))


def train_indices(masks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-run training-example indices padded to one length, with 1/0 weights.

    Returns ``(index [runs, n_max], weight [runs, n_max], n_train [runs])``; padding repeats
    example 0 with weight 0.

    >>> idx, w, n = train_indices(np.array([[True, False, True], [False, True, False]]))
    >>> idx.tolist(), w.tolist(), n.tolist()
    ([[0, 2], [1, 0]], [[1.0, 1.0], [1.0, 0.0]], [2, 1])
    """
    n_train = masks.sum(axis=1)
    n_max = max(int(n_train.max()), 1)
    idx = np.zeros((masks.shape[0], n_max), dtype=np.int32)
    w = np.zeros((masks.shape[0], n_max))
    for r, m in enumerate(masks):
        (where,) = np.nonzero(m)
        idx[r, : where.size] = where
        w[r, : where.size] = 1.0
    return idx, w, n_train.astype(np.int64)


def per_run_array(name: str, value, shape: tuple, runs: int, *, binary: bool = False) -> np.ndarray:
    """One run's array (broadcast to ``runs``) or a stack with a leading run axis, checked finite
    (and 0/1 with ``binary``); float64 ``[runs, *shape]``."""
    a = np.asarray(value, dtype=np.float64)
    if a.shape == shape:
        a = np.broadcast_to(a, (runs, *shape))
    elif a.shape != (runs, *shape):
        raise ValueError(f"{name} must have shape {shape} or {(runs, *shape)}, got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinite values")
    if binary and not np.all((a == 0) | (a == 1)):
        raise ValueError(f"{name} must contain only 0 and 1")
    return a


def per_run_params(name: str, tree, shapes: dict, runs: int, *, binary: bool = False) -> dict:
    """Check a parameter dict (keys of ``shapes``) and broadcast each entry to a leading run
    axis (:func:`per_run_array`)."""
    if not isinstance(tree, dict) or set(tree) != set(shapes):
        got = sorted(tree) if isinstance(tree, dict) else type(tree).__name__
        raise ValueError(f"{name} must be a dict with keys {', '.join(shapes)}; got {got}")
    return {
        k: per_run_array(f"{name}[{k!r}]", tree[k], shape, runs, binary=binary) for k, shape in shapes.items()
    }


# ---------------------------------------------------------------------------------------------
# schedule


def schedule(steps, stride, *, snapshot_stride=None, **sizes) -> tuple[int, int, int]:
    """Check a training schedule; returns ``(steps, stride, n_snapshots)``.

    ``steps``, ``stride`` and every size in ``sizes`` are integers >= 1, ``stride`` divides
    ``steps`` (:func:`effgrok._checks.schedule`); ``snapshot_stride`` (optional) is a multiple of
    ``stride`` that divides ``steps``, and ``n_snapshots = steps // snapshot_stride`` (1 without).

    >>> schedule(100, 10, snapshot_stride=50)
    (100, 10, 2)
    """
    steps, stride = _checks.schedule(steps, stride, **sizes)
    if snapshot_stride is None:
        return steps, stride, 1
    ss = snapshot_stride
    if isinstance(ss, bool) or not isinstance(ss, (int, np.integer)) or ss < 1 or ss % stride or steps % ss:
        raise ValueError(
            f"snapshot_stride must be a multiple of stride ({stride}) that divides steps ({steps}), "
            f"got {ss!r}"
        )
    return steps, stride, steps // int(ss)


def scan_schedule(
    step, measure, carry, *, stride: int, records: int, snapshots: int = 1, snap=None, indexed=False
):
    """Run ``records · stride`` steps of ``step`` in nested ``jax.lax.scan`` s, measuring as it goes.

    ``step(carry, x) -> (carry, out)`` is one optimiser step (``x`` is the 0-based step index
    when ``indexed``, else ``None``); ``measure(carry)`` returns a pytree of metrics, taken
    before every ``stride``-th step and once after the last (so curves have ``records + 1``
    entries).  With ``snap(carry)``, a pytree is also kept at ``snapshots + 1`` evenly spaced
    points (``records`` must be a multiple of ``snapshots``).

    Returns ``(carry, curves, outs, snaps)``: ``curves`` leaves ``[records + 1, ...]``, ``outs``
    the per-step outputs ``[steps, ...]`` (``None`` if ``step`` returns ``None``), ``snaps``
    leaves ``[snapshots + 1, ...]`` or ``None``.  Must be called inside a traced function.
    """
    import jax
    import jax.numpy as jnp

    blocks = records // snapshots
    tmap = jax.tree_util.tree_map

    def block(carry, b):
        rec = measure(carry)
        xs = b * stride + jnp.arange(stride, dtype=jnp.int32) if indexed else None
        carry, out = jax.lax.scan(step, carry, xs, length=stride)
        return carry, (rec, out)

    def chunk(carry, c):
        s = None if snap is None else snap(carry)
        xs = c * blocks + jnp.arange(blocks, dtype=jnp.int32) if indexed else None
        carry, out = jax.lax.scan(block, carry, xs, length=blocks)
        return carry, (out, s)

    xs = jnp.arange(snapshots, dtype=jnp.int32) if indexed else None
    carry, ((recs, outs), snaps) = jax.lax.scan(chunk, carry, xs, length=snapshots)
    last = measure(carry)
    curves = tmap(
        lambda r, x: jnp.concatenate([r.reshape(-1, *r.shape[2:]), jnp.asarray(x)[None]]), recs, last
    )
    outs = tmap(lambda o: o.reshape(-1, *o.shape[3:]), outs)
    if snap is not None:
        snaps = tmap(lambda s, x: jnp.concatenate([s, x[None]]), snaps, snap(carry))
    return carry, curves, outs, snaps


# ---------------------------------------------------------------------------------------------
# driver


def over_runs(fn: Callable, in_axes: tuple, vectorize: bool | None = None) -> Callable:
    """``fn`` applied to every run: ``jax.vmap`` on an accelerator; on a CPU a sequential
    ``jax.lax.map`` over runs inside the same compiled program.  ``vectorize=True`` forces
    ``jax.vmap``, ``False`` the sequential map, whatever the device (``None``: by device).

    Why: on a CPU, XLA's batched gathers and batched matrix products (what ``vmap`` makes of
    per-run parameters) measured about 2× slower per run-step than the same runs' 2-D
    products one after another (benchmarks/README.md, issue 19); a CPU has no idle lanes for
    a batch to fill.  Same results either way (each run's arithmetic is the same).
    ``in_axes``: 0 for per-run arguments, ``None`` for shared ones.
    """
    import jax

    if vectorize is None:
        vectorize = jax.default_backend() != "cpu"
    if vectorize:
        return jax.vmap(fn, in_axes=in_axes)

    def mapped(*args):
        per_run = tuple(a for a, ax in zip(args, in_axes, strict=True) if ax == 0)

        def body(xs):
            it = iter(xs)
            return fn(*(next(it) if ax == 0 else a for a, ax in zip(args, in_axes, strict=True)))

        return jax.lax.map(body, per_run)

    return mapped


def _memory_budget() -> int:
    """Bytes one call may use: half the accelerator's memory, or half the free RAM on a CPU."""
    import jax

    dev = jax.devices()[0]
    stats = dev.memory_stats() if dev.platform != "cpu" else None
    if stats and stats.get("bytes_limit"):
        return int(stats["bytes_limit"]) // 2
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (ValueError, OSError, AttributeError):
        return 4 << 30


#: Upper bound on the runs of one compiled call (``None``: only the memory budget limits it).
#: Chunking never changes a run's numbers (every run draws from its own seed); tests lower it.
MAX_RUNS_PER_CHUNK: int | None = None


def run_chunks(runs: int, bytes_per_run: float, *, max_runs: int | None = None) -> list[slice]:
    """Slices of the run axis, each small enough that its runs fit in memory together.

    ``bytes_per_run`` is the caller's estimate of one run's working memory (parameters,
    optimiser state, curves, activations); the budget is half the device memory.  One slice
    (all runs in one program, the fastest) whenever they fit.  ``max_runs`` (default
    :data:`MAX_RUNS_PER_CHUNK`) caps a chunk.

    >>> run_chunks(5, 1.0, max_runs=2)
    [slice(0, 2, None), slice(2, 4, None), slice(4, 5, None)]
    """
    max_runs = MAX_RUNS_PER_CHUNK if max_runs is None else max_runs
    per = max(1, int(_memory_budget() // max(bytes_per_run, 1.0)))
    per = max(1, min(per, runs, max_runs or runs))
    return [slice(i, min(i + per, runs)) for i in range(0, runs, per)]


def run_bytes(params: dict, *, copies: int = 6, extra: float = 0.0, float64: bool = False) -> float:
    """Rough working memory of one run: ``copies`` copies of its parameters (``params``: arrays
    with a leading run axis; parameters, gradients, two optimiser moments, temporaries) plus
    ``extra`` numbers (activations, curves), at 4 or 8 bytes each."""
    n = sum(np.asarray(v)[0].size for v in params.values())
    return (8 if float64 else 4) * (copies * n + extra)


def map_chunks(fn: Callable, runs: int, bytes_per_run: float):
    """``fn(chunk)`` for every chunk (a slice of the run axis, :func:`run_chunks`), its outputs
    (a pytree of numpy arrays with a leading run axis, ``None`` leaves allowed) concatenated
    over the chunks; a single chunk is passed through unchanged.

    >>> map_chunks(lambda sl: {"x": np.arange(6)[sl]}, 6, 1.0)["x"].tolist()
    [0, 1, 2, 3, 4, 5]
    """
    started()
    parts = []
    for sl in run_chunks(runs, bytes_per_run):
        check_interrupted()  # a Ctrl-C that Python dropped (effgrok._interrupt) stops here
        parts.append(fn(sl))
    if len(parts) == 1:
        return parts[0]
    import jax

    return jax.tree_util.tree_map(lambda *xs: np.concatenate(xs), *parts)


# ---------------------------------------------------------------------------------------------
# run results


def _column(v):
    return v.item() if isinstance(v, np.generic) else v


@dataclasses.dataclass(frozen=True)
class Runs(Result):
    """The result of a batch of training runs (leading axis of every per-run array: run), an
    :class:`effgrok._record.Result` with its own :meth:`record` and :meth:`tables`.

    The base of every trainer's result (:class:`~effgrok.nets.toy.ToyRuns`,
    :class:`~effgrok.nets.modular.ModularRuns`, ...): a subclass is a frozen dataclass whose
    field ``steps`` holds the recorded steps; a field that is an array ``[runs, len(steps)]`` is
    a *curve*, one ``[runs]`` a *per-run value* (settings such as ``seeds``,
    ``learning_rate``, ``n_train``; first-crossing steps, ``NaN`` where never reached).  Other
    fields (parameters, snapshots, masks, configuration) are kept as they are.
    ``NOT_CURVES`` names array fields that are never curves even when their shape says so.
    """

    NOT_CURVES: ClassVar[tuple] = ()

    @property
    def n_runs(self) -> int:
        """Number of runs ``R``."""
        return int(getattr(self, self.curve_names()[0]).shape[0])

    def _arrays(self) -> dict:
        return {
            f.name: v
            for f in dataclasses.fields(self)
            if f.name != "steps" and isinstance(v := getattr(self, f.name), np.ndarray)
        }

    def curve_names(self) -> list[str]:
        """Names of the curves ``[runs, records]``."""
        n = len(self.steps)
        return [
            k
            for k, v in self._arrays().items()
            if v.ndim == 2 and v.shape[1] == n and v.dtype != bool and k not in self.NOT_CURVES
        ]

    def per_run_names(self) -> list[str]:
        """Names of the per-run values ``[runs]`` (settings, sizes, first-crossing steps)."""
        R = self.n_runs
        return [k for k, v in self._arrays().items() if v.shape == (R,)]

    def final(self, name: str) -> np.ndarray:
        """Each run's last recorded value of curve ``name``."""
        return np.asarray(getattr(self, name))[:, -1]

    def first_crossing(
        self, name: str, level: float, below: bool = False, *, strict: bool = False
    ) -> np.ndarray:
        """Per run, the first recorded step where curve ``name`` reaches ``level``
        (float64, :data:`~effgrok.constants.NEVER` where never; see :func:`first_crossing`)."""
        if name not in self.curve_names():
            raise ValueError(f"name must be one of the curves {', '.join(self.curve_names())}; got {name!r}")
        return first_crossing(getattr(self, name), self.steps, level, below=below, strict=strict)

    def record(self, *, curves: bool = True) -> dict:
        """JSON-ready dict: steps, per-run values, the final value of every curve and (with
        ``curves``) the curves themselves; ``NaN`` (never reached) becomes ``None``."""
        from .._record import jsonable

        out = {"steps": self.steps, "runs": self.n_runs}
        out.update({k: getattr(self, k) for k in self.per_run_names()})
        out.update({f"final_{k}": self.final(k) for k in self.curve_names()})
        if curves:
            out["curves"] = {k: getattr(self, k) for k in self.curve_names()}
        return jsonable(out)

    def tables(self) -> dict[str, list[dict]]:
        """``{"runs": one row per run, "curves": one row per (run, recorded step)}``."""
        per_run, names = self.per_run_names(), self.curve_names()
        arrays = {k: np.asarray(getattr(self, k)) for k in per_run + names}
        runs = [
            {
                "run": r,
                **{k: _column(arrays[k][r]) for k in per_run},
                **{f"final_{k}": _column(arrays[k][r, -1]) for k in names},
            }
            for r in range(self.n_runs)
        ]
        curves = [
            {"run": r, "step": _column(s), **{k: _column(arrays[k][r, i]) for k in names}}
            for r in range(self.n_runs)
            for i, s in enumerate(np.asarray(self.steps))
        ]
        return {"runs": runs, "curves": curves}
