"""effgrok inspect: effgrok's numbers on a user's embedding or checkpoints (issue 18)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import effgrok as eg
from effgrok.cli import main
from effgrok.diagnostics.inspection import (
    fourier_rows,
    inspect_embedding,
    inspect_series,
    key_frequencies,
    slot_embedding,
    training_split,
)
from effgrok.effective.dynamics import EffectiveLoss, exact_flow


def _pinned_split(task, fraction, seed=0):
    for s in range(seed, seed + 200):
        split = eg.random_split(task, fraction=fraction, seed=s)
        if eg.structure_pinned(task, split):
            return split
    raise AssertionError("no pinned split found")


def _fourier_embedding(p, freqs, amps=None, seed=0, dims=None):
    """Columns cos/sin(2π ω a/p + φ) of the given frequencies, mixed by a random orthogonal matrix."""
    rng = np.random.default_rng(seed)
    a = np.arange(p)
    amps = np.ones(len(freqs)) if amps is None else amps
    cols = []
    for w, amp in zip(freqs, amps, strict=True):
        phi = rng.uniform(0, 2 * np.pi)
        cols += [amp * np.cos(2 * np.pi * w * a / p + phi), amp * np.sin(2 * np.pi * w * a / p + phi)]
    E = np.stack(cols, axis=1)
    d = E.shape[1] if dims is None else dims
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    E = np.pad(E, ((0, 0), (0, d - E.shape[1])))
    return E @ Q + rng.standard_normal(d)  # a translation carries no non-constant power


# --------------------------------------------------------------------------- the oracles
@pytest.mark.parametrize("p, fraction, dims", [(10, 0.8, 1), (10, 0.6, 3), (16, 0.5, 2)])
def test_linear_embedding_on_pinned_split_gives_rqi_1_and_ideal_accuracy(p, fraction, dims):
    task = eg.make_task("add", p)
    split = _pinned_split(task, fraction)
    rng = np.random.default_rng(p)
    E = rng.standard_normal(dims) + np.arange(p)[:, None] * rng.uniform(0.5, 2, dims)  # affine in k
    res = inspect_embedding(task, split, E)
    assert res.rate.pinned
    assert res.rqi == 1.0
    assert res.predicted_test_acc == res.ideal_test_accuracy
    assert res.ideal_test_accuracy == eg.ideal_accuracy(task, split).test


@pytest.mark.parametrize(
    "p, freqs",
    [(11, [3]), (11, [5, 2]), (17, [1, 8, 4]), (23, [11, 3, 7, 2]), (31, [15, 1, 9, 4, 12])],
)
def test_known_frequencies_are_returned_exactly(p, freqs):
    E = _fourier_embedding(p, freqs, seed=p, dims=2 * len(freqs) + 3)
    assert sorted(key_frequencies(E, p)) == sorted(freqs)
    task = eg.make_task("add-mod", p)
    res = inspect_embedding(task, eg.random_split(task, fraction=0.5, seed=0), E)
    assert sorted(res.key_frequencies) == sorted(freqs)
    if len(freqs) <= 5:
        assert res.fourier_concentration == pytest.approx(1.0, abs=1e-12)


def test_key_frequencies_in_decreasing_order_of_power():
    freqs, amps = [7, 2, 10], np.array([1.0, 0.9, 0.8])  # shares 0.41, 0.33, 0.26: all three needed
    E = _fourier_embedding(23, freqs, amps, seed=1)
    assert key_frequencies(E, 23) == [7, 2, 10]
    assert key_frequencies(E, 23, key_power=0.4) == [7]
    assert key_frequencies(np.ones((23, 2)), 23) == []


def test_mul_mod_frequencies_through_the_discrete_logarithm():
    task = eg.make_task("mul-mod", 13)
    order, m = fourier_rows(task)
    assert m == 12
    g = int(task.symbols[order[1]])
    assert sorted(pow(g, k, 13) for k in range(12)) == list(range(1, 13))  # g generates Z_13^*
    log = np.empty(12, dtype=int)
    log[order] = np.arange(12)  # log[s - 1] = discrete log of symbol s
    E = np.stack([np.cos(2 * np.pi * 5 * log / 12), np.sin(2 * np.pi * 5 * log / 12)], axis=1)
    res = inspect_embedding(task, eg.random_split(task, fraction=0.5, seed=0), E)
    assert res.key_frequencies == (5,)


def test_toy_trainer_files_in_every_format_give_the_trainers_rqi_and_acc_hat(tmp_path):
    """Files written from effgrok's own toy trainer (npy, npz, safetensors, CSV; .pt with torch)
    give the trainer's own RQI and Acc-hat at every recorded step."""
    from safetensors.numpy import save_file

    from effgrok.diagnostics.loaders import load_embedding
    from effgrok.nets.toy import ToyConfig, train_toy

    task = eg.make_task("add", 10)
    cfg = ToyConfig(steps=500, stride=100, float64=True)
    runs = train_toy(task, cfg, seeds=[0], train_fraction=0.8, lr_emb=1e-2, lr_dec=1e-3)
    mask = runs.train_mask[0]
    assert np.ptp(runs.rqi[0]) > 0.1  # the run learns: RQI changes along the way
    writers = {
        "npy": lambda f, e: np.save(f, e),
        "npz": lambda f, e: np.savez(f, emb=e, W0=np.zeros((1, 200))),
        "safetensors": lambda f, e: save_file({"emb": np.ascontiguousarray(e)}, str(f)),
        "csv": lambda f, e: np.savetxt(f, e, delimiter=",", fmt="%.17g"),
    }
    try:
        import torch

        writers["pt"] = lambda f, e: torch.save({"model": {"emb.weight": torch.tensor(e)}}, f)
    except ImportError:
        pass
    for i in range(runs.steps.size):
        e = runs.embedding[0, i]
        for fmt, write in writers.items():
            f = tmp_path / f"ckpt_{i}.{fmt}"
            write(f, e)
            loaded = load_embedding(f, task.n_slots)
            res = inspect_embedding(task, mask, loaded.matrix, delta=cfg.delta)
            assert res.rqi == pytest.approx(runs.rqi[0, i], abs=1e-6), (fmt, i)
            assert res.predicted_test_acc == pytest.approx(runs.predicted_test_acc[0, i], abs=1e-6)


