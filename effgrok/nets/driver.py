"""The one training driver of :mod:`effgrok.nets`: ``train(model, optimizer, schedule, runs)``.

::

    runs = train(model, optimizer, schedule, runs, *, task, loss="cross_entropy",
                 precision="float32", vectorize=None)

trains one network per run of a :class:`Grid` and returns a :class:`TrainRuns` (an
:class:`~effgrok.nets.engine.Runs`, hence an :class:`effgrok._record.Result`) with *named*
curves.  The driver owns everything that is not the network: the per-run split and
initialisation, the run grid, chunking, the scan over steps, the jit cache and the curves;
a network is a small :class:`Model` object, the way diffrax's solvers are small classes over
one base.  A new architecture is a :class:`Model` subclass (plus :func:`register` for the
command line), with no change here.

**Pieces.**

* ``model`` -- a frozen dataclass over :class:`Model`: ``init(rng, task)`` (one run's initial
  parameters, numpy float64), ``apply(params, inputs)`` (jax-traceable, one run, the
  examples' inputs as :meth:`Model.examples` lays them out); optional ``param_mask(task)``
  (0/1 arrays that hold parameters at 0, e.g. ``MLP(bias=False)``), ``project(params, run)``
  (a constraint applied at the start and after every update), ``correct(outputs,
  targets)`` (``None``: no accuracy, e.g. regression), ``metrics(params, outputs, targets,
  mask, loss)`` (extra curves) and ``width(task)`` (activations per example, for the memory
  estimate; a model with a *field* ``width`` overrides ``activations(task)`` instead).
  :meth:`Model.examples` turns the ``task`` argument into :class:`Examples`: the inputs and
  targets of every example and how a run's training set is chosen.
* ``optimizer`` -- an :class:`Optimizer` object, called inside the traced one-run function
  with that run's hyperparameters (the float columns of the grid) to give an optax
  ``GradientTransformation``: :class:`AdamW`, :class:`SGD`, :class:`Chain`
  (``Chain(OrthogonalGradients(), AdamW())`` is Prieto et al.'s ⊥Grad), :class:`PerGroup`
  (one optimiser per parameter group), :class:`Renamed` (read other columns, e.g. ``lr_emb``),
  :class:`Frozen`.  A plain optax transformation is accepted too (fixed hyperparameters).
* ``schedule`` -- :class:`Schedule` ``(steps, stride, snapshot_stride, loss_every_step,
  batch_size, first_steps)``: mini-batches and :class:`FirstStep` s checked at every step
  (see :func:`train`).
* ``runs`` -- :meth:`Grid.product` (every combination) or :meth:`Grid.zip` (numpy broadcast).
  Columns the driver reads: ``seed`` (default 0), ``train_fraction`` or ``n_train`` (the split,
  for tasks that draw one), ``init_scale`` (multiplies the drawn initial parameters); every
  float column is handed to the optimiser (``learning_rate``, ``weight_decay``, ``lr_emb`` ...).

**Per run** ``k``: a generator :func:`~effgrok.nets.engine.run_rng` ``(seed_k)`` draws the split
first (when the examples draw one), then the initial parameters (``model.init``), then, with
``schedule.batch_size``, a mini-batch key (:func:`train`); the same run gives the same numbers
whatever batch or chunk it trains in.  Training is full batch on the run's training examples
(padded per-run index arrays, :func:`~effgrok.nets.engine.train_indices`) unless
``batch_size`` says otherwise,

    L(θ) = Σ_{x ∈ train} w_x ℓ(f_θ(x), y_x) / Σ w_x,

with ``ℓ`` the per-example ``loss`` (:data:`LOSSES`, or a callable ``(outputs, targets) ->
[n]``).  Every ``stride`` steps, on the parameters *before* that step's update (and once after
the last): ``train_loss``, ``test_loss``, ``train_acc``, ``test_acc`` (when the model has
``correct``), ``weight_norm`` (``‖θ‖₂`` over all parameters) and the model's ``metrics``;
``schedule.first_steps`` are checked at every step.

**Devices.**  ``vectorize=None``: ``jax.vmap`` over runs on an accelerator, a sequential
``jax.lax.map`` on a CPU (:func:`~effgrok.nets.engine.over_runs`, faster there); ``True``
forces ``vmap``, ``False`` the sequential map.  The two agree to float rounding (tested).

**How the other networks map onto it** (ported from their trainers, one at a time):

* ``toy.py`` → :class:`~effgrok.nets.toy.ToyModel` ``(dim, hidden, depth, variant,
  template_dim, delta, ...)`` (ported): params ``emb, W0, b0, ...`` plus the regression
  templates as a frozen group (``ToyModel.optimizer()`` = ``PerGroup(label, emb=Renamed(AdamW(),
  learning_rate="lr_emb", weight_decay="wd_emb"), dec=Renamed(AdamW(), learning_rate="lr_dec",
  weight_decay="wd_dec"), templates=Frozen())``); ``apply`` returns
  :class:`~effgrok.nets.toy.ToyOutputs` (outputs, templates, the example's rows), ``correct``
  is the nearest template, the loss the callable ``model.loss`` (MSE to the template of the
  target), RQI, Acc-hat and the embedding are ``metrics``; grid columns ``seed``, ``n_train``
  or ``train_fraction``, ``lr_emb``, ``wd_emb``, ``lr_dec``, ``wd_dec``; its schedule uses
  ``batch_size`` (mini-batches) and ``first_steps`` (first hits at every step).
* ``transformer.py`` → ``Transformer(d_model, n_heads)`` (ported): ``examples(task)`` gives the
  symbol pairs ``(a, b)`` (the base default), ``apply`` is ``_factored_logits``;
  ``AdamW(beta2=0.98)``.  Bit for bit the trainer's numbers before the port.
* ``digits.py`` → ``DigitsMLP(width, depth)`` (ported): ``examples(data)`` concatenates
  ``x_train`` and ``x_test`` with a fixed training mask (no split draw, so ``digits_init``'s
  stream is unchanged); ``loss="mse"``; ``fixed_norm`` is a grid column that ``project`` reads
  (the sphere ``‖θ‖ = w``, NaN: free).
* ``lazy_rich.py`` → ``LazyRichCommittee(width, epsilon)`` (ported): params ``W`` plus frozen
  ``W0``, ``alpha`` and ``teacher`` (``β*β*ᵀ``) (``LazyRichCommittee.optimizer()``:
  ``PerGroup(..., W=SGD(), frozen=Frozen())`` with a ``weight_decay`` column of 0), ``apply``
  the centred predictor ``f(W) − f(W0)``, ``project`` pins ``alpha`` to the run's ``alpha``
  column, the loss the callable ``LazyRichCommittee.squared_error``, ``correct`` returns
  ``None``, ``weight_norm`` and ``alignment`` from ``metrics``; ``learning_rate = η₀ N/α²``
  per run (``LazyRichCommittee.learning_rates``, rounded as the old traced float32 program).

  The digits and committee ports agree with their trainers before the port to float rounding,
  not bit for bit: those took flat means with a compile-time divisor, which XLA turns into a
  product with the rounded reciprocal, while :func:`train` divides by the traced number of
  training examples (measured over ≤ 120 steps: curves within 1e-6 relative in float32, 1e-15
  in float64).  The toy port is bit for bit at stride 1; at stride 100 its embedding differs
  by one unit in the last place at step 100 (the two programs' inner loops compile
  differently), growing to ~1e-9 in float64 over 300 steps; first-hit steps were identical in
  every comparison.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from .. import _checks
from ..constants import NEVER
from .engine import (
    Runs,
    map_chunks,
    over_runs,
    per_run_params,
    run_bytes,
    run_grid,
    run_rng,
    scan_schedule,
    train_indices,
)
from .engine import schedule as check_schedule
from .programs import program

__all__ = [
    "LOSSES",
    "MODELS",
    "PRECISIONS",
    "SGD",
    "AdamW",
    "Chain",
    "Examples",
    "FirstStep",
    "Frozen",
    "Grid",
    "Model",
    "Optimizer",
    "OrthogonalGradients",
    "PerGroup",
    "Renamed",
    "Schedule",
    "TrainRuns",
    "as_schedule",
    "collapse_metrics",
    "masked_mean",
    "orthogonal_gradients",
    "register",
    "train",
]

#: Training losses by name (per example): softmax cross-entropy, StableMax cross-entropy
#: (Prieto et al. 2025), mean squared error onto the one-hot target.
LOSSES = ("cross_entropy", "stablemax", "mse")
#: Working precisions of :func:`train`.
PRECISIONS = ("float32", "float64")


# ---------------------------------------------------------------------------------------------
# schedule and run grid


@dataclass(frozen=True)
class FirstStep:
    """The first step at which curve ``curve`` reaches ``level``, checked at *every* step
    (:attr:`Schedule.first_steps`), not only at the recorded ones.

    Reaching is ``curve ≥ level`` (``≤`` with ``below``; ``>``/``<`` with ``strict``), the
    rule of :func:`~effgrok.constants.first_crossing`; ``name`` (default ``step_<curve>``) is
    the per-run column of the result (float64 steps, :data:`~effgrok.constants.NEVER` where
    never reached).

    >>> FirstStep("rqi", 0.95, strict=True).name
    'step_rqi'
    """

    curve: str
    level: float
    below: bool = False
    strict: bool = False
    name: str | None = None

    def __post_init__(self):
        if not isinstance(self.curve, str) or not self.curve:
            raise ValueError(f"curve must be a curve name, got {self.curve!r}")
        level = _checks.real("level", self.level)
        for flag in ("below", "strict"):
            if not isinstance(getattr(self, flag), (bool, np.bool_)):
                raise ValueError(f"{flag} must be True or False, got {getattr(self, flag)!r}")
        object.__setattr__(self, "level", level)
        if self.name is None:
            object.__setattr__(self, "name", f"step_{self.curve}")

    def reached(self, value):
        """Whether ``value`` (a traced scalar) reaches the level."""
        if self.below:
            return value < self.level if self.strict else value <= self.level
        return value > self.level if self.strict else value >= self.level


@dataclass(frozen=True)
class Schedule:
    """When to measure: ``steps`` optimiser steps, curves every ``stride`` steps.

    ``stride`` divides ``steps``; ``snapshot_stride`` (optional) is a multiple of ``stride``
    that divides ``steps`` -- the parameters are then kept at ``0, snapshot_stride, …, steps``;
    ``loss_every_step`` also keeps the training loss at every step.  Checked on construction
    (:func:`~effgrok.nets.engine.schedule`).

    ``batch_size`` (``None``: full batch) trains every step on ``min(batch_size, n_train)`` of
    the run's training examples, drawn uniformly without replacement afresh at every step from
    the run's own key (see :func:`train`).  ``first_steps`` (:class:`FirstStep` s) are checked
    at every step on the parameters before its update, and once after the last.

    >>> s = Schedule(100, 10, snapshot_stride=50)
    >>> s.records, s.n_snapshots, s.recorded_steps[:3].tolist(), s.snapshot_steps.tolist()
    (10, 2, [0, 10, 20], [0, 50, 100])
    >>> Schedule(100, 7)
    Traceback (most recent call last):
    ...
    ValueError: stride must divide steps; got stride 7 for 100 steps
    >>> Schedule(100, 10, batch_size=45, first_steps=[FirstStep("train_acc", 0.9)]).first_steps[0].name
    'step_train_acc'
    """

    steps: int
    stride: int
    snapshot_stride: int | None = None
    loss_every_step: bool = False
    batch_size: int | None = None
    first_steps: tuple = ()

    def __post_init__(self):
        steps, stride, _ = check_schedule(self.steps, self.stride, snapshot_stride=self.snapshot_stride)
        if not isinstance(self.loss_every_step, (bool, np.bool_)):
            raise ValueError(f"loss_every_step must be True or False, got {self.loss_every_step!r}")
        object.__setattr__(self, "steps", steps)
        object.__setattr__(self, "stride", stride)
        object.__setattr__(self, "loss_every_step", bool(self.loss_every_step))
        if self.snapshot_stride is not None:
            object.__setattr__(self, "snapshot_stride", int(self.snapshot_stride))
        b = self.batch_size
        if b is not None:
            object.__setattr__(self, "batch_size", _checks.integer("batch_size", b, lo=1))
        hits = tuple(self.first_steps)
        if not all(isinstance(h, FirstStep) for h in hits):
            raise ValueError(f"first_steps must be FirstStep objects, got {self.first_steps!r}")
        names = [h.name for h in hits]
        if len(set(names)) != len(names):
            raise ValueError(f"first_steps names must differ, got {names}")
        object.__setattr__(self, "first_steps", hits)

    @property
    def records(self) -> int:
        """Number of recording intervals, ``steps // stride`` (curves have one more entry)."""
        return self.steps // self.stride

    @property
    def n_snapshots(self) -> int:
        """``steps // snapshot_stride`` (1 without snapshots: the scan's outer blocks)."""
        return 1 if self.snapshot_stride is None else self.steps // self.snapshot_stride

    @property
    def recorded_steps(self) -> np.ndarray:
        """The steps of the curves, ``0, stride, …, steps``."""
        return np.arange(self.records + 1) * self.stride

    @property
    def snapshot_steps(self) -> np.ndarray | None:
        """The steps of the parameter snapshots (``None`` without ``snapshot_stride``)."""
        if self.snapshot_stride is None:
            return None
        return np.arange(self.n_snapshots + 1) * self.snapshot_stride


