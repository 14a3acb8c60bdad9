"""Case 6: lazy→rich grokking (Kumar, Bordelon, Gershman & Pehlevan, ICLR 2024, arXiv 2310.06110).

The committee network ``f = (α/N) Σ φ(w_i·x)``, ``φ(h) = h + (ε/2)h²``, trained by full-batch
GD on the centred predictor with ``η = η₀N/α²`` (:func:`effgrok.nets.lazy_rich.train_lazy_rich`)
on ``y = ½(β*·x)²``.  The data (inputs, teacher) and the initialisations are replicate K's
(:func:`validation.claims.replicate_seed`).

**Transition (issue 23).**  A run *has a delay* only if, after fitting the training set (train
loss < θ at ``t_fit``), its test loss first sits within ``band`` (10 %) of K0 -- the test loss of
ridgeless regression with its own initial NTK (:func:`effgrok.kernels.kernel_regression`), the
lazy solution -- for ≥ ``plateau_factor`` (3) × ``t_fit`` steps, and later falls to ≤ θ/3.  Its
delay is then ``t(test loss ≤ θ/3) − t_fit``.  Runs whose test loss ends above θ are
"no transition" (not delays, and not censored delays: the earlier protocol counted them at
``budget − t_fit`` and called them delays); runs in neither class (generalising without a lazy
plateau, or ending between θ/3 and θ) are "other".  All three counts are reported.

Claims (thresholds fixed before the replicates ran):

1. ``k0_plateau`` (quantitative) -- the laziest network's (largest α) test loss at ``t_p`` (the
   first record at which the linearised model's test loss is within 5 % of K0) is within
   ``tolerance`` (10 %) of K0, mean over seeds.  Control: ``t_p`` within the budget for every
   seed.  Power: a 10 % deviation of the seed mean (2 seeds at cpu).
2. ``lazy_delay`` (headline, quantitative) -- lazy networks grok: at some α ≥ 2 of the α sweep at
   least ``min_share`` (½) of the seeds have a delay (definition above).  Control: every α-sweep
   run fits the training set within the budget, and every run of the least lazy α reaches
   test loss ≤ θ/3 (else no run could show the definition's end point: inconclusive, not
   fail).  Power: with 2 seeds per α one transitioning run
   of two suffices at one α; a sweep with no lazy plateau anywhere fails.
3. ``delay_grows_with_alpha`` (qualitative) -- Spearman ρ(α, delay) > 0 over the α-sweep runs
   with a delay.  Control: ≥ 3 such runs at ≥ 2 distinct α.
4. ``delay_shrinks_with_epsilon`` (qualitative, SPEC §8: "the delay grows with α and shrinks with
   ε") -- Spearman ρ(ε, delay) < 0 over the runs with a delay of an ε sweep at fixed α inside the
   paper's range (their Fig. 3e: ε ∈ 0.02 … 0.28).  Control: ≥ 3 such runs at ≥ 2 distinct ε.
   Power of 3 and 4: the sign of ρ only, over a handful of runs (2 seeds × 5–6 values at cpu) --
   a weak test; an ordering that holds in the paper's range should still give the sign.
5. ``cka_delay`` (reported) -- ρ(initial CKA of the NTK with the test targets, delay) over the ε
   sweep (:func:`effgrok.kernels.centered_kernel_alignment`); SPEC §8 warns that ε acts mainly
   through the speed of feature learning, so it is not judged.

Why the earlier ε sweep ran the wrong way (issue 16).  The published cpu run swept ε ∈ {0.1,
0.25, 0.5, 1} at α = 4 and found the median delay *growing* with ε (1975, 1450, 19950, 19950).
Step-size instability is not the cause: with a 4× smaller step (η₀ = 0.25, 4× the steps) the
runs end at the same test losses to three digits (ε = 0.5: 0.1025 / 0.1190 vs 0.1026 / 0.1191;
ε = 1: 0.1181 / 0.1397 vs 0.1184 / 0.1401), and no loss ever rises.  The cause is the protocol:
at ε ≥ 0.5 -- outside the paper's range -- the network fits the training set within 50 steps
(train loss 1e-11 … 1e-13) and *converges* to a solution whose test loss (0.10 … 0.14) stays
above θ = 0.1; the rich solution's test loss grows with ε (at α = 4: 0.037 at ε = 0.05, 0.080
at 0.25, 0.11 at 0.5, 0.13 at 1).  Those runs never cross θ, and the case counted them as
censored delays ``budget − t_train`` ≈ the whole budget, which inverted the trend.  Inside the
paper's range the delay shrinks with ε as SPEC §8 says (α = 1: 700, 400, 300, 225, 200 steps at
ε = 0.05, 0.1, 0.15, 0.2, 0.25; α = 4 down to ε = 0.2, after which the final test loss nears θ).
Fix (issue 16): the ε sweep runs at α = 1 over the paper's range.  Issue 23 then found that the
α-sweep statistic still counted runs that settle above θ (the lazy runs, α ≥ 8 at the cpu
profile, whose test loss stays near the K0 plateau) as censored "delays"; now only runs with the
plateau-then-generalise sequence have a delay, and the others are counted apart.

What issue 23's cpu replicates found (K = 0, 1): the K0 plateau holds (1.6 %, 1.0 %), but no
α-sweep run has a delay: at α = 1–2 the test loss falls smoothly after the fit (no plateau at
K0), at α ≥ 4 it is still falling, or has settled above θ, at 2·10⁴ steps -- so ``lazy_delay``
*fails* on the cpu profile (its budget is a fifth of the paper's 10⁵ steps; the gpu profile runs
those) and the orderings are inconclusive.

Paper protocol and deviations.  The paper: ``D = 100``, ``N = 500``, ``P = 450`` (α sweep,
Fig. 3a, ε = 0.25, α = 2⁻⁵ … 2⁵) or 550 (Fig. 1, 3e), η = η₀N/α² with η₀ = 1 (20 in Fig. 3e),
10⁵ steps, 1000 test points, float32 (JAX).  The cpu profile keeps the ratios of their Fig. 3a
(``P/D = 4.5``, ``N/D = 5``, ``ε = 0.25``) at ``D = 20`` and 2·10⁴ steps, α = 1 … 128, and runs the
ε sweep at α = 1, P = 90 (not 550), η₀ = 1 (not 20); the gpu profile is their Fig. 3a setting
with the ε sweep of Fig. 3e at α = 1 and P = 450.
"""

