"""``effgrok simulate``: the effective-loss flow over embeddings, one run or an ensemble."""

from __future__ import annotations

from . import _options as o
from . import _progress
from ._output import Outcome, figure
from .theory import split, split_options, tasks

_OPTIONS = (  # (flag, type or choices, default, help), registered in this order
    ("--steps", o.integer(1, 10_000_000), None, "time horizon in gradient steps (default: simulate's)"),
    (o.LEARNING_RATE, o.finite, None, "learning rate η (default: simulate's)"),
    ("--dim", o.integer(1, 64), None, "embedding dimension d (default: the --preset's)"),
    ("--method", ("euler", "rk4", "dopri5", "exact"), None,
     "integrator (default: the --preset's; euler with step 1 is gradient descent)"),
    ("--step-size", o.finite, None, "integration step in gradient steps (default: simulate's)"),
    ("--stride", o.integer(), None, "record every this many steps"),
    ("--constraints", ("train", "all"), None,
     "parallelograms in the loss: training ones or all permissible (default: the --preset's)"),
    ("--normalization", ("sum", "mean"), None, "N = 1 (sum) or |P| (mean) (default: the --preset's)"),
    ("--z", ("live", "frozen"), None, "Z live or frozen at start (default: the --preset's)"),
    ("--init", ("uniform", "standardized"), None,
     "initial embedding: U(-1/2, 1/2) or that standardised per dimension (default: the --preset's)"),
    ("--preset", ("paper", "reference_code"), "paper",
     "reference_code: all parallelograms, frozen Z, Euler, standardised 1-D start"),
    ("--ensemble", o.integer(lo=1), None, "run this many members, each with its own random split and "
     "initialisation"),
    ("--rtol", o.finite, None, "dopri5 relative tolerance (default: simulate's)"),
    ("--atol", o.finite, None, "dopri5 absolute tolerance (default: simulate's)"),
)  # fmt: skip


def register(sub, task_names) -> None:
    sim = sub.add_parser("simulate", help="integrate the effective-loss flow over embeddings")
    o.task_options(sim, task_names)
    o.io_options(sim)
    split_options(sim)
    o.add_options(sim, _OPTIONS)
    sim.add_argument(
        "--full",
        action="store_true",
        help="with --ensemble --json: print every member's numbers, not only their summary "
        "(--out always writes them)",
    )
    o.progress_option(
        sim, "progress on stderr for ensembles (auto: a bar on a terminal, else a line every 10 s)"
    )
    o.scale_options(sim)
    sim.set_defaults(run=run)


def apply_preset(args) -> None:
    """Fill the options ``--preset`` fixes; ``reference_code`` refuses a different value."""
    from ..effective.dynamics import simulation_preset

    for key, value in simulation_preset(args.preset).items():
        given = getattr(args, key)
        if given is None:
            setattr(args, key, value)
        elif args.preset == "reference_code" and given != value:
            flag = "--" + key.replace("_", "-")
            raise o.UsageError(f"--preset reference_code fixes {flag} {value}; got {flag} {given}")


def run(args) -> Outcome:
    if args.p is not None and len(args.p) > 1:
        raise o.UsageError(f"simulate takes one --p, got {len(args.p)}")
    (task,) = tasks(args)
    pairs = o.parse_pairs(args.train) if args.train is not None else None
    if args.ensemble is not None and args.ensemble * task.n_examples > 200_000_000:
        raise o.UsageError(f"--ensemble {args.ensemble} is too large for task {task.name!r} (p={task.p})")
    one = split(args, task, pairs)[0]  # validates the split
    apply_preset(args)
    from ..effective.dynamics import EffectiveLoss
    from ..effective.simulation import simulate, simulate_ensemble

    o.library_defaults(args, simulate, ["steps", "learning_rate", "step_size", "rtol", "atol"])
    o.library_defaults(args, simulate_ensemble, ["connect_timeout"])

    loss = EffectiveLoss(constraints=args.constraints, normalization=args.normalization, z=args.z)
    options = "dim steps method step_size stride init seed rtol atol learning_rate"
    kw = dict(loss=loss, **o.keywords(args, options))
    if args.ensemble is None:
        return trajectory_outcome(task, one, simulate(task, one, **kw), args)
    o.check_scale(args)
    return ensemble_outcome(task, run_ensemble(args, task, one, pairs, kw), args)


