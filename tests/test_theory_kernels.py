"""The two-layer kernel closed forms derived in theory/kernels.py against effgrok and neural-tangents."""

import numpy as np
import pytest
import sympy as sp

import theory.kernels as tk


def test_derived_forms_match_effgrok_expectations():
    assert tk.check_expectations() < 1e-10


def test_derived_forms_match_neural_tangents():
    pytest.importorskip("jax")
    assert tk.check_against_neural_tangents() < 1e-8


def test_relu_derivation_reproduces_the_arc_cosine_kernel():
    e0, e1 = tk.relu_expectations()
    th = tk.theta
    assert sp.simplify(e0 - tk.a * tk.b / (2 * sp.pi) * (sp.sin(th) + (sp.pi - th) * sp.cos(th))) == 0
    assert sp.simplify(e1 - (sp.pi - th) / (2 * sp.pi)) == 0


def test_monomial_moments_are_isserlis():
    e0, e1 = tk.monomial_expectations(2)
    assert sp.expand(e0 - (tk.q1 * tk.q2 + 2 * tk.c**2)) == 0 and sp.expand(e1 - 4 * tk.c) == 0


def test_lazy_kernel_spectrum():
    s = tk.check_lazy_spectrum(dim=10, epsilon=0.4, samples=30_000)
    assert s["measured_linear"] == pytest.approx(s["predicted_linear"], rel=0.03)
    assert s["measured_traceless_quadratic"] == pytest.approx(s["predicted_traceless_quadratic"], rel=0.05)


def test_nan_counts_as_failure():
    assert tk._rel_diff(np.array([np.nan]), np.array([1.0])) == float("inf")
