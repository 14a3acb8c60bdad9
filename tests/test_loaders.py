"""Loaders of users' embeddings, checkpoints, splits and tables (effgrok.diagnostics.loaders),
and the loss-log reader's column names (effgrok.diagnostics.early.read_loss_csv)."""

from __future__ import annotations

import json
import re
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from effgrok.diagnostics import loaders
from effgrok.diagnostics.early import read_loss_csv
from effgrok.diagnostics.loaders import (
    checkpoint_files,
    load_checkpoints,
    load_embedding,
    load_pairs,
    load_table,
    read_tensors,
    step_from_name,
)

RNG = np.random.default_rng(0)
E = RNG.standard_normal((7, 3))


def _save(path, tensors: dict):
    """Write ``tensors`` in the format of ``path``'s suffix (the oracle: each library's own writer)."""
    suffix = path.suffix
    if suffix == ".npy":
        (arr,) = tensors.values()
        np.save(path, arr)
    elif suffix == ".npz":
        np.savez(path, **tensors)
    elif suffix == ".safetensors":
        from safetensors.numpy import save_file

        save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(path))
    elif suffix == ".csv":
        (arr,) = tensors.values()
        np.savetxt(path, arr, delimiter=",", fmt="%.17g")
    else:
        raise AssertionError(suffix)
    return path


@pytest.mark.parametrize("suffix", [".npy", ".npz", ".safetensors", ".csv"])
def test_round_trip_every_format(tmp_path, suffix):
    f = _save(tmp_path / f"E{suffix}", {"embed": E})
    got = load_embedding(f, 7)
    np.testing.assert_array_equal(got.matrix, E)
    assert got.axis == 0 and got.shape == (7, 3)
    assert got.matrix.dtype == np.float64


def test_csv_header_and_pandas_index_column(tmp_path):
    f = tmp_path / "E.csv"
    lines = [",d0,d1,d2"] + [f"{i}," + ",".join(f"{v:.17g}" for v in row) for i, row in enumerate(E)]
    f.write_text("\n".join(lines) + "\n")
    np.testing.assert_array_equal(load_embedding(f, 7).matrix, E)
    g = tmp_path / "F.csv"
    g.write_text("a,b,c\n" + "\n".join(",".join(f"{v:.17g}" for v in row) for row in E))
    np.testing.assert_array_equal(load_embedding(g, 7).matrix, E)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("a,b\n1,2\n3\n", "line 3: 1 fields, expected 2"),
        ("# note\na,b\n\n1,x\n", "line 4, field 2: not a number: 'x'"),
        (",a,b\n0,1,2\n1,2\n", "line 3: 2 fields, expected 3"),  # a pandas index column counts
        ("a,b\n", "no data rows after the header"),
        ("# only a comment\n", "the file is empty"),
    ],
)
def test_csv_tables_and_pairs_read_by_one_reader(tmp_path, text, error):
    """Tensor and pairs CSVs share one reader: the same line-numbered errors (the file's lines,
    comments and blank lines counted)."""
    f = tmp_path / "t.csv"
    f.write_text(text)
    with pytest.raises(ValueError, match=re.escape(error)):
        read_tensors(f)
    with pytest.raises(ValueError, match=re.escape(error)):
        load_pairs(f)


def test_tensor_by_name_and_transposed_axis(tmp_path):
    f = _save(tmp_path / "m.safetensors", {"embed.W_E": E.T.copy(), "unembed.W_U": np.ones((3, 5))})
    got = load_embedding(f, 7)
    assert got.tensor == "embed.W_E" and got.axis == 1
    assert "transposed" in got.how
    np.testing.assert_array_equal(got.matrix, E)
    by_name = load_embedding(f, 7, tensor="embed.W_E")
    np.testing.assert_array_equal(by_name.matrix, E)
    assert "chosen by name" in by_name.how


def test_bfloat16_safetensors_widened_exactly(tmp_path):
    # BF16 is the top half of a float32: values with 8 significant bits survive exactly
    vals = np.array([[1.0, -2.5], [0.15625, 3.0], [100.0, -0.0078125]], dtype=np.float32)
    bits = (vals.view(np.uint32) >> 16).astype("<u2")
    header = json.dumps({"w": {"dtype": "BF16", "shape": [3, 2], "data_offsets": [0, bits.nbytes]}}).encode()
    f = tmp_path / "bf16.safetensors"
    f.write_bytes(struct.pack("<Q", len(header)) + header + bits.tobytes())
    np.testing.assert_array_equal(load_embedding(f, 3).matrix, vals.astype(np.float64))
    import ml_dtypes  # as JAX does: NumPy then knows bfloat16 and safetensors returns it

    assert np.dtype(ml_dtypes.bfloat16).name == "bfloat16"
    np.testing.assert_array_equal(load_embedding(f, 3).matrix, vals.astype(np.float64))


