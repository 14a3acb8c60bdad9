"""Case 1: below the critical fraction networks do not learn the representation (p = 10 addition).

**What the paper claims** (Liu et al. 2022, §4.1-4.2, Fig. 4a-b): the critical training fraction
``r_c`` is where P(structure pinned | n) -- over uniformly random training sets of size ``n`` --
crosses ½ (:func:`effgrok.effective.critical_fraction`), and a training set that does not pin the
structure leaves the network free to settle in another representation: networks below ``r_c``
do not learn the linear representation.  The paper does *not* claim that the share of networks
that learn crosses ½ at ``r_c`` (networks can also stall on pinned splits), so ``r_net`` is
reported, not judged.

**Claims** (fixed before the replicate runs, issue 23):

1. ``learned_implies_pinned`` (headline): on *deliberately unpinned* splits -- uniformly random
   splits of the ``unpinned_sizes`` (30, 33, 36 pairs) kept only when their training nullity
   exceeds the full table's (:func:`effgrok.effective.spectrum.structure_pinned` is false) -- the
   one-sided 95 % Clopper–Pearson upper bound of P(RQI > 0.95 within budget | unpinned) is
   ≤ 0.05.  Control: ≥ 60 such runs, and at the same sizes the *pinned* runs of the ladder (same
   replicate) learn ≥ 10 % of the time, so an unpinned split that behaved like a pinned one would
   show.  Power: with 66 unpinned runs the bound with 0 successes is 0.044; a single success
   fails the claim, so P(learned | unpinned) = 0.05 is detected with probability 1 − 0.95⁶⁶ ≈ 0.97
   (0.02: 0.74).  (The first report's 80 unpinned runs sat almost all at sizes where pinned runs
   learned 0 %: it could hardly fail.)
2. ``no_learning_at_low_pinning``: no run of the ladder learns at sizes where the theory's
   P(pinned) < 0.05.  Control: ≥ 30 runs there.  Power: with 36 runs a learning rate of 0.08 is
   detected with probability ≈ 0.95.
3. ``learned_share_non_decreasing`` (qualitative): P(learned | n) does not drop with ``n``
   within noise: no smaller size of the ladder learns significantly more often than a larger one
   (one-sided Fisher exact test, Bonferroni over the pairs, α = 0.05).  Control: ≥ 3 runs learn.
   Power: with 12 runs per size a drop from 0.9 to 0.2 is significant after Bonferroni (45 pairs).
4. ``r_net_over_r_c`` (reported): where the learned share of the ladder crosses ½, over ``r_c``.

**Paper's settings** (reference code ``toy/produce_figure_data.py``, ``train_add``): p = 10
addition, toy model d = 1, tanh 1-200-200-30, MSE onto random templates, Adam lr 1e-3
(embedding) / 1e-4 (decoder), no weight decay, training sizes 5, 10, ..., 50, 54 with seeds 0, 1,
2, 10⁴ steps (Fig. 4); P(pinned) from 100 random splits per size (Fig. 4a; here 10 000).
**Deviations**: a ladder of 11 sizes 12-54 with 12 seeds per size (cpu; 96 at gpu), each size its own
seeds (bases ``5000·n``, :func:`validation.claims.replicate_seeds`), plus the deliberately
unpinned splits (22 per size at cpu, 64 at gpu; split draws from ``replicate_seed(600000 + n)``,
initialisations from bases ``400000 + 1000·n``); a budget of 2500 (cpu) / 3000 (gpu) steps
instead of 10⁴ -- every run that learned in the audit (and in the 10⁴-step cpu report) did so
within ≈ 1700 steps, so the shorter budget censors almost nothing and buys seeds; effgrok's
random streams (not PyTorch's), so individual seeds are not comparable, only rates.
"""

from __future__ import annotations

import numpy as np

from effgrok.constants import reached
from validation.claims import Claim, Observed, replicate_seed, replicate_seeds, reported_claim
from validation.framework import device_of, verdict_of

