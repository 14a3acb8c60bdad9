"""Effective loss over embeddings and its gradient flow (SPEC §4).

The effective loss of an embedding ``E ∈ R^{n×d}`` (one row per embedding slot) is::

    ℓ_eff(E) = ℓ0(E) / Z(E),   ℓ0 = N⁻¹ Σ_{{x,y} ∈ P} |h_x − h_y|² = N⁻¹ tr(Eᵀ G E),   Z = tr(EᵀE),

with ``h_x = E_a + E_b`` and ``G`` the Gram matrix of the constraint set ``P``.  Gradient
descent with learning rate ``η`` is the flow, in units of steps ``s``::

    dE/ds = −η ∇ℓ_eff = −(2η / (N Z)) (G E − ρ E),   ρ = tr(EᵀGE)/Z            (live Z)
    dE/ds = −(2η / (N Z0)) G E                                               (frozen Z)

Along the live flow ``∇ℓ_eff ⊥ E`` so ``Z`` is conserved, and the solution is the linear
flow rescaled onto the sphere ``Z = Z0``::

    E(s) = √Z0 · F(s)/‖F(s)‖,   F(s) = exp(−κ s G) E0,   κ = 2η/(N Z0),

which :func:`exact_flow` evaluates through the eigenbasis of ``G`` (for frozen ``Z``,
``E = F``).  The constant mode ``C = Σ_k E_k`` (``G·1 = 0``) then obeys
``dC/ds = η (2 ℓ0 / Z²) C``.  Late in a pinned flow ``ℓ_eff ∝ exp(−2 η λ3 s)`` with
``λ3`` the grokking rate of ``H = 2G/(N Z0)``.

Published conventions are the fields of one :class:`EffectiveLoss`: the constraint set
(training parallelograms ``P0(D)``, the paper; or all permissible ones, the reference
code), the normalisation ``N`` (1 or ``|P|``) and ``Z`` (live or frozen at its start).

Integrators are explicit Runge–Kutta methods given as Butcher tableaus (data apart from
the algorithm): Euler (step 1 = the papers' gradient descent), classical RK4 and the
embedded Dormand–Prince 5(4) pair with error control.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

from .._checks import choice, finite_array
from .._parallel import Threaded
from ..tasks import Task
from .constraints import gram_matrix, parallelograms, training_mask
from .metrics import _realised_kernel
from .spectrum import zero_tolerance as _zero_tol

__all__ = [
    "DOPRI5",
    "EULER",
    "RK4",
    "TABLEAUS",
    "ButcherTableau",
    "EffectiveLoss",
    "exact_flow",
    "simulation_preset",
]

CONSTRAINT_SETS = ("train", "all")
NORMALIZATIONS = ("sum", "mean")
Z_MODES = ("live", "frozen")


@dataclass(frozen=True)
class EffectiveLoss:
    """One convention of the effective loss ``ℓ_eff = ℓ0/Z``.

    Parameters
    ----------
    constraints : {"train", "all"}
        Parallelograms in ``ℓ0``: the training ones ``P0(D)`` (the paper; default) or all
        permissible ones (the reference code).
    normalization : {"sum", "mean"}
        ``N = 1`` (default; authors' explainer and code) or ``N = |P|`` (arXiv v2 reading).
    z : {"live", "frozen"}
        ``Z = Σ_k |E_k|²`` of the current embedding (default) or frozen at its start.

    Examples
    --------
    >>> EffectiveLoss.reference_code()
    EffectiveLoss(constraints='all', normalization='sum', z='frozen')
    """

    constraints: str = "train"
    normalization: str = "sum"
    z: str = "live"

    def __post_init__(self):
        for name, allowed in (
            ("constraints", CONSTRAINT_SETS),
            ("normalization", NORMALIZATIONS),
            ("z", Z_MODES),
        ):
            choice(name, getattr(self, name), allowed)

    @classmethod
    def reference_code(cls) -> EffectiveLoss:
        """The reference implementation's choices: all parallelograms, ``N = 1``, frozen ``Z``."""
        return cls(constraints="all", normalization="sum", z="frozen")

    @classmethod
    def preset(cls, name: str) -> EffectiveLoss:
        """The loss of a named convention: ``"paper"`` (the defaults) or ``"reference_code"``."""
        if name not in SIMULATION_PRESETS:
            raise ValueError(f"preset must be one of {', '.join(SIMULATION_PRESETS)}; got {name!r}")
        return cls() if name == "paper" else cls.reference_code()

    def constraint_mask(self, task: Task, train) -> np.ndarray:
        """Examples whose parallelograms enter ``ℓ0`` (the training set, or all)."""
        if self.constraints == "all":
            return np.ones(task.n_examples, dtype=bool)
        return training_mask(task, train)

    def gram(self, task: Task, train) -> np.ndarray:
        """``G`` of the constraint set."""
        return gram_matrix(task, self.constraint_mask(task, train))

    def pairs(self, task: Task, train) -> np.ndarray:
        """Parallelograms of the constraint set as example-index pairs."""
        mask = self.constraint_mask(task, train)
        pars = parallelograms(task)
        return pars[mask[pars[:, 0]] & mask[pars[:, 1]]]

    def normalizer(self, task: Task, train) -> float:
        """``N``: 1, or the number of parallelograms in the constraint set (at least 1)."""
        if self.normalization == "sum":
            return 1.0
        mask = self.constraint_mask(task, train)
        c = np.bincount(task.results[mask], minlength=task.n_classes).astype(np.int64)
        return float(max(1, int(np.sum(c * (c - 1) // 2))))

    def value(self, task: Task, train, E, z0: float | None = None) -> float:
        """``ℓ_eff(E)`` (``z0`` is used only for frozen ``Z``; default ``Z(E)``)."""
        E = _as_embedding(task, E)
        pairs = self.pairs(task, train)
        h = E[task.slots[:, 0]] + E[task.slots[:, 1]]
        l0 = float(np.sum((h[pairs[:, 0]] - h[pairs[:, 1]]) ** 2)) / self.normalizer(task, train)
        z = float(np.sum(E * E)) if (self.z == "live" or z0 is None) else float(z0)
        return l0 / z

    def gradient(self, task: Task, train, E, z0: float | None = None) -> np.ndarray:
        """``∇ℓ_eff(E)`` in closed form (see the module notes)."""
        E = _as_embedding(task, E)
        G = self.gram(task, train)
        N = self.normalizer(task, train)
        GE = G @ E
        if self.z == "frozen":
            z = float(np.sum(E * E)) if z0 is None else float(z0)
            return 2.0 * GE / (N * z)
        z = float(np.sum(E * E))
        rho = float(np.sum(E * GE)) / z
        return 2.0 * (GE - rho * E) / (N * z)


def _as_embedding(task: Task, E) -> np.ndarray:
    E = np.asarray(E, dtype=np.float64)
    if E.ndim == 1:
        E = E[:, None]
    if E.ndim != 2 or E.shape[0] != task.n_slots:
        raise ValueError(f"embedding must have shape ({task.n_slots}, d), got {np.shape(E)}")
    finite_array("embedding", E)
    return E


# --------------------------------------------------------------------------- Butcher tableaus
@dataclass(frozen=True, eq=False)
class ButcherTableau:
    """Coefficients of an explicit Runge–Kutta method (``a`` strictly lower triangular).

    ``b_error`` (embedded methods only) are the weights of the lower-order solution;
    the local error estimate is ``h Σ (b − b_error)_i k_i``.
    """

    name: str
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    order: int
    b_error: np.ndarray | None = None
    error_order: int | None = None

    @property
    def stages(self) -> int:
        return int(self.b.size)


def _tableau(name, a, b, c, order, b_error=None, error_order=None) -> ButcherTableau:
    a = np.array(a, dtype=np.float64)
    b = np.array(b, dtype=np.float64)
    c = np.array(c, dtype=np.float64)
    be = None if b_error is None else np.array(b_error, dtype=np.float64)
    return ButcherTableau(name, a, b, c, order, be, error_order)


#: Explicit Euler, order 1: with step 1 it *is* gradient descent with learning rate ``η``.
EULER = _tableau("euler", [[0.0]], [1.0], [0.0], order=1)
#: The classical fourth-order Runge–Kutta method.
RK4 = _tableau(
    "rk4",
    [[0, 0, 0, 0], [0.5, 0, 0, 0], [0, 0.5, 0, 0], [0, 0, 1, 0]],
    [1 / 6, 1 / 3, 1 / 3, 1 / 6],
    [0, 0.5, 0.5, 1],
    order=4,
)
#: Dormand & Prince (1980), RK5(4)7M: order 5 with an embedded order-4 error estimate
#: (adaptive steps, ``rtol``/``atol``).
DOPRI5 = _tableau(
    "dopri5",
    [
        [0, 0, 0, 0, 0, 0, 0],
        [1 / 5, 0, 0, 0, 0, 0, 0],
        [3 / 40, 9 / 40, 0, 0, 0, 0, 0],
        [44 / 45, -56 / 15, 32 / 9, 0, 0, 0, 0],
        [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729, 0, 0, 0],
        [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656, 0, 0],
        [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0],
    ],
    [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0],
    [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1],
    order=5,
    b_error=[5179 / 57600, 0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40],
    error_order=4,
)

#: The tableaus by the ``method`` name of :func:`~effgrok.effective.simulation.simulate`.
TABLEAUS = {"euler": EULER, "rk4": RK4, "dopri5": DOPRI5}


# --------------------------------------------------------------------------- compiled kernels
@nb.njit(cache=True, inline="always")
def _rhs(E, G, n, d, scale, live, z_frozen, out):  # pragma: no cover - compiled
    """out = −η∇ℓ_eff(E) for the flattened embedding ``E[i*d + k]``, with ``scale = 2η/N``."""
    if d == 1:
        for i in range(n):
            acc = 0.0
            for j in range(n):
                acc += G[i, j] * E[j]
            out[i] = acc
    else:
        for i in range(n):
            for k in range(d):
                acc = 0.0
                for j in range(n):
                    acc += G[i, j] * E[j * d + k]
                out[i * d + k] = acc
    L = n * d
    if live:
        z = 0.0
        num = 0.0
        for q in range(L):
            z += E[q] * E[q]
            num += E[q] * out[q]
        rho = num / z
        f = -scale / z
        for q in range(L):
            out[q] = f * (out[q] - rho * E[q])
    else:
        f = -scale / z_frozen
        for q in range(L):
            out[q] *= f


@nb.njit(cache=True, inline="always")
def _stage_state(X, h, a, st, K, L, Y):  # pragma: no cover - compiled
    """``Y = X + h·Σ_{j<st} a[st, j]·K_j``: the state at which stage ``st`` of the tableau ``a``
    is evaluated, ``K`` a flat buffer of stage derivatives of length ``L`` each (inlined into
    the caller, so it takes the caller's fastmath flags)."""
    for q in range(L):
        Y[q] = X[q]
    for j in range(st):
        c = h * a[st, j]
        if c != 0.0:
            for q in range(L):
                Y[q] += c * K[j * L + q]


@nb.njit(cache=True, inline="always")
def _rk_step(E, h, G, n, d, scale, live, z_frozen, a, b, K, Y, Enew, err, be, with_error):  # pragma: no cover
    """One explicit RK step from flattened ``E`` into ``Enew`` (error estimate into ``err``);
    ``K`` is a flat buffer of ``s·n·d`` stage derivatives."""
    s = b.shape[0]
    L = n * d
    for st in range(s):
        _stage_state(E, h, a, st, K, L, Y)
        _rhs(Y, G, n, d, scale, live, z_frozen, K[st * L : (st + 1) * L])
    for q in range(L):
        Enew[q] = E[q]
        err[q] = 0.0
    for st in range(s):
        c = h * b[st]
        ce = h * (b[st] - be[st])
        for q in range(L):
            Enew[q] += c * K[st * L + q]
            if with_error:
                err[q] += ce * K[st * L + q]


@nb.njit(cache=True, nogil=True)
def _record(E, metric, member, live, z_frozen, l0_known):  # pragma: no cover
    """(ℓ_eff, Z, RQI, predicted test accuracy) of one embedding.

    ``metric`` is the task's ``(slots, order, offsets, delta2)``, ``member`` the training set's
    ``(pairs, train, n_test, inv_norm)`` (see :func:`_member`).  ``l0_known ≥ 0`` is ``N·ℓ0``
    already known to full relative precision (from eigen-coordinates); otherwise ``ℓ0`` is
    summed from the parallelogram defects.
    """
    slots, order, offsets, delta2 = metric
    pairs, train, n_test, inv_norm = member
    n, d = E.shape
    z = 0.0
    for i in range(n):
        for k in range(d):
            z += E[i, k] * E[i, k]
    n_ex = slots.shape[0]
    if l0_known >= 0.0:
        l0 = l0_known
    else:  # from defects: no cancellation as ℓ0 → 0 (floor ~ (ε‖E‖)²)
        l0 = 0.0
        for q in range(pairs.shape[0]):
            x = pairs[q, 0]
            y = pairs[q, 1]
            for k in range(d):
                diff = E[slots[x, 0], k] + E[slots[x, 1], k] - E[slots[y, 0], k] - E[slots[y, 1], k]
                l0 += diff * diff
    l0 *= inv_norm
    loss = l0 / (z if live else z_frozen)
    # standardised pair sums for RQI / Acc-hat
    mean = np.zeros(d)
    for i in range(n):
        for k in range(d):
            mean[k] += E[i, k]
    for k in range(d):
        mean[k] /= n
    std = np.zeros(d)
    scale = np.zeros(d)
    for i in range(n):
        for k in range(d):
            std[k] += (E[i, k] - mean[k]) ** 2
            scale[k] = max(scale[k], abs(E[i, k]))
    keep = 0
    for k in range(d):
        std[k] = np.sqrt(std[k] / (n - 1))
        if std[k] > 1e-12 * max(scale[k], 1e-300):
            keep += 1
    total = 0
    n_real = 0
    n_pred = 0
    if keep > 0:
        h = np.empty((n_ex, keep))
        for x in range(n_ex):
            kk = 0
            for k in range(d):
                if std[k] > 1e-12 * max(scale[k], 1e-300):
                    h[x, kk] = (E[slots[x, 0], k] + E[slots[x, 1], k] - 2.0 * mean[k]) / std[k]
                    kk += 1
        n_real, pred = _realised_kernel(h, order, offsets, train, delta2)
        for x in range(n_ex):
            if pred[x]:
                n_pred += 1
    for s in range(offsets.shape[0] - 1):
        c = offsets[s + 1] - offsets[s]
        total += c * (c - 1) // 2
    rqi = n_real / total if total > 0 else np.nan
    acc_test = n_pred / n_test if n_test > 0 else np.nan
    return loss, z, rqi, acc_test


@nb.njit(cache=True, nogil=True)
def _store(r, E, metric, member, live, z_frozen, l0_known, rows):  # pragma: no cover - compiled
    """Record ``r`` of one member: :func:`_record` of ``E`` into its ``rows`` (loss, Z, RQI,
    accuracy and, where that array is not empty, the embedding)."""
    out_loss, out_z, out_rqi, out_acc, out_emb = rows
    lo, zz, rq, ac = _record(E, metric, member, live, z_frozen, l0_known)
    out_loss[r] = lo
    out_z[r] = zz
    out_rqi[r] = rq
    out_acc[r] = ac
    if out_emb.shape[0] > 0:
        # element by element: assigning the whole array would also compile Numba's message for
        # mismatched shapes (string formatting, ~3 s more on a cold cache)
        n, d = E.shape
        for i in range(n):
            for k in range(d):
                out_emb[r, i, k] = E[i, k]


@nb.njit(cache=True, nogil=True)
def _member(m, batch):  # pragma: no cover - compiled
    """Member ``m`` of a ``batch``: the index ``g`` of its training set and that set's ``N``, the
    task's ``metric``, the set's ``member`` data and the member's ``rows`` of the record arrays.

    ``batch`` is the trailing ``*batch`` of every member kernel, all arrays (Numba's parallel
    loops pass tuples one level deep only): every training set's index ``g_index`` (per member),
    normalizer ``N``, constraint pairs (packed in ``pair_idx`` with offsets ``pair_off``), train
    mask and test count; the task's ``(slots, order, offsets, delta2)``; and the record arrays
    (loss, Z, RQI, accuracy, embedding; one row per member).
    """
    g_index, norms, pair_idx, pair_off, train, n_test, slots, order, offsets, delta2 = batch[:10]
    out_loss, out_z, out_rqi, out_acc, out_emb = batch[10:]
    g = g_index[m]
    member = (pair_idx[pair_off[g] : pair_off[g + 1]], train[g], n_test[g], 1.0 / norms[g])
    rows = (out_loss[m], out_z[m], out_rqi[m], out_acc[m], out_emb[m])
    return g, norms[g], (slots, order, offsets, delta2), member, rows


_FAST = {"reassoc", "contract"}  # vectorised reductions and FMAs; NaN/inf semantics kept


@nb.njit(cache=True, inline="always", fastmath=_FAST)
def _rhs_eigen(B, lam, L, scale, live, z_frozen, out):  # pragma: no cover - compiled
    """``−η∇ℓ_eff`` in the eigenbasis of ``G`` (``G`` diagonal: ``O(n d)`` per call)."""
    if live:
        z = 0.0
        num = 0.0
        for q in range(L):
            bq = B[q]
            z += bq * bq
            num += lam[q] * bq * bq
        rho = num / z
        f = -scale / z
        for q in range(L):
            out[q] = f * (lam[q] - rho) * B[q]
    else:
        f = -scale / z_frozen
        for q in range(L):
            out[q] = f * lam[q] * B[q]


# The Runge–Kutta stage loop stays inline in the record loop, so the compiled inner loop
# (substeps × records × members) reuses the scratch buffers K, Y, Em allocated once per member,
# with no call per stage.
@nb.njit(cache=True, nogil=True, fastmath=_FAST)
def _member_fixed(
    B0, lam, V, scale, h, n_records, substeps, a, b, metric, member, live, rows
):  # pragma: no cover
    """Fixed-step explicit RK for one member, integrated in the eigenbasis of ``G``.

    Runge–Kutta methods commute with linear changes of variables, so this is the same
    RK trajectory as in the original coordinates (up to round-off) at ``O(n d)`` per stage.
    """
    n, d = B0.shape
    L = n * d
    s = b.shape[0]
    lamL = np.empty(L)
    for i in range(n):
        for k in range(d):
            lamL[i * d + k] = lam[i]
    K = np.empty(s * L)  # flat stage buffer: 2-D views cost more than the arithmetic here
    Y = np.empty(L)
    B = B0.copy().reshape(L)
    Em = np.empty((n, d))
    z0 = 0.0
    for q in range(L):
        z0 += B[q] * B[q]
    tiny = 1e-150 * np.sqrt(z0)
    for r in range(n_records):
        if r > 0:
            for _ in range(substeps):
                for st in range(s):
                    _stage_state(B, h, a, st, K, L, Y)
                    _rhs_eigen(Y, lamL, L, scale, live, z0, K[st * L : (st + 1) * L])
                for st in range(s):
                    c = h * b[st]
                    if c != 0.0:
                        for q in range(L):
                            B[q] += c * K[st * L + q]
                # decayed modes would turn subnormal (100x slower arithmetic): flush them to zero;
                # they are 1e-150 below the state's norm, far under round-off
                for q in range(L):
                    if abs(B[q]) < tiny:
                        B[q] = 0.0
        # ℓ0·N = Σ λ B² holds to full relative precision however small it gets
        l0b = 0.0
        for q in range(L):
            l0b += lamL[q] * B[q] * B[q]
        # back to the original coordinates: E = V B
        for i in range(n):
            for k in range(d):
                acc = 0.0
                for j in range(n):
                    acc += V[i, j] * B[j * d + k]
                Em[i, k] = acc
        _store(r, Em, metric, member, live, z0, l0b, rows)


@nb.njit(cache=True, nogil=True)
def _integrate_fixed_at(
    m, E0, eig_vals, eig_vecs, eta, h, n_records, substeps, a, b, live, *batch
):  # pragma: no cover
    """Member ``m`` of ``E0`` by :func:`_member_fixed` (``batch`` as in :func:`_member`)."""
    n, d = E0.shape[1], E0.shape[2]
    g, norm, metric, member, rows = _member(m, batch)
    V = eig_vecs[g]
    B0 = np.empty((n, d))
    for i in range(n):
        for k in range(d):
            acc = 0.0
            for j in range(n):
                acc += V[j, i] * E0[m, j, k]
            B0[i, k] = acc
    scale = 2.0 * eta / norm
    _member_fixed(B0, eig_vals[g], V, scale, h, n_records, substeps, a, b, metric, member, live, rows)


@nb.njit(cache=True, nogil=True)
def _integrate_fixed_range(start, stop, *args):  # pragma: no cover - compiled
    for i in range(start, stop):
        _integrate_fixed_at(i, *args)


# One kernel (as _member_fixed): the Dormand–Prince stages, error norm, step-size control and
# records share the scratch buffers inside one compiled loop, with no call per accepted or
# rejected step.
@nb.njit(cache=True, nogil=True)
def _integrate_adaptive_at(
    m,
    E0,
    grams,
    eta,
    h0,
    n_records,
    record_dt,
    a,
    b,
    be,
    err_order,
    rtol,
    atol,
    max_steps,
    nsteps,
    live,
    *batch,
):  # pragma: no cover - compiled
    """Member ``m`` of ``E0`` by the embedded RK pair ``(a, b, be, err_order)`` with error control
    (``batch`` as in :func:`_member`)."""
    g, norm, metric, member, rows = _member(m, batch)
    G = grams[g]
    scale = 2.0 * eta / norm
    n, d = E0.shape[1], E0.shape[2]
    L = n * d
    s = b.shape[0]
    K = np.empty(s * L)
    Y = np.empty(L)
    E = E0[m].copy().reshape(L)
    En = np.empty(L)
    err = np.empty(L)
    z0 = 0.0
    for q in range(L):
        z0 += E[q] * E[q]
    expo = -1.0 / (err_order + 1.0)
    t = 0.0
    h = h0
    accepted = 0
    rejected = 0
    for r in range(n_records):
        t_target = r * record_dt
        while t < t_target - 1e-12 * max(1.0, t_target) and accepted + rejected < max_steps:
            hh = min(h, t_target - t)
            _rk_step(E, hh, G, n, d, scale, live, z0, a, b, K, Y, En, err, be, True)
            en = 0.0
            for q in range(L):
                sc = atol + rtol * max(abs(E[q]), abs(En[q]))
                v = err[q] / sc
                en += v * v
            en = np.sqrt(en / L)
            if en <= 1.0:
                t += hh
                tmp = E
                E = En
                En = tmp
                accepted += 1
                fac = 5.0 if en == 0.0 else min(5.0, max(0.2, 0.9 * en**expo))
            else:
                rejected += 1
                fac = max(0.2, 0.9 * en**expo)
            h = hh * fac
        _store(r, E.reshape((n, d)), metric, member, live, z0, -1.0, rows)
    nsteps[m, 0] = accepted
    nsteps[m, 1] = rejected


@nb.njit(cache=True, nogil=True)
def _integrate_adaptive_range(start, stop, *args):  # pragma: no cover - compiled
    for i in range(start, stop):
        _integrate_adaptive_at(i, *args)


@nb.njit(cache=True, nogil=True)
def _record_many_at(q, E, l0_known, live, z_frozen, *batch):  # pragma: no cover - compiled
    """Metrics of precomputed embeddings ``E[m, r]`` (used by the exact flow), ``q = m·R + r``
    (``batch`` as in :func:`_member`)."""
    R = E.shape[1]
    m = q // R
    r = q % R
    _, _, metric, member, rows = _member(m, batch)
    _store(r, E[m, r], metric, member, live, z_frozen[m], l0_known[m, r], rows)


@nb.njit(cache=True, nogil=True)
def _record_many_range(start, stop, *args):  # pragma: no cover - compiled
    for i in range(start, stop):
        _record_many_at(i, *args)


#: The member kernels on threads (:class:`~effgrok._parallel.Threaded`): ``_integrate_fixed(count,
#: *args)`` runs ``_integrate_fixed_at(i, *args)`` for every ``i < count``, and likewise the others
#: (``_record_many`` over records ``q = m·R + r``).
_integrate_fixed = Threaded(_integrate_fixed_range)
_integrate_adaptive = Threaded(_integrate_adaptive_range)
_record_many = Threaded(_record_many_range)


def exact_flow(
    G: np.ndarray,
    E0: np.ndarray,
    times,
    *,
    learning_rate: float,
    normalizer: float = 1.0,
    z: str = "live",
    return_l0: bool = False,
):
    """Exact solution of the effective-loss flow at ``times`` (in steps), through the eigenbasis of ``G``.

    ``F(s) = V exp(−κ s Λ) Vᵀ E0`` with ``κ = 2η/(N Z0)``, ``Z0 = ‖E0‖²``; for live ``Z``
    the result is rescaled to ``‖E‖² = Z0`` (exact, since ``Z`` is conserved), for frozen
    ``Z`` it is ``F`` itself (then ``κ s Λ = η s H`` with ``H = 2G/(N Z0)``).

    Returns an array of shape ``(len(times),) + E0.shape``; with ``return_l0`` also
    ``N·ℓ0 = Σ_j λ_j |B_j(s)|²`` at each time, accurate to full relative precision
    (eigenvalues below the zero tolerance are treated as exactly zero).
    """
    choice("z", z, Z_MODES)
    E0 = np.asarray(E0, dtype=np.float64)
    squeeze = E0.ndim == 1
    if squeeze:
        E0 = E0[:, None]
    times = np.atleast_1d(np.asarray(times, dtype=np.float64))
    lam, V = np.linalg.eigh(G)
    lam = np.where(lam <= _zero_tol(lam), 0.0, lam)  # G is PSD: null modes exactly still
    z0 = float(np.sum(E0 * E0))
    kappa = 2.0 * learning_rate / (normalizer * z0)
    B = V.T @ E0
    decay = np.exp(-kappa * np.outer(times, lam))  # (T, n)
    F = np.einsum("ij,tj,jk->tik", V, decay, B)
    l0 = np.einsum("tj,j,jk->t", decay**2, lam, B**2)
    if z == "live":
        factor = z0 / np.sum(F * F, axis=(1, 2))
        F *= np.sqrt(factor)[:, None, None]
        l0 = l0 * factor
    F = F[..., 0] if squeeze else F
    return (F, l0) if return_l0 else F


#: the integrator, initial embedding and dimension of each named convention (the loss comes from
#: :meth:`EffectiveLoss.preset`)
SIMULATION_PRESETS = {
    "paper": {"method": "rk4", "init": "uniform", "dim": 1},
    "reference_code": {"method": "euler", "init": "standardized", "dim": 1},
}


def simulation_preset(name: str) -> dict:
    """Every setting a named convention fixes: the loss (``constraints``, ``normalization``,
    ``z``), the integrator ``method``, the initial embedding ``init`` and ``dim``.

    >>> simulation_preset("reference_code")["method"], simulation_preset("reference_code")["z"]
    ('euler', 'frozen')
    """
    loss = EffectiveLoss.preset(name)
    settings = {"constraints": loss.constraints, "normalization": loss.normalization, "z": loss.z}
    return {**settings, **SIMULATION_PRESETS[name]}
