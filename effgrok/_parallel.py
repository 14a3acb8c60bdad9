"""Whether compiled kernels may use Numba's thread pool in this process.

A scan worker computes on one core; it runs the serial twin of every parallel kernel, so
it never starts Numba's (OpenMP) thread pool: no idle threads compete with the other
workers, and a process that has not started the pool can still be forked safely.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

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
