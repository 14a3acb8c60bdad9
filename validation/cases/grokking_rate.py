"""Case 2: the grokking rate λ3 and how fast networks learn the representation (p = 10 addition).

Theory: for a training set that pins the structure, the effective loss linearised at
``Z0 = ‖E0‖²`` (effgrok's one convention, :data:`effgrok.effective.spectrum.Z0_CONVENTION`;
here the mean ``n_slots/12`` of the ``U(−½, ½)`` start) relaxes its slowest non-trivial mode at
rate ``λ3``; ``n_h = 1/(η λ3)`` (η: embedding learning rate) is the predicted time to learn the
representation.

**What the paper claims** (Liu et al. 2022, §4.2, Fig. 4c-d): λ3 grows with the training
fraction and the steps to reach RQI > 0.95 fall with it -- "qualitatively" the same trend; the
figure plots steps and λ3 against the training fraction (3 seeds per size; a run that never
reaches the threshold is plotted at the budget).  **Verdict (a), judged**: per training size above
``r_c``, the median steps to RQI > 0.95 -- never-reached runs kept, censored at the budget
(:func:`validation._toy.capped_median`: the Kaplan–Meier median under the common budget; ``∞``
when at most half the runs got there) -- against the per-size median ``n_h``: a monotone trend,
Spearman ρ > 0 with one-sided p < 0.05 over the sizes.  **Positive control**: the budget resolves
the trend -- the median is reached within the budget at ≥ 2 sizes, and the per-size median
``n_h`` spans ≥ 2×.

**Verdict (b), reported, not judged** (the quantitative law ``steps ∝ n_h = 1/(η λ3)``): the
slope of log steps against log ``n_h`` among runs that learn (predicted 1), and, from a small
learning-rate sweep at one size (the same seeds, so the same splits and starts, at every
rate), the exponents of steps in η_emb and η_dec (predicted −1 and 0: ``n_h`` involves the
embedding rate only).  The network trains with Adam, whose step size is not ``η ∇ℓ``; the
theory assumes gradient descent on the embeddings.

**Paper's settings** (reference ``toy/produce_figure_data.py``): sizes 5, 10, ..., 50, 54,
seeds 0, 1, 2, 10⁴ steps, Adam 1e-3 / 1e-4, MSE onto random templates.  **Deviations**: sizes
24-54 (above ``r_c`` ≈ 22.5 pairs) with 12 (cpu) / 64 (gpu) seeds each (seeds ``1000·n + k``);
budget 3000 steps (every run that learned in the audit did so within ≈ 1700 steps); the
learning-rate sweep (×/÷ 3 around the paper's rates at 48 pairs) is ours, and so is a sweep
with plain gradient descent on the embeddings (:attr:`effgrok.nets.toy.ToyConfig.emb_optimizer`
``"sgd"``, η_emb 0.1-1; the decoder keeps Adam), the optimiser the theory assumes; effgrok's
random streams.
"""

from __future__ import annotations

import numpy as np

from effgrok.constants import reached
from validation.framework import Finding, device_of

from .._toy import capped_median, concat, toy_cost, train_batch

TITLE = "Grokking rate λ3 vs steps to RQI > 0.95 (addition)"
CLAIM = (
    "Larger training sets have a larger grokking rate λ3 (shorter n_h = 1/(ηλ3)) and are learned in fewer "
    "steps (Liu et al. 2022, Fig. 4c-d); quantitatively, steps ∝ n_h."
)
_BASE = {"lr_emb": 1e-3, "lr_dec": 1e-4}
PROFILES = {
    "tiny": {
        "p": 6,
        "sizes": [15, 18],
        "seeds": 2,
        "steps": 40,
        "stride": 20,
        "sweep_size": 18,
        "sweep": [[3e-3, 1e-4], [1e-3, 3e-4]],
        "sgd_sweep": [0.3],
        "device": "cpu",
        **_BASE,
    },
    "cpu": {
        "p": 10,
        "sizes": [24, 27, 30, 33, 36, 39, 42, 45, 48, 51, 54],
        "seeds": 12,
        "steps": 3000,
        "stride": 500,
        "sweep_size": 48,
        "sweep": [[3e-4, 1e-4], [3e-3, 1e-4], [1e-3, 3e-5], [1e-3, 3e-4]],
        "sgd_sweep": [0.1, 0.3, 1.0],
        "device": "cpu",
        **_BASE,
    },
    "gpu": {
        "p": 10,
        "sizes": list(range(24, 55, 2)),
        "seeds": 64,
        "steps": 3000,
        "stride": 500,
        "sweep_size": 48,
        "sweep": [[3e-4, 1e-4], [3e-3, 1e-4], [1e-3, 3e-5], [1e-3, 3e-4], [5e-4, 5e-5], [2e-3, 2e-4]],
        "sgd_sweep": [0.03, 0.1, 0.3, 1.0],
        "device": "gpu",
        **_BASE,
    },
}
ALPHA = 0.05
MIN_RESOLVED = 2
MIN_SPREAD = 2.0


