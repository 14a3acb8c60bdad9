"""Modular arithmetic (Power et al. 2022) with an MLP on symbol pairs, vmapped over runs.

Examples and encoding.  An example is a pair of symbols of a :class:`effgrok.tasks.Task`, and
the network reads it *the way the task declares* (``task.encoding``, ``task.slots``):

* ``"sum"`` (commutative tasks such as ``add-mod``; the examples are the unordered pairs
  ``a ≤ b``): one shared table of ``n`` rows, the input is ``u = e_a + e_b``, so the network is
  symmetric, ``f(a, b) = f(b, a)``, and one unordered pair stands for both orders.
* ``"concat"`` (non-commutative tasks such as ``sub-mod``; all ``n²`` ordered pairs): separate
  left and right tables (``2n`` rows), ``u = e_a ⊕ e_b``.

So ``train_fraction`` is a fraction of ``task.n_examples`` -- of the *unordered* pairs for a
commutative task (``n(n+1)/2`` of them), of the ordered pairs otherwise; every result records
which (:attr:`ModularRuns.encoding`, :attr:`ModularRuns.pairs`).  Why not ordered pairs for
``add-mod``: with a symmetric network the two orders of a pair are the same input, so a random
split of ordered pairs would put the same input in both the training and the validation set
(``2f(1 − f)`` of the off-diagonal pairs), and the fraction would overstate what the network
has not seen.  For a symmetric network a training fraction ``f`` of unordered pairs covers
as many distinct inputs as a fraction ``1 − √(1 − f)`` of ordered pairs split independently
of the order would (an off-diagonal pair is covered when either order is drawn; ``f = 0.6``
↔ ≈ 0.37); papers that split ordered pairs state the latter.  (Up to commit 17bbf6e the
trainer fed the ``2n``-row concatenated input even to ``add-mod``: an asymmetric network that
saw only ``a ≤ b``, about half the information a fraction means in the papers.)

Architectures (``architecture``):

* ``"one_hot_mlp"`` (default): one hidden layer on the encoded one-hot input,

      h = φ(u W1 + b1),    z = h W2 + b2,

  ``W1`` has ``task.n_slots`` rows (``n`` for ``"sum"``, ``2n`` for ``"concat"``); PyTorch-style
  ``U(±1/√fan_in)`` weights (``fan_in = n_slots`` for ``W1``) and zero biases.
* ``"embed_sum"``: the MLP of the grokking-tickets paper (Minegishi et al., ICLR 2025,
  arXiv 2310.19470, ``OnlyMLP`` with no extra layers): a token embedding ``E`` (``n_slots`` ×
  ``embed_dim``, shared by both operands for ``"sum"`` tasks), a linear projection of each
  token, the sum, φ, an output projection and an unembedding, with no biases anywhere,

      h = φ(E_a W_in + E_b W_in),    z = h W_out W_U;

  weights ``N(0, 1/fan_in)`` (``E``: ``1/n_slots``; ``W_in``, ``W_U``: ``1/embed_dim``;
  ``W_out``: ``1/hidden``).  The paper uses p = 67, ``embed_dim`` 500, ``hidden`` 48, ReLU.

Defaults (unchanged since the first version): cross-entropy, AdamW (learning rate 1e-3,
β = (0.9, 0.999), ε = 1e-8, weight decay 1.0), biases.  Options:

* ``loss``: ``"cross_entropy"`` (``−log softmax(z)_y``); ``"stablemax"`` (Prieto et al. 2025,
  arXiv 2501.04697: ``exp`` replaced by ``s(x) = x + 1`` for ``x ≥ 0``, ``1/(1 − x)`` for ``x < 0``,
  so ``p_i = s(z_i)/Σ_j s(z_j)`` and the loss is ``−log p_y``); ``"mse"`` (Omnigrok-style,
  Liu, Michaud & Tegmark 2023: ``(1/C) Σ_c (z_c − [c = y])²`` per example).
* ``optimizer``: ``"adamw"`` (``beta1``, ``beta2``, ``eps``; ``eps`` may be as small as 1e-25 or
  0, as in Prieto et al.), ``"sgd"`` (plain full-batch gradient descent with decoupled weight
  decay, ``θ ← θ − η (∇L + wd·θ)``, i.e. gradient descent on ``L + (wd/2)‖θ‖²``) or
  ``"orthograd_adamw"`` (Prieto et al.'s ⊥Grad: every gradient tensor loses its component along
  its weights, :func:`orthogonal_gradients`, before AdamW).
* ``activation`` (:data:`ACTIVATIONS`) and ``bias``: ``bias=False`` holds ``b1, b2`` at exactly 0,
  so with ReLU (or any 1-homogeneous φ) the network is 2-homogeneous, ``z(cθ) = c² z(θ)``.
* ``init_scale`` (α) multiplies every randomly initialised parameter; ``init_params`` replaces
  the random draw; ``weight_mask`` (0/1) multiplies the parameters at initialisation and after
  every update, so masked weights stay exactly 0 (lottery-ticket style pruning).
* ``loss_every_step``: also return the training loss at every step
  (:attr:`ModularRuns.train_loss_every_step`), e.g. for oscillation scores.

Work per step (issue 19).  The loss and its gradient are computed on each run's *training
examples only* (a per-run index array), not on the whole table with a mask: at fraction
``f`` a step costs ``f`` of a full-table step.  Runs of one call are vmapped, so their index
arrays have one length, the largest ``n_train`` of the batch; shorter ones are padded with
weight-0 examples, which costs ``max n_train / n_train`` of the arithmetic for that run (no
cost when all runs share a training fraction; to avoid it for a sweep, call once per
fraction).  Validation/test metrics are computed only at the record stride.  On a CPU the
runs of a call are mapped one after another inside one compiled program rather than
vmapped (measured faster there; on an accelerator they are vmapped).

Recorded every ``stride`` steps (shape ``[run, record]``; record ``k`` is the state *before* the
update of step ``k·stride``, the last one after the final step): train/test accuracy and
loss, the global parameter norm, and two softmax-collapse diagnostics (Prieto et al.): the
fraction of training examples whose per-example loss is exactly 0 in the working precision,
and the fraction whose gradient with respect to the logits, ``∂ℓ/∂z``, is exactly 0 in every
component.  Also the first recorded step at which the test accuracy reaches 99 %
(``NaN``, :data:`effgrok.constants.NEVER`: not within budget) -- its resolution is ``stride``
(before issue 19 it was checked at every step, on a forward pass over all examples at every
step); the final parameters; and, with ``snapshot_stride``, parameter snapshots.

Precision: float32 unless ``float64=True``.  The matrix products here are small (reductions
over ``hidden`` ≤ a few hundred and over ``n_train`` in the weight gradients), so float32 is
accurate to its rounding; the working precision is itself a subject of study here -- softmax
collapse (Prieto et al.) is a float32 effect, so claims about it use ``float64=True`` as the
control.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .. import _checks
from ..tasks import Task, random_split, takes_task
from .engine import (
    Runs,
    first_crossing,
    map_chunks,
    over_runs,
    per_run_params,
    run_bytes,
    run_grid,
    run_rng,
    scan_schedule,
    schedule,
    seed_array,
    train_indices,
)

__all__ = [
    "ACTIVATIONS",
    "ARCHITECTURES",
    "LOSSES",
    "OPTIMIZERS",
    "ModularRuns",
    "modular_features",
    "orthogonal_gradients",
    "param_names",
    "train_modular",
]

#: Core-seconds per (run · step · training example · hidden unit) of :func:`train_modular`,
#: measured as CPU time (issue 25, shared 2-core machine, load 1-2: add-mod p = 23, fraction
#: 0.6 = 166 pairs, width 256, MSE, quadratic; 1 run × 1000 steps against 2 runs × 2000 steps:
#: 7.4e-9 in float32, 1.2e-8 in float64).
UNIT_CORE_S = 1.0e-8
#: Core-seconds to trace and compile one call (same measurement: 1.4-1.6 s; 3.4 s for the
#: first call of a process, JAX's start included).
COMPILE_CORE_S = 2.0


def estimated_core_seconds(runs: int, steps: int, n_train: int, width: int) -> float:
    """Estimated CPU core-seconds of one call of :func:`train_modular`: ``runs`` runs of
    ``steps`` steps on ``n_train`` training examples, ``width`` the hidden width (or the
    embedding width of ``embed_sum``, whichever is larger); one compilation plus the units above.

    >>> round(estimated_core_seconds(1, 3000, 166, 256), 1)
    3.3
    """
    return COMPILE_CORE_S + UNIT_CORE_S * runs * steps * n_train * width


#: Training losses by name: softmax cross-entropy, StableMax cross-entropy (Prieto et al. 2025), MSE.
LOSSES = ("cross_entropy", "stablemax", "mse")
#: Optimizers by name: AdamW, plain SGD, and AdamW on the ⊥Grad-projected gradient (Prieto et al.).
OPTIMIZERS = ("adamw", "sgd", "orthograd_adamw")
#: Hidden-layer nonlinearities by name (``relu`` is positively 1-homogeneous).
ACTIVATIONS = ("relu", "gelu", "tanh", "silu", "quadratic")
#: Network architectures: the one-hot MLP and the grokking-tickets embedding-sum MLP.
ARCHITECTURES = ("one_hot_mlp", "embed_sum")
#: Parameter names of the default architecture (``"one_hot_mlp"``).
PARAM_NAMES = ("W1", "b1", "W2", "b2")
EMBED_SUM_NAMES = ("E", "W_in", "W_out", "W_U")


def param_names(architecture: str = "one_hot_mlp") -> tuple[str, ...]:
    """Parameter names of an architecture, in order.

    Examples
    --------
    >>> param_names("embed_sum")
    ('E', 'W_in', 'W_out', 'W_U')
    """
    _checks.choice("architecture", architecture, ARCHITECTURES)
    return PARAM_NAMES if architecture == "one_hot_mlp" else EMBED_SUM_NAMES


@dataclass(frozen=True)
class ModularRuns(Runs):
    """A batch of modular-arithmetic runs (leading axis: run = (training fraction, seed)).

    Attributes
    ----------
    steps : ndarray, shape (records,)
        Steps at which the curves are recorded, ``0, stride, …, steps``.
    train_acc, test_acc, train_loss, test_loss : ndarray, shape (runs, records)
        Accuracy and mean per-example loss on the training and test (held-out) examples.
    step_test_99 : ndarray of float, shape (runs,)
        First recorded step with test accuracy ≥ 0.99 (``NaN`` = :data:`~effgrok.constants.NEVER`:
        never); resolution ``stride``.
    train_fraction, seeds : ndarray, shape (runs,)
        ``train_fraction`` is a fraction of ``task.n_examples`` (see ``pairs``).
    weight_norm : ndarray, shape (runs, records)
        ``‖θ‖₂`` over all parameters.
    zero_loss_fraction, zero_grad_fraction : ndarray, shape (runs, records)
        Fraction of training examples with ``ℓ = 0`` exactly / ``∂ℓ/∂z = 0`` exactly.
    params : dict of ndarray
        Final parameters (:func:`param_names`), each ``[run, ...]`` (working precision).
    snapshots : dict of ndarray or None
        Parameters ``[run, snapshot, ...]`` at ``snapshot_steps``.
    snapshot_steps : ndarray or None
    train_mask : ndarray of bool, shape (runs, n_examples)
        Which examples each run trained on (the rest are its test set).
    learning_rate, weight_decay, init_scale : ndarray, shape (runs,)
        Each run's optimiser settings and initialisation scale.
    encoding : str
        ``"sum"`` (shared table, ``u = e_a + e_b``) or ``"concat"`` (``u = e_a ⊕ e_b``).
    pairs : str
        ``"unordered"`` (examples ``a ≤ b``; commutative task) or ``"ordered"``: what
        ``train_fraction`` is a fraction of.
    n_train : ndarray of int, shape (runs,)
        Number of training examples of each run.
    architecture : str
        ``"one_hot_mlp"`` or ``"embed_sum"`` (``"transformer"`` for :func:`train_transformer`).
    config : dict
        The remaining settings of the call (loss, optimizer and its β₁, β₂, ε, activation,
        bias, hidden, embed_dim, float64).
    train_loss_every_step : ndarray or None, shape (runs, steps)
        With ``loss_every_step=True``: the training loss at every step ``t = 0 … steps−1``,
        on the parameters before that step's update.
    """

    NOT_CURVES = ("train_loss_every_step",)

    steps: np.ndarray
    train_acc: np.ndarray
    test_acc: np.ndarray
    train_loss: np.ndarray
    step_test_99: np.ndarray
    train_fraction: np.ndarray
    seeds: np.ndarray
    test_loss: np.ndarray = None
    weight_norm: np.ndarray = None
    zero_loss_fraction: np.ndarray = None
    zero_grad_fraction: np.ndarray = None
    params: dict = None
    snapshots: dict | None = None
    snapshot_steps: np.ndarray | None = None
    train_mask: np.ndarray = None
    learning_rate: np.ndarray = None
    weight_decay: np.ndarray = None
    init_scale: np.ndarray = None
    encoding: str = ""
    pairs: str = ""
    n_train: np.ndarray = None
    architecture: str = ""
    config: dict = None
    train_loss_every_step: np.ndarray | None = None


# ---------------------------------------------------------------------------------------------
# pure pieces (jax.numpy or numpy, chosen by the caller through ``xp``)


def orthogonal_gradients(tiny: float = 1e-30):
    """The ⊥Grad gradient transformation (optax) of Prieto et al. (2025, §5).

    For every parameter tensor ``w`` with gradient ``g``:

        g⊥ = g − (⟨w, g⟩/⟨w, w⟩) w,       g ← g⊥ · ‖g‖/‖g⊥‖,

    the gradient with its component along the weights -- the direction that only scales the
    logits up ("naive loss minimisation", NLM) -- removed and its norm restored.  Chain it before
    the optimiser: ``optax.chain(orthogonal_gradients(), optax.adamw(...))``
    (``train_modular(optimizer="orthograd_adamw")``).  ``tiny`` guards
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


