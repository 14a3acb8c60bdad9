"""Solvable model 2: the kernel→rich transition time log(α)/λ (Lyu et al., ICLR 2024).

Theory (:mod:`effgrok.solvable.dichotomy`): a homogeneous network initialised at scale ``α`` and
trained with a small weight decay ``λ`` stays in the kernel regime until ``t ≈ (1 − c) log(α)/λ``
and reaches the rich (max-margin) solution by ``(1 + c) log(α)/λ``, ``t = η × steps``.  So the
measured transition time is linear in ``log α`` with slope ``1/λ`` (at fixed ``λ``) and linear in
``1/λ`` with slope ``log α`` (at fixed ``α``).

Measurement: the paper's network -- a bias-free (2-homogeneous) one-hidden-layer ReLU MLP on
one-hot pairs, cross-entropy, full-batch gradient descent with weight decay -- through
:func:`effgrok.solvable.dichotomy.simulate`; one unit sweeps ``α`` at ``λ_ref``, the other ``λ``
at ``α_ref`` (one vmapped batch each).  The transition of a run is the first time its test
accuracy covers half the way from its value at memorisation to its final value
(:func:`effgrok.solvable.dichotomy.transition_from_curve`).

Scale.  The paper's setting (width 1024, add-mod 97, lr 0.002, wd 1e-4) puts ``t*/η`` at millions
of steps; the ``gpu`` profile keeps p = 97 and width 1024 but uses lr 0.1 and λ ≈ 1e-3 (the
defaults of the authors' public training script), the ``cpu`` profile a small modulus, a
narrower net and ``ηλ`` of a few 1e-3 per step, so that the transition falls within a few
thousand steps.  effgrok's ``add-mod`` uses unordered pairs, so the training fraction counts
``p(p+1)/2`` examples (the paper: 40 % of the ``p²`` ordered pairs).

Reported beside the criterion: the end of the kernel phase read off the weight norm
(:func:`effgrok.solvable.dichotomy.kernel_exit_from_norm`, first step with
``‖θ‖ ≤ 1.2‖θ‖_final``), fitted the same way, and ``log(‖θ₀‖/‖θ_final‖)/λ`` -- the theorem's time
with ``α`` counted in units of the late-phase norm.

Criterion: in both sweeps at least 3 runs show a transition, the fitted slope is positive
(95 % CI above 0), the line explains the points (R² ≥ 0.8), and the slope is within a factor
1.5 of the prediction (``1/λ_ref`` resp. ``log α_ref``).  Fewer transitions: inconclusive.
"""

from __future__ import annotations

import math

import numpy as np

TITLE = "Kernel→rich dichotomy: transition time vs log(α)/λ in a 2-homogeneous ReLU net"
CLAIM = (
    "With initialisation scale α and weight decay λ, a homogeneous network leaves the kernel regime at "
    "t ≈ log(α)/λ (t = η·steps): the measured transition times are linear in log α with slope 1/λ and "
    "linear in 1/λ with slope log α."
)
PROFILES = {
    "tiny": {
        "task": "add-mod",
        "p": 7,
        "hidden": 16,
        "train_fraction": 0.8,
        "lr": 0.5,
        "alphas": [2.0, 4.0, 8.0],
        "wd_ref": 0.01,
        "wds": [0.005, 0.01, 0.02],
        "alpha_ref": 4.0,
        "seeds": 1,
        "steps": 40,
        "stride": 10,
    },
    "cpu": {
        "task": "sub-mod",
        "p": 31,
        "hidden": 256,
        "train_fraction": 0.7,
        "lr": 1.0,
        "alphas": [10.0, 30.0, 100.0, 300.0],
        "wd_ref": 0.005,
        "wds": [0.003, 0.004, 0.005, 0.006],
        "alpha_ref": 30.0,
        "seeds": 1,
        "steps": 6000,
        "stride": 50,
    },
    "gpu": {
        "task": "add-mod",
        "p": 97,
        "hidden": 1024,
        "train_fraction": 0.8,
        "lr": 0.1,
        "alphas": [4.0, 8.0, 16.0, 32.0],
        "wd_ref": 0.001,
        "wds": [0.0005, 0.001, 0.002],
        "alpha_ref": 16.0,
        "seeds": 2,
        "steps": 120000,
        "stride": 500,
    },
}
MIN_POINTS = 3
MIN_R2 = 0.8
SLOPE_FACTOR = 1.5


