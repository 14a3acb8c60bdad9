"""Kernel–target alignment measures (float64, centred without forming the centring matrix).

*Centred kernel alignment* (Cortes, Mohri & Rostamizadeh 2012):

    A(K, y) = ⟨K_c, Y_c Y_cᵀ⟩_F / (‖K_c‖_F ‖Y_c Y_cᵀ‖_F),   K_c = H K H,  Y_c = H Y,  H = I − 11ᵀ/n,

which for a single output is ``y_cᵀ K_c y_c / (‖K_c‖_F ‖y_c‖²)``.  It is invariant to
rescaling ``K`` and lies in [−1, 1] (in [0, 1] for PSD ``K``).

*Cumulative target power*: the fraction of ``‖y‖²`` in the top-``k`` eigenvectors of ``K``,
``C(k) = Σ_{i≤k} (v_iᵀ y)² / ‖y‖²`` (eigenvalues descending).  *Effective dimension*: the
participation ratio ``(tr K)² / ‖K‖_F²``.
"""

from __future__ import annotations

import numpy as np

from .._checks import finite_array, integer

__all__ = ["centered_kernel_alignment", "cumulative_target_power", "effective_dimension"]


def _kernel(K) -> np.ndarray:
    K = np.asarray(K, dtype=np.float64)
    if K.ndim != 2 or K.shape[0] != K.shape[1] or K.shape[0] < 2:
        raise ValueError(f"kernel must be a square matrix with at least 2 rows, got shape {np.shape(K)}")
    finite_array("kernel", K)
    return K


def _targets(y, n: int) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2 or y.shape[0] != n:
        raise ValueError(f"targets must have {n} rows, got shape {np.shape(y)}")
    finite_array("targets", y)
    return y


def _center(K: np.ndarray) -> np.ndarray:
    return K - K.mean(axis=0, keepdims=True) - K.mean(axis=1, keepdims=True) + K.mean()


def centered_kernel_alignment(K, y) -> float:
    """Centred kernel–target alignment ``A(K, y)`` (see the module notes).

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([1.0, -2.0, 0.5, 0.5])
    >>> round(centered_kernel_alignment(np.outer(y, y) * 3.0, y), 12)   # K ∝ y yᵀ (y centred)
    1.0
    """
    K = _kernel(K)
    Y = _targets(y, K.shape[0])
    Kc = _center(K)
    Yc = Y - Y.mean(axis=0)
    num = float(np.sum(Yc * (Kc @ Yc)))
    yy = Yc.T @ Yc  # ‖Y_c Y_cᵀ‖_F = ‖Y_cᵀ Y_c‖_F
    den = float(np.linalg.norm(Kc)) * float(np.linalg.norm(yy))
    if den == 0.0:
        raise ValueError("alignment is undefined for a constant kernel or constant targets")
    return num / den


def cumulative_target_power(K, y, k: int | None = None) -> np.ndarray:
    """``C(1..k)``: fraction of ``‖y‖²`` carried by the top-1..k eigenvectors of ``K``.

    ``k`` defaults to all ``n``; ``C(n) = 1``.
    """
    K = _kernel(K)
    Y = _targets(y, K.shape[0])
    n = K.shape[0]
    k = n if k is None else integer("k", k, lo=1, hi=n)
    _, V = np.linalg.eigh(0.5 * (K + K.T))
    proj = V[:, ::-1][:, :k].T @ Y  # descending eigenvalues
    total = float(np.sum(Y * Y))
    if total == 0.0:
        raise ValueError("targets are all zero")
    return np.cumsum(np.sum(proj * proj, axis=1)) / total


def effective_dimension(K) -> float:
    """Participation ratio ``(tr K)² / ‖K‖_F²`` (1 for rank one, ``n`` for ``K ∝ I``)."""
    K = _kernel(K)
    fro2 = float(np.sum(K * K))
    if fro2 == 0.0:
        raise ValueError("effective dimension is undefined for the zero kernel")
    return float(np.trace(K)) ** 2 / fro2