def as_schedule(schedule, *, fields: tuple[str, ...] | None = None) -> Schedule:
    """``schedule``, checked to be a :class:`Schedule` -- the one check of every function that
    takes one.  ``fields``, where given, names the fields beyond ``steps`` and ``stride`` that
    the caller honours; a schedule that sets any other field away from its default is refused
    rather than silently ignored.

    >>> as_schedule(Schedule(100, 10)).records
    10
    >>> as_schedule(3000)
    Traceback (most recent call last):
    ...
    ValueError: schedule must be an effgrok.nets.Schedule, got 3000
    >>> as_schedule(Schedule(100, 10, batch_size=8), fields=("snapshot_stride",))
    Traceback (most recent call last):
    ...
    ValueError: this function does not take a schedule's batch_size (got 8); it takes snapshot_stride
    """
    if not isinstance(schedule, Schedule):
        raise ValueError(f"schedule must be an effgrok.nets.Schedule, got {schedule!r}")
    if fields is not None:
        default = Schedule(schedule.steps, schedule.stride)
        for f in dataclasses.fields(Schedule):
            name = f.name
            value = getattr(schedule, name)
            if name not in ("steps", "stride", *fields) and value != getattr(default, name):
                takes = ", ".join(fields) if fields else "no other field"
                raise ValueError(
                    f"this function does not take a schedule's {name} (got {value!r}); it takes {takes}"
                )
    return schedule


