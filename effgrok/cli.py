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

    def scale_options(p):
        p.add_argument(
            "--workers",
            type=_int,
            default=None,
            help="local worker processes (default: all cores for long scans, in-process for short ones)",
        )
        p.add_argument(
            "--scheduler",
            type=str,
            default=None,
            help="Dask distributed scheduler address, e.g. tcp://host:8786",
        )

    def split_options(p):
        g = p.add_mutually_exclusive_group(required=True)
        g.add_argument(
            "--train-frac", type=_finite_float, help="random training set of this fraction, in (0, 1]"
        )
        g.add_argument("--train-size", type=_int, help="random training set of this many examples")
        g.add_argument("--train", type=str, help="explicit training pairs of symbols, e.g. '0,1 2,3'")

    rate = sub.add_parser("rate", help="nullity, grokking rate, n_h and ideal accuracy of one training set")
    common(rate)
    split_options(rate)
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
    scale_options(crit)
    sim = sub.add_parser("simulate", help="integrate the effective-loss flow over embeddings")
    common(sim)
    split_options(sim)
    sim.add_argument("--steps", type=_int, default=5000, help="time horizon in gradient steps (default 5000)")
    sim.add_argument("--lr", type=_finite_float, default=1e-3, help="learning rate η (default 1e-3)")
    sim.add_argument("--dim", type=_int, default=None, help="embedding dimension d (default 1)")
    sim.add_argument(
        "--method",
        choices=("euler", "rk4", "dopri5", "exact"),
        default=None,
        help="integrator (default rk4; euler with step 1 is gradient descent)",
    )
    sim.add_argument(
        "--step-size", type=_finite_float, default=1.0, help="integration step in gradient steps"
    )
    sim.add_argument("--stride", type=_int, default=None, help="record every this many steps")
    sim.add_argument(
        "--constraints",
        choices=("train", "all"),
        default=None,
        help="parallelograms in the loss: training ones (default) or all permissible",
    )
    sim.add_argument(
        "--normalization", choices=("sum", "mean"), default=None, help="N = 1 (sum) or |P| (mean)"
    )
    sim.add_argument(
        "--z", choices=("live", "frozen"), default=None, help="Z live (default) or frozen at start"
    )
    sim.add_argument(
        "--init",
        choices=("uniform", "standardized"),
        default=None,
        help="initial embedding: U(-1/2, 1/2) (default) or that standardised per dimension",
    )
    sim.add_argument(
        "--preset",
        choices=("paper", "reference_code"),
        default="paper",
        help="reference_code: all parallelograms, frozen Z, Euler, standardised 1-D start",
    )
    sim.add_argument(
        "--ensemble",
        type=_int,
        default=None,
        help="run this many members, each with its own random split and initialisation",
    )
    sim.add_argument("--rtol", type=_finite_float, default=1e-8, help="dopri5 relative tolerance")
    sim.add_argument("--atol", type=_finite_float, default=1e-12, help="dopri5 absolute tolerance")
    sim.add_argument(
        "--progress",
        choices=("auto", "on", "off"),
        default="auto",
        help="progress bar on stderr for ensembles (auto: only on a terminal)",
    )
    scale_options(sim)
    ntk = sub.add_parser(
        "ntk", help="kernel theory of lazy→rich grokking: NTK alignment and lazy predictions"
    )
    ntk.add_argument(
        "--model",
        choices=("committee", "mlp"),
        default="committee",
        help="committee: the lazy→rich paper's network (default); mlp: two-layer NTK-parameterised MLP",
    )
    ntk.add_argument("--target", default="paper", help="'paper' (½(β·x)²) or 'hermite:k' (default paper)")
    ntk.add_argument("--dim", type=_int, default=100, help="input dimension D (default 100)")
    ntk.add_argument("--samples", type=_int, default=550, help="training samples P (default 550)")
    ntk.add_argument("--test-samples", type=_int, default=1000, help="test samples (default 1000)")
    ntk.add_argument("--width", type=_int, default=500, help="hidden width N (default 500)")
    ntk.add_argument("--epsilon", type=_finite_float, default=0.02, help="quadratic part ε of φ (committee)")
    ntk.add_argument("--activation", default="relu", help="activation of --model mlp: relu, erf, linear, ...")
    ntk.add_argument("--alpha", type=_finite_float, nargs="+", default=[1.0], help="output scale(s) α")
    ntk.add_argument("--top-k", type=_int, default=10, help="eigenvectors for the target power (default 10)")
    ntk.add_argument("--seed", type=_int, default=0, help="random seed (default 0)")
    ntk.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    ntk.add_argument("--out", type=Path, default=None, help="folder for CSV + JSON + PNG results")
    return parser


