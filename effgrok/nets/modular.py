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

Architectures (``architecture``), the model objects :class:`MLP` and :class:`EmbedSum` of
the driver :func:`effgrok.nets.driver.train` (:func:`train_modular` is a thin wrapper over it):

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
* ``optimizer``: an optimiser object of the driver, by name in :data:`OPTIMIZERS`:
  ``AdamW(beta1, beta2, eps)`` (``eps`` may be as small as 1e-25 or 0, as in Prieto et al.),
  ``SGD()`` (plain full-batch gradient descent with decoupled weight decay,
  ``θ ← θ − η (∇L + wd·θ)``, i.e. gradient descent on ``L + (wd/2)‖θ‖²``) or
  ``Chain(OrthogonalGradients(), AdamW())`` (Prieto et al.'s ⊥Grad: every gradient tensor loses
  its component along its weights, :func:`~effgrok.nets.driver.orthogonal_gradients`, before
  AdamW).
* ``activation`` (:data:`ACTIVATIONS`) and ``bias``: ``bias=False`` holds ``b1, b2`` at exactly 0,
  so with ReLU (or any 1-homogeneous φ) the network is 2-homogeneous, ``z(cθ) = c² z(θ)``.
* ``init_scale`` (α) multiplies every randomly initialised parameter; ``init_params`` replaces
  the random draw; ``weight_mask`` (0/1) multiplies the parameters at initialisation and after
  every update, so masked weights stay exactly 0 (lottery-ticket style pruning).
* ``schedule``: a :class:`~effgrok.nets.driver.Schedule`; its ``loss_every_step`` also returns
  the training loss at every step (:attr:`ModularRuns.train_loss_every_step`), e.g. for
  oscillation scores.

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

import numpy as np

from .. import _checks
from ..tasks import Task, takes_task
from .driver import (
    LOSSES,  # noqa: F401 - read here by older code
    SGD,
    AdamW,
    Chain,
    Examples,
    Grid,
    Model,
    Optimizer,
    OrthogonalGradients,
    Schedule,
    TrainRuns,
    _as_optimizer,
    _per_example_loss,  # noqa: F401 - the tests read it here
    as_schedule,
    collapse_metrics,
    orthogonal_gradients,  # noqa: F401 - its old home (effgrok.solvable re-exports it from here)
    register,
    train,
)
from .engine import Runs, first_crossing, seed_array

