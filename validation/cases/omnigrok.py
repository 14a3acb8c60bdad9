"""Omnigrok's LU mechanism on scikit-learn's digits (Liu, Michaud & Tegmark, ICLR 2023).

Two measurements, one unit each (one vmapped training batch):

* the reduced landscape -- the digits MLP trained with its weights projected back to a fixed
  global norm ``w`` after every step, for ``w = 0.25 … 4 × w₀``; final train and test loss;
* α-induced grokking -- the same MLP from ``α·θ₀`` with AdamW weight decay; the first step with
  test accuracy ≥ 0.9 against ``α``.
"""

from __future__ import annotations

import numpy as np

from validation.framework import Verdict

TITLE = "Omnigrok: L-shaped train / U-shaped test loss vs weight norm; large init delays generalisation"
CLAIM = (
    "Against the weight norm the (reduced) training loss is L-shaped and the test loss U-shaped; "
    "starting at a large norm (initialisation scaled by α) the network fits first and generalises "
    "only after weight decay has shrunk the norm, so the time to generalise grows with α."
)

_BASE = {"depth": 3, "lr": 1e-3, "data_seed": 0, "weight_decay": 1.0, "test_threshold": 0.9}
PROFILES = {
    "tiny": dict(
        _BASE,
        n_train=100,
        n_test=100,
        width=8,
        norms=[0.5, 1.0, 2.0],
        landscape_steps=20,
        alphas=[1.0, 4.0],
        alpha_steps=20,
        stride=10,
        seeds=1,
    ),
    "cpu": dict(
        _BASE,
        n_train=500,
        n_test=None,
        width=100,
        norms=[0.25, 0.35, 0.5, 0.71, 1.0, 1.41, 2.0, 2.83, 4.0],
        landscape_steps=1500,
        alphas=[0.5, 1.0, 2.0, 4.0, 8.0],
        alpha_steps=3000,
        stride=50,
        seeds=2,
    ),
    "gpu": dict(
        _BASE,
        n_train=1000,
        n_test=None,
        width=200,
        norms=[0.2, 0.25, 0.35, 0.5, 0.71, 1.0, 1.41, 2.0, 2.83, 4.0, 5.66],
        landscape_steps=10_000,
        alphas=[0.5, 1.0, 2.0, 4.0, 8.0, 16.0],
        alpha_steps=20_000,
        stride=100,
        seeds=4,
    ),
}
L_MIN, U_MIN, DELAY_MIN = 10.0, 2.0, 3.0


def _data(s):
    from effgrok.nets.digits import load_digits_split

    return load_digits_split(s["n_train"], seed=s["data_seed"], n_test=s["n_test"])


def predict(settings: dict) -> dict:
    from effgrok.diagnostics.weight_norm import decay_time
    from effgrok.nets.digits import expected_init_norm

    dt = decay_time(settings["alphas"], lr=settings["lr"], weight_decay=settings["weight_decay"])
    return {
        "train_shape": "L",
        "test_shape": "U",
        "w0": expected_init_norm(width=settings["width"], depth=settings["depth"]),
        "alphas": list(settings["alphas"]),
        "decay_time": [float(v) for v in dt],
    }


def units(settings: dict) -> list[dict]:
    return [{"part": "landscape"}, {"part": "alpha"}]


def measure_unit(settings: dict, unit: dict) -> dict:
    from effgrok.diagnostics.weight_norm import alpha_sweep, reduced_landscape

    s = settings
    common = dict(
        seeds=list(range(s["seeds"])), width=s["width"], depth=s["depth"], lr=s["lr"], stride=s["stride"]
    )
    if unit["part"] == "landscape":
        rl = reduced_landscape(_data(s), s["norms"], steps=s["landscape_steps"], **common)
        return {
            "relative": rl.relative,
            "norms": rl.norms,
            "train_loss": rl.train_loss,
            "test_loss": rl.test_loss,
            "train_acc": rl.train_acc,
            "test_acc": rl.test_acc,
            "final_norm": rl.runs.weight_norm[:, -1],
        }
    sw = alpha_sweep(
        _data(s),
        s["alphas"],
        weight_decay=s["weight_decay"],
        steps=s["alpha_steps"],
        test_threshold=s["test_threshold"],
        **common,
    )
    return {
        "alphas": sw.alphas,
        "t_train": sw.t_train,
        "t_test": sw.t_test,
        "steps": sw.runs.steps,
        "test_acc": sw.runs.test_acc,
        "train_acc": sw.runs.train_acc,
        "weight_norm": sw.runs.weight_norm,
    }


