import json

import numpy as np
import pytest

from effgrok.cli import main
from effgrok.kernels import (
    ACTIVATIONS,
    Committee,
    TwoLayer,
    centered_kernel_alignment,
    cumulative_target_power,
    decompose_test_loss,
    effective_dimension,
    empirical_ntk,
    infinite_kernels,
    kernel_regression,
    lazy_time_course,
    make_problem,
    neural_tangents_kernels,
    weight_alignment,
)
from effgrok.kernels._neural_tangents import load

jax = pytest.importorskip("jax")
jnp = jax.numpy


@pytest.fixture(scope="module")
def nt():
    return load()


@pytest.fixture
def x():
    return np.random.default_rng(0).standard_normal((7, 5))


def test_neural_tangents_recipe_stax_predict_and_empirical(nt, x):
    stax = nt.stax
    init_fn, apply_fn, kernel_fn = stax.serial(
        stax.Dense(256, W_std=1.5, b_std=None), stax.Erf(), stax.Dense(1, W_std=1.0, b_std=None)
    )
    with jax.enable_x64(True):
        k = kernel_fn(x, x, ("nngp", "ntk"))
        assert k.ntk.shape == (7, 7) and np.all(np.isfinite(np.asarray(k.ntk)))
        _, params = init_fn(jax.random.PRNGKey(0), x.shape)
        ours = empirical_ntk(apply_fn, params, x)
        for impl in (1, 2):
            theirs = nt.empirical_ntk_fn(apply_fn, trace_axes=(-1,), vmap_axes=0, implementation=impl)(
                x, None, params
            )
            np.testing.assert_allclose(np.asarray(theirs), ours, rtol=1e-10, atol=1e-12)
        y = np.sin(x[:4, :1])
        pred = nt.predict.gradient_descent_mse_ensemble(kernel_fn, x[:4], y)
        assert np.asarray(pred(None, x[4:], "ntk")).shape == (3, 1)


def test_empirical_ntk_equals_explicit_jacobian_product(x):
    net = TwoLayer("erf", width=40, w_std=1.2)
    params = net.init(5, seed=3)
    with jax.enable_x64(True):
        from jax.flatten_util import ravel_pytree

        flat, unravel = ravel_pytree(jax.tree_util.tree_map(jnp.asarray, params))
        J = np.asarray(jax.jacfwd(lambda th: net.apply(unravel(th), jnp.asarray(x)))(flat))
    K = empirical_ntk(net.apply, params, x, batch_size=3)
    np.testing.assert_allclose(K, J @ J.T, rtol=1e-10, atol=1e-12)
    K12 = empirical_ntk(net.apply, params, x[:3], x[3:], batch_size=2)
    np.testing.assert_allclose(K12, (J @ J.T)[:3, 3:], rtol=1e-10, atol=1e-12)
    Kfull = empirical_ntk(
        lambda p, z: jnp.stack([net.apply(p, z), 2 * net.apply(p, z)], axis=-1),
        params,
        x,
        trace_outputs=False,
    )
    assert Kfull.shape == (7, 7, 2, 2)
    np.testing.assert_allclose(Kfull[:, :, 1, 1], 4 * J @ J.T, rtol=1e-10)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_neural_tangents_equals_closed_forms(activation, x):
    ours = infinite_kernels(activation, x, x[:4] * 1.3, w_std=1.4, v_std=0.8)
    theirs = neural_tangents_kernels(activation, x, x[:4] * 1.3, w_std=1.4, v_std=0.8)
    for name in ("nngp", "ntk"):
        np.testing.assert_allclose(theirs[name], ours[name], rtol=1e-8, atol=1e-12 * np.abs(ours[name]).max())


