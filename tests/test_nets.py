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
