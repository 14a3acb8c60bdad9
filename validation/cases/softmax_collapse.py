"""Solvable model 3: softmax collapse without weight decay (Prieto et al. 2025, arXiv 2501.04697).

Claim: trained with cross-entropy and no weight decay, the logits of a modular-arithmetic MLP
keep growing after memorisation until, for most training examples, the loss is *exactly* 0 in
the working precision (the correct-class probability rounds to 1: softmax collapse, SC); their
gradient stops and grokking stalls.  float64 postpones SC (the absorption threshold of the logit
gap is ``log(C − 1) + 53 log 2`` instead of ``+ 24 log 2``,
:func:`effgrok.solvable.softmax_collapse.loss_absorption_gap`); StableMax, whose probabilities
approach one-hot only polynomially, removes it and restores generalisation; and ⊥Grad -- the
gradient with its component along the weights (the naive-loss-minimisation direction that only
scales the logits) removed -- generalises quickly in float32 without weight decay (their §5,
Fig. 1).

Measurement: :func:`effgrok.nets.modular.train_modular` (bias-free one-hidden-layer ReLU MLP on
concatenated one-hot inputs, full batch, AdamW with weight decay 0, β₂ = 0.99, ε = 1e-25) in
three variants -- cross-entropy in float32, cross-entropy in float64, StableMax in float32 --
each one vmapped batch over seeds, logged every ``stride`` steps (fraction of training examples
with exactly zero loss / zero logit gradient, accuracies); and the cheap ⊥Grad check,
the same trainer with ``optimizer="orthograd_adamw"`` (same initialisation, split and forward
pass; ⊥Grad + AdamW, float32 cross-entropy) for ``orthograd_steps`` steps.

Criterion: (a) float32 cross-entropy collapses (seed-mean zero-loss fraction ≥ ½ within the
budget); (b) float64 collapses later or never; (c) StableMax never reaches a zero-loss fraction
of ½; (d) StableMax's validation accuracy (seed mean, averaged over the last quarter of the
records -- StableMax runs show Adam loss spikes) is ≥ float32 cross-entropy's + 0.05; (e) ⊥Grad's
final validation accuracy is ≥ float32 cross-entropy's + 0.05.  Positive control (else
inconclusive): every run of the three variants memorises (train accuracy ≥ 0.99 at some
record) -- SC is a post-memorisation effect.

Paper protocol (their public code, run_main_experiments.sh, Fig. 1): add-mod p = 113 on ordered
pairs with concatenated one-hot inputs, 40 % training data, MLP with two hidden layers of 200,
no biases, full batch, AdamW lr 0.01, weight decay 0, β₂ = 0.99 (0.999 for the StableMax run),
ε = 1e-25, float32 parameters with the cross-entropy computed in float32 or float64, 80 000
steps; ⊥Grad: 300 steps at lr 0.01.  ``sub-mod`` on ordered pairs with concatenated inputs *is*
that task: ``a − b = a + (−b)`` relabels the right operand's one-hot rows, a permutation the
network cannot tell apart.  Deviations: one hidden layer (effgrok's modular trainer), float64
means the whole network in float64 (not only the loss), β₂ = 0.99 for every variant; cpu
profile: p = 31 with 70 % of the pairs (at 40 % of 31² the training set is only 384 pairs),
15 000 steps, ⊥Grad 600 steps, 2 seeds; gpu profile: the paper's p = 113, 40 %, width 200,
80 000 steps, 2 seeds.  Before issue 16 the case ran lr 0.1 with optax's default ε = 1e-8 for
3000 steps and biases; StableMax then never generalised (0.017) -- a budget and
hyperparameter artefact.
"""

from __future__ import annotations

import math

import numpy as np

from validation.framework import device_of

from .._common import by_profile
from .._modular import train

TITLE = "Softmax collapse: float32 vs float64 cross-entropy vs StableMax, no weight decay"
CLAIM = (
    "Without weight decay, float32 cross-entropy drives most training losses to exactly 0 (softmax "
    "collapse) and stalls generalisation; float64 postpones the collapse; StableMax avoids it and "
    "generalises better."
)
PROFILES = by_profile(
    task="sub-mod",
    p=(7, 31, 113),
    train_fraction=(0.6, 0.7, 0.4),
    hidden=(16, 200, 200),
    lr=0.01,
    beta2=0.99,
    eps=1e-25,
    steps=(40, 15000, 80000),
    stride=(10, 250, 1000),
    orthograd_steps=(20, 600, 600),
    seeds=(1, 2, 2),
    margin=0.05,
    device=(..., ..., "gpu"),
)
VARIANTS = {
    "float32": {"loss": "cross_entropy", "float64": False},
    "float64": {"loss": "cross_entropy", "float64": True},
    "stablemax": {"loss": "stablemax", "float64": False},
}
LEVEL = 0.5
MEMORISED = 0.99


