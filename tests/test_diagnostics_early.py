"""Early prediction of grokking: spectral score, AUC, AUC vs observed fraction, CSV logs.

Oracles: a naive O(n²) pair count for the AUC, a naive DFT (explicit sums, numpy.polyfit
detrending) for the spectral score, closed forms (the power of a sinusoid), invariances."""

from __future__ import annotations

import numpy as np
import pytest

from effgrok.diagnostics.early import (
    auc,
    early_prediction_curve,
    loss_rises,
    min_points,
    raw_energy,
    read_loss_csv,
    spectral_score,
    spectral_scores,
)


# --------------------------------------------------------------------------- AUC
def naive_auc(s, y):
    pos, neg = s[y == 1], s[y == 0]
    total = sum((a > b) + 0.5 * (a == b) for a in pos for b in neg)
    return total / (pos.size * neg.size)


@pytest.mark.parametrize("seed", range(5))
def test_auc_matches_pair_count_with_ties(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 60))
    s = rng.integers(0, 6, n).astype(float)  # many ties
    y = rng.integers(0, 2, n)
    y[0], y[1] = 0, 1
    assert auc(s, y) == pytest.approx(naive_auc(s, y), abs=1e-12)
    assert auc(-s, y) == pytest.approx(1 - naive_auc(s, y), abs=1e-12)
    assert auc(np.exp(s), y.astype(bool)) == pytest.approx(auc(s, y), abs=1e-12)  # rank statistic


def test_auc_extremes_and_errors():
    assert auc([1, 2, 3, 4], [0, 0, 1, 1]) == 1.0
    assert auc([4, 3, 2, 1], [0, 0, 1, 1]) == 0.0
    with pytest.raises(ValueError, match="both classes"):
        auc([1, 2], [1, 1])
    with pytest.raises(ValueError, match="NaN"):
        auc([1, np.nan], [0, 1])
    with pytest.raises(ValueError, match="0/1"):
        auc([1, 2], [0, 2])
    with pytest.raises(ValueError, match="equal length"):
        auc([1, 2, 3], [0, 1])


