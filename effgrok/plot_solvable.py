"""Figures of the solvable models (Agg backend): theory curves with simulations beside them.

Imported lazily by the CLI and the validation suite; the core never imports it.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

__all__ = ["plot_dichotomy", "plot_linear"]


def _save(fig, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.tight_layout()
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    tmp.replace(path)
    return path


def plot_linear(result: dict, path) -> Path:
    """Linear teacher–student: loss curves against steps and the grokking gap against ``λ``.

    ``result`` holds ``time`` (steps), per-``λ`` lists ``lam``, ``train_loss``,
    ``generalization_loss``, ``gap``, ``gap_asymptotic``, ``loss_level`` and, when simulated,
    ``sim_time``, ``sim_train_loss``, ``sim_generalization_loss`` (seed means) and ``sim_gap``
    (per-seed gaps).
    """
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.2))
    t = np.asarray(result["time"], dtype=float)
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(result["lam"])))
    for k, (lam, c) in enumerate(zip(result["lam"], colors, strict=True)):
        ax.plot(t[1:], np.asarray(result["train_loss"][k])[1:], color=c, lw=1.2, ls="--")
        ax.plot(
            t[1:], np.asarray(result["generalization_loss"][k])[1:], color=c, lw=1.5, label=f"λ = {lam:g}"
        )
        if result.get("sim_time") is not None:
            ts = np.asarray(result["sim_time"][k], dtype=float)
            ax.plot(ts[1:], np.asarray(result["sim_generalization_loss"][k])[1:], color=c, lw=0.8, ls=":")
    ax.axhline(result["loss_level"], color="0.4", lw=0.8, ls="-.")
    ax.set(
        xscale="log", yscale="log", xlabel="step", ylabel="loss", title="theory: train -- , test —; sim ···"
    )
    ax.legend(fontsize=8)
    lam = np.asarray(result["lam"], dtype=float)
    bx.plot(lam, result["gap"], "o-", label="theory (MP average, exact crossing)")
    bx.plot(lam, result["gap_asymptotic"], "s--", label="long-time form")
    if result.get("sim_gap") is not None:
        for k, g in enumerate(result["sim_gap"]):
            g = np.asarray(g, dtype=float)
            bx.plot(np.full(g.size, lam[k]), g, "k.", ms=4, label="simulation (per seed)" if k == 0 else None)
    bx.set(yscale="log", xlabel="λ = d_in / N_train", ylabel="grokking gap Δt (steps)")
    bx.legend(fontsize=8)
    return _save(fig, path)


def plot_dichotomy(result: dict, path) -> Path:
    """Kernel→rich dichotomy: predicted transition times and, when simulated, test accuracy
    curves against ``t = η·step`` (one colour per ``α``, dotted lines at ``t*``) and measured
    against predicted transition times.

    ``result`` holds ``alpha``, ``weight_decay``, ``t_star`` (per theory row) and optionally
    ``sim``: a dict with ``lr``, ``steps``, ``alpha``, ``weight_decay``, ``test_acc``,
    ``transition_time``, ``predicted_time``.
    """
    sim = result.get("sim")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    ax, bx = axes
    if sim is None:
        a = np.asarray(result["alpha"], dtype=float)
        lam = np.asarray(result["weight_decay"], dtype=float)
        t = np.asarray(result["t_star"], dtype=float)
        for w in np.unique(lam):
            m = lam == w
            ax.plot(np.log(a[m]), t[m], "o-", label=f"λ = {w:g}")
        ax.set(xlabel="log α", ylabel="t* = log(α)/λ", title="predicted transition time")
        ax.legend(fontsize=8)
        for al in np.unique(a):
            m = a == al
            bx.plot(1 / lam[m], t[m], "o-", label=f"α = {al:g}")
        bx.set(xlabel="1/λ", ylabel="t*")
        bx.legend(fontsize=8)
        return _save(fig, path)
    a = np.asarray(sim["alpha"], dtype=float)
    ua = np.unique(a)
    colors = dict(zip(ua, plt.cm.plasma(np.linspace(0, 0.85, ua.size)), strict=True))
    t = float(sim["learning_rate"]) * np.asarray(sim["steps"], dtype=float)
    for k in range(a.size):
        ax.plot(t, np.asarray(sim["test_acc"][k]), color=colors[a[k]], lw=1)
        ax.axvline(sim["predicted_time"][k], color=colors[a[k]], ls=":", lw=0.8)
    for al in ua:
        ax.plot([], [], color=colors[al], label=f"α = {al:g}")
    ax.set(xlabel="t = η · step", ylabel="test accuracy", title="test accuracy (dotted: t* = log α / λ)")
    ax.legend(fontsize=8)
    pt = np.asarray(sim["predicted_time"], dtype=float)
    mt = np.asarray(sim["transition_time"], dtype=float)
    ok = np.isfinite(mt)
    bx.scatter(pt[ok], mt[ok], c=[colors[x] for x in a[ok]], s=18)
    lim = [0, max(float(np.nanmax(pt)), float(np.nanmax(mt)) if ok.any() else 0.0) * 1.05 + 1e-12]
    bx.plot(lim, lim, color="0.5", lw=0.8, ls="--", label="measured = predicted")
    bx.set(xlabel="predicted t* = log(α)/λ", ylabel="measured transition time", xlim=lim, ylim=lim)
    bx.legend(fontsize=8)
    return _save(fig, path)
