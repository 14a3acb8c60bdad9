"""The modular-arithmetic trainer against a hand-written numpy oracle and hand-built networks."""

import numpy as np
import pytest

import effgrok as eg
from effgrok.nets.modular import _per_example_loss, modular_features, train_modular

P = 5  # add-mod 5: 15 unordered examples, 5 classes


@pytest.fixture(scope="module")
def task():
    return eg.make_task("add-mod", P)


def _random_params(rng, n, hidden, C, scale=0.5):
    return {
        "W1": scale * rng.standard_normal((2 * n, hidden)),
        "b1": scale * rng.standard_normal(hidden),
        "W2": scale * rng.standard_normal((hidden, C)),
        "b2": scale * rng.standard_normal(C),
    }


def _numpy_oracle(task, params, train, loss, optimizer, lr, wd, steps, bias=True):
    """Naive float64 loop: forward, hand-derived backprop, hand-written optimiser updates.

    Returns per-step (train loss, val loss, ‖θ‖) before each update and after the last, and the
    final parameters.
    """
    n, C = task.n_symbols, task.n_classes
    X = np.zeros((task.n_examples, 2 * n))
    X[np.arange(task.n_examples), task.pairs[:, 0]] = 1
    X[np.arange(task.n_examples), n + task.pairs[:, 1]] = 1
    Y = np.eye(C)[task.results]
    p = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    if not bias:
        p["b1"][:] = 0
        p["b2"][:] = 0
    m = train.astype(float)
    mom = {k: np.zeros_like(v) for k, v in p.items()}
    vel = {k: np.zeros_like(v) for k, v in p.items()}
    hist = []

    def forward(p):
        pre = X @ p["W1"] + p["b1"]
        H = np.maximum(pre, 0)
        Z = H @ p["W2"] + p["b2"]
        if loss == "cross_entropy":
            E = np.exp(Z - Z.max(1, keepdims=True))
            Pr = E / E.sum(1, keepdims=True)
            ell = -np.log(Pr[np.arange(len(Z)), task.results])
            dZ = Pr - Y
        elif loss == "stablemax":
            S = np.where(Z >= 0, Z + 1, 1 / (1 - np.minimum(Z, 0)))
            dS = np.where(Z >= 0, 1.0, 1 / (1 - np.minimum(Z, 0)) ** 2)
            tot = S.sum(1, keepdims=True)
            ell = np.log(tot[:, 0]) - np.log(S[np.arange(len(Z)), task.results])
            dZ = dS / tot - Y * dS / S
        else:
            ell = ((Z - Y) ** 2).mean(1)
            dZ = 2 * (Z - Y) / C
        return pre, H, ell, dZ

    def record(p):
        ell = forward(p)[2]
        norm = np.sqrt(sum(np.sum(v**2) for v in p.values()))
        hist.append((ell @ m / m.sum(), ell @ (1 - m) / (1 - m).sum(), norm))

    for t in range(1, steps + 1):
        record(p)
        pre, H, _, dZ = forward(p)
        dZ = dZ * m[:, None] / m.sum()
        dH = dZ @ p["W2"].T * (pre > 0)
        g = {"W2": H.T @ dZ, "b2": dZ.sum(0), "W1": X.T @ dH, "b1": dH.sum(0)}
        for k in p:
            if optimizer == "sgd":
                p[k] = p[k] - lr * (g[k] + wd * p[k])
            else:  # AdamW with optax's defaults b1 = 0.9, b2 = 0.999, eps = 1e-8
                mom[k] = 0.9 * mom[k] + 0.1 * g[k]
                vel[k] = 0.999 * vel[k] + 0.001 * g[k] ** 2
                mh, vh = mom[k] / (1 - 0.9**t), vel[k] / (1 - 0.999**t)
                p[k] = p[k] - lr * (mh / (np.sqrt(vh) + 1e-8) + wd * p[k])
            if not bias and k in ("b1", "b2"):
                p[k][:] = 0
    record(p)
    return np.array(hist), p


