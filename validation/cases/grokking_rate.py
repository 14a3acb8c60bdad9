"""Case 2: the grokking rate λ3 and how fast networks learn the representation (p = 10 addition).

Theory: for a training set that pins the structure, the effective loss linearised at
``Z0 = ‖E0‖²`` (effgrok's one convention, :data:`effgrok.effective.spectrum.Z0_CONVENTION`;
here the mean ``n_slots/12`` of the ``U(−½, ½)`` start) relaxes its slowest non-trivial mode at
rate ``λ3``; ``n_h = 1/(η λ3)`` (η: embedding learning rate) is the predicted time to learn the
representation.

**What the paper claims** (Liu et al. 2022, §4.2, Fig. 4c-d): λ3 grows with the training
fraction and the steps to reach RQI > 0.95 fall with it; the paper calls the agreement
*qualitative* (SPEC §5).  The theory's law is ``steps ∝ n_h = 1/(η_emb λ3)``.

**Claims** (fixed before the replicate runs, issue 23):

1. ``steps_proportional_to_n_h`` (headline, quantitative): among the runs that learn (RQI > 0.95
   within the budget, at the paper's rates), the least-squares slope of log steps on log ``n_h``
   (each run's own split) is 1 within ``tolerance`` = 0.3 (we allow ±30 % in the exponent for
   Adam instead of gradient descent and for the linearisation; the paper quantifies nothing).
   Control: ≥ 20 learning runs with ``n_h`` spanning ≥ 2× and a 95 % bootstrap interval of the
   slope no wider than ±0.3 (so the measurement can tell 1 from 0.7).  Power: with that
   precision a slope ≤ 0.4 or ≥ 1.6 fails with probability ≥ 0.975.  The first cpu report
   measured 0.02 [−0.08, 0.10] over 62 learning runs: the law failed there.
2. ``fewer_steps_at_larger_sizes`` (qualitative, its own claim): over all runs at the paper's
   rates, Spearman ρ(training size, steps to RQI > 0.95, never-reached runs ranked above every
   reached one) < 0 with one-sided p < 0.05.  Control: ≥ 10 runs learn, at ≥ 2 sizes.  Power:
   with 72 runs a rank correlation of −0.35 is detected with probability ≈ 0.95.
3. ``adam_lr_emb_exponent`` (quantitative): from the learning-rate sweep at one size (the same
   seeds, so the same splits and starts, at every rate), the exponent of steps in η_emb is −1
   within 0.3;  4. ``adam_lr_dec_exponent``: the exponent in η_dec is 0 within 0.3 (``n_h``
   involves the embedding rate only);  5. ``gd_lr_emb_exponent``: with plain gradient descent on
   the embeddings (the optimiser the theory assumes; decoder Adam) the exponent in η_emb is −1
   within 0.3.  Controls: ≥ 20 (Adam) / ≥ 12 (gradient descent) learning runs over ≥ 2 rates of
   each varied learning rate, 95 % bootstrap interval no wider than ±0.3.  Power as for 1.

**Paper's settings** (reference ``toy/produce_figure_data.py``): sizes 5, 10, ..., 50, 54,
seeds 0, 1, 2, 10⁴ steps, Adam 1e-3 / 1e-4, MSE onto random templates.  **Deviations**: sizes
24-54 (above ``r_c`` ≈ 22.5 pairs) in steps of 6 with 12 (cpu) / 64 (gpu) seeds each (seed
bases ``1000·n`` of each replicate, :func:`validation.claims.replicate_seeds`); budget 3000
steps (every run that learned in the audit did so within ≈ 1700 steps); the learning-rate
sweep (×/÷ 3 around the paper's rates at 48 pairs) is ours, and so is a sweep with plain
gradient descent on the embeddings (:attr:`effgrok.nets.toy.ToyConfig.emb_optimizer` ``"sgd"``,
η_emb 0.1 and 1 at cpu; the decoder keeps Adam); effgrok's random streams.
"""

