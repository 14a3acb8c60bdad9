"""Known-answer tests of the verdict logic of seven validation cases (issue 23): omnigrok,
dichotomy, lazy_rich, early_prediction, solvable_linear, softmax_collapse, grokking_tickets.

Each case's ``verdict(prediction, measurements, settings)`` is called on synthetic measurement
dicts with the keys and shapes its ``measure_unit`` returns, built so that the answer is known
by construction (a transition law with slope 1 or 2, a fit before or after generalisation, a
plateau of a chosen length, ...): built to pass, to fail and to miss the control, the claims
must come out pass, fail and inconclusive (untested where the profile cannot judge them).  No
training runs here.
"""

from __future__ import annotations

import numpy as np
import pytest

from validation.framework import _settings, load_case


def settings_of(case: str, profile: str, **over) -> dict:
    s = _settings(load_case(case), profile, 0)
    s.update(over)
    return s


def statuses(v) -> dict:
    return {c.name: c.status for c in v.claims}


# --------------------------------------------------------------------------- solvable_linear


def _linear_unit(lam: float, t_train: float, gap: float, level: float, seeds: int = 3, spread=None):
    """Per-seed exponential curves crossing ``level`` at ``t_train`` (train) and ``t_train + gap``
    (generalisation; per seed ``gap·spread[k]`` when given); crossing_time is exact for them."""
    T = int(t_train + 2 * gap + 50)
    t = np.arange(T, dtype=float)
    spread = np.ones(seeds) if spread is None else np.asarray(spread, float)
    tr = np.stack([level * np.exp(-(t - t_train) / 5.0)] * seeds)
    gen = np.stack([level * np.exp(-(t - t_train - gap * f) / (0.05 * gap)) for f in spread])
    return {
        "lam": np.array([lam]),
        "lam_realised": np.array([lam]),
        "loss_level": np.array([level]),
        "mean_curve_gap": np.array([np.nan]),  # filled by the caller
        "gap": gap * spread,
        "t_train": np.full(seeds, t_train),
        "t_gen": t_train + gap * spread,
        "train_loss": tr,
        "generalization_loss": gen,
    }


def _linear_case(error: float = 0.02, spread=None, drop_gen: bool = False):
    from effgrok.solvable.linear import crossing_time

    mod = load_case("solvable_linear")
    s = settings_of("solvable_linear", "tiny")
    pred = mod.predict(s)
    ms = []
    for row in pred["rows"]:
        m = _linear_unit(
            row["lam"], row["t_train"], row["gap"] * (1 + error), pred["loss_level"], spread=spread
        )
        lvl = pred["loss_level"]
        m["mean_curve_gap"] = np.array(
            [
                crossing_time(m["generalization_loss"].mean(0), lvl)
                - crossing_time(m["train_loss"].mean(0), lvl)
            ]
        )
        if drop_gen:
            m["t_gen"][0] = np.nan
        ms.append(m)
    return mod.verdict(pred, ms, s)


def test_solvable_linear_bootstrap_se_widens_the_bar():
    # seeds whose gaps scatter by ±40 %: the averaged curves' gap is off by more than 5 % but
    # within 2 bootstrap SE, so it passes; the same error with identical seeds (SE 0) fails
    wide = _linear_case(0.0, spread=[0.6, 1.0, 1.4])
    rows = wide.numbers["rows"]
    err = rows[0]["rel_error"]
    assert all(0.05 < r["rel_error"] <= 2 * r["bootstrap_se"] for r in rows)
    assert statuses(wide) == {"gap_matches_theory": "pass"}
    assert statuses(_linear_case(err)) == {"gap_matches_theory": "fail"}


# -------------------------------------------------------------------------- softmax_collapse


def _softmax_unit(zero_at=None, zero_max=0.8, val=0.1, train=1.0, records=21, seeds=2):
    steps = np.arange(records) * 100.0
    zl = np.zeros((seeds, records))
    if zero_at is not None:
        zl[:, steps >= zero_at] = zero_max
    return {
        "steps": steps,
        "train_acc": np.full((seeds, records), train),
        "val_acc": np.full((seeds, records), val),
        "train_loss": np.full((seeds, records), 1e-3),
        "weight_norm": np.ones((seeds, records)),
        "zero_loss_fraction": zl,
        "zero_grad_fraction": np.zeros((seeds, records)),
        "collapse_step": np.full(seeds, np.nan),
    }


