"""An MLP on scikit-learn's handwritten digits, Omnigrok-style, vmapped over runs.

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

Training.  AdamW (``learning_rate``, decoupled weight decay per run), full batch (the paper
uses batches of 200; full batch keeps runs deterministic and vmappable).  With a per-run
``fixed_norm`` ``w`` the parameters are projected back onto the sphere ``‖θ‖ = w`` after
every update (all weights and biases together) -- Omnigrok's "reduced landscape" protocol;
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
from .engine import (
    Runs,
    first_crossing,
    map_chunks,
    over_runs,
    run_bytes,
    run_grid,
    scan_schedule,
    schedule,
    seed_array,
)

__all__ = [
    "DigitsData",
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

    Drawn from ``default_rng(SeedSequence(seed))``, so a run's initialisation does not depend
    on the batch it trains in; ``W_i`` has shape ``(fan_in, fan_out)``.

    Examples
    --------
    >>> p = digits_init(0, width=20, depth=2)
    >>> [p[k].shape for k in ("W0", "b0", "W1", "b1")]
    [(64, 20), (20,), (20, 10), (10,)]
    """
    seed = _checks.integer("seed", seed, lo=0)
    width, depth = _checks.integer("width", width, lo=1), _checks.integer("depth", depth, lo=1)
    init_scale = _checks.positive("init_scale", init_scale)
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    out = {}
    sizes = _sizes(width, depth)
    for i in range(depth):
        b = 1.0 / math.sqrt(sizes[i])
        out[f"W{i}"] = init_scale * rng.uniform(-b, b, (sizes[i], sizes[i + 1]))
        out[f"b{i}"] = init_scale * rng.uniform(-b, b, sizes[i + 1])
    return out


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


