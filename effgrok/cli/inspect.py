"""``effgrok inspect``: effgrok's numbers on a user's own embedding or series of checkpoints."""

from __future__ import annotations

import sys
from pathlib import Path

from . import _options as o
from ._output import Outcome, figure

# (flag, type or choices, default, help[, more add_argument keywords]); see o.add_options
_EMBEDDING_OPTIONS = (
    ("--p", o.integer(), None, "number of symbols (modulus) of --task"),
    ("--embedding", None, None,
     "embedding file (.npy .npz .safetensors .csv .pt .pth), or a folder or glob of checkpoints",
     {"required": True}),
    ("--tensor", None, None, "tensor name in the file (default: the only fitting one)"),
    ("--vocab", o.integer(), None,
     "the symbol axis has this many entries (extra tokens); its first p are the symbols"),
)  # fmt: skip
_MEASURE_OPTIONS = (
    ("--steps", o.integer(), None, "checkpoint steps (default: file names)", {"nargs": "+"}),
    (o.LEARNING_RATE, o.finite, None, "learning rate η for n_h (default: inspect_embedding's)"),
    ("--z0", o.finite, None, "Z0 for n_h (default: ‖E0‖² of the first checkpoint, as rate and simulate)"),
    ("--normalization", ("sum", "mean"), None, "effective-loss N (default: inspect_embedding's)"),
    ("--accuracy", o.finite, None, "your measured test accuracy"),
    ("--k", o.integer(), None, "frequencies in the Fourier concentration (default 5, or p//2)"),
    ("--key-power", o.finite, None, "power share of the key frequencies (default: inspect_embedding's)"),
    ("--flow-time", ("fit", "lr"), None,
     "series: time axis of the effective-loss flow, fitted or --learning-rate per step "
     "(default: inspect_series' time)"),
    ("--no-flow", bool, False, "series: no effective-loss flow overlay"),
)  # fmt: skip
_NETWORK_OPTIONS = (
    ("--arch", ("auto", "none", "mlp-concat", "mlp-sum", "effgrok-mlp", "effgrok-embed-sum",
                "effgrok-transformer", "transformer-lens"), None,
     "whole network in the file: recognised from its shapes (auto), named, or none "
     "(embedding measures only) (default: recognise_network's)"),
    ("--activation", ("relu", "gelu", "gelu-tanh", "tanh", "silu", "quadratic"), None,
     "the network's hidden nonlinearity (gelu = PyTorch's exact GELU; default: recognise_network's)"),
    ("--heads", o.integer(), None, "attention heads of an effgrok transformer (default 4)"),
    ("--key-frequencies", o.integer(), None,
     "frequencies of the restricted/excluded loss (default: the last checkpoint's logits')",
     {"nargs": "+"}),
    ("--metrics", Path, None,
     "series: your training log (CSV: step, train loss, val/test accuracy ...), overlaid on the figure"),
)  # fmt: skip


def register(sub, task_names) -> None:
    ins = sub.add_parser(
        "inspect", help="effgrok's numbers on your own network: an embedding or a series of checkpoints"
    )
    tg = ins.add_mutually_exclusive_group(required=True)
    tg.add_argument("--task", choices=task_names, help="binary operation (with --p)")
    tg.add_argument("--table", type=Path, help="operation table table[a,b] = result (.npy/.npz/.csv)")
    o.add_options(ins, _EMBEDDING_OPTIONS)
    sg = ins.add_mutually_exclusive_group(required=True)
    sg.add_argument("--train", type=str, help="training pairs of symbols, e.g. '0,1 2,3'")
    sg.add_argument(
        "--train-file",
        type=Path,
        help="training pairs (CSV: columns a,b and an optional label, checked; .npy (n,2)) "
        "or a 0/1 mask (.npy/.csv)",
    )
    o.add_options(ins, _MEASURE_OPTIONS)
    o.add_options(ins, _NETWORK_OPTIONS)
    o.io_options(ins)
    ins.set_defaults(run=run)


