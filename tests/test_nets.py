import json

import numpy as np
import pytest

import effgrok as eg
from effgrok.cli import main
from effgrok.constants import NEVER, reached
from effgrok.nets.phases import PHASES, classify_phases, phase_fractions
from effgrok.nets.toy import ToyConfig, train_toy

pytest.importorskip("jax")


@pytest.fixture(scope="module")
def add10():
    return eg.make_task("add", 10)


def test_first_steps_refer_to_the_recorded_parameters(add10):
    cfg = ToyConfig(steps=1500, stride=1, variant="classification")
    runs = train_toy(add10, cfg, seeds=[0, 2], n_train=45, lr_dec=1e-3)
    for k in range(2):
        for first, curve, thr, strict in (
            (runs.step_train_acc[k], runs.train_acc[k], 0.9, False),
            (runs.step_rqi[k], runs.rqi[k], 0.95, True),
        ):
            hit = curve > thr if strict else curve >= thr - 1e-6
            if not reached(first):
                assert not hit.any()
            else:
                assert hit[int(first)] and not hit[: int(first)].any()
    assert reached(runs.step_train_acc).all()


def test_runs_do_not_depend_on_their_batch(add10):
    cfg = ToyConfig(steps=200, stride=50)
    both = train_toy(add10, cfg, seeds=[3, 4], n_train=30, lr_dec=[1e-4, 1e-3])
    alone = train_toy(add10, cfg, seeds=[4], n_train=30, lr_dec=1e-3)
    np.testing.assert_allclose(both.train_loss[1], alone.train_loss[0], rtol=2e-5)
    np.testing.assert_array_equal(both.n_train, [30, 30])


def test_float64_option(add10):
    runs = train_toy(add10, ToyConfig(steps=20, stride=10, float64=True), seeds=[0], n_train=40)
    assert runs.train_loss.dtype == np.float64 and np.all(np.isfinite(runs.train_loss))


def test_below_critical_size_structure_is_not_learned(add10):
    runs = train_toy(add10, ToyConfig(steps=3000, stride=100), seeds=range(6), n_train=15)
    assert np.mean(~reached(runs.step_rqi)) > 0.5


def _naive_toy_losses(task, cfg, seed, n_train, steps, lr_emb=1e-3, lr_dec=1e-4):
    """Oracle: the reference protocol written out in NumPy float64 -- forward, hand-written
    backpropagation and AdamW -- for one full-batch regression run, from the same draws."""
    from effgrok.nets.toy import _init_params

    rng = np.random.default_rng(np.random.SeedSequence(seed))
    split = eg.random_split(task, size=n_train, seed=int(rng.integers(2**63 - 1)))
    p = _init_params(rng, task.n_slots, cfg, cfg.template_dim)
    Y = rng.standard_normal((task.n_classes, cfg.template_dim))[task.results[split.mask]]
    s0, s1 = task.slots[split.mask, 0], task.slots[split.mask, 1]
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(x) for k, x in p.items()}
    losses = []
    for t in range(1, steps + 1):
        h0 = p["emb"][s0] + p["emb"][s1]
        a1 = np.tanh(h0 @ p["W0"] + p["b0"])
        a2 = np.tanh(a1 @ p["W1"] + p["b1"])
        out = a2 @ p["W2"] + p["b2"]
        losses.append(np.mean((out - Y) ** 2))
        g = {}
        d = 2 * (out - Y) / out.size
        g["W2"], g["b2"] = a2.T @ d, d.sum(0)
        d = (d @ p["W2"].T) * (1 - a2**2)
        g["W1"], g["b1"] = a1.T @ d, d.sum(0)
        d = (d @ p["W1"].T) * (1 - a1**2)
        g["W0"], g["b0"] = h0.T @ d, d.sum(0)
        dh = d @ p["W0"].T
        g["emb"] = np.zeros_like(p["emb"])
        np.add.at(g["emb"], s0, dh)
        np.add.at(g["emb"], s1, dh)
        for k in p:
            lr = lr_emb if k == "emb" else lr_dec
            m[k] = 0.9 * m[k] + 0.1 * g[k]
            v[k] = 0.999 * v[k] + 0.001 * g[k] ** 2
            p[k] = p[k] - lr * (m[k] / (1 - 0.9**t)) / (np.sqrt(v[k] / (1 - 0.999**t)) + 1e-8)
    return np.array(losses)