def test_unknown_tensor_lists_names(tmp_path):
    f = _save(tmp_path / "m.npz", {"W_E": E, "b": np.ones(3)})
    with pytest.raises(ValueError, match=r"no tensor named 'emb'; the file holds: W_E \(7, 3\), b \(3,\)"):
        load_embedding(f, 7, tensor="emb")


def test_ambiguous_and_missing_symbol_axis(tmp_path):
    f = _save(tmp_path / "m.npz", {"A": E, "B": E[:, :2]})
    with pytest.raises(ValueError, match=r"2 tensors have an axis of length 7: A, B; choose one by name"):
        load_embedding(f, 7)
    g = _save(tmp_path / "n.npz", {"A": E})
    with pytest.raises(ValueError, match=r"no 2-D tensor has an axis of length 9"):
        load_embedding(g, 9)
    with pytest.raises(ValueError, match=r"tensor 'A' has shape \(7, 3\); no axis has the 9 symbols"):
        load_embedding(g, 9, tensor="A")
    h = _save(tmp_path / "c.npz", {"A": np.zeros((7, 3, 2))})
    with pytest.raises(ValueError, match="an embedding must be 2-D"):
        load_embedding(h, 7, tensor="A")


def test_vocabulary_with_extra_tokens(tmp_path):
    W_E = np.vstack([E, np.full((1, 3), 9.0)]).T.copy()  # (d_model, p + 1): an '=' token last
    f = _save(tmp_path / "t.safetensors", {"embed.W_E": W_E, "pos": np.zeros((3, 3))})
    with pytest.raises(ValueError, match="no 2-D tensor has an axis of length 7"):
        load_embedding(f, 7)
    got = load_embedding(f, 7, vocab=8)
    np.testing.assert_array_equal(got.matrix, E)
    assert "first 7 of 8 entries" in got.how and got.axis == 1
    with pytest.raises(ValueError, match="vocab must be an integer >= 7"):
        load_embedding(f, 7, vocab=6)


def test_nan_and_inf_named(tmp_path):
    bad = E.copy()
    bad[2, 1] = np.nan
    bad[4, 0] = np.inf
    f = _save(tmp_path / "bad.npz", {"W": bad})
    with pytest.raises(ValueError, match=r"2 NaN or infinite entries \(first at row 2, column 1\)"):
        load_embedding(f, 7)


