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
    Lightning ``.ckpt``'s ``state_dict.embed.weight``), only when torch is
    installed (``pip install 'effgrok[torch]'``), read with ``torch.load(...,
    weights_only=True)``.

Nothing is ever unpickled.  Every problem -- a missing file, a truncated or corrupt file, an
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
    "TORCH_HINT",
    "LoadedEmbedding",
    "checkpoint_files",
    "load_checkpoints",
    "load_embedding",
    "load_pairs",
    "load_table",
    "read_tensors",
    "step_from_name",
]

#: File suffixes the loaders read.
CHECKPOINT_SUFFIXES = (".npy", ".npz", ".safetensors", ".csv", ".pt", ".pth", ".ckpt")

#: What to install for PyTorch checkpoints.
TORCH_HINT = "install torch, e.g. the optional extra: pip install 'effgrok[torch]'"


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
        raise ValueError("it holds Python objects (reading them would need pickle, which effgrok never uses)")
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


def _read_csv(path: Path) -> dict[str, np.ndarray]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError("not a UTF-8 text file") from None
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise ValueError("the file is empty")
    delim = "\t" if "\t" in lines[0] and "," not in lines[0] else ","
    rows = [[c.strip() for c in r] for r in csv.reader(lines, delimiter=delim)]
    drop_first = False
    if not all(_is_number(c) for c in rows[0]):  # a header row
        drop_first = rows[0][0] == ""  # pandas' unnamed index column
        rows = rows[1:]
        if not rows:
            raise ValueError("no data rows after the header")
    if drop_first:
        rows = [r[1:] for r in rows]
    width = len(rows[0])
    values = np.empty((len(rows), width))
    for i, r in enumerate(rows):
        if len(r) != width:
            raise ValueError(f"data row {i + 1} has {len(r)} fields, the first has {width}")
        for j, c in enumerate(r):
            try:
                values[i, j] = float(c)
            except ValueError:
                raise ValueError(f"data row {i + 1}, field {j + 1}: not a number: {c!r}") from None
    return {"csv": values}


def _flatten(obj, prefix: str, out: dict) -> None:
    import torch

    if isinstance(obj, torch.Tensor):
        t = obj.detach().to("cpu")
        if t.is_complex():
            return
        if t.is_floating_point() and t.dtype not in (torch.float32, torch.float64):
            t = t.to(torch.float64)  # float16, bfloat16, float8: exactly representable
        out[prefix or "tensor"] = t.numpy()
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _flatten(v, f"{prefix}.{k}" if prefix else str(k), out)
    elif isinstance(obj, (list, tuple)):
        for k, v in enumerate(obj):
            _flatten(v, f"{prefix}.{k}" if prefix else str(k), out)


def _read_torch(path: Path) -> dict[str, np.ndarray]:
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        raise ValueError(f"reading PyTorch checkpoints needs torch; {TORCH_HINT}")
    import torch

    obj = torch.load(path, map_location="cpu", weights_only=True)
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

    The format is chosen by the suffix (:data:`CHECKPOINT_SUFFIXES`); nothing is unpickled.
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
    except ValueError as exc:
        if str(exc).startswith("reading PyTorch"):
            raise ValueError(f"{str(path)!r}: {exc}") from None
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

    The tensor is the one named ``tensor``, or else the only 2-D tensor with an axis whose
    length is one of ``rows`` (the number of symbols; a 1-D tensor of that length when no
    2-D tensor has one).  When the symbols lie along axis 1 (e.g. a transformer's ``W_E`` of
    shape ``(d_model, vocab)``) the tensor is transposed, and :attr:`LoadedEmbedding.how`
    says so.  A square tensor takes axis 0.

    Parameters
    ----------
    path : str or Path
        A file of one of :data:`CHECKPOINT_SUFFIXES`.
    rows : int or sequence of int
        Accepted lengths of the symbol axis.
    tensor : str, optional
        Tensor name (``"embed.W_E"``); an unknown name raises a ``ValueError`` listing the
        names that exist.
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
    if M.ndim == 1:
        M = M[:, None]
    elif axis == 1:
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


def _named_tensor(tensors: dict, tensor: str, counts, where: str, want: str):
    """The tensor chosen by name, its symbol axes and how it was chosen."""
    if tensor not in tensors:
        raise ValueError(f"{where}: no tensor named {tensor!r}; the file holds: {_names(tensors)}")
    name, arr = tensor, np.asarray(tensors[tensor])
    if arr.ndim not in (1, 2):
        raise ValueError(f"{where}: tensor {name!r} has shape {arr.shape}; an embedding must be 2-D")
    axes = _symbol_axes(arr.shape, counts)
    if not axes:
        raise ValueError(
            f"{where}: tensor {name!r} has shape {arr.shape}; no axis has the {want} symbols of the task"
        )
    return name, arr, axes, f"tensor {tensor!r} chosen by name"


def _only_candidate(tensors: dict, counts, where: str, want: str):
    """The one numeric tensor with an axis of a symbol count (2-D first, else 1-D)."""
    numeric = {k: np.asarray(v) for k, v in tensors.items() if np.asarray(v).dtype.kind in "fiub"}
    cands = [k for k, v in numeric.items() if v.ndim == 2 and _symbol_axes(v.shape, counts)]
    if not cands:
        cands = [k for k, v in numeric.items() if v.ndim == 1 and v.shape[0] in counts]
    if not cands:
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


def checkpoint_files(spec) -> list[Path]:
    """Checkpoint files of a folder (every file with a readable suffix), a glob pattern or a
    single file, sorted by name."""
    text = str(spec)
    p = Path(text)
    if p.is_dir():
        files = [f for f in p.iterdir() if f.is_file() and f.suffix.lower() in CHECKPOINT_SUFFIXES]
        if not files:
            raise ValueError(f"folder {text!r} holds no checkpoint file ({', '.join(CHECKPOINT_SUFFIXES)})")
    elif glob.has_magic(text):
        files = [Path(f) for f in glob.glob(text) if Path(f).is_file()]
        if not files:
            raise ValueError(f"no file matches {text!r}")
    else:
        files = [_existing_file(p)]
    return sorted(files)


def load_checkpoints(
    spec, rows, *, tensor: str | None = None, steps=None, vocab: int | None = None
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

    Returns
    -------
    steps : ndarray of int64, increasing
    embeddings : list of LoadedEmbedding
    """
    files = checkpoint_files(spec)
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


def load_pairs(path) -> np.ndarray:
    """A training set from a file: integer pairs of symbol labels, shape (n, 2), or a boolean
    (0/1) mask.

    ``.npy``/``.npz`` (one array) or ``.csv`` (two columns ``a,b``, optional header; or a
    single 0/1 column, a mask).  A mask is returned as a bool array of its own shape (1-D
    over the task's examples, or ``(n, n)`` over ordered pairs of symbol indices); pairs as
    int64 ``(n, 2)``.
    """
    _, arr = _only_tensor(path)
    where = f"{str(path)!r}"
    arr = np.asarray(arr)
    if arr.dtype.kind not in "fiub":
        raise ValueError(f"{where}: entries must be numbers, got dtype {arr.dtype}")
    arr = _integer_array(arr, where)
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
