"""Property-based hardening of the CLI: generated bad and borderline arguments for every
subcommand end with exit 0, or exit 2 and one line on stderr -- never a traceback, and
never an unmarked partial output."""

import contextlib
import io
import shutil
import tempfile
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from effgrok.cli import main

# (valid, invalid or borderline) values of every option; valid ones keep each run small
TASKS = (["add", "add-mod", "sub-mod", "mul-mod"], ["s3", "mult", "", "ADD"])
P = (["2", "3", "5", "7", "11"], ["-3", "0", "1", "x", "", "2.5", "1e9", "6001", "nan", "7 11", "5 5", "4"])
FRAC = (["0.3", "0.8", "1"], ["1e-9", "0.01", "0", "-0.2", "1.0000001", "nan", "inf", "x", ""])
SIZE = (["1", "3", "10"], ["-1", "0", "56", "1e3", "x", "100000"])
TRAIN = (
    ["0,1 2,3", "0,1", "0,0 1,1 2,2", "1,2 2,1"],
    ["0,99", "a,b", "0-1", "", ";", "0,1,2", "-1,2", "0,1 1,0"],
)
SEED = (["0", "1", "123456789"], ["-1", "2**40", "18446744073709551617", "x"])
LR = (["1e-3", "0.5", "1e-300"], ["0", "-1", "nan", "inf", "-inf", "x", "1e300"])
SPLITS = (["1", "2", "7", "40"], ["-1", "0", "abc", "1e3", "99999999999"])
STEPS = (["1", "20", "100"], ["-1", "0", "x", "1e12", "20000001"])

