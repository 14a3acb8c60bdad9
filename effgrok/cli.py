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

import numpy as np

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


def _check_mlp_options(args) -> None:
    """``--hidden``, ``--lr`` and ``--wd`` of the MLP trainers."""
    if not 1 <= args.hidden <= 65536:
        raise UsageError(f"--hidden must be 1..65536, got {args.hidden}")
    if not args.lr > 0:
        raise UsageError(f"--lr must be > 0, got {args.lr}")
    if not args.wd >= 0:
        raise UsageError(f"--wd must be >= 0, got {args.wd}")


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
    rate.add_argument(
        "--z0",
        type=_finite_float,
        default=None,
        help="Z0 = ‖E0‖² of the start (default: rows/12, the mean for a U(−½, ½) start)",
    )
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
    train = sub.add_parser("train", help="train real networks (JAX) with the papers' protocols")
    tsub = train.add_subparsers(dest="model", required=True, parser_class=_Parser)
    toy = tsub.add_parser("toy", help="Liu et al.'s toy model: embeddings + tanh MLP decoder")
    toy_options(toy)
    toy.add_argument(
        "--seeds",
        type=_int,
        nargs="+",
        default=[8],
        help="one number K: seeds 0..K-1; several: those seeds (default 8)",
    )
    toy.add_argument(
        "--lr-emb", type=_finite_float, default=1e-3, help="embedding learning rate (default 1e-3)"
    )
    toy.add_argument("--wd-emb", type=_finite_float, default=0.0, help="embedding weight decay (default 0)")
    toy.add_argument(
        "--lr-dec", type=_finite_float, default=1e-4, help="decoder learning rate (default 1e-4)"
    )
    toy.add_argument("--wd-dec", type=_finite_float, default=0.0, help="decoder weight decay (default 0)")
    toy.add_argument(
        "--train",
        default=None,
        metavar="PAIRS",
        help="explicit training pairs 'a,b c,d ...' for every run (instead of --n-train/--train-frac)",
    )

    lr_p = tsub.add_parser("lazy-rich", help="the lazy→rich committee network, full-batch GD (Kumar et al.)")
    lr_p.add_argument("--target", default="paper", help="'paper' or 'hermite:k' (default paper)")
    lr_p.add_argument("--dim", type=_int, default=100, help="input dimension D (default 100)")
    lr_p.add_argument("--samples", type=_int, default=550, help="training samples P (default 550)")
    lr_p.add_argument("--test-samples", type=_int, default=1000, help="test samples (default 1000)")
    lr_p.add_argument("--width", type=_int, default=500, help="width N (default 500)")
    lr_p.add_argument("--epsilon", type=_finite_float, default=0.02, help="ε (default 0.02)")
    lr_p.add_argument("--alpha", type=_finite_float, nargs="+", default=[1.0], help="output scale(s) α")
    lr_p.add_argument("--eta0", type=_finite_float, default=1.0, help="η₀ in η = η₀ N/α² (default 1)")
    lr_p.add_argument("--theta", type=_finite_float, default=0.1, help="loss threshold of t(θ) (default 0.1)")
    lr_p.add_argument("--seeds", type=_int, nargs="+", default=[1], help="K: seeds 0..K-1; several: those")
    lr_p.add_argument("--steps", type=_int, default=10_000, help="GD steps (default 10000)")
    lr_p.add_argument("--stride", type=_int, default=None, help="record every this many steps")
    lr_p.add_argument("--float64", action="store_true", help="train in float64 (default float32)")
    lr_p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    lr_p.add_argument("--out", type=Path, default=None, help="folder for CSV + JSON results")

    mod = tsub.add_parser(
        "modular",
        help="networks on modular arithmetic (Power et al.); the defaults grok in about a minute",
        description="Train networks on a binary-operation table. Commutative tasks (add-mod) use the "
        "unordered pairs a <= b and a shared input table (u = e_a + e_b), so --train-frac is a fraction "
        "of the p(p+1)/2 unordered pairs; other tasks use all p^2 ordered pairs with separate left/right "
        "inputs. The defaults (p 23, fraction 0.6, MSE loss, quadratic activation, 3000 steps) show "
        "grokking: training accuracy reaches 1 within ~100 steps, validation accuracy ~2000 steps later.",
    )
    mod.add_argument("--task", default="add-mod", help="add-mod, sub-mod, mul-mod, ... (default add-mod)")
    mod.add_argument("--p", type=_int, default=23, help="modulus p (default 23)")
    mod.add_argument(
        "--train-frac",
        type=_finite_float,
        nargs="+",
        default=[0.6],
        help="training fraction(s) (default 0.6)",
    )
    mod.add_argument("--seeds", type=_int, nargs="+", default=[1], help="K: seeds 0..K-1; several: those")
    mod.add_argument(
        "--model",
        dest="net",
        choices=("mlp", "embed-sum", "transformer"),
        default="mlp",
        help="mlp: one hidden layer on the one-hot input (default); embed-sum: the grokking-tickets MLP "
        "(shared embedding, projection, sum, activation, output projection, unembedding, no biases; "
        "Minegishi et al.); transformer: one layer on 'a ∘ b =' (width 128, 4 heads, cross-entropy)",
    )
    mod.add_argument(
        "--hidden", type=_int, default=None, help="hidden width (default 256; embed-sum: 48, the paper's)"
    )
    mod.add_argument("--embed-dim", type=_int, default=None, help="embed-sum embedding width (default 500)")
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
    mod.add_argument("--lr", type=_finite_float, default=1e-3, help="AdamW learning rate (default 1e-3)")
    mod.add_argument("--wd", type=_finite_float, default=1.0, help="AdamW weight decay (default 1)")
    mod.add_argument("--beta1", type=_finite_float, default=0.9, help="AdamW β₁ (default 0.9)")
    mod.add_argument(
        "--beta2", type=_finite_float, default=None, help="AdamW β₂ (default 0.999; transformer 0.98)"
    )
    mod.add_argument("--eps", type=_finite_float, default=1e-8, help="AdamW ε >= 0 (default 1e-8)")
    mod.add_argument("--steps", type=_int, default=3000, help="steps (default 3000)")
    mod.add_argument("--stride", type=_int, default=None, help="record every this many steps")
    mod.add_argument("--float64", action="store_true", help="train in float64 (default float32)")
    mod.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    mod.add_argument("--out", type=Path, default=None, help="folder for CSV + JSON results")

    phase = sub.add_parser("phase-diagram", help="four-phase map of the toy model over two hyperparameters")
    toy_options(phase)
    phase.add_argument(
        "--x",
        type=str,
        default="lr_dec:1e-5:1e-2:16:log",
        help="axis NAME:START:STOP:NUM[:log|lin], NAME one of lr_dec, wd_dec, lr_emb, wd_emb, "
        "train_frac (default lr_dec:1e-5:1e-2:16:log)",
    )
    phase.add_argument(
        "--y", type=str, default="wd_dec:0:10:11:lin", help="second axis (default wd_dec:0:10:11:lin)"
    )
    phase.add_argument(
        "--seeds", type=_int, nargs="+", default=[1], help="K: seeds 0..K-1; several: those seeds"
    )
    phase.add_argument("--gap", type=_int, default=1000, help="grokking gap G in steps (default 1000)")
    phase.add_argument(
        "--batch",
        type=_int,
        default=16,
        help="runs per vmapped chunk (default 16: on CPUs larger chunks run slower per run-step)",
    )
    phase.add_argument(
        "--progress", choices=("auto", "on", "off"), default="auto", help="progress bar on stderr"
    )
    scale_options(phase)
    _diagnostics_parsers(sub)  # issue 10: predict-grok, progress
    _solvable_parsers(sub)  # issue 11: solvable linear|dichotomy
    _weight_norm_parsers(sub)  # issue 10: weight-norm, tickets
    _inspect_parsers(sub)  # issue 18: inspect
    return parser


def toy_options(p) -> None:
    p.add_argument("--task", default="add", help="binary operation (default add)")
    p.add_argument("--p", type=_int, default=10, help="number of symbols (default 10)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--n-train", type=_int, default=None, help="training pairs (default 45)")
    g.add_argument("--train-frac", type=_finite_float, default=None, help="training fraction in (0, 1]")
    p.add_argument("--steps", type=_int, default=5000, help="training steps (default 5000)")
    p.add_argument("--stride", type=_int, default=None, help="record every this many steps")
    p.add_argument("--dim", type=_int, default=1, help="embedding dimension (default 1)")
    p.add_argument(
        "--batch-size",
        type=_int,
        default=45,
        help="training examples per step, drawn without replacement (reference code: 45); 0: full batch",
    )
    p.add_argument(
        "--variant",
        choices=("regression", "classification"),
        default="regression",
        help="regression onto random templates (default) or classification",
    )
    p.add_argument("--float64", action="store_true", help="train in float64 (default float32)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--out", type=Path, default=None, help="folder for CSV + JSON + PNG results")


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
    """Refuse an ``--out`` folder that cannot be created or written before any work is done."""
    if out is not None:
        from .results import writable_folder

        try:
            writable_folder(out, "--out")
        except ValueError as exc:
            raise UsageError(str(exc)) from None


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
            f"  grokking rate λ3   {f(rec['grokking_rate'])}   (H = 2G/(N·Z0), Z0={rec['z0']:.6g}, "
            f"N={rec['normalization']})",
            f"  n_h = 1/(η·λ3)     {f(rec['n_h'])}   (η={rec['learning_rate']:g}, Z0={rec['z0']:.6g})",
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
                f"  predicted n_h      {f(rec['n_h'])}   (Z0 = ‖E0‖² = {rec['z0']:.6g})",
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
            f"  (steps to RQI)/n_h median {f(ratio['median'])}   (n_h median {f(sm['n_h']['median'])}, "
            f"Z0 = ‖E0‖² median {f(sm['z0']['median'])})",
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


