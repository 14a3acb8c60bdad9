"""``effgrok solvable linear|dichotomy``: closed-form grokking times, optionally simulated."""

from __future__ import annotations

import math

from . import _options as o
from ._output import Outcome, figure


def _common(p, n_seeds: int) -> None:
    p.add_argument("--simulate", action="store_true", help="also run the simulation beside the theory")
    o.seeds_option(p, n_seeds)
    p.add_argument(
        "--steps",
        type=o.integer(1, o.MAX_STEPS),
        default=None,
        help="simulated steps (default: from the theory)",
    )
    o.io_options(p)


#: Where the defaults come from (filled as the command runs: the library's, never restated).
_GAP = "effgrok.solvable.linear.grokking_gap's"
_SIM = "effgrok.solvable.dichotomy.simulate's"
_WINDOW = "effgrok.solvable.dichotomy.transition_window's"


def register(sub) -> None:
    sp = sub.add_parser(
        "solvable", help="closed-form grokking times of solvable models, optionally simulated"
    )
    ssub = sp.add_subparsers(dest="model", required=True, parser_class=o.Parser)
    lin = ssub.add_parser("linear", help="linear teacher–student (Levi, Beck & Bar-Sinai): grokking gap vs λ")
    lin.add_argument(
        "--lam", type=o.finite, nargs="+", default=[0.1, 0.3, 0.5, 0.7, 0.9], help="λ = d_in/N_train"
    )
    lin.add_argument(
        *o.LEARNING_RATE, "--eta0", type=o.finite, default=None, help=f"GD step η₀ (default: {_GAP})"
    )
    lin.add_argument("--epsilon", type=o.finite, default=None, help=f"accuracy tolerance ε (default: {_GAP})")
    lin.add_argument("--level", type=o.finite, default=None, help=f"accuracy level (default: {_GAP})")
    lin.add_argument("--d-out", type=o.integer(), default=None, help=f"output dimension (default: {_GAP})")
    lin.add_argument(
        "--d-in", type=o.integer(1, 20000), default=1000, help="simulated input dimension (default 1000)"
    )
    _common(lin, 4)
    lin.set_defaults(run=run_linear)
    dic = ssub.add_parser("dichotomy", help="kernel→rich transition t* = log(α)/λ (Lyu et al.)")
    dic.add_argument("--alpha", type=o.finite, nargs="+", default=[2.0, 4.0, 8.0], help="init scales > 1")
    dic.add_argument(*o.WEIGHT_DECAY, type=o.positive, nargs="+", default=[1e-4], help="weight decays λ > 0")
    dic.add_argument(*o.LEARNING_RATE, type=o.positive, default=None, help=f"GD step η (default: {_SIM})")
    dic.add_argument(
        "--c",
        type=o.fraction("neither"),
        default=None,
        help=f"window half-width c in (0, 1) (default: {_WINDOW})",
    )
    dic.add_argument("--p", type=o.integer(3, 257), default=97, help="simulated modulus (default 97)")
    dic.add_argument(
        "--hidden", type=o.integer(1, 8192), default=None, help=f"simulated width (default: {_SIM})"
    )
    o.train_fraction_option(dic, f"training fraction (default: {_SIM})", closed="neither")
    dic.add_argument("--stride", type=o.integer(), default=None, help="record every this many steps")
    o.float64_option(dic, "simulate")
    _common(dic, 1)
    dic.set_defaults(run=run_dichotomy)


# ---------------------------------------------------------------------------------------------
# linear teacher-student


def _simulate_linear(args, lam, steps, seeds):
    """The teacher–student simulation at ``λ`` for ``seeds`` (seed ``i`` is the ``i``-th child of
    the one seed sequence, so a set of seeds is a selection of ``0..max(seeds)``)."""
    from ..solvable import linear

    n_train = max(1, round(args.d_in / lam))
    kw = dict(
        d_out=args.d_out, eta0=args.learning_rate, epsilon=args.epsilon, level=args.level, steps=steps, seed=0
    )
    sim = linear.simulate_linear(args.d_in, n_train, seeds=max(seeds) + 1, **kw)
    if seeds != list(range(len(seeds))):
        import dataclasses

        names = ("train_loss", "generalization_loss", "t_train", "t_gen", "gap")
        sim = dataclasses.replace(sim, **{k: getattr(sim, k)[seeds] for k in names})
    return n_train, sim


def run_linear(args) -> Outcome:
    if any(not 0 < v < 1 for v in args.lam):
        raise o.UsageError(f"--lam values must be in (0, 1) (the gap diverges at 1), got {args.lam}")
    seeds = o.seed_list(args.seeds)
    import numpy as np

    from ..solvable import linear

    names = ["learning_rate", "epsilon", "level", "d_out"]
    o.library_defaults(args, linear.grokking_gap, names, keyword={"learning_rate": "eta0"})
    gaps = [
        linear.grokking_gap(lam, args.learning_rate, args.epsilon, level=args.level, d_out=args.d_out)
        for lam in args.lam
    ]
    horizon = max(g.t_gen for g in gaps)
    if args.steps is None and not 0 < 1.5 * horizon < o.MAX_STEPS:
        raise o.UsageError(f"the theory's horizon of {horizon:.4g} steps is out of range; give --steps")
    steps = args.steps if args.steps is not None else math.ceil(1.5 * horizon) + 1
    if not 1 <= steps <= o.MAX_STEPS:
        raise o.UsageError(f"--steps must be 1..{o.MAX_STEPS}, got {steps}")
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
            n_train, sim = _simulate_linear(args, lam, steps, seeds)
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
        "learning_rate": args.learning_rate,
        "epsilon": args.epsilon,
        "level": args.level,
        "d_out": args.d_out,
    }
    rec.update(
        d_in=args.d_in if args.simulate else None, steps=steps, loss_level=gaps[0].loss_level, rows=rows
    )
    rec.update(simulate=args.simulate, seeds=seeds if args.simulate else None)
    fig = figure("plot_linear", gaps, steps=steps, simulations=sims or None)
    return Outcome("linear", [rec], format_solvable(rec), tables={"linear": rows}, figures={"linear": fig})