def run_ensemble(args, task, one, pairs, kw):
    from ..effective.metrics import DEFAULT_DELTA
    from ..effective.simulation import _records, check_options, simulate_ensemble

    if pairs is not None:
        split_kw = {"train": one.train.tolist()}
    elif args.train_fraction is not None:
        split_kw = {"fraction": args.train_fraction}
    else:
        split_kw = {"size": args.n_train}
    steps, stride = _records(args.steps, args.stride, 100)
    check_options(
        args.method, args.learning_rate, args.step_size, DEFAULT_DELTA, args.rtol, args.atol, steps, stride
    )
    from ..effective.simulation import core_seconds, n_train_of
    from ..scan import auto_workers

    cost = core_seconds(task, args.ensemble, n_train_of(task, split_kw), steps, args.dim)
    estimate = _progress.estimate_when_started(cost, args.workers or auto_workers(cost), args.scheduler)
    with estimate, _progress.progress_bar(args, args.ensemble, "simulate", "member") as bar:
        return simulate_ensemble(
            task,
            args.ensemble,
            **split_kw,
            **dict(kw, stride=stride),
            workers=args.workers or "auto",
            scheduler=args.scheduler,
            out=args.out,
            progress=bar.update,
            connect_timeout=args.connect_timeout,
        )


# ---------------------------------------------------------------------------------------------
# records


def _common(task, args) -> dict:
    """The settings every ``simulate`` record starts with."""
    keys = ("seed", "method", "steps", "dim", "init", "preset", "step_size", "rtol", "atol", "ensemble")
    return {
        "task": task.name,
        "p": task.p,
        "learning_rate": args.learning_rate,
        **{k: getattr(args, k) for k in keys},
    }


def trajectory_outcome(task, split, tr, args) -> Outcome:
    rec = {**_common(task, args), "train_fraction": split.fraction, **tr.record()}
    return Outcome(
        "simulate",
        [rec],
        format_simulate(rec),
        tables=tr.tables(),
        arrays={"embedding": {"steps": tr.steps, "embedding": tr.embedding}},
        figures={"trajectory": figure("plot_trajectory", tr), "embedding": figure("plot_embedding", tr)},
    )


def ensemble_summary(rec: dict, member_keys) -> dict:
    """An ensemble's record without its per-member arrays: what ``--json`` prints unless
    ``--full`` (the summary holds their distribution: n, mean, std, median, 5% and 95%)."""
    short = {k: v for k, v in rec.items() if k not in member_keys}
    short["per_member"] = "not printed: rerun with --full, or --out DIR writes them to DIR/simulate.json"
    return short


def ensemble_outcome(task, ens, args) -> Outcome:
    rec = {**_common(task, args), **ens.record()}
    curves = {k: getattr(ens, k) for k in ("steps", "loss", "rqi", "predicted_test_acc", "z")}
    printed = None if args.full else ensemble_summary(rec, ens.tables()["members"][0].keys())

    return Outcome(
        "simulate",
        [rec],
        format_simulate(rec),
        tables=ens.tables(),
        arrays={"curves": curves},
        figures={"ensemble": figure("plot_ensemble", ens)},
        printed=printed,
    )


def format_simulate(rec: dict) -> str:
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
                f"  steps to RQI>0.95  {'never' if rec['steps_to_rqi'] is None else f(rec['steps_to_rqi'])}",
                f"  final RQI          {f(rec['final_rqi'], '{:.4f}')}   "
                f"final loss {f(rec['final_loss'], '{:.3e}')}",
                f"  Acc-hat (test)     {f(rec['predicted_test_acc'], '{:.4f}')}   "
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
            f"{f(sm['predicted_test_acc']['mean'], '{:.4f}')}",
        ]
    )