from .._common import by_profile
from .._toy import concat, half_crossing, toy_cost, train_batch, upper_bound

TITLE = "Critical training fraction of addition: no learning without pinning"
CLAIM = (
    "A network learns the linear representation (RQI > 0.95) only on a training set that pins it: "
    "P(learned | not pinned) ≈ 0, no learning where P(pinned) is small, and P(learned | n) grows with n."
)
PROFILES = by_profile(
    p=(6, 10, 10),
    sizes=([6, 14], [12, 14, 16, 20, 24, 27, 30, 33, 36, 45, 54], list(range(12, 55, 3))),
    seeds=(2, 12, 96),
    unpinned_sizes=([10], [30, 33, 36], [30, 33, 36]),
    unpinned_seeds=(2, 22, 64),
    steps=(40, 2500, 3000),
    stride=(20, 500, 500),
    splits=(500, 10000, 10000),
    device=("cpu", "cpu", "gpu"),
)
CLAIMS = (
    Claim(
        "learned_implies_pinned",
        paper=(
            "Liu et al. 2022 §4.1-4.2: a training set that does not pin the structure (nullity above the "
            "full "
            "table's) leaves the network free to settle elsewhere; networks learn the representation "
            "only above r_c."
        ),
        measurement=(
            "runs on deliberately unpinned random splits at sizes where pinned splits learn: the share "
            "reaching "
            "RQI > 0.95 within the budget and its one-sided 95 % Clopper–Pearson upper bound"
        ),
        criterion="upper 95 % bound of P(learned | unpinned) ≤ max_p",
        threshold={"max_p": 0.05, "min_unpinned": 60, "min_pinned_share": 0.10},
        control=(
            "≥ {min_unpinned} unpinned runs, and the pinned runs of the ladder at the same sizes learn "
            "≥ {min_pinned_share:.0%} of the time"
        ),
        power=(
            "with 66 unpinned runs one success fails the claim: P(learned | unpinned) = 0.05 is detected "
            "with "
            "probability 0.97 (0.02: 0.74); the best reachable bound is 0.044"
        ),
        headline=True,
    ),
    Claim(
        "no_learning_at_low_pinning",
        paper=(
            "Liu et al. 2022 Fig. 4: below r_c (where random splits rarely pin the structure) networks "
            "do not learn."
        ),
        measurement=(
            "runs of the ladder at sizes where the theory's P(pinned) < low_pinning that reach RQI > 0.95"
        ),
        criterion="no such run learns",
        threshold={"low_pinning": 0.05, "min_runs": 30},
        control="≥ {min_runs} runs at sizes with P(pinned) < {low_pinning}",
        power="with 36 runs a learning rate of 0.08 there is detected with probability ≈ 0.95",
    ),
    Claim(
        "learned_share_non_decreasing",
        paper="Liu et al. 2022 Fig. 4b: the share of networks that learn grows with the training fraction.",
        measurement="share of ladder runs reaching RQI > 0.95 per size",
        criterion="no smaller size learns more often than a larger one at one-sided Fisher p < alpha / pairs",
        threshold={"alpha": 0.05, "min_learned": 3},
        control="≥ {min_learned} ladder runs learn",
        power=(
            "with 12 runs per size a drop from 0.9 to 0.2 between two sizes is significant after Bonferroni"
        ),
        kind="qualitative",
    ),
    reported_claim(
        "r_net_over_r_c",
        "(not a claim of the paper) where the share of networks that learn crosses ½, against r_c",
        "training fraction r_net where the ladder's learned share crosses ½ (linear interpolation), / r_c",
    ),
)


def cost(settings: dict) -> float:
    runs = int(settings["seeds"])
    batches = [(runs, int(settings["steps"]))] * len(settings["sizes"])
    batches += [(int(settings["unpinned_seeds"]), int(settings["steps"]))] * len(settings["unpinned_sizes"])
    return toy_cost(batches, device_of(settings))


