"""``python -m theory [--out docs/theory] [--only MODULE ...]``: run every derivation in :data:`MODULES`.

Each module's ``main(out_dir)`` prints its results, writes its LaTeX/markdown into ``out_dir``
and returns a JSON-able summary; the summaries (with timings) go to ``out_dir/summary.json``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pathlib
import sys
import time

from . import MODULES


def _jsonable(value):
    """Summaries may hold numpy scalars, tuples or sympy numbers: make them plain JSON."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if hasattr(value, "item"):
        return value.item()
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def run(out_dir: pathlib.Path, modules=MODULES) -> dict:
    """Run ``main(out_dir)`` of each module; write and return ``summary.json``'s content."""
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = {}
    for name in modules:
        module = importlib.import_module(f"{__package__}.{name}")
        print(f"== theory.{name}")
        t0 = time.perf_counter()
        result = module.main(out_dir)
        elapsed = time.perf_counter() - t0
        summary[name] = {"seconds": round(elapsed, 3), **_jsonable(result)}
        print(f"   ({elapsed:.1f} s)\n")
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m theory", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("docs/theory"), help="output folder")
    parser.add_argument("--only", nargs="+", choices=MODULES, default=list(MODULES), help="modules to run")
    args = parser.parse_args(argv)
    run(args.out, args.only)
    print(f"wrote {args.out / 'summary.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