COMMON = {"--task": TASKS, "--p": P, "--seed": SEED, "--json": None, "--out": None}
OPTIONS = {
    "rate": {
        **COMMON,
        "--train-frac": FRAC,
        "--train-size": SIZE,
        "--train": TRAIN,
        "--lr": LR,
        "--z0": (["1", "9", "0.5"], ["0", "-1", "nan", "x"]),
        "--normalization": (["sum", "mean"], ["max", ""]),
    },
    "critical": {
        **COMMON,
        "--splits": SPLITS,
        "--confidence": (["0.5", "0.95", "0.999"], ["0", "1", "1.5", "nan", "x"]),
        "--method": (["auto", "incremental", "bisect"], ["fast"]),
        "--workers": (["1"], ["0", "-2", "x"]),
        "--scheduler": ([], ["localhost", "tcp://", "http://x:1", "", "tcp://host:port:1", "x" * 300]),
        "--progress": (["auto", "off"], ["maybe"]),
    },
    "simulate": {
        **COMMON,
        "--train-frac": FRAC,
        "--train-size": SIZE,
        "--train": TRAIN,
        "--steps": STEPS,
        "--lr": LR,
        "--dim": (["1", "2", "3"], ["0", "65", "x"]),
        "--method": (["euler", "rk4", "dopri5", "exact"], ["rk5"]),
        "--step-size": (["0.5", "1"], ["0", "-1", "nan", "3", "1e-9"]),
        "--stride": (["1", "10"], ["0", "7", "x", "-5"]),
        "--constraints": (["train", "all"], ["none"]),
        "--normalization": (["sum", "mean"], ["max"]),
        "--z": (["live", "frozen"], ["dead"]),
        "--init": (["uniform", "standardized"], ["zeros"]),
        "--preset": (["paper", "reference_code"], ["other"]),
        "--ensemble": (["1", "3", "70"], ["0", "-1", "x"]),
        "--rtol": (["1e-6", "1e-3"], ["0", "-1", "nan"]),
        "--atol": (["1e-9"], ["0", "inf"]),
        "--workers": (["1"], ["0", "-2", "x"]),
    },
}
OPTIONS["ntk"] = {
    "--model": (["committee", "mlp"], ["cnn"]),
    "--target": (["paper", "hermite:2"], ["hermite:0", "cubic", ""]),
    "--dim": (["3", "8"], ["0", "-1", "x", "5000"]),
    "--samples": (["10", "20"], ["1", "0", "x"]),
    "--test-samples": (["10", "15"], ["1", "0"]),
    "--width": (["8", "32"], ["0", "200001"]),
    "--epsilon": (["0", "0.1"], ["-1", "nan"]),
    "--activation": (["relu", "erf"], ["tanh", ""]),
    "--alpha": (["1", "10"], ["0", "-2", "inf"]),
    "--top-k": (["1", "5"], ["0", "100"]),
    "--seed": SEED,
    "--json": None,
    "--out": None,
}
TOY = {
    "--task": (["add", "add-mod"], ["mult"]),
    "--p": (["4", "5"], ["1", "x", "7000"]),
    "--n-train": (["5", "10"], ["0", "1000"]),
    "--steps": (["10", "20"], ["0", "x", "20000001"]),
    "--stride": (["5", "10"], ["0", "3"]),
    "--dim": (["1", "2"], ["0", "300"]),
    "--variant": (["regression", "classification"], ["other"]),
    "--json": None,
    "--out": None,
}
OPTIONS["train toy"] = {
    **TOY,
    "--n-seeds": (["1", "2"], ["-1", "5000"]),
    "--lr-dec": (["1e-3"], ["0", "-1"]),
    "--wd-dec": (["0", "1"], ["-1", "nan"]),
}
OPTIONS["phase-diagram"] = {
    **TOY,
    "--x": (["lr_dec:1e-4:1e-2:2:log"], ["lr:1:2:3", "lr_dec:0:1:2:log", "a:b"]),
    "--y": (["wd_dec:0:1:2"], ["wd_dec:0:1:0", "train_frac:0:2:2"]),
    "--n-seeds": (["1"], ["0", "-3"]),
    "--workers": (["1"], ["0", "x"]),
}
OPTIONS["train modular"] = {
    "--task": (["add-mod", "mul-mod"], ["add-mod2"]),
    "--p": (["5", "7"], ["1", "9x"]),
    "--train-frac": (["0.5", "0.9"], ["0", "2"]),
    "--steps": (["10", "20"], ["0"]),
    "--n-seeds": (["1"], ["-1"]),
    "--hidden": (["8"], ["0"]),
    "--json": None,
}
OPTIONS["train lazy-rich"] = {
    "--dim": (["4"], ["0"]),
    "--samples": (["10"], ["1"]),
    "--test-samples": (["10"], ["0"]),
    "--width": (["8"], ["0"]),
    "--alpha": (["1", "2"], ["0"]),
    "--steps": (["10", "20"], ["0"]),
    "--n-seeds": (["1"], ["-2"]),
    "--json": None,
}
TRAIN_FLAGS = ("--train-frac", "--train-size", "--train")
# small settings put first on the command line (generated options come later and win), so
# that no generated run falls back to a paper-scale default
BASE = {
    "ntk": ["--dim", "4", "--samples", "10", "--test-samples", "10", "--width", "8", "--top-k", "2"],
    "train toy": ["--p", "4", "--n-train", "5", "--steps", "10"],
    "phase-diagram": [
        "--p",
        "4",
        "--n-train",
        "5",
        "--steps",
        "10",
        "--x",
        "lr_dec:1e-3:1e-2:2:log",
        "--y",
        "wd_dec:0:1:2",
        "--workers",
        "1",
    ],
    "train modular": ["--p", "5", "--steps", "10"],
    "train lazy-rich": [
        "--dim",
        "4",
        "--samples",
        "10",
        "--test-samples",
        "10",
        "--width",
        "8",
        "--steps",
        "10",
    ],
}
FINAL_FILES = {
    "curve.csv",
    "critical.csv",
    "critical.json",
    "critical.png",
    "rate.csv",
    "rate.json",
    "trajectory.csv",
    "embedding.npz",
    "simulate.json",
    "trajectory.png",
    "embedding.png",
    "members.csv",
    "curves.npz",
    "ensemble.png",
}