@pytest.mark.parametrize(
    "loss,optimizer,bias",
    [("cross_entropy", "adamw", True), ("stablemax", "sgd", True), ("mse", "sgd", False)],
)
def test_trainer_matches_naive_numpy_loop(task, loss, optimizer, bias):
    rng = np.random.default_rng(np.random.SeedSequence(11))
    init = _random_params(rng, P, 6, P)
    lr, wd, steps = 0.05, 0.3, 4
    runs = train_modular(
        task,
        train_fraction=0.6,
        seeds=[3],
        hidden=6,
        lr=lr,
        weight_decay=wd,
        steps=steps,
        stride=1,
        float64=True,
        loss=loss,
        optimizer=optimizer,
        bias=bias,
        init_params=init,
    )
    hist, final = _numpy_oracle(task, init, runs.train_mask[0], loss, optimizer, lr, wd, steps, bias)
    np.testing.assert_allclose(runs.train_loss[0], hist[:, 0], rtol=1e-10)
    np.testing.assert_allclose(runs.val_loss[0], hist[:, 1], rtol=1e-10)
    np.testing.assert_allclose(runs.weight_norm[0], hist[:, 2], rtol=1e-10)
    for k in final:
        np.testing.assert_allclose(runs.params[k][0], final[k], rtol=1e-9, atol=1e-12)
    assert runs.train_loss[0, -1] != runs.train_loss[0, 0]  # it did train


def test_stablemax_loss_matches_its_formula():
    import jax.numpy as jnp

    z = np.array([[2.0, -1.0, 0.0], [-3.0, 0.5, -0.5]])
    y = np.array([0, 2])
    s = np.array([[3.0, 1 / 2, 1.0], [1 / 4, 1.5, 1 / 1.5]])  # s(x) = x + 1 | 1/(1 − x)
    expected = -np.log(s[[0, 1], y] / s.sum(1))
    got = np.asarray(_per_example_loss(jnp.asarray(z), jnp.asarray(y), "stablemax"))
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    ce = np.asarray(_per_example_loss(jnp.asarray(z), jnp.asarray(y), "cross_entropy"))
    np.testing.assert_allclose(ce, -np.log(np.exp(z[[0, 1], y]) / np.exp(z).sum(1)), rtol=1e-6)


def _collapsed_params(task, gap):
    """Hidden unit (a, b) fires (value 1) only on example (a, b); it writes ``gap`` on a + b mod p."""
    n = task.n_symbols
    W1 = np.zeros((2 * n, task.n_examples))
    W2 = np.zeros((task.n_examples, task.n_classes))
    for u, (a, b) in enumerate(task.pairs):
        W1[a, u] += 1
        W1[n + b, u] += 1
        W2[u, task.results[u]] = gap
    return {"W1": W1, "b1": -np.ones(task.n_examples), "W2": W2, "b2": np.zeros(task.n_classes)}


def test_softmax_collapse_diagnostics_on_hand_built_networks(task):
    fresh = _random_params(np.random.default_rng(np.random.SeedSequence(2)), P, task.n_examples, P, 0.3)
    init = {
        k: np.stack([_collapsed_params(task, 1000.0)[k], _collapsed_params(task, 30.0)[k], fresh[k]])
        for k in fresh
    }
    kw = dict(
        train_fraction=0.8, seeds=[0, 1, 2], hidden=task.n_examples, steps=1, stride=1, weight_decay=0.0
    )
    r32 = train_modular(task, init_params=init, **kw)
    r64 = train_modular(task, init_params=init, float64=True, **kw)
    # logit gap 1000: exp(−1000) underflows, softmax is exactly one-hot in both precisions
    for r in (r32, r64):
        assert r.zero_loss_fraction[0, 0] == 1.0 and r.zero_grad_fraction[0, 0] == 1.0
        assert r.train_acc[0, 0] == 1.0
    # gap 30: 1 + 4e^{−30} rounds to 1 in float32 (loss exactly 0) but not in float64, and the
    # wrong-class probabilities e^{−30} survive in both, so no gradient vanishes entirely
    assert r32.zero_loss_fraction[1, 0] == 1.0 and r64.zero_loss_fraction[1, 0] == 0.0
    assert r32.zero_grad_fraction[1, 0] == 0.0 and r64.zero_grad_fraction[1, 0] == 0.0
    # a fresh network: nothing collapsed
    assert r32.zero_loss_fraction[2, 0] == 0.0 and r32.zero_grad_fraction[2, 0] == 0.0
    # StableMax is polynomial: p_y = 1001/1005 at gap 1000, nothing collapses
    rs = train_modular(task, init_params=init, loss="stablemax", **kw)
    np.testing.assert_array_equal(rs.zero_loss_fraction[:, 0], 0.0)
    np.testing.assert_array_equal(rs.zero_grad_fraction[:, 0], 0.0)
    assert rs.train_loss[0, 0] == pytest.approx(np.log(1005 / 1001), rel=1e-6)


