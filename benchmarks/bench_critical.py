"""Critical-size benchmarks (issue 2), as ratios against a naive baseline in the same run.

    uv run python benchmarks/bench_critical.py curve   # p = 10 curve, 55 sizes × 10 000 splits
    uv run python benchmarks/bench_critical.py scan    # r_c for add/add-mod, p = 10 … 1000, 1000 splits
    uv run python benchmarks/bench_critical.py all

The naive baseline draws each training set independently, selects the rows of its
training parallelograms from the precomputed row matrix of all permissible ones and takes
``numpy.linalg.matrix_rank`` (SVD).  It runs on a subset of the splits and its time is
scaled to the full count (its cost is linear in the number of splits).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import effgrok as eg


def naive_curve(task, splits: int, seed: int = 0) -> tuple[np.ndarray, float]:
    pars = eg.parallelograms(task)
    rows = eg.constraint_rows(task, pars)
    full = eg.full_table_nullity(task)
    rng = np.random.default_rng(seed)
    n = task.n_examples
    p_hat = np.empty(n)
    t0 = time.perf_counter()
    for size in range(1, n + 1):
        hits = 0
        for _ in range(splits):
            mask = np.zeros(n, bool)
            mask[rng.choice(n, size, replace=False)] = True
            sel = mask[pars[:, 0]] & mask[pars[:, 1]]
            rank = np.linalg.matrix_rank(rows[sel]) if sel.any() else 0
            hits += task.n_slots - rank == full
        p_hat[size - 1] = hits / splits
    return p_hat, time.perf_counter() - t0


def bench_curve(splits: int = 10_000, baseline_splits: int = 200) -> dict:
    task = eg.make_task("add", 10)
    eg.critical_fraction(task, 100, seed=1)  # JIT warm-up (numba cache makes later runs cheap)
    times = []
    for rep in range(5):
        t0 = time.perf_counter()
        res = eg.critical_fraction(task, splits, seed=rep)
        times.append(time.perf_counter() - t0)
    fast = float(np.median(times))
    p_naive, t_naive = naive_curve(task, baseline_splits)
    naive_full = t_naive * splits / baseline_splits
    diff = np.max(np.abs(p_naive - res.p_pinned))
    return {
        "benchmark": "p=10 add curve, 55 sizes x 10000 splits",
        "effgrok_s": fast,
        "naive_s_extrapolated": naive_full,
        "naive_splits_measured": baseline_splits,
        "speedup": naive_full / fast,
        "target_speedup": 50,
        "target_wall_s": 3.0,
        "r_c": res.r_c,
        "max_abs_curve_difference_vs_naive": float(diff),
    }


def bench_scan(splits: int = 1000, ps=(10, 20, 50, 100, 200, 500, 1000)) -> dict:
    out = {"benchmark": f"r_c scan, add and add-mod, p={list(ps)}, {splits} splits", "rows": []}
    eg.critical_fraction(eg.make_task("add", 10), 10, seed=0)
    t_all = time.perf_counter()
    for name in ("add", "add-mod"):
        for p in ps:
            t0 = time.perf_counter()
            res = eg.critical_fraction(eg.make_task(name, p), splits, seed=0, coords=(p,))
            dt = time.perf_counter() - t0
            row = {
                "task": name,
                "p": p,
                "r_c": res.r_c,
                "r_c_ci": res.r_c_ci,
                "seconds": dt,
                "method": res.method,
            }
            out["rows"].append(row)
            print(
                f"  {name:8s} p={p:5d}  r_c={res.r_c:.5f}  [{res.r_c_ci[0]:.5f}, {res.r_c_ci[1]:.5f}]  "
                f"{dt:7.1f} s  ({res.method})",
                flush=True,
            )
    out["total_s"] = time.perf_counter() - t_all
    out["target_total_s"] = 600
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("which", choices=("curve", "scan", "all"), nargs="?", default="all")
    ap.add_argument("--splits", type=int, default=None, help="override the number of splits")
    ap.add_argument("--json", type=str, default=None, help="also write the results to this JSON file")
    args = ap.parse_args()
    results = []
    if args.which in ("curve", "all"):
        r = bench_curve(**({"splits": args.splits} if args.splits else {}))
        print(
            f"curve: effgrok {r['effgrok_s']:.3f} s, naive {r['naive_s_extrapolated']:.1f} s (extrapolated) "
            f"-> {r['speedup']:.0f}x (target >= 50x, < 3 s); "
            f"max |ΔP| vs naive {r['max_abs_curve_difference_vs_naive']:.3f}"
        )
        results.append(r)
    if args.which in ("scan", "all"):
        r = bench_scan(**({"splits": args.splits} if args.splits else {}))
        print(f"scan: total {r['total_s']:.1f} s (target < 600 s)")
        results.append(r)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
