"""effgrok: the effective and kernel theories of grokking as fast, checkable numbers.

>>> import effgrok as eg
>>> task = eg.make_task("add", 10)
>>> eg.full_table_nullity(task)
2
"""

__version__ = "0.1.0"

#: where the public names live, lightest first; each is imported on first use (PEP 562), so
#: ``import effgrok`` and ``effgrok --help`` import neither numba, JAX nor matplotlib
_SOURCES = (".tasks", ".effective", ".diagnostics.inspection", ".diagnostics.loaders")

__all__ = [
    "DEFAULT_DELTA",
    "DOPRI5",
    "EULER",
    "RK4",
    "TABLEAUS",
    "TASK_NAMES",
    "Accuracy",
    "ButcherTableau",
    "CriticalResult",
    "EffectiveLoss",
    "Ensemble",
    "GrokkingRate",
    "Inspection",
    "InspectionSeries",
    "Split",
    "Task",
    "Trajectory",
    "__version__",
    "constraint_rows",
    "critical_fraction",
    "critical_scan",
    "default_z0",
    "exact_flow",
    "full_table_null_space",
    "full_table_nullity",
    "gram_matrix",
    "grokking_rate",
    "group_task",
    "ideal_accuracy",
    "induced_parallelograms",
    "initial_embedding",
    "inspect_embedding",
    "inspect_series",
    "load_checkpoints",
    "load_embedding",
    "make_task",
    "median_interval",
    "n_training_parallelograms",
    "null_space",
    "nullity",
    "parallelograms",
    "pinned_fraction",
    "pinning_sizes",
    "predicted_accuracy",
    "random_ordering",
    "random_split",
    "realised_parallelograms",
    "rqi",
    "simulate",
    "simulate_ensemble",
    "split_from_indices",
    "split_from_pairs",
    "standardize",
    "structure_pinned",
    "summarize_pinning_sizes",
    "symmetric_group_task",
    "task_from_table",
    "training_nullity",
    "training_parallelograms",
]


_SUBPACKAGES = ("kernels", "nets", "scan", "plot", "solvable", "diagnostics", "effective", "tasks", "results")


def __getattr__(name):
    import importlib

    if name in __all__:
        for source in _SOURCES:
            module = importlib.import_module(source, __name__)
            if name in module.__all__:
                value = globals()[name] = getattr(module, name)
                return value
    if name in _SUBPACKAGES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'effgrok' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
