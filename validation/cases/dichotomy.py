"""Solvable model 2: the kernel→rich transition time log(α)/λ (Lyu et al., ICLR 2024).

Theory (:mod:`effgrok.solvable.dichotomy`): a homogeneous network initialised at scale ``α`` and
trained with a small weight decay ``λ`` stays in the kernel regime until ``t ≈ (1 − c) log(α)/λ``
and reaches the rich (max-margin) solution by ``(1 + c) log(α)/λ``, ``t = η × steps``.  At finite
``α`` the kernel phase ends when the decaying norm ``α e^{−λt}‖θ̄‖`` meets the norm of the rich
solution, i.e. at ``(log α − log α_c)/λ`` with ``α_c = ‖θ_rich‖/‖θ̄‖``; the transition of the
predictor follows after a time of its own.  So over an ``α × λ`` grid the transition times obey

    t = b · (log α − c₀)/λ + d,       predicted b = 1,

with ``c₀ = log α_c`` and ``d`` free (:func:`effgrok.solvable.dichotomy.fit_transition_grid`).

Measurement: the paper's network -- a bias-free (2-homogeneous) one-hidden-layer ReLU MLP on
one-hot pairs, cross-entropy, full-batch gradient descent with weight decay -- through
:func:`effgrok.solvable.dichotomy.simulate`, one unit per ``λ`` (its ``α × seed`` runs in one
vmapped batch).  The transition of a run is the first time after the kernel fit (train
accuracy ≥ 0.99) that its test accuracy reaches an absolute level (``level``, 0.1: 2.3×
chance at p = 23, while the kernel plateau sits at ≤ 0.02; interpolated,
:func:`effgrok.solvable.dichotomy.first_crossing`) -- an absolute level does not move with a final
accuracy that has not converged (the earlier "half-way to the final accuracy" did).  Reported
beside it: the end of the kernel phase read off the weight norm
(:func:`effgrok.solvable.dichotomy.kernel_exit_from_norm`, first step with
``‖θ‖ ≤ 1.2‖θ‖_final``) fitted the same way, and ``c₀`` from the norm of the late solution,
``log(‖θ_final‖/‖θ̄‖)`` with ``‖θ̄‖ = ‖θ₀‖/α`` (the α_c of the theory, no fit).

Criterion: the fitted ``b`` lies within ×``slope_factor`` (1.25) of 1 and the plane explains the
points (R² ≥ 0.9).  Positive control (else inconclusive): the runs leave the kernel plateau and
generalise -- at every ``λ`` ≥ 3 runs at ≥ 2 distinct ``α`` reach the level, and the median
final test accuracy is ≥ ``gen_min`` (0.3, 7× chance) -- and the budget is ≥ 3 × the largest
``t* = log(α)/λ`` of the grid.  Runs that never reach the level are kept as censored
(``nan`` times, listed in the numbers), never dropped silently.

What the cpu profile found (2 seeds, 16 runs, all reaching the level): the test-accuracy
transition fits ``b = 1.00`` [0.93, 1.07], R² 0.995, and the kernel exit ``b = 0.99`` [0.975,
1.005], R² 1.000 -- the ``log(α)/λ`` law with slope 1 in both.  The offset is where finite α
shows: the accuracy fit's ``c₀`` (−0.4 [−0.9, 0.1]) absorbs the time the rich phase needs after
the exit (about 900–1100 time units at both λ, which the grid puts partly into ``d`` ≈ 630 and
partly into ``c₀/λ``), so it is *not* an estimate of ``log α_c``; the kernel-exit fit gives
``c₀`` = 0.36 (threshold 1.2‖θ_final‖, i.e. log α_c ≈ 0.36 + log 1.2 = 0.54 at the final norm),
below the late-norm value log(‖θ_final‖/‖θ̄‖) = 1.2–1.4 because the norm first dips below its
final value (≈ 20 vs 24–28) and then grows again while the test accuracy rises.  Before issue
16 the case fitted two one-dimensional sweeps (log α at one λ, 1/λ at one α, one seed, a
factor-2 λ range) with "half-way to the final accuracy": the 1/λ sweep failed (slope −0.08 vs
3.4) because that level moved with unconverged final accuracies and the finite-α offset was
ignored.

Paper protocol (Lyu et al. §4 and their public training script): width 1024, add-mod 97 on
40 % of the ordered pairs, cross-entropy, full-batch GD, lr 0.002 and weight decay 1e-4 (the
script's defaults: lr 0.1, wd 1e-3), α from 1 to ~100.  Deviations, all for the budget:
``sub-mod`` (ordered pairs, so the commutative-encoding question does not arise), p = 23,
width 128, 70 % of the pairs, lr 2 and λ ∈ {0.0025, 0.005} so that ``ηλ`` is 0.005 … 0.01 per step
and ``t*/η`` is a few thousand steps (at λ ≥ 0.01 the net decays to the zero solution: no
rich phase), α ∈ {30 … 1000} (α ≥ 10 α_c; at α = 10 the kernel phase is barely separated from
memorisation), 2 seeds.  The gpu profile: p = 59, width 512, 50 % of the pairs, three ``λ``
over a factor 4, five ``α``, 4 seeds.
"""