def _seed_list(values: list[int]) -> list[int]:
    if any(v < 0 for v in values):
        raise UsageError(f"--seeds must be >= 0, got {' '.join(map(str, values))}")
    if len(values) == 1:
        if not 1 <= values[0] <= 4096:
            raise UsageError(f"--seeds K must be 1..4096, got {values[0]}")
        return list(range(values[0]))
    return values


def _toy_setup(args):
    from .nets.toy import ToyConfig
    from .tasks import make_task

    task = make_task(args.task, args.p)
    stride = _stride(args)
    if not 1 <= args.dim <= 256:
        raise UsageError(f"--dim must be 1..256, got {args.dim}")
    if args.batch_size < 0:
        raise UsageError(f"--batch-size must be >= 1, or 0 for full batch; got {args.batch_size}")
    cfg = ToyConfig(
        dim=args.dim,
        variant=args.variant,
        steps=args.steps,
        stride=stride,
        float64=args.float64,
        batch_size=args.batch_size or None,
    )
    if getattr(args, "train", None) is not None:  # `train toy --train PAIRS`
        from .tasks import split_from_pairs

        if args.n_train is not None or args.train_frac is not None:
            raise UsageError("give --train or one of --n-train/--train-frac, not both")
        pairs = parse_pairs(args.train)
        try:
            size = {"train": split_from_pairs(task, pairs)}
        except ValueError as exc:
            raise UsageError(f"--train: {exc}") from None
    elif args.train_frac is not None:
        if not 0.0 < args.train_frac <= 1.0:
            raise UsageError(f"--train-frac must be in (0, 1], got {args.train_frac}")
        size = {"train_fraction": args.train_frac}
    else:
        n = 45 if args.n_train is None else args.n_train
        if not 1 <= n <= task.n_examples:
            raise UsageError(
                f"--n-train must be 1..{task.n_examples} for task {task.name!r} (p={task.p}), got {n}"
            )
        size = {"n_train": n}
    return task, cfg, size