def _hidden_pre(params: dict, slots_a, slots_b):
    """Pre-activations of the hidden layer for examples with embedding rows ``(slots_a, slots_b)``.

    ``u W1`` for the encoded one-hot input ``u`` is ``W1[s_a] + W1[s_b]``: a gather (and a
    scatter-add in the backward pass) instead of a dense (examples × n_slots) product.
    Works on numpy and jax arrays, with or without leading axes on the parameters.
    """
    if "W1" in params:
        W1 = params["W1"]
        return W1[..., slots_a, :] + W1[..., slots_b, :] + params["b1"][..., None, :]
    E = params["E"]
    u = E[..., slots_a, :] + E[..., slots_b, :]
    return u @ params["W_in"]


def _logits_from_hidden(params: dict, h):
    if "W2" in params:
        return h @ params["W2"] + params["b2"]
    return (h @ params["W_out"]) @ params["W_U"]


def modular_features(params: dict, task: Task, run: int | None = None, *, activation: str = "relu"):
    """Hidden-layer activations of every example of ``task`` (numpy, float64).

    ``h = φ(u W1 + b1)`` for the one-hot MLP, ``h = φ((E_a + E_b) W_in)`` for ``"embed_sum"``
    (parameters as in :attr:`ModularRuns.params`, ``[run, ...]`` arrays, or one run's
    parameters without a run axis).  The input rows are ``task.slots`` (shared table for
    ``encoding="sum"``, ``n`` rows; left/right tables for ``"concat"``, ``2n`` rows).  Returns
    ``(runs, n_examples, hidden)``, or ``(n_examples, hidden)`` for a single run (``run`` given,
    or parameters without a run axis).  Use it for effective-rank or Fourier progress measures.

    Examples
    --------
    >>> import effgrok as eg
    >>> task = eg.make_task("add-mod", 5)           # encoding "sum": W1 has 5 rows
    >>> p = {"W1": np.ones((5, 3)), "b1": -np.ones(3), "W2": np.zeros((3, 5)), "b2": np.zeros(5)}
    >>> modular_features(p, task).shape, float(modular_features(p, task).max())   # relu(1 + 1 − 1)
    ((15, 3), 1.0)
    """
    if not isinstance(params, dict) or not ({"W1", "b1"} <= set(params) or {"E", "W_in"} <= set(params)):
        raise ValueError("params must be a dict with at least 'W1' and 'b1' (or 'E' and 'W_in')")
    one_hot = "W1" in params
    first = np.asarray(params["W1" if one_hot else "E"], dtype=np.float64)
    second = np.asarray(params["b1" if one_hot else "W_in"], dtype=np.float64)
    rows = task.n_slots
    lead = first.shape[:-2]
    ok_second = (
        second.shape == lead + first.shape[-1:]
        if one_hot
        else (second.ndim == first.ndim and second.shape[:-2] == lead and second.shape[-2] == first.shape[-1])
    )
    if first.ndim not in (2, 3) or first.shape[-2] != rows or not ok_second:
        name = "W1" if one_hot else "E"
        raise ValueError(
            f"{name} must be ([runs,] {rows}, width) for this task (encoding {task.encoding!r}: "
            f"{rows} rows), got {first.shape} with {'b1' if one_hot else 'W_in'} {second.shape}"
        )
    if run is not None:
        if first.ndim != 3 or isinstance(run, bool) or not isinstance(run, (int, np.integer)):
            raise ValueError(f"run must be None or an integer index into the run axis, got {run!r}")
        if not -first.shape[0] <= run < first.shape[0]:
            raise ValueError(f"run must be in [0, {first.shape[0]}), got {run}")
        first, second = first[run], second[run]
    phi = _activation(activation, np)
    p = {"W1": first, "b1": second} if one_hot else {"E": first, "W_in": second}
    return phi(_hidden_pre(p, task.slots[:, 0], task.slots[:, 1]))


