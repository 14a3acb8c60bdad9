"""The transformer, digits MLP and lazy→rich committee as models of the one driver (issue 26).

Oracles: plain numpy training loops written here (AdamW with Omnigrok's norm projection for
the digits MLP, gradient descent on the centred committee), in float64; the wrappers
(``train_transformer``, ``train_digits``, ``train_lazy_rich``), whose own tests check them
against naive forward passes; and the sequential path for ``vectorize=True`` (``jax.vmap``).
"""

from __future__ import annotations

import numpy as np
import pytest

import effgrok as eg
from effgrok.kernels import make_problem
from effgrok.nets import (
    MODELS,
    AdamW,
    DigitsMLP,
    Grid,
    LazyRichCommittee,
    Schedule,
    Transformer,
    load_digits_split,
    train,
    train_digits,
    train_lazy_rich,
    train_transformer,
)

pytest.importorskip("jax")


@pytest.fixture(scope="module")
def digits():
    return load_digits_split(150, seed=3, n_test=120)


@pytest.fixture(scope="module")
def problem():
    return make_problem(dim=8, samples=30, test_samples=50)


def _lazy_rich_runs(model, alpha, seeds, eta0, float64=False):
    return Grid.zip(
        alpha=alpha,
        seed=seeds,
        learning_rate=model.learning_rates(eta0, np.broadcast_to(alpha, np.shape(seeds)), float64=float64),
        weight_decay=0.0,
    )


def _calls(name, precision, digits, problem, vectorize=None):
    """``train(...)`` of model ``name`` on a small problem with a few runs."""
    kw = dict(precision=precision, vectorize=vectorize)
    if name == "transformer":
        runs = Grid.product(train_fraction=[0.4, 0.8], seed=[0, 1], learning_rate=1e-2, weight_decay=1.0)
        return train(
            Transformer(8, 2),
            AdamW(beta2=0.98),
            Schedule(30, 10),
            runs,
            task=eg.make_task("add-mod", 7),
            **kw,
        )
    if name == "digits":
        runs = Grid.zip(seed=[0, 1, 2], init_scale=[1.0, 3.0, 2.0], fixed_norm=[np.nan, 5.0, np.nan],
                        learning_rate=1e-2, weight_decay=[0.0, 0.0, 1.0])  # fmt: skip
        return train(DigitsMLP(16, 3), AdamW(), Schedule(30, 10), runs, task=digits, loss="mse", **kw)
    m = LazyRichCommittee(20, 0.1)
    runs = _lazy_rich_runs(m, np.array([0.5, 2.0, 1.0]), [0, 1, 2], 0.7, precision == "float64")
    return train(m, m.optimizer(), Schedule(30, 10), runs, task=problem, loss=m.squared_error, **kw)


# --- the accelerator path (jax.vmap over runs), exercised on the CPU --------------------------


@pytest.mark.parametrize(
    ("precision", "curve_rtol", "param_rtol"), [("float32", 1e-6, 3e-6), ("float64", 1e-13, 1e-12)]
)
@pytest.mark.parametrize("name", ["transformer", "digits", "lazy_rich"])
def test_vectorize_equals_the_sequential_path(name, precision, curve_rtol, param_rtol, digits, problem):
    """``vectorize=True`` (vmap) against the sequential ``lax.map``.  Unlike the one-hot MLP the
    transformer and the digits MLP do not take bit-identical steps: XLA's batched matrix
    products (what vmap makes of per-run weights) order their reductions differently, and
    AdamW's ``m/√v`` carries a last-place difference of a small gradient into the update.
    Measured after 30 steps: parameters ‖Δθ‖/‖θ‖ ≤ 3.0e-7 (float32), 1.4e-14 (float64); curves
    ≤ 2.1e-7 (float32), 3.1e-15 (float64) relative.  The committee's gradient-descent steps
    are bit-identical (its curves differ in the last places of the sums over examples).  The
    tolerances leave a factor ≥ 5 to those measurements."""
    seq = _calls(name, precision, digits, problem, vectorize=False)
    vec = _calls(name, precision, digits, problem, vectorize=True)
    for k in seq.params:
        diff = np.linalg.norm(vec.params[k] - seq.params[k]) / np.linalg.norm(seq.params[k])
        assert diff <= param_rtol, (k, diff)
        if name == "lazy_rich":
            np.testing.assert_array_equal(vec.params[k], seq.params[k])
    assert set(seq.curves) == set(vec.curves)
    for k in seq.curves:
        np.testing.assert_allclose(vec.curves[k], seq.curves[k], rtol=curve_rtol, atol=0, err_msg=k)


