"""Matplotlib figures (Agg backend).  Imported lazily by the CLI; the core never imports it."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from .effective.critical import CriticalResult

__all__ = [
    "plot_critical",
    "plot_embedding",
    "plot_ensemble",
    "plot_ntk",
    "plot_phase_diagram",
    "plot_toy_runs",
    "plot_trajectory",
]


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
    return _save(fig, path)


def _save(fig, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    tmp.replace(path)
    return path


def plot_trajectory(tr, path) -> Path:
    """ℓ_eff (log scale), RQI and Acc-hat against steps, with the predicted ``n_h`` and the
    measured time to RQI > 0.95 marked."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    pos = tr.loss > 0
    ax1.semilogy(tr.steps[pos], tr.loss[pos], lw=1.5)
    ax1.set_xlabel("step")
    ax1.set_ylabel("effective loss ℓ_eff")
    ax2.plot(tr.steps, tr.rqi, label="RQI", lw=1.5)
    ax2.plot(tr.steps, tr.predicted_test_accuracy, label="predicted test accuracy (Acc-hat)", lw=1.2)
    ax2.axhline(0.95, color="0.5", ls=":", lw=0.8)
    ax2.set_ylim(-0.02, 1.02)
    ax2.set_xlabel("step")
    for ax in (ax1, ax2):
        if np.isfinite(tr.n_h):
            ax.axvline(tr.n_h, color="C3", ls="--", lw=1, label="n_h = 1/(ηλ3)")
        if np.isfinite(tr.steps_to_rqi):  # NaN (NEVER): not reached
            ax.axvline(tr.steps_to_rqi, color="C2", ls=":", lw=1, label="RQI > 0.95")
    ax2.legend(fontsize=8, loc="lower right")
    fig.suptitle(f"effective dynamics ({tr.method}, η={tr.learning_rate:g}; pinned={tr.pinned})")
    fig.tight_layout()
    return _save(fig, path)


def plot_embedding(tr, path) -> Path:
    """Embedding trajectory: positions against time (d = 1) or paths in the plane of the
    first two dimensions (d ≥ 2); the final positions are marked and labelled by row."""
    E = tr.embedding
    fig, ax = plt.subplots(figsize=(6, 4.5))
    if E.shape[2] == 1:
        for k in range(E.shape[1]):
            ax.plot(tr.steps, E[:, k, 0], lw=1)
            ax.annotate(str(k), (tr.steps[-1], E[-1, k, 0]), fontsize=7)
        ax.set_xlabel("step")
        ax.set_ylabel("embedding E_k")
    else:
        for k in range(E.shape[1]):
            (line,) = ax.plot(E[:, k, 0], E[:, k, 1], lw=0.8)
            ax.plot(E[-1, k, 0], E[-1, k, 1], "o", color=line.get_color(), ms=4)
            ax.annotate(str(k), (E[-1, k, 0], E[-1, k, 1]), fontsize=7)
        ax.set_xlabel("dimension 0")
        ax.set_ylabel("dimension 1")
        ax.set_aspect("equal", adjustable="datalim")
    ax.set_title("embedding trajectory")
    fig.tight_layout()
    return _save(fig, path)


def plot_ensemble(ens, path) -> Path:
    """Measured steps to RQI > 0.95 against predicted ``n_h`` (pinned members), and the
    distribution of final RQI split by pinned / not pinned."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    ok = np.isfinite(ens.steps_to_rqi) & np.isfinite(ens.n_h)
    if ok.any():
        ax1.loglog(ens.n_h[ok], ens.steps_to_rqi[ok], ".", ms=3, alpha=0.5)
        lo, hi = ens.n_h[ok].min(), ens.n_h[ok].max()
        ax1.plot([lo, hi], [lo, hi], "k--", lw=0.8, label="steps = n_h")
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
    fig.tight_layout()
    return _save(fig, path)


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
        ax2.semilogx(
            t[pos],
            c["course"]["train_loss"][pos],
            color=line.get_color(),
            ls="--",
            label=f"train, α={c['alpha']:g}",
        )
        ax2.semilogx(
            t[pos], c["course"]["test_loss"][pos], color=line.get_color(), label=f"test, α={c['alpha']:g}"
        )
    ax1.set_xlabel("top-k eigenvectors of the kernel (test set)")
    ax1.set_ylabel("fraction of target power")
    ax1.set_ylim(0, 1.02)
    ax1.legend(fontsize=7)
    ax2.axhline(rec["target_variance"], color="0.5", ls=":", lw=0.8, label="target variance")
    ax2.set_xlabel("gradient-flow time (steps)")
    ax2.set_ylabel("MSE of the lazy (linearised) model")
    ax2.legend(fontsize=7)
    fig.suptitle(
        f"{rec['model']}: D={rec['dim']}, P={rec['samples']}, N={rec['width']}, target {rec['target']}"
    )
    fig.tight_layout()
    return _save(fig, path)


def plot_toy_runs(runs, path) -> Path:
    """Train/test accuracy and RQI of every toy-model run against steps."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), sharex=True)
    for k in range(runs.train_acc.shape[0]):
        for ax, y in zip(axes, (runs.train_acc[k], runs.test_acc[k], runs.rqi[k]), strict=True):
            ax.plot(runs.steps, y, lw=1, alpha=0.8)
    for ax, title in zip(axes, ("train accuracy", "test accuracy", "RQI"), strict=True):
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.set_ylim(-0.02, 1.02)
        ax.axhline(0.95 if title == "RQI" else 0.9, color="0.5", ls=":", lw=0.8)
    fig.tight_layout()
    return _save(fig, path)


def plot_phase_diagram(res: dict, path) -> Path:
    """The majority phase of every grid cell as a colour map (no interpolation), with the
    fraction of runs in it written in each cell."""
    from matplotlib.colors import ListedColormap

    from .nets.phases import PHASES

    (xn, xv), (yn, yv) = res["x"], res["y"]
    frac = res["fractions"]
    major = frac.argmax(axis=-1)
    colours = ListedColormap(["#4c9a2a", "#3b6fb6", "#d9822b", "#b23a48"])
    fig, ax = plt.subplots(figsize=(1.0 + 0.45 * xv.size, 1.5 + 0.4 * yv.size))
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
                fontsize=6,
                color="white",
            )
    ax.set_xticks(range(xv.size), [f"{v:.2g}" for v in xv], rotation=90, fontsize=7)
    ax.set_yticks(range(yv.size), [f"{v:.2g}" for v in yv], fontsize=7)
    ax.set_xlabel(xn)
    ax.set_ylabel(yn)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours(k)) for k in range(len(PHASES))]
    ax.legend(handles, PHASES, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(f"phases after {res['budget']} steps (gap {res['gap']})", fontsize=9)
    fig.tight_layout()
    return _save(fig, path)
