"""Run a grid of independent jobs: in process, on a local process pool, or on Dask.

A scan is a list of :class:`Job` s.  Every job names its job *kind* -- an importable
``"package.module:function"`` -- and its parameters; :func:`run_job` -- one module-level
function -- computes it wherever it runs, so the in-process loop, the process pool and a Dask
cluster execute the very same code.  This module knows no model: the jobs of each
computation live in its own module (:mod:`effgrok.effective.critical`,
:mod:`effgrok.effective.simulation`, :mod:`effgrok.nets.phases`), built with the chunk-map
helpers :func:`chunk_jobs` and :func:`gather`.

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
import contextvars
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

from ._checks import integer
from ._interrupt import check_interrupted

__all__ = [
    "Job",
    "ScanInterrupted",
    "ScanStore",
    "StoreMismatch",
    "auto_workers",
    "check_scheduler_address",
    "chunk_jobs",
    "chunk_size",
    "estimated_seconds",
    "gather",
    "interrupted_message",
    "job_function",
    "run_job",
    "run_scan",
    "when_started",
]

_SCHEDULER = re.compile(r"^(tcp|tls|inproc|ucx|ws|wss)://[^\s/]+(:\d{1,5})?/?$")
_KEY = re.compile(r"^[A-Za-z0-9_.=-]+$")


_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$")


def job_function(kind: str) -> Callable[..., dict]:
    """The function behind a job kind, an importable ``"package.module:function"`` (the
    module is imported wherever the job runs, so pool and Dask workers find it too; the
    library's own jobs and those of the validation suite are named the same way)."""
    if not isinstance(kind, str) or not _DOTTED.match(kind):
        raise ValueError(f"unknown job kind {kind!r}; a job kind is 'package.module:function'")
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

    ``serial=True`` keeps the job on the calling thread (:func:`effgrok._parallel.serial`: the
    compiled kernels start no threads), as every scan worker does: one worker, one core.
    """
    fn = job_function(kind)
    if not serial:
        return fn(**params)
    from threadpoolctl import threadpool_limits

    from ._parallel import serial as on_one_thread

    with on_one_thread(), threadpool_limits(1):  # one kernel thread and one BLAS thread
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
    """Ctrl-C during a scan; finished chunks are kept (with a store).

    >>> print(ScanInterrupted(3, 40, Path("runs/rc")))
    interrupted: 3 of 40 chunks kept in runs/rc; rerun the same command to resume
    >>> print(ScanInterrupted(3, 40, None))
    interrupted: nothing kept (no --out)
    """

    def __init__(self, done: int, total: int, out: Path | None):
        self.done, self.total, self.out = done, total, out
        super().__init__(interrupted_message(done, total, out))


def interrupted_message(done: int, total: int, out) -> str:
    """The one line said after Ctrl-C: what is kept, and how to resume."""
    if out is None:
        return "interrupted: nothing kept (no --out)"
    return f"interrupted: {done} of {total} chunks kept in {out}; rerun the same command to resume"


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


_STARTED: contextvars.ContextVar = contextvars.ContextVar("effgrok_scan_started", default=None)


@contextlib.contextmanager
def when_started(callback: Callable[[int, int], None]) -> Iterator[None]:
    """Within this block, every :func:`run_scan` calls ``callback(units_left, units)`` once its
    store is open (the arguments checked, the finished chunks found) and before any job runs
    (the command line prints its time estimate there, so bad input still ends in one line)."""
    token = _STARTED.set(callback)
    try:
        yield
    finally:
        _STARTED.reset(token)


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
    connect_timeout: float = 10.0,
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
        thread each.  Not with ``scheduler`` (its cluster has its own workers).
    scheduler : str, optional
        Address of a Dask distributed scheduler (``tcp://host:port``); each job runs on a
        worker with one thread.
    connect_timeout : float
        Seconds to wait for the scheduler before giving up (a ``ValueError``).
    progress : callable, optional
        Called with the ``units`` of every finished (or already stored) job.
    """
    keys = [j.key for j in jobs]
    if len(set(keys)) != len(keys):
        raise ValueError("job keys must be unique")
    if scheduler is not None:
        check_scheduler_address(scheduler)
    if workers is not None:
        integer("workers", workers, lo=1)
    if workers is not None and scheduler is not None:
        raise ValueError(
            f"workers={workers!r} and scheduler={scheduler!r} exclude each other "
            "(the Dask cluster has its own workers); give one of them"
        )
    if not (isinstance(connect_timeout, int | float) and 0 < connect_timeout < float("inf")):
        raise ValueError(f"connect_timeout must be a number of seconds > 0, got {connect_timeout!r}")
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
        check_interrupted()  # a Ctrl-C that Python dropped stops here, with this job kept

    try:
        started = _STARTED.get()
        if started is not None:
            started(sum(j.units for j in todo), sum(j.units for j in jobs))
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

    pool = None
    try:
        with _single_threaded_children(), _sigint_deferred():
            pool = ProcessPoolExecutor(
                max_workers=n_children, mp_context=ctx, initializer=_worker_start, initargs=(os.getpid(),)
            )
            for _ in range(n_children):
                feed(pool)
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
    except BaseException as exc:
        stop.set()
        if pool is not None:
            with _sigint_ignored():
                if isinstance(exc, KeyboardInterrupt):  # keep what the workers finished meanwhile
                    _keep_arrived(arrived, finished)
                _terminate(pool)
        raise
    pool.shutdown(wait=True)


def _keep_arrived(arrived, finished) -> None:
    """Store the results that came back and were not stored yet (after Ctrl-C)."""
    import queue as queue_mod

    while True:
        try:
            job, fut = arrived.get(block=False)
        except queue_mod.Empty:
            return
        if not fut.cancelled() and fut.exception() is None:
            finished(job, fut.result())


def _worker_start(parent: int) -> None:
    """Set up a pool worker: Ctrl-C is left to the parent, which stores what finished and ends
    the workers (a terminal sends SIGINT to the whole process group; without this every worker
    printed its own traceback); and a worker whose parent is gone (killed) exits instead of
    waiting forever for its next job."""
    import signal
    import threading
    import time

    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="effgrok-parent-watch", daemon=True).start()


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Ctrl-C while the workers are forked takes effect when they are (arriving inside the
    fork's own handlers it would be printed and dropped)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    old = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
        if caught:
            signal.raise_signal(signal.SIGINT)


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """A second Ctrl-C while the pool is being ended waits until it is ended."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def _terminate(pool: ProcessPoolExecutor, grace: float = 2.0) -> None:
    """End ``pool`` now: its processes are terminated (killed after ``grace`` seconds), pending
    jobs cancelled; never waits for a running job."""
    import time

    procs = list((getattr(pool, "_processes", None) or {}).values())  # None after shutdown
    for proc in procs:
        proc.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + grace
    for proc in procs:
        proc.join(max(0.0, deadline - time.monotonic()))
        if proc.is_alive():  # pragma: no cover - a worker that ignores SIGTERM
            proc.kill()
            proc.join(1.0)


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


# --------------------------------------------------------------------------- chunk-map helpers
def chunk_size(total: int, target_chunks: int = 64, lo: int = 16, hi: int = 1000) -> int:
    """Chunk length: a function of the scan's own size only (so reruns find the same chunks)."""
    return max(1, min(total, max(lo, min(hi, -(-total // target_chunks)))))


#: Measured seconds before a command's first job (imports, loading the compiled kernels), and
#: the extra start of a local pool's workers (issue 25; 2-core machine).
START_S = 3.0
POOL_START_S = 2.0


def estimated_seconds(core_seconds: float, workers: int | None) -> tuple[float, int]:
    """``(wall seconds, cores)`` of a scan of ``core_seconds`` of work on ``workers`` (as in
    :func:`run_scan`; ``None``: every core through Numba's threads), start-up included.

    >>> estimated_seconds(100.0, 4)
    (30.0, 4)
    """
    cores = max(1, os.cpu_count() or 1) if workers is None else int(workers)
    pool = POOL_START_S if workers is not None and workers > 1 else 0.0
    return START_S + pool + core_seconds / cores, cores


def auto_workers(estimated_core_seconds: float) -> int | None:
    """In process (all Numba threads) for short scans, where starting processes would cost
    more than the scan; else one worker process per core."""
    if estimated_core_seconds < 3.0:
        return None
    return max(1, os.cpu_count() or 1)


def chunk_jobs(
    kind: str, total: int, chunk: int, params: Callable[[int, int], dict], *, prefix: str
) -> list[Job]:
    """Jobs covering items ``0 .. total − 1`` in chunks of ``chunk``: job ``c`` is keyed
    ``f"{prefix}-{c:05d}"``, has ``params(start, n)`` and ``n`` work units."""
    jobs = []
    for c, start in enumerate(range(0, total, chunk)):
        n = min(chunk, total - start)
        jobs.append(Job(key=f"{prefix}-{c:05d}", kind=kind, params=params(start, n), units=n))
    return jobs


def gather(results: dict[str, dict], jobs: list[Job]) -> dict[str, np.ndarray]:
    """The arrays of ``jobs`` (a result of :func:`run_scan`) joined in job order, by name."""
    first = results[jobs[0].key]
    return {name: np.concatenate([np.atleast_1d(results[j.key][name]) for j in jobs]) for name in first}
