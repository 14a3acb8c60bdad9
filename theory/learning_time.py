r"""The learning-time law of the toy model (issue 27), derived from a bilinear progress model.

**Model.**  Two progress variables: ``x`` -- the embedding's structured (linear-in-the-symbol)
displacement in units of its initial spread ``σ_e = s_e/√12``; ``y`` -- the decoder's aligned
change in units of its hidden weights' scale ``σ_d = s_d/√W``.  Assumptions, written down:

A1. The structured part of the output is bilinear in the two: ``∝ x·y`` (an encoder--decoder
    linearised around its start, as for two-layer linear networks: Saxe et al. 2014); the
    representation is learned (RQI > 0.95) when ``x·y`` reaches one constant ``c``.
A2. Both start near the saddle, ``x(0) = y(0) = 0`` (the random start carries no structure).
A3. Adam takes normalised steps: while a coordinate's gradient keeps its sign, it moves ``η`` per
    step whatever the gradient's size (Adam's ``m/√v → sign``), so ``ẋ = η_e/σ_e``,
    ``ẏ = η_d/σ_d``: progress is linear in time.
A4. Plain gradient descent moves the embeddings by ``η_e`` times the gradient; by A1 the gradient
    on ``x`` is proportional to the decoder's progress ``y``: ``ẋ = g η_e y/σ_e`` (``g`` a constant:
    the gradient per unit of decoder progress).  The decoder keeps Adam (A3).
A5. The race: the decoder alone memorises the ``n`` training examples when its progress reaches
    ``y = μ n`` (the same progress per example), at ``t_m = μ n τ_d``; after that the gradient
    that organises the embedding is gone, so a run whose route has not crossed is never learned.
A6. Nothing else sets the clock: ``λ3`` and the training set enter only through whether the set
    pins the structure (a set that does not pin is never learned); across initialisations the
    route and memorisation times are independent log-normals with one spread ``s``.

**Result.**  With ``τ_e = σ_e/η_e``, ``τ_d = σ_d/η_d``:

    Adam:   x y = t²/(τ_e τ_d) = c       ⇒  t̂ = √(c τ_e τ_d),
    GD:     x y = g η_e t³/(2 σ_e τ_d²) = c  ⇒  t̂ = (2 c σ_e τ_d² / (g η_e))^{1/3},

so ``∂ln t̂/∂ln η_e = ∂ln t̂/∂ln η_d = −½`` (Adam) and ``−⅓``, ``−⅔`` (GD on the embeddings), and
``t̂ ∝ W^{−1/4}`` (Adam) or ``W^{−1/3}`` (GD).  The effective theory's ``n_h = 1/(η_e λ3)`` has
exponents ``−1`` and ``0`` instead.  The route beats memorisation (``t̂ < t_m``) when

    Adam:   η_e/η_d > c σ_e/(μ² n² σ_d),        GD:   η_e > 2 c σ_e η_d/(g μ³ n³ σ_d),

and with equal log-spreads a pinned run is ever learned with probability ``Φ(ln(t_m/t̂)/(s√2))``.

``check_against_library`` compares :func:`effgrok.effective.learning_time.learning_time_steps`
with the sympy closed forms; ``check_sign_flow`` integrates the sign-step model itself (a
bilinear loss ``½(c − xy)²`` under Adam-like ``sign`` steps, or GD on ``x``) with a small start
and compares the crossing time with the closed form.
"""

from __future__ import annotations

import functools
import math
import pathlib

import numpy as np
import sympy as sp

t, eta_e, eta_d, sig_e, sig_d, c, g = sp.symbols("t eta_e eta_d sigma_e sigma_d c g", positive=True)
tau_e = sig_e / eta_e
tau_d = sig_d / eta_d


@functools.cache
def progress_adam() -> tuple[sp.Expr, sp.Expr]:
    """``x(t), y(t)`` under A2-A3 (sympy ``dsolve``)."""
    x, y = sp.Function("x"), sp.Function("y")
    xs = sp.dsolve(sp.Eq(x(t).diff(t), eta_e / sig_e), x(t), ics={x(0): 0}).rhs
    ys = sp.dsolve(sp.Eq(y(t).diff(t), eta_d / sig_d), y(t), ics={y(0): 0}).rhs
    return xs, ys


@functools.cache
def progress_gd() -> tuple[sp.Expr, sp.Expr]:
    """``x(t), y(t)`` under A2, A4 (GD on the embeddings, Adam on the decoder)."""
    x = sp.Function("x")
    _, ys = progress_adam()
    xs = sp.dsolve(sp.Eq(x(t).diff(t), g * eta_e * ys / sig_e), x(t), ics={x(0): 0}).rhs
    return xs, ys


