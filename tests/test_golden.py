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
    "eta0": "learning_rate",
    "step_val_99": "step_test_99",
    "final_val_acc": "final_test_acc",
}

#: relative tolerance of a number (float32 network runs are the loosest); there is no absolute
#: tolerance, which would switch the comparison off for small values (issue 26: a final loss
#: of 5e-101 multiplied by 1000 passed an absolute 1e-9)
RTOL = 1e-5
#: below this magnitude a number is a decayed quantity (a loss after convergence, a kernel
#: residual): compared in log space, ``|log|new| − log|golden|| ≤ LOG_TOL``, the same sign
TINY, LOG_TOL = 1e-6, 1e-5


def same_number(golden: float, new: float) -> bool:
    """``new`` equals ``golden`` to :data:`RTOL` relative, or in log space for tiny values; NaN
    equals NaN only, ±inf itself only, zero exactly zero (a float 0 and an int 0 alike)."""
    if math.isnan(golden) or math.isnan(new):
        return math.isnan(golden) and math.isnan(new)
    if math.isinf(golden) or math.isinf(new) or golden == 0 or new == 0:
        return new == golden
    if (golden > 0) != (new > 0):
        return False
    if abs(golden) < TINY:
        return abs(math.log(abs(new)) - math.log(abs(golden))) <= LOG_TOL
    return math.isclose(new, golden, rel_tol=RTOL, abs_tol=0.0)


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
        assert type(new) is type(golden) and new == golden, f"{where}: {new!r} != {golden!r}"
    elif isinstance(golden, int):  # a count, a step, a size: exactly, and still an integer
        assert type(new) is int and new == golden, f"{where}: {new!r} != {golden!r} (integers)"
    else:
        assert isinstance(new, int | float) and not isinstance(new, bool), f"{where}: {new!r} is not a number"
        assert same_number(golden, new), f"{where}: {new!r} != {golden!r}"


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


def _leaves(obj, path=()):
    """``(path, value)`` of every scalar of a JSON document."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(obj, list):
        for k, v in enumerate(obj):
            yield from _leaves(v, (*path, k))
    else:
        yield path, obj


def _perturbed(value):
    """A value the comparison must reject in place of ``value``."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        if math.isnan(value):
            return 0.0
        return 1.0 if value == 0 else value * 1000 if abs(value) < TINY else value * (1 + 1e-3)
    return 0 if value is None else f"{value}x"


def _renamed(doc):
    """A golden document as the command writes it today (the keys of ``RENAMED`` renamed)."""
    if isinstance(doc, dict):
        return {RENAMED.get(k, k): _renamed(v) for k, v in doc.items()}
    return [_renamed(v) for v in doc] if isinstance(doc, list) else doc


def _with(doc, path, value):
    """``doc`` with the value at ``path`` replaced (keys as the command writes them)."""
    path = [RENAMED.get(k, k) if isinstance(k, str) else k for k in path]
    out = _renamed(doc)
    node = out
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    return out


@pytest.mark.parametrize(
    ("name", "path"), [("simulate", ("final_loss",)), ("ntk", ("results", 0, "lazy_train_loss"))]
)
def test_a_tiny_value_times_1000_fails(name, path):
    """The two cases of issue 26 that passed the old absolute tolerance of 1e-9."""
    golden = json.loads((GOLDEN / f"{name}.json").read_text())
    node = golden
    for k in path:
        node = node[k]
    assert 0 < abs(node) < 1e-9  # tiny: an absolute tolerance would not see it
    assert_same(golden, _with(golden, path, node))
    with pytest.raises(AssertionError, match="!="):
        assert_same(golden, _with(golden, path, node * 1000))


def test_every_recorded_value_is_compared():
    """Each scalar of every golden file passes against itself and fails once perturbed: ×1000 on
    a tiny number, 0.1 % on any other, +1 on an integer, a flipped boolean, 0 for null."""
    seen = {"tiny": 0, "int": 0, "bool": 0, "float": 0}
    for path in sorted(GOLDEN.glob("*.json")):
        for where, value in _leaves(json.loads(path.read_text())):
            assert_same(value, value)
            with pytest.raises(AssertionError):
                assert_same(value, _perturbed(value), f"{path.stem}{list(where)}")
            if isinstance(value, bool):
                seen["bool"] += 1
            elif isinstance(value, int):
                seen["int"] += 1
            elif isinstance(value, float):
                seen["tiny" if 0 < abs(value) < TINY else "float"] += 1
    assert min(seen.values()) > 0, seen  # every kind of value occurs in the recorded files
    with pytest.raises(AssertionError, match="integers"):
        assert_same(3, 3.0)  # an integer stays an integer
    with pytest.raises(AssertionError):
        assert_same(True, 1)  # a boolean stays a boolean
    with pytest.raises(AssertionError):
        assert_same(1e-30, -1e-30)  # the same sign
    assert_same(0.0, 0) and assert_same(float("inf"), float("inf"))


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
