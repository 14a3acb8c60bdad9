"""``effgrok ntk``: kernel theory of lazy→rich grokking (NTK alignment and lazy predictions)."""

from __future__ import annotations

from . import _options as o
from . import _progress
from ._output import Outcome, figure


def register(sub) -> None:
    ntk = sub.add_parser(
        "ntk", help="kernel theory of lazy→rich grokking: NTK alignment and lazy predictions"
    )
    o.committee_options(ntk, samples_hi=20_000, library="ntk_study's")
    o.add_options(ntk, _NTK)
    o.io_options(ntk)
    ntk.set_defaults(run=run)


_NTK = (  # (flag, type or choices, default, help); see o.add_options; None: ntk_study's default
    ("--model", ("committee", "mlp"), None,
     "committee: the lazy→rich paper's network; mlp: two-layer NTK-parameterised MLP (default: ntk_study's)"),
    ("--activation", None, None, "activation of --model mlp: relu, erf, linear, ... (default: ntk_study's)"),
    ("--top-k", o.integer(1, 100_000), None, "eigenvectors for the target power (default: ntk_study's)"),
    ("--seed", o.integer(0, 2**63 - 1), None, "random seed (default: ntk_study's)"),
)  # fmt: skip


def run(args) -> Outcome:
    from ..kernels.study import ntk_study

    names = "model target dim samples test_samples width epsilon alpha top_k seed".split()
    given = {"--epsilon": args.epsilon, "--activation": args.activation}
    o.library_defaults(args, ntk_study, names, keyword={"alpha": "alphas"})
    for flag, model in (("--epsilon", "committee"), ("--activation", "mlp")):
        if given[flag] is not None and args.model != model:
            raise o.UsageError(f"{flag} applies to --model {model} only; got --model {args.model}")
    args.alpha = list(args.alpha)
    if args.width * args.dim > 50_000_000:
        raise o.UsageError(f"--width {args.width} × --dim {args.dim} is too large (at most 5e7 weights)")
    if args.top_k > args.test_samples:
        raise o.UsageError(f"--top-k {args.top_k} exceeds --test-samples {args.test_samples}")
    from ..kernels.ntk import ACTIVATIONS

    if args.model == "mlp" and args.activation is not None and args.activation not in ACTIVATIONS:
        raise o.UsageError(f"--activation must be one of {', '.join(ACTIVATIONS)}; got {args.activation!r}")
    from ..kernels.study import estimated_core_seconds

    cost = estimated_core_seconds(args.samples, args.test_samples, args.width, len(args.alpha), args.model)
    with _progress.estimate_when_trained(cost):
        study = ntk_study(
            model=args.model,
            target=args.target,
            dim=args.dim,
            samples=args.samples,
            test_samples=args.test_samples,
            width=args.width,
            epsilon=args.epsilon,
            **({} if args.activation is None else {"activation": args.activation}),
            alphas=args.alpha,
            top_k=args.top_k,
            seed=args.seed,
        )
    rec = study["record"]

    return Outcome(
        "ntk",
        [rec],
        format_ntk(rec),
        tables={"ntk": rec["results"]},
        figures={"ntk": figure("plot_ntk", study)},
    )


def format_ntk(rec: dict) -> str:
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
