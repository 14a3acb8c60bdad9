import numpy as np
import pytest
from conftest import naive_nullity
from scipy import stats

import effgrok as eg
from effgrok import _parallel
from effgrok._parallel import serial
from effgrok.effective import critical


def _naive_pinning_size(task, order):
    f = eg.full_table_nullity(task)
    for m in range(1, task.n_examples + 1):
        mask = np.zeros(task.n_examples, bool)
        mask[order[:m]] = True
        if naive_nullity(task, mask) == f:
            return m
    raise AssertionError("full table not pinned")


@pytest.mark.parametrize(
    ("name", "p"), [("add", 6), ("add", 10), ("add-mod", 7), ("sub-mod", 5), ("mul-mod", 7), ("s3", None)]
)
def test_pinning_sizes_match_naive_rank(name, p):
    t = eg.make_task(name, p)
    T = eg.pinning_sizes(t, 12, seed=11)
    for k in range(12):
        assert T[k] == _naive_pinning_size(t, eg.random_ordering(t.n_examples, 11, k))


@pytest.mark.parametrize(("name", "p"), [("add", 30), ("add-mod", 41), ("s3", None)])
def test_incremental_and_bisect_agree(name, p):
    t = eg.make_task(name, p)
    a = eg.pinning_sizes(t, 40, seed=2, method="incremental")
    b = eg.pinning_sizes(t, 40, seed=2, method="bisect")
    np.testing.assert_array_equal(a, b)


def test_p10_critical_fraction_matches_paper(add10):
    res = eg.critical_fraction(add10, 10_000, seed=0)
    assert 0.38 <= res.r_c <= 0.43  # Liu et al. (2022): r_c ≈ 0.4
    assert res.sizes.tolist() == list(range(1, 56))
    assert np.all(np.diff(res.p_pinned) >= 0) and res.p_pinned[-1] == 1.0
    assert res.p_pinned[int(res.sizes.searchsorted(10))] == 0.0


def _first_crossing_of_half(xs, ys) -> float:
    """By hand: walk the points; between the last one below ½ and the first at or above it,
    interpolate linearly."""
    for k, (x, y) in enumerate(zip(xs, ys, strict=True)):
        if y >= 0.5:
            if k == 0:
                return float(x)
            x0, y0 = xs[k - 1], ys[k - 1]
            return float(x0 + (0.5 - y0) * (x - x0) / (y - y0))
    return float(xs[-1])