def _softmax(f32=500, f64=1500, sm_zero=None, sm_val=0.6, og_val=0.7, f32_train=1.0):
    mod = load_case("softmax_collapse")
    s = settings_of("softmax_collapse", "tiny")
    ms = [
        _softmax_unit(f32, val=0.05, train=f32_train),
        _softmax_unit(f64, val=0.2),
        _softmax_unit(sm_zero, val=sm_val),
        _softmax_unit(None, val=og_val),
    ]
    return mod.verdict(mod.predict(s), ms, s)


# -------------------------------------------------------------------------- grokking_tickets


def _tickets(profile="gpu", ticket=1000.0, dense=3000.0, norm=2800.0, random=np.nan):
    mod = load_case("grokking_tickets")
    s = settings_of("grokking_tickets", profile)
    n, steps = int(s["seeds"]), np.arange(0, int(s["steps"]) + 1, int(s["stride"]), dtype=float)
    m = {
        "steps": steps,
        "memorization_step": np.full(n, 500.0),
        "dense_weight_norm": np.ones((n, steps.size)),
        "dense_train_acc": np.ones((n, steps.size)),
    }
    t = {"dense": dense, "ticket": ticket, "memorization_ticket": np.nan, "norm_matched_dense": norm}
    t["random_ticket"] = random
    for v, tv in t.items():
        m[f"t_{v}"] = np.full(n, tv)
        m[f"val_{v}"] = np.zeros((n, steps.size))
        m[f"norms_{v}"] = np.ones((n, 2))
    for j in range(len(s["pruned_fractions"])):
        m[f"sweep{j}_t_ticket"] = np.full(n, ticket)
        m[f"sweep{j}_t_random_ticket"] = np.full(n, random)
    return mod.verdict(mod.predict(s), [m], s)


# --------------------------------------------------------------------------------- dichotomy


def _dichotomy(slope=1.0, final=0.95, c0=1.0, noise=0.0):
    """Runs whose test accuracy rises (a steep logistic) to ``final`` at ``t = slope(log α − c0)/λ``
    (t = η·step) after fitting at step 25; kernel exit at the same time."""
    mod = load_case("dichotomy")
    s = settings_of("dichotomy", "cpu")
    lr = float(s["lr"])
    steps = np.arange(0, int(s["steps"]) + 1, int(s["stride"]), dtype=float)
    rng = np.random.default_rng(1)
    ms = []
    for lam in s["wds"]:
        a = np.repeat(np.asarray(s["alphas"], float), int(s["seeds"]))
        t = slope * (np.log(a) - c0) / lam * (1 + noise * rng.standard_normal(a.size))
        mid = t / lr
        test = final / (1 + np.exp(-(steps[None, :] - mid[:, None]) / 10.0))
        train = np.where(steps[None, :] >= 25, 1.0, 0.5) * np.ones((a.size, 1))
        ms.append(
            {
                "alpha": a,
                "weight_decay": np.full(a.size, lam),
                "seed": np.arange(a.size),
                "steps": steps,
                "train_acc": train,
                "test_acc": test,
                "weight_norm": np.ones((a.size, steps.size)),
                "kernel_exit_time": t,
                "final_test_acc": test[:, -1],
                "c0_norm": np.full(a.size, c0),
            }
        )
    return mod.verdict(mod.predict(s), ms, s)


def test_dichotomy_fit_recovers_the_slope():
    assert abs(_dichotomy().claim("transition_law").numbers["fit"]["slope"] - 1) < 0.05


# ---------------------------------------------------------------------------------- omnigrok


