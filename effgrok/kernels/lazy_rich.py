"""The lazy→rich model of Kumar, Bordelon, Gershman & Pehlevan (ICLR 2024, arXiv 2310.06110).

Data: ``x ~ N(0, I/D)``, a teacher direction ``β* ~ N(0, I_D)`` and a single-index target;
the paper's is ``y = ½ (β*·x)²`` (``target="paper"``); ``"hermite:k"`` gives
``y = He_k(z)/√k!`` with ``z = β*·x / √(|β*|²/D)`` (unit variance).

Network (a committee machine, readouts fixed to 1, no biases, ``W ~ N(0, 1)`` entrywise):

    f(W, x) = (α/N) Σ_i φ(w_i·x),   φ(h) = h + (ε/2) h²,

trained by full-batch gradient descent on the centred predictor ``f(W) − f(W₀)`` with
learning rate ``η = η₀ N/α²``.  Its NTK (only ``W`` trains) is

    Θ(x, x') = (α²/N²) Σ_i φ'(w_i·x) φ'(w_i·x') x·x'  →  (α²/N) (x·x' + ε² (x·x')²)   (N → ∞).

*Lazy prediction*: ridgeless kernel regression with ``Θ₀`` (the horizontal line of their
Fig. 1b), and its time course under the linearised gradient flow: with residual
``r = f − y`` and ``L = mean(r²)``, ``dr/dt = −(2η/P) Θ₀ r`` from ``r₀ = −y``.  Because
``η Θ₀`` does not depend on ``α``, neither does the lazy time course.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._checks import integer, nonnegative, positive

__all__ = [
    "Committee",
    "LazyRichProblem",
    "decompose_test_loss",
    "kernel_regression",
    "lazy_time_course",
    "make_problem",
    "weight_alignment",
]


@dataclass(frozen=True)
class LazyRichProblem:
    """Train and test data of a single-index regression problem."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    beta: np.ndarray
    target: str

    @property
    def dim(self) -> int:
        return int(self.x_train.shape[1])


def _target_fn(target: str):
    if target == "paper":
        return lambda z_raw, z: 0.5 * z_raw**2
    m = None
    if isinstance(target, str) and target.startswith("hermite:"):
        try:
            m = int(target.split(":", 1)[1])
        except ValueError:
            m = None
    if m is None or m < 1 or m > 20:
        raise ValueError(f"target must be 'paper' or 'hermite:k' with k in 1..20, got {target!r}")
    from scipy.special import eval_hermitenorm  # here: scipy.special costs the networks' start

    norm = math.sqrt(math.factorial(m))
    return lambda z_raw, z: eval_hermitenorm(m, z) / norm


def make_problem(
    dim: int = 100, samples: int = 550, test_samples: int = 1000, *, target: str = "paper", seed: int = 0
) -> LazyRichProblem:
    """Draw the paper's data: ``x ~ N(0, I/D)``, ``β* ~ N(0, I_D)``, ``y = target(β*·x)``.

    Examples
    --------
    >>> prob = make_problem(dim=20, samples=50, test_samples=30, seed=1)
    >>> prob.x_train.shape, prob.y_test.shape
    ((50, 20), (30,))
    """
    for name, v, lo in (("dim", dim, 1), ("samples", samples, 1), ("test_samples", test_samples, 1)):
        integer(name, v, lo=lo)
    integer("seed", seed, lo=0)
    fn = _target_fn(target)
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    beta = rng.standard_normal(dim)
    x = rng.standard_normal((samples + test_samples, dim)) / math.sqrt(dim)
    z_raw = x @ beta
    z = z_raw / math.sqrt(beta @ beta / dim)
    y = fn(z_raw, z)
    return LazyRichProblem(x[:samples], y[:samples], x[samples:], y[samples:], beta, target)


@dataclass(frozen=True)
class Committee:
    """``f(W, x) = (α/N) Σ_i φ(w_i·x)`` with ``φ(h) = h + (ε/2) h²`` (see the module notes)."""

    width: int = 500
    epsilon: float = 0.02
    alpha: float = 1.0

    def __post_init__(self):
        integer("width", self.width, lo=1)
        nonnegative("epsilon", self.epsilon)
        positive("alpha", self.alpha)

    def init(self, dim: int, seed: int = 0) -> np.ndarray:
        """``W ~ N(0, 1)``, shape (N, D), from ``default_rng(seed)``."""
        return np.random.default_rng(seed).standard_normal((self.width, dim))

    def apply(self, W, x):
        """Uncentred output (works on numpy and JAX arrays)."""
        h = x @ W.T
        return self.alpha * (h + 0.5 * self.epsilon * h * h).mean(axis=-1)

    def ntk(self, W, x1, x2=None) -> np.ndarray:
        """Empirical NTK ``(α²/N²) Σ_i φ'(w_i·x) φ'(w_i·x') x·x'`` (exact, closed form)."""
        x1 = np.asarray(x1, dtype=np.float64)
        x2 = x1 if x2 is None else np.asarray(x2, dtype=np.float64)
        d1 = 1.0 + self.epsilon * (x1 @ W.T)
        d2 = 1.0 + self.epsilon * (x2 @ W.T)
        N = W.shape[0]
        return (self.alpha**2 / N**2) * (d1 @ d2.T) * (x1 @ x2.T)

    def infinite_ntk(self, x1, x2=None) -> np.ndarray:
        """``(α²/N) (x·x' + ε² (x·x')²)``: the ``N → ∞`` limit of :meth:`ntk` (``E[φ'φ'] = 1 + ε² x·x'``)."""
        x1 = np.asarray(x1, dtype=np.float64)
        x2 = x1 if x2 is None else np.asarray(x2, dtype=np.float64)
        c = x1 @ x2.T
        return (self.alpha**2 / self.width) * (c + self.epsilon**2 * c * c)

    def learning_rate(self, base_learning_rate: float = 1.0) -> float:
        """``η = η₀ N / α²`` (mean-field scaling of the base rate ``η₀ = base_learning_rate``)."""
        return base_learning_rate * self.width / self.alpha**2