from __future__ import annotations

import math

import numpy as np

from validation.framework import Control, decide, device_of

from .._common import by_profile

TITLE = "Kernel→rich dichotomy: transition time vs log(α)/λ in a 2-homogeneous ReLU net"
CLAIM = (
    "With initialisation scale α and weight decay λ, a homogeneous network leaves the kernel regime at "
    "t ≈ log(α/α_c)/λ (t = η·steps, α_c set by the norm of the rich solution): over an α × λ grid the "
    "transition times fit t = b(log α − c₀)/λ + d with b = 1."
)
PROFILES = by_profile(
    device=(..., ..., "gpu"),
    task="sub-mod",
    p=(7, 23, 59),
    hidden=(16, 128, 512),
    train_fraction=(0.8, 0.7, 0.5),
    lr=(0.5, 2.0, 2.0),
    alphas=([2.0, 4.0], [30.0, 100.0, 300.0, 1000.0], [30.0, 100.0, 300.0, 1000.0, 3000.0]),
    wds=([0.01, 0.02], [0.0025, 0.005], [0.00125, 0.0025, 0.005]),
    seeds=(1, 2, 4),
    steps=(40, 4200, 10000),
    stride=(10, 25, 50),
    level=(0.3, 0.1, 0.1),
    gen_min=0.3,
    slope_factor=1.25,
)
MIN_R2 = 0.9
MIN_RUNS_PER_WD = 3
BUDGET_FACTOR = 3.0


def cost(settings: dict) -> float:
    """Estimated seconds of compute: ``runs × steps × 18·n·p·h`` flops (forward ``3nph``
    multiply-adds on ``n`` training pairs, backward twice that) at 15 GFLOP/s on 2 CPU cores
    (measured: 86 s for the cpu profile, under load), or, for the gpu profile,
    20 TFLOP/s plus 50 µs per step of latency."""
    p, h = int(settings["p"]), int(settings["hidden"])
    n = p * p * float(settings["train_fraction"])
    runs = len(settings["alphas"]) * len(settings["wds"]) * int(settings["seeds"])
    flops = runs * int(settings["steps"]) * 18.0 * n * p * h
    if device_of(settings) == "gpu":
        return flops / 2e13 + 5e-5 * int(settings["steps"]) * len(settings["wds"])
    return flops / 1.5e10


def predict(settings: dict) -> dict:
    from effgrok.solvable.dichotomy import transition_step, transition_time

    a, w = (g.ravel() for g in np.meshgrid(settings["alphas"], settings["wds"], indexing="ij"))
    t_star = np.atleast_1d(transition_time(a, w))
    return {
        "alpha": a.tolist(),
        "weight_decay": w.tolist(),
        "t_star": t_star.tolist(),
        "step_star": np.atleast_1d(transition_step(a, w, float(settings["lr"]))).tolist(),
        "slope": 1.0,
        "budget_needed": BUDGET_FACTOR * float(t_star.max()) / float(settings["lr"]),
    }


def units(settings: dict) -> list[dict]:
    return [{"weight_decay": float(w)} for w in settings["wds"]]


