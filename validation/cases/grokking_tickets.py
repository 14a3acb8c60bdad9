"""Grokking tickets (Minegishi, Iwasawa & Matsuo, arXiv 2310.19470) on effgrok's modular MLP.

One unit: the dense runs (all seeds in one vmapped batch, with snapshots), then the retrained
variants of every seed in a second batch -- the grokked ticket (magnitude-pruned final
weights, retrained from the original init), the memorisation ticket (mask from the first
snapshot with train accuracy ≥ 0.99), a random mask of the same sparsity, and the dense
network started from an init with the ticket's L1 *and* L2 norms
(:func:`effgrok.diagnostics.tickets.norm_matched_init`).
"""

from __future__ import annotations

import numpy as np

from validation.framework import Verdict

TITLE = "Grokking tickets: a pruned subnetwork generalises faster than the dense and norm-matched nets"
CLAIM = (
    "A subnetwork found by magnitude pruning after generalisation, retrained from the original "
    "initialisation, reaches the generalisation threshold sooner than the dense network and than a "
    "dense network with the same initial L1 and L2 norms; masks taken at memorisation help less."
)

PROFILES = {
    "tiny": {
        "task": "add-mod",
        "p": 7,
        "train_fraction": 0.6,
        "hidden": 12,
        "lr": 1e-3,
        "weight_decay": 1.0,
        "steps": 40,
        "stride": 20,
        "sparsity": 0.4,
        "threshold": 0.9,
        "seeds": 1,
    },
    "cpu": {
        "task": "sub-mod",
        "p": 31,
        "train_fraction": 0.7,
        "hidden": 128,
        "lr": 3e-3,
        "weight_decay": 1.0,
        "steps": 3000,
        "stride": 50,
        "sparsity": 0.3,
        "threshold": 0.9,
        "seeds": 2,
    },
    "gpu": {  # the paper's MLP setting: p = 67, 40 % of the table, AdamW lr 1e-3, wd 1
        "task": "add-mod",
        "p": 67,
        "train_fraction": 0.4,
        "hidden": 256,
        "lr": 1e-3,
        "weight_decay": 1.0,
        "steps": 30_000,
        "stride": 100,
        "sparsity": 0.4,
        "threshold": 0.99,
        "seeds": 4,
    },
}
VARIANTS = ("dense", "ticket", "memorization_ticket", "norm_matched_dense", "random_ticket")


def predict(settings: dict) -> dict:
    return {
        "order": "ticket < dense and ticket < norm_matched_dense in time to generalise; "
        "memorization_ticket slower than ticket",
        "norm_matched": "norm_matched_dense starts with exactly the ticket's L1 and L2 norms",
    }


def units(settings: dict) -> list[dict]:
    return [{"seeds": list(range(settings["seeds"]))}]


def measure_unit(settings: dict, unit: dict) -> dict:
    import effgrok as eg
    from effgrok.diagnostics.tickets import grokking_tickets

    s = settings
    st = grokking_tickets(
        eg.make_task(s["task"], s["p"]),
        seeds=unit["seeds"],
        train_fraction=s["train_fraction"],
        sparsity=s["sparsity"],
        hidden=s["hidden"],
        lr=s["lr"],
        weight_decay=s["weight_decay"],
        steps=s["steps"],
        stride=s["stride"],
        threshold=s["threshold"],
    )
    out = {"steps": st.steps, "memorization_step": st.memorization_step}
    for v in VARIANTS:
        out[f"t_{v}"] = st.t_gen[v]
        out[f"val_{v}"] = st.curves[v]
        out[f"norms_{v}"] = st.norms[v]
    return out


def _effective(t: np.ndarray, budget: int) -> np.ndarray:
    t = np.asarray(t, float)
    return np.where(t >= 0, t, 2.0 * budget)  # not within budget: counted as twice the budget


def verdict(prediction: dict, measurements: list[dict], settings: dict) -> Verdict:
    (m,) = measurements
    budget = int(settings["steps"])
    t = {v: _effective(m[f"t_{v}"], budget) for v in VARIANTS}
    med = {v: float(np.median(t[v])) for v in VARIANTS}
    reached = {v: int(np.sum(np.asarray(m[f"t_{v}"]) >= 0)) for v in VARIANTS}
    n = len(m["t_dense"])
    norm_err = float(
        np.max(np.abs(m["norms_norm_matched_dense"] - m["norms_ticket"]) / np.abs(m["norms_ticket"]))
    )
    faster_dense = med["ticket"] < med["dense"]
    faster_control = med["ticket"] < med["norm_matched_dense"]
    mem_slower = med["memorization_ticket"] > med["ticket"]
    numbers = {
        "median_t_gen": med,
        "reached_threshold": reached,
        "runs": n,
        "budget": budget,
        "threshold": settings["threshold"],
        "sparsity": settings["sparsity"],
        "memorization_step": [int(v) for v in m["memorization_step"]],
        "norm_match_max_rel_error": norm_err,
        "ticket_faster_than_dense": faster_dense,
        "ticket_faster_than_norm_matched": faster_control,
        "memorization_ticket_slower": mem_slower,
    }

    def fmt(v):
        return f"{med[v]:.0f}" if med[v] <= budget else f"> {budget} ({reached[v]}/{n} reached)"

    pred = (
        "t_gen(ticket) < t_gen(dense), t_gen(ticket) < t_gen(norm-matched dense), "
        "t_gen(mem. ticket) > t_gen(ticket)"
    )
    meas = (
        f"median steps to val acc ≥ {settings['threshold']:g} at sparsity {settings['sparsity']:g}: "
        + "; ".join(f"{v.replace('_', ' ')} {fmt(v)}" for v in VARIANTS)
        + f" (control's L1/L2 match the ticket's to {norm_err:.1e})"
    )
    crit = "all three orderings of the medians (runs not generalising count as 2× the budget)"
    if reached["dense"] == 0:
        return Verdict("inconclusive", pred, meas, crit + "; the dense net never generalised", numbers)
    status = "pass" if (faster_dense and faster_control and mem_slower) else "fail"
    return Verdict(status, pred, meas, crit, numbers)


def plot(prediction, measurements, settings, verdict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    (m,) = measurements
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.2))
    for i, v in enumerate(VARIANTS):
        ax1.plot(m["steps"], np.mean(m[f"val_{v}"], axis=0), color=f"C{i}", label=v.replace("_", " "))
    ax1.axhline(settings["threshold"], color="0.5", ls=":", lw=1)
    ax1.set_xlabel("step")
    ax1.set_ylabel("validation accuracy (mean over seeds)")
    ax1.legend(fontsize=8)
    budget = settings["steps"]
    for i, v in enumerate(VARIANTS):
        t = np.asarray(m[f"t_{v}"], float)
        ax2.scatter(np.full(t.size, i), np.where(t >= 0, t, budget), color=f"C{i}", marker="o")
    ax2.axhline(budget, color="0.5", ls="--", lw=1, label="budget (runs here did not generalise)")
    ax2.set_xticks(range(len(VARIANTS)), [v.replace("_", "\n") for v in VARIANTS], fontsize=8)
    ax2.set_ylabel(f"steps to val acc ≥ {settings['threshold']:g}")
    ax2.set_title(f"sparsity {settings['sparsity']:g} -- verdict: {verdict.status}", fontsize=10)
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
