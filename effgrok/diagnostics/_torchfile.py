"""PyTorch ``.pt`` / ``.pth`` / ``.ckpt`` files read without torch, by a restricted unpickler.

``torch.save`` writes a pickle whose tensors are calls of a few rebuild functions on
*storages* (raw byte buffers kept beside the pickle).  :func:`read_torch_file` unpickles with
a ``find_class`` that never imports anything: each global the file names is looked up in a
fixed table of effgrok's own stand-ins (:data:`_SAFE`); a name outside the table -- a whole
model's ``torch.nn`` class, or ``os.system`` in a malicious file -- raises
:class:`RefusedGlobal` *before* anything of it is run.  The stand-ins build NumPy arrays:

``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)``
    the view ``storage[offset + Σ_i k_i stride_i]`` for ``0 ≤ k_i < size_i``, copied (after a
    bounds check: a crafted size or stride reaching past the storage is refused);
``torch._utils._rebuild_parameter(data, ...)`` (and ``_with_state``)
    ``data``;
``torch.FloatStorage``, ``torch.HalfStorage``, ... (and ``torch.UntypedStorage`` with
``_rebuild_tensor_v3``'s dtype)
    the element type of a storage;
``collections.OrderedDict``, ``builtins.set``/``frozenset``, ``torch.Size``, ``torch.device``,
``_codecs.encode`` (how protocol 2 writes ``bytes``)
    plain containers and values.

Formats: the zip archive of torch >= 1.6 (``<name>/data.pkl``, storages in
``<name>/data/<key>``, their byte order in ``<name>/byteorder``) and the legacy format
(``_use_new_zipfile_serialization=False``: a magic number, protocol and system-info pickles,
the main pickle, the list of storage keys, then each storage as an 8-byte element count and its
bytes).  ``bfloat16`` is widened to float32 exactly; every other dtype keeps its NumPy type.
"""

from __future__ import annotations

import collections
import io
import math
import pickle
import struct
import zipfile

import numpy as np

__all__ = ["NotATorchFile", "RefusedGlobal", "read_torch_file"]

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


class NotATorchFile(ValueError):
    """The file is not a ``torch.save`` file (neither its zip archive nor its legacy pickle)."""


class RefusedGlobal(ValueError):
    """The pickle names a global that a state_dict never needs; nothing of it was run."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name
        super().__init__(f"{module}.{name}")

    @property
    def whole_model(self) -> bool:
        """Whether the global is a module class that ``torch.save(model)`` pickles: one of
        ``torch.nn``, of the training script (``__main__``) or of TorchScript (``__torch__``)."""
        m = self.module
        return m == "__main__" or m.startswith(("torch.nn.", "__torch__")) or m == "torch.nn"


# --------------------------------------------------------------------------- stand-ins
class _StorageType:
    """A ``torch.<Name>Storage`` global: the storage's element type.  (Every stand-in is made
    anew for each global the pickle names and has ``__slots__``, so a pickle's BUILD cannot
    change effgrok's own objects beyond the file being read.)"""

    __slots__ = ("dtype", "name")

    def __init__(self, name: str, dtype: str | None):
        self.name, self.dtype = name, dtype


# torch storage class -> NumPy element type ("bf16": 16-bit brain float, widened later)
_STORAGES = {
    "FloatStorage": "f4",
    "DoubleStorage": "f8",
    "HalfStorage": "f2",
    "BFloat16Storage": "bf16",
    "LongStorage": "i8",
    "IntStorage": "i4",
    "ShortStorage": "i2",
    "CharStorage": "i1",
    "ByteStorage": "u1",
    "BoolStorage": "?",
    "ComplexFloatStorage": "c8",
    "ComplexDoubleStorage": "c16",
    "UntypedStorage": None,  # torch >= 2 with _rebuild_tensor_v3: the dtype comes separately
}

