"""JAX's persistent compilation cache for the ``effgrok`` command.

Each ``effgrok train ...`` process would otherwise compile its XLA program again (seconds);
with the cache, a second process with the same program reads it from disk.  The command sets
the cache up once, in :func:`effgrok.cli.main`, before any command runs.  The library itself
sets nothing: in your own program, configure JAX's cache yourself
(``jax.config.update("jax_compilation_cache_dir", ...)``).

Where: ``$EFFGROK_JAX_CACHE`` if set -- a folder, or ``off`` for no cache; otherwise
``$XDG_CACHE_HOME/effgrok/jax`` (``~/.cache/effgrok/jax`` when ``XDG_CACHE_HOME`` is unset
or not absolute).  Every compiled program is kept, however small or quick to compile (JAX's
defaults keep only programs that took ≥ 1 s to compile).  JAX creates the folder on its first
write; delete it at any time to free the space.

Beside it, in ``programs/`` of the same folder, :mod:`effgrok.nets.programs` keeps the training
programs whole (serialized executables), so that a second process also skips tracing and
lowering (``EFFGROK_JAX_CACHE=off`` turns both off).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["ENV", "enable_jax_cache", "jax_cache_dir"]

#: the environment variable that moves (a folder) or disables (``off``) the cache
ENV = "EFFGROK_JAX_CACHE"
#: :data:`effgrok.nets.programs.ENV` (not imported: importing effgrok.nets costs every command)
PROGRAMS_ENV = "EFFGROK_PROGRAM_CACHE"


def jax_cache_dir(environ=None) -> Path | None:
    """The cache folder (``None``: disabled), from ``environ`` (default ``os.environ``).

    >>> str(jax_cache_dir({"XDG_CACHE_HOME": "/c"}))
    '/c/effgrok/jax'
    >>> jax_cache_dir({"EFFGROK_JAX_CACHE": "off"}) is None
    True
    """
    env = os.environ if environ is None else environ
    value = env.get(ENV, "").strip()
    if value.lower() == "off":
        return None
    if value:
        return Path(value).expanduser()
    xdg = env.get("XDG_CACHE_HOME", "")
    root = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return root / "effgrok" / "jax"


def enable_jax_cache(environ=None) -> Path | None:
    """Turn on JAX's persistent compilation cache in :func:`jax_cache_dir`; returns the folder.

    Before JAX is imported this sets JAX's own environment variables (so importing JAX is not
    paid by commands that never use it, and worker processes inherit the setting); after, it
    updates ``jax.config``.  Either way it must run before the first compilation to take effect.
    """
    folder = jax_cache_dir(environ)
    _cache_programs(None if folder is None else folder / "programs")
    if folder is None:
        return None
    settings = {
        "jax_compilation_cache_dir": str(folder),
        "jax_persistent_cache_min_compile_time_secs": 0.0,  # keep every program ...
        "jax_persistent_cache_min_entry_size_bytes": -1,  # ... of any size
    }
    if "jax" in sys.modules:
        import jax

        for name, value in settings.items():
            jax.config.update(name, value)
    else:
        os.environ.update({name.upper(): str(value) for name, value in settings.items()})
    return folder


def _cache_programs(folder: Path | None) -> None:
    """Point :mod:`effgrok.nets.programs` at ``folder`` (``None``: off, whatever the environment
    said): through :data:`PROGRAMS_ENV`, which it reads at import (and worker processes
    inherit), and directly when it is already imported."""
    if folder is None:
        os.environ.pop(PROGRAMS_ENV, None)
    else:
        os.environ[PROGRAMS_ENV] = str(folder)
    if "effgrok.nets.programs" in sys.modules:
        sys.modules["effgrok.nets.programs"].cache_programs(folder)
