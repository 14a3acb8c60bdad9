"""Figures of the diagnostics of :mod:`effgrok.diagnostics` (matplotlib, Agg backend).

Imported lazily by the CLI and the validation suite only; the core never imports it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._backend import plt, save
from ._ticks import log_scale

__all__ = [
    "plot_alpha_sweep",
    "plot_early_prediction",
    "plot_progress",
    "plot_reduced_landscape",
    "plot_scores",
    "plot_tickets",
]


def plot_early_prediction(res, path, curves=None, steps=None, threshold: float = 0.8) -> Path:
    """AUC of the spectral score against the fraction of the budget observed (left) and the
    scores at the largest fraction by label (right); with ``curves`` (and ``steps``) a third
    panel shows the loss curves coloured by label.

    ``res`` is an :class:`effgrok.diagnostics.early.EarlyPrediction`.
    """
    panels = 3 if curves is not None else 2
    fig, axes = plt.subplots(1, panels, figsize=(min(5 * panels, 12), 4))
    ax = axes[0]
    ax.plot(res.fractions, res.auc, "o-", lw=1.5)
    ax.axhline(0.5, color="0.5", ls=":", lw=1, label="no separation (0.5)")
    ax.axhline(threshold, color="k", ls="--", lw=0.8, label=f"AUC = {threshold:g}")
    ax.set_xlabel("fraction of the budget observed")
    ax.set_ylabel("AUC (grokked vs not)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlim(0, 1.02)
    ax.legend(fontsize=8)
    ax.set_title(f"{int(res.labels.sum())} grokked, {int((~res.labels).sum())} not")
    bx = axes[1]
    i = (
        int(np.nanargmax(np.where(np.isfinite(res.auc), res.fractions, np.nan)))
        if np.isfinite(res.auc).any()
        else res.fractions.size - 1
    )
    s = res.scores[i]
    for lab, color, name in ((True, "C3", "grokked"), (False, "C0", "not grokked")):
        v = s[(res.labels == lab) & np.isfinite(s)]
        if v.size:
            x = np.full(v.size, 1.0 if lab else 0.0) + np.linspace(-0.15, 0.15, v.size)
            bx.scatter(x, np.maximum(v, 1e-30), color=color, s=18, label=name)
    log_scale(bx, "y", only_positive=False)
    bx.set_xticks([0, 1], ["not grokked", "grokked"])
    bx.set_ylabel("spectral score S")
    bx.set_title(f"scores at {res.fractions[i]:g} of the budget")
    if panels == 3:
        cx = axes[2]
        for k, y in enumerate(curves):
            st = (
                np.arange(len(y))
                if steps is None
                else np.asarray(steps if np.ndim(steps[0]) == 0 else steps[k])
            )
            cx.plot(
                st, np.maximum(np.asarray(y), 1e-12), color="C3" if res.labels[k] else "C0", lw=0.6, alpha=0.7
            )
        for f in res.fractions:
            cx.axvline(f * res.budget, color="0.85", lw=0.6, zorder=0)
        log_scale(cx, "y")
        cx.set_xlabel("step")
        cx.set_ylabel("training loss")
        cx.set_title("loss curves (red: grokked)")
    return save(fig, path, tight=True)


_LABELS = {
    "rqi": "RQI",
    "fourier_concentration": "Fourier concentration (top-k)",
    "unit_fourier_concentration": "per-unit Fourier concentration (top-1)",
    "effective_rank": "effective rank of hidden features",
    "participation_ratio": "participation ratio",
    "embedding_effective_rank": "effective rank of embedding",
}


def plot_progress(progress, path, runs=None) -> Path:
    """Each progress measure against the step (one panel per measure), test accuracy dashed
    on a twin axis.  ``progress`` is an :class:`effgrok.diagnostics.progress.Progress`;
    ``runs`` selects runs (default: up to 8)."""
    names = list(progress.measures)
    R = progress.test_acc.shape[0]
    sel = list(range(min(R, 8))) if runs is None else list(runs)
    ncols = min(len(names), 2)  # a grid that fits a page, not one long row
    nrows = -(-len(names) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.6 * ncols, 3.6 * nrows), squeeze=False)
    for ax in axes.ravel()[len(names) :]:
        ax.set_visible(False)
    for ax, name in zip(axes.ravel(), names, strict=False):
        tw = ax.twinx()
        for j, r in enumerate(sel):
            color = f"C{j % 10}"
            ax.plot(progress.steps, progress.measures[name][r], color=color, lw=1.4)
            tw.plot(progress.steps, progress.test_acc[r], color=color, lw=0.8, ls="--")
        ax.set_xlabel("step")
        ax.set_ylabel(_LABELS.get(name, name))
        tw.set_ylabel("test accuracy (dashed)")
        tw.set_ylim(-0.02, 1.02)
        ax.set_title(_LABELS.get(name, name), fontsize=9)
    return save(fig, path, tight=True)


def plot_scores(fractions, scores, runs, path) -> Path:
    """Spectral score of every run against the fraction of the budget observed (no labels)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    scores = np.asarray(scores, dtype=float)
    for k, name in enumerate(runs):
        ax.plot(fractions, np.maximum(scores[:, k], 1e-30), "o-", lw=1, ms=3, label=str(name))
    log_scale(ax, "y", only_positive=False)
    ax.set_xlabel("fraction of the budget observed")
    ax.set_ylabel("spectral score S")
    if len(runs) <= 12:
        ax.legend(fontsize=8)
    return save(fig, path, tight=True)


