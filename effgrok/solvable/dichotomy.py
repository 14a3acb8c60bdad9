"""Kernel→rich dichotomy of Lyu, Jin, Li, Du, Lee & Hu (ICLR 2024, arXiv 2311.18817).

Setting (SPEC §9).  An ``L``-homogeneous network, ``f(cθ; x) = c^L f(θ; x)`` for ``c > 0`` (a
bias-free ReLU MLP with two weight layers has ``L = 2``), initialised at ``θ₀ = α θ̄`` with a
large scale ``α`` and trained by gradient flow on ``ℒ(θ) + (λ/2)‖θ‖²`` with a small weight
decay ``λ``:

    dθ/dt = −∇ℒ(θ) − λθ.

Early phase (kernel regime).  The network fits the training set almost at once, moving
little relative to ``‖θ₀‖``, and thereafter the small loss gradient hardly opposes the decay,
so ``θ(t) ≈ e^{−λt} θ₀`` and the output scale is ``α^L e^{−Lλt}``: the predictor is the kernel
(NTK) predictor of the initial features.  Late phase (rich regime).  Once the parameter norm has
fallen to ``O(1)`` -- ``α e^{−λt} = 1`` -- the implicit bias switches to the min-norm /
max-margin solution of the network (for modular addition: Fourier features that generalise).
The paper proves the kernel predictor holds until ``t ≈ (1 − c)/λ · log α`` and the rich one
from ``t ≈ (1 + c)/λ · log α`` on, for any fixed ``c ∈ (0, 1)`` as ``α → ∞`` and ``λ → 0``: a sharp
transition at

    t* = log(α) / λ.

How the homogeneity degree enters.  It does not enter ``t*`` at leading order: the output
scale ``α^L e^{−Lλt}`` reaches ``O(1)`` when ``(α e^{−λt})^L = 1``, i.e. at the same ``t*`` for
every ``L``.  ``L`` sets how large the early outputs and the NTK are (``α^L`` and ``α^{2(L−1)}``),
which changes the length of the initial fitting phase and the ``O(1/λ)`` corrections hidden in
``c``, not the ``log(α)/λ`` law.  ``homogeneity`` is accepted and checked by the functions below
for that reason, and reported, but leaves ``t*`` unchanged.

Time conventions.  ``t`` is gradient-flow time.  Full-batch gradient descent with step ``η``
and decoupled (equivalently: L2) weight decay, ``θ ← (1 − ηλ)θ − η∇ℒ``, decays the norm by
``(1 − ηλ)`` per step, so the kernel regime ends after

    k* = log(α) / (−log(1 − ηλ))  ≈  log(α) / (ηλ)  steps,

i.e. ``t = η × steps`` (:func:`transition_step`; ``exact=False`` gives ``log(α)/(ηλ)``).  The
paper's runs (width 1024, add-mod 97, 40 % of the ordered pairs, cross-entropy, full-batch GD)
plot test accuracy against ``t = η·steps``; SPEC §9 quotes lr 0.002 and weight decay 1e-4.

Measurement.  :func:`transition_from_curve` turns a run's accuracy curves into one transition
step (defined there), and :func:`fit_line` fits measured transition times against ``log α`` (at
fixed ``λ``, predicted slope ``1/λ``) or against ``1/λ`` (at fixed ``α``, predicted slope
``log α``), with Student-t confidence intervals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._checks import fraction, integer, positive_array, real
from .._record import Result, jsonable
from ..nets.driver import SGD, Schedule, as_schedule

__all__ = [
    "DichotomyRuns",
    "GridFit",
    "LinearFit",
    "Transition",
    "first_crossing",
    "fit_line",
    "fit_transition_grid",
    "kernel_exit_from_norm",
    "simulate",
    "transition_from_curve",
    "transition_line_fits",
    "transition_step",
    "transition_time",
    "transition_window",
]


def _positive_array(name: str, value, *, above_one: bool = False) -> np.ndarray:
    """:func:`~effgrok._checks.positive_array` keeping the shape of ``value`` (a number stays 0-d)."""
    arr = positive_array(name, value).reshape(np.shape(value))
    if above_one and np.any(arr <= 1):
        raise ValueError(f"{name} must be a number > 1 (or an array of them), got {arr[arr <= 1].flat[0]}")
    return arr


def _out(arr: np.ndarray):
    return float(arr) if arr.ndim == 0 else arr


def transition_time(alpha, weight_decay, *, homogeneity: int = 2):
    """Predicted kernel→rich transition time ``t* = log(α)/λ`` (gradient-flow time).

    ``α > 1`` is the initialisation scale, ``λ > 0`` the weight decay; arrays broadcast.  The
    homogeneity degree ``L`` is checked but does not change ``t*`` (the output scale
    ``(α e^{−λt})^L`` reaches 1 at the same time for every ``L``; see the module notes).

    Examples
    --------
    >>> round(transition_time(np.e**2, 1e-3), 6)
    2000.0
    >>> transition_time([10.0, 100.0], 0.01).round(2).tolist()
    [230.26, 460.52]
    """
    integer("homogeneity", homogeneity, lo=1)
    a = _positive_array("alpha", alpha, above_one=True)
    lam = _positive_array("weight_decay", weight_decay)
    return _out(np.log(a) / lam)


def transition_window(alpha, weight_decay, c: float = 0.5, *, homogeneity: int = 2):
    """The theorem's window ``((1 − c)/λ · log α, (1 + c)/λ · log α)`` around ``t*``.

    Kernel predictor before the lower end, rich (max-margin) predictor after the upper end,
    for a fixed ``c ∈ (0, 1)`` in the limit ``α → ∞``, ``λ → 0``.

    Examples
    --------
    >>> lo, hi = transition_window(np.e, 0.1, c=0.2)
    >>> round(lo, 6), round(hi, 6)
    (8.0, 12.0)
    """
    fraction("c", c, closed="neither")
    t = np.asarray(transition_time(alpha, weight_decay, homogeneity=homogeneity))
    return _out((1 - c) * t), _out((1 + c) * t)


def transition_step(alpha, weight_decay, learning_rate, *, exact: bool = True, homogeneity: int = 2):
    """Predicted transition in gradient-descent steps of size ``η = learning_rate``.

    ``exact=True``: ``k* = log(α)/(−log(1 − ηλ))``, the number of steps in which the decay
    factor ``(1 − ηλ)^k`` of ``θ ← (1 − ηλ)θ − η∇ℒ`` reaches ``1/α``; ``exact=False``: the
    gradient-flow value ``t*/η = log(α)/(ηλ)``.  Needs ``ηλ < 1``.

    Examples
    --------
    >>> round(transition_step(np.e, 1e-3, 0.5, exact=False), 6)
    2000.0
    >>> round(transition_step(np.e, 1e-3, 0.5), 1)       # 1/(−log(1 − 5e-4))
    1999.5
    """
    t = np.asarray(transition_time(alpha, weight_decay, homogeneity=homogeneity))
    eta = _positive_array("learning_rate", learning_rate)
    lam = np.asarray(weight_decay, dtype=np.float64)
    if not np.all(eta * lam < 1):
        raise ValueError(
            f"need learning_rate * weight_decay < 1, got learning_rate={learning_rate!r}, "
            f"weight_decay={weight_decay!r}"
        )
    if not exact:
        return _out(t / eta)
    with np.errstate(divide="ignore"):  # ηλ below the float resolution: inf steps
        return _out(t * lam / -np.log1p(-eta * lam))


@dataclass(frozen=True)
class Transition(Result):
    """Transition of one run (see :func:`transition_from_curve`); steps are ``nan`` when absent.

    Attributes
    ----------
    step : float
        Interpolated first step at which the test accuracy reaches ``plateau + ½(final − plateau)``.
    memorized_step : float
        First recorded step with train accuracy ≥ ``train_level`` (``nan``: never).
    plateau, final : float
        Test accuracy at ``memorized_step`` (the lazy plateau) and at the last record.
    """

    step: float
    memorized_step: float
    plateau: float
    final: float


def transition_from_curve(
    steps, train_acc, test_acc, *, train_level: float = 0.99, min_rise: float = 0.2
) -> Transition:
    """Transition step of one run from its accuracy curves.

    Definition.  ``k_mem`` = first recorded step with train accuracy ≥ ``train_level`` (the end
    of the kernel fit); plateau ``a₀`` = test accuracy there; final ``a₁`` = test accuracy at the
    last record.  If ``a₁ − a₀ ≥ min_rise`` the transition step is the first time after
    ``k_mem`` at which the test accuracy reaches ``a₀ + ½(a₁ − a₀)``, linearly interpolated
    between the bracketing records; otherwise (no memorisation, or no rise) it is ``nan``.

    Examples
    --------
    >>> steps = np.arange(6) * 100
    >>> tr = np.array([0.1, 1, 1, 1, 1, 1]); te = np.array([0.0, 0.1, 0.1, 0.3, 0.9, 0.9])
    >>> transition_from_curve(steps, tr, te).step      # level 0.5: 1/3 of the way 300 → 400
    333.3333333333333
    """
    s = np.asarray(steps, dtype=np.float64)
    tr = np.asarray(train_acc, dtype=np.float64)
    te = np.asarray(test_acc, dtype=np.float64)
    if s.ndim != 1 or s.size < 2 or tr.shape != s.shape or te.shape != s.shape:
        raise ValueError(
            "steps, train_acc and test_acc must be 1-D of one length >= 2, "
            f"got {s.shape}, {tr.shape}, {te.shape}"
        )
    if not np.all(np.diff(s) > 0):
        raise ValueError("steps must be strictly increasing")
    fraction("train_level", train_level)
    fraction("min_rise", min_rise)
    mem = np.flatnonzero(tr >= train_level)
    final = float(te[-1])
    if mem.size == 0:
        return Transition(math.nan, math.nan, math.nan, final)
    k0 = int(mem[0])
    plateau = float(te[k0])
    if final - plateau < min_rise:
        return Transition(math.nan, float(s[k0]), plateau, final)
    level = plateau + 0.5 * (final - plateau)
    k = k0 + int(np.flatnonzero(te[k0:] >= level)[0])
    if k == k0:
        step = float(s[k0])
    else:
        a, b = te[k - 1], te[k]
        step = float(s[k - 1] + (level - a) / (b - a) * (s[k] - s[k - 1]))
    return Transition(step, float(s[k0]), plateau, final)


def kernel_exit_from_norm(steps, weight_norm, *, factor: float = 1.2) -> float:
    """End of the kernel phase read off the parameter norm: the first recorded step with
    ``‖θ‖ ≤ factor × ‖θ‖_final`` (``nan`` if the norm never comes down to it from above).

    In the kernel phase ``‖θ(t)‖ ≈ e^{−λt}‖θ₀‖``; it ends when the norm meets the scale at which
    the loss gradient balances the decay, ``‖θ_∞‖`` (the "``O(1)``" of the theorem), i.e. at
    ``t ≈ log(‖θ₀‖/‖θ_∞‖)/λ`` -- the theorem's ``log(α)/λ`` with ``α`` measured in units of
    ``‖θ_∞‖``.  Runs that start at or below ``factor × ‖θ‖_final`` have no kernel phase
    (``nan``).

    Examples
    --------
    >>> steps = np.arange(6) * 100.0
    >>> kernel_exit_from_norm(steps, 10 * np.exp(-0.01 * steps) + 1.0)   # 10e^{-x}+1 ≤ 1.2·1.0067
    400.0
    """
    s = np.asarray(steps, dtype=np.float64)
    w = np.asarray(weight_norm, dtype=np.float64)
    if s.ndim != 1 or w.shape != s.shape or s.size < 2:
        raise ValueError(f"steps and weight_norm must be 1-D of one length >= 2, got {s.shape} and {w.shape}")
    if real("factor", factor, allowed="a number > 1") <= 1:
        raise ValueError(f"factor must be a number > 1, got {factor!r}")
    level = factor * w[-1]
    if w[0] <= level:
        return math.nan
    hit = np.flatnonzero(w <= level)
    return float(s[hit[0]])


@dataclass(frozen=True)
class LinearFit(Result):
    """Least-squares line ``y = intercept + slope·x`` with Student-t confidence intervals.

    Attributes
    ----------
    slope, intercept : float
    slope_ci, intercept_ci : tuple of float
        ``estimate ± t_{(1+confidence)/2, n−2} · standard error``.
    r2 : float
        Coefficient of determination.
    n : int
        Number of points used (NaN points are dropped).
    confidence : float
    """

    slope: float
    intercept: float
    slope_ci: tuple[float, float]
    intercept_ci: tuple[float, float]
    r2: float
    n: int
    confidence: float

    def slope_contains(self, value: float) -> bool:
        """Whether ``value`` lies in the slope's confidence interval."""
        return self.slope_ci[0] <= value <= self.slope_ci[1]


