"""Toy-model training throughput (issue 6): R runs vmapped and scanned in one computation
against a single run whose jitted step is called from a Python loop -- same model, same
machine, same process, both compiled before the clock starts.

    uv run python benchmarks/bench_nets.py [--runs 64] [--steps 2000] [--hidden 200 20]

Fairness: the loop's jitted step does everything one step of :func:`effgrok.nets.toy.train_toy`
does -- forward over all examples (the test examples too, for the first-step counters), MSE
gradient on the training examples, AdamW on embeddings and decoder, train/test accuracy and
RQI -- so the two sides do the same arithmetic per run-step.  ``train_toy`` caches its
compiled computation, so a first call warms the timed one.  The vmapped side is also timed
with one run (``--runs 1``) to separate what ``lax.scan`` saves (Python dispatch) from what
batching saves.

Target (issue 6): the vmapped batch reaches >= 10x the run-steps per second of the loop.
On a CPU a run of the reference width (200) is already compute bound, so batching cannot
buy much there; narrower decoders (``--hidden 20``) show where dispatch dominates.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import effgrok as eg
from effgrok.effective.constraints import parallelograms
from effgrok.nets.toy import ToyConfig, _decode, _init_params, train_toy


def python_loop(task, cfg: ToyConfig, steps: int, n_train: int = 45) -> float:
    """Run-steps per second of one run: a jitted step (gradient, AdamW, metrics) per Python call."""
    import jax
    import jax.numpy as jnp
    import optax

    rng = np.random.default_rng(0)
    params = {
        k: jnp.asarray(v, jnp.float32)
        for k, v in _init_params(rng, task.n_slots, cfg, cfg.template_dim).items()
    }
    tm = jnp.asarray(rng.standard_normal((task.n_classes, cfg.template_dim)), jnp.float32)
    mask = jnp.asarray(eg.random_split(task, size=n_train, seed=0).mask)
    mf = mask.astype(jnp.float32)
    s0, s1 = jnp.asarray(task.slots[:, 0]), jnp.asarray(task.slots[:, 1])
    res = jnp.asarray(task.results)
    pars = parallelograms(task)
    px, py = jnp.asarray(pars[:, 0]), jnp.asarray(pars[:, 1])
    labels = {k: ("emb" if k == "emb" else "dec") for k in params}
    opt = optax.multi_transform(
        {"emb": optax.adamw(1e-3, weight_decay=0.0), "dec": optax.adamw(1e-4, weight_decay=0.0)}, labels
    )
    state = opt.init(params)

    def loss(p):
        out = _decode(p, p["emb"][s0] + p["emb"][s1], cfg.depth)
        per = jnp.mean((out - tm[res]) ** 2, axis=-1)
        pred = jnp.argmin(jnp.sum((out[:, None, :] - tm[None]) ** 2, axis=-1), axis=-1)
        correct = pred == res
        E = p["emb"]
        z = (E - E.mean(0)) / jnp.std(E, axis=0, ddof=1)
        hz = z[s0] + z[s1]
        rqi = jnp.mean(jnp.mean((hz[px] - hz[py]) ** 2, axis=-1) < cfg.delta**2)
        accs = (jnp.sum(correct * mf) / mf.sum(), jnp.sum(correct * (1 - mf)) / (1 - mf).sum(), rqi)
        return jnp.sum(per * mf) / mf.sum(), accs

    @jax.jit
    def step(p, s):
        (_, accs), g = jax.value_and_grad(loss, has_aux=True)(p)
        u, s = opt.update(g, s, p)
        return optax.apply_updates(p, u), s, accs

    params, state, _accs = step(params, state)
    jax.block_until_ready(params)
    t0 = time.perf_counter()
    for _ in range(steps):  # metrics stay on the device: no per-step sync (generous to the loop)
        params, state, _accs = step(params, state)
    jax.block_until_ready(params)
    return steps / (time.perf_counter() - t0)


def vmapped(task, cfg: ToyConfig, runs: int) -> float:
    """Run-steps per second of ``runs`` runs in one ``train_toy`` call (compiled beforehand)."""
    train_toy(task, cfg, seeds=range(runs), n_train=45)  # compiles; the cache serves the next call
    t0 = time.perf_counter()
    train_toy(task, cfg, seeds=range(runs), n_train=45)
    return runs * cfg.steps / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=64)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--hidden", type=int, nargs="+", default=[200, 20])
    ap.add_argument("--json", type=str, default=None)
    args = ap.parse_args()
    task = eg.make_task("add", 10)
    rows = []
    for hidden in args.hidden:
        cfg = ToyConfig(hidden=hidden, steps=args.steps, stride=args.steps // 10)
        batch = vmapped(task, cfg, args.runs)
        single = vmapped(task, cfg, 1)
        loop = python_loop(task, cfg, args.steps)
        row = {
            "hidden": hidden,
            "runs": args.runs,
            "steps": args.steps,
            "vmapped_run_steps_per_s": batch,
            "scanned_single_run_steps_per_s": single,
            "python_loop_run_steps_per_s": loop,
            "ratio": batch / loop,
            "target_ratio": 10.0,
        }
        rows.append(row)
        print(
            f"hidden {hidden:4d}: vmapped {args.runs} runs {batch:9.4g} run-steps/s | one run scanned "
            f"{single:9.4g} | jitted step in a Python loop {loop:9.4g} -> vmapped/loop {batch / loop:5.1f}x "
            "(target >= 10x)",
            flush=True,
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()