# --------------------------------------------------------------------------- spectral score
def naive_score(loss, cutoff, degree):
    """Explicit DFT sums and numpy.polyfit on the raw step axis (evenly spaced curve)."""
    x = np.log(loss)
    n = x.size
    t = np.arange(n, dtype=float)
    r = x - np.polyval(np.polyfit(t, x, degree), t)
    w = np.array([0.5 - 0.5 * np.cos(2 * np.pi * i / (n - 1)) for i in range(n)])
    total = 0.0
    for k in range(n // 2 + 1):
        if k < cutoff:
            continue
        X = sum(w[i] * r[i] * np.exp(-2j * np.pi * k * i / n) for i in range(n))
        c = 1.0 if k == 0 or 2 * k == n else 2.0
        total += c * abs(X) ** 2 / (n * np.sum(w**2))
    return total


@pytest.mark.parametrize(("n", "cutoff", "degree"), [(40, 4.0, 2), (41, 2.5, 1), (64, 7.0, 3)])
def test_spectral_score_matches_naive_dft(n, cutoff, degree):
    rng = np.random.default_rng(n)
    loss = np.exp(-np.arange(n) / 15 + 0.2 * rng.standard_normal(n))
    got = spectral_score(loss, cutoff=cutoff, degree=degree)
    assert got == pytest.approx(naive_score(loss, cutoff, degree), rel=1e-9)


def test_spectral_score_closed_forms_and_invariances():
    t = np.arange(400)
    base = np.exp(-t / 80 + 1e-5 * t**2 / 10)  # log is a quadratic: removed by the detrending
    assert spectral_score(base) < 1e-20
    a = 0.3
    wig = base * np.exp(a * np.sin(2 * np.pi * 25 * t / 400))  # 25 cycles per window
    assert spectral_score(wig) == pytest.approx(a**2 / 2, rel=0.02)  # power of a sinusoid
    assert spectral_score(7.5 * wig) == pytest.approx(spectral_score(wig), rel=1e-9)  # scale-free
    slow = base * np.exp(a * np.sin(2 * np.pi * 1.5 * t / 400))  # below the cutoff
    assert spectral_score(slow) < 0.02 * a**2 / 2
    # the steps' unit does not matter, and uneven records are resampled
    assert spectral_score(wig, 10 * t) == pytest.approx(spectral_score(wig), rel=1e-12)
    rng = np.random.default_rng(1)
    uneven = np.sort(rng.choice(np.arange(4000), 300, replace=False)).astype(float)
    assert spectral_score(np.exp(-uneven / 800), uneven) < 1e-20
    # the loss itself instead of its log
    lin = 1.0 + 0.1 * np.sin(2 * np.pi * 25 * t / 400)
    assert spectral_score(lin, log=False) == pytest.approx(0.1**2 / 2, rel=0.02)


def test_spectral_score_errors():
    with pytest.raises(ValueError, match="need at least 10"):
        spectral_score(np.ones(9))
    assert min_points(4, 2) == 10 and min_points(1, 5) == 9
    with pytest.raises(ValueError, match="NaN"):
        spectral_score(np.r_[np.ones(20), np.nan])
    with pytest.raises(ValueError, match="losses must be >= 0"):
        spectral_score(-np.ones(20))
    with pytest.raises(ValueError, match="strictly increasing"):
        spectral_score(np.ones(20), np.r_[np.arange(19), 3])
    with pytest.raises(ValueError, match="cutoff"):
        spectral_score(np.ones(20), cutoff=0)
    with pytest.raises(ValueError, match="degree"):
        spectral_score(np.ones(20), degree=-1)
    with pytest.raises(ValueError, match="floor"):
        spectral_score(np.ones(20), floor=0)


def test_spectral_scores_windows():
    rng = np.random.default_rng(3)
    steps = np.arange(0, 1001, 10)
    curves = np.exp(-steps / 300 + 0.1 * rng.standard_normal((3, steps.size)))
    got = spectral_scores(curves, steps, fraction=0.3)
    for k in range(3):
        keep = steps <= 300
        assert got[k] == spectral_score(curves[k, keep], steps[keep])
    assert np.all(np.isnan(spectral_scores(curves, steps, fraction=0.05)))  # 6 records: too few
    ragged = spectral_scores([curves[0], curves[1, :50]], [steps, steps[:50]], fraction=1.0)
    assert ragged[1] == spectral_score(curves[1, :50], steps[:50])
    with pytest.raises(ValueError, match="fraction"):
        spectral_scores(curves, steps, fraction=1.5)
    with pytest.raises(ValueError, match="2 step arrays for 3 curves"):
        spectral_scores(list(curves), [steps, steps[:50]])


def test_early_prediction_curve_detects_late_oscillations_only_late():
    """Positives oscillate only after 60 % of the budget: no separation before, perfect after."""
    rng = np.random.default_rng(0)
    t = np.arange(0, 2001, 5)
    curves, labels = [], []
    for k in range(12):
        log_loss = -t / 500 + 0.02 * rng.standard_normal(t.size)
        if k % 2:
            log_loss += 0.5 * np.sin(t / 7 + rng.uniform(0, 6)) * (t > 1200)
        curves.append(np.exp(log_loss))
        labels.append(k % 2)
    res = early_prediction_curve(curves, labels, [0.2, 0.4, 0.8, 1.0], t)
    assert res.auc[2] == 1.0 and res.auc[3] == 1.0
    assert abs(res.auc[0] - 0.5) < 0.4 and res.auc[1] < 0.95
    assert res.earliest(0.99) == 0.8
    assert res.scores.shape == (4, 12) and res.budget == 2000
    with pytest.raises(ValueError, match="one entry per run"):
        early_prediction_curve(curves, labels[:-1], [0.5], t)
    with pytest.raises(ValueError, match="fractions"):
        early_prediction_curve(curves, labels, [0.0], t)


# --------------------------------------------------------------------------- the paper's score, rises
def naive_raw_energy(loss, max_cycles=None):
    """Explicit DFT sums over k = 1 .. n-1 (both halves of the spectrum), no window, no detrend."""
    n = loss.size
    top = n - 1 if max_cycles is None else max_cycles
    total = 0.0
    for k in range(1, n):
        kk = min(k, n - k)  # frequency in cycles per window
        if kk > top:
            continue
        X = sum(loss[i] * np.exp(-2j * np.pi * k * i / n) for i in range(n))
        total += abs(X) ** 2 / n**2
    return total


@pytest.mark.parametrize("n", [30, 31])
def test_raw_energy_matches_naive_dft_and_parseval(n):
    rng = np.random.default_rng(n)
    loss = np.exp(-np.arange(n) / 10) + 0.05 * rng.random(n)
    assert raw_energy(loss) == pytest.approx(naive_raw_energy(loss), rel=1e-10)
    assert raw_energy(loss) == pytest.approx(np.var(loss), rel=1e-10)  # Parseval
    assert raw_energy(loss, max_cycles=3) == pytest.approx(naive_raw_energy(loss, 3), rel=1e-10)
    # not scale-free, unlike the detrended score: it tracks the loss magnitude
    assert raw_energy(3 * loss) == pytest.approx(9 * raw_energy(loss), rel=1e-12)


def test_raw_energy_counts_the_decay_the_detrended_score_removes():
    t = np.arange(300)
    smooth = np.exp(-t / 60)  # no oscillation at all
    assert spectral_score(smooth) < 1e-20
    assert raw_energy(smooth) > 0.05
    with pytest.raises(ValueError, match="max_cycles"):
        raw_energy(smooth, max_cycles=0.5)
    with pytest.raises(ValueError, match="at least 2"):
        raw_energy([1.0])


def test_spectral_scores_methods_and_baseline():
    steps = np.arange(0, 201)
    curves = np.stack([np.exp(-steps / 50), 2 * np.exp(-steps / 50)])
    raw = spectral_scores(curves, steps, fraction=0.5, method="raw_energy")
    assert raw[0] == pytest.approx(np.var(curves[0, :101]), rel=1e-10)
    level = spectral_scores(curves, steps, fraction=0.5, method="loss_level")
    assert level[0] == pytest.approx(-np.mean(np.log(curves[0, :101])), rel=1e-12)
    assert level[0] - level[1] == pytest.approx(np.log(2), rel=1e-12)
    res = early_prediction_curve(curves, [1, 0], [0.5], steps, method="loss_level")
    assert res.auc.tolist() == [1.0]  # the lower loss ranks first
    with pytest.raises(ValueError, match="method"):
        spectral_scores(curves, steps, method="fourier")


def test_loss_rises():
    assert loss_rises(np.exp(-np.arange(50) / 5)) == 0
    t = np.arange(200)
    osc = np.exp(-t / 50) * (1 + 0.2 * np.sin(t / 3))
    naive = sum(osc[i + 1] > 1.001 * osc[i] for i in range(t.size - 1))
    assert loss_rises(osc) == naive > 10
    assert loss_rises([1.0, 1.0005]) == 0 and loss_rises([1.0, 1.0005], rel_tol=0) == 1
    with pytest.raises(ValueError, match="rel_tol"):
        loss_rises([1.0, 2.0], rel_tol=-1)


# --------------------------------------------------------------------------- CSV logs
def write(tmp_path, text, name="log.csv"):
    f = tmp_path / name
    f.write_text(text)
    return f


def test_read_loss_csv_interleaved_runs(tmp_path):
    f = write(tmp_path, "Step,LOSS,run,grokked,extra\n0,2,a,true,x\n0,3,b,0,y\n5,1,a,1,z\n5,2.5,b,false,w\n")
    log = read_loss_csv(f)
    assert log.runs == ("a", "b")
    assert [s.tolist() for s in log.steps] == [[0, 5], [0, 5]]
    assert [v.tolist() for v in log.losses] == [[2, 1], [3, 2.5]]
    assert log.labels.tolist() == [True, False]
    single = read_loss_csv(write(tmp_path, "loss,step\n1,0\n0.5,1\n\n", "one.csv"))
    assert single.runs == ("0",) and single.labels is None and single.losses[0].tolist() == [1, 0.5]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "empty"),
        ("step,value\n0,1\n", "no 'loss' column"),
        ("step,loss\n", "no data rows"),
        ("step,loss\n0,1\n1,abc\n", r"line 3, column 'loss': not a number"),
        ("step,loss\n0,1\nnan,1\n", r"line 3, column 'step': not finite"),
        ("step,loss\n0,1\n1,-inf\n", r"line 3, column 'loss': negative loss"),
        ("step,loss\n0,1\n1,-2\n", r"line 3, column 'loss': negative"),
        ("step,loss\n0,1\n1\n", r"line 3: 1 fields"),
        ("step,loss,grokked\n0,1,maybe\n", r"line 2, column 'grokked': expected 0/1"),
        (
            "step,loss,run,grokked\n0,1,a,1\n1,1,a,0\n",
            r"line 3, column 'grokked': run 'a' was labelled True on line 2",
        ),
        ("step,loss,step\n0,1,2\n", "column 'step' appears more than once"),
    ],
)
def test_read_loss_csv_errors_name_line_and_column(tmp_path, text, match):
    with pytest.raises(ValueError, match=match):
        read_loss_csv(write(tmp_path, text))