# torch dtype globals (``torch.float32`` ...) -> the same element types
_DTYPES = {
    "float32": "f4",
    "float": "f4",
    "float64": "f8",
    "double": "f8",
    "float16": "f2",
    "half": "f2",
    "bfloat16": "bf16",
    "int64": "i8",
    "long": "i8",
    "int32": "i4",
    "int": "i4",
    "int16": "i2",
    "short": "i2",
    "int8": "i1",
    "uint8": "u1",
    "uint16": "u2",
    "uint32": "u4",
    "uint64": "u8",
    "bool": "?",
    "complex64": "c8",
    "complex128": "c16",
}


class _DType(str):
    """A ``torch.<dtype>`` global (its NumPy element type)."""

    __slots__ = ()


class _Storage:
    """A storage read from the file: its key, element type and raw bytes."""

    __slots__ = ("byteorder", "dtype", "key", "raw")

    def __init__(self, key: str, dtype: str | None, raw: bytes, byteorder: str):
        self.key, self.dtype, self.raw, self.byteorder = key, dtype, raw, byteorder

    def elements(self, dtype: str) -> np.ndarray:
        """The storage as a 1-D array of ``dtype`` (bf16: its uint16 bit patterns)."""
        if dtype not in _CODES or self.byteorder not in ("<", ">") or not isinstance(self.raw, bytes):
            raise ValueError(f"storage {self.key!r} is malformed")
        code = "u2" if dtype == "bf16" else dtype
        dt = np.dtype(code).newbyteorder(self.byteorder)
        if len(self.raw) % dt.itemsize:
            raise ValueError(
                f"storage {self.key!r} holds {len(self.raw)} bytes, not a whole number of {code}"
            )
        return np.frombuffer(self.raw, dtype=dt)


def _int_tuple(value, what: str) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, (tuple, list)) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise ValueError(f"a tensor's {what} must be a tuple of integers, got {value!r}")
    return tuple(value)


#: Most elements one tensor may have beyond its storage's (a stride-0 expansion): 2**26.
_MAX_EXPANDED = 2**26


class _Lazy:
    """A tensor to rebuild once its storage's bytes are known (legacy files store them after
    the pickle); everything is checked when it is built (:meth:`array`)."""

    __slots__ = ("dtype", "offset", "size", "storage", "stride")

    def __init__(self, storage, offset, size, stride, dtype=None):
        if not isinstance(storage, _Storage):
            raise ValueError(f"a tensor rebuild got {type(storage).__name__}, not a storage")
        self.storage, self.dtype = storage, dtype if dtype is not None else storage.dtype
        self.offset, self.size, self.stride = offset, size, stride

    def _layout(self, flat: np.ndarray) -> tuple[int, tuple, tuple]:
        size, stride, offset = _int_tuple(self.size, "size"), _int_tuple(self.stride, "stride"), self.offset
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise ValueError(f"a tensor's storage offset must be an integer >= 0, got {offset!r}")
        if len(size) != len(stride) or min(size + stride, default=0) < 0:
            raise ValueError(f"a tensor's size {size} and stride {stride} do not fit together")
        n = math.prod(size)
        if n and offset + sum((k - 1) * s for k, s in zip(size, stride, strict=True)) >= flat.size:
            # a crafted file must not make as_strided read past the buffer
            raise ValueError(
                f"a tensor of size {size}, stride {stride} and offset {offset} reaches past the end "
                f"of storage {self.storage.key!r}, which holds {flat.size} elements"
            )
        if n > max(flat.size, _MAX_EXPANDED):
            raise ValueError(f"a tensor of size {size} claims {n} elements from a storage of {flat.size}")
        return offset, size, stride

    def array(self) -> np.ndarray:
        """The tensor: ``storage[offset + Σ k_i stride_i]`` for ``0 <= k_i < size_i``, copied."""
        if not isinstance(self.storage, _Storage) or not isinstance(self.dtype, str):
            raise ValueError("a malformed tensor rebuild")
        flat = self.storage.elements(self.dtype)
        offset, size, stride = self._layout(flat)
        if 0 in size:
            out = np.empty(size, dtype=flat.dtype)
        else:
            view = np.lib.stride_tricks.as_strided(
                flat[offset:], shape=size, strides=tuple(s * flat.itemsize for s in stride), writeable=False
            )
            out = np.array(view, order="C")  # a copy
        out = out.astype(out.dtype.newbyteorder("="))
        if self.dtype == "bf16":
            out = (out.astype(np.uint32) << 16).view(np.float32)
        return out


