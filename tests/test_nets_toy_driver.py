"""The toy model on the one driver (issue 26 item 1): mini-batches, first steps at every step,
``ToyModel`` through :func:`train` and the accelerator path.

Oracles: a model with one parameter per example, whose plain-SGD step moves exactly the
examples of its batch, against the batches recomputed here in numpy from the run's own
generator (split seed, initial draw, then the key) and ``jax.random.uniform``; the stride-1
curves of the same runs (:func:`~effgrok.constants.first_crossing`) for the first steps; the
sequential path for ``vmap``; :func:`train_toy`'s own tests (a naive numpy implementation,
tests/test_nets.py) and the golden outputs for the toy model's numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

import effgrok as eg
from effgrok.constants import first_crossing
from effgrok.nets import (
    FIRST_STEPS,
    MODELS,
    SGD,
    Examples,
    FirstStep,
    Grid,
    Model,
    Schedule,
    ToyConfig,
    ToyModel,
    engine,
    train,
    train_toy,
)
from effgrok.nets.engine import run_rng

jax = pytest.importorskip("jax")


def _value(outputs, targets):
    """Per-example loss = the example's own parameter: its gradient is the example's weight."""
    return outputs


@dataclass(frozen=True)
class _PerExample(Model):
    """One parameter per example (drawn ``N(0, 1)``), the output is that parameter."""

    def examples(self, task):
        return Examples((np.arange(task.n_examples),), task.results, task=task)

    def init(self, rng, task):
        return {"v": rng.standard_normal(task.n_examples)}

    def apply(self, params, inputs):
        return params["v"][inputs[0]]

    def correct(self, outputs, targets):
        return None


def _expected_batches(task, seed, n_train, size, steps):
    """The batches of run ``seed``, recomputed: its generator draws the split's seed, the
    initial parameters, then the key; batch ``t`` = the ``size`` training examples with the
    smallest ``uniform(fold_in(key, t))``."""
    rng = run_rng(seed)
    mask = eg.random_split(task, size=n_train, seed=int(rng.integers(2**63 - 1))).mask
    rng.standard_normal(task.n_examples)
    key = jax.random.wrap_key_data(rng.integers(2**32, size=2, dtype=np.uint32))
    out = np.zeros((steps, task.n_examples), bool)
    for t in range(steps):
        u = np.asarray(jax.random.uniform(jax.random.fold_in(key, t), (task.n_examples,)))
        train_idx = np.flatnonzero(mask)
        out[t, train_idx[np.argsort(u[train_idx], kind="stable")[:size]]] = True
    return mask, out


def _batches(first_steps=(), seeds=(0, 1, 2), n_train=(30, 40, 12)):
    task = eg.make_task("add", 10)
    sched = Schedule(6, 1, snapshot_stride=1, batch_size=20, first_steps=first_steps)
    grid = Grid.zip(seed=list(seeds), n_train=list(n_train), learning_rate=1.0, weight_decay=0.0)
    r = train(_PerExample(), SGD(), sched, grid, task=task, loss=_value)  # float32: float32 uniforms
    return task, r, np.diff(r.snapshots["v"], axis=1) != 0


@pytest.mark.parametrize("every_example", [False, True])
def test_minibatches_are_the_runs_own_uniform_draws(every_example):
    # the step's forward pass on the training examples (gathered) or on every example (first steps)
    hits = (FirstStep("train_loss", -1e9, below=True),) if every_example else ()
    task, r, moved = _batches(hits)
    for k, (seed, n) in enumerate([(0, 30), (1, 40), (2, 12)]):
        mask, expected = _expected_batches(task, seed, n, min(20, n), 6)
        np.testing.assert_array_equal(r.train_mask[k], mask)
        np.testing.assert_array_equal(moved[k], expected)
        # plain SGD, lr 1: each example of the batch moves by its weight 1/|B|
        step = np.diff(r.snapshots["v"][k], axis=0)[expected]
        np.testing.assert_allclose(step, -1.0 / min(20, n), rtol=1e-5)
    assert moved[2].sum(axis=1).tolist() == [12] * 6  # n_train 12 <= 20: the full training set


def test_minibatch_draws_do_not_depend_on_chunking_or_companions(monkeypatch):
    _, whole, moved = _batches()
    monkeypatch.setattr(engine, "MAX_RUNS_PER_CHUNK", 1)
    _, chunked, moved_chunked = _batches()
    np.testing.assert_array_equal(moved_chunked, moved)
    np.testing.assert_array_equal(chunked.snapshots["v"], whole.snapshots["v"])
    monkeypatch.setattr(engine, "MAX_RUNS_PER_CHUNK", None)
    _, _, moved_alone = _batches(seeds=(1,), n_train=(40,))
    np.testing.assert_array_equal(moved_alone[0], moved[1])


def _toy_train(schedule, precision="float64", vectorize=None, grid=None, **kw):
    task = eg.make_task("add", 6)
    model = ToyModel(hidden=16)
    columns = dict(seed=[0, 1, 2], n_train=[15, 18, 10], lr_emb=1e-2, wd_emb=0.0, lr_dec=1e-2, wd_dec=0.0)
    runs = Grid.zip(**{**columns, **(grid or {})})
    opt = model.optimizer()
    return train(
        model, opt, schedule, runs, task=task, loss=model.loss, precision=precision, vectorize=vectorize, **kw
    )


def test_first_steps_are_checked_at_every_step():
    rates = {"lr_emb": 3e-2, "lr_dec": 3e-2}
    fine = _toy_train(Schedule(120, 1, batch_size=12, first_steps=FIRST_STEPS), grid=rates)
    coarse = _toy_train(Schedule(120, 40, batch_size=12, first_steps=FIRST_STEPS), grid=rates)
    for h in FIRST_STEPS:
        oracle = first_crossing(fine.curves[h.curve], fine.steps, h.level, strict=h.strict)
        np.testing.assert_array_equal(fine.columns[h.name], oracle)
        # the same steps whatever the recording stride: they are not rounded up to a record
        np.testing.assert_array_equal(coarse.columns[h.name], oracle)
    hits = np.concatenate([fine.columns[h.name] for h in FIRST_STEPS])
    hits = hits[np.isfinite(hits)]
    assert hits.size >= 3 and np.any(hits % 40 != 0)  # reached, between two records
    with pytest.raises(ValueError, match="first_steps read nope"):
        _toy_train(Schedule(2, 1, first_steps=[FirstStep("nope", 1.0)]))


@pytest.mark.parametrize(("precision", "rtol"), [("float64", 1e-12), ("float32", 1e-5)])
def test_toy_vmap_equals_the_sequential_path(precision, rtol):
    # Not bit for bit: vmap turns each run's matrix products into batched ones, whose rounding
    # may differ in the last bit from the per-run products.  Measured over these 60 Adam steps
    # (mini-batches and first steps on): ≤ 5e-15 relative in float64, ≤ 7e-7 in float32 (the
    # embedding near 0: 1.2e-7 absolute), so rtol is ~200× / ~15× above what was seen and far
    # below any change of the model's arithmetic; RQI and the first steps agree exactly.
    sched = Schedule(60, 10, batch_size=12, first_steps=FIRST_STEPS)
    seq = _toy_train(sched, precision, vectorize=False)
    vec = _toy_train(sched, precision, vectorize=True)
    for name in ("train_loss", "test_loss", "rqi", "embedding"):
        np.testing.assert_allclose(vec.curves[name], seq.curves[name], rtol=rtol, atol=rtol)
    for h in FIRST_STEPS:
        np.testing.assert_array_equal(vec.columns[h.name], seq.columns[h.name])
    np.testing.assert_array_equal(vec.train_mask, seq.train_mask)


def test_toy_model_through_train_is_train_toy():
    task = eg.make_task("add", 6)
    cfg = ToyConfig(hidden=16, steps=40, stride=10, batch_size=12, float64=True, emb_optimizer="sgd")
    old = train_toy(task, cfg, seeds=[3, 4], n_train=[18, 9], lr_emb=[0.1, 0.2], lr_dec=1e-2)
    model = cfg.model()
    grid = Grid.zip(seed=[3, 4], n_train=[18, 9], lr_emb=[0.1, 0.2], wd_emb=0.0, lr_dec=1e-2, wd_dec=0.0)
    new = train(
        model, model.optimizer("sgd"), cfg.schedule(), grid, task=task, loss=model.loss, precision="float64"
    )
    for name in [*old.curve_names(), "embedding"]:
        np.testing.assert_array_equal(getattr(old, name), new.curves[name])
    for name in ("step_train_acc", "step_test_acc", "step_rqi", "n_train"):
        np.testing.assert_array_equal(getattr(old, name), new.columns[name])
    assert MODELS["toy"] is ToyModel and model == ToyModel(hidden=16)


def test_rqi_of_the_toy_model_against_a_direct_count():
    """RQI and Acc-hat as the fraction of parallelograms (numpy, over
    :func:`effgrok.parallelograms`) realised by the recorded embedding."""
    from effgrok.effective.constraints import parallelograms

    task = eg.make_task("add", 6)
    r = _toy_train(Schedule(60, 20, first_steps=FIRST_STEPS), grid={"lr_emb": 3e-2})
    pars = parallelograms(task)
    s0, s1 = task.slots[:, 0], task.slots[:, 1]
    for k in range(3):
        for i in range(r.steps.size):
            E = r.curves["embedding"][k, i]
            z = (E - E.mean(axis=0)) / E.std(axis=0, ddof=1)
            h = z[s0] + z[s1]
            d2 = np.sum((h[pars[:, 0]] - h[pars[:, 1]]) ** 2, axis=1) / E.shape[1]
            realised = d2 < 0.1**2
            np.testing.assert_allclose(r.curves["rqi"][k, i], realised.mean(), rtol=1e-12)
            m = r.train_mask[k]
            pred = np.zeros(task.n_examples, bool)
            for (x, y), ok in zip(pars, realised, strict=True):
                if ok and m[x] != m[y]:
                    pred[y if m[x] else x] = True
            np.testing.assert_allclose(r.curves["predicted_test_acc"][k, i], (pred & ~m).sum() / (~m).sum())
    assert r.curves["rqi"].max() > 0.3  # the embedding became structured: not a comparison of zeros


def test_schedule_and_train_options_are_checked():
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        Schedule(10, 1, batch_size=0)
    with pytest.raises(ValueError, match="first_steps must be FirstStep"):
        Schedule(10, 1, first_steps=[("train_acc", 0.9)])
    with pytest.raises(ValueError, match="names must differ"):
        Schedule(10, 1, first_steps=[FirstStep("rqi", 0.9), FirstStep("rqi", 0.5)])
    with pytest.raises(ValueError, match="level must be a finite number"):
        FirstStep("rqi", float("nan"))


def test_given_training_sets_and_initial_parameters_keep_every_other_draw():
    sched = Schedule(20, 10, batch_size=12, first_steps=FIRST_STEPS)
    ref = _toy_train(sched)
    # the drawn sets given back: the split's seed is still drawn, so nothing else changes
    same = _toy_train(sched, train_mask=ref.train_mask)
    np.testing.assert_array_equal(same.curves["train_loss"], ref.curves["train_loss"])
    # other sets: the same initial parameters (and templates, frozen throughout)
    other = _toy_train(sched, train_mask=np.roll(ref.train_mask, 1, axis=0))
    np.testing.assert_array_equal(other.curves["embedding"][:, 0], ref.curves["embedding"][:, 0])
    np.testing.assert_array_equal(other.params["templates"], ref.params["templates"])
    assert other.n_train.tolist() == [10, 15, 18]
    # None entries keep the draws; a given entry replaces its draw only
    drawn = dict.fromkeys(ref.params)
    kept = _toy_train(sched, init_params={**drawn, "templates": ref.params["templates"]})
    np.testing.assert_array_equal(kept.curves["train_loss"], ref.curves["train_loss"])
    moved = _toy_train(
        sched, init_params={**dict.fromkeys(ref.params), "templates": 2 * ref.params["templates"]}
    )
    np.testing.assert_array_equal(moved.curves["embedding"][:, 0], ref.curves["embedding"][:, 0])
    assert not np.allclose(moved.curves["train_loss"], ref.curves["train_loss"])
    with pytest.raises(ValueError, match="train_mask gives 2 training sets for 3 runs"):
        _toy_train(sched, train_mask=ref.train_mask[:2])
    with pytest.raises(ValueError, match="train_mask must be a bool array"):
        _toy_train(sched, train_mask=ref.train_mask[:, :5])