_PRESETS = {
    "paper": {
        "constraints": "train",
        "normalization": "sum",
        "z": "live",
        "method": "rk4",
        "init": "uniform",
        "dim": 1,
    },
    "reference_code": {
        "constraints": "all",
        "normalization": "sum",
        "z": "frozen",
        "method": "euler",
        "init": "standardized",
        "dim": 1,
    },
}


def _apply_preset(args) -> None:
    preset = _PRESETS[args.preset]
    for key, value in preset.items():
        given = getattr(args, key)
        if given is None:
            setattr(args, key, value)
        elif args.preset == "reference_code" and given != value:
            flag = "--" + key.replace("_", "-")
            raise UsageError(f"--preset reference_code fixes {flag} {value}; got {flag} {given}")


def _tasks(args):
    from .tasks import make_task

    ps = args.p if args.p is not None else [None]
    return [make_task(args.task, p) for p in ps]


def _check_out(out: Path | None) -> None:
    if out is not None and out.exists() and not out.is_dir():
        raise UsageError(f"--out {str(out)!r} exists and is not a folder")


def _check_split_args(args) -> None:
    if args.train_size is not None and args.train_size < 1:
        raise UsageError(f"--train-size must be >= 1, got {args.train_size}")
    if args.train_frac is not None and not (0.0 < args.train_frac <= 1.0):
        raise UsageError(f"--train-frac must be in (0, 1], got {args.train_frac}")
    if args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}")


def _split(args, task, pairs):
    """(split, seed) from --train / --train-frac / --train-size."""
    from .tasks import random_split, split_from_pairs

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


def _cmd_rate(args) -> dict:
    from .effective.metrics import ideal_accuracy
    from .effective.spectrum import grokking_rate
    from .results import rate_record

    _check_split_args(args)
    pairs = parse_pairs(args.train) if args.train is not None else None
    records = []
    for task in _tasks(args):
        split, seed = _split(args, task, pairs)
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


def _check_scale_args(args) -> None:
    from .scan import check_scheduler_address

    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be >= 1, got {args.workers}")
    if args.scheduler is not None:
        check_scheduler_address(args.scheduler)


def _progress_bar(args, total: int, desc: str, unit: str):
    from tqdm import tqdm

    disable = {"auto": None, "on": False, "off": True}[args.progress]
    return tqdm(total=total, desc=desc, unit=unit, disable=disable, file=sys.stderr, dynamic_ncols=True)