# --- each model through train(...) is its wrapper -------------------------------------------


def test_transformer_through_train_is_train_transformer():
    task = eg.make_task("sub-mod", 5)
    old = train_transformer(task, train_fraction=[0.4, 0.8], seeds=[1, 2], schedule=Schedule(12, 4),
                            d_model=8, n_heads=2, learning_rate=1e-2, weight_decay=0.5)  # fmt: skip
    runs = Grid.zip(train_fraction=[0.4, 0.8], seed=[1, 2], learning_rate=1e-2, weight_decay=0.5)
    new = train(Transformer(d_model=8, n_heads=2), AdamW(beta2=0.98), Schedule(12, 4), runs, task=task)
    for k in ("train_loss", "test_loss", "train_acc", "test_acc", "weight_norm"):
        np.testing.assert_array_equal(getattr(old, k), new.curves[k])
    for k in new.params:
        np.testing.assert_array_equal(old.params[k], new.params[k])
    np.testing.assert_array_equal(old.train_mask, new.train_mask)
    assert old.architecture == "transformer" and old.config["d_model"] == 8 and old.config["beta2"] == 0.98


def test_digits_through_train_is_train_digits(digits):
    kw = dict(seeds=[0, 1], init_scale=[1.0, 4.0], weight_decay=0.5, fixed_norm=[np.nan, 6.0])
    old = train_digits(digits, width=12, depth=2, schedule=Schedule(20, 10), learning_rate=3e-3, **kw)
    kw["seed"] = kw.pop("seeds")
    runs = Grid.zip(learning_rate=3e-3, **kw)
    new = train(DigitsMLP(width=12, depth=2), AdamW(), Schedule(20, 10), runs, task=digits, loss="mse")
    for k in ("train_loss", "test_loss", "train_acc", "test_acc", "weight_norm"):
        np.testing.assert_array_equal(getattr(old, k), new.curves[k])
    for k in new.params:
        np.testing.assert_array_equal(old.params[k], new.params[k])
    assert old.params["W0"].dtype == np.float64  # as before the driver
    np.testing.assert_allclose(new.weight_norm[1], 6.0, rtol=1e-5)  # the projection holds


def test_lazy_rich_through_train_is_train_lazy_rich(problem):
    old = train_lazy_rich(problem, width=16, epsilon=0.05, alpha=[0.7, 1.3], seeds=[3, 4],
                          base_learning_rate=0.5, schedule=Schedule(20, 5))  # fmt: skip
    m = LazyRichCommittee(width=16, epsilon=0.05)
    runs = _lazy_rich_runs(m, np.array([0.7, 1.3]), [3, 4], 0.5)
    new = train(m, m.optimizer(), Schedule(20, 5), runs, task=problem, loss=m.squared_error)
    for k in ("train_loss", "test_loss", "weight_norm", "alignment"):
        np.testing.assert_array_equal(getattr(old, k), new.curves[k])
    np.testing.assert_array_equal(new.params["alpha"], np.float32([0.7, 1.3]))  # pinned by project
    np.testing.assert_array_equal(
        new.params["W0"][1], np.float32(np.random.default_rng(4).standard_normal((16, 8)))
    )


def test_train_lazy_rich_takes_a_schedule_of_steps_and_stride_only(problem):
    runs = train_lazy_rich(problem, width=8, schedule=Schedule(12, 4))
    assert runs.steps.tolist() == [0, 4, 8, 12] and runs.train_loss.shape == (1, 4)
    with pytest.raises(ValueError, match=r"schedule must be an effgrok\.nets\.Schedule, got 12"):
        train_lazy_rich(problem, schedule=12)
    # full-batch GD at the paper's rate; LazyRichRuns keeps no snapshots or per-step losses
    for field in (dict(batch_size=10), dict(snapshot_stride=4), dict(loss_every_step=True)):
        with pytest.raises(ValueError, match=f"does not take a schedule's {next(iter(field))}"):
            train_lazy_rich(problem, schedule=Schedule(12, 4, **field))


