"""Figures of effgrok (matplotlib, Agg backend), one module per area.

Imported lazily by the CLI and the validation suite; the core never imports it (``effgrok --help``
leaves matplotlib unimported).  The backend is chosen once, in :mod:`effgrok.plot._backend`;
:func:`save` is the one way a figure is written, and :func:`log_scale` the one way an axis goes
logarithmic with readable tick labels.  Every ``plot_*`` function takes the library's result
objects (``CriticalResult``, ``Trajectory``, ``Ensemble``, ``ToyRuns``, ``EarlyPrediction``,
``Progress``, ``ReducedLandscape``, ``AlphaSweep``, ``TicketStudy``, ``Inspection``,
``InspectionSeries``, ``GrokkingGap``, ``LinearSimulation``, ``DichotomyRuns``; the dicts of
``ntk_study`` and ``run_phase_diagram``, which have no result class yet) and a path, draws one
figure, saves it as a PNG and returns the path.

=========================  ====================================================================
module                     figures
=========================  ====================================================================
:mod:`.effective`          :func:`plot_critical`, :func:`plot_trajectory`, :func:`plot_embedding`,
                           :func:`plot_ensemble`
:mod:`.kernels`            :func:`plot_ntk`
:mod:`.nets`               :func:`plot_toy_runs`, :func:`plot_phase_diagram`
:mod:`.diagnostics`        :func:`plot_early_prediction`, :func:`plot_scores`, :func:`plot_progress`,
                           :func:`plot_reduced_landscape`, :func:`plot_alpha_sweep`,
                           :func:`plot_tickets`
:mod:`.inspection`         :func:`plot_inspection`, :func:`plot_inspection_series`
:mod:`.solvable`           :func:`plot_linear`, :func:`plot_dichotomy`
=========================  ====================================================================
"""

from __future__ import annotations

from ._backend import plt, save
from ._ticks import log_scale
from .diagnostics import (
    plot_alpha_sweep,
    plot_early_prediction,
    plot_progress,
    plot_reduced_landscape,
    plot_scores,
    plot_tickets,
)
from .effective import plot_critical, plot_embedding, plot_ensemble, plot_trajectory
from .inspection import plot_inspection, plot_inspection_series
from .kernels import plot_ntk
from .nets import plot_phase_diagram, plot_toy_runs
from .solvable import plot_dichotomy, plot_linear

__all__ = [
    "log_scale",
    "plot_alpha_sweep",
    "plot_critical",
    "plot_dichotomy",
    "plot_early_prediction",
    "plot_embedding",
    "plot_ensemble",
    "plot_inspection",
    "plot_inspection_series",
    "plot_linear",
    "plot_ntk",
    "plot_phase_diagram",
    "plot_progress",
    "plot_reduced_landscape",
    "plot_scores",
    "plot_tickets",
    "plot_toy_runs",
    "plot_trajectory",
    "plt",
    "save",
]
