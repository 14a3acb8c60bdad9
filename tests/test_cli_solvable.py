"""``effgrok solvable linear|dichotomy``: numbers against the library, files, one-line errors."""

import json
import math

import pytest
from _cli import with_default

from effgrok.cli import main
from effgrok.solvable import dichotomy, linear


def test_linear_theory_json_matches_library(capsys):
    assert main(["solvable", "linear", "--lam", "0.3", "0.6", "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["model"] == "linear" and [r["lam"] for r in rec["rows"]] == [0.3, 0.6]
    for r in rec["rows"]:
        g = linear.grokking_gap(r["lam"], 0.01, 1e-3)
        assert r["gap"] == pytest.approx(g.gap, rel=1e-12)
        # the long-time form is the closed form of SPEC §9
        s = math.sqrt(r["lam"])
        assert r["gap_asymptotic"] == pytest.approx(
            math.log(1 / (1 - s)) / (2 * 0.01 * (1 - s) ** 2), rel=1e-12
        )


def test_linear_simulation_beside_theory_writes_files(tmp_path, capsys):
    out = tmp_path / "lin"
    code = main(
        [
            "solvable",
            "linear",
            "--lam",
            "0.25",
            "--simulate",
            "--d-in",
            "30",
            "--n-seeds",
            "2",
            "--out",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr().err
    text = capsys.readouterr().out
    assert "simulated gap" in text
    rec = json.loads((out / "linear.json").read_text())["result"]
    row = rec["rows"][0]
    assert row["n_train"] == 120 and row["sim_seeds_reached"] == 2 and row["sim_gap_mean"] > 0
    assert (out / "linear.csv").exists() and (out / "linear.png").stat().st_size > 1000


def test_dichotomy_theory_and_tiny_simulation(tmp_path, capsys):
    assert main(["solvable", "dichotomy", "--alpha", "2", "8", "--wd", "1e-3", "--lr", "0.1", "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert [r["t_star"] for r in rec["rows"]] == pytest.approx([math.log(2) / 1e-3, math.log(8) / 1e-3])
    assert rec["rows"][1]["step_star"] == pytest.approx(dichotomy.transition_step(8.0, 1e-3, 0.1))
    out = tmp_path / "dic"
    args = ["solvable", "dichotomy", "--alpha", "2", "4", "--wd", "0.01", "--lr", "0.5", "--simulate"]
    args += ["--p", "5", "--hidden", "8", "--steps", "20", "--out", str(out)]
    assert main(args) == 0, capsys.readouterr().err
    sim = json.loads((out / "dichotomy.json").read_text())["result"]["simulation"]
    assert [r["alpha"] for r in sim["runs"]] == [2.0, 4.0]
    assert (out / "simulation.csv").exists() and (out / "dichotomy.png").exists()


@pytest.mark.parametrize(
    "argv,msg",
    [
        (["solvable", "linear", "--lam", "1.2"], "--lam values must be in (0, 1)"),
        (["solvable", "dichotomy", "--alpha", "0.5"], "--alpha values must be > 1"),
        (["solvable", "dichotomy", "--c", "2"], "--c must be a number in (0, 1), got 2.0"),
        (["solvable", "dichotomy", "--lr", "10", "--wd", "0.5"], "--learning-rate × --weight-decay < 1"),
        (["solvable", "linear", "--n-seeds", "0"], "--n-seeds must be an integer in 1..4096, got 0"),
        (["solvable", "linear", "--seeds", "1", "1"], "--seeds must be different seeds, got 1 1"),
        (["solvable", "linear", "--seeds", "1", "--n-seeds", "2"], "not allowed with argument --seeds"),
        (["solvable", "nonsense"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_exit_2(argv, msg, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1 and "Traceback" not in err


def test_the_defaults_are_the_librarys_own(monkeypatch, capsys):
    """The commands restate no default: edit the library's, and the command follows."""
    with_default(monkeypatch, linear.grokking_gap, "eta0", 0.02)
    with_default(monkeypatch, linear.grokking_gap, "level", 0.9)
    assert main(["solvable", "linear", "--lam", "0.3", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)["rows"][0]
    assert row["gap"] == pytest.approx(linear.grokking_gap(0.3, 0.02, 1e-3, level=0.9).gap, rel=1e-12)
    with_default(monkeypatch, dichotomy.simulate, "learning_rate", 0.05)
    with_default(monkeypatch, dichotomy.transition_window, "c", 0.25)
    assert main(["solvable", "dichotomy", "--alpha", "2", "--wd", "1e-3", "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["learning_rate"] == 0.05 and rec["c"] == 0.25
    assert rec["rows"][0]["t_low"] == pytest.approx(float(dichotomy.transition_window(2.0, 1e-3, 0.25)[0]))
