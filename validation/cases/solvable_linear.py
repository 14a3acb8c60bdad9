"""Solvable model 1: the linear teacher–student grokking gap (Levi, Beck & Bar-Sinai, ICLR 2024).

Theory (:mod:`effgrok.solvable.linear`): with ``λ = d_in/N_train`` the train and test losses of
full-batch gradient descent are Marchenko–Pastur averages, and the grokking gap -- the steps
between the train and the test accuracy reaching 95 % (loss ``ε/(2 erfinv(0.95)²)``) -- follows
from them with no fitted parameter.  The prediction uses the gradient-descent factor
``(1 − 2η₀ν)^t`` (``discrete=True``), the exact form of the simulated dynamics; the
gradient-flow and long-time forms are reported beside it.

Measurement: :func:`effgrok.solvable.linear.simulate_linear` (JAX, float64) at the paper's setting
(``d_in = 1000``, ``d_out = 1``, ``η₀ = 0.01``, ``ε = 1e-3``), ``seeds`` runs per ``λ``, their
data and initialisations drawn from the replicate's seed (:func:`validation.claims.replicate_seed`,
one per ``λ``); the gap is read off the seed-averaged curves (the quantity the MP average
describes), and the per-seed gaps are reported beside it.

**Claim** (``gap_matches_theory``, the headline, quantitative): for every ``λ ≤ 0.9`` the
simulated gap's relative error ``e = Δt_sim/Δt_theory − 1`` satisfies
``|e| ≤ max(tolerance, 2·SE)``, with ``tolerance`` = 5 % (issue 11) and ``SE`` the bootstrap
standard error of ``e`` over the ``seeds`` runs (resampling runs with replacement, recomputing the
gap of the averaged curves; ``bootstrap`` resamples from the replicate's seed).  This criterion
was chosen (issue 23) *before* any replicate ran, instead of ≥ 32 seeds, which the cpu budget
cannot afford (λ = 0.9 alone takes ≈ 10 s per seed).  Why the seed noise must enter: at 4 seeds
the published +2.7 % error at λ = 0.9 was seed luck -- two other seed sets gave −7.3 % and +8.0 %.
**Power**: with 8 seeds the criterion resolves an error larger than max(5 %, 2 SE); at λ = 0.9
the per-seed spread (≈ ±16 %: those three 4-seed means scatter by ≈ 8 %) makes 2 SE ≈ 11 % there, so a
theory off by less than that at λ = 0.9 would pass; at λ ≤ 0.7 the spread is a few per cent and
the 5 % bar binds.  The measured SE is reported per λ.

What issue 23's cpu replicates found: K = 0 passes (worst −6.9 % ± 4.7 % at λ = 0.9), K = 1
fails (+8.1 % ± 3.3 % at λ = 0.9, allowed 6.7 %): *unstable*.  The two 8-seed means at λ = 0.9
differ by 15 %, more than their bootstrap SEs suggest -- the per-seed gap at λ = 0.9 is heavy
tailed, and 8 seeds do not pin the mean; the gpu profile runs 32.

Positive control: every simulated run reaches both the train and the generalisation level
within its budget (1.3 × the predicted ``t_gen``), so every gap is measured, not censored, and
the realised ratio ``d_in/N_train`` (``N_train`` rounded to an integer) is within 1 % of the
nominal ``λ`` -- else inconclusive.

Paper protocol (Levi et al., Fig. 2): ``d_in = 1000``, ``d_out = 1``, ``η₀ = 0.01``, ``ε = 1e-3``,
Gaussian inputs, full-batch GD, no weight decay.  Deviations: only the seed counts (8 at the cpu
profile, 32 at the gpu one); seeds of replicate K are disjoint from every other K.
"""

from __future__ import annotations

import math

import numpy as np

from validation.claims import Claim, Observed, replicate_seed
from validation.framework import device_of, verdict_of

from .._common import by_profile

