"""Case 4: the effective-loss flow vs the network's own embedding trajectory.

Theory: the embeddings follow ``dE/dt = −η ∇(ℓ0/Z)`` over the training parallelograms (Liu et
al. 2022, §4), solved exactly by :func:`effgrok.effective.exact_flow` from the network's own
initial embedding.  Networks: the toy model (d = 1) on random splits, embedding recorded at a
stride.  Three comparisons, over the pinned runs that learn the representation (RQI > 0.95
within the budget; pinned runs that stall -- decoder and embedding locked in a non-linear
arrangement -- are reported separately: the theory has no decoder):

1. **Parameter-free orientation.**  From ``E0`` the flow ends (``t → ∞``) in the linear
   representation ``E_k = a + b k`` whose orientation ``sign(b)`` is that of the component of
   ``E0`` along the scale mode; no constant is fitted.  Does the network's final embedding have
   the same orientation?  Judged: agreement in ≥ 90 % of the learning runs (chance: 50 %).
2. **Trajectory shape, one fitted time constant.**  Both trajectories standardised (translation
   and scale are the flow's null directions) and compared after fitting one time-scale constant
   ``c`` per run on a log grid (the network uses Adam with a decoder in the loop, the theory
   plain gradient flow), ``Ê_net(t) ≈ Ê_eff(c·t)``.  Judged: median time-averaged relative error
   ``‖Ê_net(t) − Ê_eff(c t)‖ / ‖Ê_net(t)‖`` ≤ 0.2, and below both nulls: a frozen embedding
   (``c = 0``, measures how far the embedding moves) and the **full-table flow** -- the same fit
   with the full table's ``G`` instead of the split's, so the split-specific theory must beat
   the generic "relax to the linear representation" flow.  Fits whose ``c`` sits at an edge of
   the grid are flagged (the optimum may lie outside it).

**Claims** (fixed before the replicate runs, issue 23), over the pinned runs that learn:

* ``trajectory_follows_flow`` (headline, comparison 2): median time-averaged relative error
  ≤ 0.2 after fitting ``c``, and below the frozen embedding's median.  Control: ≥ 5 pinned runs
  learn the representation and ≤ 25 % of their fits sit at the edge of the ``c`` grid.  Power:
  the 2026-12-03 cpu report measured 0.046 against 1.1 for the frozen embedding; an error of 0.2 is 4×
  that residual, so a flow that missed the shape by 0.2 would not pass by noise.
* ``orientation_from_start`` (comparison 1, parameter-free): agreement ≥ 90 %.  Same control.
  Power: with 14 learning runs, a true agreement of 0.7 passes with probability ≈ 0.05.
* ``split_gram_beats_full_table``: the split's ``G`` gives a lower median error than the
  full table's.  Control (besides the above): the two theories are distinguishable -- the
  median gap between the split's fitted flow and the closest full-table flow exceeds the median
  residual.  Where it does not (at the sizes where networks learn, ``G_D`` and ``G_full`` give
  flows that differ mainly in time scale, which ``c`` absorbs; the 2026-12-03 report: gap 0.025 <
  residual 0.046) the claim is *inconclusive* with those numbers: the cpu profile cannot tell
  the split's theory from the generic "relax to the linear representation" flow.  Power: only
  a gap larger than the residual can be resolved.

Seeds: bases ``3000·n`` of each replicate (:func:`validation.claims.replicate_seeds`).

**Paper's settings** (§4, Fig. 5; reference ``train_add(eff_steps=...)``): the reference trains
the effective loss with its own Adam from its own start and compares the representations
qualitatively (pictures of the embedding over time); p = 10, 45 pairs.  **Deviations**: the
exact flow from the *network's* initial embedding, a fitted time constant, a numeric error and
two nulls; sizes 42-54 (cpu) where most pinned runs learn; 3000 steps (learning finishes within
≈ 1700 steps).
"""

from __future__ import annotations

import numpy as np

from effgrok.constants import reached
from validation.claims import Claim, Observed, replicate_seeds
from validation.framework import device_of, verdict_of

from .._toy import concat, toy_cost, train_batch

