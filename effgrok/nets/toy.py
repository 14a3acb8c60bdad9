"""The toy model of Liu et al. (2022), trained with JAX and optax, vmapped over runs.

Model: embeddings ``E ∈ R^{n×d}`` (``U(−½, ½)``), an example ``(a, b)`` is ``E_a + E_b``
(separate left/right tables for non-commutative tasks), decoded by a tanh MLP (2 × 200,
PyTorch-style ``U(±1/√fan_in)`` initialisation of weights and biases).

* ``regression`` (reference default): MSE onto one fixed ``N(0, 1)`` template per result
  class (30-dim); the prediction is the nearest template.
* ``classification``: one logit per class, cross-entropy, argmax.

Optimisers: AdamW on the embeddings and a separate AdamW on the decoder (reference: lr
1e-3 / 1e-4, weight decay 0 / 0, β = (0.9, 0.999), ε = 1e-8).  Hyperparameters are traced
(``optax.inject_hyperparams``), so a grid of learning rates, weight decays and training sets
trains as one ``jax.vmap`` over runs; steps run inside ``jax.lax.scan``; the compiled
computation is cached per (configuration, task), so repeated batches do not recompile.

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

import functools
import itertools
import math
from dataclasses import dataclass, replace

import numpy as np

from .. import _checks
from ..constants import NEVER, RQI_THRESHOLD
from ..tasks import Task, random_split, takes_task
from .engine import (
    Runs,
    map_chunks,
    per_run_array,
    per_run_params,
    run_bytes,
    run_grid,
    run_rng,
    scan_schedule,
    seed_array,
)

__all__ = ["ToyConfig", "ToyRuns", "train_toy"]

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
class ToyConfig:
    """Settings shared by all runs of a batch (per-run values are given to :func:`train_toy`).

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

    dim: int = 1
    hidden: int = 200
    depth: int = 2
    variant: str = "regression"
    template_dim: int = 30
    steps: int = 5000
    stride: int = 50
    delta: float = 0.1
    float64: bool = False
    batch_size: int | None = 45
    init_scale_emb: float = 1.0
    init_scale_dec: float = 1.0
    template_scale: float = 1.0
    emb_optimizer: str = "adamw"

    def __post_init__(self):
        _checks.schedule(
            self.steps,
            self.stride,
            dim=self.dim,
            hidden=self.hidden,
            depth=self.depth,
            template_dim=self.template_dim,
        )
        b = self.batch_size
        if b is not None and (isinstance(b, bool) or not isinstance(b, (int, np.integer)) or b < 1):
            raise ValueError(f"batch_size must be None (full batch) or an integer >= 1, got {b!r}")
        _checks.choice("emb_optimizer", self.emb_optimizer, EMB_OPTIMIZERS)
        _checks.choice("variant", self.variant, VARIANTS)
        for name in ("delta", "init_scale_emb", "init_scale_dec", "template_scale"):
            _checks.positive(name, getattr(self, name))


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


def _given_init(init, n_slots: int, cfg: ToyConfig, out_dim: int, runs: int) -> dict:
    sizes = [cfg.dim] + [cfg.hidden] * cfg.depth + [out_dim]
    shapes = {"emb": (n_slots, cfg.dim)}
    for i, (fi, fo) in enumerate(itertools.pairwise(sizes)):
        shapes[f"W{i}"], shapes[f"b{i}"] = (fi, fo), (fo,)
    return per_run_params("init", init, shapes, runs)


def _init_params(rng: np.random.Generator, n_slots: int, cfg: ToyConfig, out_dim: int) -> dict:
    params = {"emb": rng.uniform(-0.5, 0.5, (n_slots, cfg.dim)) * cfg.init_scale_emb}
    sizes = [cfg.dim] + [cfg.hidden] * cfg.depth + [out_dim]
    for i, (fi, fo) in enumerate(itertools.pairwise(sizes)):
        bound = 1.0 / math.sqrt(fi)
        params[f"W{i}"] = rng.uniform(-bound, bound, (fi, fo)) * cfg.init_scale_dec
        params[f"b{i}"] = rng.uniform(-bound, bound, fo) * cfg.init_scale_dec
    return params


def _decode(params, h, depth):
    import jax.numpy as jnp

    for i in range(depth):
        h = jnp.tanh(h @ params[f"W{i}"] + params[f"b{i}"])
    return h @ params[f"W{depth}"] + params[f"b{depth}"]