TITLE = "Linear teacher–student: closed-form grokking gap vs gradient descent (no fitted parameters)"
CLAIM = (
    "For a linear student trained by full-batch GD on Gaussian inputs, the steps between train and "
    "test accuracy reaching 95 % follow from the Marchenko–Pastur law with ratio λ = d_in/N_train; "
    "the simulated gap agrees within max(5 %, 2 bootstrap SE) for every λ ≤ 0.9."
)
PROFILES = by_profile(
    d_in=(40, 1000, 1000),
    lams=([0.3, 0.6], [0.1, 0.3, 0.5, 0.7, 0.9], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9]),
    seeds=(3, 8, 32),
    eta0=0.01,
    epsilon=1e-3,
    bootstrap=(200, 1000, 1000),
)
LEVEL = 0.95
CLAIMS = (
    Claim(
        "gap_matches_theory",
        paper=(
            "Levi et al. (ICLR 2024): the grokking gap of the linear teacher–student model follows from the "
            "Marchenko–Pastur spectrum with λ = d_in/N_train, with no fitted parameter."
        ),
        measurement=(
            "per λ: gap between the seed-averaged train and generalisation losses reaching the 95 %-accuracy "
            "loss level, relative error e = Δt_sim/Δt_theory − 1 (discrete-GD theory), and its bootstrap SE "
            "over the seeds"
        ),
        criterion="|e| ≤ max(tolerance, se_factor · SE) for every λ ≤ max_lam",
        threshold={"tolerance": 0.05, "se_factor": 2.0, "max_lam": 0.9, "lam_tolerance": 0.01},
        control=(
            "every run reaches both levels within 1.3 t_gen (no censored gap) and d_in/N_train is within 1 % "
            "of λ"
        ),
        power=(
            "an error above max(5 %, 2 SE) is detected; with 8 seeds 2 SE ≈ 11 % at λ = 0.9 (per-seed spread "
            "≈ ±16 %) and a few per cent at λ ≤ 0.7, where the 5 % bar binds"
        ),
        headline=True,
    ),
)


def cost(settings: dict) -> float:
    """Estimated seconds: per λ and seed, ``1.3 t_gen`` steps of a ``d_in × N_train`` product
    pair (``4 d_in² /λ`` flops per step) at 10 GFLOP/s on 2 CPU cores (4 seeds of the cpu
    λ grid: 73 s measured under load), or, for the gpu profile, 20 TFLOP/s plus 20 µs per
    step."""
    d_in = int(settings["d_in"])
    total, steps_all = 0.0, 0.0
    for lam in settings["lams"]:
        steps = 1.3 * _gap(float(lam), settings, True).t_gen + 10
        total += int(settings["seeds"]) * steps * 4.0 * d_in * d_in / float(lam)
        steps_all += steps
    if device_of(settings) == "gpu":
        return total / 2e13 + 2e-5 * steps_all
    return total / 1e10


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
    return [{"lam": float(lam), "index": i} for i, lam in enumerate(settings["lams"])]


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
        seed=replicate_seed(settings, 100 * int(unit["index"])),
    )
    return {
        "lam": np.array([lam]),
        "lam_realised": np.array([d_in / n_train]),
        "loss_level": np.array([sim.loss_level]),
        "mean_curve_gap": np.array([sim.mean_curve_gap()]),
        "gap": sim.gap,
        "t_train": sim.t_train,
        "t_gen": sim.t_gen,
        "train_loss": sim.train_loss,
        "generalization_loss": sim.generalization_loss,
    }


def _curve_gap(train_loss: np.ndarray, gen_loss: np.ndarray, level: float) -> float:
    """Gap between the averaged curves (rows: runs) reaching ``level``; ``NaN``: never."""
    from effgrok.solvable.linear import crossing_time

    t_gen = crossing_time(gen_loss.mean(axis=0), level)
    return t_gen - crossing_time(train_loss.mean(axis=0), level) if math.isfinite(t_gen) else math.nan


def bootstrap_se(m: dict, gap_theory: float, resamples: int, seed: int) -> float:
    """Bootstrap standard error of the relative error of the averaged-curve gap: resample the
    runs with replacement ``resamples`` times (``NaN`` with fewer than 2 runs)."""
    tr, gen = np.asarray(m["train_loss"]), np.asarray(m["generalization_loss"])
    n = tr.shape[0]
    if n < 2:
        return math.nan
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    level = float(m["loss_level"][0])
    errs = []
    for _ in range(int(resamples)):
        idx = rng.integers(0, n, n)
        errs.append(_curve_gap(tr[idx], gen[idx], level) / gap_theory - 1)
    errs = np.asarray(errs)
    return float(np.std(errs[np.isfinite(errs)], ddof=1)) if np.isfinite(errs).sum() > 1 else math.nan


