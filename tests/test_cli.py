import json
import subprocess
import sys

import pytest

from effgrok.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv):
    """Run a command that must succeed; its ``--json`` record."""
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    return json.loads(out)


def test_rate_json(capsys):
    code, out, err = run(
        capsys, "rate", "--task", "add", "--p", "10", "--train-frac", "0.8", "--seed", "58", "--json"
    )
    assert code == 0, err
    rec = json.loads(out)
    for key in "nullity full_nullity pinned gram_lambda3 grokking_rate n_h ideal_test_accuracy".split():
        assert key in rec
    assert rec["n_train"] == 44 and rec["full_nullity"] == 2


def test_rate_explicit_pairs_and_several_p(capsys):
    code, out, _ = run(capsys, "rate", "--task", "add", "--p", "10", "--train", "0,1 2,3 0,4 1,3", "--json")
    rec = json.loads(out)
    assert code == 0 and rec["n_train"] == 4 and rec["pinned"] is False and rec["n_h"] is None
    code, out, _ = run(capsys, "rate", "--task", "add-mod", "--p", "7", "11", "--train-frac", "1", "--json")
    res = json.loads(out)["results"]
    assert [r["p"] for r in res] == [7, 11] and all(r["pinned"] for r in res)
    code, out, _ = run(capsys, "rate", "--task", "add", "--p", "10", "--train-size", "30")
    assert code == 0 and "grokking rate" in out


def test_critical_json_and_out(capsys, tmp_path):
    code, out, err = run(capsys, "critical", "--task", "add", "--p", "10", "--splits", "2000", "--json")
    assert code == 0, err
    rec = json.loads(out)
    for key in ("task", "p", "r_c", "r_c_ci", "curve"):
        assert key in rec
    assert len(rec["curve"]) == 55
    assert set(rec["curve"][0]) >= {"n_train", "fraction", "p_pinned", "splits"}
    d = tmp_path / "rc"
    rec = run_json(capsys, *"critical --task add-mod --p 10 20 --splits 300 --json --out".split(), str(d))
    assert len(rec["results"]) == 2
    assert {f.name for f in d.iterdir()} == set(
        "curve.csv critical.csv critical.json critical.png manifest.json chunks".split()
    )
    assert json.loads((d / "manifest.json").read_text())["complete"] is True
    meta = json.loads((d / "critical.json").read_text())
    prov = meta["provenance"]
    assert prov["arguments"]["seed"] == 0 and prov["effgrok_version"] and prov["elapsed_s"] >= 0
    header = (d / "curve.csv").read_text().splitlines()[0]
    assert header == "task,p,n_train,fraction,p_pinned,ci_low,ci_high,splits"


def test_simulate_single_json_and_out(capsys, tmp_path):
    d = tmp_path / "sim"
    argv = "simulate --task add --p 10 --train-frac 0.8 --seed 0 --steps 2000 --lr 1e-3 --json --out"
    rec = run_json(capsys, *argv.split(), str(d))
    for key in ("final_rqi", "final_loss", "steps_to_rqi", "n_h", "predicted_test_acc"):
        assert key in rec
    assert rec["final_rqi"] == 1.0 and rec["steps_to_rqi"] > 0 and len(rec["trajectory"]["step"]) == 501
    names = {f.name for f in d.iterdir()}
    assert names == {"trajectory.csv", "embedding.npz", "simulate.json", "trajectory.png", "embedding.png"}
    import numpy as np

    with np.load(d / "embedding.npz", allow_pickle=False) as z:
        assert z["embedding"].shape == (501, 10, 1)