def _batch_mask(key, mask, size):
    """``size`` training examples (``mask``) drawn uniformly without replacement: the examples
    whose i.i.d. uniform keys rank below ``size`` among the training examples."""
    import jax
    import jax.numpy as jnp

    u = jnp.where(mask, jax.random.uniform(key, mask.shape), 2.0)
    rank = jnp.argsort(jnp.argsort(u))
    return rank < size


def _toy_optimizer(cfg: ToyConfig, labels: dict, lr_e, wd_e, lr_d, wd_d):
    """Embedding optimiser (AdamW or SGD with decay) beside the decoder's AdamW, traced rates."""
    import optax

    if cfg.emb_optimizer == "sgd":  # E ← E − η (∇E + wd·E)
        emb_opt = optax.chain(
            optax.inject_hyperparams(optax.add_decayed_weights)(weight_decay=wd_e),
            optax.inject_hyperparams(optax.sgd)(learning_rate=lr_e),
        )
    else:
        emb_opt = optax.inject_hyperparams(optax.adamw)(learning_rate=lr_e, weight_decay=wd_e)
    dec_opt = optax.inject_hyperparams(optax.adamw)(learning_rate=lr_d, weight_decay=wd_d)
    return optax.multi_transform({"emb": emb_opt, "dec": dec_opt}, labels)


def _toy_metrics(cfg: ToyConfig, C: int, slots, results, pars, dtype):
    """``metrics(params, templates, mask, batch_mask) -> (batch loss, (train loss, test loss,
    train acc, test acc, RQI, Acc-hat))`` of the toy model on one task (jax.numpy)."""
    import jax
    import jax.numpy as jnp

    delta2 = cfg.delta**2
    res_j = jnp.asarray(results)
    s0, s1 = jnp.asarray(slots[:, 0]), jnp.asarray(slots[:, 1])
    px, py = jnp.asarray(pars[:, 0]), jnp.asarray(pars[:, 1])
    onehot = jax.nn.one_hot(res_j, C, dtype=dtype)

    def forward(params, tm):
        h = params["emb"][s0] + params["emb"][s1]
        out = _decode(params, h, cfg.depth)
        if cfg.variant == "regression":
            per_ex = jnp.mean((out - tm[res_j]) ** 2, axis=-1)
            dist = jnp.sum((out[:, None, :] - tm[None, :, :]) ** 2, axis=-1)
            pred = jnp.argmin(dist, axis=-1)
        else:
            per_ex = -jnp.sum(onehot * jax.nn.log_softmax(out, axis=-1), axis=-1)
            pred = jnp.argmax(out, axis=-1)
        return per_ex, pred == res_j

    def metrics(params, tm, mask, bmask):
        per_ex, correct = forward(params, tm)
        mf = mask.astype(dtype)
        bf = bmask.astype(dtype)
        n_tr = jnp.maximum(mf.sum(), 1.0)
        n_te = jnp.maximum((1 - mf).sum(), 1.0)
        batch_loss = jnp.sum(per_ex * bf) / jnp.maximum(bf.sum(), 1.0)
        train_loss = jnp.sum(per_ex * mf) / n_tr
        test_loss = jnp.sum(per_ex * (1 - mf)) / n_te
        train_acc = jnp.sum(correct * mf) / n_tr
        test_acc = jnp.sum(correct * (1 - mf)) / n_te
        E = params["emb"]
        Ec = E - E.mean(axis=0)
        std = jnp.sqrt(jnp.sum(Ec**2, axis=0) / (E.shape[0] - 1))
        keep = std > 1e-12 * jnp.maximum(jnp.max(jnp.abs(E), axis=0), 1e-30)
        z = jnp.where(keep, Ec / jnp.where(keep, std, 1.0), 0.0)
        hz = z[s0] + z[s1]
        d2 = jnp.sum((hz[px] - hz[py]) ** 2, axis=-1) / jnp.maximum(keep.sum(), 1)
        realised = (d2 < delta2) & keep.any()
        rqi = jnp.mean(realised)
        link_y = realised & mask[px] & ~mask[py]
        link_x = realised & mask[py] & ~mask[px]
        pred = jnp.zeros(mask.shape, bool).at[py].max(link_y).at[px].max(link_x)
        acc_hat = jnp.sum(pred & ~mask) / n_te
        return batch_loss, (train_loss, test_loss, train_acc, test_acc, rqi, acc_hat)

    return metrics


