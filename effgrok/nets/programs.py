"""An on-disk cache of the driver's compiled training programs (serialized XLA executables).

JAX's persistent compilation cache keeps XLA's compiled code, but a new process still traces the
training step and lowers it to XLA before it can look the code up: about 0.4 s of Python for
``effgrok train modular``, a third of a short command's life.  With this cache on,
:func:`~effgrok.nets.driver.train` keeps each compiled program as a file named by a digest of
everything that shapes it, and a later process with the same program loads that file and runs
it, with no tracing, lowering or compilation.

**The key** (SHA-256) is built from

* the program's configuration -- the model, optimiser, schedule and loss objects, written out
  field by field (:func:`stable_text`); a configuration that holds anything else (a function,
  an optax transformation, an array) is *not* cached, since its text would not say what it
  computes;
* the source of every class in it: the digest of every ``.py`` file of ``effgrok``, plus the
  files of the classes defined elsewhere (your own model), so an edit invalidates the entry;
* the arguments' tree, shapes and dtypes; JAX's and jaxlib's versions, the backend and its
  devices, ``XLA_FLAGS`` and every JAX setting as it holds at the call (x64, the PRNG
  implementation, the matmul precision, ...).

**Safety.**  Loading an executable runs code from the file, as JAX's own cache does: point the
cache only at a folder you own.  A file that fails to load is ignored (the program is compiled
and the file rewritten); files are written under a temporary name and renamed, so concurrent
processes never read half a file.

**Where.**  The library starts with the cache off, unless the environment variable
``EFFGROK_PROGRAM_CACHE`` names a folder when this module is imported; in your own program call
:func:`cache_programs`.  The ``effgrok`` command turns it on beside JAX's cache (``programs/``
inside the folder of :mod:`effgrok.cli._jax_cache`; ``EFFGROK_JAX_CACHE=off`` disables both)
by setting that variable, which worker processes inherit.

Examples
--------
>>> import tempfile
>>> previous = cache_programs(tempfile.mkdtemp())
>>> stable_text((1, "mse", None)), stable_text(len) is None
("tuple(1, 'mse', None)", True)
>>> _ = cache_programs(previous)
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path

__all__ = ["cache_programs", "stable_text"]

#: the environment variable read at import: the cache's folder (unset or empty: off)
ENV = "EFFGROK_PROGRAM_CACHE"
#: the folder of the cache (``None``: off); see :func:`cache_programs`
_FOLDER: list[Path | None] = [Path(os.environ[ENV]).expanduser() if os.environ.get(ENV) else None]
#: programs loaded or compiled in this process, by digest (the newest :data:`_KEEP`, as the
#: driver's own jit cache keeps 32)
_LOADED: dict[str, Callable] = {}
_KEEP = 32
_PLAIN = (str, int, float, bool, type(None))


def cache_programs(folder) -> Path | None:
    """Keep compiled training programs in ``folder`` (created when first written; ``None``:
    off, the library's default); returns the previous folder.

    >>> cache_programs(None) is None
    True
    >>> cache_programs(3)
    Traceback (most recent call last):
    ...
    ValueError: folder must be a path (str or os.PathLike) or None (off), got 3
    """
    if folder is not None and not isinstance(folder, str | os.PathLike):
        raise ValueError(f"folder must be a path (str or os.PathLike) or None (off), got {folder!r}")
    previous = _FOLDER[0]
    _FOLDER[0] = None if folder is None else Path(folder).expanduser()
    return previous


def stable_text(obj) -> str | None:
    """``obj`` written out so that equal text means the same computation in any process, or
    ``None`` when that cannot be said: plain values (str, int, float, bool, None), tuples,
    lists and frozensets of them, and dataclasses of them (class name and fields).  A function
    or any other object gives ``None``.

    >>> from effgrok.nets import MLP
    >>> stable_text(MLP(hidden=8))[:40]
    'effgrok.nets.modular.MLP(hidden=8, activ'
    """
    if isinstance(obj, _PLAIN):
        return repr(obj)
    if isinstance(obj, tuple | list | frozenset):
        parts = [stable_text(x) for x in (sorted(obj, key=repr) if isinstance(obj, frozenset) else obj)]
        return None if None in parts else f"{type(obj).__name__}({', '.join(parts)})"
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        fields = [(f.name, stable_text(getattr(obj, f.name))) for f in dataclasses.fields(obj)]
        if any(text is None for _, text in fields):
            return None
        cls = type(obj)
        return f"{cls.__module__}.{cls.__qualname__}({', '.join(f'{n}={t}' for n, t in fields)})"
    return None


def _classes(obj) -> set[type]:
    """The dataclasses in ``obj`` (as :func:`stable_text` walks it)."""
    if isinstance(obj, tuple | list | frozenset):
        return set().union(*(_classes(x) for x in obj)) if obj else set()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {type(obj)}.union(*(_classes(getattr(obj, f.name)) for f in dataclasses.fields(obj)))
    return set()


@cache
def _file_digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@cache
def _package_digest() -> str:
    """One digest of every ``.py`` file of ``effgrok`` (names and contents)."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode())
        h.update(_file_digest(str(path)).encode())
    return h.hexdigest()


def _source_digest(classes: set[type]) -> str | None:
    """Digest of the code behind ``classes``: effgrok's sources, plus the file of each class
    defined outside it (``None`` when a file cannot be found)."""
    parts = [_package_digest()]
    for cls in sorted(classes, key=lambda c: f"{c.__module__}.{c.__qualname__}"):
        if cls.__module__.split(".")[0] == "effgrok":
            continue
        import inspect

        try:
            parts.append(_file_digest(inspect.getsourcefile(cls)))
        except (TypeError, OSError):
            return None
    return "|".join(parts)


def _environment() -> str:
    """JAX's and jaxlib's versions, the backend and its devices, ``XLA_FLAGS`` and every JAX
    setting as it holds here (its context managers, e.g. ``jax.enable_x64``, included): a
    setting that changes what is traced (the PRNG implementation, x64, the matmul
    precision, ...) changes the key, and one that does not merely costs a miss."""
    import jax
    import jaxlib

    devices = jax.devices()
    values = jax.config.values.items()
    settings = sorted((name, repr(getattr(jax.config, name, value))) for name, value in values)
    return "|".join(
        [
            jax.__version__,
            jaxlib.__version__,
            devices[0].platform,
            devices[0].device_kind,
            str(len(devices)),
            os.environ.get("XLA_FLAGS", ""),
            repr(settings),
        ]
    )


def _digest(config, args) -> str | None:
    """The cache key of the program ``config`` on ``args`` (``None``: not cacheable)."""
    import jax

    text = stable_text(config)
    sources = None if text is None else _source_digest(_classes(config))
    if sources is None:
        return None
    leaves, tree = jax.tree_util.tree_flatten(args)
    shapes = [(getattr(x, "shape", None), str(getattr(x, "dtype", type(x)))) for x in leaves]
    h = hashlib.sha256("\n".join([text, sources, str(tree), repr(shapes), _environment()]).encode())
    return h.hexdigest()


def _load(path: Path) -> Callable | None:
    import pickle

    from jax.experimental.serialize_executable import deserialize_and_load

    try:
        blob, in_tree, out_tree = pickle.loads(path.read_bytes())
        return deserialize_and_load(blob, in_tree, out_tree)
    except FileNotFoundError:
        return None
    except Exception as e:  # a stale or damaged entry: compile again
        print(f"effgrok: ignoring the cached program {path.name} ({type(e).__name__})", file=sys.stderr)
        return None


def _store(path: Path, compiled) -> None:
    """Write ``compiled`` to ``path`` atomically; a program that cannot be serialized, or a
    folder that cannot be written, is simply not cached."""
    import pickle

    from jax.experimental.serialize_executable import serialize

    from ..results import _write_atomic

    try:
        blob = pickle.dumps(serialize(compiled))
    except (ValueError, NotImplementedError, pickle.PicklingError, TypeError):
        return
    try:
        _write_atomic(path, "wb", lambda fh: fh.write(blob))
    except OSError:
        return


def program(jitted: Callable[[], Callable], config, args: tuple) -> Callable:
    """The executable for ``args`` of the program described by ``config``, whose ``jax.jit``
    function ``jitted()`` returns: from the cache when it is on and holds it, else compiled
    (and stored when the cache is on).  With the cache off, or ``config`` not cacheable,
    ``jitted()`` itself (called only then: building it imports and traces what a cached
    program skips)."""
    folder = _FOLDER[0]
    digest = None if folder is None else _digest(config, args)
    if digest is None:
        return jitted()
    if digest not in _LOADED:
        path = folder / f"{digest}.xla"
        compiled = _load(path)
        if compiled is None:
            compiled = jitted().lower(*args).compile()
            _store(path, compiled)
        if len(_LOADED) >= _KEEP:
            del _LOADED[next(iter(_LOADED))]
        _LOADED[digest] = compiled
    return _LOADED[digest]
