"""``effgrok rate`` and ``effgrok critical``: the effective theory's numbers of training sets."""

from __future__ import annotations

from . import _options as o
from . import _progress
from ._output import Outcome, figure, merged_tables


def split_options(p) -> None:
    """``--train-frac`` | ``--train-size`` | ``--train`` (one of them)."""
    g = p.add_mutually_exclusive_group(required=True)
    o.train_fraction_option(g, "random training set of this fraction, in (0, 1]")
    g.add_argument(
        "--train-size",
        "--n-train",
        dest="n_train",
        type=o.integer(lo=1),
        help="random training set of this many examples",
    )
    g.add_argument("--train", type=str, help="explicit training pairs of symbols, e.g. '0,1 2,3'")


#: where ``critical``'s defaults come from (filled as it runs: the library's, never restated)
_CRITICAL = "effgrok.effective.critical.critical_scan's"


def register(sub, task_names) -> None:
    rate = sub.add_parser("rate", help="nullity, grokking rate, n_h and ideal accuracy of one training set")
    o.task_options(rate, task_names)
    o.io_options(rate)
    split_options(rate)
    rate.add_argument(
        *o.LEARNING_RATE,
        type=o.finite,
        default=None,
        help="learning rate η for n_h (default: grokking_rate's)",
    )
    rate.add_argument(
        "--z0",
        type=o.finite,
        default=None,
        help="Z0 = ‖E0‖² of the start (default: rows/12, the mean for a U(−½, ½) start)",
    )
    rate.add_argument(
        "--normalization",
        choices=("sum", "mean"),
        default=None,
        help="effective-loss normalisation N: sum (N=1, grokking_rate's default) or mean (N=|P0(D)|)",
    )
    rate.set_defaults(run=run_rate)

    crit = sub.add_parser("critical", help="P(structure pinned) curve and critical training fraction r_c")
    o.task_options(crit, task_names)
    o.io_options(crit)
    crit.add_argument(
        "--splits",
        type=o.integer(1, 10_000_000),
        default=None,
        help=f"random training sets per size (default: {_CRITICAL})",
    )
    crit.add_argument(
        "--confidence",
        type=o.fraction("neither"),
        default=None,
        help=f"confidence level (default: {_CRITICAL})",
    )
    crit.add_argument(
        "--method",
        choices=("auto", "incremental", "bisect"),
        default=None,
        help=f"how pinning sizes are found (default: {_CRITICAL})",
    )
    o.progress_option(crit)
    o.scale_options(crit)
    crit.set_defaults(run=run_critical)


def tasks(args):
    """One task per ``--p`` (or the task's default size)."""
    from ..tasks import make_task

    ps = args.p if args.p is not None else [None]
    return [make_task(args.task, p) for p in ps]


def split(args, task, pairs):
    """(split, seed) from --train / --train-frac / --train-size."""
    from ..tasks import random_split, split_from_pairs

    if pairs is not None:
        return split_from_pairs(task, pairs), None
    if args.train_fraction is not None:
        return random_split(task, fraction=args.train_fraction, seed=args.seed), args.seed
    if args.n_train > task.n_examples:
        raise o.UsageError(
            f"--train-size {args.n_train} exceeds the {task.n_examples} examples of "
            f"task {task.name!r} (p={task.p})"
        )
    return random_split(task, size=args.n_train, seed=args.seed), args.seed


# ---------------------------------------------------------------------------------------------
# rate


def rate_record(task, split, rate, ideal, seed: int | None) -> dict:
    """JSON-ready record of ``effgrok rate`` for one split."""
    from ..results import to_jsonable

    return to_jsonable(
        {
            "task": task.name,
            "p": task.p,
            "n_examples": task.n_examples,
            "n_train": split.n_train,
            "train_fraction": split.fraction,
            "seed": seed,
            "nullity": rate.nullity,
            "full_nullity": rate.full_nullity,
            "pinned": rate.pinned,
            "gram_lambda3": rate.gram_eigenvalue,
            "grokking_rate": rate.grokking_rate,
            "n_h": rate.n_h,
            "learning_rate": rate.learning_rate,
            "z0": rate.z0,
            "normalization": rate.normalization,
            "n_parallelograms": rate.n_parallelograms,
            "ideal_test_accuracy": ideal.test,
            "ideal_accuracy": ideal.overall,
        }
    )


