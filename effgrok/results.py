"""Result files: atomic JSON/CSV/npz writers, provenance and one :func:`save`.

I/O only: the records themselves come from the result classes (``record()``, ``tables()``) and
the command line.  Files are JSON, CSV and npz only (never pickle).  Every write goes to a temporary file in
the target folder and is renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import csv
import io
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ._record import jsonable as to_jsonable  # the public name of the one JSON converter

__all__ = [
    "provenance",
    "save",
    "to_jsonable",
    "writable_folder",
    "write_csv_atomic",
    "write_json_atomic",
    "write_npz_atomic",
    "write_text_atomic",
]


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


def _write_atomic(path, mode: str, write, **open_kw) -> Path:
    """Create ``path``'s folder, call ``write(fh)`` on a temporary file beside ``path`` opened
    with ``mode``, then sync it and rename it onto ``path`` (removed again on any failure)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **open_kw) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_text_atomic(path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and an atomic rename."""
    return _write_atomic(path, "w", lambda fh: fh.write(text), encoding="utf-8", newline="")


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
    plain = {k: np.asarray(v) for k, v in arrays.items()}
    return _write_atomic(path, "wb", lambda fh: np.savez(fh, **plain))


def save(folder, name: str, body: dict, *, provenance: dict | None = None, tables=None, arrays=None) -> Path:
    """Write one result under ``folder``: a CSV per entry of ``tables`` (``stem -> rows`` with the
    first row's keys as columns, or ``stem -> (rows, columns)``), an ``.npz`` per entry of
    ``arrays`` (``stem -> {name: array}``), then ``<name>.json`` holding ``provenance`` (if
    given) and ``body``.  Returns the JSON file's path.

    >>> import tempfile, json, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> p = save(d, "demo", {"result": {"x": 1.0}}, tables={"rows": [{"a": 1, "b": None}]})
    >>> json.loads(p.read_text()), (d / "rows.csv").read_text().splitlines()
    ({'result': {'x': 1.0}}, ['a,b', '1,'])
    """
    folder = Path(folder)
    for stem, table in (tables or {}).items():
        rows, columns = table if isinstance(table, tuple) else (table, list(table[0]))
        write_csv_atomic(folder / f"{stem}.csv", rows, columns)
    for stem, named in (arrays or {}).items():
        write_npz_atomic(folder / f"{stem}.npz", **named)
    head = {} if provenance is None else {"provenance": provenance}
    return write_json_atomic(folder / f"{name}.json", {**head, **body})