# ---------------------------------------------------------------------------------------------
# input checks


def _param_shapes(task: Task, architecture: str, hidden: int, embed_dim: int) -> dict:
    n, C = task.n_slots, task.n_classes
    if architecture == "one_hot_mlp":
        return {"W1": (n, hidden), "b1": (hidden,), "W2": (hidden, C), "b2": (C,)}
    return {
        "E": (n, embed_dim),
        "W_in": (embed_dim, hidden),
        "W_out": (hidden, embed_dim),
        "W_U": (embed_dim, C),
    }


def _random_init(rng: np.random.Generator, shapes: dict) -> dict:
    """One run's initial parameters (float64), drawn from ``rng`` in the order of ``shapes``."""
    if "W1" in shapes:
        (n, hidden), C = shapes["W1"], shapes["b2"][0]
        b1, b2 = 1 / math.sqrt(n), 1 / math.sqrt(hidden)
        return {
            "W1": rng.uniform(-b1, b1, (n, hidden)),
            "b1": np.zeros(hidden),
            "W2": rng.uniform(-b2, b2, (hidden, C)),
            "b2": np.zeros(C),
        }
    return {k: rng.normal(0.0, 1 / math.sqrt(s[0]), s) for k, s in shapes.items()}


def _learning_rate(learning_rate, lr):
    """The learning rate from ``learning_rate`` or its old name ``lr`` (default 1e-3)."""
    if lr is not None and learning_rate is not None:
        raise ValueError("give learning_rate or its old name lr, not both")
    return 1e-3 if (lr is None and learning_rate is None) else (learning_rate if lr is None else lr)


