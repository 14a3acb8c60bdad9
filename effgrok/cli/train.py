"""``effgrok train toy|lazy-rich|modular``: train real networks (JAX) with the papers' protocols."""

from __future__ import annotations

import argparse

from . import _options as o
from ._output import Outcome, figure


def register(sub) -> None:
    train = sub.add_parser("train", help="train real networks (JAX) with the papers' protocols")
    tsub = train.add_subparsers(dest="model", required=True, parser_class=o.Parser)
    toy = tsub.add_parser("toy", help="Liu et al.'s toy model: embeddings + tanh MLP decoder")
    o.toy_options(toy)
    o.seeds_option(toy, 8)
    o.toy_optimizer_options(toy)
    toy.add_argument(
        "--train",
        default=None,
        metavar="PAIRS",
        help="explicit training pairs 'a,b c,d ...' for every run (instead of --n-train/--train-frac)",
    )
    toy.set_defaults(run=run_toy)

    lr_p = tsub.add_parser("lazy-rich", help="the lazy→rich committee network, full-batch GD (Kumar et al.)")
    o.committee_options(lr_p, samples_hi=100_000)
    lr_p.add_argument("--eta0", type=o.positive, default=1.0, help="η₀ in η = η₀ N/α² (default 1)")
    lr_p.add_argument("--theta", type=o.positive, default=0.1, help="loss threshold of t(θ) (default 0.1)")
    o.seeds_option(lr_p, 1)
    o.schedule_options(lr_p, 10_000, "GD steps")
    o.float64_option(lr_p)
    o.io_options(lr_p, "CSV + JSON")
    lr_p.set_defaults(run=run_lazy_rich)
    _register_modular(tsub)


def _register_modular(tsub) -> None:
    mod = tsub.add_parser(
        "modular",
        help="networks on modular arithmetic (Power et al.); the defaults grok in about a minute",
        description="Train networks on a binary-operation table. Commutative tasks (add-mod) use the "
        "unordered pairs a <= b and a shared input table (u = e_a + e_b), so --train-frac is a fraction "
        "of the p(p+1)/2 unordered pairs; other tasks use all p^2 ordered pairs with separate left/right "
        "inputs. The defaults (p 23, fraction 0.6, MSE loss, quadratic activation, 3000 steps) show "
        "grokking: training accuracy reaches 1 within ~100 steps, validation accuracy ~2000 steps later.",
    )
    o.modular_task_options(mod, 23)
    mod.add_argument(
        "--train-frac", type=o.fraction(), nargs="+", default=[0.6], help="training fraction(s) (default 0.6)"
    )
    o.seeds_option(mod, 1)
    mod.add_argument(
        "--model",
        dest="net",
        choices=("mlp", "embed-sum", "transformer"),
        default="mlp",
        help="mlp: one hidden layer on the one-hot input (default); embed-sum: the grokking-tickets MLP "
        "(shared embedding, projection, sum, activation, output projection, unembedding, no biases; "
        "Minegishi et al.); transformer: one layer on 'a ∘ b =' (width 128, 4 heads, cross-entropy)",
    )
    o.mlp_options(
        mod,
        hidden=None,
        lr=1e-3,
        wd=1.0,
        hidden_help="hidden width (default 256; embed-sum: 48, the paper's)",
    )
    mod.add_argument(
        "--embed-dim", type=o.integer(1, 65536), default=None, help="embed-sum embedding width (default 500)"
    )
    mod.add_argument(
        "--loss",
        choices=("mse", "cross_entropy", "stablemax"),
        default=None,
        help="loss of the MLP models (default mse; the transformer uses cross_entropy)",
    )
    mod.add_argument(
        "--activation",
        choices=("quadratic", "relu", "gelu", "tanh", "silu"),
        default=None,
        help="hidden activation of the MLP models (default quadratic)",
    )
    mod.add_argument(
        "--bias",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="biases in the mlp model (default --bias; embed-sum has none)",
    )
    mod.add_argument("--beta1", type=o.fraction("left"), default=0.9, help="AdamW β₁ (default 0.9)")
    mod.add_argument(
        "--beta2", type=o.fraction("left"), default=None, help="AdamW β₂ (default 0.999; transformer 0.98)"
    )
    mod.add_argument("--eps", type=o.nonnegative, default=1e-8, help="AdamW ε >= 0 (default 1e-8)")
    o.schedule_options(mod, 3000)
    o.float64_option(mod)
    o.io_options(mod, "CSV + JSON")
    mod.set_defaults(run=run_modular)


