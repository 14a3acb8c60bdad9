"""The moment a computation starts: a trainer (or a kernel study) calls :func:`started` once
its inputs are checked and before it computes; within :func:`when_started`, the caller's
callback runs there (the command line prints its time estimate then, so bad input still ends
in one line -- as :func:`effgrok.scan.when_started` for the scans)."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator

_STARTED: contextvars.ContextVar = contextvars.ContextVar("effgrok_training_started", default=None)


@contextlib.contextmanager
def when_started(callback: Callable[[], None]) -> Iterator[None]:
    """Within this block, :func:`started` calls ``callback()``.

    >>> calls = []
    >>> with when_started(lambda: calls.append("started")):
    ...     started()
    >>> started(); calls
    ['started']
    """
    token = _STARTED.set(callback)
    try:
        yield
    finally:
        _STARTED.reset(token)


def started() -> None:
    """Call the callback of :func:`when_started`, if any (a computation, its inputs checked:
    :func:`effgrok.nets.engine.map_chunks` (every trainer of the driver),
    :func:`effgrok.kernels.study.ntk_study`)."""
    callback = _STARTED.get()
    if callback is not None:
        callback()
