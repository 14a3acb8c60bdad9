"""``effgrok predict-grok`` and ``effgrok progress``: measures on loss logs and fresh runs."""

from __future__ import annotations

from pathlib import Path

from . import _options as o
from ._output import Outcome, figure
from .train import format_columns, toy_settings, toy_setup

_DEFAULT_FRACTIONS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]


_SCORE_OPTIONS = (  # (flag, type or choices, default, help[, more add_argument keywords])
    ("--loss-column", None, None,
     "loss column (default: the first of loss, train_loss, training_loss, train/loss, ...)"),
    ("--step-column", None, None,
     "step column (default: the first of step, global_step, iteration, iter, _step, epoch)"),
    ("--run-column", None, None, "run column (default: run, run_id, run_name or seed)"),
    ("--fractions", o.fraction(), None,
     "fractions of the budget observed, in (0, 1] (default 0.1 0.2 ... 1.0)", {"nargs": "+"}),
    ("--budget", o.positive, None, "budget in steps (default: last step)"),
    ("--cutoff", o.finite, None, "lowest frequency, cycles per window (default: spectral_scores')"),
    ("--degree", o.integer(), None, "degree of the detrending polynomial (default: spectral_scores')"),
    ("--linear", bool, False, "score the loss itself, not its logarithm (the record's log: false; "
     "default: spectral_scores' log)",
     {"dest": "log", "action": "store_const", "const": False, "default": None}),
    ("--floor", o.finite, None, "floor under the loss (default: spectral_scores')"),
    ("--threshold", o.fraction(), None, "AUC threshold reported (default: EarlyPrediction.earliest's)"),
)  # fmt: skip


def register(sub) -> None:
    pg = sub.add_parser(
        "predict-grok",
        help="early prediction of grokking from loss logs: spectral score per run, AUC vs observed fraction",
    )
    pg.add_argument("csv", type=Path, help="CSV with columns step,loss (optional run, grokked)")
    o.add_options(pg, _SCORE_OPTIONS)
    o.io_options(pg)
    pg.set_defaults(run=run_predict_grok)

    pr = sub.add_parser("progress", help="representation progress measures of a fresh toy or modular run")
    psub = pr.add_subparsers(dest="model", required=True, parser_class=o.Parser)
    toy = psub.add_parser("toy", help="RQI and embedding effective rank of toy-model runs")
    o.toy_options(toy)
    o.seeds_option(toy, 4)
    o.toy_optimizer_options(toy, wd_emb=False)
    toy.set_defaults(run=run_progress)
    mod = psub.add_parser("modular", help="Fourier concentration and feature effective rank of MLP runs")
    demo = "effgrok.nets.modular.DEMO"
    o.modular_task_options(mod, f"modulus p (default: {demo})", demo)
    o.train_fraction_option(mod, "training fraction (default 0.9)", default=0.9)
    o.seeds_option(mod, 2)
    o.mlp_options(mod, hidden=128, library=demo)
    mod.add_argument(
        "--loss",
        choices=("cross_entropy", "stablemax", "mse"),
        default=None,
        help=f"loss (default: {demo}, MSE: with quadratic units p=23 generalises at fraction 0.9 "
        "within ~1000 steps)",
    )
    mod.add_argument(
        "--activation",
        choices=("relu", "gelu", "tanh", "silu", "quadratic"),
        default=None,
        help=f"hidden nonlinearity (default: {demo})",
    )
    o.schedule_options(mod, None, f"training steps (default: {demo})")
    mod.add_argument(
        "--snapshot-stride", type=o.integer(), default=None, help="snapshot stride (default: stride)"
    )
    mod.add_argument(
        "--k", type=o.integer(), default=None, help="key frequencies counted (default: modular_progress's)"
    )
    o.float64_option(mod)
    o.io_options(mod)
    mod.set_defaults(run=run_progress)


# ---------------------------------------------------------------------------------------------
# predict-grok


def _scores(args, log, fractions):
    """(early-prediction result or None, scores of shape (fractions, runs), budget).

    Runs with fewer than 2 finite records (diverged at once) get NaN scores; the others are
    scored on their records (a diverged run's end before its first non-finite loss)."""
    import numpy as np

    from ..diagnostics.early import early_prediction_curve, min_points, spectral_scores

    opts = dict(cutoff=args.cutoff, degree=args.degree, log=args.log, floor=args.floor)
    need = min_points(args.cutoff, args.degree)
    if all(y.size < need for y in log.losses):
        raise o.UsageError(
            f"every run has fewer than {need} records; the spectral score needs at least {need}"
        )
    keep = [k for k, y in enumerate(log.losses) if y.size >= 2]
    curves, steps = [log.losses[k] for k in keep], [log.steps[k] for k in keep]
    budget = args.budget if args.budget is not None else max(float(s[-1]) for s in steps)
    scores = np.full((len(fractions), len(log.runs)), np.nan)
    lab = None if log.labels is None else log.labels[keep]
    res = None
    if lab is not None and lab.any() and not lab.all():
        res = early_prediction_curve(curves, lab, fractions, steps, budget=budget, **opts)
        scores[:, keep] = res.scores
    else:
        scores[:, keep] = np.stack(
            [spectral_scores(curves, steps, fraction=f, budget=budget, **opts) for f in fractions]
        )
    return res, scores, budget


