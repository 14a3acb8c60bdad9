r"""A learning-time law for the toy model: steps to RQI > 0.95 from the two learning rates.

The effective theory's ``n_h = 1/(η λ3)`` assumes gradient descent on the embeddings alone and
misses the toy network's clock (issue 27: steps hardly move with ``λ3`` and scale as
``η_emb^{−½} η_dec^{−½}`` under Adam).  This module's law comes from a two-variable model of a
bilinear encoder--decoder (derived symbolically in ``theory/learning_time.py``):

* ``x`` -- the embedding's structured displacement in units of its initial spread
  ``σ_e = s_e/√12`` (``U(−½, ½)·s_e`` start); ``y`` -- the decoder's aligned change in units of
  its hidden weights' scale ``σ_d = s_d/√W`` (``U(±1/√fan_in)·s_d`` start, width ``W``);
* the structured output is bilinear, ``∝ x·y``; the representation is learned when ``x·y = c``;
* Adam takes normalised steps: every coordinate moves ``≈ η`` per step whatever the gradient's
  size, so ``ẋ = η_e/σ_e`` and ``ẏ = η_d/σ_d`` (from ``x, y ≈ 0``);
* plain gradient descent on the embeddings moves them in proportion to the gradient, which the
  bilinear coupling makes proportional to the decoder's progress: ``ẋ = g η_e y/σ_e``.

Hence, with ``τ_e = σ_e/η_e`` and ``τ_d = σ_d/η_d``,

    Adam on both:              t̂ = √(c τ_e τ_d)                     (∝ η_e^{−½} η_d^{−½}),
    gradient descent on E:     t̂ = (2 c σ_e τ_d² / (g η_e))^{1/3}   (∝ η_e^{−⅓} η_d^{−⅔}).

**Race with memorisation.**  The decoder alone fits the ``n`` training examples (memorises them,
after which the training gradient that organises the embedding is gone) when its own progress
reaches ``y = μ n`` (each example to fit asks the same decoder progress), at ``t_m = μ n τ_d``.
A run whose structured route has not crossed by then is never learned.  Across runs the two
times are independent and log-normal, ``ln t ~ N(ln t̂, s²)``, ``ln t_mem ~ N(ln t_m, s²)``; a
training set that does not pin the structure is never learned.  A pinned set is hence learned
by step ``t`` with probability

    F(t) = P(t_route ≤ t, t_route < t_mem) = ∫_{−∞}^{ln t} φ((u − ln t̂)/s) [1 − Φ((u − ln t_m)/s)] du/s,

and over random splits of which a fraction ``q`` pins, the median steps solve ``q F(t) = ½``
(censored, ``∞``, when ``q F(T) < ½`` at the budget ``T``); ``P(learned within T) = q F(T)``.
With Adam the race is lost (``t̂ > t_m``) when ``η_e/η_d < c σ_e/(μ² n² σ_d)``: a decoder that
learns too fast, or a small training set, memorises first (Liu et al.'s memorisation phase).

The constants ``c``, ``g``, ``μ`` and ``s`` were fitted once, by censored maximum likelihood over
every run of the fit grid :data:`FIT_GRID` (p = 10 addition, width 200, init scales 1; 11
conditions × 16 seeds, seeds 500 000 + 1000 i + k, budget 3000; ``docs/theory/learning_time_fit.py``
and its ``.json``), and are frozen here.

Reference: issue 27 of effgrok; Liu et al. (2022), arXiv 2205.10343 (the toy model); Kingma & Ba
(2015) (Adam's normalised steps); Saxe, McClelland & Ganguli (2014) (bilinear saddle dynamics).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from . import _checks
from .constants import NEVER

# The public names, re-exported by effgrok.effective.learning_time (split_pins_structure is the
# predict-time command's helper, imported by name).
__all__ = [
    "FIT_GRID",
    "LEARNING_TIME_CONSTANTS",
    "LEARNING_TIME_OPTIMIZERS",
    "LearningTime",
    "learned_by",
    "learning_time_steps",
    "median_learning_steps",
    "memorisation_steps",
    "predict_learning_time",
]

#: The optimisers the law covers: Adam on both groups, or gradient descent on the embeddings
#: (decoder Adam).
LEARNING_TIME_OPTIMIZERS = ("adam", "gd-embedding")

#: The fit grid of the constants: (n_train, optimizer, lr_emb, lr_dec), all at p = 10 addition,
#: width 200, init scales 1, 16 seeds each, budget 3000 steps.
FIT_GRID = (
    (48, "adam", 1e-3, 1e-4),
    (48, "adam", 3e-3, 1e-4),
    (48, "adam", 3e-4, 1e-4),
    (48, "adam", 1e-3, 3e-4),
    (48, "adam", 1e-3, 3e-5),
    (36, "adam", 3e-3, 1e-3),
    (36, "adam", 1e-3, 1e-4),
    (48, "gd-embedding", 0.1, 1e-4),
    (48, "gd-embedding", 0.3, 1e-4),
    (48, "gd-embedding", 1.0, 1e-4),
    (48, "gd-embedding", 0.3, 3e-4),
)

#: Frozen constants (fitted once on :data:`FIT_GRID`, ``docs/theory/learning_time_fit.py``):
#: ``c`` -- the progress product ``x·y`` at which RQI > 0.95; ``g`` -- gradient-descent speed of
#: the embeddings per unit of decoder progress; ``mu`` -- the decoder progress per training example
#: at which it memorises the training set alone; ``spread`` -- the standard deviation ``s`` of
#: ``ln t`` (and of ``ln t_mem``) across runs.
#: Fit (``python docs/theory/learning_time_fit.py fit``): negative log-likelihood 79.25 over the
#: 176 runs; the fitted law's censored medians on the fit grid are within a factor 1.3 of the
#: measured ones wherever both are finite, and censored together elsewhere.
LEARNING_TIME_CONSTANTS = {"c": 5.1018, "g": 0.018295, "mu": 0.039629, "spread": 0.28319}


def learning_time_steps(
    lr_emb: float,
    lr_dec: float,
    optimizer: str,
    width: int,
    init_scale_emb: float,
    init_scale_dec: float,
    c: float | None = None,
    g: float | None = None,
) -> float:
    """Median steps ``t̂`` of the structured route (the kernel: no input checks and no defaults
    but the fitted constants; :func:`predict_learning_time` is its checked public wrapper).

    ``t̂ = √(c τ_e τ_d)`` (Adam) or ``(2 c σ_e τ_d²/(g η_e))^{1/3}`` (gradient descent on the
    embeddings), ``σ_e = s_e/√12``, ``σ_d = s_d/√W``, ``τ = σ/η`` (module docstring).

    >>> t = learning_time_steps(1e-3, 1e-4, "adam", 200, 1.0, 1.0, c=4.0)
    >>> round(t / learning_time_steps(4e-3, 1e-4, "adam", 200, 1.0, 1.0, c=4.0), 6)   # η_e^{−½}
    2.0
    """
    c = LEARNING_TIME_CONSTANTS["c"] if c is None else c
    g = LEARNING_TIME_CONSTANTS["g"] if g is None else g
    sigma_e = init_scale_emb / math.sqrt(12.0)
    sigma_d = init_scale_dec / math.sqrt(width)
    tau_e, tau_d = sigma_e / lr_emb, sigma_d / lr_dec
    if optimizer == "adam":
        return math.sqrt(c * tau_e * tau_d)
    return (2.0 * c * sigma_e * tau_d**2 / (g * lr_emb)) ** (1.0 / 3.0)


def memorisation_steps(
    n_train: int, lr_dec: float, width: int, init_scale_dec: float, mu: float | None = None
) -> float:
    """``t_m = μ n τ_d = μ n s_d/(√W η_d)``: the median step at which the decoder alone memorises
    the ``n`` training examples.

    >>> round(memorisation_steps(40, 1e-4, 100, 1.0, mu=0.05), 6)
    2000.0
    """
    mu = LEARNING_TIME_CONSTANTS["mu"] if mu is None else mu
    return mu * n_train * init_scale_dec / (math.sqrt(width) * lr_dec)


def _phi(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def learned_by(t: float, t_hat: float, t_m: float, spread: float, points: int = 400) -> float:
    """``F(t) = P(t_route ≤ t and t_route < t_mem)`` for independent log-normal times with medians
    ``t̂``, ``t_m`` and log-spread ``s`` (Simpson's rule in ``u = ln t``; pure ``math``).

    >>> round(learned_by(1e9, 100.0, 1e12, 0.3), 6)   # memorisation never wins: F → 1
    1.0
    >>> round(learned_by(1e9, 100.0, 100.0, 0.3), 6)  # equal medians: a fair race
    0.5
    """
    if not t > 0:
        return 0.0
    a, b = math.log(t_hat), math.log(t_m)
    lo, hi = a - 10.0 * spread, min(math.log(t), a + 10.0 * spread)
    if hi <= lo:
        return 0.0
    n = points + points % 2
    h = (hi - lo) / n
    total = 0.0
    for i in range(n + 1):
        u = lo + i * h
        w = 1 if i in (0, n) else (4 if i % 2 else 2)
        density = math.exp(-0.5 * ((u - a) / spread) ** 2) / (spread * math.sqrt(2.0 * math.pi))
        total += w * density * (1.0 - _phi((u - b) / spread))
    return total * h / 3.0


def median_learning_steps(q: float, t_hat: float, t_m: float, spread: float, budget: float) -> float:
    """The ``t`` with ``q F(t) = ½`` (bisection in ``ln t``), ``inf`` when ``q F(budget) < ½``."""
    if q * learned_by(budget, t_hat, t_m, spread) < 0.5:
        return math.inf
    lo, hi = (
        math.log(t_hat) - 10.0 * spread,
        math.log(budget) if math.isfinite(budget) else math.log(t_hat) + 10 * spread,
    )
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if q * learned_by(math.exp(mid), t_hat, t_m, spread) < 0.5:
            lo = mid
        else:
            hi = mid
    return math.exp(0.5 * (lo + hi))


@dataclass(frozen=True)
class LearningTime:
    """The law's prediction for one condition.

    ``steps`` -- ``t̂``, the median steps of the structured route (no budget, no memorisation);
    ``memorisation_steps`` -- ``t_m``, the median step of the decoder's memorisation;
    ``median_steps`` -- the median steps to RQI > 0.95 over runs whose training sets pin with
    probability ``pinned_fraction`` (``q F(t) = ½``), ``NaN`` (:data:`~effgrok.constants.NEVER`)
    when it lies beyond the budget (censored); ``p_learn`` -- the probability that a run is
    learned within the budget, ``q F(budget)`` (module docstring).
    """

    steps: float
    memorisation_steps: float
    median_steps: float
    p_learn: float
    pinned_fraction: float
    budget: float
    n_train: int
    lr_emb: float
    lr_dec: float
    optimizer: str
    width: int
    init_scale_emb: float
    init_scale_dec: float

    def record(self) -> dict:
        from ._record import jsonable

        return jsonable(
            {
                "steps_to_rqi": self.median_steps,
                "p_learn": self.p_learn,
                "steps_to_rqi_route": self.steps,
                "memorisation_steps": self.memorisation_steps,
                "pinned_fraction": self.pinned_fraction,
                "budget": self.budget,
                "n_train": self.n_train,
                "lr_emb": self.lr_emb,
                "lr_dec": self.lr_dec,
                "optimizer": self.optimizer,
                "width": self.width,
                "init_scale_emb": self.init_scale_emb,
                "init_scale_dec": self.init_scale_dec,
                "constants": dict(LEARNING_TIME_CONSTANTS),
            }
        )

    def tables(self) -> dict[str, list[dict]]:
        rec = self.record()
        rec.pop("constants")
        return {"learning_time": [rec]}


def predict_learning_time(
    n_train: int,
    lr_emb: float,
    lr_dec: float,
    *,
    optimizer: str = "adam",
    width: int = 200,
    init_scale_emb: float = 1.0,
    init_scale_dec: float = 1.0,
    pinned_fraction: float = 1.0,
    budget: float = math.inf,
) -> LearningTime:
    r"""Predicted steps to RQI > 0.95 of the toy model (Liu et al.'s, p = 10 addition, d = 1).

    Route: ``t̂ = √(c τ_e τ_d)`` with Adam on both groups, ``t̂ = (2 c σ_e τ_d² / (g η_e))^{1/3}``
    with gradient descent on the embeddings (decoder Adam); ``σ_e = s_e/√12``, ``σ_d = s_d/√W``,
    ``τ_e = σ_e/η_e``, ``τ_d = σ_d/η_d``.  Memorisation: ``t_m = μ n τ_d``.  Both log-normal with
    spread ``s``; over runs whose training sets pin with probability ``q`` (``pinned_fraction``:
    1 for one pinned set, 0 for one that does not pin), the median steps solve ``q F(t) = ½`` --
    censored (``NaN``) beyond ``budget`` -- and ``P(learned within T) = q F(T)``, ``F`` the
    probability that the route finishes by ``t`` and before memorisation.  Constants:
    :data:`LEARNING_TIME_CONSTANTS` (fitted once on :data:`FIT_GRID`, frozen).

    Examples
    --------
    >>> a = predict_learning_time(48, 1e-3, 1e-4)
    >>> b = predict_learning_time(48, 4e-3, 4e-4)
    >>> round(a.steps / b.steps, 6)          # route: η_e^{−½} η_d^{−½}
    4.0
    >>> import math; math.isnan(predict_learning_time(48, 1e-3, 1e-4, pinned_fraction=0.4).median_steps)
    True

    Reference: effgrok issue 27; the derivation is ``theory/learning_time.py``.
    """
    n_train = _checks.integer("n_train", n_train, lo=1)
    _checks.choice("optimizer", optimizer, LEARNING_TIME_OPTIMIZERS)
    lr_emb = _checks.positive("lr_emb", lr_emb)
    lr_dec = _checks.positive("lr_dec", lr_dec)
    width = _checks.integer("width", width, lo=1)
    init_scale_emb = _checks.positive("init_scale_emb", init_scale_emb)
    init_scale_dec = _checks.positive("init_scale_dec", init_scale_dec)
    q = _checks.fraction("pinned_fraction", pinned_fraction, closed="both")
    if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not budget > 0:
        raise ValueError(f"budget must be a positive number or inf, got {budget!r}")
    t_hat = learning_time_steps(lr_emb, lr_dec, optimizer, width, init_scale_emb, init_scale_dec)
    t_m = memorisation_steps(n_train, lr_dec, width, init_scale_dec)
    s = LEARNING_TIME_CONSTANTS["spread"]
    median = median_learning_steps(q, t_hat, t_m, s, float(budget))
    return LearningTime(
        steps=t_hat,
        memorisation_steps=t_m,
        median_steps=median if math.isfinite(median) else NEVER,
        p_learn=q * learned_by(float(budget), t_hat, t_m, s),
        pinned_fraction=q,
        budget=float(budget),
        n_train=n_train,
        lr_emb=lr_emb,
        lr_dec=lr_dec,
        optimizer=optimizer,
        width=width,
        init_scale_emb=init_scale_emb,
        init_scale_dec=init_scale_dec,
    )


def split_pins_structure(task, mask) -> bool:
    """Whether the training set ``mask`` (boolean, over ``task``'s examples) pins the structure:
    the parallelogram constraints among its examples have the full table's nullity.

    numpy only (no numba), for ``effgrok predict-time``; the same answer as
    ``effgrok.effective.grokking_rate(task, mask).pinned`` (tests compare them).  Examples of one
    result class ``s`` give the rows ``e_a + e_b − e_c − e_d`` (left/right slots of non-commutative
    tasks are separate symbols), and the differences to one example per class span them all.

    >>> from effgrok.tasks import make_task
    >>> import numpy as np
    >>> task = make_task("add", 4)
    >>> split_pins_structure(task, np.ones(task.n_examples, bool))
    True
    """
    import numpy as np

    mask = np.asarray(mask, dtype=bool)
    rows = []
    first: dict[int, np.ndarray] = {}
    for (a, b), s in zip(task.slots[mask], task.results[mask], strict=True):
        v = np.zeros(task.n_slots)
        v[a] += 1.0
        v[b] += 1.0
        if int(s) in first:
            rows.append(v - first[int(s)])
        else:
            first[int(s)] = v
    full = np.zeros(task.n_slots)
    full_rows = []
    first_full: dict[int, np.ndarray] = {}
    for (a, b), s in zip(task.slots, task.results, strict=True):
        full[:] = 0.0
        full[a] += 1.0
        full[b] += 1.0
        if int(s) in first_full:
            full_rows.append(full - first_full[int(s)])
        else:
            first_full[int(s)] = full.copy()
    rank = np.linalg.matrix_rank(np.array(rows)) if rows else 0
    return bool(rank == np.linalg.matrix_rank(np.array(full_rows)))