from __future__ import annotations

import numpy as np

from effgrok.constants import reached
from validation.claims import Claim, Observed, replicate_seed, replicate_seeds, reported_claim, requirement
from validation.framework import device_of, verdict_of

from .._common import by_profile, schedule

TITLE = "Lazy→rich grokking: K0 plateau, delay grows with α and shrinks with ε"
CLAIM = (
    "A lazy network first fits kernel regression with its initial NTK, so its test loss plateaus at the "
    "K0-regression test MSE, and generalizes only once features move; the delay grows with the output "
    "scale α and shrinks with the feature alignment ε (Kumar et al. 2024)."
)
PROFILES = by_profile(
    dim=(8, 20, 100),
    samples=(36, 90, 450),
    test_samples=(100, 1000, 1000),
    width=(30, 100, 500),
    epsilon=0.25,
    alphas=([1.0, 8.0], [1.0, 2.0, 4.0, 8.0, 32.0, 128.0], [2.0**k for k in range(-5, 6)]),
    epsilons=([0.25, 0.5], [0.05, 0.1, 0.15, 0.2, 0.25], [0.02, 0.06, 0.1, 0.14, 0.2, 0.28]),
    epsilon_alpha=1.0,
    seeds=(1, 2, 2),
    eta0=1.0,
    steps=(40, 20000, 100000),
    stride=(20, 50, 100),
    theta=0.1,
)
#: ``t_p``: the linearised model's test loss is within this relative distance of its limit.
PLATEAU_SETTLE = 0.05
_PAPER = "Kumar, Bordelon, Gershman & Pehlevan (ICLR 2024), §3–4, Fig. 1 and 3: "
_TRANSITION = {"band": 0.10, "plateau_factor": 3.0, "theta_divisor": 3.0}
_SIGN_POWER = (
    "the sign of Spearman ρ over the runs with a delay (≥ 3 at ≥ 2 values; 2 seeds per value at cpu): a weak "
    "test, |ρ| ≳ 0.7 would be needed for 5 % significance with 6 runs"
)


