"""effgrok's numbers on a user's own network: ``effgrok inspect``.

Given a task, the user's training split and an embedding matrix from their network (one
checkpoint or a series), report

* what the **split** implies, by the effective theory (Liu et al. 2022, arXiv 2205.10343):
  nullity of ``G_D`` against the full table's, whether the structure is pinned, the
  grokking rate ``λ3`` and ``n_h = 1/(η λ3)`` (with ``Z0 = ‖E0‖²`` of the first checkpoint
  given, effgrok's one convention, :data:`~effgrok.effective.spectrum.Z0_CONVENTION`), the
  ideal test accuracy Acc-bar -- by :func:`~effgrok.effective.spectrum.grokking_rate` and
  :func:`~effgrok.effective.metrics.ideal_accuracy`;
* how far the **embedding** has come: RQI and the predicted test accuracy Acc-hat
  (:mod:`effgrok.effective.metrics`), its effective rank, and for modular tasks its Fourier
  concentration and key frequencies (:mod:`effgrok.diagnostics.progress`; Nanda et al. 2023);
* for a **series** of checkpoints, the same per step, with the effective-loss flow started
  from the first checkpoint's embedding (:func:`~effgrok.effective.simulation.simulate`,
  exact solution) overlaid on a fitted or user-given time axis.

* for a **whole network** (its logits on every pair, :mod:`effgrok.diagnostics.network`):
  train and test accuracy and loss on the user's split, and Nanda et al.'s restricted and
  excluded loss and key-frequency logit share.

Nothing here computes those numbers anew: each comes from the library function named.

Where each measure applies
--------------------------
RQI, Acc-hat, Acc-bar, ``λ3`` and ``n_h`` (and the effective-loss flow) measure Liu et al.'s
*linear* structure.  For tasks whose full-table solution is collapse -- ``add-mod``,
``sub-mod``, ``mul-mod``, groups (:func:`~effgrok.effective.spectrum.linear_structure_reason`)
-- they are None (null in JSON), with the reason in ``not_applicable``; nullity and pinning
are still reported (they are facts of the split).  Fourier concentration, key frequencies and
Nanda et al.'s measures apply to the modular tasks only; effective rank, accuracy and loss to
every task.

Embedding rows
--------------
The task's embedding has ``n_slots`` rows (``n_symbols`` for commutative tasks, whose
examples add ``E_a + E_b``; ``2 n_symbols`` for the left/right rows of non-commutative
ones).  A matrix with ``n_slots`` rows is used as it is; one with ``n_symbols`` rows for a
non-commutative task is a *shared* embedding (as in a transformer) and is used for both the
left and the right operand (stacked twice).

Training split
--------------
A :class:`~effgrok.tasks.Split`, example indices, a boolean mask over the task's examples or
over ordered pairs of symbols (``n_symbols × n_symbols``), or pairs of symbol labels.
For a commutative task the examples are unordered pairs: an ordered pair ``(a, b)`` and
its mirror ``(b, a)`` name the same example, which is in the training set when either order
is (:func:`training_split` counts how many appeared in both orders and in one).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._checks import choice, finite_array, fraction, integer
from .._record import Result, column_rows, flat_row, jsonable
from .._record import never_to_none as _num
from ..effective.metrics import DEFAULT_DELTA, ideal_accuracy, predicted_accuracy, rqi
from ..effective.spectrum import GrokkingRate, grokking_rate, linear_structure_reason
from ..tasks import Split, Task, takes_task
from ._splits import _generator, training_split
from .progress import DEFAULT_TOP_K, effective_rank, fourier_concentration, fourier_power

__all__ = [
    "DEFAULT_KEY_POWER",
    "FlowOverlay",
    "Inspection",
    "InspectionSeries",
    "fourier_rows",
    "inspect_embedding",
    "inspect_series",
    "key_frequencies",
    "slot_embedding",
    "training_split",
]

#: Share of the (non-constant) Fourier power that the key frequencies carry together.
DEFAULT_KEY_POWER = 0.9


# --------------------------------------------------------------------------- embedding rows
def slot_embedding(task: Task, E) -> tuple[np.ndarray, str]:
    """The task's embedding (``n_slots`` rows) from a user's matrix, and how (in words).

    ``n_slots`` rows: as given.  ``n_symbols`` rows for a non-commutative task: a shared
    embedding, used for the left and the right operand (stacked twice).
    """
    E = np.asarray(E, dtype=np.float64)
    if E.ndim == 1:
        E = E[:, None]
    if E.ndim != 2 or E.shape[1] < 1 or E.shape[0] not in (task.n_slots, task.n_symbols):
        allowed = sorted({task.n_slots, task.n_symbols})
        raise ValueError(
            f"embedding must have {' or '.join(map(str, allowed))} rows (symbols) for task "
            f"{task.name!r}, got shape {E.shape}"
        )
    finite_array("embedding", E)
    if E.shape[0] == task.n_slots:
        return E, "rows used as they are"
    return np.vstack([E, E]), "shared embedding: its rows serve as left and right operand rows"


# --------------------------------------------------------------------------- Fourier
def fourier_rows(task: Task) -> tuple[np.ndarray, int] | None:
    """Row order and group size for the Fourier analysis of a modular task's embedding.

    ``add-mod``/``sub-mod``: symbol ``a`` is row ``a`` of ``Z_p`` (size ``p``).  ``mul-mod``:
    the cyclic group ``Z_p^*`` through a generator ``g``, row ``k`` holds symbol ``g^k``
    (size ``p − 1``).  ``None`` for other tasks or fewer than 3 symbols.

    Examples
    --------
    >>> from effgrok.tasks import make_task
    >>> order, m = fourier_rows(make_task("mul-mod", 7))   # 3 generates Z_7^*: 1, 3, 2, 6, 4, 5
    >>> m, make_task("mul-mod", 7).symbols[order].tolist()
    (6, [1, 3, 2, 6, 4, 5])
    """
    if task.p is None or task.n_symbols < 3:
        return None
    if task.name in ("add-mod", "sub-mod"):
        return np.arange(task.p), task.p
    if task.name == "mul-mod":
        p = task.p
        g = _generator(p)
        powers = [pow(g, k, p) for k in range(p - 1)]
        return np.asarray(powers) - 1, p - 1  # symbol s sits at index s - 1
    return None


def _fourier_matrix(task: Task, E: np.ndarray) -> tuple[np.ndarray, int] | None:
    fr = fourier_rows(task)
    if fr is None:
        return None
    order, m = fr
    blocks = E.shape[0] // task.n_symbols
    idx = np.concatenate([order + b * task.n_symbols for b in range(blocks)])
    return E[idx], m


def key_frequencies(embedding, p: int, key_power: float = DEFAULT_KEY_POWER) -> list[int]:
    """Frequencies carrying most of an embedding's power over ``Z_p``, strongest first.

    The fewest frequencies ``ω ∈ 1..⌊p/2⌋``, taken in decreasing order of the power ``P_ω``
    (:func:`~effgrok.diagnostics.progress.fourier_power`), whose powers add up to at least
    ``key_power`` of the non-constant total ``Σ_ω P_ω``.  An embedding made of ``k``
    frequencies of equal amplitude gives those ``k`` (Nanda et al. 2023 call them the key
    frequencies); a constant embedding gives ``[]``.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.arange(11)
    >>> E = np.stack([np.cos(2 * np.pi * 3 * a / 11), np.sin(2 * np.pi * 5 * a / 11)], axis=1)
    >>> key_frequencies(E, 11)
    [3, 5]
    """
    kp = _check_key_power(key_power)
    P = fourier_power(embedding, p)
    if P.ndim != 1:
        raise ValueError(f"embedding must be one matrix (rows, dims), got shape {np.shape(embedding)}")
    E = np.asarray(embedding, dtype=np.float64)
    total = float(P.sum())
    if not total > 1e-20 * p * float(np.sum(E * E)):
        return []
    order = np.argsort(-P, kind="stable")
    cum = np.cumsum(P[order])
    m = int(np.searchsorted(cum, kp * total * (1 - 1e-12))) + 1
    return [int(w) + 1 for w in order[:m]]


# --------------------------------------------------------------------------- one embedding
@dataclass(frozen=True)
class Inspection(Result):
    """effgrok's numbers on one embedding of a user's network (see :func:`inspect_embedding`).

    Attributes
    ----------
    task : Task
    split : Split
    split_how, rows_how : str
        How the training split and the embedding's rows were read.
    rate : GrokkingRate
        Nullity, pinning, grokking rate, ``n_h`` and ``Z0`` of the split.
    ideal_test_accuracy : float or None
        Acc-bar on the test examples (None where it does not apply).
    embedding_shape : tuple of int
        Shape of the embedding as given.
    rqi, predicted_test_acc : float or None
        RQI and Acc-hat (test); None where they do not apply (``not_applicable``).
    effective_rank : float
        Entropy effective rank of the embedding.
    fourier_concentration : float or None
        Share of the power in the ``k`` strongest frequencies (modular tasks).
    key_frequencies : tuple of int or None
        See :func:`key_frequencies` (modular tasks).
    measured_test_accuracy : float or None
        The user's own test accuracy, when given.
    k : int or None
        Frequencies counted by the concentration (None: not a modular task).
    delta, key_power : float
        Options used.
    source : dict or None
        Where the embedding came from (file, tensor, axis), when read from a file.
    not_applicable : str or None
        Why RQI, Acc-hat, Acc-bar, ``λ3`` and ``n_h`` are None for this task
        (:func:`~effgrok.effective.spectrum.linear_structure_reason`).
    z0_source : str
        Where ``Z0`` of ``n_h`` came from.
    network : NetworkMeasures or None
        Accuracy, loss and Nanda et al.'s measures of the whole network, when given.
    """

    task: Task
    split: Split
    split_how: str
    rows_how: str
    rate: GrokkingRate
    ideal_test_accuracy: float | None
    embedding_shape: tuple
    rqi: float | None
    predicted_test_acc: float | None
    effective_rank: float
    fourier_concentration: float | None
    key_frequencies: tuple | None
    measured_test_accuracy: float | None = None
    k: int | None = None
    delta: float = DEFAULT_DELTA
    key_power: float = DEFAULT_KEY_POWER
    source: dict | None = field(default=None, compare=False)
    not_applicable: str | None = None
    z0_source: str = "given"
    network: object = field(default=None, compare=False)

    def split_record(self) -> dict:
        """The numbers of the split alone (no embedding); Liu et al.'s predictions are None
        where they do not apply (``not_applicable`` says why)."""
        r = self.rate
        na = self.not_applicable is not None
        return {
            "task": self.task.name,
            "p": self.task.p,
            "n_examples": self.task.n_examples,
            "n_train": self.split.n_train,
            "train_fraction": self.split.fraction,
            "split": self.split_how,
            "nullity": r.nullity,
            "full_nullity": r.full_nullity,
            "pinned": r.pinned,
            "not_applicable": self.not_applicable,
            "grokking_rate": None if na else r.grokking_rate,
            "n_h": None if na or not np.isfinite(r.n_h) else r.n_h,
            "z0": None if na else r.z0,
            "z0_source": None if na else self.z0_source,
            "learning_rate": r.learning_rate,
            "normalization": r.normalization,
            "ideal_test_accuracy": _num(self.ideal_test_accuracy),
        }

    def embedding_record(self) -> dict:
        """The numbers of the embedding (given the split)."""
        rec = {
            "embedding_shape": list(self.embedding_shape),
            "rows": self.rows_how,
            "rqi": _num(self.rqi),
            "predicted_test_acc": _num(self.predicted_test_acc),
            "effective_rank": self.effective_rank,
            "fourier_concentration": _num(self.fourier_concentration),
            "fourier_k": self.k,
            "key_frequencies": None if self.key_frequencies is None else list(self.key_frequencies),
        }
        if self.network is not None:
            rec.update(self.network.record())
        if self.measured_test_accuracy is not None:
            m = self.measured_test_accuracy
            rec["measured_test_accuracy"] = m
            if self.not_applicable is None:
                rec["measured_minus_predicted"] = _num(m - self.predicted_test_acc)
                rec["measured_minus_ideal"] = _num(m - self.ideal_test_accuracy)
        return rec

    def record(self) -> dict:
        """One JSON-ready dictionary: the split's numbers, then the embedding's."""
        rec = self.split_record()
        rec.update(self.embedding_record())
        if self.source is not None:
            rec["source"] = self.source
        return jsonable(rec)

    def tables(self) -> dict[str, list[dict]]:
        """``inspect``: the record as one row (``source`` left out, the shape written ``AxB``)."""
        rec = {k: v for k, v in self.record().items() if k != "source"}
        rec["embedding_shape"] = "x".join(map(str, rec["embedding_shape"]))
        return {"inspect": [flat_row(rec)]}


def _check_key_power(key_power) -> float:
    return fraction("key_power", key_power)


def _check_accuracy(accuracy) -> float | None:
    if accuracy is None:
        return None
    return fraction("accuracy", accuracy, closed="both")


def _split_numbers(task, train, learning_rate, z0, normalization, E0):
    """Split, how it was read, grokking rate (``Z0 = ‖E0‖²`` of the first embedding unless
    given), Acc-bar (None where it does not apply), the reason, and where ``Z0`` came from."""
    split, how = training_split(task, train)
    reason = linear_structure_reason(task)
    if reason is not None:  # λ3 and n_h are not reported: no Z0 needed
        z0_source = "not used"
    elif z0 is None:
        S0, _ = slot_embedding(task, E0)
        z0 = float(np.sum(S0 * S0))
        if not z0 > 0:
            raise ValueError("the first embedding is all zeros: Z0 = ‖E0‖² = 0; give z0")
        z0_source = "‖E0‖² of the first checkpoint given, as rate and simulate"
    else:
        z0_source = "given"
    rate = grokking_rate(task, split, learning_rate=learning_rate, z0=z0, normalization=normalization)
    ideal = None if reason is not None else ideal_accuracy(task, split).test
    return split, how, rate, ideal, reason, z0_source


def _embedding_numbers(task, split, E, k, delta, key_power, linear: bool = True) -> dict:
    E = np.asarray(E, dtype=np.float64)
    if E.ndim == 1:
        E = E[:, None]
    S, rows_how = slot_embedding(task, E)
    out = {
        "rows_how": rows_how,
        "rqi": rqi(task, S, delta) if linear else None,
        "predicted_test_acc": predicted_accuracy(task, split, S, delta).test if linear else None,
        "effective_rank": float(effective_rank(E)),
        "fourier_concentration": None,
        "key_frequencies": None,
    }
    F = _fourier_matrix(task, E)
    if F is not None:
        M, m = F
        if k is None:
            k = min(DEFAULT_TOP_K, m // 2)
        integer("k", k, lo=1, hi=m // 2)
        out["k"] = int(k)
        out["fourier_concentration"] = _num(fourier_concentration(M, m, k))
        out["key_frequencies"] = tuple(key_frequencies(M, m, key_power))
    return out


@takes_task
def inspect_embedding(
    task: Task,
    train,
    E,
    *,
    learning_rate: float = 1e-3,
    z0: float | None = None,
    normalization: str = "sum",
    accuracy: float | None = None,
    k: int | None = None,
    delta: float = DEFAULT_DELTA,
    key_power: float = DEFAULT_KEY_POWER,
    source: dict | None = None,
    logits=None,
    key_frequencies=None,
) -> Inspection:
    """effgrok's numbers on a user's embedding: the split's prediction and the embedding's state.

    Split (Liu et al. 2022): nullity of ``G_D``, pinned or not, ``λ3`` of ``H = 2G_D/(N Z0)``
    and ``n_h = 1/(η λ3)`` by :func:`~effgrok.effective.spectrum.grokking_rate` with
    ``Z0 = ‖E0‖²`` of this embedding (its slot rows; effgrok's one convention,
    :data:`~effgrok.effective.spectrum.Z0_CONVENTION`) unless ``z0`` is given, ideal test
    accuracy Acc-bar.  These and RQI/Acc-hat are None, with the reason in
    :attr:`Inspection.not_applicable`, for tasks whose full-table solution is collapse
    (:func:`~effgrok.effective.spectrum.linear_structure_reason`).
    Embedding: RQI and Acc-hat by :mod:`effgrok.effective.metrics`, entropy effective rank
    (:func:`~effgrok.diagnostics.progress.effective_rank`), and for ``add-mod``, ``sub-mod``
    and ``mul-mod`` the Fourier concentration in the ``k`` strongest frequencies and the key
    frequencies (:func:`key_frequencies`).

    Parameters
    ----------
    task : Task
    train
        The training split (see :func:`training_split`).
    E : array_like, shape (n_symbols or n_slots, d)
        The embedding (see :func:`slot_embedding`).
    learning_rate, z0, normalization
        For ``n_h`` (:func:`~effgrok.effective.spectrum.grokking_rate`).
    accuracy : float, optional
        The network's measured test accuracy, compared with Acc-hat and Acc-bar.
    k, delta, key_power
        Frequencies counted by the concentration (default ``min(5, ⌊m/2⌋)`` for a group of
        order ``m``), RQI threshold, power share of the key frequencies.
    logits : array_like, shape (n, n, n_classes), optional
        The whole network's logits on every ordered pair of symbol indices
        (:meth:`~effgrok.diagnostics.network.Network.logits`): adds accuracy, loss and Nanda et
        al.'s measures (:func:`~effgrok.diagnostics.network.network_measures`).
    key_frequencies : sequence of int, optional
        The frequencies of those measures (default: the logits' own).

    Examples
    --------
    >>> import numpy as np, effgrok as eg
    >>> t = eg.make_task("add", 10)
    >>> split = eg.random_split(t, fraction=0.8, seed=58)
    >>> res = eg.inspect_embedding(t, split, np.arange(10.0)[:, None])   # the linear structure
    >>> res.rqi, res.predicted_test_acc == res.ideal_test_accuracy
    (1.0, True)
    """
    accuracy = _check_accuracy(accuracy)
    _check_key_power(key_power)
    split, how, rate, ideal, reason, z0_source = _split_numbers(
        task, train, learning_rate, z0, normalization, E
    )
    nums = _embedding_numbers(task, split, E, k, delta, key_power, linear=reason is None)
    net = None
    if logits is not None:
        from .network import network_measures

        net = network_measures(task, logits, train, key_frequencies=key_frequencies, key_power=key_power)
    return Inspection(
        task=task,
        split=split,
        split_how=how,
        rate=rate,
        ideal_test_accuracy=ideal,
        embedding_shape=tuple(np.shape(E)) if np.ndim(E) == 2 else (np.shape(E)[0], 1),
        measured_test_accuracy=accuracy,
        delta=delta,
        key_power=key_power,
        source=source,
        not_applicable=reason,
        z0_source=z0_source,
        network=net,
        **nums,
    )


# --------------------------------------------------------------------------- checkpoint series
#: Flow times (in units of the slowest nonzero mode's time constant) of the theory grid.
_FLOW_SPAN = (1e-3, 1e2)
_FLOW_POINTS = 160
_FIT_POINTS = 400
FLOW_TIMES = ("fit", "lr")


@dataclass(frozen=True)
class FlowOverlay(Result):
    """The effective-loss flow from the first checkpoint's embedding, on the user's step axis.

    The flow is the exact solution (:func:`~effgrok.effective.dynamics.exact_flow`) of
    gradient flow on ``ℓ_eff = ℓ0/Z`` over the training parallelograms (live ``Z``), in flow
    time ``τ`` (``τ = η·t`` for gradient descent at learning rate ``η``).  Checkpoint step
    ``s`` is flow time ``τ = c·(s − s0)``: ``c`` is the user's learning rate (``time =
    "lr"``) or fitted by least squares of the measured against the flow's RQI (``"fit"``).

    Attributes
    ----------
    tau : ndarray
        Flow times of the theory grid (``0`` first, then log-spaced).
    rqi, predicted_test_acc : ndarray
        RQI and Acc-hat (test) along the flow at ``tau``.
    step0 : int
        First checkpoint's step.
    time_scale : float
        ``c`` in ``τ = c·(s − s0)``.
    time : {"fit", "lr"}
    fit_rmse : float
        Root-mean-square difference of measured and flow RQI at the checkpoints.
    determined : bool
        False when the measured RQI does not change (``"fit"`` cannot fix ``c``).
    kappa : float
        Rate of the slowest nonzero mode, ``2 λ/(N Z0)`` with ``Z0 = ‖E0‖²`` (the grokking
        rate when the structure is pinned).
    n_h_steps : float or None
        ``1/(c · κ)`` in the user's steps when the structure is pinned and the time axis is
        determined (None otherwise: an undetermined axis gives no time scale).
    """

    tau: np.ndarray
    rqi: np.ndarray
    predicted_test_acc: np.ndarray
    step0: int
    time_scale: float
    time: str
    fit_rmse: float
    determined: bool
    kappa: float
    n_h_steps: float | None

    def at_steps(self, steps) -> tuple[np.ndarray, np.ndarray]:
        """Flow RQI and Acc-hat at user steps (interpolated in log flow time)."""
        tau = self.time_scale * (np.asarray(steps, dtype=np.float64) - self.step0)
        return _interp(self.tau, self.rqi, tau), _interp(self.tau, self.predicted_test_acc, tau)

    def describe(self) -> str:
        if self.time == "lr":
            return f"user units: flow time = lr · (step − {self.step0}), lr = {self.time_scale:g}"
        word = "fitted" if self.determined else "undetermined (the measured RQI does not change)"
        return (
            f"{word}: flow time = c · (step − {self.step0}), c = {self.time_scale:.6g} (least squares on RQI)"
        )

    def record(self) -> dict:
        return {
            "flow": "exact effective-loss flow (training parallelograms, live Z) from the first checkpoint",
            "time_axis": self.describe(),
            "time": self.time,
            "time_scale": self.time_scale,
            "fit_rmse": _num(self.fit_rmse),
            "kappa": self.kappa,
            "n_h_steps": _num(self.n_h_steps),
            "step0": self.step0,
        }

    def tables(self) -> dict[str, list[dict]]:
        """``flow``: RQI and Acc-hat along the flow, one row per flow time."""
        return {
            "flow": column_rows(
                {"tau": self.tau, "rqi": self.rqi, "predicted_test_acc": self.predicted_test_acc}
            )
        }


def _interp(tau_grid, values, tau):
    """Piecewise-linear in ``log τ`` on ``tau_grid`` (``tau_grid[0] = 0``, rest log-spaced)."""
    lg = np.log(tau_grid[1:])
    t = np.asarray(tau, dtype=np.float64)
    with np.errstate(divide="ignore"):
        lt = np.log(np.maximum(t, 1e-300))
    out = np.interp(lt, lg, values[1:], left=values[0], right=values[-1])
    return np.where(t <= 0, values[0], out)


def _flow_overlay(task, split, E0, steps, measured_rqi, *, pinned, normalization, time, learning_rate, delta):
    from ..effective.dynamics import EffectiveLoss, exact_flow
    from ..effective.spectrum import zero_tolerance

    loss = EffectiveLoss(normalization=normalization)
    G = loss.gram(task, split)
    ev = np.linalg.eigvalsh(G)
    nonzero = ev[ev > zero_tolerance(ev)]
    if nonzero.size == 0:
        return None  # no training parallelogram: the effective loss is constant
    S0, _ = slot_embedding(task, E0)
    N = loss.normalizer(task, split)
    z0 = float(np.sum(S0 * S0))
    kappa = 2.0 * float(nonzero.min()) / (N * z0)
    tau = np.concatenate([[0.0], np.geomspace(_FLOW_SPAN[0] / kappa, _FLOW_SPAN[1] / kappa, _FLOW_POINTS)])
    F = exact_flow(G, S0, tau, learning_rate=1.0, normalizer=N, z="live")
    r = np.array([rqi(task, f, delta) for f in F])
    acc = np.array([predicted_accuracy(task, split, f, delta).test for f in F])
    s = np.asarray(steps, dtype=np.float64)
    ds = s - s[0]
    span = max(float(ds[-1]), 1.0)
    if time == "lr":
        c, determined = float(learning_rate), True
    else:
        cands = np.geomspace(1e-2 / (kappa * span), 1e3 / (kappa * span), _FIT_POINTS)
        err = [np.mean((measured_rqi - _interp(tau, r, ci * ds)) ** 2) for ci in cands]
        c = float(cands[int(np.argmin(err))])
        determined = bool(np.ptp(measured_rqi) > 1e-9)
    rmse = float(np.sqrt(np.mean((measured_rqi - _interp(tau, r, c * ds)) ** 2)))
    return FlowOverlay(
        tau=tau,
        rqi=r,
        predicted_test_acc=acc,
        step0=int(steps[0]),
        time_scale=c,
        time=time,
        fit_rmse=rmse,
        determined=determined,
        kappa=kappa,
        n_h_steps=1.0 / (c * kappa) if pinned and determined else None,
    )


@dataclass(frozen=True)
class InspectionSeries(Result):
    """effgrok's numbers on a series of checkpoints (see :func:`inspect_series`).

    Attributes
    ----------
    steps : ndarray of int64
    checkpoints : tuple of Inspection
        One per step (same split numbers in each).
    flow : FlowOverlay or None
        The theory overlay (None when not asked for or the split has no parallelogram).
    """

    steps: np.ndarray
    checkpoints: tuple
    flow: FlowOverlay | None

    def rows(self) -> list[dict]:
        """One row per checkpoint (CSV), with the flow's RQI and Acc-hat at its step."""
        out = []
        flow = None if self.flow is None else self.flow.at_steps(self.steps)
        for i, (s, c) in enumerate(zip(self.steps, self.checkpoints, strict=True)):
            e = c.embedding_record()
            row = {
                "step": int(s),
                "rqi": e["rqi"],
                "predicted_test_acc": e["predicted_test_acc"],
                "effective_rank": e["effective_rank"],
                "fourier_concentration": e["fourier_concentration"],
                "key_frequencies": None
                if e["key_frequencies"] is None
                else " ".join(map(str, e["key_frequencies"])),
            }
            if c.network is not None:
                for key, v in c.network.record().items():
                    row[key] = " ".join(map(str, v)) if isinstance(v, list) else v
            if flow is not None:
                row["flow_rqi"] = float(flow[0][i])
                row["flow_predicted_test_acc"] = _num(flow[1][i])
            out.append(row)
        return out

    def record(self) -> dict:
        """One JSON-ready dictionary: the split's numbers, ``checkpoints`` and ``theory``."""
        rec = self.checkpoints[0].split_record()
        rec["embedding_shape"] = list(self.checkpoints[0].embedding_shape)
        rec["rows"] = self.checkpoints[0].rows_how
        cps = []
        for s, c in zip(self.steps, self.checkpoints, strict=True):
            e = {"step": int(s)}
            e.update({k: v for k, v in c.embedding_record().items() if k not in ("embedding_shape", "rows")})
            if c.source is not None:
                e["source"] = c.source
            cps.append(e)
        rec["checkpoints"] = cps
        rec["theory"] = None if self.flow is None else self.flow.record()
        return jsonable(rec)

    def tables(self) -> dict[str, list[dict]]:
        """``inspect``: one row per checkpoint (:meth:`rows`)."""
        return {"inspect": self.rows()}


