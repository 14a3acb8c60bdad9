"""Case 5: the four-phase map of the toy model over decoder learning rate × decoder weight decay.

Liu et al. (2022, Fig. 6b; SPEC §6): with the embedding learning rate fixed at 1e-3, runs
fall into comprehension, grokking, memorization or confusion (:mod:`effgrok.nets.phases`:
90 % train / test accuracy thresholds within the budget ``B``, grokking when the test step
trails the train step by ``≥ G``).  The expected ordering, stated as three numeric checks on
regions of the grid (region bounds are settings, in the paper's learning-rate units):

* fast decoder, little weight decay (``lr_dec ≥ fast_lr``, ``wd_dec ≤ low_wd``): at least half
  of the runs are *memorization*;
* fast decoder, large weight decay (``lr_dec ≥ fast_lr``, ``wd_dec ≥ high_wd``): at least half
  are *confusion*;
* slow decoder (``lr_dec ≤ slow_lr``): at least half are in the Goldilocks zone
  (*comprehension* ∪ *grokking*).

**Claims** (fixed before the replicate runs, issue 23), each a region's expected phase share
≥ 50 % of its runs: ``goldilocks_at_slow_decoder`` (headline: representation learning --
comprehension or grokking -- happens at slow decoders), ``memorization_fast_low_wd`` and
``confusion_fast_high_wd``; ``grokking_runs`` (reported): how many runs grok.  Power (cpu: 6
runs per fast region, 24 in the slow region): a true share of 0.2 in a fast region passes
(≥ 3 of 6) with probability 0.10; a true share of 0.3 in the slow region passes (≥ 12 of 24)
with probability ≈ 0.03.  Each unit is one vmapped :func:`effgrok.nets.toy.train_toy` batch
of ``rows_per_unit`` rows of the grid (decoder weight decays), every decoder learning rate ×
seed; the toy model's architecture is :class:`effgrok.nets.toy.ToyConfig`'s default.

**Feasible splits only.**  A test example can be answered only if an induced parallelogram
links it to a training example of its class; at 45 of 55 pairs only ≈ 20 % of uniformly random
splits have ideal test accuracy Acc-bar = 1 (the old single seed had 0.8, so test accuracy
≥ 0.9 -- comprehension or grokking -- was impossible in every cell).  The splits are drawn as
:func:`effgrok.tasks.random_split` ``(size = n_train, seed = replicate_seed(j))``, j = 0, 1, 2, ...
in that order (:func:`validation.claims.replicate_seed`),
keeping the first ``seeds`` whose :func:`effgrok.effective.ideal_accuracy` test accuracy is 1;
seed ``k`` of every cell trains on the ``k``-th kept split from initialisation seed
``replicate_seed(100000 + k)``
(:func:`~effgrok.nets.toy.train_toy` with an explicit ``train``), so cells differ only in their
hyperparameters.  ≥ 3 seeds per cell: about a third of 45-pair runs stall whatever the
hyperparameters.

**Time rescaling** (cpu profile) **and its limits**.  The paper's budget is 10⁵ steps.  With
AdamW the size of a step is proportional to the learning rate (Adam's normalised update) and
the decoupled decay per step is ``lr·wd``, so multiplying *every* learning rate by ``k`` and
dividing the budget and the gap by ``k`` keeps the trajectory in "lr × steps" time -- exactly
for the decay term, approximately for Adam (its moment averages have horizons fixed in steps:
β1 = 0.9 ≈ 10 steps, β2 = 0.999 ≈ 1000 steps, so the rescaled run sees 10× less averaging per
unit of "lr × steps").  The approximation fails at the fast end: a trained learning rate of 0.1
is unstable.  So every *trained* rate must stay ≤ ``max_trained_lr`` (1e-2): at ``k = 10`` the
grid stops at a paper-unit ``lr_dec`` of 1e-3, and the cells above the cap are not trained
(the check is part of the positive control).  ``time_scale = k`` trains at ``k·lr`` for
``steps`` steps; axes and regions are reported in the paper's units (``lr``), and ``gap`` is in
trained steps.  The gpu profile uses ``k = 1`` and 10⁵ steps (no rescaling).

**Positive control**: every split has Acc-bar = 1, ≥ 3 seeds per cell, every trained rate ≤
the cap, every region has runs, and at least one run of the grid generalises (test accuracy ≥
0.9 within the budget: comprehension is reachable with these splits and this budget).

**Paper's settings** (Fig. 6b; reference ``phase_diagram_plot/``): p = 10 addition, 45
training pairs, embedding lr 1e-3, decoder lr 1e-5 .. 1e-2 (log grid) × decoder weight decay
0 .. 10, 10⁵ steps, one run per cell.  **Deviations**: feasible splits only and 3 seeds per
cell (above); cpu: a 3 × 4 grid at ``k = 10`` (10⁴ trained steps ≈ 10⁵ paper steps).
"""

