"""Simulate the effective-loss flow of one embedding or of an ensemble, with metrics.

``simulate`` follows one training split and one initial embedding; ``simulate_ensemble``
runs many (split, initialisation) members in parallel in one compiled kernel.  Along the
way ℓ_eff, Z, RQI and the predicted test accuracy Acc-hat are recorded every ``stride``
steps inside the kernel (no per-step Python), and the measured time to RQI > 0.95 is set
beside the prediction ``n_h = 1/(η λ3)`` of effgrok's one convention
(:data:`~effgrok.effective.spectrum.Z0_CONVENTION`: ``H = 2G/(N Z0)`` with the constraint
set's ``G``, its ``N`` and the start's own ``Z0 = ‖E0‖²``, which the flow conserves).

Time is measured in gradient steps: Euler with ``step_size = 1`` *is* gradient descent on
``ℓ_eff`` with learning rate ``η``; RK4 and Dormand–Prince follow the gradient flow.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..constants import RQI_THRESHOLD, first_crossing  # RQI_THRESHOLD: re-exported here
from ..tasks import Task, random_split
from .constraints import training_mask
from .dynamics import TABLEAUS, EffectiveLoss, _integrate_adaptive, _integrate_fixed, _record_many, exact_flow
from .metrics import DEFAULT_DELTA
from .spectrum import full_table_nullity, zero_tolerance

__all__ = [
    "METHODS",
    "RQI_THRESHOLD",
    "Ensemble",
    "Trajectory",
    "initial_embedding",
    "simulate",
    "simulate_ensemble",
]

METHODS = ("euler", "rk4", "dopri5", "exact")
INITS = ("uniform", "standardized")
_CHUNK = 512


@dataclass(frozen=True)
class Trajectory:
    """One simulated trajectory (see :func:`simulate`).

    Attributes
    ----------
    steps : ndarray (R,)
        Recorded times, in gradient steps.
    loss, z, rqi, predicted_test_accuracy : ndarray (R,)
        ``ℓ_eff``, ``Z``, RQI and Acc-hat (test) at ``steps``.
    embedding : ndarray (R, n_slots, d) or None
    steps_to_rqi : float
        First recorded step with RQI > 0.95 (resolution: ``stride``); ``NaN``
        (:data:`effgrok.constants.NEVER`) if never.
    n_h, grokking_rate, gram_eigenvalue : float
        Prediction of the same convention (``n_h = inf`` when not pinned).
    pinned : bool
    z0 : float
    ideal_test_accuracy : float
    n_steps : tuple of int or None
        Accepted and rejected steps of the adaptive integrator.
    """

    steps: np.ndarray
    loss: np.ndarray
    z: np.ndarray
    rqi: np.ndarray
    predicted_test_accuracy: np.ndarray
    embedding: np.ndarray | None
    steps_to_rqi: float
    n_h: float
    grokking_rate: float
    gram_eigenvalue: float
    pinned: bool
    z0: float
    ideal_test_accuracy: float
    loss_convention: EffectiveLoss
    method: str
    learning_rate: float
    n_train: int
    n_steps: tuple[int, int] | None = None

    @property
    def final_loss(self) -> float:
        return float(self.loss[-1])

    @property
    def final_rqi(self) -> float:
        return float(self.rqi[-1])

    @property
    def final_predicted_test_accuracy(self) -> float:
        return float(self.predicted_test_accuracy[-1])


@dataclass(frozen=True)
class Ensemble:
    """Many simulated members (see :func:`simulate_ensemble`); arrays have a leading member axis."""

    steps: np.ndarray
    loss: np.ndarray
    z: np.ndarray
    rqi: np.ndarray
    predicted_test_accuracy: np.ndarray
    embedding: np.ndarray | None
    steps_to_rqi: np.ndarray  # NaN where never reached
    n_h: np.ndarray
    grokking_rate: np.ndarray
    pinned: np.ndarray
    z0: np.ndarray
    n_train: np.ndarray
    loss_convention: EffectiveLoss
    method: str
    learning_rate: float
    n_steps: np.ndarray | None = None

    @property
    def size(self) -> int:
        return int(self.loss.shape[0])

    def summary(self) -> dict:
        """Summary statistics of the final values and of the times."""
        reached = np.isfinite(self.steps_to_rqi)

        def stats(x):
            x = np.asarray(x, dtype=float)
            x = x[np.isfinite(x)]
            if x.size == 0:
                return {"n": 0, "mean": None, "std": None, "median": None, "q05": None, "q95": None}
            scale = float(np.max(np.abs(x))) or 1.0  # moments of x/scale: no overflow near 1e308
            return {
                "n": int(x.size),
                "mean": scale * float((x / scale).mean()),
                "std": scale * float((x / scale).std(ddof=1)) if x.size > 1 else 0.0,
                "median": float(np.median(x)),
                "q05": float(np.quantile(x, 0.05)),
                "q95": float(np.quantile(x, 0.95)),
            }

        ratio = self.steps_to_rqi / self.n_h
        return {
            "members": self.size,
            "fraction_pinned": float(np.mean(self.pinned)),
            "fraction_reaching_rqi": float(np.mean(reached)),
            "fraction_reaching_rqi_pinned": float(np.mean(reached[self.pinned]))
            if self.pinned.any()
            else None,
            "fraction_reaching_rqi_unpinned": float(np.mean(reached[~self.pinned]))
            if (~self.pinned).any()
            else None,
            "final_rqi": stats(self.rqi[:, -1]),
            "final_loss": stats(self.loss[:, -1]),
            "predicted_test_accuracy": stats(self.predicted_test_accuracy[:, -1]),
            "steps_to_rqi": stats(self.steps_to_rqi),
            "n_h": stats(self.n_h),
            "z0": stats(self.z0),
            "steps_to_rqi_over_n_h": stats(ratio),
        }


# --------------------------------------------------------------------------- input checks
def _positive(name, value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number, got {value!r}") from None
    if not (v > 0 and math.isfinite(v)):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return v


def _int_at_least(name, value, lo) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {value!r}")
    return int(value)


def initial_embedding(task: Task, dim: int = 1, *, init: str = "uniform", rng=None) -> np.ndarray:
    """Initial embedding of shape (n_slots, dim).

    ``uniform``: entries U(−½, ½) (Liu et al.); ``standardized``: the same, then each
    column centred and scaled to unit unbiased std (the reference code; ``Z0 = dim·(n−1)``).
    """
    if init not in INITS:
        raise ValueError(f"init must be one of {', '.join(INITS)} or an array; got {init!r}")
    rng = np.random.default_rng(rng)
    E = rng.uniform(-0.5, 0.5, size=(task.n_slots, dim))
    if init == "standardized":
        E = (E - E.mean(axis=0)) / E.std(axis=0, ddof=1)
    return E


def _check_init_array(task: Task, E, dim: int | None, members: int | None) -> np.ndarray:
    E = np.asarray(E, dtype=np.float64)
    if members is None:
        if E.ndim == 1:
            E = E[:, None]
        ok = E.ndim == 2 and E.shape[0] == task.n_slots and (dim is None or E.shape[1] == dim)
        expect = f"({task.n_slots}, {dim if dim is not None else 'd'})"
    else:
        if E.ndim == 2 and (dim in (None, 1)):
            E = E[:, :, None]
        ok = E.ndim == 3 and E.shape[:2] == (members, task.n_slots) and (dim is None or E.shape[2] == dim)
        expect = f"({members}, {task.n_slots}, {dim if dim is not None else 'd'})"
    if not ok:
        raise ValueError(f"initial embedding must have shape {expect}, got {np.shape(E)}")
    if not np.all(np.isfinite(E)):
        raise ValueError("initial embedding contains NaN or infinite values")
    if np.any(np.sum(E * E, axis=(-2, -1)) == 0):
        raise ValueError("initial embedding is all zeros (Z = 0): the effective loss is undefined")
    return np.ascontiguousarray(E)


def _records(steps: int, stride: int | None, default_records: int) -> tuple[int, int]:
    steps = _int_at_least("steps", steps, 1)
    if stride is None:
        stride = max(1, steps // default_records)
        while steps % stride:
            stride -= 1
    stride = _int_at_least("stride", stride, 1)
    if steps % stride:
        raise ValueError(f"stride must divide steps; got stride {stride} for {steps} steps")
    return steps, stride


# --------------------------------------------------------------------------- core runner
def _prediction(G: np.ndarray, f: int, normalizer: float, z0: np.ndarray, eta: float):
    ev = np.linalg.eigvalsh(G)
    null = int(np.sum(ev <= zero_tolerance(ev)))
    pinned = null == f
    lam = float(ev[f]) if pinned and f < ev.size else 0.0
    rate = 2.0 * lam / (normalizer * z0)
    with np.errstate(divide="ignore"):
        n_h = np.where(rate > 0, 1.0 / (eta * np.where(rate > 0, rate, 1.0)), np.inf)
    return pinned, lam, rate, n_h


def check_options(method, learning_rate, step_size, delta, rtol, atol, steps, stride) -> tuple:
    """Validate integrator options (without integrating); returns the numbers as floats."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    eta = _positive("learning rate", learning_rate)
    step_size = _positive("step size", step_size)
    delta = _positive("delta", delta)
    rtol = _positive("rtol", rtol)
    atol = _positive("atol", atol)
    if method in ("euler", "rk4"):
        ratio = stride / step_size
        if round(ratio) < 1 or abs(ratio - round(ratio)) > 1e-9 * ratio:
            raise ValueError(
                f"stride ({stride}) must be a whole number of integration steps of size {step_size}"
            )
    if method in ("euler", "rk4", "dopri5") and steps / step_size > 1e9:
        raise ValueError(f"{steps} steps of size {step_size} is more than 1e9 integration steps")
    return eta, step_size, delta, rtol, atol


