"""Hermite coefficients, kernel series and spectra, and the lazy test loss (theory/hermite.py and
effgrok.kernels.hermite) against closed forms, sympy integrals and effgrok's kernel regression."""

import functools
import json
import math

import numpy as np
import pytest
from scipy.special import erf

import theory.hermite as th
from effgrok.kernels import (
    Committee,
    dot_product_kernel_eigenvalues,
    harmonic_multiplicities,
    hermite_coefficients,
    kernel_series,
    lazy_test_loss,
)
from theory import MODULES
from theory import __main__ as theory_main


# --------------------------------------------------------------------------- symbolic (exact)
def test_closed_forms_equal_direct_integrals_exactly():
    assert th.check_closed_forms(max_degree=8) == 6 * 9 + 2 * 2 * 9 - 2 * 9  # relu, erf at two q's


def test_hermite_series_equals_taylor_series_of_closed_form_kernels_exactly():
    assert th.check_series_exact(order=8, names=("relu", "erf", "linear", "quadratic")) == 4 * 2 * 2 * 9


def test_closed_form_detects_a_wrong_coefficient(monkeypatch):
    """The exact checks can fail: perturb one ReLU coefficient."""
    original = th.closed_form
    monkeypatch.setattr(
        th, "closed_form", lambda name, k, variance=1: original(name, k, variance) * (2 if k == 4 else 1)
    )
    with pytest.raises(AssertionError, match="k = 4"):
        th.check_closed_forms(max_degree=4)


def test_series_matches_closed_forms_numerically():
    assert th.check_series_numeric() < 1e-12


def test_funk_hecke_eigenvalues_and_mercer_trace():
    assert th.check_eigenvalues(dims=(3, 4, 5), max_power=4) < 1e-12


# --------------------------------------------------------------------------- numeric library
def test_quadrature_matches_closed_forms():
    assert th.check_quadrature() < 1e-10


def test_hermite_coefficients_of_polynomials_are_exact_gauss_hermite():
    # z^4 = He_4 + 6 He_2 + 3 (Isserlis), at variance q: q² z^4
    c = hermite_coefficients(lambda h: h**4, 6, variance=2.0, nodes=10)
    np.testing.assert_allclose(c, 4.0 * np.array([3, 0, 6, 0, 1, 0, 0]), atol=1e-12)


def test_relu_without_breakpoint_is_inaccurate_and_with_it_is_not():
    """Gauss–Hermite on a kink converges algebraically: the breakpoint option matters."""
    exact = np.array([float(th.closed_form("relu", k)) for k in range(9)])
    plain = hermite_coefficients(lambda h: np.maximum(h, 0), 8, nodes=60)
    split = hermite_coefficients(lambda h: np.maximum(h, 0), 8, nodes=60, breakpoints=(0,))
    assert np.max(np.abs(plain - exact)) > 1e-6
    assert np.max(np.abs(split - exact)) < 1e-13


def test_lazy_rich_series_is_the_committee_infinite_ntk():
    eps = 0.3
    c = hermite_coefficients(lambda h: h + eps / 2 * h * h, 4)
    a = kernel_series(c, "ntk_first_layer")
    np.testing.assert_allclose(a, [0, 1, eps**2, 0, 0], atol=1e-14)
    x = np.random.default_rng(0).standard_normal((5, 7)) / math.sqrt(7)
    rho = x @ x.T
    committee = Committee(width=1, epsilon=eps)
    np.testing.assert_allclose(np.polyval(a[::-1], rho), committee.infinite_ntk(x), rtol=1e-13)


def test_erf_nngp_series_against_williams_kernel():
    """Truncated series from quadrature coefficients vs the erf NNGP (2/π) arcsin(2ρ/3) at q = 1."""
    a = kernel_series(hermite_coefficients(erf, 61), "nngp")
    rho = np.array([-0.8, -0.3, 0.2, 0.6, 0.95])
    np.testing.assert_allclose(np.polyval(a[::-1], rho), 2 / np.pi * np.arcsin(2 * rho / 3), rtol=1e-12)


def test_multiplicities_count_polynomials_on_the_sphere():
    # Σ_{ℓ ≤ L} N_ℓ = dim of polynomials of degree ≤ L on S^{D−1} = C(D+L−1, L) + C(D+L−2, L−1)
    for dim in (2, 3, 10, 57):
        n = harmonic_multiplicities(6, dim)
        for L in range(1, 7):
            assert n[: L + 1].sum() == math.comb(dim + L - 1, L) + math.comb(dim + L - 2, L - 1)


def test_eigenvalues_tend_to_a_l_factorial_over_d_power():
    a = np.array([0.3, 1.0, 0.5, 0.2, 0.1])
    for dim in (10**4, 10**6):
        mu = dot_product_kernel_eigenvalues(a, dim)
        lead = a * np.array([math.factorial(k) for k in range(5)]) / float(dim) ** np.arange(5)
        assert np.max(np.abs(mu / lead - 1)) < 30 / dim  # O(1/D) corrections


