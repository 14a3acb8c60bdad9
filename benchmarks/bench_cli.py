"""Speed of a command-line call (issue 26, item 5), as ratios measured in one run.

    uv run python benchmarks/bench_cli.py critical   # the warm main job against its own compute
    uv run python benchmarks/bench_cli.py train      # 1st vs 2nd `effgrok train modular` process
    uv run python benchmarks/bench_cli.py all [--repeats 5] [--baseline COMMIT] [--json PATH]

``critical``: the wall time of the process ``effgrok critical --task add --p 10 --splits 10000``
(the README's main job; the venv's console script, started by this script, warm: one call
first fills the numba and file caches) against the compute it does, ``critical_fraction`` of
the same task and splits timed inside one Python process after a first call.  Beside them: the
bare interpreter (``python -c pass``) and the import of the CLI with its parser built.  Target:
wall ≤ 1.5 s on 2 cores; ``overhead`` = wall − compute is what importing and printing cost.

``train``: a fresh JAX persistent-cache folder (``EFFGROK_JAX_CACHE``), then twice the same
``effgrok train modular --steps 1 --stride 1`` process: its wall is start to first step
(interpreter, imports, the XLA compilation or the cache read, one step, the print).  Target: the
second process ≥ 2× faster than the first.  ``EFFGROK_JAX_CACHE=off`` is run first as the
baseline without the cache (it must cost about what the first, cache-filling process does).
Repeats are interleaved and the minimum kept (the machine is shared).
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


def wall(argv: list[str], env: dict | None = None) -> float:
    """Seconds from starting the process ``argv`` to its exit (it must succeed); its CPU seconds
    go to ``LAST_CPU`` (less sensitive than wall time to other jobs on a shared machine)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, env=env)
    dt = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    LAST_CPU[0] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return dt


def compute_seconds(repeats: int) -> float:
    """``critical_fraction`` of the main job in this process, after one call (numba loaded)."""
    import effgrok as eg

    task = eg.make_task("add", 10)
    eg.critical_fraction(task, 10_000, seed=0)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        eg.critical_fraction(task, 10_000, seed=0)
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


def bench_critical(repeats: int, baseline: str | None) -> dict:
    cli = [sys.executable, "-m", "effgrok", *CRITICAL]  # as the baseline is run
    contenders = {
        "python": [sys.executable, "-c", "pass"],
        "import_cli": [sys.executable, "-c", "from effgrok.cli import build_parser; build_parser()"],
        "cli_main_job": cli,
    }
    if baseline:  # the same command with the package as of an earlier commit
        old = old_package(baseline)
        command = f'cd "{old}" && exec "{sys.executable}" -m effgrok ' + " ".join(CRITICAL)
        contenders["baseline_main_job"] = ["sh", "-c", command]  # cwd first on sys.path: the old code
    for argv in contenders.values():
        wall(argv)  # warm: numba's on-disk cache and the page cache
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
        "import_cli_s": best["import_cli"],
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
            rows["off"].append(wall(cli, {**os.environ, "EFFGROK_JAX_CACHE": "off"}))
            cpus["off"].append(LAST_CPU[0])
            env = {**os.environ, "EFFGROK_JAX_CACHE": folder}
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
    args = ap.parse_args()
    record, lines = {"cpus": len(os.sched_getaffinity(0)), "load_1min": os.getloadavg()[0]}, []
    if args.which in ("critical", "all"):
        r = record["critical"] = bench_critical(args.repeats, args.baseline)
        lines.append(
            f"critical: wall {r['wall_s']:.2f} s = {r['wall_over_compute']:.1f}x its compute "
            f"{r['compute_s']:.2f} s (python {r['python_startup_s']:.2f} s, CLI import "
            f"{r['import_cli_s']:.2f} s; target wall <= 1.5 s: {'met' if r['met'] else 'NOT met'})"
            + (f"; as of {r['baseline']}: {r['baseline_wall_s']:.2f} s" if "baseline" in r else "")
        )
    if args.which in ("train", "all"):
        r = record["train"] = bench_train(args.repeats)
        lines.append(
            f"train modular: 1st process {r['first_s']:.2f} s, 2nd {r['second_s']:.2f} s "
            f"({r['first_over_second']:.1f}x; no cache {r['no_cache_s']:.2f} s; target >= 2x: "
            f"{'met' if r['met'] else 'NOT met'})"
        )
    report(record, "\n".join(lines), args.json)


if __name__ == "__main__":
    main()