@functools.cache
def learning_time(optimizer: str = "adam") -> sp.Expr:
    """``t̂`` solving ``x(t) y(t) = c`` (the one positive root)."""
    xs, ys = progress_adam() if optimizer == "adam" else progress_gd()
    (root,) = sp.solve(sp.Eq(xs * ys, c), t)
    return sp.simplify(root)


def exponents(optimizer: str = "adam") -> dict[str, sp.Expr]:
    """``∂ ln t̂ / ∂ ln q`` for the rates and scales."""
    T = learning_time(optimizer)
    return {str(q): sp.simplify(q * sp.diff(sp.log(T), q)) for q in (eta_e, eta_d, sig_e, sig_d)}


def closed_forms() -> dict[str, sp.Expr]:
    """The two laws written as in the library, for comparison with :func:`learning_time`."""
    return {
        "adam": sp.sqrt(c * tau_e * tau_d),
        "gd-embedding": (2 * c * sig_e * tau_d**2 / (g * eta_e)) ** sp.Rational(1, 3),
    }


mu, n, s_ = sp.symbols("mu n s", positive=True)


@functools.cache
def memorisation_time() -> sp.Expr:
    """``t_m``: the decoder's progress ``y(t) = t/τ_d`` reaches ``μ n``."""
    _, ys = progress_adam()
    (root,) = sp.solve(sp.Eq(ys, mu * n), t)
    return root


@functools.cache
def phase_boundary(optimizer: str = "adam") -> sp.Expr:
    """The rate at which ``t̂ = t_m``: ``η_e/η_d`` (Adam) or ``η_e`` (GD) on the boundary."""
    if optimizer == "adam":
        r = sp.symbols("r", positive=True)  # r = η_e/η_d
        eq = sp.Eq(learning_time("adam").subs(eta_e, r * eta_d) ** 2, memorisation_time() ** 2)
        (root,) = sp.solve(eq, r)
        return sp.simplify(root)
    (root,) = sp.solve(sp.Eq(learning_time("gd-embedding") ** 3, memorisation_time() ** 3), eta_e)
    return sp.simplify(root)


@functools.cache
def ever_learned_probability() -> sp.Expr:
    """``P(X < Y)`` for independent ``X ~ N(a, s²)``, ``Y ~ N(b, s²)`` (``a = ln t̂``, ``b = ln t_m``):
    ``D = X − Y ~ N(a − b, 2s²)`` (sum of independent normals), and ``P(D < 0)`` by integrating its
    density: ``½(1 + erf((b − a)/(2s))) = Φ(ln(t_m/t̂)/(s√2))``."""
    a, b, d = sp.symbols("a b d", real=True)
    var = 2 * s_**2
    density = sp.exp(-((d - (a - b)) ** 2) / (2 * var)) / sp.sqrt(2 * sp.pi * var)
    return sp.simplify(sp.integrate(density, (d, -sp.oo, 0)))


def check_race() -> None:
    """Phase boundaries and the ever-learned probability in closed form."""
    assert sp.simplify(phase_boundary("adam") - c * sig_e / (mu**2 * n**2 * sig_d)) == 0
    gd = 2 * c * sig_e * eta_d / (g * mu**3 * n**3 * sig_d)
    assert sp.simplify(phase_boundary("gd-embedding") - gd) == 0
    a, b = sp.symbols("a b", real=True)
    expected = (1 + sp.erf((b - a) / (2 * s_))) / 2
    assert sp.simplify(ever_learned_probability() - expected) == 0


def check_learned_by(tol: float = 1e-6) -> float:
    """The library's ``F(∞)`` (Simpson quadrature) equals the closed form ``Φ(ln(t_m/t̂)/(s√2))``."""
    from effgrok._learning_time import learned_by

    a, b = sp.symbols("a b", real=True)
    closed = sp.lambdify((a, b, s_), ever_learned_probability(), modules="math")
    worst = 0.0
    for th, tm, sp_ in [(500.0, 1000.0, 0.3), (800.0, 400.0, 0.2), (100.0, 100.0, 0.5), (50.0, 5e4, 0.28)]:
        worst = max(
            worst, abs(learned_by(1e12, th, tm, sp_) - float(closed(math.log(th), math.log(tm), sp_)))
        )
    assert worst <= tol, worst
    return worst


def check_closed_forms() -> None:
    """``dsolve`` + ``solve`` give the closed forms of the module docstring."""
    for opt, form in closed_forms().items():
        assert sp.simplify(learning_time(opt) - form) == 0, opt
    half, third = sp.Rational(1, 2), sp.Rational(1, 3)
    assert exponents("adam") == {"eta_e": -half, "eta_d": -half, "sigma_e": half, "sigma_d": half}
    assert exponents("gd-embedding") == {
        "eta_e": -third,
        "eta_d": -2 * third,
        "sigma_e": third,
        "sigma_d": 2 * third,
    }


