"""The one result protocol (issue 17): every result dataclass of effgrok.effective, kernels,
diagnostics and solvable has ``record()`` (JSON-ready: numpy -> Python, NaN/NEVER -> null) and
``tables()`` (name -> rows of one shape).  The networks' results (effgrok.nets) are checked with
the networks."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import math
import pkgutil
from types import SimpleNamespace

import numpy as np
import pytest

import effgrok as eg
from effgrok._record import Result, flat_row, jsonable, step_or_none
from effgrok.constants import NEVER

PACKAGES = ("effgrok.effective", "effgrok.kernels", "effgrok.diagnostics", "effgrok.solvable")
#: dataclasses that are settings, models or data, not results
NOT_RESULTS = {"EffectiveLoss", "ButcherTableau", "LazyRichProblem", "Committee", "TwoLayer", "Network"}


def _dataclasses():
    found = {}
    for pkg in PACKAGES:
        for info in pkgutil.iter_modules(importlib.import_module(pkg).__path__):
            if info.name.startswith("_"):
                continue
            mod = importlib.import_module(f"{pkg}.{info.name}")
            for name, cls in inspect.getmembers(mod, inspect.isclass):
                if (
                    cls.__module__ == mod.__name__
                    and dataclasses.is_dataclass(cls)
                    and not name.startswith("_")
                ):
                    found[name] = cls
    return found


CLASSES = _dataclasses()
RESULTS = sorted(set(CLASSES) - NOT_RESULTS)


def test_the_list_of_result_classes_is_complete():
    assert NOT_RESULTS <= set(CLASSES)
    assert {"CriticalResult", "Trajectory", "Ensemble", "GrokkingRate", "Accuracy", "Inspection"} <= set(
        RESULTS
    )
    assert {"DichotomyRuns", "GrokkingGap", "LinearSimulation", "TicketStudy", "AlphaSweep"} <= set(RESULTS)


def test_every_result_class_follows_the_protocol():
    assert [n for n in RESULTS if not issubclass(CLASSES[n], Result)] == []


def _scalar(value) -> bool:
    return value is None or isinstance(value, (str, bool, int, float, np.generic))


def _fields(res) -> dict:
    """The result's dataclass fields by name, JSON-ready (numpy -> Python, NaN/NEVER -> null)."""
    return {f.name: getattr(res, f.name) for f in dataclasses.fields(res)}


def _same_content(field, value) -> bool | None:
    """Whether a record's ``value`` is the ``field`` it is named after, JSON-ready (numpy ->
    Python, NaN/NEVER -> null); ``None`` where the same name means something else (a count
    ``steps`` beside an array ``steps``, a convention ``loss`` beside a loss curve)."""
    if _scalar(field):
        return value == jsonable(field)
    if isinstance(field, dict) and isinstance(value, dict):
        return value == jsonable(field)
    one_d = isinstance(field, (tuple, list)) or (isinstance(field, np.ndarray) and field.ndim == 1)
    if one_d and isinstance(value, list) and len(value) == len(field) and all(map(_scalar, value)):
        return value == jsonable(list(field))
    return None


def _record_matches_fields(res) -> int:
    """Every key of ``record()`` named after a field holds that field's value; returns how many."""
    rec, fields, checked = res.record(), _fields(res), 0
    for key in rec.keys() & fields.keys():
        same = _same_content(fields[key], rec[key])
        assert same is not False, f"record()[{key!r}] = {rec[key]!r}, field {fields[key]!r}"
        checked += same is True
    return checked


def _tables_match_fields(res) -> int:
    """A column named after a 1-D field with one entry per row (``alphas`` or ``alpha``, ``steps``
    or ``step``) holds the entry of its row; returns how many columns were checked."""
    fields, checked = _fields(res), 0
    for rows in res.tables().values():
        for column in rows[0] if len(rows) > 1 else ():
            field = fields.get(column, fields.get(f"{column}s"))
            one_d = isinstance(field, tuple) or (isinstance(field, np.ndarray) and field.ndim == 1)
            if one_d and len(field) == len(rows):
                assert [r[column] for r in rows] == jsonable(list(field)), column
                checked += 1
    return checked


@pytest.mark.parametrize("name", RESULTS)
def test_record_and_tables_hold_the_fields(instances, name):
    """``record()`` and ``tables()`` carry the object's own values: the fields they name are the
    fields' values (JSON-ready), not merely keys of the right shape."""
    res = instances[name]
    matched = _record_matches_fields(res), _tables_match_fields(res)
    assert sum(matched) > 0, f"{name}: no field found in its record or tables"


