"""Solvable models of grokking with closed-form curves and grokking times (SPEC §9).

``linear``: the linear teacher–student model of Levi, Beck & Bar-Sinai (ICLR 2024), whose
names are re-exported here.  ``dichotomy``: the kernel→rich transition time ``log(α)/λ`` of
homogeneous networks (Lyu et al., ICLR 2024) with its measurement helpers.
``softmax_collapse``: the floating-point thresholds of softmax collapse and StableMax (Prieto
et al. 2025).  JAX is imported only by the simulation functions.
"""

from . import dichotomy, softmax_collapse
from .linear import (
    GrokkingGap,
    LinearSimulation,
    accuracy,
    crossing_time,
    effective_learning_rate,
    generalization_loss,
    generalization_loss_asymptotic,
    generalization_plateau,
    grokking_gap,
    grokking_gap_asymptotic,
    hyp0f1_2,
    initial_loss,
    loss_at_accuracy,
    marchenko_pastur_average,
    marchenko_pastur_density,
    marchenko_pastur_edges,
    mp_losses,
    run_gradient_descent,
    simulate,
    time_to_accuracy,
    train_loss,
)

__all__ = [
    "GrokkingGap",
    "LinearSimulation",
    "accuracy",
    "crossing_time",
    "dichotomy",
    "effective_learning_rate",
    "generalization_loss",
    "generalization_loss_asymptotic",
    "generalization_plateau",
    "grokking_gap",
    "grokking_gap_asymptotic",
    "hyp0f1_2",
    "initial_loss",
    "loss_at_accuracy",
    "marchenko_pastur_average",
    "marchenko_pastur_density",
    "marchenko_pastur_edges",
    "mp_losses",
    "run_gradient_descent",
    "simulate",
    "softmax_collapse",
    "time_to_accuracy",
    "train_loss",
]