def _omnigrok(profile="gpu", big_at_fit=0.1, big_fits=True, land_u=True):
    mod = load_case("omnigrok")
    s = settings_of("omnigrok", profile)
    rel = np.asarray(s["norms"], float)
    train_loss = np.where(rel < 1, 0.5 / rel**3, 0.02)
    test_loss = 0.1 * (1 + np.log(rel / 1.41) ** 2 * 4) if land_u else 0.1 / rel
    land = {
        "relative": rel,
        "norms": rel * 10,
        "train_loss": train_loss,
        "test_loss": test_loss,
        "train_acc": np.ones(rel.size),
        "test_acc": np.ones(rel.size),
        "final_norm": rel,
    }
    alphas = np.asarray(s["alphas"], float)
    n_s, stride, budget = int(s["seeds"]), int(s["stride"]), int(s["alpha_steps"])
    steps = np.arange(0, budget + 1, stride, dtype=float)
    train = np.zeros((alphas.size * n_s, steps.size))
    test = np.zeros_like(train)
    t_train = np.zeros((alphas.size, n_s))
    t_test = np.zeros((alphas.size, n_s))
    for i, a in enumerate(alphas):
        fit = 2 * stride
        gen = (
            3 * stride if a <= 1 else int(0.4 * budget * np.log(a) / np.log(alphas.max())) // stride * stride
        )
        for k in range(n_s):
            r = i * n_s + k
            fits = big_fits or i < alphas.size - 1
            train[r] = np.where((steps >= fit) & fits, 1.0, 0.5)
            before = big_at_fit if i == alphas.size - 1 else 0.1
            test[r] = np.where(steps >= gen, 0.95, before)
            t_train[i, k] = fit if fits else np.nan
            t_test[i, k] = gen
    al = {
        "alphas": alphas,
        "t_train": t_train,
        "t_test": t_test,
        "steps": steps,
        "test_acc": test,
        "train_acc": train,
        "weight_norm": np.ones_like(train),
    }
    return mod.verdict(mod.predict(s), [land, al], s)


# --------------------------------------------------------------------------------- lazy_rich


def _lazy_curve(steps, fit, plateau_end, k0, low):
    """Test loss 1 until ``fit``, ``k0`` until ``plateau_end`` (None: no plateau, straight to
    ``low``), then ``low``."""
    if plateau_end is None:
        return np.where(steps < fit, 1.0, low)
    return np.where(steps < fit, 1.0, np.where(steps < plateau_end, k0, low))


def _lazy(plateaus=None, eps_plateaus=None, rich_low=0.01, seeds=2):
    mod = load_case("lazy_rich")
    s = settings_of("lazy_rich", "cpu", alphas=[1.0, 2.0, 8.0], epsilons=[0.05, 0.15, 0.25])
    theta, k0 = float(s["theta"]), 0.2
    steps = np.arange(0, 20_001, 50, dtype=float)
    sd = [1000100 + i for i in range(seeds)]
    plateaus = {1.0: None, 2.0: 1000, 8.0: 5000} if plateaus is None else plateaus
    eps_plateaus = {0.05: 4000, 0.15: 2000, 0.25: 1000} if eps_plateaus is None else eps_plateaus
    fit = 100.0

    def unit(alpha, eps, ends):
        rows, alphas, seeds_ = [], [], []
        for a, end in ends:
            for sv in sd:
                low = rich_low if a == min(s["alphas"]) else 0.01
                rows.append(_lazy_curve(steps, fit, end, k0, low))
                alphas.append(a)
                seeds_.append(sv)
        te = np.array(rows)
        return {
            "alpha": np.array(alphas),
            "seed": np.array(seeds_, dtype=np.int64),
            "epsilon": np.full(len(rows), eps),
            "t_train": np.full(len(rows), fit),
            "t_test": np.array([steps[np.argmax(r < theta)] if (r < theta).any() else np.nan for r in te]),
            "steps": steps,
            "train_loss": np.where(steps[None, :] >= fit, 1e-3, 1.0) * np.ones_like(te),
            "test_loss": te,
            "weight_norm": np.ones_like(te),
        }

    ms = [unit(None, 0.25, [(a, plateaus[a]) for a in s["alphas"]])]
    ms += [unit(None, e, [(1.0, eps_plateaus[e])]) for e in s["epsilons"]]
    pred = {
        "k0_test_mse": [k0] * seeds,
        "lazy_test_loss": [[k0] * steps.size] * seeds,
        "t_plateau": [500] * seeds,
        "initial_test_loss": 1.0,
        "cka": [[0.1 * (i + 1)] * seeds for i in range(len(s["epsilons"]))],
        "k0_test_mse_eps": [[k0] * seeds for _ in s["epsilons"]],
        "seeds": sd,
    }
    return mod.verdict(pred, ms, s)


