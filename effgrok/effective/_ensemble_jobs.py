"""An ensemble of effective-theory trajectories as scan jobs: chunks of members (see
:func:`effgrok.effective.simulation.simulate_ensemble`, the public entry).

Member ``m`` draws its split and initial embedding from ``SeedSequence(seed, spawn_key=(m,))``
alone, so the chunks joined are the ensemble of one call, on any executor and any number of
workers.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..tasks import TASK_NAMES, Task, make_task

#: Core-seconds per member, step and embedding dimension (RK4):
#: ``_STEP_COST + _PAIR_COST · n_train² / n_classes`` (about the training parallelograms),
#: fitted to CPU times measured on one core (issue 25; add p=10, 20, 50, train_fraction 0.6,
#: dim 2: within 0.6-2.3x).  Decides ``workers="auto"`` and the command's time estimate.
_STEP_COST = 1e-7
_PAIR_COST = 6e-10


def core_seconds(task: Task, members: int, n_train: float, steps: int, dim: int) -> float:
    """Estimated core-seconds of an ensemble of ``members`` with ``n_train`` training examples."""
    return members * steps * dim * (_STEP_COST + _PAIR_COST * n_train**2 / task.n_classes)


def n_train_of(task: Task, split: dict) -> float:
    """Training examples of a member under the ``split`` argument (see :func:`run_ensemble_scan`)."""
    if "train" in split:
        return float(len(split["train"]))
    if "size" in split:
        return float(split["size"])
    return float(split["fraction"]) * task.n_examples

_KIND = "effgrok.effective._ensemble_jobs:ensemble_job"

#: Ensemble fields stored per chunk (chunk-file names; kept as first written, so a store
#: made by an earlier version resumes).
_CHUNK_FIELDS = {
    "loss": "loss",
    "z": "z",
    "rqi": "rqi",
    "predicted_test_acc": "predicted_test_accuracy",
    "steps_to_rqi": "steps_to_rqi",
    "n_h": "n_h",
    "grokking_rate": "grokking_rate",
    "pinned": "pinned",
    "z0": "z0",
    "n_train": "n_train",
}


def ensemble_job(task: str, p, members: int, first_member: int, split: dict, options: dict) -> dict:
    """One chunk: members ``first_member .. first_member + members − 1`` of the ensemble."""
    from .dynamics import EffectiveLoss
    from .simulation import simulate_ensemble

    t = make_task(task, p)
    opts = dict(options)
    opts["loss"] = EffectiveLoss(**opts["loss"])
    split = dict(split)
    if "train" in split:
        split["train"] = np.asarray(split["train"], dtype=np.int64)
    ens = simulate_ensemble(t, members, first_member=first_member, **split, **opts)
    out = {chunk: getattr(ens, attr) for attr, chunk in _CHUNK_FIELDS.items()}
    out["steps"] = ens.steps
    if ens.n_steps is not None:
        out["n_steps"] = ens.n_steps
    return out


def run_ensemble_scan(
    task: Task,
    members: int,
    *,
    split: dict,
    setup: dict,
    integrator: dict,
    workers,
    scheduler,
    out,
    progress: Callable[[int], None] | None,
    connect_timeout: float = 10.0,
):
    """The ensemble through :func:`effgrok.scan.run_scan` in chunks of members (resumable
    with ``out``).  ``split`` is one of ``{"fraction": r}``, ``{"size": n}``,
    ``{"train": [example indices]}``; ``setup`` holds ``loss``, ``dim``, ``init``, ``seed`` and
    ``first_member``, ``integrator`` the integration options (see ``simulate_ensemble``)."""
    from ..scan import ScanStore, auto_workers, chunk_jobs, chunk_size, gather, run_scan
    from .metrics import DEFAULT_DELTA
    from .simulation import Ensemble, check_options

    if task.name not in TASK_NAMES:
        raise ValueError(
            f"workers, scheduler and out need a task made by make_task (one of {', '.join(TASK_NAMES)}); "
            f"got {task.name!r}"
        )
    if not isinstance(setup["init"], str):
        raise ValueError("workers, scheduler and out need init given by name, not as an array")
    names = ("method", "learning_rate", "step_size", "delta", "rtol", "atol", "steps", "stride")
    check_options(*(integrator[k] for k in names))
    loss, first_member = setup["loss"], setup["first_member"]
    options = {k: v for k, v in integrator.items() if k != "delta" or v != DEFAULT_DELTA}
    options.update(dim=setup["dim"], init=setup["init"], seed=setup["seed"])
    options["loss"] = {"constraints": loss.constraints, "normalization": loss.normalization, "z": loss.z}

    def params(start: int, n: int) -> dict:
        return {"task": task.name, "p": task.p, "members": n, "first_member": first_member + start}

    jobs = chunk_jobs(_KIND, members, chunk_size(members, lo=64, hi=2048), params, prefix="members")
    for j in jobs:
        j.params.update(split=split, options=options)
    if workers == "auto":
        cost = core_seconds(task, members, n_train_of(task, split), options["steps"], options["dim"])
        workers = None if scheduler is not None else auto_workers(cost)
    store = None
    if out is not None:
        arguments = {"task": task.name, "p": task.p, "members": members, "split": split, "options": options}
        if first_member:
            arguments["first_member"] = first_member
        store = ScanStore(out, "simulate-ensemble", arguments)
    executors = dict(workers=workers, scheduler=scheduler, connect_timeout=connect_timeout)
    res = run_scan(jobs, store=store, progress=progress, **executors)
    cat = gather(res, jobs)
    return Ensemble(
        steps=res[jobs[0].key]["steps"],
        embedding=None,
        loss_convention=loss,
        method=options["method"],
        learning_rate=float(options["learning_rate"]),
        n_steps=cat.get("n_steps"),
        **{attr: cat[chunk] for attr, chunk in _CHUNK_FIELDS.items() if attr != "pinned"},
        pinned=cat["pinned"].astype(bool),
    )