__all__ = [
    "ACTIVATIONS",
    "ARCHITECTURES",
    "MLP",
    "OPTIMIZERS",
    "EmbedSum",
    "ModularRuns",
    "modular_features",
    "optimizer_record",
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


def _sgd(**adam) -> SGD:
    return SGD()


def _orthograd_adamw(**adam) -> Chain:
    return Chain(OrthogonalGradients(), AdamW(**adam))


#: Optimizers by name, name -> factory of the optimiser object from AdamW's ``beta1``,
#: ``beta2``, ``eps`` (keywords; ``sgd`` takes none of them): AdamW, plain SGD, and AdamW on
#: the ⊥Grad-projected gradient (Prieto et al.).  The one table between the names a result
#: records (:func:`optimizer_record`) and the objects :func:`train_modular` takes.
OPTIMIZERS = {"adamw": AdamW, "sgd": _sgd, "orthograd_adamw": _orthograd_adamw}


def optimizer_record(optimizer) -> dict:
    """How a result records ``optimizer`` (``config`` of :func:`train_modular`): its name in
    :data:`OPTIMIZERS` -- the name whose factory, given the optimiser's AdamW ``beta1``,
    ``beta2``, ``eps``, builds an equal object -- else its ``repr``; then those β and ε
    (``None`` where it has no AdamW part).

    >>> optimizer_record(OPTIMIZERS["orthograd_adamw"](beta2=0.98))
    {'optimizer': 'orthograd_adamw', 'beta1': 0.9, 'beta2': 0.98, 'eps': 1e-08}
    >>> optimizer_record(SGD())
    {'optimizer': 'sgd', 'beta1': None, 'beta2': None, 'eps': None}
    >>> optimizer_record(Chain(SGD(), AdamW()))["optimizer"]
    'Chain(parts=(SGD(), AdamW(beta1=0.9, beta2=0.999, eps=1e-08)))'
    """
    opt = _as_optimizer(optimizer)
    parts = opt.parts if isinstance(opt, Chain) else (opt,)
    adam = next((vars(p) for p in parts if isinstance(p, AdamW)), {})
    name = next((n for n, make in OPTIMIZERS.items() if make(**adam) == opt), repr(opt))
    return {"optimizer": name, **dict.fromkeys(("beta1", "beta2", "eps")), **adam}


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

    @classmethod
    def from_train(
        cls, r: TrainRuns, task: Task, *, architecture: str, encoding: str, config: dict
    ) -> ModularRuns:
        """The result of :func:`train_modular` or :func:`~effgrok.nets.transformer.train_transformer`
        from :func:`~effgrok.nets.driver.train`'s runs: the curves and per-run columns by name
        (``init_scale`` 1 where the grid has none), with the call's ``architecture``,
        ``encoding`` and remaining settings ``config``."""
        c, cols = r.curves, r.columns
        curves = ("train_acc", "test_acc", "train_loss", "test_loss", "weight_norm")
        curves += ("zero_loss_fraction", "zero_grad_fraction")
        return cls(
            steps=r.steps,
            **{k: c[k] for k in curves if k in c},
            step_test_99=first_crossing(c["test_acc"], r.steps, 0.99),
            seeds=cols["seed"],
            **{k: cols[k] for k in ("train_fraction", "learning_rate", "weight_decay", "n_train")},
            init_scale=cols["init_scale"] if "init_scale" in cols else np.ones(len(cols["seed"])),
            **{"params": r.params, "snapshots": r.snapshots, "snapshot_steps": r.snapshot_steps},
            train_mask=r.train_mask,
            encoding=encoding,
            pairs="unordered" if task.commutative else "ordered",
            architecture=architecture,
            config=config,
            train_loss_every_step=r.train_loss_every_step,
        )


def _mlp_config(r: TrainRuns) -> dict:
    """``config`` of a :func:`train_modular` result: the settings that are not per run."""
    m, one_hot = r.model, isinstance(r.model, MLP)
    return {
        "loss": r.loss,
        **optimizer_record(r.optimizer),
        **{"activation": m.activation, "bias": one_hot and m.bias, "hidden": m.hidden},
        **{"embed_dim": None if one_hot else m.embed_dim, "float64": r.precision == "float64"},
    }


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


def _hidden_pre(params: dict, slots_a, slots_b):
    """Pre-activations of the hidden layer for examples with embedding rows ``(slots_a, slots_b)``
    (:func:`_mlp_pre` or :func:`_embed_pre`, by the parameter names; for :func:`modular_features`)."""
    return (_mlp_pre if "W1" in params else _embed_pre)(params, slots_a, slots_b)


def _mlp_pre(params: dict, slots_a, slots_b):
    """``u W1 + b1`` for the encoded one-hot input ``u``: ``W1[s_a] + W1[s_b] + b1``, a gather
    (and a scatter-add in the backward pass) instead of a dense (examples × n_slots) product.
    Works on numpy and jax arrays, with or without leading axes on the parameters."""
    W1 = params["W1"]
    return W1[..., slots_a, :] + W1[..., slots_b, :] + params["b1"][..., None, :]


def _embed_pre(params: dict, slots_a, slots_b):
    """``(E_a + E_b) W_in`` of :class:`EmbedSum`."""
    E = params["E"]
    u = E[..., slots_a, :] + E[..., slots_b, :]
    return u @ params["W_in"]


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


def _check_bias(bias, architecture: str) -> bool:
    if bias is not None and not isinstance(bias, (bool, np.bool_)):
        raise ValueError(f"bias must be True or False, got {bias!r}")
    if architecture == "embed_sum" and bias:
        raise ValueError(
            "architecture 'embed_sum' has no biases (the paper's network); use bias=False or None"
        )
    return architecture == "one_hot_mlp" if bias is None else bool(bias)


def _n_slots(task: Task, encoding: str | None) -> int:
    return task.n_symbols * (1 if (encoding or task.encoding) == "sum" else 2)


def _check_pair_model(model) -> None:
    _checks.choice("activation", model.activation, ACTIVATIONS)
    if model.encoding is not None:
        _checks.choice("encoding", model.encoding, ("sum", "concat"))


class _PairModel(Model):
    """What the two symbol-pair MLPs share: the encoded input rows, accuracy by argmax and the
    softmax-collapse diagnostics (:func:`~effgrok.nets.driver.collapse_metrics`)."""

    def examples(self, task: Task) -> Examples:
        """Inputs ``(slot_a, slot_b)``: embedding rows of the operands under ``encoding``
        (``None``: the task's, :attr:`effgrok.tasks.Task.slots`); targets: the result classes."""
        if self.encoding is None or self.encoding == task.encoding:
            slots = task.slots
        else:
            slots = task.pairs + np.array([0, task.n_symbols if self.encoding == "concat" else 0])
        return Examples((slots[:, 0], slots[:, 1]), task.results, task=task)

    def metrics(self, params, outputs, targets, mask, loss):
        return collapse_metrics(outputs, targets, mask, loss)


@register("mlp")
@dataclass(frozen=True)
class MLP(_PairModel):
    """The one-hot MLP on symbol pairs (``architecture="one_hot_mlp"`` of :func:`train_modular`):

        h = φ(u W1 + b1),    z = h W2 + b2,

    ``u`` the encoded one-hot input (``e_a + e_b`` for ``encoding="sum"``, ``e_a ⊕ e_b`` for
    ``"concat"``; ``None``: the task's).  ``W1``: ``U(±1/√n_slots)``, ``W2``: ``U(±1/√hidden)``,
    biases 0; ``bias=False`` holds ``b1, b2`` at exactly 0.

    >>> import effgrok as eg
    >>> m = MLP(hidden=4)
    >>> p = m.init(np.random.default_rng(0), eg.make_task("sub-mod", 5))
    >>> {k: v.shape for k, v in p.items()}
    {'W1': (10, 4), 'b1': (4,), 'W2': (4, 5), 'b2': (5,)}
    """

    hidden: int = 256
    activation: str = "relu"
    bias: bool = True
    encoding: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "hidden", _checks.integer("hidden", self.hidden, lo=1))
        _check_pair_model(self)
        object.__setattr__(self, "bias", _check_bias(self.bias, "one_hot_mlp"))

    def init(self, rng, task):
        n, C, H = _n_slots(task, self.encoding), task.n_classes, self.hidden
        b1, b2 = 1 / math.sqrt(n), 1 / math.sqrt(H)
        W1, W2 = rng.uniform(-b1, b1, (n, H)), rng.uniform(-b2, b2, (H, C))
        return {"W1": W1, "b1": np.zeros(H), "W2": W2, "b2": np.zeros(C)}

    def apply(self, params, inputs):
        import jax.numpy as jnp

        a, b = inputs
        h = _activation(self.activation, jnp)(_mlp_pre(params, a, b))
        return h @ params["W2"] + params["b2"]

    def param_mask(self, task):
        return None if self.bias else {"b1": np.zeros(self.hidden), "b2": np.zeros(task.n_classes)}

    def width(self, task):
        return self.hidden


