import math

import numpy as np
import pytest
from conftest import naive_nullity, naive_rows

import effgrok as eg


def test_full_table_rate_p10(add10):
    r = eg.grokking_rate(add10, np.ones(55, bool), learning_rate=1e-3)
    assert r.pinned and r.nullity == 2 and r.full_nullity == 2
    assert r.gram_eigenvalue == pytest.approx(30.0, rel=1e-12)
    assert r.z0 == pytest.approx(10 / 12, rel=1e-15)  # E‖E0‖² of a U(−½, ½) start, 10 symbols
    assert r.grokking_rate == pytest.approx(2 * 30 / (10 / 12), rel=1e-12)
    assert r.n_h == pytest.approx(1 / (1e-3 * 2 * 30 / (10 / 12)), rel=1e-12)
    # SPEC §5 reference-code number (a standardised start, Z0 = 9): 2 η λ3(H) ≈ 0.0133
    s9 = eg.grokking_rate(add10, np.ones(55, bool), learning_rate=1e-3, z0=9.0)
    assert 2 * 1e-3 * s9.grokking_rate == pytest.approx(0.013333, rel=1e-4)
    m = eg.grokking_rate(add10, np.ones(55, bool), normalization="mean")
    assert m.grokking_rate == pytest.approx(r.grokking_rate / 70, rel=1e-12)


@pytest.mark.parametrize("seed", range(8))
def test_rate_matches_naive_spectrum(add10, seed):
    s = eg.random_split(add10, fraction=0.7, seed=seed)
    A = naive_rows(add10, s.mask)
    ev = np.linalg.eigvalsh(A.T @ A)
    r = eg.grokking_rate(add10, s, learning_rate=0.01, z0=4.0)
    assert r.nullity == naive_nullity(add10, s.mask)
    assert r.pinned == (r.nullity == 2) == eg.structure_pinned(add10, s)
    if r.pinned:
        assert r.gram_eigenvalue == pytest.approx(ev[2], rel=1e-10)
        assert r.grokking_rate == pytest.approx(2 * ev[2] / 4.0, rel=1e-10)


def test_unpinned_rate_is_zero(add10):
    s = eg.split_from_pairs(add10, [(0, 1), (2, 3)])
    r = eg.grokking_rate(add10, s)
    assert not r.pinned and r.gram_eigenvalue == 0.0 and r.grokking_rate == 0.0 and math.isinf(r.n_h)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"learning_rate": 0}, "learning_rate must be a positive"),
        ({"z0": -1}, "z0"),
        ({"normalization": "avg"}, "normalization"),
    ],
)
def test_rate_rejects_bad_parameters(add10, kw, match):
    with pytest.raises(ValueError, match=match):
        eg.grokking_rate(add10, np.ones(55, bool), **kw)


def test_nullity_tolerance_is_scale_aware():
    G = np.diag([0.0, 1e-14, 3.0, 1e6])
    assert eg.nullity(G) == 2
    assert eg.nullity(G * 1e8) == 2


def test_default_z0_is_the_mean_initial_norm_of_simulate(add10):
    # oracle: Monte-Carlo mean of ‖E0‖² over simulate's own U(−½, ½) starts
    rng = np.random.default_rng(0)
    z = [np.sum(eg.initial_embedding(add10, rng=rng) ** 2) for _ in range(4000)]
    assert eg.default_z0(add10) == pytest.approx(np.mean(z), rel=0.02)
    assert eg.default_z0(add10, dim=3) == pytest.approx(3 * 10 / 12, rel=1e-15)
    with pytest.raises(ValueError, match="dim"):
        eg.default_z0(add10, dim=0)


def test_rate_and_simulate_share_one_n_h(add10):
    # the same start gives the same n_h in grokking_rate (z0 = ‖E0‖²) and simulate
    split = eg.random_split(add10, fraction=0.8, seed=3)
    E0 = eg.initial_embedding(add10, rng=5)
    tr = eg.simulate(add10, split, init=E0, steps=10, method="euler")
    r = eg.grokking_rate(add10, split, z0=float(np.sum(E0**2)))
    assert tr.z0 == pytest.approx(r.z0, rel=1e-14)
    assert tr.n_h == pytest.approx(r.n_h, rel=1e-12)