def fit_line(x, y, *, confidence: float = 0.95) -> LinearFit:
    """Ordinary least squares of ``y`` on ``x`` with confidence intervals (points with NaN dropped).

    With ``n`` points, residual variance ``s² = Σ r²/(n − 2)``, ``Sxx = Σ (x − x̄)²``:
    ``SE(slope) = s/√Sxx``, ``SE(intercept) = s √(1/n + x̄²/Sxx)``; intervals use the Student-t
    quantile with ``n − 2`` degrees of freedom.  Needs at least 3 points and two distinct ``x``.

    Examples
    --------
    >>> f = fit_line([1, 2, 3, 4], [2.1, 3.9, 6.1, 7.9])
    >>> round(f.slope, 3), round(f.intercept, 3), f.slope_contains(2.0)
    (1.96, 0.1, True)
    """
    from scipy.stats import t as student_t

    xa = np.asarray(x, dtype=np.float64).ravel()
    ya = np.asarray(y, dtype=np.float64).ravel()
    if xa.shape != ya.shape:
        raise ValueError(f"x and y must have the same length, got {xa.size} and {ya.size}")
    fraction("confidence", confidence, closed="neither")
    ok = np.isfinite(xa) & np.isfinite(ya)
    xa, ya = xa[ok], ya[ok]
    n = int(xa.size)
    if n < 3 or np.ptp(xa) == 0:
        raise ValueError(f"need at least 3 finite points with two distinct x values, got {n}")
    xm, ym = xa.mean(), ya.mean()
    sxx = float(np.sum((xa - xm) ** 2))
    slope = float(np.sum((xa - xm) * (ya - ym)) / sxx)
    intercept = float(ym - slope * xm)
    resid = ya - intercept - slope * xa
    s2 = float(np.sum(resid**2)) / (n - 2)
    syy = float(np.sum((ya - ym) ** 2))
    r2 = 1.0 - float(np.sum(resid**2)) / syy if syy > 0 else 1.0
    q = float(student_t.ppf(0.5 + confidence / 2, n - 2))
    se_s = math.sqrt(s2 / sxx)
    se_i = math.sqrt(s2 * (1.0 / n + xm**2 / sxx))
    return LinearFit(
        slope=slope,
        intercept=intercept,
        slope_ci=(slope - q * se_s, slope + q * se_s),
        intercept_ci=(intercept - q * se_i, intercept + q * se_i),
        r2=r2,
        n=n,
        confidence=float(confidence),
    )


