"""Figures of the networks (:mod:`effgrok.nets`): toy-model runs and phase diagrams."""

from __future__ import annotations

from pathlib import Path

from ..constants import RQI_THRESHOLD
from ._backend import plt, save

__all__ = ["plot_phase_diagram", "plot_toy_runs"]


def plot_toy_runs(runs, path) -> Path:
    """Train/test accuracy and RQI of every toy-model run against steps."""
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8), sharex=True)
    for k in range(runs.train_acc.shape[0]):
        for ax, y in zip(axes, (runs.train_acc[k], runs.test_acc[k], runs.rqi[k]), strict=True):
            ax.plot(runs.steps, y, lw=1, alpha=0.8)
    for ax, title in zip(axes, ("train accuracy", "test accuracy", "RQI"), strict=True):
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.set_ylim(-0.02, 1.02)
        ax.axhline(RQI_THRESHOLD if title == "RQI" else 0.9, color="0.5", ls=":", lw=0.8)
    return save(fig, path, tight=True)


def plot_phase_diagram(res: dict, path) -> Path:
    """The majority phase of every grid cell as a colour map (no interpolation), with the
    fraction of runs in it written in each cell."""
    from matplotlib.colors import ListedColormap

    from ..nets.phases import PHASES

    (xn, xv), (yn, yv) = res["x"], res["y"]
    frac = res["fractions"]
    major = frac.argmax(axis=-1)
    colours = ListedColormap(["#4c9a2a", "#3b6fb6", "#d9822b", "#b23a48"])
    fig, ax = plt.subplots(figsize=(min(3.0 + 0.45 * xv.size, 12), min(2.0 + 0.4 * yv.size, 8)))
    ax.imshow(
        major, origin="lower", cmap=colours, vmin=-0.5, vmax=3.5, interpolation="nearest", aspect="auto"
    )
    for j in range(yv.size):
        for i in range(xv.size):
            ax.text(
                i,
                j,
                f"{frac[j, i].max():.0%}" if res["seeds"].size > 1 else "",
                ha="center",
                va="center",
                fontsize=8,
                color="white",
            )
    ax.set_xticks(range(xv.size), [f"{v:.2g}" for v in xv], rotation=90, fontsize=8)
    ax.set_yticks(range(yv.size), [f"{v:.2g}" for v in yv], fontsize=8)
    ax.set_xlabel(xn)
    ax.set_ylabel(yn)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours(k)) for k in range(len(PHASES))]
    ax.legend(handles, PHASES, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(f"phases after {res['budget']} steps (gap {res['gap']})", fontsize=9)
    return save(fig, path, tight=True)
