"""Loaders for users' embeddings, checkpoints, training splits and operation tables.

Users train their own networks (PyTorch, JAX, NumPy); these functions read what they save
so that :mod:`effgrok.diagnostics.inspection` can put effgrok's numbers on *their* runs.

Formats (chosen by the file name's suffix):

``.npy``
    one array (``numpy.load(..., allow_pickle=False)``);
``.npz``
    named arrays (same);
``.safetensors``
    named tensors through the ``safetensors`` package's NumPy API (no torch needed;
    ``BF16`` tensors, which NumPy has no type for, are widened to float32 exactly);
``.csv``
    one numeric table (an optional header row; a leading unnamed index column, as pandas
    writes, is dropped);
``.pt`` / ``.pth`` / ``.ckpt``
    a PyTorch state dict or checkpoint (nested dicts are flattened to dotted names: a
    Lightning ``.ckpt``'s ``state_dict.embed.weight``), read WITHOUT torch by a restricted
    unpickler (``effgrok.diagnostics._torchfile``) that accepts only the tensor-rebuild
    and container globals a state dict needs and maps its storages to NumPy; anything else --
    a pickled whole model, a malicious file -- is refused before any of it runs.

Nothing else is unpickled.  Every problem -- a missing file, a truncated or corrupt file, an
unknown tensor name, a tensor of the wrong shape, NaN or infinite entries -- raises one
``ValueError`` whose message names the file and the problem (the CLI prints it in one line).
"""

from __future__ import annotations

import csv
import glob
import json
import math
import re
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._checks import integer
from .._record import Result

__all__ = [
    "CHECKPOINT_SUFFIXES",
    "FORMAT_PREFERENCE",
    "LABEL_COLUMNS",
    "NAME_PREFIXES",
    "TORCH_SUFFIXES",
    "LoadedEmbedding",
    "checkpoint_files",
    "load_checkpoints",
    "load_embedding",
    "load_pairs",
    "load_table",
    "read_tensors",
    "select_checkpoints",
    "step_from_name",
]

#: File suffixes the loaders read.
CHECKPOINT_SUFFIXES = (".npy", ".npz", ".safetensors", ".csv", ".pt", ".pth", ".ckpt")

#: Suffixes of PyTorch files (read by a restricted unpickler, without torch).
TORCH_SUFFIXES = (".pt", ".pth", ".ckpt")


# --------------------------------------------------------------------------- raw tensors
def _existing_file(path) -> Path:
    path = Path(path)
    if not path.exists():
        raise ValueError(f"{str(path)!r} does not exist")
    if not path.is_file():
        raise ValueError(f"{str(path)!r} is not a file")
    return path


def _read_npy(path: Path) -> dict[str, np.ndarray]:
    # check the header against the file size first: a corrupt header must not make
    # numpy allocate the array it claims
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, _fortran, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, _fortran, dtype = np.lib.format.read_array_header_2_0(f)
        offset = f.tell()
    if dtype.hasobject:
        raise ValueError("it holds Python objects (reading them would need pickle, never run on NumPy files)")
    need = math.prod(shape) * dtype.itemsize
    have = path.stat().st_size - offset
    if have < need:
        raise ValueError(f"truncated: the header announces {need} data bytes, the file holds {have}")
    with open(path, "rb") as fh:
        arr = np.load(fh, allow_pickle=False)
    return {"array": arr}


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as z:  # closed also when corrupt
        return {name: z[name] for name in z.files}


_ST_DTYPES = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U8": "u1",
    "BOOL": "?",
}


