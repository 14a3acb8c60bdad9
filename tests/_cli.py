"""Helpers shared by the command-line tests (not a test module)."""

from __future__ import annotations

import functools
import inspect


def with_default(monkeypatch, function, name, value):
    """``function`` with the default of keyword ``name`` replaced (as a library edit would): the
    module's function, or the class's method, is replaced by one with the edited signature."""
    sig = inspect.signature(function)
    changed = sig.replace(
        parameters=[p.replace(default=value) if p.name == name else p for p in sig.parameters.values()]
    )

    @functools.wraps(function)
    def edited(*args, **kwargs):
        bound = changed.bind(*args, **kwargs)
        bound.apply_defaults()
        return function(*bound.args, **bound.kwargs)

    edited.__signature__ = changed
    owner = inspect.getmodule(function)
    for part in function.__qualname__.split(".")[:-1]:  # a method: its class
        owner = getattr(owner, part)
    monkeypatch.setattr(owner, function.__name__, edited)
