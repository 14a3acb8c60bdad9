import json
import math

import numpy as np
import pytest

import effgrok as eg
from effgrok.cli import main

pytest.importorskip("jax")

from effgrok.nets.driver import SGD, AdamW, FirstStep, Grid, Schedule, train
from effgrok.nets.transformer import Transformer, train_transformer, transformer_logits


def _naive_causal_decoder(params, tokens, n_heads):
    """Oracle: a full causal one-layer decoder, every position, explicit loops over examples,
    heads and key positions; returns the logits at the last position."""
    P = {k: np.asarray(v, np.float64) for k, v in params.items()}
    d = P["tok"].shape[1]
    dh = d // n_heads

    def ln(x, g, b):
        return (x - x.mean()) / math.sqrt(x.var() + 1e-5) * g + b

    out = []
    for seq in tokens:
        h = np.array([P["tok"][tok] + P["pos"][t] for t, tok in enumerate(seq)])
        u = np.array([ln(x, P["ln1_g"], P["ln1_b"]) for x in h])
        res = []
        for t in range(len(seq)):
            heads = []
            for j in range(n_heads):
                sl = slice(j * dh, (j + 1) * dh)
                q = (u[t] @ P["Wq"])[sl]
                scores = np.array([q @ (u[s] @ P["Wk"])[sl] / math.sqrt(dh) for s in range(t + 1)])
                w = np.exp(scores - scores.max())
                w /= w.sum()
                heads.append(sum(w[s] * (u[s] @ P["Wv"])[sl] for s in range(t + 1)))
            r = h[t] + np.concatenate(heads) @ P["Wo"]
            r = r + np.maximum(ln(r, P["ln2_g"], P["ln2_b"]) @ P["W1"] + P["b1"], 0) @ P["W2"] + P["b2"]
            res.append(ln(r, P["lnf_g"], P["lnf_b"]) @ P["Wu"])
        out.append(res[-1])
    return np.array(out)


@pytest.fixture(scope="module")
def tiny():
    task = eg.make_task("add-mod", 7)
    runs = train_transformer(
        task,
        train_fraction=[0.8, 0.8],
        seeds=[0, 1],
        schedule=Schedule(300, 50),
        d_model=32,
        n_heads=4,
        learning_rate=3e-3,
    )
    return task, runs


def test_shapes_and_fields(tiny):
    task, r = tiny
    assert r.steps.tolist() == [0, 50, 100, 150, 200, 250, 300]
    for a in (r.train_acc, r.test_acc, r.train_loss, r.test_loss, r.weight_norm):
        assert a.shape == (2, 7) and np.all(np.isfinite(a))
    assert r.params["tok"].shape == (2, task.n_symbols + 2, 32) and r.params["Wu"].shape == (2, 32, 7)
    assert r.train_mask.shape == (2, task.n_examples) and r.train_mask.sum(axis=1).tolist() == [22, 22]


def test_it_learns_its_training_set(tiny):
    _, r = tiny
    assert np.all(r.train_acc[:, -1] == 1.0)
    assert np.all(r.train_loss[:, -1] < 0.1 * r.train_loss[:, 0])


def test_last_position_equals_a_full_causal_decoder(tiny):
    task, r = tiny
    z = transformer_logits(r.params, task, run=1)
    tokens = np.stack(
        [task.pairs[:, 0], np.full(task.n_examples, 7), task.pairs[:, 1], np.full(task.n_examples, 8)], 1
    )
    ref = _naive_causal_decoder({k: v[1] for k, v in r.params.items()}, tokens[:6], n_heads=4)
    np.testing.assert_allclose(z[:6], ref, rtol=1e-9, atol=1e-9 * np.abs(ref).max())
    # and the recorded training accuracy is what these logits give
    correct = np.argmax(z, axis=1) == task.results
    assert correct[r.train_mask[1]].mean() == pytest.approx(r.train_acc[1, -1], abs=1e-6)


def test_deterministic_and_independent_of_the_batch():
    task = eg.make_task("add-mod", 5)
    kw = {"train_fraction": 0.6, "schedule": Schedule(40, 20), "d_model": 16, "n_heads": 2, "float64": True}
    both = train_transformer(task, seeds=[0, 1], **kw)
    alone = train_transformer(task, seeds=[1], **kw)
    again = train_transformer(task, seeds=[1], **kw)
    np.testing.assert_array_equal(alone.train_loss, again.train_loss)
    np.testing.assert_allclose(alone.train_loss[0], both.train_loss[1], rtol=1e-10)
    np.testing.assert_array_equal(alone.train_mask[0], both.train_mask[1])
    assert both.params["tok"].dtype == np.float64


