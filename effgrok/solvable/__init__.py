"""Solvable models of grokking with closed-form curves and grokking times (SPEC §9).

``linear``: the linear teacher–student model of Levi, Beck & Bar-Sinai (ICLR 2024), whose
names are re-exported here (its gradient-descent simulation is :func:`simulate_linear`, not to
be confused with the effective-loss flow ``effgrok.simulate``).  ``dichotomy``: the
kernel→rich transition time ``log(α)/λ`` of homogeneous networks (Lyu et al., ICLR 2024) with
its measurement helpers.
``softmax_collapse``: the floating-point thresholds of softmax collapse and StableMax (Prieto
et al. 2025).  JAX is imported only by the simulation functions.
"""

from . import dichotomy, linear, softmax_collapse
from .linear import *  # noqa: F403

__all__ = [*linear.__all__, "dichotomy", "softmax_collapse"]
