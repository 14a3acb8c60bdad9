"""Shared pieces of the per-trainer throughput benchmarks (issue 19): the CPU's assumed peak,
the old trainer loaded from a git commit, and timing that excludes compilation.

Timing an engine call (the old trainers compile inside every call): the trainer is called once
with ``jax.jit`` spied upon (:func:`compiled_program`), which keeps the compiled program and
its arguments; rerunning that program costs no compilation, no set-up and no conversion.  It
is captured for ``steps_short`` and ``steps_long`` steps (one record at the start and one at
the end, ``stride = steps``), and ``(t_long − t_short) / (steps_long − steps_short)`` is the
cost of one step, the records cancelled.  Repeats are interleaved across the contenders and
the minimum is kept (the machine is shared).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cpu_peak_gflops(dtype_bytes: int = 4) -> dict:
    """Assumed peak of this CPU: cores × FMA units × lanes × 2 FLOP × clock.

    Reads the core count (``os.sched_getaffinity``), the vector width (``avx512f`` → 512 bit,
    else ``avx2``/``avx`` → 256, else 128) and the clock (``cpu MHz`` of ``/proc/cpuinfo``) and
    *assumes* 2 FMA units per core (server Intel/AMD cores since Haswell/Zen 2; turbo and
    AVX-512 down-clocking ignored).
    """
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    flags = set(re.search(r"^flags\s*:\s*(.*)$", info, re.M).group(1).split()) if "flags" in info else set()
    bits = 512 if "avx512f" in flags else 256 if ({"avx2", "avx"} & flags) else 128
    mhz = [float(m) for m in re.findall(r"^cpu MHz\s*:\s*([\d.]+)", info, re.M)]
    ghz = (max(mhz) / 1000) if mhz else 2.0
    cores = len(os.sched_getaffinity(0))
    lanes = bits // (8 * dtype_bytes)
    peak = cores * 2 * lanes * 2 * ghz
    return {"cores": cores, "vector_bits": bits, "ghz": round(ghz, 3), "fma_units": 2, "gflops": peak}


def load_old(relpath: str, commit: str, name: str):
    """Import ``relpath`` as it was at ``commit`` (its relative imports made absolute)."""
    src = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{commit}:{relpath}"], check=True, capture_output=True, text=True
    ).stdout
    if "from .modular import" in src:  # the modular module of the same commit (its result type changed since)
        load_old("effgrok/nets/modular.py", commit, f"{name}_modular")
        src = src.replace("from .modular import", f"from _effgrok_old_{name}_modular import")
    src = re.sub(r"from \.\.(\w*) import", lambda m: f"from effgrok{'.' + m[1] if m[1] else ''} import", src)
    src = re.sub(
        r"from \.(\w*) import", lambda m: f"from effgrok.nets{'.' + m[1] if m[1] else ''} import", src
    )
    path = Path(f"/tmp/_effgrok_old_{name}_{os.getpid()}.py")
    path.write_text(src)
    spec = importlib.util.spec_from_file_location(f"_effgrok_old_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def flat_schedule(trainer):
    """``trainer`` (today's, taking the driver's ``schedule=Schedule(...)``) called as a baseline
    trainer is, with flat ``steps`` and ``stride`` keywords."""
    from effgrok.nets.driver import Schedule

    def call(*args, steps: int, stride: int, **kwargs):
        return trainer(*args, schedule=Schedule(steps, stride), **kwargs)

    return call


def compiled_program(call):
    """Run ``call()`` with ``jax.jit`` spied upon; return a function that reruns the last
    jitted program it ran, with the same arguments, already compiled.  The driver's cache of
    jitted programs is emptied first (a program the process built before would otherwise be
    reused without passing through ``jax.jit``), and its on-disk program cache is off here."""
    import jax

    from effgrok.nets import cache_programs, driver

    driver._compiled.cache_clear()
    previous = cache_programs(None)
    real, seen = jax.jit, []

    def spy(fun, *a, **k):
        jf = real(fun, *a, **k)

        def wrapped(*args, **kwargs):
            seen.append((jf, args, kwargs))
            return jf(*args, **kwargs)

        return wrapped

    jax.jit = spy
    try:
        call()
    finally:
        jax.jit = real
        cache_programs(previous)
    jf, args, kwargs = seen[-1]
    return lambda: jax.block_until_ready(jf(*args, **kwargs))


def per_step_timer(call, steps_short: int, steps_long: int):
    """Compile ``call(steps)`` for both step counts; return a function measuring
    ``(t(steps_long) − t(steps_short)) / (steps_long − steps_short)``."""
    short, long = compiled_program(lambda: call(steps_short)), compiled_program(lambda: call(steps_long))

    def measure() -> float:
        t0 = time.perf_counter()
        short()
        t1 = time.perf_counter()
        long()
        t2 = time.perf_counter()
        return max((t2 - t1) - (t1 - t0), 1e-12) / (steps_long - steps_short)

    return measure


def loop_seconds(step, state, steps: int) -> float:
    """Seconds per call of a jitted ``state = step(state)``, after one warm-up call."""
    import jax

    state = jax.block_until_ready(step(state))
    t0 = time.perf_counter()
    for _ in range(steps):
        state = step(state)
    jax.block_until_ready(state)
    return (time.perf_counter() - t0) / steps


def interleaved_min(contenders: dict, repeats: int) -> dict:
    """``{name: min over repeats of fn()}``, the contenders called in turn in every repeat."""
    best = {k: float("inf") for k in contenders}
    for _ in range(repeats):
        for k, fn in contenders.items():
            best[k] = min(best[k], fn())
    return best


def adam_loop_step(loss, params, opt):
    """The plain single-run baseline a JAX user writes: ``(step, state)`` with
    ``step((p, s)) = one optax update of loss``, jitted, for :func:`loop_seconds`."""
    import jax
    import optax

    @jax.jit
    def step(state):
        p, s = state
        u, s = opt.update(jax.grad(loss)(p), s, p)
        return optax.apply_updates(p, u), s

    return step, (params, opt.init(params))


def rate_rows(seconds: dict, flop: float, peak_gflops: float, digits: int = 3) -> dict:
    """Per contender: run-steps per second, ms per run-step, achieved GFLOP/s for ``flop``
    floating-point operations per run-step, and that as a percentage of ``peak_gflops``."""
    return {
        k: {
            "run_steps_per_s": round(1 / s, 2),
            "ms_per_run_step": round(1e3 * s, digits),
            "gflops": round(flop / s / 1e9, 2),
            "percent_of_peak": round(100 * flop / s / 1e9 / peak_gflops, 1),
        }
        for k, s in seconds.items()
    }


def trainer_parser(doc: str, *, task: bool, runs: int, short: int, long: int, loop_steps: int):
    """A per-trainer benchmark's command line: the first line of its docstring ``doc`` as the
    description, the task options when it trains on an operation table (``task``) and the timing
    options (defaults sized per trainer); the benchmark adds its model's sizes."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    if task:
        task_options(ap)
    timing_options(ap, runs=runs, short=short, long=long, loop_steps=loop_steps)
    return ap


