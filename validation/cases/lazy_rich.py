"""Case 6: lazy→rich grokking (Kumar, Bordelon, Gershman & Pehlevan, ICLR 2024, arXiv 2310.06110).

The committee network ``f = (α/N) Σ φ(w_i·x)``, ``φ(h) = h + (ε/2)h²``, trained by full-batch
GD on the centred predictor with ``η = η₀N/α²`` (:func:`effgrok.nets.lazy_rich.train_lazy_rich`)
on ``y = ½(β*·x)²``.  Three checks:

1. **Lazy plateau.**  Theory: while the network is lazy its test loss follows kernel regression
   with the empirical NTK at initialisation (:func:`effgrok.kernels.lazy_time_course`), whose
   end point is ridgeless K0 regression (:func:`effgrok.kernels.kernel_regression`) -- the
   horizontal line of their Fig. 1b.  ``t_p`` is the first recorded step at which the
   linearised model's test loss is within ``plateau_settle`` (5 %) of that end point;
   the measured plateau is the laziest network's (largest ``α``) test loss at ``t_p``.
   Criterion: ``|plateau − K0| / K0 ≤ 10 %`` (mean over seeds).
2. **Delay grows with α.**  The delay is their "amount of grokking"
   ``t_test(θ) − t_train(θ)`` (``θ = 0.1``); a run whose test loss never falls below ``θ``
   within the budget is counted at the lower bound ``budget − t_train``.  Criterion:
   Spearman ``ρ(α, delay) > 0`` over all runs of the α sweep.
3. **Delay vs initial alignment** (reported, not judged -- the paper gives no closed form and
   SPEC §8 warns that ε acts mainly through the speed of feature learning): an ε sweep at
   fixed α; the centred kernel alignment of the initial NTK with the test targets
   (:func:`effgrok.kernels.centered_kernel_alignment`) and Spearman ``ρ(CKA, delay)``.

The cpu profile keeps the ratios of their Fig. 3a (``P/D = 4.5``, ``N/D = 5``, ``ε = 0.25``) at
``D = 20`` and 2·10⁴ steps; the gpu profile is their setting (``D = 100``, ``P = 450``,
``N = 500``, ``α = 2⁻⁵ … 2⁵``, 10⁵ steps).
"""

from __future__ import annotations

import numpy as np

TITLE = "Lazy→rich grokking: K0 plateau, delay vs α, delay vs initial alignment"
CLAIM = (
    "A lazy network first fits kernel regression with its initial NTK, so its test loss plateaus at the "
    "K0-regression test MSE, and generalizes only once features move; the delay grows with the output "
    "scale α (Kumar et al. 2024)."
)
PROFILES = {
    "tiny": {
        "dim": 8,
        "samples": 36,
        "test_samples": 100,
        "width": 30,
        "epsilon": 0.25,
        "alphas": [1.0, 8.0],
        "epsilons": [0.5],
        "epsilon_alpha": 2.0,
        "seeds": 1,
        "eta0": 1.0,
        "steps": 40,
        "stride": 20,
        "theta": 0.1,
    },
    "cpu": {
        "dim": 20,
        "samples": 90,
        "test_samples": 1000,
        "width": 100,
        "epsilon": 0.25,
        "alphas": [1.0, 2.0, 4.0, 8.0, 32.0, 128.0],
        "epsilons": [0.1, 0.25, 0.5, 1.0],
        "epsilon_alpha": 4.0,
        "seeds": 2,
        "eta0": 1.0,
        "steps": 20000,
        "stride": 50,
        "theta": 0.1,
    },
    "gpu": {
        "dim": 100,
        "samples": 450,
        "test_samples": 1000,
        "width": 500,
        "epsilon": 0.25,
        "alphas": [2.0**k for k in range(-5, 6)],
        "epsilons": [0.02, 0.06, 0.1, 0.14, 0.18, 0.22, 0.28],
        "epsilon_alpha": 1.0,
        "seeds": 4,
        "eta0": 1.0,
        "steps": 100000,
        "stride": 100,
        "theta": 0.1,
    },
}
#: Criterion 1: relative deviation of the lazy plateau from ridgeless K0 regression.
PLATEAU_TOLERANCE = 0.10
#: ``t_p``: the linearised model's test loss is within this relative distance of its limit.
PLATEAU_SETTLE = 0.05
DATA_SEED = 0


def _problem(settings: dict):
    from effgrok.kernels import make_problem

    return make_problem(
        dim=int(settings["dim"]),
        samples=int(settings["samples"]),
        test_samples=int(settings["test_samples"]),
        seed=DATA_SEED,
    )


