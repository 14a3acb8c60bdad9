"""Readable logarithmic axes: tick labels that do not run into each other.

Matplotlib labels some minor ticks of a log axis that spans about one decade (``2×10¹``,
``3×10¹``, ``4×10¹``, ...); at the usual font size those labels overlap.  :func:`log_scale`
chooses the labelled ticks from the span of the axis instead: a few multiples of powers of ten
written as plain numbers when the axis spans up to two decades, powers of ten otherwise, and
never a label on a minor tick.
"""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import FuncFormatter, LogFormatterSciNotation, LogLocator, NullFormatter

__all__ = ["log_scale"]


def _plain(value: float, _pos=None) -> str:
    """A tick value as a short plain number: 0.002, 20, 500, 2e+04."""
    return f"{value:g}"


def log_scale(ax, which: str = "xy", *, only_positive: bool = True) -> None:
    """Put the axes ``which`` (``"x"``, ``"y"`` or ``"xy"``) of ``ax`` on a log scale with
    readable tick labels.

    An axis without positive data (an empty panel) stays linear; with ``only_positive`` so
    does one whose data are not all positive.  Labelled ticks, by the span ``d = log10(hi/lo)`` of the
    view: every 1, 2, ..., 9 × 10^k for ``d < 0.5``; 1, 2, 3, 5, 7 × 10^k for ``d < 1.2``;
    1, 2, 5 × 10^k for ``d ≤ 2`` (plain numbers); 10^k otherwise (matplotlib thins them on
    long axes).  Minor ticks keep their marks but have no labels.

    Example::

        >>> from effgrok.plot import plt
        >>> fig, ax = plt.subplots()
        >>> _ = ax.plot([20, 60], [1, 1e4])
        >>> log_scale(ax)
        >>> ax.get_xscale(), ax.get_yscale()
        ('log', 'log')
        >>> plt.close(fig)
    """
    ax.relim()
    ax.autoscale_view()
    for name in which:
        axis = ax.xaxis if name == "x" else ax.yaxis
        lo = ax.dataLim.intervalx[0] if name == "x" else ax.dataLim.intervaly[0]
        minpos = ax.dataLim.minposx if name == "x" else ax.dataLim.minposy
        if not (np.isfinite(minpos) and minpos > 0) or (only_positive and not lo > 0):
            continue  # no positive data (an empty panel), or some not positive
        (ax.set_xscale if name == "x" else ax.set_yscale)("log")
        low, high = sorted(ax.get_xlim() if name == "x" else ax.get_ylim())
        span = np.log10(high) - np.log10(low) if low > 0 else np.inf
        if span < 0.5:
            axis.set_major_locator(LogLocator(base=10, subs=np.arange(1.0, 10.0)))
            axis.set_major_formatter(FuncFormatter(_plain))
        elif span < 1.2:
            axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 3.0, 5.0, 7.0)))
            axis.set_major_formatter(FuncFormatter(_plain))
        elif span <= 2:
            axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            axis.set_major_formatter(FuncFormatter(_plain))
        else:
            axis.set_major_locator(LogLocator(base=10))  # as many as the axis has room for
            axis.set_major_formatter(LogFormatterSciNotation())
        axis.set_minor_formatter(NullFormatter())
