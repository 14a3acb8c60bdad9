"""Job functions importable by name ("_scan_jobs:...") in spawned pool workers (tests only)."""

import os

import numpy as np


def square(x: int) -> dict:
    return {"x": np.asarray(x), "square": np.asarray(x * x), "pid": np.asarray(os.getpid())}


NOT_CALLABLE = 3


def gated(x: int, gate: str, free: int, pids: str) -> dict:
    """``square(x)``, but jobs ``x >= free`` first wait until the file ``gate`` exists (each
    notes its process id in the folder ``pids``): a scan of these stops at a known point."""
    import time
    from pathlib import Path

    if x >= free:
        Path(pids, f"{x}-{os.getpid()}").touch()
        while not os.path.exists(gate):
            time.sleep(0.02)
    return {"x": np.asarray(x), "square": np.asarray(x * x)}


def gated_jobs(n: int, gate: str, free: int, pids: str) -> list:
    from effgrok.scan import Job

    return [
        Job(f"g{x:02d}", "_scan_jobs:gated", {"x": x, "gate": gate, "free": free, "pids": pids})
        for x in range(n)
    ]


def main(argv: list[str]) -> int:
    """``python tests/_scan_jobs.py OUT GATE FREE PIDS (in-process|K|tcp://...)``: a gated scan
    into the store OUT, reporting Ctrl-C as the command line does (one line, exit 130)."""
    import sys

    from effgrok.scan import ScanStore, run_scan

    out, gate, free, pids, where = argv
    kw = {"scheduler": where} if where.startswith("tcp://") else {}
    if where.isdigit():
        kw["workers"] = int(where)
    store = ScanStore(out, "gated", {"free": int(free)})
    try:
        run_scan(gated_jobs(8, gate, int(free), pids), store=store, **kw)
    except KeyboardInterrupt as exc:
        print(f"effgrok: {exc}", file=sys.stderr)
        return 130
    print("complete")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
