"""JAX networks trained with the papers' protocols, vmapped over seeds and grid points.

The modules import JAX only inside the training functions, so importing this subpackage is
light.  It exports the public names of all its modules (each module's ``__all__``).
"""

from . import digits, engine, lazy_rich, modular, phases, toy, transformer
from .digits import *  # noqa: F403
from .engine import *  # noqa: F403
from .lazy_rich import *  # noqa: F403
from .modular import *  # noqa: F403
from .phases import *  # noqa: F403
from .toy import *  # noqa: F403
from .transformer import *  # noqa: F403

__all__ = [n for m in (digits, engine, lazy_rich, modular, phases, toy, transformer) for n in m.__all__]
