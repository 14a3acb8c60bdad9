"""Run a grid of independent jobs: in process, on a local process pool, or on Dask.

A scan is a list of :class:`Job` s.  Every job names a registered job *kind* and its
parameters; :func:`run_job` -- one module-level function -- computes it wherever it runs,
so the in-process loop, the process pool and a Dask cluster execute the very same code.
Every random draw inside a job is keyed by the job's coordinates (see
:func:`effgrok.effective.critical.pinning_sizes` and
:func:`effgrok.effective.simulation.simulate_ensemble`), so the numbers do not depend on
where, in which order or on how many workers the jobs run.

With a :class:`ScanStore` the driver writes each finished job to ``DIR/chunks/KEY.npz``
atomically (temporary file, then rename) as soon as it arrives, and keeps a manifest of
the scan's arguments.  Rerunning the same scan skips finished chunks; a store written with
other arguments is refused.  Ctrl-C cancels what is pending and leaves every finished chunk
on disk (the manifest says the scan is incomplete).
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import re
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "Job",
    "ScanInterrupted",
    "ScanStore",
    "StoreMismatch",
    "check_scheduler_address",
    "critical_jobs",
    "job_function",
    "run_critical",
    "run_ensemble",
    "run_job",
    "run_phase_diagram",
    "run_scan",
]

_SCHEDULER = re.compile(r"^(tcp|tls|inproc|ucx|ws|wss)://[^\s/]+(:\d{1,5})?/?$")
_KEY = re.compile(r"^[A-Za-z0-9_.=-]+$")


# --------------------------------------------------------------------------- job kinds
def _critical_job(task: str, p, splits: int, start: int, seed: int, method: str) -> dict:
    from .effective.critical import pinning_sizes
    from .tasks import make_task

    t = make_task(task, p)
    coords = (t.p,) if t.p is not None else ()
    return {"pinning_sizes": pinning_sizes(t, splits, seed=seed, coords=coords, method=method, start=start)}


def _ensemble_job(task: str, p, members: int, first_member: int, split: dict, options: dict) -> dict:
    from .effective.dynamics import EffectiveLoss
    from .effective.simulation import simulate_ensemble
    from .tasks import make_task

    t = make_task(task, p)
    opts = dict(options)
    opts["loss"] = EffectiveLoss(**opts["loss"])
    split = dict(split)
    if "train" in split:
        split["train"] = np.asarray(split["train"], dtype=np.int64)
    ens = simulate_ensemble(t, members, first_member=first_member, **split, **opts)
    out = {
        "loss": ens.loss,
        "z": ens.z,
        "rqi": ens.rqi,
        "predicted_test_accuracy": ens.predicted_test_accuracy,
        "steps_to_rqi": ens.steps_to_rqi,
        "n_h": ens.n_h,
        "grokking_rate": ens.grokking_rate,
        "pinned": ens.pinned,
        "z0": ens.z0,
        "n_train": ens.n_train,
        "steps": ens.steps,
    }
    if ens.n_steps is not None:
        out["n_steps"] = ens.n_steps
    return out


def _toy_job(task: str, p, config: dict, runs: dict, size_kind: str) -> dict:
    from .nets.toy import ToyConfig, train_toy
    from .tasks import make_task

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


JOB_KINDS: dict[str, Callable[..., dict]] = {
    "critical": _critical_job,
    "ensemble": _ensemble_job,
    "toy": _toy_job,
}


_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$")


def job_function(kind: str) -> Callable[..., dict]:
    """The function behind a job kind: a registered name (:data:`JOB_KINDS`) or an importable
    ``"package.module:function"`` (how code outside the library, such as the validation suite,
    runs its own jobs; the module is imported wherever the job runs, so pool and Dask workers
    find it too)."""
    if kind in JOB_KINDS:
        return JOB_KINDS[kind]
    if not isinstance(kind, str) or not _DOTTED.match(kind):
        raise ValueError(
            f"unknown job kind {kind!r}; known: {', '.join(JOB_KINDS)}, or 'package.module:function'"
        )
    import importlib

    module, name = kind.split(":")
    try:
        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"job kind {kind!r} does not name an importable function: {exc}") from None
    if not callable(fn):
        raise ValueError(f"job kind {kind!r} names {type(fn).__name__}, not a function")
    return fn


def run_job(kind: str, params: dict, serial: bool = False) -> dict:
    """Compute one job (the same function in every executor); returns arrays by name.

    ``serial=True`` keeps the job on the calling thread (the serial twins of the parallel
    kernels), as every scan worker does: one worker, one core.
    """
    fn = job_function(kind)
    if not serial:
        return fn(**params)
    from threadpoolctl import threadpool_limits

    from ._parallel import serial as on_one_thread

    with on_one_thread(), threadpool_limits(1):  # one Numba and one BLAS thread
        return fn(**params)


@dataclass(frozen=True)
class Job:
    """One grid point: ``key`` (unique, file-name safe), ``kind``, ``params`` and the
    number of work ``units`` it represents (for the progress bar)."""

    key: str
    kind: str
    params: dict = field(hash=False)
    units: int = 1

    def __post_init__(self):
        if not _KEY.match(self.key):
            raise ValueError(f"job key {self.key!r} must use letters, digits, '_', '.', '=' and '-' only")
        job_function(self.kind)  # raises for an unknown kind


# --------------------------------------------------------------------------- persistent store
class StoreMismatch(ValueError):
    """The output folder holds a scan made with other arguments."""


class ScanInterrupted(KeyboardInterrupt):
    """Ctrl-C during a scan; finished chunks are kept."""

    def __init__(self, done: int, total: int, out: Path | None):
        self.done, self.total, self.out = done, total, out
        where = f" in {out}/" if out is not None else ""
        super().__init__(f"interrupted after {done} of {total} chunks{where}")


def _canonical(obj):
    return json.loads(json.dumps(obj, sort_keys=True, default=str))


class ScanStore:
    """Chunk files and manifest of one scan in a folder.

    ``DIR/manifest.json`` records the command, the arguments that determine the results
    and whether the scan is complete; ``DIR/chunks/KEY.npz`` holds finished jobs (plain
    numeric arrays, read with ``allow_pickle=False``).
    """

    def __init__(self, folder, command: str, arguments: dict):
        self.folder = Path(folder)
        self.command = command
        self.arguments = _canonical(arguments)
        self.chunks = self.folder / "chunks"
        self.manifest_path = self.folder / "manifest.json"

    def open(self, jobs: list[Job]) -> None:
        """Create the folder or check that an existing scan there has the same arguments."""
        if self.folder.exists() and not self.folder.is_dir():
            raise StoreMismatch(f"--out {str(self.folder)!r} exists and is not a folder")
        if self.manifest_path.exists():
            try:
                old = json.loads(self.manifest_path.read_text())
            except (OSError, ValueError) as exc:
                raise StoreMismatch(f"cannot read {self.manifest_path}: {exc}") from None
            if old.get("command") != self.command or old.get("arguments") != self.arguments:
                diff = _describe_difference(
                    old.get("arguments", {}), self.arguments, old.get("command"), self.command
                )
                raise StoreMismatch(
                    f"{self.folder}/ holds a scan made with other arguments ({diff}); "
                    "use another --out or delete that folder"
                )
        self.chunks.mkdir(parents=True, exist_ok=True)
        self._write_manifest(jobs, complete=all(self.has(j) for j in jobs))

    def _write_manifest(self, jobs: list[Job], complete: bool) -> None:
        from . import __version__
        from .results import write_json_atomic

        done = sum(self.has(j) for j in jobs)
        write_json_atomic(
            self.manifest_path,
            {
                "effgrok_version": __version__,
                "command": self.command,
                "arguments": self.arguments,
                "chunks": len(jobs),
                "chunks_done": done,
                "complete": complete,
            },
        )

    def finish(self, jobs: list[Job]) -> None:
        self._write_manifest(jobs, complete=all(self.has(j) for j in jobs))

    def path(self, job: Job) -> Path:
        return self.chunks / f"{job.key}.npz"

    def has(self, job: Job) -> bool:
        return self.path(job).exists()

    def load(self, job: Job) -> dict:
        with np.load(self.path(job), allow_pickle=False) as z:
            return {k: z[k] for k in z.files}

    def save(self, job: Job, result: dict) -> None:
        from .results import write_npz_atomic

        write_npz_atomic(self.path(job), **result)


def _describe_difference(old: dict, new: dict, old_cmd, new_cmd) -> str:
    if old_cmd != new_cmd:
        return f"command {old_cmd!r} ≠ {new_cmd!r}"
    parts = []
    for k in sorted(set(old) | set(new)):
        if old.get(k) != new.get(k):
            parts.append(f"{k}: {old.get(k)!r} ≠ {new.get(k)!r}")
    return "; ".join(parts[:4]) or "different arguments"


# --------------------------------------------------------------------------- executors
@contextlib.contextmanager
def _single_threaded_children() -> Iterator[None]:
    """Worker processes inherit this environment: one BLAS/OpenMP/Numba thread each."""
    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
    old = {n: os.environ.get(n) for n in names}
    os.environ.update({n: "1" for n in names})
    try:
        yield
    finally:
        for n, v in old.items():
            if v is None:
                os.environ.pop(n, None)
            else:
                os.environ[n] = v


def check_scheduler_address(address: str) -> str:
    """Validate a Dask scheduler address such as ``tcp://10.0.0.5:8786``."""
    if not isinstance(address, str) or not _SCHEDULER.match(address):
        raise ValueError(f"scheduler address must look like tcp://host:port, got {address!r}")
    return address