@dataclass(frozen=True, eq=False)
class Grid:
    """Named per-run columns (1-D arrays of one length, the number of runs).

    Build it with :meth:`product` (every combination) or :meth:`zip` (numpy broadcasting);
    ``len(grid)`` is the number of runs, ``grid["name"]`` a column, ``grid.run(k)`` run ``k``'s
    values.
    """

    columns: dict

    @classmethod
    def product(cls, **axes) -> Grid:
        """Every combination of the axes (scalars or 1-D sequences), the first axis slowest,
        as ``itertools.product``.

        >>> g = Grid.product(train_fraction=[0.3, 0.6], seed=[0, 1, 2])
        >>> len(g), g["train_fraction"].tolist(), g["seed"].tolist()
        (6, [0.3, 0.3, 0.3, 0.6, 0.6, 0.6], [0, 1, 2, 0, 1, 2])
        """
        arrays = {k: np.atleast_1d(np.asarray(v)) for k, v in axes.items()}
        for k, a in arrays.items():
            if a.ndim != 1 or a.size == 0:
                raise ValueError(f"axis {k} must be a scalar or a non-empty 1-D sequence, got {a.shape}")
        if not arrays:
            return cls({})
        mesh = np.meshgrid(*arrays.values(), indexing="ij")
        return cls({k: m.ravel().copy() for k, m in zip(arrays, mesh, strict=True)})

    @classmethod
    def zip(cls, **columns) -> Grid:
        """Columns broadcast against each other (scalars or 1-D sequences of one common length).

        >>> Grid.zip(seed=[0, 1, 2], learning_rate=1e-3)["learning_rate"].tolist()
        [0.001, 0.001, 0.001]
        """
        return cls(run_grid(**columns)[1])

    def __len__(self) -> int:
        return next(iter(self.columns.values())).size if self.columns else 1

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def __contains__(self, name: str) -> bool:
        return name in self.columns

    def run(self, k: int) -> dict:
        """Run ``k``'s values, ``{name: scalar}``."""
        return {name: col[k] for name, col in self.columns.items()}

    def with_defaults(self, **defaults) -> Grid:
        """This grid with the columns of ``defaults`` (scalars) added where missing."""
        n = len(self)
        extra = {k: np.full(n, v) for k, v in defaults.items() if k not in self.columns}
        return Grid({**self.columns, **extra})


# ---------------------------------------------------------------------------------------------
# optimisers: factories of one run's optax transformation from that run's hyperparameters


class Optimizer:
    """Base of the optimiser objects: ``optimizer(**run)`` is one run's optax
    ``GradientTransformation``, ``run`` the run's traced float columns (``learning_rate``, ...).

    ``columns`` names the columns it reads (checked against the grid before training)."""

    def columns(self) -> tuple[str, ...]:
        return ()

    def __call__(self, **run):  # pragma: no cover - every optimiser overrides it
        raise NotImplementedError


def _check_adam(beta1, beta2, eps) -> None:
    for name, b in (("beta1", beta1), ("beta2", beta2)):
        if isinstance(b, bool) or not isinstance(b, (int, float, np.floating, np.integer)) or not 0 <= b < 1:
            raise ValueError(f"{name} must be a number in [0, 1), got {b!r}")
    if isinstance(eps, bool) or not isinstance(eps, (int, float, np.floating, np.integer)):
        raise ValueError(f"eps must be a number >= 0, got {eps!r}")
    if not (math.isfinite(eps) and eps >= 0):
        raise ValueError(f"eps must be a finite number >= 0, got {eps!r}")


