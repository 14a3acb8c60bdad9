"""Representation progress measures along training (issue 10, part 4).

Three published qualitative claims, measured on effgrok's own runs from logged snapshots:

1. *Fourier concentration rises at grokking* (Nanda et al. 2023, arXiv 2301.05217): the
   first-layer embedding of an MLP that groks ``a + b mod p`` concentrates its power on a few
   frequencies of ``Z_p``.  An MLP may use *every* frequency, each hidden unit tuned to one
   (Gromov 2023), so the criterion uses the per-unit concentration
   (:func:`effgrok.diagnostics.progress.fourier_concentration` with ``per_column=True``,
   top-1); the pooled top-k concentration is reported next to it.
   Criterion: in ≥ 75 % of the grokking runs the concentration at the end exceeds its value
   when the training set was first fitted (train accuracy ≥ 0.99), and the grokking runs end
   more concentrated than the non-grokking ones (median).
2. *The effective rank of the hidden features drops around generalisation* (Fan, Pascanu &
   Jaggi 2024, "Deep Grokking", arXiv 2405.19454).  Criterion: in ≥ 75 % of the grokking runs
   the effective rank (:func:`effgrok.diagnostics.progress.effective_rank`, centred features
   on all examples) is lower at the first step with test accuracy ≥ 0.9 than at the step of
   fitting the training set.
3. *RQI rises with test accuracy on the toy model* (Liu et al. 2022).  Criterion: Spearman
   rank correlation between RQI and test accuracy over all (run, record) pairs ≥ 0.5.

Each claim is judged separately and listed; the case passes when every claim with enough
runs holds, fails when one with enough runs does not, and is inconclusive when none has
enough (fewer than 2 grokking runs for 1–2; a constant curve for 3).
"""

from __future__ import annotations

import numpy as np

from .._toy import sweep_units, train_sweep_unit

TITLE = "Progress measures: Fourier concentration, feature effective rank and RQI track grokking"
CLAIM = (
    "Along training, the Fourier concentration of a modular MLP's embedding rises when it groks "
    "(Nanda et al.), the effective rank of its hidden features drops around generalisation (Fan et "
    "al.), and RQI of toy-model embeddings rises together with test accuracy (Liu et al.)."
)
THRESHOLD_ACC = 0.9
FIT_ACC = 0.99
SHARE = 0.75
MIN_SPEARMAN = 0.5

PROFILES = {
    "tiny": {
        "toy": {
            "p": 6,
            "hidden": 16,
            "depth": 1,
            "n_train": [12, 18],
            "seeds": 1,
            "steps": 40,
            "stride": 10,
            "lr_emb": 1e-2,
            "lr_dec": 1e-4,
        },
        "modular": {
            "p": 7,
            "fractions": [0.9],
            "seeds": 2,
            "steps": 40,
            "stride": 10,
            "snapshot_stride": 10,
            "hidden": 16,
            "lr": 3e-3,
            "weight_decay": 1.0,
            "k": 2,
        },
    },
    "cpu": {
        "toy": {
            "p": 10,
            "n_train": [30, 45],
            "seeds": 3,
            "steps": 1500,
            "stride": 20,
            "lr_emb": 1e-2,
            "lr_dec": 1e-3,
            "variant": "classification",
        },
        "modular": {
            "p": 23,
            "fractions": [0.5, 0.9],
            "seeds": 3,
            "steps": 2000,
            "stride": 50,
            "snapshot_stride": 50,
            "hidden": 128,
            "lr": 1e-3,
            "weight_decay": 1.0,
            "loss": "mse",
            "activation": "quadratic",
            "k": 4,
        },
    },
    "gpu": {
        "toy": {
            "p": 10,
            "n_train": [20, 25, 30, 35, 40, 45],
            "seeds": 8,
            "steps": 20000,
            "stride": 100,
            "lr_emb": 1e-3,
            "lr_dec": 1e-4,
        },
        "modular": {
            "p": 97,
            "fractions": [0.3, 0.5, 0.7],
            "seeds": 4,
            "steps": 20000,
            "stride": 100,
            "snapshot_stride": 500,
            "hidden": 256,
            "lr": 1e-3,
            "weight_decay": 1.0,
            "k": 5,
        },
    },
}


def predict(settings: dict) -> dict:
    return {
        "fourier": "concentration at the end > at fitting the training set, in grokking runs; grokking > not",
        "effective_rank": "effective rank at generalisation < at fitting the training set, in grokking runs",
        "rqi": f"Spearman(RQI, test accuracy) >= {MIN_SPEARMAN}",
        "share": SHARE,
    }


