"""``effgrok simulate``: the effective-loss flow over embeddings, one run or an ensemble."""

from __future__ import annotations

from ._options import (
    UsageError,
    check_scale,
    finite,
    integer,
    io_options,
    parse_pairs,
    progress_bar,
    progress_option,
    scale_options,
    task_options,
)
from ._output import Outcome
from .theory import split, split_options, tasks


def register(sub, task_names) -> None:
    sim = sub.add_parser("simulate", help="integrate the effective-loss flow over embeddings")
    task_options(sim, task_names)
    io_options(sim)
    split_options(sim)
    sim.add_argument(
        "--steps",
        type=integer(1, 10_000_000),
        default=5000,
        help="time horizon in gradient steps (default 5000)",
    )
    sim.add_argument("--lr", type=finite, default=1e-3, help="learning rate η (default 1e-3)")
    sim.add_argument("--dim", type=integer(1, 64), default=None, help="embedding dimension d (default 1)")
    sim.add_argument(
        "--method",
        choices=("euler", "rk4", "dopri5", "exact"),
        default=None,
        help="integrator (default rk4; euler with step 1 is gradient descent)",
    )
    sim.add_argument("--step-size", type=finite, default=1.0, help="integration step in gradient steps")
    sim.add_argument("--stride", type=integer(), default=None, help="record every this many steps")
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
        type=integer(lo=1),
        default=None,
        help="run this many members, each with its own random split and initialisation",
    )
    sim.add_argument("--rtol", type=finite, default=1e-8, help="dopri5 relative tolerance")
    sim.add_argument("--atol", type=finite, default=1e-12, help="dopri5 absolute tolerance")
    progress_option(sim, "progress bar on stderr for ensembles (auto: only on a terminal)")
    scale_options(sim)
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
            raise UsageError(f"--preset reference_code fixes {flag} {value}; got {flag} {given}")


def run(args) -> Outcome:
    if args.p is not None and len(args.p) > 1:
        raise UsageError(f"simulate takes one --p, got {len(args.p)}")
    (task,) = tasks(args)
    pairs = parse_pairs(args.train) if args.train is not None else None
    if args.ensemble is not None and args.ensemble * task.n_examples > 200_000_000:
        raise UsageError(f"--ensemble {args.ensemble} is too large for task {task.name!r} (p={task.p})")
    one = split(args, task, pairs)[0]  # validates the split
    apply_preset(args)
    from ..effective.dynamics import EffectiveLoss

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
    if args.ensemble is None:
        from ..effective.simulation import simulate

        return trajectory_outcome(task, one, simulate(task, one, **kw), args)
    check_scale(args)
    return ensemble_outcome(task, run_ensemble(args, task, one, pairs, kw), args)


