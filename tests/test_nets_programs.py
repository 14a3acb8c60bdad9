"""The on-disk cache of compiled training programs (effgrok.nets.programs).

Oracle: the same training with the cache off (JAX compiles the program itself); a program read
back from disk must give the same numbers bit for bit, and anything that changes the program
must change its file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

import effgrok as eg
from effgrok.nets import MLP, AdamW, Grid, Model, Schedule, programs, train
from effgrok.nets.programs import cache_programs, stable_text


@pytest.fixture
def cache(tmp_path):
    """The cache on in a temporary folder, with nothing loaded in this process yet."""
    previous = cache_programs(tmp_path / "programs")
    loaded = dict(programs._LOADED)
    programs._LOADED.clear()
    yield tmp_path / "programs"
    cache_programs(previous)
    programs._LOADED.clear()
    programs._LOADED.update(loaded)


def _run(model=None, steps=6, loss="cross_entropy", fractions=(0.5, 0.8)):
    grid = Grid.product(train_fraction=list(fractions), learning_rate=1e-2, weight_decay=1.0, seed=[3])
    model = MLP(hidden=8) if model is None else model
    return train(model, AdamW(), Schedule(steps, 3), grid, task=eg.make_task("add-mod", 5), loss=loss)


def _files(folder):
    return sorted(p.name for p in folder.glob("*.xla")) if folder.exists() else []


def test_stable_text_writes_values_and_refuses_functions():
    assert stable_text((1, 2.5, "a", None, True)) == "tuple(1, 2.5, 'a', None, True)"
    assert stable_text(MLP(hidden=8)) != stable_text(MLP(hidden=9))
    assert stable_text(MLP(hidden=8)) == stable_text(MLP(hidden=8))
    assert stable_text(np.sum) is None and stable_text(lambda x: x) is None
    assert stable_text((1, [2, len])) is None
    assert stable_text(np.zeros(2)) is None  # an array's repr may elide its values


def test_a_program_read_back_gives_the_same_numbers_as_jax_compiling_it(cache):
    cache_programs(None)
    reference = _run()
    cache_programs(cache)
    first = _run()  # compiles and writes
    assert len(_files(cache)) == 1
    programs._LOADED.clear()  # as a new process: read from disk
    second = _run()
    assert len(_files(cache)) == 1
    for r in (first, second):
        for name, curve in reference.curves.items():
            np.testing.assert_array_equal(r.curves[name], curve, err_msg=name)
        for name, value in reference.params.items():
            np.testing.assert_array_equal(r.params[name], value, err_msg=name)


def test_what_shapes_the_program_names_another_file(cache):
    _run()
    _run(fractions=(0.5, 0.8))  # the same program: no new file
    assert len(_files(cache)) == 1
    _run(model=MLP(hidden=9))  # another model
    _run(steps=9)  # another schedule
    _run(loss="mse")  # another loss
    _run(fractions=(0.5, 0.6, 0.8))  # another number of runs: other shapes
    assert len(_files(cache)) == 5
    import jax

    with jax.default_matmul_precision("highest"):  # a JAX setting that changes the program
        _run()
    assert len(_files(cache)) == 6


def test_a_callable_loss_is_not_cached(cache):
    def loss(outputs, targets):
        import jax

        return ((outputs - jax.nn.one_hot(targets, 5)) ** 2).sum(axis=1)

    _run(loss=loss)
    assert _files(cache) == []


def test_a_damaged_file_is_compiled_again_and_rewritten(cache, capsys):
    reference = _run()
    (path,) = cache.glob("*.xla")
    path.write_bytes(b"not a program")
    programs._LOADED.clear()
    again = _run()
    assert "ignoring the cached program" in capsys.readouterr().err
    np.testing.assert_array_equal(again.test_acc, reference.test_acc)
    programs._LOADED.clear()
    _run()  # the rewritten file loads
    assert "ignoring" not in capsys.readouterr().err


@dataclass(frozen=True)
class Affine(Model):
    """A model defined outside effgrok: its own file's source is part of the key."""

    scale: float = 1.0

    def init(self, rng, task):
        return {"W": rng.normal(size=(2 * task.p, task.p)) / task.p}

    def apply(self, params, inputs):
        import jax

        a, b = inputs
        p = params["W"].shape[1]
        x = jax.numpy.concatenate([jax.nn.one_hot(a, p), jax.nn.one_hot(b, p)], -1)
        return self.scale * x @ params["W"]


def test_the_source_of_a_class_outside_effgrok_is_in_the_key(cache, monkeypatch):
    _run(model=Affine())
    assert len(_files(cache)) == 1
    real = programs._file_digest
    edited = lambda path: real(path) + ("edited" if path == __file__ else "")  # noqa: E731
    monkeypatch.setattr(programs, "_file_digest", edited)
    _run(model=Affine())  # this file "edited": another program
    assert len(_files(cache)) == 2