def cost(settings: dict) -> float:
    n_units = len(settings["sizes"]) + len(settings["sweep"]) + len(settings.get("sgd_sweep", []))
    return toy_cost([(int(settings["seeds"]), int(settings["steps"]))] * n_units, device_of(settings))


def predict(settings: dict) -> dict:
    from effgrok.effective import grokking_rate
    from effgrok.effective.spectrum import Z0_CONVENTION
    from effgrok.tasks import make_task

    task = make_task("add", settings["p"])
    full = grokking_rate(task, np.ones(task.n_examples, bool), learning_rate=settings["lr_emb"])
    return {
        "full_table_gram_eigenvalue": full.gram_eigenvalue,
        "full_table_n_h": full.n_h,
        "z0": full.z0,
        "z0_convention": Z0_CONVENTION,
        "n_examples": task.n_examples,
        "slope_log_steps_log_n_h": 1.0,
        "exponent_lr_emb": -1.0,
        "exponent_lr_dec": 0.0,
    }


def units(settings: dict) -> list[dict]:
    out = [
        {"n_train": int(n), "lr_emb": settings["lr_emb"], "lr_dec": settings["lr_dec"]}
        for n in settings["sizes"]
    ]
    out += [{"n_train": int(settings["sweep_size"]), "lr_emb": e, "lr_dec": d} for e, d in settings["sweep"]]
    out += [
        {
            "n_train": int(settings["sweep_size"]),
            "lr_emb": e,
            "lr_dec": settings["lr_dec"],
            "emb_optimizer": "sgd",
        }
        for e in settings.get("sgd_sweep", [])
    ]
    return out


def measure_unit(settings: dict, unit: dict) -> dict:
    seeds = np.arange(settings["seeds"]) + 1000 * unit["n_train"]  # per size; the same at every rate
    sgd = unit.get("emb_optimizer", "adamw") == "sgd"
    s = {
        **settings,
        "lr_emb": unit["lr_emb"],
        "lr_dec": unit["lr_dec"],
        "emb_optimizer": "sgd" if sgd else "adamw",
    }
    r = train_batch(s, np.full(seeds.size, unit["n_train"]), seeds)
    r["sgd"] = np.full(seeds.size, sgd)
    r["lr_emb"] = np.full(seeds.size, float(unit["lr_emb"]))
    r["lr_dec"] = np.full(seeds.size, float(unit["lr_dec"]))
    return r


def _by_size(measurements, settings, prediction):
    """Per size above r_c (base rates): (size, median n_h, capped median steps, learned share)."""
    n_sizes = len(settings["sizes"])
    rows = []
    for m in measurements[:n_sizes]:
        n = int(m["n_train"][0])
        rows.append(
            (
                n,
                float(np.median(m["n_h"])),
                capped_median(m["step_rqi"], int(settings["steps"])),
                float(np.mean(reached(m["step_rqi"]))),
            )
        )
    return rows


def _ols(X, y, seed=0, n_boot=2000):
    """Least-squares coefficients and their 95 % bootstrap intervals (rows resampled)."""
    coef = np.linalg.lstsq(X, y, rcond=None)[0]
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        i = rng.integers(0, y.size, y.size)
        if np.linalg.matrix_rank(X[i]) == X.shape[1]:
            boots.append(np.linalg.lstsq(X[i], y[i], rcond=None)[0])
    lo, hi = np.percentile(np.array(boots), [2.5, 97.5], axis=0)
    return coef, lo, hi


