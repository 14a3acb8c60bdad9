"""Tutorial 5: the four-phase map of the toy model over decoder learning rate × decoder weight decay.

Liu et al. (2022, Sec. 5 and Table 1) sort every training run of their toy model (p = 10
addition, 45 of the 55 pairs for training) into four phases by the first steps at which the
train and the test accuracy reach 90 % within a budget of B steps:

* comprehension -- both reached, test less than G steps after train;
* grokking      -- both reached, test G or more steps after train;
* memorization  -- train reached, test not;
* confusion     -- train not reached.

Over the decoder learning rate (log axis) and decoder weight decay, with the embedding
learning rate fixed at 1e-3, the paper finds comprehension and grokking (the "Goldilocks
zone") at slow decoders, memorization at fast decoders with little weight decay, and
confusion at fast decoders with large weight decay.

This script trains the whole grid as one vmapped JAX batch with
:func:`effgrok.nets.toy.train_toy` (the architecture is ``ToyConfig()``'s default), classifies
every run with :func:`effgrok.nets.phases.classify_phases` and draws the map.  The paper's
budget is B = 1e5 steps and G = 1e3; this script keeps the paper's axes at a coarser grid and
a smaller budget so that it runs on a laptop:

* full:    6 × 5 grid (lr_dec 1e-5..1e-2, wd_dec 0..10), 1 seed, B = 10 000, G = 1 000
           (the paper's G; about 10 minutes on 2 busy CPU cores);
* --small: 4 × 3 grid, 1 seed, B = 1 200, G = 120 (under a minute).

Run it::

    uv run python docs/tutorials/phase_diagram.py            # the full run
    uv run python docs/tutorials/phase_diagram.py --small    # under a minute
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure  # a Figure without pyplot renders with Agg

import effgrok as eg
from effgrok.constants import reached
from effgrok.nets.phases import PHASES, classify_phases
from effgrok.nets.toy import ToyConfig, train_toy

FIGURE = "phase_diagram.png"
LR_EMB = 1e-3  # the paper's fixed embedding learning rate
N_TRAIN = 45  # of the 55 pairs (a, b), a <= b, for p = 10
# one seed per run: every cell trains from the same split, initialisation and templates.  The full
# run uses seed 2, whose split lets the structure reach 90 % test accuracy (seed 0's leaves two
# test pairs out of reach); the small run seed 0, whose fast decoders fit within 1 200 steps.
SEED, SMALL_SEED = 2, 0
LETTERS = {"comprehension": "C", "grokking": "G", "memorization": "M", "confusion": "X"}
COLORS = ("#4daf4a", "#377eb8", "#ff7f00", "#999999")  # in the order of PHASES


def main(out_dir, small: bool = False) -> dict:
    """Train the grid, classify the runs, save ``phase_diagram.png``, return the numbers."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if small:
        lr_dec, wd_dec, steps, stride, gap = np.logspace(-5, -2, 4), np.linspace(0, 10, 3), 1_200, 50, 120
    else:
        lr_dec, wd_dec, steps, stride, gap = np.logspace(-5, -2, 6), np.linspace(0, 10, 5), 10_000, 100, 1_000
    seed = SMALL_SEED if small else SEED
    task = eg.make_task("add", 10)
    config = replace(ToyConfig(), steps=steps, stride=stride)
    wd_grid, lr_grid = np.meshgrid(wd_dec, lr_dec, indexing="ij")  # [wd row, lr column]
    runs = train_toy(
        task,
        config,
        seeds=seed,
        n_train=N_TRAIN,
        lr_emb=LR_EMB,
        lr_dec=lr_grid.ravel(),
        wd_dec=wd_grid.ravel(),
    )
    shape = wd_grid.shape
    step_train = runs.step_train_acc.reshape(shape)
    step_test = runs.step_test_acc.reshape(shape)
    phases = classify_phases(step_train, step_test, budget=steps, gap=gap)
    counts = {name: int(np.sum(phases == k)) for k, name in enumerate(PHASES)}
    test_only = int(np.sum(reached(step_test) & ~reached(step_train)))  # never reached: NaN
    final_test = runs.final_test_acc.reshape(shape)
    final_rqi = runs.final_rqi.reshape(shape)

    fig = Figure(figsize=(10, 3.8), layout="constrained")
    mx, sx = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1]})
    dl = np.log10(lr_dec[1] / lr_dec[0])
    dw = wd_dec[1] - wd_dec[0]
    extent = (
        np.log10(lr_dec[0]) - dl / 2,
        np.log10(lr_dec[-1]) + dl / 2,
        wd_dec[0] - dw / 2,
        wd_dec[-1] + dw / 2,
    )
    mx.imshow(
        phases,
        origin="lower",
        extent=extent,
        aspect="auto",
        cmap=ListedColormap(COLORS),
        vmin=-0.5,
        vmax=len(PHASES) - 0.5,
        interpolation="nearest",
    )
    for j, w in enumerate(wd_dec):
        for i, lr in enumerate(lr_dec):
            mx.text(np.log10(lr), w, LETTERS[PHASES[phases[j, i]]], ha="center", va="center", fontsize=9)
    for name, color in zip(PHASES, COLORS, strict=True):
        mx.plot([], [], "s", color=color, ms=8, label=f"{LETTERS[name]} {name}")
    mx.set(xlabel="log10 decoder learning rate", ylabel="decoder weight decay")
    mx.set_title(f"phases after {steps} steps (G = {gap})", fontsize=10)
    mx.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=4, frameon=False)
    for j, w in enumerate(wd_dec):  # every weight decay: train (filled) and test (open) first hits
        for arr, marker, fill in ((step_train, "o-", None), (step_test, "s--", "none")):
            hit = reached(arr[j])
            sx.semilogx(
                lr_dec[hit],
                arr[j][hit],
                marker,
                color=f"C{j}",
                mfc=fill,
                label=f"wd = {w:g}" if fill is None else None,
            )
    sx.axhline(steps, color="0.5", lw=0.8, ls=":", label="budget")
    sx.set(xlabel="decoder learning rate", ylabel="first step with accuracy ≥ 0.9", ylim=(0, 1.05 * steps))
    sx.set_title("first 90 % accuracy: train (filled), test (open)", fontsize=10)
    sx.legend(fontsize=7)
    path = out_dir / FIGURE
    fig.savefig(path, dpi=110)

    numbers = {
        "lr_dec": lr_dec,
        "wd_dec": wd_dec,
        "steps": steps,
        "gap": gap,
        "phases": phases,
        "counts": counts,
        "test_only": test_only,
        "step_train_acc": step_train,
        "step_test_acc": step_test,
        "final_test_acc": final_test,
        "final_rqi": final_rqi,
        "figure": path,
    }
    print(
        f"toy model  task add  p=10  n_train={N_TRAIN}  {config.variant}  d={config.dim}  "
        f"lr_emb={LR_EMB:g}  seed {seed}  steps={steps}  gap={gap}"
    )
    print("  phase map (rows: decoder wd, columns: decoder lr; C comprehension, G grokking,")
    print("             M memorization, X confusion)")
    print("  wd \\ lr " + "".join(f"{lr:>9.1e}" for lr in lr_dec))
    for j in reversed(range(len(wd_dec))):
        print(f"  {wd_dec[j]:>6g}  " + "".join(f"{LETTERS[PHASES[k]]:>9}" for k in phases[j]))
    print("  cells by phase: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    print(f"  runs with test ≥ 0.9 but train < 0.9 (counted as confusion): {test_only}")
    for j in (0, len(wd_dec) - 1):
        cells = "  ".join(
            f"{int(s) if reached(s) else '—'}/{int(t) if reached(t) else '—'}"
            for s, t in zip(step_train[j], step_test[j], strict=True)
        )
        print(f"  wd={wd_dec[j]:g}: first step train/test ≥ 0.9 by lr: {cells}")
    print(f"  final test accuracy: max {final_test.max():.2f}; final RQI: max {final_rqi.max():.2f}")
    print(f"  figure: {path}")
    return numbers


if __name__ == "__main__":
    from _command_line import run  # docs/tutorials/_command_line.py: --out, --small

    run(main, __doc__, small="the quick version (under a minute)")