def test_the_field_check_can_fail(instances):
    """A record or a table that does not hold the object's value is caught."""
    gap, log = instances["GrokkingGap"], instances["LossLog"]

    class WrongRecord(type(gap)):
        def record(self):
            return super().record() | {"gap": self.gap + 1.0}

    class WrongTable(type(log)):
        def tables(self):
            return {"runs": [r | {"run": "z"} for r in super().tables()["runs"]]}

    with pytest.raises(AssertionError, match="gap"):
        _record_matches_fields(WrongRecord(**_fields(gap)))
    assert _tables_match_fields(log) == 2  # the columns "run" and "diverged_at_step" hold their fields
    with pytest.raises(AssertionError, match="run"):
        _tables_match_fields(WrongTable(**_fields(log)))


def test_jsonable_writes_never_as_null():
    rec = jsonable({"a": NEVER, "b": np.array([1.0, np.nan, np.inf]), "c": (np.int64(3), np.bool_(True))})
    assert rec == {"a": None, "b": [1.0, None, None], "c": [3, True]}
    assert json.loads(json.dumps(rec, allow_nan=False)) == rec
    assert [step_or_none(v) for v in (NEVER, None, 120.0, np.int64(7))] == [None, None, 120, 7]
    assert flat_row({"x": {"y": [1, None]}}) == {"x_y": "1 "}


# --------------------------------------------------------------------------- one instance each
@pytest.fixture(scope="module")
def instances(tmp_path_factory):
    from effgrok.diagnostics.early import early_prediction_curve, read_loss_csv
    from effgrok.diagnostics.inspection import inspect_embedding, inspect_series
    from effgrok.diagnostics.loaders import load_embedding
    from effgrok.diagnostics.progress import Progress
    from effgrok.diagnostics.tickets import TicketStudy
    from effgrok.diagnostics.weight_norm import AlphaSweep, ReducedLandscape, lu_shape
    from effgrok.kernels.hermite import lazy_test_loss
    from effgrok.solvable import dichotomy, linear

    tmp = tmp_path_factory.mktemp("protocol")
    task = eg.make_task("add", 10)
    split = eg.random_split(task, fraction=0.6, seed=0)
    E = np.random.default_rng(0).normal(size=(task.n_symbols, 2))
    series = inspect_series(task, split, [E * (1 + 0.1 * k) for k in range(3)], [0, 10, 20])
    out = {
        "CriticalResult": eg.critical_scan("add-mod", [5], 20, seed=1)[0],
        "GrokkingRate": eg.grokking_rate(task, split),
        "Accuracy": eg.ideal_accuracy(task, split),
        "Trajectory": eg.simulate(task, split, steps=200, stride=20, seed=0),
        "Ensemble": eg.simulate_ensemble(task, 4, fraction=0.5, steps=200, seed=1),
        "LazyLoss": lazy_test_loss([0, 1, 0.02**2], [0.5, 0, 0.5], 550, 100),
        "Inspection": inspect_embedding(task, split, E),
        "InspectionSeries": series,
        "FlowOverlay": series.flow,
        "GrokkingGap": linear.grokking_gap(0.5, 0.01, 1e-3),
        "LinearSimulation": linear.simulate_linear(6, 12, steps=10, seeds=2, seed=0),
        "Transition": dichotomy.transition_from_curve(
            np.arange(6) * 100, np.array([0.1, 1, 1, 1, 1, 1]), np.array([0.0, 0.1, 0.1, 0.3, 0.9, 0.9])
        ),
        "LinearFit": dichotomy.fit_line([1, 2, 3, 4], [2.1, 3.9, 6.1, 7.9]),
    }
    from effgrok.diagnostics.network import network_measures, read_training_log

    t7 = eg.make_task("add-mod", 7)
    out["NetworkMeasures"] = network_measures(
        t7, np.random.default_rng(1).normal(size=(7, 7, 7)), [(0, 1), (2, 3)]
    )
    (tmp / "log.csv").write_text("step,train_loss,val_acc\n0,2.0,0.1\n10,0.5,0.7\n")
    out["TrainingLog"] = read_training_log(tmp / "log.csv")
    a, lam = np.meshgrid([10.0, 100.0, 1000.0], [0.01, 0.02])
    out["GridFit"] = dichotomy.fit_transition_grid(a, lam, (np.log(a) - 1.5) / lam + 40.0)
    t = np.arange(0, 2001, 5)
    curves = [np.exp(-t / 500 + 0.02 * np.sin(t * k)) for k in range(4)]
    out["EarlyPrediction"] = early_prediction_curve(curves, [0, 1, 0, 1], [0.01, 1.0], t)
    csv = tmp / "log.csv"
    csv.write_text("step,loss,run,grokked\n0,1.0,a,1\n1,0.5,a,1\n0,2.0,b,0\n1,1.5,b,0\n")
    out["LossLog"] = read_loss_csv(csv)
    np.savez(tmp / "E.npz", W_E=np.arange(12.0).reshape(3, 4))
    out["LoadedEmbedding"] = load_embedding(tmp / "E.npz", 4)
    # results of network runs, built directly (the protocol, not the training, is under test)
    steps, two = np.array([0, 10, 20]), np.array([[0.1, 0.5, 0.95], [0.1, 0.2, 0.3]])
    out["Progress"] = Progress(steps, {"rqi": two, "effective_rank": 2 * two}, two, two, "toy")
    shape = lu_shape(np.geomspace(0.25, 4, 3), [1.0, 0.1, 0.1], [1.0, 0.5, 2.0])
    out["LUShape"] = shape
    w = np.array([1.0, 2.0, 4.0])
    out["ReducedLandscape"] = ReducedLandscape(w, w / 2, 2.0, w, w, w / 8, w / 8, shape, runs=None)
    runs = SimpleNamespace(weight_norm=np.ones((4, 3)))
    tt = np.array([[10.0, NEVER], [NEVER, 20]])  # NEVER: never reached
    out["AlphaSweep"] = AlphaSweep(
        np.array([1.0, 3.0]),
        np.array([0, 1]),
        tt,
        tt,
        np.array([10.0, NEVER]),
        np.array([NEVER, 20.0]),
        np.array([5.0, np.inf]),
        np.ones((2, 2)),
        runs,
    )
    out["TicketStudy"] = TicketStudy(
        steps,
        np.array([3]),
        0.5,
        0.9,
        {"dense": np.array([10]), "ticket": np.array([NEVER])},
        {"dense": two[:1], "ticket": two[1:]},
        {},
        {"dense": np.ones((1, 2)), "ticket": np.ones((1, 2))},
        np.array([-1]),
        np.array([True]),
        settings={"pairs": 100, "pruned_fractions": (0.5,)},
    )
    out["DichotomyRuns"] = dichotomy.DichotomyRuns(
        np.array([2.0]),
        np.array([0.5]),
        np.array([0]),
        0.1,
        steps,
        two[:1],
        two[:1],
        two[:1],
        np.array([NEVER]),
        np.array([10.0]),
        np.array([0.1]),
        np.array([0.3]),
        np.array([13.9]),
        np.array([NEVER]),
    )
    return out