def test_lazy_rich_run_kinds():
    assert _lazy().numbers["alpha_run_kinds"] == {"delay": 4, "no transition": 0, "other": 2}
    v = _lazy(plateaus={1.0: None, 2.0: 1000, 8.0: 30_000})  # α = 8 never leaves K0 = 0.2 > θ
    assert v.numbers["alpha_run_kinds"]["no transition"] == 2
    assert v.numbers["alpha_delay"][-2:] == [None, None]


# -------------------------------------------------------------------------- early_prediction


def _early(profile="gpu", signal=True, all_grok=False):
    mod = load_case("early_prediction")
    s = settings_of("early_prediction", profile)
    n_steps = int(s["steps"]) + 1
    t = np.arange(n_steps, dtype=float)
    rng = np.random.default_rng(5)
    ms = []
    for lr, wd in s["cells"]:
        fr = np.repeat(np.asarray(s["fractions"], float), int(s["seeds"]))
        grok = fr >= np.median(fr) if not all_grok else np.ones(fr.size, bool)
        osc = grok if signal else rng.random(fr.size) < 0.5
        tau = rng.uniform(200, 800, fr.size)  # loss level unrelated to the label
        loss = np.exp(-t[None, :] / tau[:, None])
        loss = loss * np.where(osc[:, None], 1 + 0.3 * np.sin(t[None, :] * 1.3), 1.0)
        ms.append(
            {
                "learning_rate": np.full(fr.size, lr),
                "weight_decay": np.full(fr.size, wd),
                "train_fraction": fr,
                "seed": np.arange(fr.size),
                "loss_every_step": loss,
                "val_acc": np.where(grok[:, None], 0.95, 0.1) * np.ones((fr.size, n_steps)),
                "train_acc": np.ones((fr.size, n_steps)),
                "grokked": grok,
            }
        )
    return mod.verdict(mod.predict(s), ms, s)


# ------------------------------------------------------------------------------ known answers
@pytest.mark.parametrize(
    ("case", "build"),
    [
        ("solvable_linear", _linear_case),
        ("softmax_collapse", _softmax),
        ("grokking_tickets", _tickets),
        ("dichotomy", _dichotomy),
        ("omnigrok", _omnigrok),
        ("lazy_rich", _lazy),
        ("early_prediction", _early),
    ],
)
def test_built_to_pass_every_claim_passes(case, build):
    """Each builder's defaults are built to pass: every declared claim passes (a reported one
    is reported) and so does the case."""
    v = build()
    want = {c.name: "reported" if c.kind == "reported" else "pass" for c in load_case(case).CLAIMS}
    assert statuses(v) == want
    assert v.status == "pass"