@register("embed-sum")
@dataclass(frozen=True)
class EmbedSum(_PairModel):
    """The grokking-tickets MLP (Minegishi et al., ICLR 2025, ``OnlyMLP``), no biases:

        h = φ(E_a W_in + E_b W_in),    z = h W_out W_U,

    weights ``N(0, 1/fan_in)`` (``E``: ``1/n_slots``; ``W_in``, ``W_U``: ``1/embed_dim``;
    ``W_out``: ``1/hidden``).  The paper's: ``embed_dim`` 500, ``hidden`` 48, ReLU.

    >>> import effgrok as eg
    >>> p = EmbedSum(embed_dim=6, hidden=8).init(np.random.default_rng(0), eg.make_task("add-mod", 5))
    >>> [v.shape for v in p.values()]
    [(5, 6), (6, 8), (8, 6), (6, 5)]
    """

    embed_dim: int = 500
    hidden: int = 48
    activation: str = "relu"
    encoding: str | None = None

    def __post_init__(self):
        for name in ("embed_dim", "hidden"):
            object.__setattr__(self, name, _checks.integer(name, getattr(self, name), lo=1))
        _check_pair_model(self)

    def init(self, rng, task):
        n, C, D, H = _n_slots(task, self.encoding), task.n_classes, self.embed_dim, self.hidden
        shapes = {"E": (n, D), "W_in": (D, H), "W_out": (H, D), "W_U": (D, C)}
        return {k: rng.normal(0.0, 1 / math.sqrt(s[0]), s) for k, s in shapes.items()}

    def apply(self, params, inputs):
        import jax.numpy as jnp

        a, b = inputs
        h = _activation(self.activation, jnp)(_embed_pre(params, a, b))
        return (h @ params["W_out"]) @ params["W_U"]

    def width(self, task):
        return max(self.hidden, self.embed_dim)


