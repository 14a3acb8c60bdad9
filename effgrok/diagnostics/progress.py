"""Representation progress measures as functions of the training step.

Three measures of how structured a network's internal representation is, each computed on
logged snapshots (leading axes: runs, snapshots):

* **effective rank** of the hidden features (Roy & Vetterli 2007), and the participation
  ratio -- Fan, Pascanu & Jaggi, "Deep Grokking: Would Deep Neural Networks Generalize
  Better?" (arXiv 2405.19454) report that the (numerical) rank of the features *drops*
  around the time test accuracy rises, in *deep* (4–12 layer) MLPs trained from a large
  initialisation, layer by layer: :func:`thresholded_rank` counts the singular values above a
  threshold, and :func:`digits_features` gives every hidden layer's features of the digits
  MLP (:mod:`effgrok.nets.digits`) from its parameters;
* **Fourier concentration** of the symbol embeddings of a modular task -- Nanda, Chan,
  Lieberum, Smith & Steinhardt, "Progress measures for grokking via mechanistic
  interpretability" (ICLR 2023, arXiv 2301.05217): the embeddings of a network that has
  grokked modular addition are sparse in the Fourier basis of ``Z_p`` (a few key
  frequencies);
* **RQI** of toy-model embeddings (Liu et al. 2022; computed by
  :func:`effgrok.effective.metrics.rqi`, not re-implemented here).

numpy only; :func:`modular_progress` and :func:`toy_progress` take the results of the JAX
trainers but need no JAX themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._checks import finite_array, fraction, integer
from .._record import Result, jsonable, step_or_none
from ..effective.metrics import DEFAULT_DELTA, rqi
from ..tasks import Task, takes_task

__all__ = [
    "DEFAULT_RANK_THRESHOLD",
    "DEFAULT_TOP_K",
    "Progress",
    "digits_features",
    "effective_rank",
    "fourier_concentration",
    "fourier_power",
    "modular_progress",
    "participation_ratio",
    "rqi_curve",
    "thresholded_rank",
    "toy_progress",
]

#: Default number of key frequencies in :func:`fourier_concentration` (Nanda et al. find ~5).
DEFAULT_TOP_K = 5
#: Default relative threshold of :func:`thresholded_rank` (singular values above 1 % of the largest).
DEFAULT_RANK_THRESHOLD = 1e-2


def _matrices(features, name="features") -> np.ndarray:
    X = np.asarray(features, dtype=np.float64)
    if X.ndim < 2 or X.shape[-2] < 1 or X.shape[-1] < 1:
        raise ValueError(
            f"{name} must have shape (..., samples, dims) with samples, dims >= 1, got {X.shape}"
        )
    finite_array(name, X)
    return X


def _singular_values(features, center: bool) -> np.ndarray:
    X = _matrices(features)
    if center:
        X = X - X.mean(axis=-2, keepdims=True)
    return np.linalg.svd(X, compute_uv=False)


def effective_rank(features, *, center: bool = True) -> np.ndarray | float:
    """Entropy effective rank of a feature matrix (Roy & Vetterli 2007).

    ``erank(X) = exp(−Σ_i p_i log p_i)``, ``p_i = σ_i / Σ_j σ_j`` over the singular values
    ``σ`` of ``X`` (samples × dims; with ``center=True`` each column is centred over the
    samples first, i.e. the rank of the feature covariance's square root).  ``1 ≤ erank ≤
    rank(X)``: 1 for a rank-one matrix, ``n`` for ``n`` equal singular values.  An all-zero
    matrix gives 0.

    Parameters
    ----------
    features : array_like, shape (..., samples, dims)
        Leading axes (runs, snapshots) are kept.
    center : bool
        Centre each feature over the samples (default).

    Examples
    --------
    >>> import numpy as np
    >>> round(effective_rank(np.eye(4), center=False), 12)
    4.0
    >>> round(effective_rank(np.outer([1.0, 2, 3], [1.0, -1, 0.5])), 12)
    1.0
    """
    s = _singular_values(features, center)
    tot = s.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(tot > 0, s / np.where(tot > 0, tot, 1.0), 0.0)
        h = -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0), axis=-1)
    out = np.where(tot[..., 0] > 0, np.exp(h), 0.0)
    return float(out) if out.ndim == 0 else out


def thresholded_rank(
    features, *, rel_threshold: float = DEFAULT_RANK_THRESHOLD, center: bool = True
) -> np.ndarray | int:
    """Numerical rank of a feature matrix: the number of singular values above a threshold.

    ``rank_τ(X) = #{i : σ_i > τ · σ_1}`` over the singular values ``σ_1 ≥ σ_2 ≥ …`` of ``X``
    (samples × dims; with ``center=True`` each column is centred over the samples first).  The
    feature rank of Fan, Pascanu & Jaggi (2024, arXiv 2405.19454), who count singular values
    above a threshold per layer; effgrok makes the threshold *relative* to the largest
    singular value so that the count does not move with the overall scale of the features
    (which a large initialisation and weight decay change by orders of magnitude).  An
    all-zero matrix has rank 0.

    Parameters
    ----------
    features : array_like, shape (..., samples, dims)
    rel_threshold : float
        ``τ`` in ``(0, 1)`` (default 0.01).

    Examples
    --------
    >>> import numpy as np
    >>> thresholded_rank(np.diag([1.0, 0.5, 0.001]), center=False)
    2
    >>> thresholded_rank(np.diag([1.0, 0.5, 0.001]), rel_threshold=1e-4, center=False)
    3
    """
    t = fraction("rel_threshold", rel_threshold, closed="neither")
    sv = _singular_values(features, center)
    top = sv[..., :1]
    out = np.sum((sv > t * top) & (top > 0), axis=-1)
    return int(out) if out.ndim == 0 else out


def digits_features(params: dict, x) -> np.ndarray:
    """Hidden features of every hidden layer of the digits MLP (:mod:`effgrok.nets.digits`).

    ``h_0 = x``, ``h_{i+1} = relu(h_i W_i + b_i)`` for ``i = 0 … depth − 2`` (the last layer,
    ``W_{depth−1}``, gives the outputs and is not a feature layer).  numpy, float64, a pure
    function of the parameters, so it also works on parameters saved at any step.

    Parameters
    ----------
    params : dict
        ``{"W0", "b0", …, "W{depth−1}", "b{depth−1}"}`` as returned by
        :func:`effgrok.nets.digits.train_digits` (``[run, ...]`` arrays) or one run's
        parameters (no run axis).
    x : array_like, shape (samples, 64)
        Input images (e.g. :attr:`DigitsData.x_train`).

    Returns
    -------
    ndarray, shape (depth − 1, [runs,] samples, width)

    Examples
    --------
    >>> import numpy as np
    >>> p = {"W0": np.eye(2), "b0": np.array([0.0, -1.0]), "W1": -np.eye(2), "b1": np.zeros(2),
    ...      "W2": np.ones((2, 1)), "b2": np.zeros(1)}
    >>> digits_features(p, np.array([[2.0, 3.0]])).tolist()    # layer 1: relu((2, 2)·(−1)) = 0
    [[[2.0, 2.0]], [[0.0, 0.0]]]
    """
    if not isinstance(params, dict) or "W0" not in params:
        raise ValueError("params must be a dict with keys W0, b0, W1, b1, ... (the digits MLP)")
    depth = 0
    while f"W{depth}" in params:
        if f"b{depth}" not in params:
            raise ValueError(f"params has W{depth} but no b{depth}")
        depth += 1
    if depth < 2:
        raise ValueError(f"the MLP needs at least 2 layers to have a hidden layer, got depth {depth}")
    h = _matrices(x, "x")
    out = []
    for i in range(depth - 1):
        W = np.asarray(params[f"W{i}"], dtype=np.float64)
        b = np.asarray(params[f"b{i}"], dtype=np.float64)
        if W.shape[-2] != h.shape[-1] or b.shape[-1] != W.shape[-1]:
            raise ValueError(
                f"layer {i}: W{i} {W.shape} and b{i} {b.shape} do not fit features of width {h.shape[-1]}"
            )
        h = np.maximum(h @ W + b[..., None, :], 0.0)
        out.append(h)
    return np.stack(out)


def participation_ratio(features, *, center: bool = True) -> np.ndarray | float:
    """Participation ratio ``PR = (Σ_i λ_i)² / Σ_i λ_i²`` of the eigenvalues ``λ_i = σ_i²`` of ``XᵀX``.

    Another effective dimension (Gao et al. 2017): ``n`` for ``n`` equal eigenvalues, 1 for
    rank one; more sensitive to the largest eigenvalues than :func:`effective_rank`.  Same
    arguments; 0 for an all-zero matrix.

    Examples
    --------
    >>> import numpy as np
    >>> round(participation_ratio(np.diag([1.0, 1.0, 1.0, 0.0]), center=False), 12)
    3.0
    """
    lam = _singular_values(features, center) ** 2
    num = lam.sum(axis=-1) ** 2
    den = np.sum(lam * lam, axis=-1)
    out = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
    return float(out) if out.ndim == 0 else out


def _blocks(embedding, p) -> np.ndarray:
    integer("p", p, lo=3)
    E = _matrices(embedding, "embedding")
    rows = E.shape[-2]
    if rows % p:
        raise ValueError(
            f"the symbol axis (second to last) must have p = {p} rows or a multiple of p "
            f"(e.g. the 2p one-hot rows of an MLP's first layer), got {rows}"
        )
    m = rows // p
    return E.reshape(*E.shape[:-2], m, p, E.shape[-1])


def fourier_power(embedding, p: int, *, per_column: bool = False) -> np.ndarray:
    """Power of an embedding at each frequency of ``Z_p`` along its symbol axis.

    ``P_ω = Σ_blocks Σ_j (|Ê_{ω j}|² + |Ê_{p−ω, j}|²)`` for ``ω = 1 … ⌊(p−1)/2⌋`` (plus
    ``|Ê_{p/2, j}|²`` once at ``ω = p/2`` for even ``p``), with ``Ê = DFT`` of each block of
    ``p`` rows along the rows.  The constant mode ``ω = 0`` is excluded (a shift of all
    embeddings).  ``Σ_ω P_ω = p · Σ ‖E − mean‖²`` over the blocks (Parseval).

    Parameters
    ----------
    embedding : array_like, shape (..., m·p, dims)
        Row ``b·p + a`` embeds symbol ``a`` in block ``b`` (``m = 2`` for the left/right
        one-hot rows of :mod:`effgrok.nets.modular`'s ``W1``).
    p : int
        Number of symbols.

    per_column : bool
        Keep the columns apart (no sum over ``j``): shape ``(..., dims, ⌊p/2⌋)``.

    Returns
    -------
    ndarray, shape (..., ⌊p/2⌋)
        ``P_ω`` for ``ω = 1 … ⌊p/2⌋``.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.arange(7)
    >>> P = fourier_power(np.cos(2 * np.pi * 2 * a / 7)[:, None], 7)
    >>> np.round(P, 12).tolist()                       # all power at ω = 2: (7/2)² · 2
    [0.0, 24.5, 0.0]
    """
    B = _blocks(embedding, p)
    F = np.fft.fft(B, axis=-2)
    if per_column:
        power = np.swapaxes(np.sum(np.abs(F) ** 2, axis=-3), -1, -2)  # (..., dims, p)
    else:
        power = np.sum(np.abs(F) ** 2, axis=(-3, -1))  # (..., p)
    half = p // 2
    w = np.arange(1, half + 1)
    out = power[..., w] + power[..., p - w]
    if p % 2 == 0:
        out[..., -1] = power[..., half]
    return out


def fourier_concentration(
    embedding, p: int, k: int = DEFAULT_TOP_K, *, per_column: bool = False
) -> np.ndarray | float:
    """Fraction of an embedding's (non-constant) power in its ``k`` strongest frequencies of ``Z_p``.

    ``C_k = Σ_{top k} P_ω / Σ_ω P_ω`` with ``P_ω`` from :func:`fourier_power` (Nanda et al.
    2023: a grokked modular-addition network concentrates its embedding on a few key
    frequencies).  ``k/⌊p/2⌋ ≤ C_k ≤ 1``: exactly 1 when at most ``k`` frequencies carry
    power, close to ``k/⌊p/2⌋`` (a little above: the top ``k`` of noisy powers) for an
    unstructured random embedding with many columns.

    ``per_column=True`` measures the frequency selectivity of each column (hidden unit)
    instead: ``C_k = Σ_j top_k(P_{ω j}) / Σ_j Σ_ω P_{ω j}`` -- each unit's own top ``k``, the
    power-weighted mean over units.  An MLP can solve modular addition with every unit tuned
    to one frequency and all frequencies in use (Gromov 2023): per-column concentration 1,
    pooled concentration low.  NaN for a constant embedding (non-constant
    power below ``1e-20`` of the total).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.arange(11)
    >>> E = np.stack([np.cos(2 * np.pi * 3 * a / 11), np.sin(2 * np.pi * 5 * a / 11)], axis=1)
    >>> round(fourier_concentration(E, 11, k=2), 12)
    1.0
    >>> round(fourier_concentration(E, 11, k=1), 12)
    0.5
    """
    P = fourier_power(embedding, p, per_column=per_column)
    m = P.shape[-1]
    integer("k", k, lo=1, hi=m)  # m = ⌊p/2⌋
    top = np.sort(P, axis=-1)[..., ::-1][..., :k].sum(axis=-1)
    tot = P.sum(axis=-1)
    if per_column:
        top, tot = top.sum(axis=-1), tot.sum(axis=-1)
    E = np.asarray(embedding, dtype=np.float64)
    full = p * np.sum(E * E, axis=(-2, -1))  # all power, the constant mode included (Parseval)
    ok = tot > 1e-20 * full  # below: a constant embedding up to rounding
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(ok, top / np.where(ok, tot, 1.0), np.nan)
    return float(out) if out.ndim == 0 else out


@takes_task
def rqi_curve(task: Task, embeddings, delta: float = DEFAULT_DELTA) -> np.ndarray:
    """RQI of every embedding snapshot, by :func:`effgrok.effective.metrics.rqi`.

    Parameters
    ----------
    task : Task
        The toy task (parallelograms are those of its result classes).
    embeddings : array_like, shape (..., n_slots, d) or (..., n_slots) for ``d = 1``
        E.g. :attr:`effgrok.nets.toy.ToyRuns.embedding` (``[run, record, n_slots, d]``).
    delta : float
        RQI threshold (default 0.1).

    Returns
    -------
    ndarray
        The leading axes of ``embeddings``.

    Examples
    --------
    >>> import numpy as np
    >>> from effgrok.tasks import make_task
    >>> task = make_task("add", 6)
    >>> snaps = np.stack([np.arange(6.0), np.array([0, 5, 1, 4, 2, 3.0])])[:, :, None]
    >>> rqi_curve(task, snaps).round(3).tolist()       # linear, then scrambled
    [1.0, 0.154]
    """
    E = np.asarray(embeddings, dtype=np.float64)
    if E.ndim >= 1 and E.shape[-1] == task.n_slots and (E.ndim == 1 or E.shape[-2] != task.n_slots):
        E = E[..., None]
    if E.ndim < 2 or E.shape[-2] != task.n_slots:
        raise ValueError(
            f"embeddings must have shape (..., {task.n_slots}, d) for task {task.name!r}, got {E.shape}"
        )
    flat = E.reshape(-1, *E.shape[-2:])
    out = np.array([rqi(task, e, delta) for e in flat])
    return out.reshape(E.shape[:-2])


# --------------------------------------------------------------------------- on trained runs
@dataclass(frozen=True)
class Progress(Result):
    """Progress measures of a batch of runs (leading axis: run).

    Attributes
    ----------
    steps : ndarray, shape (snapshots,)
        Steps of the snapshots.
    measures : dict of str to ndarray, shape (runs, snapshots)
        Measure name → values.
    test_acc, train_acc : ndarray, shape (runs, snapshots)
        Accuracies at the same steps.
    model : str
        ``"toy"`` or ``"modular"``.
    not_applicable : dict of str to str
        Measures left out for this task, with the reason (RQI on a task whose full-table
        solution is collapse, :func:`~effgrok.effective.spectrum.linear_structure_reason`);
        null in every row and summary.
    """

    steps: np.ndarray
    measures: dict
    test_acc: np.ndarray
    train_acc: np.ndarray
    model: str
    not_applicable: dict = field(default_factory=dict)

    def rows(self) -> list[dict]:
        """One row per (run, snapshot) for CSV output."""
        out = []
        for r in range(self.test_acc.shape[0]):
            for i, s in enumerate(self.steps):
                row = {"run": r, "step": int(s), "train_acc": float(self.train_acc[r, i])}
                row["test_acc"] = float(self.test_acc[r, i])
                row.update({k: float(v[r, i]) for k, v in self.measures.items()})
                row.update(dict.fromkeys(self.not_applicable))
                out.append(row)
        return out

    def run_summaries(self, level: float = 0.9) -> list[dict]:
        """One row per run: first step with test accuracy ``≥ level``, final test accuracy, and
        every measure at the first and the last snapshot."""
        out = []
        for r in range(self.test_acc.shape[0]):
            hit = np.flatnonzero(self.test_acc[r] >= level)
            row = {
                "run": r,
                f"step_test_acc_{level:g}": step_or_none(self.steps[hit[0]]) if hit.size else None,
                "final_test_acc": float(self.test_acc[r, -1]),
            }
            for name, v in self.measures.items():
                row[f"initial_{name}"] = float(v[r, 0])
                row[f"final_{name}"] = float(v[r, -1])
            for name in self.not_applicable:
                row[f"initial_{name}"] = row[f"final_{name}"] = None
            out.append(row)
        return jsonable(out)

    def record(self) -> dict:
        """JSON-ready: ``model``, the measure names, ``steps`` and :meth:`run_summaries`."""
        rec = {"model": self.model, "measures": list(self.measures), "steps": self.steps}
        rec["not_applicable"] = self.not_applicable
        return jsonable(rec | {"runs": self.run_summaries()})

    def tables(self) -> dict[str, list[dict]]:
        """``progress``: one row per (run, snapshot) (:meth:`rows`); ``runs``: :meth:`run_summaries`."""
        return {"progress": jsonable(self.rows()), "runs": self.run_summaries()}


def toy_progress(runs, task: Task, delta: float | None = None) -> Progress:
    """RQI (recomputed from the recorded embeddings by :func:`rqi_curve`) and the effective rank
    of the embedding of every toy run, at the recorded steps of a
    :class:`effgrok.nets.toy.ToyRuns`.

    RQI measures Liu et al.'s linear structure: for a task whose full-table solution is
    collapse (``add-mod``, ``sub-mod``, ``mul-mod``, groups) it is left out and
    :attr:`Progress.not_applicable` says why."""
    from ..effective.spectrum import linear_structure_reason

    delta = runs.config.delta if delta is None else delta
    emb = np.asarray(runs.embedding)
    reason = linear_structure_reason(task)
    measures = {} if reason is not None else {"rqi": rqi_curve(task, emb, delta)}
    measures["embedding_effective_rank"] = effective_rank(emb)
    return Progress(
        steps=np.asarray(runs.steps),
        measures=measures,
        test_acc=np.asarray(runs.test_acc),
        train_acc=np.asarray(runs.train_acc),
        model="toy",
        not_applicable={} if reason is None else {"rqi": reason},
    )


def modular_progress(runs, task: Task, *, k: int = DEFAULT_TOP_K, activation: str = "relu") -> Progress:
    """Fourier concentration of the first-layer embedding ``W1`` (both one-hot blocks; pooled
    over units with ``k`` frequencies, and per unit with its single strongest frequency), and the
    effective rank and participation ratio of the hidden features on all examples, at the
    snapshots of a :class:`effgrok.nets.modular.ModularRuns` trained with ``snapshot_stride``.

    Accuracies are taken from the records at the snapshot steps.
    """
    from ..nets.modular import modular_features

    if runs.snapshots is None:
        raise ValueError("the runs have no parameter snapshots; train with a schedule's snapshot_stride")
    snaps = {k_: np.asarray(v) for k_, v in runs.snapshots.items()}
    steps = np.asarray(runs.snapshot_steps)
    idx = np.searchsorted(np.asarray(runs.steps), steps)
    if np.any(idx >= runs.steps.size) or np.any(np.asarray(runs.steps)[idx] != steps):
        raise ValueError("snapshot steps must be recorded steps")
    S = snaps["W1"].shape[1]
    feats = [
        modular_features({"W1": snaps["W1"][:, i], "b1": snaps["b1"][:, i]}, task, activation=activation)
        for i in range(S)
    ]
    H = np.stack(feats, axis=1)  # (runs, snapshots, examples, hidden)
    return Progress(
        steps=steps,
        measures={
            "fourier_concentration": fourier_concentration(snaps["W1"], task.n_symbols, k),
            "unit_fourier_concentration": fourier_concentration(
                snaps["W1"], task.n_symbols, 1, per_column=True
            ),
            "effective_rank": effective_rank(H),
            "participation_ratio": participation_ratio(H),
        },
        test_acc=np.asarray(runs.test_acc)[:, idx],
        train_acc=np.asarray(runs.train_acc)[:, idx],
        model="modular",
    )
