"""Speed of a command-line call (issue 26, item 5), as ratios measured in one run.

    uv run python benchmarks/bench_cli.py critical   # the warm main job against its own compute
    uv run python benchmarks/bench_cli.py train      # 1st vs 2nd `effgrok train modular` process
    uv run python benchmarks/bench_cli.py all [--repeats 5] [--json PATH]

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
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _report import parser, report

BIN = Path(sys.executable).parent
CRITICAL = ["critical", "--task", "add", "--p", "10", "--splits", "10000"]
TRAIN = ["train", "modular", "--steps", "1", "--stride", "1"]


def wall(argv: list[str], env: dict | None = None) -> float:
    """Seconds from starting the process ``argv`` to its exit (it must succeed)."""
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, env=env)
    return time.perf_counter() - t0


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


def bench_critical(repeats: int) -> dict:
    cli = [str(BIN / "effgrok"), *CRITICAL]
    wall(cli)  # warm: numba's on-disk cache and the page cache
    contenders = {
        "python": [sys.executable, "-c", "pass"],
        "import_cli": [sys.executable, "-c", "from effgrok.cli import build_parser; build_parser()"],
        "cli_main_job": cli,
    }
    best = {k: float("inf") for k in contenders}
    for _ in range(repeats):
        for name, argv in contenders.items():
            best[name] = min(best[name], wall(argv))
    compute = compute_seconds(repeats)
    return {
        "command": "effgrok " + " ".join(CRITICAL),
        "wall_s": best["cli_main_job"],
        "compute_s": compute,
        "wall_over_compute": best["cli_main_job"] / compute,
        "overhead_s": best["cli_main_job"] - compute,
        "python_startup_s": best["python"],
        "import_cli_s": best["import_cli"],
        "target_wall_s": 1.5,
        "met": best["cli_main_job"] <= 1.5,
    }


def bench_train(repeats: int) -> dict:
    cli = [str(BIN / "effgrok"), *TRAIN]
    rows = {"off": [], "first": [], "second": []}
    for _ in range(repeats):
        folder = tempfile.mkdtemp(prefix="effgrok-jax-cache-")
        try:
            rows["off"].append(wall(cli, {**os.environ, "EFFGROK_JAX_CACHE": "off"}))
            env = {**os.environ, "EFFGROK_JAX_CACHE": folder}
            rows["first"].append(wall(cli, env))
            entries = len(os.listdir(folder))
            rows["second"].append(wall(cli, env))
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
        "target_ratio": 2.0,
        "met": best["first"] / best["second"] >= 2.0,
    }


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("which", choices=("critical", "train", "all"), nargs="?", default="all")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    record, lines = {"cpus": len(os.sched_getaffinity(0)), "load_1min": os.getloadavg()[0]}, []
    if args.which in ("critical", "all"):
        r = record["critical"] = bench_critical(args.repeats)
        lines.append(
            f"critical: wall {r['wall_s']:.2f} s = {r['wall_over_compute']:.1f}x its compute "
            f"{r['compute_s']:.2f} s (python {r['python_startup_s']:.2f} s, CLI import "
            f"{r['import_cli_s']:.2f} s; target wall <= 1.5 s: {'met' if r['met'] else 'NOT met'})"
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
