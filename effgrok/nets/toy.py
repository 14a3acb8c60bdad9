"""The toy model of Liu et al. (2022), trained with JAX and optax, vmapped over runs.

Model: embeddings ``E ∈ R^{n×d}`` (``U(−½, ½)``), an example ``(a, b)`` is ``E_a + E_b``
(separate left/right tables for non-commutative tasks), decoded by a tanh MLP (2 × 200,
PyTorch-style ``U(±1/√fan_in)`` initialisation).

* ``regression`` (reference default): MSE onto one fixed ``N(0, 1)`` template per result
  class (30-dim); the prediction is the nearest template.
* ``classification``: one logit per class, cross-entropy, argmax.

Optimisers: AdamW on the embeddings and a separate AdamW on the decoder (reference: lr
1e-3 / 1e-4, weight decay 0 / 0), full batch.  Hyperparameters are traced
(``optax.inject_hyperparams``), so a grid of learning rates, weight decays and training sets
trains as one ``jax.vmap`` over runs; steps run inside ``jax.lax.scan``.

Every quantity at step ``t`` (accuracy, loss, RQI, Acc-hat) is measured on the parameters
``θ_t`` *before* the update of step ``t`` -- the same forward pass that gives the gradient --
so "first step with train accuracy ≥ 0.9" and "first step with RQI > 0.95" refer to the very
same parameters (steps are 0-based; a run that never gets there reports −1 here, ``None`` in
JSON).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, replace

import numpy as np

from ..effective.constraints import parallelograms
from ..tasks import Task, random_split

__all__ = ["ToyConfig", "ToyRuns", "train_toy"]

VARIANTS = ("regression", "classification")
THRESHOLD_ACC = 0.9
THRESHOLD_RQI = 0.95


@dataclass(frozen=True)
class ToyConfig:
    """Settings shared by all runs of a batch (per-run values are given to :func:`train_toy`)."""

    dim: int = 1
    hidden: int = 200
    depth: int = 2
    variant: str = "regression"
    template_dim: int = 30
    steps: int = 5000
    stride: int = 50
    delta: float = 0.1
    float64: bool = False

    def __post_init__(self):
        for name, lo in (
            ("dim", 1),
            ("hidden", 1),
            ("depth", 1),
            ("template_dim", 1),
            ("steps", 1),
            ("stride", 1),
        ):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
                raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {', '.join(VARIANTS)}; got {self.variant!r}")
        if self.steps % self.stride:
            raise ValueError(f"stride must divide steps; got stride {self.stride} for {self.steps} steps")
        if not (self.delta > 0 and math.isfinite(self.delta)):
            raise ValueError(f"delta must be a positive number, got {self.delta!r}")


@dataclass(frozen=True)
class ToyRuns:
    """Results of a batch of runs (leading axis: run).

    ``step_*`` are the first steps reaching train accuracy ≥ 0.9, test accuracy ≥ 0.9 and
    RQI > 0.95 (−1: never within the budget).  Curves are recorded at ``steps``.
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

    @property
    def final_train_acc(self) -> np.ndarray:
        return self.train_acc[:, -1]

    @property
    def final_test_acc(self) -> np.ndarray:
        return self.test_acc[:, -1]

    @property
    def final_rqi(self) -> np.ndarray:
        return self.rqi[:, -1]

    def as_dict(self) -> dict:
        return {k: (v if k != "config" else asdict(v)) for k, v in self.__dict__.items()}


def _check_positive(name, values, allow_zero=False) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(values, dtype=np.float64))
    ok = np.isfinite(arr) & ((arr >= 0) if allow_zero else (arr > 0))
    if not np.all(ok):
        bad = arr[~ok][0]
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'} and finite, got {bad}")
    return arr