# --------------------------------------------------------------------------- split and rows
def test_ordered_pairs_on_a_commutative_task():
    task = eg.make_task("add", 5)
    split, how = training_split(task, [(0, 1), (1, 0), (2, 3), (4, 4), (3, 1)])
    expect = eg.split_from_pairs(task, [(0, 1), (2, 3), (4, 4), (1, 3)])
    np.testing.assert_array_equal(split.train, expect.train)
    assert "5 ordered pairs onto 4 unordered examples" in how and "1 given in both orders, 3 in one" in how
    full = np.ones((5, 5), dtype=bool)  # every ordered pair: the whole table
    assert training_split(task, full)[0].n_train == task.n_examples
    with pytest.raises(ValueError, match=r"pair \(2,3\) appears more than once"):
        training_split(task, [(2, 3), (3, 2), (2, 3)])
    with pytest.raises(ValueError, match=r"pair \(3,2\) appears more than once"):
        training_split(task, [(3, 2), (3, 2)])
    with pytest.raises(ValueError, match=r"pair \(4,4\) appears more than once"):
        training_split(task, [(4, 4), (4, 4)])
    with pytest.raises(ValueError, match=r"pair \(0,9\) is out of range"):
        training_split(task, [(0, 9)])
    with pytest.raises(ValueError, match=r"shape \(15,\) \(the task's examples\) or \(5, 5\)"):
        training_split(task, np.ones(7, dtype=bool))


def test_non_commutative_task_and_shared_embedding():
    task = eg.make_task("sub-mod", 7)
    pairs = [(1, 2), (2, 1), (3, 5)]
    split, how = training_split(task, pairs)
    assert split.n_train == 3 and "ordered" in how
    E = np.random.default_rng(0).standard_normal((7, 4))
    S, rows = slot_embedding(task, E)
    np.testing.assert_array_equal(S, np.vstack([E, E]))
    assert "shared" in rows
    res = inspect_embedding(task, split, E)
    # sub-mod's full-table solution is collapse: Liu et al.'s measures are null, with the reason
    assert res.rqi is None and res.predicted_test_acc is None and "collapse" in res.not_applicable
    assert eg.rqi(task, S) == 0.0  # what the number would have been
    with pytest.raises(ValueError, match=r"14 or 7 rows|7 or 14 rows"):
        slot_embedding(task, E[:5])