def test_r_c_interval_is_the_clopper_pearson_band_crossing(add10):
    """``p_pinned_ci`` is scipy's exact (Clopper–Pearson) binomial interval at every size, and
    ``n_c``, ``n_c_ci`` are where the curve and the band's upper and lower edges cross ½."""
    S = 2000
    res = eg.critical_fraction(add10, S, seed=4, confidence=0.9)
    T = np.asarray(res.pinning_sizes)
    sizes = np.arange(1, 56)
    hits = [int(np.sum(T <= n)) for n in sizes]
    band = np.array(
        [tuple(stats.binomtest(k, S).proportion_ci(confidence_level=0.9, method="exact")) for k in hits]
    )
    np.testing.assert_allclose(res.p_pinned_ci, band, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(res.p_pinned, np.array(hits) / S, rtol=0, atol=0)
    assert res.n_c == pytest.approx(_first_crossing_of_half(sizes, np.array(hits) / S), rel=1e-12)
    lo = _first_crossing_of_half(sizes, band[:, 1])  # the upper edge reaches ½ first
    hi = _first_crossing_of_half(sizes, band[:, 0])
    assert res.n_c_ci == pytest.approx((lo, hi), rel=1e-9)
    assert res.r_c_ci == pytest.approx((lo / 55, hi / 55), rel=1e-9)
    assert lo < res.n_c < hi and hi - lo < 1.5  # 2000 splits: about one training pair wide


def test_coupled_curve_agrees_with_independent_splits(add10):
    res = eg.critical_fraction(add10, 10_000, seed=5)
    for n in (20, 23, 27):
        ind = eg.pinned_fraction(add10, n, 4000, seed=9)
        coupled = res.p_pinned[n - 1]
        sigma = np.sqrt(coupled * (1 - coupled) * (1 / 4000 + 1 / 10_000))
        assert abs(ind - coupled) < 4.5 * sigma + 1e-9


def test_independent_fraction_matches_naive_splits(add10):
    # exact check of pinned_fraction against per-split naive ranks on its own orderings
    from effgrok.effective.critical import _key, _shuffle_prefix

    n, S = 24, 60
    frac = eg.pinned_fraction(add10, n, S, seed=3)
    key = _key(3, (n,))
    hits = 0
    for k in range(S):
        perm = np.empty(55, np.int64)
        _shuffle_prefix(perm, n, key, k)
        mask = np.zeros(55, bool)
        mask[perm[:n]] = True
        hits += naive_nullity(add10, mask) == 2
    assert frac == hits / S


def test_determinism_across_chunking_and_threads(add10, monkeypatch):
    a = eg.pinning_sizes(add10, 700, seed=7)
    b = eg.pinning_sizes(add10, 300, seed=7)
    np.testing.assert_array_equal(a[:300], b)
    with serial():
        c = eg.pinning_sizes(add10, 700, seed=7)
    np.testing.assert_array_equal(a, c)
    with monkeypatch.context() as m:  # 3 threads: 12 blocks of strided orderings, 4 per thread
        m.setattr(_parallel, "thread_count", lambda: 3)
        m.setattr(critical, "thread_count", lambda: 3)
        np.testing.assert_array_equal(a, eg.pinning_sizes(add10, 700, seed=7))
    assert not np.array_equal(a, eg.pinning_sizes(add10, 700, seed=8))


def test_orderings_are_uniform():
    firsts = np.array([eg.random_ordering(5, 1, k)[:2] for k in range(20_000)])
    counts = np.bincount(firsts[:, 0] * 5 + firsts[:, 1], minlength=25).reshape(5, 5)
    assert np.all(np.diag(counts) == 0)
    off = counts[~np.eye(5, dtype=bool)]
    assert stats.chisquare(off).pvalue > 1e-4


@pytest.mark.parametrize("n", [5, 30, 101, 10_000])
def test_median_interval_coverage(n):
    j, k, cov = eg.median_interval(n, 0.95)
    assert 1 <= j <= k <= n
    assert cov == pytest.approx(stats.binom.cdf(k - 1, n, 0.5) - stats.binom.cdf(j - 1, n, 0.5))
    assert cov >= 0.95 or j == 1
    # the narrowest such pair: one step inwards the coverage falls below 95 %
    assert j + 1 > n - j or stats.binom.cdf(n - j - 1, n, 0.5) - stats.binom.cdf(j, n, 0.5) < 0.95


def test_critical_scan_over_p_decreases():
    res = eg.critical_scan("add-mod", [10, 20, 40], 300, seed=1)
    rc = [r.r_c for r in res]
    assert rc[0] > rc[1] > rc[2]
    assert [r.p for r in res] == [10, 20, 40]


def test_critical_rejects_bad_input(add10):
    with pytest.raises(ValueError, match="splits must be an integer >= 1"):
        eg.critical_fraction(add10, 0)
    with pytest.raises(ValueError, match="method"):
        eg.pinning_sizes(add10, 5, method="fast")
    with pytest.raises(ValueError, match="confidence"):
        eg.critical_fraction(add10, 10, confidence=1.5)
    with pytest.raises(ValueError, match=r"n_train must be an integer in 1\.\.55"):
        eg.pinned_fraction(add10, 56, 10)


def _median_interval_naive(n, confidence):
    """The order-statistic interval from the whole Binomial(n, ½) distribution function."""
    cdf = stats.binom.cdf(np.arange(n + 1), n, 0.5)
    j = int(np.searchsorted(cdf, (1 - confidence) / 2, side="left"))
    while j >= 1 and cdf[n - j] - cdf[j - 1] < confidence:
        j -= 1
    return max(j, 1)


@pytest.mark.parametrize("confidence", [0.5, 0.9, 0.95, 0.99])
def test_median_interval_matches_the_whole_distribution(confidence):
    # the bisection on F evaluates O(log n) points; the naive search tabulates all n + 1
    for n in [*range(1, 300), 999, 4096, 10_000, 10_001]:
        j, k, _ = eg.median_interval(n, confidence)
        naive = _median_interval_naive(n, confidence)
        assert (j, k) == (naive, n - naive + 1), n


def test_critical_scan_defaults_are_critical_fraction_s():
    """``critical_scan`` is ``critical_fraction`` at every p: the same defaults (it had 1000 splits
    against 10 000, so one p scanned gave another r_c interval than the same p alone)."""
    import inspect

    def defaults(f):
        return {k: v.default for k, v in inspect.signature(f).parameters.items() if v.default is not v.empty}

    one, scan = defaults(eg.critical_fraction), defaults(eg.critical_scan)
    shared = set(one) & set(scan)
    assert {"splits", "seed", "confidence", "method", "connect_timeout"} <= shared
    assert {k: scan[k] for k in shared} == {k: one[k] for k in shared}
