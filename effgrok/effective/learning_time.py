"""The learning-time law of the toy model (issue 27): steps to RQI > 0.95 from the learning rates.

The law, its constants and its derivation are documented in :mod:`effgrok._learning_time`
(pure ``math``, so that ``effgrok predict-time`` answers without importing numba or JAX); this
module is its public home beside the rest of the effective theory.

>>> from effgrok.effective.learning_time import predict_learning_time
>>> round(predict_learning_time(48, 1e-3, 1e-4).steps / predict_learning_time(48, 4e-3, 4e-4).steps, 6)
4.0
"""

from __future__ import annotations

from .. import _learning_time
from .._learning_time import *  # noqa: F403

__all__ = list(_learning_time.__all__)  # the law's public names, listed once, in its module