def run_rate(args) -> Outcome:
    pairs = o.parse_pairs(args.train) if args.train is not None else None
    work = [(task, split(args, task, pairs)) for task in tasks(args)]
    from ..effective.metrics import ideal_accuracy
    from ..effective.spectrum import grokking_rate

    o.library_defaults(args, grokking_rate, ["learning_rate", "normalization"])
    records = []
    for task, (sp, seed) in work:
        rate = grokking_rate(
            task, sp, learning_rate=args.learning_rate, z0=args.z0, normalization=args.normalization
        )
        records.append(rate_record(task, sp, rate, ideal_accuracy(task, sp), seed))
    return Outcome("rate", records, "\n".join(map(format_rate, records)), tables={"rate": records}, many=True)


def _dash(v, fmt="{:.6g}"):
    return "—" if v is None else fmt.format(v)


def format_rate(rec: dict) -> str:
    f = _dash
    return "\n".join(
        [
            f"task {rec['task']}  p={rec['p']}  n_train={rec['n_train']}/{rec['n_examples']} "
            f"(r={rec['train_fraction']:.4f})",
            f"  nullity            {rec['nullity']}  (full table {rec['full_nullity']}; "
            f"{'pinned' if rec['pinned'] else 'NOT pinned'})",
            f"  Gram λ3            {f(rec['gram_lambda3'])}",
            f"  grokking rate λ3   {f(rec['grokking_rate'])}   (H = 2G/(N·Z0), Z0={rec['z0']:.6g}, "
            f"N={rec['normalization']})",
            f"  n_h = 1/(η·λ3)     {f(rec['n_h'])}   (η={rec['learning_rate']:g}, Z0={rec['z0']:.6g})",
            f"  ideal accuracy     test {f(rec['ideal_test_accuracy'], '{:.4f}')}, "
            f"all {f(rec['ideal_accuracy'], '{:.4f}')}",
        ]
    )


# ---------------------------------------------------------------------------------------------
# critical


def run_critical(args) -> Outcome:
    o.check_scale(args)
    ts = tasks(args)  # validates every p before any work
    ps = [t.p for t in ts]
    from ..effective.critical import choose_workers, core_seconds, critical_scan

    o.library_defaults(args, critical_scan, ["splits", "confidence", "method", "connect_timeout"])
    cost = core_seconds(ts, args.splits)
    workers = choose_workers(ts, args.splits, args.workers or "auto", args.scheduler)
    estimate = _progress.estimate_when_started(cost, workers, args.scheduler)
    with estimate, _progress.progress_bar(args, args.splits * len(ps), "critical", "split") as bar:
        results = critical_scan(
            args.task,
            ps,
            args.splits,
            seed=args.seed,
            method=args.method,
            confidence=args.confidence,
            workers=args.workers or "auto",
            scheduler=args.scheduler,
            out=args.out,
            progress=bar.update,
            connect_timeout=args.connect_timeout,
        )
    records = [r.record() for r in results]

    return Outcome(
        "critical",
        records,
        "\n".join(map(format_critical, records)),
        tables=merged_tables(results),
        figures={"critical": figure("plot_critical", results)},
        many=True,
    )


def format_critical(rec: dict) -> str:
    lo, hi = rec["r_c_ci"]
    return (
        f"task {rec['task']}  p={rec['p']}  |D0|={rec['n_examples']}  splits/size={rec['splits']}\n"
        f"  r_c = {rec['r_c']:.4f}  [{lo:.4f}, {hi:.4f}] ({100 * rec['confidence']:g}% CI)   "
        f"n_c = {rec['n_c']:.2f}   median pinning size {rec['median_size']} "
        f"{tuple(rec['median_size_ci'])}"
    )