def test_weight_mask_keeps_pruned_weights_at_zero(task):
    rng = np.random.default_rng(np.random.SeedSequence(5))
    mask = {k: (rng.random(v.shape) < 0.5).astype(float) for k, v in _random_params(rng, P, 8, P).items()}
    r = train_modular(
        task,
        seeds=[0, 1],
        hidden=8,
        steps=20,
        stride=5,
        lr=1e-2,
        weight_decay=0.5,
        weight_mask=mask,
        snapshot_stride=10,
    )
    assert r.snapshot_steps.tolist() == [0, 10, 20]
    for k, m in mask.items():
        off = np.broadcast_to(m == 0, r.params[k].shape)
        assert np.all(r.params[k][off] == 0)
        assert np.all(r.snapshots[k][:, :, ...][np.broadcast_to(off[:, None], r.snapshots[k].shape)] == 0)
        on = np.broadcast_to(m == 1, r.params[k].shape)
        assert np.all(r.snapshots[k][:, 0][on] != r.params[k][on])  # the rest did train
        np.testing.assert_array_equal(r.snapshots[k][:, -1], r.params[k])


def test_init_scale_homogeneity_and_features(task):
    kw = dict(seeds=[4], hidden=12, steps=2, stride=1, snapshot_stride=1, bias=False, optimizer="sgd")
    r1 = train_modular(task, init_scale=1.0, **kw)
    r3 = train_modular(task, init_scale=3.0, **kw)
    for k in ("W1", "W2"):
        np.testing.assert_allclose(r3.snapshots[k][:, 0], 3.0 * r1.snapshots[k][:, 0], rtol=1e-6)
    assert np.all(r1.snapshots["b1"] == 0) and np.all(r1.snapshots["b2"] == 0)
    # bias-free ReLU net is 2-homogeneous: z(3θ) = 9 z(θ)
    p1 = {k: v[:, 0] for k, v in r1.snapshots.items()}
    p3 = {k: v[:, 0] for k, v in r3.snapshots.items()}
    z1 = modular_features(p1, task, 0) @ p1["W2"][0]
    z3 = modular_features(p3, task, 0) @ p3["W2"][0]
    np.testing.assert_allclose(z3, 9.0 * z1, rtol=1e-5, atol=1e-6)
    # features against a direct one-hot product
    n = task.n_symbols
    X = np.zeros((task.n_examples, 2 * n))
    X[np.arange(task.n_examples), task.pairs[:, 0]] = 1
    X[np.arange(task.n_examples), n + task.pairs[:, 1]] = 1
    feats = modular_features(r1.params, task)
    assert feats.shape == (1, task.n_examples, 12)
    np.testing.assert_allclose(feats[0], np.maximum(X @ r1.params["W1"][0].astype(float), 0), rtol=1e-12)
    # a 2-step SGD run with init_scale 1 records the accuracy of the same initial network
    z = modular_features(p1, task, 0) @ p1["W2"][0]
    acc = np.mean((np.argmax(z, 1) == task.results)[r1.train_mask[0]])
    assert r1.train_acc[0, 0] == pytest.approx(acc)


@pytest.mark.parametrize(
    "kw,match",
    [
        ({"loss": "hinge"}, "loss must be one of"),
        ({"optimizer": "adam"}, "optimizer must be one of"),
        ({"activation": "sigmoid"}, "activation must be one of"),
        ({"init_scale": 0.0}, "init_scale must be a positive"),
        ({"snapshot_stride": 3}, "snapshot_stride must be a multiple"),
        ({"bias": "no"}, "bias must be True or False"),
        ({"init_params": {"W1": np.zeros((10, 4))}}, "init_params must be a dict with keys"),
        (
            {
                "init_params": {
                    "W1": np.zeros((9, 4)),
                    "b1": np.zeros(4),
                    "W2": np.zeros((4, 5)),
                    "b2": np.zeros(5),
                }
            },
            r"init_params\['W1'\] must have shape",
        ),
        (
            {
                "weight_mask": {
                    "W1": np.full((10, 4), 0.5),
                    "b1": np.ones(4),
                    "W2": np.ones((4, 5)),
                    "b2": np.ones(5),
                }
            },
            "must contain only 0 and 1",
        ),
    ],
)
def test_bad_options_raise(task, kw, match):
    with pytest.raises(ValueError, match=match):
        train_modular(task, hidden=4, steps=4, stride=2, **kw)