def test_simulate_ensemble_json(capsys, tmp_path):
    argv = "simulate --task add --p 10 --train-frac 0.6 --ensemble 50 --dim 2 --steps 1000 --json --out"
    printed = run_json(capsys, *argv.split(), str(tmp_path / "ens"))  # the summary (issue 25)
    assert "final_rqi" not in printed and printed["summary"]["members"] == 50
    rec = json.loads((tmp_path / "ens" / "simulate.json").read_text())["result"]  # --out: every member
    assert len(rec["final_rqi"]) == 50 and len(rec["steps_to_rqi"]) == 50 and len(rec["n_h"]) == 50
    assert rec["summary"]["members"] == 50 and "median" in rec["summary"]["steps_to_rqi"]
    assert rec["summary"] == printed["summary"]
    assert (tmp_path / "ens" / "members.csv").read_text().count("\n") == 51
    assert json.loads((tmp_path / "ens" / "manifest.json").read_text())["complete"] is True


def test_simulate_reference_code_preset(capsys):
    code, out, _ = run(
        capsys,
        *"simulate --task add --p 10 --train-frac 0.5 --preset reference_code --steps 500 --json".split(),
    )
    rec = json.loads(out)
    assert (
        code == 0
        and rec["method"] == "euler"
        and rec["loss"] == {"constraints": "all", "normalization": "sum", "z": "frozen"}
    )
    assert rec["z0"] == pytest.approx(9.0) and rec["gram_lambda3"] == pytest.approx(30.0)


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (
            ["rate", "--task", "add", "--p", "1", "--train-frac", "0.5"],
            "p must be an integer in 2..6000, got 1",
        ),
        (["rate", "--task", "add", "--p", "10", "--train-frac", "1.5"], "(0, 1], got 1.5"),
        (["rate", "--task", "add", "--p", "10", "--train-frac", "0"], "(0, 1], got 0.0"),
        (["rate", "--task", "sum", "--p", "10", "--train-frac", "0.5"], "invalid choice: 'sum'"),
        (["rate", "--task", "add", "--p", "10", "--train", "0,1 2-3"], "malformed --train entry '2-3'"),
        (["rate", "--task", "add", "--p", "10", "--train", "0,1 a,b"], "malformed --train entry 'a,b'"),
        (["rate", "--task", "add", "--p", "10", "--train", "0,1 2,12"], "pair (2,12) is out of range"),
        (["rate", "--task", "mul-mod", "--p", "10", "--train-frac", "0.5"], "prime p >= 3, got 10"),
        (["rate", "--task", "add", "--p", "x", "--train-frac", "0.5"], "--p must be an integer, got 'x'"),
        (["rate", "--task", "add", "--p", "10"], "one of the arguments"),
        (["rate", "--task", "add", "--p", "10", "--train-size", "99"], "exceeds the 55 examples"),
        (["rate", "--task", "add", "--p", "10", "--train-frac", "0.5", "--lr", "-1"], "learning_rate"),
        (
            ["critical", "--task", "add", "--p", "10", "--splits", "0"],
            "--splits must be an integer in 1..10000000, got 0",
        ),
        (
            ["critical", "--task", "add", "--p", "10", "--confidence", "1"],
            "--confidence must be a number in (0, 1), got 1.0",
        ),
        (
            ["critical", "--task", "add", "--p", "10", "--seed", "-3"],
            "--seed must be an integer >= 0, got -3",
        ),
        (
            ["critical", "--task", "add", "--p", "10", "--splits", "nan"],
            "--splits must be an integer, got 'nan'",
        ),
        (["critical", "--task", "s3", "--p", "5"], "p must be omitted or 6"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (
            ["simulate", "--task", "add", "--p", "10", "--train-frac", "0.5", "--steps", "0"],
            "--steps must be an integer in 1..10000000, got 0",
        ),
        (
            ["simulate", "--task", "add", "--p", "10", "--train-frac", "0.5", "--dim", "0"],
            "--dim must be an integer in 1..64, got 0",
        ),
        (
            ["simulate", "--task", "add", "--p", "10", "--train-frac", "0.5", "--ensemble", "0"],
            "--ensemble must be",
        ),
        (["simulate", "--task", "add", "--p", "10", "--train-frac", "0.5", "--lr", "0"], "learning_rate"),
        (
            ["simulate", "--task", "add", "--p", "10", "--train-frac", "0.5", "--method", "rk5"],
            "invalid choice",
        ),
        (
            "simulate --task add --p 10 --train-frac 0.5 --steps 100 --stride 7".split(),
            "stride must divide steps",
        ),
        (
            "simulate --task add --p 10 --train-frac 0.5 --preset reference_code --method rk4".split(),
            "--preset reference_code fixes --method euler; got --method rk4",
        ),
        (["simulate", "--task", "add", "--p", "10", "20", "--train-frac", "0.5"], "simulate takes one --p"),
    ],
)
def test_bad_input_is_one_line_exit_2(capsys, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("effgrok: error: ")
    assert needle in lines[0]


def test_out_must_be_a_folder(capsys, tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    code, _, err = run(capsys, "critical", "--task", "add", "--p", "6", "--splits", "10", "--out", str(f))
    assert code == 2 and "not a folder" in err


def test_console_script_runs():
    r = subprocess.run(
        [
            sys.executable,
            *"-m effgrok rate --task add --p 10 --train-frac 0.8 --seed 58".split(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "pinned" in r.stdout
    r = subprocess.run(
        [sys.executable, "-m", "effgrok", "rate", "--task", "add", "--p", "0", "--train-frac", "0.8"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("where", ["under-file", "/proc/effgrok-x", "/sys/effgrok-x", "read-only"])
def test_out_that_cannot_be_written_is_one_line_and_exit_2(capsys, tmp_path, where):
    import os

    if where == "under-file":
        (tmp_path / "f").write_text("x")
        out = tmp_path / "f" / "sub"
    elif where == "read-only":
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only folders")
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o555)
        out = ro / "sub"
    else:
        out = where
    code, stdout, err = run(
        capsys, "rate", "--task", "add", "--p", "5", "--train-frac", "0.8", "--out", str(out)
    )
    assert code == 2 and stdout == ""
    assert err.count("\n") == 1 and "--out" in err and "Traceback" not in err


# --- effgrok train modular (issue 16): the command line shows grokking ---------------------------


def test_train_modular_prints_its_configuration(capsys, tmp_path):
    code, out, err = run(capsys, "train", "modular", "--p", "5", "--steps", "10", "--n-seeds", "2")
    assert code == 0, err
    for needle in (
        "15 unordered pairs a ≤ b, input e_a + e_b",
        "loss mse",
        "activation quadratic",
        "bias on",
    ):
        assert needle in out
    assert "β2 0.999" in out and "ε 1e-08" in out and "float32" in out
    code, out, err = run(
        capsys, "train", "modular", "--task", "sub-mod", "--p", "5", "--steps", "10",
        "--model", "embed-sum", "--embed-dim", "8", "--hidden", "6", "--loss", "cross_entropy",
        "--activation", "relu", "--eps", "1e-25", "--beta2", "0.98", "--json", "--out", str(tmp_path / "o"),
    )  # fmt: skip
    assert code == 0, err
    rec = json.loads(out)
    assert rec["pairs"] == "ordered" and rec["encoding"] == "concat" and rec["n_examples"] == 25
    c = rec["config"]
    assert (c["model"], c["embed_dim"], c["hidden"], c["loss"], c["bias"]) == (
        "embed-sum",
        8,
        6,
        "cross_entropy",
        False,
    )
    assert c["eps"] == 1e-25 and c["beta2"] == 0.98
    assert rec["runs"][0]["n_train"] == round(0.6 * 25)
    assert json.loads((tmp_path / "o" / "train.json").read_text())["result"]["config"] == c


@pytest.mark.parametrize(
    "extra,needle",
    [
        (["--beta2", "1"], "--beta2 must be a number in [0, 1), got 1.0"),
        (["--eps=-1e-8"], "--eps must be a finite number >= 0, got -1e-08"),
        (["--model", "transformer", "--loss", "mse"], "--loss applies to --model mlp and embed-sum only"),
        (["--embed-dim", "8"], "--embed-dim applies to --model embed-sum only"),
        (["--model", "embed-sum", "--bias"], "the embed-sum model has no biases"),
        (["--loss", "hinge"], "invalid choice"),
    ],
)
def test_train_modular_bad_options_one_line_exit_2(capsys, extra, needle):
    code, _, err = run(capsys, "train", "modular", "--p", "5", "--steps", "10", *extra)
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1


def test_train_modular_issue_command_groks(capsys):
    """Issue 16's command: final validation accuracy >= 0.9 in most seeds (p = 23, 60 % of the
    unordered pairs, MSE, quadratic activation, 3000 steps)."""
    code, out, err = run(
        capsys, "train", "modular", "--task", "add-mod", "--p", "23", "--train-frac", "0.6", "--n-seeds", "3",
        "--steps", "3000", "--loss", "mse", "--activation", "quadratic", "--json",
    )  # fmt: skip
    assert code == 0, err
    runs = json.loads(out)["runs"]
    assert sum(r["final_test_acc"] >= 0.9 for r in runs) >= 2
    assert all(r["final_train_acc"] == 1.0 for r in runs)


LIGHT_CHECK = """
import sys
from effgrok.cli import main
for argv in {argvs!r}:
    try:
        code = main(argv)
    except SystemExit as exc:  # --help
        code = exc.code
    assert code in (0, 2), (argv, code)
heavy = {{"numba", "jax", "matplotlib"}} & set(sys.modules)
assert not heavy, heavy
"""


def test_help_and_bad_input_import_no_heavy_library():
    """`effgrok --help`, `effgrok <cmd> --help` and bad-input errors leave numba, JAX and
    matplotlib unimported (issue 17): the commands import the library inside `run`."""
    argvs = [
        ["--help"],
        *(
            [cmd, "--help"]
            for cmd in ("rate", "critical", "simulate", "ntk", "phase-diagram", "predict-grok")
        ),
        ["train", "modular", "--help"],
        ["solvable", "dichotomy", "--help"],
        ["weight-norm", "alpha-sweep", "--help"],
        ["rate", "--task", "add", "--p", "10", "--train-frac", "2"],
        ["simulate", "--task", "add", "--p", "10", "--train-frac", "0.5", "--dim", "0"],
        ["train", "toy", "--steps", "0"],
        ["train", "modular", "--n-seeds", "0"],
        ["tickets", "--beta2", "1"],
        ["rate", "--task", "add", "--p", "10", "--train-frac", "0.5", "--out", "/proc/x"],
    ]
    code = LIGHT_CHECK.format(argvs=argvs)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]


@pytest.mark.parametrize(
    ("argv", "seeds"),
    [
        (["--n-seeds", "3"], [0, 1, 2]),  # --n-seeds N: seeds 0..N-1
        (["--seeds", "3"], [3]),  # --seeds: exactly those, one or more (issue 26: was 0..2)
        (["--seeds", "4", "1"], [4, 1]),
    ],
)
def test_seeds_mean_the_same_everywhere(capsys, argv, seeds):
    code, out, err = run(
        capsys, "solvable", "dichotomy", "--alpha", "2", "--wd", "0.05", "--lr", "0.1", "--simulate",
        "--p", "5", "--hidden", "4", "--steps", "20", "--stride", "10", *argv, "--json",
    )  # fmt: skip
    assert code == 0, err
    assert [r["seed"] for r in json.loads(out)["simulation"]["runs"]] == seeds


def test_every_command_refuses_an_unwritable_out_in_one_line(tmp_path, capsys):
    """Issue 17, item 8: an --out under /proc, under a file or in a read-only place is one line
    and exit 2 for every command, before any work."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "golden_commands", Path(__file__).parent / "golden" / "commands.py"
    )
    commands = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(commands)
    (tmp_path / "file").write_text("x")
    for name, argv in commands.COMMANDS.items():
        argv = [a.replace("{inputs}", str(tmp_path)) for a in argv]
        for out in ("/proc/effgrok-x", str(tmp_path / "file" / "sub")):
            code, stdout, err = run(capsys, *argv, "--out", out)
            assert code == 2 and stdout == "", (name, out, err)
            lines = err.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("effgrok: error: --out"), (name, err)
