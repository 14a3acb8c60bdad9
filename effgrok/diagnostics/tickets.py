"""Grokking tickets (Minegishi, Iwasawa & Matsuo, arXiv 2310.19470): does a good sparse
subnetwork, rather than a small weight norm, explain delayed generalisation?

Protocol on modular arithmetic with :func:`effgrok.nets.modular.train_modular` (default: the
paper's network, ``architecture="embed_sum"`` -- shared token embedding, per-token projection,
sum, ReLU, output projection, unembedding, no biases -- and its optimiser, AdamW with
β = (0.9, 0.98)):

1. Train the dense network from ``θ₀`` for ``steps`` steps, past generalisation, so that weight
   decay has cleaned it up by the end; keep parameter snapshots.
2. **Grokked ticket**: magnitude-prune the *final* weights -- globally over every weight
   matrix (all parameters but biases: ``E, W_in, W_out, W_U`` of the paper's network),
   removing the fraction ``pruned_fraction`` of smallest ``|w|`` (:func:`magnitude_mask`) --
   and retrain the mask from the *original* initialisation ``m ⊙ θ₀`` with the mask held fixed.
3. **Memorization ticket**: the same, with the mask taken from the snapshot at memorisation
   (:func:`memorization_index`: the first snapshot with train accuracy ≥ 0.99, i.e. before the
   network generalised).
4. **Random ticket**: a random mask of the same size (a sparsity-only control).
5. **Norm-matched dense control**: the dense network from an initialisation with the *same L1
   and L2 norms* as the ticket's ``m ⊙ θ₀`` (:func:`norm_matched_init`).

Sparsity convention.  effgrok's ``pruned_fraction`` is the fraction of weights *removed*; the
paper's (and its code's) ``sparsity`` is the fraction *kept*: the paper's default
``sparsity = 0.4`` is ``pruned_fraction = 0.6``.  :func:`ticket_sweep` runs several pruned
fractions on one dense run.

The claim: the grokked ticket generalises much sooner than the dense network *and* than the
norm-matched dense control (so the norm alone does not explain the speed-up), while masks taken
at memorisation help less.  *Time to generalise* (:func:`time_to_generalize`) is the first
recorded step at which the validation accuracy reaches a threshold (default 0.99).

Matching both norms at once.  A rescaling ``c·θ`` fixes one norm only, since it leaves the
ratio ``ρ = ‖θ‖₁/‖θ‖₂`` unchanged, and a sparse ticket has a smaller ratio than its dense parent.
effgrok therefore uses, per weight tensor, a sign-preserving power transform::

    θ̃_i = c · sign(θ_i) |θ_i|^γ,

where ``γ ≥ 0`` solves ``ρ(γ) = Σ|θ_i|^γ / (Σ|θ_i|^{2γ})^{1/2} = ρ_target`` and then
``c = ‖target‖₂ / ‖|θ|^γ‖₂``.  ``ρ(γ)`` equals ``√n`` (``n`` nonzero entries) at ``γ = 0`` and falls
monotonically to ``√m`` as ``γ → ∞`` (``m`` entries tied at the largest magnitude): ``ρ = Σ √q_i``
is Schur-concave in the distribution ``q_i = |θ_i|^{2γ}/Σ_j |θ_j|^{2γ}``, which concentrates as
``γ`` grows, so the root is unique and bisection finds it.  Both norms then match per tensor, hence globally
(``‖·‖₁`` adds over tensors, ``‖·‖₂²`` too).  The transform keeps the dense network's signs and
the order of its magnitudes; it makes the distribution heavier-tailed (``γ > 1``) -- the least
change that matches both numbers.  ``match="l2"`` / ``"l1"`` only rescale (the other norm is
reported, not matched).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from .._checks import choice, finite_array, fraction, integer, nonnegative
from .._record import Result, jsonable, step_or_none
from ..constants import NEVER, first_crossing
from ..nets.driver import AdamW, Optimizer, Schedule, as_schedule

__all__ = [
    "DEMO",
    "PRUNABLE",
    "TicketStudy",
    "grokking_tickets",
    "kept_fraction",
    "layer_norms",
    "magnitude_mask",
    "memorization_index",
    "norm_matched_init",
    "power_match",
    "random_mask",
    "ticket_sweep",
    "time_to_generalize",
    "weight_keys",
]

#: Parameters of the one-hot MLP that are pruned (the weight matrices; biases stay dense).
PRUNABLE = ("W1", "W2")
VARIANTS = ("dense", "ticket", "memorization_ticket", "norm_matched_dense", "random_ticket")


def weight_keys(params) -> tuple:
    """The weight matrices of a parameter dict: every name but the biases (``b…``), in order.

    ``("W1", "W2")`` for the one-hot MLP, ``("E", "W_in", "W_out", "W_U")`` for the paper's
    embedding-sum network (its code prunes all four).

    Examples
    --------
    >>> weight_keys({"W1": 0, "b1": 0, "W2": 0, "b2": 0})
    ('W1', 'W2')
    """
    return tuple(k for k in params if not k.startswith("b"))


def kept_fraction(pruned_fraction: float) -> float:
    """The paper's ``sparsity`` (fraction of weights *kept*) for effgrok's ``pruned_fraction``.

    >>> kept_fraction(0.6)   # the paper's default sparsity 0.4
    0.4
    """
    return round(1.0 - _pruned(pruned_fraction), 12)


_MATCHES = ("l1l2", "l1", "l2")


def _pruned(pruned_fraction) -> float:
    return fraction("pruned_fraction", pruned_fraction, closed="left")


def _keys(params: dict, keys) -> tuple:
    if not isinstance(params, dict) or not params:
        raise ValueError("params must be a non-empty dict of arrays")
    keys = tuple(keys)
    missing = [k for k in keys if k not in params]
    if not keys or missing:
        raise ValueError(f"keys {missing or keys!r} are not among the parameters {sorted(params)}")
    return keys


def magnitude_mask(params: dict, pruned_fraction: float, *, keys=None, run_axis: bool = False) -> dict:
    """Global magnitude pruning: 0 for the ``⌊pruned_fraction·n⌉`` smallest ``|θ|`` over ``keys``, else 1.

    All entries of the tensors named in ``keys`` compete in one ranking (global scope); the
    other parameters get an all-ones mask (``keys`` default: :func:`weight_keys`, every weight
    matrix).  Exactly ``k = round(pruned_fraction · n)`` entries are
    pruned: ties in ``|θ|`` are broken by position (the tensors in ``keys`` order, each
    flattened in C order, earlier entries pruned first), so the mask is deterministic.  With
    ``run_axis`` the leading axis indexes runs and each run is pruned on its own.

    Examples
    --------
    >>> p = {"W1": np.array([[0.5, -0.1], [0.2, 0.0]]), "W2": np.array([[-0.3], [0.1]]), "b": np.ones(1)}
    >>> m = magnitude_mask(p, 0.5)
    >>> m["W1"].tolist(), m["W2"].tolist(), m["b"].tolist()
    ([[1.0, 0.0], [1.0, 0.0]], [[1.0], [0.0]], [1.0])
    """
    s = _pruned(pruned_fraction)
    keys = _keys(params, weight_keys(params) if keys is None else keys)
    arrs = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    if run_axis:
        R = {arrs[k].shape[0] if arrs[k].ndim else -1 for k in arrs}
        if len(R) != 1 or -1 in R:
            raise ValueError("with run_axis=True every parameter needs the same leading run axis")
        runs = [magnitude_mask({k: v[r] for k, v in arrs.items()}, s, keys=keys) for r in range(R.pop())]
        return {k: np.stack([m[k] for m in runs]) for k in arrs}
    flat = np.concatenate([np.abs(arrs[k]).ravel() for k in keys])
    finite_array("params", flat)
    n_prune = round(s * flat.size)
    keep = np.ones(flat.size)
    keep[np.argsort(flat, kind="stable")[:n_prune]] = 0.0
    out, start = {}, 0
    for k in keys:
        size = arrs[k].size
        out[k] = keep[start : start + size].reshape(arrs[k].shape)
        start += size
    return {k: out.get(k, np.ones(arrs[k].shape)) for k in arrs}


def random_mask(params: dict, pruned_fraction: float, *, seed: int = 0, keys=None) -> dict:
    """A uniformly random mask pruning exactly ``round(pruned_fraction·n)`` entries of ``keys``
    (global; default :func:`weight_keys`).

    Examples
    --------
    >>> m = random_mask({"W1": np.ones((4, 5)), "W2": np.ones((5, 2))}, 0.3, seed=1)
    >>> int(sum(m[k].size - m[k].sum() for k in m))     # round(0.3 · 30)
    9
    """
    s = _pruned(pruned_fraction)
    keys = _keys(params, weight_keys(params) if keys is None else keys)
    integer("seed", seed, lo=0)
    shapes = {k: np.shape(v) for k, v in params.items()}
    n = sum(math.prod(shapes[k]) for k in keys)
    keep = np.ones(n)
    keep[np.random.default_rng(np.random.SeedSequence(int(seed))).permutation(n)[: round(s * n)]] = 0.0
    out, start = {}, 0
    for k in keys:
        size = math.prod(shapes[k])
        out[k] = keep[start : start + size].reshape(shapes[k])
        start += size
    return {k: out.get(k, np.ones(shapes[k])) for k in shapes}


def layer_norms(params: dict, keys=None) -> dict:
    """L1 and L2 norms per tensor and over all of them: ``{"W1": (l1, l2), …, "total": (l1, l2)}``.

    Examples
    --------
    >>> layer_norms({"a": np.array([3.0, -4.0]), "b": np.zeros(2)})["total"]
    (7.0, 5.0)
    """
    keys = tuple(params) if keys is None else _keys(params, keys)
    out, l1, l2sq = {}, 0.0, 0.0
    for k in keys:
        a = np.asarray(params[k], dtype=np.float64)
        n1, n2 = float(np.abs(a).sum()), float(np.sqrt(np.sum(a * a)))
        out[k] = (n1, n2)
        l1, l2sq = l1 + n1, l2sq + n2 * n2
    out["total"] = (l1, math.sqrt(l2sq))
    return out


def _ratio(logmag: np.ndarray, gamma: float) -> float:
    """``Σ|θ|^γ / (Σ|θ|^{2γ})^{1/2}`` from ``log|θ|`` (nonzero entries), overflow-free."""
    t = gamma * (logmag - logmag.max())
    return float(np.exp(t).sum() / np.sqrt(np.exp(2 * t).sum()))


def power_match(x, l1: float, l2: float, *, tol: float = 1e-12) -> tuple[np.ndarray, float, float]:
    """``(x̃, γ, c)`` with ``x̃ = c·sign(x)|x|^γ``, ``‖x̃‖₁ = l1`` and ``‖x̃‖₂ = l2``.

    Solvable iff ``1 ≤ l1/l2 ≤ √n₀`` (``n₀``: nonzero entries of ``x``; by Cauchy–Schwarz no
    vector with ``n₀`` nonzeros has a larger ratio) and, at the lower end, the maximum of
    ``|x|`` unique-enough: the ratio ``ρ(γ)`` decreases from ``√n₀`` (``γ = 0``) to
    ``√(#argmax |x|)``; ``γ`` is found by bisection on ``ρ`` to relative accuracy ``tol``.

    Examples
    --------
    >>> x = np.array([1.0, -2.0, 3.0, 0.5])
    >>> y, gamma, c = power_match(x, l1=4.0, l2=3.0)
    >>> round(float(np.abs(y).sum()), 9), round(float(np.linalg.norm(y)), 9), bool(gamma > 1)
    (4.0, 3.0, True)
    """
    a = np.asarray(x, dtype=np.float64)
    finite_array("x", a)
    nonnegative("l1", l1)
    nonnegative("l2", l2)
    if l1 == 0 and l2 == 0:
        return np.zeros_like(a), 1.0, 0.0
    nz = a != 0
    n0 = int(nz.sum())
    target = l1 / l2 if l2 > 0 else math.inf
    if n0 == 0 or not (1.0 - 1e-12 <= target <= math.sqrt(n0) * (1 + 1e-12)):
        raise ValueError(
            f"cannot match l1={l1!r} and l2={l2!r}: need 1 <= l1/l2 <= sqrt({n0}) (the nonzero entries of x)"
        )
    logmag = np.log(np.abs(a[nz]))
    lo, hi = 0.0, 1.0
    while _ratio(logmag, hi) > target:
        hi *= 2.0
        if hi > 1e6:
            raise ValueError(
                f"cannot match l1/l2 = {target!r}: the largest entries of x are tied, ratio "
                f"cannot fall below {_ratio(logmag, hi):.6g}"
            )
    while hi - lo > tol * max(hi, 1.0):
        mid = 0.5 * (lo + hi)
        if _ratio(logmag, mid) > target:
            lo = mid
        else:
            hi = mid
    gamma = 0.5 * (lo + hi)
    mag = np.zeros_like(a)
    mag[nz] = np.exp(gamma * (logmag - logmag.max()))  # |x|^γ up to a constant, absorbed in c
    c = l2 / float(np.sqrt(np.sum(mag * mag)))
    return np.sign(a) * mag * c, gamma, c * math.exp(-gamma * float(logmag.max()))


def norm_matched_init(dense: dict, ticket: dict, *, match: str = "l1l2", keys=None) -> dict:
    """A dense initialisation whose norms equal the ticket's (per tensor in ``keys``).

    ``match="l1l2"``: :func:`power_match` per tensor (both L1 and L2 equal, per tensor and in
    total); ``"l2"``/``"l1"``: ``θ̃ = (‖ticket‖/‖dense‖)·θ`` per tensor for that norm only.
    Tensors not in ``keys`` (default :func:`weight_keys`) are copied from ``dense``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> dense = {"W1": rng.uniform(-1, 1, (20, 8)), "W2": rng.uniform(-1, 1, (8, 3))}
    >>> ticket = {k: v * magnitude_mask(dense, 0.6)[k] for k, v in dense.items()}
    >>> ctrl = norm_matched_init(dense, ticket)
    >>> np.allclose(layer_norms(ctrl)["total"], layer_norms(ticket)["total"], rtol=1e-9)
    True
    """
    choice("match", match, _MATCHES)
    keys = _keys(dense, weight_keys(dense) if keys is None else keys)
    _keys(ticket, keys)
    out = {k: np.array(v, dtype=np.float64) for k, v in dense.items()}
    for k in keys:
        d, t = out[k], np.asarray(ticket[k], dtype=np.float64)
        if d.shape != t.shape:
            raise ValueError(f"dense[{k!r}] has shape {d.shape} but ticket[{k!r}] has {t.shape}")
        t1, t2 = float(np.abs(t).sum()), float(np.sqrt(np.sum(t * t)))
        if match == "l1l2":
            out[k] = power_match(d, t1, t2)[0]
        else:
            num, den = (t2, np.sqrt(np.sum(d * d))) if match == "l2" else (t1, np.abs(d).sum())
            out[k] = d * (num / den if den > 0 else 0.0)
    return out


def time_to_generalize(steps, test_acc, threshold: float = 0.99) -> np.ndarray:
    """First recorded step with test accuracy ``≥ threshold``; ``NaN``
    (:data:`effgrok.constants.NEVER`) if never.

    ``test_acc`` is ``[..., record]`` at ``steps``.  (:attr:`ModularRuns.step_test_99` is the same
    quantity at ``threshold = 0.99``.)

    Examples
    --------
    >>> time_to_generalize([0, 100, 200], [[0.1, 0.995, 1.0], [0.1, 0.5, 0.9]])
    array([100.,  nan])
    """
    fraction("threshold", threshold)
    return first_crossing(test_acc, steps, threshold)


def memorization_index(train_acc, test_acc, *, train_level: float = 0.99, test_below: float = 0.5) -> int:
    """Index of the first snapshot with train accuracy ``≥ train_level`` (memorised).

    Returns −1 if no snapshot memorised, or if the test accuracy there is already
    ``≥ test_below`` (the network generalised as it fitted, so there is no memorisation phase).

    Examples
    --------
    >>> memorization_index([0.1, 0.995, 1.0], [0.05, 0.1, 1.0])
    1
    >>> memorization_index([0.1, 1.0], [0.1, 0.9])
    -1
    """
    tr, te = np.asarray(train_acc, float), np.asarray(test_acc, float)
    if tr.shape != te.shape or tr.ndim != 1:
        raise ValueError(f"train_acc and test_acc must be 1-D of one length, got {tr.shape} and {te.shape}")
    hit = np.flatnonzero(tr >= train_level)
    if hit.size == 0 or te[hit[0]] >= test_below:
        return -1
    return int(hit[0])


@dataclass(frozen=True)
class TicketStudy(Result):
    """Result of :func:`grokking_tickets` for one pruned fraction (leading axis of the arrays: seed).

    ``t_gen`` maps each variant (``dense``, ``ticket``, ``random_ticket``, and -- for the first
    fraction of a sweep -- ``memorization_ticket`` and ``norm_matched_dense``) to its time to
    generalise per seed (``NaN``, :data:`effgrok.constants.NEVER`: not within budget); ``curves``
    to its validation accuracy
    ``[seed, record]`` at ``steps``.  ``norms`` holds the initial ``(L1, L2)`` of the weight
    matrices per variant and seed; ``memorization_step`` the step of the memorisation snapshot
    (``NaN``: none; the memorisation ticket then reuses the final mask).  The grokked mask is taken
    at ``mask_step`` (the end of the dense run); ``dense_weight_norm`` is the dense run's
    ``‖θ‖`` at ``steps`` (its clean-up by weight decay).
    """

    steps: np.ndarray
    seeds: np.ndarray
    pruned_fraction: float
    threshold: float
    t_gen: dict
    curves: dict
    train_curves: dict
    norms: dict
    memorization_step: np.ndarray
    dense_generalized: np.ndarray
    mask_step: int = 0
    dense_weight_norm: np.ndarray = None
    settings: dict = field(default_factory=dict)

    @property
    def kept_fraction(self) -> float:
        """The paper's ``sparsity``: the fraction of weights kept."""
        return kept_fraction(self.pruned_fraction)

    def rows(self) -> list[dict]:
        """One row per (variant, seed): time to generalise, initial L1/L2 norm, final accuracy."""
        return [
            {
                "variant": v,
                "seed": int(s),
                "t_gen": step_or_none(self.t_gen[v][j]),
                "init_l1": float(self.norms[v][j, 0]),
                "init_l2": float(self.norms[v][j, 1]),
                "final_test_acc": float(self.curves[v][j, -1]),
            }
            for v in self.t_gen
            for j, s in enumerate(self.seeds)
        ]

    def record(self) -> dict:
        """JSON-ready: the fractions, threshold, mask and memorisation steps, the ``settings``
        and :meth:`rows` (the curves are left out)."""
        rec = {
            "pruned_fraction": self.pruned_fraction,
            "kept_fraction": self.kept_fraction,
            "threshold": self.threshold,
            "mask_step": self.mask_step,
            "memorization_step": [step_or_none(v) for v in self.memorization_step],
            "dense_generalized": self.dense_generalized,
            "settings": self.settings,
        }
        return jsonable(rec | {"rows": self.rows()})

    def tables(self) -> dict[str, list[dict]]:
        """``tickets``: :meth:`rows`."""
        return {"tickets": jsonable(self.rows())}

    def speedup(self, variant: str, over: str = "dense") -> np.ndarray:
        """``t_gen[over] / t_gen[variant]`` per seed (NaN where either did not generalise)."""
        a = np.asarray(self.t_gen[over], float)
        b = np.asarray(self.t_gen[variant], float)
        ok = (a >= 0) & (b > 0)
        return np.where(ok, a / np.where(ok, b, 1), np.nan)


def grokking_tickets(task, *, pruned_fraction: float = 0.6, **options) -> TicketStudy:
    """Run the grokking-ticket protocol (module docstring) on ``task`` for every seed, at one
    pruned fraction: :func:`ticket_sweep` with ``pruned_fractions=[pruned_fraction]``.

    Examples
    --------
    >>> import effgrok as eg
    >>> from effgrok.nets import Schedule
    >>> st = grokking_tickets(eg.make_task("add-mod", 7), train_fraction=0.6, hidden=8, embed_dim=8,
    ...                       schedule=Schedule(40, 20))
    >>> sorted(st.t_gen), st.curves["ticket"].shape, st.kept_fraction
    (['dense', 'memorization_ticket', 'norm_matched_dense', 'random_ticket', 'ticket'], (1, 3), 0.4)
    """
    return ticket_sweep(task, pruned_fractions=[pruned_fraction], **options)[0]


def ticket_sweep(
    task,
    *,
    pruned_fractions=(0.6,),
    seeds=(0,),
    train_fraction: float = 0.4,
    architecture: str = "embed_sum",
    hidden: int = 48,
    embed_dim: int = 500,
    learning_rate: float = 1e-3,
    weight_decay: float = 1.0,
    optimizer: Optimizer = AdamW(beta2=0.98),
    schedule: Schedule = Schedule(10_000, 100),
    threshold: float = 0.99,
    match: str = "l1l2",
    float64: bool = False,
    **train_options,
) -> list[TicketStudy]:
    """The grokking-ticket protocol at several pruned fractions on one dense run per seed.

    Two vmapped training calls: the dense runs (one per seed, with snapshots every
    ``schedule.snapshot_stride`` steps, default ``schedule.stride``), then every retrained
    variant of every seed and fraction together (same split, same original initialisation
    ``θ₀``, same optimiser and budget ``schedule.steps``, no snapshots): the grokked ticket and a
    random ticket at each fraction, and at the *first* fraction also the memorisation ticket
    and the norm-matched dense control.

    Defaults are the paper's (Minegishi et al., arXiv 2310.19470: the embedding-sum MLP with
    embedding width 500 and projection width 48, AdamW with learning rate 1e-3, β₂ = 0.98 and
    weight decay 1, 40 % of the unordered pairs, sparsity 0.4 = ``pruned_fraction`` 0.6);
    ``train_options`` go to :func:`effgrok.nets.modular.train_modular` (e.g. ``loss``,
    ``activation``; ``bias`` for the one-hot MLP).

    Parameters
    ----------
    optimizer : Optimizer
        Of both training calls, passed to :func:`~effgrok.nets.modular.train_modular`;
        ``settings`` records its ``beta2`` and, where they differ from the default's, its name,
        ``beta1`` and ``eps`` (:func:`~effgrok.nets.modular.optimizer_record`).
    schedule : Schedule
        ``Schedule(steps, stride, snapshot_stride)`` of the dense runs (``snapshot_stride``
        ``None``: ``stride``); the retrained runs take it without snapshots.  ``batch_size``
        passes on to both calls; ``loss_every_step`` and ``first_steps`` are refused.

    Returns
    -------
    list of TicketStudy
        One per pruned fraction, in the order given; the dense entries are shared.
    """
    from ..nets.modular import param_names, train_modular

    fracs = [_pruned(f) for f in np.atleast_1d(np.asarray(pruned_fractions, dtype=object)).tolist()]
    if not fracs:
        raise ValueError("pruned_fractions must hold at least one fraction")
    fraction("threshold", threshold)
    choice("match", match, _MATCHES)
    sd = np.atleast_1d(np.asarray(seeds)).ravel()
    if sd.size == 0 or not np.issubdtype(sd.dtype, np.integer) or np.any(sd < 0):
        raise ValueError(f"seeds must be non-negative integers, got {seeds!r}")
    schedule = as_schedule(schedule, fields=("snapshot_stride", "batch_size"))
    snap = schedule.snapshot_stride or schedule.stride
    net = dict(train_fraction=train_fraction, architecture=architecture, hidden=hidden)
    net.update(learning_rate=learning_rate, weight_decay=weight_decay)
    rest = dict(float64=float64, **train_options)
    if architecture == "embed_sum":
        rest["embed_dim"] = embed_dim
    common, names = {**net, "optimizer": optimizer, **rest}, param_names(architecture)
    dense = train_modular(task, seeds=sd, schedule=replace(schedule, snapshot_stride=snap), **common)
    jobs, mem_steps, norms = _retrain_jobs(dense, sd, fracs, names, schedule.stride, match)
    stack = {k: np.stack([job[3][k] for job in jobs]) for k in names}
    mstack = {k: np.stack([job[4][k] for job in jobs]) for k in names}
    common.update(schedule=replace(schedule, snapshot_stride=None), init_params=stack, weight_mask=mstack)
    runs = train_modular(task, seeds=np.array([sd[job[2]] for job in jobs]), **common)
    settings = {**net, **_optimizer_settings(optimizer), "steps": schedule.steps, "stride": schedule.stride}
    settings.update(rest, task=task.name, p=task.p, pairs=dense.pairs, encoding=dense.encoding, match=match)
    settings.update(snapshot_stride=snap, pruned_fractions=fracs)
    return [
        _study(dense, runs, jobs, j, s, sd, threshold, norms[j], mem_steps, schedule.steps, settings)
        for j, s in enumerate(fracs)
    ]


def _optimizer_settings(optimizer) -> dict:
    """The ``settings`` of :func:`ticket_sweep`'s ``optimizer``: the ``beta2`` of its record
    (:func:`~effgrok.nets.modular.optimizer_record`), and the record's other entries where they
    differ from those of the default optimiser (so the paper's AdamW adds ``beta2`` alone)."""
    from ..nets.modular import optimizer_record

    rec, default = optimizer_record(optimizer), optimizer_record(ticket_sweep.__kwdefaults__["optimizer"])
    return {k: v for k, v in rec.items() if k == "beta2" or v != default[k]}


def _retrain_jobs(dense, sd, fracs, names, stride: int, match: str):
    """The retrained variants of every seed and fraction as ``(fraction index, variant, seed
    index, init, mask)``, the memorisation step of every dense run and the initial norms."""
    snap_idx = dense.snapshot_steps // stride  # record index of every snapshot
    jobs = []  # (fraction index, variant, seed index, init, mask)
    mem_steps = []
    norms = [{v: np.zeros((sd.size, 2)) for v in VARIANTS} for _ in fracs]
    for r in range(sd.size):
        theta0 = {k: dense.snapshots[k][r, 0].astype(np.float64) for k in names}
        final = {k: dense.params[k][r].astype(np.float64) for k in names}
        keys = weight_keys(theta0)
        i_mem = memorization_index(dense.train_acc[r, snap_idx], dense.test_acc[r, snap_idx])
        mem_steps.append(float(dense.snapshot_steps[i_mem]) if i_mem >= 0 else NEVER)
        at_mem = {k: dense.snapshots[k][r, i_mem if i_mem >= 0 else -1] for k in names}
        ones = {k: np.ones_like(theta0[k]) for k in names}
        for j, s in enumerate(fracs):
            m_gen = magnitude_mask(final, s)
            variant_inits = {
                "ticket": (theta0, m_gen),
                "random_ticket": (theta0, random_mask(theta0, s, seed=int(sd[r]))),
            }
            if j == 0:
                ticket0 = {k: theta0[k] * m_gen[k] for k in names}
                variant_inits["memorization_ticket"] = (theta0, magnitude_mask(at_mem, s))
                variant_inits["norm_matched_dense"] = (norm_matched_init(theta0, ticket0, match=match), ones)
            norms[j]["dense"][r] = layer_norms(theta0, keys)["total"]
            for v, (init, mask) in variant_inits.items():
                jobs.append((j, v, r, init, mask))
                norms[j][v][r] = layer_norms({k: init[k] * mask[k] for k in keys})["total"]
    return jobs, mem_steps, norms


def _study(dense, runs, jobs, j, s, sd, threshold, norms, mem_steps, steps, settings) -> TicketStudy:
    """The :class:`TicketStudy` of the ``j``-th pruned fraction ``s``."""
    every = np.arange(sd.size)
    t_dense = time_to_generalize(dense.steps, dense.test_acc, threshold)
    t_gen, curves, train_curves = {"dense": t_dense}, {"dense": dense.test_acc}, {"dense": dense.train_acc}
    for v in VARIANTS[1:]:
        idx = [n for n, job in enumerate(jobs) if job[0] == j and job[1] == v]
        if not idx:
            continue
        order = np.asarray(idx)[np.argsort([jobs[n][2] for n in idx])]
        t_gen[v] = time_to_generalize(runs.steps, runs.test_acc[order], threshold)
        curves[v] = runs.test_acc[order]
        train_curves[v] = runs.train_acc[order]
    return TicketStudy(
        steps=dense.steps,
        seeds=sd,
        pruned_fraction=s,
        threshold=float(threshold),
        t_gen={k: np.asarray(v, dtype=np.float64) for k, v in t_gen.items()},
        curves=curves,
        train_curves=train_curves,
        norms={v: n for v, n in norms.items() if v in t_gen},
        memorization_step=np.asarray(mem_steps),
        dense_generalized=dense.test_acc[every, -1] >= threshold,
        mask_step=int(steps),
        dense_weight_norm=np.asarray(dense.weight_norm),
        settings=dict(settings),
    )


#: The quick protocol of ``effgrok tickets``: where it departs from :func:`ticket_sweep`'s
#: defaults (the paper's: p = 67, embedding width 500, learning rate 1e-3, 10 000 steps), so
#: that the command groks in about a minute on two CPU cores -- a smaller modulus and embedding,
#: a ten times larger learning rate and 6000 steps.  The other settings are the paper's.
DEMO = {"p": 47, "embed_dim": 128, "learning_rate": 1e-2, "steps": 6000}
