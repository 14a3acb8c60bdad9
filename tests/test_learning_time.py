"""The learning-time law (issue 27): library, theory and ``effgrok predict-time``."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from effgrok._learning_time import (
    LEARNING_TIME_CONSTANTS,
    learning_time_steps,
    memorisation_steps,
    predict_learning_time,
    split_pins_structure,
)
from effgrok.cli import main


def test_constants_are_frozen_numbers():
    assert set(LEARNING_TIME_CONSTANTS) == {"c", "g", "mu", "spread"}
    assert all(np.isfinite(v) and v > 0 for v in LEARNING_TIME_CONSTANTS.values())


@pytest.mark.parametrize(
    ("optimizer", "expected"),
    [("adam", {"lr_emb": -0.5, "lr_dec": -0.5, "width": -0.25}),
     ("gd-embedding", {"lr_emb": -1 / 3, "lr_dec": -2 / 3, "width": -1 / 3})],
)  # fmt: skip
def test_exponents_by_log_log_fit(optimizer, expected):
    """Exponents of the library's law, measured by a log-log fit over two decades (the closed forms
    of theory/learning_time.py give them exactly)."""
    base = {"lr_emb": 1e-3 if optimizer == "adam" else 0.3, "lr_dec": 1e-4, "width": 200}
    base.update(optimizer=optimizer, init_scale_emb=1.0, init_scale_dec=1.0)
    for knob, slope in expected.items():
        xs = base[knob] * np.logspace(-1, 1, 7)
        ts = [learning_time_steps(**{**base, knob: int(x) if knob == "width" else x})
              for x in xs]  # fmt: skip
        xs = np.array([int(x) for x in xs]) if knob == "width" else xs
        fitted = np.polyfit(np.log(xs), np.log(ts), 1)[0]
        assert fitted == pytest.approx(slope, abs=1e-9)


def test_theory_closed_forms_and_sign_flow():
    from theory import learning_time as th

    th.check_closed_forms()
    assert th.check_against_library() <= 1e-12
    assert th.check_sign_flow() <= 0.02


def test_theory_race_and_quadrature():
    from theory import learning_time as th

    th.check_race()
    assert th.check_learned_by() <= 1e-6


def _monte_carlo(t_hat, t_m, q, budget, spread, n=400_000, seed=0):
    """Runs: pinned with probability q; route and memorisation times independent log-normals; a
    pinned run is learned at its route time if that is ≤ budget and before memorisation."""
    rng = np.random.default_rng(seed)
    t = np.exp(np.log(t_hat) + spread * rng.standard_normal(n))
    t_mem = np.exp(np.log(t_m) + spread * rng.standard_normal(n))
    learned = (rng.random(n) < q) & (t <= budget) & (t < t_mem)
    steps = np.where(learned, t, np.inf)
    return float(np.median(steps)), float(learned.mean())


@pytest.mark.parametrize(
    ("n", "lr_dec", "q", "budget"),
    [(48, 1e-4, 1.0, 5000), (48, 1e-4, 0.8, 5000), (40, 1e-4, 0.9, 900), (48, 3e-4, 1.0, 5000),
     (48, 1e-4, 0.45, 5000), (48, 3e-5, 0.9, 400)],
)  # fmt: skip
def test_censored_median_and_p_learn_against_monte_carlo(n, lr_dec, q, budget):
    law = predict_learning_time(n, 1e-3, lr_dec, pinned_fraction=q, budget=budget)
    med, share = _monte_carlo(law.steps, law.memorisation_steps, q, budget, LEARNING_TIME_CONSTANTS["spread"])
    assert law.p_learn == pytest.approx(share, abs=0.005)
    if math.isinf(med):
        assert math.isnan(law.median_steps)
    else:
        assert law.median_steps == pytest.approx(med, rel=0.01)


def test_memorisation_wins_when_the_decoder_is_fast_or_the_set_small():
    slow = predict_learning_time(48, 1e-3, 1e-5, budget=1e9)  # t_m ∝ 1/η_d grows faster than t̂ ∝ η_d^{-1/2}
    fast = predict_learning_time(48, 1e-3, 1e-2, budget=1e9)
    assert slow.memorisation_steps > slow.steps and np.isfinite(slow.median_steps) and slow.p_learn > 0.9
    assert fast.memorisation_steps < fast.steps and np.isnan(fast.median_steps) and fast.p_learn < 0.5
    assert predict_learning_time(20, 1e-3, 1e-4).p_learn < predict_learning_time(50, 1e-3, 1e-4).p_learn
    assert memorisation_steps(40, 2e-4, 100, 1.0) == pytest.approx(memorisation_steps(40, 1e-4, 400, 1.0))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"optimizer": "sgd"}, "optimizer"), ({"width": 0}, "width"),
     ({"pinned_fraction": 1.5}, "pinned_fraction"), ({"budget": -1}, "budget"),
     ({"init_scale_emb": 0.0}, "init_scale_emb")],
)  # fmt: skip
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        predict_learning_time(48, 1e-3, 1e-4, **kwargs)
    with pytest.raises(ValueError, match="lr_emb"):
        predict_learning_time(48, -1.0, 1e-4)
    with pytest.raises(ValueError, match="n_train"):
        predict_learning_time(0, 1e-3, 1e-4)


@pytest.mark.parametrize(("name", "p"), [("add", 10), ("add-mod", 7), ("sub-mod", 5)])
def test_split_pins_structure_matches_grokking_rate(name, p):
    from effgrok.effective import grokking_rate
    from effgrok.tasks import make_task, random_split

    task = make_task(name, p)
    for n in range(3, task.n_examples + 1, 4):
        for seed in range(3):
            mask = random_split(task, size=n, seed=seed).mask
            assert split_pins_structure(task, mask) == grokking_rate(task, mask).pinned


def _run(capsys, *argv):
    code = main(["predict-time", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_json(capsys):
    code, out, err = _run(capsys, "--task", "add", "--p", "10", "--n-train", "48", "--lr-emb", "2e-3",
                          "--lr-dec", "5e-5", "--steps", "5000", "--json")  # fmt: skip
    assert code == 0, err
    rec = json.loads(out)
    law = predict_learning_time(48, 2e-3, 5e-5, pinned_fraction=1.0 if rec["pinned"] else 0.0, budget=5000)
    assert rec["steps_to_rqi"] == pytest.approx(law.median_steps) and rec["p_learn"] == pytest.approx(
        law.p_learn
    )
    code, out, _ = _run(capsys, "--n-train", "48", "--steps", "10", "--json")
    assert code == 0 and json.loads(out)["steps_to_rqi"] is None
    code, out, _ = _run(capsys, "--n-train", "5", "--json")  # 5 pairs never pin the structure
    rec = json.loads(out)
    assert rec["pinned"] is False and rec["steps_to_rqi"] is None and rec["p_learn"] == 0.0
    code, out, _ = _run(capsys, "--n-train", "40", "--optimizer", "gd-embedding", "--lr-emb", "0.3",
                        "--width", "100", "--init-scale", "2")  # fmt: skip
    assert code == 0 and "median steps to RQI" in out


@pytest.mark.parametrize(
    "argv",
    [["--n-train", "0"], ["--n-train", "500"], ["--n-train", "40", "--lr-emb", "-1"],
     ["--n-train", "40", "--optimizer", "sgd"], ["--n-train", "40", "--width", "0"], []],
)  # fmt: skip
def test_cli_bad_input_is_one_line_exit_2(capsys, argv):
    code, out, err = _run(capsys, *argv)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1


def test_cli_imports_neither_numba_nor_jax():
    code = (
        "import sys; from effgrok.cli import main; "
        "main(['predict-time', '--n-train', '40', '--json']); "
        "assert not {'numba', 'jax', 'matplotlib', 'scipy'} & set(sys.modules), sorted(sys.modules)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "steps_to_rqi" in res.stdout