def _stride(args) -> int:
    if not 1 <= args.steps <= 10_000_000:
        raise UsageError(f"--steps must be 1..10000000, got {args.steps}")
    stride = args.stride if args.stride is not None else max(1, args.steps // 100)
    while args.stride is None and args.steps % stride:
        stride -= 1
    if stride < 1 or args.steps % stride:
        raise UsageError(f"--stride must be >= 1 and divide --steps {args.steps}, got {stride}")
    return stride


def _step_or_none(v) -> int | None:
    from .constants import reached

    return int(v) if reached(v) else None


def _cmd_train_lazy_rich(args) -> dict:
    from .kernels.lazy_rich import make_problem
    from .nets.lazy_rich import train_lazy_rich

    stride = _stride(args)
    for name, lo, hi in (
        ("--dim", 1, 4096),
        ("--samples", 2, 100_000),
        ("--test-samples", 2, 100_000),
        ("--width", 1, 100_000),
    ):
        v = getattr(args, name[2:].replace("-", "_"))
        if not lo <= v <= hi:
            raise UsageError(f"{name} must be {lo}..{hi}, got {v}")
    if any(a <= 0 for a in args.alpha) or args.eta0 <= 0 or args.epsilon < 0 or args.theta <= 0:
        raise UsageError("need --alpha > 0, --eta0 > 0, --epsilon >= 0 and --theta > 0")
    seeds = _seed_list(args.seeds)
    prob = make_problem(args.dim, args.samples, args.test_samples, target=args.target, seed=0)
    a, s = np.meshgrid(np.asarray(args.alpha), np.asarray(seeds), indexing="ij")
    runs = train_lazy_rich(
        prob,
        width=args.width,
        epsilon=args.epsilon,
        alpha=a.ravel(),
        seeds=s.ravel(),
        eta0=args.eta0,
        steps=args.steps,
        stride=stride,
        theta=args.theta,
        float64=args.float64,
    )
    rows = [
        {
            "alpha": float(runs.alpha[k]),
            "seed": int(runs.seeds[k]),
            "t_train": _step_or_none(runs.t_train[k]),
            "t_test": _step_or_none(runs.t_test[k]),
            "grokking_amount": _step_or_none(runs.grokking_amount[k]),
            "final_train_loss": float(runs.train_loss[k, -1]),
            "final_test_loss": float(runs.test_loss[k, -1]),
            "initial_weight_norm": float(runs.weight_norm[k, 0]),
            "final_weight_norm": float(runs.weight_norm[k, -1]),
            "final_alignment": float(runs.alignment[k, -1]),
        }
        for k in range(runs.alpha.size)
    ]
    rec = {
        "model": "lazy-rich",
        "dim": args.dim,
        "samples": args.samples,
        "width": args.width,
        "epsilon": args.epsilon,
        "theta": args.theta,
        "steps": args.steps,
        "runs": rows,
    }
    return {"result": runs, "records": [rec]}


def _cmd_train_modular(args) -> dict:
    from .nets.modular import train_modular
    from .tasks import make_task

    stride = _stride(args)
    task = make_task(args.task, args.p)
    if any(not 0 < f <= 1 for f in args.train_frac):
        raise UsageError(f"--train-frac values must be in (0, 1], got {' '.join(map(str, args.train_frac))}")
    transformer = args.net == "transformer"
    if transformer:
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
            raise UsageError(
                f"{', '.join(given)} {'applies' if len(given) == 1 else 'apply'} to --model mlp and "
                "embed-sum only (the transformer has width 128, cross-entropy and ReLU)"
            )
    if args.net != "embed-sum" and args.embed_dim is not None:
        raise UsageError("--embed-dim applies to --model embed-sum only")
    if args.net == "embed-sum" and args.bias:
        raise UsageError("--bias: the embed-sum model has no biases (the paper's network)")
    args.hidden = args.hidden if args.hidden is not None else (48 if args.net == "embed-sum" else 256)
    _check_mlp_options(args)
    embed_dim = 500 if args.embed_dim is None else args.embed_dim
    if not 1 <= embed_dim <= 65536:
        raise UsageError(f"--embed-dim must be 1..65536, got {embed_dim}")
    beta2 = args.beta2 if args.beta2 is not None else (0.98 if transformer else 0.999)
    for flag, b in (("--beta1", args.beta1), ("--beta2", beta2)):
        if not 0 <= b < 1:
            raise UsageError(f"{flag} must be in [0, 1), got {b}")
    if not args.eps >= 0:
        raise UsageError(f"--eps must be >= 0, got {args.eps}")
    seeds = _seed_list(args.seeds)
    f, s = np.meshgrid(np.asarray(args.train_frac), np.asarray(seeds), indexing="ij")
    common = dict(
        train_fraction=f.ravel(),
        seeds=s.ravel(),
        learning_rate=args.lr,
        weight_decay=args.wd,
        beta1=args.beta1,
        beta2=beta2,
        eps=args.eps,
        steps=args.steps,
        stride=stride,
        float64=args.float64,
    )
    if transformer:
        from .nets.transformer import train_transformer

        runs = train_transformer(task, **common)
        config = {"model": "transformer", "d_model": 128, "n_heads": 4, "loss": "cross_entropy"}
    else:
        runs = train_modular(
            task,
            **common,
            hidden=args.hidden,
            architecture="embed_sum" if args.net == "embed-sum" else "one_hot_mlp",
            embed_dim=embed_dim,
            loss=args.loss or "mse",
            activation=args.activation or "quadratic",
            bias=args.bias,
        )
        config = {"model": args.net, **runs.config}
    config.update(
        optimizer="adamw",
        learning_rate=args.lr,
        weight_decay=args.wd,
        beta1=args.beta1,
        beta2=beta2,
        eps=args.eps,
        float64=bool(args.float64),
    )
    step_train = runs.first_crossing("train_acc", 0.99)
    rows = [
        {
            "train_fraction": float(runs.train_fraction[k]),
            "n_train": int(runs.train_mask[k].sum()),
            "seed": int(runs.seeds[k]),
            "step_train_99": _step_or_none(step_train[k]),
            "step_test_99": _step_or_none(runs.step_test_99[k]),
            "final_train_acc": float(runs.train_acc[k, -1]),
            "final_test_acc": float(runs.test_acc[k, -1]),
        }
        for k in range(runs.seeds.size)
    ]
    rec = {
        "model": "modular",
        "net": args.net,
        "task": task.name,
        "p": task.p,
        "pairs": "unordered" if task.commutative else "ordered",
        "encoding": task.encoding,
        "n_examples": task.n_examples,
        "steps": args.steps,
        "stride": stride,
        "config": config,
        "runs": rows,
    }
    return {"result": runs, "records": [rec]}


def _format_train_modular(rec: dict) -> str:
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
        net = (
            f"{c['model']}  {width}  loss {c['loss']}  activation {c['activation']}  "
            f"bias {'on' if c['bias'] else 'off'}"
        )
    lines = [
        f"modular  task {rec['task']}  p={rec['p']}  ({pairs})  steps {rec['steps']}  (recorded every "
        f"{rec['stride']}: step columns have that resolution)",
        f"  {net}",
        f"  AdamW lr {c['learning_rate']:g}  wd {c['weight_decay']:g}  β1 {c['beta1']:g}  β2 {c['beta2']:g}  "
        f"ε {c['eps']:g}  {'float64' if c['float64'] else 'float32'}",
        "  train_frac  n_train  seed  step(train≥0.99)  step(test≥0.99)  final train acc  final test acc",
    ]

    def f(v):
        return "—" if v is None else str(v)

    for r in rec["runs"]:
        lines.append(
            f"  {r['train_fraction']:>10.3g}  {r['n_train']:>7}  {r['seed']:>4}  "
            f"{f(r['step_train_99']):>16}  {f(r['step_test_99']):>15}  "
            f"{r['final_train_acc']:>15.3f}  {r['final_test_acc']:>14.3f}"
        )
    return "\n".join(lines)


def _cmd_train(args) -> dict:
    if args.model == "lazy-rich":
        return _cmd_train_lazy_rich(args)
    if args.model == "modular":
        return _cmd_train_modular(args)
    from .nets.toy import train_toy

    task, cfg, size = _toy_setup(args)
    seeds = _seed_list(args.seeds)
    runs = train_toy(
        task,
        cfg,
        seeds=seeds,
        lr_emb=args.lr_emb,
        wd_emb=args.wd_emb,
        lr_dec=args.lr_dec,
        wd_dec=args.wd_dec,
        **size,
    )

    rows = [
        {
            "seed": int(s),
            "n_train": int(runs.n_train[k]),
            "step_train_acc": _step_or_none(runs.step_train_acc[k]),
            "step_test_acc": _step_or_none(runs.step_test_acc[k]),
            "step_rqi": _step_or_none(runs.step_rqi[k]),
            "final_train_acc": float(runs.final_train_acc[k]),
            "final_test_acc": float(runs.final_test_acc[k]),
            "final_rqi": float(runs.final_rqi[k]),
        }
        for k, s in enumerate(seeds)
    ]
    rec = {
        "model": "toy",
        "task": task.name,
        "p": task.p,
        "variant": cfg.variant,
        "dim": cfg.dim,
        "steps": cfg.steps,
        "runs": rows,
    }
    return {"result": runs, "records": [rec]}


def _format_train(rec: dict) -> str:
    def f(v):
        return "—" if v is None else str(v)

    if rec["model"] == "modular":
        return _format_train_modular(rec)
    if rec["model"] != "toy":
        keys = list(rec["runs"][0])
        lines = [f"{rec['model']}  steps={rec['steps']}", "  " + "  ".join(keys)]
        lines += [
            "  " + "  ".join(f(r[k]) if not isinstance(r[k], float) else f"{r[k]:.4g}" for k in keys)
            for r in rec["runs"]
        ]
        return "\n".join(lines)

    lines = [
        f"toy model  task {rec['task']}  p={rec['p']}  {rec['variant']}  d={rec['dim']}  "
        f"steps={rec['steps']}",
        "  seed  n_train  step(train≥0.9)  step(test≥0.9)  step(RQI>0.95)  final test acc  final RQI",
    ]
    for r in rec["runs"]:
        lines.append(
            f"  {r['seed']:>4}  {r['n_train']:>7}  {f(r['step_train_acc']):>15}  "
            f"{f(r['step_test_acc']):>14}  "
            f"{f(r['step_rqi']):>14}  {r['final_test_acc']:>14.3f}  {r['final_rqi']:>9.3f}"
        )
    return "\n".join(lines)


def _parse_axis(text: str, flag: str):
    from .scan import PHASE_AXES

    parts = text.split(":")
    if len(parts) not in (4, 5) or parts[0] not in PHASE_AXES:
        raise UsageError(
            f"{flag} {text!r}: expected NAME:START:STOP:NUM[:log|lin] with NAME one of "
            f"{', '.join(PHASE_AXES)}"
        )
    name, scale = parts[0], (parts[4] if len(parts) == 5 else "lin")
    try:
        start, stop, num = float(parts[1]), float(parts[2]), int(parts[3])
    except ValueError:
        raise UsageError(f"{flag} {text!r}: START and STOP must be numbers and NUM an integer") from None
    if (
        not (math.isfinite(start) and math.isfinite(stop))
        or not 1 <= num <= 256
        or scale not in ("log", "lin")
    ):
        raise UsageError(f"{flag} {text!r}: need finite START/STOP, NUM in 1..256 and scale log or lin")
    import numpy as np

    if scale == "log":
        if start <= 0 or stop <= 0:
            raise UsageError(f"{flag} {text!r}: a log axis needs START and STOP > 0")
        values = np.logspace(math.log10(start), math.log10(stop), num)
    else:
        values = np.linspace(start, stop, num)
    if name.startswith("lr") and np.any(values <= 0):
        raise UsageError(f"{flag} {text!r}: learning rates must be > 0")
    if name.startswith("wd") and np.any(values < 0):
        raise UsageError(f"{flag} {text!r}: weight decays must be >= 0")
    if name == "train_frac" and np.any((values <= 0) | (values > 1)):
        raise UsageError(f"{flag} {text!r}: training fractions must be in (0, 1]")
    return name, values


def _cmd_phase(args) -> dict:
    from .nets.phases import PHASES
    from .scan import run_phase_diagram

    task, cfg, size = _toy_setup(args)
    x = _parse_axis(args.x, "--x")
    y = _parse_axis(args.y, "--y")
    if x[0] == y[0]:
        raise UsageError(f"--x and --y must name different axes, got {x[0]!r} twice")
    if args.gap < 0:
        raise UsageError(f"--gap must be >= 0, got {args.gap}")
    if not 1 <= args.batch <= 4096:
        raise UsageError(f"--batch must be 1..4096, got {args.batch}")
    _check_scale_args(args)
    seeds = _seed_list(args.seeds)
    n_runs = x[1].size * y[1].size * len(seeds)
    with _progress_bar(args, n_runs, "phase diagram", "run") as bar:
        res = run_phase_diagram(
            task.name,
            task.p,
            x,
            y,
            seeds=seeds,
            config=cfg.__dict__,
            gap=args.gap,
            batch=args.batch,
            workers=args.workers,
            scheduler=args.scheduler,
            out=args.out,
            progress=bar.update,
            **size,
        )
    cells = []
    for j, yv in enumerate(y[1]):
        for i, xv in enumerate(x[1]):
            fr = res["fractions"][j, i]
            cells.append(
                {
                    x[0]: float(xv),
                    y[0]: float(yv),
                    "phase": PHASES[int(fr.argmax())],
                    **{f"fraction_{name}": float(fr[k]) for k, name in enumerate(PHASES)},
                    "test_only_runs": int(res["test_only"][j, i]),
                }
            )
    rec = {
        "task": task.name,
        "p": task.p,
        "x": x[0],
        "y": y[0],
        "seeds": seeds,
        "steps": cfg.steps,
        "gap": args.gap,
        "cells": cells,
    }
    return {"result": res, "records": [rec]}


def _format_phase(rec: dict) -> str:
    from .nets.phases import PHASES

    counts = {p: sum(c["phase"] == p for c in rec["cells"]) for p in PHASES}
    return (
        f"phase diagram  task {rec['task']}  p={rec['p']}  {rec['x']} × {rec['y']}  "
        f"seeds {len(rec['seeds'])}  "
        f"steps {rec['steps']}\n  cells by majority phase: "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
    )


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
    if args.command == "solvable":
        _write_solvable(args, out, payload, prov)
        return
    if args.command in ("predict-grok", "progress"):
        _write_diagnostics(args, out, payload, prov)
        return
    if args.command in ("weight-norm", "tickets"):
        _write_weight_norm(args, out, payload, prov)
        return
    if args.command == "inspect":
        _write_inspect(args, out, payload, prov)
        return
    if args.command == "rate":
        cols = list(records[0].keys())
        write_csv_atomic(out / "rate.csv", records, cols)
        write_json_atomic(out / "rate.json", {"provenance": prov, "results": records})
        return
    if args.command == "simulate":
        _write_simulation(out, payload["result"], records[0], prov)
        return
    if args.command == "train" and args.model != "toy":
        rec = records[0]
        write_csv_atomic(out / "runs.csv", rec["runs"], list(rec["runs"][0]))
        write_json_atomic(out / "train.json", {"provenance": prov, "result": rec})
        return
    if args.command == "train":
        from .plot import plot_toy_runs
        from .results import write_npz_atomic

        rec = records[0]
        write_csv_atomic(out / "runs.csv", rec["runs"], list(rec["runs"][0]))
        write_json_atomic(out / "train.json", {"provenance": prov, "result": rec})
        r = payload["result"]
        write_npz_atomic(
            out / "curves.npz",
            steps=r.steps,
            train_acc=r.train_acc,
            test_acc=r.test_acc,
            train_loss=r.train_loss,
            test_loss=r.test_loss,
            rqi=r.rqi,
            predicted_test_acc=r.predicted_test_acc,
            embedding=r.embedding,
        )
        plot_toy_runs(r, out / "train.png")
        return
    if args.command == "phase-diagram":
        from .plot import plot_phase_diagram

        rec = records[0]
        write_csv_atomic(out / "phases.csv", rec["cells"], list(rec["cells"][0]))
        write_json_atomic(out / "phase_diagram.json", {"provenance": prov, "result": rec})
        plot_phase_diagram(payload["result"], out / "phase_diagram.png")
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


# ---------------------------------------------------------------------------------------------
# diagnostics (issue 10, parts 1 and 4): effgrok predict-grok, effgrok progress
_DEFAULT_FRACTIONS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]


