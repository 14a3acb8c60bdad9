"""Two-layer NNGP/NTK closed forms, derived with sympy, and the lazy-regime kernel spectrum.

For ``(u, v) ~ N(0, [[q1, c], [c, q2]])`` write ``u = a z1``, ``v = b (cos θ z1 + sin θ z2)``
with ``a = √q1``, ``b = √q2``, ``cos θ = c/(a b)`` and ``z1, z2`` independent standard
normals.  The two-layer kernels need ``E[φ(u)φ(v)]`` (NNGP) and ``E[φ'(u)φ'(v)]`` (NTK):

* **monomials** ``φ = u^k``: Gaussian moments of polynomials, integrated exactly;
* **ReLU** (arc-cosine kernel): in polar coordinates ``z = r (cos ψ, sin ψ)`` the wedge where
  ``u, v > 0`` is ``ψ ∈ (θ − π/2, π/2)``; the radial integral gives ``∫ r³ e^{−r²/2} dr = 2``,
  the angular one ``∫ cos ψ cos(ψ − θ) dψ``, so ``E = (ab/2π)(sin θ + (π − θ) cos θ)``, and
  ``E[H(u)H(v)] = (π − θ)/(2π)`` (the wedge's share of the circle);
* **erf**: by Price's theorem ``∂E[φ(u)φ(v)]/∂c = E[φ'(u)φ'(v)]``; with ``φ' = (2/√π) e^{−u²}``
  the Gaussian integral gives ``(4/π) det(I + 2Σ)^{−1/2}``, and integrating in ``c`` from 0
  (where ``E = 0`` by oddness) gives ``(2/π) arcsin(2c/√((1+2q1)(1+2q2)))``.

For the lazy→rich committee, ``φ(h) = h + (ε/2)h²`` with ``w ~ N(0, I)``: ``E[φ'(u)φ'(v)] =
1 + ε² x·x'`` so ``Θ∞ ∝ x·x' + ε²(x·x')²``; on ``x ~ N(0, I/D)`` its eigenvalues are ``1/D``
on the ``D`` linear functions and ``2ε²/D²`` on the traceless quadratics (the paper's main
text prints ``2ε/D²``; its appendix derivation gives ``ε²``), so kernel regression needs
``P ~ D²/(2ε²)`` samples to fit the quadratic target.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import sympy as sp

__all__ = [
    "check_against_neural_tangents",
    "check_expectations",
    "check_lazy_spectrum",
    "derive",
    "derive_one",
    "main",
]

q1, q2, c, eps, D = sp.symbols("q1 q2 c epsilon D", positive=True)
a, b, theta, psi, r = sp.symbols("a b theta psi r", positive=True)
z1, z2 = sp.symbols("z1 z2", real=True)


def _gauss_expect(expr) -> sp.Expr:
    """``E[expr(z1, z2)]`` for independent standard normals (exact for polynomials)."""
    w = sp.exp(-(z1**2 + z2**2) / 2) / (2 * sp.pi)
    return sp.simplify(sp.integrate(sp.expand(expr) * w, (z1, -sp.oo, sp.oo), (z2, -sp.oo, sp.oo)))


def monomial_expectations(k: int) -> tuple[sp.Expr, sp.Expr]:
    """``E[u^k v^k]`` and ``E[(k u^{k−1})(k v^{k−1})]`` in ``q1, q2, c``."""
    u = sp.sqrt(q1) * z1
    rho = c / sp.sqrt(q1 * q2)
    v = sp.sqrt(q2) * (rho * z1 + sp.sqrt(1 - rho**2) * z2)
    e0 = sp.simplify(sp.expand(_gauss_expect(u**k * v**k)))
    e1 = (
        sp.simplify(sp.expand(_gauss_expect(k * u ** (k - 1) * k * v ** (k - 1)))) if k > 1 else sp.Integer(1)
    )
    return e0, e1


def relu_expectations() -> tuple[sp.Expr, sp.Expr]:
    """Arc-cosine kernels of degree 1 and 0 by the polar-coordinate integral (see module notes)."""
    radial3 = sp.integrate(r**3 * sp.exp(-(r**2) / 2), (r, 0, sp.oo))  # = 2
    radial1 = sp.integrate(r * sp.exp(-(r**2) / 2), (r, 0, sp.oo))  # = 1
    angular = sp.integrate(sp.cos(psi) * sp.cos(psi - theta), (psi, theta - sp.pi / 2, sp.pi / 2))
    e0 = sp.simplify(a * b / (2 * sp.pi) * radial3 * angular)
    e1 = sp.simplify(radial1 / (2 * sp.pi) * (sp.pi / 2 - (theta - sp.pi / 2)))
    return e0, e1


def _integrate_out(exponent: sp.Expr, z: sp.Symbol) -> tuple[sp.Expr, sp.Expr]:
    """``∫ exp(exponent) dz/√(2π) = pref · exp(rest)`` for ``exponent`` quadratic in ``z``
    (completing the square); returns ``(pref, rest)``."""
    poly = sp.Poly(sp.expand(exponent), z)
    alpha = -poly.coeff_monomial(z**2)
    beta = poly.coeff_monomial(z)
    gamma = poly.coeff_monomial(1)
    return sp.sqrt(sp.pi / alpha) / sp.sqrt(2 * sp.pi), sp.expand(beta**2 / (4 * alpha) + gamma)


def erf_expectations() -> tuple[sp.Expr, sp.Expr]:
    """``E[erf(u)erf(v)]`` and ``E[erf'(u)erf'(v)]`` via Price's theorem (see module notes)."""
    rho = sp.symbols("rho", positive=True)
    s_ = sp.sqrt(1 - rho**2)
    u = a * z1
    v = b * (rho * z1 + s_ * z2)
    # E[exp(−u² − v²)]: integrate z2, then z1 (each a Gaussian line integral)
    p2, rest = _integrate_out(-(u**2) - v**2 - z1**2 / 2 - z2**2 / 2, z2)
    p1, rest = _integrate_out(rest, z1)
    gauss = sp.simplify(p2 * p1 * sp.exp(sp.simplify(rest)))
    gauss = sp.simplify(gauss.subs(rho, c / (a * b)).subs({a: sp.sqrt(q1), b: sp.sqrt(q2)}))
    # φ' = (2/√π) e^{−h²}:  E[φ'(u)φ'(v)] = (4/π) E[e^{−u²−v²}]
    e1 = sp.simplify(4 / sp.pi * gauss)
    assert sp.simplify(e1**2 - 16 / sp.pi**2 / ((1 + 2 * q1) * (1 + 2 * q2) - 4 * c**2)) == 0
    # Price's theorem: ∂E[φφ]/∂c = E[φ'φ'] and E[φφ] = 0 at c = 0 (φ odd); the antiderivative
    # of (4/π)/√(K − 4c²) with K = (1+2q1)(1+2q2) is checked by differentiation
    Kq = (1 + 2 * q1) * (1 + 2 * q2)
    e0 = 2 / sp.pi * sp.asin(2 * c / sp.sqrt(Kq))
    assert sp.simplify(sp.diff(e0, c) - 4 / sp.pi / sp.sqrt(Kq - 4 * c**2)) == 0 and e0.subs(c, 0) == 0
    return e0, sp.simplify(4 / sp.pi / sp.sqrt(Kq - 4 * c**2))