def _task(args):
    from ..diagnostics.loaders import load_table
    from ..tasks import make_task, task_from_table

    if args.table is not None:
        if args.p is not None:
            raise o.UsageError("--p belongs to --task; an operation table (--table) sets the symbols itself")
        return task_from_table(load_table(args.table), name=args.table.stem)
    return make_task(args.task, args.p)


def run(args) -> Outcome:
    import glob

    series = Path(args.embedding).is_dir() or glob.has_magic(args.embedding)
    if not series and args.steps is not None:
        raise o.UsageError("--steps belongs to a series of checkpoints (a folder or a glob as --embedding)")
    if series and args.accuracy is not None:
        raise o.UsageError("--accuracy belongs to one embedding, not a series of checkpoints")
    if not series and args.metrics is not None:
        raise o.UsageError("--metrics belongs to a series of checkpoints (a folder or a glob as --embedding)")
    task = _task(args)  # option values are checked by the library functions
    from ..diagnostics.inspection import inspect_embedding, inspect_series
    from ..diagnostics.network import recognise_network

    o.library_defaults(args, inspect_embedding, ["learning_rate", "normalization", "key_power"])
    o.library_defaults(args, inspect_series, ["flow_time"], keyword={"flow_time": "time"})
    o.library_defaults(args, recognise_network, ["arch", "activation"])
    import numpy as np

    from ..diagnostics.loaders import load_pairs

    if args.train is not None:
        train = np.asarray(o.parse_pairs(args.train))
    else:
        train = load_pairs(args.train_file, task=task)  # a label column is checked against the task
    rows = (task.n_slots, task.n_symbols)
    opts = dict(learning_rate=args.learning_rate, z0=args.z0, normalization=args.normalization, k=args.k)
    opts["key_power"] = args.key_power
    opts["key_frequencies"] = args.key_frequencies
    return (_series if series else _one)(args, task, train, rows, opts)


def _network(args, task, path, arch=None):
    """The whole network in ``path`` (None: none recognised, or ``--arch none``)."""
    if args.arch == "none":
        return None
    from ..diagnostics.loaders import read_tensors
    from ..diagnostics.network import recognise_network

    return recognise_network(
        read_tensors(path), task, arch=arch or args.arch, activation=args.activation, heads=args.heads
    )


def _embedding_source(args, net, rows) -> dict:
    """``tensor`` and ``vocab`` of the embedding: the user's, else the recognised network's."""
    if net is None or args.tensor is not None:
        return {"tensor": args.tensor, "vocab": args.vocab}
    vocab = args.vocab if args.vocab is not None or net.vocab in rows else net.vocab
    return {"tensor": net.embedding_tensor, "vocab": vocab}


def _one(args, task, train, rows, opts) -> Outcome:
    from ..diagnostics.inspection import inspect_embedding
    from ..diagnostics.loaders import load_embedding

    net = _network(args, task, args.embedding)
    loaded = load_embedding(args.embedding, rows, **_embedding_source(args, net, rows))
    res = inspect_embedding(
        task,
        train,
        loaded.matrix,
        accuracy=args.accuracy,
        source=loaded.record(),
        logits=None if net is None else net.logits(task),
        **opts,
    )
    return _outcome(res, figure("plot_inspection", res, loaded.matrix), args, net)


