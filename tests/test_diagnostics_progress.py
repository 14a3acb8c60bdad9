"""Representation progress measures: effective rank, participation ratio, Fourier concentration,
RQI curves.  Oracles: naive SVD/eigenvalue formulas, explicit DFT sums, known cases, and the
toy trainer's own recorded RQI."""

from __future__ import annotations

import numpy as np
import pytest

import effgrok as eg
from effgrok.diagnostics.progress import (
    digits_features,
    effective_rank,
    fourier_concentration,
    fourier_power,
    modular_progress,
    participation_ratio,
    rqi_curve,
    thresholded_rank,
    toy_progress,
)


def naive_erank(X, center):
    X = np.array(X, dtype=float)
    if center:
        X = X - X.mean(axis=0)
    s = np.linalg.svd(X, compute_uv=False)
    p = s / s.sum()
    return float(np.exp(-sum(q * np.log(q) for q in p if q > 0)))


def naive_pr(X, center):
    X = np.array(X, dtype=float)
    if center:
        X = X - X.mean(axis=0)
    lam = np.linalg.eigvalsh(X.T @ X)
    lam = np.clip(lam, 0, None)
    return float(lam.sum() ** 2 / np.sum(lam**2))


@pytest.mark.parametrize("center", [True, False])
def test_effective_rank_and_pr_match_naive_formulas(center):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 40, 12)) * np.geomspace(1, 0.01, 12)  # a decaying spectrum
    er = effective_rank(X, center=center)
    pr = participation_ratio(X, center=center)
    assert er.shape == pr.shape == (3,)
    for i in range(3):
        assert er[i] == pytest.approx(naive_erank(X[i], center), rel=1e-10)
        assert pr[i] == pytest.approx(naive_pr(X[i], center), rel=1e-10)
    assert np.all(pr <= er + 1e-12)  # PR (a Rényi-2 dimension) never exceeds erank (Shannon)... in σ² vs σ
    # in general; here checked against the formulas above, not assumed


def test_effective_rank_known_cases():
    rng = np.random.default_rng(1)
    u, v = rng.standard_normal(30), rng.standard_normal(8)
    assert effective_rank(np.outer(u, v)) == pytest.approx(1.0, abs=1e-9)
    assert participation_ratio(np.outer(u, v)) == pytest.approx(1.0, abs=1e-9)
    Q, _ = np.linalg.qr(rng.standard_normal((20, 6)))  # orthonormal columns: isotropic
    assert effective_rank(Q, center=False) == pytest.approx(6.0, rel=1e-12)
    assert participation_ratio(5 * Q, center=False) == pytest.approx(6.0, rel=1e-12)
    assert effective_rank(np.zeros((5, 3))) == 0.0 and participation_ratio(np.ones((5, 3))) == 0.0
    # centring removes a common offset: a constant shift of every sample is not a direction
    assert effective_rank(Q[:, :1] @ np.ones((1, 3)) + 10.0) == pytest.approx(1.0, abs=1e-9)
    with pytest.raises(ValueError, match="shape"):
        effective_rank(np.ones(5))
    with pytest.raises(ValueError, match="NaN"):
        effective_rank(np.full((3, 3), np.nan))