from __future__ import annotations

import numpy as np

from effgrok.constants import reached
from validation.claims import Claim, Observed, replicate_seed, replicate_seeds
from validation.framework import device_of, verdict_of

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
        "sizes": [24, 30, 36, 42, 48, 54],
        "seeds": 12,
        "steps": 3000,
        "stride": 500,
        "sweep_size": 48,
        "sweep": [[3e-4, 1e-4], [3e-3, 1e-4], [1e-3, 3e-5], [1e-3, 3e-4]],
        "sgd_sweep": [0.1, 1.0],
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
_LAW_CONTROL = (
    "≥ {min_runs} learning runs, the regressor spanning ≥ {min_span:g}×, "
    "95 % bootstrap CI half-width ≤ {max_half_width}"
)


def _law_claim(name, paper, measurement, criterion, target: float, fails: str, min_runs=20, **kw) -> Claim:
    """A power law fitted by least squares with a bootstrap CI: its coefficient within 0.3 of
    ``target``; ``fails`` names the true values the power statement is about."""
    return Claim(
        name,
        paper=paper,
        measurement=measurement,
        criterion=criterion,
        threshold={
            "target": target,
            "tolerance": 0.3,
            "min_runs": min_runs,
            "min_span": 2.0,
            "max_half_width": 0.3,
        },
        control=_LAW_CONTROL,
        power=f"with CI half-width ≤ 0.3, {fails} fails with probability ≥ 0.975",
        **kw,
    )


CLAIMS = (
    _law_claim(
        "steps_proportional_to_n_h",
        "Liu et al. 2022 §4.2 / SPEC §5: the predicted steps to learn the representation are "
        "n_h = 1/(η λ3); steps fall as λ3 grows (the paper calls the agreement qualitative).",
        "least-squares slope of log(steps to RQI > 0.95) on log n_h of each run's own split, over the "
        "runs at the paper's rates that learn within the budget; 95 % bootstrap CI (runs resampled)",
        "|slope − 1| ≤ tolerance",
        1.0,
        "a true slope ≤ 0.4 or ≥ 1.6",
        headline=True,
    ),
    Claim(
        "fewer_steps_at_larger_sizes",
        paper="Liu et al. 2022 Fig. 4c-d: the steps to RQI > 0.95 fall as the training fraction grows.",
        measurement=(
            "Spearman ρ between the training size and the steps to RQI > 0.95 over all runs at the paper's "
            "rates, never-reached runs ranked above every reached one (censored at the budget)"
        ),
        criterion="ρ < 0 with one-sided p < alpha",
        threshold={"alpha": 0.05, "min_learned": 10, "min_sizes": 2},
        control="≥ {min_learned} runs learn within the budget, at ≥ {min_sizes} sizes",
        power="with 72 runs a rank correlation of −0.35 is detected with probability ≈ 0.95",
        kind="qualitative",
    ),
    _law_claim(
        "adam_lr_emb_exponent",
        "n_h = 1/(η_emb λ3): steps ∝ η_emb^−1 (the theory assumes gradient descent; the network uses Adam).",
        "exponent of η_emb in a least-squares fit log steps = a + x log η_emb + y log η_dec over the "
        "learning runs of the Adam learning-rate sweep at one size; 95 % bootstrap CI",
        "|x − target| ≤ tolerance",
        -1.0,
        "a true exponent ≥ −0.4 or ≤ −1.6",
    ),
    _law_claim(
        "adam_lr_dec_exponent",
        "n_h = 1/(η_emb λ3) involves the embedding rate only: steps ∝ η_dec^0.",
        "exponent y of η_dec in the same fit as adam_lr_emb_exponent; 95 % bootstrap CI",
        "|y − target| ≤ tolerance",
        0.0,
        "a true exponent ≤ −0.6 or ≥ 0.6",
    ),
    _law_claim(
        "gd_lr_emb_exponent",
        "n_h = 1/(η λ3) for gradient descent on the embeddings: steps ∝ η_emb^−1.",
        "exponent of η_emb in a least-squares fit log steps = a + x log η_emb over the learning runs "
        "with plain gradient descent on the embeddings (decoder Adam) at one size; 95 % bootstrap CI",
        "|x − target| ≤ tolerance",
        -1.0,
        "a true exponent ≥ −0.4 or ≤ −1.6",
        min_runs=12,
    ),
)


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
    # per size; the same seeds (so splits and starts) at every rate of the sweep
    seeds = replicate_seeds(settings, settings["seeds"], base=1000 * unit["n_train"])
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
    """Per size (paper's rates): (size, median n_h, capped median steps, learned share)."""
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