from __future__ import annotations

import numpy as np

from effgrok.constants import reached
from validation.claims import Claim, Observed, replicate_seed, replicate_seeds, reported_claim
from validation.framework import device_of, verdict_of

from .._common import by_profile
from .._toy import outcomes, toy_config, toy_cost

TITLE = "Phase diagram: decoder learning rate × decoder weight decay (toy addition, p = 10)"
CLAIM = (
    "Representation learning happens in a Goldilocks zone: slow decoders comprehend or grok, fast decoders "
    "with little weight decay memorize, fast decoders with large weight decay stay confused "
    "(Liu et al. 2022, Fig. 6b)."
)
PROFILES = by_profile(
    p=10,
    n_train=45,
    lr_dec=([1e-4, 1e-2], [1e-5, 1e-4, 1e-3], np.logspace(-5, -2, 13).tolist()),
    wd_dec=([0.0, 10.0], [0.0, 1.0, 5.0, 10.0], np.linspace(0.0, 10.0, 11).tolist()),
    time_scale=(1.0, 10.0, 1.0),
    seeds=(1, 3, 3),
    steps=(40, 10000, 100000),
    stride=(20, 500, 1000),
    gap=(10, 100, 1000),
    rows_per_unit=(1, 1, 4),
    device=("cpu", "cpu", "gpu"),
    lr_emb=1e-3,
    fast_lr=1e-3,
    slow_lr=1e-4,
    low_wd=1.0,
    high_wd=5.0,
    max_trained_lr=1e-2,
)
_CONTROL = (
    "every split has ideal test accuracy 1, ≥ {min_seeds} seeds per cell, every trained learning rate ≤ the "
    "cap, the region has runs, and ≥ 1 run of the grid generalises within the budget"
)
_PAPER = "Liu et al. 2022 Fig. 6b / SPEC §6: "
_FAST_POWER = "with 6 runs, a true share of 0.2 passes with probability 0.10"


def _region_claim(name: str, paper: str, runs: str, power: str, headline: bool = False) -> Claim:
    """A region of the phase diagram: the share of its ``runs`` in the phases the paper expects."""
    return Claim(
        name,
        paper=_PAPER + paper,
        measurement=f"share of runs with {runs}",
        criterion="share ≥ min_share",
        threshold={"min_share": 0.5, "min_seeds": 3},
        control=_CONTROL,
        power=power,
        headline=headline,
        kind="qualitative",
    )


CLAIMS = (
    _region_claim(
        "goldilocks_at_slow_decoder",
        "representation learning (comprehension, grokking) happens in a Goldilocks zone at slow decoders.",
        "lr_dec ≤ slow_lr (paper units) classified comprehension or grokking",
        "with 24 runs, a true share of 0.3 passes with probability ≈ 0.03",
        headline=True,
    ),
    _region_claim(
        "memorization_fast_low_wd",
        "fast decoders with little weight decay memorize.",
        "lr_dec ≥ fast_lr and wd_dec ≤ low_wd classified memorization",
        _FAST_POWER,
    ),
    _region_claim(
        "confusion_fast_high_wd",
        "fast decoders with large weight decay stay confused.",
        "lr_dec ≥ fast_lr and wd_dec ≥ high_wd classified confusion",
        _FAST_POWER,
    ),
    reported_claim(
        "grokking_runs",
        _PAPER + "grokking (test accuracy lagging train accuracy by ≥ G steps) is a phase of its own.",
        "number of runs of the grid classified grokking",
    ),
)
_REGION_CLAIM = {
    "slow decoder": "goldilocks_at_slow_decoder",
    "fast decoder, low wd": "memorization_fast_low_wd",
    "fast decoder, high wd": "confusion_fast_high_wd",
}
GOLDILOCKS = ("comprehension", "grokking")
_LETTER = {"comprehension": "C", "grokking": "G", "memorization": "M", "confusion": "X"}  # per-run labels


