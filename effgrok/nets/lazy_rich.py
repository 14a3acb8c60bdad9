"""Training the lazy→rich committee network (Kumar et al. 2024) by full-batch gradient descent:
the model :class:`LazyRichCommittee` of the driver :func:`effgrok.nets.driver.train`
(:func:`train_lazy_rich` is a thin wrapper over it; the driver gives it chunking).

Model and data: :mod:`effgrok.kernels.lazy_rich` -- ``f(W, x) = (α/N) Σ φ(w_i·x)``,
``φ(h) = h + (ε/2)h²``, trained without regularisation on the centred predictor
``f(W) − f(W₀)`` with ``L = mean((f(W) − f(W₀) − y)²)`` and learning rate ``η = η₀ N/α²``.

Recorded every ``stride`` steps: train and test loss, the weight norm ``‖W‖_F/√N`` and the
alignment of ``ΔM = (WᵀW − W₀ᵀW₀)/N`` with ``β*β*ᵀ`` (Frobenius cosine; at step 0, where
``ΔM = 0``, it is the cosine of rounding noise).  The runs of a call are vmapped on an
accelerator and mapped one after another on a CPU, as every model of the driver (before the
port they were vmapped on a CPU too; the sequential map measured no slower: 2.5 against 3.0
core-seconds for 3 runs of 1000 steps, D = 100, P = 200, N = 500).

*Grokking time*: ``t_test(θ)``, the first recorded step whose test loss is below ``θ``
(default ``θ = 0.1``, the paper's), and the *amount of grokking*
``max(0, t_test(θ) − t_train(θ))`` (their Fig. 3e); both are ``NaN``
(:data:`effgrok.constants.NEVER`) when the threshold is not reached within the budget.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _checks
from ..kernels.lazy_rich import LazyRichProblem
from .driver import (
    SGD,
    Examples,
    Frozen,
    Grid,
    Model,
    PerGroup,
    Schedule,
    TrainRuns,
    as_schedule,
    register,
    train,
)
from .engine import Runs, first_crossing, seed_array

__all__ = ["LazyRichCommittee", "LazyRichRuns", "train_lazy_rich"]

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

    @classmethod
    def from_train(cls, r: TrainRuns, theta: float) -> LazyRichRuns:
        """The :func:`train_lazy_rich` result of :func:`~effgrok.nets.driver.train`'s runs of a
        :class:`LazyRichCommittee` (first crossings below ``theta``)."""
        c, st = r.curves, r.steps
        t_train = first_crossing(c["train_loss"], st, theta, below=True, strict=True)
        t_test = first_crossing(c["test_loss"], st, theta, below=True, strict=True)
        amount = np.maximum(0.0, t_test - t_train)  # NaN (never) where either is never reached
        curves = {k: c[k] for k in ("train_loss", "test_loss", "weight_norm", "alignment")}
        return cls(st, **curves, t_train=t_train, t_test=t_test, grokking_amount=amount,
                   alpha=r.columns["alpha"], seeds=r.columns["seed"])  # fmt: skip


def _trained_or_frozen(name: str) -> str:
    return "W" if name == "W" else "frozen"


@register("lazy-rich")
@dataclass(frozen=True)
class LazyRichCommittee(Model):
    """The committee of :mod:`effgrok.kernels.lazy_rich` as a model of the driver
    :func:`~effgrok.nets.driver.train`: the centred predictor

        f(W, x) − f(W₀, x),    f(W, x) = (α/N) Σ_i φ(w_i·x),   φ(h) = h + (ε/2) h²,

    ``N = width``, ``ε = epsilon``.  Its ``task`` is a
    :class:`~effgrok.kernels.lazy_rich.LazyRichProblem`: the examples are ``x_train`` then
    ``x_test`` with a fixed training mask (nothing drawn for a split).  Parameters: ``W``
    (trained) and the frozen ``W0`` (a copy of ``W``'s draw ``N(0, 1)``, shape ``(N, D)``),
    ``alpha`` (α, a scalar that :meth:`project` pins to the run's ``alpha`` column; 1 without
    one) and ``teacher`` (``β*β*ᵀ``, for the alignment).  Train it with :meth:`optimizer`
    (gradient descent on ``W`` only), ``loss=``:meth:`squared_error` and a ``learning_rate``
    column from :meth:`learning_rates`; ``correct`` is ``None`` (regression); ``metrics``
    replace ``weight_norm`` by ``‖W‖_F/√N`` and add ``alignment``, the Frobenius cosine of
    ``ΔM = (WᵀW − W₀ᵀW₀)/N`` with ``β*β*ᵀ``.

    Run ``k``'s ``W₀`` is ``default_rng(seed_k).standard_normal((N, D))``, the first draw of
    :func:`~effgrok.nets.engine.run_rng` ``(seed_k)`` (the same stream: ``default_rng`` seeds
    through ``SeedSequence``).

    >>> from effgrok.kernels import make_problem
    >>> p = LazyRichCommittee(width=6).init(np.random.default_rng(0), make_problem(dim=4, samples=5))
    >>> {k: v.shape for k, v in p.items()}
    {'W': (6, 4), 'W0': (6, 4), 'alpha': (), 'teacher': (4, 4)}
    """

    width: int = 500
    epsilon: float = 0.02

    def __post_init__(self):
        object.__setattr__(self, "width", _checks.integer("width", self.width, lo=1))
        object.__setattr__(self, "epsilon", _checks.nonnegative("epsilon", self.epsilon))

    def examples(self, problem: LazyRichProblem) -> Examples:
        """Inputs ``x_train`` then ``x_test``, the first ``len(y_train)`` of them training
        (:meth:`~effgrok.nets.driver.Examples.train_then_test`)."""
        return Examples.train_then_test(problem)

    def init(self, rng, problem):
        W0 = rng.standard_normal((self.width, problem.dim))
        beta = np.asarray(problem.beta, np.float64)
        return {"W": W0, "W0": W0.copy(), "alpha": np.ones(()), "teacher": np.outer(beta, beta)}

    def _f(self, W, X, a):
        import jax.numpy as jnp

        h = X @ W.T
        return a * jnp.mean(h + 0.5 * self.epsilon * h * h, axis=-1)

    def apply(self, params, inputs):
        (X,), a = inputs, params["alpha"]
        return self._f(params["W"], X, a) - self._f(params["W0"], X, a)

    def project(self, params, run):
        """``alpha`` set to the run's ``alpha`` column (if any); the rest unchanged."""
        return {**params, "alpha": run["alpha"]} if "alpha" in run else params

    def correct(self, outputs, targets):
        return None

    def metrics(self, params, outputs, targets, mask, loss):
        import jax.numpy as jnp

        W, W0, bb, N = params["W"], params["W0"], params["teacher"], self.width
        dM = W.T @ W / N - W0.T @ W0 / N
        cos = jnp.sum(dM * bb) / jnp.maximum(jnp.linalg.norm(dM) * jnp.linalg.norm(bb), 1e-30)
        return {"weight_norm": jnp.linalg.norm(W) / jnp.sqrt(N), "alignment": cos}

    def activations(self, task):
        return self.width

    @staticmethod
    def squared_error(outputs, targets):
        """The per-example loss ``(f − y)²`` (its mean over the training examples is ``L``)."""
        return (outputs - targets) ** 2

    @staticmethod
    def optimizer() -> PerGroup:
        """Full-batch gradient descent on ``W`` alone, ``W ← W − η ∇L`` (:class:`SGD` with the
        grid's ``learning_rate`` and a ``weight_decay`` column of 0: ``∇L + 0·W`` is ``∇L``
        exactly); ``W0``, ``alpha`` and ``teacher`` frozen."""
        return PerGroup(_trained_or_frozen, W=SGD(), frozen=Frozen())

    def learning_rates(self, base_learning_rate: float, alpha, *, float64: bool = False) -> np.ndarray:
        """``η = η₀ N/α²`` (``η₀ = base_learning_rate``) for each ``α`` (float64), rounded in
        the working precision the way the trainer computed it in its traced program before the
        driver (``float32``: ``fl(fl(η₀N)/fl(fl(α)·fl(α)))``): the same rates as before the port.

        >>> LazyRichCommittee(width=500).learning_rates(1.0, [1.0, 2.0]).tolist()
        [500.0, 125.0]
        """
        dt = np.float64 if float64 else np.float32
        a = np.asarray(alpha, dt)
        return (dt(base_learning_rate * self.width) / (a * a)).astype(np.float64)


def train_lazy_rich(
    problem: LazyRichProblem,
    *,
    width: int = 500,
    epsilon: float = 0.02,
    alpha=1.0,
    seeds=(0,),
    base_learning_rate: float = 1.0,
    schedule: Schedule = Schedule(10_000, 100),
    theta: float = 0.1,
    float64: bool = False,
) -> LazyRichRuns:
    """Full-batch GD of the centred committee for every (α, seed) run.

    ``alpha`` and ``seeds`` broadcast against each other; run ``k`` initialises
    ``W ~ N(0, 1)`` from ``default_rng(seed_k)``.  ``schedule``
    (:class:`~effgrok.nets.driver.Schedule`): ``steps`` of GD, curves every ``stride`` steps;
    its other fields are refused (the rate ``η₀N/α²`` is the paper's for full-batch GD, and
    :class:`LazyRichRuns` has no place for snapshots, per-step losses or first steps -- train
    :class:`LazyRichCommittee` with the driver for those).

    A thin wrapper over the driver (:mod:`effgrok.nets.driver`), passing ``schedule`` straight on::

        model = LazyRichCommittee(width, epsilon)
        train(model, model.optimizer(), schedule,
              Grid.zip(alpha=alpha, seed=seeds, learning_rate=model.learning_rates(base_learning_rate, alpha),
                       weight_decay=0.0),
              task=problem, loss=model.squared_error, precision="float64" if float64 else "float32")

    with the result repackaged as :class:`LazyRichRuns` (:meth:`LazyRichRuns.from_train`).

    Examples
    --------
    >>> from effgrok.kernels import make_problem
    >>> prob = make_problem(dim=8, samples=30, test_samples=50)
    >>> runs = train_lazy_rich(prob, width=20, schedule=Schedule(40, 20))
    >>> runs.test_loss.shape
    (1, 3)
    """
    sched, model = as_schedule(schedule, fields=()), LazyRichCommittee(width, epsilon)
    base = _checks.positive("base_learning_rate", base_learning_rate)
    grid = Grid.zip(alpha=_checks.positive_array("alpha", alpha), seed=seed_array(seeds))
    rates = model.learning_rates(base, grid["alpha"], float64=float64)
    runs = Grid.zip(**grid.columns, learning_rate=rates, weight_decay=0.0)
    precision = "float64" if float64 else "float32"
    r = train(
        model, model.optimizer(), sched, runs, task=problem, loss=model.squared_error, precision=precision
    )
    return LazyRichRuns.from_train(r, theta)