def test_split_numbers_are_the_librarys():
    task = eg.make_task("add", 10)
    split = eg.random_split(task, fraction=0.7, seed=4)
    E = np.random.default_rng(1).standard_normal((10, 2))
    res = inspect_embedding(task, split, E, learning_rate=0.01)
    # one n_h convention (rate, simulate, inspect): Z0 = ‖E0‖² of the embedding given
    rate = eg.grokking_rate(task, split, learning_rate=0.01, z0=float(np.sum(E * E)))
    rec = res.record()
    assert rec["z0_source"].startswith("‖E0‖² of the first checkpoint")
    assert rec["n_h"] == rate.n_h and rec["z0"] == rate.z0 and rec["grokking_rate"] == rate.grokking_rate
    assert rec["nullity"] == rate.nullity and rec["pinned"] == rate.pinned
    assert rec["effective_rank"] == eg.diagnostics.effective_rank(E)
    assert rec["rqi"] == eg.rqi(task, E)
    assert rec["predicted_test_acc"] == eg.predicted_accuracy(task, split, E).test
    for key in (
        *"task p n_train nullity pinned grokking_rate n_h ideal_test_accuracy".split(),
        *"rqi predicted_test_acc effective_rank embedding_shape".split(),
    ):
        assert key in rec


def test_measured_accuracy_comparison():
    task = eg.make_task("add", 10)
    split = _pinned_split(task, 0.8)
    res = inspect_embedding(task, split, np.arange(10.0), accuracy=0.5)
    rec = res.record()
    assert rec["measured_test_accuracy"] == 0.5
    assert rec["measured_minus_predicted"] == pytest.approx(0.5 - res.predicted_test_acc)
    with pytest.raises(ValueError, match=r"accuracy must be a number in \[0, 1\]"):
        inspect_embedding(task, split, np.arange(10.0), accuracy=1.5)


# --------------------------------------------------------------------------- series
def test_series_flow_starts_at_the_first_checkpoint_and_fit_recovers_the_time_scale():
    task = eg.make_task("add", 10)
    split = _pinned_split(task, 0.6)
    E0 = np.random.default_rng(2).uniform(-0.5, 0.5, (10, 1))
    loss = EffectiveLoss()
    G = loss.gram(task, split)
    ev = np.linalg.eigvalsh(G)
    kappa = 2 * ev[2] / np.sum(E0 * E0)  # λ3 of H = 2G/Z0: the slowest mode of a pinned split
    steps = np.arange(0, 2001, 100)
    c_true = 8.0 / (kappa * steps[-1])  # flow time per user step: the last checkpoint at 8/κ
    # checkpoints that follow the effective-loss flow exactly, on a user's step axis
    F = exact_flow(G, E0, c_true * steps, learning_rate=1.0)
    res = inspect_series(task, split, list(F), steps)
    assert res.flow is not None and res.flow.determined
    r0, _ = res.flow.at_steps([0])
    assert r0[0] == res.checkpoints[0].rqi
    assert res.flow.time_scale == pytest.approx(c_true, rel=0.1)
    assert res.flow.fit_rmse < 0.05
    lr = inspect_series(task, split, list(F), steps, time="lr", learning_rate=c_true)
    assert lr.flow.time_scale == c_true and "user units" in lr.flow.describe()
    rec = res.record()
    assert [c["step"] for c in rec["checkpoints"]] == steps.tolist()
    assert {"rqi", "predicted_test_acc", "effective_rank"} <= set(rec["checkpoints"][0])
    assert rec["theory"]["time"] == "fit"


def test_series_input_checks():
    task = eg.make_task("add", 6)
    split = eg.random_split(task, fraction=0.8, seed=0)
    E = np.arange(6.0)[:, None]
    with pytest.raises(ValueError, match="steps must increase strictly"):
        inspect_series(task, split, [E, E], [5, 5])
    with pytest.raises(ValueError, match="one integer step per embedding"):
        inspect_series(task, split, [E, E], [5])
    with pytest.raises(ValueError, match="time must be one of fit, lr"):
        inspect_series(task, split, [E], [0], time="wall")


