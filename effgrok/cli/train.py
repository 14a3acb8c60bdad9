"""``effgrok train toy|lazy-rich|modular``: train real networks (JAX) with the papers' protocols."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import _options as o
from . import _progress
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
    o.committee_options(lr_p, samples_hi=100_000, library="make_problem's and train_lazy_rich's")
    lr_p.add_argument(
        "--base-learning-rate",
        "--eta0",
        type=o.positive,
        default=None,
        help="base learning rate η₀ in η = η₀ N/α² (default: train_lazy_rich's)",
    )
    lr_p.add_argument(
        "--theta", type=o.positive, default=None, help="loss threshold of t(θ) (default: train_lazy_rich's)"
    )
    o.seeds_option(lr_p, 1)
    o.schedule_options(lr_p, None, "GD steps (default: train_lazy_rich's)")
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
        "inputs. The defaults are the library's demo protocol, effgrok.nets.modular.DEMO (p 23, fraction "
        "0.6, MSE loss, quadratic activation, 3000 steps), and otherwise train_modular's (or "
        "train_transformer's) own: they show grokking: training accuracy reaches 1 within ~100 steps, "
        "validation accuracy ~2000 steps later.",
    )
    demo = "effgrok.nets.modular.DEMO"
    mod.add_argument("--task", default=None, help=f"add-mod, sub-mod, mul-mod, ... (default: {demo})")
    mod.add_argument("--p", type=o.integer(), default=None, help=f"modulus p (default: {demo})")
    o.train_fraction_option(mod, f"training fraction(s) (default: {demo})", nargs="+")
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
        hidden_help="hidden width (default: train_modular's; embed-sum: "
        "effgrok.nets.modular.EMBED_SUM_HIDDEN, the paper's)",
        library=demo,
    )
    o.add_options(mod, _MODULAR)
    mod.set_defaults(run=run_modular)


_MODULAR = (  # (flag, type or choices, default, help[, keywords]); None: the library's default
    ("--embed-dim", o.integer(1, 65536), None, "embed-sum embedding width (default: train_modular's)"),
    ("--loss", ("mse", "cross_entropy", "stablemax"), None,
     "loss of the MLP models (default: effgrok.nets.modular.DEMO; the transformer uses cross_entropy)"),
    ("--activation", ("quadratic", "relu", "gelu", "tanh", "silu"), None,
     "hidden activation of the MLP models (default: effgrok.nets.modular.DEMO)"),
    ("--bias", argparse.BooleanOptionalAction, None,
     "biases in the mlp model (default --bias; embed-sum has none)"),
    ("--beta1", o.fraction("left"), None, "AdamW β₁ (default: the trainer's)"),
    ("--beta2", o.fraction("left"), None, "AdamW β₂ (default: the trainer's, 0.999; transformer 0.98)"),
    ("--eps", o.nonnegative, None, "AdamW ε >= 0 (default: the trainer's)"),
    ("--steps", o.integer(1, o.MAX_STEPS), None, "training steps (default: effgrok.nets.modular.DEMO)"),
    ("--stride", o.integer(lo=1), None, "record every this many steps"),
    ("--float64", bool, False, "train in float64 (default float32)"),
    ("--json", bool, False, "print one JSON object on stdout"),
    ("--out", Path, None, "folder for CSV + JSON results"),
)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# toy


def toy_setup(args):
    """(task, ToyConfig, training-set keyword) of the toy-model options."""
    from ..tasks import make_task

    task = make_task(args.task, args.p)
    from ..nets.toy import ToyConfig, train_toy

    o.library_defaults(args, ToyConfig, ["steps", "dim", "batch_size", "variant"])
    o.library_defaults(args, train_toy, [k for k in ("lr_emb", "wd_emb", "lr_dec", "wd_dec") if k in args])
    if args.batch_size is None:  # ToyConfig's full batch
        args.batch_size = 0
    steps_stride = o.stride(args)
    if args.batch_size < 0:
        raise o.UsageError(f"--batch-size must be >= 1, or 0 for full batch; got {args.batch_size}")
    if getattr(args, "train", None) is not None:  # `train toy --train PAIRS`
        from ..tasks import split_from_pairs

        if args.n_train is not None or args.train_fraction is not None:
            raise o.UsageError("give --train or one of --n-train/--train-frac, not both")
        try:
            size = {"train": split_from_pairs(task, o.parse_pairs(args.train))}
        except ValueError as exc:
            raise o.UsageError(f"--train: {exc}") from None
    elif args.train_fraction is not None:
        size = {"train_fraction": args.train_fraction}
    else:
        n = args.n_train = 45 if args.n_train is None else args.n_train
        if not 1 <= n <= task.n_examples:
            raise o.UsageError(
                f"--n-train must be 1..{task.n_examples} for task {task.name!r} (p={task.p}), got {n}"
            )
        size = {"n_train": n}
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

    with _progress.estimate_when_trained(estimated_core_seconds(len(seeds), cfg.steps)):
        runs = train_toy(task, cfg, seeds=seeds, **o.keywords(args, "lr_emb wd_emb lr_dec wd_dec"), **size)
    rows = o.run_rows(runs, "step_train_acc step_test_acc step_rqi", seeds=seeds)
    rec = {"model": "toy", "task": task.name, "p": task.p, **toy_settings(args, cfg), "runs": rows}
    rec.update(o.keywords(args, "lr_emb wd_emb lr_dec wd_dec train"))

    return Outcome(
        "train",
        [rec],
        format_toy(rec),
        tables={"runs": rows},
        arrays={"curves": toy_curves(runs)},
        figures={"train": figure("plot_toy_runs", runs)},
    )


def toy_settings(args, cfg) -> dict:
    """The settings of the toy model's options as they ran (``train_fraction``: ``None`` where
    the training sets are given by size or pairs)."""
    keys = ("variant", "dim", "steps", "stride", "float64")
    return {
        **{k: getattr(cfg, k) for k in keys},
        "batch_size": args.batch_size,
        "train_fraction": args.train_fraction,
    }


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


def _fill_lazy_rich(args) -> None:
    """The options not given, from the library: the problem's from ``make_problem``, the rest from
    ``train_lazy_rich``."""
    import numpy as np

    from ..kernels.lazy_rich import make_problem
    from ..nets.lazy_rich import train_lazy_rich

    o.library_defaults(args, make_problem, ["target", "dim", "samples", "test_samples"])
    names = ["width", "epsilon", "alpha", "base_learning_rate", "theta", "steps"]
    o.library_defaults(args, train_lazy_rich, names)
    args.alpha = [float(a) for a in np.atleast_1d(args.alpha)]


def run_lazy_rich(args) -> Outcome:
    _fill_lazy_rich(args)
    schedule = o.schedule(args)
    seeds = o.seed_list(args.seeds)
    import numpy as np

    from ..kernels.lazy_rich import make_problem
    from ..nets.lazy_rich import estimated_core_seconds, train_lazy_rich

    prob = make_problem(args.dim, args.samples, args.test_samples, target=args.target, seed=0)
    a, s = np.meshgrid(np.asarray(args.alpha), np.asarray(seeds), indexing="ij")
    with _progress.estimate_when_trained(
        estimated_core_seconds(a.size, args.steps, args.samples, args.width, args.dim)
    ):
        runs = train_lazy_rich(
            prob,
            **o.keywords(args, "width epsilon theta float64"),
            alpha=a.ravel(),
            seeds=s.ravel(),
            base_learning_rate=args.base_learning_rate,
            schedule=schedule,
        )
    rows = o.run_rows(runs, "t_train t_test grokking_amount", initial_weight_norm=runs.weight_norm[:, 0])
    rec = {"model": "lazy-rich", **o.keywords(args, "target dim samples test_samples width epsilon")}
    rec.update(o.keywords(args, "base_learning_rate theta steps float64"), stride=schedule.stride, runs=rows)
    text = format_columns(f"lazy-rich  steps={args.steps}", rows)
    return Outcome("train", [rec], text, tables={"runs": rows})


# ---------------------------------------------------------------------------------------------
# modular


def _check_modular(args) -> None:
    """The options that do not apply to the chosen ``--model``."""
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


#: the options of ``train modular`` filled from the library when not given (every model; then
#: the MLP models'; then embed-sum's); then AdamW's, from the trainer's default optimizer
_FILLED = (
    "task p train_fraction learning_rate weight_decay",
    " hidden loss activation",
    " embed_dim",
)
_ADAM = ("beta1", "beta2", "eps")


def _modular_trainer(args):
    """The library's trainer of ``--model``, with the options it takes (its keywords)."""
    if args.net == "transformer":
        from ..nets.transformer import train_transformer

        return train_transformer, _FILLED[0]
    from ..nets.modular import train_modular

    return train_modular, "".join(_FILLED[: 3 if args.net == "embed-sum" else 2])