@dataclass(frozen=True)
class AdamW(Optimizer):
    """``optax.adamw(learning_rate, b1=beta1, b2=beta2, eps=eps, weight_decay=weight_decay)``
    with the run's ``learning_rate`` and ``weight_decay`` (decoupled decay).  ``eps`` may be 0
    or tiny (1e-25, Prieto et al.).

    >>> AdamW(beta2=0.98).columns()
    ('learning_rate', 'weight_decay')
    """

    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def __post_init__(self):
        _check_adam(self.beta1, self.beta2, self.eps)
        for name in ("beta1", "beta2", "eps"):
            object.__setattr__(self, name, float(getattr(self, name)))

    def columns(self):
        return ("learning_rate", "weight_decay")

    def __call__(self, learning_rate, weight_decay, **_):
        import optax

        b1, b2, eps = self.beta1, self.beta2, self.eps
        return optax.adamw(learning_rate, b1=b1, b2=b2, eps=eps, weight_decay=weight_decay)


@dataclass(frozen=True)
class SGD(Optimizer):
    """Plain full-batch gradient descent with decoupled weight decay,
    ``θ ← θ − η (∇L + wd·θ)`` (``optax.sgd`` after ``optax.add_decayed_weights``), i.e. gradient
    descent on ``L + (wd/2)‖θ‖²``."""

    def columns(self):
        return ("learning_rate", "weight_decay")

    def __call__(self, learning_rate, weight_decay, **_):
        import optax

        return optax.chain(optax.add_decayed_weights(weight_decay), optax.sgd(learning_rate))


@dataclass(frozen=True)
class Frozen(Optimizer):
    """No update at all (``optax.set_to_zero``): for parameter groups that stay as drawn."""

    def __call__(self, **_):
        import optax

        return optax.set_to_zero()


