"""``effgrok weight-norm`` (Omnigrok on the digits) and ``effgrok tickets`` (grokking tickets)."""

from __future__ import annotations

from . import _options as o
from . import _progress
from ._output import Outcome, figure


def register(sub) -> None:
    wn = sub.add_parser("weight-norm", help="Omnigrok on the digits: reduced landscape (L/U) and α sweep")
    wsub = wn.add_subparsers(dest="mode", required=True, parser_class=o.Parser)
    rl = wsub.add_parser("reduced-landscape", help="train at fixed weight norms: final losses vs norm")
    o.add_options(rl, _REDUCED_LANDSCAPE)
    al = wsub.add_parser("alpha-sweep", help="time to generalise against the initialisation scale α")
    o.add_options(al, _ALPHA_SWEEP)
    for p in (rl, al):
        o.digits_options(p)
        p.set_defaults(run=run_weight_norm)

    tk = sub.add_parser("tickets", help="grokking tickets: pruned subnetworks vs dense and norm-matched nets")
    o.modular_task_options(tk, "modulus p (default: effgrok.diagnostics.tickets.DEMO's; the paper: 67)")
    o.train_fraction_option(
        tk,
        "training fraction of the examples (unordered pairs for add-mod; default: ticket_sweep's)",
        closed="neither",
    )
    o.seeds_option(tk, 2)
    o.mlp_options(tk, hidden=None, library="effgrok.diagnostics.tickets.DEMO's or ticket_sweep's")
    o.schedule_options(tk, None, "steps of every run (default: effgrok.diagnostics.tickets.DEMO's)")
    o.add_options(tk, _TICKETS)
    o.float64_option(tk)
    o.io_options(tk)
    tk.set_defaults(run=run_tickets)


# (flag, type or choices, default, help[, more add_argument keywords]); see o.add_options; a
# default None is the library function's (filled by the run)
_REDUCED_LANDSCAPE = (
    ("--norms", o.positive, None, "fixed norms in units of the standard init norm w0 (increasing; "
     "default: reduced_landscape's relative_norms)", {"nargs": "+"}),
    ("--fixed-lr", bool, False, "same lr at every norm (default: lr·w/w0)"),
)  # fmt: skip
_ALPHA_SWEEP = (
    ("--alpha", o.positive, None, "α values (default: alpha_sweep's alphas)", {"nargs": "+"}),
    (o.WEIGHT_DECAY, o.nonnegative, None, "AdamW weight decay (default: alpha_sweep's)"),
    ("--test-threshold", o.fraction(), None, "test accuracy level (default: alpha_sweep's)"),
)  # fmt: skip
_TICKETS = (
    ("--pruned-fraction", o.fraction("left"), None,
     "fraction of weights pruned (default: grokking_tickets', the paper's sparsity 0.4 kept)"),
    ("--architecture", ("embed_sum", "one_hot_mlp"), None,
     "the paper's embedding-sum MLP (ticket_sweep's default) or the one-hot MLP"),
    ("--embed-dim", o.integer(1, 65536), None,
     "embedding width, embed_sum (default: effgrok.diagnostics.tickets.DEMO's)"),
    ("--beta2", o.fraction("left"), None, "AdamW beta2 (default: ticket_sweep's)"),
    ("--threshold", o.fraction(), None, "test accuracy level (default: ticket_sweep's)"),
    ("--match", ("l1l2", "l2", "l1"), None, "norms of the dense control (default: ticket_sweep's)"),
)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# weight-norm


def _digits(args):
    """(data, common keyword arguments) of the digits runs."""
    from ..nets.digits import N_IMAGES, load_digits_split

    o.library_defaults(args, load_digits_split, ["data_seed"], keyword={"data_seed": "seed"})
    if not 1 <= args.n_train < N_IMAGES:
        raise o.UsageError(f"--n-train must be 1..{N_IMAGES - 1}, got {args.n_train}")
    schedule = o.schedule(args)
    seeds = o.seed_list(args.seeds)
    data = load_digits_split(args.n_train, seed=args.data_seed)
    common = dict(seeds=seeds, width=args.width, depth=args.depth, learning_rate=args.learning_rate)
    return data, dict(common, schedule=schedule, float64=args.float64)


def _weight_norm_result(args, data, common):
    """The reduced landscape or the α sweep of ``weight-norm``."""
    if args.mode == "reduced-landscape":
        from ..diagnostics.weight_norm import reduced_landscape

        return reduced_landscape(data, args.norms, scale_lr=not args.fixed_lr, **common)
    from ..diagnostics.weight_norm import alpha_sweep

    return alpha_sweep(
        data, args.alpha, weight_decay=args.weight_decay, test_threshold=args.test_threshold, **common
    )


def _fill_weight_norm(args) -> None:
    """The options not given, from the mode's library function (its keyword of the same name)."""
    from ..diagnostics import weight_norm

    if args.mode == "reduced-landscape":
        names = ["norms", "width", "depth", "learning_rate", "steps"]
        o.library_defaults(args, weight_norm.reduced_landscape, names, keyword={"norms": "relative_norms"})
        args.norms = list(args.norms)
    else:
        names = ["alpha", "width", "depth", "learning_rate", "steps", "weight_decay", "test_threshold"]
        o.library_defaults(args, weight_norm.alpha_sweep, names, keyword={"alpha": "alphas"})
        args.alpha = list(args.alpha)


