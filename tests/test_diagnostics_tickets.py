"""Grokking tickets: magnitude pruning, norm-matched controls, time to generalise, protocol."""

from __future__ import annotations

import math

import numpy as np
import pytest

from effgrok.constants import NEVER
from effgrok.diagnostics.tickets import (
    grokking_tickets,
    kept_fraction,
    layer_norms,
    magnitude_mask,
    memorization_index,
    norm_matched_init,
    power_match,
    random_mask,
    ticket_sweep,
    time_to_generalize,
    weight_keys,
)
from effgrok.nets.driver import Schedule


def _params(seed=0):
    rng = np.random.default_rng(seed)
    return {
        "W1": rng.normal(size=(12, 7)),
        "b1": np.zeros(7),
        "W2": rng.normal(size=(7, 5)),
        "b2": rng.normal(size=5),
    }


@pytest.mark.parametrize("pruned", [0.0, 0.1, 0.37, 0.5, 0.9])
def test_magnitude_mask_against_naive_threshold(pruned):
    p = _params(1)
    m = magnitude_mask(p, pruned)
    flat = np.concatenate([np.abs(p["W1"]).ravel(), np.abs(p["W2"]).ravel()])
    k = round(pruned * flat.size)
    # naive oracle: keep exactly the entries strictly above the k-th smallest magnitude
    thr = np.sort(flat)[k - 1] if k else -np.inf
    for name in ("W1", "W2"):
        assert np.array_equal(m[name], (np.abs(p[name]) > thr).astype(float))
    assert np.all(m["b1"] == 1) and np.all(m["b2"] == 1)  # biases are not pruned
    assert int(sum(m[n].size - m[n].sum() for n in ("W1", "W2"))) == k


def test_magnitude_mask_breaks_ties_by_position_and_per_run():
    p = {"W1": np.ones((2, 3)), "W2": np.ones((3, 1))}
    m = magnitude_mask(p, 0.5)  # 9 equal magnitudes, round(4.5) = 4 pruned: the first four
    assert m["W1"].ravel().tolist() == [0, 0, 0, 0, 1, 1] and m["W2"].ravel().tolist() == [1, 1, 1]
    q = {k: np.stack([v, 2 * v * np.arange(1, v.size + 1).reshape(v.shape)]) for k, v in p.items()}
    mr = magnitude_mask(q, 0.5, run_axis=True)
    assert np.array_equal(mr["W1"][0], m["W1"])
    # run 1: |W1| = 2, 4, ..., 12 and |W2| = 2, 4, 6; the ties 2 = 2 and 4 = 4 go W1 first
    assert mr["W1"][1].ravel().tolist() == [0, 0, 1, 1, 1, 1] and mr["W2"][1].ravel().tolist() == [0, 0, 1]
    with pytest.raises(ValueError, match="pruned_fraction"):
        magnitude_mask(p, 1.0)
    with pytest.raises(ValueError, match="keys"):
        magnitude_mask(p, 0.5, keys=("W3",))


def test_random_mask_counts_and_seeds():
    p = _params()
    a, b = random_mask(p, 0.4, seed=3), random_mask(p, 0.4, seed=4)
    n = p["W1"].size + p["W2"].size
    for m in (a, b):
        assert int(sum(m[k].size - m[k].sum() for k in ("W1", "W2"))) == round(0.4 * n)
    assert not np.array_equal(a["W1"], b["W1"])
    assert np.array_equal(a["W1"], random_mask(p, 0.4, seed=3)["W1"])


@pytest.mark.parametrize("seed", range(4))
def test_power_match_hits_both_norms(seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, 500)
    sub = x * (rng.uniform(size=x.size) > 0.7)  # a sparse subset, as a ticket
    l1, l2 = np.abs(sub).sum(), np.linalg.norm(sub)
    y, gamma, c = power_match(x, l1, l2)
    assert np.abs(y).sum() == pytest.approx(l1, rel=1e-9)
    assert np.linalg.norm(y) == pytest.approx(l2, rel=1e-9)
    assert np.array_equal(np.sign(y), np.sign(x))
    assert np.allclose(y, c * np.sign(x) * np.abs(x) ** gamma, rtol=1e-9)
    assert gamma > 1  # sparser target: heavier tail
    assert np.array_equal(np.argsort(np.abs(y), kind="stable"), np.argsort(np.abs(x), kind="stable"))


