"""Whether compiled kernels may use Numba's thread pool in this process.

A scan worker computes on one core; it runs the serial twin of every parallel kernel, so
it never starts Numba's (OpenMP) thread pool: no idle threads compete with the other
workers, and a process that has not started the pool can still be forked safely.

A kernel's twins are two compiled drivers in its module (one loops over ``prange``, one over
``range``); :class:`Twins` picks one of them.  They are not one generic driver taking the
kernel as an argument, nor drivers made by a factory around it: Numba keys the on-disk cache
of such a driver on the kernel object of the process, so every new process would compile the
drivers again (and add a cache entry each time).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
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
    """Threads a parallel kernel will use (1 inside :func:`serial`, without starting the pool)."""
    if not parallel_allowed():
        return 1
    import numba

    return numba.get_num_threads()


class Twins(NamedTuple):
    """A compiled driver over ``prange(count)`` and its serial twin over ``range(count)``.

    Calling ``Twins(parallel, serial)(count, *args)`` runs ``parallel(count, *args)``, or
    ``serial(count, *args)`` inside :func:`serial`.
    """

    parallel: Callable
    serial: Callable

    def __call__(self, count: int, *args) -> None:
        (self.parallel if parallel_allowed() else self.serial)(count, *args)
