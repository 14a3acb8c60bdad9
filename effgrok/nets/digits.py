"""An MLP on scikit-learn's handwritten digits, Omnigrok-style: the model :class:`DigitsMLP` of
the driver :func:`effgrok.nets.driver.train` (:func:`train_digits` is a thin wrapper over it).

Omnigrok (Liu, Michaud & Tegmark, ICLR 2023, arXiv 2210.01117) induces grokking on MNIST
with a ReLU MLP (width 200, depth 3), MSE loss onto one-hot labels, a small training set
(1000 images) and an initialisation *scaled up* by a factor ``α``; it explains the delay by
the "LU mechanism" -- against the weight norm ``w`` the training loss is L-shaped and the
test loss U-shaped.  MNIST needs a download, so effgrok uses the 8 × 8 digits that ship with
scikit-learn (:func:`sklearn.datasets.load_digits`, 1797 images, 10 classes): nothing is
fetched at run time.

Data.  Pixels ``0..16`` divided by 16 (inputs in ``[0, 1]``, 64 features); a random split
(``SeedSequence(seed)``) into ``n_train`` training images and the rest (or ``n_test`` of it)
as test set.

Model.  ``depth`` weight layers ``64 → width → … → width → 10`` with ReLU between them and
biases; every weight and bias starts ``U(±1/√fan_in)`` (PyTorch's default) times ``α``
(``init_scale``).  At ``α = 1`` the expected squared norm is
``E‖θ₀‖² = Σ_layers fan_out (1 + 1/fan_in) / 3`` (:func:`expected_init_norm`).

Loss.  ``L = (1/(N·10)) Σ_n Σ_c (f_c(x_n) − onehot(y_n)_c)²`` (mean over examples *and*
outputs, as ``torch.nn.MSELoss`` on one-hot targets); accuracy is ``argmax f = y``.

Training.  AdamW (``learning_rate``, decoupled weight decay per run), full batch by default
(the paper uses batches of 200: a schedule's ``batch_size``, drawn per run by the driver).
With a per-run ``fixed_norm`` ``w`` the parameters are projected back onto the sphere
``‖θ‖ = w`` after every update (all weights and biases together) -- Omnigrok's "reduced landscape" protocol;
``NaN`` leaves a run free.

Work per step (issue 19): the loss and gradient are over the training images only and the
test metrics are computed only every ``stride`` steps (so this trainer already did only the
work a step needs); the runs of a call are vmapped on an accelerator and mapped one after
another on a CPU (:func:`effgrok.nets.engine.over_runs`).  float32 by default: the largest
reduction is over ``width`` ≤ a few hundred inputs and ``n_train`` images in the weight
gradients, well within float32's accuracy for the accuracy/loss curves studied here.

Recorded every ``stride`` steps on the parameters *before* that step's update: train/test
loss and accuracy and the global L2 norm ``‖θ‖``.  ``step_train``/``step_test``: the first
recorded step whose train/test accuracy reaches ``train_threshold``/``test_threshold``
(``NaN``, :data:`effgrok.constants.NEVER`: not within the budget), so their resolution is
``stride``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import _checks
from .driver import AdamW, Examples, Grid, Model, Schedule, TrainRuns, as_schedule, register, train
from .engine import Runs, first_crossing, run_rng, seed_array

__all__ = [
    "DigitsData",
    "DigitsMLP",
    "DigitsRuns",
    "digits_init",
    "expected_init_norm",
    "load_digits_split",
    "train_digits",
]

N_IMAGES = 1797
N_FEATURES = 64
N_CLASSES = 10

#: Core-seconds per (run · step · training image · weight) of :func:`train_digits`, measured as
#: CPU time (issue 25, shared 2-core machine, load 1-2: 500 images, width 200, depth 3,
#: 1000 steps, 1 run 4.0 s and 3 runs 8.6 s: 2.3e-3 s per run-step, 5.5e4 weights).
UNIT_CORE_S = 8.4e-11
#: Core-seconds to trace and compile one call (same measurement: 1.7 s; 3.6 s for the first
#: call of a process, JAX's start included).
COMPILE_CORE_S = 2.0


def estimated_core_seconds(runs: int, steps: int, n_train: int, width: int = 200, depth: int = 3) -> float:
    """Estimated CPU core-seconds of one call of :func:`train_digits`: ``runs`` runs of
    ``steps`` full-batch steps on ``n_train`` images of the ``depth``-layer MLP of ``width``
    (64·w + (depth − 2)·w² + 10·w weights); one compilation plus the units above.

    >>> round(estimated_core_seconds(1, 2000, 500), 1)
    6.6
    """
    weights = N_FEATURES * width + max(depth - 2, 0) * width * width + width * N_CLASSES
    return COMPILE_CORE_S + UNIT_CORE_S * runs * steps * n_train * weights


@dataclass(frozen=True)
class DigitsData:
    """One train/test split of the digits (inputs in ``[0, 1]``, labels ``0..9``)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    seed: int

    @property
    def n_train(self) -> int:
        return int(self.y_train.size)

    @property
    def n_test(self) -> int:
        return int(self.y_test.size)


