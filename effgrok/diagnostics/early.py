"""Early prediction of grokking from the training-loss curve (Notsawo et al. 2023).

Notsawo, Zhou, Pezeshki, Rish & Dumas, "Predicting Grokking Long Before it Happens: A look
into the loss landscape of models which grok" (arXiv 2306.13253) observe that runs which
later grok show oscillations in their *early* training loss, and propose the spectral
signature of the early learning curve (its Fourier transform) as a cheap predictor.  This
module turns that idea into one exactly defined score, a rank statistic (AUC) that measures
how well the score separates runs that grok from runs that do not, and the curve of that AUC
against the fraction of the training budget observed.

The score (:func:`spectral_score`)
----------------------------------
Given a loss curve ``L`` recorded at steps ``s_0 < s_1 < … < s_{m−1}`` (the observed
window):

1. ``x = log max(L, floor)`` (``log=False``: ``x = L``), resampled by linear interpolation
   onto ``n = m`` equally spaced steps (a no-op for an evenly recorded curve);
2. *detrend*: ``r = x − q`` with ``q`` the least-squares polynomial of degree ``degree``
   (default 2) in the step, which removes the slow decay of the loss;
3. *window*: ``w_t = ½ − ½ cos(2π t/(n − 1))`` (Hann), one-sided periodogram

   ``P_k = c_k |Σ_t w_t r_t e^{−2πi k t/n}|² / (n Σ_t w_t²)``,  ``k = 0 … ⌊n/2⌋``,

   ``c_k = 2`` for ``0 < k < n/2`` and ``1`` otherwise, so ``Σ_k P_k = Σ w² r² / Σ w²``
   (Parseval: the window-weighted variance of the detrended log-loss);
4. ``S = Σ_{k ≥ cutoff} P_k`` -- the power oscillating at ``cutoff`` (default 4) or more
   cycles per observed window.

``S`` is dimensionless for ``log=True`` (a variance of log-loss), does not depend on the
loss's overall scale (``L → cL`` shifts ``x`` by a constant, removed by the detrending), and
is zero for any curve whose log is a polynomial of degree ``≤ degree``.  Measuring the cutoff
in cycles per window, not per step, keeps the residual of the detrending (which lives at the
lowest few ``k``) out of the score whatever the window length.  The paper quantifies the
low-frequency amplitude of the raw loss's spectrum; effgrok detrends first (so the decay of
the loss itself is not counted as "oscillation") and works on the log (so the score does not
simply track how large the loss still is) -- both are parameters.  (``log=False`` is still
detrended and high-passed: it is *not* the paper's score.)

The paper's score (:func:`raw_energy`)
--------------------------------------
Notsawo et al. Fourier-transform the *raw* training loss of the first few hundred steps and
sum the energy of its spectrum, without detrending.  effgrok's exact version: on the window's
``n`` records (resampled onto a uniform grid as above), ``X_k = Σ_t L_t e^{−2πi k t/n}`` and

    ``E = (1/n²) Σ_{k=1}^{K} |X_k|² · c_k``,  ``c_k = 2`` for ``0 < k < n/2``, else 1,

with ``K = ⌊n/2⌋`` (all frequencies; ``max_cycles`` keeps the lowest ones only).  The constant
``k = 0`` is left out; with every frequency kept, ``E`` is by Parseval the variance of the raw
loss over the window -- dominated by the loss's own decay, so it largely measures how much
the loss has dropped.  That is why a rank statistic of ``E`` must be compared with the
*loss-magnitude baseline* (the mean log-loss of the window) before it is credited with
detecting oscillations.

Oscillation (:func:`loss_rises`): the number of consecutive records at which the training loss
*rises* by more than a relative tolerance, ``L_{t+1} > (1 + rel_tol) L_t``.  A curve without
rises has no oscillation for either score to detect.

Evaluation (:func:`auc`, :func:`early_prediction_curve`)
--------------------------------------------------------
``AUC = P(S_grok > S_no) + ½ P(S_grok = S_no)`` over all pairs of a grokking and a
non-grokking run (the Mann–Whitney statistic; 0.5: no separation, 1: perfect).  For each
fraction ``f`` of the budget ``B`` the score is computed on the records with step
``≤ f·B`` only, and the AUC against the labels gives "how early" the spectral signature
predicts grokking.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._checks import choice, finite_array, integer, nonnegative, positive, real
from .._checks import fraction as check_fraction
from .._record import Result, jsonable

__all__ = [
    "DEFAULT_CUTOFF",
    "DEFAULT_DEGREE",
    "DEFAULT_FLOOR",
    "METHODS",
    "MIN_RUNS_PER_LABEL",
    "EarlyPrediction",
    "LossLog",
    "auc",
    "early_prediction_curve",
    "label_warnings",
    "loss_rises",
    "min_points",
    "raw_energy",
    "read_loss_csv",
    "spectral_score",
    "spectral_scores",
]

#: Default lowest frequency counted by :func:`spectral_score`, in cycles per observed window.
DEFAULT_CUTOFF = 4.0
#: Default degree of the detrending polynomial.
DEFAULT_DEGREE = 2
#: Default floor under the loss before the logarithm (a float32 loss below ~1e-8 is mostly rounding).
DEFAULT_FLOOR = 1e-8
#: Scores of :func:`spectral_scores`: effgrok's detrended high-passed log-loss power, the
#: paper's raw-loss spectral energy (:func:`raw_energy`), or the loss-magnitude baseline
#: ``−mean log max(L, floor)`` over the window (how low the loss already is; no spectrum).
METHODS = ("detrended", "raw_energy", "loss_level")


# --------------------------------------------------------------------------- input checks
def _check_options(cutoff, degree, floor) -> tuple[float, int, float]:
    return positive("cutoff", cutoff), integer("degree", degree, lo=0, hi=10), positive("floor", floor)


def min_points(cutoff: float = DEFAULT_CUTOFF, degree: int = DEFAULT_DEGREE) -> int:
    """Fewest records a window needs for :func:`spectral_score`: ``max(2⌈cutoff⌉ + 2, degree + 4)``.

    With fewer, no frequency at or above the cutoff exists below the Nyquist frequency, or the
    detrending polynomial leaves too few degrees of freedom.

    Examples
    --------
    >>> min_points(4.0, 2)
    10
    """
    c, d, _ = _check_options(cutoff, degree, 1.0)
    return max(2 * math.ceil(c) + 2, d + 4)


def _curve(loss, steps, name="loss") -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(loss, dtype=np.float64)
    if y.ndim != 1:
        raise ValueError(f"{name} must be a 1-D curve, got shape {y.shape}")
    finite_array(name, y)
    if steps is None:
        s = np.arange(y.size, dtype=np.float64)
    else:
        s = np.asarray(steps, dtype=np.float64)
        if s.shape != y.shape:
            raise ValueError(f"steps must have the shape of the {name} curve {y.shape}, got {s.shape}")
        if not np.all(np.isfinite(s)) or np.any(np.diff(s) <= 0):
            raise ValueError("steps must be finite and strictly increasing")
    return y, s


def _score(y: np.ndarray, s: np.ndarray, cutoff: float, degree: int, log: bool, floor: float) -> float:
    x = _uniform(np.log(np.maximum(y, floor)) if log else y, s)
    n = x.size
    u = np.linspace(-1.0, 1.0, n)  # well-conditioned abscissa for the fit
    r = x - np.polynomial.polynomial.polyval(u, np.polynomial.polynomial.polyfit(u, x, degree))
    w = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / (n - 1))
    X = np.fft.rfft(w * r)
    c = np.full(X.size, 2.0)
    c[0] = 1.0
    if n % 2 == 0:
        c[-1] = 1.0
    P = c * np.abs(X) ** 2 / (n * np.sum(w * w))
    k = np.arange(X.size)
    return float(np.sum(P[k >= cutoff]))


def _uniform(y: np.ndarray, s: np.ndarray) -> np.ndarray:
    grid = np.linspace(s[0], s[-1], y.size)
    if np.allclose(grid, s, rtol=0, atol=1e-9 * max(1.0, abs(s[-1]))):
        return y
    return np.interp(grid, s, y)


def _raw_energy(y: np.ndarray, s: np.ndarray, max_cycles: float | None) -> float:
    x = _uniform(y, s)
    n = x.size
    X = np.fft.rfft(x)
    c = np.full(X.size, 2.0)
    c[0] = 1.0
    if n % 2 == 0:
        c[-1] = 1.0
    P = c * np.abs(X) ** 2 / n**2
    k = np.arange(X.size)
    keep = (k >= 1) if max_cycles is None else (k >= 1) & (k <= max_cycles)
    return float(np.sum(P[keep]))


def _check_max_cycles(max_cycles) -> float | None:
    if max_cycles is None:
        return None
    allowed = "None or a number >= 1 of cycles per window"
    m = real("max_cycles", max_cycles, allowed=allowed)
    if m < 1:
        raise ValueError(f"max_cycles must be {allowed}, got {max_cycles!r}")
    return m


def raw_energy(loss, steps=None, *, max_cycles: float | None = None) -> float:
    """The paper's spectral signature: energy of the raw, undetrended training-loss spectrum.

    ``E = (1/n²) Σ_{1 ≤ k ≤ K} c_k |X_k|²`` with ``X = DFT(L)`` over the ``n`` records of the
    window (``c_k = 2`` except at ``k = n/2``), ``K = ⌊n/2⌋`` or ``max_cycles`` (Notsawo et al.
    2023, arXiv 2306.13253; module docstring).  With all frequencies, ``E = var(L)`` (Parseval).
    Non-uniform ``steps`` are resampled linearly onto a uniform grid.

    Examples
    --------
    >>> import numpy as np
    >>> L = 1.0 + 0.5 * np.cos(2 * np.pi * 3 * np.arange(40) / 40)     # 3 cycles of ±0.5
    >>> round(raw_energy(L), 12), round(float(np.var(L)), 12)           # 0.5²/2
    (0.125, 0.125)
    >>> raw_energy(L, max_cycles=2) < 1e-20                             # below the oscillation
    True
    """
    m = _check_max_cycles(max_cycles)
    y, s = _curve(loss, steps)
    if y.size < 2:
        raise ValueError(f"the loss curve has {y.size} records; raw_energy needs at least 2")
    return _raw_energy(y, s, m)


def loss_rises(loss, *, rel_tol: float = 1e-3) -> int:
    """Number of records at which the loss rises: ``#{t : L_{t+1} > (1 + rel_tol) L_t}``.

    A monotonically decreasing curve (no oscillation) gives 0.  ``rel_tol`` (default 1e-3)
    keeps rounding noise of a converged loss from counting.

    Examples
    --------
    >>> loss_rises([1.0, 0.5, 0.6, 0.3, 0.3, 0.31])
    2
    >>> loss_rises([1.0, 0.5, 0.6, 0.3, 0.3, 0.31], rel_tol=0.1)
    1
    """
    y, _ = _curve(loss, None)
    r = nonnegative("rel_tol", rel_tol)
    return int(np.sum(y[1:] > (1 + r) * y[:-1]))


def spectral_score(
    loss,
    steps=None,
    *,
    cutoff: float = DEFAULT_CUTOFF,
    degree: int = DEFAULT_DEGREE,
    log: bool = True,
    floor: float = DEFAULT_FLOOR,
) -> float:
    """Oscillation power of a loss curve: power of the detrended (log-)loss at ``≥ cutoff``
    cycles per window (Notsawo et al. 2023, arXiv 2306.13253; definition in the module docstring).

    ``S = Σ_{k ≥ cutoff} P_k`` with ``P_k`` the one-sided, Hann-windowed periodogram of
    ``r = log max(L, floor) − poly_degree`` over the whole curve given (pass the observed
    window only).  Non-uniform ``steps`` are resampled linearly onto a uniform grid.

    Parameters
    ----------
    loss : array_like, shape (m,)
        Training loss at each record (finite, ``m ≥`` :func:`min_points`).
    steps : array_like, shape (m,), optional
        Strictly increasing steps of the records (default ``0, 1, …``).
    cutoff : float
        Lowest frequency counted, in cycles per window (default 4).
    degree : int
        Degree of the detrending polynomial (default 2).
    log : bool
        Score the log of the loss (default) or the loss itself.
    floor : float
        Losses below ``floor`` count as ``floor`` before the logarithm (default 1e-8).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(200)
    >>> smooth = np.exp(-t / 50)                         # log-linear decay: no oscillation
    >>> spectral_score(smooth) < 1e-20
    True
    >>> wiggly = smooth * np.exp(0.1 * np.sin(2 * np.pi * t / 10))   # 20 cycles of ±0.1 in log
    >>> round(spectral_score(wiggly), 4)                 # the variance of 0.1 sin: 0.005
    0.005
    """
    c, d, f = _check_options(cutoff, degree, floor)
    y, s = _curve(loss, steps)
    need = min_points(c, d)
    if y.size < need:
        raise ValueError(
            f"the loss curve has {y.size} records; cutoff {c:g} and degree {d} need at least {need}"
        )
    if np.any(y < 0):
        raise ValueError(f"losses must be >= 0, got {y[y < 0][0]!r}")
    return _score(y, s, c, d, bool(log), f)


def spectral_scores(
    curves,
    steps=None,
    *,
    fraction: float = 1.0,
    budget: float | None = None,
    cutoff: float = DEFAULT_CUTOFF,
    degree: int = DEFAULT_DEGREE,
    log: bool = True,
    floor: float = DEFAULT_FLOOR,
    method: str = "detrended",
    max_cycles: float | None = None,
) -> np.ndarray:
    """:func:`spectral_score` (``method="detrended"``), :func:`raw_energy` (``"raw_energy"``,
    the paper's score; ``max_cycles`` passed to it) or the baseline ``−mean log max(L, floor)``
    (``"loss_level"``) of every run on its records with step ``≤ fraction · budget``.

    Parameters
    ----------
    curves : array_like, shape (runs, m), or a sequence of 1-D curves
        Training losses; ragged runs are given as a sequence.
    steps : array_like, shape (m,), or a sequence of 1-D arrays, optional
        Steps of the records, shared or one array per run (default ``0, 1, …``).
    fraction : float
        Fraction of the budget observed, in ``(0, 1]``.
    budget : float, optional
        Training budget in steps (default: the largest recorded step over all runs).

    Returns
    -------
    ndarray, shape (runs,)
        Scores; NaN for a run whose window holds fewer than :func:`min_points` records.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(101)
    >>> curves = [np.exp(-t / 30), np.exp(-t / 30 + 0.2 * np.sin(t))]
    >>> s = spectral_scores(curves, t, fraction=0.5)
    >>> bool(s[1] > 100 * s[0])
    True
    """
    c, d, f = _check_options(cutoff, degree, floor)
    _check_method(method)
    m = _check_max_cycles(max_cycles)
    runs = _runs(curves, steps)
    B = _budget(runs, budget)
    fr = check_fraction("fraction", fraction)
    need = min_points(c, d) if method == "detrended" else 2
    out = np.full(len(runs), np.nan)
    for i, (y, s) in enumerate(runs):
        keep = s <= fr * B * (1 + 1e-12)
        if keep.sum() >= need:
            if method == "detrended":
                out[i] = _score(y[keep], s[keep], c, d, bool(log), f)
            elif method == "raw_energy":
                out[i] = _raw_energy(y[keep], s[keep], m)
            else:
                out[i] = -float(np.mean(np.log(np.maximum(_uniform(y[keep], s[keep]), f))))
    return out


def _check_method(method) -> str:
    return choice("method", method, METHODS)


def _runs(curves, steps) -> list[tuple[np.ndarray, np.ndarray]]:
    if isinstance(curves, np.ndarray) and curves.dtype != object:
        if curves.ndim != 2:
            raise ValueError(f"curves must have shape (runs, records), got {curves.shape}")
        curves = list(curves)
    else:
        curves = list(curves)
    if not curves:
        raise ValueError("no loss curves given")
    if steps is None:
        st = [None] * len(curves)
    else:
        try:
            arr = np.asarray(steps, dtype=np.float64)
        except (TypeError, ValueError):  # ragged: one array per run
            arr = None
        if arr is not None and arr.ndim == 1:
            st = [arr] * len(curves)
        else:
            st = list(arr) if arr is not None and arr.ndim == 2 else list(steps)
            if len(st) != len(curves):
                raise ValueError(f"got {len(st)} step arrays for {len(curves)} curves")
    runs = []
    for k, (y, s) in enumerate(zip(curves, st, strict=True)):
        y, s = _curve(y, s, name=f"curve {k}")
        if np.any(y < 0):
            raise ValueError(f"curve {k} has a negative loss; losses must be >= 0")
        runs.append((y, s))
    return runs


def _budget(runs, budget) -> float:
    B = max(float(s[-1]) for _, s in runs) if budget is None else budget
    return positive("budget", B)


# --------------------------------------------------------------------------- AUC
def auc(scores, labels) -> float:
    """Area under the ROC curve of ``scores`` for the binary ``labels`` (Mann–Whitney).

    ``AUC = (R₊ − n₊(n₊ + 1)/2) / (n₊ n₋)`` with ``R₊`` the sum of the ranks (ties get their
    average rank) of the ``n₊`` positive scores among all ``n₊ + n₋`` -- equal to
    ``P(S₊ > S₋) + ½ P(S₊ = S₋)`` over all positive–negative pairs (Mann & Whitney 1947;
    Hanley & McNeil 1982).  ``O(n log n)``.

    Parameters
    ----------
    scores : array_like, shape (n,)
        Finite scores; larger means "more likely positive".
    labels : array_like, shape (n,)
        0/1 or booleans; both classes must occur.

    Examples
    --------
    >>> auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    0.75
    >>> auc([1, 1, 1], [0, 1, 1])                     # all tied: no separation
    0.5
    """
    s = np.asarray(scores, dtype=np.float64)
    lab = np.asarray(labels)
    if s.ndim != 1 or lab.shape != s.shape:
        raise ValueError(f"scores and labels must be 1-D of equal length, got {s.shape} and {lab.shape}")
    finite_array("scores", s)
    if lab.dtype != bool:
        ok = np.isin(lab, (0, 1)) if np.issubdtype(lab.dtype, np.number) else np.zeros(lab.shape, bool)
        if not np.all(ok):
            bad = lab[~ok][0]
            raise ValueError(f"labels must be 0/1 or booleans, got {bad!r}")
        lab = lab.astype(bool)
    n_pos = int(lab.sum())
    n_neg = lab.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError(f"AUC needs both classes; got {n_pos} positive and {n_neg} negative labels")
    order = np.argsort(s, kind="mergesort")
    sorted_s = s[order]
    ranks = np.empty(s.size)
    # average rank of each block of ties (1-based)
    starts = np.flatnonzero(np.r_[True, sorted_s[1:] != sorted_s[:-1]])
    ends = np.r_[starts[1:], s.size]
    avg = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(avg, ends - starts)
    r_pos = ranks[lab].sum()
    return float((r_pos - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


@dataclass(frozen=True)
class EarlyPrediction(Result):
    """AUC of the spectral score against the fraction of the budget observed.

    Attributes
    ----------
    fractions : ndarray, shape (F,)
        Fractions of the budget observed.
    auc : ndarray, shape (F,)
        AUC of the scores at each fraction (NaN where fewer than two runs of each class
        have a score).
    scores : ndarray, shape (F, runs)
        Spectral scores (NaN: window too short).
    labels : ndarray of bool, shape (runs,)
        Whether each run grokked.
    budget : float
        Budget ``B`` in steps; the window of fraction ``f`` is steps ``≤ f·B``.
    """

    fractions: np.ndarray
    auc: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    budget: float

    def record(self) -> dict:
        """JSON-ready: ``budget``, ``fractions``, ``auc`` and per run its label and ``scores``."""
        runs = [
            {"run": k, "grokked": bool(g), "scores": self.scores[:, k]} for k, g in enumerate(self.labels)
        ]
        return jsonable({"budget": self.budget, "fractions": self.fractions, "auc": self.auc, "runs": runs})

    def tables(self) -> dict[str, list[dict]]:
        """``scores``: one row per (run, fraction); ``auc``: one row per fraction."""
        rec = self.record()
        scores = [
            {"run": r["run"], "grokked": r["grokked"], "fraction": f, "score": s}
            for r in rec["runs"]
            for f, s in zip(rec["fractions"], r["scores"], strict=True)
        ]
        auc = [{"fraction": f, "auc": a} for f, a in zip(rec["fractions"], rec["auc"], strict=True)]
        return {"scores": scores, "auc": auc}

    def earliest(self, threshold: float = 0.8) -> float | None:
        """Smallest observed fraction with ``AUC ≥ threshold`` (None if never)."""
        hit = np.flatnonzero(np.nan_to_num(self.auc, nan=-1.0) >= threshold)
        return float(self.fractions[hit[0]]) if hit.size else None


def early_prediction_curve(
    curves,
    labels,
    fractions,
    steps=None,
    *,
    budget: float | None = None,
    **options,
) -> EarlyPrediction:
    """AUC of :func:`spectral_scores` (windows ``step ≤ f·budget``) against the labels, per fraction ``f``.

    Parameters
    ----------
    curves, steps, budget
        As in :func:`spectral_scores`.
    **options
        ``cutoff``, ``degree``, ``log``, ``floor``, ``method``, ``max_cycles``, passed to
        :func:`spectral_scores` (``method="raw_energy"``: the paper's score; ``"loss_level"``:
        the loss-magnitude baseline).
    labels : array_like of bool or 0/1, shape (runs,)
        Whether each run grokked (e.g. test accuracy ≥ 0.9 within the budget).
    fractions : array_like
        Observed fractions of the budget, each in ``(0, 1]``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(201)
    >>> wig = [np.exp(-t / 40 + 0.3 * np.sin(t / 2 + rng.uniform(0, 6))) for _ in range(4)]
    >>> calm = [np.exp(-t / 40 + 0.01 * rng.standard_normal(t.size)) for _ in range(4)]
    >>> res = early_prediction_curve(wig + calm, [1] * 4 + [0] * 4, [0.25, 1.0], t)
    >>> res.auc.tolist()
    [1.0, 1.0]
    """
    runs = _runs(curves, steps)
    lab = np.asarray(labels)
    if lab.shape != (len(runs),):
        raise ValueError(f"labels must have one entry per run ({len(runs)}), got shape {lab.shape}")
    if lab.dtype != bool:
        if not np.issubdtype(lab.dtype, np.number) or not np.all(np.isin(lab, (0, 1))):
            raise ValueError(f"labels must be 0/1 or booleans, got {lab.tolist()!r}")
        lab = lab.astype(bool)
    fr = np.atleast_1d(np.asarray(fractions, dtype=np.float64))
    if fr.ndim != 1 or fr.size == 0 or not np.all((fr > 0) & (fr <= 1)):
        raise ValueError(f"fractions must be numbers in (0, 1], got {np.asarray(fractions).tolist()!r}")
    B = _budget(runs, budget)
    scores = np.stack(
        [
            spectral_scores(
                [y for y, _ in runs],
                [s for _, s in runs],
                fraction=x,
                budget=B,
                **options,
            )
            for x in fr
        ]
    )
    aucs = np.full(fr.size, np.nan)
    for i in range(fr.size):
        ok = np.isfinite(scores[i])
        if ok[lab].sum() >= 1 and ok[~lab].sum() >= 1:
            aucs[i] = auc(scores[i, ok], lab[ok])
    return EarlyPrediction(fractions=fr, auc=aucs, scores=scores, labels=lab, budget=B)


#: Fewest runs per label for which :func:`label_warnings` stays silent.
MIN_RUNS_PER_LABEL = 3


def label_warnings(labels, *, min_runs: int = MIN_RUNS_PER_LABEL) -> list[str]:
    """A one-line warning when a label has fewer than ``min_runs`` runs (default 3): with so
    few runs the AUC takes only a handful of values (one run per label: 0, 0.5 or 1) and says
    little about separation.  No warning when a label has no run (no AUC at all).

    Examples
    --------
    >>> (w,) = label_warnings([1, 0, 0, 0])
    >>> w[:60], w[-26:]
    ('only 1 run grokked and 3 did not: with fewer than 3 runs per', '(it moves in steps of 1/3)')
    >>> label_warnings([1, 1, 1, 0, 0, 0])
    []
    """
    lab = np.asarray(labels, dtype=bool)
    n_pos, n_neg = int(lab.sum()), int((~lab).sum())
    m = integer("min_runs", min_runs, lo=1)
    if n_pos == 0 or n_neg == 0 or min(n_pos, n_neg) >= m:
        return []
    runs = "run" if n_pos == 1 else "runs"
    return [
        f"only {n_pos} {runs} grokked and {n_neg} did not: with fewer than {m} runs per label the AUC "
        f"is undefined in practice (it moves in steps of 1/{n_pos * n_neg})"
    ]


# --------------------------------------------------------------------------- CSV logs
@dataclass(frozen=True)
class LossLog(Result):
    """Loss curves read from a user's CSV log (see :func:`read_loss_csv`).

    Attributes
    ----------
    runs : tuple of str
        Run names in order of first appearance (``("0",)`` without a run column).
    steps, losses : tuple of ndarray
        One strictly increasing step array and its (finite) losses per run; a diverged run's
        curve ends before its first NaN or infinite loss.
    labels : ndarray of bool or None
        The ``grokked`` column per run, None when the file has none.
    columns : dict or None
        The header names used for ``step``, ``loss`` and ``run`` (``None``: no run column),
        and ``skipped_rows``: rows without a loss value (e.g. validation rows); for a W&B wide
        export also ``layout: "wide"``.
    diverged_at_step : ndarray of float, shape (runs,), or None
        Step of each run's first NaN or infinite loss (NaN: the run never diverged).
    notes : tuple of str
        What the reader did that the user should know, one line each (rows superseded in a
        resumed log, diverged runs).
    """

    runs: tuple
    steps: tuple
    losses: tuple
    labels: np.ndarray | None
    columns: dict | None = None
    diverged_at_step: np.ndarray | None = None
    notes: tuple = ()

    def record(self) -> dict:
        """JSON-ready: the ``columns`` used, the ``notes`` and, per run, its record count,
        last step, label and divergence (the curves are left out)."""
        return jsonable({"columns": self.columns, "notes": list(self.notes), "runs": self.tables()["runs"]})

    def tables(self) -> dict[str, list[dict]]:
        """``runs``: one row per run."""
        div = np.full(len(self.runs), np.nan) if self.diverged_at_step is None else self.diverged_at_step
        rows = [
            {
                "run": run,
                "records": int(y.size),
                "last_step": float(s[-1]) if s.size else None,
                "grokked": None if self.labels is None else bool(self.labels[k]),
                "diverged": bool(np.isfinite(div[k])),
                "diverged_at_step": float(div[k]) if np.isfinite(div[k]) else None,
            }
            for k, (run, s, y) in enumerate(zip(self.runs, self.steps, self.losses, strict=True))
        ]
        return {"runs": rows}


_TRUE = {"1", "true", "yes", "t", "y", "1.0"}
_FALSE = {"0", "false", "no", "f", "n", "0.0"}

#: Column names recognised, in order of preference (case-insensitive): what common training
#: loggers write (PyTorch Lightning's CSVLogger, Hugging Face's Trainer, W&B exports, ...).
STEP_COLUMNS = ("step", "global_step", "iteration", "iter", "_step", "trainer/global_step", "epoch")
LOSS_COLUMNS = ("loss", "train_loss", "training_loss", "train/loss", "train_loss_step", "loss_train")
RUN_COLUMNS = ("run", "run_id", "run_name", "seed")
#: Suffixes of a W&B chart export's band columns (``<run> - loss__MIN``), ignored.
WIDE_BAND_SUFFIXES = ("__min", "__max")


def _pick_column(names, given, choices, what, path, line, header) -> str | None:
    if given is not None:
        g = given.strip().lower()
        if g not in names:
            raise ValueError(f"{path}, line {line}: no column {given!r} ({what}) in the header {header!r}")
        return g
    found = [c for c in choices if c in names]
    return found[0] if found else None


def read_loss_csv(
    path, *, loss_column: str | None = None, step_column: str | None = None, run_column: str | None = None
) -> LossLog:
    """Read loss curves from a CSV file with a header row.

    Columns (names case-insensitive, any order, extra columns ignored): the step (the first
    of :data:`STEP_COLUMNS` present -- ``step``, ``global_step``, ``iteration``, ..., ``epoch``
    -- or ``step_column``), the training loss (the first of :data:`LOSS_COLUMNS` -- ``loss``,
    ``train_loss``, ``training_loss``, ... -- or ``loss_column``), optionally a run column
    (:data:`RUN_COLUMNS` or ``run_column``: several runs in one file, runs may interleave)
    and ``grokked`` (0/1 or true/false, constant within a run).  Rows whose loss cell is
    empty (a logger's validation rows) are skipped.  :attr:`LossLog.columns` says which
    columns were used.  Errors name the file, line and column.

    Awkward logs are read, and :attr:`LossLog.notes` says how:

    * *W&B's wide chart export* (a ``Step`` column and one ``<run name> - <metric>`` column
      per run, with ``__MIN``/``__MAX`` band columns, which are ignored): one run per
      ``<run> - <loss>`` column, the loss metric chosen as above;
    * *a resumed log* (a run's step goes back to one already logged): the rows written later
      supersede the earlier rows from that step on -- the last value of each step is kept;
    * *a diverged run* (a NaN or infinite loss): kept, marked in :attr:`LossLog.diverged_at_step`
      with the step of its first non-finite loss; its curve ends before that row, so the
      scores see its records up to the divergence only.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "log.csv"
    >>> _ = f.write_text("run,step,loss,grokked\\na,0,2.3,1\\na,10,1.1,1\\nb,0,2.2,0\\nb,10,0.9,0\\n")
    >>> log = read_loss_csv(f)
    >>> log.runs, log.labels.tolist(), log.losses[1].tolist()
    (('a', 'b'), [True, False], [2.2, 0.9])
    >>> _ = f.write_text("epoch,step,train_loss,val_loss\\n0,0,2.3,\\n0,0,,2.5\\n0,10,1.1,\\n")
    >>> log = read_loss_csv(f)
    >>> log.columns, log.losses[0].tolist()
    ({'step': 'step', 'loss': 'train_loss', 'run': None, 'skipped_rows': 1}, [2.3, 1.1])
    >>> _ = f.write_text("Step,r1 - loss,r1 - loss__MIN,r1 - loss__MAX\\n0,2.0,2.0,2.0\\n5,1.0,1.0,1.0\\n")
    >>> read_loss_csv(f).runs
    ('r1',)
    """
    path = Path(path)
    lines = _csv_lines(path)
    wide = _wide_columns(path, lines[0], loss_column, step_column, run_column)
    if wide is not None:
        cols, idx = wide
    else:
        cols, idx = _log_columns(path, lines[0], loss_column, step_column, run_column)
    if len(lines) == 1:
        raise ValueError(f"{path}: no data rows after the header")
    data, grok, skipped, superseded = (_wide_rows if wide is not None else _log_rows)(
        path, lines[1:], cols, idx
    )
    if not data:
        raise ValueError(f"{path}: no row has a value in the loss column {cols['loss']!r}")
    runs = tuple(data)
    curves, diverged, notes = _finite_curves(data, superseded)
    return LossLog(
        runs=runs,
        steps=tuple(np.array([s for s, _ in curves[r]], dtype=np.float64) for r in runs),
        losses=tuple(np.array([v for _, v in curves[r]], dtype=np.float64) for r in runs),
        labels=np.array([grok[r][0] for r in runs]) if grok else None,
        columns={**cols, "skipped_rows": skipped},
        diverged_at_step=np.array([diverged[r] for r in runs], dtype=np.float64),
        notes=tuple(notes),
    )


def _finite_curves(data: dict, superseded: dict) -> tuple[dict, dict, list[str]]:
    """Each run's records before its first non-finite loss, the step of that loss (NaN:
    none) and the notes on superseded and diverged records."""
    curves, diverged, notes = {}, {}, []
    for run, rec in data.items():
        bad = next((k for k, (_, v) in enumerate(rec) if not math.isfinite(v)), None)
        curves[run] = rec if bad is None else rec[:bad]
        diverged[run] = math.nan if bad is None else rec[bad][0]
        if superseded.get(run):
            notes.append(
                f"run {run!r}: {superseded[run]} records superseded by later rows that log the same "
                "steps again (a resumed log): the last value of each step is kept"
            )
        if bad is not None:
            notes.append(
                f"run {run!r} diverged: NaN or infinite loss at step {rec[bad][0]:g}; it is kept "
                f"(diverged: true) and scored on its {bad} records before that step"
            )
    return curves, diverged, notes


def _csv_lines(path: Path) -> list[tuple[int, list[str]]]:
    """The non-blank rows of a CSV file with their 1-based line numbers."""
    if not path.is_file():
        raise ValueError(f"loss log {str(path)!r} does not exist or is not a file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a UTF-8 text file") from None
    rows = list(csv.reader(text.splitlines()))
    lines = [(i + 1, r) for i, r in enumerate(rows) if r and any(c.strip() for c in r)]
    if not lines:
        raise ValueError(f"{path}: the file is empty; expected a header with columns step,loss")
    return lines


def _log_columns(path: Path, head, loss_column, step_column, run_column) -> tuple[dict, dict]:
    """The step, loss and run columns chosen from the header (names and indices, plus
    ``grokked`` if present)."""
    head_line, header = head
    names = [h.strip().lower() for h in header]
    cols = {
        "step": _pick_column(names, step_column, STEP_COLUMNS, "step", path, head_line, header),
        "loss": _pick_column(names, loss_column, LOSS_COLUMNS, "loss", path, head_line, header),
        "run": _pick_column(names, run_column, RUN_COLUMNS, "run", path, head_line, header),
    }
    for col, choices, flag in (
        ("step", STEP_COLUMNS, "--step-column"),
        ("loss", LOSS_COLUMNS, "--loss-column"),
    ):
        if cols[col] is None:
            raise ValueError(
                f"{path}, line {head_line}: no {col!r} column in the header {header!r}; recognised: "
                f"{', '.join(choices)} (or name it with {flag} NAME)"
            )
    if cols["step"] == cols["loss"]:
        raise ValueError(f"{path}: the step and the loss column are both {cols['step']!r}")
    used = [c for c in (*cols.values(), "grokked" if "grokked" in names else None) if c is not None]
    dup = sorted({n for n in used if names.count(n) > 1})
    if dup:
        raise ValueError(f"{path}, line {head_line}: column {dup[0]!r} appears more than once")
    idx = {k: names.index(c) for k, c in cols.items() if c is not None}
    if "grokked" in names:
        idx["grokked"] = names.index("grokked")
    idx["fields"] = len(names)  # the header's width
    return cols, idx


def _log_number(path: Path, line: int, row: list[str], col: str, cols: dict, idx: dict) -> float:
    """The number in ``row``'s ``col`` cell; a loss may be NaN or infinite (a diverged run), a
    step must be finite."""
    text = row[idx[col]].strip()
    try:
        v = float(text)
    except ValueError:
        raise ValueError(f"{path}, line {line}, column {cols[col]!r}: not a number: {text!r}") from None
    if col != "loss" and not math.isfinite(v):
        raise ValueError(f"{path}, line {line}, column {cols[col]!r}: not finite: {text!r}")
    if col == "loss" and v < 0:  # also -inf
        raise ValueError(f"{path}, line {line}, column {cols[col]!r}: negative {col} {v!r}")
    return v


def _add_record(rec: list, step: float, loss: float) -> int:
    """Append ``(step, loss)`` to a run's records; a step not above the last one (a resumed
    log) first drops the records from that step on.  Returns the number dropped."""
    drop = 0
    while rec and rec[-1][0] >= step:
        rec.pop()
        drop += 1
    rec.append((step, loss))
    return drop


def _log_rows(path: Path, lines, cols: dict, idx: dict) -> tuple[dict, dict, int, dict]:
    """``(step, loss)`` records per run, the ``grokked`` label (and its line) per run, the
    number of rows skipped for an empty loss cell and the records superseded per run."""
    data: dict[str, list] = {}
    grok: dict[str, tuple[bool, int]] = {}
    superseded: dict[str, int] = {}
    skipped = 0
    for line, row in lines:
        if len(row) < idx["fields"]:
            raise ValueError(f"{path}, line {line}: {len(row)} fields, the header has {idx['fields']}")
        if not row[idx["loss"]].strip():
            skipped += 1
            continue
        step = _log_number(path, line, row, "step", cols, idx)
        loss = _log_number(path, line, row, "loss", cols, idx)
        run = row[idx["run"]].strip() if "run" in idx else "0"
        if not run:
            raise ValueError(f"{path}, line {line}, column {cols['run']!r}: empty run name")
        dropped = _add_record(data.setdefault(run, []), step, loss)
        if dropped:
            superseded[run] = superseded.get(run, 0) + dropped
        if "grokked" in idx:
            _grokked_label(path, line, row[idx["grokked"]], run, grok)
    return data, grok, skipped, superseded


def _wide_columns(path: Path, head, loss_column, step_column, run_column) -> tuple[dict, dict] | None:
    """The step column and one loss column per run of a W&B wide chart export
    (``Step, <run> - <metric>, <run> - <metric>__MIN, ...``), or None for a long log."""
    head_line, header = head
    names = [h.strip().lower() for h in header]
    metric_of = {}
    for k, h in enumerate(header):
        if " - " in h and not h.strip().lower().endswith(WIDE_BAND_SUFFIXES):
            run, metric = h.strip().rsplit(" - ", 1)
            metric_of.setdefault(metric.strip().lower(), []).append((run.strip(), k))
    if not metric_of or any(c in names for c in LOSS_COLUMNS) or loss_column in names:
        return None  # a long log (its own loss column wins)
    if run_column is not None:
        raise ValueError(f"{path}: a W&B wide export has one column per run; --run-column does not apply")
    want = [loss_column.strip().lower()] if loss_column is not None else list(LOSS_COLUMNS)
    metric = next((m for m in want if m in metric_of), None)
    if metric is None:
        raise ValueError(
            f"{path}, line {head_line}: a W&B wide export without a loss metric; its metrics: "
            f"{', '.join(sorted(metric_of))} (name one with --loss-column NAME)"
        )
    step = _pick_column(names, step_column, STEP_COLUMNS, "step", path, head_line, header)
    if step is None:
        raise ValueError(f"{path}, line {head_line}: no 'step' column in the header {header!r}")
    runs = metric_of[metric]
    dup = sorted({r for r, _ in runs if [q for q, _ in runs].count(r) > 1})
    if dup:
        raise ValueError(f"{path}, line {head_line}: run {dup[0]!r} has two {metric!r} columns")
    cols = {"step": step, "loss": metric, "run": None, "layout": "wide"}
    idx = {"step": names.index(step), "fields": len(names), "runs": runs}
    return cols, idx


def _wide_rows(path: Path, lines, cols: dict, idx: dict) -> tuple[dict, dict, int, dict]:
    """As :func:`_log_rows`, for a W&B wide export: one run per loss column."""
    data: dict[str, list] = {run: [] for run, _ in idx["runs"]}
    superseded: dict[str, int] = {}
    skipped = 0
    for line, row in lines:
        if len(row) < idx["fields"]:
            raise ValueError(f"{path}, line {line}: {len(row)} fields, the header has {idx['fields']}")
        step = _log_number(path, line, row, "step", cols, idx)
        if not any(row[k].strip() for _, k in idx["runs"]):
            skipped += 1
            continue
        for run, k in idx["runs"]:
            if not row[k].strip():
                continue
            loss = _log_number(path, line, row, "loss", {"loss": f"{run} - {cols['loss']}"}, {"loss": k})
            dropped = _add_record(data[run], step, loss)
            if dropped:
                superseded[run] = superseded.get(run, 0) + dropped
    return {r: rec for r, rec in data.items() if rec}, {}, skipped, superseded


def _grokked_label(path: Path, line: int, cell: str, run: str, grok: dict) -> None:
    """Record the ``grokked`` label of ``run`` (constant within a run)."""
    text = cell.strip().lower()
    if text not in _TRUE | _FALSE:
        raise ValueError(f"{path}, line {line}, column 'grokked': expected 0/1 or true/false, got {text!r}")
    g = text in _TRUE
    if run in grok and grok[run][0] != g:
        raise ValueError(
            f"{path}, line {line}, column 'grokked': run {run!r} was labelled {grok[run][0]} "
            f"on line {grok[run][1]}"
        )
    grok.setdefault(run, (g, line))
