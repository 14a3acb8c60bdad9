"""Softmax collapse and StableMax (Prieto, Barsbey, Mediano & Birdal 2025, arXiv 2501.04697).

Softmax collapse.  For an example whose correct logit leads every other one by ``Δ``, the
cross-entropy is ``ℓ = log(1 + Σ_{j≠y} e^{−Δ_j})``.  A floating-point sum ``1 + s`` rounds to
exactly 1 once ``s`` is below half a unit in the last place of 1, ``2^{−(m+1)}`` (``m`` mantissa
bits: 23 in float32, 52 in float64).  With all ``C − 1`` wrong logits ``Δ`` below the correct one,
the loss is exactly 0 beyond

    Δ_loss = log(C − 1) + (m + 1) log 2        (float32: log(C − 1) + 16.64; float64: + 36.74)

when the small terms are summed before the 1 is added, and already beyond ``(m + 1) log 2``
when they are added to the 1 one at a time -- the order of a reduction is the library's and
the hardware's choice, so the two values bracket the collapse;
on, and its gradient ``p − onehot(y)`` loses the correct-class component (``p_y`` rounds to 1).
The wrong-class components ``e^{−Δ}/Σ`` vanish only once ``e^{−Δ}`` underflows, beyond
``Δ_grad = −log(smallest positive float)`` (float32: 103.3 with subnormals, 87.3 without; float64:
744.4).  Training without weight decay grows the logits until examples cross these lines: their
gradient stops (Prieto et al.: grokking stalls); float64 postpones it, StableMax removes it.

StableMax replaces ``exp`` by ``s(x) = x + 1`` for ``x ≥ 0`` and ``1/(1 − x)`` for ``x < 0`` (continuous
with a continuous first derivative at 0, linear growth, polynomial decay), so
``p_i = s(z_i)/Σ_j s(z_j)`` approaches one-hot only polynomially in the logit gap.

The trainer (:func:`effgrok.nets.modular.train_modular`, ``loss="stablemax"``) records the
fraction of training examples with exactly zero loss and with exactly zero logit gradient;
:func:`collapse_step` summarises such a curve.
"""

from __future__ import annotations

import math

import numpy as np

from .._checks import fraction as check_fraction
from .._checks import integer
from ..constants import first_crossing
from ..nets.modular import orthogonal_gradients  # the ⊥Grad transform, re-exported here

__all__ = [
    "collapse_step",
    "gradient_underflow_gap",
    "loss_absorption_gap",
    "orthogonal_gradients",
    "stablemax",
    "stablemax_cross_entropy",
    "stablemax_s",
]


def _float_dtype(dtype) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"dtype must be a floating-point dtype (float16/32/64), got {dtype!r}") from None
    if dt.kind != "f":
        raise ValueError(f"dtype must be a floating-point dtype (float16/32/64), got {dtype!r}")
    return dt


def loss_absorption_gap(n_classes: int, dtype="float32", *, summed_first: bool = True) -> float:
    """Logit gap beyond which the cross-entropy is exactly 0 in ``dtype``.

    ``C`` classes, all wrong logits ``Δ`` below the correct one; ``m`` = mantissa bits of
    ``dtype``.  ``summed_first=True``: ``log(C − 1) + (m + 1) log 2``, where
    ``1 + (C − 1)e^{−Δ}`` rounds to 1 (the wrong-class terms are summed before the 1 is added;
    the upper end of the bracket); ``False``: ``(m + 1) log 2``, where each single term
    ``e^{−Δ}`` is absorbed by the 1 (terms added to the 1 one at a time; the lower end).

    Examples
    --------
    >>> round(loss_absorption_gap(97, "float32"), 3)      # log 96 + 24 log 2
    21.2
    >>> round(loss_absorption_gap(97, "float32", summed_first=False), 3)
    16.636
    """
    C = integer("n_classes", n_classes, lo=2)
    m = np.finfo(_float_dtype(dtype)).nmant
    return (math.log(C - 1) if summed_first else 0.0) + (m + 1) * math.log(2.0)


def gradient_underflow_gap(dtype="float32", *, subnormals: bool = True) -> float:
    """Logit gap beyond which ``e^{−Δ}`` underflows to 0 (every logit-gradient component is 0).

    ``−log(smallest positive subnormal)``, or of the smallest normal number when the hardware
    flushes subnormals to zero (``subnormals=False``).

    Examples
    --------
    >>> round(gradient_underflow_gap("float32"), 2), round(gradient_underflow_gap("float64"), 2)
    (103.28, 744.44)
    >>> round(gradient_underflow_gap("float32", subnormals=False), 2)
    87.34
    """
    fi = np.finfo(_float_dtype(dtype))
    tiny = float(fi.smallest_subnormal) if subnormals else float(fi.tiny)
    return -math.log(tiny)


def stablemax_s(x) -> np.ndarray:
    """``s(x) = x + 1`` for ``x ≥ 0``, ``1/(1 − x)`` for ``x < 0`` (elementwise, float64).

    Examples
    --------
    >>> stablemax_s([-1.0, 0.0, 2.0]).tolist()
    [0.5, 1.0, 3.0]
    """
    x = np.asarray(x, dtype=np.float64)
    return np.where(x >= 0, x + 1.0, 1.0 / (1.0 - np.minimum(x, 0.0)))


def stablemax(logits, axis: int = -1) -> np.ndarray:
    """StableMax probabilities ``p_i = s(z_i)/Σ_j s(z_j)`` along ``axis``.

    Examples
    --------
    >>> stablemax([0.0, 1.0, -1.0]).round(4).tolist()       # s = 1, 2, 1/2
    [0.2857, 0.5714, 0.1429]
    """
    s = stablemax_s(logits)
    return s / np.sum(s, axis=axis, keepdims=True)


def stablemax_cross_entropy(logits, labels) -> np.ndarray:
    """Per-example ``−log p_y`` under StableMax; ``logits`` ``(n, C)``, ``labels`` ``(n,)``.

    Examples
    --------
    >>> ell = stablemax_cross_entropy([[1000.0, 0.0, 0.0]], [0])     # p_y = 1001/1003
    >>> bool(np.isclose(ell[0], np.log(1003 / 1001), rtol=1e-12))
    True
    """
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels)
    if z.ndim != 2 or y.shape != (z.shape[0],):
        raise ValueError(f"logits must be (n, C) and labels (n,), got {z.shape} and {y.shape}")
    if y.size and (not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= z.shape[1]):
        raise ValueError(f"labels must be integers in [0, {z.shape[1]}), got {labels!r}")
    s = stablemax_s(z)
    s_y = s[np.arange(z.shape[0]), y]
    return np.log1p((s.sum(axis=1) - s_y) / s_y)


def collapse_step(steps, fraction, level: float = 0.5) -> float:
    """First recorded step at which a collapse fraction reaches ``level`` (``nan``: never).

    Examples
    --------
    >>> collapse_step([0, 100, 200, 300], [0.0, 0.2, 0.6, 1.0])
    200.0
    """
    s = np.asarray(steps, dtype=np.float64)
    f = np.asarray(fraction, dtype=np.float64)
    if s.ndim != 1 or f.shape != s.shape:
        raise ValueError(f"steps and fraction must be 1-D of one length, got {s.shape} and {f.shape}")
    check_fraction("level", level)
    return float(first_crossing(f, s, level))  # NaN (NEVER) if never


# ---------------------------------------------------------------------------------------------
# ⊥Grad (Prieto et al. §5): remove the naive-loss-minimisation direction from every gradient