def _steps(settings: dict) -> np.ndarray:
    return np.arange(int(settings["steps"]) // int(settings["stride"]) + 1) * int(settings["stride"])


def predict(settings: dict) -> dict:
    """Per seed: K0 ridgeless test MSE and the linearised test-loss curve (α-independent) at
    the α sweep's ε, ``t_p``; per (ε, seed) of the ε sweep: initial CKA and K0 test MSE."""
    from effgrok.kernels import Committee, centered_kernel_alignment, kernel_regression, lazy_time_course

    prob = _problem(settings)
    steps = _steps(settings)
    seeds = range(int(settings["seeds"]))
    eta0 = float(settings["eta0"])

    def kernels(eps: float, seed: int):
        c = Committee(int(settings["width"]), float(eps), 1.0)
        W0 = c.init(prob.dim, seed)  # the same draw as train_lazy_rich's run with this seed
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
    }


def units(settings: dict) -> list[dict]:
    return [{"sweep": "alpha"}] + [{"sweep": "epsilon", "epsilon": float(e)} for e in settings["epsilons"]]


def measure_unit(settings: dict, unit: dict) -> dict:
    from effgrok.nets.lazy_rich import train_lazy_rich

    seeds = np.arange(int(settings["seeds"]), dtype=np.int64)
    if unit["sweep"] == "alpha":
        eps = float(settings["epsilon"])
        alpha = np.asarray(settings["alphas"], dtype=float)
        # runs: (α, seed), α major
        alpha, seed = (a.ravel() for a in np.meshgrid(alpha, seeds, indexing="ij"))
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
        eta0=float(settings["eta0"]),
        steps=int(settings["steps"]),
        stride=int(settings["stride"]),
        theta=float(settings["theta"]),
    )
    return {
        "alpha": runs.alpha,
        "seed": runs.seeds.astype(np.int64),
        "epsilon": np.full(runs.alpha.size, eps),
        "t_train": runs.t_train.astype(np.int64),
        "t_test": runs.t_test.astype(np.int64),
        "steps": runs.steps,
        "train_loss": runs.train_loss,
        "test_loss": runs.test_loss,
        "weight_norm": runs.weight_norm,
    }


def _delays(m: dict, budget: int) -> tuple[np.ndarray, np.ndarray]:
    """Delay ``t_test − t_train`` per run (``nan`` where the train loss never fell below θ) and
    whether it is censored (test threshold not reached: lower bound ``budget − t_train``)."""
    tr, te = m["t_train"], m["t_test"]
    censored = (tr >= 0) & (te < 0)
    d = np.where(te >= 0, np.maximum(te - tr, 0), budget - tr).astype(float)
    d[tr < 0] = np.nan
    return d, censored


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
    for s, t_p in enumerate(prediction["t_plateau"]):
        run = np.flatnonzero(top & (m["seed"] == s))
        if t_p is None or run.size == 0:
            out.append(np.nan)
            continue
        out.append(float(m["test_loss"][run[0], int(np.searchsorted(m["steps"], t_p))]))
    return np.array(out)