def _ols(X, y, seed, n_boot=2000):
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


def _law(claim, x_cols, y, seed, col, what) -> Observed:
    """One power law: the coefficient ``col`` of ``log y`` on ``[1, log x_cols...]``
    against ``claim.threshold`` (target, tolerance; control: runs, span, CI half-width)."""
    t = claim.threshold
    n = int(y.size)
    spans = [float(np.exp(np.ptp(np.log(x)))) if n else 1.0 for x in x_cols]
    numbers = {"runs": n, "regressor_span": spans[col - 1]}
    ok_data = n >= t["min_runs"] and min(spans, default=1.0) >= t["min_span"]
    meas, passed, half = f"{what}: {n} learning runs", False, float("inf")
    if n >= len(x_cols) + 2 and min(spans, default=1.0) > 1.0:
        X = np.column_stack([np.ones(n), *[np.log(x) for x in x_cols]])
        c, lo, hi = _ols(X, np.log(y.astype(float)), seed)
        est, ci = float(c[col]), [float(lo[col]), float(hi[col])]
        half = (ci[1] - ci[0]) / 2
        passed = abs(est - t["target"]) <= t["tolerance"]
        numbers.update({"estimate": est, "ci95": ci, "target": t["target"]})
        meas = (
            f"{what} = {est:.2f} [{ci[0]:.2f}, {ci[1]:.2f}] over {n} learning runs "
            f"(predicted {t['target']:g} ± {t['tolerance']:g})"
        )
    return Observed(
        meas,
        passed=passed,
        held=ok_data and half <= t["max_half_width"],
        detail=f"{n} learning runs, span {', '.join(f'{v:.1f}×' for v in spans)}, CI half-width {half:.2f}",
        numbers=numbers,
    )


def _trend(base: dict, ok) -> Observed:
    """Claim 2: the qualitative trend over all runs (never reached ranked last)."""
    from scipy.stats import spearmanr

    t = CLAIMS[1].threshold
    steps_c = np.where(ok, base["step_rqi"], np.inf)
    big = 1e300
    if np.ptp(base["n_train"]) > 0 and np.ptp(np.minimum(steps_c, big)) > 0:
        res = spearmanr(base["n_train"], np.minimum(steps_c, big), alternative="less")
        rho, p = float(res.statistic), float(res.pvalue)
    else:
        rho, p = 0.0, 1.0
    sizes_learned = int(np.unique(base["n_train"][ok]).size)
    return Observed(
        f"Spearman ρ(size, censored steps) = {rho:.2f} (one-sided p = {p:.3g}) over {ok.size} runs",
        passed=rho < 0 and p < t["alpha"],
        held=int(ok.sum()) >= t["min_learned"] and sizes_learned >= t["min_sizes"],
        detail=f"{int(ok.sum())} of {ok.size} runs learned, at {sizes_learned} sizes",
        numbers={"spearman_rho": rho, "p_one_sided": p, "runs": int(ok.size), "learned": int(ok.sum())},
    )


