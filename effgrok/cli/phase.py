"""``effgrok phase-diagram``: four-phase map of the toy model over two hyperparameters."""

from __future__ import annotations

import math

from . import _options as o
from . import _progress
from ._output import Outcome, figure
from .train import toy_settings, toy_setup


def register(sub) -> None:
    phase = sub.add_parser("phase-diagram", help="four-phase map of the toy model over two hyperparameters")
    o.toy_options(phase)
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
    o.seeds_option(phase, 1)
    phase.add_argument(
        "--gap", type=o.integer(lo=0), default=None, help="grokking gap G in steps (default: phase_diagram's)"
    )
    phase.add_argument(
        "--batch",
        type=o.integer(1, 4096),
        default=16,
        help="runs per vmapped chunk (default 16: on CPUs larger chunks run slower per run-step)",
    )
    o.progress_option(phase, "progress bar on stderr")
    o.scale_options(phase)
    phase.set_defaults(run=run)


def parse_axis(text: str, flag: str):
    """``(name, values)`` of ``NAME:START:STOP:NUM[:log|lin]``."""
    from ..nets.phases import PHASE_AXES as _AXES

    parts = text.split(":")
    if len(parts) not in (4, 5) or parts[0] not in _AXES:
        raise o.UsageError(
            f"{flag} {text!r}: expected NAME:START:STOP:NUM[:log|lin] with NAME one of {', '.join(_AXES)}"
        )
    name, scale = parts[0], (parts[4] if len(parts) == 5 else "lin")
    try:
        start, stop, num = float(parts[1]), float(parts[2]), int(parts[3])
    except ValueError:
        raise o.UsageError(f"{flag} {text!r}: START and STOP must be numbers and NUM an integer") from None
    if (
        not (math.isfinite(start) and math.isfinite(stop))
        or not 1 <= num <= 256
        or scale not in ("log", "lin")
    ):
        raise o.UsageError(f"{flag} {text!r}: need finite START/STOP, NUM in 1..256 and scale log or lin")
    import numpy as np

    if scale == "log":
        if start <= 0 or stop <= 0:
            raise o.UsageError(f"{flag} {text!r}: a log axis needs START and STOP > 0")
        values = np.logspace(math.log10(start), math.log10(stop), num)
    else:
        values = np.linspace(start, stop, num)
    if name.startswith("lr") and np.any(values <= 0):
        raise o.UsageError(f"{flag} {text!r}: learning rates must be > 0")
    if name.startswith("wd") and np.any(values < 0):
        raise o.UsageError(f"{flag} {text!r}: weight decays must be >= 0")
    if name == "train_frac" and np.any((values <= 0) | (values > 1)):
        raise o.UsageError(f"{flag} {text!r}: training fractions must be in (0, 1]")
    return name, values


def run(args) -> Outcome:
    x = parse_axis(args.x, "--x")
    y = parse_axis(args.y, "--y")
    if x[0] == y[0]:
        raise o.UsageError(f"--x and --y must name different axes, got {x[0]!r} twice")
    seeds = o.seed_list(args.seeds)
    o.check_scale(args)
    task, cfg, size = toy_setup(args)
    from ..nets.phases import estimated_core_seconds, phase_cells, phase_diagram

    o.library_defaults(args, phase_diagram, ["gap", "connect_timeout"])
    runs = x[1].size * y[1].size * len(seeds)
    cost = estimated_core_seconds(runs, cfg.steps)  # in process: JAX on CPU keeps about one core busy
    estimate = _progress.estimate_when_started(cost, args.workers or 1, args.scheduler)
    with estimate, _progress.progress_bar(args, runs, "phase diagram", "run") as bar:
        res = phase_diagram(
            task.name,
            task.p,
            x,
            y,
            seeds=seeds,
            config=cfg.__dict__,
            **o.keywords(args, "gap batch workers scheduler out connect_timeout"),
            progress=bar.update,
            **size,
        )
    cells = phase_cells(x, y, res["fractions"], res["test_only"])
    rec = {"task": task.name, "p": task.p, "x": x[0], "y": y[0], "seeds": seeds, "steps": cfg.steps}
    rec.update(gap=args.gap, cells=cells)
    rec = o.echo(rec, args, "n_train") | {k: v for k, v in toy_settings(args, cfg).items() if k not in rec}
    figures = {"phase_diagram": figure("plot_phase_diagram", res)}
    return Outcome("phase_diagram", [rec], format_phase(rec), tables={"phases": cells}, figures=figures)


def format_phase(rec: dict) -> str:
    counts: dict[str, int] = {}
    for c in rec["cells"]:
        counts[c["phase"]] = counts.get(c["phase"], 0) + 1
    phases = [k[len("fraction_") :] for k in rec["cells"][0] if k.startswith("fraction_")]
    return (
        f"phase diagram  task {rec['task']}  p={rec['p']}  {rec['x']} × {rec['y']}  "
        f"seeds {len(rec['seeds'])}  steps {rec['steps']}\n  cells by majority phase: "
        + ", ".join(f"{k} {counts.get(k, 0)}" for k in phases)
    )