def _read_safetensors_header(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a (valid) safetensors file, BF16 widened to float32 exactly."""
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        lo, hi = info["data_offsets"]
        raw = data[base + lo : base + hi]
        shape = tuple(info["shape"])
        if info["dtype"] == "BF16":
            bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            out[name] = bits.view(np.float32).reshape(shape)
        elif info["dtype"] in _ST_DTYPES:
            out[name] = np.frombuffer(raw, dtype=_ST_DTYPES[info["dtype"]]).reshape(shape)
        else:
            raise ValueError(f"tensor {name!r} has dtype {info['dtype']}, which effgrok cannot read")
    return out


def _read_safetensors(path: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    try:
        return load_file(str(path))
    except TypeError as exc:  # a dtype numpy lacks (bfloat16); the header itself is valid
        if "bfloat16" not in str(exc):
            raise
        return _read_safetensors_header(path)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _csv_rows(path: Path) -> tuple[list[list[str]], list[int]]:
    """A CSV (or tab-separated) file's data lines split into stripped fields, and each one's
    line number; blank lines and ``#`` comments are skipped."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError("not a UTF-8 text file") from None
    numbered = [
        (n + 1, ln)
        for n, ln in enumerate(text.splitlines())
        if ln.strip() and not ln.lstrip().startswith("#")
    ]
    if not numbered:
        raise ValueError("the file is empty")
    first = numbered[0][1]
    delim = "\t" if "\t" in first and "," not in first else ","
    rows = [[c.strip() for c in r] for r in csv.reader([ln for _, ln in numbered], delimiter=delim)]
    return rows, [n for n, _ in numbered]


def _csv_table(path: Path) -> tuple[list[str] | None, np.ndarray, list[int]]:
    """A numeric CSV: its header (lower-cased; None when the first row is numbers), its values
    (float64, one row a data line, as wide as the header) and each data line's number.  A
    pandas index column (an empty first header field) is left out."""
    rows, lines = _csv_rows(path)
    header, skip = None, 0
    if not all(_is_number(c) for c in rows[0]):
        header, rows, lines = [h.lower() for h in rows[0]], rows[1:], lines[1:]
        if not rows:
            raise ValueError("no data rows after the header")
        if header[0] == "" and len(header) > 1:  # pandas' unnamed index column
            header, rows, skip = header[1:], [r[1:] for r in rows], 1
    width = len(header) if header is not None else len(rows[0])
    values = np.empty((len(rows), width))
    for i, r in enumerate(rows):
        if len(r) != width:
            raise ValueError(f"line {lines[i]}: {len(r) + skip} fields, expected {width + skip}")
        for j, c in enumerate(r):
            try:
                values[i, j] = float(c)
            except ValueError:
                raise ValueError(f"line {lines[i]}, field {j + 1 + skip}: not a number: {c!r}") from None
    return header, values, lines


def _read_csv(path: Path) -> dict[str, np.ndarray]:
    return {"csv": _csv_table(path)[1]}


def _flatten(obj, prefix: str, out: dict) -> None:
    """Arrays of nested dicts, lists and tuples under dotted names (``model.embed.weight``)."""
    if isinstance(obj, np.ndarray):
        out[prefix or "tensor"] = obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _flatten(v, f"{prefix}.{k}" if prefix else str(k), out)
    elif isinstance(obj, (list, tuple)):
        for k, v in enumerate(obj):
            _flatten(v, f"{prefix}.{k}" if prefix else str(k), out)


class _PlainError(ValueError):
    """A message that is complete as it is (the file's name in front, nothing more)."""


def _read_torch(path: Path) -> dict[str, np.ndarray]:
    from ._torchfile import NotATorchFile, RefusedGlobal, read_torch_file

    try:
        obj = read_torch_file(path)
    except NotATorchFile:
        raise _PlainError(
            "not a PyTorch file (neither the zip archive nor the legacy format that torch.save writes)"
        ) from None
    except RefusedGlobal as exc:
        if exc.whole_model:
            raise _PlainError(
                f"holds a pickled whole model (class {exc}), which effgrok does not unpickle; "
                "save `model.state_dict()` instead: torch.save(model.state_dict(), path)"
            ) from None
        raise _PlainError(
            f"refused: its pickle calls {exc}, which is neither a tensor nor a plain container (nothing "
            "in the file was run); save the tensors alone: torch.save(model.state_dict(), path)"
        ) from None
    out: dict[str, np.ndarray] = {}
    _flatten(obj, "", out)
    return out


_READERS = {
    ".npy": _read_npy,
    ".npz": _read_npz,
    ".safetensors": _read_safetensors,
    ".csv": _read_csv,
    ".pt": _read_torch,
    ".pth": _read_torch,
    ".ckpt": _read_torch,
}


def read_tensors(path) -> dict[str, np.ndarray]:
    """Every tensor in a file, by name (``.npy``: ``"array"``; ``.csv``: ``"csv"``).

    The format is chosen by the suffix (:data:`CHECKPOINT_SUFFIXES`); PyTorch files are read
    by a restricted unpickler that runs nothing but effgrok's own tensor rebuilding.
    Any unreadable file raises one ``ValueError`` naming the file.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "E.npz"
    >>> np.savez(f, W_E=np.zeros((5, 3)), b=np.ones(3))
    >>> {k: v.shape for k, v in sorted(read_tensors(f).items())}
    {'W_E': (5, 3), 'b': (3,)}
    """
    path = _existing_file(path)
    suffix = path.suffix.lower()
    if suffix not in _READERS:
        raise ValueError(
            f"{str(path)!r}: unknown file type {path.suffix or '(no suffix)'!r}; "
            f"allowed: {', '.join(CHECKPOINT_SUFFIXES)}"
        )
    try:
        tensors = _READERS[suffix](path)
    except _PlainError as exc:
        raise ValueError(f"{str(path)!r}: {exc}") from None
    except ValueError as exc:
        raise ValueError(f"{str(path)!r}: not a readable {suffix} file: {exc}") from None
    except MemoryError:
        raise ValueError(
            f"{str(path)!r}: not a readable {suffix} file (it claims more memory than exists)"
        ) from None
    except Exception as exc:  # corrupt or truncated files raise many types (zip, OS, pickle guard ...)
        msg = " ".join(str(exc).split()) or type(exc).__name__
        raise ValueError(f"{str(path)!r}: not a readable {suffix} file: {msg[:300]}") from None
    if not tensors:
        raise ValueError(f"{str(path)!r}: the file holds no tensor")
    return {k: _plain(v) for k, v in tensors.items()}


def _plain(arr):
    """Extension float types (``bfloat16``, ``float8_*`` of ml_dtypes, which JAX registers with
    NumPy) widened to float32, exactly."""
    arr = np.asarray(arr)
    if arr.dtype.kind == "V" and "float" in arr.dtype.name:
        return arr.astype(np.float32)
    return arr


# --------------------------------------------------------------------------- embeddings
@dataclass(frozen=True)
class LoadedEmbedding(Result):
    """An embedding matrix read from a file (see :func:`load_embedding`).

    Attributes
    ----------
    matrix : ndarray of float64, shape (rows, dims)
        Symbols along the rows.
    path : str
        The file.
    tensor : str
        Name of the tensor taken.
    axis : int
        The tensor axis taken as the symbol axis (1: the tensor was transposed).
    shape : tuple of int
        The tensor's shape in the file.
    how : str
        How the tensor was chosen, in words.
    """

    matrix: np.ndarray
    path: str
    tensor: str
    axis: int
    shape: tuple
    how: str

    def record(self) -> dict:
        """JSON-ready description (the matrix itself left out)."""
        return {
            "file": self.path,
            "tensor": self.tensor,
            "tensor_shape": list(self.shape),
            "symbol_axis": self.axis,
            "how": self.how,
            "embedding_shape": list(self.matrix.shape),
        }


def _row_counts(rows) -> tuple[int, ...]:
    counts = (rows,) if isinstance(rows, (int, np.integer)) else tuple(rows)
    if not counts or any(
        isinstance(r, bool) or not isinstance(r, (int, np.integer)) or r < 1 for r in counts
    ):
        raise ValueError(f"rows must be a positive integer or a sequence of them, got {rows!r}")
    return tuple(dict.fromkeys(int(r) for r in counts))


def _names(tensors: dict) -> str:
    items = [f"{k} {tuple(np.shape(v))}" for k, v in sorted(tensors.items())]
    more = f" and {len(items) - 20} more" if len(items) > 20 else ""
    return ", ".join(items[:20]) + more


def _symbol_axes(shape, counts) -> list[int]:
    return [a for a in range(len(shape)) if shape[a] in counts]


def _check_finite(M: np.ndarray, where: str) -> None:
    bad = ~np.isfinite(M)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(
            f"{where} has {int(bad.sum())} NaN or infinite entries (first at row {i}, column {j})"
        )


def load_embedding(path, rows, *, tensor: str | None = None, vocab: int | None = None) -> LoadedEmbedding:
    """Read an embedding matrix (symbols × dims) from a file.

    The tensor is the one named ``tensor`` (or, when no tensor has that name, the only one
    that has it after a wrapper's ``model.``, ``module.`` or ``state_dict.`` prefixes), or
    else the only 2-D tensor with an axis whose length is one of ``rows`` (the number of
    symbols).  A 1-D tensor (a bias) is never an embedding.  When the symbols lie along
    axis 1 (e.g. a transformer's ``W_E`` of shape ``(d_model, vocab)``) the tensor is
    transposed, and :attr:`LoadedEmbedding.how` says so.  A square tensor takes axis 0.

    Parameters
    ----------
    path : str or Path
        A file of one of :data:`CHECKPOINT_SUFFIXES`.
    rows : int or sequence of int
        Accepted lengths of the symbol axis.
    tensor : str, optional
        Tensor name (``"embed.W_E"``; ``"embed.weight"`` also finds ``model.embed.weight``
        when that is the only match); an unknown name raises a ``ValueError`` listing the
        names that exist, an ambiguous one the names it matches.
    vocab : int, optional
        The symbol axis has this many entries (a vocabulary with extra tokens, e.g. the
        ``p + 1`` rows of a transformer with an ``=`` token) and its first ``min(rows)`` are
        the task's symbols, in order.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "E.npz"
    >>> np.savez(f, W_E=np.arange(12.0).reshape(3, 4), b=np.ones(4))
    >>> e = load_embedding(f, 4)
    >>> e.tensor, e.matrix.shape, e.axis
    ('W_E', (4, 3), 1)
    >>> load_embedding(f, 3, vocab=4).matrix.shape     # the first 3 of 4 vocabulary entries
    (3, 3)
    """
    counts = _row_counts(rows)
    keep = None
    if vocab is not None:
        integer("vocab", vocab, lo=min(counts))  # at least the task's symbols
        keep, counts = min(counts), (int(vocab),)
    tensors = read_tensors(path)
    where = f"{str(path)!r}"
    want = " or ".join(str(c) for c in counts)
    if tensor is not None:
        name, arr, axes, how = _named_tensor(tensors, tensor, counts, where, want)
    else:
        name, arr, axes, how = _only_candidate(tensors, counts, where, want)
    if arr.dtype.kind not in "fiub":
        raise ValueError(f"{where}: tensor {name!r} has dtype {arr.dtype}, not numbers")
    axis = axes[0]
    M = np.asarray(arr, dtype=np.float64)
    if axis == 1:
        M = M.T
        how += "; its axis 1 holds the symbols (transposed)"
    else:
        how += "; its axis 0 holds the symbols"
    if keep is not None:
        M = M[:keep]
        how += f"; its first {keep} of {vocab} entries are the task's symbols"
    _check_finite(M, f"{where}: tensor {name!r}")
    M = np.ascontiguousarray(M)
    M.setflags(write=False)
    return LoadedEmbedding(matrix=M, path=str(path), tensor=name, axis=axis, shape=tuple(arr.shape), how=how)


#: Prefixes a wrapper adds to a state dict's names (``DataParallel``'s ``module.``, a
#: Lightning ``.ckpt``'s ``state_dict.``, a checkpoint's ``{"model": ...}``), nested or not.
NAME_PREFIXES = ("model.", "module.", "state_dict.")


def _strip_prefixes(name: str) -> str:
    """``name`` without its leading :data:`NAME_PREFIXES` (``module.model.embed.weight`` ->
    ``embed.weight``)."""
    while True:
        for pre in NAME_PREFIXES:
            if name.startswith(pre) and len(name) > len(pre):
                name = name[len(pre) :]
                break
        else:
            return name


def _match_name(tensors: dict, tensor: str, where: str) -> tuple[str, str]:
    """The tensor called ``tensor``, or else the only one equal to it after wrapper prefixes
    (:data:`NAME_PREFIXES`), and how it was chosen."""
    if tensor in tensors:
        return tensor, f"tensor {tensor!r} chosen by name"
    bare = _strip_prefixes(tensor)
    found = sorted(k for k in tensors if _strip_prefixes(k) == bare)
    if len(found) == 1:
        return found[0], f"tensor {found[0]!r} chosen by name ({tensor!r} after a wrapper's prefix)"
    if found:
        raise ValueError(
            f"{where}: {len(found)} tensors match {tensor!r} after a model./module./state_dict. prefix: "
            f"{', '.join(found)}; give the full name (--tensor NAME)"
        )
    raise ValueError(f"{where}: no tensor named {tensor!r}; the file holds: {_names(tensors)}")


def _named_tensor(tensors: dict, tensor: str, counts, where: str, want: str):
    """The tensor chosen by name, its symbol axes and how it was chosen."""
    name, how = _match_name(tensors, tensor, where)
    arr = np.asarray(tensors[name])
    if arr.ndim != 2:
        raise ValueError(
            f"{where}: tensor {name!r} has shape {arr.shape}; an embedding must be 2-D (symbols × dims)"
        )
    axes = _symbol_axes(arr.shape, counts)
    if not axes:
        raise ValueError(
            f"{where}: tensor {name!r} has shape {arr.shape}; no axis has the {want} symbols of the task"
        )
    return name, arr, axes, how


def _only_candidate(tensors: dict, counts, where: str, want: str):
    """The one numeric 2-D tensor with an axis of a symbol count (1-D tensors -- biases --
    are never embeddings)."""
    numeric = {k: np.asarray(v) for k, v in tensors.items() if np.asarray(v).dtype.kind in "fiub"}
    cands = [k for k, v in numeric.items() if v.ndim == 2 and _symbol_axes(v.shape, counts)]
    if not cands:
        ones = sorted(k for k, v in numeric.items() if v.ndim == 1 and v.shape[0] in counts)
        if ones:
            raise ValueError(
                f"{where}: no 2-D tensor has an axis of length {want} (the task's symbols); "
                f"1-D tensors are not embeddings: {_names({k: numeric[k] for k in ones})}"
            )
        raise ValueError(
            f"{where}: no 2-D tensor has an axis of length {want} (the task's symbols); "
            f"the file holds: {_names(tensors)}"
        )
    if len(cands) > 1:
        raise ValueError(
            f"{where}: {len(cands)} tensors have an axis of length {want}: "
            f"{', '.join(sorted(cands))}; choose one by name (--tensor NAME)"
        )
    arr = numeric[cands[0]]
    how = f"the only {arr.ndim}-D tensor with an axis of length {want}"
    return cands[0], arr, _symbol_axes(arr.shape, counts), how


# --------------------------------------------------------------------------- checkpoint series
_STEP = re.compile(r"(\d+)")


def step_from_name(path) -> int | None:
    """The step in a checkpoint's file name: the last run of digits in its stem.

    Examples
    --------
    >>> step_from_name("runs/ckpt_step=001500.safetensors"), step_from_name("final.pt")
    (1500, None)
    """
    found = _STEP.findall(Path(path).stem)
    return int(found[-1]) if found else None


#: Checkpoint formats of a folder, in order of preference: a folder holding several is read
#: in the first (``.pt``, ``.pth`` and ``.ckpt`` are one format).
FORMAT_PREFERENCE = ((".safetensors",), TORCH_SUFFIXES, (".npz",), (".npy",), (".csv",))


def _format_of(path: Path) -> tuple[str, ...] | None:
    suffix = path.suffix.lower()
    return next((fmt for fmt in FORMAT_PREFERENCE if suffix in fmt), None)


def _fmt_name(fmt) -> str:
    return "/".join(fmt)


def select_checkpoints(spec, *, named_steps: bool = True) -> tuple[list[Path], list[str]]:
    """Checkpoint files of a folder, a glob pattern or a single file, sorted by name, and notes
    on the files left out.

    A folder (or glob) holding several formats is read in one, the first of
    :data:`FORMAT_PREFERENCE` present (safetensors first); the others' files are left out, and
    one note says so.  Files of other suffixes (``README``, ``config.json``) are left out
    silently.  With ``named_steps``, files whose name has no step number (``metrics.csv``,
    ``final.pt``) are left out too, with a note, when some file of the format has one.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("ckpt_10.safetensors", "ckpt_10.pt", "metrics.csv", "README"):
    ...     _ = (d / name).write_text("")
    >>> files, notes = select_checkpoints(d)
    >>> [f.name for f in files]
    ['ckpt_10.safetensors']
    >>> print(notes[0])
    1 .pt/.pth/.ckpt and 1 .csv files left out: the folder also holds .safetensors files, which are read
    """
    text = str(spec)
    p = Path(text)
    if p.is_dir():
        files = [f for f in p.iterdir() if f.is_file() and _format_of(f) is not None]
        if not files:
            raise ValueError(f"folder {text!r} holds no checkpoint file ({', '.join(CHECKPOINT_SUFFIXES)})")
    elif glob.has_magic(text):
        files = [Path(f) for f in glob.glob(text) if Path(f).is_file()]
        if not files:
            raise ValueError(f"no file matches {text!r}")
        if any(_format_of(f) is None for f in files):
            bad = next(f for f in files if _format_of(f) is None)
            raise ValueError(
                f"{text!r} matches {bad.name!r}, of unknown file type; "
                f"allowed: {', '.join(CHECKPOINT_SUFFIXES)}"
            )
    else:
        return [_existing_file(p)], []
    notes = []
    formats = {_format_of(f) for f in files}
    chosen = next(fmt for fmt in FORMAT_PREFERENCE if fmt in formats)
    if len(formats) > 1:
        left = [
            f"{sum(_format_of(f) == fmt for f in files)} {_fmt_name(fmt)}"
            for fmt in FORMAT_PREFERENCE
            if fmt in formats and fmt != chosen
        ]
        where = "folder" if p.is_dir() else "pattern"
        notes.append(
            f"{' and '.join(left)} files left out: the {where} also holds {_fmt_name(chosen)} files, "
            "which are read"
        )
        files = [f for f in files if _format_of(f) == chosen]
    if named_steps:
        unnamed = sorted(f.name for f in files if step_from_name(f) is None)
        if unnamed and len(unnamed) < len(files):
            notes.append(f"left out, no step number in the name: {', '.join(unnamed)}")
            files = [f for f in files if step_from_name(f) is not None]
    return sorted(files), notes


def checkpoint_files(spec) -> list[Path]:
    """Checkpoint files of a folder, a glob pattern or a single file, sorted by name (the files
    :func:`select_checkpoints` keeps, without its notes)."""
    return select_checkpoints(spec, named_steps=False)[0]


def load_checkpoints(
    spec,
    rows,
    *,
    tensor: str | None = None,
    steps=None,
    vocab: int | None = None,
    notes: list | None = None,
) -> tuple[np.ndarray, list[LoadedEmbedding]]:
    """Embeddings of a series of checkpoints, ordered by step.

    Parameters
    ----------
    spec : str or Path
        A folder, a glob pattern (``"run/ckpt_*.safetensors"``) or one file.
    rows, tensor, vocab
        As in :func:`load_embedding` (the same tensor name in every file).
    steps : sequence of int, optional
        One step per file in name order; default: read from each file name
        (:func:`step_from_name`).
    notes : list, optional
        :func:`select_checkpoints`' notes on the files left out are appended to it (once each).

    Returns
    -------
    steps : ndarray of int64, increasing
    embeddings : list of LoadedEmbedding
    """
    files, left_out = select_checkpoints(spec, named_steps=steps is None)
    if notes is not None:
        notes.extend(left_out)
    if steps is None:
        found = [step_from_name(f) for f in files]
        missing = [f.name for f, s in zip(files, found, strict=True) if s is None]
        if missing:
            raise ValueError(f"no step number in the file name {missing[0]!r}; give the steps (--steps)")
        st = np.asarray(found, dtype=np.int64)
    else:
        st = np.asarray(steps)
        if st.ndim != 1 or st.size != len(files) or not np.issubdtype(st.dtype, np.integer):
            raise ValueError(
                f"give one integer step per checkpoint file ({len(files)} files), got {list(steps)!r}"
            )
        st = st.astype(np.int64)
    if np.unique(st).size != st.size:
        dup = st[np.flatnonzero(np.bincount(np.unique(st, return_inverse=True)[1]) > 1)[0]]
        raise ValueError(f"two checkpoint files have step {dup}; give the steps (--steps)")
    order = np.argsort(st, kind="stable")
    embs = [load_embedding(files[i], rows, tensor=tensor, vocab=vocab) for i in order]
    shapes = {e.matrix.shape for e in embs}
    if len(shapes) > 1:
        raise ValueError(f"the checkpoints' embeddings differ in shape: {sorted(shapes)}")
    return st[order], embs


# --------------------------------------------------------------------------- splits and tables
def _integer_array(arr: np.ndarray, where: str) -> np.ndarray:
    if arr.dtype == bool:
        return arr
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)) or np.any(np.abs(arr) > 2**53):
            raise ValueError(f"{where}: entries must be integers (of magnitude at most 2**53)")
        return arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        raise ValueError(f"{where}: entries must be integers, got dtype {arr.dtype}")
    return arr.astype(np.int64)


