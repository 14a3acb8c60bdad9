"""Scan-runner scaling (issue 4): wall-time ratios measured in one run.

    uv run python benchmarks/bench_scan.py [--p 300] [--splits 8000]

1. a critical scan on 1 worker (one core, in process) against 2 worker processes:
   target speed-up >= 1.7x on this 2-core machine;
2. the same scan on a Dask LocalCluster (2 worker processes, 1 thread each) against the
   2-process local pool: target <= 1.3x the pool's wall time (scans of >= 10 s).
All three must give identical pinning sizes.  Each local configuration runs in a fresh
Python process (as a command-line scan does), timed from the call of ``critical_scan``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
from _report import parser, report

from effgrok import critical_scan


def timed(**kw):
    t0 = time.perf_counter()
    res = critical_scan("add", [kw.pop("p")], kw.pop("splits"), seed=0, **kw)
    return time.perf_counter() - t0, res[0]


_FRESH = """
import json, sys, time
import numpy as np
from effgrok import critical_scan
t0 = time.perf_counter()
r = critical_scan("add", [{p}], {splits}, seed=0, workers={workers})[0]
dt = time.perf_counter() - t0
np.save(sys.argv[1], r.pinning_sizes)
print(json.dumps({{"seconds": dt}}))
"""


def fresh(p: int, splits: int, workers: int, path: str) -> tuple[float, np.ndarray]:
    out = subprocess.run(
        [sys.executable, "-c", _FRESH.format(p=p, splits=splits, workers=workers), path],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["seconds"], np.load(path)


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--p", type=int, default=300)
    ap.add_argument("--splits", type=int, default=8000)
    args = ap.parse_args()
    timed(p=args.p, splits=20, workers=1)  # compile once into the on-disk cache
    import tempfile

    tmp = tempfile.mkdtemp()
    t1, T1 = fresh(args.p, args.splits, 1, f"{tmp}/one.npy")
    t2, T2 = fresh(args.p, args.splits, 2, f"{tmp}/two.npy")
    from distributed import LocalCluster

    t0 = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        t_start = time.perf_counter() - t0
        timed(p=args.p, splits=20, scheduler=cluster.scheduler_address)  # workers load the compiled kernels
        td, rd = timed(p=args.p, splits=args.splits, scheduler=cluster.scheduler_address)
    same = bool(np.array_equal(T1, T2) and np.array_equal(T1, rd.pinning_sizes))
    out = {
        "scan": f"critical add p={args.p}, {args.splits} splits",
        "one_worker_s": t1,
        "two_workers_s": t2,
        "speedup_2_over_1": t1 / t2,
        "target_speedup": 1.7,
        "dask_s": td,
        "dask_cluster_start_s": t_start,
        "dask_over_pool": td / t2,
        "target_dask_over_pool": 1.3,
        "identical_results": bool(same),
        "r_c": rd.r_c,
    }
    report(
        out,
        (
            f"1 worker {t1:.1f} s, 2 workers {t2:.1f} s -> {t1 / t2:.2f}x (target >= 1.7x); "
            f"Dask {td:.1f} s (+{t_start:.1f} s cluster start) -> {td / t2:.2f}x the pool (target <= 1.3x); "
            f"identical results: {same}"
        ),
        args.json,
    )


if __name__ == "__main__":
    main()