@dataclass(frozen=True)
class DigitsRuns(Runs):
    """Curves ``[run, record]`` and per-run settings of :func:`train_digits`; ``step_train``,
    ``step_test``: first recorded steps at the thresholds (``NaN``: never)."""

    steps: np.ndarray
    train_loss: np.ndarray
    test_loss: np.ndarray
    train_acc: np.ndarray
    test_acc: np.ndarray
    weight_norm: np.ndarray
    step_train: np.ndarray
    step_test: np.ndarray
    init_scale: np.ndarray
    weight_decay: np.ndarray
    learning_rate: np.ndarray
    fixed_norm: np.ndarray
    seeds: np.ndarray
    params: dict
    train_threshold: float
    test_threshold: float

    @classmethod
    def from_train(cls, r: TrainRuns, train_threshold: float, test_threshold: float) -> DigitsRuns:
        """The :func:`train_digits` result of :func:`~effgrok.nets.driver.train`'s runs of a
        :class:`DigitsMLP` (first crossings at the two thresholds; parameters as float64)."""
        c, st = r.curves, r.steps
        return cls(
            steps=st,
            **{k: c[k] for k in ("train_loss", "test_loss", "train_acc", "test_acc", "weight_norm")},
            step_train=first_crossing(c["train_acc"], st, train_threshold),
            step_test=first_crossing(c["test_acc"], st, test_threshold),
            **{k: r.columns[k] for k in ("init_scale", "weight_decay", "learning_rate", "fixed_norm")},
            seeds=r.columns["seed"],
            params={k: np.asarray(v, np.float64) for k, v in r.params.items()},
            train_threshold=float(train_threshold),
            test_threshold=float(test_threshold),
        )


def load_digits_split(n_train: int = 1000, *, seed: int = 0, n_test: int | None = None) -> DigitsData:
    """Random train/test split of scikit-learn's 8 × 8 digits, pixels scaled to ``[0, 1]``.

    The permutation comes from ``default_rng(SeedSequence(seed))``; the first ``n_train``
    images train, the next ``n_test`` (default: all the rest) test.

    Examples
    --------
    >>> d = load_digits_split(500, seed=0)
    >>> d.x_train.shape, d.n_test, float(d.x_train.max())
    ((500, 64), 1297, 1.0)
    """
    n_train = _checks.integer("n_train", n_train, lo=1)
    if n_train >= N_IMAGES:
        raise ValueError(
            f"n_train must be 1..{N_IMAGES - 1} (the digits have {N_IMAGES} images), got {n_train}"
        )
    rest = N_IMAGES - n_train
    n_test = rest if n_test is None else _checks.integer("n_test", n_test, lo=1)
    if n_test > rest:
        raise ValueError(f"n_test must be 1..{rest} with n_train={n_train}, got {n_test}")
    seed = _checks.integer("seed", seed, lo=0)
    from sklearn.datasets import load_digits

    d = load_digits()
    x = np.asarray(d.data, dtype=np.float64) / 16.0
    y = np.asarray(d.target, dtype=np.int64)
    perm = np.random.default_rng(np.random.SeedSequence(seed)).permutation(N_IMAGES)
    tr, te = perm[:n_train], perm[n_train : n_train + n_test]
    return DigitsData(x[tr], y[tr], x[te], y[te], seed)


