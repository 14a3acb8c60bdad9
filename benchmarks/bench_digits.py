"""Digits-MLP training throughput (issue 19): the engine against the baseline trainer and a plain loop.

    uv run python benchmarks/bench_digits.py [--n-train 1000] [--width 200] [--depth 3]
        [--runs 8] [--repeats 3] [--baseline 17bbf6e]

Contenders (one process, repeats interleaved, minimum kept, compilation excluded; see
``_throughput.py``): ``today`` -- :func:`train_digits` as of ``--baseline`` (it already
trained on the training images only and measured the test set at the stride, but vmapped
its runs on every backend); ``engine_1`` / ``engine_R`` -- today's trainer, one run / R runs;
``loop`` -- a jitted single-run step (MSE on the training images, gradient, AdamW) called from
Python.  Arithmetic per run-step: ``6 n_train Σ_layers fan_in fan_out`` (forward and the two
backward products).  Runs are Omnigrok's (width 200, depth 3, α = 1, float32).
"""

from __future__ import annotations

import itertools
import json

import _throughput as tp

from effgrok.nets.digits import digits_init, load_digits_split, train_digits


def plain_loop(data, width: int, depth: int):
    import jax
    import jax.numpy as jnp
    import optax

    x = jnp.asarray(data.x_train, jnp.float32)
    onehot = jax.nn.one_hot(jnp.asarray(data.y_train), 10, dtype=jnp.float32)
    params = {k: jnp.asarray(v, jnp.float32) for k, v in digits_init(0, width=width, depth=depth).items()}
    opt = optax.adamw(1e-3, weight_decay=0.0)

    def loss(p):
        h = x
        for i in range(depth - 1):
            h = jax.nn.relu(h @ p[f"W{i}"] + p[f"b{i}"])
        return jnp.mean((h @ p[f"W{depth - 1}"] + p[f"b{depth - 1}"] - onehot) ** 2)

    return tp.adam_loop_step(loss, params, opt)


def main() -> None:
    ap = tp.trainer_parser(__doc__, task=False, runs=8, short=50, long=550, loop_steps=400)
    ap.add_argument("--n-train", type=int, default=1000)
    ap.add_argument("--width", type=int, default=200)
    ap.add_argument("--depth", type=int, default=3)
    args = ap.parse_args()

    old = tp.load_old("effgrok/nets/digits.py", args.baseline, "digits")
    data = load_digits_split(args.n_train, seed=0)
    kw = dict(width=args.width, depth=args.depth)
    sizes = [64] + [args.width] * (args.depth - 1) + [10]
    flop = 6 * args.n_train * sum(a * b for a, b in itertools.pairwise(sizes))
    small = load_digits_split(200, seed=1, n_test=300)
    check = (small, dict(seeds=[0, 1], init_scale=[1.0, 3.0], width=32, steps=200, stride=50))
    loop = plain_loop(data, args.width, args.depth)
    trainers = (old.train_digits, train_digits)
    _, common, diff = tp.compare_trainers(
        *trainers, data, kw, loop, args, flop=flop, digits=3, check=check, today_batched=True
    )
    out = {
        "n_train": args.n_train,
        "width": args.width,
        "depth": args.depth,
        "runs": args.runs,
        "mflop_per_run_step": round(flop / 1e6, 1),
        **common,
        "old_vs_new_max_abs_diff": diff,
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
