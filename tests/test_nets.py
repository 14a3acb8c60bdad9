import json

import numpy as np
import pytest

import effgrok as eg
from effgrok.cli import main
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
            if first < 0:
                assert not hit.any()
            else:
                assert hit[first] and not hit[:first].any()
    assert (runs.step_train_acc >= 0).all()


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
    assert np.mean(runs.step_rqi < 0) > 0.5


def test_phase_rules():
    budget, gap = 10_000, 1000
    phases = classify_phases([0, 0, 0, 5, -1, -1, 20_000], [999, 1000, -1, -1, 300, -1, 10], budget, gap)
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
    code = main(["train", "toy", "--p", "6", "--n-train", "15", "--seeds", "2", "--steps", "100", "--json"])
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
            "--seeds",
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
        (["train", "toy", "--seeds", "-1", "2"], "--seeds must be >= 0"),
        (["train", "toy", "--steps", "100", "--stride", "7"], "--stride must be >= 1 and divide --steps 100"),
        (["train", "toy", "--lr-dec", "0"], "decoder learning rate must be > 0"),
        (["train", "toy", "--train-frac", "1.5"], "--train-frac must be in (0, 1]"),
        (["phase-diagram", "--x", "lr:1:2:3"], "expected NAME:START:STOP:NUM"),
        (["phase-diagram", "--x", "lr_dec:0:1:3:log"], "a log axis needs START and STOP > 0"),
        (["phase-diagram", "--x", "wd_dec:0:1:3", "--y", "wd_dec:0:1:2"], "must name different axes"),
    ],
)
def test_train_and_phase_reject_bad_input(capsys, argv, needle):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1


def test_lazy_rich_training_follows_the_paper_qualitatively():
    from effgrok.kernels import make_problem
    from effgrok.nets.lazy_rich import train_lazy_rich

    prob = make_problem(dim=20, samples=150, test_samples=300, seed=0)
    runs = train_lazy_rich(
        prob, width=100, epsilon=0.1, alpha=[0.5, 2.0], steps=4000, stride=20, float64=True
    )
    assert np.all(runs.t_train >= 0) and np.all(runs.t_test >= runs.t_train)
    assert runs.grokking_amount[1] > runs.grokking_amount[0]  # larger α: lazier, longer delay
    assert np.all(runs.weight_norm[:, -1] > runs.weight_norm[:, 0])  # the weight norm grows
    assert runs.alignment[0, -1] > 0.9
    # first step of the GD matches a hand-computed gradient step on the centred loss
    one = train_lazy_rich(prob, width=100, epsilon=0.1, alpha=2.0, steps=1, stride=1, float64=True)
    assert one.train_loss[0, 0] == pytest.approx(np.mean(prob.y_train**2), rel=1e-10)


def test_modular_mlp_memorizes_then_generalizes():
    from effgrok.nets.modular import train_modular

    runs = train_modular(
        eg.make_task("add-mod", 11),
        train_fraction=[0.9],
        seeds=[0],
        steps=3000,
        stride=100,
        lr=3e-3,
        weight_decay=1.0,
    )
    assert runs.train_acc[0, -1] == 1.0
    first_train = int(np.argmax(runs.train_acc[0] >= 0.99))
    assert runs.val_acc[0, first_train] < 0.99  # memorization comes first
    with pytest.raises(ValueError, match="stride must divide steps"):
        train_modular(eg.make_task("add-mod", 5), steps=10, stride=3)


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
    assert "--train-frac values must be in (0, 1]" in capsys.readouterr().err
