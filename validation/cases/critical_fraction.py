"""Case 1: the critical training fraction of p = 10 addition, theory vs networks.

Theory: ``r_c`` where P(structure pinned | n) -- over uniformly random training sets of size
``n`` -- crosses ½ (:func:`effgrok.effective.critical_fraction`).  Networks: the toy model
trained at a ladder of training sizes, several seeds each; the fraction of runs that reach
RQI > 0.95 (and, separately, test accuracy ≥ 0.9) within the step budget, and where that
fraction crosses ½.  Criterion (issue 8): ``|r_c(networks) − r_c(theory)| ≤ 0.05``.
"""

from __future__ import annotations

import numpy as np

from .._toy import concat, half_crossing, train_batch

TITLE = "Critical training fraction of addition"
CLAIM = (
    "Networks learn the linear representation (RQI > 0.95) only when their training set pins it: "
    "the fraction of runs that learn it crosses ½ at the theory's critical fraction r_c ≈ 0.41."
)
PROFILES = {
    "tiny": {"p": 6, "sizes": [6, 14], "seeds": 2, "steps": 40, "stride": 20, "splits": 500},
    "cpu": {
        "p": 10,
        "sizes": [12, 15, 18, 21, 24, 27, 30, 36, 45],
        "seeds": 8,
        "steps": 10000,
        "stride": 100,
        "splits": 10000,
    },
    "gpu": {
        "p": 10,
        "sizes": list(range(10, 51, 2)),
        "seeds": 64,
        "steps": 100000,
        "stride": 1000,
        "splits": 10000,
    },
}
TOLERANCE = 0.05


def predict(settings: dict) -> dict:
    from effgrok.effective import critical_fraction
    from effgrok.tasks import make_task

    task = make_task("add", settings["p"])
    res = critical_fraction(task, splits=settings["splits"], seed=0)
    return {
        "r_c": res.r_c,
        "r_c_ci": list(res.r_c_ci),
        "n_examples": task.n_examples,
        "sizes": res.sizes.tolist(),
        "p_pinned": res.p_pinned.tolist(),
    }


def units(settings: dict) -> list[dict]:
    return [{"n_train": int(n)} for n in settings["sizes"]]


def measure_unit(settings: dict, unit: dict) -> dict:
    seeds = np.arange(settings["seeds"])
    return train_batch(settings, np.full(seeds.size, unit["n_train"]), seeds)


def _curves(measurements: list[dict]):
    sizes = np.array([int(m["n_train"][0]) for m in measurements])
    learned = np.array([np.mean(m["step_rqi"] >= 0) for m in measurements])
    general = np.array([np.mean(m["step_test_acc"] >= 0) for m in measurements])
    pinned = np.array([np.mean(m["pinned"]) for m in measurements])
    return sizes, learned, general, pinned


def verdict(prediction: dict, measurements: list[dict], settings: dict):
    from ..framework import Verdict

    n_ex = prediction["n_examples"]
    sizes, learned, general, _ = _curves(measurements)
    frac = sizes / n_ex
    r_net = half_crossing(frac, learned)
    r_gen = half_crossing(frac, general)
    all_runs = concat(measurements)
    ok = all_runs["step_rqi"] >= 0
    pin = all_runs["pinned"].astype(bool)
    learned_if_pinned = float(np.mean(ok[pin])) if pin.any() else float("nan")
    learned_if_not = float(np.mean(ok[~pin])) if (~pin).any() else float("nan")
    r_th = prediction["r_c"]
    numbers = {
        "r_c_theory": r_th,
        "r_c_networks_rqi": r_net,
        "r_c_networks_test_acc": r_gen,
        "fraction_learned_given_pinned": learned_if_pinned,
        "fraction_learned_given_not_pinned": learned_if_not,
        "runs": int(ok.size),
        "budget_steps": settings["steps"],
    }
    meas = (
        f"networks: RQI>0.95 fraction crosses ½ at r = {_fmt(r_net)}, test acc ≥ 0.9 at r = {_fmt(r_gen)} "
        f"({ok.size} runs, {settings['steps']} steps); learned in {learned_if_pinned:.0%} of pinned and "
        f"{learned_if_not:.0%} of unpinned splits"
    )
    crit = f"|r_c(networks, RQI) − r_c(theory)| ≤ {TOLERANCE}"
    if r_net is None:
        status = "fail"
        meas += " — the networks' fraction never reaches ½"
    else:
        status = "pass" if abs(r_net - r_th) <= TOLERANCE else "fail"
        numbers["difference"] = r_net - r_th
    pred = f"r_c = {r_th:.3f} [{prediction['r_c_ci'][0]:.3f}, {prediction['r_c_ci'][1]:.3f}]"
    return Verdict(status, pred, meas, crit, numbers)


def _fmt(x):
    return "—" if x is None else f"{x:.3f}"


def plot(prediction, measurements, settings, verdict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_ex = prediction["n_examples"]
    sizes, learned, general, pinned = _curves(measurements)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(np.array(prediction["sizes"]) / n_ex, prediction["p_pinned"], "k-", label="theory: P(pinned)")
    ax.plot(sizes / n_ex, pinned, "ks", mfc="none", label="pinned fraction of the runs' splits")
    ax.plot(sizes / n_ex, learned, "o-", label="networks: RQI > 0.95 within budget")
    ax.plot(sizes / n_ex, general, "^--", label="networks: test acc ≥ 0.9 within budget")
    ax.axhline(0.5, color="0.7", lw=0.8)
    ax.axvline(prediction["r_c"], color="k", ls=":", lw=1, label=f"r_c (theory) = {prediction['r_c']:.3f}")
    ax.set_xlabel("training fraction r")
    ax.set_ylabel("fraction")
    ax.set_title(f"{TITLE}: {verdict.status}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