def test_missing_file_and_unknown_suffix(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_embedding(tmp_path / "nope.npz", 7)
    f = tmp_path / "E.h5"
    f.write_bytes(b"x")
    with pytest.raises(ValueError, match=r"unknown file type '.h5'; allowed: .npy, .npz, .safetensors"):
        read_tensors(f)


def test_pickled_npy_is_refused(tmp_path):
    f = tmp_path / "obj.npy"
    np.save(f, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="Python objects"):
        read_tensors(f)
    g = tmp_path / "obj.npz"
    np.savez(g, x=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match=r"not a readable \.npz file"):
        read_tensors(g)


def test_tensor_name_after_wrapper_prefixes(tmp_path):
    f = _save(tmp_path / "m.safetensors", {"module.model.embed.weight": E, "module.fc2.bias": np.ones(7)})
    got = load_embedding(f, 7, tensor="embed.weight")
    assert got.tensor == "module.model.embed.weight" and "after a wrapper's prefix" in got.how
    np.testing.assert_array_equal(got.matrix, E)
    assert load_embedding(f, 7, tensor="model.embed.weight").tensor == "module.model.embed.weight"
    g = _save(tmp_path / "two.safetensors", {"model.embed.weight": E, "module.embed.weight": E + 1})
    with pytest.raises(
        ValueError, match=r"2 tensors match 'embed.weight' .*: model.embed.weight, module.embed.weight"
    ):
        load_embedding(g, 7, tensor="embed.weight")
    with pytest.raises(ValueError, match=r"no tensor named 'emb'"):
        load_embedding(g, 7, tensor="emb")


def test_one_dimensional_tensors_are_refused(tmp_path):
    f = _save(tmp_path / "v.npz", {"fc2.bias": np.arange(7.0)})
    with pytest.raises(ValueError, match=r"1-D tensors are not embeddings: fc2.bias \(7,\)"):
        load_embedding(f, 7)
    with pytest.raises(ValueError, match=r"tensor 'fc2.bias' has shape \(7,\); an embedding must be 2-D"):
        load_embedding(f, 7, tensor="fc2.bias")
    g = _save(tmp_path / "w.npz", {"fc2.bias": np.arange(7.0), "embed": E})
    assert load_embedding(g, 7).tensor == "embed"  # the bias is no candidate


# --------------------------------------------------------------------------- checkpoint series
def test_steps_from_names_and_series_order(tmp_path):
    assert step_from_name("a/ckpt_step=001500.safetensors") == 1500
    assert step_from_name("run3/epoch_7_step_200.npz") == 200
    assert step_from_name("final.pt") is None
    for s in (1000, 50, 200):
        _save(tmp_path / f"ckpt_{s}.npz", {"W": E * s})
    (tmp_path / "notes.txt").write_text("ignored")
    steps, embs = load_checkpoints(tmp_path, 7)
    assert steps.tolist() == [50, 200, 1000]
    np.testing.assert_array_equal(embs[0].matrix, E * 50)
    steps, _ = load_checkpoints(str(tmp_path / "ckpt_*.npz"), 7, steps=[3, 1, 2])  # name order: 1000, 200, 50
    assert steps.tolist() == [1, 2, 3]
    with pytest.raises(ValueError, match=r"one integer step per checkpoint file \(3 files\)"):
        load_checkpoints(tmp_path, 7, steps=[1, 2])


def test_series_errors(tmp_path):
    with pytest.raises(ValueError, match="holds no checkpoint file"):
        checkpoint_files(tmp_path)
    with pytest.raises(ValueError, match="no file matches"):
        checkpoint_files(str(tmp_path / "*.npz"))
    _save(tmp_path / "final.npz", {"W": E})
    with pytest.raises(ValueError, match=r"no step number in the file name .final\.npz."):
        load_checkpoints(tmp_path, 7)
    (tmp_path / "final.npz").unlink()
    _save(tmp_path / "a_10.npz", {"W": E})
    _save(tmp_path / "b_10.npz", {"W": E})
    with pytest.raises(ValueError, match="two checkpoint files have step 10"):
        load_checkpoints(tmp_path, 7)
    (tmp_path / "b_10.npz").unlink()
    _save(tmp_path / "a_20.npz", {"W": E[:, :2]})
    with pytest.raises(ValueError, match="differ in shape"):
        load_checkpoints(tmp_path, 7)


def test_folder_prefers_safetensors_and_skips_non_checkpoints(tmp_path):
    from effgrok.diagnostics.loaders import select_checkpoints

    for step in (10, 20):
        _save(tmp_path / f"ckpt_{step}.safetensors", {"embed.weight": E * step})
        _save(tmp_path / f"ckpt_{step}.npz", {"embed.weight": -E})  # same steps, other format
    (tmp_path / "metrics.csv").write_text("step,loss\n0,1.0\n")
    (tmp_path / "README").write_text("my run")
    (tmp_path / "config.json").write_text("{}")
    notes = []
    steps, embs = load_checkpoints(tmp_path, 7, notes=notes)
    assert steps.tolist() == [10, 20]
    np.testing.assert_array_equal(embs[1].matrix, E * 20)  # the safetensors, not the npz
    assert notes == [
        "2 .npz and 1 .csv files left out: the folder also holds .safetensors files, which are read"
    ]
    # a folder of one format with a log beside it: the file without a step number is left out
    only = tmp_path / "npz"
    only.mkdir()
    for step in (5, 7):
        _save(only / f"e{step}.npz", {"W": E})
    _save(only / "final.npz", {"W": E})
    files, notes = select_checkpoints(only)
    assert [f.name for f in files] == ["e5.npz", "e7.npz"]
    assert notes == ["left out, no step number in the name: final.npz"]


def test_pairs_csv_header_and_label_column(tmp_path):
    from effgrok.tasks import make_task

    task = make_task("add-mod", 5)
    f = tmp_path / "train.csv"
    f.write_text("b,a,label\n1,2,3\n4,0,4\n3,3,1\n")
    np.testing.assert_array_equal(load_pairs(f, task=task), [[2, 1], [0, 4], [3, 3]])
    np.testing.assert_array_equal(load_pairs(f), [[2, 1], [0, 4], [3, 3]])  # no task: label unchecked
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,result\n1,2,3\n4,4,9\n")
    with pytest.raises(
        ValueError, match=r"bad.csv', line 3: the label of \(4, 4\) is 9, but add-mod gives 3"
    ):
        load_pairs(bad, task=task)
    pandas = tmp_path / "pandas.csv"
    pandas.write_text(",a,b,c\n0,1,1,2\n1,2,3,0\n")
    np.testing.assert_array_equal(load_pairs(pandas, task=task), [[1, 1], [2, 3]])
    headerless = tmp_path / "h.csv"
    headerless.write_text("1,2,3\n0,0,0\n")
    np.testing.assert_array_equal(load_pairs(headerless, task=task), [[1, 2], [0, 0]])
    headerless.write_text("1,2,4\n")
    with pytest.raises(ValueError, match=r"line 1: the label of \(1, 2\) is 4, but add-mod gives 3"):
        load_pairs(headerless, task=task)
    other = tmp_path / "o.csv"
    other.write_text("x,y,z\n1,2,3\n")
    with pytest.raises(ValueError, match=r"has no columns 'a' and 'b'"):
        load_pairs(other)
    # a table task: labels are the table's own values
    from effgrok.tasks import task_from_table

    t = task_from_table(np.array([[7, 8], [8, 7]]), name="xor")
    lab = tmp_path / "t.csv"
    lab.write_text("a,b,label\n0,1,8\n1,1,7\n")
    np.testing.assert_array_equal(load_pairs(lab, task=t), [[0, 1], [1, 1]])


# --------------------------------------------------------------------------- splits and tables
def test_load_pairs_formats(tmp_path):
    pairs = np.array([[0, 1], [2, 3], [4, 4]])
    f = tmp_path / "p.csv"
    f.write_text("a,b\n0,1\n2,3\n4,4\n")
    np.testing.assert_array_equal(load_pairs(f), pairs)
    g = tmp_path / "p.npy"
    np.save(g, pairs)
    np.testing.assert_array_equal(load_pairs(g), pairs)
    m = tmp_path / "m.npy"
    np.save(m, np.array([True, False, True]))
    assert load_pairs(m).tolist() == [True, False, True]
    c = tmp_path / "m.csv"
    c.write_text("train\n1\n0\n1\n")
    assert load_pairs(c).tolist() == [True, False, True]
    bad = tmp_path / "bad.csv"
    bad.write_text("0.5,1\n")
    with pytest.raises(ValueError, match="entries must be integers"):
        load_pairs(bad)
    three = tmp_path / "t.npy"
    np.save(three, np.zeros((4, 3), dtype=int) + 2)
    with pytest.raises(ValueError, match=r"shape \(n, 2\) or a 0/1 mask"):
        load_pairs(three)


def test_load_table(tmp_path):
    t = np.add.outer(np.arange(4), np.arange(4)) % 4
    f = tmp_path / "t.csv"
    np.savetxt(f, t, delimiter=",", fmt="%d")
    np.testing.assert_array_equal(load_table(f), t)
    g = tmp_path / "r.npy"
    np.save(g, np.zeros((3, 4), dtype=int))
    with pytest.raises(ValueError, match="square matrix"):
        load_table(g)


# --------------------------------------------------------------------------- fuzzing
def _valid_files(tmp_path):
    files = {}
    for suffix in (".npy", ".npz", ".safetensors", ".csv"):
        f = _save(tmp_path / f"valid{suffix}", {"W": E})
        files[suffix] = f.read_bytes()
    return files


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    suffix=st.sampled_from([".npy", ".npz", ".safetensors", ".csv"]),
    cut=st.floats(0, 1),
    flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=4),
)
def test_fuzz_truncated_or_corrupt_files_raise_value_error(tmp_path_factory, suffix, cut, flips):
    base = tmp_path_factory.mktemp("fuzz")
    data = bytearray(_valid_files(base)[suffix])
    for where, byte in flips:
        data[min(int(where * len(data)), len(data) - 1)] = byte
    data = bytes(data[: int(cut * len(data))]) if cut < 1 else bytes(data)
    f = base / f"x{suffix}"
    f.write_bytes(data)
    try:
        got = load_embedding(f, 7)
    except ValueError as exc:
        assert str(f) in str(exc) or "x" + suffix in str(exc)
    else:  # a change that left the file valid: a finite (7, d) matrix
        assert got.matrix.shape[0] == 7 and np.all(np.isfinite(got.matrix))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(suffix=st.sampled_from([".npy", ".npz", ".safetensors", ".csv"]), data=st.binary(max_size=300))