def test_toy_training_matches_a_naive_numpy_implementation(add10):
    cfg = ToyConfig(steps=40, stride=1, float64=True)
    runs = train_toy(add10, cfg, seeds=[5], n_train=30, lr_dec=1e-3)
    naive = _naive_toy_losses(add10, cfg, 5, 30, 40, lr_dec=1e-3)
    np.testing.assert_allclose(runs.train_loss[0, :-1], naive, rtol=1e-9)
    assert naive[-1] < 0.9 * naive[0]  # it trained: the comparison is not between two constants


def test_minibatches_follow_the_reference_protocol(add10):
    import jax

    from effgrok.nets.toy import _batch_mask

    mask = np.zeros(55, bool)
    mask[np.random.default_rng(0).choice(55, 50, replace=False)] = True
    counts = np.zeros(55)
    for t in range(400):
        b = np.asarray(_batch_mask(jax.random.fold_in(jax.random.key(1), t), mask, 45))
        assert b.sum() == 45 and not (b & ~mask).any()
        counts += b
    # without replacement: each training example is in a batch with probability 45/50
    np.testing.assert_allclose(counts[mask] / 400, 0.9, atol=0.06)
    # above 45 training pairs the default takes stochastic steps, None restores full batch
    cfg = ToyConfig(steps=20, stride=10, float64=True)
    mini = train_toy(add10, cfg, seeds=[0], n_train=54)
    full = train_toy(
        add10, ToyConfig(steps=20, stride=10, float64=True, batch_size=None), seeds=[0], n_train=54
    )
    same = train_toy(
        add10, ToyConfig(steps=20, stride=10, float64=True, batch_size=54), seeds=[0], n_train=54
    )
    assert mini.train_loss[0, 0] == full.train_loss[0, 0]  # same initial parameters
    assert not np.allclose(mini.train_loss[0, 1:], full.train_loss[0, 1:], rtol=1e-9)
    np.testing.assert_array_equal(same.train_loss, full.train_loss)
    with pytest.raises(ValueError, match="batch_size must be None"):
        ToyConfig(batch_size=0)
    with pytest.raises(ValueError, match="init_scale_dec must be a positive finite number"):
        ToyConfig(init_scale_dec=-1.0)


def test_scales_multiply_the_initial_draws(add10):
    cfg = ToyConfig(steps=1, stride=1, float64=True)
    base = train_toy(add10, cfg, seeds=[2], n_train=30)
    big = train_toy(
        add10, ToyConfig(steps=1, stride=1, float64=True, init_scale_emb=3.0), seeds=[2], n_train=30
    )
    np.testing.assert_allclose(big.embedding[0, 0], 3.0 * base.embedding[0, 0], rtol=1e-12)


def test_issue6_targets_at_p10(add10):
    """Issue 6 at p = 10, reference optimiser, 8 seeds: above r_c the toy network learns the
    representation within 2000 steps, below it not even in twice that.  Oracle for "can reach":
    the ideal test accuracy Acc-bar of each run's own training set (a test example whose class
    never occurs in training cannot be learned).  (Sizes cut from 5000 and 10 000 steps, which
    took ~2 min, so that it runs with the suite: with these seeds every RQI and test-accuracy
    crossing above r_c falls before step 1500, and no run below r_c crosses in 10 000 steps.)"""
    from effgrok.effective.metrics import ideal_accuracy
    from effgrok.tasks import random_split

    def split(seed, n):
        rng = np.random.default_rng(np.random.SeedSequence(seed))
        return random_split(add10, size=n, seed=int(rng.integers(2**63 - 1)))

    # below r_c (15 pairs): RQI > 0.95 is not reached in 4000 steps by most seeds
    below = train_toy(add10, ToyConfig(steps=4000, stride=500), seeds=range(8), n_train=15)
    assert np.mean(reached(below.step_rqi)) < 0.5
    # 45 pairs, 2000 steps: most seeds learn the representation and most of those whose
    # training set allows test accuracy >= 0.9 reach it (classification variant; the
    # regression variant does not meet this -- see benchmarks/README.md)
    cls = train_toy(
        add10, ToyConfig(steps=2000, stride=500, variant="classification"), seeds=range(8), n_train=45
    )
    feasible = np.array([ideal_accuracy(add10, split(s, 45).mask).test >= 0.9 for s in range(8)])
    hit = reached(cls.step_test_acc)
    assert np.mean(reached(cls.step_rqi)) > 0.5
    assert hit[feasible].mean() > 0.5
    assert not hit[~feasible].any()  # the bound holds