def _check_adam(beta1, beta2, eps) -> None:
    for name, b in (("beta1", beta1), ("beta2", beta2)):
        if isinstance(b, bool) or not isinstance(b, (int, float, np.floating, np.integer)) or not 0 <= b < 1:
            raise ValueError(f"{name} must be a number in [0, 1), got {b!r}")
    if isinstance(eps, bool) or not isinstance(eps, (int, float, np.floating, np.integer)):
        raise ValueError(f"eps must be a number >= 0, got {eps!r}")
    if not (math.isfinite(eps) and eps >= 0):
        raise ValueError(f"eps must be a finite number >= 0, got {eps!r}")


@dataclass(frozen=True)
class _Program:
    """Everything that shapes the compiled training program except array shapes."""

    names: tuple
    loss: str
    optimizer: str
    beta1: float
    beta2: float
    eps: float
    activation: str
    stride: int
    blocks: int
    n_snap: int
    snapshots: bool
    loss_every_step: bool
    masked: bool
    float64: bool


@lru_cache(maxsize=32)
def _compiled(prog: _Program):
    """The jitted, vmapped training program of :func:`train_modular` for one configuration.

    Cached, so repeated calls with the same configuration (and array shapes) do not recompile.
    Arguments: ``params, masks, train_index, train_weight, weight_mask, lr, wd`` (per run) and
    ``slot_a, slot_b, y`` (the task, shared).
    """
    import jax
    import jax.numpy as jnp
    import optax

    dtype = jnp.float64 if prog.float64 else jnp.float32
    names, loss = prog.names, prog.loss
    phi = _activation(prog.activation, jnp)

    def make_opt(lr, wd):
        if prog.optimizer in ("adamw", "orthograd_adamw"):
            adamw = optax.adamw(lr, b1=prog.beta1, b2=prog.beta2, eps=prog.eps, weight_decay=wd)
            return adamw if prog.optimizer == "adamw" else optax.chain(orthogonal_gradients(), adamw)
        return optax.chain(optax.add_decayed_weights(wd), optax.sgd(lr))

    def logits_of(p, a, b):
        return _logits_from_hidden(p, phi(_hidden_pre(p, a, b)))

    def train_loss(p, a, b, yt, w):
        return jnp.sum(_per_example_loss(logits_of(p, a, b), yt, loss) * w) / jnp.maximum(w.sum(), 1)

    g = jax.value_and_grad(train_loss)

    def mean_over(v, m):
        return jnp.sum(v * m) / jnp.maximum(m.sum(), 1)

    def record(p, m, sa, sb, y):
        """Metrics on every example of the table (train: m = 1, test: m = 0)."""
        logits = logits_of(p, sa, sb)
        ell = _per_example_loss(logits, y, loss)
        correct = jnp.argmax(logits, axis=1) == y
        # examples are independent, so row i of this gradient is ∂ℓ_i/∂z_i
        dz = jax.grad(lambda z: jnp.sum(_per_example_loss(z, y, loss)))(logits)
        norm = jnp.sqrt(sum(jnp.sum(v**2) for v in p.values()))
        return (
            mean_over(ell, m),
            mean_over(correct, m),
            mean_over(correct, 1 - m),
            mean_over(ell, 1 - m),
            norm,
            mean_over(ell == 0, m),
            mean_over(jnp.all(dz == 0, axis=1), m),
        )

    def one(p, mask, idx, w, pm, lr, wd, sa, sb, y):
        opt = make_opt(lr, wd)
        m = mask.astype(dtype)
        a, b, yt = sa[idx], sb[idx], y[idx]

        def step(carry, _):
            p, state = carry
            value, grads = g(p, a, b, yt, w)
            u, state = opt.update(grads, state, p)
            p = optax.apply_updates(p, u)
            if pm is not None:
                p = {k: p[k] * pm[k] for k in names}
            return (p, state), value if prog.loss_every_step else None

        carry, curves, every, snaps = scan_schedule(
            step,
            lambda carry: record(carry[0], m, sa, sb, y),
            (p, opt.init(p)),
            stride=prog.stride,
            records=prog.blocks * prog.n_snap,
            snapshots=prog.n_snap,
            snap=(lambda carry: carry[0]) if prog.snapshots else None,
        )
        return curves, carry[0], snaps, every

    in_axes = (0, 0, 0, 0, 0 if prog.masked else None, 0, 0, None, None, None)
    return jax.jit(over_runs(one, in_axes))