def predict(settings: dict) -> dict:
    from effgrok.effective import critical_fraction
    from effgrok.tasks import make_task

    task = make_task("add", settings["p"])
    res = critical_fraction(task, splits=settings["splits"], seed=0)
    p_at = dict(zip(res.sizes.tolist(), res.p_pinned.tolist(), strict=True))
    return {
        "r_c": res.r_c,
        "r_c_ci": list(res.r_c_ci),
        "n_examples": task.n_examples,
        "sizes": res.sizes.tolist(),
        "p_pinned": res.p_pinned.tolist(),
        "p_pinned_at_sizes": [float(p_at.get(int(n), 0.0)) for n in settings["sizes"]],
    }


def units(settings: dict) -> list[dict]:
    out = [{"n_train": int(n)} for n in settings["sizes"]]
    return out + [{"n_train": int(n), "unpinned": True} for n in settings["unpinned_sizes"]]


def unpinned_splits(task, n_train: int, count: int, seed: int, max_draws: int = 200_000) -> np.ndarray:
    """The first ``count`` uniformly random splits of size ``n_train`` (drawn from
    ``default_rng(seed)``) that do not pin the structure (training nullity > full-table nullity)."""
    from effgrok.effective.spectrum import structure_pinned
    from effgrok.tasks import random_split

    rng = np.random.default_rng(seed)
    masks = []
    for _ in range(max_draws):
        split = random_split(task, size=n_train, seed=int(rng.integers(2**62)))
        if not structure_pinned(task, split.mask):
            masks.append(split.mask)
            if len(masks) == count:
                return np.stack(masks)
    raise ValueError(
        f"fewer than {count} of {max_draws} splits of size {n_train} leave the structure unpinned"
    )


def measure_unit(settings: dict, unit: dict) -> dict:
    from effgrok.tasks import make_task

    n = int(unit["n_train"])
    if not unit.get("unpinned"):
        seeds = replicate_seeds(settings, settings["seeds"], base=5000 * n)  # distinct seeds per size
        r = train_batch(settings, np.full(seeds.size, n), seeds)
    else:
        task = make_task("add", settings["p"])
        count = int(settings["unpinned_seeds"])
        masks = unpinned_splits(task, n, count, replicate_seed(settings, 600_000 + n))
        seeds = replicate_seeds(settings, count, base=400_000 + 1000 * n)
        r = train_batch(settings, np.full(count, n), seeds, train=masks)
    r["unpinned_draw"] = np.full(r["seed"].size, bool(unit.get("unpinned")))
    return r


def _ladder(measurements: list[dict]) -> list[dict]:
    return [m for m in measurements if not bool(np.asarray(m.get("unpinned_draw", [False]))[0])]


def _curves(measurements: list[dict]):
    sizes = np.array([int(m["n_train"][0]) for m in measurements])
    learned = np.array([np.mean(reached(m["step_rqi"])) for m in measurements])
    general = np.array([np.mean(reached(m["step_test_acc"])) for m in measurements])
    pinned = np.array([np.mean(m["pinned"]) for m in measurements])
    return sizes, learned, general, pinned


def _monotone(measurements: list[dict], alpha: float) -> tuple[bool, list]:
    """No smaller size learns significantly more often than a larger one (one-sided Fisher,
    Bonferroni over the pairs); returns (holds, the significant violations)."""
    from scipy.stats import fisher_exact

    k = [int(np.sum(reached(m["step_rqi"]))) for m in measurements]
    n = [int(m["step_rqi"].size) for m in measurements]
    sizes = [int(m["n_train"][0]) for m in measurements]
    pairs = [(i, j) for i in range(len(k)) for j in range(i + 1, len(k))]
    bad = []
    for i, j in pairs:
        if k[i] / n[i] <= k[j] / n[j]:
            continue
        p = fisher_exact([[k[i], n[i] - k[i]], [k[j], n[j] - k[j]]], alternative="greater").pvalue
        if p < alpha / max(len(pairs), 1):
            bad.append([sizes[i], sizes[j], float(p)])
    return not bad, bad


