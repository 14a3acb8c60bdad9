"""The symbolic derivations of ``theory/`` against effgrok's numeric code, at small sizes."""

import functools
import json

import numpy as np
import pytest
import sympy as sp

import effgrok as eg
from theory import MODULES, critical_size, effective_loss, gram_spectrum
from theory import __main__ as theory_main

TASKS = ("add", "add-mod")


# --------------------------------------------------------------------------- effective loss
@pytest.mark.parametrize("name", TASKS)
@pytest.mark.parametrize("p", [3, 4, 5])
def test_task_encoding_and_gram_matrix_exact(name, p):
    effective_loss.check_task_encoding(name, p)
    effective_loss.check_gram(name, p, seed=p)


@pytest.mark.parametrize("name", TASKS)
@pytest.mark.parametrize("p", [3, 4, 5, 6])
def test_full_table_null_space(name, p):
    assert effective_loss.check_nullity(name, p) == (2 if name == "add" else 1)


@pytest.mark.parametrize("name", TASKS)
@pytest.mark.parametrize(("p", "d"), [(3, 1), (4, 2), (5, 1)])
def test_gradient_matches_effgrok_in_every_convention(name, p, d):
    assert effective_loss.check_gradient(name, p, d, seed=10 + p) <= 1e-10
    effective_loss.check_gradient_exact(name, p, d, seed=20 + p)


@pytest.mark.parametrize("name", TASKS)
@pytest.mark.parametrize(("p", "d"), [(4, 1), (4, 2)])
def test_flow_invariants_and_hessian(name, p, d):
    effective_loss.check_flow_invariants(name, p, d, seed=3)
    assert effective_loss.check_hessian(name, p, d, seed=4) <= 1e-10


@pytest.mark.parametrize("name", TASKS)
def test_all_identities_derived(name):
    result = effective_loss.derive(name, 4, 2)
    flags = {k: v for k, v in result.items() if isinstance(v, bool)}
    assert flags and all(flags.values()), flags
    assert result["nullity"] == eg.full_table_nullity(eg.make_task(name, 4))


def test_gradient_check_detects_a_wrong_loss(monkeypatch):
    """A loss off by one parallelogram must fail the comparison with effgrok."""
    original = effective_loss.parallelogram_set
    monkeypatch.setattr(effective_loss, "parallelogram_set", lambda *a, **k: original(*a, **k)[1:])
    with pytest.raises(AssertionError):
        effective_loss.check_gradient("add", 4, 1, seed=0)


# --------------------------------------------------------------------------- Gram spectrum
@pytest.mark.parametrize("name", TASKS)
@pytest.mark.parametrize("p", range(3, 13))
def test_full_table_gram_matches_effgrok(name, p):
    gram_spectrum.check_full_table_gram(name, p)


@pytest.mark.parametrize("p", range(3, 15))
def test_lambda3_add(p):
    gram_spectrum.check_lambda3_add(p)


def test_lambda3_is_exactly_30_at_p10():
    root, minpoly = gram_spectrum.lambda3("add", 10)
    assert root == 30 and minpoly == sp.Poly(gram_spectrum.x - 30, gram_spectrum.x)


def test_even_p_derivation_and_odd_p_bound():
    m = gram_spectrum.m
    pair = gram_spectrum.even_p_eigenpair()
    assert sp.expand(pair["eigenvalue"] - m * (m + 1)) == 0
    assert sp.expand(pair["end"] - (m**2 - 1)) == 0
    bound = gram_spectrum.odd_p_rayleigh_bound()
    assert sp.simplify(bound["bound_minus_square"] - (m + 1) / (2 * m - 1)) == 0
    for p in (21, 23, 41):  # beyond the exact range: numeric λ3 of effgrok within the bounds
        task = eg.make_task("add", p)
        lam = eg.grokking_rate(task, np.ones(task.n_examples, bool)).gram_eigenvalue
        low, high = gram_spectrum.lambda3_add_odd_bounds(p)
        assert float(low) < lam <= float(high)
    for p in (22, 30, 60):
        task = eg.make_task("add", p)
        lam = eg.grokking_rate(task, np.ones(task.n_examples, bool)).gram_eigenvalue
        assert lam == pytest.approx(p * (p + 2) / 4, rel=1e-10)