@takes_task
def train_modular(
    task: Task,
    *,
    train_fraction=0.5,
    seeds=(0,),
    hidden: int = 256,
    learning_rate=None,
    weight_decay: float = 1.0,
    steps: int = 10_000,
    stride: int = 100,
    float64: bool = False,
    loss: str = "cross_entropy",
    optimizer: str = "adamw",
    activation: str = "relu",
    bias: bool | None = None,
    init_scale: float = 1.0,
    init_params: dict | None = None,
    weight_mask: dict | None = None,
    snapshot_stride: int | None = None,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    architecture: str = "one_hot_mlp",
    embed_dim: int = 500,
    loss_every_step: bool = False,
    lr=None,
) -> ModularRuns:
    """Train one network per (seed, training fraction) in one vmapped computation.

    The runs are the broadcast of ``train_fraction``, ``seeds``, ``learning_rate``,
    ``weight_decay`` and ``init_scale`` (scalars or 1-D arrays) against each other; run ``k``
    draws its split and its initial weights from ``numpy.random.SeedSequence(seeds[k])`` (so
    runs that differ only in ``init_scale`` start from the same direction).  Training is
    ``jax.vmap`` over runs of a ``jax.lax.scan`` over steps, full batch over each run's
    training examples:

        L(θ) = (1/n_train) Σ_{x ∈ train} ℓ(z_θ(x), y(x)).

    Parameters
    ----------
    task : Task
        Read through ``task.encoding`` (see the module docstring): ``train_fraction`` is a
        fraction of ``task.n_examples`` (unordered pairs for commutative tasks).
    learning_rate : float or array of float
        Default 1e-3.  ``lr`` is accepted as the old name of the same argument.
    weight_decay : float or array of float
        Decoupled (AdamW / ``θ ← θ − η(∇L + wd·θ)`` for SGD); per run when arrays.
    loss : {"cross_entropy", "stablemax", "mse"}
    optimizer : {"adamw", "sgd", "orthograd_adamw"}
        ``sgd``: ``θ ← θ − learning_rate·(∇L + weight_decay·θ)`` (``optax.sgd`` after
        ``optax.add_decayed_weights``); ``orthograd_adamw``: ``optax.chain(orthogonal_gradients(),
        adamw)``.
    beta1, beta2, eps : float
        AdamW's moment decay rates and ε (``optax.adamw``; ``eps`` ≥ 0, e.g. 1e-25 as in
        Prieto et al.); ignored by ``sgd``.
    activation : one of :data:`ACTIVATIONS`
    architecture : one of :data:`ARCHITECTURES`
        ``"embed_sum"`` uses ``embed_dim`` (default 500, the paper's) and ``hidden`` as its
        projection width (the paper's is 48); it has no biases.
    bias : bool, optional
        ``False``: ``b1 = b2 = 0`` throughout (one-hot MLP).  Default: ``True`` for
        ``"one_hot_mlp"``; ``"embed_sum"`` has no biases (``True`` is an error there).
    init_scale : float or array of float
        Multiplies the random initial parameters (α); ignored for ``init_params``.
    init_params, weight_mask : dict, optional
        Parameter dicts (:func:`param_names`) with the shapes of :attr:`ModularRuns.params`
        (``W1``: ``(task.n_slots, hidden)``, ...), with or without a leading run axis; the
        mask holds 0/1.
    snapshot_stride : int, optional
        Record the parameters every ``snapshot_stride`` steps (a multiple of ``stride`` that
        divides ``steps``), at ``0, snapshot_stride, …, steps``.
    loss_every_step : bool
        Also return the training loss at every step (``train_loss_every_step``).

    Examples
    --------
    >>> import effgrok as eg
    >>> r = train_modular(eg.make_task("add-mod", 7), train_fraction=[0.5, 0.9], steps=20, stride=10)
    >>> r.test_acc.shape, r.params["W1"].shape, r.encoding, r.pairs
    ((2, 3), (2, 7, 256), 'sum', 'unordered')
    >>> r = train_modular(eg.make_task("add-mod", 7), steps=4, stride=2, optimizer="sgd",
    ...                   bias=False, init_scale=3.0, snapshot_stride=2, hidden=8, loss_every_step=True)
    >>> r.snapshot_steps.tolist(), float(abs(r.params["b1"]).max()), r.train_loss_every_step.shape
    ([0, 2, 4], 0.0, (1, 4))
    >>> r = train_modular(eg.make_task("sub-mod", 5), architecture="embed_sum", hidden=8, embed_dim=6,
    ...                   steps=2, stride=1, eps=1e-25)
    >>> [r.params[k].shape for k in param_names("embed_sum")]
    [(1, 10, 6), (1, 6, 8), (1, 8, 6), (1, 6, 5)]
    """
    rate = _learning_rate(learning_rate, lr)
    steps, stride, n_snap = schedule(
        steps, stride, snapshot_stride=snapshot_stride, hidden=hidden, embed_dim=embed_dim
    )
    for name, v, allowed in (
        ("loss", loss, LOSSES),
        ("optimizer", optimizer, OPTIMIZERS),
        ("activation", activation, ACTIVATIONS),
        ("architecture", architecture, ARCHITECTURES),
    ):
        _checks.choice(name, v, allowed)
    _check_adam(beta1, beta2, eps)
    bias = _check_bias(bias, architecture)
    if not isinstance(loss_every_step, (bool, np.bool_)):
        raise ValueError(f"loss_every_step must be True or False, got {loss_every_step!r}")
    _, grid = run_grid(
        train_fraction=np.asarray(train_fraction, float),
        seeds=seed_array(seeds),
        learning_rate=_checks.positive_array("learning_rate", rate),
        weight_decay=_checks.positive_array("weight_decay", weight_decay, allow_zero=True),
        init_scale=_checks.positive_array("init_scale", init_scale),
    )
    shapes = _param_shapes(task, architecture, hidden, embed_dim)
    masks, init, wmask = _initial(
        task, grid, shapes, init_params, weight_mask, bias and architecture == "one_hot_mlp"
    )
    config = {
        "loss": loss,
        "optimizer": optimizer,
        "beta1": float(beta1),
        "beta2": float(beta2),
        "eps": float(eps),
        "activation": activation,
        "bias": bias,
        "hidden": int(hidden),
        "embed_dim": int(embed_dim) if architecture == "embed_sum" else None,
        "float64": bool(float64),
    }
    key = _Program(
        names=param_names(architecture),
        **{k: config[k] for k in ("loss", "optimizer", "beta1", "beta2", "eps", "activation", "float64")},
        stride=stride,
        blocks=steps // stride // n_snap,
        n_snap=n_snap,
        snapshots=snapshot_stride is not None,
        loss_every_step=bool(loss_every_step),
        masked=wmask is not None,
    )
    return _train(key, task, grid, masks, init, wmask, config, architecture)


