"""The validation cases, in report order (module names in this package)."""

CASES = [
    "critical_fraction",
    "grokking_rate",
    "predicted_accuracy",
    "effective_dynamics",
]