def run_scan(
    jobs: list[Job],
    *,
    store: ScanStore | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int], None] | None = None,
    connect_timeout: float = 20.0,
) -> dict[str, dict]:
    """Run ``jobs`` and return ``{key: result}``.

    Parameters
    ----------
    jobs : list of Job
    store : ScanStore, optional
        Stream finished jobs to disk and skip those already there.
    workers : int or None
        ``None``: in this process, Numba using all its threads inside each job; ``1``: in
        this process on one thread; ``K > 1``: this process and ``K − 1`` spawned ones, one
        thread each.  Ignored with ``scheduler``.
    scheduler : str, optional
        Address of a Dask distributed scheduler (``tcp://host:port``); each job runs on a
        worker with one thread.
    progress : callable, optional
        Called with the ``units`` of every finished (or already stored) job.
    """
    keys = [j.key for j in jobs]
    if len(set(keys)) != len(keys):
        raise ValueError("job keys must be unique")
    if scheduler is not None:
        check_scheduler_address(scheduler)
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1
    ):
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    results: dict[str, dict] = {}
    if store is not None:
        store.open(jobs)
        for j in jobs:
            if store.has(j):
                results[j.key] = store.load(j)
                if progress is not None:
                    progress(j.units)
    todo = [j for j in jobs if j.key not in results]

    def finished(job: Job, res: dict) -> None:
        if store is not None:
            store.save(job, res)
        results[job.key] = res
        if progress is not None:
            progress(job.units)

    try:
        if not todo:
            pass
        elif scheduler is not None:
            _run_dask(todo, scheduler, finished, connect_timeout)
        elif workers is None or workers == 1 or len(todo) == 1:
            for j in todo:
                finished(j, run_job(j.kind, j.params, serial=workers is not None))
        else:
            _run_pool(todo, int(workers), finished)
    except KeyboardInterrupt:
        if store is not None:
            store.finish(jobs)
        raise ScanInterrupted(len(results), len(jobs), store.folder if store else None) from None
    if store is not None:
        store.finish(jobs)
    return results