def _fill_modular(args):
    """Check the options against ``--model`` and fill those not given from the library: its
    demo protocol :data:`effgrok.nets.modular.DEMO`, the embed-sum width of the paper, then the
    trainer's own defaults.  Returns ``(trainer, names of its keyword options)``."""
    from ..nets.modular import DEMO, EMBED_SUM_HIDDEN

    _check_modular(args)
    train, names = _modular_trainer(args)
    embed_sum = {"hidden": EMBED_SUM_HIDDEN} if args.net == "embed-sum" else {}
    o.library_defaults(args, train, [*names.split(), *_ADAM, "steps"], embed_sum, DEMO)
    if not isinstance(args.train_fraction, list):
        args.train_fraction = [args.train_fraction]
    return train, names.split()[2:]


def _train_modular(args, task, seeds, train, names):
    """The runs of ``train modular``: every (training fraction, seed)."""
    import numpy as np

    from ..nets.driver import AdamW

    f, s = np.meshgrid(np.asarray(args.train_fraction), np.asarray(seeds), indexing="ij")
    kw = o.keywords(args, " ".join(n for n in names if n != "train_fraction"))
    kw.update(train_fraction=f.ravel(), seeds=s.ravel(), schedule=o.schedule(args), float64=args.float64)
    kw.update(optimizer=AdamW(args.beta1, args.beta2, args.eps))
    if args.net != "transformer":
        kw.update(architecture="embed_sum" if args.net == "embed-sum" else "one_hot_mlp", bias=args.bias)
    return train(task, **kw)