def cost(settings: dict) -> float:
    """Estimated seconds: ``runs × steps × 6·n·p·h`` flops (``n`` training pairs; the one-hot
    first layer is a gather, the output layer ``2nph`` forward and twice that backward; float64
    counted twice, ⊥Grad's steps too) at 10 GFLOP/s on 2 CPU cores (measured under load at
    p = 31, width 200, 2 seeds, 15 000 steps: float32 68 s, StableMax 59 s, float64 130 s), or,
    for the gpu profile, 20 TFLOP/s plus 50 µs per step and unit."""
    p, h = int(settings["p"]), int(settings["hidden"])
    per_step = 6.0 * p * p * float(settings["train_fraction"]) * p * h * int(settings["seeds"])
    flops = per_step * (4 * int(settings["steps"]) + 2 * int(settings["orthograd_steps"]))
    if device_of(settings) == "gpu":
        return flops / 2e13 + 5e-5 * (3 * int(settings["steps"]) + int(settings["orthograd_steps"]))
    return flops / 1e10


def predict(settings: dict) -> dict:
    from effgrok.solvable.softmax_collapse import gradient_underflow_gap, loss_absorption_gap
    from effgrok.tasks import make_task

    C = make_task(settings["task"], int(settings["p"])).n_classes
    return {
        "loss_gap_float32": [
            loss_absorption_gap(C, "float32", summed_first=False),
            loss_absorption_gap(C, "float32"),
        ],
        "loss_gap_float64": [
            loss_absorption_gap(C, "float64", summed_first=False),
            loss_absorption_gap(C, "float64"),
        ],
        "grad_gap_float32": gradient_underflow_gap("float32"),
        "grad_gap_float64": gradient_underflow_gap("float64"),
        "order": ["float32", "float64", "stablemax never"],
    }


def units(settings: dict) -> list[dict]:
    return [{"variant": v} for v in VARIANTS] + [{"variant": "orthograd"}]


