"""Hermite coefficients of activations and targets, dot-product kernel series, their spectrum on the
sphere, and the lazy (kernel-regression) test loss on a single-index target at large ``D``.

**Convention.**  Probabilists' Hermite polynomials ``He_k`` (``sympy.hermite_prob``), orthogonal
under ``z ~ N(0, 1)`` with ``E[He_j He_k] = k! δ_jk``; coefficients
``c_k = E[φ(√q z) He_k(z)]/k!`` of ``φ`` on a pre-activation of variance ``q``.  Gaussian
integration by parts (``He_k γ = (−1)^k γ^{(k)}``, ``γ`` the standard normal density) gives
Stein's form ``c_k = E[φ^{(k)}]/k!`` (derivatives of ``z ↦ φ(√q z)``):

* **ReLU**: integrating ``∫₀^∞ z (−1)^k γ^{(k)} dz`` by parts twice leaves the boundary term
  ``(−1)^k γ^{(k−2)}(0) = He_{k−2}(0) γ(0)``, so for ``k ≥ 2``
  ``c_k = He_{k−2}(0)/(√(2π) k!)``: zero for odd ``k``, and
  ``c_{2m} = (−1)^{m−1} (2m−3)!!/(√(2π) (2m)!)``; ``c_0 = 1/√(2π)``, ``c_1 = ½``
  (times ``√q``: ReLU is homogeneous).
* **erf**: ``E[φ^{(k)}(z)] = g^{(k)}(0)`` with the smoothed ``g(t) = E[erf(√q (z + t))] =
  erf(t √(q/(1+2q)))``; the odd Taylor coefficients of erf give
  ``c_{2m+1} = (2/√π) (−1)^m (q/(1+2q))^{m+½} / (m! (2m+1))`` and ``c_{2m} = 0``.
* **monomials** ``h^m``: ``z^m = Σ_j m!/(j! 2^j (m−2j)!) He_{m−2j}`` (times ``q^{m/2}``).
* **lazy→rich** ``φ(h) = h + (ε/2) h²``: ``c = (εq/2, √q, εq/2)``.
* **targets**: ``y = ½ z_raw²`` with ``z_raw = s z`` (``s² = |β*|²/D``): ``c = (s²/2, 0, s²/2)``;
  ``y = He_k(z)/√k!``: ``c_k = 1/√k!`` (unit power in degree ``k``).

Mehler's formula then gives the NNGP ``Σ k! c_k² ρ^k`` and, with ``He_k' = k He_{k−1}``, the NTK
``Σ (k+1) k! c_k² ρ^k`` (first layer only: ``Σ k · k! c_k² ρ^k``; the lazy→rich kernel
``ρ + ε²ρ²``).  These reproduce :mod:`theory.kernels`' closed forms coefficient by coefficient
(exactly: Taylor series of the closed forms vs the Hermite series) and numerically.

The spectrum on ``S^{D−1}`` (Funk–Hecke) and the eigenlearning test loss are those of
:mod:`effgrok.kernels.hermite`; here the Γ-function eigenvalue formula is checked against the
Funk–Hecke integral with Gegenbauer polynomials, and the predicted test loss against
effgrok's ridgeless kernel regression on the lazy→rich data.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import cache
from pathlib import Path

import mpmath
import numpy as np
import sympy as sp

__all__ = [
    "check_eigenvalues",
    "check_lazy_loss",
    "check_quadrature",
    "check_series_exact",
    "check_series_numeric",
    "closed_form",
    "direct_coefficient",
    "kernel_series",
    "main",
]

z, t = sp.symbols("z t", real=True)
q, eps, s, rho = sp.symbols("q epsilon s rho", positive=True)
m_, k_ = sp.symbols("m k", integer=True, nonnegative=True)

#: Activations whose coefficients are derived (name → sympy expression in the pre-activation h).
_H = sp.symbols("h", real=True)
ACTIVATIONS = {
    "relu": sp.Max(_H, 0),
    "erf": sp.erf(_H),
    "linear": _H,
    "quadratic": _H**2,
    "cubic": _H**3,
    "lazy_rich": _H + eps / 2 * _H**2,
}


_A = sp.symbols("A", positive=True)


@cache
def _gauss_moment(n: int) -> sp.Expr:
    """``∫ z^n e^{−A z²} dz`` over the real line (sympy integral, cached; ``A > 0`` symbolic)."""
    return sp.integrate(z**n * sp.exp(-_A * z**2), (z, -sp.oo, sp.oo))


def _gauss(expr) -> sp.Expr:
    """``E[expr(z)]`` for ``z ~ N(0, 1)`` and ``expr`` a sum of ``polynomial · e^{−b z²}`` terms:
    each monomial is integrated against ``e^{−(b + ½) z²}``."""
    total = sp.Integer(0)
    for term in sp.Add.make_args(sp.expand(sp.powsimp(sp.expand(expr)))):
        poly_part, exp_part = sp.Integer(1), sp.Integer(0)
        for factor in sp.Mul.make_args(term):
            if isinstance(factor, sp.exp):
                exp_part += factor.args[0]
            else:
                poly_part *= factor
        a = sp.simplify(-exp_part / z**2 + sp.Rational(1, 2))
        if a.has(z):
            raise ValueError(f"not a Gaussian-times-polynomial term: {term}")
        poly = sp.Poly(poly_part, z)
        total += sum(
            coef * _gauss_moment(mono[0]).subs(_A, a)
            for mono, coef in zip(poly.monoms(), poly.coeffs(), strict=True)
        )
    return sp.simplify(total / sp.sqrt(2 * sp.pi))


@cache
def _half_moment(n: int) -> sp.Expr:
    """``∫₀^∞ z^n γ(z) dz``."""
    return sp.simplify(sp.integrate(z**n * sp.exp(-(z**2) / 2), (z, 0, sp.oo)) / sp.sqrt(2 * sp.pi))


def direct_coefficient(name: str, k: int, variance=1) -> sp.Expr:
    """``c_k = E[φ(√q z) He_k(z)]/k!`` by direct integration (the oracle for :func:`closed_form`).

    ReLU: moments on the half line; erf: Stein's form ``E[∂_z^k erf(√q z)]`` (a polynomial
    times a Gaussian for ``k ≥ 1``, zero at ``k = 0`` by oddness); polynomials: Gaussian moments.
    """
    qq = sp.sympify(variance)
    he = sp.Poly(sp.hermite_prob(k, z), z)
    if name == "relu":
        total = sum(
            coef * _half_moment(mono[0] + 1) for mono, coef in zip(he.monoms(), he.coeffs(), strict=True)
        )
        return sp.simplify(sp.sqrt(qq) * total / sp.factorial(k))
    if name == "erf":
        if k == 0:
            return sp.Integer(0)
        return sp.simplify(_gauss(sp.diff(sp.erf(sp.sqrt(qq) * z), z, k)) / sp.factorial(k))
    phi = ACTIVATIONS[name].subs(_H, sp.sqrt(qq) * z)
    return sp.simplify(_gauss(phi * sp.hermite_prob(k, z)) / sp.factorial(k))


def _double_factorial_odd(n: int) -> int:
    """``n!!`` for odd ``n ≥ −1`` (``(−1)!! = 1``)."""
    return math.prod(range(n, 0, -2)) if n > 0 else 1


def closed_form(name: str, k: int, variance=1) -> sp.Expr:
    """The closed form of ``c_k`` in ``k`` (see the module notes); ``variance`` may be symbolic."""
    qq = sp.sympify(variance)
    if name == "relu":
        if k == 0:
            return sp.sqrt(qq) / sp.sqrt(2 * sp.pi)
        if k == 1:
            return sp.sqrt(qq) / 2
        if k % 2:
            return sp.Integer(0)
        mm = k // 2
        return (
            sp.sqrt(qq)
            * (-1) ** (mm - 1)
            * _double_factorial_odd(2 * mm - 3)
            / (sp.sqrt(2 * sp.pi) * sp.factorial(k))
        )
    if name == "erf":
        if k % 2 == 0:
            return sp.Integer(0)
        mm = (k - 1) // 2
        return (
            2
            / sp.sqrt(sp.pi)
            * (-1) ** mm
            * (qq / (1 + 2 * qq)) ** (sp.Rational(2 * mm + 1, 2))
            / (sp.factorial(mm) * (2 * mm + 1))
        )
    powers = {"linear": 1, "quadratic": 2, "cubic": 3}
    if name in powers:
        return monomial_coefficient(powers[name], k) * qq ** sp.Rational(powers[name], 2)
    if name == "lazy_rich":
        return {0: eps * qq / 2, 1: sp.sqrt(qq), 2: eps * qq / 2}.get(k, sp.Integer(0))
    raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}; got {name!r}")


def monomial_coefficient(power: int, k: int) -> sp.Rational:
    """``z^m = Σ_j m!/(j! 2^j (m−2j)!) He_{m−2j}``: the coefficient of ``He_k``."""
    if k > power or (power - k) % 2:
        return sp.Integer(0)
    j = (power - k) // 2
    return sp.Rational(math.factorial(power), math.factorial(j) * 2**j * math.factorial(k))


def target_coefficients(target: str, scale=1) -> list:
    """Hermite coefficients of the single-index targets of :mod:`effgrok.kernels.lazy_rich`:
    ``"paper"`` (``½ z_raw²``, ``z_raw = s z``, ``scale = s²``) and ``"hermite:k"``."""
    if target == "paper":
        return [sp.sympify(scale) / 2, sp.Integer(0), sp.sympify(scale) / 2]
    kk = int(target.split(":", 1)[1])
    return [sp.Integer(0)] * kk + [1 / sp.sqrt(sp.factorial(kk))]


def kernel_series(coeffs, kind: str = "nngp") -> list:
    """``a_k``: ``k! c_k²`` (nngp), ``(k+1) k! c_k²`` (ntk), ``k · k! c_k²`` (ntk_first_layer)."""
    weight = {"nngp": lambda kk: 1, "ntk": lambda kk: kk + 1, "ntk_first_layer": lambda kk: kk}[kind]
    return [sp.simplify(weight(kk) * sp.factorial(kk) * cc**2) for kk, cc in enumerate(coeffs)]


# ----------------------------------------------------------------------------- checks
def check_closed_forms(max_degree: int = 12) -> int:
    """Closed forms equal the direct integrals exactly (ReLU/erf at ``q = 1`` and ``q = 2/5``,
    polynomials at symbolic ``q``), ``k = 0..max_degree``; returns the number of equalities."""
    n = 0
    for name in ACTIVATIONS:
        variances = (1, sp.Rational(2, 5)) if name in ("relu", "erf") else (q,)
        for var in variances:
            for kk in range(max_degree + 1):
                diff = sp.simplify(closed_form(name, kk, var) - direct_coefficient(name, kk, var))
                if diff != 0:
                    raise AssertionError(f"{name}, q = {var}, k = {kk}: closed form - integral = {diff}")
                n += 1
    return n


@cache
def _derived_kernel(name: str) -> tuple[sp.Expr, sp.Expr]:
    """theory.kernels' closed forms for one activation, computed once."""
    from . import kernels as tk

    return tk.derive_one(name)


