"""Every figure of effgrok.plot on small real results: the figure is drawn with axes, its
layout holds (text inside the canvas, no overlapping tick labels, sized for a page; see
``tests/_figures.py``), and saving writes a PNG (through the one save helper, Agg backend)."""

from __future__ import annotations

import numpy as np
import pytest
from _figures import checking_save, layout_problems

import effgrok as eg

plot = pytest.importorskip("effgrok.plot")

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def drawn(monkeypatch):
    """Calls a plot function, checks the figure it saved has axes and the file is a PNG."""
    from effgrok.plot import _backend

    figures = []

    def found(path, problems):
        assert problems == [], f"{path.name}: " + "; ".join(problems)

    checked = checking_save(_backend.save, found)

    def spy(fig, path, **kw):
        figures.append(len(fig.axes))
        return checked(fig, path, **kw)

    for mod in ("effective", "kernels", "nets", "diagnostics", "inspection", "solvable"):
        monkeypatch.setattr(f"effgrok.plot.{mod}.save", spy)

    def check(fn, *args, path, **kw):
        out = fn(*args, path, **kw)
        assert out == path and path.read_bytes()[:8] == PNG
        assert figures and figures[-1] >= 1
        assert not list(path.parent.glob(".*.tmp.png"))  # atomic: no temporary left behind

    return check


@pytest.fixture(scope="module")
def add10():
    return eg.make_task("add", 10)


def test_backend_is_agg_and_save_is_one_helper(tmp_path):
    import matplotlib

    assert matplotlib.get_backend().lower() == "agg"
    fig, ax = plot.plt.subplots()
    ax.plot([0, 1])
    assert plot.save(fig, tmp_path / "sub" / "f.png", dpi=50).read_bytes()[:8] == PNG
    assert not plot.plt.get_fignums()  # closed


def test_effective_figures(drawn, tmp_path, add10):
    crit = eg.critical_scan("add-mod", [5, 7], 20, seed=1)  # one result per p
    drawn(plot.plot_critical, crit[:1], path=tmp_path / "c1.png")
    drawn(plot.plot_critical, crit, path=tmp_path / "c2.png")
    split = eg.random_split(add10, fraction=0.8, seed=0)
    for dim in (1, 2):
        tr = eg.simulate(add10, split, steps=300, stride=30, seed=0, dim=dim)
        drawn(plot.plot_trajectory, tr, path=tmp_path / f"t{dim}.png")
        drawn(plot.plot_embedding, tr, path=tmp_path / f"e{dim}.png")
    ens = eg.simulate_ensemble(add10, 6, fraction=0.6, steps=300, seed=4)
    drawn(plot.plot_ensemble, ens, path=tmp_path / "ens.png")
    undefined = eg.simulate_ensemble(eg.make_task("add", 2), 3, fraction=0.6, steps=50, seed=0)
    drawn(plot.plot_ensemble, undefined, path=tmp_path / "ens2.png")  # RQI undefined (NaN)


def test_kernel_figure(drawn, tmp_path):
    from effgrok.kernels.study import ntk_study

    study = ntk_study(dim=4, samples=12, test_samples=12, width=8, alphas=(1.0, 2.0), top_k=3)
    drawn(plot.plot_ntk, study, path=tmp_path / "ntk.png")


def test_network_figures(drawn, tmp_path, add10):
    from effgrok.nets.phases import phase_diagram
    from effgrok.nets.toy import ToyConfig, train_toy

    runs = train_toy(
        eg.make_task("add", 6), ToyConfig(steps=40, stride=10, hidden=8, depth=1), seeds=[0, 1], n_train=15
    )
    drawn(plot.plot_toy_runs, runs, path=tmp_path / "toy.png")
    res = phase_diagram(
        "add",
        6,
        ("lr_emb", np.array([1e-3, 1e-2])),
        ("wd_dec", np.array([0.0, 1.0])),
        seeds=(0, 1),
        config={"steps": 20, "stride": 10, "hidden": 8, "depth": 1},
        n_train=15,
        gap=10,
    )
    drawn(plot.plot_phase_diagram, res, path=tmp_path / "phases.png")