def _delays(m: dict, budget: int) -> np.ndarray:
    """Median over seeds of the time to generalise; a run that never did counts as 2·budget."""
    t = np.asarray(m["t_test"], float)
    return np.median(np.where(t >= 0, t, 2.0 * budget), axis=1)


def verdict(prediction: dict, measurements: list[dict], settings: dict) -> Verdict:
    from effgrok.diagnostics.weight_norm import lu_shape

    land, al = measurements
    shape = lu_shape(land["norms"], land["train_loss"], land["test_loss"], l_min=L_MIN, u_min=U_MIN)
    budget = int(settings["alpha_steps"])
    alphas = np.asarray(al["alphas"], float)
    med = _delays(al, budget)
    i1 = int(np.argmin(np.abs(alphas - 1.0)))
    monotone = bool(np.all(np.diff(med) >= -settings["stride"]))
    ratio = float(med[-1] / max(med[i1], settings["stride"]))
    grows = monotone and ratio >= DELAY_MIN
    numbers = {
        "relative_norms": [float(v) for v in land["relative"]],
        "train_loss": [float(v) for v in land["train_loss"]],
        "test_loss": [float(v) for v in land["test_loss"]],
        "l_ratio": shape.l_ratio,
        "u_left": shape.u_left,
        "u_right": shape.u_right,
        "w_test_min_over_w0": shape.w_test_min / prediction["w0"],
        "is_l": shape.is_l,
        "is_u": shape.is_u,
        "alphas": alphas.tolist(),
        "median_t_test": med.tolist(),
        "median_t_train": np.median(
            np.where(al["t_train"] >= 0, al["t_train"], 2.0 * budget), axis=1
        ).tolist(),
        "delay_ratio_max_alpha_over_alpha1": ratio,
        "monotone": monotone,
        "decay_time": prediction["decay_time"],
    }
    pred = (
        f"train loss vs norm L-shaped (wall/floor ≥ {L_MIN:g}), test loss U-shaped (both ends ≥ {U_MIN:g}× "
        f"its interior minimum); t_gen(α) non-decreasing with t_gen(α={alphas[-1]:g}) ≥ {DELAY_MIN:g}× "
        f"t_gen(α=1) (decay-only estimate {prediction['decay_time'][-1]:.0f} steps)"
    )
    meas = (
        f"L ratio {shape.l_ratio:.3g}; U {shape.u_left:.3g} / {shape.u_right:.3g} with the minimum at "
        f"w = {numbers['w_test_min_over_w0']:.3g} w₀; "
        f"median t_gen(test acc ≥ {settings['test_threshold']:g}) "
        f"= {', '.join(f'{a:g}: {t:.0f}' for a, t in zip(alphas, med, strict=True))} "
        f"(ratio {ratio:.3g})"
    )
    crit = "L and U shapes by the stated ratios, and monotone growth of t_gen with α by the stated factor"
    if not np.isfinite(med[i1]) or med[i1] >= 2 * budget:
        return Verdict("inconclusive", pred, meas, crit + " (α = 1 never generalised)", numbers)
    status = "pass" if (shape.is_l and shape.is_u and grows) else "fail"
    return Verdict(status, pred, meas, crit, numbers)


def plot(prediction, measurements, settings, verdict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    land, al = measurements
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    ax = axes[0]
    ax.loglog(land["relative"], land["train_loss"], "o-", label="train loss")
    ax.loglog(land["relative"], land["test_loss"], "s-", label="test loss")
    ax.set_xlabel("fixed weight norm w / w₀")
    ax.set_ylabel("final MSE")
    ax.set_title("reduced landscape (L and U)")
    ax.legend(fontsize=8)
    n_s = al["t_test"].shape[1]
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(al["alphas"])))
    for i, a in enumerate(al["alphas"]):
        axes[1].plot(al["steps"], al["test_acc"][i * n_s], color=colors[i], label=f"α={a:g}")
        axes[1].plot(al["steps"], al["train_acc"][i * n_s], color=colors[i], ls=":", lw=1)
        axes[2].semilogy(al["steps"], al["weight_norm"][i * n_s], color=colors[i], label=f"α={a:g}")
    axes[1].axhline(settings["test_threshold"], color="0.5", ls="--", lw=0.8)
    axes[1].set_xlabel("step")
    axes[1].set_ylabel("test accuracy (dotted: train)")
    axes[1].legend(fontsize=7)
    axes[2].axhline(prediction["w0"], color="0.5", ls="--", lw=0.8, label="w₀")
    axes[2].set_xlabel("step")
    axes[2].set_ylabel("weight norm")
    axes[2].set_title(f"verdict: {verdict.status}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
