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
the same trainer with the optimiser ``"orthograd_adamw"`` of :data:`effgrok.nets.modular.OPTIMIZERS`
(same initialisation, split and forward pass; ⊥Grad + AdamW, float32 cross-entropy) for
``orthograd_steps`` steps.

Claims (issue 23: one verdict each; thresholds fixed before the replicates ran):
``float32_collapses`` (headline) -- the seed-mean zero-loss fraction of float32 cross-entropy
reaches ½ within the budget; ``float64_later`` -- float64 reaches ½ later than float32, or never;
``stablemax_never`` -- StableMax's zero-loss fraction never reaches ½; ``stablemax_generalises_better``
-- StableMax's validation accuracy (seed mean, averaged over the last quarter of the records:
StableMax runs show Adam loss spikes) is ≥ float32 cross-entropy's + ``margin`` (0.05);
``orthograd_generalises_better`` -- ⊥Grad's final validation accuracy is ≥ float32
cross-entropy's + ``margin``.  Positive control of each (else inconclusive): every run of the
variants it compares memorises (train accuracy ≥ 0.99 at some record) -- SC is a
post-memorisation effect -- and, for ``float64_later``, float32 collapses (else "later" has no
reference).  **Power**: 2 seeds per variant (paired: the same seeds, hence the same splits and
initialisations, in every variant); a collapse step is resolved to ``stride`` steps; the
accuracy margins resolve a difference of 0.05 in the seed mean but not seed-to-seed spread (not
estimated with 2 seeds), so a pass is checked again on a second replicate.  Seeds: replicate K's
(:func:`validation.claims.replicate_seeds`), disjoint from every other K.

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

from validation.claims import Claim, Observed, replicate_seeds, requirement
from validation.framework import device_of, verdict_of

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
)
VARIANTS = {
    "float32": {"loss": "cross_entropy", "float64": False},
    "float64": {"loss": "cross_entropy", "float64": True},
    "stablemax": {"loss": "stablemax", "float64": False},
}
LEVEL = 0.5
MEMORISED = 0.99
_PAPER = "Prieto et al. 2025 (Grokking at the edge of numerical stability), §3–5, Fig. 1: "
_MEMO = "every run of the compared variants memorises (train accuracy ≥ memorised at some record)"
_POWER_ACC = (
    "a seed-mean validation-accuracy difference of 0.05 (the margin); 2 paired seeds per variant, seed "
    "spread not resolved -- replication across K checks it"
)
_FLOAT32_MEMO = "every float32 run memorises (train accuracy ≥ memorised at some record)"


def _claim(name: str, paper: str, measurement: str, criterion: str, control: str, power: str, **kw) -> Claim:
    """A claim of this case: the paper's sentence after its reference; the thresholds are
    ``level`` (collapse claims) or ``margin`` (``margin=``, accuracy claims) and ``memorised``."""
    threshold = {"margin": kw.pop("margin")} if "margin" in kw else {"level": LEVEL}
    return Claim(
        name,
        paper=_PAPER + paper,
        measurement=measurement,
        criterion=criterion,
        threshold={**threshold, "memorised": MEMORISED},
        control=control,
        power=power,
        **kw,
    )


CLAIMS = (
    _claim(
        "float32_collapses",
        "without weight decay, float32 cross-entropy drives most training losses to exactly 0 "
        "(softmax collapse).",
        "seed-mean fraction of training examples with loss exactly 0 (float32 cross-entropy)",
        "the fraction reaches level within the budget",
        _FLOAT32_MEMO,
        "a collapse within the budget, timed to one record stride",
        headline=True,
    ),
    _claim(
        "float64_later",
        "float64 postpones softmax collapse.",
        "collapse step (seed-mean zero-loss fraction ≥ level) of float64 vs float32",
        "float64's collapse step > float32's, or float64 never collapses",
        _MEMO + " (float32, float64) and float32 collapses",
        "a delay of one record stride",
        kind="qualitative",
    ),
    _claim(
        "stablemax_never",
        "StableMax prevents softmax collapse.",
        "largest seed-and-record zero-loss fraction of StableMax (float32)",
        "it stays below level",
        _MEMO + " (StableMax)",
        "a zero-loss fraction of ½ in any run at any record",
        kind="qualitative",
    ),
    _claim(
        "stablemax_generalises_better",
        "StableMax restores generalisation without weight decay.",
        "seed-mean validation accuracy, last quarter of the records, StableMax vs float32",
        "StableMax's ≥ float32's + margin",
        _MEMO + " (float32, StableMax)",
        _POWER_ACC,
        margin=0.05,
    ),
    _claim(
        "orthograd_generalises_better",
        "⊥Grad generalises quickly in float32 without weight decay (their §5).",
        "seed-mean final val accuracy of ⊥Grad + AdamW (orthograd_steps) vs float32's late one",
        "⊥Grad's ≥ float32's + margin",
        _FLOAT32_MEMO,
        _POWER_ACC,
        margin=0.05,
    ),
)


