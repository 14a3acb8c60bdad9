import numpy as np
import pytest

import effgrok as eg
from effgrok import _parallel
from effgrok._parallel import serial
from effgrok.effective.dynamics import EffectiveLoss, exact_flow

CONVENTIONS = [
    EffectiveLoss(c, n, z) for c in ("train", "all") for n in ("sum", "mean") for z in ("live", "frozen")
]


@pytest.fixture
def split80(add10):
    return eg.random_split(add10, fraction=0.8, seed=58)


@pytest.mark.parametrize("loss", CONVENTIONS, ids=str)
def test_gradient_matches_finite_differences(add10, split80, loss):
    rng = np.random.default_rng(0)
    E = rng.uniform(-0.5, 0.5, size=(10, 2))
    z0 = float(np.sum(E * E))
    g = loss.gradient(add10, split80, E, z0=z0)
    num = np.empty_like(E)
    eps = 1e-6
    for idx in np.ndindex(E.shape):
        Ep, Em = E.copy(), E.copy()
        Ep[idx] += eps
        Em[idx] -= eps
        num[idx] = (loss.value(add10, split80, Ep, z0=z0) - loss.value(add10, split80, Em, z0=z0)) / (2 * eps)
    np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-9 * np.abs(num).max())


def test_loss_value_closed_form(add10, split80):
    E = np.random.default_rng(1).normal(size=(10, 3))
    G = eg.gram_matrix(add10, split80)
    loss = EffectiveLoss(normalization="mean")
    N = eg.n_training_parallelograms(add10, split80)
    assert loss.value(add10, split80, E) == pytest.approx(
        np.trace(E.T @ G @ E) / N / np.sum(E * E), rel=1e-12
    )
    # translation invariance of ℓ0: adding a constant row leaves ℓ0 unchanged
    l0 = loss.value(add10, split80, E) * np.sum(E * E)
    Et = E + np.array([1.0, -2.0, 0.5])
    assert loss.value(add10, split80, Et) * np.sum(Et * Et) == pytest.approx(l0, rel=1e-10)


def test_effective_loss_rejects_unknown_convention():
    with pytest.raises(ValueError, match="constraints must be one of train, all; got 'some'"):
        EffectiveLoss(constraints="some")
    with pytest.raises(ValueError, match="z must be one of"):
        EffectiveLoss(z="fixed")


@pytest.mark.parametrize("method", ["rk4", "dopri5", "exact"])
def test_z_is_conserved_along_the_live_flow(add10, split80, method):
    tr = eg.simulate(add10, split80, steps=3000, method=method, seed=3, dim=2, learning_rate=1e-3)
    assert np.max(np.abs(tr.z / tr.z0 - 1)) < {"rk4": 1e-6, "dopri5": 1e-6, "exact": 1e-13}[method]


def test_euler_grows_z_at_second_order(add10, split80):
    """Gradient descent on ℓ_eff moves orthogonally to E: one step adds exactly η²|∇ℓ_eff|² to Z."""
    tr = eg.simulate(add10, split80, steps=2000, method="euler", seed=3)
    assert np.all(np.diff(tr.z) >= -1e-15) and tr.z[-1] > tr.z[0]
    E0 = eg.initial_embedding(add10, 2, rng=3)
    for eta in (1e-3, 1e-2):
        one = eg.simulate(
            add10, split80, steps=1, stride=1, method="euler", init=E0, dim=2, learning_rate=eta
        )
        grad = EffectiveLoss().gradient(add10, split80, E0)
        assert one.z[1] - one.z[0] == pytest.approx(eta**2 * np.sum(grad**2), rel=1e-6)
        np.testing.assert_allclose(one.embedding[1], E0 - eta * grad, rtol=1e-12, atol=1e-15)


def test_constant_mode_law(add10, split80):
    """C = Σ_k E_k obeys dC/ds = η (2 ℓ0 / Z²) C; from a centred start it stays zero."""
    eta = 1e-3
    tr = eg.simulate(add10, split80, steps=400, method="rk4", stride=1, seed=5, learning_rate=eta)
    C = tr.embedding.sum(axis=1)[:, 0]
    l0 = tr.loss * tr.z
    integral = np.concatenate([[0], np.cumsum(0.5 * (l0[1:] / tr.z[1:] ** 2 + l0[:-1] / tr.z[:-1] ** 2))])
    np.testing.assert_allclose(np.log(C / C[0]), 2 * eta * integral, rtol=1e-4, atol=1e-9)
    assert np.log(C[-1] / C[0]) > 1e-3  # the law is not trivially satisfied
    E0 = eg.initial_embedding(add10, 1, rng=1)
    E0 -= E0.mean()
    centred = eg.simulate(add10, split80, steps=400, method="rk4", init=E0)
    assert np.max(np.abs(centred.embedding.sum(axis=1))) < 1e-12
    frozen = eg.simulate(add10, split80, steps=400, method="rk4", loss=EffectiveLoss(z="frozen"), seed=5)
    Cf = frozen.embedding.sum(axis=1)[:, 0]
    np.testing.assert_allclose(Cf, Cf[0], rtol=1e-12)


