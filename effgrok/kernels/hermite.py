"""Hermite coefficients, dot-product kernel spectra in high dimension, and the lazy test loss.

**Convention.**  Probabilists' Hermite polynomials ``He_k`` (``He_0 = 1``, ``He_1 = z``,
``He_{k+1} = z He_k − k He_{k−1}``) are orthogonal under ``z ~ N(0, 1)`` with
``E[He_j He_k] = k! δ_jk``.  The Hermite coefficients of ``φ`` are

    φ(z) = Σ_k c_k He_k(z),   c_k = E[φ(z) He_k(z)] / k!,   E[φ²] = Σ_k k! c_k².

By Mehler's formula, for unit-variance ``(u, v)`` with correlation ``ρ``,
``E[φ(u) φ(v)] = Σ_k k! c_k² ρ^k``: the two-layer NNGP is the dot-product kernel
``κ(ρ) = Σ_k a_k ρ^k`` with ``a_k = k! c_k²``, and since ``He_k' = k He_{k−1}`` the NTK is
``a_k = (k + 1) k! c_k²`` (both layers trained) or ``k · k! c_k²`` (first layer only, as in the
lazy→rich committee).  ``theory/hermite.py`` derives all of this with sympy.

**Spectrum.**  For ``x, x'`` uniform on the unit sphere ``S^{D−1}`` and ``K(x, x') = κ(x·x')``
acting on ``L²`` of the normalised surface measure, the eigenfunctions are the spherical
harmonics; the degree-``ℓ`` block has multiplicity
``N_ℓ = C(D+ℓ−1, ℓ) − C(D+ℓ−3, ℓ−2) ≈ D^ℓ/ℓ!`` and eigenvalue (Funk–Hecke)

    μ_ℓ = Σ_{k ≥ ℓ, k − ℓ even} a_k · k! Γ(D/2) / (2^k ((k−ℓ)/2)! Γ((k+ℓ+D)/2))
        = a_ℓ ℓ!/D^ℓ · (1 + O(1/D)),

exact for a finite series.  Data ``x ~ N(0, I/D)`` (as in :mod:`effgrok.kernels.lazy_rich`)
has ``|x|² = 1 ± √(2/D)``: the sphere is its large-``D`` limit.

**Lazy test loss.**  Kernel (ridge) regression ``f = K(x, X)(K(X, X) + λ I)⁻¹ y`` on ``P``
samples, evaluated with the eigenlearning / omniscient-risk approximation (Bordelon, Canatar &
Pehlevan 2020; Canatar, Bordelon & Pehlevan 2021; Simon, Dickens, Karkada & DeWeese 2023),
with the degenerate blocks above: the effective ridge ``κ ≥ 0`` solves

    Σ_ℓ N_ℓ μ_ℓ/(μ_ℓ + κ) + λ/κ = P,

each degree is learned to the fraction ``L_ℓ = μ_ℓ/(μ_ℓ + κ)`` and

    E_test = E₀ (Σ_ℓ (1 − L_ℓ)² p_ℓ + σ²),   E₀ = P/(P − Σ_ℓ N_ℓ L_ℓ²),

where ``p_ℓ = ℓ! c_ℓ²`` is the target's power in degree ``ℓ`` (single-index target
``g(β̂·x √D)`` with Hermite coefficients ``c_ℓ``; the degree-``ℓ`` Gegenbauer part tends to the
Hermite part as ``D → ∞``).  The cruder *staircase* (Ghorbani, Mei, Misiakiewicz & Montanari
2021): with blocks sorted by eigenvalue, degree ``ℓ`` is fitted once ``P`` exceeds the number of
modes at or above it, ``M_ℓ = Σ_{μ_j ≥ μ_ℓ} N_j`` (``≈ D^ℓ/ℓ!``); the plateau loss is the
power in the unfitted degrees.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .._checks import choice, finite_array, integer, nonnegative, positive
from .._record import Result, column_rows

__all__ = [
    "LazyLoss",
    "dot_product_kernel_eigenvalues",
    "harmonic_multiplicities",
    "hermite_coefficients",
    "kernel_series",
    "lazy_test_loss",
]

_TAIL = 12.0  # |z| beyond which the Gaussian weight (< 1e-31) is dropped in piecewise quadrature


def _coeffs(name: str, coeffs) -> np.ndarray:
    c = np.atleast_1d(np.asarray(coeffs, dtype=np.float64))
    if c.ndim != 1 or c.size < 1:
        raise ValueError(f"{name} must be a non-empty 1-D sequence, got shape {np.shape(coeffs)}")
    finite_array(name, c)
    return c


def _normalised_hermite(z: np.ndarray, degree: int) -> np.ndarray:
    """``He_k(z)/√k!`` for ``k = 0..degree``, shape ``(degree + 1, len(z))`` (stable recurrence
    ``h_{k+1} = (z h_k − √k h_{k−1})/√(k+1)``)."""
    h = np.empty((degree + 1, z.size))
    h[0] = 1.0
    if degree >= 1:
        h[1] = z
    for k in range(1, degree):
        h[k + 1] = (z * h[k] - math.sqrt(k) * h[k - 1]) / math.sqrt(k + 1)
    return h


def _nodes(nodes: int, breakpoints: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Quadrature nodes and weights for ``E[f(z)]``, ``z ~ N(0, 1)``."""
    if not breakpoints:
        z, w = np.polynomial.hermite_e.hermegauss(nodes)
        return z, w / math.sqrt(2 * math.pi)
    edges = np.unique(np.clip(np.asarray(breakpoints, dtype=np.float64), -_TAIL, _TAIL))
    edges = np.unique(np.concatenate([[-_TAIL], edges, [_TAIL]]))
    t, wt = np.polynomial.legendre.leggauss(nodes)
    zs, ws = [], []
    for lo, hi in itertools.pairwise(edges):
        z = 0.5 * (hi - lo) * t + 0.5 * (hi + lo)
        zs.append(z)
        ws.append(0.5 * (hi - lo) * wt * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi))
    return np.concatenate(zs), np.concatenate(ws)