def measure_unit(settings: dict, unit: dict) -> dict:
    from effgrok.solvable.dichotomy import simulate
    from effgrok.tasks import make_task

    a = np.asarray(settings["alphas"], dtype=float)
    seeds = np.arange(int(settings["seeds"]))
    lr = float(settings["lr"])
    runs = simulate(
        make_task(settings["task"], int(settings["p"])),
        np.repeat(a, seeds.size),
        float(unit["weight_decay"]),
        seeds=np.tile(seeds, a.size),
        learning_rate=lr,
        hidden=int(settings["hidden"]),
        train_fraction=float(settings["train_fraction"]),
        steps=int(settings["steps"]),
        stride=int(settings["stride"]),
    )
    level = float(settings["level"])
    unit_norm = runs.weight_norm[:, 0] / runs.alpha  # ‖θ̄‖, the unit-scale initialisation
    return {
        "alpha": runs.alpha,
        "weight_decay": runs.weight_decay,
        "seed": runs.seeds,
        "steps": runs.steps,
        "train_acc": runs.train_acc,
        "test_acc": runs.test_acc,
        "weight_norm": runs.weight_norm,
        "level_time": lr
        * np.array(
            [
                _after_fit(runs.steps, tr, te, level)
                for tr, te in zip(runs.train_acc, runs.test_acc, strict=True)
            ]
        ),
        "kernel_exit_time": lr * runs.kernel_exit_step,
        "final_test_acc": runs.test_acc[:, -1],
        "c0_norm": np.log(runs.weight_norm[:, -1] / unit_norm),
    }


def _after_fit(steps, train_acc, test_acc, level: float) -> float:
    """First step after the kernel fit (train accuracy ≥ 0.99) with test accuracy ≥ ``level``
    (``nan``: never fitted, or never reached)."""
    from effgrok.solvable.dichotomy import first_crossing

    fitted = np.flatnonzero(train_acc >= 0.99)
    if fitted.size == 0 or fitted[0] >= steps.size - 1:
        return math.nan
    return first_crossing(steps[fitted[0] :], test_acc[fitted[0] :], level)


def _cat(measurements: list[dict], key: str) -> np.ndarray:
    return np.concatenate([m[key] for m in measurements])


def _fit(a, w, t):
    from effgrok.solvable.dichotomy import fit_transition_grid

    ok = np.isfinite(t)
    try:
        f = fit_transition_grid(a[ok], w[ok], t[ok])
    except ValueError:
        return None
    return {
        "slope": f.slope,
        "slope_ci": list(f.slope_ci),
        "c0": f.c0,
        "c0_ci": list(f.c0_ci),
        "offset": f.offset,
        "r2": f.r2,
        "n": f.n,
    }