def _unpinned_observed(draws: list[dict], r: dict, ok, pin, settings: dict) -> Observed:
    """Claim 1: learned ⇒ pinned, on the deliberately unpinned splits."""
    t = CLAIMS[0].threshold
    u_sizes = [int(n) for n in settings["unpinned_sizes"]]
    if draws:
        d = concat(draws)
        unp = ~d["pinned"].astype(bool)  # by construction all; checked again on the trained masks
        n_u, k_u = int(unp.sum()), int((reached(d["step_rqi"]) & unp).sum())
    else:
        n_u, k_u = 0, 0
    bound = upper_bound(k_u, n_u)
    at = np.isin(r["n_train"], u_sizes) & pin
    n_pc, k_pc = int(at.sum()), int((ok & at).sum())
    pinned_share = k_pc / n_pc if n_pc else 0.0
    per_size = {
        int(n): [int((ok & pin & (r["n_train"] == n)).sum()), int((pin & (r["n_train"] == n)).sum())]
        for n in u_sizes
    }
    return Observed(
        f"P(learned | unpinned) = {k_u}/{n_u} at sizes {u_sizes} (95 % upper bound {bound:.3f}); pinned "
        f"runs at those sizes learned {k_pc}/{n_pc} ({pinned_share:.0%})",
        passed=bound <= t["max_p"],
        held=n_u >= t["min_unpinned"] and pinned_share >= t["min_pinned_share"],
        detail=f"{n_u} unpinned runs; pinned runs at sizes {u_sizes} learned {k_pc}/{n_pc}",
        numbers={
            "unpinned_runs": n_u,
            "unpinned_runs_learned": k_u,
            "p_learned_given_unpinned_upper95": bound,
            "pinned_runs_at_those_sizes": n_pc,
            "pinned_runs_learned_at_those_sizes": k_pc,
            "pinned_learned_by_size": per_size,
            "sizes": u_sizes,
        },
    )


def _low_pinning_observed(prediction: dict, r: dict, ok, settings: dict) -> Observed:
    """Claim 2: no learning where P(pinned) is small."""
    t = CLAIMS[1].threshold
    low = np.asarray(prediction["p_pinned_at_sizes"]) < t["low_pinning"]
    lad_sizes = [int(n) for n in settings["sizes"]]
    low_sizes = [n for n, lo in zip(lad_sizes, low, strict=True) if lo]
    sel = np.isin(r["n_train"], low_sizes)
    n_low, k_low = int(sel.sum()), int((ok & sel).sum())
    return Observed(
        f"{k_low} of {n_low} runs learned at sizes {low_sizes} (P(pinned) < {t['low_pinning']})",
        passed=k_low == 0,
        held=n_low >= t["min_runs"],
        detail=f"{n_low} runs at sizes {low_sizes}",
        numbers={"runs": n_low, "learned": k_low, "sizes": low_sizes},
    )


def _monotone_observed(ladder: list[dict], ok) -> Observed:
    """Claim 3: the learned share does not drop with n."""
    t = CLAIMS[2].threshold
    sizes, learned, _, _ = _curves(ladder)
    mono, violations = _monotone(ladder, t["alpha"])
    share = ", ".join(f"{n}: {v:.0%}" for n, v in zip(sizes, learned, strict=True))
    return Observed(
        f"learned share by size {share} ({'no significant drop' if mono else f'drops: {violations}'})",
        passed=mono,
        held=int(ok.sum()) >= t["min_learned"],
        detail=f"{int(ok.sum())} learned",
        numbers={
            "learned_share_by_size": dict(zip(sizes.tolist(), learned.tolist(), strict=True)),
            "violations": violations,
        },
    )