def orthogonal_gradients(tiny: float = 1e-30):
    """The ⊥Grad gradient transformation (optax) of Prieto et al. (2025, §5).

    For every parameter tensor ``w`` with gradient ``g``:

        g⊥ = g − (⟨w, g⟩/⟨w, w⟩) w,       g ← g⊥ · ‖g‖/‖g⊥‖,

    the gradient with its component along the weights -- the direction that only scales the
    logits up ("naive loss minimisation", NLM) -- removed and its norm restored.  Chain it before
    the optimiser: ``optax.chain(orthogonal_gradients(), optax.adamw(...))``, or
    ``Chain(OrthogonalGradients(), AdamW())`` for :func:`train` (and
    :func:`~effgrok.nets.modular.train_modular`).  ``tiny`` guards the divisions (a zero tensor
    passes its gradient unchanged).

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
class OrthogonalGradients(Optimizer):
    """:func:`orthogonal_gradients` as an optimiser part: ``Chain(OrthogonalGradients(), AdamW())``."""

    tiny: float = 1e-30

    def __call__(self, **_):
        return orthogonal_gradients(self.tiny)


def _as_optimizer(opt) -> Optimizer:
    """An :class:`Optimizer`, or a plain optax transformation wrapped as one."""
    if isinstance(opt, Optimizer):
        return opt
    if hasattr(opt, "init") and hasattr(opt, "update"):
        return _Fixed(opt)
    raise ValueError(f"optimizer must be an effgrok Optimizer or an optax transformation, got {opt!r}")


@dataclass(frozen=True)
class _Fixed(Optimizer):
    transformation: Any

    def __call__(self, **_):
        return self.transformation


@dataclass(frozen=True, init=False)
class Chain(Optimizer):
    """Optimiser parts applied in order (``optax.chain``), e.g. ``Chain(OrthogonalGradients(), AdamW())``."""

    parts: tuple

    def __init__(self, *parts):
        if not parts:
            raise ValueError("Chain needs at least one optimiser")
        object.__setattr__(self, "parts", tuple(_as_optimizer(p) for p in parts))

    def columns(self):
        return tuple(dict.fromkeys(c for p in self.parts for c in p.columns()))

    def __call__(self, **run):
        import optax

        return optax.chain(*(p(**run) for p in self.parts))


@dataclass(frozen=True, init=False)
class Renamed(Optimizer):
    """``optimizer`` reading other grid columns: ``Renamed(AdamW(), learning_rate="lr_emb",
    weight_decay="wd_emb")`` passes column ``lr_emb`` as its ``learning_rate``."""

    optimizer: Optimizer
    names: tuple

    def __init__(self, optimizer, **names):
        object.__setattr__(self, "optimizer", _as_optimizer(optimizer))
        object.__setattr__(self, "names", tuple(sorted(names.items())))

    def columns(self):
        names = dict(self.names)
        return tuple(names.get(c, c) for c in self.optimizer.columns())

    def __call__(self, **run):
        return self.optimizer(**{**run, **{own: run[col] for own, col in self.names}})


@dataclass(frozen=True, init=False)
class PerGroup(Optimizer):
    """One optimiser per parameter group (``optax.multi_transform``): ``label(name)`` is the
    group of parameter ``name`` (a module-level function, so the object stays hashable).

    >>> opt = PerGroup(lambda k: "emb" if k == "emb" else "dec", emb=SGD(), dec=AdamW())
    >>> opt.columns()
    ('learning_rate', 'weight_decay')
    """

    label: Callable
    groups: tuple

    def __init__(self, label, **groups):
        object.__setattr__(self, "label", label)
        object.__setattr__(self, "groups", tuple((k, _as_optimizer(v)) for k, v in groups.items()))

    def columns(self):
        return tuple(dict.fromkeys(c for _, o in self.groups for c in o.columns()))

    def __call__(self, **run):
        import optax

        label = self.label
        return optax.multi_transform(
            {k: o(**run) for k, o in self.groups}, lambda params: {k: label(k) for k in params}
        )


# ---------------------------------------------------------------------------------------------
# examples and models


@dataclass(frozen=True, eq=False)
class Examples:
    """The examples one call trains on: ``inputs`` (a tuple of arrays with a leading example
    axis, as ``Model.apply`` takes them), ``targets`` (leading axis: example) and how a run's
    training set is chosen -- ``train_mask`` (bool ``[n_examples]``, the same for every run,
    nothing drawn) or, without it, a random split of ``task`` (:func:`effgrok.tasks.random_split`
    with the run's ``train_fraction`` or ``n_train``, seeded by one draw from the run's
    generator)."""

    inputs: tuple
    targets: np.ndarray
    task: Any = None
    train_mask: np.ndarray | None = None

    @property
    def n_examples(self) -> int:
        return int(np.shape(self.targets)[0])

    @classmethod
    def train_then_test(cls, data) -> Examples:
        """The examples of a fixed train/test split (``data`` with ``x_train``, ``y_train``,
        ``x_test``, ``y_test``): inputs ``x_train`` then ``x_test``, the first ``len(y_train)``
        of them training, the same for every run (nothing drawn).  An :class:`Examples` is
        taken as it is.

        >>> from types import SimpleNamespace as NS
        >>> ex = Examples.train_then_test(NS(x_train=np.zeros((2, 3)), y_train=np.zeros(2),
        ...                                  x_test=np.ones((1, 3)), y_test=np.ones(1)))
        >>> ex.inputs[0].shape, ex.train_mask.tolist()
        ((3, 3), [True, True, False])
        """
        if isinstance(data, Examples):
            return data
        x = np.concatenate([data.x_train, data.x_test])
        y = np.concatenate([data.y_train, data.y_test])
        return cls((x,), y, train_mask=np.arange(y.size) < np.shape(data.y_train)[0])

    def split(self, rng: np.random.Generator, run: dict, given=None) -> np.ndarray:
        """Run ``run``'s training mask (bool ``[n_examples]``), drawn from ``rng`` if random.

        ``given`` (a mask) replaces a random split *after* its seed is drawn, so the run's
        generator advances as it would have and every later draw is unchanged."""
        if self.train_mask is not None:
            return np.asarray(self.train_mask if given is None else given, bool)
        from ..tasks import random_split

        seed = int(rng.integers(2**63 - 1))
        if given is not None:
            return np.asarray(given, bool)
        if "n_train" in run:
            return random_split(self.task, size=int(run["n_train"]), seed=seed).mask
        if "train_fraction" not in run:
            raise ValueError("runs needs a train_fraction or an n_train column to split the task")
        return random_split(self.task, fraction=float(run["train_fraction"]), seed=seed).mask


class Model:
    """Base of the network objects (frozen dataclasses; hashable, they key the jit cache).

    A subclass defines :meth:`init` and :meth:`apply` and may override :meth:`examples`,
    :meth:`param_mask`, :meth:`correct`, :meth:`metrics` and :meth:`width`.
    """

    def examples(self, task) -> Examples:
        """The examples of ``task``: an :class:`Examples` is taken as it is; a
        :class:`effgrok.tasks.Task` gives the symbol pairs ``(a, b)`` as inputs, the result
        classes as targets and a random split per run."""
        if isinstance(task, Examples):
            return task
        return Examples((task.pairs[:, 0], task.pairs[:, 1]), task.results, task=task)

    def init(self, rng: np.random.Generator, task) -> dict:  # pragma: no cover - abstract
        """One run's initial parameters (``{name: float64 array}``), drawn from ``rng``."""
        raise NotImplementedError

    def apply(self, params: dict, inputs: tuple):  # pragma: no cover - abstract
        """The outputs for ``inputs`` (jax.numpy, one run, leading axis: example)."""
        raise NotImplementedError

    def param_mask(self, task) -> dict | None:
        """0/1 arrays for some parameters (by name) held at 0 throughout; ``None``: none."""
        return None

    def project(self, params: dict, run: dict) -> dict:
        """The parameters mapped back onto the model's constraint set, applied to the initial
        parameters and after every update when a subclass overrides it (``run``: the run's
        traced float columns, e.g. Omnigrok's per-run ``fixed_norm`` sphere)."""
        return params

    def correct(self, outputs, targets):
        """Per-example correctness (``argmax = target``); ``None`` for a model without accuracy."""
        import jax.numpy as jnp

        return jnp.argmax(outputs, axis=-1) == targets

    def metrics(self, params: dict, outputs, targets, mask, loss: Callable) -> dict:
        """Extra curves ``{name: scalar}`` on every example (``mask``: 1 train, 0 test, in the
        working dtype; ``loss`` the per-example loss); they may replace the standard ones."""
        return {}

    def width(self, task) -> int:
        """Activations per example (the memory estimate of a run; never changes a number)."""
        return 0

    def activations(self, task) -> int:
        """:meth:`width`, what the driver reads: a model with a *field* named ``width``
        (:class:`~effgrok.nets.digits.DigitsMLP`, whose field hides the method) overrides this."""
        return self.width(task)


#: Model name (the command line's) -> :class:`Model` subclass; :func:`register` adds to it.
MODELS: dict[str, type] = {}


def register(name: str):
    """Class decorator: ``@register("mlp")`` adds a :class:`Model` subclass to :data:`MODELS`."""

    def add(cls):
        if not (isinstance(cls, type) and issubclass(cls, Model)):
            raise ValueError(f"register takes a Model subclass, got {cls!r}")
        if MODELS.get(name, cls) is not cls:
            raise ValueError(f"model name {name!r} is taken by {MODELS[name].__name__}")
        MODELS[name] = cls
        return cls

    return add


# ---------------------------------------------------------------------------------------------
# losses and shared measurements (jax.numpy)


def masked_mean(v, m):
    """``Σ v m / max(Σ m, 1)``: the mean of ``v`` over the examples with weight ``m``."""
    import jax.numpy as jnp

    return jnp.sum(v * m) / jnp.maximum(m.sum(), 1)


def _stablemax_s(z, xp):
    """``s(x) = x + 1`` (x ≥ 0), ``1/(1 − x)`` (x < 0); both branches finite everywhere."""
    return xp.where(z >= 0, z + 1, 1 / (1 - xp.minimum(z, 0)))