def _warnings(log) -> list[str]:
    """What the user must know about the log and the AUC, one line each (also on stderr)."""
    from ..diagnostics.early import label_warnings

    return list(log.notes) + ([] if log.labels is None else label_warnings(log.labels))


def run_predict_grok(args) -> Outcome:
    import sys

    from ..diagnostics.early import EarlyPrediction, read_loss_csv, spectral_scores

    o.library_defaults(args, spectral_scores, ["cutoff", "degree", "log", "floor"])
    o.library_defaults(args, EarlyPrediction.earliest, ["threshold"])
    fractions = _DEFAULT_FRACTIONS if args.fractions is None else args.fractions
    log = read_loss_csv(
        args.csv, loss_column=args.loss_column, step_column=args.step_column, run_column=args.run_column
    )
    res, scores, budget = _scores(args, log, fractions)
    runs = log.tables()["runs"]
    rows = [
        {
            "run": run,
            "records": int(log.losses[k].size),
            "last_step": runs[k]["last_step"],
            "grokked": None if log.labels is None else bool(log.labels[k]),
            "diverged": runs[k]["diverged"],
            "diverged_at_step": o.never_to_none(log.diverged_at_step[k]),
            "scores": [o.never_to_none(v) for v in scores[:, k]],
        }
        for k, run in enumerate(log.runs)
    ]
    rec = {
        "file": str(args.csv),
        "columns": log.columns,
        "budget": budget,
        "fractions": [float(f) for f in fractions],
    }
    rec.update(cutoff=args.cutoff, degree=args.degree, log=args.log, runs=rows)
    rec = o.echo(rec, args, "loss_column step_column run_column floor")
    rec["auc"] = None if res is None else [o.never_to_none(v) for v in res.auc]
    rec["earliest_fraction"] = None if res is None else res.earliest(args.threshold)
    rec["threshold"] = args.threshold
    if log.labels is not None and res is None:
        rec["note"] = "AUC needs runs of both labels; every run has the same grokked label"
    rec["warnings"] = _warnings(log)
    for w in rec["warnings"]:
        print(f"effgrok: warning: {w}", file=sys.stderr)
    score_rows = [
        {"run": r["run"], "grokked": r["grokked"], "diverged": r["diverged"], "fraction": f, "score": s}
        for r in rows
        for f, s in zip(rec["fractions"], r["scores"], strict=True)
    ]
    tables = {"scores": (score_rows, ["run", "grokked", "diverged", "fraction", "score"])}
    if res is not None:
        auc = [{"fraction": f, "auc": a} for f, a in zip(rec["fractions"], rec["auc"], strict=True)]
        tables["auc"] = (auc, ["fraction", "auc"])

    if res is not None:
        keep = [k for k, y in enumerate(log.losses) if y.size >= 2]
        fig = figure(
            "plot_early_prediction",
            res,
            curves=[log.losses[k] for k in keep],
            steps=[log.steps[k] for k in keep],
            threshold=args.threshold,
        )
    else:
        fig = figure("plot_scores", rec["fractions"], scores, list(log.runs))
    return Outcome(
        "predict_grok", [rec], format_predict_grok(rec), tables=tables, figures={"predict_grok": fig}
    )