def train_digits(
    data: DigitsData,
    *,
    seeds=(0,),
    init_scale=1.0,
    weight_decay=0.0,
    fixed_norm=np.nan,
    width: int = 200,
    depth: int = 3,
    learning_rate=None,
    steps: int = 2000,
    stride: int = 50,
    train_threshold: float = 0.99,
    test_threshold: float = 0.9,
    float64: bool = False,
    lr=None,
) -> DigitsRuns:
    """Train one digits MLP per run in one ``jax.vmap``-ed, ``lax.scan``-ned computation.

    ``seeds``, ``init_scale`` (α), ``weight_decay``, ``learning_rate`` (default 1e-3; ``lr`` is its
    old name) and ``fixed_norm`` (``NaN``: free) are scalars or sequences and broadcast to the
    number of runs.  Run ``k`` starts from
    :func:`digits_init` ``(seed_k, init_scale=α_k)``; with a fixed norm ``w_k`` the parameters
    are rescaled to ``‖θ‖ = w_k`` at the start and after every AdamW update.

    Examples
    --------
    >>> d = load_digits_split(200, seed=0, n_test=100)
    >>> r = train_digits(d, init_scale=[1.0, 4.0], width=16, steps=20, stride=10)
    >>> r.test_acc.shape, r.weight_norm[1, 0] > r.weight_norm[0, 0]
    ((2, 3), np.True_)
    """
    from .modular import _learning_rate

    width, depth = _checks.integer("width", width, lo=1), _checks.integer("depth", depth, lo=1)
    steps, stride, _ = schedule(steps, stride)
    for name, t in (("train_threshold", train_threshold), ("test_threshold", test_threshold)):
        _checks.fraction(name, t)
    norm = np.atleast_1d(np.asarray(fixed_norm, dtype=np.float64))
    if norm.size == 0 or np.any(np.isinf(norm) | (norm <= 0)):
        raise ValueError(f"fixed_norm must be > 0 and finite (or NaN: free), got {fixed_norm!r}")
    _, grid = run_grid(
        seeds=seed_array(seeds),
        init_scale=_checks.positive_array("init_scale", init_scale),
        weight_decay=_checks.positive_array("weight_decay", weight_decay, allow_zero=True),
        fixed_norm=norm,
        learning_rate=_checks.positive_array("learning_rate", _learning_rate(learning_rate, lr)),
    )
    inits = [
        digits_init(int(s), width=width, depth=depth, init_scale=float(a))
        for s, a in zip(grid["seeds"], grid["init_scale"], strict=True)
    ]
    size = run_bytes(
        {k: v[None] for k, v in inits[0].items()}, extra=4 * (data.n_train + data.n_test) * width
    )

    def chunk(sl):
        return _run(
            data, inits[sl], {k: v[sl] for k, v in grid.items()}, depth, stride, steps // stride, float64
        )

    recs, final = map_chunks(chunk, len(inits), size)
    st = np.arange(steps // stride + 1) * stride
    curves = dict(zip(("train_loss", "test_loss", "train_acc", "test_acc", "weight_norm"), recs, strict=True))
    return DigitsRuns(
        steps=st,
        **curves,
        step_train=first_crossing(recs[2], st, train_threshold),
        step_test=first_crossing(recs[3], st, test_threshold),
        init_scale=grid["init_scale"],
        weight_decay=grid["weight_decay"],
        learning_rate=grid["learning_rate"],
        fixed_norm=grid["fixed_norm"],
        seeds=grid["seeds"],
        params=final,
        train_threshold=float(train_threshold),
        test_threshold=float(test_threshold),
    )


def _run(data: DigitsData, inits: list, grid: dict, depth: int, stride: int, records: int, float64: bool):
    """Train every run (full-batch AdamW, optional norm projection); numpy ``(curves, final params)``."""
    import jax
    import jax.numpy as jnp
    import optax

    dtype = jnp.float64 if float64 else jnp.float32
    with jax.enable_x64(float64):
        xtr, xte = jnp.asarray(data.x_train, dtype), jnp.asarray(data.x_test, dtype)
        ytr, yte = jnp.asarray(data.y_train), jnp.asarray(data.y_test)
        otr, ote = jax.nn.one_hot(ytr, N_CLASSES, dtype=dtype), jax.nn.one_hot(yte, N_CLASSES, dtype=dtype)
        params = {k: jnp.asarray(np.stack([p[k] for p in inits]), dtype) for k in inits[0]}

        def forward(p, x):
            for i in range(depth - 1):
                x = jax.nn.relu(x @ p[f"W{i}"] + p[f"b{i}"])
            return x @ p[f"W{depth - 1}"] + p[f"b{depth - 1}"]

        def loss_acc(p, x, onehot, y):
            f = forward(p, x)
            return jnp.mean((f - onehot) ** 2), jnp.mean(jnp.argmax(f, axis=1) == y)

        def gnorm(p):
            return jnp.sqrt(sum(jnp.sum(v**2) for v in jax.tree_util.tree_leaves(p)))

        def project(p, w):
            scale = jnp.where(jnp.isnan(w), 1.0, w / gnorm(p))
            return jax.tree_util.tree_map(lambda v: v * scale, p)

        grad = jax.grad(lambda p: loss_acc(p, xtr, otr, ytr)[0])

        def one(p, w, decay, rate):
            p = project(p, w)
            opt = optax.adamw(rate, weight_decay=decay)  # traced hyperparameters: one program

            def step(carry, _):
                p, state = carry
                u, state = opt.update(grad(p), state, p)
                return (project(optax.apply_updates(p, u), w), state), None

            def measure(carry):
                ltr, atr = loss_acc(carry[0], xtr, otr, ytr)
                lte, ate = loss_acc(carry[0], xte, ote, yte)
                return ltr, lte, atr, ate, gnorm(carry[0])

            carry, recs, _, _ = scan_schedule(step, measure, (p, opt.init(p)), stride=stride, records=records)
            return recs, carry[0]

        run_all = jax.jit(over_runs(one, (0, 0, 0, 0)))
        hyper = (jnp.asarray(grid[k], dtype) for k in ("fixed_norm", "weight_decay", "learning_rate"))
        recs, final = run_all(params, *hyper)
        recs = [np.asarray(r, np.float64) for r in recs]
        final = {k: np.asarray(v, np.float64) for k, v in final.items()}
    return recs, final