def verdict(prediction: dict, measurements: list[dict], settings: dict):
    from ..framework import Verdict

    budget = int(settings["steps"])
    am = measurements[0]
    k0 = np.array(prediction["k0_test_mse"])
    plateau = _plateau(prediction, am)
    ok = np.isfinite(plateau)
    rel = np.abs(plateau - k0) / k0
    rel_mean = float(np.mean(rel[ok])) if ok.any() else None
    delay, cens = _delays(am, budget)
    rho_alpha = _spearman(am["alpha"], delay)
    rho_alpha_unc = _spearman(am["alpha"][~cens], delay[~cens])
    alphas = np.unique(am["alpha"])
    med = [float(np.nanmedian(delay[am["alpha"] == a])) for a in alphas]

    em = measurements[1:]
    cka = np.array(prediction["cka"])  # (ε, seed)
    e_delay = np.concatenate([_delays(m, budget)[0] for m in em]) if em else np.array([])
    e_cens = np.concatenate([_delays(m, budget)[1] for m in em]) if em else np.array([])
    e_cka = np.concatenate([cka[i][m["seed"]] for i, m in enumerate(em)]) if em else np.array([])
    e_eps = np.concatenate([m["epsilon"] for m in em]) if em else np.array([])
    rho_cka = _spearman(e_cka, e_delay)
    rho_eps = _spearman(e_eps, e_delay)

    numbers = {
        "k0_test_mse": k0.tolist(),
        "t_plateau": prediction["t_plateau"],
        "plateau_test_loss": [None if not np.isfinite(x) else float(x) for x in plateau],
        "plateau_relative_error": rel_mean,
        "alpha_laziest": float(alphas.max()),
        "alphas": alphas.tolist(),
        "median_delay_per_alpha": med,
        "censored_alpha_runs": int(cens.sum()),
        "spearman_alpha_delay": rho_alpha,
        "spearman_alpha_delay_uncensored": rho_alpha_unc,
        "epsilons": [float(e) for e in settings["epsilons"]],
        "initial_cka_mean_per_epsilon": cka.mean(axis=1).tolist() if cka.size else [],
        "median_delay_per_epsilon": [float(np.nanmedian(_delays(m, budget)[0])) for m in em],
        "censored_epsilon_runs": int(e_cens.sum()),
        "spearman_cka_delay": rho_cka,
        "spearman_epsilon_delay": rho_eps,
        "budget_steps": budget,
        # SPEC §8: the weight norm grows (does not shrink) during grokking
        "weight_norm_ratio_final_over_initial": (am["weight_norm"][:, -1] / am["weight_norm"][:, 0]).tolist(),
    }
    pred = (
        f"lazy plateau = K0 ridgeless test MSE {np.mean(k0):.4f} (settled to {PLATEAU_SETTLE:.0%} at "
        f"t_p = {prediction['t_plateau']}); delay increasing in α"
    )
    delays = ", ".join(f"α={a:g}: {d:.0f}" for a, d in zip(alphas, med, strict=True))
    eps_part = ", ".join(
        f"ε={e:g}: CKA {c:.4f}, delay {d:.0f}"
        for e, c, d in zip(
            numbers["epsilons"],
            numbers["initial_cka_mean_per_epsilon"],
            numbers["median_delay_per_epsilon"],
            strict=False,
        )
    )
    meas = (
        f"plateau (α = {alphas.max():g}) {_fmt(np.nanmean(plateau) if ok.any() else None)} "
        f"→ |plateau − K0|/K0 = {_fmt(rel_mean, '.1%')}; median delay {delays} "
        f"({int(cens.sum())} censored) → Spearman ρ(α, delay) = {_fmt(rho_alpha, '.2f')} "
        f"(uncensored runs only: {_fmt(rho_alpha_unc, '.2f')}); "
        f"reported: {eps_part} → ρ(CKA, delay) = {_fmt(rho_cka, '.2f')}, ρ(ε, delay) = {_fmt(rho_eps, '.2f')}"
    )
    crit = (
        f"|plateau − K0|/K0 ≤ {PLATEAU_TOLERANCE:.0%} (laziest run at t_p, mean over seeds) and Spearman "
        "ρ(α, delay) > 0 over the α sweep; delay vs initial CKA reported only"
    )
    if rel_mean is None or rho_alpha is None:
        status = "inconclusive"
    else:
        status = "pass" if (rel_mean <= PLATEAU_TOLERANCE and rho_alpha > 0) else "fail"
    return Verdict(status, pred, meas, crit, numbers)


def _fmt(x, spec: str = ".4f") -> str:
    return "—" if x is None else format(x, spec)


def plot(prediction, measurements, settings, verdict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    budget = int(settings["steps"])
    am = measurements[0]
    fig, (ax, bx, cx) = plt.subplots(1, 3, figsize=(14, 4))
    steps = am["steps"]
    alphas = np.unique(am["alpha"])
    cmap = plt.get_cmap("viridis")
    for k, a in enumerate(alphas):
        run = np.flatnonzero((am["alpha"] == a) & (am["seed"] == 0))[0]
        c = cmap(k / max(1, alphas.size - 1))
        ax.plot(steps[1:], am["test_loss"][run, 1:], color=c, label=f"test, α = {a:g}")
        ax.plot(steps[1:], am["train_loss"][run, 1:], color=c, ls=":", lw=0.8)
    ax.plot(steps[1:], prediction["lazy_test_loss"][0][1:], "r--", lw=1, label="linearised (K0) test")
    ax.axhline(prediction["k0_test_mse"][0], color="k", lw=1, label="K0 ridgeless regression")
    if prediction["t_plateau"][0] is not None:
        ax.axvline(prediction["t_plateau"][0], color="0.6", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("MSE (seed 0; dotted: train)")
    ax.legend(fontsize=6)
    delay, cens = _delays(am, budget)
    bx.scatter(am["alpha"][~cens], delay[~cens], label="delay")
    bx.scatter(am["alpha"][cens], delay[cens], marker="^", label="censored (lower bound)")
    bx.set_xscale("log", base=2)
    bx.set_xlabel("α")
    bx.set_ylabel("t_test(θ) − t_train(θ)")
    bx.set_title(f"ρ(α, delay) = {_fmt(verdict.numbers.get('spearman_alpha_delay'), '.2f')}", fontsize=8)
    bx.legend(fontsize=7)
    cka = np.array(prediction["cka"])
    for i, m in enumerate(measurements[1:]):
        d, c = _delays(m, budget)
        cx.scatter(cka[i][m["seed"]], d, marker="^" if c.any() else "o", label=f"ε = {m['epsilon'][0]:g}")
    cx.set_xlabel("initial CKA(K0, y) on the test set")
    cx.set_ylabel("delay")
    cx.set_title(
        f"α = {settings['epsilon_alpha']:g}; ρ(CKA, delay) = "
        f"{_fmt(verdict.numbers.get('spearman_cka_delay'), '.2f')}",
        fontsize=8,
    )
    cx.legend(fontsize=7)
    fig.suptitle(f"{TITLE}: {verdict.status}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