def test_diagnostics_figures(drawn, tmp_path):
    from effgrok.diagnostics.early import early_prediction_curve
    from effgrok.diagnostics.progress import toy_progress
    from effgrok.nets.toy import ToyConfig, train_toy

    rng = np.random.default_rng(0)
    t = np.arange(0, 2001, 5)
    curves = [np.exp(-t / 500 + 0.02 * rng.standard_normal(t.size)) for _ in range(6)]
    res = early_prediction_curve(curves, [0, 1, 0, 1, 0, 1], [0.4, 1.0], t)
    drawn(plot.plot_early_prediction, res, path=tmp_path / "early2.png")
    drawn(plot.plot_early_prediction, res, path=tmp_path / "early3.png", curves=curves, steps=[t] * 6)
    drawn(plot.plot_scores, [0.4, 1.0], res.scores, ["a", "b", "c", "d", "e", "f"], path=tmp_path / "s.png")
    task = eg.make_task("add", 6)
    runs = train_toy(task, ToyConfig(steps=40, stride=10, hidden=8, depth=1), seeds=[0, 1], n_train=15)
    drawn(plot.plot_progress, toy_progress(runs, task), path=tmp_path / "progress.png")


def test_weight_norm_and_ticket_figures(drawn, tmp_path):
    from effgrok.diagnostics.tickets import grokking_tickets
    from effgrok.diagnostics.weight_norm import alpha_sweep, reduced_landscape
    from effgrok.nets.digits import load_digits_split
    from effgrok.nets.driver import Schedule

    small = load_digits_split(150, seed=0, n_test=150)
    rl = reduced_landscape(small, [0.3, 1.0, 3.0], width=8, schedule=Schedule(30, 15), learning_rate=3e-3)
    drawn(plot.plot_reduced_landscape, rl, path=tmp_path / "rl.png")
    sw = alpha_sweep(small, [1.0, 3.0], seeds=[0, 1], width=8, schedule=Schedule(20, 10))
    drawn(plot.plot_alpha_sweep, sw, path=tmp_path / "alpha.png")
    opts = dict(train_fraction=0.6, hidden=6, embed_dim=5, schedule=Schedule(40, 20))
    st = grokking_tickets(eg.make_task("add-mod", 7), seeds=[3], pruned_fraction=0.5, **opts)
    drawn(plot.plot_tickets, st, path=tmp_path / "tickets.png")


def test_inspection_figures(drawn, tmp_path):
    from effgrok.diagnostics.inspection import inspect_embedding, inspect_series

    for task in (eg.make_task("add-mod", 7), eg.make_task("add", 10)):
        split = eg.random_split(task, fraction=0.6, seed=0)
        E = np.random.default_rng(0).normal(size=(task.n_symbols, 3))
        drawn(plot.plot_inspection, inspect_embedding(task, split, E), E, path=tmp_path / f"i{task.p}.png")
        F = [E * (1 + 0.1 * k) for k in range(4)]
        series = inspect_series(task, split, F, [0, 10, 20, 30])
        drawn(plot.plot_inspection_series, series, path=tmp_path / f"series{task.p}.png")


def test_solvable_figures(drawn, tmp_path):
    from effgrok.nets.driver import Schedule
    from effgrok.solvable import dichotomy, linear

    gaps = [linear.grokking_gap(lam, 0.01, 1e-3) for lam in (0.3, 0.6)]
    drawn(plot.plot_linear, gaps, path=tmp_path / "lin.png", steps=2000)
    sims = [linear.simulate_linear(6, round(6 / g.lam), steps=50, seeds=2, seed=0) for g in gaps]
    drawn(plot.plot_linear, gaps, path=tmp_path / "lin_sim.png", steps=50, simulations=sims)
    a, w = np.array([2.0, 2.0, 8.0, 8.0]), np.array([0.5, 1.0, 0.5, 1.0])
    drawn(plot.plot_dichotomy, a, w, path=tmp_path / "dich.png")
    runs = dichotomy.simulate(
        eg.make_task("add-mod", 7),
        a[:2],
        w[:2],
        learning_rate=0.05,
        hidden=8,
        train_fraction=0.6,
        schedule=Schedule(40, 10),
    )
    drawn(plot.plot_dichotomy, a, w, path=tmp_path / "dich_sim.png", runs=runs)