def _sizes(width: int, depth: int) -> list[int]:
    return [N_FEATURES] + [width] * (depth - 1) + [N_CLASSES]


def digits_init(seed: int, *, width: int = 200, depth: int = 3, init_scale: float = 1.0) -> dict:
    """Initial parameters ``{"W0", "b0", …}``: entries ``U(±1/√fan_in)`` times ``init_scale``.

    Drawn from ``default_rng(SeedSequence(seed))`` (:func:`~effgrok.nets.engine.run_rng`, the
    draw of :meth:`DigitsMLP.init`), so a run's initialisation does not depend on the batch it
    trains in; ``W_i`` has shape ``(fan_in, fan_out)``.

    Examples
    --------
    >>> p = digits_init(0, width=20, depth=2)
    >>> [p[k].shape for k in ("W0", "b0", "W1", "b1")]
    [(64, 20), (20,), (20, 10), (10,)]
    """
    seed, model = _checks.integer("seed", seed, lo=0), DigitsMLP(width, depth)
    init_scale = _checks.positive("init_scale", init_scale)
    p = model.init(run_rng(seed), None)
    return {k: init_scale * v for k, v in p.items()}


def expected_init_norm(*, width: int = 200, depth: int = 3, init_scale: float = 1.0) -> float:
    """``√E‖θ₀‖²`` of :func:`digits_init`: ``α · √(Σ_layers fan_out (1 + 1/fan_in) / 3)``.

    A ``U(±b)`` entry has variance ``b²/3``; with ``b² = 1/fan_in`` a layer's weights
    contribute ``fan_out/3`` and its biases ``fan_out/(3 fan_in)``.

    Examples
    --------
    >>> round(expected_init_norm(), 3)      # 64 → 200 → 200 → 10
    11.75
    """
    width, depth = _checks.integer("width", width, lo=1), _checks.integer("depth", depth, lo=1)
    s = _sizes(width, depth)
    return float(init_scale * math.sqrt(sum(s[i + 1] * (1 + 1 / s[i]) / 3 for i in range(depth))))


@register("digits-mlp")
@dataclass(frozen=True)
class DigitsMLP(Model):
    """The digits MLP of the module docstring as a model of the driver
    :func:`~effgrok.nets.driver.train`: ``depth`` weight layers ``64 → width → … → 10``, ReLU
    between them, biases; entries ``U(±1/√fan_in)`` (scaled by the grid's ``init_scale``).

    Its ``task`` is a :class:`DigitsData`: the examples are ``x_train`` then ``x_test`` with a
    fixed training mask (nothing is drawn for a split, so a run's generator draws only the
    initial parameters, those of :func:`digits_init`).  A grid column ``fixed_norm`` (``NaN``:
    free) holds a run on the sphere ``‖θ‖ = w`` (:meth:`project`); train it with
    ``loss="mse"``.

    >>> p = DigitsMLP(width=20, depth=2).init(np.random.default_rng(0), None)
    >>> {k: v.shape for k, v in p.items()}
    {'W0': (64, 20), 'b0': (20,), 'W1': (20, 10), 'b1': (10,)}
    """

    width: int = 200
    depth: int = 3

    def __post_init__(self):
        for name in ("width", "depth"):
            object.__setattr__(self, name, _checks.integer(name, getattr(self, name), lo=1))

    def examples(self, data: DigitsData) -> Examples:
        """Inputs ``x_train`` then ``x_test``, the first ``n_train`` of them training
        (:meth:`~effgrok.nets.driver.Examples.train_then_test`)."""
        return Examples.train_then_test(data)

    def init(self, rng, task):
        out, sizes = {}, _sizes(self.width, self.depth)
        for i in range(self.depth):
            b = 1.0 / math.sqrt(sizes[i])
            out[f"W{i}"] = rng.uniform(-b, b, (sizes[i], sizes[i + 1]))
            out[f"b{i}"] = rng.uniform(-b, b, sizes[i + 1])
        return out

    def apply(self, params, inputs):
        import jax

        (x,), last = inputs, self.depth - 1
        for i in range(last):
            x = jax.nn.relu(x @ params[f"W{i}"] + params[f"b{i}"])
        return x @ params[f"W{last}"] + params[f"b{last}"]

    def project(self, params, run):
        """``θ · w/‖θ‖`` for the run's ``fixed_norm`` ``w`` (``NaN`` or no such column: ``θ``)."""
        import jax
        import jax.numpy as jnp

        if "fixed_norm" not in run:
            return params
        w = run["fixed_norm"]
        norm = jnp.sqrt(sum(jnp.sum(v**2) for v in jax.tree_util.tree_leaves(params)))
        scale = jnp.where(jnp.isnan(w), 1.0, w / norm)
        return jax.tree_util.tree_map(lambda v: v * scale, params)

    def activations(self, task):
        return self.width