def units(settings: dict) -> list[dict]:
    return sweep_units(settings, "n_train")


def measure_unit(settings: dict, unit: dict) -> dict:
    from effgrok.diagnostics.progress import modular_progress, toy_progress

    if unit["model"] == "toy":
        task, runs, seeds = train_sweep_unit(settings, unit)
        prog = toy_progress(runs, task)
    else:
        s = settings["modular"]
        task, runs, seeds = train_sweep_unit(settings, unit, snapshot_stride=int(s["snapshot_stride"]))
        prog = modular_progress(runs, task, k=int(s["k"]), activation=s.get("activation", "relu"))
    out = {
        "model_is_toy": np.array([unit["model"] == "toy"]),
        "seed": seeds,
        "steps": np.asarray(prog.steps, dtype=np.float64),
        "test_acc": prog.test_acc,
        "train_acc": prog.train_acc,
    }
    out.update({k: np.asarray(v, dtype=np.float64) for k, v in prog.measures.items()})
    return out


def _first(curve, thr) -> int:
    hit = np.flatnonzero(curve >= thr)
    return int(hit[0]) if hit.size else -1


def _spearman(x, y) -> float:
    from scipy.stats import spearmanr

    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(spearmanr(x, y).statistic)


def analyse(measurements: list[dict]) -> dict:
    res = {}
    toy = [m for m in measurements if bool(m["model_is_toy"][0])]
    mod = [m for m in measurements if not bool(m["model_is_toy"][0])]
    if toy:
        rqi = np.concatenate([m["rqi"].ravel() for m in toy])
        acc = np.concatenate([m["test_acc"].ravel() for m in toy])
        rho = _spearman(rqi, acc)
        final_rqi = np.concatenate([m["rqi"][:, -1] for m in toy])
        final_acc = np.concatenate([m["test_acc"][:, -1] for m in toy])
        res["rqi"] = {
            "spearman": None if np.isnan(rho) else rho,
            "runs": int(final_rqi.size),
            "final_rqi": final_rqi.tolist(),
            "final_test_acc": final_acc.tolist(),
        }
    if mod:
        rows = []
        for m in mod:
            for r in range(m["test_acc"].shape[0]):
                i_fit = _first(m["train_acc"][r], FIT_ACC)
                i_gen = _first(m["test_acc"][r], THRESHOLD_ACC)
                rows.append(
                    {
                        "grokked": i_gen >= 0,
                        "step_fit": None if i_fit < 0 else float(m["steps"][i_fit]),
                        "step_gen": None if i_gen < 0 else float(m["steps"][i_gen]),
                        "fourier_init": float(m["unit_fourier_concentration"][r, 0]),
                        "fourier_fit": float(m["unit_fourier_concentration"][r, max(i_fit, 0)]),
                        "fourier_final": float(m["unit_fourier_concentration"][r, -1]),
                        "pooled_fourier_fit": float(m["fourier_concentration"][r, max(i_fit, 0)]),
                        "pooled_fourier_final": float(m["fourier_concentration"][r, -1]),
                        "erank_fit": float(m["effective_rank"][r, max(i_fit, 0)]),
                        "erank_gen": None if i_gen < 0 else float(m["effective_rank"][r, i_gen]),
                        "erank_final": float(m["effective_rank"][r, -1]),
                    }
                )
        g = [x for x in rows if x["grokked"]]
        n = [x for x in rows if not x["grokked"]]
        four = {"grokked_runs": len(g), "other_runs": len(n)}
        rank = {"grokked_runs": len(g)}
        if len(g) >= 2:
            four["share_rising"] = float(np.mean([x["fourier_final"] > x["fourier_fit"] for x in g]))
            four["median_final_grokked"] = float(np.median([x["fourier_final"] for x in g]))
            four["median_fit_grokked"] = float(np.median([x["fourier_fit"] for x in g]))
            four["pooled_median_fit_grokked"] = float(np.median([x["pooled_fourier_fit"] for x in g]))
            four["pooled_median_final_grokked"] = float(np.median([x["pooled_fourier_final"] for x in g]))
            rank["share_dropping"] = float(np.mean([x["erank_gen"] < x["erank_fit"] for x in g]))
            rank["median_fit"] = float(np.median([x["erank_fit"] for x in g]))
            rank["median_gen"] = float(np.median([x["erank_gen"] for x in g]))
            rank["median_final"] = float(np.median([x["erank_final"] for x in g]))
        if n:
            four["median_final_other"] = float(np.median([x["fourier_final"] for x in n]))
            rank["median_final_other"] = float(np.median([x["erank_final"] for x in n]))
        res["fourier"] = four
        res["effective_rank"] = rank
        res["modular_runs"] = rows
    return res


