"""Effective theory of representation learning (Liu et al. 2022): numpy/scipy/numba only.

The subpackage exports the public names of all its modules (each module's ``__all__``).
"""

import sys as _sys

from .constraints import *  # noqa: F403
from .critical import *  # noqa: F403
from .dynamics import *  # noqa: F403
from .learning_time import *  # noqa: F403
from .metrics import *  # noqa: F403
from .simulation import *  # noqa: F403
from .spectrum import *  # noqa: F403

_MODULES = ("constraints", "critical", "dynamics", "learning_time", "metrics", "simulation", "spectrum")
__all__ = [n for m in _MODULES for n in _sys.modules[f"{__name__}.{m}"].__all__]