def task_options(ap) -> None:
    """The task the modular benchmarks train on: ``--task``, ``--p``, ``--fraction``."""
    ap.add_argument("--task", default="add-mod")
    ap.add_argument("--p", type=int, default=97)
    ap.add_argument("--fraction", type=float, default=0.3)


def timing_options(ap, *, runs: int, short: int, long: int, loop_steps: int) -> None:
    """The options every per-trainer benchmark takes (defaults sized per trainer)."""
    ap.add_argument("--runs", type=int, default=runs, help="runs in the batched engine call")
    ap.add_argument("--short", type=int, default=short, help="steps of the short engine call")
    ap.add_argument("--long", type=int, default=long, help="steps of the long engine call")
    ap.add_argument("--loop-steps", type=int, default=loop_steps, help="steps of the plain loop")
    ap.add_argument("--repeats", type=int, default=3, help="interleaved repeats (the minimum is kept)")
    ap.add_argument("--baseline", default="17bbf6e", help="commit of 'today's' trainer")


def compare_trainers(old, new, problem, kw: dict, loop, args, *, flop: float, digits: int, check, **timing):
    """The whole comparison of a per-trainer benchmark: ``(seconds, report, diff)``.

    ``old`` is the trainer as of ``--baseline`` (flat ``steps``/``stride``), ``new`` today's
    (taking a ``Schedule``; adapted by :func:`flat_schedule`); both are called as
    ``trainer(problem, seeds=..., steps=..., stride=steps, **kw)``.  ``seconds`` are
    :func:`time_engines`' (``timing``: its ``today_batched``); ``report`` and ``diff`` are
    :func:`rates_and_agreement`'s, the curves compared on ``check = (small_problem, kwargs)``."""
    new = flat_schedule(new)

    def engine(trainer, seeds):
        return lambda steps: trainer(problem, seeds=seeds, steps=steps, stride=steps, **kw)

    sec = time_engines(engine, old, new, loop, args, **timing)
    small, check_kw = check
    return (sec, *rates_and_agreement(sec, flop, digits, old, new, small, **check_kw))