def format_predict_grok(rec: dict) -> str:
    def f(v, fmt="{:.3g}"):
        return "—" if v is None else fmt.format(v)

    lines = [
        f"{rec['file']}: {len(rec['runs'])} runs, budget {rec['budget']:g} steps, spectral score "
        f"(cutoff {rec['cutoff']:g} cycles/window, detrend degree {rec['degree']}, "
        f"{'log-loss' if rec['log'] else 'loss'})",
        "  run  grokked  " + "  ".join(f"{x:>8g}" for x in rec["fractions"]),
    ]
    c = rec.get("columns")
    if c is not None:
        skipped = f"; {c['skipped_rows']} rows without a loss skipped" if c["skipped_rows"] else ""
        run = "—" if c["run"] is None else repr(c["run"])
        if c.get("layout") == "wide":
            run = "one column '<run> - <loss>' per run (W&B wide export)"
        lines.insert(1, f"  columns: step {c['step']!r}, loss {c['loss']!r}, run {run}{skipped}")
    for r in rec["runs"]:
        g = "—" if r["grokked"] is None else ("yes" if r["grokked"] else "no")
        div = f"  (diverged at step {r['diverged_at_step']:g})" if r["diverged"] else ""
        lines.append(f"  {r['run']}  {g:>7}  " + "  ".join(f"{f(v):>8}" for v in r["scores"]) + div)
    if rec["auc"] is not None:
        lines.append("  AUC       " + "  ".join(f"{f(v, '{:.3f}'):>8}" for v in rec["auc"]))
        e = rec["earliest_fraction"]
        lines.append(
            f"  earliest fraction with AUC ≥ {rec['threshold']:g}: {'never' if e is None else f'{e:g}'}"
        )
    elif rec.get("note"):
        lines.append(f"  {rec['note']}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# progress


def _modular_progress(args, seeds):
    from ..diagnostics.progress import modular_progress
    from ..nets.modular import DEMO, train_modular

    names = ["task", "p", "learning_rate", "weight_decay", "loss", "activation", "steps"]
    o.library_defaults(args, train_modular, names, DEMO)
    o.library_defaults(args, modular_progress, ["k"])
    steps_stride = o.stride(args)
    from ..tasks import make_task

    task = make_task(args.task, args.p)
    snap = steps_stride if args.snapshot_stride is None else args.snapshot_stride
    if snap < 1 or snap % steps_stride or args.steps % snap:
        raise o.UsageError(
            f"--snapshot-stride must be a multiple of the stride {steps_stride} that divides "
            f"--steps {args.steps}, got {snap}"
        )
    if not 1 <= args.k <= task.n_symbols // 2:
        raise o.UsageError(f"--k must be 1..{task.n_symbols // 2} for p={task.n_symbols}, got {args.k}")

    runs = train_modular(
        task,
        train_fraction=args.train_fraction,
        seeds=seeds,
        hidden=args.hidden,
        learning_rate=args.learning_rate,
        weight_decay=args.weight_decay,
        schedule=o.schedule(args, snapshot_stride=snap),
        float64=args.float64,
        loss=args.loss,
        activation=args.activation,
    )
    return task, modular_progress(runs, task, k=args.k, activation=args.activation)


#: the options of ``progress`` recorded as they ran (the toy model's settings besides)
_PROGRESS_ECHOED = {
    "toy": "n_train lr_emb lr_dec wd_dec",
    "modular": "train_fraction hidden learning_rate weight_decay loss activation stride snapshot_stride k "
    "float64",
}


def run_progress(args) -> Outcome:
    seeds = o.seed_list(args.seeds)
    cfg = None
    if args.model == "toy":
        task, cfg, size = toy_setup(args)
        from ..diagnostics.progress import toy_progress
        from ..nets.toy import train_toy

        runs = train_toy(
            task, cfg, seeds=seeds, lr_emb=args.lr_emb, lr_dec=args.lr_dec, wd_dec=args.wd_dec, **size
        )
        prog = toy_progress(runs, task)
    else:
        task, prog = _modular_progress(args, seeds)
    from ..constants import first_crossing

    first = first_crossing(prog.test_acc, prog.steps, 0.9)
    rows = []
    for r, s in enumerate(seeds):
        row = {
            "seed": int(s),
            "step_test_acc_0.9": o.step_or_none(first[r]),
            "final_test_acc": float(prog.test_acc[r, -1]),
        }
        for name, v in prog.measures.items():
            row[f"initial_{name}"] = float(v[r, 0])
            row[f"final_{name}"] = float(v[r, -1])
        for name in prog.not_applicable:  # null, with the reason printed once below
            row[f"initial_{name}"] = row[f"final_{name}"] = None
        rows.append(row)
    rec = {"model": prog.model, "task": task.name, "p": task.p, "steps": args.steps, "runs": rows}
    rec["not_applicable"] = prog.not_applicable
    rec = o.echo(rec, args, _PROGRESS_ECHOED[args.model])
    if args.model == "toy":
        rec |= {k: v for k, v in toy_settings(args, cfg).items() if k not in rec}
    head = f"progress measures  {rec['model']}  task {rec['task']}  p={rec['p']}  steps={rec['steps']}"
    for name, why in prog.not_applicable.items():
        head += f"\n  {name}: null -- {why}"

    return Outcome(
        "progress",
        [rec],
        format_columns(head, rows),
        tables=prog.tables(),
        figures={"progress": figure("plot_progress", prog)},
    )
