"""The linear teacher–student model of Levi, Beck & Bar-Sinai (ICLR 2024, arXiv 2310.16441).

Model (SPEC §9).  Inputs ``x ~ N(0, I_{d_in})``, a teacher ``T`` and a student ``S`` (both
``d_in × d_out``, entries ``N(0, 1/(2 d_in d_out))`` at initialisation), targets ``y = Tᵀx``,
``N_train`` training inputs with empirical covariance ``Σ_tr = XᵀX/N_train`` and ``λ = d_in/N_train``.
With ``D = S − T``:

    L_tr  = (1/d_out) Tr[Dᵀ Σ_tr D]   (the training MSE per output)
    L_gen = (1/d_out) ‖D‖²            (the population MSE, Σ = I)

Full-batch gradient descent with step ``η₀`` gives ``D ← (I − (2η₀/d_out) Σ_tr) D``: every
eigen-direction ``ν`` of ``Σ_tr`` decays by ``(1 − 2ην)`` per step with ``η = η₀/d_out``
(SPEC's ``η₀ → η₀/d_out``), ``≈ e^{−2ηνt}`` in the gradient-flow limit used by the paper.

Normalisation.  ``E D Dᵀ = I/d_in`` at ``t = 0`` (``S`` and ``T`` each contribute
``1/(2 d_in d_out)`` per entry, ``d_out`` columns), so

    L_gen(0) = L_tr(0) = 1/d_out       (= 1 for the paper's ``d_out = 1``)

and, averaging the eigenvalues over the Marchenko–Pastur law with ratio ``λ``,

    L_tr(t)  = (1/d_out) E_ν[ν e^{−4ηνt}],      L_gen(t) = (1/d_out) E_ν[e^{−4ηνt}],

so ``dL_gen/dt = −4η L_tr``.  The train average is a Bessel function:

    L_tr(t) = (1/d_out) e^{−4η(λ+1)t} ₀F̃₁(2; 16η²t²λ),   ₀F̃₁(2; z) = I₁(2√z)/√z,

and for ``λ > 1`` the zero eigenvalues (mass ``1 − 1/λ``) never learn: ``L_gen → (1 − 1/λ)/d_out``.
At long times ``E_ν`` is dominated by the lower edge ``ν₋ = (1 − √λ)²``, so
``L_gen ≈ plateau + L_tr/(1 − √λ)²``.

Accuracy.  A test error ``Dᵀx`` is Gaussian with variance ``L`` per output; the fraction of
samples with squared error below ``ε`` is ``acc = erf(√(ε/(2L)))``.  Accuracy ``a`` is reached at
``L = ε/(2 erfinv(a)²)``: for ``a = 0.95`` that is ``ε/3.8415`` (``2 erfinv(0.95)² = 1.96²``),
which SPEC rounds to ``ε/4`` (``L = ε/4`` is accuracy ``erf(√2) = 0.9545``).  The grokking gap
``Δt = t_gen − t_tr`` between the two curves reaching that loss has the long-time form

    Δt ≈ log(1/(1 − √λ)) / (2η (1 − √λ)²)       (no weight decay)
    Δt ≈ log(1 + √λ)     / (2η (1 − √λ)²)       (small weight decay γ, quoted from the paper)

Weight decay.  With the objective ``L_tr + (γ/d_out)‖S‖²`` a mode decays at ``2η(ν + γ)`` towards
``S_ν = ν T_ν/(ν + γ)``; averaging over ``S₀, T`` gives

    L_gen = (1/(2 d_out)) E_ν[((γ + ν g)/(ν + γ))² + g²],   g = e^{−2η(ν+γ)t}

(``L_tr`` has an extra factor ``ν`` inside), which reduces to the formulas above at ``γ = 0``.
``discrete=True`` replaces ``g`` by the gradient-descent factor ``(1 − 2η(ν + γ))^t``.

How good the long-time forms are.  They drop the ``t^{−3/2}`` edge prefactor, so they are the
``ε → 0`` limit of the exact gap: at the paper's ``ε = 1e-3, η₀ = 0.01`` the exact gap is 0.57, 0.60
and 0.36 of the formula at ``λ = 0.1, 0.5, 0.9`` (0.97–0.98 only at ``ε = 1e-40``);
:func:`grokking_gap` reports both.  Under the weight-decay convention above a small ``γ`` leaves
the gap at its ``γ = 0`` value (a larger one lifts the plateau of ``L_gen`` above ``ε/3.84``), so
the small-``γ`` formula is not reproduced by :func:`mp_losses`; it is returned as quoted.

Time ``t`` is counted in gradient-descent steps throughout.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.optimize import brentq
from scipy.special import erf, erfinv, ive, j1

from .. import _checks
from .._record import Result, column_rows, jsonable
from ..constants import NEVER

__all__ = [
    "GrokkingGap",
    "LinearSimulation",
    "accuracy",
    "crossing_time",
    "effective_learning_rate",
    "generalization_loss",
    "generalization_loss_asymptotic",
    "generalization_plateau",
    "grokking_gap",
    "grokking_gap_asymptotic",
    "hyp0f1_2",
    "initial_loss",
    "loss_at_accuracy",
    "marchenko_pastur_average",
    "marchenko_pastur_density",
    "marchenko_pastur_edges",
    "mp_losses",
    "run_gradient_descent",
    "simulate_linear",
    "time_to_accuracy",
    "train_loss",
]

#: Gauss–Legendre nodes per panel of the Marchenko–Pastur quadrature.
N_QUAD = 160

# ---------------------------------------------------------------------------------------------
# input checks


def _times(t) -> np.ndarray:
    try:
        arr = np.asarray(t, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"t must be a number or an array of numbers >= 0, got {t!r}") from None
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"t must be finite and >= 0, got {t!r}")
    return arr


def _out(arr: np.ndarray, like) -> float | np.ndarray:
    return float(arr) if np.ndim(like) == 0 else arr


# ---------------------------------------------------------------------------------------------
# accuracy and learning-rate conventions


def accuracy(loss, epsilon: float = 1e-3) -> float | np.ndarray:
    """Fraction of samples with squared error below ``ε``: ``acc(L) = erf(√(ε/(2L)))``.

    The error of a test sample is ``N(0, L)`` (per output), so ``P(e² < ε) = erf(√(ε/(2L)))``;
    ``acc(0) = 1``.

    Examples
    --------
    >>> round(accuracy(1e-3 / 4, 1e-3), 4)        # L = ε/4 is erf(√2)
    0.9545
    """
    epsilon = _checks.positive("epsilon", epsilon)
    L = np.asarray(loss, dtype=np.float64)
    if not np.all(L >= 0):
        raise ValueError(f"loss must be >= 0, got {loss!r}")
    with np.errstate(divide="ignore"):
        out = erf(np.sqrt(epsilon / (2.0 * L)))
    return _out(np.asarray(out, dtype=np.float64), loss)


def loss_at_accuracy(level: float = 0.95, epsilon: float = 1e-3) -> float:
    """The loss at which the accuracy equals ``level``: ``L* = ε / (2 erfinv(level)²)``.

    Inverting ``erf(√(ε/(2L))) = a`` gives ``√(ε/(2L)) = erfinv(a)``.  For ``a = 0.95``,
    ``2 erfinv(0.95)² = 1.96² = 3.8415``, so ``L* = ε/3.84 ≈ ε/4`` (SPEC §9's rounding).

    Examples
    --------
    >>> round(1e-3 / loss_at_accuracy(0.95, 1e-3), 4)
    3.8415
    """
    level = _checks.fraction("accuracy level", level, closed="neither")
    epsilon = _checks.positive("epsilon", epsilon)
    return epsilon / (2.0 * float(erfinv(level)) ** 2)


def effective_learning_rate(eta0: float, d_out: int = 1) -> float:
    """``η = η₀/d_out``: the rate each eigen-direction sees, since ``∂L_tr/∂S = (2/d_out) Σ_tr D``.

    Examples
    --------
    >>> effective_learning_rate(0.01, 4)
    0.0025
    """
    return _checks.positive("eta0", eta0) / _checks.integer("d_out", d_out, lo=1)


def initial_loss(d_out: int = 1) -> float:
    """Expected ``L_tr(0) = L_gen(0) = 1/d_out`` for ``S, T ~ N(0, 1/(2 d_in d_out))``.

    ``D₀ = S₀ − T`` has i.i.d. entries of variance ``1/(d_in d_out)``, so ``E D₀D₀ᵀ = I/d_in``,
    ``E L_gen(0) = E‖D₀‖²/d_out = 1/d_out`` and ``E L_tr(0) = Tr[Σ_tr]/(d_in d_out) → 1/d_out``
    (``E Tr Σ_tr = d_in``).

    Examples
    --------
    >>> initial_loss(1), initial_loss(4)
    (1.0, 0.25)
    """
    return 1.0 / _checks.integer("d_out", d_out, lo=1)


# ---------------------------------------------------------------------------------------------
# Marchenko–Pastur law


def marchenko_pastur_edges(lam: float) -> tuple[float, float]:
    """Support ``[ν₋, ν₊] = [(1 − √λ)², (1 + √λ)²]`` of the continuous part (unit variance).

    Examples
    --------
    >>> marchenko_pastur_edges(0.25)
    (0.25, 2.25)
    """
    lam = _checks.positive("lam", lam)
    r = math.sqrt(lam)
    return (1.0 - r) ** 2, (1.0 + r) ** 2


def marchenko_pastur_density(nu, lam: float) -> float | np.ndarray:
    """Continuous part ``ρ(ν) = √((ν₊ − ν)(ν − ν₋)) / (2πλν)`` on ``[ν₋, ν₊]``, 0 elsewhere.

    Its mass is ``min(1, 1/λ)``; for ``λ > 1`` the rest, ``1 − 1/λ``, is an atom at ``ν = 0``.
    Eigenvalues of ``XᵀX/N`` with ``X`` an ``N × d`` standard Gaussian matrix, ``λ = d/N``.

    Examples
    --------
    >>> round(marchenko_pastur_density(1.0, 0.25), 6)    # √(1.25·0.75)/(2π·0.25)
    0.616404
    """
    lo, hi = marchenko_pastur_edges(lam)
    x = np.asarray(nu, dtype=np.float64)
    inside = (x > lo) & (x < hi)
    xs = np.where(inside, x, 1.0)
    rho = np.where(inside, np.sqrt(np.abs((hi - xs) * (xs - lo))) / (2.0 * math.pi * lam * xs), 0.0)
    return _out(rho, nu)


@lru_cache(maxsize=8)
def _gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(n)
    x.setflags(write=False)
    w.setflags(write=False)
    return x, w


def _nu_of_theta(theta: np.ndarray, lam: float) -> np.ndarray:
    """``ν(θ) = 1 + λ − 2√λ cos θ = (1 − √λ)² + 4√λ sin²(θ/2)`` (no cancellation near ν₋)."""
    r = math.sqrt(lam)
    return (1.0 - r) ** 2 + 4.0 * r * np.sin(0.5 * theta) ** 2


def _theta_grid(lam: float, rate: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights in ``θ ∈ [0, π]`` for ``E_ν`` of integrands ``∝ e^{−rate·(ν − ν₋)}``.

    With ``ν = 1 + λ − 2√λ cos θ``, ``ρ(ν) dν = (2/π) sin²θ / ν dθ``.  Two Gauss–Legendre
    panels, ``[0, θc]`` and ``[θc, π]``, where ``θc`` is where ``rate·(ν − ν₋) ≥ 60``
    (``1 − cos θ ≥ 2θ²/π²``): the first panel resolves the edge peak, the second the rest.
    Shapes ``(..., 2n)``; weights include ``(2/π) sin²θ``.
    """
    x, w = _gauss_legendre(n)
    r = math.sqrt(lam)
    rate = np.asarray(rate, dtype=np.float64)[..., None]
    with np.errstate(divide="ignore"):
        tc = np.minimum(math.pi, math.pi * np.sqrt(60.0 / (4.0 * r * np.maximum(rate, 1e-300))))
    a_nodes = 0.5 * tc * (x + 1.0)
    b_nodes = tc + 0.5 * (math.pi - tc) * (x + 1.0)
    theta = np.concatenate([a_nodes, b_nodes], axis=-1)
    weights = np.concatenate([0.5 * tc * w, 0.5 * (math.pi - tc) * w], axis=-1)
    return theta, weights * (2.0 / math.pi) * np.sin(theta) ** 2


def marchenko_pastur_average(f: Callable, lam: float, *, n: int = 400) -> float:
    """``E_ν[f(ν)]`` over the Marchenko–Pastur law with ratio ``λ`` (atom at 0 included).

    ``E f = (1 − 1/λ)₊ f(0) + (2/π) ∫₀^π sin²θ f(ν(θ))/ν(θ) dθ``, ``ν(θ) = 1 + λ − 2√λ cos θ``,
    by ``n``-point Gauss–Legendre (exponentially accurate for ``f`` analytic on ``[ν₋, ν₊]``;
    :func:`mp_losses` uses a grid adapted to sharply decaying ``f``).  ``f`` must accept arrays.

    Examples
    --------
    >>> round(marchenko_pastur_average(lambda v: v**2, 0.5), 12)      # E ν² = 1 + λ
    1.5
    >>> round(marchenko_pastur_average(lambda v: np.ones_like(v), 3.0), 12)
    1.0
    """
    lam = _checks.positive("lam", lam)
    n = _checks.integer("n", n, lo=2)
    x, w = _gauss_legendre(n)
    theta = 0.5 * math.pi * (x + 1.0)
    nu = _nu_of_theta(theta, lam)
    vals = np.asarray(f(nu), dtype=np.float64)
    cont = float(np.sum(0.5 * math.pi * w * (2.0 / math.pi) * np.sin(theta) ** 2 * vals / nu))
    atom = max(0.0, 1.0 - 1.0 / lam)
    if atom > 0:
        cont += atom * float(np.asarray(f(np.zeros(1)), dtype=np.float64)[0])
    return cont


# ---------------------------------------------------------------------------------------------
# closed forms


def _scaled_bessel_ratio(x: np.ndarray) -> np.ndarray:
    """``2 e^{−x} I₁(x)/x`` for ``x ≥ 0`` (``= 1`` at ``x = 0``).

    ``scipy.special.ive`` below ``x = 1e8``; above it (where ``ive`` returns NaN from ~1e10) the
    Hankel expansion ``e^{−x} I₁(x) = (2πx)^{−1/2} (1 − 3/(8x) − 15/(128x²) − 315/(3072x³) − …)``,
    whose next term is below 1e-30 there.
    """
    x = np.asarray(x, dtype=np.float64)
    small = x <= 1e8
    xs = np.where(small & (x > 0), x, 1.0)
    xl = np.where(small, 1e8, x)
    near = np.where(x > 0, 2.0 * ive(1, xs) / xs, 1.0)
    series = 1.0 - 0.375 / xl - (15.0 / 128.0) / xl**2 - (315.0 / 3072.0) / xl**3
    far = 2.0 / (xl * np.sqrt(2.0 * math.pi * xl)) * series
    return np.where(small, near, far)


def hyp0f1_2(z, log_scale=0.0) -> float | np.ndarray:
    """``e^{log_scale} · ₀F̃₁(2; z)`` without overflow (regularised ₀F₁ with ``b = 2``).

    ``₀F̃₁(2; z) = ₀F₁(2; z)/Γ(2) = I₁(2√z)/√z`` for ``z ≥ 0`` and ``J₁(2√−z)/√−z`` for ``z < 0``.
    For ``z > 0`` it is evaluated as ``exp(log_scale + x) · 2 ive(1, x)/x`` with ``x = 2√z``
    (``ive`` = exponentially scaled ``I₁``), so ``e^{−4η(λ+1)t} ₀F̃₁(2; 16η²t²λ)`` stays finite
    for every ``t``; ``z = 0`` gives ``e^{log_scale}``.  The result is ``inf`` only where the
    scaled value itself exceeds the float range (``log_scale = 0``, ``z ≳ 1.3e5``, like scipy).

    Examples
    --------
    >>> from scipy.special import hyp0f1
    >>> bool(abs(hyp0f1_2(3.0) / hyp0f1(2, 3.0) - 1) < 1e-14)
    True
    >>> hyp0f1_2(1e6, log_scale=-2000.0) > 0                # hyp0f1(2, 1e6) overflows
    True
    """
    z_arr = np.asarray(z, dtype=np.float64)
    s_arr = np.asarray(log_scale, dtype=np.float64)
    if not (np.all(np.isfinite(z_arr)) and np.all(np.isfinite(s_arr))):
        raise ValueError(f"z and log_scale must be finite, got z={z!r}, log_scale={log_scale!r}")
    z_arr, s_arr = np.broadcast_arrays(z_arr, s_arr)
    x = 2.0 * np.sqrt(np.abs(z_arr))
    xs = np.where(x > 0, x, 1.0)
    with np.errstate(over="ignore"):  # only where the caller's log_scale leaves it infinite
        xp = np.where(z_arr >= 0, x, 0.0)
        pos = np.exp(s_arr + xp) * _scaled_bessel_ratio(xp)
        neg = np.exp(s_arr) * np.where(x > 0, 2.0 * j1(xs) / xs, 1.0)
    out = np.where(z_arr >= 0, pos, neg)
    return float(out) if out.ndim == 0 else out


def train_loss(t, lam: float, eta0: float = 0.01, *, d_out: int = 1) -> float | np.ndarray:
    """Closed-form train loss ``L_tr(t) = (1/d_out) e^{−4η(λ+1)t} ₀F̃₁(2; 16η²t²λ)``, ``η = η₀/d_out``.

    Evaluated as ``(1/d_out) e^{−4ηt(1 − √λ)²} · 2 ive(1, x)/x`` with ``x = 8ηt√λ`` (never
    overflows).  Gradient flow, ``t`` in steps; ``L_tr(0) = 1/d_out``.

    Examples
    --------
    >>> train_loss(0.0, 0.5)
    1.0
    >>> round(train_loss(100.0, 0.5, 0.01), 6)
    0.0391
    """
    tt = _times(t)
    lam = _checks.positive("lam", lam)
    eta = effective_learning_rate(eta0, d_out)
    s = 4.0 * eta * tt
    r = math.sqrt(lam)
    out = np.exp(-s * (1.0 - r) ** 2) * _scaled_bessel_ratio(2.0 * s * r) / d_out
    return _out(np.asarray(out, dtype=np.float64), t)


def generalization_plateau(lam: float, d_out: int = 1, *, weight_decay: float = 0.0) -> float:
    """``L_gen(∞)``: ``(1 − 1/λ)₊ / d_out`` without weight decay (the unlearnable null space).

    With weight decay ``γ > 0`` the null-space part of the student decays, leaving
    ``(1 − 1/λ)₊/(2 d_out)``, plus the shrinkage bias ``(1/(2 d_out)) E_ν[(γ/(ν + γ))²]``.

    Examples
    --------
    >>> generalization_plateau(0.5), generalization_plateau(2.0)
    (0.0, 0.5)
    """
    lam = _checks.positive("lam", lam)
    d_out = _checks.integer("d_out", d_out, lo=1)
    gamma = _checks.nonnegative("weight decay", weight_decay)
    atom = max(0.0, 1.0 - 1.0 / lam)
    if gamma == 0.0:
        return atom / d_out
    cont = marchenko_pastur_average(lambda v: np.where(v > 0, (gamma / (v + gamma)) ** 2, 0.0), lam)
    return (0.5 * atom + 0.5 * cont) / d_out


def mp_losses(
    t,
    lam: float,
    eta0: float = 0.01,
    *,
    d_out: int = 1,
    weight_decay: float = 0.0,
    discrete: bool = False,
    n: int = N_QUAD,
) -> tuple[float | np.ndarray, float | np.ndarray]:
    """Train and generalization loss as Marchenko–Pastur averages (``η = η₀/d_out``).

    ``L_tr = (1/(2 d_out)) E_ν[ν(((γ + νg)/(ν + γ))² + g²)]``,
    ``L_gen = (1/(2 d_out)) E_ν[((γ + νg)/(ν + γ))² + g²]`` with ``g = e^{−2η(ν+γ)t}`` (gradient
    flow) or ``g = (1 − 2η(ν+γ))^t`` (``discrete=True``, gradient descent).  At ``γ = 0`` these
    are ``E_ν[ν e^{−4ηνt}]/d_out`` and ``E_ν[e^{−4ηνt}]/d_out``.  Quadrature in ``θ`` on two
    Gauss–Legendre panels adapted to the edge peak (relative error ~1e-13 at any ``t``).

    Examples
    --------
    >>> tr, gen = mp_losses([0.0, 100.0], 0.5, 0.01)
    >>> np.round(tr, 6).tolist(), np.round(gen, 6).tolist()
    ([1.0, 0.0391], [1.0, 0.130313])
    """
    tt = _times(t)
    lam = _checks.positive("lam", lam)
    eta = effective_learning_rate(eta0, d_out)
    gamma = _checks.nonnegative("weight decay", weight_decay)
    n = _checks.integer("n", n, lo=2)
    nu_hi = marchenko_pastur_edges(lam)[1]
    if discrete and 2.0 * eta * (nu_hi + gamma) >= 1.0:
        raise ValueError(
            f"eta0 = {eta0!r} is too large for discrete=True: need 2·(eta0/d_out)·((1+√λ)² + γ) < 1, "
            f"got {2.0 * eta * (nu_hi + gamma):.4g}"
        )
    flat = tt.reshape(-1)
    theta, wts = _theta_grid(lam, 4.0 * eta * flat, n)
    nu = _nu_of_theta(theta, lam)

    def mode_factor(v):
        if discrete:
            return np.exp(flat[:, None] * np.log1p(-2.0 * eta * (v + gamma)))
        return np.exp(-2.0 * eta * (v + gamma) * flat[:, None])

    g = mode_factor(nu)
    if gamma == 0.0:
        per = 2.0 * g * g  # ((νg)/ν)² + g²
    else:
        per = ((gamma + nu * g) / (nu + gamma)) ** 2 + g * g
    train = 0.5 * np.sum(wts * per, axis=-1)
    gen = 0.5 * np.sum(wts * per / nu, axis=-1)
    atom = max(0.0, 1.0 - 1.0 / lam)
    if atom > 0:
        g0 = mode_factor(np.zeros((1, 1)))[:, 0] if gamma > 0 else np.ones_like(flat)
        gen = gen + atom * 0.5 * (1.0 + g0 * g0)
    train = (train / d_out).reshape(tt.shape)
    gen = (gen / d_out).reshape(tt.shape)
    return _out(train, t), _out(gen, t)


def generalization_loss(t, lam: float, eta0: float = 0.01, *, d_out: int = 1) -> float | np.ndarray:
    """``L_gen(t) = (1/d_out) E_ν[e^{−4ηνt}]`` (gradient flow, no weight decay; see :func:`mp_losses`).

    Examples
    --------
    >>> round(generalization_loss(1e5, 2.0), 12)       # plateau 1 − 1/λ
    0.5
    """
    return mp_losses(t, lam, eta0, d_out=d_out)[1]


def generalization_loss_asymptotic(t, lam: float, eta0: float = 0.01, *, d_out: int = 1):
    """Long-time form ``L_gen ≈ (1 − 1/λ)₊/d_out + L_tr(t)/(1 − √λ)²``.

    At long times ``E_ν[·]`` is dominated by ``ν ≈ ν₋ = (1 − √λ)²``, so
    ``E[e^{−sν}] ≈ E[ν e^{−sν}]/ν₋`` (relative error ``O(1/(s ν₋))``); ``inf`` at ``λ = 1``.

    Examples
    --------
    >>> [round(generalization_loss_asymptotic(t, 0.5) / generalization_loss(t, 0.5), 3) for t in (2e3, 2e5)]
    [1.196, 1.002]
    """
    lam = _checks.positive("lam", lam)
    tr = np.asarray(train_loss(t, lam, eta0, d_out=d_out))
    edge = (1.0 - math.sqrt(lam)) ** 2
    with np.errstate(divide="ignore"):
        out = generalization_plateau(lam, d_out) + (tr / edge if edge > 0 else np.full_like(tr, np.inf))
    return _out(np.asarray(out, dtype=np.float64), t)


# ---------------------------------------------------------------------------------------------
# times and the grokking gap


def _loss_curve(which: str, lam, eta0, d_out, gamma, discrete) -> Callable[[float], float]:
    if which == "train" and gamma == 0.0 and not discrete:
        return lambda s: float(train_loss(s, lam, eta0, d_out=d_out))
    idx = 0 if which == "train" else 1
    return lambda s: float(mp_losses(s, lam, eta0, d_out=d_out, weight_decay=gamma, discrete=discrete)[idx])


def _limit_loss(which: str, lam, d_out, gamma) -> float:
    if which == "generalization":
        return generalization_plateau(lam, d_out, weight_decay=gamma)
    if gamma == 0.0:
        return 0.0
    return 0.5 * marchenko_pastur_average(lambda v: v * (gamma / (v + gamma)) ** 2, lam) / d_out


def _first_time(curve: Callable[[float], float], level: float, t_scale: float, limit: float) -> float:
    """First ``t`` with ``curve(t) = level`` on a decreasing curve (``inf`` if it never gets there)."""
    if curve(0.0) <= level:
        return 0.0
    if limit >= level * (1.0 - 1e-9):
        return math.inf
    lo, hi = 0.0, t_scale
    while curve(hi) > level:
        lo, hi = hi, 2.0 * hi
        if hi > 1e18:
            return math.inf
    log_level = math.log(level)
    return brentq(
        lambda s: math.log(max(curve(s), 1e-320)) - log_level, lo, hi, xtol=1e-12, rtol=1e-13, maxiter=500
    )


def _gap_args(lam, eta0, epsilon, level, d_out, weight_decay):
    lam = _checks.positive("lam", lam)
    eta0 = _checks.positive("eta0", eta0)
    d_out = _checks.integer("d_out", d_out, lo=1)
    gamma = _checks.nonnegative("weight decay", weight_decay)
    return lam, eta0, d_out, gamma, loss_at_accuracy(level, epsilon)


def time_to_accuracy(
    lam: float,
    eta0: float = 0.01,
    epsilon: float = 1e-3,
    *,
    which: str = "train",
    level: float = 0.95,
    d_out: int = 1,
    weight_decay: float = 0.0,
    discrete: bool = False,
) -> float:
    """Steps until the train or generalization accuracy reaches ``level``: ``L(t) = ε/(2 erfinv(level)²)``.

    Both curves decrease monotonically (``dL_gen/dt = −4ηL_tr < 0``), so the root is unique;
    it is bracketed by doubling and found with :func:`scipy.optimize.brentq` on ``log L``.
    ``inf`` when the curve plateaus above the level (``λ > 1`` or weight decay).

    Examples
    --------
    >>> round(time_to_accuracy(0.5, 0.01, 1e-3, which="train"), 1)
    717.7
    """
    if which not in ("train", "generalization"):
        raise ValueError(f"which must be 'train' or 'generalization', got {which!r}")
    lam, eta0, d_out, gamma, level_loss = _gap_args(lam, eta0, epsilon, level, d_out, weight_decay)
    curve = _loss_curve(which, lam, eta0, d_out, gamma, discrete)
    if discrete:
        mp_losses(0.0, lam, eta0, d_out=d_out, weight_decay=gamma, discrete=True)  # stability check
    t_scale = 1.0 / (4.0 * effective_learning_rate(eta0, d_out))
    return _first_time(curve, level_loss, t_scale, _limit_loss(which, lam, d_out, gamma))


def grokking_gap_asymptotic(lam: float, eta0: float = 0.01, *, d_out: int = 1, weight_decay: float = 0.0):
    """Long-time gap ``Δt ≈ log(1/(1 − √λ)) / (2η(1 − √λ)²)``, ``η = η₀/d_out`` (``inf`` for ``λ ≥ 1``).

    From ``L_gen ≈ L_tr/ν₋`` and ``L_tr ∝ e^{−4ην₋t}`` (dropping the ``t^{−3/2}`` prefactor):
    ``Δt = log(1/ν₋)/(4ην₋)``.  With ``weight_decay > 0`` the paper's small-``γ`` form
    ``log(1 + √λ)/(2η(1 − √λ)²)`` (independent of ``γ``; ``inf`` at ``λ = 1``).

    Examples
    --------
    >>> round(grokking_gap_asymptotic(0.5, 0.01), 2)
    715.7
    """
    lam = _checks.positive("lam", lam)
    eta = effective_learning_rate(eta0, d_out)
    gamma = _checks.nonnegative("weight decay", weight_decay)
    r = math.sqrt(lam)
    if r == 1.0:
        return math.inf
    if gamma > 0:
        return math.log1p(r) / (2.0 * eta * (1.0 - r) ** 2)
    if r > 1.0:
        return math.inf
    return -math.log1p(-r) / (2.0 * eta * (1.0 - r) ** 2)


@dataclass(frozen=True)
class GrokkingGap(Result):
    """Times at which train and generalization accuracy reach a level (see :func:`grokking_gap`).

    Attributes
    ----------
    lam, eta0, epsilon, level : float
        ``λ = d_in/N_train``, the gradient-descent step, the error threshold and the accuracy level.
    d_out : int
    weight_decay : float
    discrete : bool
        Gradient-descent factors ``(1 − 2ην)^t`` instead of gradient flow.
    learning_rate : float
        ``η = η₀/d_out``.
    loss_level : float
        ``L* = ε/(2 erfinv(level)²)``.
    t_train, t_gen : float
        First times (steps) with ``L_tr = L*`` and ``L_gen = L*`` (``inf`` if never).
    gap : float
        ``t_gen − t_tr`` from the curves.
    gap_asymptotic : float
        :func:`grokking_gap_asymptotic`.
    """

    lam: float
    eta0: float
    epsilon: float
    level: float
    d_out: int
    weight_decay: float
    discrete: bool
    learning_rate: float
    loss_level: float
    t_train: float
    t_gen: float
    gap: float
    gap_asymptotic: float


def grokking_gap(
    lam: float,
    eta0: float = 0.01,
    epsilon: float = 1e-3,
    *,
    level: float = 0.95,
    d_out: int = 1,
    weight_decay: float = 0.0,
    discrete: bool = False,
) -> GrokkingGap:
    """Exact grokking gap ``Δt = t_gen − t_tr`` from the curves, beside its asymptotic form.

    Examples
    --------
    >>> g = grokking_gap(0.5, 0.01, 1e-3)
    >>> round(g.gap, 1), round(g.gap_asymptotic, 1)
    (429.8, 715.7)
    """
    kw = dict(level=level, d_out=d_out, weight_decay=weight_decay, discrete=discrete)
    t_tr = time_to_accuracy(lam, eta0, epsilon, which="train", **kw)
    t_gen = time_to_accuracy(lam, eta0, epsilon, which="generalization", **kw)
    lam, eta0, d_out, gamma, level_loss = _gap_args(lam, eta0, epsilon, level, d_out, weight_decay)
    return GrokkingGap(
        lam=lam,
        eta0=eta0,
        epsilon=float(epsilon),
        level=float(level),
        d_out=d_out,
        weight_decay=gamma,
        discrete=bool(discrete),
        learning_rate=effective_learning_rate(eta0, d_out),
        loss_level=level_loss,
        t_train=t_tr,
        t_gen=t_gen,
        gap=t_gen - t_tr if math.isfinite(t_gen) else math.inf,
        gap_asymptotic=grokking_gap_asymptotic(lam, eta0, d_out=d_out, weight_decay=gamma),
    )


# ---------------------------------------------------------------------------------------------
# simulation (JAX)


def crossing_time(curve, level: float) -> float:
    """First time a curve sampled at ``t = 0, 1, 2, …`` falls to ``level``; ``NaN``
    (:data:`effgrok.constants.NEVER`) if it does not within the samples.

    Between the samples ``k − 1`` and ``k`` that bracket the crossing, ``log L`` is interpolated
    linearly (exact for a single exponential mode).

    Examples
    --------
    >>> crossing_time(np.exp(-0.5 * np.arange(10)), np.exp(-1.25))
    2.5
    """
    c = np.asarray(curve, dtype=np.float64)
    if c.ndim != 1 or c.size == 0:
        raise ValueError(f"curve must be a non-empty 1-D array, got shape {c.shape}")
    level = _checks.positive("level", level)
    below = np.flatnonzero(c <= level)
    if below.size == 0:
        return NEVER
    k = int(below[0])
    if k == 0:
        return 0.0
    a, b = c[k - 1], c[k]
    if b <= 0.0:
        return (k - 1) + (a - level) / (a - b)
    return (k - 1) + (math.log(a) - math.log(level)) / (math.log(a) - math.log(b))


def _gd_core(sigma, T, S0, eta0, gamma, steps: int):
    """Full-batch GD on ``L_tr + (γ/d_out)‖S‖²``; losses before every step and after the last.

    ``L_tr = ‖X(S − T)‖²/(N d_out) = (1/d_out) Tr[Dᵀ Σ_tr D]`` with ``sigma = Σ_tr = XᵀX/N`` (a
    quadratic, so ``Σ_tr`` gives the loss and its gradient ``(2/d_out)(Σ_tr D + γS)`` exactly);
    ``L_gen = ‖D‖²/d_out`` is the exact population loss for ``x ~ N(0, I)``.
    """
    import jax
    import jax.numpy as jnp

    d_out = T.shape[1]

    def losses(S):
        D = S - T
        SD = sigma @ D
        return jnp.sum(D * SD) / d_out, jnp.sum(D * D) / d_out, SD

    def step(S, _):
        ltr, lgen, SD = losses(S)
        grad = (2.0 / d_out) * (SD + gamma * S)
        return S - eta0 * grad, (ltr, lgen)

    S_end, (ltr, lgen) = jax.lax.scan(step, S0, None, length=steps)
    ltr_end, lgen_end, _ = losses(S_end)
    return jnp.append(ltr, ltr_end), jnp.append(lgen, lgen_end)


@lru_cache(maxsize=32)
def _gd_fn(steps: int, batched: bool):
    """Jitted :func:`_gd_core`; batched: over the leading seed axes of ``Σ_tr, T, S₀`` with the
    nets engine's driver (:func:`effgrok.nets.engine.over_runs`: ``vmap`` on an accelerator,
    runs one after another in one program on a CPU)."""
    import jax

    from ..nets.engine import over_runs

    def core(sigma, T, S0, eta0, gamma):
        return _gd_core(sigma, T, S0, eta0, gamma, steps)

    if batched:
        return jax.jit(over_runs(core, (0, 0, 0, None, None)))
    return jax.jit(lambda X, T, S0, eta0, gamma: core(X.T @ X / X.shape[0], T, S0, eta0, gamma))


@lru_cache(maxsize=32)
def _draw_fn(d_in: int, n_train: int, d_out: int):
    """Jitted draw of one seed's ``(Σ_tr, T, S₀)`` from a threefry key (compiled once per shape)."""
    import jax
    import jax.numpy as jnp

    scale = math.sqrt(1.0 / (2.0 * d_in * d_out))

    def draw(key):
        kx, kt, ks = jax.random.split(key, 3)
        X = jax.random.normal(kx, (n_train, d_in), dtype=jnp.float64)
        T = scale * jax.random.normal(kt, (d_in, d_out), dtype=jnp.float64)
        S0 = scale * jax.random.normal(ks, (d_in, d_out), dtype=jnp.float64)
        return X.T @ X / n_train, T, S0

    return jax.jit(draw)


def run_gradient_descent(X, T, S0, eta0: float, steps: int, *, weight_decay: float = 0.0):
    """Full-batch GD of a linear student ``S`` on inputs ``X`` (``N × d_in``) and targets ``X T``.

    ``S ← S − η₀ ∇[L_tr + (γ/d_out)‖S‖²]`` with ``L_tr = ‖X S − X T‖²/(N d_out)``; JAX, float64,
    ``jax.lax.scan`` over ``steps``.  Returns ``(train_loss, generalization_loss)``, each of length
    ``steps + 1`` (index ``k`` = after ``k`` steps), ``L_gen = ‖S − T‖²/d_out`` (``x ~ N(0, I)``).

    Examples
    --------
    >>> X = np.eye(2); T = np.ones((2, 1)); S0 = np.zeros((2, 1))
    >>> tr, gen = run_gradient_descent(X, T, S0, 0.25, 2)   # Σ_tr = I/2, so D ← (1 − 2·0.25/2) D
    >>> np.round(gen, 4).tolist()
    [2.0, 1.125, 0.6328]
    """
    import jax

    X, T, S0 = (_checks.finite_array(name, a) for name, a in (("X", X), ("T", T), ("S0", S0)))
    if X.ndim != 2 or X.size == 0:
        raise ValueError(f"X must be a non-empty 2-D array (N_train, d_in), got shape {X.shape}")
    if T.ndim != 2 or T.shape[0] != X.shape[1] or T.shape[1] < 1:
        raise ValueError(f"T must have shape (d_in, d_out) = ({X.shape[1]}, d_out), got {T.shape}")
    if S0.shape != T.shape:
        raise ValueError(f"S0 must have the shape of T {T.shape}, got {S0.shape}")
    eta0 = _checks.positive("eta0", eta0)
    steps = _checks.integer("steps", steps, lo=1)
    gamma = _checks.nonnegative("weight decay", weight_decay)
    with jax.enable_x64(True):
        tr, gen = _gd_fn(steps, False)(X, T, S0, eta0, gamma)
        return np.asarray(tr, dtype=np.float64), np.asarray(gen, dtype=np.float64)


@dataclass(frozen=True)
class LinearSimulation(Result):
    """Loss curves of simulated gradient descent, one row per seed (see :func:`simulate_linear`).

    Attributes
    ----------
    d_in, n_train, d_out, steps, seed : int
    eta0, epsilon, level, weight_decay : float
    loss_level : float
        ``L* = ε/(2 erfinv(level)²)``.
    train_loss, generalization_loss : ndarray, shape (seeds, steps + 1)
        After ``0, 1, …, steps`` steps.
    t_train, t_gen, gap : ndarray, shape (seeds,)
        :func:`crossing_time` of each seed's curves at ``L*`` and ``t_gen − t_tr`` (``NaN``,
        :data:`effgrok.constants.NEVER`, when a curve does not reach ``L*`` within ``steps``;
        the closed forms' ``inf`` is a true infinity, this one a budget that ran out).
    """

    d_in: int
    n_train: int
    d_out: int
    steps: int
    seed: int
    eta0: float
    epsilon: float
    level: float
    weight_decay: float
    loss_level: float
    train_loss: np.ndarray
    generalization_loss: np.ndarray
    t_train: np.ndarray
    t_gen: np.ndarray
    gap: np.ndarray

    @property
    def lam(self) -> float:
        """``λ = d_in / N_train``."""
        return self.d_in / self.n_train

    @property
    def time(self) -> np.ndarray:
        """``0, 1, …, steps``."""
        return np.arange(self.steps + 1, dtype=np.float64)

    @property
    def mean_gap(self) -> float:
        """Mean of the per-seed gaps (``NaN`` if any seed did not reach ``L*``)."""
        return float(np.mean(self.gap))

    def mean_curve_gap(self) -> float:
        """Gap between the seed-averaged curves reaching ``L*`` (what the MP average describes)."""
        t_tr = crossing_time(self.train_loss.mean(axis=0), self.loss_level)
        t_gen = crossing_time(self.generalization_loss.mean(axis=0), self.loss_level)
        return t_gen - t_tr if math.isfinite(t_gen) else NEVER

    def record(self) -> dict:
        """JSON-ready: the settings, ``lam``, per-seed ``t_train``/``t_gen``/``gap`` (``None``:
        not reached) and the gaps of the mean; the loss curves are left out (see :meth:`tables`)."""
        rec = {k: v for k, v in vars(self).items() if k not in ("train_loss", "generalization_loss")}
        return jsonable(
            rec | {"lam": self.lam, "mean_gap": self.mean_gap, "mean_curve_gap": self.mean_curve_gap()}
        )

    def tables(self) -> dict[str, list[dict]]:
        """``seeds``: crossing times per seed; ``curves``: the seed-mean losses per step."""
        seeds = column_rows({"t_train": self.t_train, "t_gen": self.t_gen, "gap": self.gap}, index="seed")
        mean = {
            "train_loss": self.train_loss.mean(axis=0),
            "generalization_loss": self.generalization_loss.mean(axis=0),
        }
        curves = column_rows(mean, index="step")
        return {"seeds": seeds, "curves": curves}


def simulate_linear(
    d_in: int,
    n_train: int,
    *,
    d_out: int = 1,
    eta0: float = 0.01,
    epsilon: float = 1e-3,
    level: float = 0.95,
    steps: int = 10_000,
    seeds: int = 4,
    seed: int = 0,
    weight_decay: float = 0.0,
) -> LinearSimulation:
    """Simulate the teacher–student model by full-batch gradient descent in JAX (float64).

    Per seed: ``X ~ N(0, 1)`` (``n_train × d_in``), ``T, S₀ ~ N(0, 1/(2 d_in d_out))``, then the
    gradient descent of :func:`run_gradient_descent` for ``steps`` steps (``jax.lax.scan`` over
    steps, ``jax.vmap`` over seeds; memory ``seeds · d_in²`` for the ``Σ_tr``).  Seed ``i`` uses
    the ``i``-th child of ``numpy.random.SeedSequence(seed)`` as its threefry key, so it does not
    depend on ``seeds``.

    Examples
    --------
    >>> sim = simulate_linear(20, 40, steps=50, seeds=2, seed=1)
    >>> sim.train_loss.shape, bool(np.all(np.diff(sim.train_loss, axis=1) < 0))
    ((2, 51), True)
    """
    d_in = _checks.integer("d_in", d_in, lo=1)
    n_train = _checks.integer("n_train", n_train, lo=1)
    d_out = _checks.integer("d_out", d_out, lo=1)
    eta0 = _checks.positive("eta0", eta0)
    epsilon = _checks.positive("epsilon", epsilon)
    level_loss = loss_at_accuracy(level, epsilon)
    steps = _checks.integer("steps", steps, lo=1)
    seeds = _checks.integer("seeds", seeds, lo=1)
    seed = _checks.integer("seed", seed, lo=0)
    gamma = _checks.nonnegative("weight decay", weight_decay)

    import jax
    import jax.numpy as jnp

    children = np.random.SeedSequence(seed).spawn(seeds)
    key_data = np.stack([c.generate_state(2, dtype=np.uint32) for c in children])
    with jax.enable_x64(True):
        keys = jax.random.wrap_key_data(jnp.asarray(key_data), impl="threefry2x32")
        draw = _draw_fn(d_in, n_train, d_out)
        sigma, T, S0 = (jnp.stack(a) for a in zip(*(draw(k) for k in keys), strict=True))
        tr, gen = _gd_fn(steps, True)(sigma, T, S0, eta0, gamma)
        tr = np.asarray(tr, dtype=np.float64)
        gen = np.asarray(gen, dtype=np.float64)
    t_tr = np.array([crossing_time(c, level_loss) for c in tr])
    t_gen = np.array([crossing_time(c, level_loss) for c in gen])
    with np.errstate(invalid="ignore"):
        gap = np.where(np.isfinite(t_gen), t_gen - t_tr, NEVER)
    return LinearSimulation(
        d_in=d_in,
        n_train=n_train,
        d_out=d_out,
        steps=steps,
        seed=seed,
        eta0=eta0,
        epsilon=epsilon,
        level=float(level),
        weight_decay=gamma,
        loss_level=level_loss,
        train_loss=tr,
        generalization_loss=gen,
        t_train=t_tr,
        t_gen=t_gen,
        gap=gap,
    )