def run_ensemble(args, task, one, pairs, kw):
    from ..effective.metrics import DEFAULT_DELTA
    from ..effective.simulation import _records, check_options
    from ..scan import run_ensemble as scan_ensemble

    if pairs is not None:
        split_kw = {"train": one.train.tolist()}
    elif args.train_frac is not None:
        split_kw = {"fraction": args.train_frac}
    else:
        split_kw = {"size": args.train_size}
    steps, stride = _records(args.steps, args.stride, 100)
    check_options(args.method, args.lr, args.step_size, DEFAULT_DELTA, args.rtol, args.atol, steps, stride)
    options = dict(
        kw,
        stride=stride,
        loss={"constraints": args.constraints, "normalization": args.normalization, "z": args.z},
    )
    with progress_bar(args, args.ensemble, "simulate", "member") as bar:
        return scan_ensemble(
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


# ---------------------------------------------------------------------------------------------
# records


def _loss_dict(loss) -> dict:
    return {"constraints": loss.constraints, "normalization": loss.normalization, "z": loss.z}


def _common(task, args) -> dict:
    return {
        "task": task.name,
        "p": task.p,
        "seed": args.seed,
        "method": args.method,
        "learning_rate": args.lr,
        "steps": args.steps,
        "dim": args.dim,
        "init": args.init,
        "preset": args.preset,
    }


def trajectory_record(task, split, tr, args) -> dict:
    """JSON-ready record of ``effgrok simulate`` for one trajectory."""
    from ..results import to_jsonable

    curves = ("loss", "z", "rqi", "predicted_test_accuracy")
    return to_jsonable(
        {
            **_common(task, args),
            "loss": _loss_dict(tr.loss_convention),
            "n_train": split.n_train,
            "train_fraction": split.fraction,
            "stride": int(tr.steps[1] - tr.steps[0]) if tr.steps.size > 1 else None,
            "pinned": tr.pinned,
            "z0": tr.z0,
            "gram_lambda3": tr.gram_eigenvalue,
            "grokking_rate": tr.grokking_rate,
            "n_h": tr.n_h,
            "steps_to_rqi": tr.steps_to_rqi,
            "final_rqi": tr.final_rqi,
            "final_loss": tr.final_loss,
            "predicted_test_accuracy": tr.final_predicted_test_accuracy,
            "ideal_test_accuracy": tr.ideal_test_accuracy,
            "integrator_steps": tr.n_steps,
            "trajectory": {"step": tr.steps, **{k: getattr(tr, k) for k in curves}},
        }
    )


def ensemble_record(task, ens, args) -> dict:
    """JSON-ready record of ``effgrok simulate --ensemble``: per-member arrays and summary statistics."""
    from ..results import to_jsonable

    return to_jsonable(
        {
            **_common(task, args),
            "loss": _loss_dict(ens.loss_convention),
            "members": ens.size,
            "n_train": ens.n_train,
            "pinned": ens.pinned,
            "z0": ens.z0,
            "n_h": ens.n_h,
            "steps_to_rqi": ens.steps_to_rqi,
            "final_rqi": ens.rqi[:, -1],
            "final_loss": ens.loss[:, -1],
            "predicted_test_accuracy": ens.predicted_test_accuracy[:, -1],
            "summary": ens.summary(),
        }
    )


def trajectory_outcome(task, split, tr, args) -> Outcome:
    rec = trajectory_record(task, split, tr, args)
    names = ("loss", "z", "rqi", "predicted_test_accuracy")
    rows = [{"step": int(s), **{k: float(getattr(tr, k)[i]) for k in names}} for i, s in enumerate(tr.steps)]

    def trajectory(path):
        from ..plot import plot_trajectory

        plot_trajectory(tr, path)

    def embedding(path):
        from ..plot import plot_embedding

        plot_embedding(tr, path)

    return Outcome(
        "simulate",
        [rec],
        format_simulate(rec),
        tables={"trajectory": rows},
        arrays={"embedding": {"steps": tr.steps, "embedding": tr.embedding}},
        figures={"trajectory": trajectory, "embedding": embedding},
    )


def ensemble_outcome(task, ens, args) -> Outcome:
    from ..constants import reached

    rec = ensemble_record(task, ens, args)
    rows = [
        {
            "member": m,
            "n_train": int(ens.n_train[m]),
            "pinned": bool(ens.pinned[m]),
            "z0": float(ens.z0[m]),
            "n_h": float(ens.n_h[m]),
            "steps_to_rqi": float(ens.steps_to_rqi[m]) if reached(ens.steps_to_rqi[m]) else None,
            "final_rqi": float(ens.rqi[m, -1]),
            "final_loss": float(ens.loss[m, -1]),
            "predicted_test_accuracy": float(ens.predicted_test_accuracy[m, -1]),
        }
        for m in range(ens.size)
    ]
    curves = {k: getattr(ens, k) for k in ("steps", "loss", "rqi", "predicted_test_accuracy", "z")}

    def figure(path):
        from ..plot import plot_ensemble

        plot_ensemble(ens, path)

    return Outcome(
        "simulate",
        [rec],
        format_simulate(rec),
        tables={"members": rows},
        arrays={"curves": curves},
        figures={"ensemble": figure},
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
