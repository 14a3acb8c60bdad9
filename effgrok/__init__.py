"""effgrok: the effective and kernel theories of grokking as fast, checkable numbers.

>>> import effgrok as eg
>>> task = eg.make_task("add", 10)
>>> eg.full_table_nullity(task)
2

The top level re-exports the effective-theory API, the tasks and the inspection of users'
networks.  It is lazy (PEP 562): ``import effgrok`` loads no submodule, so it imports neither
numba nor JAX nor matplotlib; a name is imported from its subpackage on first use, and
``from effgrok import simulate`` works as usual.  The subpackages (``eg.effective``,
``eg.kernels``, ``eg.nets``, ``eg.diagnostics``, ``eg.solvable``) and the modules ``eg.scan``,
``eg.results`` and ``eg.plot`` load on first use, too.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# Where each top-level name lives: the subpackage or module that exports it, then its names.
# (Kept as one compact declaration; the subpackages' own ``__all__`` are the full lists.)
_EXPORTS = {
    "tasks": """
        TASK_NAMES Split Task group_task make_task random_split split_from_indices
        split_from_pairs symmetric_group_task task_from_table
    """,
    "effective": """
        DEFAULT_DELTA DOPRI5 EULER RK4 TABLEAUS Accuracy ButcherTableau CriticalResult
        EffectiveLoss Ensemble GrokkingRate Trajectory constraint_rows critical_fraction
        critical_scan default_z0 exact_flow full_table_null_space full_table_nullity gram_matrix
        grokking_rate ideal_accuracy induced_parallelograms initial_embedding median_interval
        n_training_parallelograms null_space nullity parallelograms pinned_fraction
        pinning_sizes predicted_accuracy random_ordering realised_parallelograms rqi simulate
        simulate_ensemble standardize structure_pinned summarize_pinning_sizes training_nullity
        training_parallelograms
    """,
    "diagnostics": """
        Inspection InspectionSeries inspect_embedding inspect_series load_checkpoints
        load_embedding
    """,
}

#: Top-level name -> the submodule (relative to ``effgrok``) it is imported from.
_ORIGIN = {name: module for module, names in _EXPORTS.items() for name in names.split()}

#: Submodules that ``eg.<name>`` imports on first use.
_SUBMODULES = (
    "constants",
    "diagnostics",
    "effective",
    "kernels",
    "nets",
    "plot",
    "results",
    "scan",
    "solvable",
    "tasks",
)

__all__ = ["__version__", *sorted(_ORIGIN)]


def __getattr__(name: str):
    """Import a public name (or a submodule) on first use and keep it (PEP 562)."""
    if name in _ORIGIN:
        value = getattr(importlib.import_module(f".{_ORIGIN[name]}", __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names and the submodules, as if they were all imported."""
    return sorted({*globals(), *__all__, *_SUBMODULES})