def verdict(prediction: dict, measurements: list[dict], settings: dict):
    (claim,) = CLAIMS
    t = claim.threshold
    rows = []
    for i, (row, m) in enumerate(zip(prediction["rows"], measurements, strict=True)):
        sim = float(m["mean_curve_gap"][0])
        se = bootstrap_se(m, row["gap"], settings["bootstrap"], replicate_seed(settings, 900_000 + i))
        rows.append(
            {
                "lam": row["lam"],
                "gap_theory": row["gap"],
                "gap_simulated": sim,
                "rel_error": sim / row["gap"] - 1 if math.isfinite(sim) else None,
                "bootstrap_se": se if math.isfinite(se) else None,
                "allowed": max(t["tolerance"], t["se_factor"] * se) if math.isfinite(se) else t["tolerance"],
                "seed_gap_mean": float(np.mean(m["gap"])),
                "seed_gap_sd": float(np.std(m["gap"], ddof=1)) if m["gap"].size > 1 else None,
                "gap_flow": row["gap_flow"],
                "gap_asymptotic": row["gap_asymptotic"],
            }
        )
    judged = [r for r in rows if r["lam"] <= t["max_lam"]]
    reached = [int(np.sum(np.isfinite(m["t_train"]) & np.isfinite(m["t_gen"]))) for m in measurements]
    n_runs = [int(m["gap"].size) for m in measurements]
    lam_err = max(abs(float(m["lam_realised"][0]) / float(m["lam"][0]) - 1) for m in measurements)
    held = bool(
        judged
        and all(r["rel_error"] is not None for r in judged)
        and reached == n_runs
        and lam_err <= t["lam_tolerance"]
    )
    detail = (
        f"runs with both levels reached per λ: {reached} of {n_runs}; worst |λ_realised/λ − 1| {lam_err:.2%}"
    )
    passed = bool(judged) and all(
        r["rel_error"] is not None and abs(r["rel_error"]) <= r["allowed"] for r in judged
    )
    worst = max((abs(r["rel_error"]) for r in judged if r["rel_error"] is not None), default=math.nan)
    meas = (
        f"simulated gap ({settings['seeds']} seeds, seed-averaged curves), error ± bootstrap SE → allowed: "
        + "; ".join(
            f"λ={r['lam']:g}: {r['gap_simulated']:.4g} ({r['rel_error']:+.1%} ± "
            + ("—" if r["bootstrap_se"] is None else f"{r['bootstrap_se']:.1%}")
            + f" → {r['allowed']:.1%})"
            for r in rows
            if r["rel_error"] is not None
        )
        + f"; worst |error| {worst:.1%}"
    )
    numbers = {
        "rows": rows,
        "worst_rel_error": worst,
        "runs_reached": reached,
        "seeds": int(settings["seeds"]),
    }
    observed = Observed(meas, passed=passed, held=held, detail=detail, numbers=numbers)
    pred = "Δt(λ) = " + ", ".join(f"{r['gap_theory']:.4g} (λ={r['lam']:g})" for r in rows) + " steps"
    return verdict_of(CLAIMS, [observed], prediction=pred, numbers=numbers)


def plot(prediction: dict, measurements: list[dict], settings: dict, verdict, path) -> None:
    from effgrok.plot import plt, save
    from effgrok.solvable.linear import mp_losses

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.2))
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(measurements)))
    for m, c in zip(measurements, colors, strict=True):
        lam = float(m["lam"][0])
        t = np.arange(m["train_loss"].shape[1], dtype=float)
        tr, gen = mp_losses(t, lam, float(settings["eta0"]), discrete=True)
        ax.plot(t[1:], gen[1:], color=c, lw=1.5, label=f"λ = {lam:g}")
        ax.plot(t[1:], tr[1:], color=c, lw=1.0, ls="--")
        ax.plot(t[1:], m["generalization_loss"].mean(axis=0)[1:], color="k", lw=0.6, ls=":")
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
    save(fig, path, dpi=110, tight=True)