def _rate_laws(measurements: list[dict], settings: dict, seed: int) -> list[Observed]:
    """Claims 3-5: the Adam sweep at one size (its base-rate runs included), then gradient
    descent on the embeddings."""
    _, _, emb, dec, gd = CLAIMS
    sweep_size = int(settings["sweep_size"])
    sw = concat([m for m in measurements if int(m["n_train"][0]) == sweep_size and not m["sgd"].any()])
    ks = reached(sw["step_rqi"])
    cols = [sw["lr_emb"][ks], sw["lr_dec"][ks]]
    observed = [
        _law(emb, cols, sw["step_rqi"][ks], seed + 1, 1, f"exponent of η_emb (Adam, {sweep_size} pairs)"),
        _law(dec, cols, sw["step_rqi"][ks], seed + 1, 2, f"exponent of η_dec (Adam, {sweep_size} pairs)"),
    ]
    sg = [m for m in measurements if m["sgd"].any()]
    if not sg:
        return [*observed, Observed("this profile has no gradient-descent sweep", untested=True)]
    sg = concat(sg)
    kg = reached(sg["step_rqi"])
    what = "exponent of η_emb (gradient descent)"
    return [*observed, _law(gd, [sg["lr_emb"][kg]], sg["step_rqi"][kg], seed + 2, 1, what)]


def verdict(prediction: dict, measurements: list[dict], settings: dict):
    rows = _by_size(measurements, settings, prediction)
    sizes, nh_med, st_med, share = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
    base = concat(measurements[: len(settings["sizes"])])
    ok = reached(base["step_rqi"])
    seed = replicate_seed(settings, 77)  # the bootstrap's draws, per replicate
    keep = ok & np.isfinite(base["n_h"])  # the law, among runs that learn
    observed = [
        _law(
            CLAIMS[0], [base["n_h"][keep]], base["step_rqi"][keep], seed, 1, "slope of log steps on log n_h"
        ),
        _trend(base, ok),
        *_rate_laws(measurements, settings, seed),
    ]
    numbers = {
        "sizes": sizes.astype(int).tolist(),
        "median_n_h": [None if not np.isfinite(v) else v for v in nh_med],
        "median_steps_censored": [None if not np.isfinite(v) else v for v in st_med],
        "learned_share": share.tolist(),
        "sizes_with_median_reached": int(np.sum(np.isfinite(st_med))),
        "z0": prediction["z0"],
    }
    pred = (
        f"steps ∝ n_h = 1/(η_emb λ3) (full table: λ3(G) = {prediction['full_table_gram_eigenvalue']:.4g}, "
        f"n_h = {prediction['full_table_n_h']:.4g} at Z0 = {prediction['z0']:.3g}); "
        "steps fall with the size; exponents −1 (η_emb), 0 (η_dec)"
    )
    return verdict_of(CLAIMS, observed, prediction=pred, numbers=numbers, claim_numbers=True)


def _f(v) -> str:
    return "∞" if not np.isfinite(v) else f"{v:.0f}"


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
    ax.set_title(f"trend: {verdict.claim('fewer_steps_at_larger_sizes').status}", fontsize=9)
    ax = axes[1]
    if keep.any():
        sc = ax.scatter(
            base["n_h"][keep], base["step_rqi"][keep], c=base["n_train"][keep], s=12, cmap="viridis"
        )
        fig.colorbar(sc, ax=ax, label="training size")
        _log(ax, "xy")
    ax.set_xlabel(f"n_h = 1/(η λ3), Z0 = {prediction['z0']:.3g}")
    ax.set_ylabel("steps to RQI > 0.95 (runs that learn)")
    ax.set_title(f"law among learning runs: {verdict.status}", fontsize=9)
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
    save(fig, path, dpi=120, tight=True)


def _log(ax, axes: str) -> None:
    """Log scales where the axis holds positive data (an empty panel stays linear), with tick
    labels that do not overlap (:func:`effgrok.plot.log_scale`)."""
    from effgrok.plot import log_scale

    log_scale(ax, axes)
