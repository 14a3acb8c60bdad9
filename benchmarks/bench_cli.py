"""Speed of a command-line call (issue 26, item 5), as ratios measured in one run.

    uv run python benchmarks/bench_cli.py critical   # the warm main job against its own compute
    uv run python benchmarks/bench_cli.py train      # 1st vs 2nd `effgrok train modular` process
    uv run python benchmarks/bench_cli.py all [--repeats 5] [--baseline COMMIT] [--json PATH]

``critical``: the wall time of the process ``effgrok critical --task add --p 10 --splits 10000``
(the README's main job; ``python -m effgrok``, the venv's console script ``effgrok`` and
``uv run effgrok``, each warm: one call first fills numba's on-disk cache, the bytecode cache
and the page cache) against the compute it does: the same ``critical_scan`` timed inside one
Python process, after a first call (the scan called twice in one process).  Beside them: the
bare interpreter (``python -c pass``), the import of the CLI with its parser built, and numba's
floor (``import numba`` and the registries its first call loads).  Target: wall ≤ 1.5 s on
2 cores; ``overhead`` = wall − compute is what starting, importing and printing cost.

Bytecode: Python writes ``.pyc`` files by default, so a user's warm call reads compiled
bytecode; a sandbox may set ``PYTHONDONTWRITEBYTECODE=1`` with no ``.pyc`` in the venv (uv does
not compile at install), and every import then compiles its source (about 3x the main job's
time).  ``--bytecode cached`` (default) runs the children without that variable (the warm-up
call writes the ``.pyc`` files); ``--bytecode off`` runs them with it and an empty
``PYTHONPYCACHEPREFIX``, so that no ``.pyc`` is read or written whatever the venv holds
(numba's cache, beside the sources, is still used).

``train``: a fresh JAX persistent-cache folder (``EFFGROK_JAX_CACHE``), then twice the same
``effgrok train modular --steps 1 --stride 1`` process: its wall is start to first step
(interpreter, imports, the XLA compilation or the cache read, one step, the print).  Target: the
second process ≥ 2× faster than the first.  The cache is JAX's persistent compilation cache plus
effgrok's whole-program cache in its ``programs/`` folder (:mod:`effgrok.nets.programs`), which
lets the second process skip tracing and lowering too.  ``EFFGROK_JAX_CACHE=off`` is run first as the
baseline without the cache (it must cost about what the first, cache-filling process does).
Repeats are interleaved and the minimum kept (the machine is shared); the load average before
and after is recorded.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _report import parser, report

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]
CRITICAL = ["critical", "--task", "add", "--p", "10", "--splits", "10000"]
TRAIN = ["train", "modular", "--steps", "1", "--stride", "1"]


#: CPU seconds (user + system) of the last process :func:`wall` ran
LAST_CPU = [0.0]
#: the children's environment (see ``--bytecode``)
ENV = [dict(os.environ)]


def wall(argv: list[str], env: dict | None = None) -> float:
    """Seconds from starting the process ``argv`` to its exit (it must succeed); its CPU seconds
    go to ``LAST_CPU`` (less sensitive than wall time to other jobs on a shared machine)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, env=env if env is not None else ENV[0])
    dt = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    LAST_CPU[0] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return dt


def compute_seconds(repeats: int) -> float:
    """The main job's computation in this process: ``critical_scan`` as the command calls it,
    timed after a first call (numba and the kernels loaded)."""
    from effgrok.effective.critical import critical_scan

    def once() -> None:
        critical_scan("add", [10], 10_000, seed=0, workers="auto")

    once()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        once()
        best = min(best, time.perf_counter() - t0)
    return best


def old_package(commit: str) -> str:
    """A folder holding the package ``effgrok`` as of ``commit`` (``git archive``; the
    repository is not touched), to run as ``python -m effgrok`` from there."""
    folder = tempfile.mkdtemp(prefix="effgrok-baseline-")
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit, "effgrok"], check=True, capture_output=True
    )
    subprocess.run(["tar", "-x", "-C", folder], input=archive.stdout, check=True)
    return folder


NUMBA_FLOOR = "import numba; from numba.core.registry import cpu_target; cpu_target.target_context.refresh()"


