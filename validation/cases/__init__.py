"""The validation cases, in report order (module names in this package)."""

CASES = [
    "critical_fraction",
    "grokking_rate",
    "predicted_accuracy",
    "effective_dynamics",
    "phase_diagram",
    "lazy_rich",
    "modular_gap",
    "early_prediction",
    "progress_measures",
    "omnigrok",
    "grokking_tickets",
    "solvable_linear",
    "dichotomy",
    "softmax_collapse",
    "learning_time",
]