def naive_fourier_power(E, p):
    E = np.asarray(E, float)
    m = E.shape[0] // p
    out = []
    for w in range(1, p // 2 + 1):
        tot = 0.0
        for b in range(m):
            for j in range(E.shape[1]):
                for ww in {w, (p - w) % p}:
                    c = sum(E[b * p + a, j] * np.exp(-2j * np.pi * ww * a / p) for a in range(p))
                    tot += abs(c) ** 2
        out.append(tot)
    return np.array(out)


@pytest.mark.parametrize("p", [7, 8])
def test_fourier_power_matches_explicit_dft_and_parseval(p):
    rng = np.random.default_rng(p)
    E = rng.standard_normal((2 * p, 3))  # two blocks, like an MLP's W1
    P = fourier_power(E, p)
    np.testing.assert_allclose(P, naive_fourier_power(E, p), rtol=1e-10)
    blocks = E.reshape(2, p, 3)
    parseval = p * np.sum((blocks - blocks.mean(axis=1, keepdims=True)) ** 2)
    assert P.sum() == pytest.approx(parseval, rel=1e-10)
    # a cyclic relabelling of the symbols (a ↦ a + c) changes phases only
    np.testing.assert_allclose(fourier_power(np.roll(blocks, 3, axis=1).reshape(2 * p, 3), p), P, rtol=1e-10)


def test_fourier_concentration_structured_and_random():
    p = 31
    a = np.arange(p)
    freqs = [3, 7, 11]
    cols = [np.cos(2 * np.pi * f * a / p + ph) for f in freqs for ph in (0.0, 1.0)]
    E = np.stack(cols, axis=1)
    assert fourier_concentration(E, p, k=3) == pytest.approx(1.0, abs=1e-12)
    assert fourier_concentration(E + 5.0, p, k=3) == pytest.approx(1.0, abs=1e-12)  # the mean is excluded
    assert fourier_concentration(E, p, k=1) == pytest.approx(1 / 3, rel=1e-9)
    rng = np.random.default_rng(0)
    R = rng.standard_normal((4, p, 3000))  # wide random embeddings: flat spectrum
    c = fourier_concentration(R, p, k=3)
    assert c.shape == (4,)
    assert np.all(np.abs(c - 3 / 15) < 0.015) and np.all(c > 3 / 15)  # top-k of noise sits a bit above
    assert fourier_concentration(R[0], p, k=15) == pytest.approx(1.0)
    assert np.isnan(fourier_concentration(np.ones((p, 2)), p, k=2))
    # units tuned to one frequency each, all frequencies in use (Gromov's MLP solution)
    tuned = np.stack([np.cos(2 * np.pi * (1 + j % 15) * a / p + j) for j in range(45)], axis=1)
    assert fourier_concentration(tuned, p, k=1, per_column=True) == pytest.approx(1.0, abs=1e-12)
    assert fourier_concentration(tuned, p, k=1) == pytest.approx(1 / 15, rel=1e-6)
    assert fourier_power(tuned, p, per_column=True).sum(axis=0) == pytest.approx(fourier_power(tuned, p))
    c1 = fourier_concentration(R, p, k=1, per_column=True)  # a random unit: top-1 of 15 noisy powers
    assert np.all((c1 > 1 / 15) & (c1 < 0.3))
    with pytest.raises(ValueError, match="k must be"):
        fourier_concentration(E, p, k=16)
    with pytest.raises(ValueError, match="multiple of p"):
        fourier_concentration(E[:30], p)
    with pytest.raises(ValueError, match="p must be"):
        fourier_concentration(E, 2)


def test_rqi_curve_matches_metrics_and_shapes():
    task = eg.make_task("add", 10)
    rng = np.random.default_rng(0)
    lin = np.arange(10.0)[:, None]
    snaps = np.stack([lin, rng.uniform(-0.5, 0.5, (10, 1)), 2 * lin + 0.001 * rng.standard_normal((10, 1))])
    got = rqi_curve(task, snaps)
    assert got.shape == (3,)
    assert got[0] == 1.0 and got[2] == 1.0 and got[1] < 0.5
    assert got[1] == eg.rqi(task, snaps[1])
    assert rqi_curve(task, snaps[:, :, 0]).tolist() == got.tolist()  # d = 1 without the last axis
    assert rqi_curve(task, snaps[None]).shape == (1, 3)
    with pytest.raises(ValueError, match="embeddings must have shape"):
        rqi_curve(task, np.ones((3, 7, 1)))


def test_toy_progress_reproduces_the_trainers_rqi():
    from effgrok.nets.toy import ToyConfig, train_toy

    task = eg.make_task("add", 6)
    cfg = ToyConfig(steps=40, stride=10, hidden=8, depth=1)
    runs = train_toy(task, cfg, seeds=[0, 1], n_train=15, lr_emb=0.1)
    prog = toy_progress(runs, task)
    assert prog.measures["rqi"].shape == runs.rqi.shape == (2, 5)
    # the trainer counts parallelograms in float32 inside JAX; rqi_curve in float64 through
    # effective.metrics: the same counts (out of 15), up to float32 rounding of the ratio
    np.testing.assert_allclose(prog.measures["rqi"], runs.rqi, atol=1e-6)
    assert np.ptp(prog.measures["rqi"]) > 0  # the embeddings moved enough to change the count
    assert np.all(prog.measures["embedding_effective_rank"] == pytest.approx(1.0))  # d = 1
    assert len(prog.rows()) == 10 and set(prog.rows()[0]) >= {"run", "step", "rqi", "test_acc"}


def test_modular_progress_on_snapshots():
    from effgrok.nets.driver import Schedule
    from effgrok.nets.modular import modular_features, train_modular

    task = eg.make_task("add-mod", 7)
    runs = train_modular(
        task, train_fraction=0.8, seeds=[0, 1], hidden=8, schedule=Schedule(20, 5, snapshot_stride=10)
    )
    prog = modular_progress(runs, task, k=2)
    assert prog.steps.tolist() == [0, 10, 20]
    W1 = runs.snapshots["W1"]
    np.testing.assert_allclose(prog.measures["fourier_concentration"], fourier_concentration(W1, 7, k=2))
    H = modular_features({"W1": W1[1, 2], "b1": runs.snapshots["b1"][1, 2]}, task)
    assert prog.measures["effective_rank"][1, 2] == pytest.approx(effective_rank(H), rel=1e-12)
    np.testing.assert_array_equal(prog.test_acc, runs.test_acc[:, [0, 2, 4]])
    plain = train_modular(task, train_fraction=0.8, seeds=[0], hidden=8, schedule=Schedule(10, 5))
    with pytest.raises(ValueError, match="snapshot_stride"):
        modular_progress(plain, task)


# --------------------------------------------------------------------------- deep MLP feature rank
def test_thresholded_rank_counts_known_singular_values():
    rng = np.random.default_rng(0)
    U, _ = np.linalg.qr(rng.standard_normal((30, 30)))
    V, _ = np.linalg.qr(rng.standard_normal((8, 8)))
    sv = np.array([5.0, 2.0, 0.5, 0.06, 0.04, 1e-4, 0.0, 0.0])
    X = U[:, :8] * sv @ V.T
    assert thresholded_rank(X, center=False) == 4  # above 0.01 · 5
    assert thresholded_rank(X, rel_threshold=1e-3, center=False) == 5
    assert thresholded_rank(1e6 * X, center=False) == 4  # scale-free
    assert thresholded_rank(np.stack([X, 2 * X]), center=False).tolist() == [4, 4]  # leading axes kept
    assert thresholded_rank(np.zeros((5, 3))) == 0
    # centring removes a constant feature (rank one)
    assert thresholded_rank(np.ones((6, 4)), center=False) == 1 and thresholded_rank(np.ones((6, 4))) == 0
    with pytest.raises(ValueError, match="rel_threshold"):
        thresholded_rank(X, rel_threshold=1.0)


def test_digits_features_reproduce_the_trainers_accuracy():
    from effgrok.nets.digits import load_digits_split, train_digits
    from effgrok.nets.driver import Schedule

    d = load_digits_split(200, seed=0, n_test=100)
    runs = train_digits(d, seeds=[0, 1], init_scale=[1.0, 3.0], width=16, depth=4, schedule=Schedule(20, 10))
    H = digits_features(runs.params, d.x_train)
    assert H.shape == (3, 2, 200, 16)
    assert np.all(H >= 0)
    logits = H[-1] @ runs.params["W3"] + runs.params["b3"][:, None, :]
    acc = np.mean(np.argmax(logits, axis=-1) == d.y_train, axis=-1)
    np.testing.assert_allclose(acc, runs.train_acc[:, -1], atol=1e-9)
    # one run without the run axis: the same features
    one = digits_features({k: v[1] for k, v in runs.params.items()}, d.x_train)
    np.testing.assert_allclose(one, H[:, 1], rtol=1e-12)
    with pytest.raises(ValueError, match="hidden layer"):
        digits_features({"W0": np.ones((64, 10)), "b0": np.zeros(10)}, d.x_train)
    with pytest.raises(ValueError, match="do not fit"):
        digits_features(runs.params, d.x_train[:, :10])
