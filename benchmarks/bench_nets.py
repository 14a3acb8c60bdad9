"""Toy-model training throughput (issue 6): 64 runs vmapped and scanned in one computation
against a single run whose jitted step is called from a Python loop (same model, same machine).

    uv run python benchmarks/bench_nets.py [--runs 64] [--steps 2000]

Target: the vmapped batch reaches >= 10x the run-steps per second of the Python loop.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import effgrok as eg
from effgrok.nets.toy import ToyConfig, _decode, _init_params


def python_loop(task, steps: int) -> float:
    """Run-steps per second of one run: a jitted AdamW step called ``steps`` times from Python."""
    import jax
    import jax.numpy as jnp
    import optax

    cfg = ToyConfig()
    rng = np.random.default_rng(0)
    params = {k: jnp.asarray(v, jnp.float32) for k, v in _init_params(rng, task.n_slots, cfg, 30).items()}
    tm = jnp.asarray(rng.standard_normal((task.n_classes, 30)), jnp.float32)
    mask = jnp.asarray(eg.random_split(task, size=45, seed=0).mask)
    s0, s1 = jnp.asarray(task.slots[:, 0]), jnp.asarray(task.slots[:, 1])
    res = jnp.asarray(task.results)
    labels = {k: ("emb" if k == "emb" else "dec") for k in params}
    opt = optax.multi_transform(
        {"emb": optax.adamw(1e-3, weight_decay=0.0), "dec": optax.adamw(1e-4, weight_decay=0.0)}, labels
    )
    state = opt.init(params)

    def loss(p):
        out = _decode(p, p["emb"][s0] + p["emb"][s1], cfg.depth)
        per = jnp.mean((out - tm[res]) ** 2, axis=-1)
        return jnp.sum(per * mask) / mask.sum()

    @jax.jit
    def step(p, s):
        g = jax.grad(loss)(p)
        u, s = opt.update(g, s, p)
        return optax.apply_updates(p, u), s

    params, state = step(params, state)
    jax.block_until_ready(params)
    t0 = time.perf_counter()
    for _ in range(steps):
        params, state = step(params, state)
    jax.block_until_ready(params)
    return steps / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=64)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--json", type=str, default=None)
    args = ap.parse_args()
    task = eg.make_task("add", 10)
    cfg = ToyConfig(steps=args.steps, stride=args.steps // 10)
    from effgrok.nets.toy import train_toy

    train_toy(task, cfg, seeds=range(args.runs), n_train=45)  # compile
    t0 = time.perf_counter()
    train_toy(task, cfg, seeds=range(args.runs), n_train=45)
    batch = args.runs * args.steps / (time.perf_counter() - t0)
    loop = python_loop(task, args.steps)
    res = {
        "vmapped_run_steps_per_s": batch,
        "python_loop_run_steps_per_s": loop,
        "ratio": batch / loop,
        "target_ratio": 10.0,
        "runs": args.runs,
        "steps": args.steps,
    }
    print(
        f"vmapped {args.runs} runs: {batch:.3g} run-steps/s; jitted step in a Python loop: {loop:.3g} "
        f"run-steps/s -> {batch / loop:.1f}x (target >= 10x; includes metrics the loop does not compute)"
    )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(res, fh, indent=2)


if __name__ == "__main__":
    main()