@functools.lru_cache(maxsize=16)
def _runner(cfg: ToyConfig, n_classes: int, slots_b: bytes, results_b: bytes, pars_b: bytes, minibatch: bool):
    """The jitted, vmapped training function for one configuration and task (cached)."""
    import jax
    import jax.numpy as jnp
    import optax

    C = n_classes
    slots = np.frombuffer(slots_b, dtype=np.int64).reshape(-1, 2)
    results = np.frombuffer(results_b, dtype=np.int64)
    pars = np.frombuffer(pars_b, dtype=np.int64).reshape(-1, 2)
    dtype = jnp.float64 if cfg.float64 else jnp.float32
    names = ["emb"] + [f"{w}{i}" for i in range(cfg.depth + 1) for w in ("W", "b")]
    labels = {k: ("emb" if k == "emb" else "dec") for k in names}
    n_records = cfg.steps // cfg.stride

    def build():
        metrics = _toy_metrics(cfg, C, slots, results, pars, dtype)
        grad_fn = jax.value_and_grad(metrics, has_aux=True)

        def hits_of(m):
            return jnp.array([m[2] >= THRESHOLD_ACC, m[3] >= THRESHOLD_ACC, m[4] > RQI_THRESHOLD])

        def one_run(params, tm, mask, key, bsize, lr_e, wd_e, lr_d, wd_d):
            opt = _toy_optimizer(cfg, labels, lr_e, wd_e, lr_d, wd_d)

            def step(carry, t):
                params, state, first = carry
                bmask = _batch_mask(jax.random.fold_in(key, t), mask, bsize) if minibatch else mask
                (_, m), g = grad_fn(params, tm, mask, bmask)
                first = jnp.where((first < 0) & hits_of(m), t, first)  # −1 inside: not yet
                upd, state = opt.update(g, state, params)
                return (optax.apply_updates(params, upd), state, first), None

            def measure(carry):
                return (*metrics(carry[0], tm, mask, mask)[1], carry[0]["emb"])

            first = jnp.full(3, -1, dtype=jnp.int32)
            carry, recs, _, _ = scan_schedule(
                step,
                measure,
                (params, opt.init(params), first),
                stride=cfg.stride,
                records=n_records,
                indexed=True,
            )
            # the final parameters count too (step = steps)
            first = jnp.where((carry[2] < 0) & hits_of(tuple(r[-1] for r in recs)), cfg.steps, carry[2])
            return recs, first

        return jax.jit(jax.vmap(one_run))

    with jax.enable_x64(cfg.float64):
        return build()


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
    """Train a batch of toy-model runs in one vmapped, scanned computation.

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
    given_masks = None if train is None else _train_masks(task, train)
    if given_masks is not None:
        sizes = np.zeros(given_masks.shape[0]) if given_masks.shape[0] > 1 else np.zeros(())
    else:
        sizes = np.asarray(n_train) if n_train is not None else np.asarray(train_fraction, dtype=float)
    R, grid = run_grid(
        seeds=seed_array(seeds),
        lr_emb=_checks.positive_array("embedding learning rate", lr_emb),
        wd_emb=_checks.positive_array("embedding weight decay", wd_emb, allow_zero=True),
        lr_dec=_checks.positive_array("decoder learning rate", lr_dec),
        wd_dec=_checks.positive_array("decoder weight decay", wd_dec, allow_zero=True),
        size=sizes,
    )
    C = task.n_classes
    out_dim = cfg.template_dim if cfg.variant == "regression" else C
    tmpl_given = (
        None if templates is None else per_run_array("templates", templates, (C, cfg.template_dim), R)
    )
    if given_masks is not None and given_masks.shape[0] not in (1, R):
        raise ValueError(f"train gives {given_masks.shape[0]} training sets for {R} runs")
    init_given = None if init is None else _given_init(init, task.n_slots, cfg, out_dim, R)
    masks, inits, tmpls, keys = _draw_runs(
        task, cfg, grid, given_masks, n_train is not None, init_given, tmpl_given
    )
    n_emb = task.n_slots * cfg.dim * (cfg.steps // cfg.stride + 1)  # the recorded embeddings
    size = run_bytes(
        {k: v[None] for k, v in inits[0].items()}, extra=n_emb + 8 * task.n_examples * cfg.hidden
    )
    recs, first = map_chunks(
        lambda sl: _run(
            task, cfg, masks[sl], inits[sl], tmpls[sl], keys[sl], {k: v[sl] for k, v in grid.items()}
        ),
        R,
        size,
    )
    first = np.where(first < 0, NEVER, first.astype(np.float64))
    return ToyRuns(
        steps=np.arange(cfg.steps // cfg.stride + 1) * cfg.stride,
        train_loss=recs[0],
        test_loss=recs[1],
        train_acc=recs[2],
        test_acc=recs[3],
        rqi=recs[4],
        predicted_test_acc=recs[5],
        embedding=recs[6],
        step_train_acc=first[:, 0],
        step_test_acc=first[:, 1],
        step_rqi=first[:, 2],
        n_train=masks.sum(axis=1),
        config=replace(cfg),
        train_mask=masks,
    )


def _draw_runs(task: Task, cfg: ToyConfig, grid: dict, given_masks, by_size: bool, init_given, tmpl_given):
    """Every run's training mask, initial parameters, templates and mini-batch key, drawn from
    its own ``SeedSequence(seed)`` in a fixed order (split, parameters, templates, key), so giving
    some of them explicitly changes nothing else."""
    C, R = task.n_classes, grid["seeds"].size
    out_dim = cfg.template_dim if cfg.variant == "regression" else C
    masks, inits, tmpls, keys = [], [], [], []
    for k in range(R):
        rng = run_rng(grid["seeds"][k])
        split_seed = int(rng.integers(2**63 - 1))
        if given_masks is not None:
            masks.append(given_masks[k if given_masks.shape[0] > 1 else 0])
        elif by_size:
            masks.append(random_split(task, size=int(grid["size"][k]), seed=split_seed).mask)
        else:
            masks.append(random_split(task, fraction=float(grid["size"][k]), seed=split_seed).mask)
        drawn = _init_params(rng, task.n_slots, cfg, out_dim)
        inits.append(drawn if init_given is None else {key: v[k] for key, v in init_given.items()})
        drawn_t = rng.standard_normal((C, cfg.template_dim)) * cfg.template_scale
        tmpls.append(drawn_t if tmpl_given is None else tmpl_given[k])
        keys.append(rng.integers(2**32, size=2, dtype=np.uint32))  # drawn last: earlier draws unchanged
    masks = np.stack(masks)
    return np.stack(masks), inits, np.stack(tmpls), np.stack(keys)


def _run(task: Task, cfg: ToyConfig, masks, inits: list, templates, keys, grid: dict):
    """Run the cached program of :func:`_runner` on every run; numpy ``(curves, first hits)``
    (first hits −1 where not reached)."""
    import jax
    import jax.numpy as jnp

    from ..effective.constraints import parallelograms  # here: the effective package loads numba

    n_tr = masks.sum(axis=1)
    bsize = n_tr if cfg.batch_size is None else np.minimum(n_tr, cfg.batch_size)
    run = _runner(
        cfg,
        task.n_classes,
        np.ascontiguousarray(task.slots, dtype=np.int64).tobytes(),
        np.ascontiguousarray(task.results, dtype=np.int64).tobytes(),
        np.ascontiguousarray(parallelograms(task), dtype=np.int64).tobytes(),
        bool(np.any(bsize < n_tr)),
    )
    dtype = jnp.float64 if cfg.float64 else jnp.float32
    with jax.enable_x64(cfg.float64):
        stack = {k: jnp.asarray(np.stack([p[k] for p in inits]), dtype=dtype) for k in inits[0]}
        hp = [jnp.asarray(grid[k], dtype=dtype) for k in ("lr_emb", "wd_emb", "lr_dec", "wd_dec")]
        recs, first = run(
            stack,
            jnp.asarray(templates, dtype=dtype),
            jnp.asarray(masks),
            jax.random.wrap_key_data(jnp.asarray(keys)),
            jnp.asarray(bsize, dtype=jnp.int32),
            *hp,
        )
        return [np.asarray(r, dtype=np.float64) for r in recs], np.asarray(first)