def _closed_kernels(name: str, variance) -> tuple[sp.Expr, sp.Expr]:
    """theory.kernels' NNGP ``E[φφ]`` and NTK ``E[φφ] + c E[φ'φ']`` at ``q1 = q2 = q``, ``c = qρ``."""
    from . import kernels as tk

    e0, e1 = _derived_kernel(name)
    subs = {tk.q1: variance, tk.q2: variance, tk.c: variance * rho}
    nngp = e0.subs(subs)
    return nngp, nngp + variance * rho * e1.subs(subs)


_SERIES_NAMES = ("relu", "erf", "linear", "quadratic", "cubic")


def check_series_exact(order: int = 12, names=_SERIES_NAMES) -> int:
    """Taylor coefficients (to ``ρ^order``) of theory.kernels' closed-form NNGP and NTK equal the
    Hermite series ``Σ k! c_k² ρ^k`` and ``Σ (k+1) k! c_k² ρ^k`` exactly; returns the count."""
    n = 0
    for name in names:
        for var in (sp.Integer(1), sp.Rational(1, 3)):
            c = [closed_form(name, kk, var) for kk in range(order + 1)]
            for kind, closed in zip(("nngp", "ntk"), _closed_kernels(name, var), strict=True):
                taylor = sp.series(closed, rho, 0, order + 1).removeO()
                for kk, a in enumerate(kernel_series(c, kind)):
                    diff = sp.simplify(taylor.coeff(rho, kk) - a)
                    if diff != 0:
                        raise AssertionError(f"{name} {kind}, q = {var}, ρ^{kk}: Taylor - Hermite = {diff}")
                    n += 1
    return n


