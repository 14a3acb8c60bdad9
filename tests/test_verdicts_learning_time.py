"""Known answers for the learning_time case's verdict (synthetic measurements, no training)."""

import math

import numpy as np
import pytest

from effgrok._learning_time import predict_learning_time
from validation.cases import learning_time as case


def _settings(seeds=16):
    return {**case.PROFILES["cpu"], "seeds": seeds, "replicate": 0}


def _law_median(row, budget, q=1.0):
    n, opt, le, ld, w, se, sd = row
    law = predict_learning_time(n, le, ld, optimizer=opt, width=w, init_scale_emb=se, init_scale_dec=sd,
                        pinned_fraction=q, budget=budget)  # fmt: skip
    return law.median_steps


def _measurements(settings, factor=1.0, censor_all=False, nh=1e4):
    """Every run pinned; every run of a condition reaches RQI at ``factor`` × the law's median
    (never where the law predicts no median within the budget, or with ``censor_all``)."""
    budget = int(settings["steps"])
    out = []
    for i, row in enumerate(settings["grid"]):
        k = int(settings["seeds"])
        med = _law_median(row, budget)
        step = np.nan if censor_all or not np.isfinite(med) else factor * med
        step = step if step <= budget else np.nan
        out.append({
            "seed": np.arange(k) + 10**6, "index": np.full(k, i), "n_train": np.full(k, row[0]),
            "step_rqi": np.full(k, step), "final_rqi": np.full(k, 1.0), "pinned": np.ones(k, bool),
            "n_h": np.full(k, nh),
        })  # fmt: skip
    return out


def _statuses(v):
    return {c.name: c.status for c in v.claims}


def test_grid_is_disjoint_from_the_fit_grid_in_every_knob():
    from effgrok._learning_time import FIT_GRID

    test = case.TEST_GRID
    assert not {r[0] for r in test} & {r[0] for r in FIT_GRID}  # n
    assert not {r[4] for r in test} & {200}  # width (fit grid: 200)
    assert not {r[5] for r in test} & {1.0} and not {r[6] for r in test} & {1.0}  # init scales (fit: 1)
    adam = lambda g: {round(r[2] / r[3], 6) for r in g if r[1] == "adam"}  # noqa: E731
    gd = lambda g, j: {r[j] for r in g if r[1] == "gd-embedding"}  # noqa: E731
    assert not adam(test) & adam(FIT_GRID)
    assert not gd(test, 2) & gd(FIT_GRID, 2) and not gd(test, 3) & gd(FIT_GRID, 3)
    assert {r[1] for r in test} == {"adam", "gd-embedding"}


def test_pass_when_measured_medians_equal_the_law():
    s = _settings()
    m = _measurements(s)
    v = case.verdict(case.predict(s), m, s)
    st = _statuses(v)
    resolved = sum(np.isfinite(_law_median(r, 3000)) for r in s["grid"])
    if resolved >= case.CLAIMS[0].threshold["min_resolved_share"] * len(s["grid"]):
        assert st["law_predicts_median_steps"] == "pass"
        assert v.numbers["law_median_abs_log_error"] == pytest.approx(0.0, abs=1e-9)
    assert st["n_h_error_same_grid"] == "reported" and st["p_learn_within_budget"] == "reported"


def test_fail_when_measured_medians_are_off_by_a_factor_two():
    s = _settings()
    v = case.verdict(case.predict(s), _measurements(s, factor=0.5), s)
    assert _statuses(v)["law_predicts_median_steps"] == "fail"
    assert (
        v.numbers["law_median_abs_log_error"] >= math.log(2) - 1e-9
        or v.numbers["law_median_abs_log_error"] is None
    )


def test_inconclusive_with_too_few_seeds_or_nothing_resolved():
    s = _settings(seeds=8)
    assert (
        _statuses(case.verdict(case.predict(s), _measurements(s), s))["law_predicts_median_steps"]
        == "inconclusive"
    )
    s = _settings()
    v = case.verdict(case.predict(s), _measurements(s, censor_all=True), s)
    assert _statuses(v)["law_predicts_median_steps"] == "inconclusive"


def test_error_rules_for_censored_values():
    assert case._error(math.inf, math.inf) == 0.0
    assert case._error(1000.0, math.inf) == math.inf and case._error(math.inf, 10.0) == math.inf
    assert case._error(1500.0, 1000.0) == pytest.approx(math.log(1.5))


def test_n_h_error_is_reported_on_the_same_conditions():
    s = _settings()
    m = _measurements(s, nh=50.0)  # n_h = 50 steps for every run: far below the measured medians
    v = case.verdict(case.predict(s), m, s)
    rows = case.condition_table(m, s)
    expected = np.median([case._error(50.0, r["measured_median"]) for r in rows])
    assert v.numbers["n_h_median_abs_log_error"] == pytest.approx(expected)
