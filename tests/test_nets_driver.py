"""The one training driver (issue 26): grids, schedules, optimisers, models, vmap vs sequential.

Oracles: ``itertools.product`` and numpy broadcasting for the grids; a plain per-run optax loop
written here for a model defined here; :func:`train_modular`'s own tests (naive numpy loops)
for the MLP, against which ``train(MLP(...), ...)`` must agree bit for bit.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pytest

import effgrok as eg
from effgrok._record import Result
from effgrok.nets import (
    MLP,
    MODELS,
    OPTIMIZERS,
    SGD,
    AdamW,
    Chain,
    EmbedSum,
    Frozen,
    Grid,
    Model,
    OrthogonalGradients,
    PerGroup,
    Renamed,
    Schedule,
    TrainRuns,
    register,
    train,
    train_modular,
)
from effgrok.nets.engine import Runs, run_rng

# --- the run grid ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "axes",
    [
        {"train_fraction": [0.3, 0.6], "seed": [0, 1, 2]},
        {"a": [1.0], "b": [4, 5], "c": [0.1, 0.2, 0.3, 0.4]},
        {"seed": 7, "learning_rate": [1e-3, 1e-2], "weight_decay": [0.0, 1.0]},
    ],
)
def test_grid_product_is_itertools_product(axes):
    g = Grid.product(**axes)
    lists = [np.atleast_1d(v).tolist() for v in axes.values()]
    expected = list(itertools.product(*lists))
    got = list(zip(*(g[k].tolist() for k in axes), strict=True))
    assert len(g) == len(expected) and got == expected
    assert all(g[k].dtype == np.asarray(v).dtype for k, v in axes.items())


@pytest.mark.parametrize(
    "cols",
    [
        {"seed": [0, 1, 2], "learning_rate": 1e-3},
        {"seed": 4, "train_fraction": [0.5], "weight_decay": [0.0, 0.5, 1.0, 2.0]},
        {"x": [1, 2], "y": [3.0, 4.0]},
    ],
)
def test_grid_zip_is_numpy_broadcasting(cols):
    g = Grid.zip(**cols)
    ref = np.broadcast_arrays(*(np.atleast_1d(v) for v in cols.values()))
    for k, r in zip(cols, ref, strict=True):
        np.testing.assert_array_equal(g[k], r)
    assert len(g) == ref[0].size
    assert g.run(len(g) - 1) == {k: r[-1] for k, r in zip(cols, ref, strict=True)}


def test_grid_bad_axes_name_the_axis():
    with pytest.raises(ValueError, match="sizes seed: 2, learning_rate: 3"):
        Grid.zip(seed=[0, 1], learning_rate=[1e-3, 1e-2, 1e-1])
    with pytest.raises(ValueError, match="axis seed must be"):
        Grid.product(seed=[], learning_rate=1e-3)
    with pytest.raises(ValueError, match="axis w must be"):
        Grid.product(w=np.zeros((2, 2)))


# --- the schedule ---------------------------------------------------------------------------


def test_schedule_properties():
    s = Schedule(120, 10, snapshot_stride=40, loss_every_step=True)
    np.testing.assert_array_equal(s.recorded_steps, np.arange(0, 121, 10))
    np.testing.assert_array_equal(s.snapshot_steps, [0, 40, 80, 120])
    assert (s.records, s.n_snapshots, s.loss_every_step) == (12, 3, True)
    assert Schedule(10, 5).snapshot_steps is None and Schedule(10, 5).n_snapshots == 1
    assert Schedule(10, 5) == Schedule(10, 5) and hash(Schedule(10, 5)) == hash(Schedule(10, 5))


@pytest.mark.parametrize(
    "args,kw,shown",
    [
        ((0, 1), {}, "0"),
        ((10, 3), {}, "stride 3"),
        ((10.0, 5), {}, "10.0"),
        ((10, True), {}, "True"),
        ((100, 10), {"snapshot_stride": 15}, "15"),
        ((100, 10), {"snapshot_stride": 30}, "30"),
        ((100, 10), {"loss_every_step": "yes"}, "'yes'"),
    ],
)
def test_schedule_bad_values_name_the_value(args, kw, shown):
    with pytest.raises(ValueError, match=shown):
        Schedule(*args, **kw)


# --- optimisers -----------------------------------------------------------------------------


def test_optimizers_are_hashable_values_and_name_their_columns():
    assert AdamW() == AdamW(0.9, 0.999, 1e-8) and hash(AdamW()) == hash(AdamW(0.9, 0.999, 1e-8))
    assert Chain(OrthogonalGradients(), AdamW()) == Chain(OrthogonalGradients(), AdamW())
    assert Renamed(SGD(), learning_rate="lr_emb").columns() == ("lr_emb", "weight_decay")
    with pytest.raises(ValueError, match="beta2 must be a number in"):
        AdamW(beta2=1.0)
    with pytest.raises(ValueError, match="eps must be a finite number"):
        AdamW(eps=-1.0)


# --- a new architecture, defined here, through the unchanged driver --------------------------


@dataclass(frozen=True)
class Bilinear(Model):
    """z = (E_a ⊙ E_b) U: a product of embeddings, nothing the driver knows about."""

    dim: int = 6

    def init(self, rng, task):
        return {
            "E": rng.normal(0.0, 1.0, (task.n_symbols, self.dim)),
            "U": rng.normal(0.0, 1.0 / np.sqrt(self.dim), (self.dim, task.n_classes)),
        }

    def apply(self, params, inputs):
        a, b = inputs
        return (params["E"][a] * params["E"][b]) @ params["U"]


def _reference_loop(task, seed, fraction, lr, steps, stride):
    """The same run by hand: split then init from ``run_rng(seed)``, full-batch optax AdamW."""
    import jax
    import jax.numpy as jnp
    import optax

    rng = run_rng(seed)
    train_mask = eg.random_split(task, fraction=fraction, seed=int(rng.integers(2**63 - 1))).mask
    p = {k: jnp.asarray(v, jnp.float64) for k, v in Bilinear().init(rng, task).items()}
    a, b, y = (jnp.asarray(v) for v in (task.pairs[:, 0], task.pairs[:, 1], task.results))
    opt = optax.adamw(lr, weight_decay=0.5)

    def losses(p):
        z = (p["E"][a] * p["E"][b]) @ p["U"]
        return -jax.nn.log_softmax(z)[jnp.arange(y.size), y]

    def train_loss(p):
        return jnp.mean(losses(p)[train_mask])

    state, test, trained = opt.init(p), [], []
    for t in range(steps + 1):
        if t % stride == 0:
            ell = np.asarray(losses(p))
            trained.append(ell[train_mask].mean())
            test.append(ell[~train_mask].mean())
        if t < steps:
            u, state = opt.update(jax.grad(train_loss)(p), state, p)
            p = optax.apply_updates(p, u)
    return train_mask, np.array(trained), np.array(test)


def test_a_new_model_trains_through_the_driver_as_a_hand_written_loop():
    import jax

    task = eg.make_task("add-mod", 7)
    runs = Grid.product(seed=[3, 5], train_fraction=0.6, learning_rate=0.05, weight_decay=0.5)
    with jax.enable_x64(True):
        r = train(Bilinear(), AdamW(), Schedule(30, 10), runs, task=task, precision="float64")
        for k, seed in enumerate((3, 5)):
            mask, tr, te = _reference_loop(task, seed, 0.6, 0.05, 30, 10)
            np.testing.assert_array_equal(r.train_mask[k], mask)
            np.testing.assert_allclose(r.train_loss[k], tr, rtol=1e-10)
            np.testing.assert_allclose(r.test_loss[k], te, rtol=1e-10)
    assert r.train_loss[0, -1] < r.train_loss[0, 0]
    assert set(r.curves) == {"train_loss", "test_loss", "train_acc", "test_acc", "weight_norm"}


def test_registry():
    assert MODELS["mlp"] is MLP and MODELS["embed-sum"] is EmbedSum
    register("bilinear-test")(Bilinear)
    assert MODELS.pop("bilinear-test") is Bilinear
    with pytest.raises(ValueError, match="taken by MLP"):
        register("mlp")(Bilinear)
    with pytest.raises(ValueError, match="Model subclass"):
        register("nothing")(int)


# --- the modular MLPs on the driver ----------------------------------------------------------


@pytest.mark.parametrize(
    "model,kw",
    [
        (MLP(hidden=8), dict(optimizer=AdamW(), architecture="one_hot_mlp", hidden=8)),
        (
            MLP(hidden=8, activation="quadratic", bias=False),
            dict(optimizer=SGD(), activation="quadratic", bias=False, hidden=8),
        ),
        (EmbedSum(embed_dim=6, hidden=8), dict(architecture="embed_sum", embed_dim=6, hidden=8)),
    ],
)
def test_train_modular_is_train_of_the_model(model, kw):
    task = eg.make_task("sub-mod", 5)
    old = train_modular(
        task, train_fraction=[0.5, 0.8], seeds=[1, 2], learning_rate=1e-2, schedule=Schedule(12, 4), **kw
    )
    opt = SGD() if kw.get("optimizer") == SGD() else AdamW()
    runs = Grid.zip(
        train_fraction=[0.5, 0.8], seed=[1, 2], learning_rate=1e-2, weight_decay=1.0, init_scale=1.0
    )
    new = train(model, opt, Schedule(12, 4), runs, task=task)
    for name in new.curves:
        np.testing.assert_array_equal(getattr(old, name), new.curves[name])
    for name in new.params:
        np.testing.assert_array_equal(old.params[name], new.params[name])
    np.testing.assert_array_equal(old.train_mask, new.train_mask)


def test_orthograd_chain_and_bias_mask():
    task = eg.make_task("add-mod", 5)
    kw = dict(hidden=6, schedule=Schedule(6, 3), learning_rate=1e-2, bias=False)
    old = train_modular(task, optimizer=OPTIMIZERS["orthograd_adamw"](), **kw)
    runs = Grid.zip(train_fraction=0.5, learning_rate=1e-2, weight_decay=1.0)
    new = train(MLP(6, bias=False), Chain(OrthogonalGradients(), AdamW()), Schedule(6, 3), runs, task=task)
    np.testing.assert_array_equal(old.test_loss, new.test_loss)
    assert not new.params["b1"].any() and not new.params["b2"].any()


# --- the accelerator path (jax.vmap over runs), exercised on the CPU --------------------------


@pytest.mark.parametrize("precision,rtol", [("float32", 1e-6), ("float64", 1e-14)])
@pytest.mark.parametrize("model", [MLP(hidden=8, activation="gelu"), EmbedSum(embed_dim=6, hidden=8)])
def test_vectorize_equals_the_sequential_path(model, precision, rtol):
    """vmap and the sequential lax.map take bit-identical steps (the parameters agree exactly);
    the measured curves agree to a few units in the last place, because XLA orders the
    reduction over the examples of a batched (vmapped) sum differently from a single run's
    (measured: ≤ 1.2e-7 relative in float32, ≤ 2.5e-16 in float64)."""
    task = eg.make_task("add-mod", 7)
    runs = Grid.product(train_fraction=[0.4, 0.8], seed=[0, 1], learning_rate=1e-2, weight_decay=1.0)
    seq, vec = (
        train(model, AdamW(), Schedule(30, 10), runs, task=task, precision=precision, vectorize=v)
        for v in (False, True)
    )
    for name in seq.params:
        np.testing.assert_array_equal(seq.params[name], vec.params[name])
    assert set(seq.curves) == set(vec.curves)
    for name in seq.curves:
        np.testing.assert_allclose(vec.curves[name], seq.curves[name], rtol=rtol, atol=0)


# --- per-group optimisers, the result, bad calls ---------------------------------------------


def _emb_or_rest(name):
    return "emb" if name == "E" else "rest"


def test_per_group_frozen_and_renamed_columns():
    task = eg.make_task("add-mod", 5)
    runs = Grid.zip(seed=[0, 1], train_fraction=0.6, lr_rest=0.1, weight_decay=0.0)
    opt = PerGroup(_emb_or_rest, emb=Frozen(), rest=Renamed(SGD(), learning_rate="lr_rest"))
    r = train(Bilinear(), opt, Schedule(4, 2), runs, task=task)
    for k in range(2):  # the embeddings stay as drawn (split first, then init)
        rng = run_rng(k)
        rng.integers(2**63 - 1)
        np.testing.assert_array_equal(r.params["E"][k], Bilinear().init(rng, task)["E"].astype(np.float32))
    assert r.train_loss[0, -1] != r.train_loss[0, 0]


def test_train_runs_is_a_result_with_named_curves():
    assert issubclass(Runs, Result) and issubclass(TrainRuns, Runs)
    task = eg.make_task("add-mod", 5)
    runs = Grid.product(train_fraction=[0.5, 0.9], learning_rate=1e-3, weight_decay=1.0)
    r = train(MLP(hidden=4), AdamW(), Schedule(4, 2), runs, task=task)
    rec = r.record(curves=False)
    assert rec["runs"] == 2 and rec["train_fraction"] == [0.5, 0.9] and len(rec["final_test_acc"]) == 2
    assert rec["n_train"] == [round(0.5 * 15), round(0.9 * 15)]
    assert len(r.tables()["curves"]) == 2 * 3 and r.test_acc is r.curves["test_acc"]
    with pytest.raises(AttributeError, match="nothing"):
        _ = r.nothing


@pytest.mark.parametrize(
    "change,match",
    [
        (dict(model="mlp"), "model must be a Model"),
        (dict(optimizer="adamw"), "optimizer must be an effgrok Optimizer"),
        (dict(schedule=(4, 2)), "schedule must be an effgrok.nets.Schedule, got \\(4, 2\\)"),
        (dict(runs={"seed": [0]}), "runs must be a Grid"),
        (dict(runs=Grid.zip(train_fraction=0.5, learning_rate=1e-3)), "no column weight_decay"),
        (dict(runs=Grid.zip(learning_rate=1e-3, weight_decay=0.0)), "train_fraction or an n_train"),
        (dict(precision="float16"), "precision must be one of"),
        (dict(loss="hinge"), "loss must be one of"),
        (dict(vectorize="yes"), "vectorize must be"),
    ],
)
def test_bad_calls_raise(change, match):
    args = dict(
        model=MLP(hidden=4),
        optimizer=AdamW(),
        schedule=Schedule(4, 2),
        runs=Grid.zip(train_fraction=0.5, learning_rate=1e-3, weight_decay=0.0),
        task=eg.make_task("add-mod", 5),
    )
    args.update(change)
    with pytest.raises(ValueError, match=match):
        train(args.pop("model"), args.pop("optimizer"), args.pop("schedule"), args.pop("runs"), **args)


@dataclass(frozen=True)
class OnSphere(Bilinear):
    """Bilinear with its parameters held on the sphere ‖θ‖ = fixed_norm (a grid column)."""

    def project(self, params, run):
        import jax.numpy as jnp

        norm = jnp.sqrt(sum(jnp.sum(v**2) for v in params.values()))
        return {k: v * (run["fixed_norm"] / norm) for k, v in params.items()}


def test_a_projection_holds_every_recorded_state_on_its_sphere():
    task = eg.make_task("add-mod", 5)
    runs = Grid.product(fixed_norm=[2.0, 5.0], train_fraction=0.6, learning_rate=0.05, weight_decay=0.0)
    r = train(OnSphere(), AdamW(), Schedule(6, 2), runs, task=task, precision="float64")
    np.testing.assert_allclose(r.weight_norm, np.array([[2.0] * 4, [5.0] * 4]), rtol=1e-12)
    free = train(Bilinear(), AdamW(), Schedule(6, 2), runs, task=task, precision="float64")
    assert not np.allclose(free.weight_norm[:, 0], [2.0, 5.0])
