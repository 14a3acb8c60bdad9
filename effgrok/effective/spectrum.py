"""Nullity, structure pinning and the grokking rate from the Gram spectrum.

The null space of ``G_D`` holds the embeddings that satisfy every training
parallelogram.  It always contains the null space of the full table (translation, and
for non-modular addition also the linear map ``k ↦ k``).  The training set *pins the
structure* when the two coincide: then the only embeddings with zero effective loss are
the full-table ones (for addition: ``E_k = a + b k``).

Linearising the effective loss ``ℓ_eff = ℓ0/Z`` at fixed ``Z = Z0`` gives
``ℓ_eff ≈ ½ Rᵀ H R`` with ``H = 2 G_D / (N Z0)`` (SPEC §5).  The *grokking rate* is the
first eigenvalue of ``H`` above the full-table null space -- ``λ3`` for addition, whose
two zero modes are translation and scale -- and ``n_h = 1/(η λ3)`` is the predicted number
of steps to learn the representation at learning rate ``η``.

**The one n_h convention of effgrok** (used by :func:`grokking_rate`, ``effgrok rate``,
:func:`~effgrok.effective.simulate`, ``effgrok simulate`` and the validation cases):
``Z0 = ‖E0‖² = Σ_k |E_k|²`` of the *initial embedding* the prediction is for.  Why this one:
``ℓ_eff`` is scale invariant, so its gradient is orthogonal to ``E`` and the gradient flow
conserves ``Z`` -- the flow from ``E0`` runs at exactly ``H = 2 G_D / (N ‖E0‖²)``, and
``n_h`` is then the time constant of the simulated flow itself.  When no embedding is given
(``grokking_rate``, ``effgrok rate``) ``Z0`` is its expectation under the paper's (and
effgrok's) start, entries ``U(−½, ½)``: ``Z0 = d · n_slots / 12`` (:data:`Z0_CONVENTION`,
:func:`default_z0`; 10/12 ≈ 0.833 for addition at p = 10, d = 1).  Earlier versions used
``Z0 = n_slots − 1`` (a standardised embedding) for ``rate``, which made its ``n_h`` 10.8×
larger than ``simulate``'s at p = 10; pass ``z0=n_slots − 1`` to get that convention back.
Every output prints ``Z0`` beside ``n_h``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .._checks import choice, integer, positive
from .._record import Result
from ..tasks import Task, takes_task
from .constraints import gram_matrix, n_training_parallelograms, training_mask

__all__ = [
    "DEFAULT_RTOL",
    "Z0_CONVENTION",
    "GrokkingRate",
    "default_z0",
    "full_table_null_space",
    "full_table_nullity",
    "grokking_rate",
    "linear_structure_reason",
    "null_space",
    "nullity",
    "structure_pinned",
    "training_nullity",
    "zero_tolerance",
]

#: Eigenvalues below ``DEFAULT_RTOL · max(λ_max, 1)`` count as zero.
DEFAULT_RTOL = 1e-9

NORMALIZATIONS = ("sum", "mean")


def zero_tolerance(eigenvalues: np.ndarray, rtol: float = DEFAULT_RTOL) -> float:
    """Scale-aware threshold below which a Gram eigenvalue is zero: ``rtol·max(λ_max, 1)``.

    Gram entries are integers, so nonzero eigenvalues of the matrices met here are far
    above round-off (``~ n ε λ_max``); ``rtol = 1e-9`` leaves a wide margin on both sides.
    """
    lam_max = float(np.max(np.abs(eigenvalues))) if eigenvalues.size else 0.0
    return rtol * max(lam_max, 1.0)


def nullity(G: np.ndarray, rtol: float = DEFAULT_RTOL) -> int:
    """Dimension of the null space of a symmetric positive semi-definite matrix."""
    ev = np.linalg.eigvalsh(G)
    return int(np.sum(ev <= zero_tolerance(ev, rtol)))


def null_space(G: np.ndarray, rtol: float = DEFAULT_RTOL) -> np.ndarray:
    """Orthonormal basis (columns) of the null space of a symmetric PSD matrix."""
    ev, vec = np.linalg.eigh(G)
    return vec[:, ev <= zero_tolerance(ev, rtol)]


@takes_task
def training_nullity(task: Task, train, rtol: float = DEFAULT_RTOL) -> int:
    """Nullity of ``G_D``: number of independent embeddings satisfying all of ``P0(D)``."""
    return nullity(gram_matrix(task, train), rtol)


@lru_cache(maxsize=16)
def _full_table(task: Task) -> tuple[np.ndarray, int, np.ndarray]:
    G = gram_matrix(task, np.ones(task.n_examples, dtype=bool))
    ev, vec = np.linalg.eigh(G)
    zero = ev <= zero_tolerance(ev)
    basis = vec[:, zero]
    basis.setflags(write=False)
    ev.setflags(write=False)
    return ev, int(zero.sum()), basis


@takes_task
def full_table_nullity(task: Task) -> int:
    """Nullity of the full-table Gram matrix (2 for ``add``, 1 for ``add-mod``).

    Examples
    --------
    >>> from effgrok.tasks import make_task
    >>> full_table_nullity(make_task("add", 10)), full_table_nullity(make_task("add-mod", 11))
    (2, 1)
    """
    return _full_table(task)[1]


@takes_task
def full_table_null_space(task: Task) -> np.ndarray:
    """Orthonormal basis of the full-table null space, shape (n_slots, full nullity)."""
    return _full_table(task)[2]


def _translation_modes(task: Task) -> int:
    """Null directions every table has: one translation per embedding table (1 for
    ``encoding="sum"``, 2 -- left and right -- for ``"concat"``)."""
    return 1 if task.encoding == "sum" else 2


def linear_structure_reason(task: Task) -> str | None:
    """Why Liu et al.'s measures of a *linear* structure do not apply to ``task`` (None: they do).

    RQI, Acc-hat, Acc-bar, ``λ3`` and ``n_h`` measure how far an embedding is from the exact
    solution of the full table's parallelogram constraints.  When the full-table null space
    holds nothing beyond the translations (one per embedding table) -- ``add-mod``,
    ``sub-mod``, ``mul-mod`` and groups such as ``s3`` -- that solution is *collapse* (every
    symbol embedded at one point): a network that generalises there uses other structure
    (circles, Fourier features), which these measures read as 0, so they are reported as
    null with this reason.  ``add`` (non-modular) keeps the linear map ``k ↦ k``: they apply.

    Examples
    --------
    >>> from effgrok.tasks import make_task
    >>> linear_structure_reason(make_task("add", 10)) is None
    True
    >>> linear_structure_reason(make_task("add-mod", 11))[:60]
    'not applicable to add-mod: its full-table nullity is 1 (tran'
    """
    f = full_table_nullity(task)
    t = _translation_modes(task)
    if f > t:
        return None
    what = "translation" if t == 1 else "the left and right translations"
    return (
        f"not applicable to {task.name}: its full-table nullity is {f} ({what} only), so the only "
        "exact solution of its parallelograms is collapse; RQI, Acc-hat, Acc-bar, λ3 and n_h "
        "measure Liu et al.'s linear structure"
    )


@takes_task
def structure_pinned(task: Task, train) -> bool:
    """True when the training nullity equals the full-table nullity.

    For non-modular addition this is SPEC §2's criterion "nullity exactly 2 ⇔ the
    training set forces the linear representation".
    """
    return training_nullity(task, train) == full_table_nullity(task)


@dataclass(frozen=True)
class GrokkingRate(Result):
    """Spectral prediction for one training set (see :func:`grokking_rate`).

    Attributes
    ----------
    nullity, full_nullity : int
        Nullity of ``G_D`` and of the full-table Gram matrix.
    pinned : bool
        ``nullity == full_nullity``.
    gram_eigenvalue : float
        Eigenvalue number ``full_nullity + 1`` of ``G_D`` (``λ3(G)`` for addition); 0 when
        the structure is not pinned.  Scale-free.
    grokking_rate : float
        The same eigenvalue of ``H = 2 G_D / (N Z0)`` (units: 1/time).
    n_h : float
        ``1 / (η · grokking_rate)``, predicted steps to learn the representation (``inf``
        when not pinned).
    learning_rate, z0 : float
        ``η`` and ``Z0`` used.
    normalization : str
        ``"sum"`` (``N = 1``) or ``"mean"`` (``N = |P0(D)|``).
    n_parallelograms : int
        ``|P0(D)|``.
    """

    nullity: int
    full_nullity: int
    pinned: bool
    gram_eigenvalue: float
    grokking_rate: float
    n_h: float
    learning_rate: float
    z0: float
    normalization: str
    n_parallelograms: int


#: The one statement of effgrok's ``n_h`` convention (see the module docstring).
Z0_CONVENTION = (
    "Z0 = ‖E0‖² of the initial embedding (conserved by the effective flow); "
    "default d·n_slots/12, its mean for a U(−½, ½) start"
)


@takes_task
def default_z0(task: Task, dim: int = 1) -> float:
    """``Z0 = d · n_slots / 12``: the expected ``‖E0‖² = Σ_k |E_k|²`` of an initial embedding
    with i.i.d. ``U(−½, ½)`` entries (variance 1/12, mean 0), the start of Liu et al. (2022)
    and of effgrok's networks and simulations (:data:`Z0_CONVENTION`).

    >>> from effgrok.tasks import make_task
    >>> round(default_z0(make_task("add", 10)), 6)   # 10 symbols / 12
    0.833333
    """
    dim = integer("dim", dim, lo=1)
    return float(dim * task.n_slots) / 12.0


@takes_task
def grokking_rate(
    task: Task,
    train,
    *,
    learning_rate: float = 1e-3,
    z0: float | None = None,
    normalization: str = "sum",
    rtol: float = DEFAULT_RTOL,
) -> GrokkingRate:
    """Grokking rate ``λ3`` of ``H = 2 G_D / (N Z0)`` and the predicted time ``n_h = 1/(η λ3)``.

    ``λ3`` is the first eigenvalue of ``H`` above the full-table null space (the third for
    addition, whose zero modes are translation and scale).  Liu et al. (2022), §4.2.

    Parameters
    ----------
    task : Task
    train : Split, bool mask or index array
    learning_rate : float
        ``η`` (the paper's embedding learning rate, 1e-3, by default).
    z0 : float, optional
        ``Z0 = ‖E0‖² = Σ_k |E_k|²`` of the start the prediction is for (the flow conserves
        it); default :func:`default_z0`, the mean ``n_slots / 12`` of a ``U(−½, ½)`` 1-D start
        (:data:`Z0_CONVENTION`).
    normalization : {"sum", "mean"}
        ``N = 1`` (default; authors' explainer and code) or ``N = |P0(D)|``.

    Examples
    --------
    >>> import numpy as np
    >>> from effgrok.tasks import make_task
    >>> t = make_task("add", 10)
    >>> r = grokking_rate(t, np.ones(t.n_examples, bool))
    >>> round(r.gram_eigenvalue, 9), round(r.grokking_rate, 6)   # λ3(G) = 30, λ3(H) = 2·30/(10/12)
    (30.0, 72.0)
    """
    learning_rate = positive("learning_rate", learning_rate)
    z0 = default_z0(task) if z0 is None else positive("z0", z0)
    choice("normalization", normalization, NORMALIZATIONS)
    mask = training_mask(task, train)
    G = gram_matrix(task, mask)
    ev = np.linalg.eigvalsh(G)
    null = int(np.sum(ev <= zero_tolerance(ev, rtol)))
    f = full_table_nullity(task)
    n_par = n_training_parallelograms(task, mask)
    pinned = null == f
    gram_ev = float(ev[f]) if pinned and f < ev.size else 0.0
    norm = 1.0 if normalization == "sum" else float(max(n_par, 1))
    rate = 2.0 * gram_ev / (norm * z0)
    n_h = 1.0 / (learning_rate * rate) if rate > 0 else math.inf
    return GrokkingRate(
        nullity=null,
        full_nullity=f,
        pinned=pinned,
        gram_eigenvalue=gram_ev,
        grokking_rate=rate,
        n_h=n_h,
        learning_rate=learning_rate,
        z0=z0,
        normalization=normalization,
        n_parallelograms=n_par,
    )
