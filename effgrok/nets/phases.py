"""The four learning phases of Liu et al. (2022, Table 1) and phase diagrams over a grid.

A run with budget ``B`` steps, accuracy threshold 90 % (train and test) and gap ``G``:

* **comprehension**: both thresholds reached and ``step_test − step_train < G``;
* **grokking**: both reached and ``step_test − step_train ≥ G`` (a gap of exactly ``G`` is
  grokking -- the reference code silently called it comprehension);
* **memorization**: train reached, test not;
* **confusion**: train not reached -- including runs whose *test* accuracy reached 90 % while
  the training accuracy did not (the reference code called those comprehension; a run that
  has not fit its training set is not a learned solution).  Such runs are also counted
  separately as ``test_only``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..constants import never_from_legacy, reached

__all__ = [
    "PHASES",
    "PHASE_AXES",
    "classify_phases",
    "estimated_core_seconds",
    "phase_cells",
    "phase_diagram",
    "phase_fractions",
]

#: The phase names; :func:`classify_phases` returns indices into this tuple.
PHASES = ("comprehension", "grokking", "memorization", "confusion")


def classify_phases(step_train, step_test, budget: int, gap: int = 1000) -> np.ndarray:
    """Phase index (into :data:`PHASES`) per run from the first steps reaching 90 % train and
    test accuracy (``NaN`` -- :data:`effgrok.constants.NEVER` -- or ``> budget``: not reached).

    Examples
    --------
    >>> nan = float("nan")
    >>> [PHASES[i] for i in classify_phases([10, 10, 10, nan, nan], [500, 1010, nan, 40, nan], budget=10_000)]
    ['comprehension', 'grokking', 'memorization', 'confusion', 'confusion']
    """
    st = np.asarray(step_train, dtype=np.float64)
    se = np.asarray(step_test, dtype=np.float64)
    tr = reached(st) & (st <= budget)
    te = reached(se) & (se <= budget)
    out = np.full(np.broadcast(st, se).shape, PHASES.index("confusion"))
    both = tr & te
    out[both & (se - st < gap)] = PHASES.index("comprehension")
    out[both & (se - st >= gap)] = PHASES.index("grokking")
    out[tr & ~te] = PHASES.index("memorization")
    return out


def phase_fractions(phases: np.ndarray, axis: int = -1) -> np.ndarray:
    """Fraction of runs in each phase along ``axis`` (last axis of the result indexes :data:`PHASES`)."""
    phases = np.asarray(phases)
    return np.stack([np.mean(phases == k, axis=axis) for k in range(len(PHASES))], axis=-1)


# --------------------------------------------------------------------------- phase diagram (a scan)
#: Grid axes of a phase diagram and the training argument each sets.
PHASE_AXES = {
    "lr_dec": "lr_dec",
    "wd_dec": "wd_dec",
    "lr_emb": "lr_emb",
    "wd_emb": "wd_emb",
    "train_frac": "size",
}

_RUN_KEYS = ("lr_emb", "wd_emb", "lr_dec", "wd_dec", "size")


def toy_job(task: str, p, config: dict, runs: dict, size_kind: str) -> dict:
    """One chunk of a phase diagram: one vmapped batch of toy-model runs."""
    from ..tasks import make_task
    from .toy import ToyConfig, train_toy

    runs = {k: np.asarray(v) for k, v in runs.items()}
    sizes = {"n_train": runs.pop("size")} if size_kind == "n_train" else {"train_fraction": runs.pop("size")}
    res = train_toy(make_task(task, p), ToyConfig(**config), **sizes, **runs)
    return {
        "step_train_acc": res.step_train_acc,
        "step_test_acc": res.step_test_acc,
        "step_rqi": res.step_rqi,
        "final_train_acc": res.final_train_acc,
        "final_test_acc": res.final_test_acc,
        "final_rqi": res.final_rqi,
        "n_train": res.n_train,
    }


def _size_kind(xn: str, yn: str, n_train, train_fraction) -> str:
    for name in (xn, yn):
        if name not in PHASE_AXES:
            raise ValueError(f"phase-diagram axis must be one of {', '.join(PHASE_AXES)}; got {name!r}")
    if xn == yn:
        raise ValueError(f"the two axes must differ, got {xn!r} twice")
    if "train_frac" in (xn, yn):
        return "train_fraction"
    if (n_train is None) == (train_fraction is None):
        raise ValueError("give exactly one of n_train and train_fraction")
    return "n_train" if n_train is not None else "train_fraction"


def _grid_runs(x, y, seeds: np.ndarray, base: dict, size_kind: str) -> dict:
    """Per-run settings of the grid, in order (y, x, seed)."""
    (xn, xv), (yn, yv) = x, y
    runs = {k: [] for k in ("seeds", *_RUN_KEYS)}
    for j in range(yv.size):
        for i in range(xv.size):
            for s in seeds:
                vals = dict(base)
                vals[PHASE_AXES[xn]] = xv[i]
                vals[PHASE_AXES[yn]] = yv[j]
                runs["seeds"].append(int(s))
                for k in _RUN_KEYS:
                    integral = k == "size" and size_kind == "n_train"
                    runs[k].append(int(vals[k]) if integral else float(vals[k]))
    return runs


def estimated_core_seconds(runs: int, steps: int) -> float:
    """Estimated core-seconds of ``runs`` toy runs of ``steps`` steps (the toy model's cost
    model, ``effgrok.nets.toy.estimated_core_seconds``: the batches share one compilation)."""
    from .toy import estimated_core_seconds as toy_core_seconds

    return toy_core_seconds(runs, steps)


def phase_diagram(
    task: str,
    p,
    x: tuple[str, np.ndarray],
    y: tuple[str, np.ndarray],
    *,
    seeds=(0,),
    n_train: int | None = None,
    train_fraction: float | None = None,
    config: dict | None = None,
    fixed: dict | None = None,
    gap: int = 1000,
    batch: int = 64,
    workers: int | None = None,
    scheduler: str | None = None,
    out=None,
    progress: Callable[[int], None] | None = None,
    connect_timeout: float = 10.0,
) -> dict:
    """Toy-model runs on a grid of two hyperparameters × seeds, classified into the four phases.

    ``x`` and ``y`` are ``(axis name, values)`` with names from :data:`PHASE_AXES`; one chunk
    of the scan (:func:`effgrok.scan.run_scan`: in process, ``workers`` processes or a Dask
    ``scheduler``, waiting up to ``connect_timeout`` seconds for it; resumable with ``out``)
    is one vmapped batch of up to ``batch`` runs.
    Returns the per-run first steps, the phase of every run (``(len(y), len(x), len(seeds))``
    indices into :data:`PHASES`) and the fraction of runs per phase and cell.
    """
    from ..scan import ScanStore, chunk_jobs, gather, run_scan
    from ..tasks import make_task
    from .toy import ToyConfig

    (xn, xv), (yn, yv) = x, y
    size_kind = _size_kind(xn, yn, n_train, train_fraction)
    t = make_task(task, p)
    cfg = ToyConfig(**(config or {}))
    base = {"lr_emb": 1e-3, "wd_emb": 0.0, "lr_dec": 1e-4, "wd_dec": 0.0}
    base.update(fixed or {})
    base["size"] = n_train if size_kind == "n_train" else train_fraction
    xv, yv = np.asarray(xv, dtype=float), np.asarray(yv, dtype=float)
    seeds = np.asarray(seeds, dtype=np.int64)
    runs = _grid_runs((xn, xv), (yn, yv), seeds, base, size_kind)

    def params(lo: int, n: int) -> dict:
        chunk = {k: v[lo : lo + n] for k, v in runs.items()}
        return {"task": t.name, "p": t.p, "config": cfg.__dict__, "runs": chunk, "size_kind": size_kind}

    jobs = chunk_jobs("effgrok.nets.phases:toy_job", len(runs["seeds"]), batch, params, prefix="toy")
    store = None
    if out is not None:
        arguments = {"task": t.name, "p": t.p, "x": [xn, xv.tolist()], "y": [yn, yv.tolist()]}
        arguments.update(seeds=seeds.tolist(), config=cfg.__dict__, fixed=base, batch=batch)
        store = ScanStore(out, "phase-diagram", arguments)
    executors = dict(workers=workers, scheduler=scheduler, connect_timeout=connect_timeout)
    res = run_scan(jobs, store=store, progress=progress, **executors)
    cat = {k: v.reshape(yv.size, xv.size, seeds.size) for k, v in gather(res, jobs).items()}
    for k in ("step_train_acc", "step_test_acc", "step_rqi"):  # chunks stored with −1 stay valid
        cat[k] = never_from_legacy(cat[k])
    phases = classify_phases(cat["step_train_acc"], cat["step_test_acc"], cfg.steps, gap)
    test_only = (reached(cat["step_test_acc"]) & ~reached(cat["step_train_acc"])).sum(axis=-1)
    return {
        "x": (xn, xv),
        "y": (yn, yv),
        "seeds": seeds,
        "phases": phases,
        "fractions": phase_fractions(phases),
        "test_only": test_only,
        "runs": cat,
        "budget": cfg.steps,
        "gap": gap,
    }


def phase_cells(x, y, fractions, test_only) -> list[dict]:
    """One row per cell of a phase diagram over the axes ``x = (name, values)`` and
    ``y = (name, values)``: the two coordinates, the majority phase, the fraction of runs in each
    phase and the number of test-only runs.  ``fractions`` has shape ``(len(y), len(x), 4)``
    (last axis indexes :data:`PHASES`), ``test_only`` shape ``(len(y), len(x))``; rows run over
    ``x`` fastest.

    Examples
    --------
    >>> fr = np.zeros((1, 2, 4)); fr[0, 0, 1] = fr[0, 1, 3] = 1.0
    >>> [c["phase"] for c in phase_cells(("lr", [0.1, 0.2]), ("wd", [0.0]), fr, np.zeros((1, 2)))]
    ['grokking', 'confusion']
    """
    (xn, xv), (yn, yv) = x, y
    fractions = np.asarray(fractions)
    cells = []
    for j, yval in enumerate(yv):
        for i, xval in enumerate(xv):
            fr = fractions[j, i]
            cells.append(
                {
                    xn: float(xval),
                    yn: float(yval),
                    "phase": PHASES[int(fr.argmax())],
                    **{f"fraction_{name}": float(fr[k]) for k, name in enumerate(PHASES)},
                    "test_only_runs": int(np.asarray(test_only)[j, i]),
                }
            )
    return cells
