"""Case 4: the effective-loss flow vs the network's own embedding trajectory.

Theory: the embeddings follow ``dE/dt = −η ∇(ℓ0/Z)`` over the training parallelograms (Liu et
al. §4), solved exactly by :func:`effgrok.effective.exact_flow` from the network's own initial
embedding.  Networks: the toy model (d = 1) on pinned splits, embedding recorded at a stride.
Both trajectories are standardised (translation and scale are the flow's null directions) and
compared after fitting one time-scale constant ``c`` per run (the network uses Adam with a
decoder in the loop, the theory plain gradient flow), ``E_net(t) ≈ E_eff(c·t)``.
Criterion: over the pinned runs that learn the representation (RQI > 0.95 within budget), the
median of the time-averaged relative error ``‖Ê_net(t) − Ê_eff(c t)‖ / ‖Ê_net(t)‖`` is ≤ 0.2
and smaller than the same error for a frozen embedding (``c = 0``), which measures how far the
embedding moves.  Pinned runs that stall (the decoder and the embedding lock into a
non-linear arrangement the training loss cannot leave within budget) are reported separately:
the effective theory, which has no decoder, does not describe them.
"""

from __future__ import annotations

import numpy as np

from .._toy import concat, train_batch

TITLE = "Effective-loss dynamics vs network embedding trajectories (addition)"
CLAIM = (
    "From the same initial embedding, the network's standardised embedding follows the effective-"
    "loss gradient flow up to one time-scale constant."
)
PROFILES = {
    "tiny": {"p": 6, "sizes": [18], "seeds": 2, "steps": 40, "stride": 10, "record_embedding": True},
    "cpu": {"p": 10, "sizes": [35, 45], "seeds": 6, "steps": 5000, "stride": 50, "record_embedding": True},
    "gpu": {
        "p": 10,
        "sizes": [30, 35, 40, 45, 50],
        "seeds": 16,
        "steps": 20000,
        "stride": 100,
        "record_embedding": True,
    },
}
THRESHOLD = 0.2
_C_GRID = np.geomspace(1e-4, 1e2, 361)


def predict(settings: dict) -> dict:
    return {
        "model": "exact effective-loss flow, P0(D), N = 1, live Z; η = embedding lr; one fitted c per run"
    }


def units(settings: dict) -> list[dict]:
    return [{"n_train": int(n)} for n in settings["sizes"]]


def measure_unit(settings: dict, unit: dict) -> dict:
    from effgrok.effective import exact_flow, gram_matrix
    from effgrok.tasks import make_task

    seeds = np.arange(settings["seeds"]) + 3000 * unit["n_train"]
    r = train_batch(settings, np.full(seeds.size, unit["n_train"]), seeds)
    task = make_task("add", settings["p"])
    lr = float(settings.get("lr_emb", 1e-3))
    steps = r["steps"].astype(float)
    n_runs = r["n_train"].size
    err = np.full(n_runs, np.nan)
    err_frozen = np.full(n_runs, np.nan)
    c_fit = np.full(n_runs, np.nan)
    curves = np.full((n_runs, steps.size), np.nan)
    for k in range(n_runs):
        E = r["embedding"][k]  # (records, slots, d)
        G = gram_matrix(task, r["train_mask"][k])
        net = _standardise(E)
        E0 = E[0] - E[0].mean(axis=0)
        best = None
        for c in _C_GRID:
            eff = _standardise(exact_flow(G, E0, c * steps, learning_rate=lr))
            e = _rel_err(net, eff)
            if best is None or e.mean() < best[0].mean():
                best = (e, c)
        err[k], c_fit[k], curves[k] = best[0].mean(), best[1], best[0]
        err_frozen[k] = _rel_err(net, np.broadcast_to(net[0], net.shape)).mean()
    return {
        "n_train": r["n_train"],
        "pinned": r["pinned"],
        "n_h": r["n_h"],
        "step_rqi": r["step_rqi"],
        "rel_error": err,
        "rel_error_frozen": err_frozen,
        "c": c_fit,
        "error_curve": curves,
        "steps": r["steps"],
    }


