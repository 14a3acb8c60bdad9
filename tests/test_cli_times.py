"""Issue 25: long commands say their estimated time first; progress reaches a log without a
terminal; an ensemble's ``--json`` is its summary unless ``--full``."""

from __future__ import annotations

import argparse
import io
import json
import time

import numpy as np
import pytest

from effgrok.cli import main
from effgrok.cli._progress import ProgressLines, progress_bar


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "argv",
    [
        ["critical", "--task", "add", "--p", "10", "--splits", "200"],
        ["simulate", "--task", "add", "--p", "6", "--train-frac", "0.6", "--ensemble", "4", "--steps", "50"],
        ["phase-diagram", "--p", "4", "--n-train", "5", "--steps", "10", "--x", "lr_dec:1e-3:1e-2:2:log",
         "--y", "wd_dec:0:1:2", "--workers", "1"],
    ],
)  # fmt: skip
def test_long_commands_print_their_estimated_time_first(capsys, argv):
    code, out, err = _run(capsys, *argv, "--progress", "off")
    assert code == 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("effgrok: estimated time: about "), err
    assert lines[0].endswith(("core", "cores")) and out  # the result follows on stdout


def test_no_estimate_for_a_cluster(capsys):
    # the cluster's size is unknown here, so no estimate (the connection fails fast)
    argv = [
        "critical",
        "--task",
        "add",
        "--p",
        "6",
        "--scheduler",
        "tcp://127.0.0.1:9",
        "--connect-timeout",
        "1",
    ]
    pytest.importorskip("distributed")
    code, _, err = _run(capsys, *argv)
    assert code == 2 and "estimated" not in err and len(err.strip().splitlines()) == 1


def test_estimates_follow_the_measured_cost_models():
    from effgrok.effective.critical import core_seconds
    from effgrok.scan import START_S, estimated_seconds
    from effgrok.tasks import make_task

    t = make_task("add-mod", 500)
    cost = core_seconds([t], 1000)
    assert cost == pytest.approx(1000 * (7e-8 * t.n_examples + 3.4e-13 * 500**4))
    wall, cores = estimated_seconds(cost, 2)
    assert cores == 2 and wall == pytest.approx(START_S + 2.0 + cost / 2)


def test_the_critical_cost_model_is_within_3x_of_cpu_time_measured_here():
    """The model's fit (7e-8·examples + 3.4e-13·slots⁴ core-seconds per ordering) against
    this machine's CPU time for one size (CPU time, not wall: other processes may share the cores)."""
    import effgrok as eg
    from effgrok._parallel import serial
    from effgrok.effective.critical import core_seconds

    task = eg.make_task("add-mod", 200)
    with serial():
        eg.pinning_sizes(task, 2)  # compiled
        t0 = time.process_time()
        eg.pinning_sizes(task, 60, seed=1)
        measured = time.process_time() - t0
    ratio = core_seconds([task], 60) / measured
    assert 1 / 3 < ratio < 3, (measured, ratio)


def test_progress_is_a_line_every_interval_without_a_terminal():
    out = io.StringIO()  # not a terminal: lines, not a bar
    args = argparse.Namespace(progress="auto")
    with progress_bar(args, 10, "critical", "split", stream=out) as bar:
        assert isinstance(bar, ProgressLines)
    assert out.getvalue() == ""  # shorter than the interval: silent
    out = io.StringIO()
    with ProgressLines(10, "critical", "split", out, every=0.1) as bar:
        bar.update(3)
        time.sleep(0.35)  # no update meanwhile: the lines still come (a long job running)
        bar.update(7)
        time.sleep(0.15)
    lines = out.getvalue().splitlines()
    assert 3 <= len(lines) <= 5
    assert lines[0].startswith("critical: 3/10 split (30%), ") and lines[-1].startswith(
        "critical: 10/10 split (100%)"
    )
    off = io.StringIO()
    with progress_bar(argparse.Namespace(progress="off"), 10, "x", "y", stream=off) as bar:
        bar.update(10)
    assert off.getvalue() == ""


ENSEMBLE = ["simulate", "--task", "add", "--p", "8", "--train-frac", "0.6", "--ensemble", "40", "--dim", "2"]
ENSEMBLE += ["--steps", "300", "--progress", "off"]


def test_ensemble_json_is_a_summary_and_the_arrays_come_with_full_or_out(capsys, tmp_path):
    code, out, _ = _run(capsys, *ENSEMBLE, "--json")
    short = json.loads(out)
    code_full, out_full, _ = _run(capsys, *ENSEMBLE, "--json", "--full")
    full = json.loads(out_full)
    assert code == code_full == 0 and len(out) < len(out_full)
    assert "final_rqi" not in short and len(full["final_rqi"]) == 40 and "--full" in short["per_member"]
    assert short["summary"] == full["summary"]
    # the summary's quantiles are numpy's quantiles of the full per-member numbers
    rqi = np.asarray(full["final_rqi"], dtype=float)
    s = short["summary"]["final_rqi"]
    assert s["median"] == pytest.approx(np.median(rqi)) and s["q25"] == pytest.approx(np.quantile(rqi, 0.25))
    assert s["q95"] == pytest.approx(np.quantile(rqi, 0.95)) and s["n"] == 40
    # --out writes every member's numbers, whatever --json prints
    code, out, _ = _run(capsys, *ENSEMBLE, "--json", "--out", str(tmp_path / "o"))
    saved = json.loads((tmp_path / "o" / "simulate.json").read_text())["result"]
    assert code == 0 and "final_rqi" not in json.loads(out)
    np.testing.assert_array_equal(saved["final_rqi"], full["final_rqi"])


def test_workers_with_scheduler_is_one_line_and_exit_2(capsys):
    for argv in (
        ["critical", "--task", "add", "--p", "6", "--workers", "2", "--scheduler", "tcp://h:8786"],
        [*ENSEMBLE, "--workers", "2", "--scheduler", "tcp://h:8786"],
    ):
        code, out, err = _run(capsys, *argv)
        assert code == 2 and out == ""
        assert err.strip() == (
            "effgrok: error: --workers and --scheduler exclude each other (the Dask cluster has its own "
            "workers); give one of them"
        )


def test_validation_refuses_workers_with_scheduler(capsys, tmp_path):
    from validation.__main__ import main as validation_main

    argv = [
        "--profile",
        "tiny",
        "--workers",
        "2",
        "--scheduler",
        "tcp://h:8786",
        "--out",
        str(tmp_path / "v"),
    ]
    assert validation_main(argv) == 2
    out, err = capsys.readouterr()
    assert (
        out == ""
        and err.strip() == "validation: error: --workers and --scheduler exclude each other; give one of them"
    )
