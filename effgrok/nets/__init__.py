"""JAX networks trained with the papers' protocols, vmapped over seeds and grid points.

One driver, :func:`~effgrok.nets.driver.train` ``(model, optimizer, schedule, runs)``, trains any
:class:`~effgrok.nets.driver.Model` (:class:`MLP`, :class:`EmbedSum`, ...).

The modules import JAX only inside the training functions, so importing this subpackage is
light.  It exports the public names of all its modules (each module's ``__all__``).
"""

from . import digits, driver, engine, lazy_rich, modular, phases, programs, toy, transformer
from .digits import *  # noqa: F403
from .driver import *  # noqa: F403
from .engine import *  # noqa: F403
from .lazy_rich import *  # noqa: F403
from .modular import *  # noqa: F403
from .phases import *  # noqa: F403
from .programs import *  # noqa: F403
from .toy import *  # noqa: F403
from .transformer import *  # noqa: F403

_MODULES = (digits, driver, engine, lazy_rich, modular, phases, programs, toy, transformer)
__all__ = [n for m in _MODULES for n in m.__all__]