def _only_tensor(path) -> tuple[str, np.ndarray]:
    tensors = read_tensors(path)
    if len(tensors) != 1:
        raise ValueError(f"{str(path)!r}: expected one array, the file holds: {_names(tensors)}")
    return next(iter(tensors.items()))


#: Header names of a pairs CSV's label column (the result ``a ∘ b``), case-insensitive.
LABEL_COLUMNS = ("label", "result", "c", "target", "answer")


def _pairs_csv(path: Path) -> tuple[np.ndarray, np.ndarray | None, list[int]]:
    """A pairs CSV: the numeric table's ``a, b`` columns (by header name, or the first two),
    its label column (or None) and each data row's line number."""
    try:
        header, values, lines = _csv_table(path)
    except ValueError as exc:
        sep = ", " if str(exc).startswith("line ") else ": "
        raise ValueError(f"{str(path)!r}{sep}{exc}") from None
    width = values.shape[1]
    if header is None:  # a, b[, label]; or a 0/1 mask (one column, or p × p over ordered pairs)
        if width == 3:
            return values[:, :2], values[:, 2], lines
        return values, None, lines
    if len(header) == 1:
        return values, None, lines
    labels = [h for h in header if h in LABEL_COLUMNS]
    if "a" in header and "b" in header:
        ia, ib = header.index("a"), header.index("b")
    elif len(header) - len(labels) == 2:
        ia, ib = (k for k, h in enumerate(header) if h not in LABEL_COLUMNS)
    else:
        raise ValueError(
            f"{str(path)!r}: the header {','.join(header)!r} has no columns 'a' and 'b' "
            f"(and an optional label column: {', '.join(LABEL_COLUMNS)})"
        )
    if len(labels) > 1:
        raise ValueError(f"{str(path)!r}: several label columns: {', '.join(labels)}; keep one")
    lab = values[:, header.index(labels[0])] if labels else None
    return values[:, [ia, ib]], lab, lines