def hermite_coefficients(
    fn: Callable, degree: int, *, variance: float = 1.0, nodes: int = 200, breakpoints=()
) -> np.ndarray:
    """Hermite coefficients ``c_k = E[φ(√q z) He_k(z)]/k!``, ``k = 0..degree``, by quadrature.

    Parameters
    ----------
    fn : callable
        The activation ``φ``, vectorised over a float64 numpy array.
    degree : int
        Highest ``k`` (at most 150).
    variance : float
        ``q``: coefficients of ``φ(√q z)``, i.e. of ``φ`` on a pre-activation of variance ``q``.
    nodes : int
        Gauss–Hermite nodes (exact for polynomial ``φ`` of degree ``< 2·nodes − degree``); with
        ``breakpoints``, Gauss–Legendre nodes per panel.
    breakpoints : sequence of float
        Points (in units of ``z``) where ``φ(√q z)`` is not smooth, e.g. ``(0,)`` for ReLU.
        Then ``E[·]`` is integrated piecewise on ``[−12, 12]`` cut at them, which converges
        exponentially instead of algebraically.

    Returns
    -------
    ndarray (float64), shape ``(degree + 1,)``
        ``a_0, …, a_degree``.

    Examples
    --------
    >>> import numpy as np
    >>> np.round(hermite_coefficients(lambda z: z**3, 3), 12) + 0.0   # z³ = He_3 + 3 He_1
    array([0., 3., 0., 1.])
    >>> c = hermite_coefficients(lambda z: np.maximum(z, 0), 4, breakpoints=(0,))
    >>> g = 1 / np.sqrt(2 * np.pi)                              # ReLU: c_{2m} ∝ (2m−3)!!/(2m)!
    >>> np.allclose(c, [g, 0.5, g / 2, 0, -g / 24])
    True
    """
    if not callable(fn):
        raise ValueError(f"fn must be callable, got {type(fn).__name__}")
    degree = integer("degree", degree, lo=0, hi=150)
    nodes = integer("nodes", nodes, lo=2)
    q = positive("variance", variance)
    try:
        bps = tuple(float(b) for b in np.atleast_1d(np.asarray(breakpoints, dtype=np.float64)))
    except (TypeError, ValueError):
        raise ValueError(f"breakpoints must be a sequence of numbers, got {breakpoints!r}") from None
    if not all(math.isfinite(b) for b in bps):
        raise ValueError(f"breakpoints must be finite, got {breakpoints!r}")
    z, w = _nodes(nodes, bps)
    values = np.asarray(fn(math.sqrt(q) * z), dtype=np.float64)
    if values.shape != z.shape or not np.all(np.isfinite(values)):
        raise ValueError("fn must map an array of inputs to finite values of the same shape")
    h = _normalised_hermite(z, degree)
    inv_sqrt_fact = np.exp(-0.5 * np.array([math.lgamma(k + 1) for k in range(degree + 1)]))
    return (h @ (w * values)) * inv_sqrt_fact