def test_fuzz_random_bytes_raise_value_error(tmp_path_factory, suffix, data):
    f = tmp_path_factory.mktemp("rand") / f"r{suffix}"
    f.write_bytes(data)
    try:
        load_embedding(f, 7)
    except ValueError:
        pass


def test_npy_header_claiming_huge_array_is_refused_without_allocating(tmp_path):
    header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000, 3), }"
    header = header + b" " * (64 * 2 - 10 - len(header) - 1) + b"\n"
    f = tmp_path / "huge.npy"
    f.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + E.tobytes())
    with pytest.raises(ValueError, match="truncated: the header announces 2400000000000 data bytes"):
        read_tensors(f)


# --------------------------------------------------------------------------- loss logs (predict-grok)
@pytest.mark.parametrize(
    "header, step, loss",
    [
        ("step,loss", "step", "loss"),
        ("epoch,step,train_loss,val_loss", "step", "train_loss"),
        ("iteration,training_loss", "iteration", "training_loss"),
        ("Epoch,Train_Loss", "epoch", "train_loss"),
        ("_step,train/loss", "_step", "train/loss"),
    ],
)
def test_loss_log_column_names_of_common_loggers(tmp_path, header, step, loss):
    n = len(header.split(","))
    rows = []
    for s in range(5):
        vals = {"step": s * 10, "loss": 1.0 / (s + 1)}
        cells = []
        for name in header.lower().split(","):
            cells.append(str(vals["step"] if name == step else vals["loss"] if name == loss else ""))
        rows.append(",".join(cells))
    assert all(len(r.split(",")) == n for r in rows)
    f = tmp_path / "log.csv"
    f.write_text(header + "\n" + "\n".join(rows) + "\n")
    log = read_loss_csv(f)
    assert log.columns["step"] == step and log.columns["loss"] == loss
    assert log.steps[0].tolist() == [0, 10, 20, 30, 40]
    np.testing.assert_allclose(log.losses[0], 1.0 / np.arange(1, 6))


