"""The one place effgrok selects matplotlib's backend and saves a figure.

``matplotlib.use("Agg")`` runs here, before :mod:`matplotlib.pyplot` is imported, so every figure
of :mod:`effgrok.plot` (and of the validation suite, which imports ``plt`` and :func:`save` from
here) renders without a display.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

__all__ = ["plt", "save"]


def save(fig, path, *, dpi: int = 120, tight: bool = False) -> Path:
    """Write ``fig`` as a PNG at ``path`` atomically (a temporary file, then a rename), creating
    the parent folder, and close it (``tight``: lay it out with ``fig.tight_layout()`` first).
    Returns the path."""
    if tight:
        fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=dpi)
    plt.close(fig)
    tmp.replace(path)
    return path
