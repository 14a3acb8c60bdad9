"""Weight-norm diagnostics: norms, trajectories, LU-shape numbers, reduced landscape, α sweep."""

from __future__ import annotations

import math

import numpy as np
import pytest

from effgrok.diagnostics.weight_norm import (
    alpha_sweep,
    decay_time,
    global_norm,
    lu_shape,
    norm_trajectory,
    reduced_landscape,
)
from effgrok.nets.digits import load_digits_split, train_digits
from effgrok.nets.driver import Schedule


def test_global_norm_and_trajectory_against_numpy():
    rng = np.random.default_rng(0)
    snaps = {"W": rng.normal(size=(2, 4, 3, 5)), "b": rng.normal(size=(2, 4, 5))}
    _, w = norm_trajectory(snapshots=snaps, snapshot_steps=[0, 1, 2, 3])
    for r in range(2):
        for t in range(4):
            flat = np.concatenate([snaps["W"][r, t].ravel(), snaps["b"][r, t].ravel()])
            assert w[r, t] == pytest.approx(np.linalg.norm(flat), rel=1e-12)
            one = global_norm({k: v[r, t] for k, v in snaps.items()})
            assert one == pytest.approx(w[r, t], rel=1e-12)
    with pytest.raises(ValueError, match="exactly one"):
        norm_trajectory()
    with pytest.raises(ValueError, match="weight_norm"):
        norm_trajectory(object())


def test_decay_time_closed_form():
    # without gradients, AdamW's decoupled decay multiplies θ by (1 − ηλ) per step
    t = decay_time(np.array([0.5, 1.0, 8.0]), learning_rate=1e-3, weight_decay=0.5)
    assert t[0] == 0 and t[1] == 0
    assert (1 - 5e-4) ** t[2] == pytest.approx(1 / 8, rel=1e-12)
    with pytest.raises(ValueError, match="learning_rate"):
        decay_time(2.0, learning_rate=1.0, weight_decay=2.0)


def test_lu_shape_recognises_shapes_and_rejects_others():
    w = np.geomspace(0.25, 4, 9)
    train_l = 0.1 / (1 + (w / 0.7) ** 8)
    test_u = (np.log(w) - 0.2) ** 2 + 0.01
    s = lu_shape(w, train_l, test_u)
    assert s.is_l and s.is_u and s.w_test_min == pytest.approx(w[5])
    assert s.u_left == pytest.approx(test_u[0] / test_u[5])
    mono = lu_shape(w, train_l, 1 / w)  # test loss decreasing: no U
    assert not mono.is_u and mono.test_argmin == 8
    flat = lu_shape(w, np.full(9, 0.05), test_u)  # no wall on the left: no L
    assert not flat.is_l and flat.l_ratio == pytest.approx(1.0)
    with pytest.raises(ValueError, match="increasing"):
        lu_shape(w[::-1], train_l, test_u)


@pytest.fixture(scope="module")
def small():
    return load_digits_split(150, seed=0, n_test=150)


def test_reduced_landscape_holds_each_norm(small):
    rl = reduced_landscape(small, [0.3, 1.0, 3.0], width=8, schedule=Schedule(30, 15), learning_rate=3e-3)
    assert np.allclose(rl.runs.weight_norm, rl.norms[:, None], rtol=1e-4)
    assert rl.relative.tolist() == [0.3, 1.0, 3.0]
    assert rl.runs.learning_rate.tolist() == pytest.approx([0.3 * 3e-3, 3e-3, 3 * 3e-3])  # η·w/w₀
    assert rl.train_loss[0] > rl.train_loss[1]  # the left wall of the L
    with pytest.raises(ValueError, match="increasing"):
        reduced_landscape(small, [1.0, 0.5])


def test_alpha_sweep_shapes_and_initial_norms(small):
    sw = alpha_sweep(small, [1.0, 3.0], seeds=[0, 1], width=8, schedule=Schedule(20, 10))
    w0 = sw.runs.weight_norm[:, 0].reshape(2, 2)
    assert np.allclose(w0[1], 3 * w0[0], rtol=1e-6)  # α multiplies every initial parameter
    assert sw.t_test.shape == (2, 2) and sw.median_t_test.shape == (2,)
    assert sw.decay_time[1] == pytest.approx(math.log(3) / -math.log1p(-1e-3))


@pytest.mark.parametrize("function", [alpha_sweep, reduced_landscape])
def test_schedule_is_checked_and_refuses_snapshots(small, function):
    with pytest.raises(ValueError, match=r"schedule must be an effgrok\.nets\.Schedule, got 3000"):
        function(small, width=8, schedule=3000)
    with pytest.raises(ValueError, match="does not take a schedule's snapshot_stride"):
        function(small, width=8, schedule=Schedule(20, 10, snapshot_stride=10))


def test_schedule_reaches_train_digits_with_its_batch_size(small):
    # the α sweep's runs are train_digits' runs of the same schedule, mini-batches included
    sched = Schedule(20, 5, batch_size=16)
    sw = alpha_sweep(small, [1.0, 3.0], seeds=[0, 1], width=8, schedule=sched)
    kw = dict(seeds=[0, 1, 0, 1], init_scale=[1.0, 1.0, 3.0, 3.0], weight_decay=1.0, width=8)
    runs = train_digits(small, learning_rate=1e-3, schedule=sched, **kw)
    assert sw.runs.steps.tolist() == [0, 5, 10, 15, 20]
    np.testing.assert_array_equal(sw.runs.train_loss, runs.train_loss)
    full = alpha_sweep(small, [1.0, 3.0], seeds=[0, 1], width=8, schedule=Schedule(20, 5))
    assert not np.array_equal(sw.runs.train_loss[:, 1:], full.runs.train_loss[:, 1:])
    rl = reduced_landscape(small, [0.5, 1.0, 2.0], width=8, schedule=sched)
    assert rl.runs.steps.tolist() == [0, 5, 10, 15, 20]
    assert np.allclose(rl.runs.weight_norm, rl.norms[:, None], rtol=1e-4)  # mini-batches, the norm held