def test_trajectory_figure_shows_the_early_dynamics(monkeypatch, tmp_path, add10):
    """simulate's trajectory.png: the dynamics of the README's run are over by step ~150 of
    5000, so the step axis is logarithmic; ℓ_eff, which the RK4 flow drives to 1e-100, is drawn
    relative to its start and clipped at a floor the label states; every panel is labelled."""
    from effgrok.plot import effective

    shown = []
    monkeypatch.setattr(effective, "save", lambda fig, path, **kw: shown.append(fig) or path)
    split = eg.random_split(add10, fraction=0.8, seed=0)
    tr = eg.simulate(add10, split, steps=5000, seed=0)
    assert tr.loss[-1] / tr.loss[0] < 1e-50 and tr.steps_to_rqi < 0.1 * tr.steps[-1]  # the premise
    effective.plot_trajectory(tr, tmp_path / "t.png")
    (fig,) = shown
    loss_ax, rqi_ax = fig.axes
    for ax in (loss_ax, rqi_ax):
        assert ax.get_xscale() == "symlog" and ax.get_xlabel() and ax.get_ylabel()
        assert ax.get_xlim()[0] == 0  # step 0 is on the axis
    low, high = loss_ax.get_ylim()
    assert 1e-13 < low < 1e-12 < 1 < high  # the floor, not 1e-104
    assert f"{effective.LOSS_FLOOR:.0e}" in loss_ax.get_ylabel()
    (line,) = loss_ax.get_lines()[:1]
    assert np.min(line.get_ydata()) == pytest.approx(effective.LOSS_FLOOR)
    assert layout_problems(fig) == []
    plot.plt.close(fig)
    # a run whose dynamics fill the budget (n_h ≈ 43 of 300 steps) keeps a linear step axis
    short = eg.simulate(add10, split, steps=300, stride=30, seed=0)
    assert short.n_h > 0.1 * short.steps[-1]
    effective.plot_trajectory(short, tmp_path / "s.png")
    assert shown[-1].axes[0].get_xscale() == "linear"
    plot.plt.close(shown[-1])


@pytest.mark.parametrize("span", [(20.0, 60.0), (0.3, 4.0), (3.0, 11.0), (1e-4, 1.0), (1e-30, 1e3)])
def test_log_scale_tick_labels_do_not_overlap(span):
    """Matplotlib's own log axis labels minor ticks on a ~one-decade span (2×10¹, 3×10¹, ...)
    and they collide; log_scale labels at least two ticks and none overlap, at any span."""
    lo, hi = span
    fig, axes = plot.plt.subplots(1, 2, figsize=(4, 3))
    for ax in axes:
        ax.plot([lo, hi], [lo, hi], "o-")
    axes[0].loglog()  # matplotlib's default, for comparison
    plot.log_scale(axes[1], "xy")
    fig.tight_layout()
    fig.canvas.draw()
    problems = layout_problems(fig)
    assert [p for p in problems if "axes 1" in p or "'" + axes[1].get_xlabel() + "'" in p] == []
    from _figures import _drawn_tick_labels

    assert len(_drawn_tick_labels(axes[1].xaxis)) >= 2 and len(_drawn_tick_labels(axes[1].yaxis)) >= 2
    if span == (20.0, 60.0):  # the overlap the checker exists for, in the default axis
        assert any("axes 0" in p and "overlap" in p for p in problems)
    plot.plt.close(fig)