# One thing changed from a builder's defaults: the statuses of the claims it decides (those
# named) and the case's status (None: not asserted).
CHANGED = [
    # identical seeds: SE 0, so the 5 % bar binds
    pytest.param(
        _linear_case, dict(error=0.12), dict(gap_matches_theory="fail"), "fail", id="linear-gap-off"
    ),
    pytest.param(
        _linear_case, dict(drop_gen=True), dict(gap_matches_theory="inconclusive"), None, id="linear-no-gen"
    ),
    # no collapse at all; no float32 collapse to be later than
    pytest.param(
        _softmax,
        dict(f32=None, f64=None),
        dict(float32_collapses="fail", float64_later="inconclusive"),
        "fail",
        id="softmax-no-collapse",
    ),
    pytest.param(
        _softmax,
        dict(f64=300, sm_zero=200, sm_val=0.07, og_val=0.06),
        dict(
            float32_collapses="pass",
            float64_later="fail",
            stablemax_never="fail",
            stablemax_generalises_better="fail",
            orthograd_generalises_better="fail",
        ),
        "partial",
        id="softmax-only-float32",
    ),
    # float32 never memorises: every claim comparing it is undecided; StableMax's own control held
    pytest.param(
        _softmax,
        dict(f32_train=0.5),
        dict(float32_collapses="inconclusive", stablemax_never="pass"),
        None,
        id="softmax-float32-no-memorising",
    ),
    pytest.param(
        _tickets,
        dict(ticket=3500.0, random=3000.0),
        dict(ticket_faster_than_dense="fail", ticket_faster_than_random="fail"),
        "fail",
        id="tickets-slower",
    ),
    # the cpu profile is not the paper's regime: every judged claim is inconclusive
    pytest.param(
        _tickets,
        dict(profile="cpu", ticket=500.0, dense=1500.0, norm=1400.0),
        dict.fromkeys(
            ["ticket_faster_than_dense", "ticket_faster_than_norm_matched", "ticket_faster_than_random"],
            "inconclusive",
        ),
        None,
        id="tickets-cpu",
    ),
    # a dense run generalising only in the second half of the budget misses the control too
    pytest.param(
        _tickets, dict(dense=30_000.0), dict(ticket_faster_than_dense="inconclusive"), None, id="tickets-late"
    ),
    pytest.param(
        _dichotomy,
        dict(slope=1.6),
        dict(transition_law="fail", kernel_exit_law="fail"),
        None,
        id="dichotomy-slope-1.6",
    ),
    # no run reaches final test accuracy 0.9: no grokking to time
    pytest.param(
        _dichotomy,
        dict(final=0.6),
        dict(transition_law="inconclusive"),
        "inconclusive",
        id="dichotomy-no-grokking",
    ),
    # the largest-α runs already generalise when they fit: fits first fails (the issue-23 finding)
    pytest.param(_omnigrok, dict(big_at_fit=0.9), dict(fits_first="fail"), "fail", id="omnigrok-early"),
    # a monotone test loss is no U
    pytest.param(_omnigrok, dict(land_u=False), dict(u_shape="fail"), None, id="omnigrok-monotone"),
    # the largest-α runs never fit: no fit time to compare
    pytest.param(
        _omnigrok, dict(big_fits=False), dict(fits_first="inconclusive"), None, id="omnigrok-no-fit"
    ),
    # the cpu profile's η·λ = 1e-3 is not the paper's regime: untested, the case inconclusive
    pytest.param(
        _omnigrok, dict(profile="cpu"), dict(fits_first="untested"), "inconclusive", id="omnigrok-cpu"
    ),
    # no run sits on the K0 plateau: no delay anywhere -- the headline fails
    pytest.param(
        _lazy,
        dict(plateaus={1.0: None, 2.0: None, 8.0: None}, eps_plateaus={0.05: None, 0.15: None, 0.25: None}),
        dict(
            lazy_delay="fail",
            delay_grows_with_alpha="inconclusive",
            delay_shrinks_with_epsilon="inconclusive",
        ),
        "fail",
        id="lazy-no-plateau",
    ),
    # the orderings reversed
    pytest.param(
        _lazy,
        dict(plateaus={1.0: None, 2.0: 5000, 8.0: 1000}, eps_plateaus={0.05: 1000, 0.15: 2000, 0.25: 4000}),
        dict(delay_grows_with_alpha="fail", delay_shrinks_with_epsilon="fail"),
        None,
        id="lazy-reversed",
    ),
    # a plateau shorter than 3× the fit time is no delay
    pytest.param(
        _lazy, dict(plateaus={1.0: None, 2.0: 300, 8.0: 350}), dict(lazy_delay="fail"), None, id="lazy-short"
    ),
    # the least lazy runs never reach θ/3: the definition's end point is out of reach
    pytest.param(
        _lazy, dict(rich_low=0.05), dict(lazy_delay="inconclusive"), None, id="lazy-rich-above-theta"
    ),
    # oscillation unrelated to the label
    pytest.param(_early, dict(signal=False), dict(spectral_auc="fail"), "fail", id="early-no-signal"),
    # one label only
    pytest.param(_early, dict(all_grok=True), dict(spectral_auc="inconclusive"), None, id="early-one-label"),
    # the paper's regime is out of the cpu budget
    pytest.param(_early, dict(profile="cpu"), dict(spectral_auc="untested"), "inconclusive", id="early-cpu"),
]


@pytest.mark.parametrize(("build", "kwargs", "want", "status"), CHANGED)
def test_one_thing_changed(build, kwargs, want, status):
    v = build(**kwargs)
    st = statuses(v)
    assert {k: st[k] for k in want} == want
    if status is not None:
        assert v.status == status


@pytest.mark.parametrize(
    "case",
    [
        "omnigrok",
        "dichotomy",
        "lazy_rich",
        "early_prediction",
        "solvable_linear",
        "softmax_collapse",
        "grokking_tickets",
    ],
)
def test_claims_declared_and_no_old_verdict_helpers(case):
    import inspect

    mod = load_case(case)
    src = inspect.getsource(mod)
    assert "decide(" not in src and "Finding(" not in src
    assert sum(c.headline for c in mod.CLAIMS) == 1
