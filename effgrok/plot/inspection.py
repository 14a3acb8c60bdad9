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
    rqi = "" if res.rqi is None else f"   RQI {res.rqi:.3f}"
    ax.set_title(f"effective rank {res.effective_rank:.3g}{rqi}")
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


def _values(cps, attr):
    return np.array([np.nan if getattr(c, attr) is None else getattr(c, attr) for c in cps], dtype=float)


def _net_values(cps, attr):
    return np.array([np.nan if getattr(c.network, attr) is None else getattr(c.network, attr) for c in cps])


def plot_inspection_series(series, path, log=None) -> Path:
    """A checkpoint series against step, one panel per kind of measure:

    * Liu et al.'s RQI and Acc-hat with the effective-loss flow from the first checkpoint (and
      ``n_h``) -- only where they apply (not for collapse tasks such as ``add-mod``);
    * accuracy (the network's, recomputed from the weights, and the user's logged curves,
      ``log``: a :class:`~effgrok.diagnostics.network.TrainingLog`), with the step where the
      logged (else recomputed) test accuracy crosses 0.5 marked;
    * loss: train, test, and Nanda et al.'s restricted and excluded loss (log scale);
    * Fourier concentration of the embedding and the key-frequency logit share;
    * effective rank of the embedding.

    ``series`` is an :class:`effgrok.diagnostics.inspection.InspectionSeries`.
    """
    cps = series.checkpoints
    linear = cps[0].not_applicable is None
    has_f = cps[0].fourier_concentration is not None
    has_n = cps[0].network is not None
    panels = (["liu"] if linear else []) + (["acc", "loss"] if has_n or log is not None else [])
    panels += (["fourier"] if has_f or has_n else []) + ["rank"]
    ncols = min(3, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, grid = plt.subplots(nrows, ncols, figsize=(4.0 * ncols, 3.6 * nrows), squeeze=False)
    for ax in grid.ravel()[len(panels) :]:
        ax.set_visible(False)
    axes = dict(zip(panels, grid.ravel(), strict=False))
    cross = _crossing(series, log)
    for name, ax in axes.items():
        if cross is not None and name != "liu":
            ax.axvline(cross[0], color="k", ls=":", lw=0.8, label=f"test acc crosses 0.5 ({cross[1]})")
    if linear:
        _liu_panel(axes["liu"], series)
    curves = {} if log is None else log.curves
    if "acc" in axes:
        _accuracy_panel(axes["acc"], series, curves)
    if "loss" in axes:
        _loss_panel(axes["loss"], series, curves)
    if "fourier" in axes:
        _fourier_panel(axes["fourier"], series)
    ax = axes["rank"]
    ax.plot(series.steps, [c.effective_rank for c in cps], "o-", ms=3, color="C2")
    ax.set_xlabel("step")
    ax.set_ylabel("effective rank of the embedding")
    if cross is not None and ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    t = cps[0].task
    fig.suptitle(f"{t.name} p={t.p}: n_train={cps[0].split.n_train}, pinned={cps[0].rate.pinned}")
    return save(fig, path, tight=True)


def _logged(ax, curves: dict, keys: tuple, floor=None) -> None:
    """The user's logged curves ``keys`` (test dark, train grey, dashed)."""
    for key in keys:
        if key in curves:
            s, v = curves[key]
            v = v if floor is None else np.maximum(v, floor)
            ax.plot(
                s, v, "--", color="k" if key.startswith("test") else "0.5", lw=1, label=f"{key} (your log)"
            )


def _accuracy_panel(ax, series, curves: dict) -> None:
    cps, st = series.checkpoints, series.steps
    if cps[0].network is not None:
        ax.plot(st, _net_values(cps, "train_acc"), "o-", ms=3, color="C0", label="train acc (recomputed)")
        ax.plot(st, _net_values(cps, "test_acc"), "o-", ms=3, color="C1", label="test acc (recomputed)")
    _logged(ax, curves, ("train_acc", "test_acc"))
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("step")
    ax.set_ylabel("accuracy")
    ax.legend(fontsize=8)


def _loss_panel(ax, series, curves: dict) -> None:
    cps, st = series.checkpoints, series.steps
    if cps[0].network is not None:
        for attr, color in (
            ("train_loss", "C0"),
            ("test_loss", "C1"),
            ("restricted_loss", "C2"),
            ("excluded_loss", "C3"),
        ):
            v = _net_values(cps, attr)
            if np.isfinite(v).any():
                ax.plot(st, np.maximum(v, 1e-12), "o-", ms=3, color=color, label=attr.replace("_", " "))
    _logged(ax, curves, ("train_loss", "test_loss"), floor=1e-12)
    log_scale(ax, "y")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy loss")
    if cps[0].network is not None and cps[0].network.key_frequencies is not None:
        keys = " ".join(map(str, cps[0].network.key_frequencies))
        ax.set_title(f"key frequencies {keys}", fontsize=8)
    ax.legend(fontsize=8)


def _fourier_panel(ax, series) -> None:
    cps, st = series.checkpoints, series.steps
    if cps[0].fourier_concentration is not None:
        label = f"Fourier concentration (k={cps[0].k})"
        ax.plot(st, _values(cps, "fourier_concentration"), "o-", ms=3, label=label)
    if cps[0].network is not None:
        ax.plot(
            st, _net_values(cps, "key_logit_share"), "s-", ms=3, color="C3", label="key-frequency logit share"
        )
    ax.set_ylim(0, 1.03)
    ax.set_xlabel("step")
    ax.set_ylabel("share (of Fourier power; of logit variance)")
    ax.legend(fontsize=8)


def _crossing(series, log):
    """``(step, which)`` where test accuracy first reaches 0.5: the user's log, else recomputed."""
    if log is not None and log.crossing(0.5) is not None:
        return log.crossing(0.5), "your log"
    cps = series.checkpoints
    if cps[0].network is None:
        return None
    v = _net_values(cps, "test_acc")
    hit = np.flatnonzero(v >= 0.5)
    return (float(series.steps[hit[0]]), "recomputed") if hit.size else None


def _liu_panel(ax, series):
    cps = series.checkpoints
    st = series.steps
    ax.plot(st, _values(cps, "rqi"), "o-", color="C0", label="RQI")
    ax.plot(st, _values(cps, "predicted_test_acc"), "s-", color="C1", label="Acc-hat (test)")
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
