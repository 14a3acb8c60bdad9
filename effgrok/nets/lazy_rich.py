"""Training the lazy→rich committee network (Kumar et al. 2024) by full-batch gradient descent.

Model and data: :mod:`effgrok.kernels.lazy_rich` -- ``f(W, x) = (α/N) Σ φ(w_i·x)``,
``φ(h) = h + (ε/2)h²``, trained without regularisation on the centred predictor
``f(W) − f(W₀)`` with ``L = mean((f(W) − f(W₀) − y)²)`` and learning rate ``η = η₀ N/α²``.

Recorded every ``stride`` steps: train and test loss, the weight norm ``‖W‖_F/√N`` and the
alignment of ``ΔM = (WᵀW − W₀ᵀW₀)/N`` with ``β*β*ᵀ`` (Frobenius cosine).

*Grokking time*: ``t_test(θ)``, the first recorded step whose test loss is below ``θ``
(default ``θ = 0.1``, the paper's), and the *amount of grokking*
``max(0, t_test(θ) − t_train(θ))`` (their Fig. 3e); both are ``NaN``
(:data:`effgrok.constants.NEVER`) when the threshold is not reached within the budget.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _checks
from .._started import started
from ..kernels.lazy_rich import LazyRichProblem
from .engine import Runs, first_crossing, run_grid, scan_schedule, schedule, seed_array

__all__ = ["LazyRichRuns", "train_lazy_rich"]

#: Core-seconds per (run · step · sample · hidden unit · input dimension) of
#: :func:`train_lazy_rich`, measured as CPU time (issue 25, shared 2-core machine, load 1-2:
#: D = 100, P = 200, N = 500, 1000 and 3000 steps: 1.26 s and 2.45 s).
UNIT_CORE_S = 6.0e-11
#: Core-seconds to trace and compile one call (same measurement: 0.7 s; 2.4 s for the first
#: call of a process, JAX's start included).
COMPILE_CORE_S = 1.2


def estimated_core_seconds(runs: int, steps: int, samples: int, width: int, dim: int) -> float:
    """Estimated CPU core-seconds of one call of :func:`train_lazy_rich`: ``runs`` (α, seed)
    runs of ``steps`` full-batch GD steps on ``samples`` inputs of dimension ``dim``, width
    ``width``; one compilation plus the units above.

    >>> round(estimated_core_seconds(1, 10_000, 200, 500, 100), 1)
    7.2
    """
    return COMPILE_CORE_S + UNIT_CORE_S * runs * steps * samples * width * dim


@dataclass(frozen=True)
class LazyRichRuns(Runs):
    """Curves (leading axis: run) and the threshold-crossing steps of :func:`train_lazy_rich`."""

    steps: np.ndarray
    train_loss: np.ndarray
    test_loss: np.ndarray
    weight_norm: np.ndarray
    alignment: np.ndarray
    t_train: np.ndarray
    t_test: np.ndarray
    grokking_amount: np.ndarray
    alpha: np.ndarray
    seeds: np.ndarray


def train_lazy_rich(
    problem: LazyRichProblem,
    *,
    width: int = 500,
    epsilon: float = 0.02,
    alpha=1.0,
    seeds=(0,),
    eta0: float = 1.0,
    steps: int = 10_000,
    stride: int = 100,
    theta: float = 0.1,
    float64: bool = False,
) -> LazyRichRuns:
    """Full-batch GD of the centred committee for every (seed, α) run at once (``jax.vmap``).

    ``alpha`` and ``seeds`` broadcast against each other; run ``k`` initialises
    ``W ~ N(0, 1)`` from ``default_rng(seed_k)``.

    Examples
    --------
    >>> from effgrok.kernels import make_problem
    >>> prob = make_problem(dim=8, samples=30, test_samples=50)
    >>> runs = train_lazy_rich(prob, width=20, steps=40, stride=20)
    >>> runs.test_loss.shape
    (1, 3)
    """
    import jax
    import jax.numpy as jnp

    steps, stride, _ = schedule(steps, stride, width=width)
    epsilon = _checks.nonnegative("epsilon", epsilon)
    eta0 = _checks.positive("eta0", eta0)
    _, grid = run_grid(alpha=_checks.positive_array("alpha", alpha), seeds=seed_array(seeds))
    alpha, seeds = grid["alpha"], grid["seeds"]
    D = problem.dim
    W0 = np.stack([np.random.default_rng(int(s)).standard_normal((width, D)) for s in seeds])
    dtype = jnp.float64 if float64 else jnp.float32
    started()  # the inputs are checked: the command line's time estimate
    with jax.enable_x64(float64):
        Xtr, ytr = jnp.asarray(problem.x_train, dtype), jnp.asarray(problem.y_train, dtype)
        Xte, yte = jnp.asarray(problem.x_test, dtype), jnp.asarray(problem.y_test, dtype)
        bb = jnp.asarray(np.outer(problem.beta, problem.beta), dtype)

        def f(W, X, a):
            h = X @ W.T
            return a * jnp.mean(h + 0.5 * epsilon * h * h, axis=-1)

        def one(W0_, a):
            f0_tr, f0_te = f(W0_, Xtr, a), f(W0_, Xte, a)
            M0 = W0_.T @ W0_ / width
            lr = eta0 * width / a**2

            def loss(W):
                return jnp.mean((f(W, Xtr, a) - f0_tr - ytr) ** 2)

            grad = jax.grad(loss)

            def measure(W):
                dM = W.T @ W / width - M0
                cos = jnp.sum(dM * bb) / jnp.maximum(jnp.linalg.norm(dM) * jnp.linalg.norm(bb), 1e-30)
                return (
                    loss(W),
                    jnp.mean((f(W, Xte, a) - f0_te - yte) ** 2),
                    jnp.linalg.norm(W) / jnp.sqrt(width),
                    cos,
                )

            _, recs, _, _ = scan_schedule(
                lambda W, _: (W - lr * grad(W), None), measure, W0_, stride=stride, records=steps // stride
            )
            return recs

        recs = jax.jit(jax.vmap(one))(jnp.asarray(W0, dtype), jnp.asarray(alpha, dtype))
        recs = [np.asarray(r, dtype=np.float64) for r in recs]
    steps_axis = np.arange(steps // stride + 1) * stride
    t_train = first_crossing(recs[0], steps_axis, theta, below=True, strict=True)
    t_test = first_crossing(recs[1], steps_axis, theta, below=True, strict=True)
    amount = np.maximum(0.0, t_test - t_train)  # NaN (never) where either is never reached
    return LazyRichRuns(steps_axis, recs[0], recs[1], recs[2], recs[3], t_train, t_test, amount, alpha, seeds)