def kernel_regression(K_train, K_test_train, y_train, *, ridge: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Kernel regression predictions on the training and the test inputs.

    ``f(x*) = K(x*, X) (K + λ I)⁺ y``; ``λ = 0`` is the ridgeless (minimum-norm) limit that
    gradient flow from zero reaches, solved through the eigendecomposition of ``K`` with a
    relative cut-off ``1e-12`` on its eigenvalues.
    """
    K = np.asarray(K_train, dtype=np.float64)
    lam, V = np.linalg.eigh(0.5 * (K + K.T))
    keep = lam > 1e-12 * max(lam.max(), 0.0) if ridge == 0 else np.ones_like(lam, dtype=bool)
    coef = V[:, keep] @ ((V[:, keep].T @ np.asarray(y_train, dtype=np.float64)) / (lam[keep] + ridge))
    return K @ coef, np.asarray(K_test_train, dtype=np.float64) @ coef


def lazy_time_course(K_train, K_test_train, y_train, y_test, times, learning_rate: float) -> dict:
    """Train and test MSE of the linearised model under gradient flow on ``mean(r²)``.

    ``f_t(X) = (I − e^{−(2η/P) K t}) y`` and ``f_t(x*) = K(x*, X) K⁺ (I − e^{−(2η/P) K t}) y``
    (centred model: ``f₀ = 0``).  Returns ``{"time", "train_loss", "test_loss"}``.
    """
    K = np.asarray(K_train, dtype=np.float64)
    y = np.asarray(y_train, dtype=np.float64)
    P = K.shape[0]
    lam, V = np.linalg.eigh(0.5 * (K + K.T))
    lam = np.clip(lam, 0.0, None)
    times = np.atleast_1d(np.asarray(times, dtype=np.float64))
    a = V.T @ y
    keep = lam > 1e-12 * lam.max()
    inv = np.where(keep, 1.0 / np.where(keep, lam, 1.0), 0.0)
    KX = np.asarray(K_test_train, dtype=np.float64) @ V
    train, test = [], []
    for t in times:
        g = -np.expm1(-(2 * learning_rate / P) * lam * t)  # 1 − e^{−(2η/P) λ t}
        f_train = V @ (g * a)
        f_test = KX @ (inv * g * a)
        train.append(np.mean((f_train - y) ** 2))
        test.append(np.mean((f_test - np.asarray(y_test)) ** 2))
    return {"time": times, "train_loss": np.array(train), "test_loss": np.array(test)}


def weight_alignment(W, W0, beta) -> float:
    """Cosine (Frobenius) between the change of ``M = WᵀW/N`` since initialisation and ``β*β*ᵀ``."""
    N = W.shape[0]
    dM = (W.T @ W - W0.T @ W0) / N
    bb = np.outer(beta, beta)
    den = np.linalg.norm(dM) * np.linalg.norm(bb)
    return float(np.sum(dM * bb) / den) if den > 0 else 0.0


def decompose_test_loss(W, W0, beta, alpha: float, epsilon: float) -> dict:
    """The paper's Eq. 6 for the centred predictor (``M → M − M₀``, ``w̄ → w̄ − w̄₀``):

    ``L = ¼ (|β|²/D − (αε/D) tr ΔM)² + (1/(2D²)) ‖αε ΔM − ββᵀ‖²_F + (α²/D) |Δw̄|²``
    (variance, misalignment, power in linear modes); valid for ``target="paper"``.
    """
    N, D = W.shape
    dM = (W.T @ W - W0.T @ W0) / N
    dw = (W - W0).mean(axis=0)
    variance = 0.25 * (beta @ beta / D - alpha * epsilon / D * np.trace(dM)) ** 2
    misalignment = np.sum((alpha * epsilon * dM - np.outer(beta, beta)) ** 2) / (2 * D * D)
    linear = alpha**2 / D * float(dw @ dw)
    return {
        "variance": float(variance),
        "misalignment": float(misalignment),
        "linear": float(linear),
        "total": float(variance + misalignment + linear),
    }
