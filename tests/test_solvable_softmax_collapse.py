"""Softmax-collapse thresholds against direct floating-point evaluation; StableMax against its formula."""

import math

import numpy as np
import pytest

from effgrok.solvable.softmax_collapse import (
    collapse_step,
    gradient_underflow_gap,
    loss_absorption_gap,
    stablemax,
    stablemax_cross_entropy,
    stablemax_s,
)


def _ce_loss(gap: float, C: int, dtype) -> float:
    """Cross-entropy of the correct class with all C − 1 wrong logits ``gap`` below, in ``dtype``
    (max-shifted log-sum-exp, as every framework computes it)."""
    z = np.zeros(C, dtype=dtype)
    z[1:] = dtype(-gap)
    return float(np.log(np.sum(np.exp(z - z.max()), dtype=dtype)) - (z[0] - z.max()))


@pytest.mark.parametrize("C", [2, 10, 97])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_loss_absorption_bracket_contains_the_exact_zero(C, dtype):
    name = np.dtype(dtype).name
    lo = loss_absorption_gap(C, name, summed_first=False)
    hi = loss_absorption_gap(C, name)
    assert hi - lo == pytest.approx(math.log(C - 1))
    # below the bracket the loss is positive, above it exactly 0 in that precision, whatever
    # order numpy's pairwise summation uses (margin 0.3 for rounding)
    assert _ce_loss(lo - 0.3, C, dtype) > 0
    assert _ce_loss(hi + 0.3, C, dtype) == 0.0
    # the bracket is tight: a sum formed before the 1 is added sits at its upper end
    tail = np.sum(np.full(C - 1, np.exp(dtype(-(hi - 0.3)))), dtype=dtype)
    assert dtype(1) + tail > 1
    tail = np.sum(np.full(C - 1, np.exp(dtype(-(hi + 0.3)))), dtype=dtype)
    assert dtype(1) + tail == 1


def test_gradient_underflow_threshold():
    for dtype in (np.float32, np.float64):
        g = gradient_underflow_gap(np.dtype(dtype).name)
        assert np.exp(dtype(-(g - 1.0))) > 0
        assert np.exp(dtype(-(g + 1.0))) == 0
    assert gradient_underflow_gap("float32", subnormals=False) == pytest.approx(-math.log(2.0**-126))


def test_stablemax_matches_its_definition():
    x = np.array([-3.0, -0.5, 0.0, 0.5, 4.0])
    np.testing.assert_allclose(stablemax_s(x), [1 / 4, 1 / 1.5, 1.0, 1.5, 5.0], rtol=1e-15)
    z = np.array([[2.0, -1.0, 0.0], [-3.0, 0.5, -0.5]])
    p = stablemax(z)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(p[0], np.array([3.0, 0.5, 1.0]) / 4.5, rtol=1e-15)
    ell = stablemax_cross_entropy(z, np.array([0, 2]))
    np.testing.assert_allclose(ell, -np.log([p[0, 0], p[1, 2]]), rtol=1e-12)
    # no collapse: a gap of 1e6 still leaves a positive loss in float64
    assert stablemax_cross_entropy([[1e6, 0.0, 0.0]], [0])[0] > 0
    with pytest.raises(ValueError, match="labels must be integers"):
        stablemax_cross_entropy(z, np.array([0, 3]))


def test_collapse_step_and_bad_input():
    assert collapse_step([0, 10, 20], [0.0, 0.5, 1.0]) == 10.0
    assert math.isnan(collapse_step([0, 10, 20], [0.0, 0.1, 0.2]))
    with pytest.raises(ValueError, match="n_classes must be an integer >= 2"):
        loss_absorption_gap(1)
    with pytest.raises(ValueError, match="floating-point dtype"):
        loss_absorption_gap(5, "int32")