def verdict(prediction: dict, measurements: list[dict], settings: dict):
    from scipy.stats import spearmanr

    from ..framework import Control, decide

    rows = _by_size(measurements, settings, prediction)
    sizes, nh_med, st_med, share = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
    resolved = int(np.sum(np.isfinite(st_med)))
    finite_nh = nh_med[np.isfinite(nh_med)]
    spread = float(finite_nh.max() / finite_nh.min()) if finite_nh.size >= 2 else 1.0
    # ranks: ∞ (not reached / not pinned) ties above every finite value
    big = 1e300
    x, y = np.minimum(nh_med, big), np.minimum(st_med, big)
    if np.ptp(x) > 0 and np.ptp(y) > 0:
        rho_res = spearmanr(x, y, alternative="greater")
        rho, p = float(rho_res.statistic), float(rho_res.pvalue)
    else:  # a constant side: no trend to rank (the control says why)
        rho, p = 0.0, 1.0
    numbers = {
        "sizes": sizes.astype(int).tolist(),
        "median_n_h": [None if not np.isfinite(v) else v for v in nh_med],
        "median_steps_censored": [None if not np.isfinite(v) else v for v in st_med],
        "learned_share": share.tolist(),
        "spearman_rho": rho,
        "spearman_p_one_sided": p,
        "sizes_with_median_reached": resolved,
        "median_n_h_spread": spread,
        "z0": prediction["z0"],
    }
    # (b) the quantitative law, among runs that learn
    base = concat(measurements[: len(settings["sizes"])])
    keep = (base["step_rqi"] > 0) & np.isfinite(base["n_h"])
    law = ""
    if keep.sum() >= 5 and np.ptp(np.log(base["n_h"][keep])) > 0:
        X = np.column_stack([np.ones(keep.sum()), np.log(base["n_h"][keep])])
        c, lo, hi = _ols(X, np.log(base["step_rqi"][keep].astype(float)))
        numbers.update(
            {"slope_log_steps_log_n_h": c[1], "slope_ci95": [lo[1], hi[1]], "slope_runs": int(keep.sum())}
        )
        law = (
            f"slope of log steps on log n_h = {c[1]:.2f} [{lo[1]:.2f}, {hi[1]:.2f}] over "
            f"{int(keep.sum())} learning runs (predicted 1)"
        )
    sweep_size = int(settings["sweep_size"])
    sw = concat([m for m in measurements if int(m["n_train"][0]) == sweep_size and not m["sgd"].any()])
    ks = sw["step_rqi"] > 0
    if ks.sum() >= 5:
        X = np.column_stack([np.ones(ks.sum()), np.log(sw["lr_emb"][ks]), np.log(sw["lr_dec"][ks])])
        c, lo, hi = _ols(X, np.log(sw["step_rqi"][ks].astype(float)))
        numbers.update(
            {
                "exponent_lr_emb": c[1],
                "exponent_lr_emb_ci95": [lo[1], hi[1]],
                "exponent_lr_dec": c[2],
                "exponent_lr_dec_ci95": [lo[2], hi[2]],
                "sweep_runs_learned": int(ks.sum()),
                "sweep_runs": int(ks.size),
            }
        )
        law += (
            f"; steps ∝ η_emb^{c[1]:.2f} [{lo[1]:.2f}, {hi[1]:.2f}] · "
            f"η_dec^{c[2]:.2f} [{lo[2]:.2f}, {hi[2]:.2f}] "
            f"at {sweep_size} pairs ({int(ks.sum())}/{ks.size} runs learned; predicted −1 and 0)"
        )
    sg = [m for m in measurements if m["sgd"].any()]
    if sg:
        sg = concat(sg)
        kg = sg["step_rqi"] > 0
        if kg.sum() >= 5 and np.ptp(np.log(sg["lr_emb"][kg])) > 0:
            X = np.column_stack([np.ones(kg.sum()), np.log(sg["lr_emb"][kg])])
            c, lo, hi = _ols(X, np.log(sg["step_rqi"][kg].astype(float)))
            numbers.update(
                {
                    "sgd_exponent_lr_emb": c[1],
                    "sgd_exponent_lr_emb_ci95": [lo[1], hi[1]],
                    "sgd_runs": int(kg.size),
                }
            )
            law += (
                f"; with plain gradient descent on the embeddings (decoder Adam): steps ∝ η_emb^{c[1]:.2f} "
                f"[{lo[1]:.2f}, {hi[1]:.2f}] ({int(kg.sum())}/{kg.size} runs learned; predicted −1)"
            )
    table = ", ".join(
        f"{int(n)}: n_h {_f(h)} / steps {_f(s)} ({sh:.0%})"
        for n, h, s, sh in zip(sizes, nh_med, st_med, share, strict=True)
    )
    meas = (
        f"(a) per size, median n_h / censored median steps (share learned): {table} → Spearman ρ = {rho:.2f} "
        f"(one-sided p = {p:.3g}). (b) reported: {law or 'too few learning runs'}"
    )
    crit = (
        "(a) Spearman ρ(median n_h, censored median steps) over the sizes above r_c > 0 with "
        f"one-sided p < {ALPHA} "
        "(never-reached runs censored at the budget, Z0 = ‖E0‖² mean "
        f"{prediction['z0']:.3g}); (b) slope and exponents reported, not judged"
    )
    pred = (
        f"steps fall as n_h falls with the training size; steps ∝ n_h = 1/(η_emb λ3) (full table: λ3(G) = "
        f"{prediction['full_table_gram_eigenvalue']:.4g}, n_h = {prediction['full_table_n_h']:.4g} at Z0 = "
        f"{prediction['z0']:.3g}); exponents −1 (η_emb), 0 (η_dec)"
    )
    control = Control(
        f"the budget resolves the trend: median reached within the budget at ≥ {MIN_RESOLVED} sizes and "
        f"per-size median n_h spanning ≥ {MIN_SPREAD:g}×",
        held=resolved >= MIN_RESOLVED and spread >= MIN_SPREAD,
        detail=f"median reached at {resolved} of {sizes.size} sizes; n_h spread {spread:.1f}×",
    )
    return decide(
        control, rho > 0 and p < ALPHA, prediction=pred, measurement=meas, criterion=crit, numbers=numbers
    )