def test_read_loss_csv_missing_file(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        read_loss_csv(tmp_path / "nope.csv")


def test_read_loss_csv_resumed_log_keeps_the_last_values(tmp_path):
    # trained to step 20, resumed from the checkpoint of step 10: steps 10 and 20 are logged again
    log = read_loss_csv(write(tmp_path, "step,loss\n0,4\n10,3\n20,2\n10,2.5\n20,1.5\n30,1\n"))
    assert log.steps[0].tolist() == [0, 10, 20, 30]
    assert log.losses[0].tolist() == [4, 2.5, 1.5, 1]
    assert log.notes == (
        "run '0': 2 records superseded by later rows that log the same steps again (a resumed log): "
        "the last value of each step is kept",
    )


def test_read_loss_csv_keeps_and_marks_diverged_runs(tmp_path):
    text = "run,step,loss\na,0,2\nb,0,2\na,1,1\nb,1,nan\na,2,0.5\nb,2,inf\nb,3,1\n"
    log = read_loss_csv(write(tmp_path, text))
    assert log.runs == ("a", "b")
    assert log.losses[0].tolist() == [2, 1, 0.5] and log.losses[1].tolist() == [2]
    assert np.isnan(log.diverged_at_step[0]) and log.diverged_at_step[1] == 1
    assert log.notes == (
        "run 'b' diverged: NaN or infinite loss at step 1; it is kept (diverged: true) and scored on "
        "its 1 records before that step",
    )
    rows = log.tables()["runs"]
    assert [r["diverged"] for r in rows] == [False, True] and rows[1]["diverged_at_step"] == 1


def test_read_loss_csv_wandb_wide_export(tmp_path):
    header = ",".join(
        ["Step"] + [f"{r} - loss{b}" for r in ("run-a", "run b") for b in ("", "__MIN", "__MAX")]
    )
    rows = ["0,2,2,2,3,3,3", "5,1,1,1,,,", "10,0.5,0.5,0.5,1.5,1.5,1.5", "15,,,,,,"]
    log = read_loss_csv(write(tmp_path, header + "\n" + "\n".join(rows) + "\n"))
    assert log.runs == ("run-a", "run b")
    assert [s.tolist() for s in log.steps] == [[0, 5, 10], [0, 10]]
    assert [v.tolist() for v in log.losses] == [[2, 1, 0.5], [3, 1.5]]
    assert log.labels is None and log.columns["layout"] == "wide" and log.columns["skipped_rows"] == 1
    other = "Step,r - val_acc,r - val_acc__MIN\n0,0.1,0.1\n"
    with pytest.raises(ValueError, match=r"W&B wide export without a loss metric; its metrics: val_acc"):
        read_loss_csv(write(tmp_path, other, "acc.csv"))
    named = read_loss_csv(write(tmp_path, other, "acc2.csv"), loss_column="val_acc")
    assert named.runs == ("r",) and named.losses[0].tolist() == [0.1]


def test_label_warnings_count_runs_per_label():
    from effgrok.diagnostics.early import label_warnings

    assert label_warnings([1, 0]) and "steps of 1/1" in label_warnings([1, 0])[0]
    assert "only 2 runs grokked and 4 did not" in label_warnings([1, 1, 0, 0, 0, 0])[0]
    assert label_warnings([1, 1, 1, 0, 0, 0]) == [] and label_warnings([1, 1, 1]) == []
