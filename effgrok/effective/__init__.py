"""Effective theory of representation learning (Liu et al. 2022): numpy/scipy/numba only.

The subpackage exports the public names of all its modules (each module's ``__all__``).
"""

from . import constraints, critical, dynamics, metrics, simulation, spectrum
from .constraints import *  # noqa: F403
from .critical import *  # noqa: F403
from .dynamics import *  # noqa: F403
from .metrics import *  # noqa: F403
from .simulation import *  # noqa: F403
from .spectrum import *  # noqa: F403

__all__ = [n for m in (constraints, critical, dynamics, metrics, simulation, spectrum) for n in m.__all__]