def test_finite_width_ntk_converges_like_one_over_sqrt_width(x):
    widths = np.array([128, 512, 2048, 8192])
    target = infinite_kernels("relu", x)["ntk"]
    errors = []
    for N in widths:
        net = TwoLayer("relu", width=int(N))
        errs = [
            np.linalg.norm(empirical_ntk(net.apply, net.init(5, seed=s), x) - target) / np.linalg.norm(target)
            for s in range(6)
        ]
        errors.append(np.sqrt(np.mean(np.square(errs))))
    slope = np.polyfit(np.log(widths), np.log(errors), 1)[0]
    assert slope == pytest.approx(-0.5, abs=0.12)


def test_kernel_regression_matches_neural_tangents_infinite_time(nt, x):
    stax = nt.stax
    _, _, kernel_fn = stax.serial(
        stax.Dense(512, W_std=1.0, b_std=None), stax.Relu(), stax.Dense(1, W_std=1.0, b_std=None)
    )
    xtr, xte = x[:5], x[5:]
    y = np.cos(xtr[:, :1]) + xtr[:, 1:2]
    with jax.enable_x64(True):
        theirs = np.asarray(
            nt.predict.gradient_descent_mse_ensemble(kernel_fn, xtr, y, diag_reg=0.0)(None, xte, "ntk")
        )
    K = infinite_kernels("relu", np.concatenate([xtr, xte]))["ntk"]
    _, ours = kernel_regression(K[:5, :5], K[5:, :5], y[:, 0])
    np.testing.assert_allclose(ours, theirs[:, 0], rtol=1e-8, atol=1e-10)


def test_alignment_measures():
    rng = np.random.default_rng(1)
    n = 12
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    y = Q[:, 0]
    K = Q @ np.diag(np.r_[10.0, np.linspace(3, 0.1, n - 1)]) @ Q.T
    power = cumulative_target_power(K, y)
    assert power[0] == pytest.approx(1.0, abs=1e-12) and power[-1] == pytest.approx(1.0)
    yc = y - y.mean()
    assert centered_kernel_alignment(np.outer(yc, yc), y) == pytest.approx(1.0, abs=1e-12)
    a = centered_kernel_alignment(K, y)
    assert 0 < a < 1
    assert centered_kernel_alignment(7.5 * K, y) == pytest.approx(a, rel=1e-12)
    assert centered_kernel_alignment(K + 3.0, y) == pytest.approx(a, rel=1e-10)  # centring removes constants
    assert effective_dimension(np.eye(n)) == pytest.approx(n)
    assert effective_dimension(np.outer(y, y)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="square"):
        centered_kernel_alignment(np.ones((2, 3)), [1, 2])
    with pytest.raises(ValueError, match="undefined"):
        centered_kernel_alignment(np.ones((3, 3)), [1.0, 2.0, 3.0])


def test_committee_ntk_and_its_limit():
    m = Committee(width=30, epsilon=0.4, alpha=3.0)
    W = m.init(6, seed=1)
    xs = np.random.default_rng(2).standard_normal((5, 6)) / np.sqrt(6)
    np.testing.assert_allclose(empirical_ntk(m.apply, W, xs), m.ntk(W, xs), rtol=1e-12)
    big = Committee(width=200_000, epsilon=0.4, alpha=3.0)
    Wb = big.init(6, seed=1)
    err = np.linalg.norm(big.ntk(Wb, xs) - big.infinite_ntk(xs)) / np.linalg.norm(big.infinite_ntk(xs))
    assert err < 0.02
    assert Committee(width=10, alpha=4.0).learning_rate(2.0) == pytest.approx(2.0 * 10 / 16)