def train_digits(
    data: DigitsData,
    *,
    seeds=(0,),
    init_scale=1.0,
    weight_decay=0.0,
    fixed_norm=np.nan,
    width: int = 200,
    depth: int = 3,
    learning_rate=1e-3,
    schedule: Schedule = Schedule(2000, 50),
    train_threshold: float = 0.99,
    test_threshold: float = 0.9,
    float64: bool = False,
) -> DigitsRuns:
    """Train one digits MLP per run.

    ``seeds``, ``init_scale`` (α), ``weight_decay``, ``learning_rate`` and ``fixed_norm`` (``NaN``: free)
    are scalars or sequences and broadcast to the number of runs.  Run ``k`` starts from
    :func:`digits_init` ``(seed_k, init_scale=α_k)``; with a fixed norm ``w_k`` the parameters
    are rescaled to ``‖θ‖ = w_k`` at the start and after every AdamW update.

    ``schedule`` (:class:`~effgrok.nets.driver.Schedule`): ``steps``, curves every ``stride``
    steps and, where set, the driver's ``batch_size`` (the paper's batches of 200; default full
    batch); its ``snapshot_stride``, ``loss_every_step`` and ``first_steps`` are refused
    (:class:`DigitsRuns` has no place for them -- train :class:`DigitsMLP` with the driver).

    A thin wrapper over the driver (:mod:`effgrok.nets.driver`), passing ``schedule`` straight on::

        train(DigitsMLP(width, depth), AdamW(), schedule,
              Grid.zip(seed=seeds, init_scale=..., weight_decay=..., fixed_norm=..., learning_rate=...),
              task=data, loss="mse", precision="float64" if float64 else "float32")

    with the result repackaged as :class:`DigitsRuns` (:meth:`DigitsRuns.from_train`).

    Examples
    --------
    >>> d = load_digits_split(200, seed=0, n_test=100)
    >>> r = train_digits(d, init_scale=[1.0, 4.0], width=16, schedule=Schedule(20, 10))
    >>> r.test_acc.shape, r.weight_norm[1, 0] > r.weight_norm[0, 0]
    ((2, 3), np.True_)
    """
    model, sched = DigitsMLP(width, depth), as_schedule(schedule, fields=("batch_size",))
    for name, t in (("train_threshold", train_threshold), ("test_threshold", test_threshold)):
        _checks.fraction(name, t)
    norm = np.atleast_1d(np.asarray(fixed_norm, dtype=np.float64))
    if norm.size == 0 or np.any(np.isinf(norm) | (norm <= 0)):
        raise ValueError(f"fixed_norm must be > 0 and finite (or NaN: free), got {fixed_norm!r}")
    runs = Grid.zip(
        seed=seed_array(seeds),
        init_scale=_checks.positive_array("init_scale", init_scale),
        weight_decay=_checks.positive_array("weight_decay", weight_decay, allow_zero=True),
        fixed_norm=norm,
        learning_rate=_checks.positive_array("learning_rate", learning_rate),
    )
    r = train(
        model, AdamW(), sched, runs, task=data, loss="mse", precision="float64" if float64 else "float32"
    )
    return DigitsRuns.from_train(r, train_threshold, test_threshold)