def _train(key: _Program, task: Task, grid: dict, masks, init: dict, wmask, config: dict, architecture: str):
    """Run the program of ``key`` on every run, in chunks that fit in memory; the result."""
    tr_idx, tr_w, n_train = train_indices(masks)
    width = max(config["hidden"], config["embed_dim"] or 0)
    size = run_bytes(init, copies=6 + key.n_snap, extra=4 * masks.shape[1] * width, float64=key.float64)

    def chunk(sl):
        per = None if wmask is None else {k: v[sl] for k, v in wmask.items()}
        sliced = {k: v[sl] for k, v in grid.items()}
        return _run_program(
            key, task, masks[sl], (tr_idx[sl], tr_w[sl]), {k: v[sl] for k, v in init.items()}, per, sliced
        )

    curves, final, snaps, every = map_chunks(chunk, masks.shape[0], size)
    tr_loss, tr_acc, test_acc, test_loss, norm, zero_loss, zero_grad = curves
    step_axis = np.arange(key.n_snap * key.blocks + 1) * key.stride
    snap_stride = key.blocks * key.stride
    return ModularRuns(
        steps=step_axis,
        train_acc=tr_acc,
        test_acc=test_acc,
        train_loss=tr_loss,
        step_test_99=first_crossing(test_acc, step_axis, 0.99),
        train_fraction=grid["train_fraction"],
        seeds=grid["seeds"],
        test_loss=test_loss,
        weight_norm=norm,
        zero_loss_fraction=zero_loss,
        zero_grad_fraction=zero_grad,
        params=final,
        snapshots=snaps,
        snapshot_steps=np.arange(key.n_snap + 1) * snap_stride if key.snapshots else None,
        train_mask=masks,
        learning_rate=grid["learning_rate"],
        weight_decay=grid["weight_decay"],
        init_scale=grid["init_scale"],
        encoding=task.encoding,
        pairs="unordered" if task.commutative else "ordered",
        n_train=n_train,
        architecture=architecture,
        config=config,
        train_loss_every_step=every,
    )