# ---------------------------------------------------------------------------------------------
# toy


def toy_setup(args):
    """(task, ToyConfig, training-set keyword) of the toy-model options."""
    from ..tasks import make_task

    task = make_task(args.task, args.p)
    steps_stride = o.stride(args)
    if args.batch_size < 0:
        raise o.UsageError(f"--batch-size must be >= 1, or 0 for full batch; got {args.batch_size}")
    if getattr(args, "train", None) is not None:  # `train toy --train PAIRS`
        from ..tasks import split_from_pairs

        if args.n_train is not None or args.train_frac is not None:
            raise o.UsageError("give --train or one of --n-train/--train-frac, not both")
        try:
            size = {"train": split_from_pairs(task, o.parse_pairs(args.train))}
        except ValueError as exc:
            raise o.UsageError(f"--train: {exc}") from None
    elif args.train_frac is not None:
        size = {"train_fraction": args.train_frac}
    else:
        n = 45 if args.n_train is None else args.n_train
        if not 1 <= n <= task.n_examples:
            raise o.UsageError(
                f"--n-train must be 1..{task.n_examples} for task {task.name!r} (p={task.p}), got {n}"
            )
        size = {"n_train": n}
    from ..nets.toy import ToyConfig

    cfg = ToyConfig(
        dim=args.dim,
        variant=args.variant,
        steps=args.steps,
        stride=steps_stride,
        float64=args.float64,
        batch_size=args.batch_size or None,
    )
    return task, cfg, size


def toy_curves(runs) -> dict:
    """The arrays of ``curves.npz`` of a toy-model run."""
    names = ("steps", "train_acc", "test_acc", "train_loss", "test_loss", "rqi", "predicted_test_acc")
    return {k: getattr(runs, k) for k in (*names, "embedding")}


def run_toy(args) -> Outcome:
    seeds = o.seed_list(args.seeds)
    task, cfg, size = toy_setup(args)
    from ..nets.toy import estimated_core_seconds, train_toy

    with o.estimate_when_trained(estimated_core_seconds(len(seeds), cfg.steps)):
        runs = train_toy(task, cfg, seeds=seeds, **o.keywords(args, "lr_emb wd_emb lr_dec wd_dec"), **size)
    rows = [
        {
            "seed": int(s),
            "n_train": int(runs.n_train[k]),
            "step_train_acc": o.step_or_none(runs.step_train_acc[k]),
            "step_test_acc": o.step_or_none(runs.step_test_acc[k]),
            "step_rqi": o.step_or_none(runs.step_rqi[k]),
            "final_train_acc": float(runs.final_train_acc[k]),
            "final_test_acc": float(runs.final_test_acc[k]),
            "final_rqi": float(runs.final_rqi[k]),
        }
        for k, s in enumerate(seeds)
    ]
    rec = {"model": "toy", "task": task.name, "p": task.p, "variant": cfg.variant, "dim": cfg.dim}
    rec.update(steps=cfg.steps, runs=rows)

    return Outcome(
        "train",
        [rec],
        format_toy(rec),
        tables={"runs": rows},
        arrays={"curves": toy_curves(runs)},
        figures={"train": figure("plot_toy_runs", runs)},
    )


_TOY_COLUMNS = "  seed  n_train  step(train≥0.9)  step(test≥0.9)  step(RQI>0.95)  final test acc  final RQI"
_TOY_ROW = (
    "  {seed:>4}  {n_train:>7}  {step_train_acc:>15}  {step_test_acc:>14}  {step_rqi:>14}  "
    "{final_test_acc:>14.3f}  {final_rqi:>9.3f}"
)


def format_toy(rec: dict) -> str:
    head = (
        f"toy model  task {rec['task']}  p={rec['p']}  {rec['variant']}  d={rec['dim']}  steps={rec['steps']}"
    )
    return o.table_text([head, _TOY_COLUMNS], _TOY_ROW, rec["runs"])


