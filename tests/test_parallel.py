"""The compiled kernels' threads (effgrok._parallel)."""

import threading

import numpy as np
import pytest

from effgrok import _parallel
from effgrok._parallel import Threaded, chunk_bounds, parallel_allowed, serial, thread_count
from effgrok.effective import critical, dynamics


@pytest.mark.parametrize("count, threads", [(10, 3), (7, 7), (3, 1), (1000, 16), (5, 2)])
def test_chunks_cover_the_range_once_in_near_equal_parts(count, threads):
    edges = chunk_bounds(count, threads)
    assert edges[0] == 0 and edges[-1] == count and len(edges) == threads + 1
    sizes = np.diff(edges)
    assert sizes.min() >= count // threads and sizes.max() <= -(-count // threads)


def test_threaded_runs_every_item_once_on_its_threads(monkeypatch):
    seen, names = [], set()
    together = threading.Barrier(3, timeout=30)  # passes only if the 3 chunks run at once

    def driver(start, stop, out, tag):
        names.add(threading.current_thread().name)
        if tag == "x":
            together.wait()
        seen.append((start, stop, tag))
        out[start:stop] += 1

    monkeypatch.setattr(_parallel, "thread_count", lambda: 3)
    out = np.zeros(10, int)
    Threaded(driver)(10, out, "x")
    assert sorted(seen) == [(0, 3, "x"), (3, 6, "x"), (6, 10, "x")] and np.all(out == 1)
    assert len(names) == 3 and threading.main_thread().name in names  # the caller takes a chunk
    seen.clear()
    Threaded(driver)(2, out, "y")  # fewer items than threads: one chunk per item
    assert sorted(seen) == [(0, 1, "y"), (1, 2, "y")]


def test_serial_keeps_kernels_on_the_calling_thread(monkeypatch):
    calls = []
    monkeypatch.setattr(_parallel, "thread_count", lambda: 1 if not parallel_allowed() else 4)
    driver = Threaded(lambda lo, hi: calls.append((lo, hi, threading.current_thread().name)))
    with serial():
        assert not parallel_allowed() and _parallel.thread_count() == 1
        driver(8)
        with serial():
            driver(5)
        driver(6)  # still inside the outer block
    assert parallel_allowed()
    main = threading.main_thread().name
    assert calls == [(0, 8, main), (0, 5, main), (0, 6, main)]


def test_thread_count_is_one_inside_serial_and_numbas_setting_outside():
    import numba

    assert thread_count() == numba.config.NUMBA_NUM_THREADS
    with serial():
        assert thread_count() == 1


def test_an_error_in_another_thread_reaches_the_caller(monkeypatch):
    def driver(start, stop):
        if start > 0:
            raise ValueError(f"chunk {start}")

    monkeypatch.setattr(_parallel, "thread_count", lambda: 2)
    with pytest.raises(ValueError, match="chunk 5"):
        Threaded(driver)(10)


@pytest.mark.parametrize(
    "kernel",
    [dynamics._integrate_fixed, dynamics._integrate_adaptive, dynamics._record_many, critical._blocks],
    ids=["fixed", "adaptive", "record_many", "pinning_blocks"],
)
def test_kernel_drivers_are_cached_serial_and_release_the_gil(kernel):
    driver = kernel.driver
    assert not driver.targetoptions.get("parallel", False)  # no Numba thread pool, no parfor compile
    assert driver.targetoptions.get("nogil") is True  # the threads run at once
    assert driver._cache.__class__.__name__ == "FunctionCache"  # cache=True (on disk)