def _diagnostics_parsers(sub) -> None:
    pg = sub.add_parser(
        "predict-grok",
        help="early prediction of grokking from loss logs: spectral score per run, AUC vs observed fraction",
    )
    pg.add_argument("csv", type=Path, help="CSV with columns step,loss (optional run, grokked)")
    pg.add_argument(
        "--loss-column",
        default=None,
        help="loss column (default: the first of loss, train_loss, training_loss, train/loss, ...)",
    )
    pg.add_argument(
        "--step-column",
        default=None,
        help="step column (default: the first of step, global_step, iteration, iter, _step, epoch)",
    )
    pg.add_argument("--run-column", default=None, help="run column (default: run, run_id, run_name or seed)")
    pg.add_argument(
        "--fractions",
        type=_finite_float,
        nargs="+",
        default=None,
        help="fractions of the budget observed, in (0, 1] (default 0.1 0.2 ... 1.0)",
    )
    pg.add_argument("--budget", type=_finite_float, default=None, help="budget in steps (default: last step)")
    pg.add_argument(
        "--cutoff", type=_finite_float, default=4.0, help="lowest frequency, cycles per window (default 4)"
    )
    pg.add_argument("--degree", type=_int, default=2, help="degree of the detrending polynomial (default 2)")
    pg.add_argument("--linear", action="store_true", help="score the loss itself, not its logarithm")
    pg.add_argument("--floor", type=_finite_float, default=1e-8, help="floor under the loss (default 1e-8)")
    pg.add_argument(
        "--threshold", type=_finite_float, default=0.8, help="AUC threshold reported (default 0.8)"
    )
    pg.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    pg.add_argument("--out", type=Path, default=None, help="folder for CSV + JSON + PNG results")

    pr = sub.add_parser("progress", help="representation progress measures of a fresh toy or modular run")
    psub = pr.add_subparsers(dest="model", required=True, parser_class=_Parser)
    toy = psub.add_parser("toy", help="RQI and embedding effective rank of toy-model runs")
    toy_options(toy)
    toy.add_argument("--seeds", type=_int, nargs="+", default=[4], help="K: seeds 0..K-1; several: those")
    toy.add_argument("--lr-emb", type=_finite_float, default=1e-3, help="embedding learning rate")
    toy.add_argument("--lr-dec", type=_finite_float, default=1e-4, help="decoder learning rate")
    toy.add_argument("--wd-dec", type=_finite_float, default=0.0, help="decoder weight decay")
    mod = psub.add_parser("modular", help="Fourier concentration and feature effective rank of MLP runs")
    mod.add_argument("--task", default="add-mod", help="add-mod, sub-mod, mul-mod, ... (default add-mod)")
    mod.add_argument("--p", type=_int, default=23, help="modulus p (default 23)")
    mod.add_argument("--train-frac", type=_finite_float, default=0.9, help="training fraction (default 0.9)")
    mod.add_argument("--seeds", type=_int, nargs="+", default=[2], help="K: seeds 0..K-1; several: those")
    mod.add_argument("--hidden", type=_int, default=128, help="hidden width (default 128)")
    mod.add_argument("--lr", type=_finite_float, default=1e-3, help="AdamW learning rate (default 1e-3)")
    mod.add_argument("--wd", type=_finite_float, default=1.0, help="AdamW weight decay (default 1)")
    mod.add_argument(
        "--loss",
        choices=("cross_entropy", "stablemax", "mse"),
        default="mse",
        help="loss (default mse: with quadratic units p=23 generalises at fraction 0.9 within ~1000 steps)",
    )
    mod.add_argument(
        "--activation",
        choices=("relu", "gelu", "tanh", "silu", "quadratic"),
        default="quadratic",
        help="hidden nonlinearity (default quadratic)",
    )
    mod.add_argument("--steps", type=_int, default=3000, help="steps (default 3000)")
    mod.add_argument("--stride", type=_int, default=None, help="record every this many steps")
    mod.add_argument("--snapshot-stride", type=_int, default=None, help="snapshot stride (default: stride)")
    mod.add_argument("--k", type=_int, default=5, help="key frequencies counted (default 5)")
    mod.add_argument("--float64", action="store_true", help="train in float64 (default float32)")
    mod.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    mod.add_argument("--out", type=Path, default=None, help="folder for CSV + JSON + PNG results")


def _cmd_predict_grok(args) -> dict:
    from .diagnostics.early import early_prediction_curve, min_points, read_loss_csv, spectral_scores

    fractions = _DEFAULT_FRACTIONS if args.fractions is None else args.fractions
    if any(not 0 < f <= 1 for f in fractions):
        raise UsageError(f"--fractions must be in (0, 1], got {' '.join(f'{f:g}' for f in fractions)}")
    if args.budget is not None and args.budget <= 0:
        raise UsageError(f"--budget must be > 0, got {args.budget:g}")
    if not 0 < args.threshold <= 1:
        raise UsageError(f"--threshold must be in (0, 1], got {args.threshold:g}")
    log = read_loss_csv(
        args.csv, loss_column=args.loss_column, step_column=args.step_column, run_column=args.run_column
    )
    opts = dict(cutoff=args.cutoff, degree=args.degree, log=not args.linear, floor=args.floor)
    need = min_points(args.cutoff, args.degree)
    short = [r for r, y in zip(log.runs, log.losses, strict=True) if y.size < need]
    if len(short) == len(log.runs):
        raise UsageError(f"every run has fewer than {need} records; the spectral score needs at least {need}")
    res = None
    if log.labels is not None and log.labels.any() and not log.labels.all():
        res = early_prediction_curve(
            list(log.losses), log.labels, fractions, list(log.steps), budget=args.budget, **opts
        )
        scores = res.scores
        budget = res.budget
    else:
        budget = args.budget if args.budget is not None else max(float(s[-1]) for s in log.steps)
        scores = np.stack(
            [
                spectral_scores(list(log.losses), list(log.steps), fraction=f, budget=budget, **opts)
                for f in fractions
            ]
        )

    def num(v):
        return None if not np.isfinite(v) else float(v)

    rows = [
        {
            "run": run,
            "records": int(log.losses[k].size),
            "last_step": float(log.steps[k][-1]),
            "grokked": None if log.labels is None else bool(log.labels[k]),
            "scores": [num(v) for v in scores[:, k]],
        }
        for k, run in enumerate(log.runs)
    ]
    rec = {
        "file": str(args.csv),
        "columns": log.columns,
        "budget": budget,
        "fractions": [float(f) for f in fractions],
        "cutoff": args.cutoff,
        "degree": args.degree,
        "log": not args.linear,
        "runs": rows,
        "auc": None if res is None else [num(v) for v in res.auc],
        "earliest_fraction": None if res is None else res.earliest(args.threshold),
        "threshold": args.threshold,
    }
    if log.labels is not None and res is None:
        rec["note"] = "AUC needs runs of both labels; every run has the same grokked label"
    return {"result": res, "log": log, "scores": scores, "records": [rec]}


def _format_predict_grok(rec: dict) -> str:
    def f(v, fmt="{:.3g}"):
        return "—" if v is None else fmt.format(v)

    fr = rec["fractions"]
    lines = [
        f"{rec['file']}: {len(rec['runs'])} runs, budget {rec['budget']:g} steps, spectral score "
        f"(cutoff {rec['cutoff']:g} cycles/window, detrend degree {rec['degree']}, "
        f"{'log-loss' if rec['log'] else 'loss'})",
        "  run  grokked  " + "  ".join(f"{x:>8g}" for x in fr),
    ]
    c = rec.get("columns")
    if c is not None:
        skipped = f"; {c['skipped_rows']} rows without a loss skipped" if c["skipped_rows"] else ""
        lines.insert(
            1,
            f"  columns: step {c['step']!r}, loss {c['loss']!r}, run "
            f"{'—' if c['run'] is None else repr(c['run'])}{skipped}",
        )
    for r in rec["runs"]:
        g = "—" if r["grokked"] is None else ("yes" if r["grokked"] else "no")
        lines.append(f"  {r['run']}  {g:>7}  " + "  ".join(f"{f(v):>8}" for v in r["scores"]))
    if rec["auc"] is not None:
        lines.append("  AUC       " + "  ".join(f"{f(v, '{:.3f}'):>8}" for v in rec["auc"]))
        e = rec["earliest_fraction"]
        lines.append(
            f"  earliest fraction with AUC ≥ {rec['threshold']:g}: {'never' if e is None else f'{e:g}'}"
        )
    elif rec.get("note"):
        lines.append(f"  {rec['note']}")
    return "\n".join(lines)


def _cmd_progress(args) -> dict:
    from .diagnostics.progress import modular_progress, toy_progress

    seeds = _seed_list(args.seeds)
    if args.model == "toy":
        from .nets.toy import train_toy

        task, cfg, size = _toy_setup(args)
        if args.lr_emb <= 0 or args.lr_dec <= 0 or args.wd_dec < 0:
            raise UsageError("need --lr-emb > 0, --lr-dec > 0 and --wd-dec >= 0")
        runs = train_toy(
            task, cfg, seeds=seeds, lr_emb=args.lr_emb, lr_dec=args.lr_dec, wd_dec=args.wd_dec, **size
        )
        prog = toy_progress(runs, task)
    else:
        from .nets.modular import train_modular
        from .tasks import make_task

        stride = _stride(args)
        task = make_task(args.task, args.p)
        if not 0 < args.train_frac <= 1:
            raise UsageError(f"--train-frac must be in (0, 1], got {args.train_frac}")
        _check_mlp_options(args)
        snap = stride if args.snapshot_stride is None else args.snapshot_stride
        if snap < 1 or snap % stride or args.steps % snap:
            raise UsageError(
                f"--snapshot-stride must be a multiple of the stride {stride} that divides "
                f"--steps {args.steps}, got {snap}"
            )
        if not 1 <= args.k <= task.n_symbols // 2:
            raise UsageError(f"--k must be 1..{task.n_symbols // 2} for p={task.n_symbols}, got {args.k}")
        runs = train_modular(
            task,
            train_fraction=args.train_frac,
            seeds=seeds,
            hidden=args.hidden,
            lr=args.lr,
            weight_decay=args.wd,
            steps=args.steps,
            stride=stride,
            snapshot_stride=snap,
            float64=args.float64,
            loss=args.loss,
            activation=args.activation,
        )
        prog = modular_progress(runs, task, k=args.k, activation=args.activation)

    from .constants import first_crossing

    first_hit = first_crossing(prog.test_acc, prog.steps, 0.9)
    rows = []
    for r, s in enumerate(seeds):
        row = {
            "seed": int(s),
            "step_test_acc_0.9": _step_or_none(first_hit[r]),
            "final_test_acc": float(prog.test_acc[r, -1]),
        }
        for name, v in prog.measures.items():
            row[f"initial_{name}"] = float(v[r, 0])
            row[f"final_{name}"] = float(v[r, -1])
        rows.append(row)
    rec = {"model": prog.model, "task": task.name, "p": task.p, "steps": args.steps, "runs": rows}
    return {"result": prog, "records": [rec]}