def _per_example_loss(logits, y, loss: str):
    """Per-example loss ``ℓ(z, y)`` (jax.numpy), shape ``(n,)``, of a loss in :data:`LOSSES`.

    ``cross_entropy``: ``−log softmax(z)_y``; ``stablemax`` (Prieto et al. 2025): ``−log p_y``
    with ``p_i = s(z_i)/Σ_j s(z_j)``; ``mse``: ``(1/C) Σ_c (z_c − [c = y])²``.
    """
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


def _loss_function(loss) -> Callable:
    if callable(loss):
        return loss
    _checks.choice("loss", loss, LOSSES)
    return lambda outputs, targets: _per_example_loss(outputs, targets, loss)


def collapse_metrics(outputs, targets, mask, loss: Callable) -> dict:
    """Softmax-collapse diagnostics (Prieto et al. 2025) over the training examples (``mask``):
    the fraction whose loss is exactly 0 in the working precision (``zero_loss_fraction``) and
    the fraction whose gradient with respect to the outputs is exactly 0 in every component
    (``zero_grad_fraction``)."""
    import jax
    import jax.numpy as jnp

    ell = loss(outputs, targets)
    # examples are independent, so row i of this gradient is ∂ℓ_i/∂z_i
    dz = jax.grad(lambda z: jnp.sum(loss(z, targets)))(outputs)
    return {
        "zero_loss_fraction": masked_mean(ell == 0, mask),
        "zero_grad_fraction": masked_mean(jnp.all(dz == 0, axis=1), mask),
    }


# ---------------------------------------------------------------------------------------------
# the result


@dataclass(frozen=True)
class TrainRuns(Runs):
    """What :func:`train` returns: named curves and per-run columns (leading axis: run).

    ``runs.test_acc`` reads curve or column ``test_acc`` (as ``runs.curves["test_acc"]``).

    Attributes
    ----------
    steps : ndarray (records + 1,)
    curves : dict of ndarray ``[runs, records + 1]``
    columns : dict of ndarray ``[runs]``
        The grid's columns (with defaults such as ``seed``) and ``n_train``.
    params : dict of ndarray ``[runs, ...]``
        Final parameters (working precision).
    train_mask : ndarray of bool ``[runs, n_examples]``
    snapshots : dict of ndarray ``[runs, snapshot, ...]`` or None
    snapshot_steps : ndarray or None
    train_loss_every_step : ndarray ``[runs, steps]`` or None
    model, optimizer, schedule, loss, precision
        The call's settings.
    """

    NOT_CURVES = ("train_loss_every_step",)

    steps: np.ndarray
    curves: dict
    columns: dict
    params: dict
    train_mask: np.ndarray
    snapshots: dict | None = None
    snapshot_steps: np.ndarray | None = None
    train_loss_every_step: np.ndarray | None = None
    model: Any = None
    optimizer: Any = None
    schedule: Schedule | None = None
    loss: Any = None
    precision: str = "float32"

    def __getattr__(self, name):
        if not name.startswith("_") and name not in ("curves", "columns"):
            for table in (self.curves, self.columns):
                if name in table:
                    return table[name]
        raise AttributeError(f"{type(self).__name__} has no attribute, curve or column {name!r}")

    def _arrays(self) -> dict:
        return {**self.columns, **self.curves}


# ---------------------------------------------------------------------------------------------
# the driver


@dataclass(frozen=True)
class _Key:
    """Everything that shapes the compiled program except array shapes (the jit cache key)."""

    model: Model
    optimizer: Optimizer
    schedule: Schedule
    loss: Any
    float64: bool
    vectorize: bool | None
    masked: bool
    minibatch: bool = False


def train(
    model: Model,
    optimizer,
    schedule: Schedule,
    runs: Grid,
    *,
    task,
    loss="cross_entropy",
    precision: str = "float32",
    vectorize: bool | None = None,
    init_params: dict | None = None,
    weight_mask: dict | None = None,
    train_mask=None,
) -> TrainRuns:
    """Train ``model`` once per run of ``runs`` (see the module docstring); a :class:`TrainRuns`.

    ``init_params`` replaces the drawn initial parameters (a dict of one run's arrays, or with a
    leading run axis; an entry ``None`` keeps that parameter's draw; the draws still happen, so
    nothing else changes); ``weight_mask`` (0/1, same shapes) multiplies the parameters at the
    start and after every update, so masked weights stay exactly 0 (combined with
    ``model.param_mask``).  ``train_mask`` (bool ``[n_examples]`` or ``[runs, n_examples]``)
    replaces the drawn training sets the same way (the split's seed is still drawn).

    **Mini-batches** (``schedule.batch_size``): after its initial parameters, run ``k`` draws a
    key (two ``uint32``) from its generator; step ``t`` takes the ``min(batch_size, n_train)``
    training examples with the smallest of the uniforms
    ``jax.random.uniform(fold_in(key, t), [n_examples])`` (in the working precision) -- a
    uniform draw without replacement, the same whatever chunk or batch of runs the run trains
    in.  A call where no run has more than ``batch_size`` training examples trains full batch
    (the same numbers, without the per-step draws).

    **First steps** (``schedule.first_steps``): at every step the forward pass runs on every
    example (test examples, and training examples outside the step's batch, weigh 0 in the
    loss); its outputs give both the gradient and the curves the checks read, so a first step
    and the update after it see the same parameters.  The steps are per-run columns.

    Examples
    --------
    >>> import effgrok as eg
    >>> from effgrok.nets import MLP
    >>> r = train(MLP(hidden=8), AdamW(), Schedule(20, 10),
    ...           Grid.product(train_fraction=[0.5, 0.9], learning_rate=1e-3, weight_decay=1.0),
    ...           task=eg.make_task("add-mod", 7))
    >>> r.test_acc.shape, r.seed.tolist(), sorted(r.curves)[:3]
    ((2, 3), [0, 0], ['test_acc', 'test_loss', 'train_acc'])
    """
    if not isinstance(model, Model):
        raise ValueError(f"model must be a Model object (effgrok.nets.driver.Model), got {model!r}")
    optimizer = _as_optimizer(optimizer)
    schedule = as_schedule(schedule)
    if not isinstance(runs, Grid):
        raise ValueError(f"runs must be a Grid (Grid.product or Grid.zip), got {runs!r}")
    _checks.choice("precision", precision, PRECISIONS)
    if vectorize is not None and not isinstance(vectorize, bool):
        raise ValueError(f"vectorize must be None, True or False, got {vectorize!r}")
    lossfn = loss if callable(loss) else _checks.choice("loss", loss, LOSSES)
    runs = runs.with_defaults(seed=0)
    missing = [c for c in optimizer.columns() if c not in runs]
    if missing:
        raise ValueError(f"runs has no column {', '.join(missing)} (the optimizer reads it)")
    examples = model.examples(task)
    draws = _draws(model, task, examples, runs, train_mask, schedule.batch_size)
    init, wmask = _initial(model, task, draws, runs, init_params, weight_mask)
    masks, size = draws["masks"], draws["batch"]
    minibatch = bool(np.any(size < masks.sum(axis=1)))
    key = _Key(
        model, optimizer, schedule, lossfn, precision == "float64", vectorize, wmask is not None, minibatch
    )
    out = _train(key, examples, runs, draws, init, wmask, model.activations(task))
    first = {h.name: out["first"][:, i] for i, h in enumerate(schedule.first_steps)}
    return TrainRuns(
        steps=schedule.recorded_steps,
        curves=out["curves"],
        columns={**runs.columns, "n_train": masks.sum(axis=1).astype(np.int64), **first},
        params=out["params"],
        train_mask=masks,
        snapshots=out["snapshots"],
        snapshot_steps=schedule.snapshot_steps,
        train_loss_every_step=out["every"],
        model=model,
        optimizer=optimizer,
        schedule=schedule,
        loss=loss,
        precision=precision,
    )


