"""Brute-force oracles for RQI and Acc-hat (effgrok.effective.metrics; SPEC §3).

The oracles here enumerate the task's examples and parallelograms themselves -- every unordered
pair of distinct examples ``{(i, j), (m, n)}`` with equal results -- and standardise the
embedding themselves (each column centred and divided by its unbiased std).  Nothing of the
library's enumeration (``parallelograms``, ``class_order``, ``slots``) is used; the library's
example numbering is used only to hand it the same training set.

The embeddings straddle δ: a linear embedding plus noise at several scales, so that some
parallelograms are realised and some are not (RQI strictly between 0 and 1 in most cases).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from effgrok.effective.metrics import predicted_accuracy, rqi
from effgrok.tasks import make_task


def examples(name: str, p: int) -> list[tuple[int, int, int]]:
    """``(i, j, result)`` of every example: unordered pairs ``i <= j`` (both tasks commute)."""
    out = []
    for i in range(p):
        for j in range(i, p):
            out.append((i, j, i + j if name == "add" else (i + j) % p))
    return out


def standardised(E: np.ndarray) -> np.ndarray:
    n = E.shape[0]
    mean = E.sum(axis=0) / n
    var = ((E - mean) ** 2).sum(axis=0) / (n - 1)  # the unbiased variance
    return (E - mean) / np.sqrt(var)


def realised(Z: np.ndarray, x, y, delta: float) -> bool:
    (i, j, _), (m, n, _) = x, y
    defect = Z[i] + Z[j] - Z[m] - Z[n]
    return float(np.mean(defect**2)) < delta**2


def oracle_rqi(name, p, E, delta):
    Z = standardised(E)
    ex = examples(name, p)
    pairs = [(x, y) for x, y in itertools.combinations(ex, 2) if x[2] == y[2]]
    return sum(realised(Z, x, y, delta) for x, y in pairs) / len(pairs)


def oracle_acc_hat(name, p, E, train: set, delta):
    """Test examples that form a realised parallelogram with a training example of their result."""
    Z = standardised(E)
    ex = examples(name, p)
    test = [x for x in ex if x[:2] not in train]
    hits = sum(
        any(y[:2] in train and y[2] == x[2] and y != x and realised(Z, x, y, delta) for y in ex) for x in test
    )
    return hits / len(test), (len(train) + hits) / len(ex)


def embedding(p: int, d: int, noise: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    k = np.arange(p, dtype=np.float64)[:, None]
    slopes = rng.uniform(0.5, 2.0, size=(1, d)) * rng.choice([-1, 1], size=(1, d))
    return 3.0 + k * slopes + noise * rng.standard_normal((p, d))


CASES = [
    (name, p, d, noise, seed)
    for name in ("add", "add-mod")
    for p in (5, 7, 11)
    for d in (1, 3)
    for noise, seed in ((0.0, 0), (0.02, 1), (0.05, 2), (0.1, 3), (0.3, 4))
]


@pytest.mark.parametrize(("name", "p", "d", "noise", "seed"), CASES)
def test_rqi_and_acc_hat_against_brute_force(name, p, d, noise, seed):
    task = make_task(name, p)
    E = embedding(p, d, noise, seed)
    for delta in (0.1, 0.25):
        assert rqi(task, E, delta=delta) == pytest.approx(oracle_rqi(name, p, E, delta), abs=1e-15)
    rng = np.random.default_rng(100 + seed)
    ex = examples(name, p)
    train = {ex[k][:2] for k in rng.choice(len(ex), size=len(ex) // 2, replace=False)}
    mask = np.zeros(task.n_examples, dtype=bool)
    for i, j in train:
        mask[task.example_index(i, j)] = True  # symbols are 0..p-1: symbol index = symbol
    assert mask.sum() == len(train)
    got = predicted_accuracy(task, mask, E)
    test, overall = oracle_acc_hat(name, p, E, train, 0.1)
    assert got.test == pytest.approx(test, abs=1e-15) and got.overall == pytest.approx(overall, abs=1e-15)


def test_the_cases_straddle_delta():
    """The oracles are informative: many cases realise some parallelograms and miss others."""
    inner = [oracle_rqi(name, p, embedding(p, d, noise, seed), 0.1) for name, p, d, noise, seed in CASES]
    strictly = [r for r in inner if 0 < r < 1]
    assert len(strictly) >= len(CASES) // 2, inner
    assert len({round(r, 6) for r in strictly}) >= 10  # many different values, not one
    accs = []
    for name, p, d, noise, seed in CASES:
        ex = examples(name, p)
        pick = np.random.default_rng(100 + seed).choice(len(ex), size=len(ex) // 2, replace=False)
        accs.append(oracle_acc_hat(name, p, embedding(p, d, noise, seed), {ex[k][:2] for k in pick}, 0.1)[0])
    assert sum(0 < a < 1 for a in accs) >= len(CASES) // 2, accs
    # noiseless linear: every add parallelogram realised; add-mod only those without wrap-around
    assert oracle_rqi("add", 7, embedding(7, 1, 0.0, 0), 0.1) == 1.0
    assert 0 < oracle_rqi("add-mod", 7, embedding(7, 1, 0.0, 0), 0.1) < 1


def test_circle_embedding_of_add_mod():
    # the Fourier circle a modular network learns: E_k = (cos, sin)(2πk/p) plus a little noise
    for p in (7, 11):
        rng = np.random.default_rng(p)
        k = np.arange(p)
        E = np.stack([np.cos(2 * np.pi * k / p), np.sin(2 * np.pi * k / p)], axis=1)
        E = E + 0.01 * rng.standard_normal(E.shape)
        assert rqi(make_task("add-mod", p), E) == pytest.approx(oracle_rqi("add-mod", p, E, 0.1), abs=1e-15)