def test_the_models_are_registered():
    assert MODELS["transformer"] is Transformer
    assert MODELS["digits-mlp"] is DigitsMLP and MODELS["lazy-rich"] is LazyRichCommittee


# --- independent oracles: numpy loops in float64 ----------------------------------------------


def _numpy_digits(data, seed, scale, norm, lr, wd, steps, stride):
    """AdamW (optax's defaults) on the flat MSE of a one-hidden-layer ReLU MLP with Omnigrok's
    projection onto ‖θ‖ = norm, by hand; losses before every ``stride``-th step and at the end."""
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    sizes, p = [64, 12, 10], {}
    for i in range(2):
        b = 1 / np.sqrt(sizes[i])
        p[f"W{i}"] = scale * rng.uniform(-b, b, (sizes[i], sizes[i + 1]))
        p[f"b{i}"] = scale * rng.uniform(-b, b, sizes[i + 1])

    def project(p):
        return {k: v * norm / np.sqrt(sum(np.sum(u**2) for u in p.values())) for k, v in p.items()}

    def loss_grad(p, x, y):
        pre = x @ p["W0"] + p["b0"]
        h = np.maximum(pre, 0)
        f = h @ p["W1"] + p["b1"]
        r = f - np.eye(10)[y]
        df = 2 * r / r.size
        dh = (df @ p["W1"].T) * (pre > 0)
        return np.mean(r**2), {"W1": h.T @ df, "b1": df.sum(0), "W0": x.T @ dh, "b0": dh.sum(0)}

    p = project(p)
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(u) for k, u in p.items()}
    tr, te = [], []
    for t in range(steps + 1):
        if t % stride == 0:
            tr.append(loss_grad(p, data.x_train, data.y_train)[0])
            te.append(loss_grad(p, data.x_test, data.y_test)[0])
        if t == steps:
            break
        g = loss_grad(p, data.x_train, data.y_train)[1]
        for k in p:
            m[k] = 0.9 * m[k] + 0.1 * g[k]
            v[k] = 0.999 * v[k] + 0.001 * g[k] ** 2
            u = (m[k] / (1 - 0.9 ** (t + 1))) / (np.sqrt(v[k] / (1 - 0.999 ** (t + 1))) + 1e-8)
            p[k] = p[k] - lr * (u + wd * p[k])
        p = project(p)
    return np.array(tr), np.array(te)


def test_digits_mlp_trains_as_a_numpy_adamw_loop_with_the_projection(digits):
    import jax

    runs = Grid.zip(seed=[5, 6], init_scale=[1.0, 2.0], fixed_norm=[3.0, 7.0], learning_rate=1e-2,
                    weight_decay=[0.0, 0.3])  # fmt: skip
    with jax.enable_x64(True):
        r = train(
            DigitsMLP(12, 2), AdamW(), Schedule(20, 5), runs, task=digits, loss="mse", precision="float64"
        )
    for k, (seed, scale, norm, wd) in enumerate([(5, 1.0, 3.0, 0.0), (6, 2.0, 7.0, 0.3)]):
        tr, te = _numpy_digits(digits, seed, scale, norm, 1e-2, wd, 20, 5)
        np.testing.assert_allclose(r.train_loss[k], tr, rtol=1e-9)
        np.testing.assert_allclose(r.test_loss[k], te, rtol=1e-9)
    np.testing.assert_allclose(r.weight_norm, [[3.0] * 5, [7.0] * 5], rtol=1e-12)
    assert r.train_loss[0, -1] < r.train_loss[0, 0]


