"""Solvable model 1: the linear teacher–student grokking gap (Levi, Beck & Bar-Sinai, ICLR 2024).

Theory (:mod:`effgrok.solvable.linear`): with ``λ = d_in/N_train`` the train and test losses of
full-batch gradient descent are Marchenko–Pastur averages, and the grokking gap -- the steps
between the train and the test accuracy reaching 95 % (loss ``ε/(2 erfinv(0.95)²)``) -- follows
from them with no fitted parameter.  The prediction uses the gradient-descent factor
``(1 − 2η₀ν)^t`` (``discrete=True``), the exact form of the simulated dynamics; the
gradient-flow and long-time forms are reported beside it.

Measurement: :func:`effgrok.solvable.linear.simulate_linear` (JAX, float64) at the paper's setting
(``d_in = 1000``, ``d_out = 1``, ``η₀ = 0.01``, ``ε = 1e-3``), several seeds per ``λ``; the gap is
read off the seed-averaged curves (the quantity the MP average describes), and the per-seed
gaps are reported beside it.  Criterion (issue 11): the simulated gap is within 5 % of the
theory for every ``λ ≤ 0.9``.

Positive control: every simulated run reaches both the train and the generalisation level
within its budget (1.3 × the predicted ``t_gen``), so every gap is measured, not censored, and
the realised ratio ``d_in/N_train`` (``N_train`` rounded to an integer) is within 1 % of the
nominal ``λ`` -- else inconclusive.

Paper protocol (Levi et al., Fig. 2): ``d_in = 1000``, ``d_out = 1``, ``η₀ = 0.01``, ``ε = 1e-3``,
Gaussian inputs, full-batch GD, no weight decay; the cpu profile is that setting with 4 seeds,
the gpu profile 32 seeds and ten ``λ``.  No deviation beyond the seed counts.
"""

from __future__ import annotations

import math

import numpy as np

from validation.framework import device_of

TITLE = "Linear teacher–student: closed-form grokking gap vs gradient descent (no fitted parameters)"
CLAIM = (
    "For a linear student trained by full-batch GD on Gaussian inputs, the steps between train and "
    "test accuracy reaching 95 % follow from the Marchenko–Pastur law with ratio λ = d_in/N_train; "
    "the simulated gap agrees within 5 % for every λ ≤ 0.9."
)
PROFILES = {
    "tiny": {"d_in": 40, "lams": [0.3, 0.6], "seeds": 2, "eta0": 0.01, "epsilon": 1e-3, "tolerance": 0.05},
    "cpu": {
        "d_in": 1000,
        "lams": [0.1, 0.3, 0.5, 0.7, 0.9],
        "seeds": 4,
        "eta0": 0.01,
        "epsilon": 1e-3,
        "tolerance": 0.05,
    },
    "gpu": {
        "device": "gpu",
        "d_in": 1000,
        "lams": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9],
        "seeds": 32,
        "eta0": 0.01,
        "epsilon": 1e-3,
        "tolerance": 0.05,
    },
}
LEVEL = 0.95
LAM_TOLERANCE = 0.01


def cost(settings: dict) -> float:
    """Estimated seconds: per λ and seed, ``1.3 t_gen`` steps of a ``d_in × N_train`` product
    pair (``4 d_in² /λ`` flops per step) at 5.5 GFLOP/s on 2 CPU cores (this cpu profile: 138 s
    under load, 49 s on a quieter machine), or, for the gpu profile, 20 TFLOP/s plus 20 µs per
    step."""
    d_in = int(settings["d_in"])
    total, steps_all = 0.0, 0.0
    for lam in settings["lams"]:
        steps = 1.3 * _gap(float(lam), settings, True).t_gen + 10
        total += int(settings["seeds"]) * steps * 4.0 * d_in * d_in / float(lam)
        steps_all += steps
    if device_of(settings) == "gpu":
        return total / 2e13 + 2e-5 * steps_all
    return total / 5.5e9


def _gap(lam: float, settings: dict, discrete: bool):
    from effgrok.solvable.linear import grokking_gap

    return grokking_gap(
        lam, float(settings["eta0"]), float(settings["epsilon"]), level=LEVEL, discrete=discrete
    )


def predict(settings: dict) -> dict:
    rows = []
    for lam in settings["lams"]:
        d, f = _gap(float(lam), settings, True), _gap(float(lam), settings, False)
        rows.append(
            {
                "lam": float(lam),
                "t_train": d.t_train,
                "t_gen": d.t_gen,
                "gap": d.gap,
                "gap_flow": f.gap,
                "gap_asymptotic": f.gap_asymptotic,
            }
        )
    return {"loss_level": _gap(float(settings["lams"][0]), settings, True).loss_level, "rows": rows}


def units(settings: dict) -> list[dict]:
    return [{"lam": float(lam)} for lam in settings["lams"]]