def _cmd_critical(args) -> dict:
    from .results import critical_record
    from .scan import run_critical

    if args.splits < 1:
        raise UsageError(f"--splits must be >= 1, got {args.splits}")
    if args.splits > 10_000_000:
        raise UsageError(f"--splits must be at most 10000000, got {args.splits}")
    if not (0.0 < args.confidence < 1.0):
        raise UsageError(f"--confidence must be in (0, 1), got {args.confidence}")
    if args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}")
    _check_scale_args(args)
    tasks = _tasks(args)  # validates every p before any work
    ps = [t.p for t in tasks]
    with _progress_bar(args, args.splits * len(tasks), "critical", "split") as bar:
        results = run_critical(
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
    return {"results": results, "records": [critical_record(r) for r in results]}


def _cmd_simulate(args) -> dict:
    from .effective.dynamics import EffectiveLoss
    from .effective.metrics import DEFAULT_DELTA
    from .effective.simulation import _records, check_options, simulate
    from .results import ensemble_record, trajectory_record
    from .scan import run_ensemble

    _apply_preset(args)
    _check_split_args(args)
    if args.p is not None and len(args.p) > 1:
        raise UsageError(f"simulate takes one --p, got {len(args.p)}")
    if args.ensemble is not None and args.ensemble < 1:
        raise UsageError(f"--ensemble must be >= 1, got {args.ensemble}")
    if args.dim < 1 or args.dim > 64:
        raise UsageError(f"--dim must be 1..64, got {args.dim}")
    if args.steps < 1:
        raise UsageError(f"--steps must be >= 1, got {args.steps}")
    if args.steps > 10_000_000:
        raise UsageError(f"--steps must be at most 10000000, got {args.steps}")
    (task,) = _tasks(args)
    loss = EffectiveLoss(constraints=args.constraints, normalization=args.normalization, z=args.z)
    kw = dict(
        loss=loss,
        dim=args.dim,
        steps=args.steps,
        learning_rate=args.lr,
        method=args.method,
        step_size=args.step_size,
        stride=args.stride,
        init=args.init,
        seed=args.seed,
        rtol=args.rtol,
        atol=args.atol,
    )
    pairs = parse_pairs(args.train) if args.train is not None else None
    if args.ensemble is None:
        split, _ = _split(args, task, pairs)
        tr = simulate(task, split, **kw)
        return {"result": tr, "records": [trajectory_record(task, split, tr, args)]}
    if args.ensemble * task.n_examples > 200_000_000:
        raise UsageError(f"--ensemble {args.ensemble} is too large for task {task.name!r} (p={task.p})")
    _check_scale_args(args)
    if pairs is not None:
        split_kw = {"train": _split(args, task, pairs)[0].train.tolist()}
    elif args.train_frac is not None:
        _split(args, task, None)  # validates the fraction
        split_kw = {"fraction": args.train_frac}
    else:
        _split(args, task, None)  # validates the size
        split_kw = {"size": args.train_size}
    steps, stride = _records(args.steps, args.stride, 100)
    check_options(args.method, args.lr, args.step_size, DEFAULT_DELTA, args.rtol, args.atol, steps, stride)
    options = dict(
        kw,
        stride=stride,
        loss={"constraints": args.constraints, "normalization": args.normalization, "z": args.z},
    )
    with _progress_bar(args, args.ensemble, "simulate", "member") as bar:
        ens = run_ensemble(
            task.name,
            task.p,
            args.ensemble,
            split=split_kw,
            options=options,
            workers=args.workers,
            scheduler=args.scheduler,
            out=args.out,
            progress=bar.update,
        )
    return {"result": ens, "records": [ensemble_record(task, ens, args)]}


def _format_simulate(rec: dict) -> str:
    def f(v, fmt="{:.6g}"):
        return "—" if v is None else fmt.format(v)

    head = (
        f"task {rec['task']}  p={rec['p']}  method {rec['method']}  η={rec['learning_rate']:g}  "
        f"steps={rec['steps']}  loss: {rec['loss']}"
    )
    if "members" not in rec:
        return "\n".join(
            [
                head,
                f"  n_train {rec['n_train']}   pinned {rec['pinned']}   Z0 {rec['z0']:.6g}",
                f"  predicted n_h      {f(rec['n_h'])}",
                f"  steps to RQI>0.95  {f(rec['steps_to_rqi'])}",
                f"  final RQI          {f(rec['final_rqi'], '{:.4f}')}   "
                f"final loss {f(rec['final_loss'], '{:.3e}')}",
                f"  Acc-hat (test)     {f(rec['predicted_test_accuracy'], '{:.4f}')}   "
                f"ideal {f(rec['ideal_test_accuracy'], '{:.4f}')}",
            ]
        )
    sm = rec["summary"]
    st = sm["steps_to_rqi"]
    ratio = sm["steps_to_rqi_over_n_h"]
    return "\n".join(
        [
            head,
            f"  members {sm['members']}   pinned {sm['fraction_pinned']:.3f}   reached RQI>0.95 "
            f"{sm['fraction_reaching_rqi']:.3f}",
            f"  steps to RQI>0.95  median {f(st['median'])}  [5%: {f(st['q05'])}, 95%: {f(st['q95'])}]",
            f"  (steps to RQI)/n_h median {f(ratio['median'])}",
            f"  final RQI mean {f(sm['final_rqi']['mean'], '{:.4f}')}   Acc-hat mean "
            f"{f(sm['predicted_test_accuracy']['mean'], '{:.4f}')}",
        ]
    )


def _cmd_ntk(args) -> dict:
    from .kernels.ntk import ACTIVATIONS
    from .kernels.study import ntk_study

    for name, lo, hi in (
        ("--dim", 1, 4096),
        ("--samples", 2, 20_000),
        ("--test-samples", 2, 20_000),
        ("--width", 1, 100_000),
        ("--top-k", 1, 100_000),
        ("--seed", 0, 2**63 - 1),
    ):
        v = getattr(args, name[2:].replace("-", "_"))
        if not lo <= v <= hi:
            raise UsageError(f"{name} must be {lo}..{hi}, got {v}")
    if args.width * args.dim > 50_000_000:
        raise UsageError(f"--width {args.width} × --dim {args.dim} is too large (at most 5e7 weights)")
    if args.top_k > args.test_samples:
        raise UsageError(f"--top-k {args.top_k} exceeds --test-samples {args.test_samples}")
    if args.epsilon < 0:
        raise UsageError(f"--epsilon must be >= 0, got {args.epsilon}")
    if any(a <= 0 for a in args.alpha):
        raise UsageError(f"--alpha values must be > 0, got {' '.join(f'{a:g}' for a in args.alpha)}")
    if args.model == "mlp" and args.activation not in ACTIVATIONS:
        raise UsageError(f"--activation must be one of {', '.join(ACTIVATIONS)}; got {args.activation!r}")
    study = ntk_study(
        model=args.model,
        target=args.target,
        dim=args.dim,
        samples=args.samples,
        test_samples=args.test_samples,
        width=args.width,
        epsilon=args.epsilon,
        activation=args.activation,
        alphas=args.alpha,
        top_k=args.top_k,
        seed=args.seed,
    )
    return {"result": study, "records": [study["record"]]}


def _format_ntk(rec: dict) -> str:
    lines = [
        f"model {rec['model']}  target {rec['target']}  D={rec['dim']}  P={rec['samples']}  "
        f"N={rec['width']}  target variance {rec['target_variance']:.4g}"
    ]
    for r in rec["results"]:
        lines.append(
            f"  α={r['alpha']:<8g} CKA {r['cka']:.5f}   "
            f"top-{rec['top_k']} power {r['top_k_target_power']:.4f}   "
            f"lazy loss train {r['lazy_train_loss']:.3e} test {r['lazy_test_loss']:.4f}   "
            f"finite/infinite {r['finite_vs_infinite_rel_error']:.3e}"
        )
    return "\n".join(lines)


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
    if args.command == "simulate":
        _write_simulation(out, payload["result"], records[0], prov)
        return
    if args.command == "ntk":
        from .plot import plot_ntk

        rec = records[0]
        write_csv_atomic(out / "ntk.csv", rec["results"], list(rec["results"][0]))
        write_json_atomic(out / "ntk.json", {"provenance": prov, "result": rec})
        plot_ntk(payload["result"], out / "ntk.png")
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


def _write_simulation(out: Path, result, record: dict, prov: dict) -> None:
    import numpy as np

    from .plot import plot_embedding, plot_ensemble, plot_trajectory
    from .results import write_csv_atomic, write_json_atomic, write_npz_atomic

    if "members" in record:
        n = result.size
        rows = [
            {
                "member": m,
                "n_train": int(result.n_train[m]),
                "pinned": bool(result.pinned[m]),
                "z0": float(result.z0[m]),
                "n_h": float(result.n_h[m]),
                "steps_to_rqi": None if np.isnan(result.steps_to_rqi[m]) else float(result.steps_to_rqi[m]),
                "final_rqi": float(result.rqi[m, -1]),
                "final_loss": float(result.loss[m, -1]),
                "predicted_test_accuracy": float(result.predicted_test_accuracy[m, -1]),
            }
            for m in range(n)
        ]
        write_csv_atomic(out / "members.csv", rows, list(rows[0]))
        write_npz_atomic(
            out / "curves.npz",
            steps=result.steps,
            loss=result.loss,
            rqi=result.rqi,
            predicted_test_accuracy=result.predicted_test_accuracy,
            z=result.z,
        )
        write_json_atomic(out / "simulate.json", {"provenance": prov, "result": record})
        plot_ensemble(result, out / "ensemble.png")
        return
    rows = [
        {
            "step": int(s),
            "loss": float(lo),
            "z": float(z),
            "rqi": float(r),
            "predicted_test_accuracy": float(a),
        }
        for s, lo, z, r, a in zip(
            result.steps, result.loss, result.z, result.rqi, result.predicted_test_accuracy, strict=True
        )
    ]
    write_csv_atomic(out / "trajectory.csv", rows, list(rows[0]))
    write_npz_atomic(out / "embedding.npz", steps=result.steps, embedding=result.embedding)
    write_json_atomic(out / "simulate.json", {"provenance": prov, "result": record})
    plot_trajectory(result, out / "trajectory.png")
    plot_embedding(result, out / "embedding.png")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``effgrok`` console script; returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    started = time.time()
    try:
        args = _build_parser().parse_args(argv)
        _check_out(args.out)
        command = {"rate": _cmd_rate, "critical": _cmd_critical, "simulate": _cmd_simulate, "ntk": _cmd_ntk}[
            args.command
        ]
        payload = command(args)
        elapsed = time.time() - started
        records = payload["records"]
        arguments = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
        if args.out is not None:
            _write_outputs(args, args.out, payload, arguments, elapsed, started)
        if args.json:
            obj = records[0] if len(records) == 1 else {"results": records}
            print(json.dumps(obj, allow_nan=False))
        else:
            fmt = {
                "rate": _format_rate,
                "critical": _format_critical,
                "simulate": _format_simulate,
                "ntk": _format_ntk,
            }[args.command]
            print("\n".join(fmt(r) for r in records))
            if args.out is not None:
                print(f"results written to {args.out}/")
        return 0
    except (UsageError, ValueError) as exc:
        msg = " ".join(str(exc).split())
        print(f"effgrok: error: {msg}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as exc:
        from .scan import ScanInterrupted

        if isinstance(exc, ScanInterrupted) and exc.out is not None:
            print(
                f"effgrok: {exc}; finished chunks are kept: rerun the same command to resume", file=sys.stderr
            )
        else:
            print("effgrok: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `effgrok ... --json | head`: the reader left, nothing to report
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
