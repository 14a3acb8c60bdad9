"""`effgrok predict-grok` and `effgrok progress`: outputs, files, one-line errors with exit code 2."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from effgrok.cli import main
from effgrok.diagnostics.early import auc, read_loss_csv, spectral_scores

PNG = b"\x89PNG\r\n\x1a\n"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def write_log(path, labelled=True):
    """Six runs, the grokking ones oscillate from the start."""
    rng = np.random.default_rng(0)
    t = np.arange(0, 1001, 10)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["run", "step", "loss"] + (["grokked"] if labelled else []))
        for k in range(6):
            osc = 0.4 * np.sin(t / 9 + k) if k % 2 else 0.01 * rng.standard_normal(t.size)
            for s, v in zip(t, np.exp(-t / 400 + osc), strict=True):
                w.writerow([f"r{k}", s, f"{v:.10g}"] + ([k % 2] if labelled else []))
    return path


def test_predict_grok_json_matches_the_library(capsys, tmp_path):
    f = write_log(tmp_path / "log.csv")
    code, out, err = run(capsys, "predict-grok", f, "--fractions", "0.3", "1", "--json")
    assert code == 0, err
    rec = json.loads(out)
    assert rec["fractions"] == [0.3, 1.0] and len(rec["runs"]) == 6
    log = read_loss_csv(f)
    lib = spectral_scores(list(log.losses), list(log.steps), fraction=0.3)
    np.testing.assert_allclose([r["scores"][0] for r in rec["runs"]], lib, rtol=1e-12)
    assert rec["auc"][0] == pytest.approx(auc(lib, log.labels)) and rec["auc"] == [1.0, 1.0]
    assert rec["earliest_fraction"] == 0.3
    assert [r["grokked"] for r in rec["runs"]] == [False, True] * 3


def test_predict_grok_text_and_out(capsys, tmp_path):
    f = write_log(tmp_path / "log.csv")
    out_dir = tmp_path / "res"
    code, out, err = run(capsys, "predict-grok", f, "--out", out_dir)
    assert code == 0, err
    assert "AUC" in out and "earliest fraction with AUC ≥ 0.8: 0.2" in out  # 0.1: under 2 cycles
    for name in ("scores.csv", "auc.csv", "predict_grok.json"):
        assert (out_dir / name).is_file(), name
    assert (out_dir / "predict_grok.png").read_bytes()[:8] == PNG
    assert len((out_dir / "scores.csv").read_text().splitlines()) == 1 + 6 * 10
    g = write_log(tmp_path / "plain.csv", labelled=False)
    code, out, err = run(capsys, "predict-grok", g, "--out", tmp_path / "plain", "--json")
    assert code == 0, err
    assert json.loads(out)["auc"] is None
    assert (tmp_path / "plain" / "predict_grok.png").read_bytes()[:8] == PNG


def _rows(path):
    with open(path) as fh:
        return list(csv.reader(fh))


def test_predict_grok_warns_when_a_label_has_fewer_than_3_runs(capsys, tmp_path):
    f = write_log(tmp_path / "log.csv")
    rows = _rows(f)
    few = tmp_path / "few.csv"  # keep runs r0, r1, r2, r4: one grokked (r1)... and r3 dropped
    with open(few, "w", newline="") as fh:
        csv.writer(fh).writerows([rows[0]] + [r for r in rows[1:] if r[0] in ("r0", "r1", "r2", "r4")])
    code, out, err = run(capsys, "predict-grok", few, "--fractions", "1", "--json")
    assert code == 0
    rec = json.loads(out)
    assert len(rec["warnings"]) == 1 and "only 1 run grokked and 3 did not" in rec["warnings"][0]
    assert err == f"effgrok: warning: {rec['warnings'][0]}\n"
    code, out, err = run(capsys, "predict-grok", f, "--fractions", "1", "--json")
    assert json.loads(out)["warnings"] == [] and err == ""


def test_predict_grok_keeps_diverged_runs_scored_up_to_the_divergence(capsys, tmp_path):
    f = write_log(tmp_path / "log.csv")
    rows = _rows(f)
    # run r2 diverges at step 600: its rows from there on read nan, inf, nan, ...
    div, cut = tmp_path / "div.csv", tmp_path / "cut.csv"
    bad = [[*r[:2], ("nan", "inf")[int(r[1]) // 10 % 2], *r[3:]] if r[0] == "r2" and int(r[1]) >= 600 else r
           for r in rows[1:]]  # fmt: skip
    with open(div, "w", newline="") as fh:
        csv.writer(fh).writerows([rows[0], *bad])
    with open(cut, "w", newline="") as fh:  # the oracle: the same log with those rows deleted
        csv.writer(fh).writerows([rows[0]] + [r for r in rows[1:] if not (r[0] == "r2" and int(r[1]) >= 600)])
    code, out, err = run(capsys, "predict-grok", div, "--fractions", "0.3", "0.8", "1", "--json")
    assert code == 0, err
    got = json.loads(out)
    code, out, _ = run(capsys, "predict-grok", cut, "--fractions", "0.3", "0.8", "1", "--json")
    want = json.loads(out)
    assert [r["diverged"] for r in got["runs"]] == [False, False, True, False, False, False]
    assert got["runs"][2]["diverged_at_step"] == 600 and got["runs"][2]["records"] == 60
    assert [r["scores"] for r in got["runs"]] == [r["scores"] for r in want["runs"]]
    assert got["auc"] == want["auc"] and got["budget"] == 1000
    assert "run 'r2' diverged: NaN or infinite loss at step 600" in got["warnings"][0]
    assert err.count("\n") == 1 and err.startswith("effgrok: warning: run 'r2' diverged")
    # a run that diverges at its first record keeps NaN scores and is left out of the AUC
    with open(div, "w", newline="") as fh:
        csv.writer(fh).writerows(
            [rows[0]] + [[*r[:2], "nan", *r[3:]] if r[0] == "r2" else r for r in rows[1:]]
        )
    code, out, err = run(capsys, "predict-grok", div, "--fractions", "1", "--json", "--budget", "1000")
    assert code == 0, err
    rec = json.loads(out)
    assert rec["runs"][2]["scores"] == [None] and rec["runs"][2]["records"] == 0
    assert rec["runs"][2]["diverged_at_step"] == 0 and rec["auc"] == [1.0]


def test_predict_grok_resumed_log_equals_the_clean_log(capsys, tmp_path):
    f = write_log(tmp_path / "log.csv")
    rows = _rows(f)
    resumed = tmp_path / "resumed.csv"
    with open(resumed, "w", newline="") as fh:  # each run logged to step 500, resumed from 300
        w = csv.writer(fh)
        w.writerow(rows[0])
        for name in sorted({r[0] for r in rows[1:]}):
            mine = [r for r in rows[1:] if r[0] == name]
            old = [[*r[:2], str(float(r[2]) * 1.5), *r[3:]] if int(r[1]) >= 300 else r for r in mine]
            first = [r for r in old if int(r[1]) <= 500]  # 300..500: values the resume replaces
            w.writerows(first + [r for r in mine if int(r[1]) >= 300])
    code, out, err = run(capsys, "predict-grok", resumed, "--fractions", "0.4", "1", "--json")
    assert code == 0
    got = json.loads(out)
    _, out, _ = run(capsys, "predict-grok", f, "--fractions", "0.4", "1", "--json")
    want = json.loads(out)
    assert [r["scores"] for r in got["runs"]] == [r["scores"] for r in want["runs"]]
    assert len(got["warnings"]) == 6 and "21 records superseded" in got["warnings"][0]
    assert err.count("effgrok: warning:") == 6


def test_predict_grok_reads_the_wandb_wide_export(capsys, tmp_path):
    f = write_log(tmp_path / "log.csv", labelled=False)
    rows = _rows(f)
    names = sorted({r[0] for r in rows[1:]})
    steps = sorted({int(r[1]) for r in rows[1:]})
    value = {(r[0], int(r[1])): r[2] for r in rows[1:]}
    wide = tmp_path / "wandb.csv"
    with open(wide, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Step"] + [f"{n} - train/loss{b}" for n in names for b in ("", "__MIN", "__MAX")])
        for s in steps:
            w.writerow([s] + [value[n, s] for n in names for _ in range(3)])
    code, out, err = run(capsys, "predict-grok", wide, "--fractions", "0.5", "1", "--json")
    assert code == 0, err
    got = json.loads(out)
    _, out, _ = run(capsys, "predict-grok", f, "--fractions", "0.5", "1", "--json")
    want = json.loads(out)
    assert [r["run"] for r in got["runs"]] == names
    assert [r["scores"] for r in got["runs"]] == [r["scores"] for r in want["runs"]]
    assert got["columns"]["layout"] == "wide" and got["columns"]["loss"] == "train/loss"


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["predict-grok", "{missing}"], "does not exist"),
        (["predict-grok", "{bad}"], "line 3, column 'loss': not a number"),
        (
            ["predict-grok", "{good}", "--fractions", "0", "1"],
            "--fractions must be a number in (0, 1], got 0.0",
        ),
        (["predict-grok", "{good}", "--cutoff", "-1"], "cutoff must be a positive finite number"),
        (["predict-grok", "{short}"], "fewer than 10 records"),
        (["progress", "modular", "--p", "7", "--k", "4", "--steps", "10"], "--k must be 1..3"),
        (
            ["progress", "modular", "--steps", "10", "--stride", "5", "--snapshot-stride", "3"],
            "--snapshot-stride",
        ),
        (["progress", "toy", "--n-train", "500"], "--n-train must be"),
    ],
)
def test_errors_are_one_line_exit_2(capsys, tmp_path, argv, match):
    (tmp_path / "bad.csv").write_text("step,loss\n0,1\n1,x\n")
    (tmp_path / "short.csv").write_text("step,loss\n" + "".join(f"{i},1\n" for i in range(5)))
    write_log(tmp_path / "good.csv")
    files = {k: tmp_path / f"{k}.csv" for k in ("missing", "bad", "good", "short")}
    code, out, err = run(capsys, *[a.format(**files) for a in argv])
    assert code == 2 and out == ""
    assert err.startswith("effgrok: error:") and err.count("\n") == 1 and "Traceback" not in err
    assert match in err


def test_progress_modular(capsys, tmp_path):
    out_dir = tmp_path / "m"
    code, out, err = run(
        capsys, "progress", "modular", "--p", "7", "--hidden", "8", "--steps", "20", "--stride", "10",
        "--k", "2", "--n-seeds", "1", "--out", out_dir, "--json",
    )  # fmt: skip
    assert code == 0, err
    rec = json.loads(out)
    assert rec["model"] == "modular" and len(rec["runs"]) == 1
    row = rec["runs"][0]
    assert 0 < row["final_fourier_concentration"] <= 1 and row["final_effective_rank"] >= 1
    lines = (out_dir / "progress.csv").read_text().splitlines()
    assert len(lines) == 1 + 3 and "fourier_concentration" in lines[0]
    assert (out_dir / "progress.png").read_bytes()[:8] == PNG


def test_progress_toy(capsys):
    code, out, err = run(
        capsys, "progress", "toy", "--p", "6", "--n-train", "15", "--steps", "20", "--stride", "10",
        "--n-seeds", "1",
    )  # fmt: skip
    assert code == 0, err
    assert "initial_rqi" in out and "final_rqi" in out


def test_tickets_cli_paper_network_and_sparsity_convention(capsys, tmp_path):
    code, out, err = run(
        capsys, "tickets", "--p", "7", "--train-frac", "0.6", "--hidden", "6", "--embed-dim", "5",
        "--steps", "40", "--stride", "20", "--n-seeds", "1", "--json",
    )  # fmt: skip
    assert code == 0, err
    rec = json.loads(out)
    assert rec["architecture"] == "embed_sum" and rec["pairs"] == "unordered"
    assert rec["pruned_fraction"] == 0.6 and rec["kept_fraction"] == pytest.approx(0.4)
    assert {r["variant"] for r in rec["rows"]} >= {"dense", "ticket", "norm_matched_dense"}
    code, out, err = run(capsys, "tickets", "--pruned-fraction", "1.5")
    assert code == 2 and "--pruned-fraction" in err and err.count("\n") == 1