def kernel_series(coeffs, kind: str = "nngp") -> np.ndarray:
    """Power-series coefficients ``a_k`` of the dot-product kernel ``κ(ρ) = Σ_k a_k ρ^k`` of a
    two-layer network whose activation has Hermite coefficients ``c_k``.

    ``kind="nngp"``: ``a_k = k! c_k²``; ``"ntk"`` (both layers trained): ``(k+1) k! c_k²``;
    ``"ntk_first_layer"`` (readout fixed): ``k · k! c_k²``.  ``ρ`` is the pre-activations'
    correlation, so ``c_k`` must be those of ``φ(√q z)`` at the pre-activation variance ``q``
    (the ``ρ``-independent factor ``q`` of the NTK's ``x·x'`` term is absorbed).

    Examples
    --------
    >>> import numpy as np
    >>> a = kernel_series([0.01, 1.0, 0.01], "ntk_first_layer")   # φ = h + (ε/2)h², ε = 0.02
    >>> np.allclose(a, [0.0, 1.0, 0.02**2], rtol=1e-14, atol=0)  # K = ρ + ε²ρ²
    True
    """
    c = _coeffs("coeffs", coeffs)
    k = np.arange(c.size, dtype=np.float64)
    fact = np.exp(np.array([math.lgamma(j + 1) for j in range(c.size)]))
    weights = {"nngp": np.ones_like(k), "ntk": k + 1.0, "ntk_first_layer": k}
    weight = weights[choice("kind", kind, weights)]
    return weight * fact * c * c


def harmonic_multiplicities(degree: int, dim: int) -> np.ndarray:
    """``N_ℓ = C(D+ℓ−1, ℓ) − C(D+ℓ−3, ℓ−2)``, the number of degree-``ℓ`` spherical harmonics on
    ``S^{D−1}``, for ``ℓ = 0..degree`` (float64; ``≈ D^ℓ/ℓ!`` at large ``D``).

    Examples
    --------
    >>> harmonic_multiplicities(3, 3)          # 1, 3, 5, 7 on the 2-sphere
    array([1., 3., 5., 7.])
    """
    degree = integer("degree", degree, lo=0)
    dim = integer("dim", dim, lo=2)
    out = np.ones(degree + 1)
    for ell in range(1, degree + 1):
        exact = math.comb(dim + ell - 1, ell) - (math.comb(dim + ell - 3, ell - 2) if ell >= 2 else 0)
        try:
            out[ell] = float(exact)  # correctly rounded
        except OverflowError:
            out[ell] = math.inf
    return out