def bench_critical(repeats: int, baseline: str | None) -> dict:
    cli = [sys.executable, "-m", "effgrok", *CRITICAL]  # as the baseline is run
    contenders = {
        "python": [sys.executable, "-c", "pass"],
        "numba_floor": [sys.executable, "-c", NUMBA_FLOOR],
        "import_cli": [sys.executable, "-c", "from effgrok.cli import build_parser; build_parser()"],
        "cli_main_job": cli,
        "console_script": [str(BIN / "effgrok"), *CRITICAL],
    }
    uv = shutil.which("uv")
    if uv:  # the README's spelling; uv checks the environment first
        contenders["uv_run"] = [uv, "run", "--project", str(ROOT), "effgrok", *CRITICAL]
    if baseline:  # the same command with the package as of an earlier commit
        old = old_package(baseline)
        command = f'cd "{old}" && exec "{sys.executable}" -m effgrok ' + " ".join(CRITICAL)
        contenders["baseline_main_job"] = ["sh", "-c", command]  # cwd first on sys.path: the old code
    for argv in contenders.values():
        wall(argv)  # warm: numba's on-disk cache, the bytecode and the page cache
    best = {k: float("inf") for k in contenders}
    cpu = dict.fromkeys(contenders, float("inf"))
    for _ in range(repeats):
        for name, argv in contenders.items():
            best[name] = min(best[name], wall(argv))
            cpu[name] = min(cpu[name], LAST_CPU[0])
    compute = compute_seconds(repeats)
    return {
        "command": "effgrok " + " ".join(CRITICAL),
        "wall_s": best["cli_main_job"],
        "compute_s": compute,
        "wall_over_compute": best["cli_main_job"] / compute,
        "overhead_s": best["cli_main_job"] - compute,
        "python_startup_s": best["python"],
        "numba_floor_s": best["numba_floor"],
        "import_cli_s": best["import_cli"],
        "console_script_s": best["console_script"],
        **({"uv_run_s": best["uv_run"]} if uv else {}),
        "wall_s_all": dict(best),
        "cpu_s": dict(cpu),
        "target_wall_s": 1.5,
        "met": best["cli_main_job"] <= 1.5,
        **({"baseline": baseline, "baseline_wall_s": best["baseline_main_job"]} if baseline else {}),
    }


def bench_train(repeats: int) -> dict:
    cli = [str(BIN / "effgrok"), *TRAIN]
    rows = {"off": [], "first": [], "second": []}
    cpus = {"off": [], "first": [], "second": []}
    for _ in range(repeats):
        folder = tempfile.mkdtemp(prefix="effgrok-jax-cache-")
        try:
            rows["off"].append(wall(cli, {**ENV[0], "EFFGROK_JAX_CACHE": "off"}))
            cpus["off"].append(LAST_CPU[0])
            env = {**ENV[0], "EFFGROK_JAX_CACHE": folder}
            rows["first"].append(wall(cli, env))
            cpus["first"].append(LAST_CPU[0])
            entries = len(os.listdir(folder))
            rows["second"].append(wall(cli, env))
            cpus["second"].append(LAST_CPU[0])
            if len(os.listdir(folder)) != entries:
                raise RuntimeError("the second process wrote new cache entries: it recompiled")
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    best = {k: min(v) for k, v in rows.items()}
    return {
        "command": "effgrok " + " ".join(TRAIN),
        "no_cache_s": best["off"],
        "first_s": best["first"],
        "second_s": best["second"],
        "cache_entries": entries,
        "first_over_second": best["first"] / best["second"],
        "cpu_s": {k: min(v) for k, v in cpus.items()},
        "target_ratio": 2.0,
        "met": best["first"] / best["second"] >= 2.0,
    }


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("which", choices=("critical", "train", "all"), nargs="?", default="all")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--baseline", default=None, help="also time the main job as of this git commit")
    ap.add_argument("--bytecode", choices=("cached", "off"), default="cached", help="see the docstring")
    args = ap.parse_args()
    if args.bytecode == "cached":
        ENV[0].pop("PYTHONDONTWRITEBYTECODE", None)
    else:  # no .pyc read or written: every import compiles its source
        ENV[0].update(PYTHONDONTWRITEBYTECODE="1", PYTHONPYCACHEPREFIX=tempfile.mkdtemp(prefix="no-pyc-"))
    record = {"cpus": len(os.sched_getaffinity(0)), "load_1min": os.getloadavg()[0]}
    record["bytecode"] = args.bytecode
    lines = []
    if args.which in ("critical", "all"):
        r = record["critical"] = bench_critical(args.repeats, args.baseline)
        lines.append(
            f"critical: wall {r['wall_s']:.2f} s = {r['wall_over_compute']:.1f}x its compute "
            f"{r['compute_s']:.2f} s (python {r['python_startup_s']:.2f} s, numba's floor "
            f"{r['numba_floor_s']:.2f} s, CLI import {r['import_cli_s']:.2f} s, console script "
            f"{r['console_script_s']:.2f} s"
            + (f", uv run {r['uv_run_s']:.2f} s" if "uv_run_s" in r else "")
            + f"; CPU {r['cpu_s']['cli_main_job']:.2f} s; target wall <= 1.5 s: "
            + ("met" if r["met"] else "NOT met")
            + (f"; as of {r['baseline']}: {r['baseline_wall_s']:.2f} s" if "baseline" in r else "")
            + ")"
        )
    if args.which in ("train", "all"):
        r = record["train"] = bench_train(args.repeats)
        lines.append(
            f"train modular: 1st process {r['first_s']:.2f} s, 2nd {r['second_s']:.2f} s "
            f"({r['first_over_second']:.1f}x; no cache {r['no_cache_s']:.2f} s; target >= 2x: "
            f"{'met' if r['met'] else 'NOT met'})"
        )
    record["load_1min_after"] = os.getloadavg()[0]
    load = f"load average (1 min) before {record['load_1min']:.2f}, after {record['load_1min_after']:.2f}"
    lines.append(load)
    report(record, "\n".join(lines), args.json)


if __name__ == "__main__":
    main()