def _init_params(rng: np.random.Generator, n_slots: int, cfg: ToyConfig, out_dim: int) -> dict:
    params = {"emb": rng.uniform(-0.5, 0.5, (n_slots, cfg.dim))}
    sizes = [cfg.dim] + [cfg.hidden] * cfg.depth + [out_dim]
    for i, (fi, fo) in enumerate(itertools.pairwise(sizes)):
        bound = 1.0 / math.sqrt(fi)
        params[f"W{i}"] = rng.uniform(-bound, bound, (fi, fo))
        params[f"b{i}"] = rng.uniform(-bound, bound, fo)
    return params


def _decode(params, h, depth):
    import jax.numpy as jnp

    for i in range(depth):
        h = jnp.tanh(h @ params[f"W{i}"] + params[f"b{i}"])
    return h @ params[f"W{depth}"] + params[f"b{depth}"]


def train_toy(
    task: Task,
    config: ToyConfig | None = None,
    *,
    seeds=(0,),
    n_train=None,
    train_fraction=None,
    lr_emb=1e-3,
    wd_emb=0.0,
    lr_dec=1e-4,
    wd_dec=0.0,
) -> ToyRuns:
    """Train a batch of toy-model runs in one vmapped, scanned computation.

    Every per-run argument (``seeds``, ``n_train`` or ``train_fraction``, ``lr_emb``,
    ``wd_emb``, ``lr_dec``, ``wd_dec``) is a scalar or a sequence; they broadcast to the
    number of runs.  Run ``k`` draws its training split, initial parameters and templates
    from ``SeedSequence(seed_k)``, so it is the same run whatever batch it is part of.

    Examples
    --------
    >>> import effgrok as eg
    >>> runs = train_toy(eg.make_task("add", 6), ToyConfig(steps=20, stride=10), seeds=[0, 1], n_train=15)
    >>> runs.train_acc.shape
    (2, 3)
    """
    import jax
    import jax.numpy as jnp
    import optax

    cfg = ToyConfig() if config is None else config
    if (n_train is None) == (train_fraction is None):
        raise ValueError("give exactly one of n_train and train_fraction")
    seeds = np.atleast_1d(np.asarray(seeds))
    if seeds.size == 0 or not np.issubdtype(seeds.dtype, np.integer) or np.any(seeds < 0):
        raise ValueError(f"seeds must be non-negative integers, got {seeds.tolist()}")
    lr_emb = _check_positive("embedding learning rate", lr_emb)
    lr_dec = _check_positive("decoder learning rate", lr_dec)
    wd_emb = _check_positive("embedding weight decay", wd_emb, allow_zero=True)
    wd_dec = _check_positive("decoder weight decay", wd_dec, allow_zero=True)
    sizes = (
        np.atleast_1d(np.asarray(n_train))
        if n_train is not None
        else np.atleast_1d(np.asarray(train_fraction, dtype=float))
    )
    try:
        shapes = np.broadcast_shapes(
            seeds.shape, lr_emb.shape, lr_dec.shape, wd_emb.shape, wd_dec.shape, sizes.shape
        )
    except ValueError:
        raise ValueError("per-run arguments must be scalars or sequences of one common length") from None
    R = int(np.prod(shapes))
    seeds, lr_emb, lr_dec, wd_emb, wd_dec, sizes = (
        np.broadcast_to(v, shapes).reshape(R) for v in (seeds, lr_emb, lr_dec, wd_emb, wd_dec, sizes)
    )
    C = task.n_classes
    out_dim = cfg.template_dim if cfg.variant == "regression" else C
    masks, inits, templates = [], [], []
    for k in range(R):
        rng = np.random.default_rng(np.random.SeedSequence(int(seeds[k])))
        split_seed = int(rng.integers(2**63 - 1))
        if n_train is not None:
            split = random_split(task, size=int(sizes[k]), seed=split_seed)
        else:
            split = random_split(task, fraction=float(sizes[k]), seed=split_seed)
        masks.append(split.mask)
        inits.append(_init_params(rng, task.n_slots, cfg, out_dim))
        templates.append(rng.standard_normal((C, cfg.template_dim)))
    dtype = jnp.float64 if cfg.float64 else jnp.float32
    pars = parallelograms(task)
    slots = task.slots
    results = task.results
    delta2 = cfg.delta**2

    with jax.enable_x64(cfg.float64):
        stack = {k: jnp.asarray(np.stack([p[k] for p in inits]), dtype=dtype) for k in inits[0]}
        masks_j = jnp.asarray(np.stack(masks))
        tmpl = jnp.asarray(np.stack(templates), dtype=dtype)
        res_j = jnp.asarray(results)
        s0, s1 = jnp.asarray(slots[:, 0]), jnp.asarray(slots[:, 1])
        px, py = jnp.asarray(pars[:, 0]), jnp.asarray(pars[:, 1])
        onehot = jax.nn.one_hot(res_j, C, dtype=dtype)

        def make_opt(lr_e, wd_e, lr_d, wd_d):
            emb_opt = optax.inject_hyperparams(optax.adamw)(learning_rate=lr_e, weight_decay=wd_e)
            dec_opt = optax.inject_hyperparams(optax.adamw)(learning_rate=lr_d, weight_decay=wd_d)
            labels = {k: ("emb" if k == "emb" else "dec") for k in inits[0]}
            return optax.multi_transform({"emb": emb_opt, "dec": dec_opt}, labels)

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

        def metrics(params, tm, mask):
            per_ex, correct = forward(params, tm)
            mf = mask.astype(dtype)
            n_tr = jnp.maximum(mf.sum(), 1.0)
            n_te = jnp.maximum((1 - mf).sum(), 1.0)
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
            return train_loss, (train_loss, test_loss, train_acc, test_acc, rqi, acc_hat)

        grad_fn = jax.value_and_grad(metrics, has_aux=True)
        n_records = cfg.steps // cfg.stride

        def one_run(params, tm, mask, lr_e, wd_e, lr_d, wd_d):
            opt = make_opt(lr_e, wd_e, lr_d, wd_d)
            state = opt.init(params)
            first = jnp.full(3, -1, dtype=jnp.int32)

            def step(carry, t):
                params, state, first = carry
                (_, m), g = grad_fn(params, tm, mask)
                hits = jnp.array([m[2] >= THRESHOLD_ACC, m[3] >= THRESHOLD_ACC, m[4] > THRESHOLD_RQI])
                first = jnp.where((first < 0) & hits, t, first)
                upd, state = opt.update(g, state, params)
                return (optax.apply_updates(params, upd), state, first), None

            def record(carry, r):
                params = carry[0]
                _, m = metrics(params, tm, mask)
                out = (*m, params["emb"])
                carry, _ = jax.lax.scan(step, carry, r * cfg.stride + jnp.arange(cfg.stride, dtype=jnp.int32))
                return carry, out

            carry, recs = jax.lax.scan(record, (params, state, first), jnp.arange(n_records, dtype=jnp.int32))
            params, state, first = carry
            _, last = metrics(params, tm, mask)
            # the final parameters count too (step = steps)
            hits = jnp.array([last[2] >= THRESHOLD_ACC, last[3] >= THRESHOLD_ACC, last[4] > THRESHOLD_RQI])
            first = jnp.where((first < 0) & hits, cfg.steps, first)
            recs = tuple(
                jnp.concatenate([a, b[None]]) for a, b in zip(recs, (*last, params["emb"]), strict=True)
            )
            return recs, first

        run = jax.jit(jax.vmap(one_run))
        hp = [jnp.asarray(v, dtype=dtype) for v in (lr_emb, wd_emb, lr_dec, wd_dec)]
        recs, first = run(stack, tmpl, masks_j, *hp)
        recs = [np.asarray(r, dtype=np.float64) for r in recs]
        first = np.asarray(first)
    return ToyRuns(
        steps=np.arange(n_records + 1) * cfg.stride,
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
        n_train=np.array([m.sum() for m in masks]),
        config=replace(cfg),
    )