def _format_progress(rec: dict) -> str:
    keys = list(rec["runs"][0])
    lines = [f"progress measures  {rec['model']}  task {rec['task']}  p={rec['p']}  steps={rec['steps']}"]
    lines.append("  " + "  ".join(keys))
    for r in rec["runs"]:
        lines.append(
            "  "
            + "  ".join(
                "—" if r[k] is None else (f"{r[k]:.4g}" if isinstance(r[k], float) else str(r[k]))
                for k in keys
            )
        )
    return "\n".join(lines)


def _write_diagnostics(args, out: Path, payload: dict, prov: dict) -> None:
    from .plot_diagnostics import plot_early_prediction, plot_progress, plot_scores
    from .results import write_csv_atomic, write_json_atomic

    rec = payload["records"][0]
    if args.command == "predict-grok":
        rows = [
            {"run": r["run"], "grokked": r["grokked"], "fraction": f, "score": s}
            for r in rec["runs"]
            for f, s in zip(rec["fractions"], r["scores"], strict=True)
        ]
        write_csv_atomic(out / "scores.csv", rows, ["run", "grokked", "fraction", "score"])
        if rec["auc"] is not None:
            write_csv_atomic(
                out / "auc.csv",
                [{"fraction": f, "auc": a} for f, a in zip(rec["fractions"], rec["auc"], strict=True)],
                ["fraction", "auc"],
            )
            log = payload["log"]
            plot_early_prediction(
                payload["result"],
                out / "predict_grok.png",
                curves=list(log.losses),
                steps=list(log.steps),
                threshold=rec["threshold"],
            )
        else:
            plot_scores(
                rec["fractions"], payload["scores"], list(payload["log"].runs), out / "predict_grok.png"
            )
        write_json_atomic(out / "predict_grok.json", {"provenance": prov, "result": rec})
        return
    prog = payload["result"]
    rows = prog.rows()
    write_csv_atomic(out / "progress.csv", rows, list(rows[0]))
    write_json_atomic(out / "progress.json", {"provenance": prov, "result": rec})
    plot_progress(prog, out / "progress.png")


# ---------------------------------------------------------------------------------------------
# end of diagnostics


# ---------------------------------------------------------------------------------------------
# weight norm and grokking tickets (issue 10, parts 2 and 3): effgrok weight-norm, effgrok tickets


def _weight_norm_parsers(sub) -> None:
    wn = sub.add_parser("weight-norm", help="Omnigrok on the digits: reduced landscape (L/U) and α sweep")
    wsub = wn.add_subparsers(dest="mode", required=True, parser_class=_Parser)
    rl = wsub.add_parser("reduced-landscape", help="train at fixed weight norms: final losses vs norm")
    rl.add_argument(
        "--norms",
        type=_finite_float,
        nargs="+",
        default=[0.25, 0.35, 0.5, 0.71, 1.0, 1.41, 2.0, 2.83, 4.0],
        help="fixed norms in units of the standard init norm w0 (increasing)",
    )
    rl.add_argument("--fixed-lr", action="store_true", help="same lr at every norm (default: lr·w/w0)")
    al = wsub.add_parser("alpha-sweep", help="time to generalise against the initialisation scale α")
    al.add_argument(
        "--alpha", type=_finite_float, nargs="+", default=[0.5, 1.0, 2.0, 4.0, 8.0], help="α values"
    )
    al.add_argument("--wd", type=_finite_float, default=1.0, help="AdamW weight decay (default 1)")
    al.add_argument("--test-threshold", type=_finite_float, default=0.9, help="test accuracy level (0.9)")
    for p in (rl, al):
        p.add_argument("--n-train", type=_int, default=500, help="training images (default 500)")
        p.add_argument("--data-seed", type=_int, default=0, help="seed of the train/test split (default 0)")
        p.add_argument("--seeds", type=_int, nargs="+", default=[1], help="K: seeds 0..K-1; several: those")
        p.add_argument("--width", type=_int, default=200, help="hidden width (default 200)")
        p.add_argument("--depth", type=_int, default=3, help="weight layers (default 3)")
        p.add_argument("--lr", type=_finite_float, default=1e-3, help="AdamW learning rate (default 1e-3)")
        p.add_argument("--steps", type=_int, default=2000, help="steps (default 2000)")
        p.add_argument("--stride", type=_int, default=None, help="record every this many steps")
        p.add_argument("--float64", action="store_true", help="train in float64 (default float32)")
        p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
        p.add_argument("--out", type=Path, default=None, help="folder for CSV + JSON + PNG results")
    tk = sub.add_parser("tickets", help="grokking tickets: pruned subnetworks vs dense and norm-matched nets")
    tk.add_argument("--task", default="add-mod", help="add-mod, sub-mod, ... (default add-mod)")
    tk.add_argument("--p", type=_int, default=47, help="modulus p (default 47; the paper: 67)")
    tk.add_argument(
        "--train-frac",
        type=_finite_float,
        default=0.4,
        help="training fraction of the task's examples (unordered pairs for add-mod; default 0.4)",
    )
    tk.add_argument(
        "--pruned-fraction",
        type=_finite_float,
        default=0.6,
        help="fraction of weights pruned (default 0.6 = the paper's sparsity 0.4, the fraction kept)",
    )
    tk.add_argument("--seeds", type=_int, nargs="+", default=[2], help="K: seeds 0..K-1; several: those")
    tk.add_argument(
        "--architecture",
        choices=("embed_sum", "one_hot_mlp"),
        default="embed_sum",
        help="the paper's embedding-sum MLP (default) or the one-hot MLP",
    )
    tk.add_argument("--hidden", type=_int, default=48, help="hidden (projection) width (default 48)")
    tk.add_argument("--embed-dim", type=_int, default=128, help="embedding width, embed_sum (default 128)")
    tk.add_argument(
        "--lr", type=_finite_float, default=1e-2, help="AdamW learning rate (default 1e-2; the paper: 1e-3)"
    )
    tk.add_argument(
        "--wd", type=_finite_float, default=1.0, help="AdamW weight decay (default 1, as the paper)"
    )
    tk.add_argument("--beta2", type=_finite_float, default=0.98, help="AdamW beta2 (default 0.98)")
    tk.add_argument("--steps", type=_int, default=6000, help="steps of every run (default 6000)")
    tk.add_argument("--stride", type=_int, default=None, help="record every this many steps")
    tk.add_argument("--threshold", type=_finite_float, default=0.99, help="val accuracy level (default 0.99)")
    tk.add_argument(
        "--match", choices=("l1l2", "l2", "l1"), default="l1l2", help="norms of the dense control"
    )
    tk.add_argument("--float64", action="store_true", help="train in float64 (default float32)")
    tk.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    tk.add_argument("--out", type=Path, default=None, help="folder for CSV + JSON + PNG results")


def _num(v):
    v = float(v)
    return v if math.isfinite(v) else None


def _check_digits_args(args) -> None:
    from .nets.digits import N_IMAGES

    if not 1 <= args.n_train < N_IMAGES:
        raise UsageError(f"--n-train must be 1..{N_IMAGES - 1}, got {args.n_train}")
    if args.data_seed < 0:
        raise UsageError(f"--data-seed must be >= 0, got {args.data_seed}")
    if not 1 <= args.width <= 4096 or not 1 <= args.depth <= 16 or args.lr <= 0:
        raise UsageError("need --width 1..4096, --depth 1..16 and --lr > 0")


def _cmd_weight_norm(args) -> dict:
    import itertools

    from .diagnostics.weight_norm import alpha_sweep, reduced_landscape
    from .nets.digits import load_digits_split

    _check_digits_args(args)
    stride = _stride(args)
    seeds = _seed_list(args.seeds)
    data = load_digits_split(args.n_train, seed=args.data_seed)
    common = dict(
        seeds=seeds,
        width=args.width,
        depth=args.depth,
        lr=args.lr,
        steps=args.steps,
        stride=stride,
        float64=args.float64,
    )
    if args.mode == "reduced-landscape":
        if any(v <= 0 for v in args.norms) or any(b <= a for a, b in itertools.pairwise(args.norms)):
            raise UsageError("--norms must be positive and strictly increasing")
        rl = reduced_landscape(data, args.norms, scale_lr=not args.fixed_lr, **common)
        rows = [
            {
                "relative_norm": float(rl.relative[i]),
                "norm": float(rl.norms[i]),
                "train_loss": float(rl.train_loss[i]),
                "test_loss": float(rl.test_loss[i]),
                "train_acc": float(rl.train_acc[i]),
                "test_acc": float(rl.test_acc[i]),
            }
            for i in range(rl.norms.size)
        ]
        sh = rl.shape
        rec = {
            "mode": args.mode,
            "n_train": args.n_train,
            "steps": args.steps,
            "w0": rl.w0,
            "w_test_min": sh.w_test_min,
            "l_ratio": _num(sh.l_ratio),
            "u_left": sh.u_left,
            "u_right": sh.u_right,
            "is_l": sh.is_l,
            "is_u": sh.is_u,
            "rows": rows,
        }
        return {"result": rl, "records": [rec]}
    if any(a <= 0 for a in args.alpha) or args.wd < 0:
        raise UsageError(
            "need --alpha values > 0 and --wd >= 0, got --alpha "
            f"{' '.join(map(str, args.alpha))} --wd {args.wd}"
        )
    if args.wd > 0 and args.lr * args.wd >= 1:
        raise UsageError(f"need --lr × --wd < 1, got {args.lr * args.wd:g}")
    if not 0 < args.test_threshold <= 1:
        raise UsageError(f"--test-threshold must be in (0, 1], got {args.test_threshold:g}")
    sw = alpha_sweep(data, args.alpha, weight_decay=args.wd, test_threshold=args.test_threshold, **common)
    rows = [
        {
            "alpha": float(a),
            "seed": int(s),
            "t_train": _step_or_none(sw.t_train[i, j]),
            "t_test": _step_or_none(sw.t_test[i, j]),
            "initial_norm": float(sw.runs.weight_norm[i * len(seeds) + j, 0]),
            "final_norm": float(sw.runs.weight_norm[i * len(seeds) + j, -1]),
            "final_test_acc": float(sw.final_test_acc[i, j]),
            "decay_time": _num(sw.decay_time[i]),
        }
        for i, a in enumerate(sw.alphas)
        for j, s in enumerate(seeds)
    ]
    rec = {
        "mode": args.mode,
        "n_train": args.n_train,
        "steps": args.steps,
        "weight_decay": args.wd,
        "median_t_test": [_num(v) for v in sw.median_t_test],
        "rows": rows,
    }
    return {"result": sw, "records": [rec]}


