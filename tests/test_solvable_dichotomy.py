"""Kernel→rich dichotomy: closed forms, the transition measure and the line fit against oracles."""

import math

import numpy as np
import pytest

from effgrok.solvable.dichotomy import (
    first_crossing,
    fit_line,
    fit_transition_grid,
    kernel_exit_from_norm,
    transition_from_curve,
    transition_step,
    transition_time,
    transition_window,
)


def _decay_time_by_integration(alpha: float, lam: float, degree: int) -> float:
    """Oracle: integrate weight decay alone, dθ/dt = −λθ from ‖θ₀‖ = α, and stop when the output
    scale of a degree-L homogeneous model, ‖θ‖^L, comes down to 1 (an event of the ODE solver)."""
    from scipy.integrate import solve_ivp

    def reaches_one(t, y):
        return np.linalg.norm(y) ** degree - 1.0

    reaches_one.terminal = True
    theta0 = alpha * np.array([0.6, 0.8])  # any direction of norm α
    sol = solve_ivp(lambda t, y: -lam * y, (0, 50 / lam), theta0, events=reaches_one, rtol=1e-12, atol=1e-14)
    return float(sol.t_events[0][0])


def test_transition_time_is_when_decay_brings_the_output_scale_to_one():
    a = np.array([2.0, 10.0, 1e3])
    lam = np.array([1e-4, 1e-3, 0.05])
    for L in (1, 2, 3):
        expected = [_decay_time_by_integration(ai, li, L) for ai, li in zip(a, lam, strict=True)]
        np.testing.assert_allclose(transition_time(a, lam, homogeneity=L), expected, rtol=1e-8)
    lo, hi = transition_window(a, lam, c=0.3)
    t_star = [_decay_time_by_integration(ai, li, 2) for ai, li in zip(a, lam, strict=True)]
    np.testing.assert_allclose(lo, 0.7 * np.array(t_star), rtol=1e-8)
    np.testing.assert_allclose(hi, 1.3 * np.array(t_star), rtol=1e-8)


def test_transition_step_matches_a_direct_count_of_the_decay():
    # the norm of θ ← (1 − ηλ)θ falls below ‖θ₀‖/α after ceil(k*) steps
    alpha, lam, eta = 7.0, 3e-3, 0.4
    k_star = transition_step(alpha, lam, eta)
    norm, k = alpha, 0
    while norm > 1.0:
        norm *= 1 - eta * lam
        k += 1
    assert k == math.ceil(k_star)
    # the continuous-time step count: the flow's time (the oracle above) over the learning rate
    assert transition_step(alpha, lam, eta, exact=False) == pytest.approx(
        _decay_time_by_integration(alpha, lam, 2) / eta, rel=1e-8
    )
    assert transition_step(alpha, lam, eta) / transition_step(alpha, lam, eta, exact=False) == pytest.approx(
        1 - eta * lam / 2, rel=1e-5
    )