def test_power_match_limits():
    x = np.array([1.0, 2.0, 2.0, 0.0])
    y, g, _ = power_match(x, math.sqrt(3), 1.0)  # ratio √3 = √n₀: γ = 0, equal magnitudes
    assert g == pytest.approx(0.0, abs=1e-6) and np.allclose(np.abs(y[:3]), 1 / math.sqrt(3))
    with pytest.raises(ValueError, match="sqrt"):
        power_match(x, 2.0, 1.0)  # above √3
    with pytest.raises(ValueError, match="tied"):
        power_match(x, 1.2, 1.0)  # below √2 (the two tied maxima)


def test_norm_matched_init_modes():
    d = _params(2)
    t = {k: v * magnitude_mask(d, 0.6)[k] for k, v in d.items()}
    both = norm_matched_init(d, t)
    for k in ("W1", "W2"):
        assert layer_norms(both)[k] == pytest.approx(layer_norms(t)[k], rel=1e-9)
    assert np.array_equal(both["b2"], d["b2"])  # not in keys: copied
    l2 = norm_matched_init(d, t, match="l2")
    assert layer_norms(l2, ("W1", "W2"))["total"][1] == pytest.approx(
        layer_norms(t, ("W1", "W2"))["total"][1]
    )
    assert (
        layer_norms(l2, ("W1", "W2"))["total"][0] > layer_norms(t, ("W1", "W2"))["total"][0]
    )  # L1 not matched
    with pytest.raises(ValueError, match="match"):
        norm_matched_init(d, t, match="linf")


def test_time_to_generalize_and_memorization_index():
    steps = [0, 10, 20, 30]
    acc = np.array([[0.0, 0.5, 0.99, 1.0], [0.0, 0.0, 0.0, 0.2]])
    np.testing.assert_array_equal(time_to_generalize(steps, acc), [20.0, NEVER])
    np.testing.assert_array_equal(time_to_generalize(steps, acc, 0.5), [10.0, NEVER])
    assert memorization_index([0.2, 0.99, 1.0], [0.0, 0.1, 1.0]) == 1
    assert memorization_index([0.2, 0.5], [0.0, 0.1]) == -1
    with pytest.raises(ValueError, match="threshold"):
        time_to_generalize(steps, acc, 0.0)


def test_sparsity_convention_and_weight_keys():
    """effgrok prunes the fraction pruned_fraction; the paper's sparsity is the fraction kept."""
    assert kept_fraction(0.6) == 0.4 and kept_fraction(0.0) == 1.0
    emb = {"E": np.ones((5, 4)), "W_in": np.ones((4, 3)), "W_out": np.ones((3, 4)), "W_U": np.ones((4, 5))}
    assert weight_keys(emb) == ("E", "W_in", "W_out", "W_U")  # the paper prunes all four
    m = magnitude_mask(emb, 0.6)
    n = sum(v.size for v in emb.values())
    assert int(sum(v.sum() for v in m.values())) == n - round(0.6 * n)  # 40 % kept
    with pytest.raises(ValueError, match="pruned_fraction"):
        kept_fraction(1.5)


