"""Shared pieces of the modular-arithmetic cases: training from settings, the target device and
the compute estimate."""

from __future__ import annotations

from effgrok.nets.modular import COMPILE_CORE_S, UNIT_CORE_S

from ._common import schedule

#: Wall seconds on the 2-core CPU against the library's CPU core-seconds of the modular trainer
#: (:data:`effgrok.nets.modular.UNIT_CORE_S`, :data:`~effgrok.nets.modular.COMPILE_CORE_S`, the
#: one cost model of the model): validation measured 12 float64 runs of p = 31, 248 training
#: pairs, width 128, 2000 steps in about 20 s after compilation, on shared cores (2.6e-8 s
#: per unit, 2.6 times the library's quiet-machine number).
CPU_LOAD = 2.6
#: Seconds per (run · step · training example · hidden unit) of :func:`train_modular` on the
#: 2-core CPU.
CPU_UNIT_S = CPU_LOAD * UNIT_CORE_S
#: Seconds to trace and compile one call on the CPU.
CPU_COMPILE_S = CPU_LOAD * COMPILE_CORE_S
#: Seconds per step of one vmapped call on one modern GPU (small nets are latency bound), per
#: 10⁹ (run · example · hidden) multiply-adds of a step, and to compile one call -- estimates,
#: not measured (no GPU was available when they were set).
GPU_STEP_S = 5e-4
GPU_GMAC_S = 2e-4
GPU_COMPILE_S = 10.0


def modular_cost(calls: list[tuple[int, int, int, int]], device: str) -> float:
    """Estimated seconds for calls of :func:`effgrok.nets.modular.train_modular`, each given as
    ``(runs, steps, n_train, width)`` (``width``: the hidden width, or the embedding width of
    the embedding-sum network, whichever is larger), on ``device`` (``"cpu"``: two cores;
    ``"gpu"``: one modern GPU).

    >>> round(modular_cost([(12, 2000, 248, 128)], "cpu"))
    25
    """
    if device == "gpu":
        return float(
            sum(
                GPU_COMPILE_S + steps * (GPU_STEP_S + GPU_GMAC_S * runs * n * w * 1e-9)
                for runs, steps, n, w in calls
            )
        )
    return float(sum(CPU_COMPILE_S + CPU_UNIT_S * runs * steps * n * w for runs, steps, n, w in calls))


#: Optional real-valued settings and the :func:`~effgrok.nets.modular.train_modular` keyword
#: each one sets (see :func:`train`).
REAL_SETTINGS = {
    "lr": "learning_rate",
    "weight_decay": "weight_decay",
    "train_fraction": "train_fraction",
}
#: Optional settings of the optimiser (AdamW's β₂ and ε, see :func:`train`).
ADAM_SETTINGS = ("beta2", "eps")


def train(task, settings: dict, *, optimizer: str = "adamw", **options):
    """:func:`effgrok.nets.modular.train_modular` on ``task`` with the keywords every case reads
    from its settings the same way: ``hidden``, the schedule (``Schedule(steps, stride)``),
    ``loss`` and ``activation`` (default cross-entropy and ReLU), each of :data:`REAL_SETTINGS`
    the settings have (``lr`` as ``learning_rate``), and the optimiser named ``optimizer``
    (:data:`effgrok.nets.modular.OPTIMIZERS`) with the :data:`ADAM_SETTINGS` the settings have;
    ``options`` add to or override these."""
    from effgrok.nets.modular import OPTIMIZERS, train_modular

    s = settings
    adam = {k: float(s[k]) for k in ADAM_SETTINGS if k in s}
    kw = {"hidden": int(s["hidden"]), "schedule": schedule(s)}
    kw.update(loss=s.get("loss", "cross_entropy"), activation=s.get("activation", "relu"))
    kw.update({arg: float(s[k]) for k, arg in REAL_SETTINGS.items() if k in s})
    kw["optimizer"] = OPTIMIZERS[optimizer](**adam)
    return train_modular(task, **{**kw, **options})


def chunks(values: list, per: int | None) -> list[list]:
    """``values`` in consecutive groups of ``per`` (all in one group when ``per`` is None): the
    units of a sweep, one vmapped call each (a GPU profile batches many settings per call).

    >>> chunks([1, 2, 3], 2), chunks([1, 2, 3], None)
    ([[1, 2], [3]], [[1, 2, 3]])
    """
    per = len(values) if per is None else int(per)
    return [list(values[i : i + per]) for i in range(0, len(values), per)]


def n_train(task_name: str, p: int, fraction: float) -> int:
    """Training examples at ``fraction`` of the task's examples (unordered pairs ``a ≤ b`` for a
    commutative task, ``p(p+1)/2`` of them; ordered pairs, ``p²``, otherwise)."""
    from effgrok.tasks import make_task

    return round(fraction * make_task(task_name, p).n_examples)
