"""The toy model of Liu et al. (2022): :class:`ToyModel` on the one training driver.

Model: embeddings ``E ∈ R^{n×d}`` (``U(−½, ½)``), an example ``(a, b)`` is ``E_a + E_b``
(separate left/right tables for non-commutative tasks), decoded by a tanh MLP (2 × 200,
PyTorch-style ``U(±1/√fan_in)`` initialisation of weights and biases).

* ``regression`` (reference default): MSE onto one fixed ``N(0, 1)`` template per result
  class (30-dim); the prediction is the nearest template.
* ``classification``: one logit per class, cross-entropy, argmax.

Optimisers: AdamW on the embeddings and a separate AdamW on the decoder (reference: lr
1e-3 / 1e-4, weight decay 0 / 0, β = (0.9, 0.999), ε = 1e-8), :meth:`ToyModel.optimizer`.
Training is :func:`effgrok.nets.driver.train` (``train(model, model.optimizer(),
Schedule(steps, stride, batch_size=45, first_steps=FIRST_STEPS), Grid.zip(seed=..., n_train=...,
lr_emb=..., wd_emb=..., lr_dec=..., wd_dec=...), task=task, loss=model.loss)``): the driver owns
the per-run draws, the run grid, chunking, the scan over steps, the jit cache, mini-batches
and the first steps; :func:`train_toy` is a thin wrapper over it.

Every quantity at step ``t`` (accuracy, loss, RQI, Acc-hat) is measured on the parameters
``θ_t`` *before* the update of step ``t`` -- the same forward pass that gives the gradient --
so "first step with train accuracy ≥ 0.9" and "first step with RQI > 0.95" refer to the very
same parameters (steps are 0-based; a run that never gets there reports ``NaN``,
:data:`effgrok.constants.NEVER`, here and ``null`` in JSON).

**Reference code versus SPEC §1.** The authors' reference implementation
(``toy/train_add.py`` of ejmichaud/grokking-squared, MIT licence, function ``train_add``;
its ``produce_figure_data.py`` makes the Fig. 3 data with 5000 steps and the Fig. 4 data
with 1e4 steps, seeds 0, 1, 2) agrees with SPEC §1 on architecture (d = 1, tanh
1-200-200-30), initialisation, templates (``N(0, 1)``, 2p − 1 × 30, fixed), loss (MSE
averaged over examples and template dimensions; cross-entropy with 2p − 1 logits),
optimisers and RQI (unbiased standardisation, squared defect averaged over dimensions <
0.01, all 70 permissible parallelograms at p = 10). Where it differs:

* **mini-batches** -- ``batch_size = 45``: every step trains on ``min(45, n_train)``
  training examples drawn without replacement, so runs with more than 45 training pairs
  take stochastic steps; SPEC §1 says full batch.  effgrok follows the reference code by
  default (:attr:`ToyConfig.batch_size` ``= 45``; ``None`` gives SPEC's full batch; both
  agree for ``n_train ≤ 45``, which includes the paper's 45-pair setting);
* **measurement timing** -- the reference measures train accuracy and RQI *after* the
  update of its step ``t`` and test accuracy *before* it; its first-step counts are hence
  one lower than effgrok's for train accuracy and RQI, and equal for test accuracy;
* **not reached** -- the reference reports ``steps − 1`` where effgrok reports ``NaN``;
* **scales** -- ``init_scale_reprs``, ``init_scale_nn`` and ``label_scale`` (all 1 by
  default) multiply the initial embedding, the initial decoder and the templates:
  :attr:`ToyConfig.init_scale_emb`, :attr:`ToyConfig.init_scale_dec`,
  :attr:`ToyConfig.template_scale`;
* random streams differ (NumPy/PyTorch there, one ``SeedSequence`` per run here), so
  individual seeds are not comparable, only success rates.

What this gives at p = 10, 45 pairs, 5000 steps, the reference optimiser (seeds 0..7 /
0..31): regression reaches test accuracy ≥ 0.9 in 1/8 (9/32) runs and RQI > 0.95 in 2/8
(15/32); classification in 4/8 and 6/8.  A test example whose class has no training
example cannot be learned, so only 72 % of 45-pair training sets admit test accuracy ≥ 0.9
at all (ideal accuracy Acc-bar, 2000 splits; 5 of seeds 0..7).  The reference's own Fig. 4
data reach RQI > 0.95 at 45 pairs for its three seeds (833, 1071, 887 steps).  At 15 pairs
(below r_c) no run of seeds 0..7 reaches RQI > 0.95 in 1e4 steps.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, fields, replace
from typing import Any, NamedTuple

import numpy as np

from .. import _checks
from ..constants import RQI_THRESHOLD
from ..tasks import Task, takes_task
from .driver import (
    SGD,
    AdamW,
    Examples,
    FirstStep,
    Frozen,
    Grid,
    Model,
    PerGroup,
    Renamed,
    Schedule,
    TrainRuns,
    _batch_weight,
    register,
)
from .driver import train as train_driver
from .engine import Runs, per_run_array, per_run_params, seed_array

__all__ = ["FIRST_STEPS", "ToyConfig", "ToyModel", "ToyOutputs", "ToyRuns", "train_toy"]

#: Core-seconds per run and step of the toy model (p = 10, tanh 1-200-200-30, float32, JAX on
#: CPU), measured as CPU time (issue 25, on the shared 2-core machine, load 1-2: add p = 10,
#: 45 training pairs, batches of 16 runs, 2000 and 8000 steps: 5.9e-4 and 5.5e-4; 8 runs of
#: 2000 steps against 2 runs: 4.3e-4).  The one throughput of the toy model: the phase diagram's
#: estimate and validation's cost (``validation/_toy.py``) are built on it.
RUN_STEP_CORE_S = 5.5e-4
#: Core-seconds to trace and compile one batch (same measurement: 2 runs of 2000 steps took
#: 3.9 s of CPU, 1.7 s of them steps; the first call of a process, JAX's start included, 5.3 s).
COMPILE_CORE_S = 2.5


def estimated_core_seconds(runs: int, steps: int) -> float:
    """Estimated CPU core-seconds of :func:`train_toy` for ``runs`` runs of ``steps`` steps in
    one batch: one compilation plus ``runs · steps`` run-steps (the constants above).

    >>> round(estimated_core_seconds(8, 2000), 1)
    11.3
    """
    return COMPILE_CORE_S + runs * steps * RUN_STEP_CORE_S


VARIANTS = ("regression", "classification")
EMB_OPTIMIZERS = ("adamw", "sgd")
THRESHOLD_ACC = 0.9


@dataclass(frozen=True)
class _ToyNetwork:
    """The network settings of the toy model, stated once: the fields of :class:`ToyModel`
    and the first fields of :class:`ToyConfig` (which builds its model from them), with
    their checks (``dim``, ``hidden``, ``depth``, ``template_dim``: integers >= 1; ``delta``
    and the scales: positive floats)."""

    dim: int = 1
    hidden: int = 200
    depth: int = 2
    variant: str = "regression"
    template_dim: int = 30
    delta: float = 0.1
    init_scale_emb: float = 1.0
    init_scale_dec: float = 1.0
    template_scale: float = 1.0

    def __post_init__(self):
        for name in ("dim", "hidden", "depth", "template_dim"):
            object.__setattr__(self, name, _checks.integer(name, getattr(self, name), lo=1))
        _checks.choice("variant", self.variant, VARIANTS)
        for name in ("delta", "init_scale_emb", "init_scale_dec", "template_scale"):
            object.__setattr__(self, name, _checks.positive(name, getattr(self, name)))


@dataclass(frozen=True, kw_only=True)
class ToyConfig(_ToyNetwork):
    """Settings shared by all runs of a batch (per-run values are given to :func:`train_toy`):
    the network's (the fields of :class:`ToyModel`, :meth:`model`) and, keyword-only, the
    training's (``steps``, ``stride``, ``float64``, ``batch_size``, ``emb_optimizer``).

    Attributes
    ----------
    dim, hidden, depth : int
        Embedding dimension ``d`` (1 in the theory), decoder width and number of tanh layers.
    variant : {"regression", "classification"}
        MSE onto random templates (reference default) or cross-entropy.
    template_dim : int
        Dimension of the regression templates (30).
    steps, stride : int
        Training steps and recording stride (``stride`` divides ``steps``).
    delta : float
        RQI tolerance ``δ``: a parallelogram is realised if its mean squared defect is ``< δ²``.
    float64 : bool
        Train in float64 (default float32, as the reference code; the toy problem is tiny and
        well conditioned, and float32 halves the cost of the phase diagrams).
    batch_size : int or None
        Training examples per step, drawn without replacement from the training set
        (``min(batch_size, n_train)``); ``None``: full batch (SPEC §1).  Default 45, the
        reference code's, which is full batch for ``n_train ≤ 45``.
    init_scale_emb, init_scale_dec, template_scale : float
        Multipliers of the initial embedding, the initial decoder parameters and the
        templates (the reference's ``init_scale_reprs``, ``init_scale_nn``, ``label_scale``).
    emb_optimizer : {"adamw", "sgd"}
        Optimiser of the embeddings: AdamW (reference code, default) or plain gradient
        descent ``E ← E − η_emb (∇_E L + wd_emb E)`` -- the optimiser the effective theory
        assumes (``n_h = 1/(η λ3)`` counts gradient-descent steps).  The decoder always uses
        AdamW.
    """

    steps: int = 5000
    stride: int = 50
    float64: bool = False
    batch_size: int | None = 45
    emb_optimizer: str = "adamw"

    def __post_init__(self):
        super().__post_init__()
        _checks.schedule(self.steps, self.stride)
        b = self.batch_size
        if b is not None and (isinstance(b, bool) or not isinstance(b, (int, np.integer)) or b < 1):
            raise ValueError(f"batch_size must be None (full batch) or an integer >= 1, got {b!r}")
        _checks.choice("emb_optimizer", self.emb_optimizer, EMB_OPTIMIZERS)

    def model(self) -> ToyModel:
        """The network of these settings, a :class:`ToyModel` (the fields they share)."""
        return ToyModel(**{f.name: getattr(self, f.name) for f in fields(_ToyNetwork)})

    def schedule(self) -> Schedule:
        """The driver's :class:`~effgrok.nets.driver.Schedule` of these settings: ``steps``,
        ``stride``, ``batch_size`` and the first steps :data:`FIRST_STEPS`."""
        return Schedule(self.steps, self.stride, batch_size=self.batch_size, first_steps=FIRST_STEPS)


@dataclass(frozen=True)
class ToyRuns(Runs):
    """Results of a batch of runs (leading axis: run).

    ``step_*`` are the first steps (checked at every step, not only at the recorded ones)
    reaching train accuracy ≥ 0.9, test accuracy ≥ 0.9 and RQI > 0.95 (float64; ``NaN``,
    :data:`~effgrok.constants.NEVER`: never within the budget).  Curves are recorded at ``steps``.
    """

    steps: np.ndarray
    train_acc: np.ndarray
    test_acc: np.ndarray
    train_loss: np.ndarray
    test_loss: np.ndarray
    rqi: np.ndarray
    predicted_test_acc: np.ndarray
    embedding: np.ndarray
    step_train_acc: np.ndarray
    step_test_acc: np.ndarray
    step_rqi: np.ndarray
    n_train: np.ndarray
    config: ToyConfig
    train_mask: np.ndarray | None = None  # (run, example): each run's training set

    @property
    def final_train_acc(self) -> np.ndarray:
        return self.train_acc[:, -1]

    @property
    def final_test_acc(self) -> np.ndarray:
        return self.test_acc[:, -1]

    @property
    def final_rqi(self) -> np.ndarray:
        return self.rqi[:, -1]

    @classmethod
    def from_train(cls, r: TrainRuns, config: ToyConfig) -> ToyRuns:
        """The :func:`train_toy` result of :func:`~effgrok.nets.driver.train`'s runs of a
        :class:`ToyModel` with :data:`FIRST_STEPS` (``config``: the call's settings)."""
        return cls(
            steps=r.steps,
            **{k: r.curves[k] for k in _CURVES},
            **{h.name: r.columns[h.name] for h in FIRST_STEPS},
            n_train=r.columns["n_train"],
            config=replace(config),
            train_mask=r.train_mask,
        )


def _train_masks(task: Task, train) -> np.ndarray:
    """``(k, n_examples)`` boolean training masks from one or several splits/masks/index arrays."""
    from ..effective.constraints import training_mask

    arr = None if isinstance(train, (list, tuple)) else np.asarray(getattr(train, "mask", train))
    if arr is not None and arr.dtype == bool and arr.ndim == 2:
        items = list(arr)
    elif isinstance(train, (list, tuple)) and train and not np.isscalar(train[0]):
        items = list(train)
    else:
        items = [train]
    masks = np.stack([training_mask(task, t) for t in items])
    if np.any(masks.sum(axis=1) == 0):
        raise ValueError("every explicit training set needs at least one example")
    return masks


def _init_params(rng: np.random.Generator, n_slots: int, cfg, out_dim: int) -> dict:
    """The embedding ``U(−½, ½)·init_scale_emb`` and the decoder (``U(±1/√fan_in)·init_scale_dec``)
    of one run, drawn in this order (``cfg``: a :class:`ToyModel` or :class:`ToyConfig`)."""
    params = {"emb": rng.uniform(-0.5, 0.5, (n_slots, cfg.dim)) * cfg.init_scale_emb}
    sizes = [cfg.dim] + [cfg.hidden] * cfg.depth + [out_dim]
    for i, (fi, fo) in enumerate(itertools.pairwise(sizes)):
        bound = 1.0 / math.sqrt(fi)
        params[f"W{i}"] = rng.uniform(-bound, bound, (fi, fo)) * cfg.init_scale_dec
        params[f"b{i}"] = rng.uniform(-bound, bound, fo) * cfg.init_scale_dec
    return params


def _decode(params, h, depth):
    """The tanh decoder on the summed embeddings ``h`` (jax.numpy)."""
    import jax.numpy as jnp

    for i in range(depth):
        h = jnp.tanh(h @ params[f"W{i}"] + params[f"b{i}"])
    return h @ params[f"W{depth}"] + params[f"b{depth}"]


def _batch_mask(key, mask, size):
    """``size`` training examples (``mask``) drawn uniformly without replacement: the examples
    whose i.i.d. uniform keys rank below ``size`` among the training examples (the driver's
    mini-batch draw, :class:`~effgrok.nets.driver.Schedule` ``batch_size``)."""
    import jax

    return _batch_weight(jax.random.uniform(key, mask.shape), mask, size)


def _toy_group(name: str) -> str:
    """Parameter group of the toy model's optimiser: ``emb``, ``templates`` or ``dec``."""
    return name if name in ("emb", "templates") else "dec"


class ToyOutputs(NamedTuple):
    """What :meth:`ToyModel.apply` returns per example: the decoder's ``values`` (``[n, m]``),
    the run's ``templates`` (regression; ``None`` for classification) and the example's two
    embedding rows ``a``, ``b`` (which RQI reads)."""

    values: Any
    templates: Any
    a: Any
    b: Any


@register("toy")
@dataclass(frozen=True)
class ToyModel(_ToyNetwork, Model):
    """The toy model of Liu et al. (2022) as a :class:`~effgrok.nets.driver.Model`.

        h = E_a + E_b,    f(h) = W_D tanh(… tanh(h W_0 + b_0) …) + b_D,

    parameters ``emb`` (``E``), ``W0, b0, …, W{depth}, b{depth}`` and, for ``regression``, the
    fixed ``templates`` ``Y ∈ R^{C×template_dim}`` (``N(0, 1)·template_scale``, drawn after the
    decoder -- for ``classification`` too, then discarded, so the runs' later draws agree).
    :meth:`loss` is the per-example ``‖f − Y_c‖²/template_dim`` (regression) or cross-entropy
    (classification): pass ``loss=model.loss`` to :func:`~effgrok.nets.driver.train`, and
    :meth:`optimizer` as the optimiser (grid columns ``lr_emb``, ``wd_emb``, ``lr_dec``,
    ``wd_dec``).  ``correct`` is the nearest template (argmax).  Extra curves (:meth:`metrics`):
    ``rqi`` (the fraction of permissible parallelograms realised within ``delta``),
    ``predicted_test_acc`` (Acc-hat), ``embedding`` (``E``, ``[runs, records + 1, n_slots,
    dim]``) and ``weight_norm`` (embedding and decoder; the templates are no weights).  Its
    fields ``dim``, ``hidden``, ``depth``, ``variant``, ``template_dim``, ``delta``,
    ``init_scale_emb``, ``init_scale_dec``, ``template_scale`` are :class:`ToyConfig`'s.

    >>> import effgrok as eg
    >>> p = ToyModel(hidden=4).init(np.random.default_rng(0), eg.make_task("add", 5))
    >>> {k: v.shape for k, v in p.items()}["templates"], p["W2"].shape
    ((9, 30), (4, 30))
    """

    def examples(self, task: Task) -> Examples:
        """Inputs: the embedding rows ``(a, b)`` of every example (:attr:`Task.slots`)."""
        return Examples((task.slots[:, 0], task.slots[:, 1]), task.results, task=task)

    def init(self, rng, task):
        out_dim = self.template_dim if self.variant == "regression" else task.n_classes
        params = _init_params(rng, task.n_slots, self, out_dim)
        templates = rng.standard_normal((task.n_classes, self.template_dim)) * self.template_scale
        return {**params, "templates": templates} if self.variant == "regression" else params

    def apply(self, params, inputs):
        import jax

        a, b = inputs
        out = _decode(params, params["emb"][a] + params["emb"][b], self.depth)
        tm = jax.lax.stop_gradient(params["templates"]) if self.variant == "regression" else None
        return ToyOutputs(out, tm, a, b)

    def loss(self, outputs: ToyOutputs, targets):
        """Per-example loss: ``mean_j (f_j − Y_{c,j})²`` or ``−log softmax(f)_c``."""
        import jax
        import jax.numpy as jnp

        out = outputs.values
        if self.variant == "regression":
            return jnp.mean((out - outputs.templates[targets]) ** 2, axis=-1)
        onehot = jax.nn.one_hot(targets, out.shape[-1], dtype=out.dtype)
        return -jnp.sum(onehot * jax.nn.log_softmax(out, axis=-1), axis=-1)

    def correct(self, outputs: ToyOutputs, targets):
        import jax.numpy as jnp

        out, tm = outputs.values, outputs.templates
        if self.variant == "regression":
            dist = jnp.sum((out[:, None, :] - tm[None, :, :]) ** 2, axis=-1)
            return jnp.argmin(dist, axis=-1) == targets
        return jnp.argmax(out, axis=-1) == targets

    def metrics(self, params, outputs: ToyOutputs, targets, mask, loss):
        import jax.numpy as jnp

        rqi, acc_hat = _rqi(params["emb"], outputs.a, outputs.b, targets, mask > 0, self.delta**2)
        norm = jnp.sqrt(sum(jnp.sum(v**2) for k, v in params.items() if k != "templates"))
        return {"rqi": rqi, "predicted_test_acc": acc_hat, "embedding": params["emb"], "weight_norm": norm}

    def optimizer(self, emb_optimizer: str = "adamw") -> PerGroup:
        """AdamW (or ``"sgd"``) on the embedding with columns ``lr_emb``, ``wd_emb``; AdamW on
        the decoder with ``lr_dec``, ``wd_dec``; the templates frozen."""
        _checks.choice("emb_optimizer", emb_optimizer, EMB_OPTIMIZERS)
        emb = AdamW() if emb_optimizer == "adamw" else SGD()
        groups = {
            "emb": Renamed(emb, learning_rate="lr_emb", weight_decay="wd_emb"),
            "dec": Renamed(AdamW(), learning_rate="lr_dec", weight_decay="wd_dec"),
        }
        return PerGroup(
            _toy_group, **groups, **({"templates": Frozen()} if self.variant == "regression" else {})
        )

    def width(self, task):
        return 2 * self.hidden


def _rqi(E, a, b, targets, mask, delta2):
    """RQI and Acc-hat of embedding ``E`` (jax.numpy) over the permissible parallelograms --
    pairs of examples ``x < y`` of one result class -- with the examples' rows ``a``, ``b``
    and training ``mask`` (bool).  Embedding dimensions of zero spread are left out.

    A parallelogram is realised if ``‖z_{a_x} + z_{b_x} − z_{a_y} − z_{b_y}‖²/d' < δ²`` in the
    standardised embedding ``z`` (unbiased standard deviation, ``d'`` dimensions kept);
    Acc-hat is the fraction of test examples linked by a realised parallelogram to a training
    example."""
    import jax.numpy as jnp

    Ec = E - E.mean(axis=0)
    std = jnp.sqrt(jnp.sum(Ec**2, axis=0) / (E.shape[0] - 1))
    keep = std > 1e-12 * jnp.maximum(jnp.max(jnp.abs(E), axis=0), 1e-30)
    z = jnp.where(keep, Ec / jnp.where(keep, std, 1.0), 0.0)
    hz = z[a] + z[b]
    d2 = jnp.sum((hz[:, None, :] - hz[None, :, :]) ** 2, axis=-1) / jnp.maximum(keep.sum(), 1)
    n = targets.shape[0]
    same = (targets[:, None] == targets[None, :]) & (jnp.arange(n)[:, None] < jnp.arange(n)[None, :])
    realised = (d2 < delta2) & keep.any() & same
    rqi = realised.sum() / same.sum()
    both = realised | realised.T
    pred = jnp.any(both & mask[:, None], axis=0)
    n_te = jnp.maximum((1 - mask.astype(E.dtype)).sum(), 1.0)
    return rqi.astype(E.dtype), jnp.sum(pred & ~mask) / n_te


#: The curves of :class:`ToyRuns` (``embedding``: ``[runs, records + 1, n_slots, dim]``).
_CURVES = ("train_acc", "test_acc", "train_loss", "test_loss", "rqi", "predicted_test_acc", "embedding")
#: The first steps :func:`train_toy` reports (checked at every step).
FIRST_STEPS = (
    FirstStep("train_acc", THRESHOLD_ACC),
    FirstStep("test_acc", THRESHOLD_ACC),
    FirstStep("rqi", RQI_THRESHOLD, strict=True),
)


@takes_task
def train_toy(
    task: Task,
    config: ToyConfig | None = None,
    *,
    seeds=(0,),
    n_train=None,
    train_fraction=None,
    train=None,
    init=None,
    templates=None,
    lr_emb=1e-3,
    wd_emb=0.0,
    lr_dec=1e-4,
    wd_dec=0.0,
) -> ToyRuns:
    """Train a batch of toy-model runs in one compiled computation (a thin wrapper over the
    driver).

    Every per-run argument (``seeds``, ``n_train`` or ``train_fraction``, ``lr_emb``,
    ``wd_emb``, ``lr_dec``, ``wd_dec``) is a scalar or a sequence; they broadcast to the
    number of runs.  Run ``k`` draws its training split, initial parameters, templates and
    mini-batches from ``SeedSequence(seed_k)``, so it is the same run whatever batch it is
    part of.  The loss minimised at step ``t`` is, over the step's batch ``B_t``,

    ``L = Σ_{x∈B_t} ‖f(E_{a_x} + E_{b_x}) − Y_{c(x)}‖² / (|B_t| · m)``

    (regression, ``m`` = template dimension) or the mean cross-entropy (classification), as
    in Liu et al. (2022), arXiv 2205.10343, §3 and their reference code.

    **Explicit splits and initial parameters** (to anchor a published run exactly).  Instead
    of ``n_train``/``train_fraction``, ``train`` gives each run's training set: a
    :class:`~effgrok.tasks.Split`, a boolean mask over ``task``'s examples or an index array
    (one for all runs), or a sequence of those / a ``(runs, n_examples)`` mask (one per run).
    ``init`` replaces the drawn initial parameters: a dict with the keys ``"emb"`` (shape
    ``(n_slots, dim)``), ``"W0"``, ``"b0"``, ..., ``"W{depth}"``, ``"b{depth}"`` (``W{i}`` of
    shape ``(fan_in, fan_out)``), each one run's array or stacked with a leading run axis;
    ``templates`` (``(n_classes, template_dim)``, or stacked) replaces the regression
    templates.  Everything not given is still drawn from the run's seed, in the same order,
    so giving ``train`` alone changes nothing else.  To anchor a run of the reference code
    (PyTorch, ``toy/train_add.py``): ``train = split_from_pairs(task, pairs)`` with the
    reference's training pairs; ``init["emb"]`` = its initial embedding table;
    ``init[f"W{i}"] = linear_i.weight.T`` and ``init[f"b{i}"] = linear_i.bias`` of its
    ``i``-th ``nn.Linear`` (PyTorch stores weights as ``(fan_out, fan_in)``); ``templates``
    = its label table; ``ToyConfig(batch_size=45)`` and its step count.  First-hit steps then
    agree with the reference's up to the measurement offsets listed in the module docstring
    (train accuracy and RQI: effgrok's step = reference's + 1); mini-batch draws still differ
    for ``n_train > 45`` (different random streams).

    It is::

        model = config.model()                  # ToyModel(dim, hidden, depth, variant, ...)
        train(model, model.optimizer(config.emb_optimizer), config.schedule(),
              Grid.zip(seed=seeds, n_train=..., lr_emb=..., wd_emb=..., lr_dec=..., wd_dec=...),
              task=task, loss=model.loss, precision="float64" if config.float64 else "float32",
              init_params={**init, "templates": templates}, train_mask=train)

    with the result repackaged as :class:`ToyRuns` (:meth:`ToyRuns.from_train`): that call's
    numbers, bit for bit (the draws of run ``k``, in order: the split's seed, the parameters,
    the templates, the mini-batch key -- the order of the trainer this wrapper replaced, whose
    draws, batches and arithmetic it keeps; XLA compiles the two programs differently, so
    their float rounding may differ in the last bit, and runs drift apart at that level).

    Examples
    --------
    >>> import effgrok as eg
    >>> runs = train_toy(eg.make_task("add", 6), ToyConfig(steps=20, stride=10), seeds=[0, 1], n_train=15)
    >>> runs.train_acc.shape
    (2, 3)
    """
    cfg = ToyConfig() if config is None else config
    if sum(x is not None for x in (n_train, train_fraction, train)) != 1:
        raise ValueError("give exactly one of n_train, train_fraction and train")
    masks = None if train is None else _train_masks(task, train)
    size = {"n_train": n_train if masks is None else masks.sum(axis=1)}
    if train_fraction is not None:
        size = {"train_fraction": np.asarray(train_fraction, float)}
    runs = _toy_runs(seeds, size, lr_emb, wd_emb, lr_dec, wd_dec)
    model, precision = cfg.model(), "float64" if cfg.float64 else "float32"
    start = _toy_init(model, task, init, templates, len(runs))
    given = None if masks is None else masks[0] if len(masks) == 1 else masks
    opt, kw = model.optimizer(cfg.emb_optimizer), dict(init_params=start, train_mask=given)
    r = train_driver(model, opt, cfg.schedule(), runs, task=task, loss=model.loss, precision=precision, **kw)
    return ToyRuns.from_train(r, cfg)


def _toy_runs(seeds, size: dict, lr_emb, wd_emb, lr_dec, wd_dec) -> Grid:
    """:func:`train_toy`'s per-run arguments (checked) as the driver's :class:`Grid` (broadcast)."""
    return Grid.zip(
        seed=seed_array(seeds),
        lr_emb=_checks.positive_array("embedding learning rate", lr_emb),
        wd_emb=_checks.positive_array("embedding weight decay", wd_emb, allow_zero=True),
        lr_dec=_checks.positive_array("decoder learning rate", lr_dec),
        wd_dec=_checks.positive_array("decoder weight decay", wd_dec, allow_zero=True),
        **size,
    )


def _toy_init(model: ToyModel, task: Task, init, templates, runs: int) -> dict | None:
    """:func:`train`'s ``init_params`` from :func:`train_toy`'s ``init`` and ``templates``
    (checked; ``None`` entries keep the draws)."""
    if init is None and templates is None:
        return None
    shapes = {k: np.shape(v) for k, v in model.init(np.random.default_rng(0), task).items()}
    out = dict.fromkeys(shapes)
    if init is not None:
        out.update(per_run_params("init", init, {k: v for k, v in shapes.items() if k != "templates"}, runs))
    if templates is not None:
        tm = per_run_array("templates", templates, (task.n_classes, model.template_dim), runs)
        out.update({"templates": tm} if "templates" in shapes else {})
    return out