def time_engines(engine, old_trainer, new_trainer, loop, args, *, today_batched: bool = False) -> dict:
    """Seconds per run-step of today's trainer, the engine with one and ``args.runs`` runs, and
    the plain loop ``loop = (step, state)``; ``engine(trainer, seeds)`` returns ``call(steps)``.
    ``today_batched`` adds today's trainer with ``args.runs`` runs (per run-step)."""
    R, short, long = args.runs, args.short, args.long
    engine_R = per_step_timer(engine(new_trainer, list(range(R))), short, long)
    contenders = {"today": per_step_timer(engine(old_trainer, [0]), short, long)}
    if today_batched:
        today_R = per_step_timer(engine(old_trainer, list(range(R))), short, long)
        contenders["today_R"] = lambda: today_R() / R
    contenders.update(
        engine_1=per_step_timer(engine(new_trainer, [0]), short, long),
        engine_R=lambda: engine_R() / R,
        loop=lambda: loop_seconds(*loop, args.loop_steps),
    )
    return interleaved_min(contenders, args.repeats)


#: Curve names of trainers before issue 17 (the baseline commit may be older): old -> new.
OLD_NAMES = {"val_acc": "test_acc", "val_loss": "test_loss"}


def max_abs_diff(old, new, names) -> dict:
    """``{name: max |old.name − new.name|}``: the old and new trainers' curves on the same seeds
    (an old trainer's curve may carry its earlier name, :data:`OLD_NAMES`)."""
    import numpy as np

    def curve(r, k):
        if hasattr(r, k):
            return getattr(r, k)
        return getattr(r, next(o for o, n in OLD_NAMES.items() if n == k))

    return {k: float(np.max(np.abs(curve(old, k) - curve(new, k)))) for k in names}


def engine_ratios(sec: dict) -> dict:
    """The ratios the targets are stated in, from :func:`time_engines`' seconds per run-step."""
    out = {"engine_1 / today": round(sec["today"] / sec["engine_1"], 2)}
    if "today_R" in sec:
        out["engine_R / today_R (per run-step)"] = round(sec["today_R"] / sec["engine_R"], 2)
    out["engine_1 / loop"] = round(sec["loop"] / sec["engine_1"], 2)
    out["engine_R per run-step / loop"] = round(sec["loop"] / sec["engine_R"], 2)
    return out


def cross_entropy(z, y):
    """Mean cross-entropy of logits ``z`` against integer labels ``y`` (the plain loops' loss)."""
    import jax
    import jax.numpy as jnp

    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(z), y[:, None], axis=1))


def rates_and_agreement(sec: dict, flop: float, digits: int, old, new, *args, **kwargs):
    """The report's common entries -- ``assumed_peak``, the ``contenders``' rates against the
    CPU's peak and the engine ``ratios`` -- and the largest difference between the old and the
    new trainer's curves on one small problem (``old(*args, **kwargs)`` vs ``new(...)``)."""
    peak = cpu_peak_gflops(4)
    rows = rate_rows(sec, flop, peak["gflops"], digits)
    curves = ("train_loss", "test_loss", "train_acc", "test_acc", "weight_norm")
    common = {"assumed_peak": peak, "contenders": rows, "ratios": engine_ratios(sec)}
    return common, max_abs_diff(old(*args, **kwargs), new(*args, **kwargs), curves)