def _check_bias(bias, architecture: str) -> bool:
    if bias is not None and not isinstance(bias, (bool, np.bool_)):
        raise ValueError(f"bias must be True or False, got {bias!r}")
    if architecture == "embed_sum" and bias:
        raise ValueError(
            "architecture 'embed_sum' has no biases (the paper's network); use bias=False or None"
        )
    return architecture == "one_hot_mlp" if bias is None else bool(bias)


def _initial(task: Task, grid: dict, shapes: dict, init_params, weight_mask, biased: bool):
    """Per-run training masks, initial parameters and weight masks (``None``: unmasked).

    Run ``k`` draws its split, then its initial weights, from ``SeedSequence(seeds[k])``; the
    random initial weights are scaled by ``init_scale[k]``.  One-hot MLPs without biases get a
    weight mask that holds ``b1, b2`` at 0.
    """
    runs, names = grid["seeds"].size, tuple(shapes)
    masks, inits = [], []
    for f, s in zip(grid["train_fraction"], grid["seeds"], strict=True):
        rng = run_rng(s)
        masks.append(random_split(task, fraction=float(f), seed=int(rng.integers(2**63 - 1))).mask)
        inits.append(_random_init(rng, shapes))
    masks = np.stack(masks).astype(bool)
    if init_params is not None:
        init = per_run_params("init_params", init_params, shapes, runs)
    else:
        alpha = grid["init_scale"]
        init = {
            k: alpha.reshape((-1,) + (1,) * len(shapes[k])) * np.stack([p[k] for p in inits]) for k in names
        }
    wmask = None
    if weight_mask is not None:
        wmask = {
            k: np.array(v)
            for k, v in per_run_params("weight_mask", weight_mask, shapes, runs, binary=True).items()
        }
    if not biased and "b1" in shapes:
        wmask = wmask or {k: np.ones((runs, *shapes[k])) for k in names}
        wmask["b1"] = np.zeros_like(wmask["b1"])
        wmask["b2"] = np.zeros_like(wmask["b2"])
    if wmask is not None:
        init = {k: init[k] * wmask[k] for k in names}
    return masks, init, wmask