@takes_task
def inspect_series(
    task: Task,
    train,
    embeddings,
    steps,
    *,
    learning_rate: float = 1e-3,
    z0: float | None = None,
    normalization: str = "sum",
    k: int | None = None,
    delta: float = DEFAULT_DELTA,
    key_power: float = DEFAULT_KEY_POWER,
    flow: bool = True,
    time: str = "fit",
    sources=None,
    logits=None,
    key_frequencies=None,
) -> InspectionSeries:
    """:func:`inspect_embedding` at every checkpoint, with the effective-loss flow overlaid.

    The flow starts from the first checkpoint's embedding (:class:`FlowOverlay`); its time
    axis is fitted (``time="fit"``: ``τ = c·(s − s0)``, ``c`` by least squares on RQI) or the
    user's (``time="lr"``: ``c = learning_rate``, i.e. the network's steps taken as gradient
    steps of the effective loss).

    Parameters
    ----------
    embeddings : sequence of array_like, each (rows, d)
        One embedding per checkpoint.
    steps : sequence of int
        Their steps, strictly increasing.
    logits : sequence of array_like, optional
        The whole network's logits at each checkpoint (see :func:`inspect_embedding`).
    key_frequencies : sequence of int, optional
        The frequencies of Nanda et al.'s measures at every checkpoint; default those of the
        *last* checkpoint's logits, as Nanda et al. take the final network's.

    ``Z0`` of ``n_h`` is ``‖E0‖²`` of the first checkpoint.  The flow is Liu et al.'s theory:
    it is left out (None) where their measures do not apply.

    Examples
    --------
    >>> import numpy as np, effgrok as eg
    >>> t = eg.make_task("add", 8)
    >>> split = eg.random_split(t, fraction=0.8, seed=1)
    >>> rng = np.random.default_rng(0)
    >>> E = [np.arange(8.0) + 2 * s * rng.standard_normal(8) for s in (1.0, 0.3, 0.0)]
    >>> res = eg.inspect_series(t, split, [e[:, None] for e in E], [0, 100, 200])
    >>> [round(c.rqi, 3) for c in res.checkpoints][-1]
    1.0
    """
    choice("time", time, FLOW_TIMES)
    st = np.asarray(steps)
    embs = list(embeddings)
    if st.ndim != 1 or st.size != len(embs) or st.size == 0 or not np.issubdtype(st.dtype, np.integer):
        raise ValueError(
            f"give one integer step per embedding ({len(embs)}), got {np.asarray(steps).tolist()!r}"
        )
    if np.any(np.diff(st) <= 0):
        raise ValueError(f"steps must increase strictly, got {st.tolist()}")
    srcs = [None] * len(embs) if sources is None else list(sources)
    _check_key_power(key_power)
    split, how, rate, ideal, reason, z0_source = _split_numbers(
        task, train, learning_rate, z0, normalization, embs[0]
    )
    common = dict(task=task, split=split, split_how=how, rate=rate, ideal_test_accuracy=ideal)
    common.update(not_applicable=reason, z0_source=z0_source)
    nets = _network_series(task, train, logits, len(embs), key_frequencies, key_power)
    cps = _checkpoints(embs, srcs, common, k=k, delta=delta, key_power=key_power, nets=nets)
    overlay = None
    if flow and reason is None:
        overlay = _flow_overlay(
            task,
            split,
            embs[0],
            st,
            np.array([c.rqi for c in cps]),
            pinned=rate.pinned,
            normalization=normalization,
            time=time,
            learning_rate=learning_rate,
            delta=delta,
        )
    return InspectionSeries(steps=st.astype(np.int64), checkpoints=tuple(cps), flow=overlay)


