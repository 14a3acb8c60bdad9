"""Whole networks read from their weights (effgrok.diagnostics.network) and ``effgrok inspect``
on them: forward passes against naive per-example loops, Nanda et al.'s measures against an
explicit least-squares projection, and recomputed accuracy against the accuracy logged by an
independent NumPy training script."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

import effgrok as eg
from effgrok.cli import main
from effgrok.diagnostics.network import (
    logit_fourier_energy,
    network_measures,
    read_training_log,
    recognise_network,
    strip_prefix,
)


def _run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _relu(x):
    return np.maximum(x, 0.0)


def _normal_tensors(rng, shapes: dict) -> dict:
    """A state dict ``{name: standard-normal array of that shape}``, drawn from ``rng`` in the
    order given."""
    return {name: rng.normal(size=shape) for name, shape in shapes.items()}


# --------------------------------------------------------------------------- forward passes
def test_mlp_concat_torch_naming_matches_a_naive_loop():
    rng = np.random.default_rng(0)
    p, d, h = 7, 3, 5
    task = eg.make_task("add-mod", p)
    sd = _normal_tensors(
        rng,
        {
            "module.embed.weight": (p, d),
            "module.fc1.weight": (h, 2 * d),  # PyTorch (out, in)
            "module.fc1.bias": h,
            "module.fc2.weight": (p, h),
            "module.fc2.bias": p,
        },
    )
    net = recognise_network(sd, task)
    assert net.arch == "mlp-concat" and net.embedding_tensor == "module.embed.weight"
    z = net.logits(task)
    for a, b in itertools.product(range(p), repeat=2):
        x = np.concatenate([sd["module.embed.weight"][a], sd["module.embed.weight"][b]])
        W1, b1 = sd["module.fc1.weight"], sd["module.fc1.bias"]
        hid = [max(0.0, sum(W1[j, i] * x[i] for i in range(2 * d)) + b1[j]) for j in range(h)]
        for c in range(p):
            want = sum(sd["module.fc2.weight"][c, j] * hid[j] for j in range(h)) + sd["module.fc2.bias"][c]
            assert z[a, b, c] == pytest.approx(want, abs=1e-12)


def test_mlp_sum_without_biases_and_numpy_orientation():
    rng = np.random.default_rng(1)
    p, d, h = 5, 4, 6
    task = eg.make_task("add-mod", p)
    sd = _normal_tensors(rng, {"emb": (p, d), "W_hidden": (d, h), "W_out": (h, p)})
    net = recognise_network(sd, task, activation="tanh")
    assert net.arch == "mlp-sum"
    z = net.logits(task)
    a, b = 3, 1
    want = np.tanh((sd["emb"][a] + sd["emb"][b]) @ sd["W_hidden"]) @ sd["W_out"]
    np.testing.assert_allclose(z[a, b], want, atol=1e-12)


def _lens_params(rng, p, d, H, m, biases=True):
    dh = d // H
    s = {
        "embed.W_E": rng.normal(size=(p + 1, d)),
        "pos_embed.W_pos": rng.normal(size=(3, d)),
        "blocks.0.attn.W_Q": rng.normal(size=(H, d, dh)),
        "blocks.0.attn.W_K": rng.normal(size=(H, d, dh)),
        "blocks.0.attn.W_V": rng.normal(size=(H, d, dh)),
        "blocks.0.attn.W_O": rng.normal(size=(H, dh, d)),
        "blocks.0.attn.mask": np.tril(np.ones((3, 3))).astype(bool),
        "blocks.0.attn.IGNORE": np.array(-1e5),
        "blocks.0.mlp.W_in": rng.normal(size=(d, m)),
        "blocks.0.mlp.b_in": rng.normal(size=m),
        "blocks.0.mlp.W_out": rng.normal(size=(m, d)),
        "blocks.0.mlp.b_out": rng.normal(size=d),
        "unembed.W_U": rng.normal(size=(d, p)),
        "unembed.b_U": rng.normal(size=p),
    }
    for x in "QKV":
        s[f"blocks.0.attn.b_{x}"] = rng.normal(size=(H, dh)) if biases else np.zeros((H, dh))
    s["blocks.0.attn.b_O"] = rng.normal(size=d) if biases else np.zeros(d)
    return s


def _naive_lens(s, a, b, p):
    """One sequence [a, b, =] through a one-layer HookedTransformer, head by head, position by position."""
    x = [s["embed.W_E"][t] + s["pos_embed.W_pos"][i] for i, t in enumerate((a, b, p))]
    H, d, dh = s["blocks.0.attn.W_Q"].shape
    out = np.zeros(d)
    q_pos = 2
    for hh in range(H):
        q = x[q_pos] @ s["blocks.0.attn.W_Q"][hh] + s["blocks.0.attn.b_Q"][hh]
        scores = []
        for k_pos in range(q_pos + 1):  # causal: the last position sees all three
            k = x[k_pos] @ s["blocks.0.attn.W_K"][hh] + s["blocks.0.attn.b_K"][hh]
            scores.append(float(q @ k) / math.sqrt(dh))
        w = np.exp(np.array(scores) - max(scores))
        w /= w.sum()
        zv = sum(w[k] * (x[k] @ s["blocks.0.attn.W_V"][hh] + s["blocks.0.attn.b_V"][hh]) for k in range(3))
        out += zv @ s["blocks.0.attn.W_O"][hh]
    r = x[q_pos] + out + s["blocks.0.attn.b_O"]
    r = r + _relu(r @ s["blocks.0.mlp.W_in"] + s["blocks.0.mlp.b_in"]) @ s["blocks.0.mlp.W_out"]
    r = r + s["blocks.0.mlp.b_out"]
    return r @ s["unembed.W_U"] + s["unembed.b_U"]


def test_transformer_lens_one_layer_matches_a_naive_loop_in_both_layouts():
    rng = np.random.default_rng(2)
    p, d, H, m = 7, 8, 2, 12
    task = eg.make_task("add-mod", p)
    s = _lens_params(rng, p, d, H, m)
    net = recognise_network(s, task)
    assert net.arch == "transformer-lens" and net.vocab == p + 1 and net.heads == H
    z = net.logits(task)
    for a, b in [(0, 0), (3, 5), (6, 2)]:
        np.testing.assert_allclose(z[a, b], _naive_lens(s, a, b, p), rtol=1e-10, atol=1e-10)
    # Nanda et al.'s grokking code: W_E (d_model, d_vocab), W_Q (heads, d_head, d_model), W_O (d_model,
    # heads·d_head), W_in (d_mlp, d_model), W_U (d_model, d_vocab) with an output for '=', no attention biases
    s0 = _lens_params(np.random.default_rng(3), p, d, H, m, biases=False)
    nanda = {
        "embed.W_E": s0["embed.W_E"].T,
        "pos_embed.W_pos": s0["pos_embed.W_pos"],
        "blocks.0.attn.mask": s0["blocks.0.attn.mask"],
        "unembed.W_U": np.hstack([s0["unembed.W_U"], np.full((d, 1), 50.0)]),  # the '=' output, dropped
        "blocks.0.mlp.W_in": s0["blocks.0.mlp.W_in"].T,
        "blocks.0.mlp.b_in": s0["blocks.0.mlp.b_in"],
        "blocks.0.mlp.W_out": s0["blocks.0.mlp.W_out"].T,
        "blocks.0.mlp.b_out": s0["blocks.0.mlp.b_out"],
    }
    for x in "QKV":
        nanda[f"blocks.0.attn.W_{x}"] = np.swapaxes(s0[f"blocks.0.attn.W_{x}"], 1, 2)
    nanda["blocks.0.attn.W_O"] = np.concatenate(list(s0["blocks.0.attn.W_O"]), axis=0).T  # head-major columns
    s0["unembed.b_U"] = np.zeros(p)
    z0 = recognise_network(nanda, task).logits(task)
    for a, b in [(1, 4), (6, 6)]:
        np.testing.assert_allclose(z0[a, b], _naive_lens(s0, a, b, p), rtol=1e-10, atol=1e-10)


def test_effgrok_own_params_match_its_own_networks():
    from effgrok.nets.modular import modular_features
    from effgrok.nets.transformer import transformer_logits

    rng = np.random.default_rng(4)
    task = eg.make_task("sub-mod", 5)  # concat encoding: W1 has 2n rows
    n, C, h = 5, task.n_classes, 6
    P = _normal_tensors(rng, {"W1": (1, 2 * n, h), "b1": (1, h), "W2": (1, h, C), "b2": (1, C)})
    net = recognise_network(P, task)
    assert net.arch == "effgrok-mlp"
    want = modular_features(P, task, run=0) @ P["W2"][0] + P["b2"][0]
    z = net.logits(task)
    np.testing.assert_allclose(z[task.pairs[:, 0], task.pairs[:, 1]], want, atol=1e-12)
    t2 = eg.make_task("add-mod", 5)
    from effgrok.nets.transformer import _init

    T = _init(rng, 7, 5, 8)
    net = recognise_network(T, t2, heads=2)
    assert net.arch == "effgrok-transformer"
    z = net.logits(t2)
    np.testing.assert_allclose(
        z[t2.pairs[:, 0], t2.pairs[:, 1]], transformer_logits(T, t2, n_heads=2), atol=1e-10
    )


def test_prefixes_and_refusals():
    assert strip_prefix("state_dict.model.fc1.weight") == "fc1.weight"
    task = eg.make_task("add-mod", 5)
    odd = {"a": np.zeros((5, 3)), "b": np.zeros((7, 9))}
    assert recognise_network(odd, task) is None  # auto: no standard network, embedding measures only
    with pytest.raises(ValueError, match=r"not a mlp-concat network.*tensors found: a \(5, 3\), b \(7, 9\)"):
        recognise_network(odd, task, arch="mlp-concat")


# --------------------------------------------------------------------------- measures
def _directions(task, w):
    """cos/sin θ_w over the table by brute force: i(a) + j(b) − k(c), with the discrete log for mul-mod."""
    n, C = task.n_symbols, task.n_classes
    if task.name == "mul-mod":
        p = task.p
        g = next(g for g in range(2, p) if len({pow(g, k, p) for k in range(p - 1)}) == p - 1)
        log = {pow(g, k, p): k for k in range(p - 1)}
        m = p - 1
        ia = [log[int(s)] for s in task.symbols]
        ib = ia
        ic = [log[int(r)] for r in task.result_labels]
    else:
        m = task.p
        ia = [int(s) for s in task.symbols]
        ib = ia if task.name == "add-mod" else [(-int(s)) % m for s in task.symbols]
        ic = [int(r) for r in task.result_labels]
    th = np.array(
        [
            [[2 * np.pi * w * (ia[a] + ib[b] - ic[c]) / m for c in range(C)] for b in range(n)]
            for a in range(n)
        ]
    )
    return np.cos(th), np.sin(th)


@pytest.mark.parametrize("name,p", [("add-mod", 7), ("sub-mod", 5), ("mul-mod", 7)])
def test_measures_against_an_explicit_least_squares_projection(name, p):
    task = eg.make_task(name, p)
    n, C = task.n_symbols, task.n_classes
    rng = np.random.default_rng(5)
    z = rng.normal(size=(n, n, C)) * 2
    K = [1, task.n_classes // 2]  # mul-mod p=7: m = 6, frequency 3 has no sine
    cols = []
    for w in K:
        c, s = _directions(task, w)
        cols += [c.ravel(), s.ravel()]
    A = np.array(cols).T
    coef, *_ = np.linalg.lstsq(A, z.ravel(), rcond=None)
    PK = (A @ coef).reshape(z.shape)
    bias = z.mean(axis=(0, 1))
    pairs = np.array(list(itertools.product(range(n), repeat=2)))
    train = np.zeros((n, n), bool)
    train[pairs[::3, 0], pairs[::3, 1]] = True

    def label(a, b):
        i = task.example_index(*sorted((a, b))) if task.commutative else task.example_index(a, b)
        return task.results[i]

    y = np.array([[label(a, b) for b in range(n)] for a in range(n)])

    def ce(logits, sel):
        out = []
        for a, b in pairs[sel]:
            v = logits[a, b]
            out.append(math.log(sum(math.exp(x - v.max()) for x in v)) + v.max() - v[y[a, b]])
        return float(np.mean(out))

    res = network_measures(task, z, train, key_frequencies=K)
    everything = np.ones(len(pairs), bool)
    assert res.restricted_loss == pytest.approx(ce(bias + PK, everything), rel=1e-10)
    assert res.excluded_loss == pytest.approx(ce(z - PK, train.ravel()), rel=1e-10)
    zcc = z - z.mean(axis=2, keepdims=True)
    zcc = zcc - zcc.mean(axis=(0, 1), keepdims=True)
    assert res.key_logit_share == pytest.approx(float(np.sum(PK**2) / np.sum(zcc**2)), rel=1e-10)
    assert res.train_loss == pytest.approx(ce(z, train.ravel()), rel=1e-10)
    E, _ = logit_fourier_energy(task, z)
    assert E[K[0] - 1] == pytest.approx(
        float(np.sum((A[:, :2] @ np.linalg.lstsq(A[:, :2], z.ravel(), rcond=None)[0]) ** 2))
    )
    # the share is scale free; restricted loss is not
    big = network_measures(task, 10 * z, train, key_frequencies=K)
    assert big.key_logit_share == pytest.approx(res.key_logit_share, rel=1e-10)


def test_pure_fourier_logits_have_share_one_and_uniform_excluded_logits():
    task = eg.make_task("add-mod", 11)
    a, b, c = np.meshgrid(np.arange(11), np.arange(11), np.arange(11), indexing="ij")
    z = 5 * np.cos(2 * np.pi * 2 * (a + b - c) / 11) + 3 * np.cos(2 * np.pi * 4 * (a + b - c) / 11) + 7.0
    res = network_measures(task, z, eg.random_split(task, fraction=0.5, seed=0))
    assert sorted(res.logit_key_frequencies) == [2, 4] and res.test_acc == 1.0
    assert res.key_logit_share == pytest.approx(1.0, abs=1e-12)
    assert res.excluded_loss == pytest.approx(math.log(11), abs=1e-12)
    assert res.restricted_loss == pytest.approx(res.train_loss, rel=1e-10)


# --------------------------------------------------------------------------- an independent run
def _numpy_run(folder, p=11, d=6, h=32, steps=240, every=60, seed=0):
    """An independent training script: a NumPy MLP on concatenated embeddings (ReLU, biases), full-batch
    Adam on 60 % of the ordered pairs of a + b mod p, saved with safetensors' NumPy API in PyTorch's
    naming and orientation (float32), logging its own validation accuracy."""
    from safetensors.numpy import save_file

    rng = np.random.default_rng(seed)
    pairs = np.array([(a, b) for a in range(p) for b in range(p)])
    y = pairs.sum(1) % p
    perm = rng.permutation(len(pairs))
    tr, va = perm[: int(0.6 * len(pairs))], perm[int(0.6 * len(pairs)) :]
    W = {"E": rng.normal(0, 1, (p, d)), "W1": rng.normal(0, 0.3, (h, 2 * d)), "b1": np.zeros(h)}
    W |= {"W2": rng.normal(0, 0.3, (p, h)), "b2": np.zeros(p)}
    mom = {k: np.zeros_like(v) for k, v in W.items()}
    vel = {k: np.zeros_like(v) for k, v in W.items()}
    log = ["step,train_loss,val_acc"]
    folder.mkdir()
    for step in range(steps + 1):
        if step % every == 0:
            f32 = {k: v.astype(np.float32) for k, v in W.items()}
            save_file(
                {"model.embed.weight": f32["E"], "model.fc1.weight": f32["W1"], "model.fc1.bias": f32["b1"],
                 "model.fc2.weight": f32["W2"], "model.fc2.bias": f32["b2"]},
                str(folder / f"ckpt_{step:05d}.safetensors"),
            )  # fmt: skip
            V = {k: v.astype(np.float64) for k, v in f32.items()}  # the saved weights
            x = np.concatenate([V["E"][pairs[va, 0]], V["E"][pairs[va, 1]]], 1)
            zv = np.maximum(x @ V["W1"].T + V["b1"], 0) @ V["W2"].T + V["b2"]
            acc = float(np.mean(zv.argmax(1) == y[va]))
        a, b = pairs[tr, 0], pairs[tr, 1]
        x = np.concatenate([W["E"][a], W["E"][b]], 1)
        pre = x @ W["W1"].T + W["b1"]
        hid = np.maximum(pre, 0)
        z = hid @ W["W2"].T + W["b2"]
        q = np.exp(z - z.max(1, keepdims=True))
        q /= q.sum(1, keepdims=True)
        loss = float(-np.mean(np.log(q[np.arange(len(tr)), y[tr]])))
        if step % every == 0:
            log.append(f"{step},{loss},{acc}")
        if step == steps:
            break
        dz = q.copy()
        dz[np.arange(len(tr)), y[tr]] -= 1
        dz /= len(tr)
        g = {"W2": dz.T @ hid, "b2": dz.sum(0)}
        dpre = (dz @ W["W2"]) * (pre > 0)
        g |= {"W1": dpre.T @ x, "b1": dpre.sum(0)}
        dx = dpre @ W["W1"]
        g["E"] = np.zeros_like(W["E"])
        np.add.at(g["E"], a, dx[:, :d])
        np.add.at(g["E"], b, dx[:, d:])
        for k in W:
            mom[k] = 0.9 * mom[k] + 0.1 * g[k]
            vel[k] = 0.999 * vel[k] + 0.001 * g[k] ** 2
            mh, vh = mom[k] / (1 - 0.9 ** (step + 1)), vel[k] / (1 - 0.999 ** (step + 1))
            W[k] -= 0.01 * mh / (np.sqrt(vh) + 1e-8)
    (folder.parent / "metrics.csv").write_text("\n".join(log) + "\n")
    lines = ["a,b"] + [f"{a},{b}" for a, b in pairs[tr]]
    (folder.parent / "train.csv").write_text("\n".join(lines) + "\n")
    return [float(r.split(",")[2]) for r in log[1:]]


def test_recomputed_accuracy_equals_an_independent_scripts_logged_accuracy(tmp_path, capsys):
    logged = _numpy_run(tmp_path / "ckpt")
    assert len(set(logged)) > 2  # the run moves
    argv = ["inspect", "--task", "add-mod", "--p", "11", "--embedding", str(tmp_path / "ckpt")]
    argv += ["--train-file", str(tmp_path / "train.csv"), "--metrics", str(tmp_path / "metrics.csv")]
    code, out, err = _run([*argv, "--json"], capsys)
    assert code == 0, err
    rec = json.loads(out)
    assert rec["network"]["architecture"] == "mlp-concat"
    got = [c["test_acc"] for c in rec["checkpoints"]]
    np.testing.assert_allclose(got, logged, atol=1e-12)
    for c in rec["checkpoints"]:
        want = "train_acc test_acc train_loss test_loss restricted_loss excluded_loss key_logit_share"
        assert set(c) >= set(want.split())
        assert c["rqi"] is None and c["predicted_test_acc"] is None
    assert rec["n_h"] is None and "collapse" in rec["not_applicable"]
    log = read_training_log(tmp_path / "metrics.csv")
    assert rec["metrics"]["test_acc_crosses_0.5_at"] == log.crossing(0.5)
    code, out, err = _run([*argv, "--out", str(tmp_path / "out")], capsys)
    assert code == 0, err
    assert out.count("not applicable to add-mod") == 1 and "Acc-hat (test)" not in out
    assert (tmp_path / "out" / "inspect.png").stat().st_size > 10_000


def test_collapse_tasks_print_no_accuracy_comparison(tmp_path, capsys):
    p = 13
    E = np.random.default_rng(0).normal(size=(p, 4))
    np.save(tmp_path / "E.npy", E)
    argv = ["inspect", "--task", "add-mod", "--p", str(p), "--embedding", str(tmp_path / "E.npy"),
            "--train", "0,1 2,3 4,5", "--accuracy", "0.9"]  # fmt: skip
    code, out, err = _run(argv, capsys)
    assert code == 0, err
    assert "Acc-hat" not in out.split("null --")[1].split("\n", 1)[1] and "measured −" not in out
    code, out, err = _run([*argv, "--json"], capsys)
    rec = json.loads(out)
    assert rec["rqi"] is None and rec["predicted_test_acc"] is None and rec["ideal_test_accuracy"] is None
    assert rec["grokking_rate"] is None and rec["n_h"] is None and "measured_minus_predicted" not in rec
    # add keeps its linear structure: the numbers are there, with Z0 = ‖E0‖²
    np.save(tmp_path / "L.npy", np.arange(10.0)[:, None])
    code, out, err = _run(["inspect", "--task", "add", "--p", "10", "--embedding", str(tmp_path / "L.npy"),
                           "--train", "0,1 2,3 4,5 1,2", "--json"], capsys)  # fmt: skip
    rec = json.loads(out)
    assert (
        rec["not_applicable"] is None
        and rec["rqi"] == 1.0
        and rec["z0"] == float(np.sum(np.arange(10.0) ** 2))
    )


def test_undetermined_time_axis_gives_no_n_h():
    task = eg.make_task("add", 8)
    split = eg.random_split(task, fraction=0.9, seed=1)
    E = np.random.default_rng(0).normal(size=(8, 1))
    res = eg.inspect_series(task, split, [E, E, E], [0, 10, 20])  # RQI never changes
    assert res.flow is not None and not res.flow.determined and res.flow.n_h_steps is None
    assert res.checkpoints[0].rate.z0 == pytest.approx(float(np.sum(E * E)))


def test_progress_toy_on_a_collapse_task_reports_null_rqi():
    from effgrok.diagnostics.progress import toy_progress
    from effgrok.nets.toy import ToyConfig, train_toy

    task = eg.make_task("add-mod", 7)
    runs = train_toy(task, ToyConfig(steps=20, stride=10), seeds=[0], n_train=20)
    prog = toy_progress(runs, task)
    assert "rqi" not in prog.measures and "collapse" in prog.not_applicable["rqi"]
    assert prog.rows()[0]["rqi"] is None and prog.record()["not_applicable"]["rqi"]