@dataclass(frozen=True)
class GridFit(Result):
    """Fit of ``t = b·(log α − c₀)/λ + d`` over an ``α × λ`` grid (:func:`fit_transition_grid`).

    Attributes
    ----------
    slope : float
        ``b``, the coefficient of ``log(α)/λ``; the theorem predicts ``b = 1``.
    slope_ci : tuple of float
        Student-t interval of ``b``.
    c0 : float
        The finite-α offset ``log α_c`` (``c₀ = −g/b`` with ``g`` the coefficient of ``1/λ``).
    c0_ci : tuple of float
        Interval of ``c₀`` by the delta method.
    offset : float
        ``d``, a constant time (the initial fit, the width of the transition).
    r2 : float
    n : int
    confidence : float
    """

    slope: float
    slope_ci: tuple[float, float]
    c0: float
    c0_ci: tuple[float, float]
    offset: float
    r2: float
    n: int
    confidence: float


def fit_transition_grid(alpha, weight_decay, t, *, confidence: float = 0.95) -> GridFit:
    """Least-squares fit of measured transition times over an ``α × λ`` grid to

        t = b · (log α − c₀)/λ + d  =  b · log(α)/λ + g · (1/λ) + d,      c₀ = −g/b,

    the theorem's ``t* = log(α/α_c)/λ`` with a finite-α offset ``c₀ = log α_c`` (the kernel
    phase ends when ``α e^{−λt}‖θ̄‖`` meets the norm of the rich solution, so ``α_c`` is that
    norm in units of the unit-scale initialisation ``‖θ̄‖``) and a constant ``d``.  Prediction:
    ``b = 1``.  Ordinary least squares on the three regressors; intervals from the Student-t
    quantile with ``n − 3`` degrees of freedom, ``c₀``'s by the delta method (``nan`` when
    ``b = 0``).  Points with a
    NaN time are dropped (censored runs: report them, do not fit them).  Needs at least 4
    points, two distinct ``λ`` and two distinct ``log(α)`` at some ``λ``.

    Reference: Lyu et al. (ICLR 2024, arXiv 2311.18817), Theorems 3.x: kernel predictor until
    ``(1 − c) log(α)/λ``, rich from ``(1 + c) log(α)/λ``.

    Examples
    --------
    >>> a, lam = np.meshgrid([10.0, 100.0, 1000.0], [0.01, 0.02])
    >>> t = (np.log(a) - 1.5) / lam + 40.0
    >>> f = fit_transition_grid(a, lam, t)
    >>> round(f.slope, 6), round(f.c0, 6), round(f.offset, 6)
    (1.0, 1.5, 40.0)
    """
    from scipy.stats import t as student_t

    la = np.log(_positive_array("alpha", alpha)).ravel()
    lam = _positive_array("weight_decay", weight_decay).ravel()
    y = np.asarray(t, dtype=np.float64).ravel()
    if not la.size == lam.size == y.size:
        raise ValueError(f"alpha, weight_decay and t must have one size, got {la.size}, {lam.size}, {y.size}")
    fraction("confidence", confidence, closed="neither")
    ok = np.isfinite(y)
    la, lam, y = la[ok], lam[ok], y[ok]
    n = int(y.size)
    X = np.column_stack([la / lam, 1.0 / lam, np.ones(n)])
    if n < 4 or np.unique(lam).size < 2 or np.linalg.matrix_rank(X) < 3:
        raise ValueError(
            f"need at least 4 finite times over two weight decays and two alphas, got {n} "
            f"({np.unique(lam).size} weight decays)"
        )
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ coef
    dof = n - 3
    s2 = float(resid @ resid) / dof if dof > 0 else math.nan
    cov = s2 * np.linalg.inv(X.T @ X)
    b, g, d = (float(v) for v in coef)
    syy = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(resid @ resid) / syy if syy > 0 else 1.0
    q = float(student_t.ppf(0.5 + confidence / 2, dof)) if dof > 0 else math.nan
    if b == 0:  # no log(α)/λ dependence at all: the offset c₀ = −g/b is undefined
        c0 = se_c0 = math.nan
    else:
        c0 = -g / b
        grad = np.array([g / b**2, -1.0 / b])  # ∂c₀/∂(b, g)
        se_c0 = math.sqrt(max(float(grad @ cov[:2, :2] @ grad), 0.0))
    se_b = math.sqrt(max(float(cov[0, 0]), 0.0))
    return GridFit(
        slope=b,
        slope_ci=(b - q * se_b, b + q * se_b),
        c0=c0,
        c0_ci=(c0 - q * se_c0, c0 + q * se_c0),
        offset=d,
        r2=r2,
        n=n,
        confidence=float(confidence),
    )


