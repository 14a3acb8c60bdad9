"""Tutorial 6: add your own network in 30 lines -- a multiplicative model trained by the driver.

A network is a small :class:`effgrok.nets.Model <effgrok.nets.driver.Model>` object:
``init(rng, task)`` draws one run's parameters (numpy) and ``apply(params, inputs)`` computes
one run's outputs (jax.numpy).  The one training driver,
:func:`effgrok.nets.train <effgrok.nets.driver.train>`, does everything else: the per-run split
and initialisation, the grid of runs, the scan over steps, the compiled-program cache and the
named curves.  This script defines a model the library does not have -- a *bilinear* network
whose hidden layer is the elementwise product of the two operands' embeddings,

    z = (E_a ⊙ E_b) U,

trains it on modular addition over ``Grid.product(train_fraction=..., seed=...)`` and compares
it with the library's one-hidden-layer ReLU :class:`~effgrok.nets.modular.MLP` of (almost) the
same number of parameters, on the same grid, optimiser and budget.

Run it::

    uv run python docs/tutorials/own_network.py            # 3 fractions x 3 seeds, 3000 steps: ~15 s CPU
    uv run python docs/tutorials/own_network.py --small    # 3 fractions x 2 seeds, 1500 steps: ~11 s CPU
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure  # a Figure without pyplot renders with Agg

import effgrok as eg
from effgrok.nets import MLP, AdamW, Grid, Model, Schedule, train

FIGURE = "own_network.png"


# ---- the new network: a Model subclass ----------------------------------------------------------
@dataclass(frozen=True)  # frozen: the object is hashable and keys the driver's compiled programs
class Bilinear(Model):
    """``z = (E_a ⊙ E_b) U``: one embedding table for both operands, their elementwise product,
    a linear read-out.  ``E ~ N(0, 1)``, ``U ~ N(0, 1/hidden)``."""

    hidden: int = 64

    def init(self, rng, task):  # one run's parameters, drawn after the run's split
        n, C, H = task.n_symbols, task.n_classes, self.hidden
        return {"E": rng.normal(0.0, 1.0, (n, H)), "U": rng.normal(0.0, H**-0.5, (H, C))}

    def apply(self, params, inputs):  # one run; inputs = the examples' symbols (a, b)
        a, b = inputs
        return (params["E"][a] * params["E"][b]) @ params["U"]

    def metrics(self, params, outputs, targets, mask, loss):  # optional: extra named curves
        import jax.numpy as jnp

        return {"embedding_norm": jnp.linalg.norm(params["E"])}


def train_both(task, fractions, seeds, steps: int, hidden: int = 64) -> dict:
    """Train :class:`Bilinear` and :class:`~effgrok.nets.modular.MLP` on the same grid of runs."""
    grid = Grid.product(train_fraction=fractions, seed=seeds, learning_rate=1e-2, weight_decay=1.0)
    schedule = Schedule(steps=steps, stride=50)  # curves every 50 steps
    out = {}
    for model in (Bilinear(hidden), MLP(hidden=hidden)):
        out[type(model).__name__] = train(model, AdamW(), schedule, grid, task=task, precision="float64")
    return out


# ---- end of the new network ---------------------------------------------------------------------


def _never(step: float) -> str:
    return "—" if np.isnan(step) else f"{step:.0f}"


def main(out_dir, small: bool = False) -> dict:
    """Train both models, save ``own_network.png`` in ``out_dir``, return the numbers."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    task = eg.make_task("add-mod", 23)  # 276 unordered pairs a <= b
    fractions, seeds = [0.4, 0.6, 0.8], [0, 1] if small else [0, 1, 2]
    steps = 1500 if small else 3000
    t0 = time.perf_counter()
    runs = train_both(task, fractions, seeds, steps)
    seconds = time.perf_counter() - t0

    # per run: the first recorded step with accuracy >= 0.99 (NaN: never within the budget)
    numbers = {"steps": steps, "seeds": seeds, "fractions": fractions, "seconds": seconds, "models": {}}
    for name, r in runs.items():
        numbers["models"][name] = {
            "params": int(sum(np.prod(v.shape[1:]) for v in r.params.values())),
            "curves": sorted(r.curves),
            "train_fraction": r.train_fraction,
            "seed": r.seed,
            "n_train": r.n_train,
            "step_train_99": r.first_crossing("train_acc", 0.99),
            "step_test_99": r.first_crossing("test_acc", 0.99),
            "final_test_acc": r.test_acc[:, -1],
        }
    numbers["runs"] = runs  # the two TrainRuns (curves, columns, final parameters, masks)
    numbers["figure"] = figure(runs, numbers, out_dir / FIGURE)
    report(numbers)
    return numbers


