"""Softmax-collapse thresholds against direct floating-point evaluation; StableMax against its formula."""

import math

import numpy as np
import pytest

from effgrok.solvable.softmax_collapse import (
    collapse_step,
    gradient_underflow_gap,
    loss_absorption_gap,
    stablemax,
    stablemax_cross_entropy,
    stablemax_s,
)


def _ce_loss(gap: float, C: int, dtype) -> float:
    """Cross-entropy of the correct class with all C − 1 wrong logits ``gap`` below, in ``dtype``
    (max-shifted log-sum-exp, as every framework computes it)."""
    z = np.zeros(C, dtype=dtype)
    z[1:] = dtype(-gap)
    return float(np.log(np.sum(np.exp(z - z.max()), dtype=dtype)) - (z[0] - z.max()))


@pytest.mark.parametrize("C", [2, 10, 97])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_loss_absorption_bracket_contains_the_exact_zero(C, dtype):
    name = np.dtype(dtype).name
    lo = loss_absorption_gap(C, name, summed_first=False)
    hi = loss_absorption_gap(C, name)
    assert hi - lo == pytest.approx(math.log(C - 1))
    # below the bracket the loss is positive, above it exactly 0 in that precision, whatever
    # order numpy's pairwise summation uses (margin 0.3 for rounding)
    assert _ce_loss(lo - 0.3, C, dtype) > 0
    assert _ce_loss(hi + 0.3, C, dtype) == 0.0
    # the bracket is tight: a sum formed before the 1 is added sits at its upper end
    tail = np.sum(np.full(C - 1, np.exp(dtype(-(hi - 0.3)))), dtype=dtype)
    assert dtype(1) + tail > 1
    tail = np.sum(np.full(C - 1, np.exp(dtype(-(hi + 0.3)))), dtype=dtype)
    assert dtype(1) + tail == 1


def test_gradient_underflow_threshold():
    for dtype in (np.float32, np.float64):
        g = gradient_underflow_gap(np.dtype(dtype).name)
        assert np.exp(dtype(-(g - 1.0))) > 0
        assert np.exp(dtype(-(g + 1.0))) == 0
    assert gradient_underflow_gap("float32", subnormals=False) == pytest.approx(-math.log(2.0**-126))


def test_stablemax_matches_its_definition():
    x = np.array([-3.0, -0.5, 0.0, 0.5, 4.0])
    np.testing.assert_allclose(stablemax_s(x), [1 / 4, 1 / 1.5, 1.0, 1.5, 5.0], rtol=1e-15)
    z = np.array([[2.0, -1.0, 0.0], [-3.0, 0.5, -0.5]])
    p = stablemax(z)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(p[0], np.array([3.0, 0.5, 1.0]) / 4.5, rtol=1e-15)
    ell = stablemax_cross_entropy(z, np.array([0, 2]))
    np.testing.assert_allclose(ell, -np.log([p[0, 0], p[1, 2]]), rtol=1e-12)
    # no collapse: a gap of 1e6 still leaves a positive loss in float64
    assert stablemax_cross_entropy([[1e6, 0.0, 0.0]], [0])[0] > 0
    with pytest.raises(ValueError, match="labels must be integers"):
        stablemax_cross_entropy(z, np.array([0, 3]))


def test_collapse_step_and_bad_input():
    assert collapse_step([0, 10, 20], [0.0, 0.5, 1.0]) == 10.0
    assert math.isnan(collapse_step([0, 10, 20], [0.0, 0.1, 0.2]))
    with pytest.raises(ValueError, match="n_classes must be an integer >= 2"):
        loss_absorption_gap(1)
    with pytest.raises(ValueError, match="floating-point dtype"):
        loss_absorption_gap(5, "int32")


def test_orthogonal_gradients_against_a_numpy_projection():
    import jax.numpy as jnp

    from effgrok.solvable.softmax_collapse import orthogonal_gradients

    rng = np.random.default_rng(np.random.SeedSequence(11))
    w = {"A": rng.standard_normal((3, 4)), "b": rng.standard_normal(5)}
    g = {"A": rng.standard_normal((3, 4)), "b": rng.standard_normal(5)}
    tx = orthogonal_gradients()
    out, _ = tx.update(
        {k: jnp.asarray(v) for k, v in g.items()}, tx.init(w), {k: jnp.asarray(v) for k, v in w.items()}
    )
    for k in w:
        wf, gf = w[k].ravel(), g[k].ravel()
        perp = gf - (wf @ gf) / (wf @ wf) * wf
        expected = perp * np.linalg.norm(gf) / np.linalg.norm(perp)
        got = np.asarray(out[k], dtype=np.float64).ravel()
        np.testing.assert_allclose(got, expected, rtol=1e-5)
        assert abs(got @ wf) <= 1e-5 * np.linalg.norm(got) * np.linalg.norm(wf)  # orthogonal to w
    with pytest.raises(ValueError, match="needs the parameters"):
        tx.update(g, tx.init(w))


def test_orthograd_optimizer_of_the_modular_trainer():
    """⊥Grad is an optimizer of the one modular trainer: same start as AdamW, and its first
    update is AdamW's applied to the projected gradient (a hand-made reference)."""
    import jax
    import optax

    import effgrok as eg
    from effgrok.nets.driver import Schedule
    from effgrok.nets.modular import OPTIMIZERS, train_modular

    task = eg.make_task("sub-mod", 5)
    kw = dict(train_fraction=0.8, seeds=[0, 1], hidden=8, bias=False, weight_decay=0.0)
    kw.update(learning_rate=0.01, schedule=Schedule(2, 1, snapshot_stride=1))
    og = train_modular(task, optimizer=OPTIMIZERS["orthograd_adamw"](eps=1e-25), **kw)
    ad = train_modular(task, optimizer=OPTIMIZERS["adamw"](eps=1e-25), **kw)
    np.testing.assert_array_equal(og.snapshots["W1"][:, 0], ad.snapshots["W1"][:, 0])
    assert not np.allclose(og.snapshots["W1"][:, 1], ad.snapshots["W1"][:, 1])
    # the first ⊥Grad step by hand: the network's loss, jax.grad, the projection, AdamW
    import jax.numpy as jnp

    from effgrok.solvable.softmax_collapse import orthogonal_gradients

    n, a, b = task.n_symbols, task.pairs[:, 0], task.pairs[:, 1]
    m = og.train_mask[0]

    def loss(p):
        z = jax.nn.relu(p["W1"][a] + p["W1"][n + b]) @ p["W2"]
        return -jnp.mean(jax.nn.log_softmax(z)[m, task.results[m]])

    w0 = {k: jnp.asarray(og.snapshots[k][0, 0]) for k in ("W1", "W2")}
    tx = optax.chain(orthogonal_gradients(), optax.adamw(0.01, eps=1e-25, weight_decay=0.0))
    u, _ = tx.update(jax.grad(loss)(w0), tx.init(w0), w0)
    for k in w0:
        np.testing.assert_allclose(og.snapshots[k][0, 1], w0[k] + u[k], rtol=1e-5, atol=1e-6)
    assert og.test_acc.shape == (2, 3) and np.all(og.zero_loss_fraction >= 0)
    with pytest.raises(ValueError, match="optimizer"):
        train_modular(task, schedule=Schedule(2, 1), optimizer="orthograd")