def dot_product_kernel_eigenvalues(coeffs, dim: int, degree: int | None = None) -> np.ndarray:
    """Eigenvalue ``μ_ℓ`` of ``κ(x·x') = Σ_k a_k (x·x')^k`` on each degree-``ℓ`` block of
    spherical harmonics, ``x`` uniform on the unit sphere ``S^{D−1}`` (see the module notes):

        μ_ℓ = Σ_{k ≥ ℓ, k−ℓ even} a_k k! Γ(D/2) / (2^k ((k−ℓ)/2)! Γ((k+ℓ+D)/2))  ≈  a_ℓ ℓ!/D^ℓ.

    Parameters
    ----------
    coeffs : array_like
        ``a_k``, the kernel's power-series coefficients (e.g. from :func:`kernel_series`); the
        series is taken as exactly this polynomial (truncate infinite series where the tail is
        negligible for the degrees you need).
    dim : int
        ``D >= 2``.
    degree : int, optional
        Highest ``ℓ`` returned (default ``len(coeffs) − 1``).

    Returns
    -------
    ndarray (float64), shape ``(degree + 1,)``
        ``μ_0, …, μ_degree``.

    Examples
    --------
    >>> import numpy as np
    >>> mu = dot_product_kernel_eigenvalues([0.0, 1.0, 0.25], 100)   # ρ + ε² ρ², ε = 1/2
    >>> np.allclose(mu, [0.25 / 100, 1 / 100, 0.25 * 2 / (100 * 102)])
    True
    """
    a = _coeffs("coeffs", coeffs)
    dim = integer("dim", dim, lo=2)
    degree = a.size - 1 if degree is None else integer("degree", degree, lo=0)
    mu = np.zeros(degree + 1)
    for ell in range(degree + 1):
        for k in range(ell, a.size, 2):
            if a[k] == 0.0:
                continue
            # k − ℓ is even, so Γ(D/2)/Γ((k+ℓ+D)/2) = 1/Π_{j < (k+ℓ)/2} (D/2 + j): a product, not lgammas
            half = (k + ell) // 2
            log_w = (
                math.lgamma(k + 1)
                - k * math.log(2)
                - math.lgamma((k - ell) // 2 + 1)
                - math.fsum(math.log(dim / 2 + j) for j in range(half))
            )
            mu[ell] += a[k] * math.exp(log_w)
    return mu


@dataclass(frozen=True)
class LazyLoss(Result):
    """Result of :func:`lazy_test_loss`; arrays are indexed by the degree ``ℓ``."""

    test_loss: float  #: eigenlearning prediction of the test MSE
    plateau_loss: float  #: staircase prediction: power in the unfitted degrees (+ noise)
    fitted: np.ndarray  #: staircase: degree ``ℓ`` fitted (``P > M_ℓ``)
    learnability: np.ndarray  #: ``L_ℓ = μ_ℓ/(μ_ℓ + κ)``
    eigenvalues: np.ndarray  #: ``μ_ℓ``
    multiplicities: np.ndarray  #: ``N_ℓ``
    thresholds: np.ndarray  #: ``M_ℓ``: modes with eigenvalue ``≥ μ_ℓ`` (``inf`` where ``μ_ℓ = 0``)
    target_power: np.ndarray  #: ``p_ℓ = ℓ! c_ℓ²``
    kappa: float  #: effective ridge ``κ``
    overfitting: float  #: ``E₀ = P/(P − Σ N_ℓ L_ℓ²)``

    _PER_DEGREE = ("fitted", "learnability", "eigenvalues", "multiplicities", "thresholds", "target_power")

    def tables(self) -> dict[str, list[dict]]:
        """``lazy_loss``: the scalars as one row; ``degrees``: one row per degree ``ℓ``."""
        rec = self.record()
        scalars = {k: v for k, v in rec.items() if k not in self._PER_DEGREE}
        degrees = column_rows({k: rec[k] for k in self._PER_DEGREE}, index="degree")
        return {"lazy_loss": [scalars], "degrees": degrees}


def _solve_kappa(n: np.ndarray, mu: np.ndarray, samples: float, ridge: float) -> float:
    """Root ``κ`` of ``Σ N μ/(μ + κ) + λ/κ = P`` (``0`` when ridgeless and ``P ≥`` rank)."""
    pos = mu > 0
    n, mu = n[pos], mu[pos]

    from scipy.optimize import brentq  # here: scipy.optimize takes a second to import

    def excess(log_kappa):
        kappa = math.exp(log_kappa)
        return float(np.sum(n * mu / (mu + kappa))) + ridge / kappa - samples

    if ridge == 0.0 and float(np.sum(n)) <= samples:
        return 0.0
    hi = math.log((float(np.sum(n * mu)) + ridge) / samples) + 1.0  # excess < 0 here
    lo = math.log(float(mu.min())) - 5.0 if mu.size else hi - 5.0
    while excess(lo) <= 0:
        lo -= 10.0
    return math.exp(brentq(excess, lo, hi, xtol=1e-14, rtol=1e-14, maxiter=500))


def lazy_test_loss(
    kernel_coeffs, target_coeffs, samples, dim: int, ridge: float = 0.0, noise: float = 0.0
) -> LazyLoss:
    """Large-``D`` test MSE of kernel regression with ``P`` samples (see the module notes).

    Parameters
    ----------
    kernel_coeffs : array_like
        ``a_k`` of the dot-product kernel ``κ(x·x') = Σ a_k (x·x')^k`` (all ``≥ 0``).
    target_coeffs : array_like
        Hermite coefficients ``c_ℓ`` of the single-index target ``g``; power ``p_ℓ = ℓ! c_ℓ²``.
    samples : float
        ``P > 0`` (need not be an integer: a learning curve).
    dim : int
        ``D >= 2``.
    ridge : float
        ``λ ≥ 0`` in ``(K + λ I)⁻¹`` (Gram-matrix units, as in
        :func:`effgrok.kernels.lazy_rich.kernel_regression`).
    noise : float
        Label-noise variance ``σ²`` (also where unresolved target power can be put).

    Returns
    -------
    LazyLoss

    Notes
    -----
    The eigenlearning formula is the deterministic equivalent of Gaussian (or spherical,
    ``P ~ D^ℓ``) features; the staircase is its ``D → ∞`` limit at ``P = D^{ℓ+δ}``.  When
    ``λ = 0`` and ``P`` exceeds the kernel's rank ``Σ N_ℓ``, ``κ = 0`` and the fit is least
    squares (``E₀ = P/(P − rank)``).  Ridgeless and noiseless, multiplying one block's
    eigenvalue changes only how ``κ`` is shared between blocks: the staircase depends on the
    blocks' order alone, and for the lazy→rich kernel ``ρ + ε²ρ²`` the eigenlearning loss
    changes by ~2 % between ``ε = 0.02`` and ``0.5`` (the quadratic block needs
    ``P ≈ D²/2`` samples whatever ``ε``; ``ε`` matters with a ridge or early stopping).

    Examples
    --------
    >>> r = lazy_test_loss([0, 1, 0.02**2], [0.5, 0, 0.5], 550, 100)   # lazy→rich, y = z²/2
    >>> r.fitted.tolist(), round(r.plateau_loss, 12)
    ([True, True, False], 0.5)
    >>> round(r.test_loss, 3)
    0.567
    """
    a = _coeffs("kernel_coeffs", kernel_coeffs)
    if np.any(a < 0):
        raise ValueError(
            f"kernel_coeffs must be >= 0 (a positive-definite dot-product kernel), got {a.tolist()}"
        )
    c = _coeffs("target_coeffs", target_coeffs)
    P = positive("samples", samples)
    dim = integer("dim", dim, lo=2)
    ridge = nonnegative("ridge", ridge)
    noise = nonnegative("noise", noise)
    degree = max(a.size, c.size) - 1
    mu = dot_product_kernel_eigenvalues(a, dim, degree)
    n = harmonic_multiplicities(degree, dim)
    power = np.zeros(degree + 1)
    power[: c.size] = np.exp([math.lgamma(k + 1) for k in range(c.size)]) * c * c
    kappa = _solve_kappa(n, mu, P, ridge)
    learn = np.where(mu > 0, mu / np.where(mu > 0, mu + kappa, 1.0), 0.0)
    dof = float(np.sum(n * learn**2))
    overfit = P / (P - dof) if P > dof else math.inf
    unlearned = float(np.sum((1 - learn) ** 2 * power)) + noise
    loss = overfit * unlearned if unlearned > 0 else 0.0
    thresholds = np.array([float(np.sum(n[mu >= m])) if m > 0 else math.inf for m in mu])
    fitted = thresholds < P
    plateau = float(np.sum(power[~fitted])) + noise
    return LazyLoss(loss, plateau, fitted, learn, mu, n, thresholds, power, kappa, overfit)
