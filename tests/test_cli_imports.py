"""Issue 26 item 5: the main job imports only what it computes with.

``effgrok critical`` needs numpy, numba (its kernels) and ``scipy.special`` (the Clopper–Pearson
band); every heavy module it does not use must stay unimported on its path, so that a warm call
costs about a second (``benchmarks/bench_cli.py``).  The command runs in a fresh interpreter and
its ``sys.modules`` is inspected afterwards.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

#: heavy modules the main job must not import (seconds of import between them: scipy.stats
#: alone 0.7 s; the networks' and kernels' stacks several seconds)
HEAVY = (
    "scipy.stats",
    "scipy.optimize",
    "scipy.integrate",
    "scipy.sparse.linalg",
    "matplotlib",
    "jax",
    "optax",
    "sympy",
    "neural_tangents",
    "torch",
    "pandas",
    "distributed",
)

CHECK = """
import sys
from effgrok.cli import main
code = main({argv!r})
assert code == 0, code
print(" ".join(sorted(m for m in {heavy!r} if m in sys.modules)))
print(" ".join(m for m in ("numba", "scipy.special") if m in sys.modules))
"""


def _imported_by(argv: list[str], heavy=HEAVY) -> tuple[set[str], set[str]]:
    """(heavy modules imported, of numba and scipy.special those imported) by one command."""
    code = CHECK.format(argv=argv, heavy=heavy)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    heavy_line, used_line = res.stdout.strip().splitlines()[-2:]
    return set(heavy_line.split()), set(used_line.split())


@pytest.mark.parametrize(
    "argv",
    [
        ["critical", "--task", "add", "--p", "10", "--splits", "300"],
        ["critical", "--task", "add-mod", "--p", "7", "11", "--splits", "200", "--json"],
    ],
)
def test_critical_imports_no_heavy_module(argv):
    heavy, used = _imported_by(argv)
    assert not heavy, f"effgrok {' '.join(argv)} imported {sorted(heavy)}"
    # the command did its work: its kernels (numba) and the interval (scipy.special) ran
    assert used == {"numba", "scipy.special"}


def test_the_import_check_sees_a_heavy_import():
    # the check itself can fail: `effgrok rate` draws its split with numba and nothing heavy,
    # so a module it does import must be reported when listed as heavy
    rate = ["rate", "--task", "add", "--p", "6", "--train-frac", "0.5"]
    heavy, _ = _imported_by(rate, heavy=("numba", "jax"))
    assert heavy == {"numba"}
