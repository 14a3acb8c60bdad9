"""Modular arithmetic (Power et al. 2022) with a one-layer decoder-only transformer: the model
:class:`Transformer` of the driver :func:`effgrok.nets.driver.train` (:func:`train_transformer`
is a thin wrapper over it).

Each example ``(a, b)`` is the token sequence ``a, ∘, b, =`` (vocabulary: the ``n`` symbols,
then the operation token ``n`` and the equals token ``n + 1``); the result class is read
from the last position.  With ``d`` the model width, ``H`` heads of width ``d/H``:

    h_t = T[x_t] + P_t                                 (token + learned position embedding)
    u   = LN₁(h)
    o   = Σ_heads softmax_t(q·k_t / √(d/H)) v_t · W_O,  q = u_4 W_Q, k_t = u_t W_K, v_t = u_t W_V
    r   = h_4 + o
    r'  = r + W₂ ReLU(W₁ LN₂(r) + b₁) + b₂              (MLP width 4d)
    z   = LN_f(r') W_U                                  (``n_classes`` logits)

(pre-LayerNorm with gain and bias).  The attention of the last position sees all four
tokens; with a single layer the other positions' outputs never reach it, so computing only
the last query is *exactly* the causal decoder's output there.  Loss: cross-entropy on the
training split, full batch; AdamW (lr 1e-3, β = (0.9, 0.98), weight decay 1 on every
parameter), as in Power et al. (2022, arXiv 2201.02177, §A.1.2: width 128, 4 heads, AdamW,
β₂ = 0.98, weight decay 1), who used two layers, mini-batches of ≤ 512 and a 10-step warm-up;
effgrok uses one layer and full batches (the same protocol as :mod:`effgrok.nets.modular`).
Initialisation: embeddings ``N(0, 1/d)``, linear maps ``U(±1/√fan_in)``, biases 0, LayerNorm
gains 1.  float32 unless ``float64=True`` (the GPU setting; the phenomena studied here do
not need float64).

Returns the same :class:`effgrok.nets.modular.ModularRuns` as the MLP trainer: curves every
``stride`` steps, measured on the parameters before that step's update, and the first
recorded step with test accuracy ≥ 99 % (``NaN``, :data:`~effgrok.constants.NEVER`: not within
budget; resolution ``stride``).
Examples are the task's pairs (unordered ``a ≤ b`` for commutative tasks, recorded in
``ModularRuns.pairs``; the sequence ``a, ∘, b, =`` is read in that order).

Work per step (issue 19).  The loss and its gradient are computed on each run's training
examples only (padded per-run index arrays, as in :mod:`effgrok.nets.modular`: a batch with
mixed training fractions pays ``max n_train / n_train`` for a run), validation metrics only at
the record stride.  And the forward pass is factored by what varies: positions 1 and 3 hold
the same token in every example and positions 0 and 2 one of ``n`` symbols, so the
LayerNorm, keys, values and the value-output products ``v_t W_O`` (per head) are computed
once per *symbol* (``n`` rows) and gathered, the query of the last position is one vector,
and per example there remain the 4-way attention softmax, the weighted sum of the gathered
rows, the MLP and the unembedding -- the same function (float rounding aside) as the direct
form :func:`transformer_logits` evaluates.

Precision: float32 by default (the reductions are over ``d`` ≤ a few hundred; the grokking
claims tested with this network do not depend on the last bits); ``float64=True`` for checks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import _checks
from ..tasks import Task, takes_task
from .driver import AdamW, Grid, Model, Optimizer, Schedule, TrainRuns, as_schedule, register, train
from .engine import seed_array
from .modular import ModularRuns, optimizer_record

__all__ = ["Transformer", "train_transformer", "transformer_logits"]

#: Core-seconds per (run · step · training example) of :func:`train_transformer` (width 128,
#: 4 heads), measured as CPU time (issue 25, shared 2-core machine, load 1-2: add-mod p = 23,
#: 166 training pairs; 1 run × 1000 steps 9.8 s, 2 runs × 1000 steps 13.3 s).
UNIT_CORE_S = 2.0e-5
#: Core-seconds to trace and compile one call (same measurement: 9.8 s − 3.4 s of steps).
COMPILE_CORE_S = 6.5


def estimated_core_seconds(runs: int, steps: int, n_train: int) -> float:
    """Estimated CPU core-seconds of one call of :func:`train_transformer`: ``runs`` runs of
    ``steps`` steps on ``n_train`` training examples; one compilation plus the units above.

    >>> round(estimated_core_seconds(1, 3000, 166), 1)
    16.5
    """
    return COMPILE_CORE_S + UNIT_CORE_S * runs * steps * n_train


def _init(rng: np.random.Generator, vocab: int, n_classes: int, d: int) -> dict:
    def lin(fi, fo):
        b = 1.0 / math.sqrt(fi)
        return rng.uniform(-b, b, (fi, fo))

    return {
        "tok": rng.normal(0.0, 1.0 / math.sqrt(d), (vocab, d)),
        "pos": rng.normal(0.0, 1.0 / math.sqrt(d), (4, d)),
        "ln1_g": np.ones(d),
        "ln1_b": np.zeros(d),
        "Wq": lin(d, d),
        "Wk": lin(d, d),
        "Wv": lin(d, d),
        "Wo": lin(d, d),
        "ln2_g": np.ones(d),
        "ln2_b": np.zeros(d),
        "W1": lin(d, 4 * d),
        "b1": np.zeros(4 * d),
        "W2": lin(4 * d, d),
        "b2": np.zeros(d),
        "lnf_g": np.ones(d),
        "lnf_b": np.zeros(d),
        "Wu": lin(d, n_classes),
    }


def _layer_norm(x, g, b, xp):
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / xp.sqrt(var + 1e-5) * g + b


def _logits(params: dict, tokens, n_heads: int, xp):
    """Logits at the last position for token sequences ``tokens`` (shape ``(N, 4)``); ``xp`` is
    ``numpy`` or ``jax.numpy``."""
    d = params["tok"].shape[1]
    dh = d // n_heads
    h = params["tok"][tokens] + params["pos"]  # (N, 4, d)
    u = _layer_norm(h, params["ln1_g"], params["ln1_b"], xp)
    N = h.shape[0]
    q = (u[:, -1] @ params["Wq"]).reshape(N, n_heads, dh)
    k = (u @ params["Wk"]).reshape(N, 4, n_heads, dh)
    v = (u @ params["Wv"]).reshape(N, 4, n_heads, dh)
    s = xp.einsum("nhd,nthd->nht", q, k) / math.sqrt(dh)
    s = s - s.max(axis=-1, keepdims=True)
    a = xp.exp(s)
    a = a / a.sum(axis=-1, keepdims=True)
    o = xp.einsum("nht,nthd->nhd", a, v).reshape(N, d) @ params["Wo"]
    r = h[:, -1] + o
    m = _layer_norm(r, params["ln2_g"], params["ln2_b"], xp) @ params["W1"] + params["b1"]
    r = r + xp.maximum(m, 0) @ params["W2"] + params["b2"]
    return _layer_norm(r, params["lnf_g"], params["lnf_b"], xp) @ params["Wu"]


def _factored_logits(params: dict, a, b, n: int, n_heads: int):
    """Logits at the last position of ``a, ∘, b, =`` for symbol indices ``a``, ``b`` (jax.numpy),
    computing everything that depends on one symbol once per symbol (see the module docstring).
    Equal to :func:`_logits` on the same tokens."""
    import jax
    import jax.numpy as jnp

    d = params["tok"].shape[1]
    dh = d // n_heads

    def ln1(x):
        return _layer_norm(x, params["ln1_g"], params["ln1_b"], jnp)

    tok, pos = params["tok"], params["pos"]
    u0, u2 = ln1(tok[:n] + pos[0]), ln1(tok[:n] + pos[2])  # (n, d): every symbol at positions 0, 2
    u1, u3 = ln1(tok[n] + pos[1]), ln1(tok[n + 1] + pos[3])  # (d,): the fixed tokens ∘ and =
    q = (u3 @ params["Wq"]).reshape(n_heads, dh)
    Wo = params["Wo"].reshape(n_heads, dh, d)

    def keys_values(u):  # scores q·k/√dh per head and the per-head value rows already through W_O
        k = (u @ params["Wk"]).reshape(*u.shape[:-1], n_heads, dh)
        v = (u @ params["Wv"]).reshape(*u.shape[:-1], n_heads, dh)
        return jnp.einsum("...hd,hd->...h", k, q) / math.sqrt(dh), jnp.einsum("...hd,hde->...he", v, Wo)

    s0, vo0 = keys_values(u0)
    s1, vo1 = keys_values(u1)
    s2, vo2 = keys_values(u2)
    s3, vo3 = keys_values(u3)
    N = a.shape[0]
    scores = jnp.stack(
        [s0[a], jnp.broadcast_to(s1, (N, n_heads)), s2[b], jnp.broadcast_to(s3, (N, n_heads))], axis=-1
    )
    att = jax.nn.softmax(scores, axis=-1)  # (N, heads, 4)
    o = jnp.einsum("nh,nhe->ne", att[..., 0], vo0[a]) + jnp.einsum("nh,nhe->ne", att[..., 2], vo2[b])
    o = o + att[..., 1] @ vo1 + att[..., 3] @ vo3
    r = tok[n + 1] + pos[3] + o
    m = _layer_norm(r, params["ln2_g"], params["ln2_b"], jnp) @ params["W1"] + params["b1"]
    r = r + jnp.maximum(m, 0) @ params["W2"] + params["b2"]
    return _layer_norm(r, params["lnf_g"], params["lnf_b"], jnp) @ params["Wu"]


def _tokens(task: Task) -> np.ndarray:
    n = task.n_symbols
    a, b = task.pairs[:, 0], task.pairs[:, 1]
    return np.stack([a, np.full_like(a, n), b, np.full_like(a, n + 1)], axis=1)


def transformer_logits(params: dict, task: Task, run: int | None = None, *, n_heads: int = 4) -> np.ndarray:
    """Logits ``z[x, c]`` of every example of ``task`` (NumPy, float64) for parameters as
    returned in :attr:`ModularRuns.params` (pick ``run`` when they carry a run axis).

    Examples
    --------
    >>> import effgrok as eg
    >>> task = eg.make_task("add-mod", 5)
    >>> from effgrok.nets.driver import Schedule
    >>> r = train_transformer(task, train_fraction=0.6, schedule=Schedule(2, 1), d_model=8, n_heads=2)
    >>> transformer_logits(r.params, task, run=0, n_heads=2).shape
    (15, 5)
    """
    p = {k: np.asarray(v if run is None else v[run], dtype=np.float64) for k, v in params.items()}
    return _logits(p, _tokens(task), n_heads, np)


@register("transformer")
@dataclass(frozen=True)
class Transformer(Model):
    """The one-layer decoder-only transformer of the module docstring as a model of the driver
    :func:`~effgrok.nets.driver.train`: inputs the symbol pairs ``(a, b)`` of a task (the
    :class:`~effgrok.nets.driver.Model` default), ``apply`` the factored forward pass
    (:func:`_factored_logits`), ``d_model`` wide with ``n_heads`` heads (``n_heads`` divides
    ``d_model``).  Parameters as :func:`transformer_logits` reads them (``tok``: ``n + 2``
    rows, the symbols, ``∘`` and ``=``).

    >>> import effgrok as eg
    >>> p = Transformer(d_model=8, n_heads=2).init(np.random.default_rng(0), eg.make_task("add-mod", 5))
    >>> p["tok"].shape, p["W1"].shape, p["Wu"].shape
    ((7, 8), (8, 32), (8, 5))
    >>> Transformer(d_model=10, n_heads=4)
    Traceback (most recent call last):
    ...
    ValueError: n_heads must divide d_model; got 4 heads for d_model 10
    """

    d_model: int = 128
    n_heads: int = 4

    def __post_init__(self):
        for name in ("d_model", "n_heads"):
            object.__setattr__(self, name, _checks.integer(name, getattr(self, name), lo=1))
        if self.d_model % self.n_heads:
            raise ValueError(
                f"n_heads must divide d_model; got {self.n_heads} heads for d_model {self.d_model}"
            )

    def init(self, rng, task):
        return _init(rng, task.n_symbols + 2, task.n_classes, self.d_model)

    def apply(self, params, inputs):
        a, b = inputs
        return _factored_logits(params, a, b, params["tok"].shape[0] - 2, self.n_heads)

    def width(self, task):
        return 4 * self.d_model  # the MLP's hidden layer


@takes_task
def train_transformer(
    task: Task,
    *,
    train_fraction=0.5,
    seeds=(0,),
    schedule: Schedule = Schedule(10_000, 100),
    d_model: int = 128,
    n_heads: int = 4,
    learning_rate: float = 1e-3,
    weight_decay: float = 1.0,
    optimizer: Optimizer = AdamW(beta2=0.98),
    float64: bool = False,
) -> ModularRuns:
    """Train one one-layer transformer per (training fraction, seed).

    The runs are the broadcast of ``train_fraction`` and ``seeds``; run ``k`` draws its split
    and initial weights from ``numpy.random.SeedSequence(seeds[k])`` (the split is the one
    :func:`effgrok.nets.modular.train_modular` draws for the same seed and fraction).  Training
    is full batch over the training examples, cross-entropy::

        L = −(1/|D|) Σ_{x ∈ D} log softmax(z(x))_{y(x)},

    by ``optimizer`` (AdamW with Power et al.'s β₂ by default) with ``learning_rate`` and weight
    decay ``weight_decay`` on all parameters.

    A thin wrapper over the driver (:mod:`effgrok.nets.driver`), passing ``optimizer`` and
    ``schedule`` straight on::

        train(Transformer(d_model, n_heads), optimizer, schedule,
              Grid.zip(train_fraction=..., seed=seeds, learning_rate=..., weight_decay=...),
              task=task, precision="float64" if float64 else "float32")

    with the result repackaged as :class:`~effgrok.nets.modular.ModularRuns`
    (``architecture="transformer"``, ``encoding="tokens"``); the same numbers, bit for bit.

    Parameters
    ----------
    schedule : Schedule
        ``Schedule(steps, stride)``, curves every ``stride`` steps; ``snapshot_stride``,
        ``loss_every_step`` and ``batch_size`` as in :func:`~effgrok.nets.modular.train_modular`
        (``first_steps`` is refused: the result has no column for it).
    optimizer : Optimizer
        An optimiser object of the driver (or a plain optax transformation); ``config`` records
        it by :func:`~effgrok.nets.modular.optimizer_record`.

    Examples
    --------
    >>> import effgrok as eg
    >>> r = train_transformer(eg.make_task("add-mod", 5), train_fraction=[0.5, 0.8], schedule=Schedule(4, 2),
    ...                       d_model=8, n_heads=2)
    >>> r.test_acc.shape, r.params["tok"].shape, r.pairs, r.config["beta2"]
    ((2, 3), (2, 7, 8), 'unordered', 0.98)
    """
    rate = _checks.positive("learning_rate", learning_rate)
    weight_decay = _checks.nonnegative("weight_decay", weight_decay)
    sched = as_schedule(schedule, fields=("snapshot_stride", "loss_every_step", "batch_size"))
    model, fractions = Transformer(d_model, n_heads), _fractions(train_fraction)
    runs = Grid.zip(
        train_fraction=fractions, seed=seed_array(seeds), learning_rate=rate, weight_decay=weight_decay
    )
    r = train(model, optimizer, sched, runs, task=task, precision="float64" if float64 else "float32")
    return _modular_runs(r, task)


def _fractions(train_fraction) -> np.ndarray:
    fr = np.atleast_1d(np.asarray(train_fraction, float))
    if np.any(~np.isfinite(fr) | (fr <= 0) | (fr > 1)):
        raise ValueError(f"train_fraction must be in (0, 1], got {fr.tolist()}")
    return fr


def _modular_runs(r: TrainRuns, task: Task) -> ModularRuns:
    """:func:`train_transformer`'s result from the driver's runs of a :class:`Transformer`."""
    m = r.model
    config = {
        **{"d_model": m.d_model, "n_heads": m.n_heads, "loss": "cross_entropy"},
        **optimizer_record(r.optimizer),
        "float64": r.precision == "float64",
    }
    return ModularRuns.from_train(r, task, architecture="transformer", encoding="tokens", config=config)
