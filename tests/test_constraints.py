import numpy as np
import pytest
from conftest import naive_nullity, naive_rows
from hypothesis import given, settings
from hypothesis import strategies as st

import effgrok as eg


@st.composite
def task_and_mask(draw):
    name = draw(st.sampled_from(["add", "add-mod", "sub-mod", "mul-mod", "s3"]))
    if name == "mul-mod":
        p = draw(st.sampled_from([3, 5, 7]))
    elif name == "s3":
        p = None
    else:
        p = draw(st.integers(2, 7))
    t = eg.make_task(name, p)
    mask = np.array(draw(st.lists(st.booleans(), min_size=t.n_examples, max_size=t.n_examples)))
    return t, mask


@settings(max_examples=60, deadline=None)
@given(task_and_mask())
def test_gram_per_class_equals_enumerated_rows(tm):
    t, mask = tm
    A = naive_rows(t, mask)
    np.testing.assert_array_equal(eg.gram_matrix(t, mask), A.T @ A)
    assert eg.n_training_parallelograms(t, mask) == A.shape[0]


def test_p10_addition_facts(add10):
    pars = eg.parallelograms(add10)
    assert pars.shape == (70, 2)
    assert len(naive_rows(add10)) == 70
    G = eg.gram_matrix(add10, np.ones(55, bool))
    ev = np.linalg.eigvalsh(G)
    assert eg.full_table_nullity(add10) == 2
    assert ev[2] == pytest.approx(30.0, abs=1e-9)
    # translation and scale span the null space
    N = eg.full_table_null_space(add10)
    for v in (np.ones(10), np.arange(10.0)):
        assert np.linalg.norm(v - N @ (N.T @ v)) < 1e-10


@pytest.mark.parametrize("p", [5, 10, 13, 20])
def test_modular_addition_full_nullity_is_one(p):
    t = eg.make_task("add-mod", p)
    assert eg.full_table_nullity(t) == 1
    assert naive_nullity(t, np.ones(t.n_examples, bool)) == 1


def test_other_tasks_full_nullity():
    assert eg.full_table_nullity(eg.make_task("mul-mod", 11)) == 1  # cyclic group of order 10
    # two operand embeddings, each free up to its own constant (no homomorphism to R)
    assert eg.full_table_nullity(eg.make_task("sub-mod", 7)) == 2
    assert eg.full_table_nullity(eg.make_task("s3")) == 2


def test_training_parallelograms_and_rows(add10):
    s = eg.random_split(add10, fraction=0.5, seed=1)
    pars = eg.parallelograms(add10)
    sel = eg.training_parallelograms(add10, s, pars)
    A = eg.constraint_rows(add10, pars[sel])
    np.testing.assert_array_equal(A.T @ A, eg.gram_matrix(add10, s))
    assert sel.sum() == eg.n_training_parallelograms(add10, s)


def test_gram_rejects_bad_training_sets(add10):
    with pytest.raises(ValueError, match="shape"):
        eg.gram_matrix(add10, np.ones(3, bool))
    with pytest.raises(ValueError, match=r"0\.\.54"):
        eg.gram_matrix(add10, np.array([0, 55]))
