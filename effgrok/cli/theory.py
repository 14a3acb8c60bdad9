"""``effgrok rate`` and ``effgrok critical``: the effective theory's numbers of training sets."""

from __future__ import annotations

from ._options import (
    UsageError,
    check_scale,
    finite,
    fraction,
    integer,
    io_options,
    parse_pairs,
    progress_bar,
    progress_option,
    scale_options,
    task_options,
)
from ._output import Outcome


def split_options(p) -> None:
    """``--train-frac`` | ``--train-size`` | ``--train`` (one of them)."""
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--train-frac", type=fraction(), help="random training set of this fraction, in (0, 1]")
    g.add_argument("--train-size", type=integer(lo=1), help="random training set of this many examples")
    g.add_argument("--train", type=str, help="explicit training pairs of symbols, e.g. '0,1 2,3'")


def register(sub, task_names) -> None:
    rate = sub.add_parser("rate", help="nullity, grokking rate, n_h and ideal accuracy of one training set")
    task_options(rate, task_names)
    io_options(rate)
    split_options(rate)
    rate.add_argument("--lr", type=finite, default=1e-3, help="learning rate η for n_h (default 1e-3)")
    rate.add_argument(
        "--z0",
        type=finite,
        default=None,
        help="Z0 = ‖E0‖² of the start (default: rows/12, the mean for a U(−½, ½) start)",
    )
    rate.add_argument(
        "--normalization",
        choices=("sum", "mean"),
        default="sum",
        help="effective-loss normalisation N: sum (N=1, default) or mean (N=|P0(D)|)",
    )
    rate.set_defaults(run=run_rate)

    crit = sub.add_parser("critical", help="P(structure pinned) curve and critical training fraction r_c")
    task_options(crit, task_names)
    io_options(crit)
    crit.add_argument(
        "--splits",
        type=integer(1, 10_000_000),
        default=10_000,
        help="random training sets per size (default 10000)",
    )
    crit.add_argument(
        "--confidence", type=fraction("neither"), default=0.95, help="confidence level (default 0.95)"
    )
    crit.add_argument(
        "--method",
        choices=("auto", "incremental", "bisect"),
        default="auto",
        help="how pinning sizes are found (default auto)",
    )
    progress_option(crit)
    scale_options(crit)
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
    if args.train_frac is not None:
        return random_split(task, fraction=args.train_frac, seed=args.seed), args.seed
    if args.train_size > task.n_examples:
        raise UsageError(
            f"--train-size {args.train_size} exceeds the {task.n_examples} examples of "
            f"task {task.name!r} (p={task.p})"
        )
    return random_split(task, size=args.train_size, seed=args.seed), args.seed


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
    pairs = parse_pairs(args.train) if args.train is not None else None
    work = [(task, split(args, task, pairs)) for task in tasks(args)]
    from ..effective.metrics import ideal_accuracy
    from ..effective.spectrum import grokking_rate

    records = []
    for task, (sp, seed) in work:
        rate = grokking_rate(task, sp, learning_rate=args.lr, z0=args.z0, normalization=args.normalization)
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


def curve_rows(res) -> list[dict]:
    """One row per training size of the P(pinned) curve."""
    return [
        {
            "n_train": int(n),
            "fraction": float(n) / res.n_examples,
            "p_pinned": float(pp),
            "p_pinned_ci": [float(lo), float(hi)],
            "splits": res.splits,
        }
        for n, pp, (lo, hi) in zip(res.sizes, res.p_pinned, res.p_pinned_ci, strict=True)
    ]


def critical_record(res) -> dict:
    """JSON-ready record of ``effgrok critical`` for one task."""
    from ..results import to_jsonable

    keys = ("task", "p", "n_examples", "splits", "seed", "method", "confidence", "r_c", "r_c_ci", "n_c")
    keys += ("n_c_ci", "median_size", "median_size_ci", "median_ci_coverage")
    return to_jsonable({**{k: getattr(res, k) for k in keys}, "curve": curve_rows(res)})


_CRITICAL_COLUMNS = ["task", "p", "n_examples", "splits", "seed", "r_c", "r_c_ci_low", "r_c_ci_high", "n_c"]
_CRITICAL_COLUMNS += ["median_size", "method"]
_CURVE_COLUMNS = ["task", "p", "n_train", "fraction", "p_pinned", "ci_low", "ci_high", "splits"]


def critical_tables(records: list[dict]) -> dict:
    """``curve.csv`` (one row per task and size) and ``critical.csv`` (one row per task)."""
    curve = [
        {
            "task": rec["task"],
            "p": rec["p"],
            **row,
            "ci_low": row["p_pinned_ci"][0],
            "ci_high": row["p_pinned_ci"][1],
        }
        for rec in records
        for row in rec["curve"]
    ]
    summary = [
        {
            **{k: v for k, v in rec.items() if k != "curve"},
            "r_c_ci_low": rec["r_c_ci"][0],
            "r_c_ci_high": rec["r_c_ci"][1],
        }
        for rec in records
    ]
    return {"curve": (curve, _CURVE_COLUMNS), "critical": (summary, _CRITICAL_COLUMNS)}


def run_critical(args) -> Outcome:
    check_scale(args)
    ps = [t.p for t in tasks(args)]  # validates every p before any work
    from ..scan import run_critical as scan_critical

    with progress_bar(args, args.splits * len(ps), "critical", "split") as bar:
        results = scan_critical(
            args.task,
            ps,
            args.splits,
            seed=args.seed,
            method=args.method,
            confidence=args.confidence,
            workers=args.workers,
            scheduler=args.scheduler,
            out=args.out,
            progress=bar.update,
        )
    records = [critical_record(r) for r in results]

    def figure(path):
        from ..plot import plot_critical

        plot_critical(results, path)

    return Outcome(
        "critical",
        records,
        "\n".join(map(format_critical, records)),
        tables=critical_tables(records),
        figures={"critical": figure},
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
