"""Issue 25: every training command prints its estimated time first, and the cost model of each
trainer (``estimated_core_seconds`` beside it) is within a factor 3 of CPU time measured here.

The factor-3 tests are MEASUREMENTS: a tiny run of each trainer, timed with
``time.process_time`` (CPU time of this process, so other processes on the cores do not count),
against the model's estimate, compilation included (each test runs a fresh configuration)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from effgrok.cli import main

ESTIMATE = "effgrok: estimated time: about "

COMMANDS = {
    "train toy": ["train", "toy", "--p", "5", "--n-train", "6", "--steps", "10", "--n-seeds", "2"],
    "train modular mlp": ["train", "modular", "--p", "5", "--steps", "10"],
    "train modular embed-sum": ["train", "modular", "--p", "5", "--steps", "10", "--model", "embed-sum",
                                "--hidden", "4", "--embed-dim", "4"],
    "train modular transformer": ["train", "modular", "--p", "5", "--steps", "4", "--model", "transformer"],
    "train lazy-rich": ["train", "lazy-rich", "--dim", "4", "--samples", "10", "--test-samples", "10",
                        "--width", "8", "--steps", "10"],
    "weight-norm reduced-landscape": ["weight-norm", "reduced-landscape", "--n-train", "20", "--width", "8",
                                      "--steps", "10", "--norms", "0.5", "1", "2", "--n-seeds", "1"],
    "weight-norm alpha-sweep": ["weight-norm", "alpha-sweep", "--n-train", "20", "--width", "8", "--steps",
                                "10", "--alpha", "1", "2", "--n-seeds", "1"],
    "tickets": ["tickets", "--p", "5", "--train-frac", "0.6", "--hidden", "4", "--embed-dim", "4",
                "--steps", "20", "--stride", "10", "--n-seeds", "1"],
    "ntk": ["ntk", "--dim", "4", "--samples", "10", "--test-samples", "10", "--width", "8", "--top-k", "2"],
}  # fmt: skip


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_training_commands_print_their_estimated_time_first(capsys, name):
    code, out, err = _run(capsys, *COMMANDS[name], "--json")
    assert code == 0, err
    lines = err.strip().splitlines()
    assert lines and lines[0].startswith(ESTIMATE) and lines[0].endswith(" on 1 core"), err
    assert sum(ESTIMATE in line for line in lines) == 1, err  # once, however many trainer calls
    assert ESTIMATE not in out and out.lstrip().startswith("{")  # stdout is the JSON alone


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "toy", "--p", "5", "--n-train", "99", "--steps", "10"],
        ["train", "modular", "--p", "5", "--model", "transformer", "--hidden", "8"],
        ["train", "lazy-rich", "--dim", "4", "--samples", "10", "--target", "hermite:x", "--steps", "10"],
        ["weight-norm", "alpha-sweep", "--lr", "0.5", "--wd", "2"],
        ["weight-norm", "reduced-landscape", "--norms", "0.5", "1", "--steps", "10"],
        ["tickets", "--p", "5", "--steps", "7", "--stride", "2"],
        ["ntk", "--dim", "4", "--samples", "10", "--test-samples", "10", "--target", "nope"],
    ],
)
def test_bad_input_is_one_line_without_an_estimate(capsys, argv):
    code, out, err = _run(capsys, *argv)
    lines = err.strip().splitlines()
    assert code == 2 and out == "" and len(lines) == 1 and lines[0].startswith("effgrok: error: "), err


def _cpu_seconds(fn) -> float:
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


def _within_3x(estimate: float, measured: float) -> None:
    assert 1 / 3 < estimate / measured < 3, (estimate, measured)


# MEASUREMENTS (CPU time of a tiny run against each cost model; < 10 s each)


def test_toy_cost_model_is_within_3x_of_cpu_time_measured_here():
    import effgrok as eg
    from effgrok.nets.toy import ToyConfig, estimated_core_seconds, train_toy

    cfg = ToyConfig(steps=300, stride=100, dim=2)  # a configuration no other test compiles
    measured = _cpu_seconds(lambda: train_toy(eg.make_task("add", 10), cfg, seeds=[0, 1, 2], n_train=45))
    _within_3x(estimated_core_seconds(3, 300), measured)


def test_modular_cost_model_is_within_3x_of_cpu_time_measured_here():
    import effgrok as eg
    from effgrok.nets.driver import Schedule
    from effgrok.nets.modular import estimated_core_seconds, train_modular

    task = eg.make_task("add-mod", 23)
    kw = dict(seeds=[0, 1], schedule=Schedule(600, 100), hidden=200, train_fraction=0.6)
    measured = _cpu_seconds(lambda: train_modular(task, **kw, loss="mse", activation="quadratic"))
    _within_3x(estimated_core_seconds(2, 600, round(0.6 * task.n_examples), 200), measured)


def test_transformer_cost_model_is_within_3x_of_cpu_time_measured_here():
    import effgrok as eg
    from effgrok.nets.driver import Schedule
    from effgrok.nets.transformer import estimated_core_seconds, train_transformer

    task = eg.make_task("add-mod", 11)
    measured = _cpu_seconds(
        lambda: train_transformer(task, seeds=[0], schedule=Schedule(60, 20), train_fraction=0.5)
    )
    _within_3x(estimated_core_seconds(1, 60, round(0.5 * task.n_examples)), measured)


def test_lazy_rich_cost_model_is_within_3x_of_cpu_time_measured_here():
    from effgrok.kernels.lazy_rich import make_problem
    from effgrok.nets.driver import Schedule
    from effgrok.nets.lazy_rich import estimated_core_seconds, train_lazy_rich

    prob = make_problem(60, 150, 100, seed=0)
    measured = _cpu_seconds(lambda: train_lazy_rich(prob, width=300, schedule=Schedule(1500, 100)))
    _within_3x(estimated_core_seconds(1, 1500, 150, 300, 60), measured)


def test_digits_cost_model_is_within_3x_of_cpu_time_measured_here():
    from effgrok.nets.digits import estimated_core_seconds, load_digits_split, train_digits
    from effgrok.nets.driver import Schedule

    data = load_digits_split(300)
    measured = _cpu_seconds(
        lambda: train_digits(data, seeds=[0, 1], width=120, depth=3, schedule=Schedule(500, 100))
    )
    _within_3x(estimated_core_seconds(2, 500, 300, 120, 3), measured)


def test_ntk_cost_model_is_within_3x_of_cpu_time_measured_here():
    from threadpoolctl import threadpool_limits

    from effgrok.kernels.study import estimated_core_seconds, ntk_study

    kw = dict(dim=100, samples=800, test_samples=800, width=500, alphas=[1.0, 4.0], top_k=5, seed=3)
    with threadpool_limits(1):  # one BLAS thread: threads waiting on loaded cores would count
        measured = _cpu_seconds(lambda: ntk_study(model="committee", **kw))
    _within_3x(estimated_core_seconds(800, 800, 500, 2), measured)


def test_the_estimates_are_the_cost_models_plus_start_up(capsys):
    """The printed minutes are the library's model: here the toy model's, 8 runs × 2000 steps."""
    from effgrok.cli._progress import duration
    from effgrok.nets.toy import COMPILE_CORE_S, RUN_STEP_CORE_S
    from effgrok.scan import START_S

    expected = START_S + COMPILE_CORE_S + 8 * 2000 * RUN_STEP_CORE_S  # the toy defaults: 8 seeds
    code, _, err = _run(capsys, "train", "toy", "--steps", "2000", "--json")
    assert code == 0 and err.splitlines()[0] == f"{ESTIMATE}{duration(expected)} on 1 core"
    assert np.isclose(expected, 3.0 + 2.5 + 8.8)
