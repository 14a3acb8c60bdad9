import numpy as np
import pytest

import effgrok as eg


@pytest.mark.parametrize("p", [2, 3, 10, 17])
def test_add_counts_and_results(p):
    t = eg.make_task("add", p)
    assert t.n_examples == p * (p + 1) // 2
    assert t.n_classes == 2 * p - 1
    a, b = t.symbols[t.pairs].T
    assert np.all(a <= b)
    np.testing.assert_array_equal(t.result_labels[t.results], a + b)
    assert t.commutative and t.encoding == "sum" and t.n_slots == p


@pytest.mark.parametrize(
    ("name", "op"), [("add-mod", np.add), ("sub-mod", np.subtract), ("mul-mod", np.multiply)]
)
def test_modular_tasks_results(name, op):
    p = 7
    t = eg.make_task(name, p)
    a, b = t.symbols[t.pairs].T
    np.testing.assert_array_equal(t.result_labels[t.results], op(a, b) % p)
    if name == "mul-mod":
        np.testing.assert_array_equal(t.symbols, np.arange(1, p))
        assert t.n_examples == (p - 1) * p // 2
    if name == "sub-mod":
        assert not t.commutative and t.encoding == "concat" and t.n_examples == p * p
        assert t.n_slots == 2 * p


def test_s3_is_a_nonabelian_group_task():
    t = eg.make_task("s3")
    assert t.n_symbols == 6 and t.n_examples == 36 and t.n_classes == 6
    assert not t.commutative
    # every result occurs exactly 6 times (Latin square)
    np.testing.assert_array_equal(np.bincount(t.results), np.full(6, 6))


def test_symmetric_group_composition():
    t = eg.symmetric_group_task(3)
    import itertools

    perms = list(itertools.permutations(range(3)))
    for x in range(t.n_examples):
        a, b = (perms[i] for i in t.pairs[x])
        comp = tuple(a[b[k]] for k in range(3))
        assert perms[t.result_labels[t.results[x]]] == comp


def test_group_task_checks_group_axioms():
    z3 = np.add.outer(np.arange(3), np.arange(3)) % 3
    assert eg.group_task(z3).n_classes == 3
    with pytest.raises(ValueError, match="Latin square"):
        eg.group_task([[0, 0], [1, 1]])
    with pytest.raises(ValueError, match="identity"):
        eg.group_task([[0, 2, 1], [2, 1, 0], [1, 0, 2]])  # x∘y = −x−y mod 3
    # a Latin square with identity that is not associative (a loop of order 5)
    loop = np.array([[0, 1, 2, 3, 4], [1, 0, 3, 4, 2], [2, 4, 0, 1, 3], [3, 2, 4, 0, 1], [4, 3, 1, 2, 0]])
    with pytest.raises(ValueError, match="associative"):
        eg.group_task(loop)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("mult", 7), "unknown task 'mult'"),
        (("add", 1), "p must be an integer in 2..6000, got 1"),
        (("add", 2.5), "p must be an integer"),
        (("add", None), "needs p"),
        (("mul-mod", 9), "prime p >= 3, got 9"),
        (("s3", 5), "p must be omitted or 6"),
    ],
)
def test_make_task_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        eg.make_task(*args)


def test_random_split_sizes_and_determinism(add10):
    s = eg.random_split(add10, fraction=0.8, seed=58)
    assert s.n_train == 44 and s.test.size == 11 and s.fraction == pytest.approx(0.8)
    assert np.array_equal(s.train, eg.random_split(add10, fraction=0.8, seed=58).train)
    assert not np.array_equal(s.train, eg.random_split(add10, fraction=0.8, seed=59).train)
    assert np.intersect1d(s.train, s.test).size == 0
    assert eg.random_split(add10, size=55, seed=0).test.size == 0
    for bad in (0.0, -0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="fraction"):
            eg.random_split(add10, fraction=bad, seed=0)
    with pytest.raises(ValueError, match=r"training size must be an integer in 1\.\.55"):
        eg.random_split(add10, size=56, seed=0)
    with pytest.raises(ValueError, match="no training example"):
        eg.random_split(add10, fraction=0.001, seed=0)


def test_split_from_pairs(add10):
    s1 = eg.split_from_pairs(add10, [(0, 1), (3, 2)])
    s2 = eg.split_from_pairs(add10, [(1, 0), (2, 3)])
    np.testing.assert_array_equal(s1.train, s2.train)
    with pytest.raises(ValueError, match=r"pair \(0,10\) is out of range"):
        eg.split_from_pairs(add10, [(0, 10)])
    with pytest.raises(ValueError, match="more than once"):
        eg.split_from_pairs(add10, [(0, 1), (1, 0)])
    sub = eg.make_task("sub-mod", 5)
    assert eg.split_from_pairs(sub, [(0, 1), (1, 0)]).n_train == 2


# --------------------------------------------------------------------------- task names (issue 25)
def test_public_functions_accept_a_task_name_with_its_size():
    import inspect

    import effgrok as eg
    from effgrok.tasks import as_task

    task = eg.make_task("add", 10)
    assert as_task("add", 10) is task and as_task(task) is task
    # the same numbers by name and by Task (the Task call is the oracle)
    by_name = eg.critical_fraction("add", p=10, splits=500, seed=1)
    by_task = eg.critical_fraction(task, 500, seed=1)
    np.testing.assert_array_equal(by_name.pinning_sizes, by_task.pinning_sizes)
    assert eg.full_table_nullity("add-mod", p=7) == eg.full_table_nullity(eg.make_task("add-mod", 7))
    split = eg.random_split("add", p=10, fraction=0.5, seed=3)
    np.testing.assert_array_equal(split.train, eg.random_split(task, fraction=0.5, seed=3).train)
    assert eg.grokking_rate("add", split, p=10) == eg.grokking_rate(task, split)
    assert eg.simulate_ensemble("add", 3, p=10, fraction=0.6, steps=50).size == 3
    assert eg.full_table_nullity("s3") == eg.full_table_nullity(eg.make_task("s3"))
    # every public function whose first argument is a task takes the name too
    for name in eg.__all__:
        fn = getattr(eg, name)
        if inspect.isfunction(fn) and next(iter(inspect.signature(fn).parameters), None) == "task":
            assert "p" in inspect.signature(fn).parameters, name


def test_a_task_name_without_its_size_names_the_fix():
    import effgrok as eg

    with pytest.raises(ValueError, match=r'critical_fraction\("add", p=10\), or make_task\("add", 10\)'):
        eg.critical_fraction("add")
    with pytest.raises(ValueError, match="unknown task 'nope'"):
        eg.critical_fraction("nope", p=10)
    with pytest.raises(ValueError, match="p=11 was given with a task of p=10"):
        eg.critical_fraction(eg.make_task("add", 10), p=11)
    with pytest.raises(ValueError, match="task must be a Task"):
        eg.full_table_nullity(10)
