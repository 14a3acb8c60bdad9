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
from dataclasses import dataclass

import numpy as np

__all__ = [
    "OrthoGradRuns",
    "collapse_step",
    "gradient_underflow_gap",
    "loss_absorption_gap",
    "orthogonal_gradients",
    "stablemax",
    "stablemax_cross_entropy",
    "stablemax_s",
    "train_orthograd",
]


def _n_classes(n_classes) -> int:
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 2:
        raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}")
    return int(n_classes)


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
    C = _n_classes(n_classes)
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
    if not (isinstance(level, (int, float, np.floating)) and 0 < level <= 1):
        raise ValueError(f"level must be a number in (0, 1], got {level!r}")
    hit = np.flatnonzero(f >= level)
    return float(s[hit[0]]) if hit.size else math.nan


# ---------------------------------------------------------------------------------------------
# ⊥Grad (Prieto et al. §5): remove the naive-loss-minimisation direction from every gradient


def orthogonal_gradients(tiny: float = 1e-30):
    """The ⊥Grad gradient transformation (optax) of Prieto et al. (2025, §5).

    For every parameter tensor ``w`` with gradient ``g``:

        g⊥ = g − (⟨w, g⟩/⟨w, w⟩) w,       g ← g⊥ · ‖g‖/‖g⊥‖,

    the gradient with its component along the weights -- the direction that only scales the
    logits up ("naive loss minimisation", NLM) -- removed and its norm restored.  Chain it before
    the optimiser: ``optax.chain(orthogonal_gradients(), optax.adamw(...))``.  ``tiny`` guards
    the divisions (a zero tensor passes its gradient unchanged).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> w, g = {"W": jnp.array([1.0, 0.0])}, {"W": jnp.array([3.0, 4.0])}
    >>> out, _ = orthogonal_gradients().update(g, orthogonal_gradients().init(w), w)
    >>> [round(float(v), 6) for v in out["W"]]     # (0, 4) rescaled to ‖g‖ = 5
    [0.0, 5.0]
    """
    import jax
    import jax.numpy as jnp
    import optax

    if not (isinstance(tiny, (int, float)) and tiny > 0):
        raise ValueError(f"tiny must be a positive number, got {tiny!r}")

    def project(g, w):
        g_perp = g - (jnp.vdot(w, g) / (jnp.vdot(w, w) + tiny)) * w
        return g_perp * (jnp.linalg.norm(g) / (jnp.linalg.norm(g_perp) + tiny))

    def init_fn(params):
        return optax.EmptyState()

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError("orthogonal_gradients needs the parameters (pass params to update)")
        return jax.tree.map(project, updates, params), state

    return optax.GradientTransformation(init_fn, update_fn)


@dataclass(frozen=True)
class OrthoGradRuns:
    """Curves of :func:`train_orthograd` (leading axis: run = seed), recorded every ``stride`` steps."""

    steps: np.ndarray
    train_acc: np.ndarray
    val_acc: np.ndarray
    train_loss: np.ndarray
    zero_loss_fraction: np.ndarray
    weight_norm: np.ndarray
    seeds: np.ndarray


