"""Diagnostics measured on real training runs (issue 10).

* :mod:`effgrok.diagnostics.early` -- early prediction of grokking from the spectral
  signature of the training-loss curve (Notsawo et al. 2023), its AUC against the fraction
  of the budget observed, and a reader for users' CSV loss logs;
* :mod:`effgrok.diagnostics.progress` -- representation progress measures as functions of
  the training step: effective rank of hidden features (Fan et al. 2024), Fourier
  concentration of embeddings (Nanda et al. 2023) and RQI of toy-model embeddings.

* :mod:`effgrok.diagnostics.loaders` and :mod:`effgrok.diagnostics.inspection` (issue 18) --
  users' embeddings and checkpoints (npy/npz/safetensors/CSV, PyTorch state dicts read without torch),
  training splits and operation tables, and effgrok's numbers on them (``effgrok inspect``);
  :mod:`effgrok.diagnostics.network` (issue 24) -- a whole modular network run from its
  weights: accuracy, loss and Nanda et al.'s restricted/excluded loss and key-frequency share;

* :mod:`effgrok.diagnostics.weight_norm` -- weight-norm trajectories and Omnigrok's LU
  mechanism (Liu, Michaud & Tegmark 2023): reduced landscape at fixed norm, α-induced grokking
  on scikit-learn's digits;
* :mod:`effgrok.diagnostics.tickets` -- grokking tickets (Minegishi, Iwasawa & Matsuo 2024):
  magnitude-pruned subnetworks against the dense and the norm-matched dense network.

numpy only at import time (no JAX, no matplotlib).  The subpackage exports the public names of
all its modules (each module's ``__all__``).
"""

from . import early, inspection, loaders, network, progress, tickets, weight_norm
from .early import *  # noqa: F403
from .inspection import *  # noqa: F403
from .loaders import *  # noqa: F403
from .network import *  # noqa: F403
from .progress import *  # noqa: F403
from .tickets import *  # noqa: F403
from .weight_norm import *  # noqa: F403

_MODULES = (early, inspection, loaders, network, progress, tickets, weight_norm)
__all__ = [n for m in _MODULES for n in m.__all__]