def verdict(prediction: dict, measurements: list[dict], settings: dict):
    from ..framework import Verdict

    res = analyse(measurements)
    judged, failed, parts = 0, [], []
    four, rank, rq = res.get("fourier"), res.get("effective_rank"), res.get("rqi")
    if four is not None:
        if "share_rising" in four:
            judged += 1
            other = four.get("median_final_other")
            ok = four["share_rising"] >= SHARE and (other is None or four["median_final_grokked"] > other)
            failed += [] if ok else ["Fourier concentration"]
            parts.append(
                f"per-unit Fourier concentration ({four['grokked_runs']} grokking runs): rises after "
                f"fitting in {four['share_rising']:.0%}, median {four['median_fit_grokked']:.3f} → "
                f"{four['median_final_grokked']:.3f}"
                + ("" if other is None else f" vs {other:.3f} in non-grokking runs")
                + f" (pooled top-k: {four['pooled_median_fit_grokked']:.3f} → "
                f"{four['pooled_median_final_grokked']:.3f})" + ("" if ok else " [NOT reproduced]")
            )
        else:
            parts.append(
                f"Fourier concentration / effective rank: only {four['grokked_runs']} grokking runs -- "
                "not judged"
            )
    if rank is not None and "share_dropping" in rank:
        judged += 1
        ok = rank["share_dropping"] >= SHARE
        failed += [] if ok else ["effective rank"]
        parts.append(
            "effective rank of hidden features: lower at generalisation than at fitting in "
            f"{rank['share_dropping']:.0%} "
            f"(median {rank['median_fit']:.2f} → {rank['median_gen']:.2f}; end of training "
            f"{rank['median_final']:.2f}"
            + (
                ""
                if "median_final_other" not in rank
                else f", non-grokking runs {rank['median_final_other']:.2f}"
            )
            + ")"
            + ("" if ok else " [NOT reproduced]")
        )
    if rq is not None:
        if rq["spearman"] is None:
            parts.append("RQI: constant RQI or test accuracy -- not judged")
        else:
            judged += 1
            ok = rq["spearman"] >= MIN_SPEARMAN
            failed += [] if ok else ["RQI"]
            parts.append(
                f"RQI vs test accuracy on the toy model: Spearman {rq['spearman']:.2f} over {rq['runs']} runs"
                + ("" if ok else " [NOT reproduced]")
            )
    pred = (
        "Fourier concentration rises at grokking; feature effective rank drops around generalisation; "
        f"RQI rises with test accuracy (Spearman ≥ {MIN_SPEARMAN})"
    )
    crit = (
        "each claim judged when it has enough runs (≥ 2 grokking runs; non-constant curves); "
        f"shares ≥ {SHARE:.0%}; pass if all judged claims hold"
    )
    if judged == 0:
        status = "inconclusive"
    else:
        status = "fail" if failed else "pass"
    meas = "; ".join(parts)
    if failed:
        meas += f" -- not reproduced: {', '.join(failed)}"
    return Verdict(status, pred, meas, crit, res)


def plot(prediction, measurements, settings, verdict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    toy = [m for m in measurements if bool(m["model_is_toy"][0])]
    mod = [m for m in measurements if not bool(m["model_is_toy"][0])]
    panels = [("rqi", toy, "RQI (toy)")] if toy else []
    panels += (
        [
            ("unit_fourier_concentration", mod, "per-unit Fourier concentration"),
            ("fourier_concentration", mod, "pooled Fourier concentration"),
            ("effective_rank", mod, "effective rank"),
        ]
        if mod
        else []
    )
    fig, axes = plt.subplots(1, max(len(panels), 1), figsize=(4.8 * max(len(panels), 1), 4), squeeze=False)
    for ax, (key, ms, label) in zip(axes[0], panels, strict=False):
        tw = ax.twinx()
        j = 0
        for m in ms:
            for r in range(m["test_acc"].shape[0]):
                color = f"C{j % 10}"
                ax.plot(m["steps"], m[key][r], color=color, lw=1.2)
                tw.plot(m["steps"], m["test_acc"][r], color=color, lw=0.7, ls="--")
                j += 1
        ax.set_xlabel("step")
        ax.set_ylabel(label)
        tw.set_ylabel("test accuracy (dashed)")
        tw.set_ylim(-0.02, 1.02)
        ax.set_title(label)
    fig.suptitle(f"progress measures -- {verdict.status}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