def check_against_library(rtol: float = 1e-12) -> float:
    """Largest relative difference between the library's ``learning_time_steps`` and the sympy
    forms over a grid of rates, widths, scales and constants."""
    from effgrok.effective.learning_time import learning_time_steps

    forms = {k: sp.lambdify((eta_e, eta_d, sig_e, sig_d, c, g), v) for k, v in learning_time_forms().items()}
    worst = 0.0
    for opt, f in forms.items():
        for le, ld, w, se, sd, cc, gg in [
            (1e-3, 1e-4, 200, 1.0, 1.0, 4.0, 0.5),
            (3e-2, 2e-5, 50, 0.3, 2.0, 1.0, 3.0),
            (0.5, 1e-3, 400, 2.0, 0.5, 10.0, 0.01),
        ]:
            ref = f(le, ld, se / math.sqrt(12), sd / math.sqrt(w), cc, gg)
            got = learning_time_steps(le, ld, opt, w, se, sd, c=cc, g=gg)
            worst = max(worst, abs(got / ref - 1))
    assert worst <= rtol, worst
    return worst


def learning_time_forms() -> dict[str, sp.Expr]:
    """``t̂`` for both optimisers, from the flow (not the written closed forms)."""
    return {"adam": learning_time("adam"), "gd-embedding": learning_time("gd-embedding")}


def sign_flow_time(
    optimizer: str, eta_x: float, eta_y: float, c_: float, g_: float = 1.0, start: float = 1e-6
) -> float:
    """First step at which ``x·y ≥ c`` for the discrete bilinear model: loss ``½(c − x y)²``;
    the decoder ``y`` takes sign steps ``η_y sign(∂)``; ``x`` sign steps (Adam) or gradient
    steps scaled so that ``ẋ = g η_x y`` while far from the target (GD).  Units: ``σ = 1``."""
    x = y = start
    for k in range(10_000_000):
        if x * y >= c_:
            return float(k)
        r = c_ - x * y  # residual; −∂L/∂x = r y, −∂L/∂y = r x
        if optimizer == "adam":
            x, y = x + eta_x * np.sign(r * y), y + eta_y * np.sign(r * x)
        else:
            x, y = x + g_ * eta_x * y * np.sign(r), y + eta_y * np.sign(r * x)
    return math.inf


def check_sign_flow(rtol: float = 0.02) -> float:
    """The discrete sign-step model crosses ``x y = c`` at the closed-form time (relative error
    ``≤ rtol`` for steps ≫ 1)."""
    worst = 0.0
    for opt, (ex, ey, cc, gg) in [
        ("adam", (1e-3, 3e-4, 0.5, 1.0)),
        ("adam", (2e-3, 1e-3, 2.0, 1.0)),
        ("gd-embedding", (0.05, 1e-3, 1.0, 2.0)),
        ("gd-embedding", (0.2, 5e-4, 0.5, 1.0)),
    ]:
        steps = sign_flow_time(opt, ex, ey, cc, gg)
        form = closed_forms()[opt].subs({eta_e: ex, eta_d: ey, sig_e: 1, sig_d: 1, c: cc, g: gg})
        worst = max(worst, abs(steps / float(form) - 1))
    assert worst <= rtol, worst
    return worst


def main(out_dir: pathlib.Path | None = None) -> dict:
    """Print the derivation's results and run its checks; return a JSON-able summary."""
    check_closed_forms()
    lib = check_against_library()
    flow = check_sign_flow()
    check_race()
    quad = check_learned_by()
    forms = learning_time_forms()
    for opt, form in forms.items():
        print(f"t̂ ({opt}) = {form}")
        print(f"  exponents: {exponents(opt)}")
    print(
        f"phase boundary (Adam): η_e/η_d = {phase_boundary('adam')}; "
        f"(GD): η_e = {phase_boundary('gd-embedding')}"
    )
    print(f"P(ever learned | pinned) = {ever_learned_probability()}")
    print(
        f"library vs sympy: max relative difference {lib:.1e}; sign-step model vs closed form: {flow:.3f}; "
        f"F(∞) quadrature vs closed form: {quad:.1e}"
    )
    return {
        "laws": {k: str(v) for k, v in forms.items()},
        "exponents": {k: {q: str(e) for q, e in exponents(k).items()} for k in forms},
        "library_max_rel_diff": lib,
        "sign_flow_max_rel_diff": flow,
        "phase_boundary": {k: str(phase_boundary(k)) for k in forms},
        "ever_learned_probability": str(ever_learned_probability()),
        "learned_by_quadrature_error": quad,
    }


if __name__ == "__main__":
    main()
