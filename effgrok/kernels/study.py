"""One call that puts the kernel-theory numbers of a lazy→rich setting side by side (``effgrok ntk``)."""

from __future__ import annotations

import numpy as np

from .._checks import choice
from .._started import started
from .alignment import centered_kernel_alignment, cumulative_target_power, effective_dimension
from .lazy_rich import Committee, kernel_regression, lazy_time_course, make_problem
from .ntk import TwoLayer, empirical_ntk, neural_tangents_kernels

__all__ = ["ntk_study"]


#: Core-seconds per kernel multiply-add of :func:`ntk_study` (the kernel blocks, ``(P + T)² · N``,
#: and their eigen-decompositions, ``(P + T)³``; the committee per α) and the fixed part, by
#: model, measured as CPU time (issue 25, shared 2-core machine, load 1-3).  Committee, one BLAS
#: thread: D = 100, N = 500, P = T = 800: 0.58 s (two α: 1.02 s; N = 2000: 0.64 s); P = T = 300:
#: 0.1 s (with two BLAS threads on the loaded cores the CPU time was up to 10× more: threads
#: waiting for each other).  mlp (neural-tangents, JAX): D = 20, P = T = N = 50: 4.7 s; D = 100,
#: N = 500, P = T = 200: 4.6 s; P = T = 800: 12.1 s.
UNIT_CORE_S = {"committee": 1.0e-10, "mlp": 1.4e-9}
FIXED_CORE_S = {"committee": 0.1, "mlp": 4.5}


def estimated_core_seconds(
    samples: int, test_samples: int, width: int, alphas: int = 1, model: str = "committee"
) -> float:
    """Estimated CPU core-seconds of :func:`ntk_study` with ``samples`` training and
    ``test_samples`` test inputs, width ``width`` and ``alphas`` output scales (the mlp's
    kernels are computed once and scaled).

    >>> round(estimated_core_seconds(800, 800, 500), 2)
    0.64
    >>> round(estimated_core_seconds(800, 800, 500, model="mlp"), 1)
    12.0
    """
    n = samples + test_samples
    times = alphas if model == "committee" else 1
    return FIXED_CORE_S[model] + UNIT_CORE_S[model] * times * (n * n * width + n**3)


def _mse(a, b) -> float:
    return float(np.mean((np.asarray(a) - np.asarray(b)) ** 2))


def ntk_study(
    *,
    model: str = "committee",
    target: str = "paper",
    dim: int = 100,
    samples: int = 550,
    test_samples: int = 1000,
    width: int = 500,
    epsilon: float = 0.02,
    activation: str = "relu",
    alphas=(1.0,),
    top_k: int = 10,
    seed: int = 0,
    times=None,
) -> dict:
    """For each output scale ``α``: alignment of the initial NTK ``Θ₀`` with the target (CKA and
    top-``k`` target power, on the test set), the lazy prediction (ridgeless kernel regression
    with ``Θ₀``: train/test loss and its gradient-flow time course), the infinite-width kernels
    of the same architecture and the finite-vs-infinite relative error ``‖Θ₀ − Θ∞‖_F/‖Θ∞‖_F``.

    ``model="committee"``: the paper's ``(α/N) Σ φ(w_i·x)``, ``φ(h) = h + (ε/2)h²``, fixed
    readouts (its NNGP is degenerate at infinite width: the output is deterministic, so only
    the NTK is reported); ``model="mlp"``: ``α ×`` :class:`~effgrok.kernels.ntk.TwoLayer`
    with both layers trained, infinite kernels from neural-tangents.
    """
    choice("model", model, ("committee", "mlp"))
    prob = make_problem(dim, samples, test_samples, target=target, seed=seed)
    started()  # the inputs are checked: the command line's time estimate
    times = np.unique(np.concatenate([[0.0], np.logspace(-1, 7, 33)])) if times is None else np.asarray(times)
    mlp = _mlp_kernels(prob, activation, width, seed) if model == "mlp" else None
    rows, curves = [], []
    for alpha in alphas:
        if model == "committee":
            kernels = _committee_kernels(
                prob, Committee(width=width, epsilon=epsilon, alpha=float(alpha)), seed
            )
        else:
            kernels = _scaled_mlp_kernels(prob, mlp, float(alpha))
        row, curve = _alpha_row(float(alpha), prob, kernels, times, top_k)
        rows.append(row)
        curves.append(curve)
    record = {
        "model": model,
        "target": target,
        "dim": dim,
        "samples": samples,
        "test_samples": test_samples,
        "width": width,
        "epsilon": epsilon if model == "committee" else None,
        "activation": activation if model == "mlp" else "h + (ε/2)h²",
        "top_k": top_k,
        "seed": seed,
        "target_variance": float(np.var(prob.y_test)),
        "results": rows,
    }
    from .._record import jsonable

    return {"record": jsonable(record), "curves": curves, "problem": prob}


