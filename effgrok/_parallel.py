"""How the compiled kernels spread independent items over the cores of one process.

A parallel kernel is one compiled driver, ``driver(start, stop, *args)``, that runs its item
kernel for every ``start <= i < stop`` and releases the GIL (``nogil=True``).
:class:`Threaded` splits ``range(count)`` into one contiguous chunk per thread (the static
schedule of Numba's ``prange``) and runs the chunks on Python threads, the calling thread
taking the first; each item writes only its own rows, so results do not depend on the number
of threads.  Why threads and not ``prange``:

* a ``parallel=True`` driver cost 2-8 s more to compile on a cold cache than the kernel it
  calls, and needed a serial twin compiled beside it for the scan workers
  (``docs/architecture.md`` has the timings);
* no Numba thread pool (OpenMP, TBB or workqueue) is ever started, so a process that ran the
  kernels can still be forked, and no idle pool threads compete with the scan's workers.

A scan worker computes on one core: within :func:`serial` (the scan runner enters it in
every worker) drivers run on the calling thread only.  Elsewhere they use
:func:`thread_count` threads: Numba's ``NUMBA_NUM_THREADS`` (the environment variable; by
default the CPUs this process may run on).

The drivers are written out in their kernels' modules, not made by a factory around the
kernel: Numba would key the on-disk cache of such a driver on the kernel object of the
process, so every new process would compile the drivers again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

_serial_depth = 0


@contextlib.contextmanager
def serial() -> Iterator[None]:
    """Within this block kernels run on the calling thread only."""
    global _serial_depth
    _serial_depth += 1
    try:
        yield
    finally:
        _serial_depth -= 1


def parallel_allowed() -> bool:
    return _serial_depth == 0


def thread_count() -> int:
    """Threads a parallel kernel will use: 1 inside :func:`serial`, else ``NUMBA_NUM_THREADS``."""
    if not parallel_allowed():
        return 1
    from numba import config

    return max(1, int(config.NUMBA_NUM_THREADS))


def chunk_bounds(count: int, threads: int) -> list[int]:
    """Edges of ``threads`` contiguous chunks of ``range(count)``, sizes differing by ≤ 1.

    >>> chunk_bounds(10, 3)
    [0, 3, 6, 10]
    """
    return [count * k // threads for k in range(threads + 1)]


class Threaded(NamedTuple):
    """A compiled driver ``driver(start, stop, *args)`` run over ``range(count)`` on threads.

    ``Threaded(driver)(count, *args)`` calls ``driver(lo, hi, *args)`` once per chunk of
    :func:`chunk_bounds` (``count`` and :func:`thread_count`, whichever is smaller, chunks).
    """

    driver: Callable

    def __call__(self, count: int, *args) -> None:
        threads = min(thread_count(), count)
        if threads <= 1:
            self.driver(0, count, *args)
            return
        edges = chunk_bounds(count, threads)
        with ThreadPoolExecutor(threads - 1, thread_name_prefix="effgrok-kernel") as pool:
            others = [pool.submit(self.driver, edges[k], edges[k + 1], *args) for k in range(1, threads)]
            self.driver(edges[0], edges[1], *args)
            for done in others:
                done.result()