TITLE = "Effective-loss dynamics vs network embedding trajectories (addition)"
CLAIM = (
    "From the same initial embedding, the network's embedding ends in the orientation the effective-loss "
    "flow predicts, and its standardised trajectory follows that flow (split's G) up to one time constant."
)
PROFILES = {
    "tiny": {
        "p": 6,
        "sizes": [18],
        "seeds": 2,
        "steps": 40,
        "stride": 10,
        "record_embedding": True,
        "device": "cpu",
    },
    "cpu": {
        "p": 10,
        "sizes": [42, 48, 54],
        "seeds": 6,
        "steps": 3000,
        "stride": 50,
        "record_embedding": True,
        "device": "cpu",
    },
    "gpu": {
        "p": 10,
        "sizes": [30, 36, 42, 48, 54],
        "seeds": 32,
        "steps": 3000,
        "stride": 50,
        "record_embedding": True,
        "device": "gpu",
    },
}
_CONTROL = (
    "≥ {min_learned} pinned runs learn the representation and ≤ {max_edge_share:.0%} of their fits sit "
    "at the "
    "edge of the c grid"
)
_CONTROL_T = {"min_learned": 5, "max_edge_share": 0.25}
CLAIMS = (
    Claim(
        "trajectory_follows_flow",
        paper=(
            "Liu et al. 2022 §4 (Fig. 5): the effective loss's gradient flow dE/dt = −η ∇(ℓ0/Z) "
            "describes how the "
            "network's embedding learns the representation."
        ),
        measurement=(
            "over pinned runs that reach RQI > 0.95: median time-averaged relative error between the "
            "standardised "
            "network trajectory and the exact flow (split's G, from the network's E0) after fitting one time "
            "constant c per run; and the same error for a frozen embedding"
        ),
        criterion="median error ≤ max_error and below the frozen embedding's median error",
        threshold={"max_error": 0.2, **_CONTROL_T},
        control=_CONTROL,
        power="an error of 0.2 (4× the 2026-12-03 residual 0.046, frozen embedding 1.1) is resolved",
        headline=True,
    ),
    Claim(
        "orientation_from_start",
        paper=(
            "The flow from E0 ends in the linear representation whose orientation the scale mode of E0 sets."
        ),
        measurement=(
            "share of learning pinned runs whose final embedding has the orientation of the flow's limit"
        ),
        criterion="agreement ≥ min_agreement (chance: 0.5)",
        threshold={"min_agreement": 0.9, **_CONTROL_T},
        control=_CONTROL,
        power="with 14 learning runs a true agreement of 0.7 passes with probability ≈ 0.05",
    ),
    Claim(
        "split_gram_beats_full_table",
        paper="The effective loss is built on the training set's own parallelograms (G of the split, P0(D)).",
        measurement=(
            "median error of the split's flow vs the same fit with the full table's G; and the median gap "
            "between the split's fitted flow and the closest full-table flow"
        ),
        criterion="median error (split's G) < median error (full table's G)",
        threshold=dict(_CONTROL_T),
        control=_CONTROL + ", and the two theories are distinguishable: median gap > median residual",
        power="only a gap between the two theories' flows larger than the fit's residual is resolved",
    ),
)

_C_GRID = np.geomspace(1e-4, 1e2, 361)


def cost(settings: dict) -> float:
    runs = int(settings["seeds"])
    fit_s = 0.05 * runs  # the two c-fits per run, on the CPU
    return len(settings["sizes"]) * fit_s + toy_cost(
        [(runs, int(settings["steps"]))] * len(settings["sizes"]), device_of(settings)
    )


def predict(settings: dict) -> dict:
    return {
        "model": "exact effective-loss flow, P0(D), N = 1, live Z; η = embedding lr; one fitted c per run"
    }


def units(settings: dict) -> list[dict]:
    return [{"n_train": int(n)} for n in settings["sizes"]]


def measure_unit(settings: dict, unit: dict) -> dict:
    from effgrok.effective import gram_matrix
    from effgrok.tasks import make_task

    seeds = replicate_seeds(settings, settings["seeds"], base=3000 * unit["n_train"])
    r = train_batch(settings, np.full(seeds.size, unit["n_train"]), seeds)
    task = make_task("add", settings["p"])
    lr = float(settings.get("lr_emb", 1e-3))
    steps = r["steps"].astype(float)
    G_full = gram_matrix(task, np.ones(task.n_examples, bool))
    n_runs = r["n_train"].size
    keys = ("rel_error", "rel_error_full", "rel_error_frozen", "c", "c_full", "flow_gap")
    out = {k: np.full(n_runs, np.nan) for k in keys}
    out["orientation_net"] = np.zeros(n_runs)
    out["orientation_flow"] = np.zeros(n_runs)
    curves = np.full((n_runs, steps.size), np.nan)
    for k in range(n_runs):
        E = r["embedding"][k]  # (records, slots, d)
        G = gram_matrix(task, r["train_mask"][k])
        net = _standardise(E)
        E0 = E[0] - E[0].mean(axis=0)
        err, c, curve, best = _fit(G, E0, steps, lr, net)
        out["rel_error"][k], out["c"][k], curves[k] = err, c, curve
        out["rel_error_full"][k], out["c_full"][k], _, _ = _fit(G_full, E0, steps, lr, net)
        # how far apart the two theories are: the full-table flow closest to the split's fitted one
        out["flow_gap"][k] = _fit(G_full, E0, steps, lr, best)[0]
        out["rel_error_frozen"][k] = _rel_err(net, np.broadcast_to(net[0], net.shape)).mean()
        out["orientation_net"][k] = _orientation(E[-1])
        out["orientation_flow"][k] = _orientation(_flow_limit(G, E0, lr))
    return {
        "n_train": r["n_train"],
        "pinned": r["pinned"],
        "n_h": r["n_h"],
        "step_rqi": r["step_rqi"],
        **out,
        "error_curve": curves,
        "steps": r["steps"],
    }