def _cmd_tickets(args) -> dict:
    from .diagnostics.tickets import grokking_tickets
    from .tasks import make_task

    stride = _stride(args)
    task = make_task(args.task, args.p)
    if not 0 < args.train_frac < 1:
        raise UsageError(f"--train-frac must be in (0, 1), got {args.train_frac}")
    if not 0 <= args.pruned_fraction < 1 or not 0 < args.threshold <= 1:
        raise UsageError(
            f"need --pruned-fraction in [0, 1) and --threshold in (0, 1], got {args.pruned_fraction} "
            f"and {args.threshold}"
        )
    if not 1 <= args.embed_dim <= 65536:
        raise UsageError(f"--embed-dim must be 1..65536, got {args.embed_dim}")
    if not 0 <= args.beta2 < 1:
        raise UsageError(f"--beta2 must be in [0, 1), got {args.beta2}")
    _check_mlp_options(args)
    seeds = _seed_list(args.seeds)
    st = grokking_tickets(
        task,
        seeds=seeds,
        train_fraction=args.train_frac,
        pruned_fraction=args.pruned_fraction,
        architecture=args.architecture,
        hidden=args.hidden,
        embed_dim=args.embed_dim,
        learning_rate=args.lr,
        weight_decay=args.wd,
        beta2=args.beta2,
        steps=args.steps,
        stride=stride,
        threshold=args.threshold,
        match=args.match,
        float64=args.float64,
    )
    rows = [
        {
            "variant": v,
            "seed": int(s),
            "t_gen": _step_or_none(st.t_gen[v][j]),
            "init_l1": float(st.norms[v][j, 0]),
            "init_l2": float(st.norms[v][j, 1]),
            "final_test_acc": float(st.curves[v][j, -1]),
        }
        for v in st.t_gen
        for j, s in enumerate(seeds)
    ]
    rec = {
        "task": task.name,
        "p": task.p,
        "pruned_fraction": args.pruned_fraction,
        "kept_fraction": st.kept_fraction,
        "architecture": args.architecture,
        "pairs": st.settings["pairs"],
        "threshold": args.threshold,
        "steps": args.steps,
        "memorization_step": [_step_or_none(v) for v in st.memorization_step],
        "rows": rows,
    }
    return {"result": st, "records": [rec]}


def _format_weight_norm(rec: dict) -> str:
    def f(v):
        return "—" if v is None else str(v)

    if rec["mode"] == "reduced-landscape":
        lines = [
            f"reduced landscape  digits n_train={rec['n_train']}  steps={rec['steps']}  w0={rec['w0']:.4g}",
            "  w/w0      train loss   test loss   train acc  test acc",
        ]
        lines += [
            f"  {r['relative_norm']:<8.3g}  {r['train_loss']:.3e}    {r['test_loss']:.3e}   "
            f"{r['train_acc']:.3f}      {r['test_acc']:.3f}"
            for r in rec["rows"]
        ]
        lines.append(
            f"  L ratio {'inf' if rec['l_ratio'] is None else format(rec['l_ratio'], '.3g')} "
            f"({'L' if rec['is_l'] else 'not L'})   U {rec['u_left']:.3g} / "
            f"{rec['u_right']:.3g} ({'U' if rec['is_u'] else 'not U'})"
        )
        return "\n".join(lines)
    lines = [
        f"alpha sweep  digits n_train={rec['n_train']}  steps={rec['steps']}  wd={rec['weight_decay']:g}",
        "  alpha  seed  t_train  t_test  initial norm  final norm  final test acc",
    ]
    lines += [
        f"  {r['alpha']:<5g}  {r['seed']:>4}  {f(r['t_train']):>7}  {f(r['t_test']):>6}  "
        f"{r['initial_norm']:>12.4g}  {r['final_norm']:>10.4g}  {r['final_test_acc']:>14.3f}"
        for r in rec["rows"]
    ]
    return "\n".join(lines)


def _format_tickets(rec: dict) -> str:
    def f(v):
        return "—" if v is None else str(v)

    lines = [
        f"grokking tickets  task {rec['task']} ({rec['pairs']} pairs)  p={rec['p']}  {rec['architecture']}  "
        f"pruned {rec['pruned_fraction']:g} (kept {rec['kept_fraction']:g})  "
        f"steps={rec['steps']}  t_gen: test acc ≥ {rec['threshold']:g}",
        "  variant               seed  t_gen   init L1     init L2   final test acc",
    ]
    lines += [
        f"  {r['variant']:<20}  {r['seed']:>4}  {f(r['t_gen']):>5}  {r['init_l1']:>9.4g}  "
        f"{r['init_l2']:>9.4g}  {r['final_test_acc']:.3f}"
        for r in rec["rows"]
    ]
    return "\n".join(lines)


def _write_weight_norm(args, out: Path, payload: dict, prov: dict) -> None:
    from .plot_diagnostics import plot_alpha_sweep, plot_reduced_landscape, plot_tickets
    from .results import write_csv_atomic, write_json_atomic

    rec = payload["records"][0]
    name = "tickets" if args.command == "tickets" else args.mode.replace("-", "_")
    write_csv_atomic(out / f"{name}.csv", rec["rows"], list(rec["rows"][0]))
    write_json_atomic(out / f"{name}.json", {"provenance": prov, "result": rec})
    plot = {"tickets": plot_tickets, "reduced_landscape": plot_reduced_landscape}.get(name, plot_alpha_sweep)
    plot(payload["result"], out / f"{name}.png")


# ---------------------------------------------------------------------------------------------
# solvable models (issue 11): effgrok solvable linear|dichotomy


def _solvable_parsers(sub) -> None:
    sp = sub.add_parser(
        "solvable", help="closed-form grokking times of solvable models, optionally simulated"
    )
    ssub = sp.add_subparsers(dest="model", required=True, parser_class=_Parser)

    def io(p):
        p.add_argument("--simulate", action="store_true", help="also run the simulation beside the theory")
        p.add_argument("--seeds", type=_int, default=None, help="simulated seeds (default 4 / 1)")
        p.add_argument("--steps", type=_int, default=None, help="simulated steps (default: from the theory)")
        p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
        p.add_argument("--out", type=Path, default=None, help="folder for CSV + JSON + PNG results")

    lin = ssub.add_parser("linear", help="linear teacher–student (Levi, Beck & Bar-Sinai): grokking gap vs λ")
    lin.add_argument(
        "--lam", type=_finite_float, nargs="+", default=[0.1, 0.3, 0.5, 0.7, 0.9], help="λ = d_in/N_train"
    )
    lin.add_argument("--eta0", type=_finite_float, default=0.01, help="GD step η₀ (default 0.01)")
    lin.add_argument(
        "--epsilon", type=_finite_float, default=1e-3, help="accuracy tolerance ε (default 1e-3)"
    )
    lin.add_argument("--level", type=_finite_float, default=0.95, help="accuracy level (default 0.95)")
    lin.add_argument("--d-out", type=_int, default=1, help="output dimension (default 1)")
    lin.add_argument("--d-in", type=_int, default=1000, help="simulated input dimension (default 1000)")
    io(lin)
    dic = ssub.add_parser("dichotomy", help="kernel→rich transition t* = log(α)/λ (Lyu et al.)")
    dic.add_argument(
        "--alpha", type=_finite_float, nargs="+", default=[2.0, 4.0, 8.0], help="init scales > 1"
    )
    dic.add_argument("--wd", type=_finite_float, nargs="+", default=[1e-4], help="weight decays λ > 0")
    dic.add_argument("--lr", type=_finite_float, default=0.002, help="GD step η (default 0.002)")
    dic.add_argument("--c", type=_finite_float, default=0.5, help="window half-width c in (0, 1)")
    dic.add_argument("--p", type=_int, default=97, help="simulated modulus (default 97)")
    dic.add_argument("--hidden", type=_int, default=1024, help="simulated width (default 1024)")
    dic.add_argument("--train-frac", type=_finite_float, default=0.4, help="training fraction (default 0.4)")
    dic.add_argument("--stride", type=_int, default=None, help="record every this many steps")
    dic.add_argument("--float64", action="store_true", help="simulate in float64 (default float32)")
    io(dic)


def _cmd_solvable(args) -> dict:
    if args.seeds is not None and not 1 <= args.seeds <= 4096:
        raise UsageError(f"--seeds must be 1..4096, got {args.seeds}")
    if args.model == "linear":
        return _cmd_solvable_linear(args)
    return _cmd_solvable_dichotomy(args)


