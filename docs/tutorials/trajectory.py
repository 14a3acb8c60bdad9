"""Tutorial 3: one effective-dynamics trajectory, set beside its prediction (p = 10 addition).

The effective theory replaces the network by gradient descent on the effective loss
``ℓ_eff(E) = ℓ0(E)/Z(E)`` over the embeddings alone.  This script follows one 1-D embedding,
started at U(−½, ½), on an 80 % training split; it records ℓ_eff, RQI (the fraction of all
parallelograms the embedding realises) and the predicted test accuracy Acc-hat, and compares

* the measured steps to RQI > 0.95 with the prediction ``n_h = 1/(η λ3)``,
* the late decay rate of ℓ_eff with ``2 η λ3`` (the slowest non-zero mode),
* RK4 (step 1) with the exact solution through the eigenbasis of ``G``,
* the paper's convention with the reference code's (``EffectiveLoss.reference_code()``:
  all parallelograms, frozen Z, Euler, a standardised start).

Run it::

    uv run python docs/tutorials/trajectory.py            # 2 000 steps
    uv run python docs/tutorials/trajectory.py --small    # 600 steps
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure  # a Figure without pyplot renders with Agg

import effgrok as eg

FIGURE = "trajectory.png"
LEARNING_RATE = 1e-3


def decay_rate(tr, last: float = 0.25) -> float:
    """Measured ``−d ln ℓ_eff / ds`` over the last ``last`` of the run (a log-linear fit)."""
    keep = tr.steps >= (1 - last) * tr.steps[-1]
    return -float(np.polyfit(tr.steps[keep], np.log(tr.loss[keep]), 1)[0])


def main(out_dir, small: bool = False) -> dict:
    """Simulate, save ``trajectory.png`` in ``out_dir`` and return the key numbers."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    task = eg.make_task("add", 10)
    split = eg.random_split(task, fraction=0.8, seed=58)  # 44 of 55 examples, pins the structure
    steps = 600 if small else 2_000
    common = dict(steps=steps, stride=2, learning_rate=LEARNING_RATE, seed=0)

    # the paper's convention (the default EffectiveLoss), integrated by RK4 with step 1 ...
    tr = eg.simulate(task, split, method="rk4", **common)
    # ... and exactly, through the eigenbasis of G: the two must agree
    exact = eg.simulate(task, split, method="exact", **common)
    # the reference implementation: all parallelograms, frozen Z, Euler = plain gradient descent
    ref = eg.simulate(
        task,
        split,
        loss=eg.EffectiveLoss.reference_code(),
        method="euler",
        init="standardized",
        **common,
    )
    rk4_vs_exact = float(np.max(np.abs(np.log(tr.loss) - np.log(exact.loss))))
    measured = decay_rate(tr)
    predicted = 2 * LEARNING_RATE * tr.grokking_rate

    fig = Figure(figsize=(10.0, 3.4), layout="constrained")
    lx, rx, ex = fig.subplots(1, 3, gridspec_kw={"width_ratios": [4, 4, 3]})
    lx.semilogy(tr.steps, tr.loss, color="C0", label="RK4")
    lx.semilogy(exact.steps[::10], exact.loss[::10], "k.", ms=3, label="exact flow")
    s = tr.steps[tr.steps >= steps / 2]
    anchor = tr.loss[tr.steps == s[0]][0]
    lx.semilogy(s, anchor * np.exp(-predicted * (s - s[0])), "C3--", lw=1, label="∝ exp(−2ηλ3 s)")
    lx.set(xlabel="step s", ylabel="ℓ_eff")
    lx.legend(fontsize=8)
    for t, style, name in ((tr, "-", "paper (train, N=1, live Z)"), (ref, "--", "reference code")):
        rx.plot(t.steps, t.rqi, "C0" + style, label=f"RQI, {name}")
        rx.plot(t.steps, t.predicted_test_acc, "C2" + style, lw=1, label=f"Acc-hat, {name}")
    for mult, ls in ((1, ":"), (3, "-.")):
        rx.axvline(mult * tr.n_h, color="C3", ls=ls, lw=1, label=f"{mult}·n_h = {mult * tr.n_h:.0f}")
    rx.axhline(0.95, color="0.6", lw=0.8)
    rx.set(xlabel="step s", ylabel="RQI / test accuracy", xlim=(0, min(steps, 8 * ref.n_h)))
    rx.legend(fontsize=6.5, loc="lower right")
    k = np.arange(task.n_symbols)
    ex.plot(k, tr.embedding[0, :, 0], "o", color="0.6", ms=4, label="start")
    ex.plot(k, tr.embedding[-1, :, 0], "o-", color="C0", ms=4, label=f"step {steps}")
    ex.set(xlabel="symbol k", ylabel="embedding E_k")
    ex.legend(fontsize=8)
    fig.suptitle("a + b, p = 10, 80 % training split: effective dynamics of a 1-D embedding", fontsize=10)
    path = out_dir / FIGURE
    fig.savefig(path, dpi=110)

    numbers = {
        "n_h": tr.n_h,
        "steps_to_rqi": tr.steps_to_rqi,
        "ratio": tr.steps_to_rqi / tr.n_h,  # NaN (effgrok.NEVER) if RQI > 0.95 was never reached
        "grokking_rate": tr.grokking_rate,
        "z0": tr.z0,
        "final_rqi": tr.final_rqi,
        "predicted_test_acc": tr.final_predicted_test_acc,
        "ideal_test_accuracy": tr.ideal_test_accuracy,
        "decay_rate": measured,
        "predicted_decay_rate": predicted,
        "rk4_vs_exact": rk4_vs_exact,
        "reference_n_h": ref.n_h,
        "reference_steps_to_rqi": ref.steps_to_rqi,
        "reference_predicted_test_acc": ref.final_predicted_test_acc,
        "figure": path,
    }
    print(f"task add  p=10  n_train={tr.n_train}/55  pinned={tr.pinned}  η={LEARNING_RATE:g}  {steps} steps")
    print(f"  Z0 = ‖E0‖² = {tr.z0:.4f}   λ3(G) = {tr.gram_eigenvalue:.4f}   λ3(H) = {tr.grokking_rate:.4f}")
    print(f"  predicted n_h = 1/(η λ3)  {tr.n_h:.1f} steps")
    print(f"  measured steps to RQI>0.95 {tr.steps_to_rqi:.0f}  (= {numbers['ratio']:.2f} n_h)")
    print(f"  late decay of ℓ_eff: measured {measured:.5f}/step, predicted 2ηλ3 = {predicted:.5f}/step")
    print(f"  final RQI {tr.final_rqi:.4f}   Acc-hat (test) {tr.final_predicted_test_acc:.4f}", end="")
    print(f"   Acc-bar (ideal) {tr.ideal_test_accuracy:.4f}")
    print(f"  RK4 vs exact flow: max |Δ ln ℓ_eff| = {rk4_vs_exact:.2e}")
    print(
        f"  reference code: n_h {ref.n_h:.1f}, steps to RQI>0.95 {ref.steps_to_rqi}, "
        f"Acc-hat {ref.final_predicted_test_acc:.4f}"
    )
    print(f"  figure: {path}")
    return numbers


if __name__ == "__main__":
    from _command_line import run  # docs/tutorials/_command_line.py: --out, --small

    run(main, __doc__)