def test_transition_from_curve_definition():
    steps = np.arange(8) * 10.0
    train = np.array([0.0, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    test = np.array([0.0, 0.05, 0.1, 0.1, 0.2, 0.7, 0.9, 0.9])
    tr = transition_from_curve(steps, train, test)
    # plateau 0.1 at step 20, final 0.9, level 0.5: between 40 (0.2) and 50 (0.7) at 3/5
    assert tr.memorized_step == 20 and tr.plateau == 0.1 and tr.final == 0.9
    assert tr.step == pytest.approx(46.0)
    # a test accuracy that never rises by min_rise: no transition
    assert math.isnan(transition_from_curve(steps, train, np.full(8, 0.1)).step)
    # never memorised
    t = transition_from_curve(steps, np.zeros(8), test)
    assert math.isnan(t.step) and math.isnan(t.memorized_step)
    with pytest.raises(ValueError, match="strictly increasing"):
        transition_from_curve(steps[::-1], train, test)


def test_kernel_exit_from_norm_on_an_exponential_decay_to_a_floor():
    # ‖θ‖ = A e^{−λt} + B: the first grid step with A e^{−λt} + B ≤ 1.2 ‖θ‖_final, solved by hand
    lam, A, B = 0.01, 50.0, 2.0
    steps = np.arange(0, 2001, 10, dtype=float)
    norm = A * np.exp(-lam * steps) + B
    t_exact = math.log(A / (1.2 * norm[-1] - B)) / lam
    assert kernel_exit_from_norm(steps, norm) == 10 * math.ceil(t_exact / 10)
    assert math.isnan(kernel_exit_from_norm(steps, np.full(steps.size, 3.0)))  # no kernel phase
    with pytest.raises(ValueError, match="factor must be a number > 1"):
        kernel_exit_from_norm(steps, norm, factor=1.0)


def test_fit_line_against_numpy_polyfit_and_coverage():
    rng = np.random.default_rng(np.random.SeedSequence(3))
    x = np.linspace(0, 1, 12)
    y = 2.0 + 5.0 * x + 0.1 * rng.standard_normal(12)
    f = fit_line(x, y)
    slope, intercept = np.polyfit(x, y, 1)
    assert f.slope == pytest.approx(slope, rel=1e-12) and f.intercept == pytest.approx(intercept, rel=1e-12)
    # standard errors against numpy's covariance (scaled by the residual variance)
    _, cov = np.polyfit(x, y, 1, cov=True)
    from scipy.stats import t

    half = t.ppf(0.975, 10) * math.sqrt(cov[0, 0])
    assert f.slope_ci[1] - f.slope == pytest.approx(half, rel=1e-10)
    # 95 % intervals cover the true slope in about 95 % of repetitions
    hits = 0
    for _ in range(400):
        yy = 2.0 + 5.0 * x + 0.1 * rng.standard_normal(12)
        hits += fit_line(x, yy).slope_contains(5.0)
    assert 0.92 <= hits / 400 <= 0.98
    with pytest.raises(ValueError, match="at least 3 finite points"):
        fit_line([1.0, 1.0, 1.0], [1.0, 2.0, 3.0])


def test_fit_transition_grid_recovers_a_known_plane_and_its_noise_level():
    # oracle: t = b (log α − c0)/λ + d exactly, then with noise; compare with a naive lstsq
    a, lam = (g.ravel() for g in np.meshgrid([30.0, 100.0, 300.0, 1000.0], [0.0025, 0.004, 0.005]))
    b, c0, d = 0.9, 1.3, 250.0
    t = b * (np.log(a) - c0) / lam + d
    f = fit_transition_grid(a, lam, t)
    assert (f.slope, f.c0, f.offset) == pytest.approx((b, c0, d), rel=1e-9)
    assert f.r2 == pytest.approx(1.0) and f.n == 12
    rng = np.random.default_rng(np.random.SeedSequence(5))
    noisy = t + 20.0 * rng.standard_normal(t.size)
    f = fit_transition_grid(a, lam, noisy)
    X = np.column_stack([np.log(a) / lam, 1 / lam, np.ones(a.size)])
    coef = np.linalg.lstsq(X, noisy, rcond=None)[0]
    assert f.slope == pytest.approx(coef[0], rel=1e-9) and f.c0 == pytest.approx(-coef[1] / coef[0], rel=1e-9)
    assert f.slope_ci[0] < f.slope < f.slope_ci[1] and f.c0_ci[0] < f.c0 < f.c0_ci[1]
    # a time that ignores α (b = 0) is not the theorem: the fit says so, with c0 undefined
    flat = fit_transition_grid(a, lam, 3.0 / lam)
    assert abs(flat.slope) < 1e-9
    # censored runs (nan) are dropped, not fitted
    t2 = t.copy()
    t2[[0, 5]] = np.nan
    assert fit_transition_grid(a, lam, t2).n == 10
    with pytest.raises(ValueError, match="two weight decays"):
        fit_transition_grid(a[:4], np.full(4, 0.01), t[:4])


def test_first_crossing_interpolates_and_reports_never():
    steps = np.array([0.0, 10.0, 20.0, 30.0])
    assert first_crossing(steps, [0.0, 0.1, 0.3, 0.9], 0.2) == pytest.approx(15.0)
    assert first_crossing(steps, [0.5, 0.1, 0.3, 0.9], 0.2) == 0.0  # starts above the level
    assert math.isnan(first_crossing(steps, [0.0, 0.1, 0.1, 0.1], 0.2))
    with pytest.raises(ValueError, match="level must be a finite number"):
        first_crossing(steps, steps, math.nan)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: transition_time(1.0, 1e-3), "alpha must be a number > 1"),
        (lambda: transition_time(2.0, 0.0), "weight_decay must be > 0"),
        (lambda: transition_time(2.0, 1e-3, homogeneity=0), "homogeneity must be an integer"),
        (lambda: transition_window(2.0, 1e-3, c=1.0), r"c must be a number in \(0, 1\)"),
        (lambda: transition_step(2.0, 0.5, 2.0), "learning_rate \\* weight_decay < 1"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_transition_line_fits_check_both_laws():
    """At each λ, t vs log α has slope 1/λ; at each α, t vs 1/λ has slope log α; groups with
    fewer than three finite points are left out (no fit is invented)."""
    from effgrok.solvable.dichotomy import transition_line_fits

    a, lam = (g.ravel() for g in np.meshgrid([2.0, 4.0, 8.0], [0.05, 0.1, 0.2], indexing="ij"))
    t = np.log(a) / lam + 3.0
    fits = transition_line_fits(a, lam, t)
    assert set(fits) == {
        "log_alpha@0.05",
        "log_alpha@0.1",
        "log_alpha@0.2",
        "inv_wd@2",
        "inv_wd@4",
        "inv_wd@8",
    }
    for f in fits.values():
        assert (
            f["slope"] == pytest.approx(f["predicted_slope"])
            and f["r2"] == pytest.approx(1.0)
            and f["n"] == 3
        )
    t[0] = np.nan  # α = 2, λ = 0.05 never transitioned: both of its groups drop to two points
    assert set(transition_line_fits(a, lam, t)) == set(fits) - {"log_alpha@0.05", "inv_wd@2"}


def test_simulate_takes_a_schedule_of_steps_and_stride_only():
    import effgrok as eg
    from effgrok.nets.driver import Schedule
    from effgrok.solvable.dichotomy import simulate

    pytest.importorskip("jax")
    task = eg.make_task("add-mod", 5)
    r = simulate(task, [2.0, 4.0], 1e-2, learning_rate=0.1, hidden=8, schedule=Schedule(30, 10))
    assert r.steps.tolist() == [0, 10, 20, 30] and r.train_acc.shape == (2, 4)
    with pytest.raises(ValueError, match=r"schedule must be an effgrok\.nets\.Schedule, got 30"):
        simulate(task, 2.0, 1e-2, schedule=30)
    # the predicted step is full-batch GD's; DichotomyRuns keeps no snapshots or first steps
    for field in (dict(batch_size=4), dict(snapshot_stride=10), dict(loss_every_step=True)):
        with pytest.raises(ValueError, match=f"does not take a schedule's {next(iter(field))}"):
            simulate(task, 2.0, 1e-2, schedule=Schedule(30, 10, **field))