def _series(args, task, train, rows, opts) -> Outcome:
    from ..diagnostics.inspection import inspect_series
    from ..diagnostics.loaders import load_checkpoints, select_checkpoints

    notes: list[str] = []
    log = None
    if args.metrics is not None:
        from ..diagnostics.network import read_training_log

        log = read_training_log(args.metrics)
    files = select_checkpoints(args.embedding)[0]
    net = _network(args, task, files[0]) if files else None
    steps, loaded = load_checkpoints(
        args.embedding, rows, steps=args.steps, notes=notes, **_embedding_source(args, net, rows)
    )
    for note in notes:  # files left out of the folder, said once
        print(f"effgrok: note: {note}", file=sys.stderr)
    logits = None
    if net is not None:
        logits = [_network(args, task, e.path, arch=net.arch).logits(task) for e in loaded]
    res = inspect_series(
        task,
        train,
        [e.matrix for e in loaded],
        steps,
        flow=not args.no_flow,
        time=args.flow_time,
        sources=[e.record() for e in loaded],
        logits=logits,
        **opts,
    )
    return _outcome(res, figure("plot_inspection_series", res, log=log), args, net, log)


#: the options of ``inspect`` that its result does not record itself
_ECHOED = "vocab steps accuracy k key_power flow_time no_flow arch activation heads key_frequencies"


def _outcome(res, fig, args, net=None, log=None) -> Outcome:
    rec = o.echo(res.record(), args, _ECHOED)
    rec["network"] = None if net is None else {"architecture": net.arch, "how": net.how}
    if log is not None:
        rec["metrics"] = log.record()
    return Outcome("inspect", [rec], format_inspect(rec), tables=res.tables(), figures={"inspect": fig})


def _f(v, fmt="{:.4g}"):
    return "—" if v is None else fmt.format(v)


def format_inspect(rec: dict) -> str:
    f = _f
    lines = [
        f"task {rec['task']}  p={rec['p']}  n_train={rec['n_train']}/{rec['n_examples']} "
        f"(r={rec['train_fraction']:.4f})   split: {rec['split']}",
        f"  nullity            {rec['nullity']}  (full table {rec['full_nullity']}; "
        f"{'pinned' if rec['pinned'] else 'NOT pinned'})",
    ]
    if rec["not_applicable"] is not None:
        lines.append(f"  RQI, Acc-hat, Acc-bar, λ3, n_h: null -- {rec['not_applicable']}")
    else:
        lines += [
            f"  grokking rate λ3   {f(rec['grokking_rate'], '{:.6g}')}   "
            f"n_h = 1/(η·λ3) {f(rec['n_h'], '{:.6g}')}  "
            f"(η={rec['learning_rate']:g}, Z0={rec['z0']:.6g}: {rec['z0_source']}, N={rec['normalization']})",
            f"  ideal test acc     {f(rec['ideal_test_accuracy'])}",
        ]
    net = rec.get("network")
    if net is not None:
        lines.append(f"  network            {net['how']}")
    return "\n".join(lines + (_format_series(rec) if "checkpoints" in rec else _format_one(rec)))


def _format_network(c: dict) -> list[str]:
    f = _f
    keys = " ".join(map(str, c["key_frequencies_used"] or [])) or "—"
    own = " ".join(map(str, c["logit_key_frequencies"] or [])) or "—"
    return [
        f"  accuracy           train {f(c['train_acc'])}  test {f(c['test_acc'])}   "
        f"loss train {f(c['train_loss'])}  test {f(c['test_loss'])}",
        f"  Nanda et al.       restricted loss {f(c['restricted_loss'])}  excluded loss "
        f"{f(c['excluded_loss'])}  key-frequency logit share {f(c['key_logit_share'], '{:.3f}')}",
        f"                     (key frequencies {keys}; from the logits {own})",
    ]