def _fit(G, E0, steps, lr, net):
    """Best time constant ``c`` on the grid for the standardised trajectory ``net``:
    (time-averaged error, c, error curve, the fitted standardised flow)."""
    from effgrok.effective import exact_flow

    flows = exact_flow(G, E0, (_C_GRID[:, None] * steps[None, :]).ravel(), learning_rate=lr)
    eff = _standardise(flows.reshape(_C_GRID.size, steps.size, *E0.shape))
    errs = _rel_err(net[None], eff)  # (grid, records)
    i = int(np.argmin(errs.mean(axis=1)))
    return float(errs[i].mean()), float(_C_GRID[i]), errs[i], eff[i]


def _flow_limit(G, E0, lr):
    """The flow's end state (t → ∞ in practice: 1e12 steps; the null-space part of E0, rescaled)."""
    from effgrok.effective import exact_flow

    return exact_flow(G, E0, [1e12], learning_rate=lr)[0]


def _orientation(E) -> float:
    """Sign of the embedding's slope along the symbols, ``sign(Σ_k (k − k̄) E_k)`` (d = 1)."""
    k = np.arange(E.shape[0], dtype=float)
    return float(np.sign(np.sum((k - k.mean()) * E[:, 0])))


def _standardise(E):
    """Centre and scale every record to unit total variance (E: (..., slots, d))."""
    Ec = E - E.mean(axis=-2, keepdims=True)
    return Ec / np.sqrt(np.sum(Ec**2, axis=(-2, -1), keepdims=True) / (E.shape[-2] - 1))


def _rel_err(a, b):
    return np.sqrt(np.sum((a - b) ** 2, axis=(-2, -1)) / np.sum(a**2, axis=(-2, -1)))


def _summary(r: dict) -> tuple[dict, np.ndarray]:
    """The verdict's numbers over the pinned runs, and the mask of those that learned."""
    pinned = r["pinned"].astype(bool) & np.isfinite(r["rel_error"])
    learned = pinned & reached(r["step_rqi"])
    stalled = pinned & ~learned
    n_l = int(learned.sum())
    edge = learned & ((r["c"] <= _C_GRID[0]) | (r["c"] >= _C_GRID[-1]))
    edge_full = learned & ((r["c_full"] <= _C_GRID[0]) | (r["c_full"] >= _C_GRID[-1]))

    def med(key):
        return float(np.median(r[key][learned])) if n_l else float("nan")

    def mean(values):
        return float(np.mean(values[learned])) if n_l else float("nan")

    c = r["c"][learned]
    numbers = {
        "pinned": int(pinned.sum()),
        "learned": n_l,
        "stalled": int(stalled.sum()),
        "fits_at_grid_edge": int(edge.sum()),
        "full_table_fits_at_grid_edge": int(edge_full.sum()),
        "c_grid": [float(_C_GRID[0]), float(_C_GRID[-1])],
        "orientation_agreement": mean(r["orientation_net"] == r["orientation_flow"]),
        "median_rel_error": med("rel_error"),
        "median_rel_error_frozen": med("rel_error_frozen"),
        "median_rel_error_full_table": med("rel_error_full"),
        "median_flow_gap": med("flow_gap"),
        "share_split_beats_full_table": mean(r["rel_error"] < r["rel_error_full"]),
        "c_median": float(np.median(c)) if n_l else None,
        "c_range": [float(c.min()), float(c.max())] if n_l else None,
    }
    if stalled.any():
        numbers["median_rel_error_stalled"] = float(np.median(r["rel_error"][stalled]))
        numbers["orientation_agreement_stalled"] = float(
            np.mean(r["orientation_net"][stalled] == r["orientation_flow"][stalled])
        )
    return numbers, learned


