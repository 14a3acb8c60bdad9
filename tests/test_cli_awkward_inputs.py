"""`effgrok inspect` on the awkward inputs of issue 24 (loaders): each gives the right answer or
one line on stderr with exit code 2.  PyTorch files are the fixtures written once by real torch
(tests/fixtures/torch); no test here needs torch."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from effgrok.cli import main
from effgrok.diagnostics.progress import effective_rank

FIX = Path(__file__).parent / "fixtures" / "torch"
EXPECTED = dict(np.load(FIX / "expected.npz"))
P = 7
BASE = ["inspect", "--task", "add-mod", "--p", str(P)]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code, out, err, match):
    assert code == 2 and out == "", (code, out, err)
    assert err.startswith("effgrok: error:") and err.count("\n") == 1 and "Traceback" not in err
    assert "\x1b" not in err  # no terminal colour codes
    assert match in err, err


def test_folder_with_pt_safetensors_and_a_metrics_csv(capsys, tmp_path):
    rng = np.random.default_rng(0)
    E = {s: rng.standard_normal((P, 3)) for s in (100, 200)}
    for s in (100, 200):
        save_file({"model.embed.weight": E[s]}, str(tmp_path / f"step_{s}.safetensors"))
        shutil.copy(FIX / "mlp.pt", tmp_path / f"step_{s}.pt")  # the same steps in another format
    (tmp_path / "metrics.csv").write_text("step,loss\n100,2.0\n200,1.0\n")
    (tmp_path / "README").write_text("run 3")
    (tmp_path / "config.json").write_text("{}")
    code, out, err = run(capsys, *BASE, "--embedding", tmp_path, "--train", "0,1 2,3 1,5", "--json")
    assert code == 0, err
    rec = json.loads(out)
    cps = rec["checkpoints"]
    assert [c["step"] for c in cps] == [100, 200]
    assert all(c["source"]["file"].endswith(".safetensors") for c in cps)
    # the safetensors' tensors were read (add-mod has no RQI: its only exact solution is collapse)
    assert [c["rqi"] for c in cps] == [None, None]
    want = [effective_rank(E[s]) for s in (100, 200)]
    assert [c["effective_rank"] for c in cps] == pytest.approx(want, rel=1e-12)
    assert err == (
        "effgrok: note: 2 .pt/.pth/.ckpt and 1 .csv files left out: the folder also holds "
        ".safetensors files, which are read\n"
    )


@pytest.mark.parametrize("name", ["embed.weight", "module.embed.weight"])
def test_tensor_name_after_a_wrapper_prefix(capsys, name):
    code, out, err = run(
        capsys, *BASE, "--embedding", FIX / "nested.pt", "--tensor", name, "--train", "0,1", "--json"
    )
    assert code == 0, err
    rec = json.loads(out)
    assert rec["source"]["tensor"] == "model.embed.weight"
    want = effective_rank(EXPECTED["mlp/embed.weight"].astype(np.float64))
    assert rec["effective_rank"] == pytest.approx(want, rel=1e-12)


def test_ambiguous_prefix_and_no_tensor_name(capsys, tmp_path):
    f = tmp_path / "two.safetensors"
    save_file({"model.embed.weight": np.ones((P, 2)), "module.embed.weight": np.zeros((P, 2))}, str(f))
    code, out, err = run(capsys, *BASE, "--embedding", f, "--tensor", "embed.weight", "--train", "0,1")
    one_line_error(code, out, err, "2 tensors match 'embed.weight'")
    assert "model.embed.weight, module.embed.weight" in err
    # without --tensor, the nested checkpoint has two 2-D tensors with an axis of 7: listed
    code, out, err = run(capsys, *BASE, "--embedding", FIX / "nested.pt", "--train", "0,1")
    one_line_error(code, out, err, "model.embed.weight, model.fc2.weight; choose one by name (--tensor NAME)")


def test_one_dimensional_tensor_is_refused(capsys, tmp_path):
    code, out, err = run(
        capsys, *BASE, "--embedding", FIX / "mlp.pt", "--tensor", "fc2.bias", "--train", "0,1"
    )
    one_line_error(code, out, err, "tensor 'fc2.bias' has shape (7,); an embedding must be 2-D")
    f = tmp_path / "bias.safetensors"
    save_file({"fc2.bias": np.ones(P), "fc1.weight": np.ones((5, 8))}, str(f))
    code, out, err = run(capsys, *BASE, "--embedding", f, "--train", "0,1")
    one_line_error(code, out, err, "1-D tensors are not embeddings: fc2.bias (7,)")


def test_pairs_csv_with_a_label_column(capsys, tmp_path):
    E = np.random.default_rng(1).standard_normal((P, 3))
    np.save(tmp_path / "E.npy", E)
    good = tmp_path / "train.csv"
    good.write_text("a,b,label\n0,1,1\n2,3,5\n6,6,5\n")
    code, out, err = run(capsys, *BASE, "--embedding", tmp_path / "E.npy", "--train-file", good, "--json")
    assert code == 0, err
    rec = json.loads(out)
    code, out2, _ = run(capsys, *BASE, "--embedding", tmp_path / "E.npy", "--train", "0,1 2,3 6,6", "--json")
    assert rec["n_train"] == json.loads(out2)["n_train"] == 3 and rec["rqi"] == json.loads(out2)["rqi"]
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,label\n0,1,1\n2,3,6\n")
    code, out, err = run(capsys, *BASE, "--embedding", tmp_path / "E.npy", "--train-file", bad)
    one_line_error(code, out, err, "bad.csv', line 3: the label of (2, 3) is 6, but add-mod gives 5")


def test_text_named_pt_and_a_pickled_whole_model(capsys, tmp_path):
    t = tmp_path / "model.pt"
    t.write_text("101 epochs, lr 1e-3\n")
    code, out, err = run(capsys, *BASE, "--embedding", t, "--train", "0,1")
    one_line_error(code, out, err, "model.pt': not a PyTorch file")
    code, out, err = run(capsys, *BASE, "--embedding", FIX / "whole_model.pt", "--train", "0,1")
    one_line_error(code, out, err, "holds a pickled whole model")
    assert "save `model.state_dict()` instead" in err and "torch.nn.modules.container.Sequential" in err
