"""Shared oracles: naive implementations that know nothing of effgrok's algorithms."""

import itertools
import os

import numpy as np
import pytest

# fixture writers run once with real torch (tests/fixtures/torch/make_torch_fixtures.py), never in CI
collect_ignore_glob = ["fixtures/*"]

# The command's JAX compilation cache stays out of the user's cache folder during the tests (and
# in the commands they start as processes, which inherit this); tests/test_cli.py turns it on in
# a temporary folder where it tests it.
os.environ["EFFGROK_JAX_CACHE"] = "off"
os.environ.pop("EFFGROK_PROGRAM_CACHE", None)  # effgrok.nets.programs: off unless a test turns it on


def naive_rows(task, mask=None):
    """Constraint rows of all (or all-training) parallelograms by explicit enumeration."""
    n = task.n_examples
    mask = np.ones(n, bool) if mask is None else mask
    slots = task.slots
    rows = []
    for x, y in itertools.combinations(range(n), 2):
        if task.results[x] == task.results[y] and mask[x] and mask[y]:
            r = np.zeros(task.n_slots)
            r[slots[x, 0]] += 1
            r[slots[x, 1]] += 1
            r[slots[y, 0]] -= 1
            r[slots[y, 1]] -= 1
            rows.append(r)
    return np.array(rows).reshape(-1, task.n_slots)


def naive_nullity(task, mask):
    A = naive_rows(task, mask)
    rank = np.linalg.matrix_rank(A) if A.size else 0
    return task.n_slots - rank


@pytest.fixture
def add10():
    from effgrok import make_task

    return make_task("add", 10)
