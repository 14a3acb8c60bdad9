"""Early prediction of grokking from the spectral signature of the training loss (issue 10, part 1).

Claim (Notsawo, Zhou, Pezeshki, Rish & Dumas 2023, arXiv 2306.13253): runs that will grok
show oscillations in their *early* training loss, so the spectral signature of the first
part of the loss curve predicts, long before it happens, whether a run will grok.

Measurement: sweeps of effgrok's own runs -- toy-model runs (Liu et al.) across training sizes
around the critical size ``r_c``, and/or modular-addition MLP runs across training fractions
-- labelled *grokked* when the test accuracy reaches 0.9 within the budget.  For each
fraction ``f`` of the budget observed, the spectral score
(:func:`effgrok.diagnostics.early.spectral_score`: Hann-windowed power of the detrended
log-loss at ≥ 4 cycles per window) of every run's training loss over steps ``≤ f·budget``
is ranked against the labels (AUC, :func:`effgrok.diagnostics.early.auc`).

Criterion: AUC ≥ 0.8 at some observed fraction ≤ 50 % of the budget, in every sweep that has
at least two runs of each label; ``inconclusive`` when no sweep has; ``fail`` otherwise.  As
a baseline the same AUC is reported for the plain mean log-loss of the window (is the
"oscillation" score better than just how low the loss already is?).
"""

from __future__ import annotations

import numpy as np

from .._toy import sweep_units, train_sweep_unit

TITLE = "Early prediction: spectral signature of the early training loss separates grokking runs"
CLAIM = (
    "Runs that will grok show oscillations in their early training loss (Notsawo et al. 2023): the "
    "high-frequency power of the detrended log-loss over the first half of the budget ranks grokking "
    "above non-grokking runs (AUC ≥ 0.8)."
)
THRESHOLD_ACC = 0.9
TARGET_AUC = 0.8
MAX_FRACTION = 0.5
FRACTIONS = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0]

PROFILES = {
    "tiny": {
        "toy": {
            "p": 6,
            "hidden": 16,
            "depth": 1,
            "sizes": [6, 18],
            "seeds": 2,
            "steps": 60,
            "stride": 2,
            "lr_emb": 1e-2,
            "lr_dec": 1e-4,
        },
        "modular": None,
        "fractions": [0.5, 1.0],
        "cutoff": 4.0,
    },
    "cpu": {
        "toy": None,
        "modular": {
            "p": 23,
            "fractions": [0.5, 0.6, 0.7, 0.8, 0.9],
            "seeds": 4,
            "steps": 3000,
            "stride": 10,
            "hidden": 128,
            "lr": 1e-3,
            "weight_decay": 1.0,
            "loss": "mse",
            "activation": "quadratic",
        },
        "fractions": FRACTIONS,
        "cutoff": 4.0,
    },
    "gpu": {
        "toy": {
            "p": 10,
            "sizes": [15, 18, 21, 24, 27, 30, 35, 40, 45],
            "seeds": 16,
            "steps": 20000,
            "stride": 20,
            "lr_emb": 1e-3,
            "lr_dec": 1e-4,
        },
        "modular": {
            "p": 97,
            "fractions": [0.2, 0.3, 0.4, 0.5, 0.6, 0.7],
            "seeds": 8,
            "steps": 20000,
            "stride": 20,
            "hidden": 256,
            "lr": 1e-3,
            "weight_decay": 1.0,
        },
        "fractions": FRACTIONS,
        "cutoff": 4.0,
    },
}


def predict(settings: dict) -> dict:
    return {
        "target_auc": TARGET_AUC,
        "max_fraction": MAX_FRACTION,
        "threshold_acc": THRESHOLD_ACC,
        "score": (
            f"power of the Hann-windowed periodogram of the quadratically detrended log training loss at "
            f">= {settings['cutoff']:g} cycles per observed window"
        ),
    }


def units(settings: dict) -> list[dict]:
    return sweep_units(settings, "sizes")


def measure_unit(settings: dict, unit: dict) -> dict:
    _, runs, seeds = train_sweep_unit(settings, unit)
    if unit["model"] == "toy":
        test_acc, size = runs.test_acc, np.full(seeds.size, float(unit["n_train"]))
    else:
        test_acc, size = runs.val_acc, np.full(seeds.size, float(unit["fraction"]))
    return {
        "model_is_toy": np.array([unit["model"] == "toy"]),
        "size": size,
        "seed": seeds,
        "steps": np.asarray(runs.steps, dtype=np.float64),
        "train_loss": np.asarray(runs.train_loss, dtype=np.float64),
        "test_acc": np.asarray(test_acc, dtype=np.float64),
        "grokked": (np.max(test_acc, axis=1) >= THRESHOLD_ACC),
    }


def _sweeps(measurements: list[dict]) -> dict:
    out = {}
    for name, flag in (("toy", True), ("modular", False)):
        ms = [m for m in measurements if bool(m["model_is_toy"][0]) == flag]
        if ms:
            out[name] = {
                "steps": ms[0]["steps"],
                "loss": np.concatenate([m["train_loss"] for m in ms]),
                "test_acc": np.concatenate([m["test_acc"] for m in ms]),
                "grokked": np.concatenate([m["grokked"] for m in ms]).astype(bool),
                "size": np.concatenate([m["size"] for m in ms]),
            }
    return out


def _baseline_auc(loss, steps, labels, fractions) -> list:
    """AUC of minus the mean log-loss of each window (a lower loss ranks higher)."""
    from effgrok.diagnostics.early import auc

    out = []
    budget = steps[-1]
    for f in fractions:
        keep = steps <= f * budget * (1 + 1e-12)
        v = -np.mean(np.log(np.maximum(loss[:, keep], 1e-8)), axis=1)
        out.append(auc(v, labels))
    return out


