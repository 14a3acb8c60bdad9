"""The criteria changelog: every change of a validation criterion after runs of it existed.

A criterion is fixed before the runs that judge it (:mod:`validation.claims`).  Changing it
afterwards is allowed only through an entry here, shown in the report: the date, the old and
the new criterion, why, and the verdict the *old* criterion gave on the same runs.  The new
criterion is then judged only on replicates no one had looked at: ``seen`` lists the
replicates whose runs motivated the change, and on those the claim reads *untested*.

Runs made before replicates existed (issue 23) used seeds below
:data:`validation.claims.REPLICATE_STRIDE`; no replicate K reuses them, so changes motivated by
those runs have ``seen = ()``.

The guard (:func:`check_stored`): a results folder remembers the fingerprint of every claim it
was measured under; judging it under a different fingerprint is refused unless this log has
an entry for that claim whose ``fingerprint`` is the current one.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CHANGES", "CriterionChange", "changes_for", "check_stored"]


@dataclass(frozen=True)
class CriterionChange:
    """One logged change of one claim's criterion.

    ``date`` (ISO), ``case``, ``claim`` (the claim's name today), ``old`` and ``new`` (the
    criteria in words), ``why``, ``old_verdict`` (the verdict under the old criterion on the
    same runs, with its numbers), ``seen`` (replicates whose runs motivated the change; the new
    criterion is not judged on them), ``fingerprint`` (the claim's fingerprint after the change,
    :meth:`validation.claims.Claim.fingerprint`; empty when no stored run is to be re-judged).
    """

    date: str
    case: str
    claim: str
    old: str
    new: str
    why: str
    old_verdict: str
    seen: tuple = ()
    fingerprint: str = ""

    def record(self) -> dict:
        from dataclasses import asdict

        d = asdict(self)
        d["seen"] = list(self.seen)
        return d


#: The log, oldest first.
CHANGES: tuple[CriterionChange, ...] = (
    # --- i23-other ---
    # Changes since the first validation report (2026-11-23, seeds below REPLICATE_STRIDE, so
    # seen=()) in omnigrok, dichotomy, lazy_rich, early_prediction, solvable_linear,
    # softmax_collapse and grokking_tickets, then issue 23's.
    CriterionChange(
        "2026-12-03",
        "omnigrok",
        "fits_first",
        old="none: the first report judged only the L and U shapes and the growth of t_gen with α",
        new="median t_test − t_train > 0 at the largest α and Spearman ρ(α, gap) > 0, t_train at train "
        "accuracy 0.99, t_test at test accuracy 0.85",
        why="issue 16: 'fits first, generalises later' was not tested",
        old_verdict="none (new criterion); its first run failed: median gaps −12 … −325 steps",
    ),
    CriterionChange(
        "2026-12-03",
        "omnigrok",
        "fits_first",
        old="gap with t_train at train accuracy 0.99",
        new="gap with both curves at accuracy 0.85 (the 0.99 gap reported)",
        why="moved after the failing run: 0.99 allows two errors on 200 digits and one straggler delays it",
        old_verdict="fail: median gap (train 0.99) −12 … −375 steps (α = 8: −375); under the new level the "
        "published run passed (median gap at α = 8 712 steps, ρ 0.89)",
    ),
    CriterionChange(
        "2026-12-06",
        "omnigrok",
        "fits_first",
        old="median gap t_test − t_train (both at 0.85) > 0 at the largest α and ρ(α, gap) > 0",
        new="in ≥ 75 % of the largest-α runs: test acc at the first record with train acc ≥ 0.99 ≤ final − "
        "0.2, "
        "and t(test acc ≥ 0.9 × final) ≥ 2 t_fit; judged only at the paper's η·λ ≤ 1e-5 (gpu profile), "
        "untested on cpu",
        why="issue 23: the 0.85 level was chosen after a fail; at the 0.99 fit the α = 8 networks already "
        "had "
        "test accuracy 0.72–0.91 against a final ≈ 0.89 (they generalised before they fitted), and the cpu "
        "sweep's η·λ = 1e-3 does not separate fitting from decay as the paper's 1e-5 does",
        old_verdict="pass on the published cpu run (median gap at α = 8: 712 steps, ρ = 0.89); the issue-23 "
        "criterion on those runs fails (test acc at fit 0.72–0.91 vs final ≈ 0.89)",
        fingerprint="e75a0fb601a8b74e",
    ),
    CriterionChange(
        "2026-12-03",
        "omnigrok",
        "delay_grows_with_alpha",
        old="median t_gen at test accuracy 0.9, non-decreasing in α, α = 8 ≥ 3× α = 1 (500 digits, lr 1e-3, "
        "weight decay 1)",
        new="the same at test accuracy 0.85 (200 digits, lr 1e-2, weight decay 0.1)",
        why="issue 16: the α sweep was redesigned to separate fitting from decay",
        old_verdict="pass in the first report (with the L and U shapes, one verdict)",
    ),
    CriterionChange(
        "2026-12-06",
        "omnigrok",
        "delay_grows_with_alpha",
        old="part of the case's single verdict",
        new="its own qualitative claim (thresholds unchanged: non-decreasing to one stride, ratio ≥ 3)",
        why="issue 23: one verdict per claim",
        old_verdict="pass (medians 50, 25, 38, 212, 738, 1250 at α = 0.5 … 8, ratio 50)",
        fingerprint="7d0380e037f30b44",
    ),
    CriterionChange(
        "2026-12-06",
        "omnigrok",
        "l_shape",
        old="part of the case's single verdict",
        new="its own claim (wall/floor ≥ 10, unchanged)",
        why="issue 23: one verdict per claim",
        old_verdict="pass (L ratio 21.6)",
        fingerprint="2f8e152ad561f3d6",
    ),
    CriterionChange(
        "2026-12-06",
        "omnigrok",
        "u_shape",
        old="part of the case's single verdict",
        new="its own claim (both ends ≥ 2× the interior minimum, unchanged)",
        why="issue 23: one verdict per claim",
        old_verdict="pass (U 9.63 / 4.06)",
        fingerprint="0d94715b32a5e49d",
    ),
    CriterionChange(
        "2026-12-03",
        "dichotomy",
        "transition_law",
        old="two 1-D sweeps (log α at one λ, 1/λ at one α), transition 'half-way to the final accuracy', "
        "slope "
        "within ×1.5 of the prediction, R² ≥ 0.8",
        new="one α × λ grid fitted to t = b(log α − c₀)/λ + d, transition at an absolute test accuracy 0.1 "
        "after "
        "the kernel fit, b within ×1.25 of 1, R² ≥ 0.9, every run counted",
        why="issue 16: the 1/λ sweep failed because 'half-way' moved with unconverged final accuracies and "
        "the "
        "finite-α offset was ignored",
        old_verdict="fail: 1/λ sweep slope −0.08 vs 3.4 (first report: log α slope 138.9 vs 200)",
    ),
    CriterionChange(
        "2026-12-06",
        "dichotomy",
        "transition_law",
        old="absolute level 0.1 after the fit, all runs",
        new="only runs with final test accuracy ≥ 0.9 count, transition at half of final test accuracy "
        "(after the fit); b within ×1.25 of 1, R² ≥ 0.9; control: ≥ 3 such runs at ≥ 2 α per λ",
        why="issue 23: the 0.1 level was set after 'half-way' failed, and final test accuracy was only "
        "0.38–0.60: there was no grokking to time",
        old_verdict="pass on the published cpu run (b = 1.001 [0.929, 1.072], R² 0.995, 16/16 runs, median "
        "final test acc 0.50); judged at level 0.3 the same runs fail (R² 0.70)",
        fingerprint="b8509d75cc196011",
    ),
    CriterionChange(
        "2026-12-06",
        "dichotomy",
        "kernel_exit_law",
        old="reported beside the headline, over all runs",
        new="judged: grokking runs (final ≥ 0.9), b within ×1.25 of 1, R² ≥ 0.9",
        why="issue 23: one verdict per claim",
        old_verdict="reported: b = 0.990 [0.975, 1.005], R² 1.000, 16/16 runs",
        fingerprint="3c7ea099a83e3ed9",
    ),
    CriterionChange(
        "2026-12-03",
        "lazy_rich",
        "delay_shrinks_with_epsilon",
        old="delay vs initial CKA reported only; an ε sweep ε ∈ {0.1, 0.25, 0.5, 1} at α = 4",
        new="ε sweep at α = 1 over the paper's range (0.05 … 0.25), judged: Spearman ρ(ε, delay) < 0",
        why="issue 16: at ε ≥ 0.5 (outside the paper's range) runs converge above θ and were counted as "
        "censored delays, inverting the trend",
        old_verdict="the α = 4 sweep's median delay grew with ε (1975, 1450, 19950, 19950 steps)",
    ),
    CriterionChange(
        "2026-12-06",
        "lazy_rich",
        "delay_grows_with_alpha",
        old="Spearman ρ(α, delay) > 0 over all α-sweep runs, runs never below θ counted at budget − t_train",
        new="only runs with a delay count: within 10 % of their own K0 for ≥ 3× the fit time, then test "
        "loss ≤ "
        "θ/3; delay = t(≤ θ/3) − t_fit; runs ending above θ are 'no transition'",
        why="issue 23: runs that settle above θ never transition, they are not delays",
        old_verdict="pass: ρ = 0.81 with 6 censored runs, all flat above θ (α ≥ 8), counted as delays of "
        "≈ 19 800 steps (uncensored runs only: 0.97)",
        fingerprint="d289892bc21b6bc4",
    ),
    CriterionChange(
        "2026-12-06",
        "lazy_rich",
        "delay_shrinks_with_epsilon",
        old="ρ(ε, delay) < 0 over all ε-sweep runs (delay t_test(θ) − t_train)",
        new="ρ(ε, delay) < 0 over the runs with a delay (K0 plateau then θ/3, as for α)",
        why="issue 23: one definition of a delay",
        old_verdict="pass: ρ = −0.98 (median delays 700, 400, 300, 225, 200 at ε = 0.05 … 0.25)",
        fingerprint="8b2ccca2f3cec93d",
    ),
    CriterionChange(
        "2026-12-06",
        "lazy_rich",
        "lazy_delay",
        old="none (the case's single verdict had no test that any run shows the plateau-then-generalise "
        "sequence)",
        new="headline: at some α ≥ 2 at least half of the seeds have a delay",
        why="issue 23: the headline is the paper's claim as written",
        old_verdict="none (new claim)",
        fingerprint="2edd7ac7cd2a9ca4",
    ),
    CriterionChange(
        "2026-12-06",
        "lazy_rich",
        "k0_plateau",
        old="part of the case's single verdict",
        new="its own claim (|plateau − K0|/K0 ≤ 10 %, unchanged)",
        why="issue 23: one verdict per claim",
        old_verdict="pass (1.0 %)",
        fingerprint="6823af149ef5693d",
    ),
    CriterionChange(
        "2026-12-03",
        "early_prediction",
        "spectral_auc",
        old="effgrok's detrended log-loss score: every sweep with both labels reaches AUC ≥ 0.8 at some "
        "observed fraction ≤ 0.5",
        new="the paper's raw-loss spectral energy on an lr × wd grid at one fraction: AUC ≥ 0.8 at some "
        "early "
        "window and above the loss-magnitude baseline; inconclusive without oscillations",
        why="issue 16: follow Notsawo et al.'s score and grid",
        old_verdict="fail in the first report",
    ),
    CriterionChange(
        "2026-12-06",
        "early_prediction",
        "spectral_auc",
        old="MLP with MSE on an lr × wd grid at one fraction; AUC ≥ 0.8 and above the baseline (one "
        "criterion)",
        new="the paper's network (transformer, cross-entropy) on a grid over training fraction × (lr, wd) "
        "cells; AUC ≥ 0.8 at some window (headline), beating the baseline its own claim; untested on cpu",
        why="issue 23: on the MLP grid grokking was set by weight decay alone and oscillation by learning "
        "rate "
        "alone, so the AUC said little about the paper",
        old_verdict="fail: AUC 0.51–0.58 (baseline 0.42–0.48), 15 grokked / 9 not",
        fingerprint="a59d4eff84efdd3f",
    ),
    CriterionChange(
        "2026-12-06",
        "early_prediction",
        "beats_loss_level",
        old="part of the single criterion",
        new="its own claim: at some window AUC(paper) ≥ 0.8 and > max(AUC(base), 1 − AUC(base))",
        why="issue 23: one verdict per claim",
        old_verdict="fail (no window reached 0.8)",
        fingerprint="7cbb13a81aee3419",
    ),
    CriterionChange(
        "2026-12-06",
        "solvable_linear",
        "gap_matches_theory",
        old="|Δt_sim/Δt_theory − 1| ≤ 5 % for every λ ≤ 0.9, 4 seeds",
        new="|error| ≤ max(5 %, 2 bootstrap SE over the seeds) for every λ ≤ 0.9, 8 seeds",
        why="issue 23: the +2.7 % at λ = 0.9 was seed luck (4 seeds); two other seed sets gave −7.3 % and "
        "+8.0 %; 32 seeds do not fit the cpu budget",
        old_verdict="pass on the published run (worst 4.8 %, λ = 0.9 +2.7 %); fail on the two other 4-seed "
        "sets (λ = 0.9: −7.3 %, +8.0 %)",
        fingerprint="fa7916f193ba5c3c",
    ),
    CriterionChange(
        "2026-12-03",
        "softmax_collapse",
        "stablemax_generalises_better",
        old="StableMax's final val acc ≥ float32's + 0.05 (lr 0.1, optax ε 1e-8, biases, 3000 steps)",
        new="StableMax's val acc averaged over the last quarter ≥ float32's + 0.05 (the paper's lr 0.01, "
        "ε 1e-25, no biases, 15 000 steps); ⊥Grad added",
        why="issue 16: StableMax never generalised (0.017) at the old settings, a budget and hyperparameter "
        "artefact; its runs show Adam loss spikes",
        old_verdict="fail in the first report (StableMax val acc 0.017)",
    ),
    CriterionChange(
        "2026-12-06",
        "softmax_collapse",
        "float32_collapses",
        old="one verdict over five checks (float32 collapses, float64 later, StableMax never, StableMax and "
        "⊥Grad better by 0.05)",
        new="five claims, each its own verdict; headline: float32 collapses within the budget",
        why="issue 23: one verdict per claim",
        old_verdict="pass (collapse float32 2000, float64 5750, StableMax max fraction 0.00; val acc 0.054 "
        "float32, 0.481 StableMax, ⊥Grad 0.592)",
        fingerprint="8d2f72617f128c34",
    ),
    CriterionChange(
        "2026-12-03",
        "grokking_tickets",
        "ticket_faster_than_random",
        old="ticket < dense, ticket < norm-matched dense and memorisation ticket slower than the ticket",
        new="ticket < dense, < norm-matched dense, < random ticket (memorisation ticket reported); "
        "inconclusive "
        "unless dense generalises in half the budget and the run is in the paper's regime",
        why="issue 16: the paper's network and protocol; the random mask is the paper's control",
        old_verdict="fail in the first report",
    ),
    CriterionChange(
        "2026-12-06",
        "grokking_tickets",
        "ticket_faster_than_dense",
        old="one verdict over the three orderings",
        new="three claims, each its own verdict; headline: median t(ticket) < median t(dense)",
        why="issue 23: one verdict per claim",
        old_verdict="inconclusive (not the paper's regime; ticket > 5000 steps, dense 2200)",
        fingerprint="4269b7b7a1724d16",
    ),
    # --- i23-liu ---
    # critical_fraction, grokking_rate, predicted_accuracy, effective_dynamics, phase_diagram,
    # progress_measures (modular_gap's one claim is reported and its rule did not change).  The
    # 2026-12-03 changes were motivated by runs before replicates existed (seeds < 10⁶): seen = ().
    CriterionChange(
        "2026-12-03",
        "critical_fraction",
        "learned_implies_pinned",
        old="|r_c(networks: RQI > 0.95 share crosses ½) − r_c(theory)| ≤ 0.05",
        new=(
            "95 % upper bound of P(learned | unpinned) ≤ 0.05, with no learning where P(pinned) < 0.05 and "
            "a learned share non-decreasing in n; r_net reported, not judged"
        ),
        why=(
            "the paper does not claim that the networks' learned share crosses ½ at r_c (networks also "
            "stall on "
            "pinned splits); it claims that unpinned splits leave the representation free"
        ),
        old_verdict=(
            "fail on the first report's runs (learned in 13 % of pinned, 0 % of unpinned splits: the "
            "share never "
            "reached ½); on the 2026-12-03 runs r_net / r_c = 1.56, |0.636 − 0.409| = 0.23 > 0.05: fail"
        ),
    ),
    CriterionChange(
        "2026-12-06",
        "critical_fraction",
        "learned_implies_pinned",
        old=(
            "95 % upper bound of P(learned | unpinned) ≤ 0.05 over whatever unpinned splits the random "
            "ladder drew "
            "(control ≥ 59 unpinned runs, ≥ 3 runs learn anywhere), together with claims 2 and 3"
        ),
        new=(
            "the same bound over ≥ 60 deliberately unpinned splits (kept from random draws when nullity "
            "> the full "
            "table's) at 30, 33, 36 pairs, where the ladder's pinned splits must learn ≥ 10 % (control); "
            "claims 2, 3 judged on their own"
        ),
        why=(
            "issue 23: 78 of the 80 unpinned runs sat at sizes where even pinned runs learned 0 %, so "
            "the claim "
            "could hardly fail"
        ),
        old_verdict="pass on the 2026-12-03 runs: 0/80 unpinned learned, bound 0.037",
        fingerprint="1378c98f8a226620",
    ),
    CriterionChange(
        "2026-12-06",
        "critical_fraction",
        "no_learning_at_low_pinning",
        old="part of one pass/fail with learned ⇒ pinned: no run learns where P(pinned) < 0.05",
        new="its own claim: no run learns where P(pinned) < 0.05, control ≥ 30 runs there",
        why="issue 23: one verdict per claim, each with its control",
        old_verdict="pass on the 2026-12-03 runs: 0 of 48 runs learned at sizes with P(pinned) < 0.05",
        fingerprint="667bf36f66f39a6d",
    ),
    CriterionChange(
        "2026-12-06",
        "critical_fraction",
        "learned_share_non_decreasing",
        old="part of one pass/fail with learned ⇒ pinned: no one-sided Fisher drop (Bonferroni, α = 0.05)",
        new="its own (qualitative) claim, the same test, control ≥ 3 ladder runs learn",
        why="issue 23: one verdict per claim",
        old_verdict=(
            "pass on the 2026-12-03 runs: learned share 0 % up to 24 pairs, 6 %, 19 %, 56 %, 75 %, 94 %"
        ),
        fingerprint="9680c9f80acd18e1",
    ),
    CriterionChange(
        "2026-12-06",
        "critical_fraction",
        "r_net_over_r_c",
        old="reported inside the case's measurement",
        new="a reported claim of its own",
        why="issue 23: claims as data",
        old_verdict="reported: r_net / r_c = 1.56 on the 2026-12-03 runs",
        fingerprint="0158bc6e98702dae",
    ),
    CriterionChange(
        "2026-12-03",
        "grokking_rate",
        "steps_proportional_to_n_h",
        old="Spearman ρ(n_h, steps to RQI > 0.95) ≥ 0.7 over ≥ 50 pinned runs that learn",
        new=(
            "Spearman ρ(per-size median n_h, per-size censored median steps) > 0 with one-sided p < 0.05 "
            "over the "
            "sizes; the law's slope and the learning-rate exponents reported, not judged"
        ),
        why=(
            "the paper calls the agreement qualitative; never-reached runs must count (censored at the "
            "budget)"
        ),
        old_verdict=(
            "inconclusive on the first report's runs (only 32 pinned runs learned, < 50); not recomputed "
            "on the "
            "2026-12-03 runs, whose 62 learning runs gave a log-log slope of 0.02 [−0.08, 0.10]"
        ),
    ),
    CriterionChange(
        "2026-12-06",
        "grokking_rate",
        "steps_proportional_to_n_h",
        old="headline: Spearman over sizes of median n_h vs censored median steps > 0, one-sided p < 0.05",
        new=(
            "headline: the law itself among learning runs, |slope of log steps on log n_h − 1| ≤ 0.3, "
            "control ≥ 20 "
            "runs, n_h spanning ≥ 2×, bootstrap CI half-width ≤ 0.3"
        ),
        why="issue 23: the headline must be the claim as written (steps ∝ n_h); the trend is its own claim",
        old_verdict=(
            "the old headline passed on the 2026-12-03 runs (ρ = 0.74, p = 0.0044); the law on the same "
            "runs: "
            "slope 0.02 [−0.08, 0.10] over 62 learning runs, i.e. it fails"
        ),
        fingerprint="0bb8cfcc9b81e4f5",
    ),
    CriterionChange(
        "2026-12-06",
        "grokking_rate",
        "fewer_steps_at_larger_sizes",
        old="(the old headline) Spearman over the sizes of median n_h vs censored median steps",
        new=(
            "Spearman ρ(size, censored steps) over all runs < 0 with one-sided p < 0.05; control ≥ 10 "
            "runs learn "
            "at ≥ 2 sizes"
        ),
        why="issue 23: the qualitative trend is a claim of its own; per run, so censored runs count one each",
        old_verdict="the per-size version passed on the 2026-12-03 runs (ρ = 0.74 over 11 sizes, p = 0.0044)",
        fingerprint="173d936f0123271d",
    ),
    CriterionChange(
        "2026-12-06",
        "grokking_rate",
        "adam_lr_emb_exponent",
        old="reported, not judged",
        new="|exponent of η_emb − (−1)| ≤ 0.3, control ≥ 20 learning runs, CI half-width ≤ 0.3",
        why="issue 23: the learning-rate exponents are claims of the theory (n_h = 1/(η_emb λ3))",
        old_verdict="reported on the 2026-12-03 runs: −0.46 [−0.56, −0.36] (46/60 learned): would fail",
        fingerprint="577561682456b841",
    ),
    CriterionChange(
        "2026-12-06",
        "grokking_rate",
        "adam_lr_dec_exponent",
        old="reported, not judged",
        new="|exponent of η_dec| ≤ 0.3, control as for adam_lr_emb_exponent",
        why="issue 23: a claim of the theory (n_h involves the embedding rate only)",
        old_verdict="reported on the 2026-12-03 runs: −0.52 [−0.63, −0.42]: would fail",
        fingerprint="c80ff93397ac87dc",
    ),
    CriterionChange(
        "2026-12-06",
        "grokking_rate",
        "gd_lr_emb_exponent",
        old="reported, not judged",
        new=(
            "|exponent of η_emb − (−1)| ≤ 0.3 with gradient descent on the embeddings, control ≥ 12 "
            "learning runs"
        ),
        why="issue 23: a claim of the theory under the optimiser it assumes",
        old_verdict="reported on the 2026-12-03 runs: −0.27 [−0.38, −0.16] (32/36 learned): would fail",
        fingerprint="178a20913ef03b86",
    ),
    CriterionChange(
        "2026-12-03",
        "predicted_accuracy",
        "acc_hat_predicts_test_acc",
        old="Pearson r(Acc-hat, test acc) ≥ 0.95 over ≥ 30 runs (inconclusive only without spread)",
        new="the same, with a positive control: the runs' test accuracies span ≥ 0.3",
        why="a correlation is resolvable only over runs that do and do not generalise",
        old_verdict="pass on the same runs: r = 0.994 [0.989, 0.997] over 40 runs",
        fingerprint="eaada2aedba9f818",
    ),
    CriterionChange(
        "2026-12-03",
        "effective_dynamics",
        "trajectory_follows_flow",
        old="median time-averaged relative error ≤ 0.2 after fitting c, and below a frozen embedding's",
        new=(
            "the same, and orientation agreement ≥ 90 % and below the full-table flow's error (the "
            "latter only "
            "where the two flows are distinguishable); control ≥ 5 learning runs, ≤ 25 % fits at the "
            "c-grid edge"
        ),
        why=(
            "one fitted constant could hide a generic relaxation; the parameter-free orientation is a "
            "sharper test"
        ),
        old_verdict=(
            "pass on the first report's runs (0.041 vs frozen 1.210, 4 learned); on the 2026-12-03 runs "
            "0.046 vs "
            "1.108: pass"
        ),
    ),
    CriterionChange(
        "2026-12-06",
        "effective_dynamics",
        "trajectory_follows_flow",
        old="one pass/fail over orientation, error ≤ 0.2, below frozen, below full table (if resolvable)",
        new="error ≤ 0.2 and below the frozen embedding's, its own claim (the headline)",
        why="issue 23: one verdict per claim",
        old_verdict="pass on the 2026-12-03 runs (median 0.046, frozen 1.108)",
        fingerprint="d0acdf48192d33b2",
    ),
    CriterionChange(
        "2026-12-06",
        "effective_dynamics",
        "orientation_from_start",
        old="part of the case's one pass/fail",
        new="its own claim: agreement ≥ 90 %",
        why="issue 23: one verdict per claim",
        old_verdict="pass on the 2026-12-03 runs (100 % of 14)",
        fingerprint="685d7b64f6e359cf",
    ),
    CriterionChange(
        "2026-12-06",
        "effective_dynamics",
        "split_gram_beats_full_table",
        old="dropped from the case's pass when the two theories' flows were not distinguishable",
        new=(
            "its own claim; inconclusive (with the numbers) when the gap between the flows ≤ the fit's "
            "residual"
        ),
        why="issue 23: the case passed while this claim could not be told apart from the full table",
        old_verdict=(
            "unresolvable on the 2026-12-03 runs (gap 0.025 < residual 0.046; split better in 29 %): now "
            "inconclusive, then silently part of a pass"
        ),
        fingerprint="06c544a4184b9614",
    ),
    CriterionChange(
        "2026-12-03",
        "phase_diagram",
        "goldilocks_at_slow_decoder",
        old=(
            "each region's expected phase ≥ 50 % of its runs, one uniformly random split (seed 0) at 45 "
            "pairs, "
            "one seed per cell"
        ),
        new=(
            "the same shares, on splits with ideal test accuracy 1 only, ≥ 3 seeds per cell, trained "
            "learning "
            "rates ≤ 1e-2 (cells above the cap not trained), ≥ 1 run generalises (control)"
        ),
        why=(
            "the seed-0 split had Acc-bar 0.8, so test accuracy ≥ 0.9 (comprehension, grokking) was "
            "impossible "
            "in every cell; lr 0.1 after the 10× time rescaling is unstable"
        ),
        old_verdict=(
            "fail on the first report's runs (slow decoder 0 % comprehension/grokking of 8; memorization "
            "75 %, "
            "confusion 75 %)"
        ),
    ),
    CriterionChange(
        "2026-12-06",
        "phase_diagram",
        "goldilocks_at_slow_decoder",
        old="one pass/fail over the three regions",
        new="slow decoders ≥ 50 % comprehension/grokking, its own claim (the headline)",
        why="issue 23: one verdict per claim",
        old_verdict="pass on the 2026-12-03 runs (75 % of 24)",
        fingerprint="d30b3bedf3dd6fa6",
    ),
    CriterionChange(
        "2026-12-06",
        "phase_diagram",
        "memorization_fast_low_wd",
        old="part of the one pass/fail",
        new="its own claim: ≥ 50 % memorization at lr_dec ≥ 1e-3, wd ≤ 1",
        why="issue 23: one verdict per claim",
        old_verdict="pass on the 2026-12-03 runs (67 % of 6)",
        fingerprint="b67163ed4b766478",
    ),
    CriterionChange(
        "2026-12-06",
        "phase_diagram",
        "confusion_fast_high_wd",
        old="part of the one pass/fail",
        new="its own claim: ≥ 50 % confusion at lr_dec ≥ 1e-3, wd ≥ 5",
        why="issue 23: one verdict per claim",
        old_verdict="pass on the 2026-12-03 runs (83 % of 6)",
        fingerprint="bd0b3b66ea25b611",
    ),
    CriterionChange(
        "2026-12-06",
        "phase_diagram",
        "grokking_runs",
        old="a finding (grokking is a phase of its own: qualitatively if any run groks)",
        new="reported, not judged",
        why="issue 23: no criterion was pre-registered for it",
        old_verdict="4 grokking runs of 36 on the 2026-12-03 runs",
        fingerprint="9ba25cfcc9a971f4",
    ),
    CriterionChange(
        "2026-12-03",
        "progress_measures",
        "deep_rank_drops",
        old=(
            "effective rank of the one-hidden-layer modular MLP's features lower at generalisation than "
            "at fitting "
            "in ≥ 75 % of grokking runs"
        ),
        new=(
            "Fan et al.'s setting: summed thresholded feature rank of a depth-4 digits MLP (α = 8) lower "
            "at the end "
            "than at fitting in ≥ 75 % of grokking runs, ≥ 2 such runs (else reported); the shallow "
            "effective rank "
            "reported"
        ),
        why="Fan et al.'s claim is about deep MLPs; the one-hidden-layer MLP is not its setting",
        old_verdict="fail on the first report's runs (0 % of 3 grokking runs, median 111.4 → 113.4)",
    ),
    CriterionChange(
        "2026-12-06",
        "progress_measures",
        "deep_rank_drops",
        old="judged when ≥ 2 deep runs grok, else reported while the case could still pass",
        new="untested at the cpu profile (out of its budget: no deep run groks in 3000 steps), judged at gpu",
        why="issue 23: the case read pass with this claim untested; now partial",
        old_verdict="reported on the 2026-12-03 runs (0 of 2 deep runs grokked)",
        fingerprint="fe72adfed450bad8",
    ),
    CriterionChange(
        "2026-12-06",
        "progress_measures",
        "fourier_rises_at_grokking",
        old="part of one pass/fail; judged with ≥ 2 grokking runs (3 seeds per fraction)",
        new="its own claim (the headline); control ≥ 4 grokking runs (6 seeds per fraction)",
        why="issue 23: one verdict per claim, and 2-3 runs gave the share ≥ 75 % almost no power",
        old_verdict="pass on the 2026-12-03 runs (100 % of 3 grokking runs, 0.440 → 0.946)",
        fingerprint="94b58cc7a227fb15",
    ),
    CriterionChange(
        "2026-12-06",
        "progress_measures",
        "rqi_tracks_test_acc",
        old="part of one pass/fail: Spearman(RQI, test accuracy) ≥ 0.5",
        new="its own claim, the same criterion, control ≥ 4 runs with non-constant curves",
        why="issue 23: one verdict per claim",
        old_verdict="pass on the 2026-12-03 runs (0.88 over 6 runs)",
        fingerprint="2475f42ed8e451bf",
    ),
    CriterionChange(
        "2026-12-06",
        "progress_measures",
        "shallow_effective_rank",
        old="reported inside the case's measurement",
        new="a reported claim of its own",
        why="issue 23: claims as data",
        old_verdict="reported: lower at generalisation in 100 % of 3 (118.3 → 111.0) on the 2026-12-03 runs",
        fingerprint="d95b6012119e0e13",
    ),
)


CHANGES = tuple(sorted(CHANGES, key=lambda c: c.date))  # the branches' blocks, merged: oldest first


def changes_for(case: str, claim: str | None = None) -> list[CriterionChange]:
    """The logged changes of ``case`` (of one ``claim`` when given), oldest first."""
    return [c for c in CHANGES if c.case == case and (claim is None or c.claim == claim)]


def check_stored(case: str, current: dict, stored: dict, replicate: int) -> dict:
    """Compare the claims' fingerprints of today (``current``: ``{claim: fingerprint}``) with
    those a stored replicate was measured under (``stored``).

    Returns ``{claim: reason}`` for the claims that must not be judged on this replicate (a
    logged change whose ``seen`` includes it).  Raises ``ValueError`` for a claim whose
    criterion changed after these runs and whose change is not in :data:`CHANGES`.
    A claim that is new since the runs (absent from ``stored``) is judged normally: its
    criterion was fixed before it saw these numbers only if it is logged, so it counts as a
    change too.
    """
    blocked = {}
    for name, fp in current.items():
        if stored.get(name) == fp:
            continue
        logged = [c for c in changes_for(case, name) if c.fingerprint == fp]
        if not logged:
            was = stored.get(name, "absent")
            raise ValueError(
                f"validation case {case!r}: the criterion of claim {name!r} changed after its runs of "
                f"replicate {replicate} exist (fingerprint {was} -> {fp}); log the change in "
                f"validation/changelog.py (with the old verdict on these runs) or judge it on a fresh "
                f"replicate in a new results folder"
            )
        if replicate in logged[-1].seen:
            blocked[name] = (
                f"not judged on replicate {replicate}: its runs motivated the criterion change of "
                f"{logged[-1].date} (criteria changelog); judged on fresh replicates only"
            )
    return blocked
