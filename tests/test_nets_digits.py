"""The digits MLP (Omnigrok-style): data split, initialisation norm, projection, α scaling."""

from __future__ import annotations

import math

import numpy as np
import pytest

from effgrok.nets.digits import (
    N_IMAGES,
    DigitsMLP,
    digits_init,
    expected_init_norm,
    load_digits_split,
    train_digits,
)
from effgrok.nets.driver import AdamW, FirstStep, Grid, Schedule, train
from effgrok.nets.engine import first_crossing as first_step_at


@pytest.fixture(scope="module")
def small():
    return load_digits_split(150, seed=3, n_test=120)


def test_split_is_a_deterministic_partition():
    a, b = load_digits_split(300, seed=1), load_digits_split(300, seed=1)
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_test, b.y_test)
    assert a.n_train + a.n_test == N_IMAGES
    rows = {tuple(r) for r in np.vstack([a.x_train, a.x_test])}
    assert a.x_train.min() >= 0 and a.x_train.max() <= 1
    c = load_digits_split(300, seed=2)
    assert not np.array_equal(a.y_train, c.y_train)
    assert len(rows) > 0.95 * N_IMAGES  # (a few digits images are exact duplicates)


@pytest.mark.parametrize("bad", [dict(n_train=0), dict(n_train=N_IMAGES), dict(n_train=10, n_test=N_IMAGES)])
def test_split_rejects_bad_sizes(bad):
    with pytest.raises(ValueError, match="n_t"):
        load_digits_split(**bad)


def test_init_norm_matches_closed_form_and_scales_with_alpha():
    # Monte Carlo over seeds against E‖θ₀‖² = Σ fan_out (1 + 1/fan_in)/3
    sq = [sum(np.sum(v**2) for v in digits_init(s, width=50, depth=3).values()) for s in range(40)]
    expected = expected_init_norm(width=50, depth=3) ** 2
    assert np.mean(sq) == pytest.approx(expected, rel=0.02)
    direct = (50 * (1 + 1 / 64) + 50 * (1 + 1 / 50) + 10 * (1 + 1 / 50)) / 3
    assert expected == pytest.approx(direct, rel=1e-12)
    p1, p4 = digits_init(7, width=50), digits_init(7, width=50, init_scale=4.0)
    assert all(np.allclose(4 * p1[k], p4[k], rtol=1e-14) for k in p1)
    with pytest.raises(ValueError, match="init_scale"):
        digits_init(0, init_scale=-1.0)


def test_first_step_at():
    assert first_step_at([[0.0, 0.5, 1.0]], [0, 5, 10], 0.5).tolist() == [5]
    assert first_step_at([1.0, 0.2], [0, 5], 0.3, below=True).tolist() == 5
    with pytest.raises(ValueError, match="steps"):
        first_step_at([1.0, 2.0], [0], 1.0)


def test_training_fits_digits_and_matches_numpy_forward(small):
    r = train_digits(
        small, seeds=[0, 1], width=24, schedule=Schedule(120, 40), learning_rate=3e-3, float64=True
    )
    assert r.train_loss.shape == (2, 4) and r.steps.tolist() == [0, 40, 80, 120]
    assert np.all(r.train_loss[:, -1] < 0.5 * r.train_loss[:, 0])
    assert np.all(r.test_acc[:, -1] > 0.6)  # far above chance (0.1)
    # the recorded final loss is the MSE of the returned parameters (independent numpy forward)
    p = {k: v[0] for k, v in r.params.items()}
    h = np.maximum(small.x_test @ p["W0"] + p["b0"], 0)
    h = np.maximum(h @ p["W1"] + p["b1"], 0)
    f = h @ p["W2"] + p["b2"]
    mse = np.mean((f - np.eye(10)[small.y_test]) ** 2)
    assert r.test_loss[0, -1] == pytest.approx(mse, rel=1e-9)
    assert r.weight_norm[0, -1] == pytest.approx(math.sqrt(sum(np.sum(v**2) for v in p.values())), rel=1e-9)
    # the initial norm is the norm of digits_init(seed)
    p0 = digits_init(1, width=24)
    assert r.weight_norm[1, 0] == pytest.approx(math.sqrt(sum(np.sum(v**2) for v in p0.values())), rel=1e-9)


def test_fixed_norm_projection_holds_the_norm(small):
    w = np.array([2.0, 9.0, np.nan])
    r = train_digits(small, fixed_norm=w, width=8, schedule=Schedule(40, 20), learning_rate=1e-2)
    assert np.allclose(r.weight_norm[:2], w[:2, None], rtol=1e-5)
    assert not np.allclose(r.weight_norm[2], r.weight_norm[2, 0], rtol=1e-3)  # NaN: free


def test_weight_decay_shrinks_a_large_init(small):
    r = train_digits(
        small,
        init_scale=8.0,
        weight_decay=[0.0, 5.0],
        width=16,
        schedule=Schedule(100, 50),
        learning_rate=1e-2,
    )
    w = r.weight_norm
    assert w[1, -1] < 0.8 * w[1, 0]  # (1 − 0.05)^100 ≈ 0.006 from decay alone, gradients push back
    assert w[1, -1] < w[0, -1]


def test_bad_arguments(small):
    with pytest.raises(ValueError, match="stride"):
        train_digits(small, schedule=Schedule(10, 3))
    with pytest.raises(ValueError, match="weight_decay"):
        train_digits(small, weight_decay=-1.0)
    with pytest.raises(ValueError, match="common length"):
        train_digits(small, seeds=[0, 1], init_scale=[1.0, 2.0, 3.0])


def test_schedule_is_checked_and_refuses_fields_the_result_has_no_place_for(small):
    with pytest.raises(ValueError, match=r"schedule must be an effgrok\.nets\.Schedule, got 40"):
        train_digits(small, schedule=40)
    hit = FirstStep("train_acc", 0.5)
    for field in (dict(snapshot_stride=20), dict(loss_every_step=True), dict(first_steps=[hit])):
        with pytest.raises(ValueError, match=f"does not take a schedule's {next(iter(field))}"):
            train_digits(small, width=8, schedule=Schedule(40, 20, **field))


def test_schedule_batch_size_reaches_the_driver(small):
    # mini-batches of 32 (of 150 training images): the driver's own draws, not full batch
    kw = dict(seeds=[0, 1], init_scale=[1.0, 2.0], width=8, learning_rate=1e-2)
    mini = train_digits(small, schedule=Schedule(40, 20, batch_size=32), **kw)
    runs = Grid.zip(
        seed=[0, 1], init_scale=[1.0, 2.0], weight_decay=0.0, fixed_norm=np.nan, learning_rate=1e-2
    )
    oracle = train(DigitsMLP(8), AdamW(), Schedule(40, 20, batch_size=32), runs, task=small, loss="mse")
    for k in ("train_loss", "test_acc", "weight_norm"):
        np.testing.assert_array_equal(getattr(mini, k), oracle.curves[k])
    full = train_digits(small, schedule=Schedule(40, 20), **kw)
    assert not np.array_equal(mini.train_loss[:, 1:], full.train_loss[:, 1:])
    # a batch of every training image is full batch, bit for bit
    whole = train_digits(small, schedule=Schedule(40, 20, batch_size=small.n_train), **kw)
    np.testing.assert_array_equal(whole.train_loss, full.train_loss)
