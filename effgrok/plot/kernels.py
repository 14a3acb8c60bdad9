"""Figures of the kernel theory (:mod:`effgrok.kernels`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._backend import plt, save
from ._ticks import log_scale

__all__ = ["plot_ntk"]


def plot_ntk(study: dict, path) -> Path:
    """Cumulative target power on the NTK's top eigenvectors (finite and infinite width) and the
    lazy (kernel) train/test loss under gradient flow, for each α."""
    rec = study["record"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for c in study["curves"]:
        k = np.arange(1, c["power"].size + 1)
        (line,) = ax1.plot(k, c["power"], marker="o", ms=3, label=f"Θ₀, α={c['alpha']:g}")
        ax1.plot(k, c["power_infinite"], ls="--", color=line.get_color(), label=f"Θ∞, α={c['alpha']:g}")
        t = c["course"]["time"]
        pos = t > 0
        ax2.plot(
            t[pos],
            c["course"]["train_loss"][pos],
            color=line.get_color(),
            ls="--",
            label=f"train, α={c['alpha']:g}",
        )
        ax2.plot(
            t[pos], c["course"]["test_loss"][pos], color=line.get_color(), label=f"test, α={c['alpha']:g}"
        )
    ax1.set_xlabel("top-k eigenvectors of the kernel (test set)")
    ax1.set_ylabel("fraction of target power")
    ax1.set_ylim(0, 1.02)
    ax1.legend(fontsize=8)
    log_scale(ax2, "x")
    ax2.axhline(rec["target_variance"], color="0.5", ls=":", lw=0.8, label="target variance")
    ax2.set_xlabel("gradient-flow time (steps)")
    ax2.set_ylabel("MSE of the lazy (linearised) model")
    ax2.legend(fontsize=8)
    fig.suptitle(
        f"{rec['model']}: D={rec['dim']}, P={rec['samples']}, N={rec['width']}, target {rec['target']}"
    )
    return save(fig, path, tight=True)