def _draws(model: Model, task, examples: Examples, runs: Grid, train_mask, batch_size) -> dict:
    """Every run's draws from its own generator ``run_rng(seed_k)``, in this order: its
    training mask, its initial parameters (``model.init``) and, with mini-batches, its key.

    Returns ``masks`` (bool ``[runs, n_examples]``), ``inits`` (one dict per run), ``keys``
    (uint32 ``[runs, 2]``, zeros without mini-batches) and ``batch`` (examples per step)."""
    R = len(runs)
    given = None
    if train_mask is not None:
        given = np.asarray(train_mask)
        if given.dtype != bool or given.shape[-1:] != (examples.n_examples,) or given.ndim not in (1, 2):
            raise ValueError(
                f"train_mask must be a bool array [n_examples] or [runs, n_examples] with "
                f"n_examples = {examples.n_examples}, got {given.dtype} {given.shape}"
            )
        if given.ndim == 2 and given.shape[0] != R:
            raise ValueError(f"train_mask gives {given.shape[0]} training sets for {R} runs")
        given = np.broadcast_to(given, (R, examples.n_examples))
    masks, inits, keys = [], [], np.zeros((R, 2), np.uint32)
    for k in range(R):
        rng = run_rng(runs["seed"][k])
        masks.append(examples.split(rng, runs.run(k), None if given is None else given[k]))
        inits.append(model.init(rng, task))
        if batch_size is not None:  # drawn last: every earlier draw is unchanged
            keys[k] = rng.integers(2**32, size=2, dtype=np.uint32)
    masks = np.stack(masks).astype(bool)
    n_train = masks.sum(axis=1)
    batch = n_train if batch_size is None else np.minimum(n_train, batch_size)
    return {"masks": masks, "inits": inits, "keys": keys, "batch": batch.astype(np.int32)}


def _initial(model: Model, task, draws: dict, runs: Grid, init_params, weight_mask):
    """Per-run initial parameters and weight masks (``None``: unmasked).

    The drawn parameters are scaled by the run's ``init_scale`` (if the grid has one);
    ``init_params`` replaces them (its ``None`` entries keep the draws).
    """
    R, inits = len(runs), draws["inits"]
    shapes = {k: np.shape(v) for k, v in inits[0].items()}
    init = {k: np.stack([p[k] for p in inits]) for k in shapes}
    if "init_scale" in runs:
        alpha = np.asarray(runs["init_scale"], np.float64)
        init = {k: alpha.reshape((-1,) + (1,) * len(s)) * init[k] for k, s in shapes.items()}
    if init_params is not None:
        if isinstance(init_params, dict):
            init_params = {k: init[k] if v is None and k in init else v for k, v in init_params.items()}
        init = per_run_params("init_params", init_params, shapes, R)
    wmask = None
    if weight_mask is not None:
        checked = per_run_params("weight_mask", weight_mask, shapes, R, binary=True)
        wmask = {k: np.array(v) for k, v in checked.items()}
    held = model.param_mask(task)
    if held:
        wmask = wmask or {k: np.ones((R, *s)) for k, s in shapes.items()}
        for k, m in held.items():
            wmask[k] = wmask[k] * np.asarray(m, np.float64)
    if wmask is not None:
        init = {k: init[k] * wmask[k] for k in shapes}
    return init, wmask


def _train(key: _Key, examples: Examples, runs: Grid, draws: dict, init: dict, wmask, width: int) -> dict:
    """Run the program of ``key`` on every run, in chunks that fit in memory; numpy outputs."""
    masks = draws["masks"]
    tr_idx, tr_w, _ = train_indices(masks)
    s = key.schedule
    size = run_bytes(init, copies=6 + s.n_snapshots, extra=4 * masks.shape[1] * width, float64=key.float64)
    hyper = {k: v for k, v in runs.columns.items() if np.issubdtype(v.dtype, np.floating)}

    def chunk(sl):
        per = None if wmask is None else {k: v[sl] for k, v in wmask.items()}
        return _run_program(
            key,
            examples,
            {k: v[sl] for k, v in init.items()},
            (masks[sl], tr_idx[sl], tr_w[sl], draws["keys"][sl], draws["batch"][sl]),
            per,
            {k: v[sl] for k, v in hyper.items()},
        )

    return map_chunks(chunk, masks.shape[0], size)