def test_protocol_wiring_small():
    """The retrained runs start from the masked original init and keep the mask exactly; the
    default network is the paper's embedding-sum MLP."""
    import effgrok as eg
    from effgrok.nets.driver import AdamW
    from effgrok.nets.modular import train_modular

    task = eg.make_task("add-mod", 7)
    opts = dict(train_fraction=0.6, hidden=6, embed_dim=5, schedule=Schedule(40, 20))
    st = grokking_tickets(task, seeds=[3], pruned_fraction=0.5, **opts)
    dense = train_modular(task, seeds=[3], architecture="embed_sum", optimizer=AdamW(beta2=0.98), **opts)
    assert np.array_equal(st.curves["dense"], dense.test_acc)  # the same dense run
    theta0_l2 = st.norms["dense"][0, 1]
    assert st.norms["ticket"][0, 1] < theta0_l2
    assert np.allclose(st.norms["norm_matched_dense"], st.norms["ticket"], rtol=1e-9)
    assert st.norms["random_ticket"][0, 1] < theta0_l2
    assert st.settings["p"] == 7 and st.pruned_fraction == 0.5 and st.kept_fraction == 0.5
    assert st.settings["pairs"] == "unordered" and st.mask_step == 40
    # a sweep shares the dense run; the controls are run at the first fraction only
    a, b = ticket_sweep(task, seeds=[3], pruned_fractions=[0.5, 0.8], **opts)
    assert np.array_equal(a.curves["dense"], b.curves["dense"])
    assert np.array_equal(a.curves["ticket"], st.curves["ticket"])
    assert set(b.t_gen) == {"dense", "ticket", "random_ticket"}
    assert b.norms["ticket"][0, 1] < a.norms["ticket"][0, 1]


# --- issue 26: the driver's Schedule and Optimizer objects, passed straight on --------------------


@pytest.mark.parametrize(
    "kw,match",
    [
        (lambda: {"schedule": 40}, "schedule must be an effgrok.nets.Schedule, got 40"),
        (lambda: {"schedule": Schedule(4, 2, loss_every_step=True)}, "a schedule's loss_every_step"),
        (lambda: {"optimizer": "adamw"}, "optimizer must be an effgrok Optimizer"),
    ],
)
def test_ticket_sweep_checks_its_schedule_and_optimizer(kw, match):
    import effgrok as eg

    with pytest.raises(ValueError, match=match):
        ticket_sweep(eg.make_task("add-mod", 5), hidden=4, embed_dim=4, **kw())


def test_ticket_sweep_passes_its_schedule_and_optimizer_on_and_records_them():
    """The dense run is train_modular's with the schedule's snapshot stride and the optimiser;
    the settings keep their flat keys (steps, stride, snapshot_stride, beta2), and an optimiser
    other than the paper's AdamW adds what differs."""
    import effgrok as eg
    from effgrok.nets.driver import SGD, AdamW
    from effgrok.nets.modular import train_modular

    task = eg.make_task("add-mod", 7)
    opts = dict(train_fraction=0.6, hidden=6, embed_dim=5, learning_rate=1e-2)
    sched, adam = Schedule(40, 10, snapshot_stride=20), AdamW(beta1=0.8, beta2=0.95)
    (st,) = ticket_sweep(task, seeds=[3], schedule=sched, optimizer=adam, **opts)
    dense = train_modular(task, seeds=[3], architecture="embed_sum", schedule=sched, optimizer=adam, **opts)
    np.testing.assert_array_equal(st.curves["dense"], dense.test_acc)
    assert st.memorization_step[0] in (0.0, 20.0, 40.0) or math.isnan(st.memorization_step[0])
    kept = {k: st.settings[k] for k in ("steps", "stride", "snapshot_stride", "beta2", "beta1")}
    assert kept == {"steps": 40, "stride": 10, "snapshot_stride": 20, "beta2": 0.95, "beta1": 0.8}
    assert "optimizer" not in st.settings and "eps" not in st.settings
    (paper,) = ticket_sweep(task, seeds=[3], schedule=Schedule(20, 10), **opts)
    assert paper.settings["snapshot_stride"] == 10 and paper.settings["beta2"] == 0.98
    assert not {"optimizer", "beta1", "eps"} & set(paper.settings)
    (sgd,) = ticket_sweep(task, seeds=[3], schedule=Schedule(20, 10), optimizer=SGD(), **opts)
    assert (sgd.settings["optimizer"], sgd.settings["beta2"]) == ("sgd", None)
    assert sgd.record()["settings"]["optimizer"] == "sgd"
