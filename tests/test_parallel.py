"""The parallel/serial twins of the compiled kernels (effgrok._parallel)."""

import pytest

from effgrok._parallel import Twins, parallel_allowed, serial, thread_count
from effgrok.effective import critical, dynamics


def test_twins_run_the_serial_driver_inside_serial_only():
    calls = []
    twins = Twins(
        lambda n, *a: calls.append(("parallel", n, a)), lambda n, *a: calls.append(("serial", n, a))
    )
    twins(3, "x", 1)
    with serial():
        assert not parallel_allowed() and thread_count() == 1
        twins(4, "y")
        with serial():
            twins(5)
        twins(6)  # still inside the outer block
    twins(7)
    assert parallel_allowed()
    assert [c[0] for c in calls] == ["parallel", "serial", "serial", "serial", "parallel"]
    assert calls[0] == ("parallel", 3, ("x", 1)) and calls[1] == ("serial", 4, ("y",))


@pytest.mark.parametrize(
    "twins",
    [dynamics._integrate_fixed, dynamics._integrate_adaptive, dynamics._record_many, critical._blocks],
    ids=["fixed", "adaptive", "record_many", "pinning_blocks"],
)
def test_kernel_twins_are_a_parallel_and_a_serial_cached_driver(twins):
    assert twins.parallel.targetoptions.get("parallel") is True
    assert not twins.serial.targetoptions.get("parallel", False)
    for driver in twins:
        assert driver._cache.__class__.__name__ == "FunctionCache"  # cache=True (on disk)