def train_orthograd(
    task,
    *,
    train_fraction: float = 0.4,
    seeds=(0,),
    hidden: int = 200,
    learning_rate: float = 0.01,
    steps: int = 300,
    stride: int = 10,
    beta2: float = 0.99,
    eps: float = 1e-25,
    loss: str = "cross_entropy",
) -> OrthoGradRuns:
    """Train the bias-free one-hidden-layer ReLU MLP of :func:`effgrok.nets.modular.train_modular`
    with ⊥Grad + AdamW (weight decay 0), float32, full batch -- the paper's ⊥Grad control.

    The initial parameters and the split are exactly ``train_modular``'s for the same
    ``(task, train_fraction, seed, hidden)`` (taken from its step-0 snapshot), and the forward
    pass and losses are its own; only the update differs: ``optax.chain(orthogonal_gradients(),
    optax.adamw(learning_rate, b2=beta2, eps=eps, weight_decay=0))`` on ``W1, W2`` (the biases
    stay at exactly 0).  Prieto et al. (their Fig. 1): with ⊥Grad, float32 cross-entropy without
    weight decay generalises within a few hundred steps, where plain AdamW stalls in softmax
    collapse.

    Examples
    --------
    >>> import effgrok as eg
    >>> r = train_orthograd(eg.make_task("sub-mod", 5), train_fraction=0.8, hidden=8, steps=20, stride=10)
    >>> r.val_acc.shape
    (1, 3)
    """
    import jax
    import jax.numpy as jnp
    import optax

    from ..nets.modular import _activation, _hidden_pre, _logits_from_hidden, _per_example_loss, train_modular

    for name, v in (("steps", steps), ("stride", stride)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
    if steps % stride:
        raise ValueError(f"stride must divide steps; got stride {stride} for {steps} steps")
    if loss not in ("cross_entropy", "stablemax"):
        raise ValueError(f"loss must be 'cross_entropy' or 'stablemax', got {loss!r}")
    start = train_modular(
        task,
        train_fraction=train_fraction,
        seeds=seeds,
        hidden=hidden,
        learning_rate=learning_rate,
        weight_decay=0.0,
        steps=1,
        stride=1,
        snapshot_stride=1,
        bias=False,
        loss=loss,
    )
    W1 = jnp.asarray(start.snapshots["W1"][:, 0], jnp.float32)
    W2 = jnp.asarray(start.snapshots["W2"][:, 0], jnp.float32)
    masks = jnp.asarray(start.train_mask, jnp.float32)
    sa, sb = jnp.asarray(task.slots[:, 0]), jnp.asarray(task.slots[:, 1])
    y = jnp.asarray(task.results)
    phi = _activation("relu", jnp)
    zeros_b1, zeros_b2 = jnp.zeros(W1.shape[-1], jnp.float32), jnp.zeros(W2.shape[-1], jnp.float32)
    opt = optax.chain(orthogonal_gradients(), optax.adamw(learning_rate, b2=beta2, eps=eps, weight_decay=0.0))

    def logits(p):
        full = {"W1": p["W1"], "b1": zeros_b1, "W2": p["W2"], "b2": zeros_b2}
        return _logits_from_hidden(full, phi(_hidden_pre(full, sa, sb)))

    def objective(p, m):
        return jnp.sum(_per_example_loss(logits(p), y, loss) * m) / m.sum()

    def record(p, m):
        z = logits(p)
        ell = _per_example_loss(z, y, loss)
        hit = (jnp.argmax(z, axis=1) == y).astype(jnp.float32)
        norm = jnp.sqrt(jnp.sum(p["W1"] ** 2) + jnp.sum(p["W2"] ** 2))
        return (
            jnp.sum(hit * m) / m.sum(),
            jnp.sum(hit * (1 - m)) / jnp.maximum((1 - m).sum(), 1),
            jnp.sum(ell * m) / m.sum(),
            jnp.sum((ell == 0) * m) / m.sum(),
            norm,
        )

    def one(W1_, W2_, m):
        p = {"W1": W1_, "W2": W2_}
        state = opt.init(p)

        def step(carry, _):
            p, s = carry
            g = jax.grad(objective)(p, m)
            u, s = opt.update(g, s, p)
            return (optax.apply_updates(p, u), s), None

        def block(carry, _):
            out = record(carry[0], m)
            carry, _ = jax.lax.scan(step, carry, None, length=stride)
            return carry, out

        carry, recs = jax.lax.scan(block, (p, state), None, length=steps // stride)
        last = record(carry[0], m)
        return tuple(jnp.concatenate([r, jnp.asarray(x)[None]]) for r, x in zip(recs, last, strict=True))

    recs = [np.asarray(r, dtype=np.float64) for r in jax.jit(jax.vmap(one))(W1, W2, masks)]
    return OrthoGradRuns(
        steps=np.arange(steps // stride + 1) * stride,
        train_acc=recs[0],
        val_acc=recs[1],
        train_loss=recs[2],
        zero_loss_fraction=recs[3],
        weight_norm=recs[4],
        seeds=np.atleast_1d(np.asarray(start.seeds)),
    )