def _standardise(E):
    """Centre and scale every record to unit total variance (E: (..., slots, d))."""
    Ec = E - E.mean(axis=-2, keepdims=True)
    return Ec / np.sqrt(np.sum(Ec**2, axis=(-2, -1), keepdims=True) / (E.shape[-2] - 1))


def _rel_err(a, b):
    return np.sqrt(np.sum((a - b) ** 2, axis=(-2, -1)) / np.sum(a**2, axis=(-2, -1)))


def verdict(prediction: dict, measurements: list[dict], settings: dict):
    from ..framework import Verdict

    r = concat(measurements)
    pinned = r["pinned"].astype(bool) & np.isfinite(r["rel_error"])
    learned = pinned & (r["step_rqi"] >= 0)
    stalled = pinned & ~learned
    crit = (
        f"over pinned runs that reach RQI > 0.95: median time-averaged relative error ≤ {THRESHOLD} after "
        "fitting c, and below the error of a frozen embedding"
    )
    pred = "Ê_net(t) = Ê_eff(c·t) (exact flow from the network's initial embedding)"
    numbers = {"pinned": int(pinned.sum()), "learned": int(learned.sum()), "stalled": int(stalled.sum())}
    if stalled.any():
        numbers["median_rel_error_stalled"] = float(np.median(r["rel_error"][stalled]))
    if learned.sum() < 2:
        return Verdict(
            "inconclusive",
            pred,
            f"{int(learned.sum())} of {int(pinned.sum())} pinned runs reached RQI > 0.95",
            crit,
            numbers,
        )
    med = float(np.median(r["rel_error"][learned]))
    frozen = float(np.median(r["rel_error_frozen"][learned]))
    c = r["c"][learned]
    numbers.update(
        {
            "median_rel_error": med,
            "median_rel_error_frozen": frozen,
            "c_median": float(np.median(c)),
            "c_range": [float(c.min()), float(c.max())],
        }
    )
    meas = (
        f"{int(learned.sum())} of {int(pinned.sum())} pinned runs learned the representation: median error "
        f"{med:.3f} (frozen embedding: {frozen:.3f}), fitted c median {np.median(c):.3g} "
        f"(range {c.min():.3g}–{c.max():.3g})"
    )
    if stalled.any():
        meas += (
            f"; the {int(stalled.sum())} stalled runs deviate (median error "
            f"{numbers['median_rel_error_stalled']:.2f}): the theory has no decoder"
        )
    ok = med <= THRESHOLD and med < frozen
    return Verdict("pass" if ok else "fail", pred, meas, crit, numbers)


def plot(prediction, measurements, settings, verdict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    r = concat(measurements)
    keep = r["pinned"].astype(bool) & np.isfinite(r["rel_error"])
    learned = r["step_rqi"] >= 0
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
    for curve, ok in zip(r["error_curve"][keep], learned[keep], strict=True):
        axes[0].plot(r["steps"], curve, lw=0.8, alpha=0.7, color="C0" if ok else "C3")
    axes[0].set_xlabel("training step")
    axes[0].set_ylabel("‖Ê_net − Ê_eff(c t)‖ / ‖Ê_net‖")
    axes[0].set_title("error along each pinned run (blue: learned, red: stalled)", fontsize=9)
    for sel, colour, label in (
        (keep & learned, "C0", "learned (RQI > 0.95)"),
        (keep & ~learned, "C3", "stalled"),
    ):
        axes[1].scatter(r["rel_error_frozen"][sel], r["rel_error"][sel], s=14, color=colour, label=label)
    axes[1].legend(fontsize=7)
    lim = max(1e-3, float(np.nanmax(r["rel_error_frozen"][keep], initial=0.1)))
    axes[1].plot([0, lim], [0, lim], "k:", lw=1)
    axes[1].axhline(THRESHOLD, color="r", lw=0.8, ls="--")
    axes[1].set_xlabel("error of a frozen embedding")
    axes[1].set_ylabel("error of the effective flow")
    axes[1].set_title(f"effective dynamics: {verdict.status}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