# --------------------------------------------------------------------------- CLI
def _run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_json_single_embedding(tmp_path, capsys):
    p, freqs = 13, [2, 5]
    E = _fourier_embedding(p, freqs, seed=3)
    f = tmp_path / "E.npz"
    np.savez(f, W_E=E.T, W_U=np.zeros((3, 4)))
    code, out, err = _run(
        [
            *"inspect --task add-mod --p 13 --embedding".split(),
            str(f),
            "--train",
            "0,1 1,0 2,3 4,5 6,7",
            "--json",
        ],
        capsys,
    )
    assert code == 0, err
    rec = json.loads(out)
    for key in ("task", "p", "n_train", "nullity", "pinned", "grokking_rate", "n_h", "ideal_test_accuracy"):
        assert key in rec
    for key in "rqi predicted_test_acc effective_rank embedding_shape fourier_concentration".split():
        assert key in rec
    assert sorted(rec["key_frequencies"]) == freqs
    assert rec["n_train"] == 4 and rec["embedding_shape"] == [13, 4]
    assert rec["source"]["tensor"] == "W_E" and rec["source"]["symbol_axis"] == 1


def test_cli_text_out_and_accuracy(tmp_path, capsys):
    f = tmp_path / "E.csv"
    np.savetxt(f, np.arange(10.0)[:, None] * [1.0, -2.0], delimiter=",")
    pairs = tmp_path / "train.csv"
    split = _pinned_split(eg.make_task("add", 10), 0.8)
    task = eg.make_task("add", 10)
    pairs.write_text("a,b\n" + "\n".join(f"{a},{b}" for a, b in task.symbols[task.pairs[split.train]]))
    out_dir = tmp_path / "out"
    code, out, err = _run(
        [
            *"inspect --task add --p 10 --embedding".split(),
            str(f),
            "--train-file",
            str(pairs),
            "--accuracy",
            "0.9",
            "--out",
            str(out_dir),
        ],
        capsys,
    )
    assert code == 0, err
    assert "RQI                1" in out and "measured test acc  0.9" in out
    assert {p.name for p in out_dir.iterdir()} >= {"inspect.json", "inspect.csv", "inspect.png"}
    saved = json.loads((out_dir / "inspect.json").read_text())
    assert saved["result"]["rqi"] == 1.0 and "provenance" in saved


def test_cli_series_folder(tmp_path, capsys):
    from safetensors.numpy import save_file

    task = eg.make_task("add", 8)
    split = _pinned_split(task, 0.7)
    G = EffectiveLoss().gram(task, split)
    E0 = np.random.default_rng(5).uniform(-0.5, 0.5, (8, 2))
    steps = [0, 50, 100, 200, 400]
    F = exact_flow(G, E0, 0.02 * np.asarray(steps, float), learning_rate=1.0)
    folder = tmp_path / "ckpts"
    folder.mkdir()
    for s, e in zip(steps, F, strict=True):
        save_file(
            {"embedding": np.ascontiguousarray(e), "bias": np.zeros(3)},
            str(folder / f"step_{s:06d}.safetensors"),
        )
    mask = tmp_path / "mask.npy"
    np.save(mask, split.mask)
    code, out, err = _run(
        [
            *"inspect --task add --p 8 --embedding".split(),
            str(folder),
            "--train-file",
            str(mask),
            "--json",
            "--out",
            str(tmp_path / "o"),
        ],
        capsys,
    )
    assert code == 0, err
    rec = json.loads(out)
    assert [c["step"] for c in rec["checkpoints"]] == steps
    assert rec["theory"]["time_scale"] == pytest.approx(0.02, rel=0.1)
    assert (tmp_path / "o" / "inspect.png").is_file() and (tmp_path / "o" / "inspect.csv").is_file()
    code, out, err = _run(
        [
            *"inspect --task add --p 8 --embedding".split(),
            str(folder / "step_*.safetensors"),
            "--train-file",
            str(mask),
            *"--flow-time lr --lr 0.02".split(),
        ],
        capsys,
    )
    assert code == 0, err
    assert "user units" in out


