"""Weight norm and grokking: the Omnigrok "LU mechanism" (Liu, Michaud & Tegmark, ICLR 2023,
arXiv 2210.01117) measured on effgrok's own runs.

Three measurements:

* **Weight-norm trajectories** ``‖θ_t‖₂`` (all parameters) of any effgrok run -- from the
  curve the trainers log (``weight_norm`` of :class:`~effgrok.nets.modular.ModularRuns`,
  :class:`~effgrok.nets.digits.DigitsRuns`, ...) or from parameter snapshots
  (:func:`norm_trajectory`).
* **The reduced landscape**: train with the parameters projected back onto the sphere
  ``‖θ‖ = w`` after every step, for a sweep of ``w``; the final train and test losses
  against ``w`` are the paper's "L" (train: high for small ``w``, low and flat beyond a
  critical ``w_c``) and "U" (test: lowest near ``w_c``, higher on both sides)
  (:func:`reduced_landscape`, shape numbers from :func:`lu_shape`).
* **Initialisation-scale (α) induced grokking**: a network started at ``α·θ₀`` (``α > 1``)
  sits on the right of the U -- it fits the training set (the L is flat there) but does not
  generalise until weight decay has brought ``‖θ‖`` down towards ``w_c``; a delay growing
  with ``α``.  With AdamW's decoupled decay the norm shrinks by ``(1 − η·λ)`` per step, so
  reaching ``w_c`` from ``α w₀`` takes about ``log(α w₀/w_c)/(η λ)`` steps
  (:func:`decay_time`).  :func:`alpha_sweep` measures the time to generalise against ``α``.

The dataset is scikit-learn's digits (:mod:`effgrok.nets.digits`, shipped with the package);
the paper used MNIST (1000 training images, width-200 depth-3 ReLU MLP, MSE, AdamW).

Learning rate on the sphere.  Adam's steps have a fixed size ``≈ η`` per coordinate whatever
the norm, so at fixed ``w`` the *relative* step is ``∝ η/w``: a large-norm run would simply be
less trained after the same number of steps.  :func:`reduced_landscape` therefore scales the
learning rate with the norm, ``η(w) = η·w/w₀`` (``scale_lr=True``, default), so every point of
the sweep gets the same relative step; ``scale_lr=False`` keeps ``η``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._checks import positive_array
from .._record import Result, jsonable, step_or_none
from ..constants import reached
from ..nets.driver import Schedule

__all__ = [
    "AlphaSweep",
    "LUShape",
    "ReducedLandscape",
    "alpha_sweep",
    "decay_time",
    "global_norm",
    "lu_shape",
    "norm_trajectory",
    "reduced_landscape",
]


def global_norm(params: dict, *, run_axis: bool = False):
    """``‖θ‖₂ = (Σ_tensors Σ_i θ_i²)^{1/2}``; with ``run_axis`` one norm per leading index.

    Examples
    --------
    >>> global_norm({"W": np.array([[3.0, 0.0]]), "b": np.array([4.0])})
    5.0
    >>> global_norm({"W": np.ones((2, 3, 3)), "b": np.zeros((2, 1))}, run_axis=True).tolist()
    [3.0, 3.0]
    """
    if not isinstance(params, dict) or not params:
        raise ValueError("params must be a non-empty dict of arrays")
    arrs = [np.asarray(v, dtype=np.float64) for v in params.values()]
    if run_axis:
        lead = {a.shape[:1] for a in arrs}
        if len(lead) != 1 or () in lead:
            raise ValueError("with run_axis=True every parameter needs the same leading run axis")
        return np.sqrt(sum(np.sum(a.reshape(a.shape[0], -1) ** 2, axis=1) for a in arrs))
    return float(np.sqrt(sum(np.sum(a * a) for a in arrs)))


def norm_trajectory(runs=None, *, snapshots: dict | None = None, snapshot_steps=None):
    """``(steps, norms[run, t])``: the weight-norm trajectory of a batch of runs.

    Give either ``runs`` (any effgrok result with ``steps`` and a logged ``weight_norm``) or
    ``snapshots`` (dict name → ``[run, snapshot, ...]`` arrays, e.g.
    :attr:`ModularRuns.snapshots`) with their ``snapshot_steps``.

    Examples
    --------
    >>> snaps = {"W": np.array([[[3.0, 4.0], [0.0, 1.0]]]), "b": np.zeros((1, 2, 1))}
    >>> steps, w = norm_trajectory(snapshots=snaps, snapshot_steps=[0, 100])
    >>> steps.tolist(), w.tolist()
    ([0, 100], [[5.0, 1.0]])
    """
    if (runs is None) == (snapshots is None):
        raise ValueError("give exactly one of runs and snapshots")
    if runs is not None:
        w = getattr(runs, "weight_norm", None)
        if w is None or not hasattr(runs, "steps"):
            raise ValueError(f"{type(runs).__name__} has no logged weight_norm curve; pass snapshots")
        return np.asarray(runs.steps), np.asarray(w, dtype=np.float64)
    if snapshot_steps is None:
        raise ValueError("snapshots need snapshot_steps")
    st = np.asarray(snapshot_steps)
    arrs = {k: np.asarray(v, dtype=np.float64) for k, v in snapshots.items()}
    if not arrs or any(a.ndim < 2 or a.shape[1] != st.size for a in arrs.values()):
        raise ValueError(f"snapshot arrays must be [run, {st.size} snapshots, ...]")
    R = next(iter(arrs.values())).shape[0]
    sq = sum(np.sum(a.reshape(R, st.size, -1) ** 2, axis=2) for a in arrs.values())
    return st, np.sqrt(sq)


def decay_time(alpha, *, learning_rate: float, weight_decay: float, target: float = 1.0) -> np.ndarray:
    """Steps for decoupled weight decay alone to shrink ``‖θ‖`` from ``α w₀`` to ``target·w₀``.

    ``‖θ_t‖ = (1 − ηλ)^t ‖θ_0‖`` without gradients, so ``t = log(α/target) / (−log(1 − ηλ))``
    (``≈ log(α/target)/(ηλ)``); 0 when ``α ≤ target``.  A lower bound for the grokking delay
    of an α-scaled start: the loss gradient only adds to the norm path.

    Examples
    --------
    >>> round(float(decay_time(8.0, learning_rate=1e-3, weight_decay=1.0)))
    2078
    """
    a = positive_array("alpha", alpha).reshape(np.shape(alpha))
    rate = learning_rate * weight_decay
    if not (math.isfinite(rate) and 0 < rate < 1) or not (math.isfinite(target) and target > 0):
        raise ValueError(
            f"need 0 < learning_rate·weight_decay < 1 and target > 0, got learning_rate={learning_rate!r}, "
            f"weight_decay={weight_decay!r}, target={target!r}"
        )
    return np.maximum(np.log(a / target), 0.0) / -math.log1p(-rate)


@dataclass(frozen=True)
class LUShape(Result):
    """Shape numbers of a reduced landscape (:func:`lu_shape`).

    ``l_ratio``: train loss at the smallest norm over the largest train loss at norms
    ``≥ w_test_min`` (an "L" is a high wall on the left and a low floor on the right: ≫ 1).
    ``u_left``/``u_right``: test loss at the smallest/largest norm over its minimum (a "U":
    both > 1, minimum inside).  ``is_l``/``is_u`` apply the thresholds of :func:`lu_shape`.
    """

    w_test_min: float
    test_argmin: int
    l_ratio: float
    u_left: float
    u_right: float
    is_l: bool
    is_u: bool


def lu_shape(norms, train_loss, test_loss, *, l_min: float = 10.0, u_min: float = 2.0) -> LUShape:
    """Quantify "train loss is L-shaped, test loss U-shaped" against the weight norm.

    With ``i*`` the norm of lowest test loss:

        l_ratio = L_train(w_min) / max_{w ≥ w_{i*}} L_train(w)       (is_l: ≥ l_min)
        u_left  = L_test(w_min) / L_test(w_{i*}),   u_right = L_test(w_max) / L_test(w_{i*})
        is_u: i* strictly inside the sweep and u_left, u_right ≥ u_min

    Examples
    --------
    >>> w = np.geomspace(0.25, 4, 9)
    >>> s = lu_shape(w, 0.1 / (1 + (w / 0.7) ** 8), (np.log(w) - 0.2) ** 2 + 0.01)
    >>> s.is_l, s.is_u, s.test_argmin
    (True, True, 5)
    """
    w = np.asarray(norms, dtype=np.float64)
    tr = np.asarray(train_loss, dtype=np.float64)
    te = np.asarray(test_loss, dtype=np.float64)
    if w.ndim != 1 or w.size < 3 or tr.shape != w.shape or te.shape != w.shape:
        raise ValueError(
            f"norms, train_loss and test_loss must be 1-D of one length >= 3, got {w.shape}, "
            f"{tr.shape}, {te.shape}"
        )
    if np.any(np.diff(w) <= 0) or not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise ValueError("norms must be positive, finite and strictly increasing")
    if not (np.all(np.isfinite(tr)) and np.all(np.isfinite(te)) and np.all(tr >= 0) and np.all(te > 0)):
        raise ValueError("losses must be finite, train >= 0 and test > 0")
    i = int(np.argmin(te))
    floor = float(tr[i:].max())
    l_ratio = float(tr[0] / floor) if floor > 0 else math.inf
    u_left, u_right = float(te[0] / te[i]), float(te[-1] / te[i])
    return LUShape(
        w_test_min=float(w[i]),
        test_argmin=i,
        l_ratio=l_ratio,
        u_left=u_left,
        u_right=u_right,
        is_l=bool(l_ratio >= l_min),
        is_u=bool(0 < i < w.size - 1 and u_left >= u_min and u_right >= u_min),
    )


@dataclass(frozen=True)
class ReducedLandscape(Result):
    """Final losses/accuracies at fixed weight norm (``[norm]``, median over seeds) and the runs.

    ``w0`` is the expected norm of the standard (α = 1) initialisation; ``relative = norms/w0``.
    """

    norms: np.ndarray
    relative: np.ndarray
    w0: float
    train_loss: np.ndarray
    test_loss: np.ndarray
    train_acc: np.ndarray
    test_acc: np.ndarray
    shape: LUShape
    runs: object

    def rows(self) -> list[dict]:
        """One row per fixed norm: the median final losses and accuracies."""
        cols = {"relative_norm": self.relative, "norm": self.norms, "train_loss": self.train_loss}
        cols |= {"test_loss": self.test_loss, "train_acc": self.train_acc, "test_acc": self.test_acc}
        return [{k: float(v[i]) for k, v in cols.items()} for i in range(self.norms.size)]

    def record(self) -> dict:
        """JSON-ready: ``w0``, the L/U shape numbers and :meth:`rows` (the runs are left out)."""
        sh = self.shape
        rec = {"w0": self.w0, "w_test_min": sh.w_test_min, "l_ratio": sh.l_ratio}
        rec |= {"u_left": sh.u_left, "u_right": sh.u_right, "is_l": sh.is_l, "is_u": sh.is_u}
        return jsonable(rec | {"rows": self.rows()})

    def tables(self) -> dict[str, list[dict]]:
        """``reduced_landscape``: :meth:`rows`."""
        return {"reduced_landscape": jsonable(self.rows())}


def _positive_values(name, values) -> np.ndarray:
    a = positive_array(name, values).ravel()
    if a.size == 0:
        raise ValueError(f"{name} must hold at least one number > 0, got {values!r}")
    return a


def _seed_array(seeds) -> np.ndarray:
    s = np.atleast_1d(np.asarray(seeds)).ravel()
    if s.size == 0 or not np.issubdtype(s.dtype, np.integer) or np.any(s < 0):
        raise ValueError(f"seeds must be non-negative integers, got {seeds!r}")
    return s


def reduced_landscape(
    data,
    relative_norms=(0.25, 0.35, 0.5, 0.71, 1.0, 1.41, 2.0, 2.83, 4.0),
    *,
    seeds=(0,),
    width: int = 200,
    depth: int = 3,
    learning_rate: float = 1e-3,
    scale_lr: bool = True,
    schedule: Schedule = Schedule(2000, 100),
    float64: bool = False,
    l_min: float = 10.0,
    u_min: float = 2.0,
) -> ReducedLandscape:
    """Omnigrok's reduced landscape on the digits: train at fixed ``‖θ‖ = w`` for each ``w``.

    ``w = relative · w₀`` with ``w₀`` = :func:`~effgrok.nets.digits.expected_init_norm`; no
    weight decay (the projection holds the norm); learning rate ``η·w/w₀`` when ``scale_lr``.
    All (norm, seed) runs train in one vmapped call; the curves are the final ones, the median
    over seeds.  ``schedule`` (:class:`~effgrok.nets.driver.Schedule`) goes straight to
    :func:`~effgrok.nets.digits.train_digits` (which takes its ``batch_size`` and refuses its
    other optional fields).

    Examples
    --------
    >>> from effgrok.nets.digits import load_digits_split
    >>> d = load_digits_split(100, seed=0, n_test=100)
    >>> rl = reduced_landscape(d, [0.5, 1.0, 2.0], width=16, schedule=Schedule(20, 10))
    >>> rl.test_loss.shape, bool(np.allclose(rl.runs.weight_norm[:, -1], rl.norms, rtol=1e-4))
    ((3,), True)
    """
    from ..nets.digits import expected_init_norm, train_digits

    rel = _positive_values("relative_norms", relative_norms)
    if np.any(np.diff(rel) <= 0):
        raise ValueError(f"relative_norms must be strictly increasing, got {relative_norms!r}")
    sd = _seed_array(seeds)
    w0 = expected_init_norm(width=width, depth=depth)
    r_grid, s_grid = np.meshgrid(rel, sd, indexing="ij")
    r_flat = r_grid.ravel()
    runs = train_digits(
        data,
        seeds=s_grid.ravel(),
        fixed_norm=r_flat * w0,
        learning_rate=learning_rate * (r_flat if scale_lr else 1.0),
        weight_decay=0.0,
        width=width,
        depth=depth,
        schedule=schedule,
        float64=float64,
    )
    shape = (rel.size, sd.size)

    def final(curve):
        return np.median(curve[:, -1].reshape(shape), axis=1)

    tr, te = final(runs.train_loss), final(runs.test_loss)
    return ReducedLandscape(
        norms=rel * w0,
        relative=rel,
        w0=w0,
        train_loss=tr,
        test_loss=te,
        train_acc=final(runs.train_acc),
        test_acc=final(runs.test_acc),
        shape=lu_shape(rel * w0, tr, te, l_min=l_min, u_min=u_min),
        runs=runs,
    )


@dataclass(frozen=True)
class AlphaSweep(Result):
    """Times to fit and to generalise against the initialisation scale α.

    ``t_train``/``t_test`` are ``[alpha, seed]`` first steps with train accuracy
    ``≥ train_threshold`` / test accuracy ``≥ test_threshold`` (``NaN``: not within the budget);
    ``median_t_test`` over seeds (NaN if any seed did not generalise); ``decay_time`` the
    weight-decay-only estimate :func:`decay_time` (target ``w₀``).
    """

    alphas: np.ndarray
    seeds: np.ndarray
    t_train: np.ndarray
    t_test: np.ndarray
    median_t_train: np.ndarray
    median_t_test: np.ndarray
    decay_time: np.ndarray
    final_test_acc: np.ndarray
    runs: object

    def rows(self) -> list[dict]:
        """One row per (α, seed): first steps, initial and final weight norm, final accuracy."""
        n_s = self.seeds.size
        return [
            {
                "alpha": float(a),
                "seed": int(s),
                "t_train": step_or_none(self.t_train[i, j]),
                "t_test": step_or_none(self.t_test[i, j]),
                "initial_norm": float(self.runs.weight_norm[i * n_s + j, 0]),
                "final_norm": float(self.runs.weight_norm[i * n_s + j, -1]),
                "final_test_acc": float(self.final_test_acc[i, j]),
                "decay_time": self.decay_time[i],
            }
            for i, a in enumerate(self.alphas)
            for j, s in enumerate(self.seeds)
        ]

    def record(self) -> dict:
        """JSON-ready: median times over seeds per α and :meth:`rows` (the runs are left out)."""
        rec = {
            "alphas": self.alphas,
            "median_t_train": self.median_t_train,
            "median_t_test": self.median_t_test,
        }
        return jsonable(rec | {"rows": self.rows()})

    def tables(self) -> dict[str, list[dict]]:
        """``alpha_sweep``: :meth:`rows`."""
        return {"alpha_sweep": jsonable(self.rows())}


def _median_or_nan(t: np.ndarray) -> np.ndarray:
    t = np.asarray(t, dtype=np.float64)
    return np.where(np.all(reached(t), axis=1), np.median(t, axis=1), np.nan)


def alpha_sweep(
    data,
    alphas=(0.5, 1.0, 2.0, 4.0, 8.0),
    *,
    seeds=(0,),
    weight_decay: float = 1.0,
    width: int = 200,
    depth: int = 3,
    learning_rate: float = 1e-3,
    schedule: Schedule = Schedule(3000, 50),
    train_threshold: float = 0.99,
    test_threshold: float = 0.9,
    float64: bool = False,
) -> AlphaSweep:
    """Train from ``α·θ₀`` for every (α, seed) in one vmapped call (AdamW, MSE, full batch by default).

    ``schedule`` (:class:`~effgrok.nets.driver.Schedule`) goes straight to
    :func:`~effgrok.nets.digits.train_digits` (which takes its ``batch_size``, for mini-batches,
    and refuses its other optional fields); ``t_train``/``t_test`` are resolved to its ``stride``.

    Examples
    --------
    >>> from effgrok.nets.digits import load_digits_split
    >>> d = load_digits_split(100, seed=0, n_test=100)
    >>> sw = alpha_sweep(d, [1.0, 4.0], width=16, schedule=Schedule(20, 10))
    >>> sw.t_test.shape, sw.decay_time.round(1).tolist()
    ((2, 1), [0.0, 1385.6])
    """
    from ..nets.digits import train_digits

    a = _positive_values("alphas", alphas)
    sd = _seed_array(seeds)
    a_grid, s_grid = np.meshgrid(a, sd, indexing="ij")
    runs = train_digits(
        data,
        seeds=s_grid.ravel(),
        init_scale=a_grid.ravel(),
        weight_decay=weight_decay,
        learning_rate=learning_rate,
        train_threshold=train_threshold,
        test_threshold=test_threshold,
        width=width,
        depth=depth,
        schedule=schedule,
        float64=float64,
    )
    shape = (a.size, sd.size)
    t_tr, t_te = runs.step_train.reshape(shape), runs.step_test.reshape(shape)
    dt = (
        decay_time(a, learning_rate=learning_rate, weight_decay=weight_decay)
        if weight_decay > 0
        else np.full(a.size, np.inf)
    )
    return AlphaSweep(
        alphas=a,
        seeds=sd,
        t_train=t_tr,
        t_test=t_te,
        median_t_train=_median_or_nan(t_tr),
        median_t_test=_median_or_nan(t_te),
        decay_time=dt,
        final_test_acc=runs.test_acc[:, -1].reshape(shape),
        runs=runs,
    )