def test_loss_log_explicit_columns_and_runs(tmp_path):
    f = tmp_path / "log.csv"
    f.write_text("seed,it,value,other\n0,0,1.0,9\n1,0,2.0,9\n0,1,0.5,9\n1,1,1.5,9\n")
    with pytest.raises(ValueError, match=r"no 'step' column .* --step-column NAME"):
        read_loss_csv(f)
    log = read_loss_csv(f, loss_column="Value", step_column="it")
    assert log.columns == {"step": "it", "loss": "value", "run": "seed", "skipped_rows": 0}
    assert log.runs == ("0", "1") and log.losses[1].tolist() == [2.0, 1.5]
    with pytest.raises(ValueError, match=r"no column 'nope' \(loss\)"):
        read_loss_csv(f, loss_column="nope", step_column="it")


def test_loaders_module_never_unpickles():
    # only the restricted unpickler of _torchfile unpickles (tested in test_torch_files.py)
    text = open(loaders.__file__).read()
    assert "allow_pickle=True" not in text and "pickle.load" not in text and "Unpickler" not in text
    assert "torch.load" not in text and "import torch" not in text


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    suffix=st.sampled_from([".npy", ".csv", ".npz"]), data=st.binary(max_size=200), text=st.text(max_size=80)
)
def test_fuzz_split_and_table_files_raise_value_error(tmp_path_factory, suffix, data, text):
    base = tmp_path_factory.mktemp("pairs")
    for i, payload in enumerate((data, text.encode("utf-8", "replace"))):
        f = base / f"p{i}{suffix}"
        f.write_bytes(payload)
        for reader in (load_pairs, load_table):
            try:
                out = reader(f)
            except ValueError:
                continue
            assert out.dtype in (np.int64, np.bool_)


def test_pairs_csv_square_mask_without_header(tmp_path):
    mask = np.random.default_rng(0).random((5, 5)) < 0.5
    f = tmp_path / "mask.csv"
    np.savetxt(f, mask.astype(int), delimiter=",", fmt="%d")
    np.testing.assert_array_equal(load_pairs(f), mask)
    g = tmp_path / "wide.csv"
    g.write_text("1,2,3,4\n5,6,7,8\n")
    with pytest.raises(ValueError, match=r"shape \(n, 2\) or a 0/1 mask, got shape \(2, 4\)"):
        load_pairs(g)