def measure_unit(settings: dict, unit: dict) -> dict:
    from effgrok.solvable.softmax_collapse import collapse_step
    from effgrok.tasks import make_task

    seeds = np.arange(int(settings["seeds"]))
    task = make_task(settings["task"], int(settings["p"]))
    if unit["variant"] == "orthograd":
        steps = int(settings["orthograd_steps"])
        options = {"optimizer": "orthograd_adamw", "steps": steps, "stride": max(1, steps // 30)}
    else:
        options = VARIANTS[unit["variant"]]  # at the settings' steps and stride
    runs = train(task, settings, seeds=seeds, weight_decay=0.0, bias=False, **options)
    return {
        "steps": runs.steps,
        "train_acc": runs.train_acc,
        "val_acc": runs.test_acc,
        "train_loss": runs.train_loss,
        "weight_norm": runs.weight_norm,
        "zero_loss_fraction": runs.zero_loss_fraction,
        "zero_grad_fraction": runs.zero_grad_fraction,
        "collapse_step": np.array([collapse_step(runs.steps, f, LEVEL) for f in runs.zero_loss_fraction]),
    }


def _first(m: dict) -> float:
    """Collapse step of the seed-averaged zero-loss fraction (``inf``: never within the budget)."""
    from effgrok.solvable.softmax_collapse import collapse_step

    s = collapse_step(m["steps"], m["zero_loss_fraction"].mean(axis=0), LEVEL)
    return s if math.isfinite(s) else math.inf


def _late_val(m: dict) -> float:
    """Seed-mean validation accuracy averaged over the last quarter of the records."""
    k = max(1, m["val_acc"].shape[1] // 4)
    return float(m["val_acc"][:, -k:].mean())


def verdict(prediction: dict, measurements: list[dict], settings: dict):
    from ..framework import Control, decide

    m = dict(zip([*VARIANTS, "orthograd"], measurements, strict=True))
    s32, s64 = _first(m["float32"]), _first(m["float64"])
    sm_max = float(m["stablemax"]["zero_loss_fraction"].max())
    val = {k: _late_val(v) for k, v in m.items() if k in VARIANTS}
    og_val = float(m["orthograd"]["val_acc"][:, -1].mean())
    zero_loss = {k: float(v["zero_loss_fraction"][:, -1].mean()) for k, v in m.items() if k in VARIANTS}
    zero_grad = {k: float(v["zero_grad_fraction"][:, -1].mean()) for k, v in m.items() if k in VARIANTS}
    memorised = {
        k: int(np.sum(v["train_acc"].max(axis=1) >= MEMORISED)) for k, v in m.items() if k in VARIANTS
    }
    n_runs = int(settings["seeds"])
    margin = float(settings["margin"])
    control = Control(
        f"every run of the three variants memorises (train accuracy ≥ {MEMORISED} at some record)",
        held=all(v == n_runs for v in memorised.values()),
        detail=", ".join(f"{k}: {v}/{n_runs}" for k, v in memorised.items()),
    )
    checks = {
        "float32_collapses": math.isfinite(s32),
        "float64_later": s64 > s32,
        "stablemax_never": sm_max < LEVEL,
        "stablemax_generalises_better": val["stablemax"] >= val["float32"] + margin,
        "orthograd_generalises_better": og_val >= val["float32"] + margin,
    }

    def step(s):
        return "never" if not math.isfinite(s) else f"{s:.0f}"

    pred = (
        "SC order float32 → float64 → StableMax never; loss exactly 0 beyond a logit gap in "
        "[{:.1f}, {:.1f}] (float32) / [{:.1f}, {:.1f}] (float64); StableMax and ⊥Grad generalise where "
        "float32 cross-entropy stalls".format(
            *prediction["loss_gap_float32"], *prediction["loss_gap_float64"]
        )
    )
    meas = (
        f"collapse step (seed-mean zero-loss fraction ≥ ½): float32 {step(s32)}, float64 {step(s64)}, "
        f"StableMax max fraction {sm_max:.2f}; final zero-loss fraction "
        + ", ".join(f"{k} {v:.2f}" for k, v in zero_loss.items())
        + "; final zero-gradient fraction "
        + ", ".join(f"{k} {v:.2f}" for k, v in zero_grad.items())
        + "; val acc (last quarter) "
        + ", ".join(f"{k} {v:.3f}" for k, v in val.items())
        + f"; ⊥Grad (float32 cross-entropy) val acc {og_val:.3f} after {settings['orthograd_steps']} steps"
        + ("" if all(checks.values()) else "; not met: " + ", ".join(k for k, v in checks.items() if not v))
    )
    crit = (
        f"float32 collapses within {settings['steps']} steps, float64 later or never, StableMax never "
        f"reaches ½, StableMax and ⊥Grad val acc ≥ float32's + {margin} "
        f"({settings['task']} p = {settings['p']}, "
        f"{settings['train_fraction']:g} of the pairs, width {settings['hidden']}, no biases, AdamW lr "
        f"{settings['lr']:g}, β₂ {settings['beta2']:g}, ε {settings['eps']:g}, weight decay 0, "
        f"{n_runs} seeds)"
    )
    numbers = {
        "collapse_step": {
            "float32": s32 if math.isfinite(s32) else None,
            "float64": s64 if math.isfinite(s64) else None,
        },
        "stablemax_max_zero_loss_fraction": sm_max,
        "late_val_acc": val,
        "orthograd_final_val_acc": og_val,
        "final_val_acc": {k: float(v["val_acc"][:, -1].mean()) for k, v in m.items()},
        "final_zero_loss_fraction": zero_loss,
        "final_zero_grad_fraction": zero_grad,
        "memorised_runs": memorised,
        "checks": checks,
    }
    return decide(
        control, all(checks.values()), prediction=pred, measurement=meas, criterion=crit, numbers=numbers
    )


def plot(prediction: dict, measurements: list[dict], settings: dict, verdict, path) -> None:
    from effgrok.plot import plt, save

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.2))
    og = measurements[3]
    bx.plot(og["steps"], og["val_acc"].mean(axis=0), color="C3", lw=1.5, label="⊥Grad float32 val")
    at_zero = []  # curves that stay at 0 throughout: named in a note, not drawn into the legend
    for (name, m), c in zip(zip(VARIANTS, measurements[:3], strict=True), ("C0", "C1", "C2"), strict=True):
        for key, ls, lw, what in (
            ("zero_loss_fraction", "-", 1.5, "loss = 0"),
            ("zero_grad_fraction", ":", 1, "∂ℓ/∂z = 0"),
        ):
            y = m[key].mean(axis=0)
            if np.all(y == 0):
                at_zero.append(f"{name}: {what}")
                continue
            ax.plot(m["steps"], y, color=c, lw=lw, ls=ls, label=f"{name}: {what}")
        bx.plot(m["steps"], m["val_acc"].mean(axis=0), color=c, lw=1.5, label=f"{name} val")
        bx.plot(m["steps"], m["train_acc"].mean(axis=0), color=c, lw=0.8, ls="--")
    ax.axhline(LEVEL, color="0.5", lw=0.8, ls="-.")
    ax.set(xlabel="step", ylabel="fraction of training examples", title="softmax collapse")
    ax.set_ylim(-0.03, 1.03)
    if at_zero:  # a legend entry without a line: the curves that would all lie on the axis
        ax.plot([], [], " ", label="at 0 throughout:\n  " + "\n  ".join(at_zero))
    ax.legend(fontsize=8, loc="upper left")
    bx.set(xlabel="step", ylabel="accuracy (train --)", title=verdict.status)
    bx.legend(fontsize=8)
    fig.tight_layout()
    save(fig, path, dpi=110)