def _process_context():
    """``fork`` while this process has not started Numba's thread pool (children then inherit
    the loaded kernels and start at once; workers never start it, see :func:`run_job`);
    ``spawn`` otherwise (and whenever JAX is loaded), since forking a process whose OpenMP
    or JAX threads run is unsafe."""
    methods = multiprocessing.get_all_start_methods()
    if "jax" in sys.modules:  # JAX runs threads of its own: forking after its import can deadlock
        return multiprocessing.get_context("spawn")
    try:
        from numba.np.ufunc import parallel

        launched = bool(getattr(parallel, "_is_initialized", True))
    except ImportError:  # pragma: no cover
        launched = True
    return multiprocessing.get_context("fork" if "fork" in methods and not launched else "spawn")


def _run_pool(todo: list[Job], workers: int, finished) -> None:
    """``workers − 1`` child processes plus this process, one core each.

    Children take jobs from the front of the queue, one at a time: a finished child is handed
    its next job at once from the executor's thread (the compiled kernels release the GIL).
    This process takes jobs from the back meanwhile, so no core idles while the children
    start and the last jobs end together.  Results are stored here, on the calling thread.
    """
    import queue as queue_mod
    import threading

    ctx = _process_context()
    n_children = max(1, min(workers - 1, len(todo) - 1))
    pending = list(todo)
    lock = threading.Lock()
    arrived: queue_mod.Queue = queue_mod.Queue()
    in_flight = [0]
    stop = threading.Event()

    def take(front: bool) -> Job | None:
        with lock:
            if not pending:
                return None
            return pending.pop(0) if front else pending.pop()

    def feed(pool) -> None:
        job = None if stop.is_set() else take(front=True)
        if job is None:
            return
        with lock:
            in_flight[0] += 1
        fut = pool.submit(run_job, job.kind, job.params, True)
        fut.add_done_callback(lambda f, job=job: done(pool, job, f))

    def done(pool, job: Job, fut) -> None:
        arrived.put((job, fut))
        with lock:
            in_flight[0] -= 1
        feed(pool)

    def drain(block: bool) -> None:
        while True:
            try:
                job, fut = arrived.get(block=block, timeout=0.1 if block else None)
            except queue_mod.Empty:
                return
            finished(job, fut.result())
            block = False

    with _single_threaded_children():
        pool = ProcessPoolExecutor(max_workers=n_children, mp_context=ctx)
        for _ in range(n_children):
            feed(pool)
    try:
        while True:
            job = take(front=False)
            if job is not None:
                finished(job, run_job(job.kind, job.params, True))
                drain(block=False)
                continue
            with lock:
                busy = in_flight[0]
            if busy == 0 and arrived.empty():
                break
            drain(block=True)
    except BaseException:
        stop.set()
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in list(getattr(pool, "_processes", {}).values()):
            proc.terminate()
        raise
    pool.shutdown(wait=True)