def test_every_result_class_has_an_instance_here(instances):
    assert set(instances) == set(RESULTS)


@pytest.mark.parametrize("name", RESULTS)
def test_record_is_json_and_tables_are_rows(instances, name):
    res = instances[name]
    rec = res.record()
    assert isinstance(rec, dict) and rec
    text = json.dumps(rec, allow_nan=False)  # strict JSON: no NaN, no numpy
    assert json.loads(text) == rec
    tables = res.tables()
    assert isinstance(tables, dict) and tables
    for table, rows in tables.items():
        assert isinstance(table, str) and isinstance(rows, list), table
        assert all(isinstance(r, dict) and list(r) == list(rows[0]) for r in rows), f"{name}.{table}"
        json.dumps(rows, allow_nan=False)
        for row in rows:  # a CSV cell is a scalar
            assert all(v is None or isinstance(v, (str, int, float, bool)) for v in row.values()), (
                table,
                row,
            )


def test_never_reached_is_null_in_the_records(instances):
    assert instances["AlphaSweep"].record()["rows"][1]["t_test"] is None  # NEVER
    assert instances["AlphaSweep"].record()["rows"][2]["t_test"] is None
    assert instances["TicketStudy"].record()["rows"][1]["t_gen"] is None
    assert instances["DichotomyRuns"].record()["runs"][0]["transition_step"] is None
    gap = instances["GrokkingGap"]
    assert gap.record()["gap"] == gap.gap and math.isfinite(gap.gap)


def test_records_keep_the_cli_keys(instances):
    """The records hold the keys the CLI's JSON has today, so the CLI can write them as they are."""
    crit = instances["CriticalResult"].record()
    assert {"r_c", "r_c_ci", "n_c", "median_size", "curve"} <= set(crit)
    assert set(instances["CriticalResult"].tables()) == {"curve", "critical"}
    tr = instances["Trajectory"].record()
    assert {"steps_to_rqi", "n_h", "gram_lambda3", "trajectory", "predicted_test_acc"} <= set(tr)
    assert set(instances["Ensemble"].record()["summary"]) >= {"members", "steps_to_rqi"}
    assert instances["Inspection"].tables()["inspect"][0]["embedding_shape"] == "10x2"