def test_lazy_dynamics_do_not_depend_on_alpha():
    prob = make_problem(dim=30, samples=120, test_samples=200, seed=3)
    courses = []
    for alpha in (0.1, 1.0, 30.0):
        m = Committee(width=200, epsilon=0.2, alpha=alpha)
        W = m.init(30, seed=0)
        c = lazy_time_course(
            m.ntk(W, prob.x_train),
            m.ntk(W, prob.x_test, prob.x_train),
            prob.y_train,
            prob.y_test,
            [0, 10, 1e3, 1e8],
            m.learning_rate(1.0),
        )
        courses.append(np.r_[c["train_loss"], c["test_loss"]])
    np.testing.assert_allclose(courses[0], courses[1], rtol=1e-8, atol=1e-20)
    np.testing.assert_allclose(courses[2], courses[1], rtol=1e-8, atol=1e-20)
    # t → ∞ equals ridgeless kernel regression; the train loss reaches zero (P < rank of Θ₀)
    m = Committee(width=200, epsilon=0.2, alpha=1.0)
    W = m.init(30, seed=0)
    ftr, fte = kernel_regression(m.ntk(W, prob.x_train), m.ntk(W, prob.x_test, prob.x_train), prob.y_train)
    assert courses[1][3] < 1e-10 and np.mean((ftr - prob.y_train) ** 2) < 1e-10
    assert courses[1][7] == pytest.approx(np.mean((fte - prob.y_test) ** 2), rel=1e-6)


def test_decomposed_test_loss_matches_monte_carlo():
    prob = make_problem(dim=12, samples=10, test_samples=200_000, seed=4)
    m = Committee(width=40, epsilon=0.5, alpha=2.0)
    W0 = m.init(12, seed=1)
    W = W0 + 0.3 * np.random.default_rng(5).standard_normal(W0.shape)
    f = m.apply(W, prob.x_test) - m.apply(W0, prob.x_test)
    mc = np.mean((f - prob.y_test) ** 2)
    dec = decompose_test_loss(W, W0, prob.beta, 2.0, 0.5)
    assert dec["total"] == pytest.approx(mc, rel=0.03)
    assert -1 <= weight_alignment(W, W0, prob.beta) <= 1


def test_problem_and_model_reject_bad_input():
    with pytest.raises(ValueError, match="hermite:k"):
        make_problem(target="cubic")
    with pytest.raises(ValueError, match="width"):
        Committee(width=0)
    with pytest.raises(ValueError, match="alpha"):
        Committee(alpha=-1.0)
    with pytest.raises(ValueError, match="activation"):
        TwoLayer("tanh")
    with pytest.raises(ValueError, match="activation"):
        infinite_kernels("tanh", np.ones((2, 2)))


def test_ntk_cli(capsys, tmp_path):
    code = main(
        [
            "ntk",
            "--target",
            "hermite:3",
            "--dim",
            "20",
            "--samples",
            "60",
            "--test-samples",
            "80",
            "--width",
            "256",
            "--alpha",
            "1",
            "10",
            "--json",
            "--out",
            str(tmp_path / "ntk"),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    rec = json.loads(out)
    rows = rec["results"]
    assert [r["alpha"] for r in rows] == [1.0, 10.0]
    for key in (
        "cka",
        "top_k_target_power",
        "lazy_train_loss",
        "lazy_test_loss",
        "finite_vs_infinite_rel_error",
    ):
        assert key in rows[0]
    assert rows[0]["cka"] == pytest.approx(rows[1]["cka"])  # α only rescales the kernel
    assert {p.name for p in (tmp_path / "ntk").iterdir()} == {"ntk.json", "ntk.csv", "ntk.png"}
    for argv, needle in (
        (["ntk", "--alpha", "0"], "--alpha must be a positive finite number, got 0.0"),
        (["ntk", "--target", "cubic"], "hermite:k"),
        (["ntk", "--model", "mlp", "--activation", "tanh"], "--activation must be one of"),
        (["ntk", "--model", "mlp", "--epsilon", "0.1"], "--epsilon applies to --model committee only"),
        (["ntk", "--activation", "erf"], "--activation applies to --model mlp only; got --model committee"),
        (["ntk", "--dim", "0"], "--dim must be an integer in 1..4096, got 0"),
    ):
        code = main(argv)
        err = capsys.readouterr().err
        assert code == 2 and needle in err and len(err.strip().splitlines()) == 1
