"""Modular-MLP training throughput (issue 19): the engine against today's trainer and a plain loop.

    uv run python benchmarks/bench_modular.py [--task add-mod] [--p 97] [--fraction 0.3]
        [--hidden 256] [--runs 8] [--repeats 3] [--baseline 17bbf6e]

Contenders, all in one process, repeats interleaved, minimum kept, compilation excluded
(see ``_throughput.py``):

* ``today``: :func:`train_modular` as of ``--baseline`` (forward and backward over every example
  of the table, loss masked to the training examples, validation accuracy at every step);
* ``engine_1`` / ``engine_R``: today's :func:`effgrok.nets.modular.train_modular`, one run / ``R``
  vmapped runs (per run-step = per step / R);
* ``loop``: what a JAX user would write -- a jitted single-run step (cross-entropy on the
  training examples, gradient, AdamW) called from a Python loop.

Default configuration (cross-entropy, ReLU, AdamW lr 1e-3, weight decay 1, float32).  Arithmetic
counted per run-step on the training examples: ``6 n_train H C`` (forward, and the two backward
products of the output layer) + ``4 n_train H`` (the input gather-add and its scatter-add);
GFLOP/s are "useful" FLOP over time for every contender (today's trainer does ``n_examples /
n_train`` times more).  The peak is an assumption stated in the output.

Also checks that the old and new trainers give the same curves on a non-commutative task
(whose input encoding did not change) to float32 tolerance.

Targets (issue 19): engine_1 ≥ 1.5 × today and ≥ 1.0 × loop; engine_R per run-step no slower
than loop.
"""

from __future__ import annotations

import json
import math

import _throughput as tp
import numpy as np

import effgrok as eg
from effgrok.nets.modular import train_modular


def plain_loop(task, fraction: float, hidden: int, seed: int = 0):
    """A jitted single-run step on the training examples; returns ``(step, state)``."""
    import jax
    import jax.numpy as jnp
    import optax

    rng = np.random.default_rng(seed)
    train = eg.random_split(task, fraction=fraction, seed=seed).mask
    a = jnp.asarray(task.slots[train, 0])
    b = jnp.asarray(task.slots[train, 1])
    y = jnp.asarray(task.results[train])
    n, C = task.n_slots, task.n_classes
    params = {
        "W1": jnp.asarray(rng.uniform(-1, 1, (n, hidden)) / math.sqrt(n), jnp.float32),
        "b1": jnp.zeros(hidden, jnp.float32),
        "W2": jnp.asarray(rng.uniform(-1, 1, (hidden, C)) / math.sqrt(hidden), jnp.float32),
        "b2": jnp.zeros(C, jnp.float32),
    }
    opt = optax.adamw(1e-3, weight_decay=1.0)

    def loss(p):
        h = jax.nn.relu(p["W1"][a] + p["W1"][b] + p["b1"])
        z = h @ p["W2"] + p["b2"]
        return tp.cross_entropy(z, y)

    return tp.adam_loop_step(loss, params, opt)


def main() -> None:
    ap = tp.trainer_parser(__doc__, task=True, runs=8, short=50, long=550, loop_steps=300)
    ap.add_argument("--hidden", type=int, default=256)
    args = ap.parse_args()

    old = tp.load_old("effgrok/nets/modular.py", args.baseline, "modular")
    task = eg.make_task(args.task, args.p)
    kw = dict(train_fraction=args.fraction, hidden=args.hidden)
    n_train = int(eg.random_split(task, fraction=args.fraction, seed=0).mask.sum())
    C, H = task.n_classes, args.hidden
    flop = 6 * n_train * H * C + 4 * n_train * H
    # the same curves as the old trainer where the encoding did not change (non-commutative task)
    sub = eg.make_task("sub-mod", 13)
    check = (sub, dict(train_fraction=0.5, seeds=[0, 1], hidden=32, steps=200, stride=50))
    loop = plain_loop(task, args.fraction, args.hidden)
    sec, common, diff = tp.compare_trainers(
        old.train_modular, train_modular, task, kw, loop, args, flop=flop, digits=3, check=check
    )
    out = {
        "task": task.name,
        "p": args.p,
        "pairs": "unordered" if task.commutative else "ordered",
        "n_examples": task.n_examples,
        "n_train": n_train,
        "hidden": H,
        "runs_vmapped": args.runs,
        "mflop_per_run_step": round(flop / 1e6, 2),
        **common,
        "targets_met": {
            "engine_1 >= 1.5 x today": sec["today"] / sec["engine_1"] >= 1.5,
            "engine_1 >= 1.0 x loop": sec["loop"] / sec["engine_1"] >= 1.0,
            "engine_R no slower than loop": sec["engine_R"] <= sec["loop"],
        },
        "old_vs_new_max_abs_diff_sub_mod_13": diff,
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