@takes_task
def train_modular(
    task: Task,
    *,
    train_fraction=0.5,
    seeds=(0,),
    hidden: int = 256,
    learning_rate=1e-3,
    weight_decay: float = 1.0,
    schedule: Schedule = Schedule(10_000, 100),
    float64: bool = False,
    loss: str = "cross_entropy",
    optimizer: Optimizer = AdamW(),
    activation: str = "relu",
    bias: bool | None = None,
    init_scale: float = 1.0,
    init_params: dict | None = None,
    weight_mask: dict | None = None,
    architecture: str = "one_hot_mlp",
    embed_dim: int = 500,
) -> ModularRuns:
    """Train one network per (seed, training fraction) in one vmapped computation.

    The runs are the broadcast of ``train_fraction``, ``seeds``, ``learning_rate``,
    ``weight_decay`` and ``init_scale`` (scalars or 1-D arrays) against each other; run ``k``
    draws its split and its initial weights from ``numpy.random.SeedSequence(seeds[k])`` (so
    runs that differ only in ``init_scale`` start from the same direction).  Training is
    ``jax.vmap`` over runs of a ``jax.lax.scan`` over steps, full batch over each run's
    training examples:

        L(θ) = (1/n_train) Σ_{x ∈ train} ℓ(z_θ(x), y(x)).

    A thin wrapper over the driver (:mod:`effgrok.nets.driver`), passing ``optimizer`` and
    ``schedule`` straight on::

        train(MLP(hidden, activation, bias),            # or EmbedSum(embed_dim, hidden, activation)
              optimizer, schedule,
              Grid.zip(train_fraction=..., seed=seeds, learning_rate=..., weight_decay=..., init_scale=...),
              task=task, loss=loss, precision="float64" if float64 else "float32",
              init_params=init_params, weight_mask=weight_mask)

    with the result repackaged as :class:`ModularRuns` (:meth:`ModularRuns.from_train`); the
    same numbers, bit for bit.

    Parameters
    ----------
    task : Task
        Read through ``task.encoding`` (see the module docstring): ``train_fraction`` is a
        fraction of ``task.n_examples`` (unordered pairs for commutative tasks).
    learning_rate : float or array of float
        ``η`` (per run when an array).
    weight_decay : float or array of float
        Decoupled (AdamW / ``θ ← θ − η(∇L + wd·θ)`` for SGD); per run when arrays.
    schedule : Schedule
        ``Schedule(steps, stride)``, curves every ``stride`` steps; its ``snapshot_stride``
        records the parameters at ``0, snapshot_stride, …, steps``, ``loss_every_step`` the
        training loss at every step (``train_loss_every_step``), ``batch_size`` trains on
        mini-batches (:func:`~effgrok.nets.driver.train`); ``first_steps`` is refused (the
        result has no column for it).
    loss : {"cross_entropy", "stablemax", "mse"}
    optimizer : Optimizer
        An optimiser object of the driver (or a plain optax transformation), e.g.
        ``AdamW(beta1, beta2, eps)`` (``eps`` ≥ 0, e.g. 1e-25 as in Prieto et al.), ``SGD()``
        (``θ ← θ − learning_rate·(∇L + weight_decay·θ)``) or ``Chain(OrthogonalGradients(),
        AdamW())`` -- the named ones of :data:`OPTIMIZERS`; ``config`` records it by
        :func:`optimizer_record`.
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

    Examples
    --------
    >>> import effgrok as eg
    >>> from effgrok.nets.driver import SGD, Schedule
    >>> r = train_modular(eg.make_task("add-mod", 7), train_fraction=[0.5, 0.9], schedule=Schedule(20, 10))
    >>> r.test_acc.shape, r.params["W1"].shape, r.encoding, r.pairs
    ((2, 3), (2, 7, 256), 'sum', 'unordered')
    >>> every_step = Schedule(4, 2, snapshot_stride=2, loss_every_step=True)
    >>> r = train_modular(eg.make_task("add-mod", 7), schedule=every_step, optimizer=SGD(), bias=False,
    ...                   init_scale=3.0, hidden=8)
    >>> r.snapshot_steps.tolist(), float(abs(r.params["b1"]).max()), r.train_loss_every_step.shape
    ([0, 2, 4], 0.0, (1, 4))
    >>> r = train_modular(eg.make_task("sub-mod", 5), architecture="embed_sum", hidden=8, embed_dim=6,
    ...                   schedule=Schedule(2, 1), optimizer=AdamW(eps=1e-25))
    >>> [r.params[k].shape for k in param_names("embed_sum")], r.config["eps"]
    ([(1, 10, 6), (1, 6, 8), (1, 8, 6), (1, 6, 5)], 1e-25)
    """
    sched = as_schedule(schedule, fields=("snapshot_stride", "loss_every_step", "batch_size"))
    embed_dim = _checks.integer("embed_dim", embed_dim, lo=1)
    _checks.choice("architecture", architecture, ARCHITECTURES)  # loss, activation: train, the model
    bias, one_hot = _check_bias(bias, architecture), architecture == "one_hot_mlp"
    model = MLP(hidden, activation, bias) if one_hot else EmbedSum(embed_dim, hidden, activation)
    runs = Grid.zip(
        train_fraction=np.asarray(train_fraction, float),
        seed=seed_array(seeds),
        learning_rate=_checks.positive_array("learning_rate", learning_rate),
        weight_decay=_checks.positive_array("weight_decay", weight_decay, allow_zero=True),
        init_scale=_checks.positive_array("init_scale", init_scale),
    )
    kw = dict(precision="float64" if float64 else "float32", init_params=init_params, weight_mask=weight_mask)
    r = train(model, optimizer, sched, runs, task=task, loss=loss, **kw)
    config, encoding = _mlp_config(r), model.encoding or task.encoding
    return ModularRuns.from_train(r, task, architecture=architecture, encoding=encoding, config=config)


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