def cost(settings: dict) -> float:
    """Estimated seconds: ``runs × steps × 6·n·p·h`` flops (``n`` training pairs; the one-hot first
    layer is a gather, the output layer ``2nph`` forward and twice that backward; float64 counted
    twice, ⊥Grad's steps too) at 26.5 GFLOP/s on 2 CPU cores (this cpu profile: 115 s measured on
    a quiet machine in the published run of 2026-12-03; on cores loaded ~12×, issue 23's runs
    measured 4–10× more), or, for the gpu profile, 20 TFLOP/s plus 50 µs per step and unit."""
    p, h = int(settings["p"]), int(settings["hidden"])
    per_step = 6.0 * p * p * float(settings["train_fraction"]) * p * h * int(settings["seeds"])
    flops = per_step * (4 * int(settings["steps"]) + 2 * int(settings["orthograd_steps"]))
    if device_of(settings) == "gpu":
        return flops / 2e13 + 5e-5 * (3 * int(settings["steps"]) + int(settings["orthograd_steps"]))
    return flops / 2.65e10


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
    from effgrok.nets.driver import Schedule
    from effgrok.solvable.softmax_collapse import collapse_step
    from effgrok.tasks import make_task

    seeds = replicate_seeds(settings, int(settings["seeds"]))  # the same seeds in every variant (paired)
    task = make_task(settings["task"], int(settings["p"]))
    if unit["variant"] == "orthograd":
        steps = int(settings["orthograd_steps"])
        options = {"optimizer": "orthograd_adamw", "schedule": Schedule(steps, max(1, steps // 30))}
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


def _measured(m: dict) -> dict:
    """The verdict's raw numbers: collapse steps, late and final accuracies, zero-loss and
    zero-gradient fractions, memorised runs per variant."""
    memo = CLAIMS[0].threshold["memorised"]
    mine = {k: v for k, v in m.items() if k in VARIANTS}
    return {
        "s32": _first(m["float32"]),
        "s64": _first(m["float64"]),
        "sm_max": float(m["stablemax"]["zero_loss_fraction"].max()),
        "val": {k: _late_val(v) for k, v in mine.items()},
        "og_val": float(m["orthograd"]["val_acc"][:, -1].mean()),
        "zero_loss": {k: float(v["zero_loss_fraction"][:, -1].mean()) for k, v in mine.items()},
        "zero_grad": {k: float(v["zero_grad_fraction"][:, -1].mean()) for k, v in mine.items()},
        "memorised": {k: int(np.sum(v["train_acc"].max(axis=1) >= memo)) for k, v in mine.items()},
        "runs": {k: int(v["train_acc"].shape[0]) for k, v in mine.items()},
    }


def _step(s: float) -> str:
    return "never" if not math.isfinite(s) else f"{s:.0f}"


def _observations(x: dict, settings: dict) -> dict:
    """Each claim's observation; every control asks that the compared variants' runs all memorise."""
    s32, s64, val = x["s32"], x["s64"], x["val"]
    th = {c.name: c.threshold for c in CLAIMS}

    def observation(name, variants, passed, measurement, extra=True, extra_detail=""):
        memorised, runs = x["memorised"], x["runs"]
        claim = next(c for c in CLAIMS if c.name == name)
        return Observed(
            measurement,
            passed=passed,
            held=bool(all(memorised[v] == runs[v] for v in variants) and extra),
            detail=", ".join(f"{v}: {memorised[v]}/{runs[v]} memorised" for v in variants) + extra_detail,
            requirement=requirement(claim, memorised=f"{th[name]['memorised']:g}"),
        )

    return {
        "float32_collapses": observation(
            "float32_collapses",
            ["float32"],
            math.isfinite(s32),
            f"float32 collapse step {_step(s32)} of {settings['steps']}; final zero-loss fraction "
            f"{x['zero_loss']['float32']:.2f}, zero-gradient fraction {x['zero_grad']['float32']:.2f}",
        ),
        "float64_later": observation(
            "float64_later",
            ["float32", "float64"],
            s64 > s32,
            f"collapse step float64 {_step(s64)} vs float32 {_step(s32)}",
            math.isfinite(s32),
            f"; float32 collapse {_step(s32)}",
        ),
        "stablemax_never": observation(
            "stablemax_never",
            ["stablemax"],
            x["sm_max"] < th["stablemax_never"]["level"],
            f"StableMax's largest zero-loss fraction {x['sm_max']:.2f}",
        ),
        "stablemax_generalises_better": observation(
            "stablemax_generalises_better",
            ["float32", "stablemax"],
            val["stablemax"] >= val["float32"] + th["stablemax_generalises_better"]["margin"],
            f"late val acc StableMax {val['stablemax']:.3f} vs float32 {val['float32']:.3f} "
            f"(float64 {val['float64']:.3f})",
        ),
        "orthograd_generalises_better": observation(
            "orthograd_generalises_better",
            ["float32"],
            x["og_val"] >= val["float32"] + th["orthograd_generalises_better"]["margin"],
            f"⊥Grad val acc {x['og_val']:.3f} after {settings['orthograd_steps']} steps vs float32 "
            f"{val['float32']:.3f}",
        ),
    }


def verdict(prediction: dict, measurements: list[dict], settings: dict):
    m = dict(zip([*VARIANTS, "orthograd"], measurements, strict=True))
    x = _measured(m)
    numbers = {
        "collapse_step": {
            k: x[s] if math.isfinite(x[s]) else None for k, s in (("float32", "s32"), ("float64", "s64"))
        },
        "stablemax_max_zero_loss_fraction": x["sm_max"],
        "late_val_acc": x["val"],
        "orthograd_final_val_acc": x["og_val"],
        "final_val_acc": {k: float(v["val_acc"][:, -1].mean()) for k, v in m.items()},
        "final_zero_loss_fraction": x["zero_loss"],
        "final_zero_grad_fraction": x["zero_grad"],
        "memorised_runs": x["memorised"],
    }
    pred = (
        "SC order float32 → float64 → StableMax never; loss exactly 0 beyond a logit gap in "
        "[{:.1f}, {:.1f}] (float32) / [{:.1f}, {:.1f}] (float64); StableMax and ⊥Grad generalise where "
        "float32 cross-entropy stalls".format(
            *prediction["loss_gap_float32"], *prediction["loss_gap_float64"]
        )
    )
    return verdict_of(CLAIMS, _observations(x, settings), prediction=pred, numbers=numbers)


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
    save(fig, path, dpi=110, tight=True)
