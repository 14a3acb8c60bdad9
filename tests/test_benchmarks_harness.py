"""The benchmark harness itself (benchmarks/_throughput.py): what it times must be the program
the library runs, also when the process has built that program before."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import _throughput as tp

from effgrok.nets.digits import load_digits_split, train_digits
from effgrok.nets.driver import Schedule


def test_compiled_program_finds_a_program_the_process_already_built():
    data = load_digits_split(40, seed=0, n_test=40)

    def call():
        return train_digits(data, width=8, depth=2, schedule=Schedule(4, 2))

    first = call()  # builds and caches the program: a later call passes no jax.jit
    rerun = tp.compiled_program(call)
    out = rerun()
    assert np.allclose(np.asarray(out["curves"]["train_loss"], np.float64)[0], first.train_loss[0], rtol=1e-6)