def run_weight_norm(args) -> Outcome:
    _fill_weight_norm(args)
    if args.mode == "reduced-landscape":
        if any(b <= a for a, b in zip(args.norms, args.norms[1:], strict=False)):
            raise o.UsageError("--norms must be positive and strictly increasing")
        if len(args.norms) < 3:  # the landscape's fit needs three (checked before training)
            raise o.UsageError(f"--norms needs at least 3 values, got {len(args.norms)}")
    if args.mode == "alpha-sweep" and args.weight_decay > 0 and args.learning_rate * args.weight_decay >= 1:
        product = args.learning_rate * args.weight_decay
        raise o.UsageError(f"need --learning-rate × --weight-decay < 1, got {product:g}")
    data, common = _digits(args)
    from ..nets.digits import estimated_core_seconds

    runs = len(common["seeds"]) * len(args.norms if args.mode == "reduced-landscape" else args.alpha)
    cost = estimated_core_seconds(runs, args.steps, args.n_train, args.width, args.depth)
    with _progress.estimate_when_trained(cost):
        result = _weight_norm_result(args, data, common)
    if args.mode == "reduced-landscape":
        rec = {"mode": args.mode, "n_train": args.n_train, "steps": args.steps, **result.record()}
        rec = o.echo(rec, args, "norms fixed_lr seeds")
        name, plot = "reduced_landscape", "plot_reduced_landscape"
    else:
        rec = {
            "mode": args.mode,
            "n_train": args.n_train,
            "steps": args.steps,
            "weight_decay": args.weight_decay,
        }
        rec.update(result.record())
        rec = o.echo(rec, args, "test_threshold")
        name, plot = "alpha_sweep", "plot_alpha_sweep"
    rec = o.echo(rec, args, "data_seed width depth learning_rate stride float64")
    return Outcome(
        name,
        [rec],
        format_weight_norm(rec),
        tables=result.tables(),
        figures={name: figure(plot, result)},
    )


_LANDSCAPE_COLUMNS = "  w/w0      train loss   test loss   train acc  test acc"
_LANDSCAPE_ROW = (
    "  {relative_norm:<8.3g}  {train_loss:.3e}    {test_loss:.3e}   {train_acc:.3f}      {test_acc:.3f}"
)
_SWEEP_COLUMNS = "  alpha  seed  t_train  t_test  initial norm  final norm  final test acc"
_SWEEP_ROW = (
    "  {alpha:<5g}  {seed:>4}  {t_train:>7}  {t_test:>6}  {initial_norm:>12.4g}  {final_norm:>10.4g}  "
    "{final_test_acc:>14.3f}"
)


def format_weight_norm(rec: dict) -> str:
    if rec["mode"] == "reduced-landscape":
        head = f"reduced landscape  digits n_train={rec['n_train']}  steps={rec['steps']}  w0={rec['w0']:.4g}"
        table = o.table_text([head, _LANDSCAPE_COLUMNS], _LANDSCAPE_ROW, rec["rows"])
        return table + (
            f"\n  L ratio {'inf' if rec['l_ratio'] is None else format(rec['l_ratio'], '.3g')} "
            f"({'L' if rec['is_l'] else 'not L'})   U {rec['u_left']:.3g} / "
            f"{rec['u_right']:.3g} ({'U' if rec['is_u'] else 'not U'})"
        )
    head = f"alpha sweep  digits n_train={rec['n_train']}  steps={rec['steps']}  wd={rec['weight_decay']:g}"
    return o.table_text([head, _SWEEP_COLUMNS], _SWEEP_ROW, rec["rows"])


# ---------------------------------------------------------------------------------------------
# tickets


def run_tickets(args) -> Outcome:
    from ..diagnostics.tickets import DEMO, grokking_tickets, ticket_sweep

    o.library_defaults(args, grokking_tickets, ["pruned_fraction"])
    names = "p hidden embed_dim learning_rate weight_decay steps train_fraction architecture beta2 threshold"
    o.library_defaults(args, ticket_sweep, [*names.split(), "match"], DEMO)
    schedule = o.schedule(args)
    from ..tasks import make_task

    task = make_task(args.task, args.p)
    seeds = o.seed_list(args.seeds)
    from ..nets.driver import AdamW
    from ..nets.modular import estimated_core_seconds

    # the dense runs, then four retrained runs a seed (ticket, random ticket, memorisation
    # ticket, norm-matched dense) in a second call
    n_train = round(args.train_fraction * task.n_examples)
    width = max(args.hidden, args.embed_dim) if args.architecture == "embed_sum" else args.hidden
    cost = sum(estimated_core_seconds(k * len(seeds), args.steps, n_train, width) for k in (1, 4))
    options = "pruned_fraction architecture hidden embed_dim threshold match float64"
    options += " train_fraction learning_rate weight_decay"
    with _progress.estimate_when_trained(cost):
        st = grokking_tickets(
            task,
            seeds=seeds,
            schedule=schedule,
            optimizer=AdamW(beta2=args.beta2),
            **o.keywords(args, options),
        )
    rec = st.record()
    rec = {k: v for k, v in rec.items() if k != "settings"} | rec["settings"]
    figures = {"tickets": figure("plot_tickets", st)}
    return Outcome("tickets", [rec], format_tickets(rec), tables=st.tables(), figures=figures)


_TICKETS_COLUMNS = "  variant               seed  t_gen   init L1     init L2   final test acc"
_TICKETS_ROW = (
    "  {variant:<20}  {seed:>4}  {t_gen:>5}  {init_l1:>9.4g}  {init_l2:>9.4g}  {final_test_acc:.3f}"
)


def format_tickets(rec: dict) -> str:
    head = (
        f"grokking tickets  task {rec['task']} ({rec['pairs']} pairs)  p={rec['p']}  {rec['architecture']}  "
        f"pruned {rec['pruned_fraction']:g} (kept {rec['kept_fraction']:g})  "
        f"steps={rec['steps']}  t_gen: test acc ≥ {rec['threshold']:g}"
    )
    return o.table_text([head, _TICKETS_COLUMNS], _TICKETS_ROW, rec["rows"])
