"""Solvable model 3: softmax collapse without weight decay (Prieto et al. 2025, arXiv 2501.04697).

Claim: trained with cross-entropy and no weight decay, the logits of a modular-arithmetic MLP
keep growing after memorisation until, for most training examples, the loss is *exactly* 0 in
the working precision (the correct-class probability rounds to 1: softmax collapse, SC); their
gradient stops and grokking stalls.  float64 postpones SC (the absorption threshold of the logit
gap is ``log(C − 1) + 53 log 2`` instead of ``+ 24 log 2``,
:func:`effgrok.solvable.softmax_collapse.loss_absorption_gap`); StableMax, whose probabilities
approach one-hot only polynomially, removes it and restores generalisation.

Measurement: :func:`effgrok.nets.modular.train_modular` on modular arithmetic (``cpu``:
``sub-mod`` 31 with 70 % of the ordered pairs; ``gpu``: ``add-mod`` 113, 40 %) with AdamW, a large
learning rate (0.1, so that the logits outgrow the float32 threshold within the budget) and
weight decay 0 in three variants -- cross-entropy in float32, cross-entropy in float64, StableMax in
float32 -- each one vmapped batch over seeds; logged every ``stride`` steps: the fraction of
training examples with zero loss / zero logit gradient, and accuracies.

Criterion: float32 cross-entropy collapses (seed-mean zero-loss fraction ≥ ½) within the budget -- else
inconclusive; float64 collapses later or never; StableMax never reaches a zero-loss fraction
of ½; and StableMax ends with a validation accuracy at least 0.05 above float32 cross-entropy's
(seed means).
"""

from __future__ import annotations

import math

import numpy as np

TITLE = "Softmax collapse: float32 vs float64 cross-entropy vs StableMax, no weight decay"
CLAIM = (
    "Without weight decay, float32 cross-entropy drives most training losses to exactly 0 (softmax "
    "collapse) and stalls generalisation; float64 postpones the collapse; StableMax avoids it and "
    "generalises better."
)
PROFILES = {
    "tiny": {
        "task": "add-mod",
        "p": 7,
        "train_fraction": 0.6,
        "hidden": 16,
        "lr": 0.1,
        "steps": 40,
        "stride": 10,
        "seeds": 1,
    },
    "cpu": {
        "task": "sub-mod",
        "p": 31,
        "train_fraction": 0.7,
        "hidden": 256,
        "lr": 0.1,
        "steps": 3000,
        "stride": 50,
        "seeds": 2,
    },
    "gpu": {
        "task": "add-mod",
        "p": 113,
        "train_fraction": 0.4,
        "hidden": 512,
        "lr": 0.1,
        "steps": 30000,
        "stride": 100,
        "seeds": 4,
    },
}
VARIANTS = {
    "float32": {"loss": "cross_entropy", "float64": False},
    "float64": {"loss": "cross_entropy", "float64": True},
    "stablemax": {"loss": "stablemax", "float64": False},
}
LEVEL = 0.5
MARGIN = 0.05


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
    return [{"variant": v} for v in VARIANTS]


def measure_unit(settings: dict, unit: dict) -> dict:
    from effgrok.nets.modular import train_modular
    from effgrok.solvable.softmax_collapse import collapse_step
    from effgrok.tasks import make_task

    seeds = np.arange(int(settings["seeds"]))
    runs = train_modular(
        make_task(settings["task"], int(settings["p"])),
        train_fraction=float(settings["train_fraction"]),
        seeds=seeds,
        hidden=int(settings["hidden"]),
        lr=float(settings["lr"]),
        weight_decay=0.0,
        steps=int(settings["steps"]),
        stride=int(settings["stride"]),
        **VARIANTS[unit["variant"]],
    )
    return {
        "steps": runs.steps,
        "train_acc": runs.train_acc,
        "val_acc": runs.val_acc,
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


def verdict(prediction: dict, measurements: list[dict], settings: dict):
    from ..framework import Verdict

    m = dict(zip(VARIANTS, measurements, strict=True))
    s32, s64 = _first(m["float32"]), _first(m["float64"])
    sm_max = float(m["stablemax"]["zero_loss_fraction"].max())
    val = {k: float(v["val_acc"][:, -1].mean()) for k, v in m.items()}
    zero_loss = {k: float(v["zero_loss_fraction"][:, -1].mean()) for k, v in m.items()}
    zero_grad = {k: float(v["zero_grad_fraction"][:, -1].mean()) for k, v in m.items()}
    if not math.isfinite(s32):
        status = "inconclusive"
    else:
        ok = s64 > s32 and sm_max < LEVEL and val["stablemax"] >= val["float32"] + MARGIN
        status = "pass" if ok else "fail"

    def step(s):
        return "never" if not math.isfinite(s) else f"{s:.0f}"

    pred = (
        "SC order float32 → float64 → StableMax never; loss exactly 0 beyond a logit gap in "
        "[{:.1f}, {:.1f}] (float32) / [{:.1f}, {:.1f}] (float64)".format(
            *prediction["loss_gap_float32"], *prediction["loss_gap_float64"]
        )
    )
    meas = (
        f"collapse step (seed-mean zero-loss fraction ≥ ½): float32 {step(s32)}, float64 {step(s64)}, "
        f"StableMax max fraction {sm_max:.2f}; final zero-loss fraction "
        + ", ".join(f"{k} {v:.2f}" for k, v in zero_loss.items())
        + "; final zero-gradient fraction "
        + ", ".join(f"{k} {v:.2f}" for k, v in zero_grad.items())
        + "; final val acc "
        + ", ".join(f"{k} {v:.3f}" for k, v in val.items())
    )
    crit = (
        f"float32 collapses within {settings['steps']} steps (else inconclusive), float64 later or never, "
        f"StableMax never reaches ½, StableMax val acc ≥ float32's + {MARGIN} "
        f"({settings['task']} p = {settings['p']}, "
        f"AdamW lr {settings['lr']:g}, weight decay 0)"
    )
    numbers = {
        "collapse_step": {
            "float32": s32 if math.isfinite(s32) else None,
            "float64": s64 if math.isfinite(s64) else None,
        },
        "stablemax_max_zero_loss_fraction": sm_max,
        "final_val_acc": val,
        "final_zero_loss_fraction": zero_loss,
        "final_zero_grad_fraction": zero_grad,
    }
    return Verdict(status, pred, meas, crit, numbers)


def plot(prediction: dict, measurements: list[dict], settings: dict, verdict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.2))
    for (name, m), c in zip(zip(VARIANTS, measurements, strict=True), ("C0", "C1", "C2"), strict=True):
        ax.plot(m["steps"], m["zero_loss_fraction"].mean(axis=0), color=c, lw=1.5, label=f"{name}: loss = 0")
        ax.plot(
            m["steps"],
            m["zero_grad_fraction"].mean(axis=0),
            color=c,
            lw=1,
            ls=":",
            label=f"{name}: ∂ℓ/∂z = 0",
        )
        bx.plot(m["steps"], m["val_acc"].mean(axis=0), color=c, lw=1.5, label=f"{name} val")
        bx.plot(m["steps"], m["train_acc"].mean(axis=0), color=c, lw=0.8, ls="--")
    ax.axhline(LEVEL, color="0.5", lw=0.8, ls="-.")
    ax.set(xlabel="step", ylabel="fraction of training examples", title="softmax collapse")
    ax.legend(fontsize=7)
    bx.set(xlabel="step", ylabel="accuracy (train --)", title=verdict.status)
    bx.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
