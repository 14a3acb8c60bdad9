"""Golden ``--json`` outputs of every command (issue 17): a restructuring must change no number.

The files under ``tests/golden/`` were recorded before the restructuring of issue 17 by
``tests/golden/commands.py``.  Each test re-runs one command line and compares its output with
the file: every key of the file must still be there (or under the new name listed in
``RENAMED``), every number equal to float tolerance, every string and "never reached" equal.
Keys the output gained since are allowed.
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parent / "golden"
_spec = importlib.util.spec_from_file_location("golden_commands", GOLDEN / "commands.py")
commands = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(commands)

#: old key -> new key, for names unified by the naming glossary (docs/glossary.md)
RENAMED: dict[str, str] = {
    "predicted_test_accuracy": "predicted_test_acc",
    "flow_predicted_test_accuracy": "flow_predicted_test_acc",
    "lr": "learning_rate",
    "step_val_99": "step_test_99",
    "final_val_acc": "final_test_acc",
}

#: float tolerance: relative to the value's scale; float32 network runs are the loosest
RTOL, ATOL = 1e-5, 1e-9


def assert_same(golden, new, where="$"):
    if isinstance(golden, dict):
        assert isinstance(new, dict), f"{where}: expected an object, got {type(new).__name__}"
        for key, value in golden.items():
            name = RENAMED.get(key, key)
            alias = f" (as {name!r})" if name != key else ""
            assert name in new, f"{where}: key {key!r} is missing{alias}"
            assert_same(value, new[name], f"{where}.{name}")
    elif isinstance(golden, list):
        assert isinstance(new, list) and len(new) == len(golden), f"{where}: list of {len(golden)} expected"
        for k, (g, n) in enumerate(zip(golden, new, strict=True)):
            assert_same(g, n, f"{where}[{k}]")
    elif isinstance(golden, bool) or golden is None or isinstance(golden, str):
        assert new == golden, f"{where}: {new!r} != {golden!r}"
    elif isinstance(golden, int) and isinstance(new, int) and not isinstance(new, bool):
        assert new == golden, f"{where}: {new} != {golden}"
    else:
        assert isinstance(new, int | float) and not isinstance(new, bool), f"{where}: {new!r} is not a number"
        if math.isnan(golden):
            assert math.isnan(new), f"{where}: {new} is not NaN"
        else:
            assert math.isclose(new, golden, rel_tol=RTOL, abs_tol=ATOL), f"{where}: {new} != {golden}"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return commands.write_inputs(tmp_path_factory.mktemp("golden") / "inputs")


@pytest.mark.parametrize("name", sorted(commands.COMMANDS))
def test_json_output_unchanged(name, inputs):
    golden = json.loads((GOLDEN / f"{name}.json").read_text())
    assert_same(golden, commands.strip_volatile(commands.run_json(name, inputs)))


def test_every_command_has_a_golden_file():
    from effgrok.cli import main  # noqa: F401  (the parser lists the commands)

    recorded = {p.stem for p in GOLDEN.glob("*.json")}
    assert recorded == set(commands.COMMANDS)
    covered = {" ".join(a for a in argv[:2] if not a.startswith("-")) for argv in commands.COMMANDS.values()}
    firsts = {c.split()[0] for c in covered}
    assert firsts >= {"rate", "critical", "simulate", "ntk", "train", "phase-diagram", "predict-grok",
                      "progress", "solvable", "weight-norm", "tickets", "inspect"}  # fmt: skip


def test_the_comparison_can_fail():
    with pytest.raises(AssertionError, match="missing"):
        assert_same({"a": 1}, {"b": 1})
    with pytest.raises(AssertionError, match="!="):
        assert_same({"a": [1.0, None]}, {"a": [1.001, None]})
    with pytest.raises(AssertionError, match="!="):
        assert_same({"a": None}, {"a": -1})
    assert_same({"a": 1.0}, {"a": 1.0 + 1e-9, "extra": 2})


#: an ensemble's per-member arrays, printed by ``simulate --ensemble --json`` only with ``--full``
PER_MEMBER = (
    "n_train",
    "pinned",
    "z0",
    "n_h",
    "steps_to_rqi",
    "final_rqi",
    "final_loss",
    "predicted_test_accuracy",
)


def test_ensemble_json_without_full_is_the_recorded_summary(inputs):
    """Issue 25: ``--json`` of an ensemble prints the summary; the recorded per-member arrays
    (recorded before the change, with every member) stay reachable with ``--full``."""
    golden = json.loads((GOLDEN / "simulate_ensemble.json").read_text())
    argv = [a for a in commands.COMMANDS["simulate_ensemble"] if a != "--full"]
    assert len(argv) == len(commands.COMMANDS["simulate_ensemble"]) - 1
    commands.COMMANDS["short"] = argv
    try:
        short = commands.strip_volatile(commands.run_json("short", inputs))
    finally:
        del commands.COMMANDS["short"]
    for key in PER_MEMBER:
        assert RENAMED.get(key, key) not in short, key
        assert len(golden[key]) == golden["members"] == 6  # the full record had them, one per member
    assert "--full" in short["per_member"]
    assert_same({k: v for k, v in golden.items() if k not in PER_MEMBER}, short)
    # the summary's quantiles are those of the recorded per-member numbers (an independent numpy oracle)
    import numpy as np

    for key in ("final_rqi", "final_loss", "z0"):
        x = np.asarray(golden[key], dtype=float)
        s = short["summary"][key]
        assert math.isclose(s["median"], float(np.median(x)), rel_tol=1e-12)
        assert math.isclose(s["q25"], float(np.quantile(x, 0.25)), rel_tol=1e-12)
        assert math.isclose(s["q75"], float(np.quantile(x, 0.75)), rel_tol=1e-12)