def transition_line_fits(alpha, weight_decay, t, *, confidence: float = 0.95) -> dict[str, dict]:
    """The two one-variable checks of ``t* = log(α)/λ`` on measured transition times: at each
    weight decay, ``t`` against ``log α`` (predicted slope ``1/λ``, key ``"log_alpha@λ"``); at
    each ``α``, ``t`` against ``1/λ`` (predicted slope ``log α``, key ``"inv_wd@α"``).  Each
    value holds ``slope``, ``slope_ci``, ``predicted_slope``, ``r2`` and ``n`` of
    :func:`fit_line`; a group with too few finite points for a line is left out.

    Examples
    --------
    >>> a = np.array([2.0, 4.0, 8.0, 2.0, 4.0, 8.0])
    >>> lam = np.array([0.1, 0.1, 0.1, 0.2, 0.2, 0.2])
    >>> fits = transition_line_fits(a, lam, np.log(a) / lam)
    >>> sorted(fits), round(fits["log_alpha@0.1"]["slope"], 6)
    (['log_alpha@0.1', 'log_alpha@0.2'], 10.0)
    """
    alpha = np.asarray(alpha, dtype=np.float64)
    weight_decay = np.asarray(weight_decay, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    fits = {}
    for name, x, group in (
        ("log_alpha", np.log(alpha), weight_decay),
        ("inv_wd", 1 / weight_decay, alpha),
    ):
        for gval in np.unique(group):
            m = group == gval
            try:
                f = fit_line(x[m], t[m], confidence=confidence)
            except ValueError:
                continue
            fits[f"{name}@{gval:g}"] = {
                "slope": f.slope,
                "slope_ci": list(f.slope_ci),
                "predicted_slope": 1 / gval if name == "log_alpha" else math.log(gval),
                "r2": f.r2,
                "n": f.n,
            }
    return fits


def first_crossing(steps, curve, level: float) -> float:
    """First step at which ``curve ≥ level``, linearly interpolated between the bracketing
    records (``nan``: never within the records; the first record if it already starts there).

    An absolute level (not a fraction of the final value) does not move with a final value that
    has not converged.

    Examples
    --------
    >>> first_crossing([0, 10, 20, 30], [0.0, 0.2, 0.6, 1.0], 0.5)
    17.5
    """
    s = np.asarray(steps, dtype=np.float64)
    c = np.asarray(curve, dtype=np.float64)
    if s.ndim != 1 or c.shape != s.shape or s.size < 2:
        raise ValueError(f"steps and curve must be 1-D of one length >= 2, got {s.shape} and {c.shape}")
    real("level", level)
    hit = np.flatnonzero(c >= level)
    if hit.size == 0:
        return math.nan
    k = int(hit[0])
    if k == 0:
        return float(s[0])
    a, b = c[k - 1], c[k]
    return float(s[k - 1] + (level - a) / (b - a) * (s[k] - s[k - 1]))


# ---------------------------------------------------------------------------------------------
# simulation: the paper's network on modular addition (JAX, through effgrok.nets.modular)


@dataclass(frozen=True)
class DichotomyRuns(Result):
    """Runs of a bias-free ReLU MLP at initialisation scales ``α`` and weight decays ``λ``.

    Attributes
    ----------
    alpha, weight_decay, seeds : ndarray, shape (runs,)
    learning_rate : float
        Gradient-descent step ``η``; times are ``t = η · step``.
    steps : ndarray, shape (records,)
    train_acc, test_acc, weight_norm : ndarray, shape (runs, records)
    transition_step, memorized_step, plateau, final : ndarray, shape (runs,)
        :func:`transition_from_curve` of each run (``nan``: none).
    predicted_step : ndarray, shape (runs,)
        :func:`transition_step` (exact discrete form).
    kernel_exit_step : ndarray, shape (runs,)
        :func:`kernel_exit_from_norm` of each run (``nan``: no kernel phase).
    """

    alpha: np.ndarray
    weight_decay: np.ndarray
    seeds: np.ndarray
    learning_rate: float
    steps: np.ndarray
    train_acc: np.ndarray
    test_acc: np.ndarray
    weight_norm: np.ndarray
    transition_step: np.ndarray
    memorized_step: np.ndarray
    plateau: np.ndarray
    final: np.ndarray
    predicted_step: np.ndarray
    kernel_exit_step: np.ndarray = None

    @property
    def transition_time(self) -> np.ndarray:
        """Measured transition in gradient-flow time, ``η × transition_step``."""
        return self.learning_rate * self.transition_step

    @property
    def predicted_time(self) -> np.ndarray:
        """``log(α)/λ`` per run."""
        return np.log(self.alpha) / self.weight_decay

    def rows(self) -> list[dict]:
        """One row per run: settings, predicted and measured transition, plateau, final accuracy."""
        exit_step = (
            np.full(self.alpha.size, np.nan) if self.kernel_exit_step is None else self.kernel_exit_step
        )
        return jsonable(
            [
                {
                    "alpha": float(self.alpha[k]),
                    "weight_decay": float(self.weight_decay[k]),
                    "seed": int(self.seeds[k]),
                    "predicted_step": float(self.predicted_step[k]),
                    "transition_step": self.transition_step[k],
                    "plateau": self.plateau[k],
                    "kernel_exit_step": exit_step[k],
                    "final_test_acc": float(self.final[k]),
                }
                for k in range(self.alpha.size)
            ]
        )

    def record(self) -> dict:
        """JSON-ready: ``learning_rate``, the last step and :meth:`rows` (the curves are left out)."""
        return jsonable({"learning_rate": self.learning_rate, "steps": self.steps[-1], "runs": self.rows()})

    def tables(self) -> dict[str, list[dict]]:
        """``simulation``: :meth:`rows`."""
        return {"simulation": self.rows()}


def _run_axis(alpha, weight_decay, seeds):
    """``alpha`` (> 1), ``weight_decay`` (> 0) and ``seeds`` broadcast to one run axis."""
    a = _positive_array("alpha", alpha, above_one=True)
    lam = _positive_array("weight_decay", weight_decay)
    if a.ndim > 1 or lam.ndim > 1 or np.ndim(seeds) > 1:
        raise ValueError("alpha, weight_decay and seeds must be numbers or 1-D arrays")
    try:
        a, lam, sd = np.broadcast_arrays(np.atleast_1d(a), np.atleast_1d(lam), np.atleast_1d(seeds))
    except ValueError:
        raise ValueError(
            f"alpha, weight_decay and seeds must broadcast to one run axis, got sizes {a.size}, {lam.size}, "
            f"{np.size(seeds)}"
        ) from None
    return a, lam, sd


def simulate(
    task,
    alpha,
    weight_decay,
    *,
    seeds=(0,),
    learning_rate: float = 0.002,
    hidden: int = 1024,
    train_fraction: float = 0.4,
    schedule: Schedule = Schedule(10_000, 100),
    float64: bool = False,
    train_level: float = 0.99,
    min_rise: float = 0.2,
) -> DichotomyRuns:
    """Train the paper's network at each ``(α, λ, seed)`` in one vmapped batch and measure transitions.

    ``alpha``, ``weight_decay`` and ``seeds`` broadcast to one run axis (pass a grid flattened,
    e.g. from ``numpy.meshgrid``).  Each run: :func:`effgrok.nets.modular.train_modular` with
    ``optimizer=SGD()`` (full-batch GD, ``θ ← θ − η(∇ℒ + λθ)``), ``bias=False`` (2-homogeneous
    ReLU net), ``init_scale=α``, cross-entropy; the same seed gives the same split and initial
    direction at every ``α``.  The transition of each run is :func:`transition_from_curve` on
    its train/test accuracy.

    ``schedule`` (:class:`~effgrok.nets.driver.Schedule`): ``steps`` of GD, curves every
    ``stride`` steps (the transitions' resolution); its other fields are refused (the
    predicted step :func:`transition_step` is full-batch GD's, and :class:`DichotomyRuns` has
    no place for snapshots, per-step losses or first steps).

    Examples
    --------
    >>> import effgrok as eg
    >>> task = eg.make_task("add-mod", 5)
    >>> r = simulate(task, [2.0, 4.0], 1e-2, learning_rate=0.1, hidden=8, schedule=Schedule(20, 10))
    >>> r.train_acc.shape, r.predicted_step.round(1).tolist()
    ((2, 3), [692.8, 1385.6])
    """
    from ..nets.modular import train_modular

    schedule = as_schedule(schedule, fields=())
    a, lam, sd = _run_axis(alpha, weight_decay, seeds)
    pred = np.asarray(transition_step(a, lam, learning_rate))
    runs = train_modular(
        task,
        train_fraction=train_fraction,
        seeds=sd,
        hidden=hidden,
        learning_rate=learning_rate,
        weight_decay=lam,
        schedule=schedule,
        float64=float64,
        optimizer=SGD(),
        bias=False,
        init_scale=a,
    )
    tr = [
        transition_from_curve(
            runs.steps, runs.train_acc[k], runs.test_acc[k], train_level=train_level, min_rise=min_rise
        )
        for k in range(a.size)
    ]
    return DichotomyRuns(
        alpha=a.astype(np.float64),
        weight_decay=lam.astype(np.float64),
        seeds=sd.astype(np.int64),
        learning_rate=float(learning_rate),
        steps=runs.steps,
        train_acc=runs.train_acc,
        test_acc=runs.test_acc,
        weight_norm=runs.weight_norm,
        transition_step=np.array([t.step for t in tr]),
        memorized_step=np.array([t.memorized_step for t in tr]),
        plateau=np.array([t.plateau for t in tr]),
        final=np.array([t.final for t in tr]),
        predicted_step=pred.astype(np.float64),
        kernel_exit_step=np.array([kernel_exit_from_norm(runs.steps, w) for w in runs.weight_norm]),
    )