def verdict(prediction: dict, measurements: list[dict], settings: dict):
    a, w = _cat(measurements, "alpha"), _cat(measurements, "weight_decay")
    t_level, t_exit = _cat(measurements, "level_time"), _cat(measurements, "kernel_exit_time")
    final = _cat(measurements, "final_test_acc")
    c0_norm = _cat(measurements, "c0_norm")
    level, factor = float(settings["level"]), float(settings["slope_factor"])
    fit, fit_exit = _fit(a, w, t_level), _fit(a, w, t_exit)
    per_wd = {}
    for lam in np.unique(w):
        sel = (w == lam) & np.isfinite(t_level)
        per_wd[f"{lam:g}"] = {"reached": int(sel.sum()), "alphas": int(np.unique(a[sel]).size)}
    enough = all(v["reached"] >= MIN_RUNS_PER_WD and v["alphas"] >= 2 for v in per_wd.values())
    med_final = float(np.median(final))
    budget_ok = int(settings["steps"]) >= prediction["budget_needed"]
    censored = int((~np.isfinite(t_level)).sum())
    control = Control(
        f"at every λ ≥ {MIN_RUNS_PER_WD} runs at ≥ 2 α reach test accuracy {level:g}, median final test "
        f"accuracy ≥ {settings['gen_min']:g}, budget ≥ {BUDGET_FACTOR:g}·max t*/η "
        f"({prediction['budget_needed']:.0f} steps)",
        held=bool(enough and med_final >= float(settings["gen_min"]) and budget_ok and fit is not None),
        detail=(
            "runs reaching the level per λ: "
            + ", ".join(f"λ={k}: {v['reached']} ({v['alphas']} α)" for k, v in per_wd.items())
            + f"; median final test acc {med_final:.2f}; budget {settings['steps']} steps"
        ),
    )
    passed = bool(fit is not None and 1 / factor <= fit["slope"] <= factor and fit["r2"] >= MIN_R2)
    c0_by_wd = {f"{lam:g}": float(np.median(c0_norm[w == lam])) for lam in np.unique(w)}

    def describe(f, what):
        if f is None:
            return f"{what}: no fit"
        return (
            f"{what}: b = {f['slope']:.3f} [{f['slope_ci'][0]:.3f}, {f['slope_ci'][1]:.3f}], "
            f"c₀ = {f['c0']:.2f} [{f['c0_ci'][0]:.2f}, {f['c0_ci'][1]:.2f}], d = {f['offset']:.0f}, "
            f"R² {f['r2']:.3f}, {f['n']}/{a.size} runs"
        )

    pred = (
        f"t = b(log α − c₀)/λ + d with b = 1 over α ∈ {settings['alphas']} × λ ∈ {settings['wds']} "
        f"(t* = log(α)/λ from {min(prediction['t_star']):.0f} to {max(prediction['t_star']):.0f})"
    )
    meas = (
        describe(fit, f"test accuracy ≥ {level:g}")
        + f" ({censored} runs censored: never reached it)"
        + "; reported: "
        + describe(fit_exit, "kernel exit (‖θ‖ ≤ 1.2‖θ‖_final)")
        + "; c₀ from the late norm, log(‖θ_final‖/‖θ̄‖): "
        + ", ".join(f"λ={k}: {v:.2f}" for k, v in c0_by_wd.items())
        + f"; median final test acc {med_final:.2f}"
    )
    crit = (
        f"b within ×{factor:g} of 1 and R² ≥ {MIN_R2} ({settings['task']} p = {settings['p']}, width "
        f"{settings['hidden']}, η = {settings['lr']:g}, {settings['seeds']} seeds, {settings['steps']} steps)"
    )
    numbers = {
        "fit_level": fit,
        "fit_kernel_exit": fit_exit,
        "level": level,
        "alpha": a.tolist(),
        "weight_decay": w.tolist(),
        "level_time": [None if not math.isfinite(x) else float(x) for x in t_level],
        "kernel_exit_time": [None if not math.isfinite(x) else float(x) for x in t_exit],
        "censored_runs": censored,
        "c0_norm_median_by_wd": c0_by_wd,
        "median_final_test_acc": med_final,
        "runs_reaching_level_by_wd": per_wd,
    }
    return decide(control, passed, prediction=pred, measurement=meas, criterion=crit, numbers=numbers)


def plot(prediction: dict, measurements: list[dict], settings: dict, verdict, path) -> None:
    from effgrok.plot import plt, save

    fig, axes = plt.subplots(1, 3, figsize=(12, 4.2))
    lr = float(settings["lr"])
    ax = axes[0]
    m = measurements[0]
    colors = plt.cm.plasma(np.linspace(0, 0.85, m["alpha"].size))
    for k, c in enumerate(colors):
        ax.plot(lr * m["steps"], m["test_acc"][k], color=c, lw=1, label=f"α = {m['alpha'][k]:g}")
    ax.axhline(float(settings["level"]), color="0.5", ls=":", lw=0.8)
    ax.set(xlabel="t = η · step", ylabel="test accuracy", title=f"λ = {m['weight_decay'][0]:g}")
    ax.legend(fontsize=8)
    for bx, key, fkey, name in (
        (axes[1], "level_time", "fit_level", f"test acc ≥ {settings['level']:g}"),
        (axes[2], "kernel_exit_time", "fit_kernel_exit", "kernel exit (norm)"),
    ):
        f = verdict.numbers.get(fkey)
        for mm, mk in zip(measurements, "os^vD", strict=False):
            x = np.log(mm["alpha"]) / mm["weight_decay"]
            bx.plot(x, mm[key], mk, mfc="none", label=f"λ = {mm['weight_decay'][0]:g}")
            if f is not None:
                xx = np.sort(x)
                bx.plot(xx, f["slope"] * (xx - f["c0"] / mm["weight_decay"][0]) + f["offset"], "k-", lw=0.6)
        title = name if f is None else f"{name}: b = {f['slope']:.3f}"
        bx.set(xlabel="log(α)/λ", ylabel="transition time t = η·step", title=title)
        bx.legend(fontsize=8)
    fig.suptitle(f"{TITLE}: {verdict.status}", fontsize=9)
    fig.tight_layout()
    save(fig, path, dpi=110)
