"""Modular arithmetic (Power et al. 2022) with an MLP on one-hot pairs, vmapped over runs.

Input: the concatenated one-hot codes of ``a`` and ``b`` (``2n`` features); one hidden layer
(default ReLU, width 256); ``n_classes`` logits; full batch over the training split of all
ordered pairs (commutative tasks use unordered pairs, as everywhere in effgrok):

    h = φ(x W1 + b1),    z = h W2 + b2.

Defaults (unchanged since the first version): cross-entropy, AdamW (lr 1e-3, weight decay
1.0), biases, PyTorch-style ``U(±1/√fan_in)`` weights and zero biases.  Options:

* ``loss``: ``"cross_entropy"`` (``−log softmax(z)_y``); ``"stablemax"`` (Prieto et al. 2025,
  arXiv 2501.04697: ``exp`` replaced by ``s(x) = x + 1`` for ``x ≥ 0``, ``1/(1 − x)`` for ``x < 0``,
  so ``p_i = s(z_i)/Σ_j s(z_j)`` and the loss is ``−log p_y``); ``"mse"`` (Omnigrok-style,
  Liu, Michaud & Tegmark 2023: ``(1/C) Σ_c (z_c − [c = y])²`` per example).
* ``optimizer``: ``"adamw"`` or ``"sgd"`` (plain full-batch gradient descent with decoupled
  weight decay, ``θ ← θ − η (∇L + wd·θ)``, i.e. gradient descent on ``L + (wd/2)‖θ‖²``).
* ``activation`` (:data:`ACTIVATIONS`) and ``bias``: ``bias=False`` holds ``b1, b2`` at exactly 0,
  so with ReLU (or any 1-homogeneous φ) the network is 2-homogeneous, ``z(cθ) = c² z(θ)``.
* ``init_scale`` (α) multiplies every randomly initialised parameter; ``init_params`` replaces
  the random draw; ``weight_mask`` (0/1) multiplies the parameters at initialisation and after
  every update, so masked weights stay exactly 0 (lottery-ticket style pruning).

Recorded every ``stride`` steps (shape ``[run, record]``; record ``k`` is the state *before* the
update of step ``k·stride``, the last one after the final step): train/validation accuracy and
loss, the global parameter norm, and two softmax-collapse diagnostics (Prieto et al.): the
fraction of training examples whose per-example loss is exactly 0 in the working precision,
and the fraction whose gradient with respect to the logits, ``∂ℓ/∂z``, is exactly 0 in every
component.  Also the first step at which the validation accuracy reaches 99 % (``−1``: not
within budget), measured on the parameters before that step's update; the final parameters;
and, with ``snapshot_stride``, parameter snapshots.  float32 unless ``float64=True`` (the
working precision is itself a subject of study here: softmax collapse).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..tasks import Task, random_split

__all__ = ["ACTIVATIONS", "LOSSES", "OPTIMIZERS", "ModularRuns", "modular_features", "train_modular"]

LOSSES = ("cross_entropy", "stablemax", "mse")
OPTIMIZERS = ("adamw", "sgd")
#: Hidden-layer nonlinearities by name (``relu`` is positively 1-homogeneous).
ACTIVATIONS = ("relu", "gelu", "tanh", "silu", "quadratic")
PARAM_NAMES = ("W1", "b1", "W2", "b2")


@dataclass(frozen=True)
class ModularRuns:
    """A batch of modular-arithmetic runs (leading axis: run = (training fraction, seed)).

    Attributes
    ----------
    steps : ndarray, shape (records,)
        Steps at which the curves are recorded, ``0, stride, …, steps``.
    train_acc, val_acc, train_loss, val_loss : ndarray, shape (runs, records)
        Accuracy and mean per-example loss on the training and validation examples.
    step_val_99 : ndarray of int, shape (runs,)
        First step with validation accuracy ≥ 0.99 (−1: never).
    train_fraction, seeds : ndarray, shape (runs,)
    weight_norm : ndarray, shape (runs, records)
        ``‖θ‖₂`` over all parameters.
    zero_loss_fraction, zero_grad_fraction : ndarray, shape (runs, records)
        Fraction of training examples with ``ℓ = 0`` exactly / ``∂ℓ/∂z = 0`` exactly.
    params : dict of ndarray
        Final parameters ``{"W1", "b1", "W2", "b2"}``, each ``[run, ...]`` (working precision).
    snapshots : dict of ndarray or None
        Parameters ``[run, snapshot, ...]`` at ``snapshot_steps``.
    snapshot_steps : ndarray or None
    train_mask : ndarray of bool, shape (runs, n_examples)
        Which examples each run trained on (the rest are its validation set).
    lr, weight_decay, init_scale : ndarray, shape (runs,)
        Each run's optimiser settings and initialisation scale.
    """

    steps: np.ndarray
    train_acc: np.ndarray
    val_acc: np.ndarray
    train_loss: np.ndarray
    step_val_99: np.ndarray
    train_fraction: np.ndarray
    seeds: np.ndarray
    val_loss: np.ndarray = None
    weight_norm: np.ndarray = None
    zero_loss_fraction: np.ndarray = None
    zero_grad_fraction: np.ndarray = None
    params: dict = None
    snapshots: dict | None = None
    snapshot_steps: np.ndarray | None = None
    train_mask: np.ndarray = None
    lr: np.ndarray = None
    weight_decay: np.ndarray = None
    init_scale: np.ndarray = None


# ---------------------------------------------------------------------------------------------
# pure pieces (jax.numpy or numpy, chosen by the caller through ``xp``)


def _activation(name: str, xp):
    if name == "relu":
        return lambda h: xp.maximum(h, 0)
    if name == "tanh":
        return xp.tanh
    if name == "quadratic":
        return lambda h: h * h
    if name == "silu":
        return lambda h: h / (1 + xp.exp(-h))
    if name == "gelu":  # tanh approximation (jax.nn.gelu's default)
        return lambda h: 0.5 * h * (1 + xp.tanh(math.sqrt(2 / math.pi) * (h + 0.044715 * h**3)))
    raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}; got {name!r}")


def _stablemax_s(z, xp):
    """``s(x) = x + 1`` (x ≥ 0), ``1/(1 − x)`` (x < 0); both branches finite everywhere."""
    return xp.where(z >= 0, z + 1, 1 / (1 - xp.minimum(z, 0)))


def _per_example_loss(logits, y, loss: str):
    """Per-example loss ``ℓ(z, y)`` (jax.numpy), shape ``(n,)``."""
    import jax
    import jax.numpy as jnp

    if loss == "cross_entropy":
        return -jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], axis=1)[:, 0]
    if loss == "stablemax":  # −log p_y = log1p(Σ_{j≠y} s_j / s_y), no cancellation near p_y = 1
        s = _stablemax_s(logits, jnp)
        is_y = jnp.arange(logits.shape[1]) == y[:, None]
        s_y = jnp.sum(jnp.where(is_y, s, 0), axis=1)
        return jnp.log1p(jnp.sum(jnp.where(is_y, 0, s), axis=1) / s_y)
    onehot = jax.nn.one_hot(y, logits.shape[1], dtype=logits.dtype)
    return jnp.mean((logits - onehot) ** 2, axis=1)


def modular_features(params: dict, task: Task, run: int | None = None, *, activation: str = "relu"):
    """Hidden-layer activations ``h = φ(x W1 + b1)`` of every example of ``task`` (numpy, float64).

    ``params`` as in :attr:`ModularRuns.params` (``[run, ...]`` arrays) or one run's parameters
    (no run axis).  Returns ``(runs, n_examples, hidden)``, or ``(n_examples, hidden)`` for a
    single run (``run`` given, or parameters without a run axis).  Use it for effective-rank or
    Fourier progress measures.

    Examples
    --------
    >>> import effgrok as eg
    >>> task = eg.make_task("add-mod", 5)
    >>> p = {"W1": np.ones((10, 3)), "b1": -np.ones(3), "W2": np.zeros((3, 5)), "b2": np.zeros(5)}
    >>> modular_features(p, task).shape, float(modular_features(p, task).max())   # relu(1 + 1 − 1)
    ((15, 3), 1.0)
    """
    if not isinstance(params, dict) or set(params) < {"W1", "b1"}:
        raise ValueError("params must be a dict with at least 'W1' and 'b1'")
    W1 = np.asarray(params["W1"], dtype=np.float64)
    b1 = np.asarray(params["b1"], dtype=np.float64)
    n = task.n_symbols
    if W1.ndim not in (2, 3) or W1.shape[-2] != 2 * n or b1.shape != W1.shape[:-2] + W1.shape[-1:]:
        raise ValueError(
            f"W1 must be ([runs,] {2 * n}, hidden) with b1 ([runs,] hidden) for this task, "
            f"got {W1.shape} and {b1.shape}"
        )
    if run is not None:
        if W1.ndim != 3 or isinstance(run, bool) or not isinstance(run, (int, np.integer)):
            raise ValueError(f"run must be None or an integer index into the run axis, got {run!r}")
        if not -W1.shape[0] <= run < W1.shape[0]:
            raise ValueError(f"run must be in [0, {W1.shape[0]}), got {run}")
        W1, b1 = W1[run], b1[run]
    phi = _activation(activation, np)
    a, b = task.pairs[:, 0], task.pairs[:, 1]
    pre = W1[..., a, :] + W1[..., n + b, :] + b1[..., None, :]  # one-hot rows of x W1
    return phi(pre)


# ---------------------------------------------------------------------------------------------
# input checks


def _float_array(name: str, value) -> np.ndarray:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number or a 1-D array of numbers, got {value!r}")
    try:
        arr = np.atleast_1d(np.asarray(value, dtype=np.float64))
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or a 1-D array of numbers, got {value!r}") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a number or a 1-D array of numbers, got shape {arr.shape}")
    return arr


def _check_choice(name: str, value, allowed) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def _param_shapes(n: int, hidden: int, C: int) -> dict:
    return {"W1": (2 * n, hidden), "b1": (hidden,), "W2": (hidden, C), "b2": (C,)}


def _per_run(name: str, tree, shapes: dict, runs: int, *, binary: bool) -> dict:
    """Check a ``{"W1", "b1", "W2", "b2"}`` dict and broadcast it to a leading run axis."""
    if not isinstance(tree, dict) or set(tree) != set(PARAM_NAMES):
        got = sorted(tree) if isinstance(tree, dict) else type(tree).__name__
        raise ValueError(f"{name} must be a dict with keys W1, b1, W2, b2; got {got}")
    out = {}
    for k, shape in shapes.items():
        a = np.asarray(tree[k], dtype=np.float64)
        if a.shape == shape:
            a = np.broadcast_to(a, (runs, *shape))
        elif a.shape != (runs, *shape):
            raise ValueError(f"{name}[{k!r}] must have shape {shape} or {(runs, *shape)}, got {a.shape}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name}[{k!r}] contains NaN or infinite values")
        if binary and not np.all((a == 0) | (a == 1)):
            raise ValueError(f"{name}[{k!r}] must contain only 0 and 1")
        out[k] = a
    return out


def train_modular(
    task: Task,
    *,
    train_fraction=0.5,
    seeds=(0,),
    hidden: int = 256,
    lr: float = 1e-3,
    weight_decay: float = 1.0,
    steps: int = 10_000,
    stride: int = 100,
    float64: bool = False,
    loss: str = "cross_entropy",
    optimizer: str = "adamw",
    activation: str = "relu",
    bias: bool = True,
    init_scale: float = 1.0,
    init_params: dict | None = None,
    weight_mask: dict | None = None,
    snapshot_stride: int | None = None,
) -> ModularRuns:
    """Train one MLP per (seed, training fraction) in one vmapped computation.

    The runs are the broadcast of ``train_fraction``, ``seeds``, ``lr``, ``weight_decay`` and
    ``init_scale`` (scalars or 1-D arrays) against each other; run ``k`` draws its split and its
    initial weights from ``numpy.random.SeedSequence(seeds[k])`` (so runs that differ only in
    ``init_scale`` start from the same direction).  Training is
    ``jax.vmap`` over runs of a ``jax.lax.scan`` over steps (full batch).

    Parameters
    ----------
    loss : {"cross_entropy", "stablemax", "mse"}
    optimizer : {"adamw", "sgd"}
        ``sgd``: ``θ ← θ − lr·(∇L + weight_decay·θ)`` (``optax.sgd`` after
        ``optax.add_decayed_weights``).
    activation : one of :data:`ACTIVATIONS`
    bias : bool
        ``False``: ``b1 = b2 = 0`` throughout.
    lr, weight_decay : float or array of float
        Per run when arrays.
    init_scale : float or array of float
        Multiplies the random initial parameters (α); ignored for ``init_params``.
    init_params, weight_mask : dict, optional
        ``{"W1", "b1", "W2", "b2"}`` arrays of shape ``(2n, hidden), (hidden,), (hidden, C), (C,)``,
        with or without a leading run axis; the mask holds 0/1.
    snapshot_stride : int, optional
        Record the parameters every ``snapshot_stride`` steps (a multiple of ``stride`` that
        divides ``steps``), at ``0, snapshot_stride, …, steps``.

    Examples
    --------
    >>> import effgrok as eg
    >>> r = train_modular(eg.make_task("add-mod", 7), train_fraction=[0.5, 0.9], steps=20, stride=10)
    >>> r.val_acc.shape, r.params["W1"].shape
    ((2, 3), (2, 14, 256))
    >>> r = train_modular(eg.make_task("add-mod", 7), steps=4, stride=2, optimizer="sgd",
    ...                   bias=False, init_scale=3.0, snapshot_stride=2, hidden=8)
    >>> r.snapshot_steps.tolist(), float(abs(r.params["b1"]).max())
    ([0, 2, 4], 0.0)
    """
    import jax
    import jax.numpy as jnp
    import optax

    for name, v, lo in (("hidden", hidden, 1), ("steps", steps, 1), ("stride", stride, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")
    if steps % stride:
        raise ValueError(f"stride must divide steps; got stride {stride} for {steps} steps")
    lr_arr, wd_arr, alpha_arr = (
        _float_array(name, v)
        for name, v in (("lr", lr), ("weight_decay", weight_decay), ("init_scale", init_scale))
    )
    if not (np.all(np.isfinite(lr_arr) & (lr_arr > 0)) and np.all(np.isfinite(wd_arr) & (wd_arr >= 0))):
        raise ValueError(f"need lr > 0 and weight_decay >= 0, got lr={lr!r}, weight_decay={weight_decay!r}")
    _check_choice("loss", loss, LOSSES)
    _check_choice("optimizer", optimizer, OPTIMIZERS)
    _check_choice("activation", activation, ACTIVATIONS)
    if not isinstance(bias, (bool, np.bool_)):
        raise ValueError(f"bias must be True or False, got {bias!r}")
    if not np.all(np.isfinite(alpha_arr) & (alpha_arr > 0)):
        raise ValueError(f"init_scale must be a positive finite number, got {init_scale!r}")
    if snapshot_stride is not None:
        ss = snapshot_stride
        if (
            isinstance(ss, bool)
            or not isinstance(ss, (int, np.integer))
            or ss < 1
            or ss % stride
            or steps % ss
        ):
            raise ValueError(
                f"snapshot_stride must be a multiple of stride ({stride}) that divides steps ({steps}), "
                f"got {ss!r}"
            )
    try:
        fr, seeds, lr_arr, wd_arr, alpha_arr = (
            a.ravel()
            for a in np.broadcast_arrays(
                np.atleast_1d(np.asarray(train_fraction, float)),
                np.atleast_1d(seeds),
                lr_arr,
                wd_arr,
                alpha_arr,
            )
        )
    except ValueError:
        raise ValueError(
            "train_fraction, seeds, lr, weight_decay and init_scale must broadcast to one run axis; "
            "got sizes "
            f"{np.size(train_fraction)}, {np.size(seeds)}, {lr_arr.size}, {wd_arr.size}, {alpha_arr.size}"
        ) from None
    n, C, runs = task.n_symbols, task.n_classes, fr.size
    shapes = _param_shapes(n, hidden, C)
    masks, inits = [], []
    for f, s in zip(fr, seeds, strict=True):
        rng = np.random.default_rng(np.random.SeedSequence(int(s)))
        masks.append(random_split(task, fraction=float(f), seed=int(rng.integers(2**63 - 1))).mask)
        b1, b2 = 1 / math.sqrt(2 * n), 1 / math.sqrt(hidden)
        inits.append(
            {
                "W1": rng.uniform(-b1, b1, (2 * n, hidden)),
                "b1": np.zeros(hidden),
                "W2": rng.uniform(-b2, b2, (hidden, C)),
                "b2": np.zeros(C),
            }
        )
    if init_params is not None:
        init = _per_run("init_params", init_params, shapes, runs, binary=False)
    else:
        scale = alpha_arr.reshape(-1, 1)
        init = {
            k: (scale if k[0] == "b" else scale[:, :, None]) * np.stack([p[k] for p in inits])
            for k in PARAM_NAMES
        }
    wmask = None
    if weight_mask is not None:
        wmask = {
            k: np.array(v) for k, v in _per_run("weight_mask", weight_mask, shapes, runs, binary=True).items()
        }
    if not bias:
        wmask = wmask or {k: np.ones((runs, *shapes[k])) for k in PARAM_NAMES}
        wmask["b1"] = np.zeros_like(wmask["b1"])
        wmask["b2"] = np.zeros_like(wmask["b2"])
    if wmask is not None:
        init = {k: init[k] * wmask[k] for k in PARAM_NAMES}

    n_snap = steps // snapshot_stride if snapshot_stride is not None else 1
    blocks = steps // stride // n_snap
    dtype = jnp.float64 if float64 else jnp.float32
    with jax.enable_x64(float64):
        # x W1 for the one-hot pair x = (e_a, e_b) is W1[a] + W1[n + b]: a gather (and a
        # scatter-add in the backward pass) instead of a dense (examples × 2n) matmul
        left = jnp.asarray(task.pairs[:, 0])
        right = jnp.asarray(task.pairs[:, 1]) + n
        y = jnp.asarray(task.results)
        params = {k: jnp.asarray(init[k], dtype) for k in PARAM_NAMES}
        pmask = None if wmask is None else {k: jnp.asarray(wmask[k], dtype) for k in PARAM_NAMES}

        def make_opt(lr, wd):
            if optimizer == "adamw":
                return optax.adamw(lr, weight_decay=wd)
            return optax.chain(optax.add_decayed_weights(wd), optax.sgd(lr))

        phi = _activation(activation, jnp)

        def logits_of(p):
            return phi(p["W1"][left] + p["W1"][right] + p["b1"]) @ p["W2"] + p["b2"]

        def mean_over(v, m):
            return jnp.sum(v * m) / jnp.maximum(m.sum(), 1)

        def objective(p, mask):
            logits = logits_of(p)
            ell = _per_example_loss(logits, y, loss)
            correct = jnp.argmax(logits, axis=1) == y
            m = mask.astype(dtype)
            return mean_over(ell, m), (logits, ell, mean_over(correct, m), mean_over(correct, 1 - m))

        g = jax.value_and_grad(objective, has_aux=True)

        def record(p, mask):
            loss_tr, (logits, ell, acc_tr, acc_val) = objective(p, mask)
            m = mask.astype(dtype)
            # examples are independent, so row i of this gradient is ∂ℓ_i/∂z_i
            dz = jax.grad(lambda z: jnp.sum(_per_example_loss(z, y, loss)))(logits)
            norm = jnp.sqrt(sum(jnp.sum(v**2) for v in p.values()))
            return (
                loss_tr,
                acc_tr,
                acc_val,
                mean_over(ell, 1 - m),
                norm,
                mean_over(ell == 0, m),
                mean_over(jnp.all(dz == 0, axis=1), m),
            )

        def one(p, mask, pm, lr, wd):
            opt = make_opt(lr, wd)
            state = opt.init(p)

            def step(carry, t):
                p, state, first = carry
                (_, (_, _, _, acc_val)), grads = g(p, mask)
                first = jnp.where((first < 0) & (acc_val >= 0.99), t, first)
                u, state = opt.update(grads, state, p)
                p = optax.apply_updates(p, u)
                if pm is not None:
                    p = {k: p[k] * pm[k] for k in PARAM_NAMES}
                return (p, state, first), None

            def block(carry, r):
                m = record(carry[0], mask)
                carry, _ = jax.lax.scan(step, carry, r * stride + jnp.arange(stride, dtype=jnp.int32))
                return carry, m

            def chunk(carry, c):
                snap = carry[0] if snapshot_stride is not None else None
                carry, recs = jax.lax.scan(block, carry, c * blocks + jnp.arange(blocks, dtype=jnp.int32))
                return carry, (recs, snap)

            chunks = jnp.arange(n_snap, dtype=jnp.int32)
            carry, (recs, snaps) = jax.lax.scan(chunk, (p, state, jnp.int32(-1)), chunks)
            recs = tuple(r.reshape(-1) for r in recs)
            last = record(carry[0], mask)
            first = jnp.where((carry[2] < 0) & (last[2] >= 0.99), steps, carry[2])
            if snaps is not None:
                snaps = {k: jnp.concatenate([snaps[k], carry[0][k][None]]) for k in PARAM_NAMES}
            curves = tuple(jnp.concatenate([r, x[None]]) for r, x in zip(recs, last, strict=True))
            return curves, first, carry[0], snaps

        in_axes = (0, 0, None if pmask is None else 0, 0, 0)
        curves, first, final, snaps = jax.jit(jax.vmap(one, in_axes=in_axes))(
            params,
            jnp.asarray(np.stack(masks)),
            pmask,
            jnp.asarray(lr_arr, dtype),
            jnp.asarray(wd_arr, dtype),
        )
        curves = [np.asarray(r, np.float64) for r in curves]
        final = {k: np.asarray(v) for k, v in final.items()}
        snaps = None if snaps is None else {k: np.asarray(v) for k, v in snaps.items()}
    tr_loss, tr_acc, val_acc, val_loss, norm, zero_loss, zero_grad = curves
    return ModularRuns(
        steps=np.arange(steps // stride + 1) * stride,
        train_acc=tr_acc,
        val_acc=val_acc,
        train_loss=tr_loss,
        step_val_99=np.asarray(first),
        train_fraction=fr,
        seeds=seeds,
        val_loss=val_loss,
        weight_norm=norm,
        zero_loss_fraction=zero_loss,
        zero_grad_fraction=zero_grad,
        params=final,
        snapshots=snaps,
        snapshot_steps=None if snapshot_stride is None else np.arange(n_snap + 1) * snapshot_stride,
        train_mask=np.stack(masks).astype(bool),
        lr=lr_arr,
        weight_decay=wd_arr,
        init_scale=alpha_arr,
    )