def _f(v) -> str:
    return "∞" if not np.isfinite(v) else f"{v:.0f}"


def findings(verdict, settings: dict) -> list[Finding]:
    """How far the grokking-rate claims hold (from the verdict's numbers)."""
    n = verdict.numbers
    if verdict.status == "inconclusive":
        return [Finding(CLAIM, "undecided", "the positive control did not hold")]

    def law(key, target, name):
        if key not in n:
            return Finding(name, "undecided", "too few runs to fit")
        lo, hi = n[f"{key}_ci95"] if f"{key}_ci95" in n else n["slope_ci95"]
        ok = lo <= target <= hi
        return Finding(
            name, "quantitatively" if ok else "not", f"{n[key]:.2f} [{lo:.2f}, {hi:.2f}], predicted {target}"
        )

    return [
        Finding(
            "larger training sets (larger λ3, shorter n_h) are learned in fewer steps",
            "qualitatively" if verdict.status == "pass" else "not",
            f"Spearman ρ(median n_h, censored median steps) = {n['spearman_rho']:.2f} over sizes; "
            "among runs that learn, steps hardly change",
        ),
        law("slope_log_steps_log_n_h", 1, "steps ∝ n_h = 1/(ηλ3) (slope of log steps on log n_h)"),
        law("exponent_lr_emb", -1, "steps ∝ 1/η_emb (Adam on the embeddings)"),
        law("exponent_lr_dec", 0, "steps do not depend on η_dec"),
        law("sgd_exponent_lr_emb", -1, "steps ∝ 1/η_emb (gradient descent on the embeddings)"),
    ]


def plot(prediction, measurements, settings, verdict, path) -> None:
    from effgrok.plot import plt, save

    rows = _by_size(measurements, settings, prediction)
    base = concat(measurements[: len(settings["sizes"])])
    keep = (base["step_rqi"] > 0) & np.isfinite(base["n_h"])
    fig, axes = plt.subplots(1, 3, figsize=(12, 4.2))
    n_ex = prediction["n_examples"]
    sizes = np.array([r[0] for r in rows]) / n_ex
    budget = int(settings["steps"])
    ax = axes[0]
    ax.plot(sizes, [min(r[2], budget) for r in rows], "o-", label="median steps (never reached = budget)")
    ax.plot(sizes, [r[1] for r in rows], "s--", label="median n_h")
    ax.axhline(budget, color="0.6", lw=0.8, ls=":")
    _log(ax, "y")
    ax.set_xlabel("training fraction")
    ax.legend(fontsize=8)
    ax.set_title(f"(a) trend: {verdict.status}", fontsize=9)
    ax = axes[1]
    if keep.any():
        sc = ax.scatter(
            base["n_h"][keep], base["step_rqi"][keep], c=base["n_train"][keep], s=12, cmap="viridis"
        )
        fig.colorbar(sc, ax=ax, label="training size")
        _log(ax, "xy")
    ax.set_xlabel(f"n_h = 1/(η λ3), Z0 = {prediction['z0']:.3g}")
    ax.set_ylabel("steps to RQI > 0.95 (runs that learn)")
    ax.set_title("(b) law among learning runs", fontsize=9)
    ax = axes[2]
    sw = concat([m for m in measurements if int(m["n_train"][0]) == int(settings["sweep_size"])])
    adam = ~sw["sgd"].astype(bool)
    for name, mark in (("lr_emb", "o"), ("lr_dec", "s")):
        other = "lr_dec" if name == "lr_emb" else "lr_emb"
        sel = adam & (sw["step_rqi"] > 0) & np.isclose(sw[other], settings[other])
        ax.scatter(sw[name][sel], sw["step_rqi"][sel], marker=mark, s=12, label=f"Adam: vary {name}")
    sel = ~adam & (sw["step_rqi"] > 0)
    if sel.any():
        ax.scatter(
            sw["lr_emb"][sel], sw["step_rqi"][sel], marker="^", s=12, label="SGD embeddings: vary lr_emb"
        )
    _log(ax, "xy")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("steps to RQI > 0.95")
    ax.legend(fontsize=8)
    ax.set_title("(c) learning-rate sweep", fontsize=9)
    fig.tight_layout()
    save(fig, path, dpi=120)


def _log(ax, axes: str) -> None:
    """Log scales where the axis holds positive data (an empty panel stays linear), with tick
    labels that do not overlap (:func:`effgrok.plot.log_scale`)."""
    from effgrok.plot import log_scale

    log_scale(ax, axes)