NETWORK_COMMANDS = ("train toy", "phase-diagram", "train modular", "train lazy-rich")
FAST_COMMANDS = tuple(c for c in OPTIONS if c not in NETWORK_COMMANDS)


@st.composite
def argv(draw, commands=FAST_COMMANDS):
    cmd = draw(st.sampled_from([*commands, *commands, *commands, "frobnicate", "--bogus"]))
    if cmd not in OPTIONS:
        return [cmd], False
    opts = OPTIONS[cmd]
    plausible = draw(st.integers(0, 2)) > 0  # two thirds of the runs: valid but for at most one value
    chosen = draw(st.lists(st.sampled_from(sorted(opts)), max_size=6, unique=True))
    if plausible and cmd in ("rate", "critical", "simulate"):
        chosen = [f for f in chosen if f not in TRAIN_FLAGS]
        chosen += [f for f in ("--task", "--p") if f not in chosen]
        if cmd != "critical":
            chosen.append(draw(st.sampled_from(TRAIN_FLAGS)))
    if plausible and cmd not in ("rate", "critical", "simulate"):
        chosen += [f for f in ("--steps",) if f in opts and f not in chosen]
    bad = draw(st.sampled_from(chosen)) if plausible and chosen and draw(st.integers(0, 2)) == 0 else None
    out = []
    uses_out = False
    for flag in chosen:
        if flag == "--out":
            uses_out = True
            out += [flag, "OUT"]
            continue
        out.append(flag)
        if opts[flag] is None:
            continue
        valid, invalid = opts[flag]
        pool = (invalid or valid) if flag == bad else (valid or invalid) if plausible else valid + invalid
        value = draw(st.sampled_from(pool))
        out.extend(value.split(" ") if flag == "--p" and " " in value else [value])
    if not plausible and draw(st.integers(0, 9)) == 0:
        out.append(draw(st.sampled_from(["--unknown", "--p", "-x", "--json=1"])))
    return [*cmd.split(" "), *BASE.get(cmd, []), *out], uses_out


@settings(max_examples=260, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(argv())
def test_every_fast_subcommand_survives_generated_arguments(case):
    _check_case(case)


# network commands compile a JAX program per run, so fewer cases (still every subcommand)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(argv(NETWORK_COMMANDS))
def test_network_subcommands_survive_generated_arguments(case):
    _check_case(case)


def _check_case(case):
    args, uses_out = case
    folder = Path(tempfile.mkdtemp()) / "out" if uses_out else None
    args = [str(folder) if a == "OUT" else a for a in args]
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
            warnings.simplefilter("error")  # a warning would be an unhandled case too
            code = main(args)
        stderr = err.getvalue()
        assert "Traceback" not in stderr, (args, stderr)
        assert code in (0, 2), (args, code, stderr)
        event(f"{args[0]} exit {code}")
        if code == 2:
            lines = stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("effgrok: error: "), (args, stderr)
            assert out.getvalue() == ""
            if folder is not None and folder.exists():
                assert not (set(p.name for p in folder.iterdir()) & FINAL_FILES), (
                    args,
                    list(folder.iterdir()),
                )
    finally:
        if folder is not None:
            shutil.rmtree(folder.parent, ignore_errors=True)


@pytest.mark.parametrize(
    "args",
    [
        # n_h ~ 1e300: the ensemble's mean and std of n_h must not overflow
        [
            "simulate",
            "--ensemble",
            "70",
            "--method",
            "euler",
            "--lr",
            "1e-300",
            "--task",
            "add",
            "--p",
            "10",
            "--train-frac",
            "0.8",
        ],
        # p = 2 has no parallelograms: RQI is undefined, the ensemble figure must still be drawn
        ["simulate", "--ensemble", "1", "--out", "OUT", "--task", "add", "--p", "2", "--train-frac", "0.3"],
    ],
)
def test_cases_the_fuzzer_found(args, tmp_path, capsys):
    args = [str(tmp_path / "out") if a == "OUT" else a for a in args]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(args) == 0
    assert "Traceback" not in capsys.readouterr().err