def _numpy_committee(prob, width, eps, alpha, seed, eta0, steps, stride):
    """Gradient descent on the centred committee, ``η = η₀N/α²``, by hand; per record the
    train and test loss, ‖W‖/√N and the alignment of ΔM with β*β*ᵀ."""
    W0 = np.random.default_rng(seed).standard_normal((width, prob.dim))
    W, lr, bb = W0.copy(), eta0 * width / alpha**2, np.outer(prob.beta, prob.beta)

    def f(W, X):
        h = X @ W.T
        return alpha * np.mean(h + 0.5 * eps * h * h, axis=1), h

    out = []
    for t in range(steps + 1):
        ftr, h = f(W, prob.x_train)
        r = ftr - f(W0, prob.x_train)[0] - prob.y_train
        if t % stride == 0:
            test = f(W, prob.x_test)[0] - f(W0, prob.x_test)[0] - prob.y_test
            dM = (W.T @ W - W0.T @ W0) / width
            cos = np.sum(dM * bb) / max(np.linalg.norm(dM) * np.linalg.norm(bb), 1e-30)
            out.append([np.mean(r**2), np.mean(test**2), np.linalg.norm(W) / np.sqrt(width), cos])
        if t < steps:
            dh = (2 * r / r.size)[:, None] * alpha / width * (1 + eps * h)
            W = W - lr * dh.T @ prob.x_train
    return np.array(out).T


def test_lazy_rich_committee_trains_as_a_numpy_gradient_descent(problem):
    runs = train_lazy_rich(problem, width=16, epsilon=0.3, alpha=[0.5, 2.0], seeds=[1, 2],
                           base_learning_rate=0.4, schedule=Schedule(30, 10), float64=True)  # fmt: skip
    for k, (alpha, seed) in enumerate([(0.5, 1), (2.0, 2)]):
        tr, te, norm, cos = _numpy_committee(problem, 16, 0.3, alpha, seed, 0.4, 30, 10)
        np.testing.assert_allclose(runs.train_loss[k], tr, rtol=1e-10)
        np.testing.assert_allclose(runs.test_loss[k], te, rtol=1e-10)
        np.testing.assert_allclose(runs.weight_norm[k], norm, rtol=1e-12)
        # at step 0, ΔM is 0 and its cosine is rounding noise; from then on it is a real direction
        np.testing.assert_allclose(runs.alignment[k, 1:], cos[1:], rtol=1e-8)


def test_learning_rates_round_as_the_traced_float32_computation():
    import jax
    import jax.numpy as jnp

    alpha = np.array([0.3, 0.7, 1.1, 2.9, 0.05])
    m = LazyRichCommittee(width=37)
    traced = jax.jit(lambda a: 0.9 * 37 / a**2)(jnp.asarray(alpha, jnp.float32))
    np.testing.assert_array_equal(m.learning_rates(0.9, alpha), np.asarray(traced, np.float64))
    np.testing.assert_allclose(m.learning_rates(0.9, alpha, float64=True), 0.9 * 37 / alpha**2, rtol=1e-15)


def test_models_reject_bad_settings():
    with pytest.raises(ValueError, match="n_heads must divide d_model"):
        Transformer(d_model=10, n_heads=4)
    with pytest.raises(ValueError, match="depth must be an integer >= 1"):
        DigitsMLP(width=8, depth=0)
    with pytest.raises(ValueError, match="epsilon must be a finite number >= 0"):
        LazyRichCommittee(width=8, epsilon=-0.1)


def test_models_take_examples_as_they_are(digits, problem):
    """An :class:`Examples` passes through ``examples`` unchanged: the same runs as the data."""
    from effgrok.nets import Examples

    ex = DigitsMLP(8, 2).examples(digits)
    assert ex.inputs[0].shape == (270, 64) and ex.train_mask.sum() == 150
    assert DigitsMLP(8, 2).examples(ex) is ex
    runs = Grid.zip(seed=[0], learning_rate=1e-2, weight_decay=0.0)
    a, b = (train(DigitsMLP(8, 2), AdamW(), Schedule(4, 2), runs, task=t, loss="mse") for t in (digits, ex))
    np.testing.assert_array_equal(a.test_loss, b.test_loss)
    m = LazyRichCommittee(width=8)
    ex = m.examples(problem)
    np.testing.assert_array_equal(ex.targets[ex.train_mask], problem.y_train)
    assert isinstance(ex, Examples) and m.examples(ex) is ex