def _observations(nb: dict, held: bool, detail: str) -> list[Observed]:
    """The three claims' observations from the verdict's numbers ``nb`` and the shared control."""
    keys = ("rel_error", "rel_error_frozen", "rel_error_full_table", "flow_gap")
    err, frozen, full, gap = (nb[f"median_{k}"] for k in keys)
    n_l, agree, better = nb["learned"], nb["orientation_agreement"], nb["share_split_beats_full_table"]
    tail = f" ({n_l} of {nb['pinned']} pinned runs learned" + (
        f"; the {nb['stalled']} stalled runs: median error {nb['median_rel_error_stalled']:.2f}, "
        "the theory has no decoder)"
        if nb["stalled"]
        else ")"
    )
    return [
        Observed(
            f"median error {err:.3f} (frozen embedding {frozen:.3f}); fitted c median "
            f"{nb['c_median'] if n_l else float('nan'):.3g}, {nb['fits_at_grid_edge']} at the grid edge"
            + tail,
            passed=err <= CLAIMS[0].threshold["max_error"] and err < frozen,
            held=held,
            detail=detail,
            numbers={"median_rel_error": err, "median_rel_error_frozen": frozen, "learned": n_l},
        ),
        Observed(
            f"orientation as predicted in {agree:.0%} of {n_l} learning runs",
            passed=agree >= CLAIMS[1].threshold["min_agreement"],
            held=held,
            detail=detail,
            numbers={"orientation_agreement": agree, "learned": n_l},
        ),
        Observed(
            f"median error {err:.3f} with the split's G vs {full:.3f} with the full table's (split better in "
            f"{better:.0%} of runs); the two theories' fitted flows differ by {gap:.3f}",
            passed=full > err,
            held=held and nb["full_table_null_resolvable"],
            detail=detail + f"; the two flows differ by {gap:.3f} (median) vs the residual {err:.3f}",
            numbers={
                "median_rel_error": err,
                "median_rel_error_full_table": full,
                "median_flow_gap": gap,
                "share_split_beats_full_table": better,
            },
        ),
    ]


def verdict(prediction: dict, measurements: list[dict], settings: dict):
    t = CLAIMS[0].threshold
    numbers, _ = _summary(concat(measurements))
    n_l, edge = numbers["learned"], numbers["fits_at_grid_edge"]
    held = n_l >= t["min_learned"] and edge <= t["max_edge_share"] * max(n_l, 1)
    detail = f"{n_l} of {numbers['pinned']} pinned runs learned; {edge} fits at the grid edge"
    numbers["full_table_null_resolvable"] = bool(
        n_l and numbers["median_flow_gap"] > numbers["median_rel_error"]
    )
    pred = (
        "the network ends in the orientation of the flow's limit from its own E0 (parameter-free); "
        "Ê_net(t) = Ê_eff(c·t) (exact flow, split's G)"
    )
    return verdict_of(CLAIMS, _observations(numbers, held, detail), prediction=pred, numbers=numbers)


def plot(prediction, measurements, settings, verdict, path) -> None:
    from effgrok.plot import plt, save

    r = concat(measurements)
    keep = r["pinned"].astype(bool) & np.isfinite(r["rel_error"])
    learned = reached(r["step_rqi"])
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
    for curve, ok in zip(r["error_curve"][keep], learned[keep], strict=True):
        axes[0].plot(r["steps"], curve, lw=0.8, alpha=0.7, color="C0" if ok else "C3")
    axes[0].set_xlabel("training step")
    axes[0].set_ylabel("‖Ê_net − Ê_eff(c t)‖ / ‖Ê_net‖")
    axes[0].set_title("error along each pinned run (blue: learned, red: stalled)", fontsize=9)
    for sel, colour, label in (
        (keep & learned, "C0", "learned (RQI > 0.95)"),
        (keep & ~learned, "C3", "stalled"),
    ):
        axes[1].scatter(r["rel_error_full"][sel], r["rel_error"][sel], s=14, color=colour, label=label)
    axes[1].legend(fontsize=8)
    lim = max(1e-3, float(np.nanmax(r["rel_error_full"][keep], initial=0.1)))
    axes[1].plot([0, lim], [0, lim], "k:", lw=1)
    axes[1].axhline(CLAIMS[0].threshold["max_error"], color="r", lw=0.8, ls="--")
    axes[1].set_xlabel("error of the full-table flow (null)")
    axes[1].set_ylabel("error of the effective flow")
    axes[1].set_title(f"effective dynamics: {verdict.status}", fontsize=9)
    save(fig, path, dpi=120, tight=True)
