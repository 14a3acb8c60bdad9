"""Ctrl-C that is never lost.

Python turns SIGINT into a ``KeyboardInterrupt`` raised in whatever Python code runs at that
moment.  When that code is a garbage-collection callback, a ``__del__`` or a weak-reference
callback (JAX registers one: ``_xla_gc_callback``), Python prints "Exception ignored in ..." and
*drops* the exception: the work goes on as if no key had been pressed (seen once in
``tests/test_interrupt.py``: a validation suite interrupted this way ran to its end and exited
0).  Within :func:`sticky_sigint` (the command line's ``main`` and ``python -m validation``),
a Ctrl-C also sets a flag, the dropped exception prints nothing, and :func:`check_interrupted`
-- called where finished work has just been stored (after every job of a scan, every chunk of
runs) -- raises the ``KeyboardInterrupt`` again.  Outside that block both do nothing, so a
program that uses the library keeps its own signal handling.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator

#: whether a Ctrl-C arrived within :func:`sticky_sigint` (reset when the block is entered and left)
_PENDING = [False]


def _on_sigint(signum, frame) -> None:
    _PENDING[0] = True
    raise KeyboardInterrupt


@contextlib.contextmanager
def sticky_sigint() -> Iterator[None]:
    """Within this block a Ctrl-C raises ``KeyboardInterrupt`` as usual *and* is remembered, so
    that :func:`check_interrupted` raises it again if Python dropped it; a dropped one is not
    printed.  (Only in the main thread, where signals arrive; elsewhere a plain block.)

    >>> with sticky_sigint():
    ...     check_interrupted()  # no Ctrl-C: nothing happens
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old_handler = signal.signal(signal.SIGINT, _on_sigint)
    old_hook = sys.unraisablehook

    def hook(unraisable) -> None:
        if not (_PENDING[0] and issubclass(unraisable.exc_type, KeyboardInterrupt)):
            old_hook(unraisable)

    _PENDING[0] = False
    sys.unraisablehook = hook
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old_handler)
        sys.unraisablehook = old_hook
        _PENDING[0] = False


def check_interrupted() -> None:
    """Raise ``KeyboardInterrupt`` if a Ctrl-C arrived within :func:`sticky_sigint` (it may have
    been dropped where it was raised); call it where stopping loses nothing."""
    if _PENDING[0]:
        raise KeyboardInterrupt
