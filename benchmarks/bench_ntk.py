"""Empirical NTK of a width-1024 two-layer network on 1000 inputs (issue 5): effgrok against
neural-tangents' implementation 1 (Jacobian contraction), time and peak memory, each measured
in a fresh process of its own (ratio effgrok / neural-tangents).

    uv run python benchmarks/bench_ntk.py [--n 1000] [--width 1024] [--dim 50]

Targets: effgrok no slower than neural-tangents implementation 1, within its peak memory.
"""

from __future__ import annotations

import json
import subprocess
import sys

from _report import parser, report

_CHILD = """
import json, resource, sys, time
import numpy as np
import jax
from effgrok.kernels import TwoLayer, empirical_ntk
which, n, width, dim = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
net = TwoLayer("relu", width=width)
params = net.init(dim, seed=0)
x = np.random.default_rng(1).standard_normal((n, dim))
with jax.enable_x64(True):
    if which == "nt":
        from effgrok.kernels._neural_tangents import load
        nt = load()
        fn = nt.empirical_ntk_fn(net.apply, trace_axes=(), vmap_axes=0, implementation=1)
        p = jax.tree_util.tree_map(jax.numpy.asarray, params)
        run = lambda: np.asarray(fn(x, None, p))
    else:
        run = lambda: empirical_ntk(net.apply, params, x)
    run_small = run  # compile once on the full problem, then time a second call
    K = run()
    t0 = time.perf_counter()
    K = run()
    dt = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
np.save(sys.argv[5], np.asarray(K).reshape(n, n))
print(json.dumps({"seconds": dt, "peak_rss_mib": rss}))
"""


def measure(which: str, n: int, width: int, dim: int, path: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, which, str(n), str(width), str(dim), path],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--dim", type=int, default=50)
    args = ap.parse_args()
    import tempfile

    import numpy as np

    tmp = tempfile.mkdtemp()
    ours = measure("effgrok", args.n, args.width, args.dim, f"{tmp}/a.npy")
    theirs = measure("nt", args.n, args.width, args.dim, f"{tmp}/b.npy")
    diff = float(np.max(np.abs(np.load(f"{tmp}/a.npy") - np.load(f"{tmp}/b.npy"))))
    res = {
        "benchmark": f"empirical NTK, width {args.width}, {args.n} inputs, D={args.dim}",
        "effgrok": ours,
        "neural_tangents_impl1": theirs,
        "time_ratio": ours["seconds"] / theirs["seconds"],
        "memory_ratio": ours["peak_rss_mib"] / theirs["peak_rss_mib"],
        "max_abs_difference": diff,
    }
    report(
        res,
        (
            f"effgrok {ours['seconds']:.2f} s, {ours['peak_rss_mib']:.0f} MiB; neural-tangents impl 1 "
            f"{theirs['seconds']:.2f} s, {theirs['peak_rss_mib']:.0f} MiB "
            f"-> time ratio {res['time_ratio']:.2f}, "
            f"memory ratio {res['memory_ratio']:.2f} (targets <= 1); max |ΔK| {diff:.1e}"
        ),
        args.json,
    )


if __name__ == "__main__":
    main()
