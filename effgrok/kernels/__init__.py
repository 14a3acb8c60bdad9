"""Kernel theory of lazy→rich grokking: empirical and infinite-width NTKs, alignment, lazy predictions.

JAX and neural-tangents are imported only when a function needs them.  The subpackage exports
the public names of all its modules (each module's ``__all__``).
"""

from . import alignment, hermite, lazy_rich, ntk, study
from .alignment import *  # noqa: F403
from .hermite import *  # noqa: F403
from .lazy_rich import *  # noqa: F403
from .ntk import *  # noqa: F403
from .study import *  # noqa: F403

__all__ = [n for m in (alignment, hermite, lazy_rich, ntk, study) for n in m.__all__]
