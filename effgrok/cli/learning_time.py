"""``effgrok predict-time``: the learning-time law's median steps to RQI > 0.95 of the toy model.

numpy and the law's pure-``math`` module only (no numba, no JAX): it answers in a fraction of a
second.
"""

from __future__ import annotations

from . import _options as o
from ._output import Outcome


def register(sub, task_names) -> None:
    p = sub.add_parser(
        "predict-time",
        help="predicted median steps to RQI > 0.95 of the toy model (learning-time law, issue 27)",
    )
    p.add_argument("--task", default="add", choices=task_names, help="binary operation (default add)")
    p.add_argument("--p", type=o.integer(lo=2, hi=1000), default=10, help="number of symbols (default 10)")
    o.add_options(
        p,
        [
            ("--n-train", o.integer(lo=1), None, "training examples (a random split)", {"required": True}),
            ("--seed", o.integer(lo=0), 0, "seed of the random split (default 0)"),
            ("--lr-emb", o.positive, 1e-3, "embedding learning rate η_e (default 1e-3)"),
            ("--lr-dec", o.positive, 1e-4, "decoder learning rate η_d (default 1e-4)"),
            ("--optimizer", ("adam", "gd-embedding"), None,
             "Adam on both groups or gradient descent on the embeddings (default: predict_learning_time's)"),
            ("--width", o.integer(1, 100_000), None, "decoder width W (default: predict_learning_time's)"),
            ("--init-scale", o.positive, 1.0, "initialisation scale of embedding and decoder (default 1)"),
            ("--init-scale-emb", o.positive, None, "embedding initialisation scale (default --init-scale)"),
            ("--init-scale-dec", o.positive, None, "decoder initialisation scale (default --init-scale)"),
            (("--budget", "--steps"), o.integer(1, o.MAX_STEPS), 5000, "training budget (default 5000)"),
        ],
    )  # fmt: skip
    o.io_options(p, "JSON + CSV")
    p.set_defaults(run=run_predict_time)


def run_predict_time(args) -> Outcome:
    from .._learning_time import predict_learning_time, split_pins_structure
    from ..tasks import make_task, random_split

    o.library_defaults(args, predict_learning_time, ["optimizer", "width"])
    task = make_task(args.task, args.p)
    if args.n_train > task.n_examples:
        raise o.UsageError(
            f"--n-train {args.n_train} exceeds the {task.n_examples} examples of task "
            f"{task.name!r} (p={task.p})"
        )
    split = random_split(task, size=args.n_train, seed=args.seed)
    pinned = split_pins_structure(task, split.mask)
    law = predict_learning_time(
        split.n_train,
        args.lr_emb,
        args.lr_dec,
        optimizer=args.optimizer,
        width=args.width,
        init_scale_emb=args.init_scale_emb if args.init_scale_emb is not None else args.init_scale,
        init_scale_dec=args.init_scale_dec if args.init_scale_dec is not None else args.init_scale,
        pinned_fraction=1.0 if pinned else 0.0,
        budget=args.budget,
    )
    rec = {"task": task.name, "p": task.p, "seed": args.seed, "pinned": pinned, **law.record()}
    rec = o.echo(rec, args, "init_scale")
    return Outcome("predict_time", [rec], format_time(rec), tables={"predict_time": [_flat(rec)]})


def _flat(rec: dict) -> dict:
    return {k: v for k, v in rec.items() if not isinstance(v, dict)}


def format_time(rec: dict) -> str:
    def steps(v):
        return "never within the budget" if v is None else f"{v:.0f}"

    return "\n".join(
        [
            f"task {rec['task']}  p={rec['p']}  n_train={rec['n_train']} (split seed {rec['seed']}; "
            f"{'pinned' if rec['pinned'] else 'NOT pinned: never learned'})",
            f"  optimizer {rec['optimizer']}  η_emb={rec['lr_emb']:g}  η_dec={rec['lr_dec']:g}  "
            f"width {rec['width']}  init scales {rec['init_scale_emb']:g}/{rec['init_scale_dec']:g}",
            f"  median steps to RQI > 0.95   {steps(rec['steps_to_rqi'])}   (budget {rec['budget']:.0f})",
            f"  structured route t̂           {rec['steps_to_rqi_route']:.0f}   "
            f"(decoder alone memorises at t_m = {rec['memorisation_steps']:.0f}; medians)",
            f"  P(learned within the budget) {rec['p_learn']:.3f}",
        ]
    )
