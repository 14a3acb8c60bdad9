"""A Ctrl-C that Python drops is not lost (effgrok._interrupt).

Python raises KeyboardInterrupt in whatever code runs when SIGINT arrives; inside a ``__del__``
or a garbage-collection callback (JAX has one) it prints "Exception ignored" and drops it.  The
oracle: a ``__del__`` that raises SIGINT, so the drop happens for certain; within
``sticky_sigint`` the next check raises it again and nothing is printed, and a scan stops after
the job that just finished, with that job stored.
"""

from __future__ import annotations

import signal
import sys

import pytest

from effgrok._interrupt import check_interrupted, sticky_sigint
from effgrok.scan import Job, ScanInterrupted, ScanStore, run_scan


class _DropsACtrlC:
    def __del__(self):
        signal.raise_signal(signal.SIGINT)  # the KeyboardInterrupt raised here is dropped


def _drop() -> None:
    _DropsACtrlC()  # created and collected at once


def test_without_the_block_python_drops_it(monkeypatch):
    dropped = []
    monkeypatch.setattr(sys, "unraisablehook", dropped.append)  # where Python reports a drop
    _drop()  # nothing is raised: the drop this module guards against
    assert [d.exc_type for d in dropped] == [KeyboardInterrupt]
    check_interrupted()  # outside the block: nothing pending, nothing raised


def test_within_the_block_the_next_check_raises_it_silently(monkeypatch):
    dropped = []
    monkeypatch.setattr(sys, "unraisablehook", dropped.append)
    with sticky_sigint():
        _drop()
        with pytest.raises(KeyboardInterrupt):
            check_interrupted()
    assert dropped == []  # not printed ("Exception ignored ...")
    assert sys.unraisablehook == dropped.append  # the hook given back
    check_interrupted()  # the flag does not outlive the block
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_scan_stops_after_the_job_during_which_it_was_dropped(tmp_path):
    jobs = [Job(f"k{i}", "_scan_jobs:square", {"x": i}) for i in range(5)]
    store = ScanStore(tmp_path, "test", {})
    calls = []

    def progress(units):
        calls.append(units)
        if len(calls) == 2:
            _drop()  # during the second job's bookkeeping

    with sticky_sigint(), pytest.raises(ScanInterrupted) as info:
        run_scan(jobs, store=store, progress=progress)
    assert (info.value.done, info.value.total) == (2, 5)
    assert sorted(p.stem for p in (tmp_path / "chunks").iterdir()) == ["k0", "k1"]