def _resolve(obj):
    """``obj`` with every :class:`_Lazy` tensor replaced by its array (containers rebuilt)."""
    if isinstance(obj, _Lazy):
        return obj.array()
    if isinstance(obj, dict):
        return type(obj)((k, _resolve(v)) for k, v in obj.items())
    if isinstance(obj, list):
        return [_resolve(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_resolve(v) for v in obj)
    return obj


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False, hooks=None, metadata=None):
    return _Lazy(storage, offset, size, stride)


def _rebuild_tensor_v3(storage, offset, size, stride, requires_grad, hooks, dtype, metadata=None):
    if not isinstance(dtype, _DType):
        raise ValueError(f"a tensor rebuild got dtype {dtype!r}")
    return _Lazy(storage, offset, size, stride, dtype=str(dtype))


def _rebuild_parameter(data, requires_grad=False, hooks=None, state=None):
    if not isinstance(data, _Lazy):
        raise ValueError("a parameter rebuild got no tensor")
    return data


def _encode(text, encoding="latin1"):
    if not isinstance(text, str) or encoding != "latin1":
        raise ValueError("_codecs.encode is accepted only for protocol 2's latin1 bytes")
    return text.encode("latin1")


def _size(*dims):
    return tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else tuple(dims)


def _device(*args):
    return str(args[0]) if args else "cpu"


class _Call:
    """A stand-in function, made anew for each global (``__slots__``: a BUILD cannot reach the
    function itself)."""

    __slots__ = ("f",)

    def __init__(self, f):
        self.f = f

    def __call__(self, *args):
        if not callable(self.f) or not isinstance(self.f, _FUNCTIONS):
            raise ValueError("a malformed stand-in")
        return self.f(*args)


def _types(t):
    return lambda: t  # immutable built-in types


_FUNCTIONS = type(_encode)

# (module, name) -> a factory of the stand-in returned for that global
_SAFE = {
    ("collections", "OrderedDict"): _types(collections.OrderedDict),
    ("builtins", "set"): _types(set),
    ("builtins", "frozenset"): _types(frozenset),
    ("__builtin__", "set"): _types(set),
    ("__builtin__", "frozenset"): _types(frozenset),
    ("_codecs", "encode"): lambda: _Call(_encode),
    ("torch._utils", "_rebuild_tensor_v2"): lambda: _Call(_rebuild_tensor_v2),
    ("torch._utils", "_rebuild_tensor_v3"): lambda: _Call(_rebuild_tensor_v3),
    ("torch._utils", "_rebuild_parameter"): lambda: _Call(_rebuild_parameter),
    ("torch._utils", "_rebuild_parameter_with_state"): lambda: _Call(_rebuild_parameter),
    ("torch", "Size"): lambda: _Call(_size),
    ("torch", "device"): lambda: _Call(_device),
    **{("torch", name): (lambda n=name, d=dt: _StorageType(n, d)) for name, dt in _STORAGES.items()},
    **{("torch", name): (lambda d=dt: _DType(d)) for name, dt in _DTYPES.items()},
}
_CODES = (set(_STORAGES.values()) | set(_DTYPES.values())) - {None}


class _Unpickler(pickle.Unpickler):
    """Unpickles only :data:`_SAFE` globals; storages come from ``storage(key, type)``."""

    def __init__(self, data, storage=None):
        super().__init__(io.BytesIO(data) if isinstance(data, bytes) else data)
        self._storage = storage

    def find_class(self, module, name):  # never imports: a fixed table of stand-ins
        try:
            factory = _SAFE[(module, name)]
        except KeyError:
            raise RefusedGlobal(module, name) from None
        return factory()

    def persistent_load(self, pid):
        if self._storage is None or not isinstance(pid, tuple) or not pid or pid[0] != "storage":
            raise ValueError(f"unexpected persistent id {str(pid)[:80]!r}")
        if len(pid) < 5 or not isinstance(pid[1], _StorageType):
            raise ValueError(f"malformed storage reference {str(pid)[:80]!r}")
        return self._storage(str(pid[2]), pid[1], pid[5] if len(pid) > 5 else None)