def test_phase_rules():
    budget, gap = 10_000, 1000
    phases = classify_phases(
        [0, 0, 0, 5, NEVER, NEVER, 20_000], [999, 1000, NEVER, NEVER, 300, NEVER, 10], budget, gap
    )
    assert [PHASES[k] for k in phases] == [
        "comprehension",
        "grokking",
        "memorization",
        "memorization",
        "confusion",
        "confusion",
        "confusion",
    ]
    frac = phase_fractions(np.array([[0, 0, 1, 3]]))
    np.testing.assert_allclose(frac, [[0.5, 0.25, 0.0, 0.25]])


def test_train_cli_json(capsys):
    code = main(["train", "toy", "--p", "6", "--n-train", "15", "--n-seeds", "2", "--steps", "100", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    runs = json.loads(out)["runs"]
    assert [r["seed"] for r in runs] == [0, 1]
    assert set(runs[0]) >= {
        "seed",
        "step_train_acc",
        "step_test_acc",
        "step_rqi",
        "final_train_acc",
        "final_test_acc",
        "final_rqi",
    }
    code = main(
        ["train", "toy", "--p", "6", "--n-train", "15", "--seeds", "3", "9", "--steps", "50", "--json"]
    )
    assert [r["seed"] for r in json.loads(capsys.readouterr().out)["runs"]] == [3, 9]


def test_phase_diagram_cli(capsys, tmp_path):
    out = tmp_path / "pd"
    code = main(
        [
            "phase-diagram",
            "--p",
            "6",
            "--n-train",
            "15",
            "--x",
            "lr_dec:1e-4:1e-2:3:log",
            "--y",
            "wd_dec:0:1:2:lin",
            "--n-seeds",
            "2",
            "--steps",
            "200",
            "--workers",
            "1",
            "--json",
            "--out",
            str(out),
        ]
    )
    res, err = capsys.readouterr()
    assert code == 0, err
    cells = json.loads(res)["cells"]
    assert len(cells) == 6 and all(c["phase"] in PHASES for c in cells)
    assert all(abs(sum(c[f"fraction_{p}"] for p in PHASES) - 1) < 1e-12 for c in cells)
    assert {"phases.csv", "phase_diagram.json", "phase_diagram.png", "manifest.json", "chunks"} <= {
        p.name for p in out.iterdir()
    }


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["train", "toy", "--n-train", "0"], "--n-train must be 1..55"),
        (["train", "toy", "--seeds", "-1", "2"], "--seeds must be an integer >= 0, got -1"),
        (["train", "toy", "--steps", "100", "--stride", "7"], "--stride must be >= 1 and divide --steps 100"),
        (["train", "toy", "--lr-dec", "0"], "--lr-dec must be a positive finite number, got 0.0"),
        (["train", "toy", "--train-frac", "1.5"], "--train-frac must be a number in (0, 1], got 1.5"),
        (["phase-diagram", "--x", "lr:1:2:3"], "expected NAME:START:STOP:NUM"),
        (["phase-diagram", "--x", "lr_dec:0:1:3:log"], "a log axis needs START and STOP > 0"),
        (["phase-diagram", "--x", "wd_dec:0:1:3", "--y", "wd_dec:0:1:2"], "must name different axes"),
        (["phase-diagram", "--batch", "0"], "--batch must be an integer in 1..4096, got 0"),
        (["train", "toy", "--batch-size", "-1"], "--batch-size must be >= 1, or 0 for full batch"),
    ],
)
def test_train_and_phase_reject_bad_input(capsys, argv, needle):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1


