"""The one set of input checks every public function uses (issue 17).

Each check takes the argument's *name* and *value*, returns the value converted (``int``,
``float``, ``str`` or a float64 array) and raises ``ValueError`` with a message that names the
argument, states what is allowed and shows the bad value:

>>> integer("steps", 10, lo=1)
10
>>> integer("steps", 0, lo=1)
Traceback (most recent call last):
...
ValueError: steps must be an integer >= 1, got 0
>>> fraction("train_fraction", 1.5)
Traceback (most recent call last):
...
ValueError: train_fraction must be a number in (0, 1], got 1.5

The command line turns these messages into its one-line errors, so a library function and the
CLI say the same thing about the same bad value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

__all__ = [
    "choice",
    "finite_array",
    "fraction",
    "integer",
    "nonnegative",
    "positive",
    "positive_array",
    "real",
    "schedule",
]

_NUMBER = (int, float, np.integer, np.floating)


def integer(name: str, value, *, lo: int | None = None, hi: int | None = None) -> int:
    """``value`` as an ``int`` in ``[lo, hi]`` (either bound optional); bools are refused."""
    ok = not isinstance(value, bool) and isinstance(value, (int, np.integer))
    if ok:
        value = int(value)
        ok = (lo is None or value >= lo) and (hi is None or value <= hi)
    if not ok:
        if lo is not None and hi is not None:
            allowed = f"an integer in {lo}..{hi}"
        elif lo is not None:
            allowed = f"an integer >= {lo}"
        elif hi is not None:
            allowed = f"an integer <= {hi}"
        else:
            allowed = "an integer"
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return value


def real(name: str, value, *, allowed: str = "a finite number") -> float:
    """``value`` as a finite ``float``; ``allowed`` words the message."""
    if isinstance(value, bool) or not isinstance(value, _NUMBER):
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return v


def positive(name: str, value) -> float:
    """``value`` as a finite ``float`` > 0."""
    v = real(name, value, allowed="a positive finite number")
    if v <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return v


def nonnegative(name: str, value) -> float:
    """``value`` as a finite ``float`` >= 0."""
    v = real(name, value, allowed="a finite number >= 0")
    if v < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return v


def fraction(name: str, value, *, closed: str = "right") -> float:
    """``value`` as a ``float`` in ``(0, 1]`` (``closed="right"``), ``[0, 1]`` (``"both"``),
    ``[0, 1)`` (``"left"``) or ``(0, 1)`` (``"neither"``)."""
    lo_ok, hi_ok = {"right": (False, True), "both": (True, True), "left": (True, False)}.get(
        closed, (False, False)
    )
    interval = f"{'[' if lo_ok else '('}0, 1{']' if hi_ok else ')'}"
    v = real(name, value, allowed=f"a number in {interval}")
    if not ((v >= 0 if lo_ok else v > 0) and (v <= 1 if hi_ok else v < 1)):
        raise ValueError(f"{name} must be a number in {interval}, got {value!r}")
    return v


def choice(name: str, value, allowed: Iterable[str]):
    """``value`` if it is one of ``allowed``."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(str, allowed))}; got {value!r}")
    return value


def finite_array(name: str, values, *, ndim: int | None = None) -> np.ndarray:
    """``values`` as a float64 array of finite numbers (of ``ndim`` dimensions if given)."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of numbers, got {values!r}") from None
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def positive_array(name: str, values, *, allow_zero: bool = False) -> np.ndarray:
    """``values`` as a 1-D float64 array (a number becomes one entry), every entry finite and
    ``> 0`` (``>= 0`` with ``allow_zero``)."""
    try:
        arr = np.atleast_1d(np.asarray(values, dtype=np.float64))
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or a 1-D array of numbers, got {values!r}") from None
    ok = np.isfinite(arr) & ((arr >= 0) if allow_zero else (arr > 0))
    if not np.all(ok):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'} and finite, got {arr[~ok][0]}")
    return arr


def schedule(steps, stride, **sizes) -> tuple[int, int]:
    """``steps``, ``stride`` and every size in ``sizes`` are integers >= 1 and ``stride`` divides
    ``steps``; returns ``(steps, stride)``."""
    for name, v in {"steps": steps, "stride": stride, **sizes}.items():
        integer(name, v, lo=1)
    if steps % stride:
        raise ValueError(f"stride must divide steps; got stride {stride} for {steps} steps")
    return int(steps), int(stride)