def test_mercer_trace_at_large_dimension():
    a = np.array([0.1, 0.7, 0.2, 0.05, 0.3, 0.01])
    for dim in (8, 300, 10**5):
        tr = np.sum(harmonic_multiplicities(5, dim) * dot_product_kernel_eigenvalues(a, dim))
        assert tr == pytest.approx(a.sum(), rel=1e-12)


# --------------------------------------------------------------------------- lazy test loss
def test_linear_regression_below_interpolation_threshold():
    """One block (linear kernel, linear target): min-norm regression on isotropic features has
    test error ``1 − P/D`` (``P < D``) and ``σ² D/(P−D)`` noise error above."""
    for P in (5, 20, 37):
        r = lazy_test_loss([0, 1], [0, 1], P, 40)
        assert r.test_loss == pytest.approx(1 - P / 40, rel=1e-10)
    r = lazy_test_loss([0, 1], [0, 1], 100, 40, noise=0.1)
    assert r.kappa == 0 and r.test_loss == pytest.approx(0.1 * 100 / 60, rel=1e-12)


def test_ridge_matches_the_single_block_quadratic():
    """Single block with ridge: κ solves ``N μ/(μ+κ) + λ/κ = P`` (a quadratic)."""
    dim, P, lam = 30, 12, 0.05
    r = lazy_test_loss([0, 1], [0, 1], P, dim, ridge=lam)
    mu = 1 / dim
    # P κ² + (P μ − N μ − λ) κ − λ μ = 0
    b = P * mu - dim * mu - lam
    kappa = (-b + math.sqrt(b * b + 4 * P * lam * mu)) / (2 * P)
    assert r.kappa == pytest.approx(kappa, rel=1e-10)


def test_staircase_thresholds_for_the_lazy_rich_kernel():
    r = lazy_test_loss([0, 1, 0.02**2], [0.5, 0, 0.5], 550, 100)
    assert r.multiplicities.tolist() == [1, 100, 5049]
    assert r.thresholds.tolist() == [101, 100, 5150]
    assert r.fitted.tolist() == [True, True, False] and r.plateau_loss == pytest.approx(0.5)
    # ridgeless and noiseless: ε only orders the blocks (μ₀ = ε²/D > μ₂ = 2ε²/(D(D+2)))
    assert lazy_test_loss([0, 1, 0.5**2], [0.5, 0, 0.5], 550, 100).test_loss == pytest.approx(
        r.test_loss, rel=0.03
    )
    assert lazy_test_loss([0, 1, 4e-4], [0.5, 0, 0.5], 6000, 100).test_loss < 1e-12


def test_eigenlearning_matches_kernel_regression():
    rows = th.check_lazy_loss(dim=30, epsilon=0.2, samples=(60, 200), seeds=3, test_samples=300)
    for row in rows:
        assert abs(row["eigenlearning"] - row["measured"]) < max(0.15 * row["measured"], 3 * row["sem"]), row


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: hermite_coefficients(3.0, 2), "fn must be callable"),
        (lambda: hermite_coefficients(np.sin, -1), "degree"),
        (lambda: hermite_coefficients(np.sin, 2, variance=0), "variance"),
        (lambda: hermite_coefficients(np.sin, 2, breakpoints=("a",)), "breakpoints"),
        (lambda: hermite_coefficients(lambda h: 1.0, 2), "same shape"),
        (lambda: kernel_series([1.0], "ntk2"), "kind"),
        (lambda: dot_product_kernel_eigenvalues([1.0], 1), "dim"),
        (lambda: lazy_test_loss([-1.0, 1.0], [0, 1], 10, 5), "kernel_coeffs"),
        (lambda: lazy_test_loss([0, 1], [0, np.nan], 10, 5), "target_coeffs"),
        (lambda: lazy_test_loss([0, 1], [0, 1], 0, 5), "samples"),
        (lambda: lazy_test_loss([0, 1], [0, 1], 10, 5, ridge=-1), "ridge"),
    ],
)
def test_bad_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --------------------------------------------------------------------------- python -m theory
def test_main_writes_markdown(tmp_path, monkeypatch):
    assert "hermite" in MODULES
    small = {
        "max_degree": 4,
        "order": 4,
        "lazy": {"dim": 20, "samples": (30,), "seeds": 2, "test_samples": 100},
    }
    monkeypatch.setattr(th, "main", functools.partial(th.main, **small))
    theory_main.run(tmp_path, modules=("hermite",))
    stored = json.loads((tmp_path / "summary.json").read_text())["hermite"]
    text = (tmp_path / "hermite.md").read_text()
    assert "$$" in text and "eigenlearning" in text
    assert stored["quadrature_max_rel_diff"] < 1e-10 and stored["files"] == ["hermite.md"]
