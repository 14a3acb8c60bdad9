"""Neural tangent kernels: empirical (any JAX model) and infinite-width (two-layer closed forms,
deep MLPs through neural-tangents).

Empirical NTK of a model ``f(params, x)`` with parameters ``θ``:

    Θ(x, x') = Σ_θ ∂f(x)/∂θ · ∂f(x')/∂θ = J(x) J(x')ᵀ,

computed by contracting per-example Jacobians (public JAX APIs: ``jax.vmap`` of
``jax.jacrev``) in input batches, in float64.

Two-layer network in the NTK parameterisation, ``f(x) = (σ₂/√N) Σ_i v_i φ(σ₁ w_i·x/√D)``,
``w_i ~ N(0, I_D)``, ``v_i ~ N(0, 1)``, no biases.  As ``N → ∞`` (Jacot et al. 2018):

    NNGP  Σ(x, x') = σ₂² E[φ(u) φ(u')],
    NTK   Θ(x, x') = Σ(x, x') + σ₂² (σ₁² x·x'/D) E[φ'(u) φ'(u')],
    (u, u') ~ N(0, (σ₁²/D) [[x·x, x·x'], [x·x', x'·x']]).

The Gaussian expectations have closed forms for ReLU (arc-cosine kernels, Cho & Saul 2009),
erf (Williams 1997) and monomials (Isserlis); ``theory/kernels.py`` derives them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .._checks import choice, finite_array, integer, positive

__all__ = [
    "ACTIVATIONS",
    "TwoLayer",
    "empirical_ntk",
    "gaussian_expectations",
    "infinite_kernels",
    "neural_tangents_kernels",
]

#: Activations with closed-form two-layer kernels.
ACTIVATIONS = ("relu", "erf", "linear", "quadratic", "cubic")


def _as_inputs(x, name: str = "x") -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"{name} must be a non-empty 2-D array (samples, features), got shape {np.shape(x)}")
    finite_array(name, x)
    return x


def empirical_ntk(
    f: Callable, params, x1, x2=None, *, batch_size: int = 128, trace_outputs: bool = True
) -> np.ndarray:
    """Empirical NTK ``Θ(x1, x2) = J(x1) J(x2)ᵀ`` of a JAX model ``f(params, x)``.

    Parameters
    ----------
    f : callable
        ``f(params, x)`` with ``x`` a batch ``(b, ...)``; returns ``(b,)`` or ``(b, k)``.
    params : pytree of arrays
    x1, x2 : array_like
        Inputs (``x2`` defaults to ``x1``).
    batch_size : int
        Inputs per Jacobian evaluation (bounds JAX's working memory); the Jacobians themselves
        are stored, ``O((n1 + n2) · k · |θ|)``, and contracted with one BLAS call (``dsyrk``
        when ``x2`` is ``x1``).
    trace_outputs : bool
        Sum over output components (shape ``(n1, n2)``); else ``(n1, n2, k, k)``.

    Returns
    -------
    ndarray (float64)

    Examples
    --------
    >>> import jax.numpy as jnp, numpy as np
    >>> f = lambda p, x: x @ p["w"]                      # linear model: Θ = x x'ᵀ
    >>> x = np.arange(6.0).reshape(3, 2)
    >>> np.allclose(empirical_ntk(f, {"w": jnp.ones(2)}, x), x @ x.T)
    True
    """
    import jax
    import jax.numpy as jnp
    from jax.flatten_util import ravel_pytree

    integer("batch_size", batch_size, lo=1)
    x1 = np.asarray(x1, dtype=np.float64)
    same = x2 is None
    x2 = x1 if same else np.asarray(x2, dtype=np.float64)
    with jax.enable_x64(True):
        params = jax.tree_util.tree_map(lambda a: jnp.asarray(a, dtype=jnp.float64), params)
        flat, unravel = ravel_pytree(params)

        def one(theta, x):
            out = jnp.asarray(f(unravel(theta), x[None]))
            return out.reshape(-1)  # (k,)

        jac = jax.jit(jax.vmap(jax.jacrev(one), in_axes=(None, 0)))  # (b, k, P)

        def jacobians(x):
            """Stacked per-example Jacobians, shape (n, k, P), computed batch by batch."""
            blocks = [
                np.asarray(jac(flat, jnp.asarray(x[i : i + batch_size])), dtype=np.float64)
                for i in range(0, x.shape[0], batch_size)
            ]
            return np.concatenate(blocks, axis=0)

        J1 = jacobians(x1)
        J2 = J1 if same else jacobians(x2)
    n1 = J1.shape[0]
    n2 = J2.shape[0]
    if not trace_outputs:
        return np.einsum("ikp,jlp->ijkl", J1, J2)
    from scipy.linalg import blas

    A = J1.reshape(n1, -1)  # Σ over outputs and parameters is one contraction
    if same:
        K = blas.dsyrk(1.0, A)  # upper triangle of A Aᵀ at half the cost of a product
        return np.triu(K) + np.triu(K, 1).T
    return A @ J2.reshape(n2, -1).T


# --------------------------------------------------------------------------- Gaussian expectations
def gaussian_expectations(activation: str, q1, q2, c) -> tuple[np.ndarray, np.ndarray]:
    """``(E[φ(u)φ(u')], E[φ'(u)φ'(u')])`` for ``(u, u') ~ N(0, [[q1, c], [c, q2]])``.

    relu:      ``√(q1 q2)/(2π) (sin θ + (π − θ) cos θ)`` and ``(π − θ)/(2π)``, ``cos θ = c/√(q1 q2)``;
    erf:       ``(2/π) arcsin(2c/√((1+2q1)(1+2q2)))`` and ``(4/π)/√((1+2q1)(1+2q2) − 4c²)``;
    linear:    ``c`` and ``1``;   quadratic ``u²``: ``q1 q2 + 2c²`` and ``4c``;
    cubic ``u³``: ``9 q1 q2 c + 6 c³`` and ``9 (q1 q2 + 2c²)``.
    """
    q1, q2, c = (np.asarray(v, dtype=np.float64) for v in (q1, q2, c))
    if activation == "relu":
        norm = np.sqrt(q1 * q2)
        cos = np.clip(np.divide(c, norm, out=np.zeros_like(c + norm), where=norm > 0), -1.0, 1.0)
        theta = np.arccos(cos)
        k0 = norm / (2 * np.pi) * (np.sin(theta) + (np.pi - theta) * cos)
        k1 = (np.pi - theta) / (2 * np.pi)
        return k0, k1
    if activation == "erf":
        a = (1 + 2 * q1) * (1 + 2 * q2)
        return (2 / np.pi) * np.arcsin(2 * c / np.sqrt(a)), (4 / np.pi) / np.sqrt(a - 4 * c * c)
    if activation == "linear":
        return c + 0.0 * q1, np.ones_like(c + q1)
    if activation == "quadratic":
        return q1 * q2 + 2 * c * c, 4 * c
    if activation == "cubic":
        return 9 * q1 * q2 * c + 6 * c**3, 9 * (q1 * q2 + 2 * c * c)
    raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}; got {activation!r}")


def _activation_fn(activation: str):
    import jax.numpy as jnp
    from jax.scipy.special import erf

    return {
        "relu": lambda h: jnp.maximum(h, 0.0),
        "erf": erf,
        "linear": lambda h: h,
        "quadratic": lambda h: h**2,
        "cubic": lambda h: h**3,
    }[activation]


@dataclass(frozen=True)
class TwoLayer:
    """Two-layer network ``f(x) = (σ₂/√N) Σ_i v_i φ(σ₁ w_i·x/√D)`` (NTK parameterisation, no biases).

    Use :meth:`init` for parameters, :meth:`apply` as the JAX model and
    :func:`infinite_kernels` for its infinite-width NNGP/NTK.
    """

    activation: str = "relu"
    width: int = 1024
    w_std: float = 1.0
    v_std: float = 1.0

    def __post_init__(self):
        choice("activation", self.activation, ACTIVATIONS)
        integer("width", self.width, lo=1)
        for name in ("w_std", "v_std"):
            positive(name, getattr(self, name))

    def init(self, dim: int, seed: int = 0) -> dict:
        """Standard-normal ``W (N, D)`` and ``v (N,)`` from ``numpy.random.default_rng(seed)``."""
        rng = np.random.default_rng(seed)
        return {"W": rng.standard_normal((self.width, dim)), "v": rng.standard_normal(self.width)}

    def apply(self, params, x):
        import jax.numpy as jnp

        D = x.shape[-1]
        h = self.w_std * (x @ params["W"].T) / jnp.sqrt(D)
        return (
            self.v_std * (_activation_fn(self.activation)(h) @ params["v"]) / jnp.sqrt(params["v"].shape[0])
        )


def infinite_kernels(activation: str, x1, x2=None, *, w_std: float = 1.0, v_std: float = 1.0) -> dict:
    """Infinite-width NNGP and NTK of :class:`TwoLayer` in closed form (see the module notes).

    Returns ``{"nngp": (n1, n2), "ntk": (n1, n2)}`` in float64.
    """
    x1 = _as_inputs(x1, "x1")
    x2 = x1 if x2 is None else _as_inputs(x2, "x2")
    if x1.shape[1] != x2.shape[1]:
        raise ValueError(f"x1 and x2 need the same number of features, got {x1.shape[1]} and {x2.shape[1]}")
    D = x1.shape[1]
    s = w_std**2 / D
    dot = x1 @ x2.T
    q1 = s * np.sum(x1 * x1, axis=1)[:, None]
    q2 = s * np.sum(x2 * x2, axis=1)[None, :]
    e0, e1 = gaussian_expectations(activation, q1, q2, s * dot)
    nngp = v_std**2 * e0
    return {"nngp": nngp, "ntk": nngp + v_std**2 * s * dot * e1}


def neural_tangents_kernels(
    activation: str, x1, x2=None, *, depth: int = 1, w_std: float = 1.0, v_std: float = 1.0
) -> dict:
    """Infinite-width NNGP and NTK of a ``depth``-hidden-layer MLP from neural-tangents' ``stax``.

    ``depth = 1`` is :class:`TwoLayer` (same parameterisation: hidden layers
    ``Dense(W_std=w_std)`` without bias, readout ``Dense(W_std=v_std)``).
    """
    x1 = _as_inputs(x1, "x1")
    x2 = x1 if x2 is None else _as_inputs(x2, "x2")
    integer("depth", depth, lo=1)
    import jax

    from ._neural_tangents import load

    nt = load()
    stax = nt.stax
    act = {
        "relu": stax.Relu,
        "erf": stax.Erf,
        "linear": stax.Identity,
        "quadratic": lambda: stax.Monomial(2),
        "cubic": lambda: stax.Monomial(3),
    }
    choice("activation", activation, ACTIVATIONS)
    layers = []
    for _ in range(depth):
        layers += [stax.Dense(512, W_std=w_std, b_std=None), act[activation]()]
    _, _, kernel_fn = stax.serial(*layers, stax.Dense(1, W_std=v_std, b_std=None))
    with jax.enable_x64(True):
        k = kernel_fn(x1, x2, ("nngp", "ntk"))
        return {"nngp": np.asarray(k.nngp, dtype=np.float64), "ntk": np.asarray(k.ntk, dtype=np.float64)}