@pytest.mark.parametrize(("method", "order"), [("euler", 1), ("rk4", 4)])
@pytest.mark.parametrize("z", ["live", "frozen"])
def test_convergence_order(add10, split80, method, order, z):
    eta, T = 0.002, 64  # h·η·λ_max(H) ≤ 0.5: the asymptotic regime of both methods
    loss = EffectiveLoss(z=z)
    E0 = eg.initial_embedding(add10, 1, rng=2)
    exact = exact_flow(loss.gram(add10, split80), E0, [T], learning_rate=eta, z=z)[0]
    hs = np.array([2.0, 1.0, 0.5, 0.25]) if method == "rk4" else np.array([0.25, 0.125, 0.0625, 0.03125])
    errs = []
    for h in hs:
        tr = eg.simulate(
            add10,
            split80,
            steps=T,
            stride=T,
            step_size=h,
            method=method,
            init=E0,
            loss=loss,
            learning_rate=eta,
        )
        errs.append(np.max(np.abs(tr.embedding[-1] - exact)))
    slope = np.polyfit(np.log(hs), np.log(errs), 1)[0]
    assert slope == pytest.approx(order, abs=0.15)


def test_dopri5_meets_tolerance_and_adapts_its_cost(add10, split80):
    E0 = eg.initial_embedding(add10, 1, rng=4)
    ref = exact_flow(eg.gram_matrix(add10, split80), E0, np.arange(0, 1001, 100), learning_rate=1e-2)
    costs = []
    for rtol in (1e-6, 1e-9):
        tr = eg.simulate(
            add10,
            split80,
            steps=1000,
            stride=100,
            method="dopri5",
            init=E0,
            rtol=rtol,
            atol=1e-14,
            learning_rate=1e-2,
        )
        err = np.max(np.abs(tr.embedding - ref))
        assert err < 100 * rtol
        costs.append(sum(tr.n_steps))
    assert costs[1] > costs[0] > 5  # tighter tolerance costs more steps, and it adapts at all


def test_rk4_matches_exact_flow(add10, split80):
    a = eg.simulate(add10, split80, steps=2000, method="rk4", seed=9, dim=3)
    b = eg.simulate(add10, split80, steps=2000, method="exact", seed=9, dim=3)
    np.testing.assert_allclose(a.embedding, b.embedding, atol=1e-9)
    np.testing.assert_allclose(a.rqi, b.rqi)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_late_time_decay_rate_is_twice_eta_lambda3(add10, seed):
    split = eg.random_split(add10, fraction=0.7, seed=seed)
    eta = 1e-3
    tr = eg.simulate(add10, split, steps=6000, stride=10, method="rk4", seed=seed, learning_rate=eta)
    assert tr.pinned
    rel = tr.loss / tr.loss[0]
    window = (rel < 1e-12) & (rel > 1e-22)
    assert window.sum() >= 10
    slope = -np.polyfit(tr.steps[window], np.log(tr.loss[window]), 1)[0]
    assert slope == pytest.approx(2 * eta * tr.grokking_rate, rel=0.02)
    assert tr.final_rqi == 1.0
    E = tr.embedding[-1, :, 0]
    fit = np.polyval(np.polyfit(np.arange(10), E, 1), np.arange(10))
    assert np.max(np.abs(E - fit)) < 1e-10 * np.ptp(E)  # affine in the symbol index


def test_below_critical_size_structure_is_not_learned(add10):
    ens = eg.simulate_ensemble(add10, 200, size=14, steps=20_000, method="exact", seed=1)  # r ≈ 0.25 < r_c
    assert np.mean(~ens.pinned) > 0.9
    final = ens.rqi[~ens.pinned, -1]
    assert np.mean(final < 1.0) > 0.9
    # the flow does converge (to zero loss) -- to a non-linear embedding
    rel = ens.loss[~ens.pinned, -1] / ens.loss[~ens.pinned, 0]
    assert np.all(rel < 1e-10) and np.median(rel) < 1e-25


