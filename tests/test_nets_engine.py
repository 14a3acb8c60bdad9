"""The one training engine of effgrok.nets: run grid, seeds, chunking, first crossings, results."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest

import effgrok as eg
from effgrok.constants import NEVER, first_crossing, never_from_legacy, reached
from effgrok.nets import engine
from effgrok.nets.engine import Runs, map_chunks, run_chunks, run_grid, schedule, seed_array

pytest.importorskip("jax")


# --------------------------------------------------------------------------- run grid, schedule
def test_run_grid_broadcasts_scalars_and_arrays():
    R, g = run_grid(seeds=[0, 1, 2], learning_rate=1e-3, weight_decay=np.array([0.0, 1.0, 2.0]))
    assert R == 3
    assert g["seeds"].tolist() == [0, 1, 2] and g["learning_rate"].tolist() == [1e-3] * 3
    assert g["weight_decay"].tolist() == [0.0, 1.0, 2.0]
    R, g = run_grid(seeds=5, train_fraction=0.3)
    assert R == 1 and g["seeds"].tolist() == [5]
    with pytest.raises(ValueError, match=r"common length; got sizes seeds: 2, learning_rate: 3"):
        run_grid(seeds=[0, 1], learning_rate=[1e-3, 1e-2, 1e-1])


def test_seed_array_and_schedule_checks():
    assert seed_array([3, 4]).dtype == np.int64
    for bad in ([-1], [0.5], []):
        with pytest.raises(ValueError, match="seeds must be non-negative integers"):
            seed_array(bad)
    assert schedule(100, 10) == (100, 10, 1)
    assert schedule(100, 10, snapshot_stride=20) == (100, 10, 5)
    with pytest.raises(ValueError, match="stride must divide steps"):
        schedule(100, 7)
    with pytest.raises(ValueError, match="snapshot_stride must be a multiple of stride"):
        schedule(100, 10, snapshot_stride=15)
    with pytest.raises(ValueError, match="hidden must be an integer >= 1"):
        schedule(100, 10, hidden=0)


def test_run_chunks_cover_the_runs_once():
    for runs, per in ((1, 1), (5, 2), (7, 7), (8, 3)):
        chunks = run_chunks(runs, 1.0, max_runs=per)
        assert np.concatenate([np.arange(runs)[sl] for sl in chunks]).tolist() == list(range(runs))
        assert max(sl.stop - sl.start for sl in chunks) <= per
    assert run_chunks(4, 1.0) == [slice(0, 4)]  # tiny runs: one chunk, the fastest
    assert len(run_chunks(4, 1e30)) == 4  # a run that needs all the memory: one per chunk
    out = map_chunks(lambda sl: ({"a": np.arange(5)[sl]}, None), 5, 1e30)
    assert out[0]["a"].tolist() == list(range(5)) and out[1] is None


# --------------------------------------------------------------------------- seeds: chunking, company
@pytest.fixture(scope="module")
def mod7():
    return eg.make_task("add-mod", 7)


def _modular(task, seeds, **kw):
    from effgrok.nets.driver import Schedule
    from effgrok.nets.modular import train_modular

    return train_modular(task, seeds=seeds, hidden=8, schedule=Schedule(6, 3), train_fraction=0.6, **kw)


def test_a_run_does_not_depend_on_chunking(mod7, monkeypatch):
    whole = _modular(mod7, [0, 1, 2], learning_rate=[1e-2, 2e-2, 3e-2])
    monkeypatch.setattr(engine, "MAX_RUNS_PER_CHUNK", 2)
    chunked = _modular(mod7, [0, 1, 2], learning_rate=[1e-2, 2e-2, 3e-2])
    for name in whole.curve_names():
        np.testing.assert_array_equal(getattr(whole, name), getattr(chunked, name), err_msg=name)
    for k in whole.params:
        np.testing.assert_array_equal(whole.params[k], chunked.params[k])
    np.testing.assert_array_equal(whole.train_mask, chunked.train_mask)


def test_a_run_does_not_depend_on_the_runs_beside_it(mod7):
    many = _modular(mod7, [4, 9, 2])
    alone = _modular(mod7, [9])
    np.testing.assert_array_equal(many.train_mask[1], alone.train_mask[0])
    np.testing.assert_allclose(many.train_loss[1], alone.train_loss[0], rtol=1e-6)
    np.testing.assert_allclose(many.params["W1"][1], alone.params["W1"][0], rtol=1e-5, atol=1e-7)


def test_toy_runs_chunked_equal_the_whole_batch(monkeypatch):
    from effgrok.nets.toy import ToyConfig, train_toy

    task, cfg = eg.make_task("add", 6), ToyConfig(steps=20, stride=10)
    whole = train_toy(task, cfg, seeds=[0, 1, 2], n_train=12)
    monkeypatch.setattr(engine, "MAX_RUNS_PER_CHUNK", 1)
    chunked = train_toy(task, cfg, seeds=[0, 1, 2], n_train=12)
    np.testing.assert_array_equal(whole.rqi, chunked.rqi)
    np.testing.assert_array_equal(whole.train_loss, chunked.train_loss)
    np.testing.assert_array_equal(whole.step_rqi, chunked.step_rqi)


# --------------------------------------------------------------------------- first crossing, NEVER
def _naive_first(curve, steps, level, below, strict):
    for s, v in zip(steps, curve, strict=True):
        if (v < level if strict else v <= level) if below else (v > level if strict else v >= level):
            return float(s)
    return NEVER


@pytest.mark.parametrize("below", [False, True])
@pytest.mark.parametrize("strict", [False, True])
def test_first_crossing_matches_a_naive_loop(below, strict):
    rng = np.random.default_rng(0)
    curves = rng.integers(0, 5, size=(40, 9)) / 4  # ties with the level on purpose
    curves = np.vstack([curves, np.zeros(9), np.ones(9)])  # one run never rises, one never falls
    steps = np.arange(9) * 25
    got = first_crossing(curves, steps, 0.5, below=below, strict=strict)
    want = np.array([_naive_first(c, steps, 0.5, below, strict) for c in curves])
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, want)  # NaN == NaN for assert_array_equal
    assert (~reached(got)).any() and reached(got).any()


def test_never_is_nan_and_legacy_minus_one_converts():
    assert np.isnan(NEVER) and not reached(NEVER) and reached(0.0)
    np.testing.assert_array_equal(never_from_legacy(np.array([10, -1, 0])), [10.0, NEVER, 0.0])
    np.testing.assert_array_equal(never_from_legacy(np.array([10.0, NEVER])), [10.0, NEVER])


def test_stored_validation_units_with_minus_one_are_accepted():
    from validation.framework import upgrade_unit

    old = {
        "step_rqi": np.array([120, -1], dtype=np.int64),
        "t_dense": np.array([-1, 40]),
        "sweep0_t_ticket": np.array([-1]),
        "seed": np.array([0, 1]),  # not a step: untouched
        "final_rqi": np.array([1.0, 0.3]),
    }
    new = upgrade_unit(old)
    np.testing.assert_array_equal(new["step_rqi"], [120.0, NEVER])
    np.testing.assert_array_equal(new["t_dense"], [NEVER, 40.0])
    np.testing.assert_array_equal(new["sweep0_t_ticket"], [NEVER])
    assert new["seed"] is old["seed"] and new["final_rqi"] is old["final_rqi"]
    fresh = {"step_rqi": np.array([120.0, NEVER])}
    assert upgrade_unit(fresh)["step_rqi"] is fresh["step_rqi"]


# --------------------------------------------------------------------------- the result type
@dataclass(frozen=True)
class _Toy(Runs):
    steps: np.ndarray
    acc: np.ndarray
    seeds: np.ndarray
    step_acc: np.ndarray
    params: dict


def _result():
    acc = np.array([[0.1, 0.5, 0.95], [0.1, 0.2, 0.3]])
    steps = np.array([0, 10, 20])
    return _Toy(steps, acc, np.array([3, 4]), first_crossing(acc, steps, 0.9), {"W": np.zeros((2, 5))})


def test_runs_protocol_names_and_first_crossing():
    r = _result()
    assert r.n_runs == 2 and r.curve_names() == ["acc"] and r.per_run_names() == ["seeds", "step_acc"]
    np.testing.assert_array_equal(r.first_crossing("acc", 0.9), [20.0, NEVER])
    np.testing.assert_array_equal(r.first_crossing("acc", 0.15, below=True), [0.0, 0.0])
    with pytest.raises(ValueError, match="name must be one of the curves acc"):
        r.first_crossing("loss", 0.1)


def test_record_is_strict_json_with_null_for_never():
    rec = _result().record()
    text = json.dumps(rec, allow_nan=False)  # no NaN left
    back = json.loads(text)
    assert back["step_acc"] == [20.0, None] and back["final_acc"] == [0.95, 0.3]
    assert back["curves"]["acc"][1] == [0.1, 0.2, 0.3] and "params" not in back
    assert "curves" not in _result().record(curves=False)


def test_tables_rows():
    t = _result().tables()
    assert [r["run"] for r in t["runs"]] == [0, 1]
    assert t["runs"][1]["seeds"] == 4 and np.isnan(t["runs"][1]["step_acc"])
    assert t["runs"][0]["final_acc"] == 0.95
    assert len(t["curves"]) == 6 and t["curves"][4] == {"run": 1, "step": 10, "acc": 0.2}


def test_trainers_return_the_one_result_type(mod7):
    from effgrok.nets.toy import ToyConfig, train_toy

    runs = _modular(mod7, [0])
    assert isinstance(runs, Runs) and "test_acc" in runs.curve_names()
    assert runs.step_test_99.dtype == np.float64
    np.testing.assert_array_equal(runs.step_test_99, runs.first_crossing("test_acc", 0.99))
    json.dumps(runs.record(), allow_nan=False)
    toy = train_toy(eg.make_task("add", 5), ToyConfig(steps=10, stride=5), seeds=[0, 1], n_train=6)
    assert isinstance(toy, Runs) and toy.step_rqi.dtype == np.float64
    assert {"rqi", "test_acc", "predicted_test_acc"} <= set(toy.curve_names())
