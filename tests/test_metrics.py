import numpy as np
import pytest
from conftest import naive_rows

import effgrok as eg


def test_rqi_linear_is_one_and_invariant(add10):
    lin = np.arange(10.0)
    assert eg.rqi(add10, lin) == 1.0
    assert eg.rqi(add10, 3.0 + 7.5 * lin) == 1.0
    rng = np.random.default_rng(0)
    E = rng.normal(size=(10, 3))
    base = eg.rqi(add10, E)
    assert base < 1.0
    assert eg.rqi(add10, E + rng.normal(size=3)) == pytest.approx(base)
    assert eg.rqi(add10, E * np.array([0.1, 5.0, 2.0])) == pytest.approx(base)
    assert eg.rqi(add10, np.ones(10)) == 0.0  # constant embedding: no structure


def test_rqi_matches_naive_count(add10):
    rng = np.random.default_rng(3)
    for _ in range(20):
        E = np.arange(10.0)[:, None] + 0.04 * rng.normal(size=(10, 2))
        z = (E - E.mean(0)) / E.std(0, ddof=1)
        pars = eg.parallelograms(add10)
        s = add10.slots
        h = z[s[:, 0]] + z[s[:, 1]]
        naive = np.mean(np.mean((h[pars[:, 0]] - h[pars[:, 1]]) ** 2, axis=1) < 0.01)
        assert eg.rqi(add10, E) == pytest.approx(naive)
        assert eg.realised_parallelograms(add10, E).mean() == pytest.approx(naive)


def _naive_ideal(task, mask):
    A = naive_rows(task, mask)
    rank = np.linalg.matrix_rank(A) if A.size else 0
    ok = mask.copy()
    for x in np.flatnonzero(~mask):
        for y in np.flatnonzero(mask):
            if task.results[x] == task.results[y]:
                row = naive_rows(task, np.isin(np.arange(task.n_examples), [x, y]))
                if np.linalg.matrix_rank(np.vstack([A, row])) == rank:
                    ok[x] = True
                    break
    return ok


@pytest.mark.parametrize("seed", range(6))
def test_ideal_accuracy_matches_naive_rank_oracle(add10, seed):
    s = eg.random_split(add10, fraction=0.45, seed=seed)
    acc = eg.ideal_accuracy(add10, s)
    ok = _naive_ideal(add10, s.mask)
    np.testing.assert_array_equal(acc.correct, ok)
    assert acc.test == pytest.approx(ok[~s.mask].mean())
    ind = eg.induced_parallelograms(add10, s)
    assert np.all(ind[eg.training_parallelograms(add10, s)])  # P0(D) ⊆ P(D)


def test_ideal_accuracy_full_table_and_pinned(add10):
    assert eg.ideal_accuracy(add10, np.ones(55, bool)).overall == 1.0
    assert np.isnan(eg.ideal_accuracy(add10, np.ones(55, bool)).test)


@pytest.mark.parametrize("seed", range(10))
def test_ideal_bounds_predicted_for_generic_solutions(add10, seed):
    """A generic embedding with zero training loss realises exactly P(D): Acc-bar ≥ Acc-hat."""
    s = eg.random_split(add10, fraction=0.4, seed=seed)
    N = eg.null_space(eg.gram_matrix(add10, s))
    E = N @ np.random.default_rng(seed).normal(size=(N.shape[1], 8))
    bar = eg.ideal_accuracy(add10, s)
    hat = eg.predicted_accuracy(add10, s, E)
    assert bar.overall >= hat.overall
    assert not np.any(hat.correct & ~bar.correct)


def test_predicted_accuracy_linear_embedding(add10):
    s = eg.random_split(add10, fraction=0.3, seed=4)
    hat = eg.predicted_accuracy(add10, s, np.arange(10.0))
    # linear embedding realises every parallelogram: every test example whose class has a training example
    has = np.isin(add10.results, add10.results[s.train])
    np.testing.assert_array_equal(hat.correct, has)


def test_metrics_reject_bad_embeddings(add10):
    with pytest.raises(ValueError, match=r"shape \(10,\)"):
        eg.rqi(add10, np.zeros(9))
    with pytest.raises(ValueError, match="NaN"):
        eg.rqi(add10, np.full(10, np.nan))
    with pytest.raises(ValueError, match="delta"):
        eg.rqi(add10, np.arange(10.0), delta=0)