def measure_unit(settings: dict, unit: dict) -> dict:
    from effgrok.solvable.linear import simulate_linear

    lam = float(unit["lam"])
    d_in = int(settings["d_in"])
    n_train = max(1, round(d_in / lam))
    steps = math.ceil(1.3 * _gap(lam, settings, True).t_gen) + 10
    sim = simulate_linear(
        d_in,
        n_train,
        eta0=float(settings["eta0"]),
        epsilon=float(settings["epsilon"]),
        level=LEVEL,
        steps=steps,
        seeds=int(settings["seeds"]),
        seed=0,
    )
    return {
        "lam": np.array([lam]),
        "lam_realised": np.array([d_in / n_train]),
        "mean_curve_gap": np.array([sim.mean_curve_gap()]),
        "gap": sim.gap,
        "t_train": sim.t_train,
        "t_gen": sim.t_gen,
        "train_loss_mean": sim.train_loss.mean(axis=0),
        "generalization_loss_mean": sim.generalization_loss.mean(axis=0),
    }


def verdict(prediction: dict, measurements: list[dict], settings: dict):
    from ..framework import Control, decide

    tol = float(settings["tolerance"])
    rows = []
    for row, m in zip(prediction["rows"], measurements, strict=True):
        sim = float(m["mean_curve_gap"][0])
        rows.append(
            {
                "lam": row["lam"],
                "gap_theory": row["gap"],
                "gap_simulated": sim,
                "rel_error": sim / row["gap"] - 1 if math.isfinite(sim) else None,
                "seed_gap_mean": float(np.mean(m["gap"])),
                "seed_gap_sd": float(np.std(m["gap"], ddof=1)) if m["gap"].size > 1 else None,
                "gap_flow": row["gap_flow"],
                "gap_asymptotic": row["gap_asymptotic"],
            }
        )
    judged = [r for r in rows if r["lam"] <= 0.9]
    reached = [
        int(np.sum((m["t_train"] >= 0) & (m["t_gen"] >= 0) & np.isfinite(m["gap"]))) for m in measurements
    ]
    n_runs = [int(m["gap"].size) for m in measurements]
    lam_err = max(abs(float(m["lam_realised"][0]) / float(m["lam"][0]) - 1) for m in measurements)
    control = Control(
        f"every run reaches the train and the generalisation level within 1.3 t_gen, and d_in/N_train is "
        f"within {LAM_TOLERANCE:.0%} of λ",
        held=bool(
            judged
            and all(r["rel_error"] is not None for r in judged)
            and reached == n_runs
            and lam_err <= LAM_TOLERANCE
        ),
        detail=(
            f"runs with both levels reached per λ: {reached} of {n_runs}; "
            f"worst |λ_realised/λ − 1| {lam_err:.2%}"
        ),
    )
    passed = bool(judged) and all(r["rel_error"] is not None and abs(r["rel_error"]) <= tol for r in judged)
    worst = max((abs(r["rel_error"]) for r in judged if r["rel_error"] is not None), default=math.nan)
    pred = "Δt(λ) = " + ", ".join(f"{r['gap_theory']:.4g} (λ={r['lam']:g})" for r in rows) + " steps"
    meas = (
        "simulated (seed-averaged curves): "
        + ", ".join(
            f"{r['gap_simulated']:.4g} ({r['rel_error']:+.1%})" for r in rows if r["rel_error"] is not None
        )
        + f"; worst |error| {worst:.1%}"
    )
    crit = (
        f"|Δt_sim/Δt_theory − 1| ≤ {tol:.0%} for every λ ≤ 0.9 (d_in = {settings['d_in']}, "
        f"{settings['seeds']} seeds, η₀ = {settings['eta0']:g}, ε = {settings['epsilon']:g}; "
        "no fitted parameters)"
    )
    numbers = {"rows": rows, "worst_rel_error": worst, "tolerance": tol, "runs_reached": reached}
    return decide(control, passed, prediction=pred, measurement=meas, criterion=crit, numbers=numbers)


def plot(prediction: dict, measurements: list[dict], settings: dict, verdict, path) -> None:
    from effgrok.plot import plt, save
    from effgrok.solvable.linear import mp_losses

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.2))
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(measurements)))
    for m, c in zip(measurements, colors, strict=True):
        lam = float(m["lam"][0])
        t = np.arange(m["train_loss_mean"].size, dtype=float)
        tr, gen = mp_losses(t, lam, float(settings["eta0"]), discrete=True)
        ax.plot(t[1:], gen[1:], color=c, lw=1.5, label=f"λ = {lam:g}")
        ax.plot(t[1:], tr[1:], color=c, lw=1.0, ls="--")
        ax.plot(t[1:], m["generalization_loss_mean"][1:], color="k", lw=0.6, ls=":")
    ax.axhline(prediction["loss_level"], color="0.4", lw=0.8, ls="-.")
    ax.set(
        xscale="log", yscale="log", xlabel="step", ylabel="loss", title="theory (train --, test —), sim ···"
    )
    ax.legend(fontsize=8)
    rows = verdict.numbers["rows"]
    lam = [r["lam"] for r in rows]
    bx.plot(lam, [r["gap_theory"] for r in rows], "o-", label="theory (GD, exact crossing)")
    bx.plot(lam, [r["gap_asymptotic"] for r in rows], "s--", label="long-time form")
    bx.plot(lam, [r["gap_simulated"] for r in rows], "kx", ms=8, label="simulation (seed-averaged)")
    for m in measurements:
        bx.plot(np.full(m["gap"].size, float(m["lam"][0])), m["gap"], "k.", ms=3)
    bx.set(yscale="log", xlabel="λ = d_in / N_train", ylabel="grokking gap Δt (steps)", title=verdict.status)
    bx.legend(fontsize=8)
    fig.tight_layout()
    save(fig, path, dpi=110)