def _grid(settings: dict, sweep: str):
    if sweep == "alpha":
        a = np.asarray(settings["alphas"], dtype=float)
        w = np.full(a.size, float(settings["wd_ref"]))
    else:
        w = np.asarray(settings["wds"], dtype=float)
        a = np.full(w.size, float(settings["alpha_ref"]))
    return a, w


def predict(settings: dict) -> dict:
    from effgrok.solvable.dichotomy import transition_step, transition_time, transition_window

    out = {}
    for sweep in ("alpha", "wd"):
        a, w = _grid(settings, sweep)
        lo, hi = transition_window(a, w, 0.5)
        out[sweep] = {
            "alpha": a.tolist(),
            "weight_decay": w.tolist(),
            "t_star": np.atleast_1d(transition_time(a, w)).tolist(),
            "t_low": np.atleast_1d(lo).tolist(),
            "t_high": np.atleast_1d(hi).tolist(),
            "step_star": np.atleast_1d(transition_step(a, w, float(settings["lr"]))).tolist(),
        }
    out["slope_log_alpha"] = 1.0 / float(settings["wd_ref"])
    out["slope_inv_wd"] = math.log(float(settings["alpha_ref"]))
    return out


def units(settings: dict) -> list[dict]:
    return [{"sweep": "alpha"}, {"sweep": "wd"}]


def measure_unit(settings: dict, unit: dict) -> dict:
    from effgrok.solvable.dichotomy import simulate
    from effgrok.tasks import make_task

    a, w = _grid(settings, unit["sweep"])
    seeds = np.arange(int(settings["seeds"]))
    runs = simulate(
        make_task(settings["task"], int(settings["p"])),
        np.repeat(a, seeds.size),
        np.repeat(w, seeds.size),
        seeds=np.tile(seeds, a.size),
        lr=float(settings["lr"]),
        hidden=int(settings["hidden"]),
        train_fraction=float(settings["train_fraction"]),
        steps=int(settings["steps"]),
        stride=int(settings["stride"]),
    )
    return {
        "alpha": runs.alpha,
        "weight_decay": runs.weight_decay,
        "seed": runs.seeds,
        "steps": runs.steps,
        "train_acc": runs.train_acc,
        "test_acc": runs.test_acc,
        "weight_norm": runs.weight_norm,
        "transition_time": runs.transition_time,
        "predicted_time": runs.predicted_time,
        "plateau": runs.plateau,
        "final": runs.final,
        "kernel_exit_time": float(settings["lr"]) * runs.kernel_exit_step,
        "norm_decay_time": np.log(runs.weight_norm[:, 0] / runs.weight_norm[:, -1]) / runs.weight_decay,
    }


def _fit(x, y):
    from effgrok.solvable.dichotomy import fit_line

    ok = np.isfinite(y)
    if ok.sum() < MIN_POINTS or np.unique(x[ok]).size < 2:
        return None
    f = fit_line(x[ok], y[ok])
    return {"slope": f.slope, "slope_ci": list(f.slope_ci), "intercept": f.intercept, "r2": f.r2, "n": f.n}


