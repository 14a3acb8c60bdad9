"""Kernel theory of lazy→rich grokking: empirical and infinite-width NTKs, alignment, lazy predictions.

JAX and neural-tangents are imported only when a function needs them.
"""

from .alignment import centered_kernel_alignment, cumulative_target_power, effective_dimension
from .lazy_rich import (
    Committee,
    LazyRichProblem,
    decompose_test_loss,
    kernel_regression,
    lazy_time_course,
    make_problem,
    weight_alignment,
)
from .ntk import (
    ACTIVATIONS,
    TwoLayer,
    empirical_ntk,
    gaussian_expectations,
    infinite_kernels,
    neural_tangents_kernels,
)

__all__ = [
    "ACTIVATIONS",
    "Committee",
    "LazyRichProblem",
    "TwoLayer",
    "centered_kernel_alignment",
    "cumulative_target_power",
    "decompose_test_loss",
    "effective_dimension",
    "empirical_ntk",
    "gaussian_expectations",
    "infinite_kernels",
    "kernel_regression",
    "lazy_time_course",
    "make_problem",
    "neural_tangents_kernels",
    "weight_alignment",
]