@pytest.mark.parametrize(
    ("kw", "needle"),
    [
        (lambda: {"schedule": Schedule(10, 3)}, "stride must divide steps"),
        (lambda: {"d_model": 10, "n_heads": 4}, "n_heads must divide d_model"),
        (lambda: {"train_fraction": 0.0}, "train_fraction must be in"),
        (lambda: {"optimizer": AdamW(beta2=1.0)}, "beta2 must be a number in"),
        (lambda: {"seeds": [-1]}, "seeds must be non-negative"),
    ],
)
def test_rejects_bad_input(kw, needle):
    with pytest.raises(ValueError, match=needle):
        train_transformer(eg.make_task("add-mod", 5), **kw())


def test_cli_model_transformer(capsys):
    code = main(["train", "modular", "--model", "transformer", "--p", "5", "--steps", "20", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    rec = json.loads(out)
    assert rec["net"] == "transformer" and len(rec["runs"]) == 1
    code = main(["train", "modular", "--model", "transformer", "--hidden", "64", "--p", "5", "--steps", "20"])
    err = capsys.readouterr().err
    assert (
        code == 2
        and "--hidden applies to --model mlp and embed-sum only" in err
        and len(err.strip().splitlines()) == 1
    )


def test_factored_forward_equals_the_direct_form():
    """The training/recording forward computes per-symbol tables and gathers them (issue 19);
    it must be the same function as the direct form over token sequences."""
    import jax
    import jax.numpy as jnp

    from effgrok.nets.transformer import _factored_logits, _init, _logits, _tokens

    for name in ("add-mod", "sub-mod"):
        task = eg.make_task(name, 7)
        rng = np.random.default_rng(np.random.SeedSequence(3))
        p = _init(rng, task.n_symbols + 2, task.n_classes, 16)
        p = {k: v + 0.3 * rng.standard_normal(v.shape) for k, v in p.items()}  # non-trivial LN gains
        ref = _logits(p, _tokens(task), 4, np)
        with jax.enable_x64(True):
            got = _factored_logits(
                {k: jnp.asarray(v) for k, v in p.items()},
                jnp.asarray(task.pairs[:, 0]),
                jnp.asarray(task.pairs[:, 1]),
                task.n_symbols,
                4,
            )
        np.testing.assert_allclose(np.asarray(got), ref, rtol=1e-10, atol=1e-12)


def test_options_and_records():
    task = eg.make_task("sub-mod", 5)
    r = train_transformer(
        task,
        train_fraction=[0.4, 0.8],
        seeds=[0, 1],
        schedule=Schedule(4, 2),
        d_model=8,
        n_heads=2,
        learning_rate=1e-2,
        optimizer=AdamW(beta1=0.8, beta2=0.98, eps=1e-25),
    )
    assert r.pairs == "ordered" and r.n_train.tolist() == [10, 20]
    assert r.config["beta1"] == 0.8 and r.config["eps"] == 1e-25
    np.testing.assert_allclose(r.learning_rate, 1e-2)


# --- issue 26: the driver's Schedule and Optimizer objects, passed straight on --------------------


@pytest.mark.parametrize(
    ("kw", "needle"),
    [
        ({"schedule": (4, 2)}, r"schedule must be an effgrok.nets.Schedule, got \(4, 2\)"),
        ({"schedule": Schedule(4, 2, first_steps=[FirstStep("test_acc", 0.9)])}, "first_steps"),
        ({"optimizer": "adamw"}, "optimizer must be an effgrok Optimizer"),
    ],
)
def test_schedule_and_optimizer_objects_are_checked(kw, needle):
    with pytest.raises(ValueError, match=needle):
        train_transformer(eg.make_task("add-mod", 5), d_model=8, n_heads=2, **kw)


def test_the_schedule_and_optimizer_reach_the_driver():
    """Snapshots and the per-step loss of the schedule come back; SGD is what the driver's SGD
    trains, and the record names it."""
    task = eg.make_task("add-mod", 5)
    sched = Schedule(4, 2, snapshot_stride=2, loss_every_step=True)
    kw = dict(train_fraction=0.6, d_model=8, n_heads=2, learning_rate=0.1, float64=True)
    r = train_transformer(task, schedule=sched, optimizer=SGD(), **kw)
    assert r.snapshot_steps.tolist() == [0, 2, 4] and r.train_loss_every_step.shape == (1, 4)
    grid = Grid.zip(train_fraction=0.6, seed=[0], learning_rate=0.1, weight_decay=1.0)
    d = train(Transformer(8, 2), SGD(), sched, grid, task=task, precision="float64")
    np.testing.assert_array_equal(r.train_loss, d.curves["train_loss"])
    assert (r.config["optimizer"], r.config["beta2"]) == ("sgd", None)