def _network_series(task, train, logits, n, key_frequencies, key_power) -> list:
    """Nanda et al.'s measures at every checkpoint, at the last checkpoint's key frequencies."""
    if logits is None:
        return [None] * n
    from .network import network_measures

    zs = list(logits)
    if len(zs) != n:
        raise ValueError(f"give one logits table per checkpoint ({n}), got {len(zs)}")
    src = "given"
    if key_frequencies is None:
        last = network_measures(task, zs[-1], train, key_power=key_power)
        key_frequencies = last.logit_key_frequencies
        src = f"the last checkpoint's logits ({key_power:g} of the energy)"
    return [
        network_measures(task, z, train, key_frequencies=key_frequencies, key_power=key_power, key_source=src)
        for z in zs
    ]


def _checkpoints(embs, srcs, common: dict, *, k, delta, key_power, nets=None) -> list[Inspection]:
    """One :class:`Inspection` per embedding of a series (all of one shape)."""
    task, split = common["task"], common["split"]
    linear = common.get("not_applicable") is None
    nets = [None] * len(embs) if nets is None else nets
    cps = []
    for E, src, net in zip(embs, srcs, nets, strict=True):
        nums = _embedding_numbers(task, split, E, k, delta, key_power, linear=linear)
        shape = tuple(np.shape(E)) if np.ndim(E) == 2 else (np.shape(E)[0], 1)
        cps.append(
            Inspection(
                **common,
                embedding_shape=shape,
                delta=delta,
                key_power=key_power,
                source=src,
                network=net,
                **nums,
            )
        )
    shapes = {c.embedding_shape for c in cps}
    if len(shapes) > 1:
        raise ValueError(f"the embeddings differ in shape: {sorted(shapes)}")
    return cps
