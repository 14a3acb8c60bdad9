"""Matplotlib figures (Agg backend).  Imported lazily by the CLI; the core never imports it."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from .effective.critical import CriticalResult

__all__ = ["plot_critical"]


def plot_critical(results: list[CriticalResult], path) -> Path:
    """P(structure pinned) against training fraction (with pointwise CI band and r_c);
    with several ``p`` a second panel shows ``r_c`` against ``p`` on log axes."""
    path = Path(path)
    multi = len(results) > 1
    fig, axes = plt.subplots(1, 2 if multi else 1, figsize=(11 if multi else 6, 4.2), squeeze=False)
    ax = axes[0, 0]
    for res in results:
        frac = res.sizes / res.n_examples
        (line,) = ax.plot(frac, res.p_pinned, lw=1.5, label=f"{res.task}, p={res.p}")
        ax.fill_between(
            frac, res.p_pinned_ci[:, 0], res.p_pinned_ci[:, 1], color=line.get_color(), alpha=0.25
        )
        ax.axvline(res.r_c, color=line.get_color(), ls=":", lw=1)
    ax.axhline(0.5, color="0.4", ls="--", lw=0.8)
    ax.set_xlabel("training fraction r")
    ax.set_ylabel("P(structure pinned)")
    ax.set_ylim(-0.02, 1.02)
    if multi:
        ax.set_xscale("log")
    ax.set_title(f"{results[0].splits} random training sets per size")
    ax.legend(fontsize=8)
    if multi:
        ax2 = axes[0, 1]
        ps = np.array([r.p for r in results], dtype=float)
        rc = np.array([r.r_c for r in results])
        lo = rc - np.array([r.r_c_ci[0] for r in results])
        hi = np.array([r.r_c_ci[1] for r in results]) - rc
        ax2.errorbar(ps, rc, yerr=[lo, hi], marker="o", capsize=3)
        ax2.set_xscale("log")
        ax2.set_yscale("log")
        ax2.set_xlabel("p")
        ax2.set_ylabel("critical fraction r_c")
        ax2.set_title(results[0].task)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    tmp.replace(path)
    return path
