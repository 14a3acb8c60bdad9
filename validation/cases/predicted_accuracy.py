"""Case 3: predicted accuracy Acc-hat (from the network's own embedding) vs its test accuracy.

Theory (Liu et al. §3.3): a test example is predicted correctly when it forms a realised
parallelogram with a training example; Acc-hat counts those from the embedding alone, without
the decoder.  Networks: toy-model runs across training sizes; Acc-hat and the measured test
accuracy at the end of training.  Criterion (issue 8): Pearson r ≥ 0.95 over ≥ 30 runs.
**Positive control**: a correlation can be resolved -- ≥ ``min_runs`` runs whose measured test
accuracies span ≥ 0.3 (runs that do and do not generalise).

**Paper's settings** (Fig. 3; reference ``toy/produce_figure_data.py``): sizes 5, 10, ..., 50,
54, seeds 0, 1, 2, 5000 steps.  **Deviations**: sizes 14-45 with 5 seeds each (cpu) and 10-54
with 64 seeds (gpu); seeds ``2000·n + k`` of each replicate (:func:`validation.claims.replicate_seeds`).
"""

from __future__ import annotations

import numpy as np

from validation.claims import Claim, Observed, replicate_seeds
from validation.framework import device_of, verdict_of

from .._common import by_profile
from .._toy import concat, toy_cost, train_batch

TITLE = "Predicted accuracy Acc-hat vs measured test accuracy (addition)"
CLAIM = (
    "The test accuracy a network reaches is what its embedding's realised parallelograms predict "
    "(Acc-hat), across training sizes below and above r_c."
)
PROFILES = by_profile(
    p=(6, 10, 10),
    sizes=([8, 14], [14, 18, 22, 26, 30, 35, 40, 45], list(range(10, 55, 4))),
    seeds=(2, 5, 64),
    steps=(40, 5000, 5000),
    stride=(20, 100, 500),
    min_runs=(4, 30, 100),
    device=("cpu", "cpu", "gpu"),
)
CLAIMS = (
    Claim(
        "acc_hat_predicts_test_acc",
        paper=(
            "Liu et al. §3.3: the predicted accuracy Acc-hat, computed from the realised parallelograms of "
            "the embedding alone, agrees with the network's test accuracy."
        ),
        measurement="Pearson r between Acc-hat of the final embedding and the final test accuracy, over runs",
        criterion="Pearson r ≥ min_pearson_r over ≥ min_runs runs",
        threshold={"min_pearson_r": 0.95, "min_span": 0.3},
        control="≥ {min_runs} runs whose test accuracies span ≥ 0.3 (so a correlation is resolvable)",
        power="with ≥ 30 runs the 95 % interval of r near 0.95 is about ±0.03, so r = 0.90 is told from 0.95",
        headline=True,
    ),
)


def cost(settings: dict) -> float:
    return toy_cost(
        [(int(settings["seeds"]), int(settings["steps"]))] * len(settings["sizes"]), device_of(settings)
    )


def predict(settings: dict) -> dict:
    return {"relation": "test accuracy = Acc-hat"}


def units(settings: dict) -> list[dict]:
    return [{"n_train": int(n)} for n in settings["sizes"]]


def measure_unit(settings: dict, unit: dict) -> dict:
    seeds = replicate_seeds(settings, settings["seeds"], base=2000 * unit["n_train"])
    return train_batch(settings, np.full(seeds.size, unit["n_train"]), seeds)


def verdict(prediction: dict, measurements: list[dict], settings: dict):
    from scipy.stats import pearsonr

    (claim,) = CLAIMS
    t = claim.threshold
    r = concat(measurements)
    x, y = r["final_acc_hat"], r["final_test_acc"]
    n = int(x.size)
    numbers = {
        "runs": n,
        "mean_abs_difference": float(np.mean(np.abs(x - y))),
        "test_acc_span": float(np.ptp(y)),
    }
    held = n >= settings["min_runs"] and np.ptp(y) >= t["min_span"] and np.ptp(x) > 0
    passed, meas = False, f"{n} runs"
    if held:
        res = pearsonr(x, y)
        ci = res.confidence_interval(0.95)
        numbers.update({"pearson_r": float(res.statistic), "pearson_r_ci95": [float(ci.low), float(ci.high)]})
        passed = res.statistic >= t["min_pearson_r"]
        meas = (
            f"r = {res.statistic:.3f} [{ci.low:.3f}, {ci.high:.3f}] over {n} runs; "
            f"mean |Acc-hat − acc| = {numbers['mean_abs_difference']:.3f}"
        )
    observed = Observed(
        meas,
        passed=passed,
        held=held,
        detail=f"{n} runs, test accuracy span {np.ptp(y):.2f}, Acc-hat span {np.ptp(x):.2f}",
        numbers=numbers,
        requirement=claim.control.format(min_runs=settings["min_runs"]),  # the runs are the profile's
    )
    pred = "test accuracy = Acc-hat of the final embedding"
    return verdict_of(CLAIMS, [observed], prediction=pred, numbers=numbers)


def plot(prediction, measurements, settings, verdict, path) -> None:
    from effgrok.plot import plt, save

    r = concat(measurements)
    fig, ax = plt.subplots(figsize=(4.5, 4))
    sc = ax.scatter(r["final_acc_hat"], r["final_test_acc"], c=r["n_train"], s=16, cmap="viridis")
    fig.colorbar(sc, ax=ax, label="training size")
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    ax.set_xlabel("Acc-hat (from the embedding)")
    ax.set_ylabel("measured test accuracy")
    ax.set_title(f"Acc-hat: {verdict.status}", fontsize=10)
    save(fig, path, dpi=120, tight=True)
