"""The critical-size computation as scan jobs: chunks of orderings per task (see
:func:`effgrok.effective.critical.critical_fraction` and
:func:`~effgrok.effective.critical.critical_scan`, its public entries).

A job recomputes its task from ``(name, p)`` and its orderings ``start .. start + n − 1`` from
the seed and the task's coordinates alone, so the numbers are the same on any executor and
any number of workers.
"""

from __future__ import annotations

from collections.abc import Callable

from ..tasks import TASK_NAMES, Task, make_task

#: Core-seconds per ordering: ``_EXAMPLE_COST · n_examples + _SLOT_COST · n_slots⁴``, fitted to
#: CPU times measured on one core (issue 25; add p=10 and add-mod p=97, 200, 500, 1000: the fit
#: is within 0.6-1.25x of each).  Decides ``workers="auto"`` and the command's time estimate.
_EXAMPLE_COST = 7e-8
_SLOT_COST = 3.4e-13


def core_seconds(tasks: list[Task], splits: int) -> float:
    """Estimated core-seconds of the pinning sizes of ``splits`` orderings of every task."""
    return float(sum(splits * (t.n_examples * _EXAMPLE_COST + t.n_slots**4 * _SLOT_COST) for t in tasks))


def choose_workers(tasks: list[Task], splits: int, workers, scheduler):
    """``workers`` with ``"auto"`` resolved (see :func:`effgrok.scan.auto_workers`)."""
    from ..scan import auto_workers

    if workers != "auto":
        return workers
    return None if scheduler is not None else auto_workers(core_seconds(tasks, splits))

_KIND = "effgrok.effective._critical_jobs:pinning_job"


def pinning_job(task: str, p, splits: int, start: int, seed: int, method: str, coords=None) -> dict:
    """One chunk: pinning sizes of orderings ``start .. start + splits − 1`` of task ``(task, p)``."""
    from .critical import pinning_sizes

    t = make_task(task, p)
    if coords is None:  # the scan's coordinate, (p,)
        coords = (t.p,) if t.p is not None else ()
    T = pinning_sizes(t, splits, seed=seed, coords=tuple(coords), method=method, start=start)
    return {"pinning_sizes": T}


def _jobs(t: Task, splits: int, seed: int, method: str, coords) -> list:
    from ..scan import chunk_jobs, chunk_size

    def params(start: int, n: int) -> dict:
        out = {"task": t.name, "p": t.p, "splits": n, "start": start, "seed": seed, "method": method}
        if coords is not None:
            out["coords"] = list(coords)
        return out

    return chunk_jobs(_KIND, splits, chunk_size(splits), params, prefix=f"{t.name}-p{t.p}")


def run_critical_tasks(
    tasks: list[Task],
    splits: int,
    *,
    seed: int,
    method: str,
    confidence: float,
    coords=None,
    workers,
    scheduler,
    out,
    progress: Callable[[int], None] | None,
    connect_timeout: float = 10.0,
) -> list:
    """:func:`~effgrok.effective.critical.summarize_pinning_sizes` of every task, its pinning
    sizes computed through :func:`effgrok.scan.run_scan` (resumable with ``out``).
    ``coords=None`` keys each task by ``(p,)``; otherwise by ``coords`` (one task only)."""
    from ..scan import ScanStore, gather, run_scan
    from .critical import summarize_pinning_sizes

    for t in tasks:
        if t.name not in TASK_NAMES:
            raise ValueError(
                f"workers, scheduler and out need a task made by make_task (one of "
                f"{', '.join(TASK_NAMES)}); got {t.name!r}"
            )
    per_task = [_jobs(t, splits, seed, method, coords) for t in tasks]
    workers = choose_workers(tasks, splits, workers, scheduler)
    store = None
    if out is not None:
        arguments = {"task": tasks[0].name, "p": [t.p for t in tasks], "splits": splits}
        arguments.update(seed=seed, method=method)
        if coords is not None:
            arguments["coords"] = list(coords)
        store = ScanStore(out, "critical", arguments)
    jobs = [j for js in per_task for j in js]
    executors = dict(workers=workers, scheduler=scheduler, connect_timeout=connect_timeout)
    res = run_scan(jobs, store=store, progress=progress, **executors)
    return [
        summarize_pinning_sizes(
            t, gather(res, js)["pinning_sizes"], seed=seed, confidence=confidence, method=method
        )
        for t, js in zip(tasks, per_task, strict=True)
    ]
