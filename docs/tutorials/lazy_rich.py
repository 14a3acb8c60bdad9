"""Tutorial 4: the lazy→rich story and the role of the output scale α, with ``effgrok.kernels``.

Kumar, Bordelon, Gershman & Pehlevan (ICLR 2024) explain grokking as a network that first
fits the data with its *initial* features (lazy, kernel regime) and only later learns new
ones (rich regime).  Their committee machine ``f(W, x) = (α/N) Σ_i φ(w_i·x)``,
``φ(h) = h + (ε/2) h²``, learns a quadratic target ``y = ½ (β*·x)²``; its initial NTK ``Θ₀``
has eigenvalue ``1/D`` on linear functions and only ``2ε²/D²`` on quadratics, so it is
misaligned with the target.

This script computes what the *kernel* picture says, for several α:

* the alignment of ``Θ₀`` with the target (CKA, top-k target power) -- α-independent,
  because ``Θ₀ ∝ α²`` and alignment is scale-free;
* the lazy prediction: ridgeless kernel regression with ``Θ₀`` (the "lazy plateau" of the
  test loss) and its time course under the linearised gradient flow with the paper's learning
  rate ``η = N/α²`` -- also α-independent, because ``η Θ₀`` is;
* how close the finite-width ``Θ₀`` is to its infinite-width limit.

What α changes is *not* in these numbers: it sets how long the network stays near this
lazy solution before feature learning takes over (larger α = lazier = longer delay).

Run it::

    uv run python docs/tutorials/lazy_rich.py            # the paper's Fig. 1 setting
    uv run python docs/tutorials/lazy_rich.py --small    # D = 30, P = 120: a second
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure  # a Figure without pyplot renders with Agg

from effgrok import kernels as ek

FIGURE = "lazy_rich.png"


def small_number(x: float, floor: float = 1e-12) -> str:
    """Print round-off (below ``floor``; its digits vary with the BLAS) as a bound."""
    return f"< {floor:.0e}" if abs(x) < floor else f"{x:.1e}"


def main(out_dir, small: bool = False) -> dict:
    """Compute the kernel quantities for several α, save ``lazy_rich.png``, return the numbers."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if small:
        dim, samples, test_samples, width = 30, 120, 300, 200
    else:  # the paper's Fig. 1: D = 100, P = 550, N = 500, ε = 0.02
        dim, samples, test_samples, width = 100, 550, 1000, 500
    epsilon = 0.02
    alphas = (0.3, 1.0, 3.0) if small else (0.1, 0.3, 1.0, 3.0, 10.0)
    prob = ek.make_problem(dim, samples, test_samples, seed=0)
    target_variance = float(np.var(prob.y_test))
    times = np.unique(np.concatenate([[0.0], np.logspace(-1, 7, 41)]))  # in gradient steps

    rows, courses = [], []
    for alpha in alphas:
        net = ek.Committee(width=width, epsilon=epsilon, alpha=alpha)
        W0 = net.init(dim, seed=0)  # the same initial weights for every α
        K_train = net.ntk(W0, prob.x_train)
        K_test_train = net.ntk(W0, prob.x_test, prob.x_train)
        K_test = net.ntk(W0, prob.x_test)
        f_train, f_test = ek.kernel_regression(K_train, K_test_train, prob.y_train)
        course = ek.lazy_time_course(
            K_train, K_test_train, prob.y_train, prob.y_test, times, net.learning_rate(1.0)
        )
        K_inf = net.infinite_ntk(prob.x_test)
        y_test_centred = prob.y_test - prob.y_test.mean()
        rows.append(
            {
                "alpha": alpha,
                "kernel_scale": float(np.mean(np.diag(K_test))),
                "cka": ek.centered_kernel_alignment(K_test, prob.y_test),
                "top10_power": float(ek.cumulative_target_power(K_test, y_test_centred, 10)[-1]),
                "lazy_train_loss": float(np.mean((f_train - prob.y_train) ** 2)),
                "lazy_test_loss": float(np.mean((f_test - prob.y_test) ** 2)),
                "finite_vs_infinite": float(np.linalg.norm(K_test - K_inf) / np.linalg.norm(K_inf)),
            }
        )
        courses.append(course)

    base = courses[alphas.index(1.0)]
    course_spread = max(
        float(np.max(np.abs(c[key] - base[key]) / base[key].max()))
        for c in courses
        for key in ("train_loss", "test_loss")
    )
    cka = np.array([r["cka"] for r in rows])
    lazy = np.array([r["lazy_test_loss"] for r in rows])
    peak = float(base["test_loss"].max())

    fig = Figure(figsize=(9.5, 3.6), layout="constrained")
    cx, ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    t = base["time"][1:]
    cx.semilogx(t, base["train_loss"][1:], color="C0", label="train, α = 1")
    cx.semilogx(t, base["test_loss"][1:], color="C3", label="test, α = 1")
    for alpha, c, marker in zip(alphas, courses, "ov^sD", strict=False):
        if alpha != 1.0:  # the other α: markers on every fourth time
            for key, color in (("train_loss", "C0"), ("test_loss", "C3")):
                cx.semilogx(t[::4], c[key][1::4], marker, color=color, ms=4, mfc="none", ls="none")
            cx.plot([], [], marker, color="0.3", mfc="none", ls="none", label=f"α = {alpha:g}")
    cx.axhline(lazy[0], color="k", lw=0.8, label="kernel regression with Θ₀ (lazy plateau)")
    cx.axhline(target_variance, color="0.6", lw=0.8, ls="--", label="target variance")
    cx.set(xlabel="gradient steps t (η = N/α²)", ylabel="MSE of the linearised model")
    cx.set_title("lazy (NTK) dynamics: identical for every α", fontsize=10)
    cx.legend(fontsize=7, ncol=2, loc="lower left")
    a = np.array(alphas)
    ax.loglog(a, [r["kernel_scale"] for r in rows], "o-", color="C0", label="mean Θ₀(x, x)  ∝ α²")
    ax.loglog(a, np.abs(cka), "s-", color="C3", label="|CKA(Θ₀, y)|")
    ax.loglog(a, lazy, "^-", color="k", label="lazy test MSE")
    ax.set(xlabel="output scale α", ylabel="value")
    ax.set_title("kernel quantities vs α", fontsize=10)
    ax.legend(fontsize=8)
    path = out_dir / FIGURE
    fig.savefig(path, dpi=110)

    numbers = {
        "setting": {"D": dim, "P": samples, "N": width, "epsilon": epsilon, "test": test_samples},
        "alphas": alphas,
        "rows": rows,
        "target_variance": target_variance,
        "cka_spread": float(np.ptp(cka) / np.max(np.abs(cka))),
        "lazy_test_loss_spread": float(np.ptp(lazy) / np.max(lazy)),
        "course_spread": course_spread,
        "lazy_test_loss": float(lazy[alphas.index(1.0)]),
        "lazy_test_peak": peak,
        "initial_test_loss": float(base["test_loss"][0]),
        "figure": path,
    }
    print(f"committee  D={dim}  P={samples}  N={width}  ε={epsilon}  target variance {target_variance:.4f}")
    for r in rows:
        print(
            f"  α={r['alpha']:<6g} kernel scale {r['kernel_scale']:.3e}  CKA {r['cka']:.5f}  "
            f"top-10 power {r['top10_power']:.4f}  lazy loss train {small_number(r['lazy_train_loss'])} "
            f"test {r['lazy_test_loss']:.4f}  finite/infinite {r['finite_vs_infinite']:.3f}"
        )
    spreads = (numbers["cka_spread"], numbers["lazy_test_loss_spread"], course_spread)
    cka_s, loss_s, course_s = (small_number(x, 1e-10) for x in spreads)
    print(f"  relative spread over α: CKA {cka_s}, lazy test loss {loss_s}, time course {course_s}")
    plateau = numbers["lazy_test_loss"]
    print(
        f"  lazy test loss: starts {numbers['initial_test_loss']:.4f}, peaks {peak:.4f}, "
        f"plateau {plateau:.4f} = {plateau / target_variance:.3f} × variance"
    )
    print(f"  figure: {path}")
    return numbers


if __name__ == "__main__":
    from _command_line import run  # docs/tutorials/_command_line.py: --out, --small

    run(main, __doc__)