# ---------------------------------------------------------------------------------------------
# kernel -> rich dichotomy


def run_dichotomy(args) -> Outcome:
    from ..solvable import dichotomy

    o.library_defaults(args, dichotomy.simulate, ["learning_rate", "hidden", "train_fraction"])
    o.library_defaults(args, dichotomy.transition_window, ["c"])
    if any(not a > 1 for a in args.alpha):
        raise o.UsageError(
            "--alpha values must be > 1 and --weight-decay values > 0, got "
            f"--alpha {o.joined(args.alpha)} --weight-decay {o.joined(args.weight_decay)}"
        )
    if any(args.learning_rate * w >= 1 for w in args.weight_decay):
        raise o.UsageError("need --learning-rate × --weight-decay < 1 for every --weight-decay")
    seeds = o.seed_list(args.seeds)
    import numpy as np

    a, w = (
        g.ravel() for g in np.meshgrid(np.asarray(args.alpha), np.asarray(args.weight_decay), indexing="ij")
    )
    t_star = dichotomy.transition_time(a, w)
    lo, hi = dichotomy.transition_window(a, w, args.c)
    k_star = dichotomy.transition_step(a, w, args.learning_rate)
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
        "learning_rate": args.learning_rate,
        "c": args.c,
        "homogeneity": 2,
        "rows": rows,
        "simulate": args.simulate,
        "simulation": None,
    }
    tables, runs = {"dichotomy": rows}, None
    if args.simulate:
        runs = _simulate_dichotomy(args, a, w, k_star, seeds)
        rec["simulation"] = simulation_record(args, runs)
        tables["simulation"] = rec["simulation"]["runs"]
    return Outcome(
        "dichotomy",
        [rec],
        format_solvable(rec),
        tables=tables,
        figures={"dichotomy": figure("plot_dichotomy", a, w, runs=runs)},
    )


def _simulate_dichotomy(args, a, w, k_star, seeds):
    import numpy as np

    from ..solvable import dichotomy
    from ..tasks import make_task

    horizon = 2.0 * float(np.max(k_star))
    if args.steps is None and not 0 < horizon < o.MAX_STEPS:
        raise o.UsageError(
            f"twice the predicted transition is {horizon:.4g} steps, out of range; give --steps"
        )
    args.steps = args.steps if args.steps is not None else math.ceil(horizon)
    seeds = np.asarray(seeds)
    return dichotomy.simulate(
        make_task("add-mod", args.p),
        np.repeat(a, seeds.size),
        np.repeat(w, seeds.size),
        seeds=np.tile(seeds, a.size),
        learning_rate=args.learning_rate,
        hidden=args.hidden,
        train_fraction=args.train_fraction,
        schedule=o.schedule(args),
        float64=args.float64,
    )


def simulation_record(args, runs) -> dict:
    from ..solvable.dichotomy import transition_line_fits

    rec = o.keywords(args, "p hidden train_fraction steps float64")
    rec["stride"] = o.stride(args)
    fits = transition_line_fits(runs.alpha, runs.weight_decay, runs.transition_time)
    return {**rec, "runs": runs.rows(), "fits": fits}


def _num(v):
    return "never" if v is None else f"{v:.4g}"


def format_solvable(rec: dict) -> str:
    if rec["model"] == "linear":
        lines = [
            f"linear teacher–student  η₀={rec['learning_rate']:g}  ε={rec['epsilon']:g}  "
            f"level {rec['level']:g}  d_out={rec['d_out']}  (loss level {rec['loss_level']:.4g})"
        ]
        for r in rec["rows"]:
            line = (
                f"  λ={r['lam']:<5g} t_train {_num(r['t_train'])}  t_gen {_num(r['t_gen'])}  "
                f"gap {_num(r['gap'])}  long-time form {_num(r['gap_asymptotic'])}"
            )
            if "sim_gap_mean" in r:
                line += f"  simulated gap {_num(r['sim_gap_mean'])} ({_num(r['sim_rel_error'])} rel.)"
            lines.append(line)
        return "\n".join(lines)
    lines = [f"kernel→rich dichotomy  η={rec['learning_rate']:g}  c={rec['c']:g}  t* = log(α)/λ (t = η·step)"]
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
                f"{r['predicted_step']:.4g}  measured {_num(r['transition_step'])}  final test acc "
                f"{r['final_test_acc']:.3f}"
            )
        for name, f in sim["fits"].items():
            lo, hi = f["slope_ci"]
            lines.append(
                f"    fit t vs {name}: slope {f['slope']:.4g} [{lo:.4g}, {hi:.4g}]  "
                f"predicted {f['predicted_slope']:.4g}  R² {f['r2']:.3f}"
            )
    return "\n".join(lines)