@cache
def _series_coefficients(name: str, terms: int) -> tuple:
    """``k! c_k²`` for ``k < terms`` in 40-digit arithmetic (ReLU/erf at ``q = 1``, closed forms)."""
    mpmath.mp.dps = 40
    out = []
    for kk in range(terms):
        if name == "relu":  # 1/(2π), 1/4, then ((k−3)!!)²/(k! 2π) for even k
            if kk == 1:
                out.append(mpmath.mpf(1) / 4)
            elif kk % 2:
                out.append(mpmath.mpf(0))
            else:
                f = Fraction(_double_factorial_odd(kk - 3) ** 2, math.factorial(kk)) if kk else Fraction(1)
                out.append(mpmath.mpf(f.numerator) / f.denominator / (2 * mpmath.pi))
        elif kk % 2 == 0:
            out.append(mpmath.mpf(0))
        else:  # (4/π) 3^{−k} k! / (m! (2m+1))², k = 2m+1
            mm = (kk - 1) // 2
            out.append(
                4
                / mpmath.pi
                * mpmath.mpf(3) ** (-kk)
                * mpmath.factorial(kk)
                / (mpmath.factorial(mm) * kk) ** 2
            )
    return tuple(out)


def _series_value(name: str, kind: str, r: float, terms: int) -> float:
    """``Σ_{k<terms} a_k ρ^k`` in 40-digit arithmetic."""
    mpmath.mp.dps = 40
    total = mpmath.mpf(0)
    x = mpmath.mpf(r)
    for kk, a in enumerate(_series_coefficients(name, terms)):
        total += (kk + 1 if kind == "ntk" else 1) * a * x**kk
    return float(total)