def verdict(prediction: dict, measurements: list[dict], settings: dict):
    from ..framework import Verdict

    ma, mw = measurements
    fits = {
        "log_alpha": _fit(np.log(ma["alpha"]), ma["transition_time"]),
        "inv_wd": _fit(1.0 / mw["weight_decay"], mw["transition_time"]),
    }
    expected = {"log_alpha": prediction["slope_log_alpha"], "inv_wd": prediction["slope_inv_wd"]}
    found = {k: int(np.isfinite(m["transition_time"]).sum()) for k, m in zip(fits, measurements, strict=True)}
    total = {k: int(m["transition_time"].size) for k, m in zip(fits, measurements, strict=True)}
    checks = {}
    for k, f in fits.items():
        if f is None:
            continue
        ratio = f["slope"] / expected[k]
        f["ratio_to_prediction"] = ratio
        f["prediction_in_ci"] = f["slope_ci"][0] <= expected[k] <= f["slope_ci"][1]
        checks[k] = f["slope_ci"][0] > 0 and f["r2"] >= MIN_R2 and 1 / SLOPE_FACTOR <= ratio <= SLOPE_FACTOR
    status = "inconclusive" if len(checks) < 2 else ("pass" if all(checks.values()) else "fail")
    pred = (
        f"t* = log(α)/λ: slope {expected['log_alpha']:.4g} vs log α at λ = {settings['wd_ref']:g}, "
        f"slope {expected['inv_wd']:.4g} vs 1/λ at α = {settings['alpha_ref']:g}"
    )

    def describe(k):
        f = fits[k]
        if f is None:
            return f"{k}: transitions in {found[k]}/{total[k]} runs, no fit"
        return (
            f"{k}: slope {f['slope']:.4g} [{f['slope_ci'][0]:.4g}, {f['slope_ci'][1]:.4g}] "
            f"(×{f['ratio_to_prediction']:.2f} of predicted), R² {f['r2']:.2f}, {f['n']}/{total[k]} runs"
        )

    meas = "; ".join(describe(k) for k in fits)
    crit = (
        f"each sweep: ≥ {MIN_POINTS} runs with a transition, slope 95 % CI > 0, R² ≥ {MIN_R2}, slope within "
        f"×{SLOPE_FACTOR} of the prediction ({settings['task']} p = {settings['p']}, "
        f"width {settings['hidden']}, η = {settings['lr']:g}, {settings['steps']} steps)"
    )
    # reported beside the criterion: the end of the kernel phase read off the weight norm
    exits = {
        "log_alpha": _fit(np.log(ma["alpha"]), ma["kernel_exit_time"]),
        "inv_wd": _fit(1.0 / mw["weight_decay"], mw["kernel_exit_time"]),
    }
    if all(e is not None for e in exits.values()):
        meas += (
            "; kernel exit from the weight norm (‖θ‖ ≤ 1.2‖θ‖_final): slope vs log α "
            f"{exits['log_alpha']['slope']:.4g} [{exits['log_alpha']['slope_ci'][0]:.4g}, "
            f"{exits['log_alpha']['slope_ci'][1]:.4g}], vs 1/λ {exits['inv_wd']['slope']:.4g} "
            f"[{exits['inv_wd']['slope_ci'][0]:.4g}, {exits['inv_wd']['slope_ci'][1]:.4g}]"
        )
    numbers = {
        "fits": fits,
        "predicted_slopes": expected,
        "transitions_found": found,
        "runs": total,
        "kernel_exit_fits": exits,
        "norm_decay_time": {
            "alpha_sweep": ma["norm_decay_time"].tolist(),
            "wd_sweep": mw["norm_decay_time"].tolist(),
        },
    }
    return Verdict(status, pred, meas, crit, numbers)


def plot(prediction: dict, measurements: list[dict], settings: dict, verdict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    ma, mw = measurements
    lr = float(settings["lr"])
    ax = axes[0]
    colors = plt.cm.plasma(np.linspace(0, 0.85, ma["alpha"].size))
    for k, c in enumerate(colors):
        ax.plot(lr * ma["steps"], ma["test_acc"][k], color=c, lw=1, label=f"α = {ma['alpha'][k]:g}")
        ax.axvline(ma["predicted_time"][k], color=c, ls=":", lw=0.8)
    ax.set(
        xlabel="t = η · step",
        ylabel="test accuracy",
        title=f"α sweep at λ = {settings['wd_ref']:g} (dotted: t*)",
    )
    ax.legend(fontsize=7)
    for bx, m, xname, key in (
        (axes[1], ma, "log α", "log_alpha"),
        (axes[2], mw, "1/λ", "inv_wd"),
    ):
        x = np.log(m["alpha"]) if key == "log_alpha" else 1.0 / m["weight_decay"]
        bx.plot(x, m["predicted_time"], "o--", color="0.5", label="predicted log(α)/λ")
        bx.plot(x, m["transition_time"], "ks", label="measured (test accuracy)")
        bx.plot(x, m["kernel_exit_time"], "k^", mfc="none", label="kernel exit (weight norm)")
        f = verdict.numbers["fits"].get(key)
        if f is not None:
            xx = np.linspace(x.min(), x.max(), 10)
            bx.plot(xx, f["intercept"] + f["slope"] * xx, "k-", lw=0.8, label=f"fit, slope {f['slope']:.3g}")
        bx.set(xlabel=xname, ylabel="transition time t", title=verdict.status if key == "inv_wd" else "")
        bx.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