def _mlp_kernels(prob, activation: str, width: int, seed: int):
    """Empirical NTK of a :class:`TwoLayer` at initialisation and its infinite-width NTK and
    NNGP, on the training and test inputs together (α scales them afterwards)."""
    net = TwoLayer(activation=activation, width=width)
    params = net.init(prob.x_train.shape[1], seed=seed)
    X = np.concatenate([prob.x_train, prob.x_test])
    inf = neural_tangents_kernels(activation, X)
    return empirical_ntk(net.apply, params, X), inf["ntk"], inf["nngp"]


def _committee_kernels(prob, net: Committee, seed: int):
    """Finite and infinite NTK blocks (train, test×train, test), learning rate and (no) NNGP
    loss of the committee."""
    Xtr, Xte = prob.x_train, prob.x_test
    W = net.init(Xtr.shape[1], seed=seed)
    finite = (net.ntk(W, Xtr), net.ntk(W, Xte, Xtr), net.ntk(W, Xte))
    infinite = (net.infinite_ntk(Xtr), net.infinite_ntk(Xte, Xtr), net.infinite_ntk(Xte))
    return finite, infinite, net.learning_rate(1.0), None


def _scaled_mlp_kernels(prob, mlp, alpha: float):
    """The blocks of :func:`_committee_kernels` for ``α ×`` the two-layer network."""
    base, base_inf, nngp = mlp
    a2, P = alpha**2, prob.x_train.shape[0]
    finite = (a2 * base[:P, :P], a2 * base[P:, :P], a2 * base[P:, P:])
    infinite = (a2 * base_inf[:P, :P], a2 * base_inf[P:, :P], a2 * base_inf[P:, P:])
    _, f_nngp = kernel_regression(nngp[:P, :P], nngp[P:, :P], prob.y_train)
    return finite, infinite, 1.0 / a2, _mse(f_nngp, prob.y_test)


def _alpha_row(alpha: float, prob, kernels, times, top_k: int):
    """The result row and the curves of one output scale ``α``."""
    (K_tr, K_te_tr, K_te), (I_tr, I_te_tr, I_te), learning_rate, nngp_test_loss = kernels
    f_tr, f_te = kernel_regression(K_tr, K_te_tr, prob.y_train)
    _, g_te = kernel_regression(I_tr, I_te_tr, prob.y_train)
    power = cumulative_target_power(K_te, prob.y_test - prob.y_test.mean(), top_k)
    power_inf = cumulative_target_power(I_te, prob.y_test - prob.y_test.mean(), top_k)
    course = lazy_time_course(K_tr, K_te_tr, prob.y_train, prob.y_test, times, learning_rate)
    row = {
        "alpha": alpha,
        "cka": centered_kernel_alignment(K_te, prob.y_test),
        "top_k_target_power": float(power[-1]),
        "effective_dimension": effective_dimension(K_te),
        "lazy_train_loss": _mse(f_tr, prob.y_train),
        "lazy_test_loss": _mse(f_te, prob.y_test),
        "lazy_test_loss_peak": float(course["test_loss"].max()),
        "kernel_scale": float(np.mean(np.diag(K_te))),
        "infinite_cka": centered_kernel_alignment(I_te, prob.y_test),
        "infinite_top_k_target_power": float(power_inf[-1]),
        "infinite_lazy_test_loss": _mse(g_te, prob.y_test),
        "nngp_lazy_test_loss": nngp_test_loss,
        "finite_vs_infinite_rel_error": float(np.linalg.norm(K_te - I_te) / np.linalg.norm(I_te)),
    }
    return row, {"alpha": alpha, "power": power, "power_infinite": power_inf, "course": course}