def test_reference_code_preset_decay(add10):
    """All parallelograms (λ3(G) = 30), Z0 = 9 (standardised 1-D start), Euler at η = 1e-3:
    log-loss falls by 2ηλ3(H) ≈ 0.0133 per step, H = 2G/Z0."""
    eta = 1e-3
    tr = eg.simulate(
        add10,
        eg.random_split(add10, fraction=0.5, seed=0),
        loss=EffectiveLoss.reference_code(),
        method="euler",
        init="standardized",
        steps=24_000,
        stride=100,
        seed=2,
        learning_rate=eta,
    )
    assert tr.z0 == pytest.approx(9.0, rel=1e-12)
    assert tr.gram_eigenvalue == pytest.approx(30.0, rel=1e-10)
    # λ4(G) = 31.27 is close to λ3: the asymptote needs a deep window, which ℓ0 from the
    # eigen-coordinates resolves (no round-off floor)
    rel = tr.loss / tr.loss[0]
    window = (rel < 1e-60) & (rel > 1e-120)
    assert window.sum() >= 20
    slope = -np.polyfit(tr.steps[window], np.log(tr.loss[window]), 1)[0]
    assert slope == pytest.approx(2 * eta * 2 * 30 / 9, rel=0.02)
    assert slope == pytest.approx(0.0133, rel=0.02)


def test_ensemble_members_do_not_depend_on_size_chunking_or_threads(add10, monkeypatch):
    big = eg.simulate_ensemble(add10, 600, fraction=0.6, steps=500, seed=4)
    small = eg.simulate_ensemble(add10, 20, fraction=0.6, steps=500, seed=4)
    np.testing.assert_array_equal(big.rqi[:20], small.rqi)
    np.testing.assert_array_equal(big.loss[:20], small.loss)
    with serial():
        one = eg.simulate_ensemble(add10, 20, fraction=0.6, steps=500, seed=4)
    np.testing.assert_array_equal(one.loss, small.loss)
    with monkeypatch.context() as m:  # 3 threads: chunks of 7, 7 and 6 members
        m.setattr(_parallel, "thread_count", lambda: 3)
        three = eg.simulate_ensemble(add10, 20, fraction=0.6, steps=500, seed=4)
    np.testing.assert_array_equal(three.loss, small.loss)
    assert eg.simulate_ensemble(add10, 20, fraction=0.6, steps=500, seed=5).loss[0, -1] != small.loss[0, -1]


def test_ensemble_member_equals_single_simulation(add10):
    split = eg.random_split(add10, fraction=0.7, seed=1)
    E0 = np.stack([eg.initial_embedding(add10, 2, rng=k) for k in range(3)])
    ens = eg.simulate_ensemble(add10, 3, train=split, init=E0, dim=2, steps=800, stride=8, method="rk4")
    one = eg.simulate(add10, split, init=E0[2], dim=2, steps=800, stride=8, method="rk4")
    np.testing.assert_allclose(ens.loss[2], one.loss, rtol=1e-12)
    np.testing.assert_array_equal(ens.rqi[2], one.rqi)
    s = ens.summary()
    assert s["members"] == 3 and s["fraction_pinned"] == 1.0


def test_metrics_along_trajectory_match_library_metrics(add10, split80):
    tr = eg.simulate(add10, split80, steps=300, stride=30, seed=0, dim=2)
    for r in (0, 3, 10):
        E = tr.embedding[r]
        assert tr.rqi[r] == pytest.approx(eg.rqi(add10, E))
        assert tr.predicted_test_acc[r] == pytest.approx(eg.predicted_accuracy(add10, split80, E).test)
        assert tr.loss[r] == pytest.approx(EffectiveLoss().value(add10, split80, E), rel=1e-10)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"steps": 0}, "steps must be an integer >= 1"),
        ({"steps": 100, "stride": 7}, "stride must divide steps"),
        ({"method": "rk5"}, "method must be one of"),
        ({"learning_rate": -1}, "learning_rate must be a positive"),
        ({"dim": 0}, "dim must be an integer >= 1"),
        ({"init": "normal"}, "init must be one of"),
        ({"init": np.zeros(10)}, "all zeros"),
        ({"init": np.ones(9)}, r"shape \(10, 1\)"),
        ({"init": np.full(10, np.nan)}, "NaN"),
        ({"step_size": 0.3, "steps": 10, "stride": 1}, "whole number of integration steps"),
    ],
)
def test_simulate_rejects_bad_input(add10, split80, kw, match):
    with pytest.raises(ValueError, match=match):
        eg.simulate(add10, split80, **kw)


def test_simulation_presets_are_the_loss_conventions_plus_integrator():
    from effgrok.effective.dynamics import simulation_preset

    ref = simulation_preset("reference_code")
    loss = EffectiveLoss(**{k: ref[k] for k in ("constraints", "normalization", "z")})
    assert loss == EffectiveLoss.reference_code() == EffectiveLoss.preset("reference_code")
    assert (ref["method"], ref["init"], ref["dim"]) == ("euler", "standardized", 1)
    paper = simulation_preset("paper")
    assert EffectiveLoss(**{k: paper[k] for k in ("constraints", "normalization", "z")}) == EffectiveLoss()
    assert paper["method"] == "rk4" and paper["init"] == "uniform"
    with pytest.raises(ValueError, match="preset must be one of paper, reference_code"):
        simulation_preset("other")