def figure(runs: dict, numbers: dict, path: Path) -> Path:
    """Test accuracy against step (one line per run) and the first step with test accuracy
    >= 0.99 against the training fraction."""
    fractions, steps = numbers["fractions"], numbers["steps"]
    fig = Figure(figsize=(9.0, 3.6), layout="constrained")
    ax, bx = fig.subplots(1, 2)
    for i, f in enumerate(fractions):
        for name, style in (("Bilinear", "-"), ("MLP", "--")):
            r = runs[name]
            for k in np.flatnonzero(r.train_fraction == f):
                ax.plot(r.steps, r.test_acc[k], style, color=f"C{i}", lw=1)
        ax.plot([], [], color=f"C{i}", label=f"train fraction {f}")
    ax.plot([], [], "k-", label="Bilinear")
    ax.plot([], [], "k--", label="MLP (ReLU)")
    ax.set(xlabel="step", ylabel="test accuracy", ylim=(-0.02, 1.02))
    ax.legend(fontsize=8, loc="center right")
    for j, (name, marker) in enumerate((("Bilinear", "o"), ("MLP", "s"))):
        n = numbers["models"][name]
        hit = ~np.isnan(n["step_test_99"])
        x = n["train_fraction"] + 0.01 * (j - 0.5)
        bx.plot(x[hit], n["step_test_99"][hit], marker, color=f"C{j + 3}", label=f"{name}: reached")
        miss = np.full((~hit).sum(), steps)
        bx.plot(x[~hit], miss, marker, mfc="none", color=f"C{j + 3}", label=f"{name}: not within budget")
    bx.axhline(steps, color="0.5", lw=0.8, ls=":")
    bx.set(xlabel="training fraction", ylabel="first step with test acc ≥ 0.99", ylim=(0, 1.1 * steps))
    bx.legend(fontsize=8)
    seeds = len(numbers["seeds"])
    fig.suptitle(f"add-mod p = 23, {seeds} seeds, {steps} steps: z = (E_a ⊙ E_b) U against the ReLU MLP")
    fig.savefig(path, dpi=110)
    return path


def report(numbers: dict) -> None:
    """Print the models' sizes and curves, and per (model, fraction) the first steps with train
    and test accuracy >= 0.99 of every seed and the final test accuracies."""
    runs = f"{len(numbers['fractions'])} fractions x {len(numbers['seeds'])} seeds"
    print(f"add-mod p=23  AdamW lr=0.01 wd=1  float64  {numbers['steps']} steps  runs: {runs}")
    for name, n in numbers["models"].items():
        print(f"  {name}: {n['params']} parameters; curves: {', '.join(n['curves'])}")
    print("  first step train acc >= 0.99 / test acc >= 0.99 per seed (— never), final test acc")
    for name, n in numbers["models"].items():
        for f in numbers["fractions"]:
            sel = n["train_fraction"] == f
            pairs = zip(n["step_train_99"][sel], n["step_test_99"][sel], strict=True)
            hits = "  ".join(f"{_never(a)}/{_never(b)}" for a, b in pairs)
            accs = " ".join(f"{v:.2f}" for v in n["final_test_acc"][sel])
            print(f"  {name:8s} f={f} n_train={n['n_train'][sel][0]}:  {hits}   test acc {accs}")
    print(f"  figure: {numbers['figure']}")


if __name__ == "__main__":
    from _command_line import run  # docs/tutorials/_command_line.py: --out, --small

    run(main, __doc__)