def check_series_numeric(rhos=(-0.9, -0.6, -0.25, 0.0, 0.3, 0.7, 0.9), terms: int = 600) -> float:
    """Largest relative difference between the truncated Hermite series and theory.kernels'
    closed forms (ReLU, erf; NNGP and NTK; ``q = 1``); ``terms`` makes the tail ``< 1e-20``."""
    worst = 0.0
    for name in ("relu", "erf"):
        closed = _closed_kernels(name, sp.Integer(1))
        for kind, expr in zip(("nngp", "ntk"), closed, strict=True):
            f = sp.lambdify(rho, expr, "mpmath")
            for r in rhos:
                ref = float(f(mpmath.mpf(r)).real) if r != 0 else float(expr.subs(rho, 0))
                val = _series_value(name, kind, r, terms)
                worst = max(worst, abs(val - ref) / abs(ref) if ref else abs(val))  # erf(0) = 0
    return worst


def check_quadrature(degree: int = 20) -> float:
    """Largest difference between effgrok's quadrature coefficients and the closed forms, in
    units of the largest normalised amplitude ``max_k √k! |c_k|`` of each activation."""
    from scipy.special import erf as np_erf

    from effgrok.kernels.hermite import hermite_coefficients

    e_val = 0.3
    cases = [
        ("relu", lambda h: np.maximum(h, 0.0), 1.0, (0.0,)),
        ("relu", lambda h: np.maximum(h, 0.0), 2.5, (0.0,)),
        ("erf", np_erf, 1.0, ()),
        ("erf", np_erf, 0.4, ()),
        ("linear", lambda h: h, 1.7, ()),
        ("quadratic", lambda h: h * h, 1.0, ()),
        ("cubic", lambda h: h**3, 0.6, ()),
        ("lazy_rich", lambda h: h + e_val / 2 * h * h, 1.0, ()),
    ]
    worst = 0.0
    for name, fn, var, bps in cases:
        qq = sp.nsimplify(var)
        exact = np.array(
            [float(closed_form(name, kk, qq).subs(eps, sp.nsimplify(e_val))) for kk in range(degree + 1)]
        )
        num = hermite_coefficients(fn, degree, variance=var, breakpoints=bps)
        amp = np.sqrt([math.factorial(kk) for kk in range(degree + 1)])
        worst = max(worst, float(np.max(np.abs(num - exact) * amp) / np.max(np.abs(exact) * amp)))
    return worst


