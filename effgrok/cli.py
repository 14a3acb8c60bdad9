"""The ``effgrok`` command.

Bad input ends with one line on stderr (``effgrok: error: ...``) and exit code 2;
Ctrl-C with ``effgrok: interrupted`` and exit code 130.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

from . import __version__

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(ValueError):
    """Bad command-line input (reported in one line, exit code 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        raise UsageError(message)


def _finite_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number: {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"invalid number: {text!r} (must be finite)")
    return v


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer: {text!r}") from None


def parse_pairs(text: str) -> list[tuple[int, int]]:
    """Parse ``"a,b c,d ..."`` (whitespace- or semicolon-separated) into symbol pairs."""
    tokens = text.replace(";", " ").split()
    if not tokens:
        raise UsageError("--train is empty; expected pairs like '0,1 2,3'")
    pairs = []
    for tok in tokens:
        parts = tok.split(",")
        if len(parts) != 2:
            raise UsageError(f"malformed --train entry {tok!r}: expected 'a,b' with integer symbols")
        try:
            pairs.append((int(parts[0]), int(parts[1])))
        except ValueError:
            raise UsageError(
                f"malformed --train entry {tok!r}: expected 'a,b' with integer symbols"
            ) from None
    return pairs


def _build_parser() -> argparse.ArgumentParser:
    from .tasks import TASK_NAMES

    parser = _Parser(prog="effgrok", description="Effective theory of grokking: fast, checkable numbers.")
    parser.add_argument("--version", action="version", version=f"effgrok {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def common(p):
        p.add_argument("--task", required=True, choices=TASK_NAMES, help="binary operation")
        p.add_argument("--p", type=_int, nargs="+", default=None, help="number of symbols (several allowed)")
        p.add_argument("--seed", type=_int, default=0, help="random seed (default 0)")
        p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
        p.add_argument("--out", type=Path, default=None, help="folder for CSV + JSON + PNG results")

    rate = sub.add_parser("rate", help="nullity, grokking rate, n_h and ideal accuracy of one training set")
    common(rate)
    g = rate.add_mutually_exclusive_group(required=True)
    g.add_argument("--train-frac", type=_finite_float, help="random training set of this fraction, in (0, 1]")
    g.add_argument("--train-size", type=_int, help="random training set of this many examples")
    g.add_argument("--train", type=str, help="explicit training pairs of symbols, e.g. '0,1 2,3'")
    rate.add_argument("--lr", type=_finite_float, default=1e-3, help="learning rate η for n_h (default 1e-3)")
    rate.add_argument("--z0", type=_finite_float, default=None, help="Z0 (default: embedding rows − 1)")
    rate.add_argument(
        "--normalization",
        choices=("sum", "mean"),
        default="sum",
        help="effective-loss normalisation N: sum (N=1, default) or mean (N=|P0(D)|)",
    )

    crit = sub.add_parser("critical", help="P(structure pinned) curve and critical training fraction r_c")
    common(crit)
    crit.add_argument(
        "--splits", type=_int, default=10_000, help="random training sets per size (default 10000)"
    )
    crit.add_argument(
        "--confidence", type=_finite_float, default=0.95, help="confidence level (default 0.95)"
    )
    crit.add_argument(
        "--method",
        choices=("auto", "incremental", "bisect"),
        default="auto",
        help="how pinning sizes are found (default auto)",
    )
    crit.add_argument(
        "--progress",
        choices=("auto", "on", "off"),
        default="auto",
        help="progress bar on stderr (auto: only on a terminal)",
    )
    return parser


def _tasks(args):
    from .tasks import make_task

    ps = args.p if args.p is not None else [None]
    return [make_task(args.task, p) for p in ps]


def _check_out(out: Path | None) -> None:
    if out is not None and out.exists() and not out.is_dir():
        raise UsageError(f"--out {str(out)!r} exists and is not a folder")


def _cmd_rate(args) -> dict:
    from .effective.metrics import ideal_accuracy
    from .effective.spectrum import grokking_rate
    from .results import rate_record
    from .tasks import random_split, split_from_pairs

    if args.train_size is not None and args.train_size < 1:
        raise UsageError(f"--train-size must be >= 1, got {args.train_size}")
    if args.train_frac is not None and not (0.0 < args.train_frac <= 1.0):
        raise UsageError(f"--train-frac must be in (0, 1], got {args.train_frac}")
    pairs = parse_pairs(args.train) if args.train is not None else None
    records = []
    for task in _tasks(args):
        if pairs is not None:
            split, seed = split_from_pairs(task, pairs), None
        elif args.train_frac is not None:
            split, seed = random_split(task, fraction=args.train_frac, seed=args.seed), args.seed
        else:
            if args.train_size > task.n_examples:
                raise UsageError(
                    f"--train-size {args.train_size} exceeds the {task.n_examples} examples of "
                    f"task {task.name!r} (p={task.p})"
                )
            split, seed = random_split(task, size=args.train_size, seed=args.seed), args.seed
        rate = grokking_rate(task, split, learning_rate=args.lr, z0=args.z0, normalization=args.normalization)
        records.append(rate_record(task, split, rate, ideal_accuracy(task, split), seed))
    return {"records": records}


def _format_rate(rec: dict) -> str:
    def f(v, fmt="{:.6g}"):
        return "—" if v is None else fmt.format(v)

    return "\n".join(
        [
            f"task {rec['task']}  p={rec['p']}  n_train={rec['n_train']}/{rec['n_examples']} "
            f"(r={rec['train_fraction']:.4f})",
            f"  nullity            {rec['nullity']}  (full table {rec['full_nullity']}; "
            f"{'pinned' if rec['pinned'] else 'NOT pinned'})",
            f"  Gram λ3            {f(rec['gram_lambda3'])}",
            f"  grokking rate λ3   {f(rec['grokking_rate'])}   (H = 2G/(N·Z0), Z0={rec['z0']:g}, "
            f"N={rec['normalization']})",
            f"  n_h = 1/(η·λ3)     {f(rec['n_h'])}   (η={rec['learning_rate']:g})",
            f"  ideal accuracy     test {f(rec['ideal_test_accuracy'], '{:.4f}')}, "
            f"all {f(rec['ideal_accuracy'], '{:.4f}')}",
        ]
    )


def _cmd_critical(args) -> dict:
    from tqdm import tqdm

    from .effective.critical import critical_fraction
    from .results import critical_record

    if args.splits < 1:
        raise UsageError(f"--splits must be >= 1, got {args.splits}")
    if not (0.0 < args.confidence < 1.0):
        raise UsageError(f"--confidence must be in (0, 1), got {args.confidence}")
    if args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}")
    tasks = _tasks(args)
    disable = {"auto": None, "on": False, "off": True}[args.progress]
    results = []
    with tqdm(
        total=args.splits * len(tasks),
        desc="critical",
        unit="split",
        disable=disable,
        file=sys.stderr,
        dynamic_ncols=True,
    ) as bar:
        for task in tasks:
            bar.set_postfix_str(f"{task.name} p={task.p}")
            coords = (task.p,) if task.p is not None else ()
            results.append(
                critical_fraction(
                    task,
                    args.splits,
                    seed=args.seed,
                    confidence=args.confidence,
                    method=args.method,
                    coords=coords,
                    progress=bar.update,
                )
            )
    return {"results": results, "records": [critical_record(r) for r in results]}


def _format_critical(rec: dict) -> str:
    lo, hi = rec["r_c_ci"]
    return (
        f"task {rec['task']}  p={rec['p']}  |D0|={rec['n_examples']}  splits/size={rec['splits']}\n"
        f"  r_c = {rec['r_c']:.4f}  [{lo:.4f}, {hi:.4f}] ({100 * rec['confidence']:g}% CI)   "
        f"n_c = {rec['n_c']:.2f}   median pinning size {rec['median_size']} "
        f"{tuple(rec['median_size_ci'])}"
    )


def _write_outputs(args, out: Path, payload: dict, arguments: dict, elapsed: float, started: float) -> None:
    from .results import provenance, write_csv_atomic, write_json_atomic

    prov = provenance(arguments, elapsed, started)
    records = payload["records"]
    if args.command == "rate":
        cols = list(records[0].keys())
        write_csv_atomic(out / "rate.csv", records, cols)
        write_json_atomic(out / "rate.json", {"provenance": prov, "results": records})
        return
    from .plot import plot_critical

    rows = []
    for rec in records:
        for row in rec["curve"]:
            lo, hi = row["p_pinned_ci"]
            rows.append(
                {
                    "task": rec["task"],
                    "p": rec["p"],
                    "n_train": row["n_train"],
                    "fraction": row["fraction"],
                    "p_pinned": row["p_pinned"],
                    "ci_low": lo,
                    "ci_high": hi,
                    "splits": row["splits"],
                }
            )
    write_csv_atomic(
        out / "curve.csv",
        rows,
        ["task", "p", "n_train", "fraction", "p_pinned", "ci_low", "ci_high", "splits"],
    )
    summary = [{k: v for k, v in rec.items() if k != "curve"} for rec in records]
    for s in summary:
        s["r_c_ci_low"], s["r_c_ci_high"] = s["r_c_ci"]
    write_csv_atomic(
        out / "critical.csv",
        summary,
        [
            "task",
            "p",
            "n_examples",
            "splits",
            "seed",
            "r_c",
            "r_c_ci_low",
            "r_c_ci_high",
            "n_c",
            "median_size",
            "method",
        ],
    )
    write_json_atomic(out / "critical.json", {"provenance": prov, "results": records})
    plot_critical(payload["results"], out / "critical.png")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``effgrok`` console script; returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    started = time.time()
    try:
        args = _build_parser().parse_args(argv)
        _check_out(args.out)
        if args.command == "rate":
            payload = _cmd_rate(args)
        else:
            payload = _cmd_critical(args)
        elapsed = time.time() - started
        records = payload["records"]
        arguments = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
        if args.out is not None:
            _write_outputs(args, args.out, payload, arguments, elapsed, started)
        if args.json:
            obj = records[0] if len(records) == 1 else {"results": records}
            print(json.dumps(obj, allow_nan=False))
        else:
            fmt = _format_rate if args.command == "rate" else _format_critical
            print("\n".join(fmt(r) for r in records))
            if args.out is not None:
                print(f"results written to {args.out}/")
        return 0
    except (UsageError, ValueError) as exc:
        msg = " ".join(str(exc).split())
        print(f"effgrok: error: {msg}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("effgrok: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
