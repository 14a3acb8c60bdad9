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
    ("--lr", o.finite, 1e-3, "learning rate η for n_h (default 1e-3)"),
    ("--z0", o.finite, None, "Z0 for n_h (default: the rate command's)"),
    ("--normalization", ("sum", "mean"), "sum", "effective-loss N (default sum)"),
    ("--accuracy", o.finite, None, "your measured test accuracy"),
    ("--k", o.integer(), None, "frequencies in the Fourier concentration (default 5, or p//2)"),
    ("--key-power", o.finite, 0.9, "power share of the key frequencies (default 0.9)"),
    ("--flow-time", ("fit", "lr"), "fit",
     "series: time axis of the effective-loss flow, fitted (default) or --lr per step"),
    ("--no-flow", bool, False, "series: no effective-loss flow overlay"),
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
    task = _task(args)  # option values are checked by the library functions
    import numpy as np

    from ..diagnostics.loaders import load_pairs

    if args.train is not None:
        train = np.asarray(o.parse_pairs(args.train))
    else:
        train = load_pairs(args.train_file, task=task)  # a label column is checked against the task
    rows = (task.n_slots, task.n_symbols)
    opts = dict(learning_rate=args.lr, z0=args.z0, normalization=args.normalization, k=args.k)
    opts["key_power"] = args.key_power
    return (_series if series else _one)(args, task, train, rows, opts)


def _one(args, task, train, rows, opts) -> Outcome:
    from ..diagnostics.inspection import inspect_embedding
    from ..diagnostics.loaders import load_embedding

    loaded = load_embedding(args.embedding, rows, tensor=args.tensor, vocab=args.vocab)
    res = inspect_embedding(
        task, train, loaded.matrix, accuracy=args.accuracy, source=loaded.record(), **opts
    )
    return _outcome(res, figure("plot_inspection", res, loaded.matrix))


def _series(args, task, train, rows, opts) -> Outcome:
    from ..diagnostics.inspection import inspect_series
    from ..diagnostics.loaders import load_checkpoints

    notes: list[str] = []
    steps, loaded = load_checkpoints(
        args.embedding, rows, tensor=args.tensor, steps=args.steps, vocab=args.vocab, notes=notes
    )
    for note in notes:  # files left out of the folder, said once
        print(f"effgrok: note: {note}", file=sys.stderr)
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
    return _outcome(res, figure("plot_inspection_series", res))


def _outcome(res, fig) -> Outcome:
    rec = res.record()
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
        f"  grokking rate λ3   {f(rec['grokking_rate'], '{:.6g}')}   "
        f"n_h = 1/(η·λ3) {f(rec['n_h'], '{:.6g}')}  "
        f"(η={rec['learning_rate']:g}, Z0={rec['z0']:g}, N={rec['normalization']})",
        f"  ideal test acc     {f(rec['ideal_test_accuracy'])}",
    ]
    return "\n".join(lines + (_format_series(rec) if "checkpoints" in rec else _format_one(rec)))


def _format_one(rec: dict) -> list[str]:
    f = _f
    lines = []
    src = rec.get("source")
    if src is not None:
        lines.append(
            f"  embedding          {src['file']}: tensor {src['tensor']!r} {tuple(src['tensor_shape'])}"
        )
        lines.append(f"                     ({src['how']}; {rec['rows']})")
    lines += [
        f"  RQI                {f(rec['rqi'])}",
        f"  Acc-hat (test)     {f(rec['predicted_test_acc'])}",
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
    has_f = cps[0]["fourier_concentration"] is not None
    lines.append("  step        RQI   Acc-hat   eff.rank" + ("   Fourier  key frequencies" if has_f else ""))
    for c in cps:
        line = f"  {c['step']:<8d}  {f(c['rqi'], '{:.4f}')}   {f(c['predicted_test_acc'], '{:.4f}')}" + (
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
    return lines
