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

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from .._checks import choice, finite_array, integer, positive, schedule
from .._record import Result, column_rows, jsonable
from ..constants import RQI_THRESHOLD, first_crossing  # RQI_THRESHOLD: re-exported here
from ..tasks import TASK_NAMES, Task, make_task, random_split, takes_task
from .constraints import training_mask
from .dynamics import TABLEAUS, EffectiveLoss, _integrate_adaptive, _integrate_fixed, _record_many, exact_flow
from .metrics import DEFAULT_DELTA, ideal_accuracy
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

#: Integrators of :func:`simulate`: the Runge–Kutta tableaus by name, or ``"exact"`` (:func:`exact_flow`).
METHODS = ("euler", "rk4", "dopri5", "exact")
INITS = ("uniform", "standardized")
_CHUNK = 512


@dataclass(frozen=True)
class Trajectory(Result):
    """One simulated trajectory (see :func:`simulate`).

    Attributes
    ----------
    steps : ndarray (R,)
        Recorded times, in gradient steps.
    loss, z, rqi, predicted_test_acc : ndarray (R,)
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
    predicted_test_acc: np.ndarray
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
    def final_predicted_test_acc(self) -> float:
        return float(self.predicted_test_acc[-1])

    def record(self) -> dict:
        """JSON-ready: the prediction, the final values and the recorded ``trajectory`` (the
        embedding is left out)."""
        return jsonable(
            {
                "method": self.method,
                "learning_rate": self.learning_rate,
                "loss": asdict(self.loss_convention),
                "n_train": self.n_train,
                "stride": int(self.steps[1] - self.steps[0]) if self.steps.size > 1 else None,
                "pinned": self.pinned,
                "z0": self.z0,
                "gram_lambda3": self.gram_eigenvalue,
                "grokking_rate": self.grokking_rate,
                "n_h": self.n_h,
                "steps_to_rqi": self.steps_to_rqi,
                "final_rqi": self.final_rqi,
                "final_loss": self.final_loss,
                "predicted_test_acc": self.final_predicted_test_acc,
                "ideal_test_accuracy": self.ideal_test_accuracy,
                "integrator_steps": self.n_steps,
                "trajectory": {"step": self.steps, **self._curves()},
            }
        )

    def _curves(self) -> dict:
        return {
            "loss": self.loss,
            "z": self.z,
            "rqi": self.rqi,
            "predicted_test_acc": self.predicted_test_acc,
        }

    def tables(self) -> dict[str, list[dict]]:
        """``trajectory``: one row per recorded step."""
        return {"trajectory": column_rows({"step": self.steps, **self._curves()})}


@dataclass(frozen=True)
class Ensemble(Result):
    """Many simulated members (see :func:`simulate_ensemble`); arrays have a leading member axis."""

    steps: np.ndarray
    loss: np.ndarray
    z: np.ndarray
    rqi: np.ndarray
    predicted_test_acc: np.ndarray
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

    def _members(self) -> dict:
        return {
            "n_train": self.n_train,
            "pinned": self.pinned,
            "z0": self.z0,
            "n_h": self.n_h,
            "steps_to_rqi": self.steps_to_rqi,
            "final_rqi": self.rqi[:, -1],
            "final_loss": self.loss[:, -1],
            "predicted_test_acc": self.predicted_test_acc[:, -1],
        }

    def record(self) -> dict:
        """JSON-ready: per-member arrays (final values, ``n_h``, steps to RQI) and :meth:`summary`."""
        head = {
            "method": self.method,
            "learning_rate": self.learning_rate,
            "loss": asdict(self.loss_convention),
        }
        return jsonable({**head, "members": self.size, **self._members(), "summary": self.summary()})

    def tables(self) -> dict[str, list[dict]]:
        """``members``: one row per member."""
        return {"members": column_rows(self._members(), index="member")}

    def summary(self) -> dict:
        """Summary statistics of the final values and of the times: for each per-member number
        its count of finite values ``n``, ``mean``, ``std`` and quantiles ``q05``, ``q25``,
        ``median``, ``q75``, ``q95``."""
        reached = np.isfinite(self.steps_to_rqi)

        def stats(x):
            x = np.asarray(x, dtype=float)
            x = x[np.isfinite(x)]
            if x.size == 0:
                return dict.fromkeys(("mean", "std", "q05", "q25", "median", "q75", "q95"), None) | {"n": 0}
            scale = float(np.max(np.abs(x))) or 1.0  # moments of x/scale: no overflow near 1e308
            return {
                "n": int(x.size),
                "mean": scale * float((x / scale).mean()),
                "std": scale * float((x / scale).std(ddof=1)) if x.size > 1 else 0.0,
                "median": float(np.median(x)),
                "q05": float(np.quantile(x, 0.05)),
                "q25": float(np.quantile(x, 0.25)),
                "q75": float(np.quantile(x, 0.75)),
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
            "n_train": stats(self.n_train),
            "final_rqi": stats(self.rqi[:, -1]),
            "final_loss": stats(self.loss[:, -1]),
            "predicted_test_acc": stats(self.predicted_test_acc[:, -1]),
            "steps_to_rqi": stats(self.steps_to_rqi),
            "n_h": stats(self.n_h),
            "z0": stats(self.z0),
            "steps_to_rqi_over_n_h": stats(ratio),
        }


@takes_task
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
    finite_array("initial embedding", E)
    if np.any(np.sum(E * E, axis=(-2, -1)) == 0):
        raise ValueError("initial embedding is all zeros (Z = 0): the effective loss is undefined")
    return np.ascontiguousarray(E)


def _records(steps: int, stride: int | None, default_records: int) -> tuple[int, int]:
    steps = integer("steps", steps, lo=1)
    if stride is None:
        stride = max(1, steps // default_records)
        while steps % stride:
            stride -= 1
    return schedule(steps, stride)


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
    choice("method", method, METHODS)
    eta = positive("learning_rate", learning_rate)
    step_size = positive("step_size", step_size)
    delta = positive("delta", delta)
    rtol = positive("rtol", rtol)
    atol = positive("atol", atol)
    if method in ("euler", "rk4"):
        ratio = stride / step_size
        if round(ratio) < 1 or abs(ratio - round(ratio)) > 1e-9 * ratio:
            raise ValueError(
                f"stride ({stride}) must be a whole number of integration steps of size {step_size}"
            )
    if method in ("euler", "rk4", "dopri5") and steps / step_size > 1e9:
        raise ValueError(f"{steps} steps of size {step_size} is more than 1e9 integration steps")
    return eta, step_size, delta, rtol, atol


def _constraint_system(task, loss: EffectiveLoss, train_masks: np.ndarray):
    """Per training set: the Gram matrix, the normalizer ``N``, the constraint pairs (all sets
    packed in one index array with offsets) and the number of test examples."""
    S, n = train_masks.shape[0], task.n_slots
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
    return grams, norms, pair_idx, pair_off, n_test


def _exact_null_modes(grams: np.ndarray):
    """Eigen-decomposition of every Gram matrix with its null modes set exactly to zero (so they
    stay still, and ``ℓ0`` is free of round-off eigenvalues)."""
    eig_vals, eig_vecs = np.linalg.eigh(grams)
    for ev in eig_vals:
        ev[ev <= zero_tolerance(ev)] = 0.0
    return eig_vals, eig_vecs


def _integrate_members(task, loss, method, E0, g_index, system, records, *, options, nsteps):
    """Integrate members ``E0`` (one chunk) with ``method`` into the record arrays ``records``
    (loss, z, rqi, acc, embedding slices; the embeddings are kept where that slice is not empty)."""
    grams, norms, pair_idx, pair_off, n_test, train_masks, eig = system
    eta, step_size, stride, steps, R = (options[k] for k in ("eta", "step_size", "stride", "steps", "R"))
    order, offsets = task.class_order
    live = loss.z == "live"
    d2 = options["delta"] * options["delta"]
    sets = (g_index, norms, pair_idx, pair_off, train_masks, n_test)
    batch = (*sets, task.slots, order, offsets, d2, *records)  # as in dynamics._member
    count = E0.shape[0]
    if method in ("euler", "rk4"):
        tab = TABLEAUS[method]
        substeps = round(stride / step_size)
        _integrate_fixed(count, E0, *eig, eta, step_size, R, substeps, tab.a, tab.b, live, *batch)
    elif method == "dopri5":
        tab = TABLEAUS["dopri5"]
        max_steps = int(max(10_000, 100 * steps / step_size))
        pair = (tab.a, tab.b, tab.b_error, float(tab.error_order))
        control = (options["rtol"], options["atol"], max_steps)
        _integrate_adaptive(
            count, E0, grams, eta, step_size, R, float(stride), *pair, *control, nsteps, live, *batch
        )
    else:
        times = np.arange(R) * float(stride)
        cnt, n, d = E0.shape
        E_all = np.empty((cnt, R, n, d))
        l0_all = np.empty((cnt, R))
        for j in range(cnt):
            g = g_index[j]
            E_all[j], l0_all[j] = exact_flow(
                grams[g], E0[j], times, learning_rate=eta, normalizer=norms[g], z=loss.z, return_l0=True
            )
        z0 = np.sum(E0 * E0, axis=(1, 2))
        _record_many(cnt * R, E_all, l0_all, live, z0, *batch)


def _integrator(learning_rate, method, step_size, rtol, atol, delta, steps, stride, default_records) -> dict:
    """The integration options of :func:`_run` (``steps``, and ``stride`` defaulting to about
    ``default_records`` records, checked)."""
    steps, stride = _records(steps, stride, default_records)
    options = dict(learning_rate=learning_rate, method=method, step_size=step_size, rtol=rtol, atol=atol)
    return options | {"delta": delta, "steps": steps, "stride": stride}


def _run(
    task,
    loss: EffectiveLoss,
    train_masks: np.ndarray,
    g_index: np.ndarray,
    E0: np.ndarray,
    record_embedding: bool,
    progress,
    *,
    learning_rate,
    steps,
    stride,
    method,
    step_size,
    rtol,
    atol,
    delta,
):
    eta, step_size, delta, rtol, atol = check_options(
        method, learning_rate, step_size, delta, rtol, atol, steps, stride
    )
    S = train_masks.shape[0]
    M, n, d = E0.shape
    R = steps // stride + 1
    grams, norms, pair_idx, pair_off, n_test = _constraint_system(task, loss, train_masks)
    eig = _exact_null_modes(grams) if method in ("euler", "rk4") else None
    system = (grams, norms, pair_idx, pair_off, n_test, train_masks, eig)
    options = dict(
        eta=eta, step_size=step_size, stride=stride, steps=steps, R=R, rtol=rtol, atol=atol, delta=delta
    )
    out = {k: np.empty((M, R)) for k in ("loss", "z", "rqi", "acc")}
    emb = np.empty((M, R if record_embedding else 0, n, d))
    nsteps = np.zeros((M, 2), dtype=np.int64) if method == "dopri5" else None
    z0 = np.sum(E0 * E0, axis=(1, 2))
    for lo in range(0, M, _CHUNK):
        sl = slice(lo, min(M, lo + _CHUNK))
        records = (out["loss"][sl], out["z"][sl], out["rqi"][sl], out["acc"][sl], emb[sl])
        _integrate_members(
            task,
            loss,
            method,
            E0[sl],
            g_index[sl],
            system,
            records,
            options=options,
            nsteps=None if nsteps is None else nsteps[sl],
        )
        if progress is not None:
            progress(sl.stop - lo)
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
@takes_task
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
    integrator = _integrator(learning_rate, method, step_size, rtol, atol, delta, steps, stride, 500)
    masks, E0 = _one_start(task, train, dim, init, seed)
    r = _run(task, loss, masks, np.zeros(1, dtype=np.int64), E0, record_embedding, None, **integrator)
    return Trajectory(
        steps=r["steps"],
        loss=r["loss"][0],
        z=r["z"][0],
        rqi=r["rqi"][0],
        predicted_test_acc=r["acc"][0],
        embedding=None if r["embedding"] is None else r["embedding"][0],
        steps_to_rqi=float(r["steps_to_rqi"][0]),
        n_h=float(r["n_h"][0]),
        grokking_rate=float(r["rate"][0]),
        gram_eigenvalue=float(r["lam"][0]),
        pinned=bool(r["pinned"][0]),
        z0=float(r["z0"][0]),
        ideal_test_accuracy=ideal_accuracy(task, masks[0]).test,
        loss_convention=loss,
        method=method,
        learning_rate=float(learning_rate),
        n_train=int(masks[0].sum()),
        n_steps=None if r["n_steps"] is None else tuple(int(v) for v in r["n_steps"][0]),
    )


@takes_task
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
    workers: int | str | None = None,
    scheduler: str | None = None,
    out=None,
    progress: Callable[[int], None] | None = None,
    connect_timeout: float = 10.0,
) -> Ensemble:
    """Integrate ``members`` trajectories in parallel (the members spread over threads).

    Each member ``m`` has its own random training split (of the given ``fraction`` or
    ``size``; or the one shared ``train``) and its own initial embedding, drawn from
    ``SeedSequence(seed, spawn_key=(m,))`` -- so member ``m`` is the same whatever the
    ensemble size, chunking or thread count.  ``first_member`` shifts the member indices
    (members ``first_member .. first_member + members − 1``), so an ensemble can be run in
    chunks with identical results.  Other parameters as in :func:`simulate` (default:
    about 100 records).

    By default the members are integrated in this process (all Numba threads).  ``workers``
    (an integer, or ``"auto"``: in process for short runs, one process per core for long
    ones), ``scheduler`` (a Dask address) or ``out`` (a folder to stream chunks of members to
    and resume from) run chunks of members through :func:`effgrok.scan.run_scan`, with the
    same numbers (no ``embedding`` is kept then; ``task`` must come from
    :func:`~effgrok.tasks.make_task` and ``init`` be a name).  ``workers`` and ``scheduler``
    exclude each other; ``connect_timeout`` is how long to wait for the scheduler (seconds).

    Examples
    --------
    >>> import effgrok as eg
    >>> ens = eg.simulate_ensemble(eg.make_task("add", 10), 64, fraction=0.8, steps=1000)
    >>> ens.rqi.shape
    (64, 101)
    """
    loss = EffectiveLoss() if loss is None else loss
    members = integer("members", members, lo=1)
    first_member = integer("first_member", first_member, lo=0)
    dim, seed = integer("dim", dim, lo=1), integer("seed", seed, lo=0)
    integrator = _integrator(learning_rate, method, step_size, rtol, atol, delta, steps, stride, 100)
    if sum(x is not None for x in (fraction, size, train)) != 1:
        raise ValueError("give exactly one of fraction, size and train")
    if workers is not None or scheduler is not None or out is not None:
        if record_embedding:
            raise ValueError(
                "record_embedding needs the ensemble in this process (no workers, scheduler, out)"
            )
        setup = dict(loss=loss, dim=dim, init=init, seed=seed, first_member=first_member)
        split = _split_argument(task, fraction, size, train)
        executors = dict(workers=workers, scheduler=scheduler, out=out, progress=progress)
        executors["connect_timeout"] = connect_timeout
        return run_ensemble_scan(task, members, split=split, setup=setup, integrator=integrator, **executors)
    masks, g_index, E0 = _ensemble_start(
        task, members, first_member, (fraction, size, train), dim, init, seed
    )
    r = _run(task, loss, masks, g_index, E0, record_embedding, progress, **integrator)
    return _ensemble(r, masks.sum(axis=1)[g_index], loss, method, learning_rate)


def _split_argument(task: Task, fraction, size, train) -> dict:
    """The training-set argument of an ensemble as a JSON-ready dict (for scan jobs)."""
    if train is not None:
        return {"train": np.flatnonzero(training_mask(task, train)).tolist()}
    return {"fraction": fraction} if fraction is not None else {"size": size}


def _one_start(task: Task, train, dim, init, seed):
    """Training mask (as a batch of one) and initial embedding of :func:`simulate`."""
    dim, seed = integer("dim", dim, lo=1), integer("seed", seed, lo=0)
    mask = training_mask(task, train)
    if isinstance(init, str):
        E0 = initial_embedding(task, dim, init=init, rng=np.random.default_rng(np.random.SeedSequence(seed)))
    else:
        E0 = _check_init_array(task, init, dim, None)
    return mask[None, :].copy(), E0[None].copy()


def _ensemble_start(task: Task, members: int, first_member: int, split, dim: int, init, seed: int):
    """Training masks, the mask index of each member and the initial embeddings of members
    ``first_member ..``: member ``m`` draws from ``SeedSequence(seed, spawn_key=(m,))``."""
    fraction, size, train = split
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
    return masks, g_index, E0


def _ensemble(r: dict, n_train: np.ndarray, loss: EffectiveLoss, method: str, learning_rate) -> Ensemble:
    """The :class:`Ensemble` of a :func:`_run` result."""
    return Ensemble(
        steps=r["steps"],
        loss=r["loss"],
        z=r["z"],
        rqi=r["rqi"],
        predicted_test_acc=r["acc"],
        embedding=r["embedding"],
        steps_to_rqi=r["steps_to_rqi"],
        n_h=r["n_h"],
        grokking_rate=r["rate"],
        pinned=r["pinned"],
        z0=r["z0"],
        n_train=n_train,
        loss_convention=loss,
        method=method,
        learning_rate=float(learning_rate),
        n_steps=r["n_steps"],
    )


# ------------------------------------------------------------------------------ scan jobs
# An ensemble as scan jobs (simulate_ensemble with workers, scheduler or out): chunks of
# members.  Member m draws its split and initial embedding from SeedSequence(seed,
# spawn_key=(m,)) alone, so the chunks joined are the ensemble of one call, on any executor
# and any number of workers.

#: Core-seconds per member, step and embedding dimension (RK4):
#: ``_STEP_COST + _PAIR_COST · n_train² / n_classes`` (about the training parallelograms),
#: fitted to CPU times measured on one core (issue 25; add p=10, 20, 50, train_fraction 0.6,
#: dim 2: within 0.6-2.3x).  Decides ``workers="auto"`` and the command's time estimate.
_STEP_COST = 1e-7
_PAIR_COST = 6e-10


def core_seconds(task: Task, members: int, n_train: float, steps: int, dim: int) -> float:
    """Estimated core-seconds of an ensemble of ``members`` with ``n_train`` training examples."""
    return members * steps * dim * (_STEP_COST + _PAIR_COST * n_train**2 / task.n_classes)


def n_train_of(task: Task, split: dict) -> float:
    """Training examples of a member under the ``split`` argument (see :func:`run_ensemble_scan`)."""
    if "train" in split:
        return float(len(split["train"]))
    if "size" in split:
        return float(split["size"])
    return float(split["fraction"]) * task.n_examples


_KIND = "effgrok.effective.simulation:ensemble_job"

#: Ensemble fields stored per chunk (chunk-file names; kept as first written, so a store
#: made by an earlier version resumes).
_CHUNK_FIELDS = {
    "loss": "loss",
    "z": "z",
    "rqi": "rqi",
    "predicted_test_acc": "predicted_test_accuracy",
    "steps_to_rqi": "steps_to_rqi",
    "n_h": "n_h",
    "grokking_rate": "grokking_rate",
    "pinned": "pinned",
    "z0": "z0",
    "n_train": "n_train",
}


def ensemble_job(task: str, p, members: int, first_member: int, split: dict, options: dict) -> dict:
    """One chunk: members ``first_member .. first_member + members − 1`` of the ensemble."""
    t = make_task(task, p)
    opts = dict(options)
    opts["loss"] = EffectiveLoss(**opts["loss"])
    split = dict(split)
    if "train" in split:
        split["train"] = np.asarray(split["train"], dtype=np.int64)
    ens = simulate_ensemble(t, members, first_member=first_member, **split, **opts)
    out = {chunk: getattr(ens, attr) for attr, chunk in _CHUNK_FIELDS.items()}
    out["steps"] = ens.steps
    if ens.n_steps is not None:
        out["n_steps"] = ens.n_steps
    return out


def run_ensemble_scan(
    task: Task,
    members: int,
    *,
    split: dict,
    setup: dict,
    integrator: dict,
    workers,
    scheduler,
    out,
    progress: Callable[[int], None] | None,
    connect_timeout: float = 10.0,
):
    """The ensemble through :func:`effgrok.scan.run_scan` in chunks of members (resumable
    with ``out``).  ``split`` is one of ``{"fraction": r}``, ``{"size": n}``,
    ``{"train": [example indices]}``; ``setup`` holds ``loss``, ``dim``, ``init``, ``seed`` and
    ``first_member``, ``integrator`` the integration options (see ``simulate_ensemble``)."""
    from ..scan import ScanStore, auto_workers, chunk_jobs, chunk_size, gather, run_scan

    if task.name not in TASK_NAMES:
        raise ValueError(
            f"workers, scheduler and out need a task made by make_task (one of {', '.join(TASK_NAMES)}); "
            f"got {task.name!r}"
        )
    if not isinstance(setup["init"], str):
        raise ValueError("workers, scheduler and out need init given by name, not as an array")
    names = ("method", "learning_rate", "step_size", "delta", "rtol", "atol", "steps", "stride")
    check_options(*(integrator[k] for k in names))
    loss, first_member = setup["loss"], setup["first_member"]
    options = {k: v for k, v in integrator.items() if k != "delta" or v != DEFAULT_DELTA}
    options.update(dim=setup["dim"], init=setup["init"], seed=setup["seed"])
    options["loss"] = {"constraints": loss.constraints, "normalization": loss.normalization, "z": loss.z}

    def params(start: int, n: int) -> dict:
        return {"task": task.name, "p": task.p, "members": n, "first_member": first_member + start}

    jobs = chunk_jobs(_KIND, members, chunk_size(members, lo=64, hi=2048), params, prefix="members")
    for j in jobs:
        j.params.update(split=split, options=options)
    if workers == "auto":
        cost = core_seconds(task, members, n_train_of(task, split), options["steps"], options["dim"])
        workers = None if scheduler is not None else auto_workers(cost)
    store = None
    if out is not None:
        arguments = {"task": task.name, "p": task.p, "members": members, "split": split, "options": options}
        if first_member:
            arguments["first_member"] = first_member
        store = ScanStore(out, "simulate-ensemble", arguments)
    executors = dict(workers=workers, scheduler=scheduler, connect_timeout=connect_timeout)
    res = run_scan(jobs, store=store, progress=progress, **executors)
    cat = gather(res, jobs)
    return Ensemble(
        steps=res[jobs[0].key]["steps"],
        embedding=None,
        loss_convention=loss,
        method=options["method"],
        learning_rate=float(options["learning_rate"]),
        n_steps=cat.get("n_steps"),
        **{attr: cat[chunk] for attr, chunk in _CHUNK_FIELDS.items() if attr != "pinned"},
        pinned=cat["pinned"].astype(bool),
    )