def _sign_claim_of(name: str, paper: str, measurement: str, x: str, sign: str) -> Claim:
    """The delay moves with ``x`` (α or ε) as the paper says: the sign of Spearman ρ(x, delay)
    over the ``x``-sweep runs that have a delay."""
    return Claim(
        name,
        paper=_PAPER + paper,
        measurement=measurement,
        criterion=f"Spearman ρ({x}, delay) {sign} 0",
        threshold={**_TRANSITION, "min_runs": 3},
        control=f"≥ min_runs {x}-sweep runs with a delay at ≥ 2 distinct {x}",
        power=_SIGN_POWER,
        kind="qualitative",
    )


CLAIMS = (
    Claim(
        "k0_plateau",
        paper=_PAPER
        + "a lazy network first fits kernel regression with its initial NTK: its test loss plateaus "
        "at the K0-regression test MSE (Fig. 1b).",
        measurement="test loss of the largest-α run at t_p (linearised model within 5 % of K0), seed mean",
        criterion="|plateau − K0| / K0 ≤ tolerance",
        threshold={"tolerance": 0.10},
        control="t_p (the linearised model settles) within the budget for every seed",
        power="a 10 % deviation of the seed mean",
    ),
    Claim(
        "lazy_delay",
        paper=_PAPER
        + "a network that starts lazy generalises only once its features move: grokking, a delay "
        "between fitting and generalising.",
        measurement=(
            "per α-sweep run: delay exists if the test loss sits within band·K0 for ≥ plateau_factor·t_fit "
            "after t_fit and later reaches θ/theta_divisor"
        ),
        criterion="at some α ≥ min_alpha at least min_share of the seeds have a delay",
        threshold={**_TRANSITION, "min_share": 0.5, "min_alpha": 2.0},
        control=(
            "every α-sweep run fits the training set (train loss < θ) within the budget, and every run of "
            "the least lazy α reaches test loss ≤ θ/theta_divisor (the rich solution is below the bar at all)"
        ),
        power="one α with half its seeds showing the plateau-then-generalise sequence",
        headline=True,
    ),
    _sign_claim_of(
        "delay_grows_with_alpha",
        "the delay grows with the output scale α (Fig. 3a).",
        "delay t(test ≤ θ/theta_divisor) − t_fit of the α-sweep runs that have one",
        "α",
        ">",
    ),
    _sign_claim_of(
        "delay_shrinks_with_epsilon",
        "the delay shrinks with the feature alignment ε (Fig. 3e; SPEC §8).",
        "delay of the ε-sweep runs (fixed α inside the paper's range) that have one",
        "ε",
        "<",
    ),
    reported_claim(
        "cka_delay",
        _PAPER + "alignment of the initial kernel with the target speeds up the transition.",
        "Spearman ρ(initial CKA of the NTK with the test targets, delay) over the ε sweep",
    ),
)


def cost(settings: dict) -> float:
    """Estimated seconds: ``runs × steps × 6·P·D·N`` flops (forward and backward of the committee on
    the training set) at 15 GFLOP/s on 2 CPU cores (this cpu profile: 32 s measured on a quiet
    machine in the published run of 2026-12-03; on cores loaded ~12×, issue 23's runs measured
    4–10× more), or, for the gpu profile, 20 TFLOP/s plus 20 µs per step and unit (the step loop
    is sequential)."""
    n_units = 1 + len(settings["epsilons"])
    runs = int(settings["seeds"]) * (len(settings["alphas"]) + len(settings["epsilons"]))
    steps = int(settings["steps"])
    flops = runs * steps * 6.0 * int(settings["samples"]) * int(settings["dim"]) * int(settings["width"])
    if device_of(settings) == "gpu":
        return flops / 2e13 + 2e-5 * steps * n_units
    return flops / 1.5e10


def _problem(settings: dict):
    from effgrok.kernels import make_problem

    return make_problem(
        dim=int(settings["dim"]),
        samples=int(settings["samples"]),
        test_samples=int(settings["test_samples"]),
        seed=replicate_seed(settings, 0),
    )