def _funk_hecke(kernel_poly: sp.Expr, ell: int, dim: int) -> sp.Expr:
    """``μ_ℓ = (|S^{D−2}|/|S^{D−1}|) ∫₋₁¹ κ(t) C_ℓ^{α}(t)/C_ℓ^{α}(1) (1−t²)^{α−½} dt``, ``α = (D−2)/2``."""
    alpha = sp.Rational(dim - 2, 2)
    geg = sp.gegenbauer(ell, alpha, t)
    ratio = sp.gamma(sp.Rational(dim, 2)) / (sp.sqrt(sp.pi) * sp.gamma(sp.Rational(dim - 1, 2)))
    poly = sp.Poly(sp.expand(kernel_poly * geg / geg.subs(t, 1)), t)
    total = sum(
        coef * _sphere_moment(mono[0], alpha - sp.Rational(1, 2))
        for mono, coef in zip(poly.monoms(), poly.coeffs(), strict=True)
    )
    return sp.simplify(ratio * total)


@cache
def _sphere_moment(n: int, power: sp.Rational) -> sp.Expr:
    """``∫₋₁¹ t^n (1 − t²)^power dt`` (sympy integral, cached)."""
    if n % 2:
        return sp.Integer(0)
    if power.is_integer:  # odd D: a polynomial
        return sp.integrate(sp.expand(t**n * (1 - t**2) ** power), (t, -1, 1))
    # even D: t = cos θ turns it into a trigonometric polynomial
    th = sp.symbols("theta", real=True)
    return sp.integrate(sp.cos(th) ** n * sp.sin(th) ** int(2 * power + 1), (th, 0, sp.pi))


def check_eigenvalues(dims=(3, 4, 5, 7), max_power: int = 5) -> float:
    """effgrok's Γ-function eigenvalues of ``t^k`` on degree-``ℓ`` harmonics against the exact
    Funk–Hecke integral (sympy), ``ℓ ≤ k ≤ max_power``; largest relative difference.  Also checks
    Mercer's trace ``Σ_ℓ N_ℓ μ_ℓ = κ(1)`` (within the same number)."""
    from effgrok.kernels.hermite import dot_product_kernel_eigenvalues, harmonic_multiplicities

    worst = 0.0
    for dim in dims:
        for kk in range(max_power + 1):
            a = np.zeros(kk + 1)
            a[kk] = 1.0
            mine = dot_product_kernel_eigenvalues(a, dim)
            for ell in range(kk + 1):
                exact = float(_funk_hecke(t**kk, ell, dim))
                if (kk - ell) % 2:
                    if abs(mine[ell]) > 0 or abs(exact) > 1e-15:
                        return math.inf
                    continue
                worst = max(worst, abs(mine[ell] - exact) / exact)
            trace = float(np.sum(harmonic_multiplicities(kk, dim) * mine))
            worst = max(worst, abs(trace - 1.0))
    return worst


def check_lazy_loss(
    dim: int = 60, epsilon: float = 0.1, samples=(30, 150, 400), seeds: int = 4, test_samples: int = 500
) -> list[dict]:
    """Eigenlearning and staircase predictions of :func:`effgrok.kernels.hermite.lazy_test_loss` for
    ridgeless regression with ``K = x·x' + ε²(x·x')²`` on ``y = ½(β*·x)²``, against
    :func:`effgrok.kernels.lazy_rich.kernel_regression` on :func:`make_problem`'s Gaussian data
    (test MSE divided by ``s⁴``, ``s² = |β*|²/D``, i.e. at unit target scale; mean over seeds)."""
    from effgrok.kernels.hermite import lazy_test_loss
    from effgrok.kernels.lazy_rich import kernel_regression, make_problem

    a = [0.0, 1.0, epsilon**2]
    target = [float(v) for v in target_coefficients("paper")]
    rows = []
    for P in samples:
        losses = []
        for seed in range(seeds):
            prob = make_problem(dim, P, test_samples, seed=seed)
            s2 = float(prob.beta @ prob.beta) / dim

            def K(x1, x2):
                g = x1 @ x2.T
                return g + epsilon**2 * g * g

            _, f = kernel_regression(
                K(prob.x_train, prob.x_train), K(prob.x_test, prob.x_train), prob.y_train
            )
            losses.append(float(np.mean((f - prob.y_test) ** 2)) / s2**2)
        pred = lazy_test_loss(a, target, P, dim)
        rows.append(
            {
                "P": P,
                "measured": float(np.mean(losses)),
                "sem": float(np.std(losses, ddof=1) / math.sqrt(seeds)),
                "eigenlearning": pred.test_loss,
                "staircase": pred.plateau_loss,
                "fitted_degrees": [int(d) for d in np.flatnonzero(pred.fitted)],
                "rel_diff": abs(pred.test_loss - float(np.mean(losses))) / float(np.mean(losses)),
            }
        )
    return rows


