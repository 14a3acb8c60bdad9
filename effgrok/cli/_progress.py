"""What a command says while it runs: its progress and its estimated time, on stderr.

One reporter for every command (:func:`progress_bar`) and one line for every estimate
(:func:`announce_estimate`), printed as the computation starts.
"""

from __future__ import annotations

import sys


def progress_bar(args, total: int, desc: str, unit: str, stream=None):
    """The one progress reporter of the commands, used as ``with ... as bar: bar.update(n)``:
    a tqdm bar on a terminal (or with ``--progress on``); otherwise, as in a CI log or under
    ``nohup``, a :class:`ProgressLines` (a line every 10 s); nothing with ``--progress off``."""
    stream = sys.stderr if stream is None else stream
    if args.progress == "off":
        return ProgressLines(total, desc, unit, stream, every=float("inf"))
    if args.progress == "on" or (hasattr(stream, "isatty") and stream.isatty()):
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, unit=unit, file=stream, dynamic_ncols=True)
    return ProgressLines(total, desc, unit, stream)


class ProgressLines:
    """Progress for a log: every ``every`` seconds, from a background thread (so also while
    one long job runs), one line ``desc: done/total unit (pct%), T elapsed``; nothing for a
    run that ends sooner.

    >>> import io, time
    >>> out = io.StringIO()
    >>> with ProgressLines(10, "critical", "split", out, every=0.05) as bar:
    ...     bar.update(4)
    ...     time.sleep(0.12)
    >>> out.getvalue().splitlines()[0]
    'critical: 4/10 split (40%), 0 s elapsed'
    """

    def __init__(self, total: int, desc: str, unit: str, stream, every: float = 10.0):
        import threading
        import time

        self.total, self.desc, self.unit, self.stream, self.every = total, desc, unit, stream, every
        self.n = 0
        self._start = time.monotonic()
        self._stop = threading.Event()
        self._thread = None
        if every != float("inf"):
            self._thread = threading.Thread(target=self._report, name="effgrok-progress", daemon=True)
            self._thread.start()

    def line(self) -> str:
        import time

        pct = 100.0 * self.n / self.total if self.total else 100.0
        elapsed = duration(time.monotonic() - self._start)
        return f"{self.desc}: {self.n}/{self.total} {self.unit} ({pct:.0f}%), {elapsed} elapsed"

    def _report(self) -> None:
        while not self._stop.wait(self.every):
            print(self.line(), file=self.stream, flush=True)

    def update(self, n: int = 1) -> None:
        self.n += n

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def duration(seconds: float) -> str:
    """A time span for people: ``"40 s"``, ``"2.5 min"``, ``"2.0 h"``.

    >>> duration(3.2), duration(150), duration(7200)
    ('3 s', '2.5 min', '2.0 h')
    """
    if seconds < 99.5:
        return f"{seconds:.0f} s"
    if seconds < 5940:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def announce_estimate(seconds: float, cores: int, stream=None) -> None:
    """Print the estimated wall time of a command, in one line on stderr (from the command's
    cost model; see ``core_seconds`` beside each computation)."""
    cores_text = f"{cores} core" + ("s" if cores != 1 else "")
    line = f"effgrok: estimated time: about {duration(seconds)} on {cores_text}"
    print(line, file=stream or sys.stderr, flush=True)


def estimate_when_trained(core_seconds: float):
    """A context in which the command's trainer prints the estimated time of a computation run
    in this process once, as it starts (its inputs checked; :func:`effgrok._started.when_started`).
    A JAX trainer on the CPU keeps about one core busy; ``core_seconds`` comes from the cost
    model beside the trainer (``estimated_core_seconds`` in :mod:`effgrok.nets` and
    :mod:`effgrok.kernels.study`); start-up is added."""
    from .._started import when_started
    from ..scan import estimated_seconds

    done = []

    def started() -> None:
        if not done:  # once, however many trainer calls the command makes
            done.append(True)
            announce_estimate(*estimated_seconds(core_seconds, 1))

    return when_started(started)


def estimate_when_started(core_seconds: float, workers, scheduler):
    """A context in which the command's scan prints its estimated time as it starts, for the
    units not yet stored (nothing for a cluster, whose size is unknown here)."""
    import contextlib

    from ..scan import estimated_seconds, when_started

    if scheduler is not None:
        return contextlib.nullcontext()

    def started(left: int, total: int) -> None:
        announce_estimate(*estimated_seconds(core_seconds * left / max(total, 1), workers))

    return when_started(started)
