"""Does training on the training examples only matter for the toy model? (issue 19)

    uv run python benchmarks/bench_toy_split.py [--p 10] [--n-train 45] [--steps 2000] [--repeats 3]

Times one scanned run of the toy model's step (embeddings summed, tanh decoder of
:class:`effgrok.nets.toy.ToyConfig` at its defaults, MSE onto class templates, AdamW) two ways:
``table`` -- forward and backward over every example with the loss masked to the training
examples, as :func:`effgrok.nets.toy.train_toy` does; ``train_only`` -- over the training
examples only.  Both are compiled before timing; repeats interleaved, minimum kept.  The
toy trainer itself is not changed here (its owner decides); this only measures the stake.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from _throughput import interleaved_min

import effgrok as eg
from effgrok.nets.toy import ToyConfig, _decode, _init_params


def scanned(task, cfg: ToyConfig, idx: np.ndarray, weight: np.ndarray, steps: int):
    import jax
    import jax.numpy as jnp
    import optax

    rng = np.random.default_rng(0)
    init = _init_params(rng, task.n_slots, cfg, cfg.template_dim)
    p0 = {k: jnp.asarray(v, jnp.float32) for k, v in init.items()}
    tm = jnp.asarray(rng.standard_normal((task.n_classes, cfg.template_dim)), jnp.float32)
    s0, s1 = jnp.asarray(task.slots[idx, 0]), jnp.asarray(task.slots[idx, 1])
    target, w = tm[jnp.asarray(task.results[idx])], jnp.asarray(weight, jnp.float32)
    opt = optax.adamw(1e-3, weight_decay=0.0)

    def loss(p):
        out = _decode(p, p["emb"][s0] + p["emb"][s1], cfg.depth)
        return jnp.sum(jnp.mean((out - target) ** 2, axis=-1) * w) / w.sum()

    @jax.jit
    def run(p):
        def body(c, _):
            p, s = c
            u, s = opt.update(jax.grad(loss)(p), s, p)
            return (optax.apply_updates(p, u), s), None

        return jax.lax.scan(body, (p, opt.init(p)), None, length=steps)[0][0]

    jax.block_until_ready(run(p0))

    def timed() -> float:
        t0 = time.perf_counter()
        jax.block_until_ready(run(p0))
        return (time.perf_counter() - t0) / steps

    return timed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--p", type=int, default=10)
    ap.add_argument("--n-train", type=int, default=45)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    task = eg.make_task("add", args.p)
    cfg = ToyConfig()
    mask = eg.random_split(task, size=args.n_train, seed=0).mask
    every = np.arange(task.n_examples)
    (train,) = np.nonzero(mask)
    sec = interleaved_min(
        {
            "table": scanned(task, cfg, every, mask.astype(float), args.steps),
            "train_only": scanned(task, cfg, train, np.ones(train.size), args.steps),
        },
        args.repeats,
    )
    out = {
        "task": task.name,
        "p": args.p,
        "n_examples": task.n_examples,
        "n_train": int(train.size),
        "us_per_step": {k: round(1e6 * v, 1) for k, v in sec.items()},
        "speed-up train_only / table": round(sec["table"] / sec["train_only"], 2),
        "arithmetic bound n_examples / n_train": round(task.n_examples / train.size, 2),
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
