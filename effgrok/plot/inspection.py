"""Figures of ``effgrok inspect`` (:mod:`effgrok.diagnostics.inspection`; matplotlib, Agg backend).

Imported lazily by the CLI only; the core never imports it.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from ._backend import plt, save
from ._ticks import log_scale

__all__ = ["plot_inspection", "plot_inspection_series"]


def plot_inspection(res, E, path) -> Path:
    """One embedding: its singular values (left) and, for modular tasks, its Fourier power
    per frequency with the key frequencies marked (right).

    ``res`` is an :class:`effgrok.diagnostics.inspection.Inspection`, ``E`` the embedding.
    """
    from ..diagnostics.inspection import _fourier_matrix
    from ..diagnostics.progress import fourier_power

    E = np.asarray(E, dtype=np.float64).reshape(np.shape(E)[0], -1)
    F = _fourier_matrix(res.task, E)
    fig, axes = plt.subplots(1, 2 if F is not None else 1, figsize=(10 if F is not None else 5, 4))
    axes = np.atleast_1d(axes)
    s = np.linalg.svd(E - E.mean(axis=0), compute_uv=False)
    ax = axes[0]
    ax.plot(np.arange(1, s.size + 1), np.maximum(s, 1e-300), "o-", ms=3)
    log_scale(ax, "y")
    ax.set_xlabel("index")
    ax.set_ylabel("singular value (centred embedding)")
    ax.set_title(f"effective rank {res.effective_rank:.3g}   RQI {res.rqi:.3f}")
    if F is not None:
        M, m = F
        P = fourier_power(M, m)
        w = np.arange(1, P.size + 1)
        ax = axes[1]
        ax.bar(w, P / max(P.sum(), 1e-300), color="0.6")
        key = list(res.key_frequencies or ())
        if key:
            ax.bar(key, P[np.asarray(key) - 1] / P.sum(), color="C3", label="key frequencies")
            ax.legend()
        ax.set_xlabel("frequency ω")
        ax.set_ylabel("share of power")
        conc = res.fourier_concentration
        ax.set_title(f"Fourier concentration (k={res.k}) {'—' if conc is None else f'{conc:.3f}'}")
    fig.suptitle(f"{res.task.name} p={res.task.p}: n_train={res.split.n_train}, pinned={res.rate.pinned}")
    return save(fig, path)


def plot_inspection_series(series, path) -> Path:
    """A checkpoint series: RQI and Acc-hat against step with the effective-loss flow from the
    first checkpoint overlaid (and ``n_h``), effective rank, and Fourier concentration.

    ``series`` is an :class:`effgrok.diagnostics.inspection.InspectionSeries`.
    """
    cps = series.checkpoints
    st = series.steps
    has_f = cps[0].fourier_concentration is not None
    fig, axes = plt.subplots(1, 3 if has_f else 2, figsize=(12 if has_f else 10, 4))
    ax = axes[0]
    ax.plot(st, [c.rqi for c in cps], "o-", color="C0", label="RQI")
    ax.plot(st, [c.predicted_test_acc for c in cps], "s-", color="C1", label="Acc-hat (test)")
    ax.axhline(cps[0].ideal_test_accuracy, color="C1", ls=":", lw=1, label="ideal test accuracy")
    flow = series.flow
    if flow is not None:
        grid = np.linspace(st[0], st[-1], 400)
        r, a = flow.at_steps(grid)
        ax.plot(grid, r, "--", color="C0", lw=1, label="RQI, effective-loss flow")
        ax.plot(grid, a, "--", color="C1", lw=1, label="Acc-hat, effective-loss flow")
        if flow.n_h_steps is not None and flow.n_h_steps <= st[-1] - st[0]:
            ax.axvline(st[0] + flow.n_h_steps, color="k", ls="--", lw=0.8, label="n_h (flow time axis)")
        ax.set_title(textwrap.fill(flow.describe(), 60), fontsize=8)
    n_h = cps[0].rate.n_h
    if np.isfinite(n_h) and st[0] + n_h <= st[-1]:
        ax.axvline(st[0] + n_h, color="0.4", ls="-.", lw=0.8, label=f"n_h at η={cps[0].rate.learning_rate:g}")
    ax.set_xlabel("step")
    ax.set_ylim(-0.03, 1.03)
    ax.legend(fontsize=8)
    ax = axes[1]
    ax.plot(st, [c.effective_rank for c in cps], "o-", color="C2")
    ax.set_xlabel("step")
    ax.set_ylabel("effective rank of the embedding")
    if has_f:
        ax = axes[2]
        ax.plot(
            st, [np.nan if c.fourier_concentration is None else c.fourier_concentration for c in cps], "o-"
        )
        ax.set_xlabel("step")
        ax.set_ylabel(f"Fourier concentration (k={cps[0].k})")
        ax.set_ylim(0, 1.03)
    t = cps[0].task
    fig.suptitle(f"{t.name} p={t.p}: n_train={cps[0].split.n_train}, pinned={cps[0].rate.pinned}")
    return save(fig, path)