def _run(
    task,
    loss: EffectiveLoss,
    train_masks: np.ndarray,
    g_index: np.ndarray,
    E0: np.ndarray,
    *,
    eta,
    steps,
    stride,
    method,
    step_size,
    rtol,
    atol,
    delta,
    record_embedding,
    progress,
):
    eta, step_size, delta, rtol, atol = check_options(
        method, eta, step_size, delta, rtol, atol, steps, stride
    )
    S = train_masks.shape[0]
    M, n, d = E0.shape
    R = steps // stride + 1
    grams = np.empty((S, n, n))
    norms = np.empty(S)
    pair_lists = []
    for s in range(S):
        grams[s] = loss.gram(task, train_masks[s])
        norms[s] = loss.normalizer(task, train_masks[s])
        pair_lists.append(loss.pairs(task, train_masks[s]))
    pair_off = np.concatenate([[0], np.cumsum([len(p) for p in pair_lists])]).astype(np.int64)
    pair_idx = np.concatenate(pair_lists).astype(np.int64).reshape(-1, 2)
    n_test = (~train_masks).sum(axis=1).astype(np.int64)
    order, offsets = task.class_order
    live = loss.z == "live"
    out = {k: np.empty((M, R)) for k in ("loss", "z", "rqi", "acc")}
    emb = np.empty((M, R if record_embedding else 0, n, d))
    nsteps = np.zeros((M, 2), dtype=np.int64) if method == "dopri5" else None
    z0 = np.sum(E0 * E0, axis=(1, 2))
    if method in ("euler", "rk4"):
        substeps = round(stride / step_size)
        tab = TABLEAUS[method]
        eig_vals, eig_vecs = np.linalg.eigh(grams)
        for g in range(S):  # null modes exactly still (and ℓ0 free of round-off eigenvalues)
            ev = eig_vals[g]
            ev[ev <= zero_tolerance(ev)] = 0.0
    for lo in range(0, M, _CHUNK):
        hi = min(M, lo + _CHUNK)
        sl = slice(lo, hi)
        cnt = hi - lo
        args_out = (out["loss"][sl], out["z"][sl], out["rqi"][sl], out["acc"][sl], emb[sl])
        if method in ("euler", "rk4"):
            _integrate_fixed(
                E0[sl],
                eig_vals,
                eig_vecs,
                g_index[sl],
                norms,
                pair_idx,
                pair_off,
                train_masks,
                n_test,
                eta,
                step_size,
                R,
                substeps,
                tab.a,
                tab.b,
                task.slots,
                order,
                offsets,
                delta * delta,
                *args_out,
                live,
            )
        elif method == "dopri5":
            tab = TABLEAUS["dopri5"]
            max_steps = int(max(10_000, 100 * steps / step_size))
            _integrate_adaptive(
                E0[sl],
                grams,
                g_index[sl],
                norms,
                pair_idx,
                pair_off,
                train_masks,
                n_test,
                eta,
                step_size,
                R,
                float(stride),
                tab.a,
                tab.b,
                tab.b_error,
                float(tab.error_order),
                rtol,
                atol,
                max_steps,
                task.slots,
                order,
                offsets,
                delta * delta,
                *args_out,
                nsteps[sl],
                live,
            )
        else:
            times = np.arange(R) * float(stride)
            E_all = np.empty((cnt, R, n, d))
            l0_all = np.empty((cnt, R))
            for j, m in enumerate(range(lo, hi)):
                g = g_index[m]
                E_all[j], l0_all[j] = exact_flow(
                    grams[g], E0[m], times, learning_rate=eta, normalizer=norms[g], z=loss.z, return_l0=True
                )
            _record_many(
                E_all,
                l0_all,
                g_index[sl],
                norms,
                pair_idx,
                pair_off,
                train_masks,
                n_test,
                task.slots,
                order,
                offsets,
                delta * delta,
                live,
                z0[sl],
                *args_out[:4],
            )
            if record_embedding:
                emb[sl] = E_all
        if progress is not None:
            progress(cnt)
    f = full_table_nullity(task)
    preds = [_prediction(grams[s], f, norms[s], z0[g_index == s], eta) for s in range(S)]
    pinned = np.array([preds[g][0] for g in g_index])
    lam = np.array([preds[g][1] for g in g_index])
    rate = np.empty(M)
    n_h = np.empty(M)
    for s in range(S):
        sel = g_index == s
        rate[sel] = preds[s][2]
        n_h[sel] = preds[s][3]
    times = np.arange(R) * stride
    steps_to = first_crossing(out["rqi"], times, RQI_THRESHOLD, strict=True)
    return dict(
        steps=times,
        loss=out["loss"],
        z=out["z"],
        rqi=out["rqi"],
        acc=out["acc"],
        embedding=emb if record_embedding else None,
        steps_to_rqi=steps_to,
        n_h=n_h,
        rate=rate,
        lam=lam,
        pinned=pinned,
        z0=z0,
        n_steps=nsteps,
    )