def _run_dask(todo: list[Job], scheduler: str, finished, connect_timeout: float) -> None:
    try:
        from distributed import Client, as_completed
    except ImportError:  # pragma: no cover - depends on the environment
        raise ValueError(
            "a Dask scheduler was given but dask.distributed is not installed (install effgrok[dask])"
        ) from None
    try:
        client = Client(scheduler, timeout=connect_timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ValueError(f"cannot connect to the Dask scheduler at {scheduler}: {exc}") from None
    futures = []
    try:
        tag = f"{os.getpid()}-{id(todo)}"
        for j in todo:
            futures.append(
                client.submit(run_job, j.kind, j.params, True, key=f"effgrok-{j.key}-{tag}", pure=False)
            )
        by_key = {f.key: j for f, j in zip(futures, todo, strict=True)}
        for fut in as_completed(futures, loop=client.loop):
            finished(by_key[fut.key], fut.result())
    except BaseException:
        client.cancel(futures)
        raise
    finally:
        client.close()


# --------------------------------------------------------------------------- scans built on the runner
def _chunk_size(total: int, target_chunks: int = 64, lo: int = 16, hi: int = 1000) -> int:
    """Chunk length: a function of the scan's own size only (so reruns find the same chunks)."""
    return max(1, min(total, max(lo, min(hi, -(-total // target_chunks)))))


def _auto_workers(estimated_core_seconds: float) -> int | None:
    """In process (all Numba threads) for short scans, where starting processes would cost
    more than the scan; else one worker process per core."""
    if estimated_core_seconds < 3.0:
        return None
    return max(1, os.cpu_count() or 1)


def critical_jobs(task: str, ps, splits: int, *, seed: int = 0, method: str = "auto") -> list[Job]:
    """Jobs of a critical-size scan: chunks of orderings for each ``p``."""
    from .tasks import make_task

    jobs = []
    chunk = _chunk_size(splits)
    for p in ps:
        t = make_task(task, p)  # validates
        for c, start in enumerate(range(0, splits, chunk)):
            n = min(chunk, splits - start)
            jobs.append(
                Job(
                    key=f"{t.name}-p{t.p}-{c:05d}",
                    kind="critical",
                    params={
                        "task": t.name,
                        "p": t.p,
                        "splits": n,
                        "start": start,
                        "seed": seed,
                        "method": method,
                    },
                    units=n,
                )
            )
    return jobs


def run_critical(
    task: str,
    ps,
    splits: int = 10_000,
    *,
    seed: int = 0,
    method: str = "auto",
    confidence: float = 0.95,
    workers: int | None = None,
    scheduler: str | None = None,
    out=None,
    progress: Callable[[int], None] | None = None,
) -> list:
    """:func:`~effgrok.effective.critical.critical_fraction` for every ``p``, run through
    :func:`run_scan` (resumable with ``out``); identical numbers on any executor.

    ``workers=None`` runs short scans in process and long ones on a pool of every core;
    ``workers=1`` is one core in process (see :func:`run_scan`).
    """
    from .effective.critical import summarize_pinning_sizes
    from .tasks import make_task

    ps = list(ps)
    tasks = [make_task(task, p) for p in ps]
    jobs = critical_jobs(task, ps, splits, seed=seed, method=method)
    if workers is None and scheduler is None:
        cost = sum(splits * t.n_slots**2.5 * 3e-9 + 1e-6 * splits * t.n_examples for t in tasks)
        workers = _auto_workers(cost)
    store = None
    if out is not None:
        store = ScanStore(
            out, "critical", {"task": task, "p": ps, "splits": splits, "seed": seed, "method": method}
        )
    res = run_scan(jobs, store=store, workers=workers, scheduler=scheduler, progress=progress)
    results = []
    for t in tasks:
        T = np.concatenate([res[j.key]["pinning_sizes"] for j in jobs if j.params["p"] == t.p])
        results.append(summarize_pinning_sizes(t, T, seed=seed, confidence=confidence, method=method))
    return results


def run_ensemble(
    task: str,
    p,
    members: int,
    *,
    split: dict,
    options: dict,
    workers: int | None = None,
    scheduler: str | None = None,
    out=None,
    progress: Callable[[int], None] | None = None,
):
    """:func:`~effgrok.effective.simulation.simulate_ensemble` in chunks of members through
    :func:`run_scan`.  ``split`` is one of ``{"fraction": r}``, ``{"size": n}``,
    ``{"train": [example indices]}``; ``options`` are the keyword arguments of
    ``simulate_ensemble`` with ``loss`` given as a dict of its fields."""
    from .effective.dynamics import EffectiveLoss
    from .effective.simulation import Ensemble, _records
    from .tasks import make_task

    t = make_task(task, p)
    options = dict(options)
    steps, stride = _records(options.get("steps", 5000), options.get("stride"), 100)
    options["steps"], options["stride"] = steps, stride
    loss = EffectiveLoss(**options.get("loss", {}))
    options["loss"] = {"constraints": loss.constraints, "normalization": loss.normalization, "z": loss.z}
    split = {k: (list(map(int, v)) if k == "train" else v) for k, v in split.items()}
    chunk = _chunk_size(members, lo=64, hi=2048)
    jobs = []
    for c, start in enumerate(range(0, members, chunk)):
        n = min(chunk, members - start)
        jobs.append(
            Job(
                key=f"members-{c:05d}",
                kind="ensemble",
                params={
                    "task": t.name,
                    "p": t.p,
                    "members": n,
                    "first_member": start,
                    "split": split,
                    "options": options,
                },
                units=n,
            )
        )
    if workers is None and scheduler is None:
        d = options.get("dim", 1)
        workers = _auto_workers(members * steps * t.n_slots * d * 3e-8)
    store = None
    if out is not None:
        store = ScanStore(
            out,
            "simulate-ensemble",
            {"task": t.name, "p": t.p, "members": members, "split": split, "options": options},
        )
    res = run_scan(jobs, store=store, workers=workers, scheduler=scheduler, progress=progress)
    parts = [res[j.key] for j in jobs]

    def cat(name):
        return np.concatenate([r[name] for r in parts])

    return Ensemble(
        steps=parts[0]["steps"],
        loss=cat("loss"),
        z=cat("z"),
        rqi=cat("rqi"),
        predicted_test_accuracy=cat("predicted_test_accuracy"),
        embedding=None,
        steps_to_rqi=cat("steps_to_rqi"),
        n_h=cat("n_h"),
        grokking_rate=cat("grokking_rate"),
        pinned=cat("pinned").astype(bool),
        z0=cat("z0"),
        n_train=cat("n_train"),
        loss_convention=loss,
        method=options.get("method", "rk4"),
        learning_rate=float(options.get("learning_rate", 1e-3)),
        n_steps=cat("n_steps") if "n_steps" in parts[0] else None,
    )


#: Grid axes of a phase diagram and the training argument each sets.
PHASE_AXES = {
    "lr_dec": "lr_dec",
    "wd_dec": "wd_dec",
    "lr_emb": "lr_emb",
    "wd_emb": "wd_emb",
    "train_frac": "size",
}


def run_phase_diagram(
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
) -> dict:
    """Toy-model runs on a grid of two hyperparameters × seeds, classified into the four phases.

    ``x`` and ``y`` are ``(axis name, values)`` with names from :data:`PHASE_AXES`; one chunk
    of the scan is one vmapped batch of up to ``batch`` runs.  Returns the per-run first
    steps, the phase of every run (``(len(y), len(x), len(seeds))`` indices into
    :data:`effgrok.nets.phases.PHASES`) and the fraction of runs per phase and cell.
    """
    from .constants import never_from_legacy, reached
    from .nets.phases import classify_phases, phase_fractions
    from .nets.toy import ToyConfig
    from .tasks import make_task

    (xn, xv), (yn, yv) = x, y
    for name in (xn, yn):
        if name not in PHASE_AXES:
            raise ValueError(f"phase-diagram axis must be one of {', '.join(PHASE_AXES)}; got {name!r}")
    if xn == yn:
        raise ValueError(f"the two axes must differ, got {xn!r} twice")
    t = make_task(task, p)
    cfg = ToyConfig(**(config or {}))
    if "train_frac" in (xn, yn):
        size_kind = "train_fraction"
    else:
        if (n_train is None) == (train_fraction is None):
            raise ValueError("give exactly one of n_train and train_fraction")
        size_kind = "n_train" if n_train is not None else "train_fraction"
    base = {"lr_emb": 1e-3, "wd_emb": 0.0, "lr_dec": 1e-4, "wd_dec": 0.0}
    base.update(fixed or {})
    base["size"] = n_train if size_kind == "n_train" else train_fraction
    xv, yv = np.asarray(xv, dtype=float), np.asarray(yv, dtype=float)
    seeds = np.asarray(seeds, dtype=np.int64)
    grid = [(j, i, s) for j in range(yv.size) for i in range(xv.size) for s in seeds]
    runs = {k: [] for k in ("seeds", "lr_emb", "wd_emb", "lr_dec", "wd_dec", "size")}
    for j, i, s in grid:
        vals = dict(base)
        vals[PHASE_AXES[xn]] = xv[i]
        vals[PHASE_AXES[yn]] = yv[j]
        runs["seeds"].append(int(s))
        for k in ("lr_emb", "wd_emb", "lr_dec", "wd_dec", "size"):
            runs[k].append(float(vals[k]) if not (k == "size" and size_kind == "n_train") else int(vals[k]))
    jobs = []
    for c, lo in enumerate(range(0, len(grid), batch)):
        chunk = {k: v[lo : lo + batch] for k, v in runs.items()}
        jobs.append(
            Job(
                key=f"toy-{c:05d}",
                kind="toy",
                params={
                    "task": t.name,
                    "p": t.p,
                    "config": cfg.__dict__,
                    "runs": chunk,
                    "size_kind": size_kind,
                },
                units=len(chunk["seeds"]),
            )
        )
    store = None
    if out is not None:
        store = ScanStore(
            out,
            "phase-diagram",
            {
                "task": t.name,
                "p": t.p,
                "x": [xn, xv.tolist()],
                "y": [yn, yv.tolist()],
                "seeds": seeds.tolist(),
                "config": cfg.__dict__,
                "fixed": base,
                "batch": batch,
            },
        )
    res = run_scan(jobs, store=store, workers=workers, scheduler=scheduler, progress=progress)
    cat = {k: np.concatenate([res[j.key][k] for j in jobs]) for k in res[jobs[0].key]}
    shape = (yv.size, xv.size, seeds.size)
    cat = {k: v.reshape(shape) for k, v in cat.items()}
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
