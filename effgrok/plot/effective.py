"""Figures of the effective theory (:mod:`effgrok.effective`): critical fraction, trajectory, ensemble."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..constants import RQI_THRESHOLD, reached
from ..effective.critical import CriticalResult
from ._backend import plt, save
from ._ticks import log_scale

__all__ = ["plot_critical", "plot_embedding", "plot_ensemble", "plot_trajectory"]


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
        log_scale(ax, "x", only_positive=False)
    ax.set_title(f"{results[0].splits} random training sets per size")
    ax.legend(fontsize=8)
    if multi:
        ax2 = axes[0, 1]
        ps = np.array([r.p for r in results], dtype=float)
        rc = np.array([r.r_c for r in results])
        lo = rc - np.array([r.r_c_ci[0] for r in results])
        hi = np.array([r.r_c_ci[1] for r in results]) - rc
        ax2.errorbar(ps, rc, yerr=[lo, hi], marker="o", capsize=3)
        log_scale(ax2, "xy", only_positive=False)
        ax2.set_xlabel("p")
        ax2.set_ylabel("critical fraction r_c")
        ax2.set_title(results[0].task)
    return save(fig, path, tight=True)


#: The effective loss is drawn relative to its start and clipped at this floor: the exact and
#: RK4 flows decay it to 1e-100 and below, which would squash the interesting decades.
LOSS_FLOOR = 1e-12


def _time_axis(ax, steps: np.ndarray, events: list[float]) -> None:
    """A symmetric-log step axis (linear up to the first recorded step after 0, so step 0 is
    shown, logarithmic beyond) when everything of interest (the marked events) happens in the
    first tenth of the run; linear otherwise."""
    last = float(steps[-1]) if steps.size else 0.0
    early = [e for e in events if np.isfinite(e)]
    if last > 0 and early and max(early) < 0.1 * last:
        first = float(steps[steps > 0][0])
        ax.set_xscale("symlog", linthresh=first, linscale=0.3)
        ax.set_xlim(0, last)
        ax.set_xlabel("step (log scale)")
    else:
        ax.set_xlabel("step")


def plot_trajectory(tr, path) -> Path:
    """ℓ_eff relative to its start (log scale, clipped at :data:`LOSS_FLOOR`), RQI and Acc-hat
    against steps, with the predicted ``n_h`` and the measured time to RQI > 0.95 marked.  The
    step axis is logarithmic when the dynamics are over within the first tenth of the run."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    loss0 = float(tr.loss[0]) if tr.loss.size else np.nan
    if np.isfinite(loss0) and loss0 > 0:
        rel = np.maximum(tr.loss / loss0, LOSS_FLOOR)
        ax1.semilogy(tr.steps, rel, lw=1.5)
        ax1.set_ylim(LOSS_FLOOR / 3, 3.0)
        ax1.set_ylabel(f"ℓ_eff / ℓ_eff(0)  (clipped at {LOSS_FLOOR:.0e})")
    else:  # a start that already satisfies every constraint: nothing to normalise by
        ax1.plot(tr.steps, tr.loss, lw=1.5)
        ax1.set_ylabel("effective loss ℓ_eff")
    ax1.set_title("effective loss")
    ax2.plot(tr.steps, tr.rqi, label="RQI", lw=1.5)
    ax2.plot(tr.steps, tr.predicted_test_acc, label="predicted test accuracy (Acc-hat)", lw=1.2)
    ax2.axhline(RQI_THRESHOLD, color="0.5", ls=":", lw=0.8)
    ax2.set_ylim(-0.02, 1.02)
    ax2.set_ylabel("RQI, predicted test accuracy")
    ax2.set_title("representation quality")
    for ax in (ax1, ax2):
        _time_axis(ax, tr.steps, [tr.n_h, tr.steps_to_rqi])
        if np.isfinite(tr.n_h):
            ax.axvline(tr.n_h, color="C3", ls="--", lw=1, label="n_h = 1/(ηλ3)")
        if reached(tr.steps_to_rqi):
            ax.axvline(tr.steps_to_rqi, color="C2", ls=":", lw=1, label="RQI > 0.95")
    ax2.legend(fontsize=8, loc="center right")
    fig.suptitle(f"effective dynamics ({tr.method}, η={tr.learning_rate:g}; pinned={tr.pinned})")
    return save(fig, path, tight=True)


def plot_embedding(tr, path) -> Path:
    """Embedding trajectory: positions against time (d = 1) or paths in the plane of the
    first two dimensions (d ≥ 2); the final positions are marked and labelled by row."""
    E = tr.embedding
    fig, ax = plt.subplots(figsize=(6, 4.5))
    if E.shape[2] == 1:
        for k in range(E.shape[1]):
            ax.plot(tr.steps, E[:, k, 0], lw=1)
            ax.annotate(str(k), (tr.steps[-1], E[-1, k, 0]), fontsize=8)
        ax.set_xlabel("step")
        ax.set_ylabel("embedding E_k")
    else:
        for k in range(E.shape[1]):
            (line,) = ax.plot(E[:, k, 0], E[:, k, 1], lw=0.8)
            ax.plot(E[-1, k, 0], E[-1, k, 1], "o", color=line.get_color(), ms=4)
            ax.annotate(str(k), (E[-1, k, 0], E[-1, k, 1]), fontsize=8)
        ax.set_xlabel("dimension 0")
        ax.set_ylabel("dimension 1")
        ax.set_aspect("equal", adjustable="datalim")
    ax.set_title("embedding trajectory")
    return save(fig, path, tight=True)


def plot_ensemble(ens, path) -> Path:
    """Measured steps to RQI > 0.95 against predicted ``n_h`` (pinned members), and the
    distribution of final RQI split by pinned / not pinned."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    ok = np.isfinite(ens.steps_to_rqi) & np.isfinite(ens.n_h)
    if ok.any():
        ax1.plot(ens.n_h[ok], ens.steps_to_rqi[ok], ".", ms=3, alpha=0.5)
        lo, hi = ens.n_h[ok].min(), ens.n_h[ok].max()
        ax1.plot([lo, hi], [lo, hi], "k--", lw=0.8, label="steps = n_h")
        log_scale(ax1, "xy")
        ax1.legend(fontsize=8)
    ax1.set_xlabel("predicted n_h = 1/(ηλ3)")
    ax1.set_ylabel("measured steps to RQI > 0.95")
    bins = np.linspace(0, 1, 41)
    final = ens.rqi[:, -1]
    defined = np.isfinite(final)  # RQI is undefined (NaN) for tables without parallelograms
    for sel, label in ((ens.pinned, "pinned"), (~ens.pinned, "not pinned")):
        ax2.hist(final[sel & defined], bins=bins, alpha=0.7, label=f"{label} ({int(sel.sum())})")
    if not defined.any():
        ax2.text(0.5, 0.5, "RQI undefined: no parallelograms", ha="center", transform=ax2.transAxes)
    ax2.set_xlabel("final RQI")
    ax2.set_ylabel("members")
    ax2.legend(fontsize=8)
    fig.suptitle(f"ensemble of {ens.size} ({ens.method}, η={ens.learning_rate:g})")
    return save(fig, path, tight=True)