# --------------------------------------------------------------------------- public API
def simulate(
    task: Task,
    train,
    *,
    loss: EffectiveLoss | None = None,
    dim: int = 1,
    steps: int = 5000,
    learning_rate: float = 1e-3,
    method: str = "rk4",
    step_size: float = 1.0,
    stride: int | None = None,
    init="uniform",
    seed: int = 0,
    rtol: float = 1e-8,
    atol: float = 1e-12,
    delta: float = DEFAULT_DELTA,
    record_embedding: bool = True,
) -> Trajectory:
    """Integrate the effective-loss flow from one initial embedding.

    Parameters
    ----------
    task : Task
    train : Split, bool mask or index array
        Training set ``D`` (its parallelograms form ``ℓ0`` unless ``loss.constraints="all"``;
        its test set defines Acc-hat).
    loss : EffectiveLoss
        Convention (default: training parallelograms, ``N = 1``, live ``Z``).
    dim : int
        Embedding dimension ``d``.
    steps : int
        Time horizon in gradient steps.
    learning_rate : float
        ``η``.
    method : {"euler", "rk4", "dopri5", "exact"}
        Explicit Euler (``step_size = 1`` is gradient descent), classical RK4, adaptive
        Dormand–Prince 5(4) with ``rtol``/``atol``, or the exact solution through the
        eigenbasis of ``G`` (:func:`~effgrok.effective.dynamics.exact_flow`).
    step_size : float
        Integration step in gradient steps (initial step for ``dopri5``).
    stride : int, optional
        Record every ``stride`` steps (default: about 500 records).
    init : {"uniform", "standardized"} or array_like (n_slots, dim)
    seed : int
        Seed of the initial embedding (``SeedSequence(seed)``).

    Examples
    --------
    >>> import effgrok as eg
    >>> t = eg.make_task("add", 10)
    >>> tr = eg.simulate(t, eg.random_split(t, fraction=0.8, seed=58), steps=2000, seed=0)
    >>> tr.pinned, tr.final_rqi
    (True, 1.0)
    """
    loss = EffectiveLoss() if loss is None else loss
    dim = _int_at_least("dim", dim, 1)
    steps, stride = _records(steps, stride, 500)
    seed = _int_at_least("seed", seed, 0)
    mask = training_mask(task, train)
    if isinstance(init, str):
        E0 = initial_embedding(task, dim, init=init, rng=np.random.default_rng(np.random.SeedSequence(seed)))
    else:
        E0 = _check_init_array(task, init, dim, None)
    r = _run(
        task,
        loss,
        mask[None, :].copy(),
        np.zeros(1, dtype=np.int64),
        E0[None].copy(),
        eta=learning_rate,
        steps=steps,
        stride=stride,
        method=method,
        step_size=step_size,
        rtol=rtol,
        atol=atol,
        delta=delta,
        record_embedding=record_embedding,
        progress=None,
    )
    from .metrics import ideal_accuracy

    return Trajectory(
        steps=r["steps"],
        loss=r["loss"][0],
        z=r["z"][0],
        rqi=r["rqi"][0],
        predicted_test_accuracy=r["acc"][0],
        embedding=None if r["embedding"] is None else r["embedding"][0],
        steps_to_rqi=float(r["steps_to_rqi"][0]),
        n_h=float(r["n_h"][0]),
        grokking_rate=float(r["rate"][0]),
        gram_eigenvalue=float(r["lam"][0]),
        pinned=bool(r["pinned"][0]),
        z0=float(r["z0"][0]),
        ideal_test_accuracy=ideal_accuracy(task, mask).test,
        loss_convention=loss,
        method=method,
        learning_rate=float(learning_rate),
        n_train=int(mask.sum()),
        n_steps=None if r["n_steps"] is None else tuple(int(v) for v in r["n_steps"][0]),
    )