def main(
    out_dir: Path,
    *,
    max_degree: int = 12,
    order: int = 12,
    series_names=_SERIES_NAMES,
    lazy: dict | None = None,
) -> dict:
    """Derive and check everything; write ``hermite.md``; return the checks' numbers.

    ``max_degree`` and ``order`` bound the exact checks (closed forms, Taylor coefficients),
    ``series_names`` picks the activations of the Taylor check;
    ``lazy`` holds keyword arguments of :func:`check_lazy_loss` (smaller sizes for tests).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    n_closed = check_closed_forms(max_degree)
    n_series = check_series_exact(order, series_names)
    numeric = check_series_numeric()
    quad = check_quadrature()
    eig = check_eigenvalues()
    lazy_rows = check_lazy_loss(**(lazy or {}))
    lazy_kw = {"dim": 60, "epsilon": 0.1, "seeds": 4, **(lazy or {})}

    from effgrok.kernels.hermite import lazy_test_loss

    lines = [
        "# Hermite coefficients, kernel series and the lazy test loss",
        "",
        "Convention: probabilists' Hermite polynomials, $E[He_j He_k] = k!\\,\\delta_{jk}$ for",
        "$z \\sim N(0,1)$; $c_k = E[\\phi(\\sqrt{q} z) He_k(z)]/k!$ at pre-activation variance $q$.",
        "",
        "## Closed forms in $k$",
        "",
        "$$c^{\\rm ReLU}_0 = \\sqrt{q/2\\pi},\\quad c^{\\rm ReLU}_1 = \\sqrt{q}/2,\\quad",
        "c^{\\rm ReLU}_{2m} = \\sqrt{q}\\,\\frac{(-1)^{m-1}(2m-3)!!}{\\sqrt{2\\pi}\\,(2m)!}\\ (m\\ge1),",
        "\\quad c^{\\rm ReLU}_{2m+1} = 0\\ (m\\ge1)$$",
        "",
        "$$c^{\\rm erf}_{2m+1} = \\frac{2}{\\sqrt{\\pi}}\\,\\frac{(-1)^m}{m!\\,(2m+1)}",
        "\\left(\\frac{q}{1+2q}\\right)^{m+1/2},\\qquad c^{\\rm erf}_{2m} = 0$$",
        "",
        "$$h^m:\\ c_{m-2j} = q^{m/2}\\frac{m!}{j!\\,2^j\\,(m-2j)!},\\qquad",
        "h + \\tfrac{\\varepsilon}{2}h^2:\\ c = (\\varepsilon q/2,\\ \\sqrt{q},\\ \\varepsilon q/2)$$",
        "",
        "$$y = \\tfrac12 z_{\\rm raw}^2 = \\tfrac{s^2}{2}(He_2 + He_0):\\ c = (s^2/2, 0, s^2/2),\\qquad",
        "y = He_k/\\sqrt{k!}:\\ c_k = 1/\\sqrt{k!}$$",
        "",
        "First coefficients at $q = 1$:",
        "",
        "| activation | " + " | ".join(f"$c_{kk}$" for kk in range(6)) + " |",
        "|---" * 7 + "|",
    ]
    for name in ACTIVATIONS:
        cells = [f"${sp.latex(sp.simplify(closed_form(name, kk, 1)))}$" for kk in range(6)]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
        print(f"{name}: c_0..c_5 = {[closed_form(name, kk, 1) for kk in range(6)]}")
    lazy_ntk = kernel_series([closed_form("lazy_rich", kk, 1) for kk in range(3)], "ntk_first_layer")
    lines += [
        "",
        "## Kernel series (Mehler)",
        "",
        "$$K_{\\rm NNGP}(\\rho) = \\sum_k k!\\,c_k^2\\rho^k,\\qquad",
        "K_{\\rm NTK}(\\rho) = \\sum_k (k+1)\\,k!\\,c_k^2\\rho^k,",
        "\\qquad K_{\\rm NTK}^{\\rm first\\ layer}(\\rho) = \\sum_k k\\,k!\\,c_k^2\\rho^k$$",
        "",
        "Lazy→rich committee (first layer, $q=1$): "
        f"$K = {sp.latex(sum(a * rho**kk for kk, a in enumerate(lazy_ntk)))}$.",
        "",
        "## Spectrum on $S^{D-1}$ (Funk–Hecke)",
        "",
        "$$\\mu_\\ell = \\sum_{k\\ge\\ell,\\,k-\\ell\\ {\\rm even}} a_k\\,",
        "\\frac{k!\\,\\Gamma(D/2)}{2^k\\,((k-\\ell)/2)!\\,\\Gamma((k+\\ell+D)/2)}",
        "= \\frac{a_\\ell\\,\\ell!}{D^\\ell}\\,(1 + O(1/D)),\\qquad",
        "N_\\ell = \\binom{D+\\ell-1}{\\ell} - \\binom{D+\\ell-3}{\\ell-2}",
        "\\approx \\frac{D^\\ell}{\\ell!}$$",
        "",
        "## Lazy test loss (eigenlearning, ridgeless)",
        "",
        "$$\\sum_\\ell N_\\ell\\frac{\\mu_\\ell}{\\mu_\\ell+\\kappa} + \\frac{\\lambda}{\\kappa} = P,\\quad",
        "L_\\ell = \\frac{\\mu_\\ell}{\\mu_\\ell+\\kappa},\\quad",
        "E = \\frac{P}{P - \\sum_\\ell N_\\ell L_\\ell^2}",
        "\\Big(\\sum_\\ell (1-L_\\ell)^2\\,\\ell!\\,c_\\ell^2 + \\sigma^2\\Big)$$",
        "",
        "Lazy→rich ($y = \\tfrac12 z^2$, $D = 100$, $\\varepsilon = 0.02$): predicted test MSE by $P$",
        "(ridgeless; the staircase plateau is $0.5$ until $P \\approx 1 + D + N_2 = 5150$, independent of",
        "$\\varepsilon$):",
        "",
        "| $P$ | 50 | 200 | 550 | 1500 | 3000 | 5000 | 6000 |",
        "|---|---|---|---|---|---|---|---|",
        "| eigenlearning | "
        + " | ".join(
            f"{lazy_test_loss([0, 1, 4e-4], [0.5, 0, 0.5], P, 100).test_loss:.3f}"
            for P in (50, 200, 550, 1500, 3000, 5000, 6000)
        )
        + " |",
        "",
        "## Checks",
        "",
        f"- closed forms = direct sympy integrals, exactly: {n_closed} coefficients;",
        "- Taylor coefficients of theory.kernels' closed-form NNGP/NTK = Hermite series, exactly: "
        f"{n_series};",
        f"- truncated series vs closed forms (ReLU, erf; $|\\rho| \\le 0.9$): max rel. diff {numeric:.1e};",
        f"- effgrok quadrature vs closed forms ($k \\le 20$): max diff {quad:.1e} of the largest amplitude;",
        f"- Γ-formula eigenvalues vs Funk–Hecke integrals ($D = 3,4,5,7$) and Mercer trace: {eig:.1e};",
        "- eigenlearning vs effgrok's ridgeless `kernel_regression` "
        f"($D = {lazy_kw['dim']}$, $\\varepsilon = {lazy_kw['epsilon']}$,",
        f"  Gaussian data, {lazy_kw['seeds']} seeds, test MSE at unit target scale):",
        "",
        "| $P$ | measured | eigenlearning | staircase | rel. diff |",
        "|---|---|---|---|---|",
    ]
    for row in lazy_rows:
        lines.append(
            f"| {row['P']} | {row['measured']:.3f} ± {row['sem']:.3f} | {row['eigenlearning']:.3f} | "
            f"{row['staircase']:.3f} | {row['rel_diff']:.1%} |"
        )
    lines.append("")
    (out_dir / "hermite.md").write_text("\n".join(lines))
    summary = {
        "exact_closed_forms": n_closed,
        "exact_series_coefficients": n_series,
        "series_vs_closed_max_rel_diff": numeric,
        "quadrature_max_rel_diff": quad,
        "eigenvalue_max_rel_diff": eig,
        "lazy_loss": lazy_rows,
        "files": ["hermite.md"],
    }
    print(summary)
    return summary