def analyse(measurements: list[dict], settings: dict) -> dict:
    from effgrok.diagnostics.early import early_prediction_curve

    res = {}
    for name, sw in _sweeps(measurements).items():
        lab = sw["grokked"]
        entry = {"n_grokked": int(lab.sum()), "n_not": int((~lab).sum()), "budget": float(sw["steps"][-1])}
        sizes = np.unique(sw["size"])
        entry["share_grokked_by_size"] = {f"{x:g}": float(lab[sw["size"] == x].mean()) for x in sizes}
        if lab.sum() >= 2 and (~lab).sum() >= 2:
            ep = early_prediction_curve(
                sw["loss"], lab, settings["fractions"], sw["steps"], cutoff=float(settings["cutoff"])
            )
            entry["fractions"] = ep.fractions.tolist()
            entry["auc"] = [None if not np.isfinite(a) else float(a) for a in ep.auc]
            entry["baseline_auc"] = _baseline_auc(sw["loss"], sw["steps"], lab, ep.fractions)
            raw = early_prediction_curve(
                sw["loss"],
                lab,
                settings["fractions"],
                sw["steps"],
                cutoff=float(settings["cutoff"]),
                log=False,
            )  # the paper's variant: spectrum of the loss itself, not of its log
            entry["raw_loss_auc"] = [None if not np.isfinite(a) else float(a) for a in raw.auc]
            early = [
                a for f, a in zip(ep.fractions, ep.auc, strict=True) if f <= MAX_FRACTION and np.isfinite(a)
            ]
            entry["best_auc_early"] = max(early) if early else None
            entry["earliest_fraction"] = ep.earliest(TARGET_AUC)
        res[name] = entry
    return res


def verdict(prediction: dict, measurements: list[dict], settings: dict):
    from ..framework import Verdict

    res = analyse(measurements, settings)
    pred = (
        f"AUC ≥ {TARGET_AUC} at ≤ {MAX_FRACTION:.0%} of the budget observed (score: {prediction['score']}; "
        f"label: test accuracy ≥ {THRESHOLD_ACC} within the budget)"
    )
    crit = (
        f"pass if every sweep with ≥ 2 runs of each label reaches AUC ≥ {TARGET_AUC} at some observed "
        f"fraction ≤ {MAX_FRACTION}; inconclusive if no sweep has both labels; reported beside it (not "
        "judged): the same score on the raw loss (the paper's variant) and the AUC of minus the window's "
        "mean log-loss"
    )
    parts, decided, ok = [], 0, True
    for name, e in res.items():
        if "auc" not in e:
            parts.append(
                f"{name}: {e['n_grokked']} grokked / {e['n_not']} not within {e['budget']:g} steps -- "
                "too few of one label to rank"
            )
            continue
        decided += 1
        best = e["best_auc_early"]
        ok &= best is not None and best >= TARGET_AUC
        pairs = ", ".join(
            f"{f:g}: {'—' if a is None else f'{a:.2f}'} (raw loss {'—' if c is None else f'{c:.2f}'}, "
            f"mean log-loss {b:.2f})"
            for f, a, b, c in zip(e["fractions"], e["auc"], e["baseline_auc"], e["raw_loss_auc"], strict=True)
        )
        parts.append(
            f"{name}: {e['n_grokked']} grokked / {e['n_not']} not; AUC by fraction observed {pairs}; "
            f"best AUC at ≤ {MAX_FRACTION:g}: {'—' if best is None else f'{best:.2f}'}"
        )
    meas = "; ".join(parts)
    if decided == 0:
        status = "inconclusive"
    else:
        status = "pass" if ok else "fail"
        if not ok:
            meas += " -- the spectral signature does NOT reach the target on effgrok's runs"
            if any(
                e.get("best_auc_early") is not None and max(x for x in e["auc"] if x is not None) < 0.5
                for e in res.values()
            ):
                meas += " (AUC below 0.5 at every fraction: there the grokking runs oscillate LESS)"
    return Verdict(status, pred, meas, crit, res)


def plot(prediction, measurements, settings, verdict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sweeps = _sweeps(measurements)
    res = verdict.numbers
    fig, axes = plt.subplots(len(sweeps), 2, figsize=(11, 4 * len(sweeps)), squeeze=False)
    for row, (name, sw) in zip(axes, sweeps.items(), strict=True):
        ax, bx = row
        e = res.get(name, {})
        if "auc" in e:
            fr = np.asarray(e["fractions"])
            ax.plot(fr, [np.nan if a is None else a for a in e["auc"]], "o-", label="spectral score")
            ax.plot(fr, e["baseline_auc"], "s--", color="0.5", label="baseline: mean log-loss")
            ax.plot(
                fr,
                [np.nan if a is None else a for a in e["raw_loss_auc"]],
                "^:",
                label="spectral score, raw loss",
            )
        ax.axhline(TARGET_AUC, color="k", ls=":", lw=1)
        ax.axvline(MAX_FRACTION, color="k", ls=":", lw=1)
        ax.axhline(0.5, color="0.7", lw=0.8)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("fraction of the budget observed")
        ax.set_ylabel("AUC (grokked vs not)")
        ax.set_title(f"{name}: {e.get('n_grokked', 0)} grokked, {e.get('n_not', 0)} not")
        if "auc" in e:
            ax.legend(fontsize=8)
        for k in range(sw["loss"].shape[0]):
            bx.semilogy(
                sw["steps"],
                np.maximum(sw["loss"][k], 1e-8),
                color="C3" if sw["grokked"][k] else "C0",
                lw=0.6,
                alpha=0.6,
            )
        bx.set_xlabel("step")
        bx.set_ylabel("training loss (red: grokked)")
    fig.suptitle(f"early prediction of grokking -- {verdict.status}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
