"""Kernel theory of lazy→rich grokking: empirical and infinite-width NTKs, alignment, lazy predictions.

JAX and neural-tangents are imported only when a function needs them.
"""

from .alignment import centered_kernel_alignment, cumulative_target_power, effective_dimension
from .hermite import (
    LazyLoss,
    dot_product_kernel_eigenvalues,
    harmonic_multiplicities,
    hermite_coefficients,
    kernel_series,
    lazy_test_loss,
)
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
    "LazyLoss",
    "LazyRichProblem",
    "TwoLayer",
    "centered_kernel_alignment",
    "cumulative_target_power",
    "decompose_test_loss",
    "dot_product_kernel_eigenvalues",
    "effective_dimension",
    "empirical_ntk",
    "gaussian_expectations",
    "harmonic_multiplicities",
    "hermite_coefficients",
    "infinite_kernels",
    "kernel_regression",
    "kernel_series",
    "lazy_test_loss",
    "lazy_time_course",
    "make_problem",
    "neural_tangents_kernels",
    "weight_alignment",
]