def _regions(settings: dict) -> dict:
    """Region name → (predicate on (lr_dec, wd_dec) in paper units, expected phases)."""
    fast, slow = float(settings["fast_lr"]), float(settings["slow_lr"])
    low, high = float(settings["low_wd"]), float(settings["high_wd"])
    return {
        "fast decoder, low wd": (lambda lr, wd: (lr >= fast) & (wd <= low), ("memorization",)),
        "fast decoder, high wd": (lambda lr, wd: (lr >= fast) & (wd >= high), ("confusion",)),
        "slow decoder": (lambda lr, wd: lr <= slow, GOLDILOCKS),
    }


def predict(settings: dict) -> dict:
    regions = _regions(settings)
    lr = np.asarray(settings["lr_dec"], float)
    wd = np.asarray(settings["wd_dec"], float)
    L, W = np.meshgrid(lr, wd)
    return {
        "regions": {
            name: {
                "expected": list(phases),
                "cells": int(np.sum(pred(L, W))),
                "min_share": CLAIMS[0].threshold["min_share"],
            }
            for name, (pred, phases) in regions.items()
        },
        "budget_paper_steps": round(settings["steps"] * settings["time_scale"]),
    }


def cost(settings: dict) -> float:
    rows = len(settings["wd_dec"])
    per = int(settings.get("rows_per_unit", 1))
    runs_row = len(settings["lr_dec"]) * int(settings["seeds"])
    batches = [(runs_row * min(per, rows - i), int(settings["steps"])) for i in range(0, rows, per)]
    return toy_cost(batches, device_of(settings))


def units(settings: dict) -> list[dict]:
    wd = [float(w) for w in settings["wd_dec"]]
    per = int(settings.get("rows_per_unit", 1))
    return [{"wd_dec": wd[i : i + per]} for i in range(0, len(wd), per)]


def feasible_splits(task, n_train: int, count: int, settings: dict, max_draws: int = 10_000):
    """The first ``count`` splits ``random_split(task, size=n_train, seed=replicate_seed(j))``,
    j = 0, 1, ..., whose ideal test accuracy (Acc-bar) is 1, and the seeds they came from."""
    from effgrok.effective import ideal_accuracy
    from effgrok.tasks import random_split

    masks, seeds = [], []
    for j in range(max_draws):
        seed = replicate_seed(settings, j)
        split = random_split(task, size=n_train, seed=seed)
        if ideal_accuracy(task, split).test == 1.0:
            masks.append(split.mask)
            seeds.append(seed)
            if len(masks) == count:
                return np.stack(masks), np.array(seeds)
    raise ValueError(f"fewer than {count} of {max_draws} splits of size {n_train} have ideal test accuracy 1")


