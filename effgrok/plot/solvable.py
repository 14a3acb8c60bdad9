"""Figures of the solvable models (:mod:`effgrok.solvable`): theory curves with simulations beside them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ._backend import plt, save

__all__ = ["plot_dichotomy", "plot_linear"]


def plot_linear(gaps: Sequence, path, *, steps: int, simulations: Sequence | None = None) -> Path:
    """Linear teacher–student: loss curves against steps and the grokking gap against ``λ``.

    ``gaps`` are :class:`effgrok.solvable.linear.GrokkingGap` (one per ``λ``); the theory curves
    (:func:`~effgrok.solvable.linear.mp_losses`) are drawn on 200 log-spaced times up to ``steps``.
    ``simulations`` (optional) are :class:`~effgrok.solvable.linear.LinearSimulation`, one per gap:
    their seed-mean test loss is dotted, their per-seed gaps are points.
    """
    from ..solvable.linear import mp_losses

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.2))
    t = np.unique(np.concatenate([[0.0], np.geomspace(1.0, steps, 200)]))
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(gaps)))
    for k, (g, c) in enumerate(zip(gaps, colors, strict=True)):
        train, test = mp_losses(t, g.lam, g.eta0, d_out=g.d_out)
        ax.plot(t[1:], np.asarray(train)[1:], color=c, lw=1.2, ls="--")
        ax.plot(t[1:], np.asarray(test)[1:], color=c, lw=1.5, label=f"λ = {g.lam:g}")
        if simulations:
            s = simulations[k]
            ax.plot(s.time[1:], s.generalization_loss.mean(axis=0)[1:], color=c, lw=0.8, ls=":")
    ax.axhline(gaps[0].loss_level, color="0.4", lw=0.8, ls="-.")
    ax.set(
        xscale="log", yscale="log", xlabel="step", ylabel="loss", title="theory: train -- , test —; sim ···"
    )
    ax.legend(fontsize=8)
    lam = np.array([g.lam for g in gaps], dtype=float)
    bx.plot(lam, [g.gap for g in gaps], "o-", label="theory (MP average, exact crossing)")
    bx.plot(lam, [g.gap_asymptotic for g in gaps], "s--", label="long-time form")
    for k, s in enumerate(simulations or ()):
        g = s.gap[np.isfinite(s.gap)]
        bx.plot(np.full(g.size, lam[k]), g, "k.", ms=4, label="simulation (per seed)" if k == 0 else None)
    bx.set(yscale="log", xlabel="λ = d_in / N_train", ylabel="grokking gap Δt (steps)")
    bx.legend(fontsize=8)
    return save(fig, path, tight=True)


def _dichotomy_theory(ax, bx, alpha, weight_decay) -> None:
    from ..solvable.dichotomy import transition_time

    a = np.asarray(alpha, dtype=float)
    lam = np.asarray(weight_decay, dtype=float)
    t = np.asarray(transition_time(a, lam), dtype=float)
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


def _dichotomy_runs(ax, bx, runs) -> None:
    a = np.asarray(runs.alpha, dtype=float)
    ua = np.unique(a)
    colors = dict(zip(ua, plt.cm.plasma(np.linspace(0, 0.85, ua.size)), strict=True))
    t = float(runs.learning_rate) * np.asarray(runs.steps, dtype=float)
    pt = np.asarray(runs.predicted_time, dtype=float)
    for k in range(a.size):
        ax.plot(t, np.asarray(runs.test_acc[k]), color=colors[a[k]], lw=1)
        ax.axvline(pt[k], color=colors[a[k]], ls=":", lw=0.8)
    for al in ua:
        ax.plot([], [], color=colors[al], label=f"α = {al:g}")
    ax.set(xlabel="t = η · step", ylabel="test accuracy", title="test accuracy (dotted: t* = log α / λ)")
    ax.legend(fontsize=8)
    mt = np.asarray(runs.transition_time, dtype=float)
    ok = np.isfinite(mt)
    bx.scatter(pt[ok], mt[ok], c=[colors[x] for x in a[ok]], s=18)
    lim = [0, max(float(np.nanmax(pt)), float(np.nanmax(mt)) if ok.any() else 0.0) * 1.05 + 1e-12]
    bx.plot(lim, lim, color="0.5", lw=0.8, ls="--", label="measured = predicted")
    bx.set(xlabel="predicted t* = log(α)/λ", ylabel="measured transition time", xlim=lim, ylim=lim)
    bx.legend(fontsize=8)


def plot_dichotomy(alpha, weight_decay, path, *, runs=None) -> Path:
    """Kernel→rich dichotomy.

    Without ``runs``: the predicted transition time ``t* = log(α)/λ`` of every ``(alpha[i],
    weight_decay[i])`` against ``log α`` and against ``1/λ``.  With ``runs`` (a
    :class:`effgrok.solvable.dichotomy.DichotomyRuns`): test accuracy against ``t = η·step`` (one
    colour per ``α``, dotted lines at ``t*``) and measured against predicted transition times.
    """
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.2))
    if runs is None:
        _dichotomy_theory(ax, bx, alpha, weight_decay)
    else:
        _dichotomy_runs(ax, bx, runs)
    return save(fig, path, tight=True)
