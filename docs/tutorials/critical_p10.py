"""Tutorial 1: P(linear structure) and the critical training fraction r_c for p = 10 addition.

Liu et al. (2022) draw 10 000 random training sets of every size for the toy task ``a + b``
on the symbols 0..9 (55 unordered examples) and report that the fraction of training sets
whose parallelograms force the linear representation ``E_k = a + b·k`` crosses ½ at
``r_c ≈ 0.4``.  This script reproduces the curve and r_c with a confidence interval, and
checks a few points of the curve by brute force with an independent method.

Run it::

    uv run python docs/tutorials/critical_p10.py            # 10 000 splits per size
    uv run python docs/tutorials/critical_p10.py --small    # 2 000, a second or two
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure  # a Figure without pyplot renders with Agg

import effgrok as eg

FIGURE = "critical_p10.png"


def brute_force_pinned(task, size: int, draws: int, seed: int = 1) -> float:
    """Fraction of ``draws`` random training sets of ``size`` examples that pin the structure.

    Independent of :func:`effgrok.critical_fraction`: one training set at a time, nullity
    from the floating-point eigenvalues of its Gram matrix.
    """
    pinned = [
        eg.structure_pinned(task, eg.random_split(task, size=size, seed=seed + k)) for k in range(draws)
    ]
    return float(np.mean(pinned))


def main(out_dir, small: bool = False) -> dict:
    """Compute the curve and r_c, save ``critical_p10.png`` in ``out_dir``, return the numbers."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    task = eg.make_task("add", 10)
    splits = 2_000 if small else 10_000

    # 1. P(pinned | n) for every training size n from `splits` random orderings
    res = eg.critical_fraction(task, splits=splits, seed=0)

    # 2. an independent check at the two sizes around the crossing
    draws = 500 if small else 2_000
    check = {}
    for n in (res.median_size - 1, res.median_size):
        curve = float(res.p_pinned[res.sizes == n][0])
        check[n] = (curve, brute_force_pinned(task, n, draws))

    # 3. the figure: the curve with its pointwise 95 % band, r_c with its interval, and the
    #    distribution of the pinning size T (the smallest prefix of an ordering that pins)
    fig = Figure(figsize=(9.0, 3.6), layout="constrained")
    ax, hx = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    frac = res.fractions
    ax.fill_between(frac, res.p_pinned_ci[:, 0], res.p_pinned_ci[:, 1], color="C0", alpha=0.3, lw=0)
    ax.plot(frac, res.p_pinned, "o-", ms=3, color="C0", label=f"{splits} splits per size")
    ax.axhline(0.5, color="0.5", lw=0.8, ls=":")
    ax.axvspan(*res.r_c_ci, color="C3", alpha=0.25, lw=0)
    ax.axvline(res.r_c, color="C3", lw=1.2, label=f"$r_c$ = {res.r_c:.4f}")
    for n, (_, brute) in check.items():
        ax.plot(n / task.n_examples, brute, "kx", ms=7)
    ax.plot([], [], "kx", label="brute force (eigenvalues)")
    ax.set(xlabel="training fraction r = n / 55", ylabel="P(structure pinned)", xlim=(0.2, 0.8))
    ax.set_title("a + b, p = 10: does the training set force $E_k = a + b k$?", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    T = res.pinning_sizes
    bins = np.arange(T.min(), T.max() + 2) - 0.5
    hx.hist(T, bins=bins, color="C0", alpha=0.8)
    hx.axvline(res.n_c, color="C3", lw=1.2, label=f"$n_c$ = {res.n_c:.2f}")
    hx.set(xlabel="pinning size T (examples)", ylabel="orderings")
    hx.legend(fontsize=8)
    path = out_dir / FIGURE
    fig.savefig(path, dpi=110)

    numbers = {
        "splits": splits,
        "r_c": res.r_c,
        "r_c_ci": tuple(res.r_c_ci),
        "n_c": res.n_c,
        "median_size": res.median_size,
        "median_size_ci": tuple(res.median_size_ci),
        "check": {int(n): v for n, v in check.items()},
        "figure": path,
    }
    lo, hi = res.r_c_ci
    print(f"task add  p=10  |D0|={task.n_examples}  splits per size={splits}")
    print(f"  r_c = {res.r_c:.4f}  [{lo:.4f}, {hi:.4f}] (95% CI)   n_c = {res.n_c:.2f}")
    print(f"  median pinning size {res.median_size}  95% interval {res.median_size_ci}")
    for n, (curve, brute) in check.items():
        print(f"  P(pinned | n={n}): curve {curve:.3f}   brute force ({draws} sets) {brute:.3f}")
    print(f"  figure: {path}")
    return numbers


if __name__ == "__main__":
    from _command_line import run  # docs/tutorials/_command_line.py: --out, --small

    run(main, __doc__)