def derive_one(activation: str) -> tuple[sp.Expr, sp.Expr]:
    """``(E[φ(u)φ(v)], E[φ'(u)φ'(v)])`` in ``q1, q2, c`` for one activation."""
    if activation == "relu":
        e0, e1 = relu_expectations()
        cos_t = c / sp.sqrt(q1 * q2)
        return (
            e0.subs({theta: sp.acos(cos_t), a: sp.sqrt(q1), b: sp.sqrt(q2)}),
            e1.subs(theta, sp.acos(cos_t)),
        )
    if activation == "erf":
        return erf_expectations()
    powers = {"linear": 1, "quadratic": 2, "cubic": 3}
    if activation not in powers:
        raise ValueError(f"activation must be relu, erf, linear, quadratic or cubic; got {activation!r}")
    return monomial_expectations(powers[activation])


def derive() -> dict:
    """All closed forms as sympy expressions keyed by activation."""
    return {act: derive_one(act) for act in ("relu", "erf", "linear", "quadratic", "cubic")}


def _numeric(expr):
    f = sp.lambdify((q1, q2, c), expr, "numpy")

    def evaluate(Q1, Q2, C):
        # |c| ≤ √(q1 q2): keep c/(√q1 √q2) inside arccos's domain despite round-off (changes
        # the value by at most a few ulps)
        bound = np.sqrt(np.asarray(Q1) * np.asarray(Q2)) * (1 - 4e-16)
        return f(Q1, Q2, np.clip(C, -bound, bound))

    return evaluate


def _rel_diff(mine, theirs) -> float:
    """Largest relative difference; NaN or infinity anywhere counts as a failure (``inf``)."""
    mine, theirs = np.asarray(mine, dtype=float), np.asarray(theirs, dtype=float)
    if not (np.all(np.isfinite(mine)) and np.all(np.isfinite(theirs))):
        return float("inf")
    return float(np.max(np.abs(mine - theirs)) / max(float(np.max(np.abs(theirs))), 1e-300))