def _r_net_observed(prediction: dict, ladder: list[dict], ok, pin, settings: dict) -> Observed:
    """Claim 4: r_net, reported."""
    n_ex, r_th = prediction["n_examples"], prediction["r_c"]
    sizes, learned, general, _ = _curves(ladder)
    r_net = half_crossing(sizes / n_ex, learned)
    p_lp = float(np.mean(ok[pin])) if pin.any() else None
    return Observed(
        f"r_net = {_fmt(r_net)} (r_net / r_c = "
        f"{_fmt(None if r_net is None else r_net / r_th, '{:.2f}')}); "
        f"P(learned | pinned) over the ladder = {_fmt(p_lp, '{:.2f}')}; {ok.size} ladder runs, "
        f"{settings['steps']} steps",
        numbers={
            "r_net": r_net,
            "r_net_over_r_c": None if r_net is None else r_net / r_th,
            "r_net_test_acc": half_crossing(sizes / n_ex, general),
            "p_learned_given_pinned": p_lp,
        },
    )


def verdict(prediction: dict, measurements: list[dict], settings: dict):
    ladder = _ladder(measurements)
    draws = [m for m in measurements if bool(np.asarray(m.get("unpinned_draw", [False]))[0])]
    r = concat(ladder)
    ok = reached(r["step_rqi"])
    pin = r["pinned"].astype(bool)
    observed = [
        _unpinned_observed(draws, r, ok, pin, settings),
        _low_pinning_observed(prediction, r, ok, settings),
        _monotone_observed(ladder, ok),
        _r_net_observed(prediction, ladder, ok, pin, settings),
    ]
    r_th = prediction["r_c"]
    n_u = observed[0].numbers["unpinned_runs"]
    numbers = {"r_c_theory": r_th, "runs": int(ok.size) + n_u, "budget_steps": settings["steps"]}
    pred = (
        f"r_c = {r_th:.3f} [{prediction['r_c_ci'][0]:.3f}, {prediction['r_c_ci'][1]:.3f}]; "
        "learned ⇒ pinned, so P(learned | unpinned) = 0"
    )
    return verdict_of(CLAIMS, observed, prediction=pred, numbers=numbers, claim_numbers=True)


def _fmt(x, fmt="{:.3f}"):
    return "—" if x is None else fmt.format(x)


def plot(prediction, measurements, settings, verdict, path) -> None:
    from effgrok.plot import plt, save

    n_ex = prediction["n_examples"]
    sizes, learned, general, pinned = _curves(_ladder(measurements))
    r = concat(measurements)
    ok, pin = reached(r["step_rqi"]), r["pinned"].astype(bool)
    unp = np.array(
        [
            np.mean(ok[(r["n_train"] == n) & ~pin]) if np.any((r["n_train"] == n) & ~pin) else np.nan
            for n in sizes
        ]
    )
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(np.array(prediction["sizes"]) / n_ex, prediction["p_pinned"], "k-", label="theory: P(pinned)")
    ax.plot(sizes / n_ex, pinned, "ks", mfc="none", label="pinned share of the runs' splits")
    ax.plot(sizes / n_ex, learned, "o-", label="networks: RQI > 0.95 within budget")
    ax.plot(sizes / n_ex, unp, "rx", ms=8, label="networks on unpinned splits: RQI > 0.95")
    ax.plot(sizes / n_ex, general, "^--", label="networks: test acc ≥ 0.9 within budget")
    ax.axvline(prediction["r_c"], color="k", ls=":", lw=1, label=f"r_c (theory) = {prediction['r_c']:.3f}")
    ax.set_xlabel("training fraction r")
    ax.set_ylabel("fraction")
    ax.set_title(f"{TITLE}: {verdict.status}", fontsize=9)
    ax.legend(fontsize=8)
    save(fig, path, dpi=120, tight=True)