def simulate_ensemble(
    task: Task,
    members: int,
    *,
    fraction: float | None = None,
    size: int | None = None,
    train=None,
    loss: EffectiveLoss | None = None,
    dim: int = 1,
    steps: int = 5000,
    learning_rate: float = 1e-3,
    method: str = "rk4",
    step_size: float = 1.0,
    stride: int | None = None,
    init="uniform",
    seed: int = 0,
    rtol: float = 1e-8,
    atol: float = 1e-12,
    delta: float = DEFAULT_DELTA,
    record_embedding: bool = False,
    first_member: int = 0,
    progress: Callable[[int], None] | None = None,
) -> Ensemble:
    """Integrate ``members`` trajectories in parallel (Numba ``prange`` over members).

    Each member ``m`` has its own random training split (of the given ``fraction`` or
    ``size``; or the one shared ``train``) and its own initial embedding, drawn from
    ``SeedSequence(seed, spawn_key=(m,))`` -- so member ``m`` is the same whatever the
    ensemble size, chunking or thread count.  ``first_member`` shifts the member indices
    (members ``first_member .. first_member + members − 1``), so an ensemble can be run in
    chunks with identical results.  Other parameters as in :func:`simulate` (default:
    about 100 records).

    Examples
    --------
    >>> import effgrok as eg
    >>> ens = eg.simulate_ensemble(eg.make_task("add", 10), 64, fraction=0.8, steps=1000)
    >>> ens.rqi.shape
    (64, 101)
    """
    loss = EffectiveLoss() if loss is None else loss
    members = _int_at_least("ensemble size", members, 1)
    dim = _int_at_least("dim", dim, 1)
    steps, stride = _records(steps, stride, 100)
    seed = _int_at_least("seed", seed, 0)
    first_member = _int_at_least("first member", first_member, 0)
    given = sum(x is not None for x in (fraction, size, train))
    if given != 1:
        raise ValueError("give exactly one of fraction, size and train")
    rngs = [
        np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(m,)))
        for m in range(first_member, first_member + members)
    ]
    if train is not None:
        masks = training_mask(task, train)[None, :].copy()
        g_index = np.zeros(members, dtype=np.int64)
    else:
        seeds = [int(r.integers(2**63 - 1)) for r in rngs]
        masks = np.stack([random_split(task, fraction=fraction, size=size, seed=s).mask for s in seeds])
        g_index = np.arange(members, dtype=np.int64)
    if isinstance(init, str):
        E0 = np.stack([initial_embedding(task, dim, init=init, rng=r) for r in rngs])
    else:
        E0 = _check_init_array(task, init, dim, members)
    r = _run(
        task,
        loss,
        masks,
        g_index,
        E0,
        eta=learning_rate,
        steps=steps,
        stride=stride,
        method=method,
        step_size=step_size,
        rtol=rtol,
        atol=atol,
        delta=delta,
        record_embedding=record_embedding,
        progress=progress,
    )
    return Ensemble(
        steps=r["steps"],
        loss=r["loss"],
        z=r["z"],
        rqi=r["rqi"],
        predicted_test_accuracy=r["acc"],
        embedding=r["embedding"],
        steps_to_rqi=r["steps_to_rqi"],
        n_h=r["n_h"],
        grokking_rate=r["rate"],
        pinned=r["pinned"],
        z0=r["z0"],
        n_train=masks.sum(axis=1)[g_index],
        loss_convention=loss,
        method=method,
        learning_rate=float(learning_rate),
        n_steps=r["n_steps"],
    )