def _cmd_solvable_linear(args) -> dict:
    from .solvable import linear

    if any(not 0 < v < 1 for v in args.lam):
        raise UsageError(f"--lam values must be in (0, 1) (the gap diverges at 1), got {args.lam}")
    if not 1 <= args.d_in <= 20000:
        raise UsageError(f"--d-in must be 1..20000, got {args.d_in}")
    gaps = [
        linear.grokking_gap(lam, args.eta0, args.epsilon, level=args.level, d_out=args.d_out)
        for lam in args.lam
    ]
    horizon = max(g.t_gen for g in gaps)
    if args.steps is None and not 0 < 1.5 * horizon < 10_000_000:
        raise UsageError(f"the theory's horizon of {horizon:.4g} steps is out of range; give --steps")
    steps = args.steps if args.steps is not None else math.ceil(1.5 * horizon) + 1
    if not 1 <= steps <= 10_000_000:
        raise UsageError(f"--steps must be 1..10000000, got {steps}")
    t = np.unique(np.concatenate([[0.0], np.geomspace(1.0, steps, 200)]))
    curves = [linear.mp_losses(t, lam, args.eta0, d_out=args.d_out) for lam in args.lam]
    rows, sims = [], []
    for lam, g in zip(args.lam, gaps, strict=True):
        row = {
            "lam": lam,
            "t_train": g.t_train,
            "t_gen": g.t_gen,
            "gap": g.gap,
            "gap_asymptotic": g.gap_asymptotic,
        }
        if args.simulate:
            n_train = max(1, round(args.d_in / lam))
            sim = linear.simulate(
                args.d_in,
                n_train,
                d_out=args.d_out,
                eta0=args.eta0,
                epsilon=args.epsilon,
                level=args.level,
                steps=steps,
                seeds=args.seeds or 4,
                seed=0,
            )
            sims.append(sim)
            gap = sim.gap[np.isfinite(sim.gap)]
            row.update(
                n_train=n_train,
                sim_gap_mean=float(gap.mean()) if gap.size else None,
                sim_gap_sd=float(gap.std(ddof=1)) if gap.size > 1 else None,
                sim_seeds_reached=int(gap.size),
                sim_rel_error=float(gap.mean() / g.gap - 1) if gap.size else None,
            )
        rows.append(row)
    rec = {
        "model": "linear",
        "eta0": args.eta0,
        "epsilon": args.epsilon,
        "level": args.level,
        "d_out": args.d_out,
        "d_in": args.d_in if args.simulate else None,
        "steps": steps,
        "loss_level": gaps[0].loss_level,
        "rows": rows,
    }
    fig = {
        "lam": list(args.lam),
        "time": t,
        "train_loss": [c[0] for c in curves],
        "generalization_loss": [c[1] for c in curves],
        "gap": [g.gap for g in gaps],
        "gap_asymptotic": [g.gap_asymptotic for g in gaps],
        "loss_level": gaps[0].loss_level,
    }
    if sims:
        fig.update(
            sim_time=[s.time for s in sims],
            sim_train_loss=[s.train_loss.mean(axis=0) for s in sims],
            sim_generalization_loss=[s.generalization_loss.mean(axis=0) for s in sims],
            sim_gap=[s.gap[np.isfinite(s.gap)] for s in sims],
        )
    return {"result": fig, "records": [rec]}


def _cmd_solvable_dichotomy(args) -> dict:
    from .solvable import dichotomy

    if any(not a > 1 for a in args.alpha) or any(not w > 0 for w in args.wd):
        raise UsageError(
            "--alpha values must be > 1 and --wd values > 0, got --alpha "
            f"{' '.join(map(str, args.alpha))} --wd {' '.join(map(str, args.wd))}"
        )
    if not args.lr > 0 or not 0 < args.c < 1:
        raise UsageError(f"need --lr > 0 and --c in (0, 1), got --lr {args.lr:g} --c {args.c:g}")
    if any(args.lr * w >= 1 for w in args.wd):
        raise UsageError("need --lr × --wd < 1 for every --wd")
    a, w = (g.ravel() for g in np.meshgrid(np.asarray(args.alpha), np.asarray(args.wd), indexing="ij"))
    t_star = dichotomy.transition_time(a, w)
    lo, hi = dichotomy.transition_window(a, w, args.c)
    k_star = dichotomy.transition_step(a, w, args.lr)
    rows = [
        {
            "alpha": float(a[i]),
            "weight_decay": float(w[i]),
            "t_star": float(t_star[i]),
            "t_low": float(lo[i]),
            "t_high": float(hi[i]),
            "step_star": float(k_star[i]),
        }
        for i in range(a.size)
    ]
    rec = {
        "model": "dichotomy",
        "lr": args.lr,
        "c": args.c,
        "homogeneity": 2,
        "rows": rows,
        "simulation": None,
    }
    fig = {"alpha": a, "weight_decay": w, "t_star": t_star}
    if args.simulate:
        from .tasks import make_task

        if not 3 <= args.p <= 257 or not 1 <= args.hidden <= 8192 or not 0 < args.train_frac < 1:
            raise UsageError("need --p 3..257, --hidden 1..8192 and --train-frac in (0, 1)")
        horizon = 2.0 * float(np.max(k_star))
        if args.steps is None and not 0 < horizon < 10_000_000:
            raise UsageError(
                f"twice the predicted transition is {horizon:.4g} steps, out of range; give --steps"
            )
        steps = args.steps if args.steps is not None else math.ceil(horizon)
        args.steps = steps
        stride = _stride(args)
        seeds = np.arange(args.seeds or 1)
        runs = dichotomy.simulate(
            make_task("add-mod", args.p),
            np.repeat(a, seeds.size),
            np.repeat(w, seeds.size),
            seeds=np.tile(seeds, a.size),
            lr=args.lr,
            hidden=args.hidden,
            train_fraction=args.train_frac,
            steps=steps,
            stride=stride,
            float64=args.float64,
        )
        fits = {}
        for name, x, group in (
            ("log_alpha", np.log(runs.alpha), runs.weight_decay),
            ("inv_wd", 1 / runs.weight_decay, runs.alpha),
        ):
            for gval in np.unique(group):
                m = group == gval
                try:
                    f = dichotomy.fit_line(x[m], runs.transition_time[m])
                except ValueError:
                    continue
                pred = 1 / gval if name == "log_alpha" else math.log(gval)
                fits[f"{name}@{gval:g}"] = {
                    "slope": f.slope,
                    "slope_ci": list(f.slope_ci),
                    "predicted_slope": pred,
                    "r2": f.r2,
                    "n": f.n,
                }
        rec["simulation"] = {
            "p": args.p,
            "hidden": args.hidden,
            "train_frac": args.train_frac,
            "steps": steps,
            "runs": [
                {
                    "alpha": float(runs.alpha[k]),
                    "weight_decay": float(runs.weight_decay[k]),
                    "seed": int(runs.seeds[k]),
                    "predicted_step": float(runs.predicted_step[k]),
                    "transition_step": None
                    if math.isnan(runs.transition_step[k])
                    else float(runs.transition_step[k]),
                    "plateau": None if math.isnan(runs.plateau[k]) else float(runs.plateau[k]),
                    "kernel_exit_step": None
                    if math.isnan(runs.kernel_exit_step[k])
                    else float(runs.kernel_exit_step[k]),
                    "final_test_acc": float(runs.final[k]),
                }
                for k in range(runs.alpha.size)
            ],
            "fits": fits,
        }
        fig["sim"] = {
            "lr": runs.lr,
            "steps": runs.steps,
            "alpha": runs.alpha,
            "weight_decay": runs.weight_decay,
            "test_acc": runs.test_acc,
            "transition_time": runs.transition_time,
            "predicted_time": runs.predicted_time,
        }
    return {"result": fig, "records": [rec]}


def _format_solvable(rec: dict) -> str:
    def num(v):
        return "—" if v is None else f"{v:.4g}"

    if rec["model"] == "linear":
        lines = [
            f"linear teacher–student  η₀={rec['eta0']:g}  ε={rec['epsilon']:g}  level {rec['level']:g}  "
            f"d_out={rec['d_out']}  (loss level {rec['loss_level']:.4g})"
        ]
        for r in rec["rows"]:
            line = (
                f"  λ={r['lam']:<5g} t_train {num(r['t_train'])}  t_gen {num(r['t_gen'])}  "
                f"gap {num(r['gap'])}  long-time form {num(r['gap_asymptotic'])}"
            )
            if "sim_gap_mean" in r:
                line += f"  simulated gap {num(r['sim_gap_mean'])} ({num(r['sim_rel_error'])} rel.)"
            lines.append(line)
        return "\n".join(lines)
    lines = [f"kernel→rich dichotomy  η={rec['lr']:g}  c={rec['c']:g}  t* = log(α)/λ (t = η·step)"]
    for r in rec["rows"]:
        lines.append(
            f"  α={r['alpha']:<6g} λ={r['weight_decay']:<8g} t* {r['t_star']:.4g}  "
            f"window [{r['t_low']:.4g}, {r['t_high']:.4g}]  steps {r['step_star']:.4g}"
        )
    sim = rec["simulation"]
    if sim is not None:
        lines.append(f"  simulated: add-mod {sim['p']}, width {sim['hidden']}, {sim['steps']} steps")
        for r in sim["runs"]:
            lines.append(
                f"    α={r['alpha']:<6g} λ={r['weight_decay']:<8g} seed {r['seed']}  predicted step "
                f"{r['predicted_step']:.4g}  measured {num(r['transition_step'])}  final test acc "
                f"{r['final_test_acc']:.3f}"
            )
        for name, f in sim["fits"].items():
            lo, hi = f["slope_ci"]
            lines.append(
                f"    fit t vs {name}: slope {f['slope']:.4g} [{lo:.4g}, {hi:.4g}]  "
                f"predicted {f['predicted_slope']:.4g}  R² {f['r2']:.3f}"
            )
    return "\n".join(lines)


def _write_solvable(args, out: Path, payload: dict, prov: dict) -> None:
    from .plot_solvable import plot_dichotomy, plot_linear
    from .results import write_csv_atomic, write_json_atomic

    rec = payload["records"][0]
    write_csv_atomic(out / f"{args.model}.csv", rec["rows"], list(rec["rows"][0]))
    if args.model == "dichotomy" and rec["simulation"] is not None:
        runs = rec["simulation"]["runs"]
        write_csv_atomic(out / "simulation.csv", runs, list(runs[0]))
    write_json_atomic(out / f"{args.model}.json", {"provenance": prov, "result": rec})
    (plot_linear if args.model == "linear" else plot_dichotomy)(payload["result"], out / f"{args.model}.png")


# end of solvable models


# ---------------------------------------------------------------------------------------------
# inspect (issue 18): effgrok's numbers on a user's own embedding or checkpoints


