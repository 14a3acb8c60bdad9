"""One call that puts the kernel-theory numbers of a lazy→rich setting side by side (``effgrok ntk``)."""

from __future__ import annotations

import numpy as np

from .alignment import centered_kernel_alignment, cumulative_target_power, effective_dimension
from .lazy_rich import Committee, kernel_regression, lazy_time_course, make_problem
from .ntk import TwoLayer, empirical_ntk, neural_tangents_kernels

__all__ = ["ntk_study"]


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
    if model not in ("committee", "mlp"):
        raise ValueError(f"model must be 'committee' or 'mlp', got {model!r}")
    prob = make_problem(dim, samples, test_samples, target=target, seed=seed)
    times = np.unique(np.concatenate([[0.0], np.logspace(-1, 7, 33)])) if times is None else np.asarray(times)
    rows, curves = [], []
    Xtr, Xte = prob.x_train, prob.x_test
    if model == "mlp":
        net = TwoLayer(activation=activation, width=width)
        params = net.init(dim, seed=seed)
        X = np.concatenate([Xtr, Xte])
        base = empirical_ntk(net.apply, params, X)
        inf = neural_tangents_kernels(activation, X)
        base_inf, nngp = inf["ntk"], inf["nngp"]
    for alpha in alphas:
        if model == "committee":
            net = Committee(width=width, epsilon=epsilon, alpha=float(alpha))
            W = net.init(dim, seed=seed)
            K_tr, K_te_tr, K_te = net.ntk(W, Xtr), net.ntk(W, Xte, Xtr), net.ntk(W, Xte)
            I_tr, I_te_tr, I_te = net.infinite_ntk(Xtr), net.infinite_ntk(Xte, Xtr), net.infinite_ntk(Xte)
            lr = net.learning_rate(1.0)
            nngp_test_loss = None
        else:
            a2 = float(alpha) ** 2
            P = samples
            K_tr, K_te_tr, K_te = a2 * base[:P, :P], a2 * base[P:, :P], a2 * base[P:, P:]
            I_tr, I_te_tr, I_te = a2 * base_inf[:P, :P], a2 * base_inf[P:, :P], a2 * base_inf[P:, P:]
            lr = 1.0 / a2
            _, f_nngp = kernel_regression(nngp[:P, :P], nngp[P:, :P], prob.y_train)
            nngp_test_loss = _mse(f_nngp, prob.y_test)
        f_tr, f_te = kernel_regression(K_tr, K_te_tr, prob.y_train)
        _, g_te = kernel_regression(I_tr, I_te_tr, prob.y_train)
        power = cumulative_target_power(K_te, prob.y_test - prob.y_test.mean(), top_k)
        power_inf = cumulative_target_power(I_te, prob.y_test - prob.y_test.mean(), top_k)
        course = lazy_time_course(K_tr, K_te_tr, prob.y_train, prob.y_test, times, lr)
        rows.append(
            {
                "alpha": float(alpha),
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
        )
        curves.append({"alpha": float(alpha), "power": power, "power_infinite": power_inf, "course": course})
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