def measure_unit(settings: dict, unit: dict) -> dict:
    from effgrok.effective import ideal_accuracy
    from effgrok.nets.driver import Grid
    from effgrok.nets.toy import train_toy
    from effgrok.tasks import make_task

    task = make_task("add", int(settings["p"]))
    k = float(settings["time_scale"])
    masks, split_seeds = feasible_splits(task, int(settings["n_train"]), int(settings["seeds"]), settings)
    lr = np.asarray(settings["lr_dec"], float)
    lr = lr[k * lr <= float(settings["max_trained_lr"]) * (1 + 1e-9)]  # the cap: rescaling holds
    wd = np.asarray(unit["wd_dec"], float)
    seeds = np.arange(int(settings["seeds"]), dtype=np.int64)  # index k of the split and the start
    init = replicate_seeds(settings, seeds.size, base=100_000)
    grid = Grid.product(wd_dec=wd, lr_dec=lr, seed=seeds)  # runs: (wd, lr, seed), wd major
    wd_run, lr_run, seed_run = grid["wd_dec"], grid["lr_dec"], grid["seed"]
    runs = train_toy(
        task,
        toy_config(settings),
        seeds=init[seed_run],
        train=masks[seed_run],
        lr_emb=k * float(settings["lr_emb"]),
        lr_dec=k * lr_run,
        wd_dec=wd_run,
    )
    acc_bar = np.array([ideal_accuracy(task, m).test for m in masks[seed_run]])
    return {
        "lr_dec": lr_run,
        "wd_dec": wd_run,
        "seed": seed_run,
        "split_seed": split_seeds[seed_run],
        "ideal_test_acc": acc_bar,
        **outcomes(runs),
    }


def _runs(measurements: list[dict], settings: dict) -> dict:
    from effgrok.nets.phases import classify_phases

    keys = measurements[0].keys()
    out = {k: np.concatenate([m[k] for m in measurements]) for k in keys}
    out["phase"] = classify_phases(
        out["step_train_acc"], out["step_test_acc"], budget=int(settings["steps"]), gap=int(settings["gap"])
    )
    return out


def _grid_control(r: dict, settings: dict) -> tuple[bool, str]:
    """Whether the grid as a whole can show the phases (the shared positive control), and why."""
    trained_max = float(settings["time_scale"]) * float(np.max(r["lr_dec"])) if r["lr_dec"].size else 0.0
    per_cell = [
        int(np.sum((r["lr_dec"] == v) & (r["wd_dec"] == w)))
        for v in np.unique(r["lr_dec"])
        for w in np.unique(r["wd_dec"])
    ]
    generalised = int(np.sum(reached(r["step_test_acc"])))
    feasible = bool(np.all(r["ideal_test_acc"] == 1.0))
    held = (
        feasible
        and min(per_cell, default=0) >= int(CLAIMS[0].threshold["min_seeds"])
        and trained_max <= float(settings["max_trained_lr"]) * (1 + 1e-9)
        and generalised >= 1
    )
    detail = (
        f"splits {sorted(set(r['split_seed'].tolist()))} (Acc-bar {'1' if feasible else '< 1'}), "
        f"{min(per_cell, default=0)}-{max(per_cell, default=0)} seeds per cell, largest trained lr "
        f"{trained_max:g} (cap {settings['max_trained_lr']:g}), {generalised} of {r['phase'].size} runs "
        "reach test acc ≥ 0.9"
    )
    return held, detail


def _region(r: dict, sel, phases, name: str) -> tuple[dict, str]:
    """A region's check (share of its runs in the expected phases, and how close they came) and
    its measurement in words."""
    from effgrok.nets.phases import PHASES

    hits = np.isin(r["phase"], [PHASES.index(p) for p in phases])
    share = float(np.mean(hits[sel])) if sel.any() else None
    check = {"expected": "/".join(phases), "runs": int(sel.sum()), "share": share}
    meas = f"{name}: {_pct(share)} {'/'.join(phases)} ({int(sel.sum())} runs)"
    if sel.any():  # diagnostics: how close the region's runs came
        check["median_final_test_acc"] = float(np.median(r["final_test_acc"][sel]))
        check["share_rqi_learned"] = float(np.mean(reached(r["step_rqi"][sel])))
        check["phase_counts"] = {ph: int(np.sum(r["phase"][sel] == i)) for i, ph in enumerate(PHASES)}
        meas += (
            f"; phases {', '.join(f'{v} {p}' for p, v in check['phase_counts'].items())}; median final test "
            f"acc {check['median_final_test_acc']:.2f}, RQI > 0.95 in {check['share_rqi_learned']:.0%}"
        )
    return check, meas


