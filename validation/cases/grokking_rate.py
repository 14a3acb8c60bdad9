"""Case 2: the grokking rate λ3 predicts how fast networks learn the representation.

Theory: for a pinned training set, the effective loss linearised at ``Z0`` decays its slowest
non-trivial mode at rate ``λ3``; the predicted time to learn the representation is
``n_h = 1/(η λ3)`` (η: embedding learning rate).  Networks: toy-model runs on pinned random
splits of several sizes; steps to RQI > 0.95.  Criterion (issue 8): Spearman ρ(n_h, steps) ≥ 0.7
over ≥ 50 pinned runs that learned; the fitted constant ``steps ≈ c · n_h`` is reported.
"""

from __future__ import annotations

import numpy as np

from .._toy import concat, train_batch

TITLE = "Grokking rate λ3 vs steps to RQI > 0.95 (addition)"
CLAIM = (
    "Among training sets that pin the structure, those with a larger grokking rate λ3 (shorter "
    "n_h = 1/(ηλ3)) are learned in fewer steps: the ranks of n_h and of the measured steps agree."
)
PROFILES = {
    "tiny": {"p": 6, "sizes": [15, 18], "seeds": 2, "steps": 40, "stride": 20, "min_runs": 2},
    "cpu": {
        "p": 10,
        "sizes": [34, 38, 42, 46],
        "seeds": 32,
        "steps": 10000,
        "stride": 50,
        "min_runs": 50,
    },
    "gpu": {
        "p": 10,
        "sizes": list(range(24, 52, 2)),
        "seeds": 32,
        "steps": 100000,
        "stride": 100,
        "min_runs": 200,
    },
}
THRESHOLD = 0.7


def predict(settings: dict) -> dict:
    from effgrok.effective import grokking_rate
    from effgrok.tasks import make_task

    task = make_task("add", settings["p"])
    full = grokking_rate(task, np.ones(task.n_examples, bool), learning_rate=1e-3)
    return {"full_table_gram_eigenvalue": full.gram_eigenvalue, "full_table_n_h": full.n_h}


def units(settings: dict) -> list[dict]:
    return [{"n_train": int(n)} for n in settings["sizes"]]


def measure_unit(settings: dict, unit: dict) -> dict:
    seeds = np.arange(settings["seeds"]) + 1000 * unit["n_train"]  # other splits than case 1
    return train_batch(settings, np.full(seeds.size, unit["n_train"]), seeds)


def _usable(measurements):
    r = concat(measurements)
    keep = r["pinned"].astype(bool) & (r["step_rqi"] >= 0) & np.isfinite(r["n_h"])
    return r, keep


def verdict(prediction: dict, measurements: list[dict], settings: dict):
    from scipy.stats import bootstrap, spearmanr

    from ..framework import Verdict

    r, keep = _usable(measurements)
    n_h, steps = r["n_h"][keep], r["step_rqi"][keep].astype(float)
    pinned = int(r["pinned"].sum())
    numbers = {"runs": int(r["n_h"].size), "pinned": pinned, "used": int(keep.sum())}
    crit = f"Spearman ρ(n_h, steps to RQI > 0.95) ≥ {THRESHOLD} over ≥ {settings['min_runs']} pinned runs"
    pred = (
        f"steps ∝ n_h = 1/(ηλ3) (full table: λ3(G) = {prediction['full_table_gram_eigenvalue']:.4g}, "
        f"n_h = {prediction['full_table_n_h']:.4g})"
    )
    if keep.sum() < max(3, settings["min_runs"]):
        return Verdict(
            "inconclusive",
            pred,
            f"only {int(keep.sum())} pinned runs reached RQI > 0.95 ({pinned} pinned of {r['n_h'].size})",
            crit,
            numbers,
        )
    rho = float(spearmanr(n_h, steps).statistic)
    steps_pos = np.maximum(steps, 1.0)
    log_c = np.log(steps_pos / n_h)
    c = float(np.exp(np.mean(log_c)))
    ci = bootstrap(
        (log_c,), np.mean, confidence_level=0.95, random_state=0, n_resamples=2000
    ).confidence_interval
    if np.ptp(n_h) > 0 and np.ptp(steps) > 0:
        rho_ci = bootstrap(
            (n_h, steps),
            lambda a, b: spearmanr(a, b).statistic,
            paired=True,
            vectorized=False,
            confidence_level=0.95,
            random_state=0,
            n_resamples=1000,
        ).confidence_interval
        rho_ci = [float(rho_ci.low), float(rho_ci.high)]
    else:
        rho_ci = [float("nan"), float("nan")]
    numbers.update(
        {
            "spearman_rho": rho,
            "spearman_rho_ci95": rho_ci,
            "c_geometric_mean": c,
            "c_ci95": [float(np.exp(ci.low)), float(np.exp(ci.high))],
            "log_steps_over_n_h_std": float(np.std(log_c)),
        }
    )
    meas = (
        f"ρ = {rho:.3f} [{rho_ci[0]:.2f}, {rho_ci[1]:.2f}] over {int(keep.sum())} runs; "
        f"steps ≈ {c:.3g} · n_h (95% CI {np.exp(ci.low):.3g}–{np.exp(ci.high):.3g})"
    )
    return Verdict("pass" if rho >= THRESHOLD else "fail", pred, meas, crit, numbers)


def plot(prediction, measurements, settings, verdict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    r, keep = _usable(measurements)
    fig, ax = plt.subplots(figsize=(5, 4))
    sc = ax.scatter(
        r["n_h"][keep], np.maximum(r["step_rqi"][keep], 1), c=r["n_train"][keep], s=14, cmap="viridis"
    )
    fig.colorbar(sc, ax=ax, label="training size")
    c = verdict.numbers.get("c_geometric_mean")
    if c:
        x = np.array([r["n_h"][keep].min(), r["n_h"][keep].max()])
        ax.plot(x, c * x, "k--", lw=1, label=f"steps = {c:.3g}·n_h")
        ax.legend(fontsize=8)
    if keep.any():
        ax.set_xscale("log")
        ax.set_yscale("log")
    else:
        ax.text(0.5, 0.5, "no pinned run reached RQI > 0.95", ha="center", transform=ax.transAxes)
    ax.set_xlabel("predicted n_h = 1/(η λ3)")
    ax.set_ylabel("measured steps to RQI > 0.95")
    ax.set_title(f"grokking rate: {verdict.status}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