def _modular_core_seconds(args, task, n_seeds: int) -> float:
    """Estimated core-seconds of ``train modular`` (the cost model of the chosen ``--model``)."""
    runs = n_seeds * len(args.train_fraction)
    n_train = round(max(args.train_fraction) * task.n_examples)
    if args.net == "transformer":
        from ..nets.transformer import estimated_core_seconds

        return estimated_core_seconds(runs, args.steps, n_train)
    from ..nets.modular import estimated_core_seconds

    width = max(args.hidden, args.embed_dim) if args.net == "embed-sum" else args.hidden
    return estimated_core_seconds(runs, args.steps, n_train, width)


def run_modular(args) -> Outcome:
    train, names = _fill_modular(args)
    steps_stride = o.stride(args)
    from ..tasks import make_task

    task = make_task(args.task, args.p)
    seeds = o.seed_list(args.seeds)
    with _progress.estimate_when_trained(_modular_core_seconds(args, task, len(seeds))):
        runs = _train_modular(args, task, seeds, train, names)
    step_train = runs.first_crossing("train_acc", 0.99)
    rows = o.run_rows(runs, "step_test_99", step_train_99=[o.step_or_none(v) for v in step_train])
    rec = {"model": "modular", "net": args.net, "task": task.name, "p": task.p}
    rec.update(pairs=runs.pairs, encoding=task.encoding, n_examples=task.n_examples)
    rec.update(steps=args.steps, stride=steps_stride, config={"model": args.net, **runs.config}, runs=rows)
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
        f"  AdamW lr {_one(rec, 'learning_rate')}  wd {_one(rec, 'weight_decay')}  β1 {c['beta1']:g}  "
        f"β2 {c['beta2']:g}  ε {c['eps']:g}  {'float64' if c['float64'] else 'float32'}",
        "  train_frac  n_train  seed  step(train≥0.99)  step(test≥0.99)  final train acc  final test acc",
    ]
    for r in rec["runs"]:
        lines.append(
            f"  {r['train_fraction']:>10.3g}  {r['n_train']:>7}  {r['seed']:>4}  "
            f"{o.never(r['step_train_99']):>16}  {o.never(r['step_test_99']):>15}  "
            f"{r['final_train_acc']:>15.3f}  {r['final_test_acc']:>14.3f}"
        )
    return "\n".join(lines)


def _one(rec: dict, name: str) -> str:
    """The runs' value of the per-run setting ``name`` (``a/b`` where they differ)."""
    values = dict.fromkeys(r[name] for r in rec["runs"])
    return "/".join(f"{v:g}" for v in values)
