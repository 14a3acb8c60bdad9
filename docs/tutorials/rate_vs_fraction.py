"""Tutorial 2: the grokking rate λ3 versus the training fraction (p = 10 addition).

Once a training set pins the structure, the effective theory predicts *how fast* the
representation is learned: linearising ``ℓ_eff = ℓ0/Z`` at ``Z = Z0`` gives the Hessian
``H = 2 G_D / (N Z0)``, whose first eigenvalue above the two zero modes (translation and
scale) is the grokking rate λ3, and ``n_h = 1/(η λ3)`` steps.  More training examples mean
more parallelograms, a stiffer ``G_D`` and a larger λ3.  This script draws random training
sets of every size, computes λ3 for each and plots its distribution against r = n/55,
next to P(pinned) (unpinned sets have λ3 = 0 and ``n_h = ∞``).

Run it::

    uv run python docs/tutorials/rate_vs_fraction.py            # 1 000 sets per size
    uv run python docs/tutorials/rate_vs_fraction.py --small    # 100 sets per size
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure  # a Figure without pyplot renders with Agg

import effgrok as eg

FIGURE = "rate_vs_fraction.png"
LEARNING_RATE = 1e-3  # η, the paper's embedding learning rate
Z0 = 9.0  # ‖E0‖² of a standardised 1-D start at p = 10 (Z0 = p − 1)


def main(out_dir, small: bool = False) -> dict:
    """Compute λ3 over random training sets of every size, save the figure, return the numbers."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    task = eg.make_task("add", 10)
    draws = 100 if small else 1_000
    sizes = np.arange(15, task.n_examples + 1)

    # λ3 of H = 2 G_D / (N Z0) with N = 1 and Z0 = p − 1 = 9, the ‖E0‖² of a standardised
    # 1-D start (effgrok's default Z0 is the mean ‖E0‖² of a U(−½, ½) start, p/12; Z0 only
    # rescales H); the scale-free Gram eigenvalue λ3(G) is reported beside it.
    rates = np.zeros((sizes.size, draws))
    pinned = np.zeros((sizes.size, draws), dtype=bool)
    for i, n in enumerate(sizes):
        for k in range(draws):
            split = eg.random_split(task, size=int(n), seed=k)
            r = eg.grokking_rate(task, split, learning_rate=LEARNING_RATE, z0=Z0)
            rates[i, k], pinned[i, k] = r.grokking_rate, r.pinned

    p_pinned = pinned.mean(axis=1)
    quantiles = np.full((sizes.size, 3), np.nan)  # 10 %, 50 %, 90 % of λ3 over pinned sets
    for i in range(sizes.size):
        if pinned[i].sum() >= 10:
            quantiles[i] = np.quantile(rates[i, pinned[i]], [0.1, 0.5, 0.9])
    full = eg.grokking_rate(task, np.ones(task.n_examples, dtype=bool), learning_rate=LEARNING_RATE, z0=Z0)

    fig = Figure(figsize=(9.0, 3.6), layout="constrained")
    ax, nx = fig.subplots(1, 2)
    frac = sizes / task.n_examples
    ax.fill_between(frac, quantiles[:, 0], quantiles[:, 2], color="C0", alpha=0.3, lw=0, label="10–90 %")
    ax.plot(frac, quantiles[:, 1], "o-", ms=3, color="C0", label="median over pinned sets")
    ax.axhline(full.grokking_rate, color="C3", ls="--", lw=1, label=f"full table: {full.grokking_rate:.4f}")
    ax.set(xlabel="training fraction r = n / 55", ylabel="grokking rate λ3 of H")
    ax.set_title("λ3 grows with the training fraction", fontsize=10)
    ax.legend(loc="center left", fontsize=8)
    twin = ax.twinx()
    twin.plot(frac, p_pinned, color="0.4", lw=1, ls=":")
    twin.set_ylabel("P(pinned) (dotted)", color="0.4")
    twin.set_ylim(0, 1.05)
    n_h = 1.0 / (LEARNING_RATE * quantiles[:, 1])
    nx.semilogy(frac, n_h, "o-", ms=3, color="C2")
    nx.set(xlabel="training fraction r = n / 55", ylabel="median n_h = 1/(η λ3)  [steps]")
    nx.set_title(f"predicted steps to learn, η = {LEARNING_RATE:g}", fontsize=10)
    path = out_dir / FIGURE
    fig.savefig(path, dpi=110)

    def at(r):
        i = int(np.argmin(np.abs(frac - r)))
        return int(sizes[i]), float(quantiles[i, 1])

    table = {r: at(r) for r in (0.5, 0.6, 0.7, 0.8, 0.9)}
    numbers = {
        "draws": draws,
        "full_table_rate": full.grokking_rate,
        "full_table_gram_eigenvalue": full.gram_eigenvalue,
        "median_rate": {n: lam for n, lam in table.values()},
        "p_pinned": dict(zip(sizes.tolist(), p_pinned.tolist(), strict=True)),
        "figure": path,
    }
    print(f"task add  p=10  {draws} random training sets per size  η={LEARNING_RATE:g}  Z0=9  N=1")
    print(f"  full table: λ3(G) = {full.gram_eigenvalue:.6g}   λ3(H) = {full.grokking_rate:.6g}")
    for r, (n, lam) in table.items():
        print(f"  r≈{r:.1f} (n={n}):  median λ3 {lam:.4f}   n_h {1 / (LEARNING_RATE * lam):8.1f} steps")
    print(f"  figure: {path}")
    return numbers


if __name__ == "__main__":
    from _command_line import run  # docs/tutorials/_command_line.py: --out, --small

    run(main, __doc__)