def _put(x, dtype=None):
    """``x`` on the device in ``dtype`` (default: its own, as JAX canonicalises it: 32-bit
    unless x64 is on), converted on the host: ``jnp.asarray(x, dtype)`` would compile and run
    a small conversion program per argument, a cost every process pays again (JAX's persistent
    cache keeps the compiled code, not the tracing and lowering)."""
    import jax

    a = np.asarray(x) if dtype is None else np.asarray(x, dtype)
    return jax.device_put(np.asarray(a, jax.dtypes.canonicalize_dtype(a.dtype)))


def _run_program(key: _Key, examples: Examples, init: dict, split: tuple, wmask, hyper: dict) -> dict:
    """The compiled program of ``key`` on the runs given (``split``: their training masks,
    padded training indices and weights, mini-batch keys and sizes); numpy outputs (curves
    float64, first steps float64 with ``NaN`` where never reached)."""
    import jax

    masks, tr_idx, tr_w, keys, batch = split
    with jax.enable_x64(key.float64):
        dtype = np.float64 if key.float64 else np.float32
        args = (
            {k: _put(v, dtype) for k, v in init.items()},
            _put(masks),
            _put(tr_idx),
            _put(tr_w, dtype),
            None if wmask is None else {k: _put(v, dtype) for k, v in wmask.items()},
            {k: _put(v, dtype) for k, v in hyper.items()},
            (_put(keys), _put(batch, np.int32)),
            tuple(_put(x) for x in examples.inputs),
            _put(examples.targets),
        )
        out = program(lambda: _compiled(key), key, args)(*args)
        snaps, every, first = out["snapshots"], out["every"], np.asarray(out["first"])
        return {
            "curves": {k: np.asarray(v, np.float64) for k, v in out["curves"].items()},
            "params": {k: np.asarray(v) for k, v in out["params"].items()},
            "snapshots": None if snaps is None else {k: np.asarray(v) for k, v in snaps.items()},
            "every": None if every is None else np.asarray(every, np.float64),
            "first": np.where(first < 0, NEVER, first.astype(np.float64)),
        }


def _batch_weight(u, valid, size):
    """0/1 weights choosing the ``size`` valid slots with the smallest uniforms ``u`` (a uniform
    draw without replacement among the valid slots)."""
    import jax.numpy as jnp

    rank = jnp.argsort(jnp.argsort(jnp.where(valid, u, 2.0)))
    return rank < size


@lru_cache(maxsize=32)
def _compiled(key: _Key):
    """The jitted training program of ``key`` over runs (cached: the same configuration and
    array shapes never recompile).  Arguments: ``params, mask, train_index, train_weight,
    weight_mask, hyper, (batch key, batch size)`` (per run) and ``inputs, targets`` (the
    examples, shared)."""
    import jax
    import jax.numpy as jnp
    import optax

    model, s = key.model, key.schedule
    dtype = jnp.float64 if key.float64 else jnp.float32
    loss = _loss_function(key.loss)
    projects = type(model).project is not Model.project
    every_example, hits = bool(s.first_steps), s.first_steps

    def train_loss(p, inputs, targets, w):
        outputs = model.apply(p, inputs)
        return jnp.sum(loss(outputs, targets) * w) / jnp.maximum(w.sum(), 1), outputs

    value_and_grad = jax.value_and_grad(train_loss, has_aux=True)

    def measured(p, outputs, m, targets):
        ell = loss(outputs, targets)
        curves = {"train_loss": masked_mean(ell, m), "test_loss": masked_mean(ell, 1 - m)}
        correct = model.correct(outputs, targets)
        if correct is not None:
            curves["train_acc"], curves["test_acc"] = masked_mean(correct, m), masked_mean(correct, 1 - m)
        curves["weight_norm"] = jnp.sqrt(sum(jnp.sum(v**2) for v in jax.tree_util.tree_leaves(p)))
        return {**curves, **model.metrics(p, outputs, targets, m, loss)}

    def first_hits(first, curves, t):
        unknown = [h.curve for h in hits if h.curve not in curves]
        if unknown:
            raise ValueError(f"first_steps read {', '.join(unknown)}; the curves are {', '.join(curves)}")
        reached = jnp.array([h.reached(curves[h.curve]) for h in hits], bool)
        return jnp.where((first < 0) & reached, t, first)

    def one(p, mask, idx, w, pm, hyper, batch, inputs, targets):
        opt = key.optimizer(**hyper)
        m = mask.astype(dtype)
        if every_example:  # the step's forward pass on every example serves the checks too
            tr_inputs, tr_targets, w, valid = inputs, targets, m, mask
        else:
            tr_inputs, tr_targets, valid = tuple(x[idx] for x in inputs), targets[idx], w > 0
        bkey = jax.random.wrap_key_data(batch[0])

        def step(carry, t):
            p, state, first = carry
            wt = w
            if key.minibatch:
                u = jax.random.uniform(jax.random.fold_in(bkey, t), mask.shape)
                wt = _batch_weight(u if every_example else u[idx], valid, batch[1]).astype(dtype)
            (value, outputs), grads = value_and_grad(p, tr_inputs, tr_targets, wt)
            if hits:
                first = first_hits(first, measured(p, outputs, m, targets), t)
            upd, state = opt.update(grads, state, p)
            p = optax.apply_updates(p, upd)
            if pm is not None:
                p = {k: v * pm[k] for k, v in p.items()}
            if projects:
                p = model.project(p, hyper)
            return (p, state, first), value if s.loss_every_step else None

        if projects:
            p = model.project(p, hyper)

        carry, curves, every, snaps = scan_schedule(
            step,
            lambda carry: measured(carry[0], model.apply(carry[0], inputs), m, targets),
            (p, opt.init(p), jnp.full(len(hits), -1, jnp.int32)),
            stride=s.stride,
            records=s.records,
            snapshots=s.n_snapshots,
            snap=(lambda carry: carry[0]) if s.snapshot_stride is not None else None,
            indexed=key.minibatch or bool(hits),
        )
        last = {k: v[-1] for k, v in curves.items()}
        first = first_hits(carry[2], last, s.steps) if hits else carry[2]  # the final parameters count
        return {"curves": curves, "params": carry[0], "snapshots": snaps, "every": every, "first": first}

    in_axes = (0, 0, 0, 0, 0 if key.masked else None, 0, 0, None, None)
    return jax.jit(over_runs(one, in_axes, key.vectorize))
