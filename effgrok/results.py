"""Result records: JSON-ready dictionaries, atomic file writes and provenance.

Files are JSON and CSV only (never pickle).  Every write goes to a temporary file in
the target folder and is renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import platform
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .effective.critical import CriticalResult
from .effective.metrics import Accuracy
from .effective.spectrum import GrokkingRate

__all__ = [
    "critical_record",
    "curve_rows",
    "ensemble_record",
    "provenance",
    "rate_record",
    "to_jsonable",
    "trajectory_record",
    "writable_folder",
    "write_csv_atomic",
    "write_json_atomic",
    "write_npz_atomic",
    "write_text_atomic",
]


def to_jsonable(obj):
    """Convert numpy scalars/arrays and non-finite floats (→ ``None``) for strict JSON."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer, int)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else None
    return obj


def rate_record(task, split, rate: GrokkingRate, ideal: Accuracy, seed: int | None) -> dict:
    """JSON-ready record of ``effgrok rate`` for one split."""
    return to_jsonable(
        {
            "task": task.name,
            "p": task.p,
            "n_examples": task.n_examples,
            "n_train": split.n_train,
            "train_fraction": split.fraction,
            "seed": seed,
            "nullity": rate.nullity,
            "full_nullity": rate.full_nullity,
            "pinned": rate.pinned,
            "gram_lambda3": rate.gram_eigenvalue,
            "grokking_rate": rate.grokking_rate,
            "n_h": rate.n_h,
            "learning_rate": rate.learning_rate,
            "z0": rate.z0,
            "normalization": rate.normalization,
            "n_parallelograms": rate.n_parallelograms,
            "ideal_test_accuracy": ideal.test,
            "ideal_accuracy": ideal.overall,
        }
    )


def curve_rows(res: CriticalResult) -> list[dict]:
    """One row per training size of the P(pinned) curve."""
    return [
        {
            "n_train": int(n),
            "fraction": float(n) / res.n_examples,
            "p_pinned": float(pp),
            "p_pinned_ci": [float(lo), float(hi)],
            "splits": res.splits,
        }
        for n, pp, (lo, hi) in zip(res.sizes, res.p_pinned, res.p_pinned_ci, strict=True)
    ]


def critical_record(res: CriticalResult) -> dict:
    """JSON-ready record of ``effgrok critical`` for one task."""
    return to_jsonable(
        {
            "task": res.task,
            "p": res.p,
            "n_examples": res.n_examples,
            "splits": res.splits,
            "seed": res.seed,
            "method": res.method,
            "confidence": res.confidence,
            "r_c": res.r_c,
            "r_c_ci": res.r_c_ci,
            "n_c": res.n_c,
            "n_c_ci": res.n_c_ci,
            "median_size": res.median_size,
            "median_size_ci": res.median_size_ci,
            "median_ci_coverage": res.median_ci_coverage,
            "curve": curve_rows(res),
        }
    )


def _loss_dict(loss) -> dict:
    return {"constraints": loss.constraints, "normalization": loss.normalization, "z": loss.z}


def _sim_common(task, args) -> dict:
    return {
        "task": task.name,
        "p": task.p,
        "seed": args.seed,
        "method": args.method,
        "learning_rate": args.lr,
        "steps": args.steps,
        "dim": args.dim,
        "init": args.init,
        "preset": args.preset,
    }


def trajectory_record(task, split, tr, args) -> dict:
    """JSON-ready record of ``effgrok simulate`` for one trajectory."""
    rec = _sim_common(task, args)
    rec.update(
        {
            "loss": _loss_dict(tr.loss_convention),
            "n_train": split.n_train,
            "train_fraction": split.fraction,
            "stride": int(tr.steps[1] - tr.steps[0]) if tr.steps.size > 1 else None,
            "pinned": tr.pinned,
            "z0": tr.z0,
            "gram_lambda3": tr.gram_eigenvalue,
            "grokking_rate": tr.grokking_rate,
            "n_h": tr.n_h,
            "steps_to_rqi": tr.steps_to_rqi,
            "final_rqi": tr.final_rqi,
            "final_loss": tr.final_loss,
            "predicted_test_acc": tr.final_predicted_test_acc,
            "ideal_test_accuracy": tr.ideal_test_accuracy,
            "integrator_steps": tr.n_steps,
            "trajectory": {
                "step": tr.steps,
                "loss": tr.loss,
                "z": tr.z,
                "rqi": tr.rqi,
                "predicted_test_acc": tr.predicted_test_acc,
            },
        }
    )
    return to_jsonable(rec)


def ensemble_record(task, ens, args) -> dict:
    """JSON-ready record of ``effgrok simulate --ensemble``: per-member arrays and summary statistics."""
    rec = _sim_common(task, args)
    rec.update(
        {
            "loss": _loss_dict(ens.loss_convention),
            "members": ens.size,
            "n_train": ens.n_train,
            "pinned": ens.pinned,
            "z0": ens.z0,
            "n_h": ens.n_h,
            "steps_to_rqi": ens.steps_to_rqi,
            "final_rqi": ens.rqi[:, -1],
            "final_loss": ens.loss[:, -1],
            "predicted_test_acc": ens.predicted_test_acc[:, -1],
            "summary": ens.summary(),
        }
    )
    return to_jsonable(rec)


def provenance(arguments: dict, elapsed: float, started: float) -> dict:
    """Who/what/when of a result file."""
    from . import __version__

    versions = {}
    for mod in ("numpy", "scipy", "numba"):
        m = sys.modules.get(mod)
        if m is not None:
            versions[mod] = getattr(m, "__version__", "?")
    return to_jsonable(
        {
            "effgrok_version": __version__,
            "command": sys.argv,
            "arguments": arguments,
            "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            "elapsed_s": elapsed,
            "python": platform.python_version(),
            "platform": platform.platform(),
            "versions": versions,
        }
    )


def writable_folder(path, what: str = "--out") -> Path:
    """Create the folder ``path`` (with its parents) and prove it writable by writing and
    removing a probe file; a ``ValueError`` naming ``what`` and the reason otherwise (a path
    under a file, under ``/proc`` or ``/sys``, a folder without write permission).

    >>> import tempfile, pathlib
    >>> writable_folder(pathlib.Path(tempfile.mkdtemp()) / "a" / "b").is_dir()
    True
    """
    import tempfile

    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{what} {str(path)!r} exists and is not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ValueError(f"{what} {str(path)!r} cannot be created or written ({reason})") from None
    return path


def write_text_atomic(path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_json_atomic(path, obj) -> Path:
    """Strict JSON (no NaN/Infinity) written atomically."""
    return write_text_atomic(path, json.dumps(to_jsonable(obj), indent=2, allow_nan=False) + "\n")


def write_csv_atomic(path, rows: list[dict], columns: list[str]) -> Path:
    """CSV with a header row, written atomically."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if v is None else v) for k, v in r.items()})
    return write_text_atomic(path, buf.getvalue())


def write_npz_atomic(path, /, **arrays) -> Path:
    """Uncompressed ``.npz`` of plain numeric arrays (loadable with ``allow_pickle=False``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **{k: np.asarray(v) for k, v in arrays.items()})
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def dataclass_dict(obj) -> dict:
    """A frozen result dataclass as a JSON-ready dict."""
    return to_jsonable(asdict(obj))