def _check_labels(path, pairs: np.ndarray, labels: np.ndarray, lines, task) -> None:
    """Each row's label equals the task's ``a ∘ b`` (one line naming the first row that does not)."""
    labels = _integer_array(labels, f"{str(path)!r}: label column")
    lookup = {int(v): k for k, v in enumerate(task.symbols)}
    for r, ((a, b), c) in enumerate(zip(pairs.tolist(), labels.tolist(), strict=True)):
        if a not in lookup or b not in lookup:
            continue  # the split reports symbols out of range
        x = int(task.example_index(lookup[a], lookup[b]))
        want = int(task.result_labels[task.results[x]])
        if c != want:
            raise ValueError(
                f"{str(path)!r}, line {lines[r]}: the label of ({a}, {b}) is {c}, but "
                f"{task.name} gives {want}"
            )


def load_pairs(path, *, task=None) -> np.ndarray:
    """A training set from a file: integer pairs of symbol labels, shape (n, 2), or a boolean
    (0/1) mask.

    ``.npy``/``.npz`` (one array) or ``.csv``: columns ``a,b`` found by their header names
    (any order, other columns named ``a``/``b`` or not; a leading pandas index column is
    dropped) or, without a header, the first two; an optional label column (the result
    ``a ∘ b``: a header name of :data:`LABEL_COLUMNS`, or a third column without a header),
    checked against ``task`` when one is given (a wrong label raises a ``ValueError`` naming
    its line); or a single 0/1 column, a mask.  A mask is returned as a bool array of its own
    shape (1-D over the task's examples, or ``(n, n)`` over ordered pairs of symbol indices);
    pairs as int64 ``(n, 2)``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from effgrok.tasks import make_task
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "train.csv"
    >>> _ = f.write_text("b,a,label\\n1,2,3\\n0,4,4\\n")
    >>> load_pairs(f, task=make_task("add-mod", 5)).tolist()
    [[2, 1], [4, 0]]
    """
    where = f"{str(path)!r}"
    if Path(path).suffix.lower() == ".csv":
        arr, labels, lines = _pairs_csv(_existing_file(path))
    else:
        _, arr = _only_tensor(path)
        labels = None
    arr = np.asarray(arr)
    if arr.dtype.kind not in "fiub":
        raise ValueError(f"{where}: entries must be numbers, got dtype {arr.dtype}")
    arr = _integer_array(arr, where)
    if labels is not None and task is not None:
        _check_labels(path, arr, labels, lines, task)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.dtype != bool and (arr.ndim == 1 or (arr.ndim == 2 and arr.shape[0] == arr.shape[1] != 2)):
        if arr.size and np.all((arr == 0) | (arr == 1)):
            arr = arr.astype(bool)
    if arr.dtype == bool:
        if arr.ndim not in (1, 2) or arr.size == 0:
            raise ValueError(f"{where}: a training mask must be 1-D or square 2-D, got shape {arr.shape}")
        return arr
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] == 0:
        raise ValueError(
            f"{where}: expected training pairs of shape (n, 2) or a 0/1 mask, got shape {arr.shape}"
        )
    return arr


def load_table(path) -> np.ndarray:
    """An operation table ``table[a, b]`` (square, integer result labels) from a file."""
    _, arr = _only_tensor(path)
    where = f"{str(path)!r}"
    arr = _integer_array(np.asarray(arr), where)
    if arr.dtype == bool:
        arr = arr.astype(np.int64)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] < 2:
        raise ValueError(
            f"{where}: an operation table must be a square matrix (n >= 2), got shape {arr.shape}"
        )
    return arr