def _steps(settings: dict) -> np.ndarray:
    return np.arange(int(settings["steps"]) // int(settings["stride"]) + 1) * int(settings["stride"])


def predict(settings: dict) -> dict:
    """Per seed: K0 ridgeless test MSE and the linearised test-loss curve (α-independent) at
    the α sweep's ε, ``t_p``; per (ε, seed) of the ε sweep: initial CKA and K0 test MSE."""
    from effgrok.kernels import Committee, centered_kernel_alignment, kernel_regression, lazy_time_course

    prob = _problem(settings)
    steps = _steps(settings)
    seeds = _seeds(settings)
    eta0 = float(settings["eta0"])

    def kernels(eps: float, seed: int):
        c = Committee(int(settings["width"]), float(eps), 1.0)
        W0 = c.init(prob.dim, int(seed))  # the same draw as train_lazy_rich's run with this seed
        return c, W0, c.ntk(W0, prob.x_train), c.ntk(W0, prob.x_test, prob.x_train)

    k0, lazy, t_p = [], [], []
    for s in seeds:
        c, _, Ktr, Kte = kernels(settings["epsilon"], s)
        _, f_te = kernel_regression(Ktr, Kte, prob.y_train)
        k0.append(float(np.mean((f_te - prob.y_test) ** 2)))
        lt = lazy_time_course(Ktr, Kte, prob.y_train, prob.y_test, steps, c.learning_rate(eta0))
        lazy.append(lt["test_loss"].tolist())
        settled = np.abs(lt["test_loss"] - k0[-1]) <= PLATEAU_SETTLE * k0[-1]
        t_p.append(int(steps[np.argmax(settled)]) if settled.any() else None)
    cka, k0_eps = [], []
    for e in settings["epsilons"]:
        row, row_k0 = [], []
        for s in seeds:
            c, W0, Ktr, Kte = kernels(e, s)
            row.append(centered_kernel_alignment(c.ntk(W0, prob.x_test), prob.y_test))
            _, f_te = kernel_regression(Ktr, Kte, prob.y_train)
            row_k0.append(float(np.mean((f_te - prob.y_test) ** 2)))
        cka.append(row)
        k0_eps.append(row_k0)
    return {
        "k0_test_mse": k0,
        "lazy_test_loss": lazy,
        "t_plateau": t_p,
        "initial_test_loss": float(np.mean(prob.y_test**2)),
        "cka": cka,
        "k0_test_mse_eps": k0_eps,
        "seeds": [int(v) for v in seeds],
    }


def _seeds(settings: dict) -> np.ndarray:
    """The initialisation seeds of replicate K (one per seed index, shared by every α and ε)."""
    return replicate_seeds(settings, int(settings["seeds"]), base=100)


def units(settings: dict) -> list[dict]:
    return [{"sweep": "alpha"}] + [{"sweep": "epsilon", "epsilon": float(e)} for e in settings["epsilons"]]


def measure_unit(settings: dict, unit: dict) -> dict:
    from effgrok.nets.driver import Grid
    from effgrok.nets.lazy_rich import train_lazy_rich

    seeds = _seeds(settings)
    if unit["sweep"] == "alpha":
        eps = float(settings["epsilon"])
        grid = Grid.product(alpha=np.asarray(settings["alphas"], dtype=float), seed=seeds)  # α major
        alpha, seed = grid["alpha"], grid["seed"]
    else:
        eps = float(unit["epsilon"])
        alpha = np.full(seeds.size, float(settings["epsilon_alpha"]))
        seed = seeds
    runs = train_lazy_rich(
        _problem(settings),
        width=int(settings["width"]),
        epsilon=eps,
        alpha=alpha,
        seeds=seed,
        base_learning_rate=float(settings["eta0"]),
        theta=float(settings["theta"]),
        schedule=schedule(settings),
    )
    return {
        "alpha": runs.alpha,
        "seed": runs.seeds.astype(np.int64),
        "epsilon": np.full(runs.alpha.size, eps),
        "t_train": runs.t_train,
        "t_test": runs.t_test,
        "steps": runs.steps,
        "train_loss": runs.train_loss,
        "test_loss": runs.test_loss,
        "weight_norm": runs.weight_norm,
    }


def transitions(m: dict, k0: np.ndarray, theta: float, t: dict) -> dict:
    """Classify each run of ``m`` (``k0``: its own K0 test MSE) by the transition definition of
    the module docstring: ``delay`` (``NaN`` unless the run has one), ``kind`` ("delay", "no
    transition" = final test loss above θ, "other"), the plateau length and ``t_fit``."""
    steps = np.asarray(m["steps"], float)
    te = np.asarray(m["test_loss"], float)
    fit = np.asarray(m["t_train"], float)
    out = {"delay": [], "kind": [], "plateau_steps": [], "t_fit": fit.tolist()}
    for k in range(te.shape[0]):
        curve, kk = te[k], float(k0[k])
        delay, plateau = np.nan, 0.0
        if reached(fit[k]):
            after = steps >= fit[k]
            inside = after & (np.abs(curve - kk) <= t["band"] * kk)
            if inside.any():
                i0 = int(np.argmax(inside))
                leave = np.flatnonzero(~inside[i0:])
                i1 = i0 + int(leave[0]) if leave.size else steps.size - 1
                plateau = float(steps[i1] - steps[i0])
                low = np.flatnonzero(curve[i1:] <= theta / t["theta_divisor"])
                if plateau >= t["plateau_factor"] * max(fit[k], steps[1] - steps[0]) and low.size:
                    delay = float(steps[i1 + int(low[0])] - fit[k])
        kind = "delay" if np.isfinite(delay) else ("no transition" if curve[-1] > theta else "other")
        out["delay"].append(delay)
        out["kind"].append(kind)
        out["plateau_steps"].append(plateau)
    out["delay"] = np.asarray(out["delay"], float)
    out["kind"] = np.asarray(out["kind"])
    return out


def _spearman(x, y) -> float | None:
    from scipy.stats import spearmanr

    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return None
    return float(spearmanr(x[ok], y[ok]).statistic)


def _plateau(prediction: dict, m: dict):
    """Per seed: the laziest run's test loss at ``t_p`` (``nan`` when ``t_p`` is beyond the budget)."""
    top = m["alpha"] == m["alpha"].max()
    out = []
    for s, t_p in zip(prediction["seeds"], prediction["t_plateau"], strict=True):
        run = np.flatnonzero(top & (m["seed"] == s))
        if t_p is None or run.size == 0:
            out.append(np.nan)
            continue
        out.append(float(m["test_loss"][run[0], int(np.searchsorted(m["steps"], t_p))]))
    return np.array(out)


def _index(prediction: dict, seeds) -> np.ndarray:
    where = {s: i for i, s in enumerate(prediction["seeds"])}
    return np.array([where[int(s)] for s in seeds], dtype=int)


def _sign_claim(claim, x, tr, what) -> Observed:
    """A Spearman-sign claim over the runs with a delay."""
    has = tr["kind"] == "delay"
    n, distinct = int(has.sum()), int(np.unique(np.asarray(x)[has]).size)
    rho = _spearman(np.asarray(x)[has], tr["delay"][has]) if n else None
    sign = -1 if "shrinks" in claim.name else 1
    return Observed(
        f"ρ({what}, delay) = {_fmt(rho, '.2f')} over {n} runs with a delay",
        passed=rho is not None and sign * rho > 0,
        held=bool(n >= claim.threshold["min_runs"] and distinct >= 2 and rho is not None),
        detail=f"{n} runs with a delay at {distinct} distinct {what}; "
        + ", ".join(f"{k}: {int(np.sum(tr['kind'] == k))}" for k in ("delay", "no transition", "other")),
        numbers={"rho": rho, "runs": n},
        requirement=requirement(claim, min_runs=str(claim.threshold["min_runs"])),
    )


def _epsilon_sweep(prediction: dict, em: list[dict], theta: float) -> tuple[dict, np.ndarray, np.ndarray]:
    """The ε-sweep's transitions (all runs joined), each run's ε and its initial CKA."""
    k0_eps = np.array(prediction["k0_test_mse_eps"])  # (ε, seed)
    e_tr = [
        transitions(m, k0_eps[i][_index(prediction, m["seed"])], theta, _TRANSITION) for i, m in enumerate(em)
    ]
    e_all = {
        "delay": np.concatenate([x["delay"] for x in e_tr]) if em else np.array([]),
        "kind": np.concatenate([x["kind"] for x in e_tr]) if em else np.array([], str),
    }
    e_eps = np.concatenate([m["epsilon"] for m in em]) if em else np.array([])
    cka = np.array(prediction["cka"])
    e_cka = (
        np.concatenate([cka[i][_index(prediction, m["seed"])] for i, m in enumerate(em)])
        if em
        else np.array([])
    )
    return e_all, e_eps, e_cka


def _plateau_observed(prediction: dict, am: dict, settings: dict, plateau: np.ndarray) -> Observed:
    """Claim 1: the lazy plateau sits at K0's ridgeless test MSE."""
    k0 = np.array(prediction["k0_test_mse"])
    ok = np.isfinite(plateau)
    rel_mean = _relative_error(plateau, k0)
    return Observed(
        f"plateau (α = {np.unique(am['alpha']).max():g}) "
        f"{_fmt(np.nanmean(plateau) if ok.any() else None)} vs "
        f"K0 {np.mean(k0):.4f} → |plateau − K0|/K0 = {_fmt(rel_mean, '.1%')}",
        passed=rel_mean is not None and rel_mean <= CLAIMS[0].threshold["tolerance"],
        held=all(t is not None for t in prediction["t_plateau"]) and rel_mean is not None,
        detail=f"t_p = {prediction['t_plateau']} (budget {settings['steps']})",
    )


def _relative_error(plateau: np.ndarray, k0: np.ndarray) -> float | None:
    """Mean |plateau − K0|/K0 over the seeds with a plateau (``None``: none has one)."""
    ok = np.isfinite(plateau)
    return float(np.mean((np.abs(plateau - k0) / k0)[ok])) if ok.any() else None


def _numbers(prediction: dict, settings: dict, am: dict, em: list[dict], tr: dict, e_all: dict, plateau):
    """The case's numbers (JSON): both sweeps' runs, kinds and delays, the plateau."""
    k0 = np.array(prediction["k0_test_mse"])
    alphas = np.unique(am["alpha"])
    cka = np.array(prediction["cka"])

    def kinds(t):
        return {k: int(np.sum(t["kind"] == k)) for k in ("delay", "no transition", "other")}

    def steps(x):
        return [None if not np.isfinite(v) else float(v) for v in x]

    return {
        "k0_test_mse": k0.tolist(),
        "t_plateau": prediction["t_plateau"],
        "plateau_test_loss": steps(plateau),
        "plateau_relative_error": _relative_error(plateau, k0),
        "alphas": alphas.tolist(),
        "alpha_run_kinds": kinds(tr),
        "alpha_delay": steps(tr["delay"]),
        "alpha_plateau_steps": tr["plateau_steps"],
        "median_delay_per_alpha": {f"{a:g}": _nanmedian(tr["delay"][am["alpha"] == a]) for a in alphas},
        "epsilons": [float(e) for e in settings["epsilons"]],
        "epsilon_alpha": float(settings["epsilon_alpha"]),
        "epsilon_run_kinds": kinds(e_all),
        "epsilon_delay": steps(e_all["delay"]),
        "final_test_loss_per_epsilon": [float(np.median(m["test_loss"][:, -1])) for m in em],
        "initial_cka_mean_per_epsilon": cka.mean(axis=1).tolist() if cka.size else [],
        "budget_steps": int(settings["steps"]),
        "weight_norm_ratio_final_over_initial": (am["weight_norm"][:, -1] / am["weight_norm"][:, 0]).tolist(),
    }


def _delay_observed(am: dict, tr: dict, theta: float) -> Observed:
    """Claim 2: a delay after the plateau exists at some α."""
    claim = CLAIMS[1]
    lt = claim.threshold
    alphas = np.unique(am["alpha"])
    share = {float(a): float(np.mean(tr["kind"][am["alpha"] == a] == "delay")) for a in alphas}
    delay_alphas = [a for a, v in share.items() if a >= lt["min_alpha"] and v >= lt["min_share"]]
    fitted = reached(am["t_train"])
    low = np.min(am["test_loss"][am["alpha"] == alphas.min()], axis=1)
    bar = theta / lt["theta_divisor"]
    med = {f"{a:g}": _nanmedian(tr["delay"][am["alpha"] == a]) for a in alphas}
    kinds = {k: int(np.sum(tr["kind"] == k)) for k in ("delay", "no transition", "other")}
    return Observed(
        "share of seeds with a delay per α: "
        + ", ".join(f"{a:g}: {v:.0%}" for a, v in share.items())
        + f"; runs: {kinds}; median delay per α: "
        + ", ".join(f"{k}: {_fmt(v, '.0f')}" for k, v in med.items()),
        passed=bool(delay_alphas),
        held=bool(np.all(fitted) and np.all(low <= bar)),
        detail=f"{int(fitted.sum())}/{fitted.size} α-sweep runs fit; lowest test loss of the α = "
        f"{alphas.min():g} runs {np.round(low, 4).tolist()} vs θ/{lt['theta_divisor']:g} = {bar:.4g}",
        numbers={"share_with_delay": {f"{a:g}": v for a, v in share.items()}, "kinds": kinds},
        requirement=requirement(claim, theta_divisor=f"{lt['theta_divisor']:g}"),
    )


def verdict(prediction: dict, measurements: list[dict], settings: dict):
    theta = float(settings["theta"])
    am, em = measurements[0], measurements[1:]
    k0 = np.array(prediction["k0_test_mse"])
    tr = transitions(am, k0[_index(prediction, am["seed"])], theta, CLAIMS[1].threshold)
    e_all, e_eps, e_cka = _epsilon_sweep(prediction, em, theta)
    has = e_all["kind"] == "delay"
    rho_cka = _spearman(e_cka[has], e_all["delay"][has]) if em else None
    plateau = _plateau(prediction, am)
    observed = [
        _plateau_observed(prediction, am, settings, plateau),
        _delay_observed(am, tr, theta),
        _sign_claim(CLAIMS[2], am["alpha"], tr, "α"),
        _sign_claim(CLAIMS[3], e_eps, e_all, "ε"),
        Observed(
            f"ρ(CKA, delay) = {_fmt(rho_cka, '.2f')} over {int(has.sum())} ε-sweep runs with a delay",
            numbers={"rho": rho_cka},
        ),
    ]
    numbers = _numbers(prediction, settings, am, em, tr, e_all, plateau)
    pred = (
        f"lazy plateau = K0 ridgeless test MSE {np.mean(k0):.4f} (settled to {PLATEAU_SETTLE:.0%} at "
        f"t_p = {prediction['t_plateau']}); a delay after the plateau, growing with α and shrinking with ε"
    )
    return verdict_of(CLAIMS, observed, prediction=pred, numbers=numbers)


def _nanmedian(x) -> float | None:
    x = np.asarray(x, float)
    return float(np.median(x[np.isfinite(x)])) if np.isfinite(x).any() else None


def _fmt(x, spec: str = ".4f") -> str:
    return "—" if x is None else format(x, spec)


def plot(prediction, measurements, settings, verdict, path) -> None:
    from effgrok.plot import log_scale, plt, save

    am = measurements[0]
    fig, (ax, bx, cx) = plt.subplots(1, 3, figsize=(12, 4.4))
    steps = am["steps"]
    alphas = np.unique(am["alpha"])
    cmap = plt.get_cmap("viridis")
    for k, a in enumerate(alphas):
        run = np.flatnonzero((am["alpha"] == a) & (am["seed"] == am["seed"][0]))[0]
        c = cmap(k / max(1, alphas.size - 1))
        ax.plot(steps[1:], am["test_loss"][run, 1:], color=c, label=f"test, α = {a:g}")
        ax.plot(steps[1:], am["train_loss"][run, 1:], color=c, ls=":", lw=0.8)
    ax.plot(steps[1:], prediction["lazy_test_loss"][0][1:], "r--", lw=1, label="linearised (K0) test")
    ax.axhline(prediction["k0_test_mse"][0], color="k", lw=1, label="K0 ridgeless regression")
    if prediction["t_plateau"][0] is not None:
        ax.axvline(prediction["t_plateau"][0], color="0.6", ls=":", lw=1)
    log_scale(ax, "xy")
    ax.set_xlabel("step")
    ax.set_ylabel("MSE (seed 0; dotted: train)")
    ax.legend(fontsize=8)
    delay = np.array([np.nan if v is None else v for v in verdict.numbers["alpha_delay"]], float)
    bx.scatter(am["alpha"], delay, label="delay (runs with a K0 plateau, then test ≤ θ/3)")
    bx.set_xscale("log", base=2)
    bx.set_xlabel("α")
    bx.set_ylabel("t_test(θ) − t_train(θ)")
    bx.set_title(f"runs: {verdict.numbers['alpha_run_kinds']}", fontsize=8)
    bx.legend(fontsize=8)
    e_delay = np.array([np.nan if v is None else v for v in verdict.numbers["epsilon_delay"]], float)
    e = np.concatenate([m["epsilon"] for m in measurements[1:]]) if len(measurements) > 1 else np.array([])
    cx.scatter(e, e_delay, color="C0", marker="o", label="delay (runs with a K0 plateau, then test ≤ θ/3)")
    cx.set_xlabel("ε (feature alignment)")
    cx.set_ylabel("delay t_test(θ) − t_train(θ)")
    cx.legend(fontsize=8)
    cx.set_title(
        f"α = {settings['epsilon_alpha']:g}; runs: {verdict.numbers['epsilon_run_kinds']}",
        fontsize=8,
    )
    fig.suptitle(f"{TITLE}: {verdict.status}", fontsize=9)
    save(fig, path, dpi=120, tight=True)