@pytest.mark.parametrize("p", [*range(3, 17), 25, 32])
def test_modular_spectrum_closed_form(p):
    gram_spectrum.check_modular_lemmas(p)
    assert gram_spectrum.check_modular_spectrum(p) <= 1e-10


def test_modular_eigenvalue_cases():
    p = gram_spectrum.p_sym
    odd = gram_spectrum.modular_eigenvalue_cases("odd")
    assert odd["q = 0"] == 0 and sp.expand(odd["q != 0"] - p * (p + 3) / 2) == 0
    even = gram_spectrum.modular_eigenvalue_cases("even")
    assert sp.expand(even["q = p/2"] - (p**2 / 2 + 2 * p + 1 - (-1) ** (p / 2))) == 0


# --------------------------------------------------------------------------- critical size
@pytest.mark.parametrize("name", TASKS)
@pytest.mark.parametrize("p", [3, 4])
def test_critical_size_exact_formulas_by_enumeration(name, p):
    critical_size.check_class_sizes(name, p)
    critical_size.check_exact_formulas(name, p)


@pytest.mark.parametrize("name", TASKS)
def test_exact_pinning_curve_against_scan(name):
    assert critical_size.check_exact_curve_against_scan(name, 4, splits=20_000) <= 5.0


@pytest.mark.parametrize("name", TASKS)
@pytest.mark.parametrize("p", [10, 20, 50])
def test_estimate_against_scan(name, p):
    critical_size.check_class_sizes(name, p)
    ratio = critical_size.check_estimate_against_scan(name, p, splits=1000, tolerance=0.1)
    assert 0.9 <= ratio <= 1.1


def test_large_p_limits():
    x = critical_size.x_sym
    assert sp.simplify(critical_size.modular_log_free_limit() + 2 * x * (1 - sp.exp(-x))) == 0
    assert float(critical_size.boundary_layer_constant()) == pytest.approx(3.6838715105404125, rel=1e-12)
    for name in TASKS:
        n_fin = critical_size.coupon_size(name, 400)
        assert critical_size.continuum_critical_size(name, 400) == pytest.approx(n_fin, rel=0.02)


# --------------------------------------------------------------------------- smoke: main(), python -m theory
SMALL_MAINS = {
    "effective_loss": {"p_values": (3,), "dims": (1, 2), "check_p_values": (3,)},
    "gram_spectrum": {
        "charpoly_p": range(3, 8),
        "even_p_max": 8,
        "odd_exact_max": 9,
        "odd_minpoly_max": 9,
        "odd_numeric_p": (7, 9),
        "modular_p_max": 8,
    },
    "critical_size": {"p_values": (10,), "splits": 200, "exact_p": (3,)},
}


def test_every_module_main_writes_its_files(tmp_path, monkeypatch):
    """``main()`` of each effective-theory module (small sizes) through ``python -m theory``'s runner."""
    modules = {
        "effective_loss": effective_loss,
        "gram_spectrum": gram_spectrum,
        "critical_size": critical_size,
    }
    assert set(modules) <= set(MODULES)
    for name, module in modules.items():
        monkeypatch.setattr(module, "main", functools.partial(module.main, **SMALL_MAINS[name]))
    summary = theory_main.run(tmp_path, modules=tuple(modules))
    assert set(summary) == set(modules)
    stored = json.loads((tmp_path / "summary.json").read_text())
    assert set(stored) == set(modules)
    for name in modules:
        assert stored[name]["seconds"] >= 0
        for file in stored[name]["files"]:
            text = (tmp_path / file).read_text()
            assert "$$" in text and len(text) > 200
    assert stored["effective_loss"]["all_identities_hold"] is True
    assert stored["gram_spectrum"]["add_lambda3_exact"]["6"] == "12"
    assert stored["critical_size"]["scan"][0]["p"] == 10