def test_lazy_rich_training_follows_the_paper_qualitatively():
    from effgrok.kernels import make_problem
    from effgrok.nets.driver import Schedule
    from effgrok.nets.lazy_rich import train_lazy_rich

    prob = make_problem(dim=20, samples=150, test_samples=300, seed=0)
    runs = train_lazy_rich(
        prob, width=100, epsilon=0.1, alpha=[0.5, 2.0], schedule=Schedule(4000, 20), float64=True
    )
    assert np.all(reached(runs.t_train)) and np.all(runs.t_test >= runs.t_train)
    assert runs.grokking_amount[1] > runs.grokking_amount[0]  # larger α: lazier, longer delay
    assert np.all(runs.weight_norm[:, -1] > runs.weight_norm[:, 0])  # the weight norm grows
    assert runs.alignment[0, -1] > 0.9
    # first step of the GD matches a hand-computed gradient step on the centred loss
    one = train_lazy_rich(prob, width=100, epsilon=0.1, alpha=2.0, schedule=Schedule(1, 1), float64=True)
    assert one.train_loss[0, 0] == pytest.approx(np.mean(prob.y_train**2), rel=1e-10)


def test_modular_mlp_memorizes_then_generalizes():
    from effgrok.nets.driver import Schedule
    from effgrok.nets.modular import train_modular

    runs = train_modular(
        eg.make_task("add-mod", 11),
        train_fraction=[0.9],
        seeds=[0],
        schedule=Schedule(3000, 100),
        learning_rate=3e-3,
        weight_decay=1.0,
    )
    assert runs.train_acc[0, -1] == 1.0
    first_train = int(np.argmax(runs.train_acc[0] >= 0.99))
    assert runs.test_acc[0, first_train] < 0.99  # memorization comes first
    with pytest.raises(ValueError, match="stride must divide steps"):
        train_modular(eg.make_task("add-mod", 5), schedule=Schedule(10, 3))


