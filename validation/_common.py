"""Shared pieces of every case: its settings (the ``PROFILES`` table, the training schedule) and the
saving of its figure."""

from __future__ import annotations

from validation.framework import PROFILES


def by_profile(**table) -> dict[str, dict]:
    """A case's ``PROFILES`` from one table of settings, in the order given: a value written as
    a tuple ``(tiny, cpu, gpu)`` differs by profile (``...`` there: the setting is absent from
    that profile; ``None`` is a value, JSON's null); any other value (a number, a string, a
    list) is the same in all three.

    The target device (:func:`validation.framework.device_of`) is stated here once: unless the
    table names ``device``, the gpu profile's settings end with ``device="gpu"`` and tiny and
    cpu name none (read as ``"cpu"``).  A table that names it states all three (the toy cases
    record ``"cpu"`` in tiny and cpu, and their stored runs carry it).

    >>> by_profile(p=(7, 31, 113), lr=0.01)["gpu"]
    {'p': 113, 'lr': 0.01, 'device': 'gpu'}
    >>> by_profile(p=(7, 31, 113), lr=0.01)["tiny"]
    {'p': 7, 'lr': 0.01}
    >>> by_profile(p=(7, 31, 113), device=("cpu", "cpu", "gpu"))["cpu"]
    {'p': 31, 'device': 'cpu'}
    """
    table.setdefault("device", (..., ..., "gpu"))
    out = {name: {} for name in PROFILES}
    for key, value in table.items():
        if isinstance(value, tuple) and len(value) != len(PROFILES):
            raise ValueError(f"setting {key!r}: a tuple is one value per profile {PROFILES}, got {value!r}")
        values = value if isinstance(value, tuple) else (value,) * len(PROFILES)
        for name, v in zip(PROFILES, values, strict=True):
            if v is not Ellipsis:
                out[name][key] = v
    return out


def schedule(settings: dict, **fields):
    """The training schedule of a case's settings, the driver's
    :class:`~effgrok.nets.driver.Schedule` of its ``steps`` and ``stride`` (read as integers),
    with the schedule's other ``fields`` (``snapshot_stride``, ...).

    >>> s = schedule({"steps": 40.0, "stride": 10, "p": 7})
    >>> s.steps, s.stride, s.snapshot_stride
    (40, 10, None)
    """
    from effgrok.nets.driver import Schedule

    return Schedule(int(settings["steps"]), int(settings["stride"]), **fields)