def verdict(prediction: dict, measurements: list[dict], settings: dict):
    from effgrok.nets.phases import PHASES

    r = _runs(measurements, settings)
    counts = {ph: int(np.sum(r["phase"] == i)) for i, ph in enumerate(PHASES)}
    grid_ok, grid_detail = _grid_control(r, settings)
    checks, observed = {}, {}
    for name, (pred, phases) in _regions(settings).items():
        sel = pred(r["lr_dec"], r["wd_dec"])
        checks[name], meas = _region(r, sel, phases, name)
        share, claim = checks[name]["share"], _REGION_CLAIM[name]
        min_share = next(c.threshold["min_share"] for c in CLAIMS if c.name == claim)
        observed[claim] = Observed(
            meas,
            passed=share is not None and share >= min_share,
            held=grid_ok and share is not None,
            detail=grid_detail + f"; {int(sel.sum())} runs in the region",
            numbers=checks[name],
        )
    observed["grokking_runs"] = Observed(
        f"{counts['grokking']} of {r['phase'].size} runs grok (gap ≥ {settings['gap']} trained "
        "steps); all runs: " + ", ".join(f"{v} {p}" for p, v in counts.items()),
        numbers={"phase_counts": counts},
    )
    k_scale = float(settings["time_scale"])
    pred = (
        f"≥ 50 % memorization at lr_dec ≥ {settings['fast_lr']:g}, wd ≤ {settings['low_wd']:g}; "
        f"≥ 50 % confusion at lr_dec ≥ {settings['fast_lr']:g}, wd ≥ {settings['high_wd']:g}; "
        f"≥ 50 % comprehension/grokking at lr_dec ≤ {settings['slow_lr']:g} (budget {settings['steps']} "
        f"steps at {k_scale:g}× every learning rate ≈ {prediction['budget_paper_steps']} paper steps)"
    )
    numbers = {
        "regions": checks,
        "phase_counts": counts,
        "time_scale": k_scale,
        "gap": int(settings["gap"]),
        "largest_trained_lr": k_scale * float(np.max(r["lr_dec"])) if r["lr_dec"].size else 0.0,
        "runs_generalised": int(np.sum(reached(r["step_test_acc"]))),
    }
    return verdict_of(CLAIMS, observed, prediction=pred, numbers=numbers)


def _pct(x) -> str:
    return "—" if x is None else f"{x:.0%}"


def plot(prediction, measurements, settings, verdict, path) -> None:
    from matplotlib.colors import ListedColormap

    from effgrok.nets.phases import PHASES
    from effgrok.plot import plt, save

    r = _runs(measurements, settings)
    lr = np.asarray(settings["lr_dec"], float)
    wd = np.asarray(settings["wd_dec"], float)
    grid = np.full((wd.size, lr.size), np.nan)
    for j, w in enumerate(wd):
        for i, v in enumerate(lr):
            sel = (r["wd_dec"] == w) & np.isclose(r["lr_dec"], v)
            if sel.any():  # majority phase of the cell's seeds (ties: lowest index)
                grid[j, i] = np.argmax(np.bincount(r["phase"][sel], minlength=len(PHASES)))
    colors = ["tab:green", "tab:orange", "tab:blue", "tab:red"]
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ax.imshow(grid, origin="lower", aspect="auto", cmap=ListedColormap(colors), vmin=-0.5, vmax=3.5)
    for j, w in enumerate(wd):  # every run's phase initial, seed order
        for i, v in enumerate(lr):
            sel = (r["wd_dec"] == w) & np.isclose(r["lr_dec"], v)
            label = "".join(_LETTER[PHASES[int(k)]] for k in r["phase"][sel])
            ax.text(i, j, label, ha="center", va="center", fontsize=8, color="white")
    ax.set_xticks(range(lr.size), [f"{v:.0e}" for v in lr], rotation=45, fontsize=8)
    ax.set_yticks(range(wd.size), [f"{w:g}" for w in wd], fontsize=8)
    ax.set_xlabel("decoder learning rate (paper units)")
    ax.set_ylabel("decoder weight decay")
    for c, name in zip(colors, PHASES, strict=True):
        ax.plot([], [], "s", color=c, label=f"{name} ({_LETTER[name]})")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_title(f"{TITLE}\n{verdict.status} (majority phase per cell)", fontsize=8)
    save(fig, path, dpi=120, tight=True)
