"""The one place that imports neural-tangents (infinite-width kernels and lazy predictions).

neural-tangents 0.6.5 is the last release (the project is archived).  On current JAX it
does not import as released: it reaches into JAX internals that moved or disappeared, and
its ``experimental`` package pulls TensorFlow in.  :func:`load` applies a small, explicit
compatibility recipe before importing it:

1. an empty module stands in for ``neural_tangents.experimental`` (the TensorFlow
   converters, which effgrok never uses);
2. ``Jaxpr, JaxprEqn, Literal, Var, Primitive`` are re-exported from ``jax.extend.core``
   into ``jax.core``, together with ``ShapedArray``, ``AbstractValue``, ``Value`` and
   ``eval_context`` where JAX keeps them elsewhere;
3. a ``jax.util`` module provides ``safe_map``/``safe_zip`` (length-checked map and zip);
4. ``jax.interpreters.ad.zeros_like_p`` is defined as a placeholder primitive (only used as a
   dictionary key by the structured-derivatives NTK, implementation 3, which is unsupported).

What works after the recipe (and is tested): ``stax`` infinite-width NNGP/NTK kernels,
``predict.gradient_descent_mse_ensemble``, ``linearize`` and ``empirical_ntk_fn`` with
implementations 1 and 2.  Nothing outside this module may import ``neural_tangents``.
"""

from __future__ import annotations

import importlib
import sys
import types
from functools import lru_cache

PINNED_VERSION = "0.6.5"

__all__ = ["PINNED_VERSION", "NeuralTangentsUnavailable", "load"]


class NeuralTangentsUnavailable(ImportError):
    """neural-tangents could not be imported even with the compatibility recipe."""


def _safe_map(f, *args):
    args = list(map(list, args))
    n = len(args[0])
    for a in args[1:]:
        if len(a) != n:
            raise ValueError(f"length mismatch: {[len(a) for a in args]}")
    return list(map(f, *args))


def _safe_zip(*args):
    args = list(map(list, args))
    n = len(args[0])
    for a in args[1:]:
        if len(a) != n:
            raise ValueError(f"length mismatch: {[len(a) for a in args]}")
    return list(zip(*args, strict=True))


def _apply_recipe() -> None:
    import jax
    import jax.core
    import jax.extend.core as extend_core
    import jax.interpreters.ad as ad

    # 1. no TensorFlow: a stand-in for the experimental (jax2tf) package
    if "neural_tangents.experimental" not in sys.modules:
        stub = types.ModuleType("neural_tangents.experimental")
        stub.__doc__ = "Stand-in installed by effgrok: the TensorFlow converters are not available."
        sys.modules["neural_tangents.experimental"] = stub
    # 2. names that moved out of jax.core
    for name in ("Jaxpr", "JaxprEqn", "Literal", "Var", "Primitive"):
        if not hasattr(jax.core, name):
            setattr(jax.core, name, getattr(extend_core, name))
    from jax._src import core as src_core

    for name in ("ShapedArray", "AbstractValue", "Value", "eval_context"):
        if not hasattr(jax.core, name) and hasattr(src_core, name):
            setattr(jax.core, name, getattr(src_core, name))
    # 3. jax.util.safe_map / safe_zip
    util = sys.modules.get("jax.util")
    if util is None:
        util = types.ModuleType("jax.util")
        sys.modules["jax.util"] = util
        jax.util = util
    if not hasattr(util, "safe_map"):
        util.safe_map = _safe_map
    if not hasattr(util, "safe_zip"):
        util.safe_zip = _safe_zip
    # 4. placeholder primitive used only as a rules-table key
    if not hasattr(ad, "zeros_like_p"):
        ad.zeros_like_p = extend_core.Primitive("zeros_like")


@lru_cache(maxsize=1)
def load() -> types.ModuleType:
    """Import neural-tangents with the compatibility recipe applied; returns the module.

    Raises
    ------
    NeuralTangentsUnavailable
        If it is missing, is not version 0.6.5, or still fails to import (the message
        names the failing import).
    """
    try:
        from importlib.metadata import PackageNotFoundError, version

        found = version("neural-tangents")
    except PackageNotFoundError:
        raise NeuralTangentsUnavailable(
            f"neural-tangents is not installed; effgrok needs neural-tangents=={PINNED_VERSION}"
        ) from None
    if found != PINNED_VERSION:
        raise NeuralTangentsUnavailable(
            f"neural-tangents {found} is installed; effgrok's compatibility recipe is for {PINNED_VERSION}"
        )
    try:
        _apply_recipe()
        return importlib.import_module("neural_tangents")
    except Exception as exc:  # report the import that broke, not a bare traceback
        raise NeuralTangentsUnavailable(
            f"neural-tangents {found} failed to import on jax {_jax_version()} even with effgrok's "
            f"compatibility recipe: {type(exc).__name__}: {exc}"
        ) from exc


def _jax_version() -> str:
    try:
        import jax

        return jax.__version__
    except Exception:  # pragma: no cover
        return "?"