def _run_program(key: _Program, task: Task, masks, train: tuple, init: dict, wmask, grid: dict):
    """Run the compiled program of ``key`` on the runs given (``train``: their padded training
    indices and weights, :func:`~effgrok.nets.engine.train_indices`); numpy outputs
    ``(curves, final params, snapshots, loss every step)``."""
    import jax
    import jax.numpy as jnp

    names = key.names
    tr_idx, tr_w = train
    with jax.enable_x64(key.float64):
        dtype = jnp.float64 if key.float64 else jnp.float32
        curves, final, snaps, every = _compiled(key)(
            {k: jnp.asarray(init[k], dtype) for k in names},
            jnp.asarray(masks),
            jnp.asarray(tr_idx),
            jnp.asarray(tr_w, dtype),
            None if wmask is None else {k: jnp.asarray(wmask[k], dtype) for k in names},
            jnp.asarray(grid["learning_rate"], dtype),
            jnp.asarray(grid["weight_decay"], dtype),
            jnp.asarray(task.slots[:, 0]),
            jnp.asarray(task.slots[:, 1]),
            jnp.asarray(task.results),
        )
        curves = [np.asarray(r, np.float64) for r in curves]
        final = {k: np.asarray(v) for k, v in final.items()}
        snaps = None if snaps is None else {k: np.asarray(v) for k, v in snaps.items()}
        every = None if every is None else np.asarray(every, np.float64)
    return curves, final, snaps, every


#: The demo protocol of ``effgrok train modular``: its defaults, where they are not
#: :func:`train_modular`'s (or :func:`~effgrok.nets.transformer.train_transformer`'s) own.
#: With them a one-hidden-layer MLP with quadratic units under MSE (Gromov's network) groks
#: add-mod 23 in seconds on a CPU: training accuracy reaches 1 within ~100 steps, test
#: accuracy ~2000 steps later.  ``loss`` and ``activation`` apply to the MLP models only.
DEMO = {
    "task": "add-mod",
    "p": 23,
    "train_fraction": 0.6,
    "learning_rate": 1e-3,
    "weight_decay": 1.0,
    "loss": "mse",
    "activation": "quadratic",
    "steps": 3000,
}

#: The hidden (projection) width of the embed-sum network in the grokking-tickets paper
#: (Minegishi et al. 2024), the default of ``effgrok train modular --model embed-sum``.
EMBED_SUM_HIDDEN = 48