def _bad(tmp_path):
    E = np.random.default_rng(0).standard_normal((10, 3))
    good = tmp_path / "good.npz"
    np.savez(good, W=E, b=np.ones(3))
    nan = tmp_path / "nan.npy"
    bad = E.copy()
    bad[1, 1] = np.nan
    np.save(nan, bad)
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros((9, 3)))
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    trunc = tmp_path / "trunc.npz"
    trunc.write_bytes(good.read_bytes()[:100])
    empty = tmp_path / "empty"
    empty.mkdir()
    base = ["inspect", "--task", "add", "--p", "10", "--train", "0,1 2,3"]
    return [
        ([*base, "--embedding", str(tmp_path / "missing.npz")], "does not exist"),
        (
            [*base, "--embedding", str(good), "--tensor", "emb"],
            "no tensor named 'emb'; the file holds: W (10, 3), b (3,)",
        ),
        ([*base, "--embedding", str(wrong)], "no 2-D tensor has an axis of length 10"),
        ([*base, "--embedding", str(nan)], "NaN or infinite entries (first at row 1, column 1)"),
        ([*base, "--embedding", str(corrupt)], "not a readable .safetensors file"),
        ([*base, "--embedding", str(trunc)], "not a readable .npz file"),
        ([*base, "--embedding", str(empty)], "holds no checkpoint file"),
        (
            ["inspect", "--task", "add", "--p", "10", "--train", "0,1 2,12", "--embedding", str(good)],
            "pair (2,12) is out of range",
        ),
        ([*base, "--embedding", str(good), "--steps", "1"], "--steps belongs to a series"),
        (
            [*base, "--embedding", str(good), "--accuracy", "2"],
            "accuracy must be a number in [0, 1], got 2.0",
        ),
        (
            [
                *"inspect --task add-mod --p 10 --train 0,1 --embedding".split(),
                str(good),
                "--k",
                "9",
            ],
            "k must be an integer in 1..5",
        ),
    ]


def test_cli_bad_input_one_line_exit_2(tmp_path, capsys):
    cases = _bad(tmp_path)
    for argv, msg in cases:
        code, _out, err = _run(argv, capsys)
        assert code == 2, (argv, err)
        assert err.startswith("effgrok: error: ") and err.count("\n") == 1, err
        assert msg in err, (msg, err)
        assert "Traceback" not in err


def test_cli_table_task(tmp_path, capsys):
    table = np.add.outer(np.arange(6), np.arange(6)) % 6
    t = tmp_path / "z6.csv"
    np.savetxt(t, table, delimiter=",", fmt="%d")
    E = _fourier_embedding(6, [1], seed=0)
    f = tmp_path / "E.npy"
    np.save(f, E)
    code, out, err = _run(
        ["inspect", "--table", str(t), "--embedding", str(f), "--train", "0,1 2,3", "--json"], capsys
    )
    assert code == 0, err
    rec = json.loads(out)
    assert rec["task"] == "z6" and rec["n_examples"] == 21 and rec["key_frequencies"] is None
    code, out, err = _run(
        ["inspect", "--table", str(t), "--p", "6", "--embedding", str(f), "--train", "0,1"], capsys
    )
    assert code == 2 and "--p belongs to --task" in err


def test_cli_fuzzed_files_end_in_exit_0_or_2(tmp_path, capsys):
    """Truncated and byte-flipped embedding and split files: never a traceback."""
    rng = np.random.default_rng(7)
    E = rng.standard_normal((10, 3))
    np.savez(tmp_path / "E.npz", W=E)
    np.save(tmp_path / "m.npy", np.ones(55, dtype=bool))
    for name in ("E.npz", "m.npy"):
        good = (tmp_path / name).read_bytes()
        for trial in range(25):
            data = bytearray(good[: rng.integers(0, len(good) + 1)])
            for _ in range(rng.integers(0, 4)):
                if data:
                    data[rng.integers(0, len(data))] = rng.integers(0, 256)
            f = tmp_path / f"fz{trial}_{name}"
            f.write_bytes(bytes(data))
            emb = f if name == "E.npz" else tmp_path / "E.npz"
            mask = f if name == "m.npy" else tmp_path / "m.npy"
            code, _, err = _run(
                ["inspect", "--task", "add", "--p", "10", "--embedding", str(emb), "--train-file", str(mask)],
                capsys,
            )
            assert code in (0, 2), err
            assert code == 0 or (err.startswith("effgrok: error: ") and err.count("\n") == 1), err


