"""Shared pieces of the toy-model cases: one vmapped batch of runs plus the theory of each run's split."""

from __future__ import annotations

import numpy as np

from effgrok.constants import reached
from effgrok.nets.toy import RUN_STEP_CORE_S


def toy_config(settings: dict):
    from effgrok.nets.toy import ToyConfig

    keys = ("steps", "stride", "variant", "dim", "hidden", "depth", "float64", "emb_optimizer")
    return ToyConfig(**{k: settings[k] for k in keys if k in settings})


def train_batch(settings: dict, n_train, seeds, train=None) -> dict[str, np.ndarray]:
    """Train ``len(seeds)`` toy runs (one vmapped batch) at the sizes ``n_train`` and return
    their first-hit steps, final metrics and the theory of their own training sets:
    ``pinned`` (nullity = full-table nullity) and ``n_h = 1/(η λ3)`` with ``η`` the
    embedding learning rate (``inf`` when not pinned).  ``train``: explicit training masks
    (one row per run) instead of the splits drawn from the seeds (``n_train`` is then ignored)."""
    from effgrok.effective import grokking_rate
    from effgrok.nets.toy import train_toy
    from effgrok.tasks import make_task

    task = make_task(settings.get("task", "add"), int(settings["p"]))
    lr_emb = float(settings.get("lr_emb", 1e-3))
    runs = train_toy(
        task,
        toy_config(settings),
        seeds=np.asarray(seeds, dtype=np.int64),
        **(
            {"n_train": np.asarray(n_train, dtype=np.int64)}
            if train is None
            else {"train": np.asarray(train)}
        ),
        lr_emb=lr_emb,
        lr_dec=float(settings.get("lr_dec", 1e-4)),
    )
    rates = [grokking_rate(task, m, learning_rate=lr_emb) for m in runs.train_mask]
    out = {
        "seed": np.broadcast_to(np.asarray(seeds), runs.n_train.shape).astype(np.int64),
        "n_train": runs.n_train.astype(np.int64),
        **outcomes(runs),
        "final_acc_hat": runs.predicted_test_acc[:, -1],
        "pinned": np.array([r.pinned for r in rates]),
        "n_h": np.array([r.n_h for r in rates]),
        "gram_eigenvalue": np.array([r.gram_eigenvalue for r in rates]),
    }
    if settings.get("record_embedding"):
        out["steps"] = runs.steps
        out["embedding"] = runs.embedding
        out["train_mask"] = runs.train_mask
    return out


def outcomes(runs) -> dict[str, np.ndarray]:
    """First steps reaching train/test accuracy ≥ 0.9 and RQI > 0.95 (``NaN``: never) and the
    final values of those metrics, one entry per run of a :class:`~effgrok.nets.toy.ToyRuns`."""
    return {
        "step_train_acc": runs.step_train_acc,
        "step_test_acc": runs.step_test_acc,
        "step_rqi": runs.step_rqi,
        "final_train_acc": runs.final_train_acc,
        "final_test_acc": runs.final_test_acc,
        "final_rqi": runs.final_rqi,
    }


def concat(measurements: list[dict]) -> dict[str, np.ndarray]:
    """Join the per-unit results along the run axis."""
    keys = [k for k in measurements[0] if k != "steps"]
    out = {k: np.concatenate([np.atleast_1d(m[k]) for m in measurements]) for k in keys}
    if "steps" in measurements[0]:
        out["steps"] = measurements[0]["steps"]
    return out