def test_train_lazy_rich_and_modular_cli(capsys):
    code = main(
        [
            "train",
            "lazy-rich",
            "--dim",
            "10",
            "--samples",
            "40",
            "--test-samples",
            "60",
            "--width",
            "30",
            "--alpha",
            "1",
            "3",
            "--steps",
            "200",
            "--json",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    runs = json.loads(out)["runs"]
    assert [r["alpha"] for r in runs] == [1.0, 3.0] and "grokking_amount" in runs[0]
    code = main(["train", "modular", "--p", "7", "--train-frac", "0.5", "0.9", "--steps", "100", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert len(json.loads(out)["runs"]) == 2
    assert main(["train", "modular", "--p", "7", "--train-frac", "0"]) == 2
    assert "--train-frac must be a number in (0, 1], got" in capsys.readouterr().err


def test_explicit_split_and_initial_parameters_anchor_a_run():
    add6 = eg.make_task("add", 6)
    cfg = ToyConfig(steps=30, stride=10)
    ref = train_toy(add6, cfg, seeds=[3, 4], n_train=12)
    # giving the run's own split changes nothing: every other draw comes from the seed as before
    same = train_toy(add6, cfg, seeds=[3, 4], train=ref.train_mask)
    np.testing.assert_array_equal(same.train_mask, ref.train_mask)
    np.testing.assert_allclose(same.train_loss, ref.train_loss, rtol=1e-6)
    # one split for all runs (an index array), and initial parameters given explicitly
    idx = np.flatnonzero(ref.train_mask[0])
    shared = train_toy(add6, cfg, seeds=[3, 4], train=idx)
    assert np.all(shared.train_mask == ref.train_mask[0])
    rng = np.random.default_rng(0)
    init = {"emb": rng.uniform(-1, 1, (add6.n_slots, 1))}
    for i, (fi, fo) in enumerate([(1, 200), (200, 200), (200, 30)]):
        init[f"W{i}"] = rng.uniform(-0.1, 0.1, (fi, fo))
        init[f"b{i}"] = np.zeros(fo)
    templates = rng.standard_normal((add6.n_classes, 30))
    a = train_toy(add6, cfg, seeds=[3, 4], train=idx, init=init, templates=templates)
    np.testing.assert_allclose(
        a.embedding[:, 0], np.broadcast_to(init["emb"], (2, add6.n_slots, 1)), rtol=1e-6
    )
    # same start and split, different seeds: only the (unused, full-batch) mini-batch keys differ
    np.testing.assert_allclose(a.train_loss[0], a.train_loss[1], rtol=1e-5)
    assert not np.allclose(a.train_loss, shared.train_loss)
    with pytest.raises(ValueError, match="exactly one of"):
        train_toy(add6, cfg, n_train=12, train=idx)
    with pytest.raises(ValueError, match="keys"):
        train_toy(add6, cfg, train=idx, init={"emb": init["emb"]})
    with pytest.raises(ValueError, match="shape"):
        train_toy(add6, cfg, train=idx, init={**init, "emb": np.zeros((3, 1))})
    with pytest.raises(ValueError, match=r"common length|training sets"):
        train_toy(add6, cfg, seeds=[1, 2, 3], train=ref.train_mask)


def test_train_toy_cli_explicit_pairs(capsys):
    pairs = "0,0 0,1 1,1 0,2 1,2 2,2 0,3 1,3"
    code = main(["train", "toy", "--p", "6", "--train", pairs, "--n-seeds", "1", "--steps", "20", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["runs"][0]["n_train"] == 8
    assert main(["train", "toy", "--p", "6", "--train", pairs, "--n-train", "8", "--steps", "20"]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["train", "toy", "--p", "6", "--train", "0,9", "--steps", "20"]) == 2
    assert "--train" in capsys.readouterr().err


def test_sgd_embedding_optimizer_takes_gradient_steps():
    add6 = eg.make_task("add", 6)
    first = {}
    for opt in ("sgd", "adamw"):
        for lr in (1e-2, 2e-2):
            cfg = ToyConfig(steps=1, stride=1, float64=True, emb_optimizer=opt)
            runs = train_toy(add6, cfg, seeds=[5], n_train=12, lr_emb=lr, lr_dec=1e-12)
            first[opt, lr] = runs.embedding[0, 1] - runs.embedding[0, 0]
    # gradient descent: the step is linear in η (same gradient at the same start)
    np.testing.assert_allclose(first["sgd", 2e-2], 2 * first["sgd", 1e-2], rtol=1e-10)
    # Adam's first step is ±η on every coordinate with a gradient; SGD's is not
    moved = np.abs(first["adamw", 1e-2]) > 1e-6
    np.testing.assert_allclose(np.abs(first["adamw", 1e-2][moved]), 1e-2, rtol=1e-4)
    assert np.ptp(np.abs(first["sgd", 1e-2][moved])) > 1e-4
    with pytest.raises(ValueError, match="emb_optimizer"):
        ToyConfig(emb_optimizer="adam")


def test_phase_cells_rows_run_over_x_fastest():
    from effgrok.nets.phases import phase_cells

    fr = np.zeros((2, 3, 4))
    fr[..., PHASES.index("grokking")] = 0.75
    fr[..., PHASES.index("confusion")] = 0.25
    fr[1, 2] = [0.0, 0.0, 1.0, 0.0]
    test_only = np.arange(6).reshape(2, 3)
    cells = phase_cells(
        ("lr_dec", np.array([1e-3, 1e-2, 1e-1])), ("wd_dec", np.array([0.0, 1.0])), fr, test_only
    )
    assert [(c["lr_dec"], c["wd_dec"]) for c in cells][:4] == [
        (1e-3, 0.0),
        (1e-2, 0.0),
        (1e-1, 0.0),
        (1e-3, 1.0),
    ]
    assert [c["phase"] for c in cells] == ["grokking"] * 5 + ["memorization"]
    assert [c["test_only_runs"] for c in cells] == list(range(6))
    assert cells[0]["fraction_grokking"] == 0.75 and cells[0]["fraction_confusion"] == 0.25


@pytest.mark.parametrize(
    ("trainer", "old"),
    [
        ("train_modular", "lr"),
        ("train_transformer", "lr"),
        ("train_digits", "lr"),
        ("train_lazy_rich", "eta0"),
    ],
)
def test_the_trainers_refuse_the_old_names(trainer, old):
    """One name per concept (issue 26, docs/glossary.md): ``learning_rate`` and
    ``base_learning_rate`` only; the old names are no keywords."""
    import effgrok.nets as nets
    from effgrok.kernels import make_problem

    data = {
        "train_digits": lambda: nets.load_digits_split(20, n_test=10),
        "train_lazy_rich": lambda: make_problem(dim=4, samples=10, test_samples=10),
    }.get(trainer, lambda: eg.make_task("add-mod", 5))()
    with pytest.raises(TypeError, match=f"'{old}'"):
        getattr(nets, trainer)(data, **{old: 1e-3}, schedule=nets.Schedule(2, 1))
