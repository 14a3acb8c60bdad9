"""``python -m validation --profile tiny|cpu|gpu [--replicate K ...] [--cases ...]``: run the suite.

Each case runs on every replicate K given (default 0 and 1, the published pair): a seed set
and data draw disjoint from every other K; a claim passes only if it passes on all of them.

Prints the estimated compute time first (the cases' ``cost()``, minus the units already
stored).  Writes ``DIR/report.md``, ``DIR/report.json`` and ``DIR/figures/*.png``; finished
measurement units are kept under ``DIR/cases/`` so that rerunning the same command -- also on a
copy of ``DIR`` elsewhere -- resumes.  Exit codes:
0 when every case ran (whatever the verdicts), 1 when a case crashed, 2 for bad arguments,
130 when interrupted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from effgrok.cli._options import integer

from .framework import PROFILES, list_cases, run_suite


class _UsageError(ValueError):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        raise _UsageError(message)


def _workers(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer: {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="python -m validation", description=__doc__.splitlines()[0])
    ap.add_argument("--profile", choices=PROFILES, default="cpu", help="problem sizes (default: cpu)")
    ap.add_argument("--cases", nargs="+", metavar="CASE", help="run only these cases (default: all)")
    ap.add_argument("--out", type=Path, help="output folder (default: runs/validation-PROFILE)")
    ap.add_argument("--workers", type=_workers, help="cores to use (default: this process only)")
    ap.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://host:8786")
    ap.add_argument(
        "--replicate",
        type=integer(lo=0),
        nargs="+",
        default=[0, 1],
        metavar="K",
        help="replicates to run: seed sets and data draws, disjoint across K (default: 0 1)",
    )
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument(
        "--criteria",
        type=Path,
        metavar="FILE",
        help="write the pre-registered criteria of every case (markdown) to FILE and exit",
    )
    ap.add_argument(
        "--publish",
        type=Path,
        metavar="DOCS_DIR",
        help="after the run, copy the report and figures into DOCS_DIR (e.g. docs/validation)",
    )
    ap.add_argument(
        "--progress",
        choices=("auto", "on", "off"),
        default="auto",
        help="a bar on a terminal, else a line every 10 s (auto); always a bar (on); none (off)",
    )
    return ap


def _interrupted(args, known) -> str:
    """The one line after Ctrl-C: the finished units kept under ``--out``."""
    try:
        from .framework import case_dir, case_jobs

        out = args.out or Path("runs") / f"validation-{args.profile}"
        names, reps = args.cases or known, args.replicate
        total = sum(len(case_jobs(n, args.profile, k)) for n in names for k in reps)
        done = sum(len(list((case_dir(out, n, k) / "chunks").glob("*.npz"))) for n in names for k in reps)
    except Exception:  # interrupted before the arguments were read
        return "interrupted: nothing kept"
    return f"interrupted: {done} of {total} units kept in {out}; rerun the same command to resume"


def main(argv: list[str] | None = None) -> int:
    args, known = None, []
    try:
        args = build_parser().parse_args(argv)
        known = list_cases()
        if args.list:
            from .framework import load_case

            for n in known:
                print(f"{n:24s} {load_case(n).TITLE}")
            return 0
        if args.criteria is not None:
            from effgrok.results import write_text_atomic

            from .framework import render_criteria

            print(f"criteria: {write_text_atomic(args.criteria, render_criteria())}")
            return 0
        if args.cases:
            bad = [c for c in args.cases if c not in known]
            if bad:
                raise _UsageError(f"unknown case {bad[0]!r}; known: {', '.join(known)}")
        if args.scheduler is not None:
            from effgrok.scan import check_scheduler_address

            check_scheduler_address(args.scheduler)
            if args.workers is not None:
                raise _UsageError("--workers and --scheduler exclude each other; give one of them")
        out = args.out or Path("runs") / f"validation-{args.profile}"
        from effgrok.results import writable_folder

        writable_folder(out, "--out")
        from .framework import estimate, format_estimate

        names = args.cases or known
        est = estimate(names, args.profile, out, args.replicate)
        print(format_estimate(est, args.profile, args.workers), flush=True)
        from effgrok._interrupt import sticky_sigint
        from effgrok.cli._progress import progress_bar

        with sticky_sigint(), progress_bar(args, est["units"], f"validation ({args.profile})", "unit") as bar:
            report = run_suite(
                args.profile,
                out,
                cases=args.cases,
                replicates=args.replicate,
                workers=args.workers,
                scheduler=args.scheduler,
                progress=bar,
            )
    except (_UsageError, ValueError) as exc:
        print(f"validation: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # the whole suite stops; every finished unit is on disk
        print(f"validation: {_interrupted(args, known)}", file=sys.stderr)
        return 130
    for r in report["cases"]:
        claims = ", ".join(f"{c['name']} {c['verdict']}" for c in r["claims"]) or r.get("error", "")
        print(f"{r['verdict']:>12s}  {r['name']:24s} {claims}")
    print(f"report: {out}/report.md")
    if args.publish is not None:
        from .framework import publish

        print(f"published: {publish(out, args.publish)}")
    return 1 if report["summary"].get("error") else 0


if __name__ == "__main__":
    sys.exit(main())