def half_crossing(x: np.ndarray, y: np.ndarray) -> float | None:
    """First ``x`` where the piecewise-linear curve ``y(x)`` reaches ½ (``None`` if never)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if y[0] >= 0.5:
        return float(x[0])
    for i in range(1, len(x)):
        if y[i] >= 0.5:
            return float(x[i - 1] + (0.5 - y[i - 1]) * (x[i] - x[i - 1]) / (y[i] - y[i - 1]))
    return None


def sweep_units(settings: dict, toy_sizes_key: str) -> list[dict]:
    """Units of a sweep over toy training sizes (``settings["toy"][toy_sizes_key]``) and/or
    modular training fractions (``settings["modular"]["fractions"]``)."""
    out = []
    if settings.get("toy"):
        out += [{"model": "toy", "n_train": int(n)} for n in settings["toy"][toy_sizes_key]]
    if settings.get("modular"):
        out += [{"model": "modular", "fraction": float(f)} for f in settings["modular"]["fractions"]]
    return out


def train_sweep_unit(settings: dict, unit: dict, **modular_options):
    """Train one unit of :func:`sweep_units`: ``(task, runs, seeds)``.

    Toy units train ``settings["toy"]["seeds"]`` runs of addition at ``unit["n_train"]``
    (seed bases ``1000·n_train``); modular units train the add-mod MLP at
    ``unit["fraction"]`` with the settings' hidden width, optimiser, loss and activation (seed
    bases ``100000 + 1000·round(100·fraction)``); every seed from the replicate of ``settings``
    (:func:`validation.claims.replicate_seeds`).
    """
    from effgrok.tasks import make_task

    from .claims import replicate_seeds

    if unit["model"] == "toy":
        from effgrok.nets.toy import train_toy

        s = settings["toy"]
        task = make_task("add", int(s["p"]))
        seeds = replicate_seeds(settings, int(s["seeds"]), base=1000 * int(unit["n_train"]))
        runs = train_toy(
            task,
            toy_config(s),
            seeds=seeds,
            n_train=int(unit["n_train"]),
            lr_emb=float(s["lr_emb"]),
            lr_dec=float(s["lr_dec"]),
        )
        return task, runs, seeds
    from ._modular import train

    s = settings["modular"]
    task = make_task("add-mod", int(s["p"]))
    seeds = replicate_seeds(
        settings, int(s["seeds"]), base=100_000 + 1000 * round(100 * float(unit["fraction"]))
    )
    runs = train(task, s, train_fraction=float(unit["fraction"]), seeds=seeds, **modular_options)
    return task, runs, seeds


#: Throughput of the toy model (p = 10, tanh 1-200-200-30, float32) used by the cases' cost():
#: two CPU cores: ≈ 1500 run-steps/s -- what the cpu validation report measured (issue 23: its
#: toy cases ran 1300-1800 run-steps/s in batches of 5-16 runs, with the split theory and the
#: metrics; benchmarks/README.md's 2200-3900 is the bare trainer on an idle machine).  Written
#: as the library's one number for the model (:data:`effgrok.nets.toy.RUN_STEP_CORE_S`, the bare
#: trainer's CPU time) times the cases' own work around it (issue 23's 1/1500 s over 5.5e-4 s).
CASE_OVERHEAD = 1.2
CPU_RUN_STEP_S = CASE_OVERHEAD * RUN_STEP_CORE_S
#: One modern GPU (H200-class), *assumed, not measured* (no GPU was lent when this was written):
#: ≈ 15 MFLOP per run-step at ≈ 15 TFLOP/s effective, plus ≈ 0.15 ms per scanned step of a batch.
GPU_RUN_STEP_S = 1.0e-6
GPU_STEP_S = 1.5e-4


def toy_cost(batches: list[tuple[int, int]], device: str) -> float:
    """Estimated seconds for vmapped toy batches ``[(runs, steps), ...]`` on ``device``
    (``"cpu"``: two cores; ``"gpu"``: one modern GPU), from the throughputs above."""
    if device == "gpu":
        return float(sum(steps * (GPU_STEP_S + runs * GPU_RUN_STEP_S) for runs, steps in batches))
    return float(sum(runs * steps * CPU_RUN_STEP_S for runs, steps in batches))


def upper_bound(k: int, n: int, confidence: float = 0.95) -> float:
    """One-sided Clopper–Pearson upper confidence bound of a binomial proportion ``k/n``.

    >>> round(upper_bound(0, 59), 4)   # 1 − 0.05^(1/59)
    0.0495
    """
    from scipy.stats import beta

    if n <= 0:
        return 1.0
    return 1.0 if k >= n else float(beta.ppf(confidence, k + 1, n - k))


def capped_median(steps: np.ndarray, budget: int) -> float:
    """Median first-hit step with never-reached runs (``NaN``) censored at ``budget``:
    the Kaplan–Meier median under administrative censoring (every run is followed to the same
    budget, so the KM curve is the empirical one).  ``inf`` when at most half the runs reached
    it (the median lies beyond the budget)."""
    s = np.asarray(steps, dtype=float)
    if s.size == 0:
        return float("nan")
    t = np.sort(np.where(reached(s), s, np.inf))
    k = (t.size + 1) // 2  # the ⌈n/2⌉-th order statistic: KM reaches ½ there
    return float(t[k - 1])