def format_columns(head: str, rows: list[dict]) -> str:
    """A head line and one line per row, every column in order ("never" for a missing step)."""
    keys = list(rows[0])
    lines = [head, "  " + "  ".join(keys)]
    lines += [
        "  " + "  ".join(f"{r[k]:.4g}" if isinstance(r[k], float) else o.never(r[k]) for k in keys)
        for r in rows
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# lazy-rich


def run_lazy_rich(args) -> Outcome:
    steps_stride = o.stride(args)
    seeds = o.seed_list(args.seeds)
    import numpy as np

    from ..kernels.lazy_rich import make_problem
    from ..nets.lazy_rich import estimated_core_seconds, train_lazy_rich

    prob = make_problem(args.dim, args.samples, args.test_samples, target=args.target, seed=0)
    a, s = np.meshgrid(np.asarray(args.alpha), np.asarray(seeds), indexing="ij")
    with o.estimate_when_trained(
        estimated_core_seconds(a.size, args.steps, args.samples, args.width, args.dim)
    ):
        runs = train_lazy_rich(
            prob,
            width=args.width,
            epsilon=args.epsilon,
            alpha=a.ravel(),
            seeds=s.ravel(),
            eta0=args.eta0,
            steps=args.steps,
            stride=steps_stride,
            theta=args.theta,
            float64=args.float64,
        )
    rows = [
        {
            "alpha": float(runs.alpha[k]),
            "seed": int(runs.seeds[k]),
            "t_train": o.step_or_none(runs.t_train[k]),
            "t_test": o.step_or_none(runs.t_test[k]),
            "grokking_amount": o.step_or_none(runs.grokking_amount[k]),
            "final_train_loss": float(runs.train_loss[k, -1]),
            "final_test_loss": float(runs.test_loss[k, -1]),
            "initial_weight_norm": float(runs.weight_norm[k, 0]),
            "final_weight_norm": float(runs.weight_norm[k, -1]),
            "final_alignment": float(runs.alignment[k, -1]),
        }
        for k in range(runs.alpha.size)
    ]
    rec = {"model": "lazy-rich", "dim": args.dim, "samples": args.samples, "width": args.width}
    rec.update(epsilon=args.epsilon, theta=args.theta, steps=args.steps, runs=rows)
    text = format_columns(f"lazy-rich  steps={args.steps}", rows)
    return Outcome("train", [rec], text, tables={"runs": rows})


# ---------------------------------------------------------------------------------------------
# modular


def _check_modular(args) -> None:
    """The options that do not apply to the chosen ``--model``; fills ``--hidden``."""
    if args.net == "transformer":
        given = [
            flag
            for flag, v in (
                ("--hidden", args.hidden),
                ("--embed-dim", args.embed_dim),
                ("--loss", args.loss),
                ("--activation", args.activation),
                ("--bias/--no-bias", args.bias),
            )
            if v is not None
        ]
        if given:
            raise o.UsageError(
                f"{', '.join(given)} {'applies' if len(given) == 1 else 'apply'} to --model mlp and "
                "embed-sum only (the transformer has width 128, cross-entropy and ReLU)"
            )
    if args.net != "embed-sum" and args.embed_dim is not None:
        raise o.UsageError("--embed-dim applies to --model embed-sum only")
    if args.net == "embed-sum" and args.bias:
        raise o.UsageError("--bias: the embed-sum model has no biases (the paper's network)")
    args.hidden = args.hidden if args.hidden is not None else (48 if args.net == "embed-sum" else 256)


def _train_modular(args, task, seeds, steps_stride):
    """(runs, config) of ``train modular``."""
    import numpy as np

    transformer = args.net == "transformer"
    beta2 = args.beta2 if args.beta2 is not None else (0.98 if transformer else 0.999)
    f, s = np.meshgrid(np.asarray(args.train_frac), np.asarray(seeds), indexing="ij")
    adamw = dict(learning_rate=args.lr, weight_decay=args.wd, beta1=args.beta1, beta2=beta2, eps=args.eps)
    common = dict(adamw, train_fraction=f.ravel(), seeds=s.ravel(), steps=args.steps, stride=steps_stride)
    common["float64"] = args.float64
    if transformer:
        from ..nets.transformer import train_transformer

        runs = train_transformer(task, **common)
        config = {"model": "transformer", "d_model": 128, "n_heads": 4, "loss": "cross_entropy"}
    else:
        from ..nets.modular import train_modular

        runs = train_modular(
            task,
            **common,
            hidden=args.hidden,
            architecture="embed_sum" if args.net == "embed-sum" else "one_hot_mlp",
            embed_dim=500 if args.embed_dim is None else args.embed_dim,
            loss=args.loss or "mse",
            activation=args.activation or "quadratic",
            bias=args.bias,
        )
        config = {"model": args.net, **runs.config}
    config.update(optimizer="adamw", **adamw, float64=bool(args.float64))
    return runs, config


def _modular_core_seconds(args, task, n_seeds: int) -> float:
    """Estimated core-seconds of ``train modular`` (the cost model of the chosen ``--model``)."""
    runs = n_seeds * len(args.train_frac)
    n_train = round(max(args.train_frac) * task.n_examples)
    if args.net == "transformer":
        from ..nets.transformer import estimated_core_seconds

        return estimated_core_seconds(runs, args.steps, n_train)
    from ..nets.modular import estimated_core_seconds

    width = (
        max(args.hidden, 500 if args.embed_dim is None else args.embed_dim)
        if args.net == "embed-sum"
        else args.hidden
    )
    return estimated_core_seconds(runs, args.steps, n_train, width)


def run_modular(args) -> Outcome:
    steps_stride = o.stride(args)
    from ..tasks import make_task

    task = make_task(args.task, args.p)
    _check_modular(args)
    seeds = o.seed_list(args.seeds)
    with o.estimate_when_trained(_modular_core_seconds(args, task, len(seeds))):
        runs, config = _train_modular(args, task, seeds, steps_stride)
    step_train = runs.first_crossing("train_acc", 0.99)
    rows = [
        {
            "train_fraction": float(runs.train_fraction[k]),
            "n_train": int(runs.train_mask[k].sum()),
            "seed": int(runs.seeds[k]),
            "step_train_99": o.step_or_none(step_train[k]),
            "step_test_99": o.step_or_none(runs.step_test_99[k]),
            "final_train_acc": float(runs.train_acc[k, -1]),
            "final_test_acc": float(runs.test_acc[k, -1]),
        }
        for k in range(runs.seeds.size)
    ]
    rec = {"model": "modular", "net": args.net, "task": task.name, "p": task.p}
    rec.update(pairs="unordered" if task.commutative else "ordered", encoding=task.encoding)
    rec.update(n_examples=task.n_examples, steps=args.steps, stride=steps_stride, config=config, runs=rows)
    return Outcome("train", [rec], format_modular(rec), tables={"runs": rows})


def format_modular(rec: dict) -> str:
    c = rec["config"]
    pairs = (
        f"{rec['n_examples']} unordered pairs a ≤ b, input e_a + e_b"
        if rec["pairs"] == "unordered"
        else f"{rec['n_examples']} ordered pairs, input e_a ⊕ e_b"
    )
    if c["model"] == "transformer":
        net = f"transformer d_model {c['d_model']}  {c['n_heads']} heads  loss {c['loss']}"
    else:
        width = f"hidden {c['hidden']}" + (
            f"  embed_dim {c['embed_dim']}" if c["model"] == "embed-sum" else ""
        )
        bias = "on" if c["bias"] else "off"
        net = f"{c['model']}  {width}  loss {c['loss']}  activation {c['activation']}  bias {bias}"
    lines = [
        f"modular  task {rec['task']}  p={rec['p']}  ({pairs})  steps {rec['steps']}  (recorded every "
        f"{rec['stride']}: step columns have that resolution)",
        f"  {net}",
        f"  AdamW lr {c['learning_rate']:g}  wd {c['weight_decay']:g}  β1 {c['beta1']:g}  β2 {c['beta2']:g}  "
        f"ε {c['eps']:g}  {'float64' if c['float64'] else 'float32'}",
        "  train_frac  n_train  seed  step(train≥0.99)  step(test≥0.99)  final train acc  final test acc",
    ]
    for r in rec["runs"]:
        lines.append(
            f"  {r['train_fraction']:>10.3g}  {r['n_train']:>7}  {r['seed']:>4}  "
            f"{o.never(r['step_train_99']):>16}  {o.never(r['step_test_99']):>15}  "
            f"{r['final_train_acc']:>15.3f}  {r['final_test_acc']:>14.3f}"
        )
    return "\n".join(lines)