def check_expectations(n_points: int = 40, seed: int = 0) -> float:
    """Largest relative difference between the derived forms and ``gaussian_expectations``."""
    from effgrok.kernels.ntk import gaussian_expectations

    rng = np.random.default_rng(seed)
    Q1 = rng.uniform(0.2, 3.0, n_points)
    Q2 = rng.uniform(0.2, 3.0, n_points)
    C = rng.uniform(-0.95, 0.95, n_points) * np.sqrt(Q1 * Q2)
    worst = 0.0
    for act, (e0, e1) in derive().items():
        ours = gaussian_expectations(act, Q1, Q2, C)
        for sym, num in ((e0, ours[0]), (e1, ours[1])):
            ref = np.broadcast_to(np.asarray(_numeric(sym)(Q1, Q2, C), dtype=float), num.shape)
            worst = max(worst, _rel_diff(num, ref))
    return worst


def check_against_neural_tangents(seed: int = 0) -> float:
    """Largest relative difference between the derived forms (as two-layer kernels) and
    neural-tangents' infinite-width NNGP/NTK."""
    from effgrok.kernels.ntk import neural_tangents_kernels

    x = np.random.default_rng(seed).standard_normal((6, 4))
    w_std, v_std = 1.3, 0.7
    s = w_std**2 / x.shape[1]
    dot = x @ x.T
    Q = s * np.diag(dot)
    worst = 0.0
    for act, (e0, e1) in derive().items():
        E0 = np.asarray(_numeric(e0)(Q[:, None], Q[None, :], s * dot), dtype=float)
        E1 = np.broadcast_to(
            np.asarray(_numeric(e1)(Q[:, None], Q[None, :], s * dot), dtype=float), dot.shape
        )
        nngp = v_std**2 * E0
        ntk = nngp + v_std**2 * s * dot * E1
        nt = neural_tangents_kernels(act, x, w_std=w_std, v_std=v_std)
        for mine, theirs in ((nngp, nt["nngp"]), (ntk, nt["ntk"])):
            worst = max(worst, _rel_diff(mine, theirs))
    return worst


def check_lazy_spectrum(dim: int = 12, epsilon: float = 0.3, samples: int = 40_000, seed: int = 0) -> dict:
    """Eigenvalues of ``Θ∞(x, x') = x·x' + ε²(x·x')²`` as an operator on ``L²(N(0, I/D))``:
    ``1/D`` (linear) and ``2ε²/D²`` (traceless quadratics), against a Monte-Carlo Nyström
    estimate (the top eigenvalues of ``K/n`` on ``n`` samples).  Returns both."""
    lin = sp.Rational(1, 1) / D
    quad = 2 * eps**2 / D**2
    x = np.random.default_rng(seed).standard_normal((samples, dim)) / np.sqrt(dim)
    # feature map of the kernel: x (linear) and ε vec(x xᵀ) (quadratic); its Gram operator's
    # nonzero spectrum equals the covariance spectrum of the features
    feats = np.concatenate([x, epsilon * np.einsum("ni,nj->nij", x, x).reshape(samples, -1)], axis=1)
    cov = feats.T @ feats / samples
    ev = np.sort(np.linalg.eigvalsh(cov))[::-1]
    n_lin = dim
    n_traceless = dim * (dim + 1) // 2 - 1
    predicted_lin = float(lin.subs(D, dim))
    predicted_quad = float(quad.subs({D: dim, eps: epsilon}))
    # the traceless quadratics are the bulk after the linear block and the trace direction
    bulk = np.sort(ev[ev < 0.5 * predicted_lin])[::-1]
    return {
        "predicted_linear": predicted_lin,
        "measured_linear": float(np.median(ev[:n_lin])),
        "predicted_traceless_quadratic": predicted_quad,
        "measured_traceless_quadratic": float(np.median(bulk[1 : 1 + n_traceless])),
    }


def main(out_dir: Path) -> dict:
    """Print the closed forms, write them as LaTeX, and return the checks' numbers."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    forms = derive()
    lines = ["# Two-layer NNGP and NTK expectations", ""]
    for act, (e0, e1) in forms.items():
        lines += [
            f"## {act}",
            "",
            f"$$E[\\phi(u)\\phi(v)] = {sp.latex(e0)}$$",
            "",
            f"$$E[\\phi'(u)\\phi'(v)] = {sp.latex(e1)}$$",
            "",
        ]
        print(f"{act}:  E[φφ] = {e0}\n        E[φ'φ'] = {e1}")
    spectrum = check_lazy_spectrum()
    lines += [
        "## Lazy-rich kernel spectrum",
        "",
        "$$\\lambda_{\\rm linear} = 1/D, \\qquad \\lambda_{\\rm quadratic} = 2\\varepsilon^2/D^2$$",
        "",
    ]
    (out_dir / "kernels.md").write_text("\n".join(lines))
    summary = {
        "max_rel_diff_vs_effgrok": check_expectations(),
        "max_rel_diff_vs_neural_tangents": check_against_neural_tangents(),
        "lazy_spectrum": spectrum,
    }
    print(summary)
    return summary