INSPECT_OPTIONS = {
    "--task": (["add", "add-mod", "sub-mod", "mul-mod"], ["s3", "mult", ""]),
    "--p": (["5", "7", "11"], ["-3", "0", "1", "x", "4", "6001"]),
    "--train": (["0,1 2,3", "1,2 2,1", "0,0"], ["0,99", "a,b", "", "0,1,2", "-1,2", "0,1 0,1"]),
    "--lr": (["1e-3", "0.5"], ["0", "-1", "nan", "inf", "x"]),
    "--z0": (["1", "9"], ["0", "-1", "nan"]),
    "--accuracy": (["0", "0.7", "1"], ["-0.1", "1.5", "nan", "x"]),
    "--k": (["1", "2"], ["0", "-1", "99", "x"]),
    "--key-power": (["0.5", "1"], ["0", "1.5", "nan"]),
    "--tensor": (["W"], ["nope", ""]),
    "--steps": (["1 2"], ["x"]),
    "--flow-time": (["fit", "lr"], ["wall"]),
    "--normalization": (["sum", "mean"], ["max"]),
}


def test_cli_generated_options_end_in_exit_0_or_2(tmp_path, capsys):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    folder = tmp_path / "ck"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for n in (5, 7, 11):
        for s in (0, 10):
            np.savez(folder / f"n{n}_{s}.npz", W=rng.standard_normal((n, 3)))
        np.savez(tmp_path / f"E{n}.npz", W=rng.standard_normal((n, 3)))

    @st.composite
    def argv(draw):
        n = draw(st.sampled_from(["5", "7", "11"]))
        series = draw(st.booleans())
        emb = str(folder / f"n{n}_*.npz") if series else str(tmp_path / f"E{n}.npz")
        args = ["inspect", "--embedding", emb]
        chosen = draw(st.lists(st.sampled_from(sorted(INSPECT_OPTIONS)), max_size=5, unique=True))
        for name in ("--task", "--p", "--train", *chosen):
            good, bad = INSPECT_OPTIONS[name]
            value = (
                draw(st.sampled_from(good + bad))
                if draw(st.integers(0, 3)) == 0
                else draw(st.sampled_from(good))
            )
            if name == "--p" and value in good:
                value = n
            args += [name, *value.split(" ")] if name in ("--steps",) else [name, value]
        return args

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(argv())
    def check(args):
        code, out, err = _run(args, capsys)
        assert code in (0, 2), (args, err)
        if code == 2:
            assert err.startswith("effgrok: error: ") and err.count("\n") == 1, (args, err)
        else:
            assert out and not err, (args, err)

    check()


def test_cli_transformer_vocabulary_with_an_extra_token(tmp_path, capsys):
    from safetensors.numpy import save_file

    p, freqs = 17, [3, 8]
    E = _fourier_embedding(p, freqs, seed=4, dims=6)
    W_E = np.vstack([E, np.ones((1, 6))]).T.copy()  # (d_model, p + 1), the '=' token last
    f = tmp_path / "model.safetensors"
    save_file(
        {"embed.W_E": W_E, "pos_embed.W_pos": np.zeros((3, 6)), "unembed.W_U": np.zeros((6, p))}, str(f)
    )
    argv = ["inspect", "--task", "add-mod", "--p", str(p), "--embedding", str(f), "--train", "0,1", "--json"]
    code, out, err = _run([*argv, "--vocab", str(p + 1)], capsys)
    assert code == 0, err
    rec = json.loads(out)
    assert sorted(rec["key_frequencies"]) == freqs and rec["embedding_shape"] == [p, 6]
    code, out, err = _run(argv, capsys)  # without --vocab the only tensor with 17 entries is W_U; it says so
    assert code == 0, err
    assert json.loads(out)["source"]["tensor"] == "unembed.W_U"
