"""Diagnostics measured on real training runs (issue 10).

* :mod:`effgrok.diagnostics.early` -- early prediction of grokking from the spectral
  signature of the training-loss curve (Notsawo et al. 2023), its AUC against the fraction
  of the budget observed, and a reader for users' CSV loss logs;
* :mod:`effgrok.diagnostics.progress` -- representation progress measures as functions of
  the training step: effective rank of hidden features (Fan et al. 2024), Fourier
  concentration of embeddings (Nanda et al. 2023) and RQI of toy-model embeddings.

* :mod:`effgrok.diagnostics.loaders` and :mod:`effgrok.diagnostics.inspection` (issue 18) --
  users' embeddings and checkpoints (npy/npz/safetensors/CSV, PyTorch with torch installed),
  training splits and operation tables, and effgrok's numbers on them (``effgrok inspect``);

* :mod:`effgrok.diagnostics.weight_norm` -- weight-norm trajectories and Omnigrok's LU
  mechanism (Liu, Michaud & Tegmark 2023): reduced landscape at fixed norm, α-induced grokking
  on scikit-learn's digits;
* :mod:`effgrok.diagnostics.tickets` -- grokking tickets (Minegishi, Iwasawa & Matsuo 2024):
  magnitude-pruned subnetworks against the dense and the norm-matched dense network.

numpy only at import time (no JAX, no matplotlib).
"""

from .early import (
    EarlyPrediction,
    LossLog,
    auc,
    early_prediction_curve,
    read_loss_csv,
    spectral_score,
    spectral_scores,
)
from .inspection import (
    FlowOverlay,
    Inspection,
    InspectionSeries,
    inspect_embedding,
    inspect_series,
    key_frequencies,
    training_split,
)
from .loaders import (
    LoadedEmbedding,
    checkpoint_files,
    load_checkpoints,
    load_embedding,
    load_pairs,
    load_table,
    read_tensors,
)
from .progress import (
    effective_rank,
    fourier_concentration,
    fourier_power,
    participation_ratio,
    rqi_curve,
)
from .tickets import (
    TicketStudy,
    grokking_tickets,
    magnitude_mask,
    norm_matched_init,
    power_match,
    time_to_generalize,
)
from .weight_norm import (
    AlphaSweep,
    LUShape,
    ReducedLandscape,
    alpha_sweep,
    decay_time,
    global_norm,
    lu_shape,
    norm_trajectory,
    reduced_landscape,
)

__all__ = [
    "AlphaSweep",
    "EarlyPrediction",
    "FlowOverlay",
    "Inspection",
    "InspectionSeries",
    "LUShape",
    "LoadedEmbedding",
    "LossLog",
    "ReducedLandscape",
    "TicketStudy",
    "alpha_sweep",
    "auc",
    "checkpoint_files",
    "decay_time",
    "early_prediction_curve",
    "effective_rank",
    "fourier_concentration",
    "fourier_power",
    "global_norm",
    "grokking_tickets",
    "inspect_embedding",
    "inspect_series",
    "key_frequencies",
    "load_checkpoints",
    "load_embedding",
    "load_pairs",
    "load_table",
    "lu_shape",
    "magnitude_mask",
    "norm_matched_init",
    "norm_trajectory",
    "participation_ratio",
    "power_match",
    "read_loss_csv",
    "read_tensors",
    "reduced_landscape",
    "rqi_curve",
    "spectral_score",
    "spectral_scores",
    "time_to_generalize",
    "training_split",
]