# --------------------------------------------------------------------------- formats
def read_torch_file(path) -> object:
    """The object a ``torch.save`` file holds, tensors as NumPy arrays, read without torch.

    Raises :class:`NotATorchFile` for a file of another kind, :class:`RefusedGlobal` for a
    pickle naming a global outside the state_dict's few (nothing of it is run), and
    ``ValueError`` for a malformed one.
    """
    with open(path, "rb") as fh:
        data = fh.read()
    if zipfile.is_zipfile(io.BytesIO(data)):
        return _resolve(_read_zip(data))
    return _resolve(_read_legacy(data))


def _read_zip(data: bytes):
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = set(z.namelist())
        pkls = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pkls) != 1:
            raise NotATorchFile("a zip archive without the data.pkl of torch.save")
        prefix = pkls[0][: -len("data.pkl")]
        order = "little"
        if prefix + "byteorder" in names:
            order = z.read(prefix + "byteorder").decode("ascii", "replace").strip()
            if order not in ("little", "big"):
                raise ValueError(f"unknown byte order {order!r}")
        cache: dict[str, bytes] = {}

        def storage(key: str, stype: _StorageType, _view) -> _Storage:
            member = f"{prefix}data/{key}"
            if member not in names:
                raise ValueError(f"storage {key!r} is missing from the archive")
            info = z.getinfo(member)
            if info.compress_type != zipfile.ZIP_STORED and info.file_size > 100 * info.compress_size + 2**20:
                raise ValueError(f"storage {key!r} inflates {info.compress_size} bytes to {info.file_size}")
            if key not in cache:
                cache[key] = z.read(member)
            return _Storage(key, stype.dtype, cache[key], "<" if order == "little" else ">")

        obj = _Unpickler(z.read(pkls[0]), storage).load()
        return obj


def _read_legacy(data: bytes):
    f = io.BytesIO(data)
    try:
        magic = _Unpickler(f).load()
    except RefusedGlobal:
        raise
    except Exception:  # text, random bytes, a truncated file
        raise NotATorchFile("neither a zip archive nor a legacy torch.save file") from None
    if isinstance(magic, bool) or magic != _LEGACY_MAGIC:
        raise NotATorchFile("neither a zip archive nor a legacy torch.save file")
    _Unpickler(f).load()  # protocol version
    info = _Unpickler(f).load()
    order = ">" if isinstance(info, dict) and info.get("little_endian") is False else "<"
    made: dict[str, list[_Storage]] = {}

    def storage(key: str, stype: _StorageType, view) -> _Storage:
        if view is not None:
            raise ValueError("legacy storage views are not supported")
        s = _Storage(key, stype.dtype, b"", order)  # the bytes follow the pickle
        made.setdefault(key, []).append(s)
        return s

    obj = _Unpickler(f, storage).load()
    keys = _Unpickler(f).load()
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise ValueError("malformed list of storage keys")
    at = f.tell()
    for key in keys:
        if at + 8 > len(data):
            raise ValueError(f"truncated before storage {key!r}")
        (numel,) = struct.unpack(order + "q", data[at : at + 8])
        users = made.get(key, [])
        code = users[0].dtype if users else None
        width = 1 if code is None else np.dtype("u2" if code == "bf16" else code).itemsize
        end = at + 8 + numel * width
        if numel < 0 or end > len(data):
            raise ValueError(f"storage {key!r} is truncated")
        for s in users:
            s.raw = data[at + 8 : end]
        at = end
    missing = sorted(set(made) - set(keys))
    if missing:
        raise ValueError(f"storage {missing[0]!r} is missing from the file")
    return obj