def _format_one(rec: dict) -> list[str]:
    f = _f
    lines = []
    src = rec.get("source")
    if src is not None:
        lines.append(
            f"  embedding          {src['file']}: tensor {src['tensor']!r} {tuple(src['tensor_shape'])}"
        )
        lines.append(f"                     ({src['how']}; {rec['rows']})")
    if rec["not_applicable"] is None:
        lines += [
            f"  RQI                {f(rec['rqi'])}",
            f"  Acc-hat (test)     {f(rec['predicted_test_acc'])}",
        ]
    lines.append(f"  effective rank     {f(rec['effective_rank'])}")
    if rec["fourier_concentration"] is not None or rec["key_frequencies"] is not None:
        keys = " ".join(map(str, rec["key_frequencies"] or [])) or "—"
        lines.append(
            f"  Fourier            concentration (k={rec['fourier_k']}) {f(rec['fourier_concentration'])}"
            f"   key frequencies {keys}"
        )
    if "train_acc" in rec:
        lines += _format_network(rec)
    if "measured_test_accuracy" in rec:
        if "measured_minus_predicted" in rec:
            lines.append(
                f"  measured test acc  {rec['measured_test_accuracy']:.4g}   (measured − Acc-hat "
                f"{f(rec['measured_minus_predicted'], '{:+.4g}')}, measured − ideal "
                f"{f(rec['measured_minus_ideal'], '{:+.4g}')})"
            )
        else:
            lines.append(f"  measured test acc  {rec['measured_test_accuracy']:.4g}")
    return lines


def _format_series(rec: dict) -> list[str]:
    f = _f
    lines = []
    cps = rec["checkpoints"]
    src = cps[0].get("source")
    if src is not None:
        lines.append(
            f"  {len(cps)} checkpoints, tensor {src['tensor']!r} {tuple(src['tensor_shape'])} ({src['how']})"
        )
    linear = rec["not_applicable"] is None
    has_f = cps[0]["fourier_concentration"] is not None
    has_n = "train_acc" in cps[0]
    head = "  step    " + ("     RQI   Acc-hat" if linear else "") + "   eff.rank"
    head += "   Fourier" if has_f else ""
    if has_n:
        head += "  train acc  test acc  test loss  restricted  excluded  key share"
    head += "  key frequencies" if has_f else ""
    lines.append(head)
    for c in cps:
        line = f"  {c['step']:<8d}"
        if linear:
            line += f"  {f(c['rqi'], '{:.4f}')}    {f(c['predicted_test_acc'], '{:.4f}')}"
        line += f"   {f(c['effective_rank'], '{:8.4g}')}"
        if has_f:
            line += f"    {f(c['fourier_concentration'], '{:.4f}')}"
        if has_n:
            line += (
                f"  {f(c['train_acc'], '{:9.4f}')}  {f(c['test_acc'], '{:8.4f}')}  "
                f"{f(c['test_loss'], '{:9.4g}')}  {f(c['restricted_loss'], '{:10.4g}')}  "
                f"{f(c['excluded_loss'], '{:8.4g}')}  {f(c['key_logit_share'], '{:9.3f}')}"
            )
        if has_f:
            keys = c["key_frequencies"] or []
            line += "  " + " ".join(map(str, keys[:8])) + (f" … ({len(keys)})" if len(keys) > 8 else "")
        lines.append(line)
    if has_n and cps[0]["key_frequencies_used"] is not None:
        keys = " ".join(map(str, cps[0]["key_frequencies_used"])) or "—"
        lines.append(
            f"  restricted/excluded loss and key share at the last checkpoint's logit key frequencies: {keys}"
        )
    m = rec.get("metrics")
    if m is not None:
        cross = m["test_acc_crosses_0.5_at"]
        cols = ", ".join(f"{k} {v!r}" for k, v in m["columns"].items())
        lines.append(
            f"  your log {m['file']}: {cols}; test accuracy crosses 0.5 at step "
            f"{'never' if cross is None else f'{cross:g}'}"
        )
    th = rec["theory"]
    if th is not None:
        lines.append(f"  theory: {th['flow']}")
        lines.append(
            f"          time axis {th['time_axis']}; RQI rms difference {f(th['fit_rmse'], '{:.3f}')}"
        )
        n_h = th["n_h_steps"]
        lines.append(
            "          n_h on this axis: "
            + (f"{n_h:.6g} steps after step {th['step0']}" if n_h is not None else "— (no time scale)")
        )
    return lines