def _inspect_parsers(sub) -> None:
    from .tasks import TASK_NAMES

    ins = sub.add_parser(
        "inspect",
        help="effgrok's numbers on your own network: an embedding or a series of checkpoints",
    )
    tg = ins.add_mutually_exclusive_group(required=True)
    tg.add_argument("--task", choices=TASK_NAMES, help="binary operation (with --p)")
    tg.add_argument("--table", type=Path, help="operation table table[a,b] = result (.npy/.npz/.csv)")
    ins.add_argument("--p", type=_int, default=None, help="number of symbols (modulus) of --task")
    ins.add_argument(
        "--embedding",
        required=True,
        help="embedding file (.npy .npz .safetensors .csv .pt .pth), or a folder or glob of checkpoints",
    )
    ins.add_argument("--tensor", default=None, help="tensor name in the file (default: the only fitting one)")
    ins.add_argument(
        "--vocab",
        type=_int,
        default=None,
        help="the symbol axis has this many entries (extra tokens); its first p are the symbols",
    )
    sg = ins.add_mutually_exclusive_group(required=True)
    sg.add_argument("--train", type=str, help="training pairs of symbols, e.g. '0,1 2,3'")
    sg.add_argument(
        "--train-file", type=Path, help="training pairs (CSV a,b or .npy (n,2)) or a 0/1 mask (.npy/.csv)"
    )
    ins.add_argument(
        "--steps", type=_int, nargs="+", default=None, help="checkpoint steps (default: file names)"
    )
    ins.add_argument("--lr", type=_finite_float, default=1e-3, help="learning rate η for n_h (default 1e-3)")
    ins.add_argument(
        "--z0", type=_finite_float, default=None, help="Z0 for n_h (default: the rate command's)"
    )
    ins.add_argument(
        "--normalization", choices=("sum", "mean"), default="sum", help="effective-loss N (default sum)"
    )
    ins.add_argument("--accuracy", type=_finite_float, default=None, help="your measured test accuracy")
    ins.add_argument(
        "--k", type=_int, default=None, help="frequencies in the Fourier concentration (default 5, or p//2)"
    )
    ins.add_argument(
        "--key-power",
        type=_finite_float,
        default=0.9,
        help="power share of the key frequencies (default 0.9)",
    )
    ins.add_argument(
        "--flow-time",
        choices=("fit", "lr"),
        default="fit",
        help="series: time axis of the effective-loss flow, fitted (default) or --lr per step",
    )
    ins.add_argument("--no-flow", action="store_true", help="series: no effective-loss flow overlay")
    ins.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    ins.add_argument("--out", type=Path, default=None, help="folder for CSV + JSON + PNG results")


def _inspect_task(args):
    from .diagnostics.loaders import load_table
    from .tasks import make_task, task_from_table

    if args.table is not None:
        if args.p is not None:
            raise UsageError("--p belongs to --task; an operation table (--table) sets the symbols itself")
        return task_from_table(load_table(args.table), name=args.table.stem)
    return make_task(args.task, args.p)


def _cmd_inspect(args) -> dict:
    import glob

    from .diagnostics.inspection import inspect_embedding, inspect_series
    from .diagnostics.loaders import load_checkpoints, load_embedding, load_pairs

    task = _inspect_task(args)  # option values are checked by the library functions
    train = np.asarray(parse_pairs(args.train)) if args.train is not None else load_pairs(args.train_file)
    rows = (task.n_slots, task.n_symbols)
    opts = dict(learning_rate=args.lr, z0=args.z0, normalization=args.normalization, k=args.k)
    opts["key_power"] = args.key_power
    series = Path(args.embedding).is_dir() or glob.has_magic(args.embedding)
    if not series:
        if args.steps is not None:
            raise UsageError("--steps belongs to a series of checkpoints (a folder or a glob as --embedding)")
        loaded = load_embedding(args.embedding, rows, tensor=args.tensor, vocab=args.vocab)
        res = inspect_embedding(
            task, train, loaded.matrix, accuracy=args.accuracy, source=loaded.record(), **opts
        )
        return {"result": res, "embedding": loaded.matrix, "records": [res.record()]}
    if args.accuracy is not None:
        raise UsageError("--accuracy belongs to one embedding, not a series of checkpoints")
    steps, loaded = load_checkpoints(
        args.embedding, rows, tensor=args.tensor, steps=args.steps, vocab=args.vocab
    )
    res = inspect_series(
        task,
        train,
        [e.matrix for e in loaded],
        steps,
        flow=not args.no_flow,
        time=args.flow_time,
        sources=[e.record() for e in loaded],
        **opts,
    )
    return {"result": res, "records": [res.record()]}


def _format_inspect(rec: dict) -> str:
    def f(v, fmt="{:.4g}"):
        return "—" if v is None else fmt.format(v)

    lines = [
        f"task {rec['task']}  p={rec['p']}  n_train={rec['n_train']}/{rec['n_examples']} "
        f"(r={rec['train_fraction']:.4f})   split: {rec['split']}",
        f"  nullity            {rec['nullity']}  (full table {rec['full_nullity']}; "
        f"{'pinned' if rec['pinned'] else 'NOT pinned'})",
        f"  grokking rate λ3   {f(rec['grokking_rate'], '{:.6g}')}   "
        f"n_h = 1/(η·λ3) {f(rec['n_h'], '{:.6g}')}  "
        f"(η={rec['learning_rate']:g}, Z0={rec['z0']:g}, N={rec['normalization']})",
        f"  ideal test acc     {f(rec['ideal_test_accuracy'])}",
    ]
    if "checkpoints" not in rec:
        src = rec.get("source")
        if src is not None:
            lines.append(
                f"  embedding          {src['file']}: tensor {src['tensor']!r} {tuple(src['tensor_shape'])}"
            )
            lines.append(f"                     ({src['how']}; {rec['rows']})")
        lines += [
            f"  RQI                {f(rec['rqi'])}",
            f"  Acc-hat (test)     {f(rec['predicted_test_accuracy'])}",
            f"  effective rank     {f(rec['effective_rank'])}",
        ]
        if rec["fourier_concentration"] is not None or rec["key_frequencies"] is not None:
            keys = " ".join(map(str, rec["key_frequencies"] or [])) or "—"
            lines.append(
                f"  Fourier            concentration (k={rec['fourier_k']}) {f(rec['fourier_concentration'])}"
                f"   key frequencies {keys}"
            )
        if "measured_test_accuracy" in rec:
            lines.append(
                f"  measured test acc  {rec['measured_test_accuracy']:.4g}   (measured − Acc-hat "
                f"{f(rec['measured_minus_predicted'], '{:+.4g}')}, measured − ideal "
                f"{f(rec['measured_minus_ideal'], '{:+.4g}')})"
            )
        return "\n".join(lines)
    cps = rec["checkpoints"]
    src = cps[0].get("source")
    if src is not None:
        lines.append(
            f"  {len(cps)} checkpoints, tensor {src['tensor']!r} {tuple(src['tensor_shape'])} ({src['how']})"
        )
    has_f = cps[0]["fourier_concentration"] is not None
    lines.append("  step        RQI   Acc-hat   eff.rank" + ("   Fourier  key frequencies" if has_f else ""))
    for c in cps:
        line = f"  {c['step']:<8d}  {f(c['rqi'], '{:.4f}')}   {f(c['predicted_test_accuracy'], '{:.4f}')}" + (
            f"   {f(c['effective_rank'], '{:8.4g}')}"
        )
        if has_f:
            keys = " ".join(map(str, c["key_frequencies"] or []))
            line += f"   {f(c['fourier_concentration'], '{:.4f}')}  {keys}"
        lines.append(line)
    th = rec["theory"]
    if th is not None:
        lines.append(f"  theory: {th['flow']}")
        lines.append(
            f"          time axis {th['time_axis']}; RQI rms difference {f(th['fit_rmse'], '{:.3f}')}"
        )
        lines.append(
            f"          n_h on this axis: {f(th['n_h_steps'], '{:.6g}')} steps after step {th['step0']}"
        )
    return "\n".join(lines)


def _write_inspect(args, out: Path, payload: dict, prov: dict) -> None:
    from .plot_inspect import plot_inspection, plot_inspection_series
    from .results import write_csv_atomic, write_json_atomic

    rec = payload["records"][0]
    res = payload["result"]
    if "checkpoints" in rec:
        rows = res.rows()
        write_csv_atomic(out / "inspect.csv", rows, list(rows[0]))
        plot_inspection_series(res, out / "inspect.png")
    else:
        flat = {k: v for k, v in rec.items() if k != "source"}
        flat["key_frequencies"] = (
            None if flat["key_frequencies"] is None else " ".join(map(str, flat["key_frequencies"]))
        )
        flat["embedding_shape"] = "x".join(map(str, flat["embedding_shape"]))
        write_csv_atomic(out / "inspect.csv", [flat], list(flat))
        plot_inspection(res, payload["embedding"], out / "inspect.png")
    write_json_atomic(out / "inspect.json", {"provenance": prov, "result": rec})


# ---------------------------------------------------------------------------------------------
# end of inspect


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``effgrok`` console script; returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    started = time.time()
    try:
        args = _build_parser().parse_args(argv)
        _check_out(args.out)
        command = {
            "rate": _cmd_rate,
            "critical": _cmd_critical,
            "simulate": _cmd_simulate,
            "ntk": _cmd_ntk,
            "train": _cmd_train,
            "phase-diagram": _cmd_phase,
            "predict-grok": _cmd_predict_grok,
            "progress": _cmd_progress,
            "solvable": _cmd_solvable,
            "weight-norm": _cmd_weight_norm,
            "tickets": _cmd_tickets,
            "inspect": _cmd_inspect,
        }[args.command]
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
                "train": _format_train,
                "phase-diagram": _format_phase,
                "predict-grok": _format_predict_grok,
                "progress": _format_progress,
                "solvable": _format_solvable,
                "weight-norm": _format_weight_norm,
                "tickets": _format_tickets,
                "inspect": _format_inspect,
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
