"""Transformer training throughput (issue 19): the engine against today's trainer and a plain loop.

    uv run python benchmarks/bench_transformer.py [--task add-mod] [--p 97] [--fraction 0.3]
        [--d-model 128] [--heads 4] [--runs 4] [--repeats 3] [--baseline 17bbf6e]

Contenders (one process, repeats interleaved, minimum kept, compilation excluded; see
``_throughput.py``): ``today`` -- :func:`train_transformer` as of ``--baseline`` (every example
of the table at every step); ``engine_1`` / ``engine_R`` -- today's trainer (training examples
only, forward factored per symbol), one run / R vmapped runs; ``loop`` -- a jitted
single-run step of the direct form (token sequences of the training examples through
:func:`effgrok.nets.transformer._logits`, cross-entropy, AdamW) called from Python.

Work measure: the direct form's FLOP per training example, ``3 × (36 d² + 2 d C)`` (forward:
keys and values at 4 positions 16 d², query 2 d², output 2 d², MLP 16 d², unembedding 2 d C;
backward ≈ 2 × forward), times ``n_train``.  The factored engine needs fewer FLOP for the
same function, so its "GFLOP/s" is an equivalent rate.

Target (issue 19): engine_1 ≥ 2 × today's run-steps per second.
"""

from __future__ import annotations

import json

import _throughput as tp
import numpy as np

import effgrok as eg
from effgrok.nets.transformer import _init, _logits, _tokens, train_transformer


def plain_loop(task, fraction: float, d: int, heads: int, seed: int = 0):
    import jax.numpy as jnp
    import optax

    rng = np.random.default_rng(seed)
    train = eg.random_split(task, fraction=fraction, seed=seed).mask
    X = jnp.asarray(_tokens(task)[train])
    y = jnp.asarray(task.results[train])
    params = {
        k: jnp.asarray(v, jnp.float32) for k, v in _init(rng, task.n_symbols + 2, task.n_classes, d).items()
    }
    opt = optax.adamw(1e-3, b1=0.9, b2=0.98, weight_decay=1.0)

    def loss(p):
        z = _logits(p, X, heads, jnp)
        return tp.cross_entropy(z, y)

    return tp.adam_loop_step(loss, params, opt)


def main() -> None:
    ap = tp.trainer_parser(__doc__, task=True, runs=4, short=10, long=70, loop_steps=40)
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--heads", type=int, default=4)
    args = ap.parse_args()

    old = tp.load_old("effgrok/nets/transformer.py", args.baseline, "transformer")
    task = eg.make_task(args.task, args.p)
    kw = dict(train_fraction=args.fraction, d_model=args.d_model, n_heads=args.heads)
    n_train = int(eg.random_split(task, fraction=args.fraction, seed=0).mask.sum())
    d, C = args.d_model, task.n_classes
    flop = 3 * (36 * d * d + 2 * d * C) * n_train
    sub = eg.make_task("sub-mod", 7)
    check = (sub, dict(train_fraction=0.5, seeds=[0, 1], d_model=16, n_heads=2, steps=100, stride=25))
    loop = plain_loop(task, args.fraction, args.d_model, args.heads)
    sec, common, diff = tp.compare_trainers(
        old.train_transformer, train_transformer, task, kw, loop, args, flop=flop, digits=2, check=check
    )
    out = {
        "task": task.name,
        "p": args.p,
        "n_examples": task.n_examples,
        "n_train": n_train,
        "d_model": d,
        "heads": args.heads,
        "runs_vmapped": args.runs,
        "direct_form_mflop_per_run_step": round(flop / 1e6, 1),
        **common,
        "targets_met": {"engine_1 >= 2 x today": sec["today"] / sec["engine_1"] >= 2},
        "old_vs_new_max_abs_diff_sub_mod_7": diff,
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
