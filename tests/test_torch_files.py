"""PyTorch files read WITHOUT torch (effgrok.diagnostics._torchfile via loaders.read_tensors).

The fixtures under tests/fixtures/torch/ were written once by real torch 2.13.0
(make_torch_fixtures.py, committed beside them); ``expected.npz`` holds torch's own
``tensor.numpy()`` of every tensor -- the independent oracle.  No test here needs torch.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from effgrok.cli import main
from effgrok.diagnostics.loaders import load_embedding, read_tensors

FIX = Path(__file__).parent / "fixtures" / "torch"
EXPECTED = dict(np.load(FIX / "expected.npz"))
MARKER = "effgrok_pwned"  # the malicious fixtures run `touch effgrok_pwned` if executed


def _expected(prefix: str) -> dict[str, np.ndarray]:
    return {k.split("/", 1)[1]: v for k, v in EXPECTED.items() if k.startswith(prefix + "/")}


def _same(got: np.ndarray, want: np.ndarray) -> None:
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, got.dtype, want.dtype)
    np.testing.assert_array_equal(got, want)


def test_fixtures_are_small():
    total = sum(f.stat().st_size for f in FIX.iterdir())
    assert total < 100_000


@pytest.mark.parametrize("name", ["mlp", "legacy"])
def test_mlp_state_dict_every_dtype(name):
    got = read_tensors(FIX / f"{name}.pt")
    want = _expected("mlp")
    assert sorted(got) == sorted(want)
    for k in want:
        _same(got[k], want[k])
    assert {str(v.dtype) for v in got.values()} == {"float32", "float64", "float16", "int64"}


def test_views_shared_storage_strides_offsets_and_small_dtypes():
    got = read_tensors(FIX / "views.pt")
    want = _expected("views")
    assert sorted(got) == sorted(want)
    for k in want:
        _same(got[k], want[k])  # bf16 widened to float32 exactly, as torch's .float()
    np.testing.assert_array_equal(got["transposed"], got["base"].T)
    np.testing.assert_array_equal(got["offset"], got["base"].reshape(-1)[5:11].reshape(2, 3))
    assert got["transposed"].flags.c_contiguous  # copied, not a view into the file's bytes


def test_nested_checkpoint_flattened_and_prefix_matched():
    got = read_tensors(FIX / "nested.pt")
    want = _expected("mlp")
    for k in want:
        _same(got[f"model.{k}"], want[k])
    assert not any(k.startswith("step") or k.startswith("optimizer") for k in got)  # not tensors
    e = load_embedding(FIX / "nested.pt", 7, tensor="embed.weight")
    assert e.tensor == "model.embed.weight" and "prefix" in e.how
    np.testing.assert_array_equal(e.matrix, want["embed.weight"].astype(np.float64))


def test_big_endian_archive(tmp_path):
    # the same file with its storages byte-swapped and byteorder 'big' must read the same
    src = zipfile.ZipFile(FIX / "views.pt")
    keys = {"views/data/0"}  # the float32 storage of base and its views (the others are left alone)
    out = tmp_path / "big.pt"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "views/byteorder":
                data = b"big"
            elif info.filename in keys:
                data = np.frombuffer(data, dtype="<f4").astype(">f4").tobytes()
            z.writestr(info.filename, data)
    got = read_tensors(out)
    for k in ("base", "transposed", "strided", "offset"):
        _same(got[k], EXPECTED[f"views/{k}"])


def test_whole_model_refused_with_state_dict_advice():
    with pytest.raises(ValueError) as err:
        read_tensors(FIX / "whole_model.pt")
    msg = str(err.value)
    assert "pickled whole model" in msg and "torch.nn.modules.container.Sequential" in msg
    assert "save `model.state_dict()`" in msg and "\x1b" not in msg and "\n" not in msg


@pytest.mark.parametrize("name", ["malicious.pt", "malicious_legacy.pt"])
def test_malicious_pickle_is_refused_without_running(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"refused: its pickle calls posix\.system"):
        read_tensors(FIX / name)
    assert not (tmp_path / MARKER).exists()
    assert (
        main(["inspect", "--task", "add", "--p", "4", "--embedding", str(FIX / name), "--train", "0,1"]) == 2
    )
    assert not (tmp_path / MARKER).exists() and not os.path.exists(MARKER)


def test_malicious_open_call_never_runs(tmp_path, monkeypatch):
    # a hand-written zip-format pickle whose REDUCE would call builtins.open(marker, "w")
    marker = tmp_path / "opened"
    payload = (
        b"\x80\x02}q\x00X\x01\x00\x00\x00xq\x01c__builtin__\nopen\nq\x02X"
        + len(str(marker)).to_bytes(4, "little")
        + str(marker).encode()
        + b"X\x01\x00\x00\x00w\x86R\x73."
    )
    # (pickle.loads(payload) would create the file: checked by hand when this test was written)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", payload)
        z.writestr("archive/byteorder", "little")
    f = tmp_path / "open.pt"
    f.write_bytes(buf.getvalue())
    with pytest.raises(ValueError, match=r"refused: its pickle calls __builtin__\.open"):
        read_tensors(f)
    assert not marker.exists()


def test_out_of_bounds_rebuild_is_refused():
    past = r"size \(1000,\), stride \(1,\) and offset 0 reaches past the end of storage '0', which holds 4"
    with pytest.raises(ValueError, match=past):
        read_tensors(FIX / "out_of_bounds.pt")


def test_text_and_plain_pickle_named_pt(tmp_path):
    t = tmp_path / "notes.pt"
    t.write_text("101 epochs of training\n")
    with pytest.raises(ValueError, match=r"notes\.pt': not a PyTorch file \(neither the zip archive"):
        read_tensors(t)
    z = tmp_path / "other.pth"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("hello.txt", "hi")
    with pytest.raises(ValueError, match="not a PyTorch file"):
        read_tensors(z)
    empty = tmp_path / "empty.ckpt"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="not a PyTorch file"):
        read_tensors(empty)


@pytest.mark.parametrize("cut", [0.3, 0.6, 0.9, 0.99])
def test_truncated_torch_files_raise_value_error(tmp_path, cut):
    for name in ("mlp.pt", "legacy.pt"):
        data = (FIX / name).read_bytes()
        f = tmp_path / name
        f.write_bytes(data[: int(cut * len(data))])
        with pytest.raises(ValueError, match=name):
            read_tensors(f)


def test_loaders_never_import_torch():
    import sys

    before = "torch" in sys.modules
    read_tensors(FIX / "mlp.pt")
    assert ("torch" in sys.modules) == before


# --------------------------------------------------------------------------- crafted pickles
def _u(text: str) -> bytes:  # BINUNICODE
    b = text.encode()
    return b"X" + len(b).to_bytes(4, "little") + b


def _i(n: int) -> bytes:  # BININT (signed 4 bytes)
    return b"J" + n.to_bytes(4, "little", signed=True)


def _tensor(size=4, stride=1, offset=0) -> bytes:
    """``_rebuild_tensor_v2(FloatStorage '0' of 4 elements, offset, (size,), (stride,), False, {})``."""
    storage = b"((" + _u("storage") + b"ctorch\nFloatStorage\n" + _u("0") + _u("cpu") + _i(4) + b"tQ"
    return (
        b"ctorch._utils\n_rebuild_tensor_v2\n(" + storage[1:] + _i(offset) + b"(" + _i(size) + b"t("
        + _i(stride) + b"t\x89ccollections\nOrderedDict\n)RtR"
    )  # fmt: skip


def _archive(tmp_path, pkl: bytes, name="crafted.pt") -> Path:
    f = tmp_path / name
    with zipfile.ZipFile(f, "w") as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/byteorder", "little")
        z.writestr("archive/data/0", np.arange(4, dtype="<f4").tobytes())
    return f


def test_hand_written_archive_reads(tmp_path):
    f = _archive(tmp_path, b"\x80\x02}" + _u("w") + _tensor() + b"s.")
    np.testing.assert_array_equal(read_tensors(f)["w"], np.arange(4, dtype=np.float32))


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (_u("stride") + b"(" + _i(-1) + b"t", "do not fit together"),  # read before the buffer
        (_u("offset") + _i(-8), "offset must be an integer >= 0"),
        (_u("size") + b"(" + _i(10**6) + _i(10**3) + b"t" + _u("stride") + b"(" + _i(0) + _i(0) + b"t",
         "claims 1000000000 elements"),
        (_u("dtype") + _u("O"), "malformed"),  # an object array from raw bytes
    ],
)  # fmt: skip
def test_build_cannot_forge_a_tensor_layout(tmp_path, build, match):
    # BUILD (None, {attr: value}) on the rebuilt tensor sets its slots after the rebuild's checks
    pkl = b"\x80\x02}" + _u("w") + _tensor() + b"(N}(" + build + b"ut" + b"b" + b"s."
    with pytest.raises(ValueError, match=match):
        read_tensors(_archive(tmp_path, pkl))


def test_build_on_a_stand_in_does_not_poison_later_reads(tmp_path):
    # BUILD on the FloatStorage stand-in: {dtype: 'f8'} would misread every later float32 file
    poison = b"\x80\x02}" + _u("t") + b"ctorch\nFloatStorage\n(N}" + _u("dtype") + _u("f8") + b"stbs."
    try:
        read_tensors(_archive(tmp_path, poison, "poison.pt"))
    except ValueError:
        pass
    got = read_tensors(FIX / "mlp.pt")
    _same(got["embed.weight"], EXPECTED["mlp/embed.weight"])


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(["mlp.pt", "legacy.pt", "views.pt"]),
    cut=st.floats(0, 1),
    flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), min_size=1, max_size=4),
)
def test_fuzz_corrupt_torch_files_raise_value_error(tmp_path_factory, name, cut, flips):
    data = bytearray((FIX / name).read_bytes())
    for where, byte in flips:
        data[min(int(where * len(data)), len(data) - 1)] = byte
    data = bytes(data[: int(cut * len(data))]) if cut < 1 else bytes(data)
    f = tmp_path_factory.mktemp("fuzz") / name
    f.write_bytes(data)
    try:
        got = read_tensors(f)
    except ValueError as exc:
        assert name in str(exc) and "\n" not in str(exc)
    else:
        assert all(isinstance(v, np.ndarray) for v in got.values())


@pytest.mark.parametrize(
    ("module", "name", "match"),
    [
        ("__main__", "MLP", "holds a pickled whole model (class __main__.MLP)"),
        ("__torch__", "Net", "holds a pickled whole model (class __torch__.Net)"),
        ("lightning.fabric.utilities.data", "AttributeDict", "refused: its pickle calls lightning.fabric"),
        (
            "numpy.core.multiarray",
            "_reconstruct",
            "refused: its pickle calls numpy.core.multiarray._reconstruct",
        ),
    ],
)
def test_refusals_name_the_global(tmp_path, module, name, match):
    pkl = b"\x80\x02}" + _u("x") + b"c" + module.encode() + b"\n" + name.encode() + b"\n)Rs."
    with pytest.raises(ValueError, match=re.escape(match)) as err:
        read_tensors(_archive(tmp_path, pkl))
    assert "torch.save(model.state_dict(), path)" in str(err.value)
