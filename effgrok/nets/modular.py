"""Modular arithmetic (Power et al. 2022) with an MLP on one-hot pairs, vmapped over runs.

Input: the concatenated one-hot codes of ``a`` and ``b`` (``2n`` features); one hidden ReLU
layer (default width 256); ``n_classes`` logits; cross-entropy; AdamW (default lr 1e-3,
weight decay 1.0); full batch over the training split of all ordered pairs (commutative
tasks use unordered pairs, as everywhere in effgrok).  Reported: accuracies at a stride and
the first step at which the validation accuracy reaches 99 % (``−1``: not within budget),
measured on the parameters before that step's update.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..tasks import Task, random_split

__all__ = ["ModularRuns", "train_modular"]


@dataclass(frozen=True)
class ModularRuns:
    steps: np.ndarray
    train_acc: np.ndarray
    val_acc: np.ndarray
    train_loss: np.ndarray
    step_val_99: np.ndarray
    train_fraction: np.ndarray
    seeds: np.ndarray


def train_modular(
    task: Task,
    *,
    train_fraction=0.5,
    seeds=(0,),
    hidden: int = 256,
    lr: float = 1e-3,
    weight_decay: float = 1.0,
    steps: int = 10_000,
    stride: int = 100,
    float64: bool = False,
) -> ModularRuns:
    """Train one MLP per (seed, training fraction) in one vmapped computation.

    Examples
    --------
    >>> import effgrok as eg
    >>> r = train_modular(eg.make_task("add-mod", 7), train_fraction=[0.5, 0.9], steps=20, stride=10)
    >>> r.val_acc.shape
    (2, 3)
    """
    import jax
    import jax.numpy as jnp
    import optax

    for name, v, lo in (("hidden", hidden, 1), ("steps", steps, 1), ("stride", stride, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")
    if steps % stride:
        raise ValueError(f"stride must divide steps; got stride {stride} for {steps} steps")
    if not (math.isfinite(lr) and lr > 0) or not (math.isfinite(weight_decay) and weight_decay >= 0):
        raise ValueError(f"need lr > 0 and weight_decay >= 0, got lr={lr!r}, weight_decay={weight_decay!r}")
    fr, seeds = np.broadcast_arrays(np.atleast_1d(np.asarray(train_fraction, float)), np.atleast_1d(seeds))
    fr, seeds = fr.ravel(), seeds.ravel()
    n, C = task.n_symbols, task.n_classes
    masks, inits = [], []
    for f, s in zip(fr, seeds, strict=True):
        rng = np.random.default_rng(np.random.SeedSequence(int(s)))
        masks.append(random_split(task, fraction=float(f), seed=int(rng.integers(2**63 - 1))).mask)
        b1, b2 = 1 / math.sqrt(2 * n), 1 / math.sqrt(hidden)
        inits.append(
            {
                "W1": rng.uniform(-b1, b1, (2 * n, hidden)),
                "b1": np.zeros(hidden),
                "W2": rng.uniform(-b2, b2, (hidden, C)),
                "b2": np.zeros(C),
            }
        )
    dtype = jnp.float64 if float64 else jnp.float32
    with jax.enable_x64(float64):
        X = jnp.concatenate(
            [
                jax.nn.one_hot(task.pairs[:, 0], n, dtype=dtype),
                jax.nn.one_hot(task.pairs[:, 1], n, dtype=dtype),
            ],
            axis=1,
        )
        y = jnp.asarray(task.results)
        params = {k: jnp.asarray(np.stack([p[k] for p in inits]), dtype) for k in inits[0]}
        opt = optax.adamw(lr, weight_decay=weight_decay)

        def metrics(p, mask):
            logits = jax.nn.relu(X @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]
            nll = -jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], axis=1)[:, 0]
            correct = jnp.argmax(logits, axis=1) == y
            m = mask.astype(dtype)
            loss = jnp.sum(nll * m) / jnp.maximum(m.sum(), 1)
            return loss, (
                loss,
                jnp.sum(correct * m) / jnp.maximum(m.sum(), 1),
                jnp.sum(correct * (1 - m)) / jnp.maximum((1 - m).sum(), 1),
            )

        g = jax.value_and_grad(metrics, has_aux=True)

        def one(p, mask):
            state = opt.init(p)

            def step(carry, t):
                p, state, first = carry
                (_, m), grads = g(p, mask)
                first = jnp.where((first < 0) & (m[2] >= 0.99), t, first)
                u, state = opt.update(grads, state, p)
                return (optax.apply_updates(p, u), state, first), None

            def block(carry, r):
                _, m = metrics(carry[0], mask)
                carry, _ = jax.lax.scan(step, carry, r * stride + jnp.arange(stride, dtype=jnp.int32))
                return carry, m

            carry, recs = jax.lax.scan(block, (p, state, jnp.int32(-1)), jnp.arange(steps // stride))
            _, last = metrics(carry[0], mask)
            first = jnp.where((carry[2] < 0) & (last[2] >= 0.99), steps, carry[2])
            return tuple(jnp.concatenate([r, x[None]]) for r, x in zip(recs, last, strict=True)), first

        recs, first = jax.jit(jax.vmap(one))(params, jnp.asarray(np.stack(masks)))
        recs = [np.asarray(r, np.float64) for r in recs]
    return ModularRuns(
        np.arange(steps // stride + 1) * stride, recs[1], recs[2], recs[0], np.asarray(first), fr, seeds
    )