# --------------------------------------------------------------------------- issue 10, parts 2 and 3
def plot_reduced_landscape(rl, path) -> Path:
    """Final train and test loss against the fixed weight norm ``w/w₀`` (Omnigrok's L and U)."""
    fig, ax = plt.subplots(figsize=(6, 4.2))
    ax.plot(rl.relative, rl.train_loss, "o-", label="train loss (L)")
    ax.plot(rl.relative, rl.test_loss, "s-", label="test loss (U)")
    log_scale(ax, "xy", only_positive=False)
    ax.axvline(rl.shape.w_test_min / rl.w0, color="0.5", ls=":", lw=1, label="lowest test loss")
    ax.set_xlabel("fixed weight norm w / w₀")
    ax.set_ylabel("final MSE")
    s = rl.shape
    title = f"reduced landscape: L ratio {s.l_ratio:.3g}, U {s.u_left:.3g} / {s.u_right:.3g}"
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return save(fig, path, tight=True)


def plot_alpha_sweep(sw, path) -> Path:
    """Test accuracy and weight norm against step for every α (first seed), and t_gen(α)."""
    runs = sw.runs
    n_s = sw.seeds.size
    fig, axes = plt.subplots(1, 3, figsize=(12, 4.2))
    colors = plt.cm.viridis(np.linspace(0, 0.9, sw.alphas.size))
    for i, a in enumerate(sw.alphas):
        k = i * n_s
        axes[0].plot(runs.steps, runs.test_acc[k], color=colors[i], label=f"α={a:g} test")
        axes[0].plot(runs.steps, runs.train_acc[k], color=colors[i], ls=":", lw=1)
        axes[1].plot(runs.steps, runs.weight_norm[k], color=colors[i], label=f"α={a:g}")
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("accuracy (dotted: train)")
    axes[0].legend(fontsize=8)
    log_scale(axes[1], "y", only_positive=False)
    axes[1].set_xlabel("step")
    axes[1].set_ylabel("weight norm ‖θ‖")
    t = np.asarray(sw.t_test, float)  # NaN (NEVER) where not reached
    for j in range(n_s):
        axes[2].plot(sw.alphas, t[:, j], "o", color="C0", alpha=0.5)
    axes[2].plot(sw.alphas, sw.median_t_test, "-", color="C0", label=f"test acc ≥ {runs.test_threshold:g}")
    label = f"train acc ≥ {runs.train_threshold:g}"
    axes[2].plot(sw.alphas, sw.median_t_train, "--", color="C1", label=label)
    log_scale(axes[2], "x", only_positive=False)
    axes[2].set_xlabel("initialisation scale α")
    axes[2].set_ylabel("first step")
    axes[2].legend(fontsize=8)
    return save(fig, path, tight=True)


def plot_tickets(st, path) -> Path:
    """Test accuracy of the dense net, the tickets and the norm-matched control (mean over
    seeds), and the time to generalise of every variant."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.2))
    names = list(st.t_gen)
    for i, v in enumerate(names):
        ax1.plot(st.steps, st.curves[v].mean(axis=0), color=f"C{i}", label=v.replace("_", " "))
    ax1.axhline(st.threshold, color="0.5", ls=":", lw=1)
    ax1.set_xlabel("step")
    ax1.set_ylabel("test accuracy (mean over seeds)")
    ax1.legend(fontsize=8)
    budget = float(st.steps[-1])
    for i, v in enumerate(names):
        t = np.asarray(st.t_gen[v], float)
        never = ~np.isfinite(t)  # NaN (NEVER): censored at the budget
        shown = np.where(never, budget, t)
        ax2.scatter(np.full(t.size, i), shown, color=f"C{i}", marker="o")
        ax2.scatter(np.full(never.sum(), i), shown[never], color=f"C{i}", marker="^", s=60)
    ax2.axhline(budget, color="0.5", ls="--", lw=1)
    ax2.set_xticks(range(len(names)), [v.replace("_", "\n") for v in names], fontsize=8)
    ax2.set_ylabel(f"steps to test acc ≥ {st.threshold:g} (▲: not within budget)")
    ax2.set_title(f"pruned {st.pruned_fraction:g} (kept {st.kept_fraction:g})", fontsize=10)
    return save(fig, path, tight=True)
