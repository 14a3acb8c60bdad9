"""The command lines whose ``--json`` output is kept as golden files (issue 17).

Every command of the CLI appears at least once, on inputs small enough that the whole set runs
in about a minute.  ``uv run python tests/golden/commands.py [NAME ...]`` re-records the
files; do that only for a change that is *meant* to change a number, and say why in the commit.

Input files (a loss log, embeddings, a checkpoint series) are written by :func:`write_inputs`
from fixed seeds, so the golden outputs depend on nothing outside this folder.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

#: name -> command line (``{inputs}`` is replaced by the input folder)
COMMANDS: dict[str, list[str]] = {
    "rate_frac": ["rate", "--task", "add", "--p", "10", "--train-frac", "0.8", "--seed", "58"],
    "rate_pairs": ["rate", "--task", "add-mod", "--p", "7", "11", "--train", "0,1 2,3 0,4 1,3"],
    "critical": ["critical", "--task", "add", "--p", "10", "--splits", "400"],
    "critical_mod": ["critical", "--task", "add-mod", "--p", "7", "11", "--splits", "200", "--seed", "3"],
    "simulate": ["simulate", "--task", "add", "--p", "10", "--train-frac", "0.8", "--seed", "0",
                 "--steps", "1000", "--learning-rate", "1e-3"],
    # --full: the per-member arrays (issue 25: without it --json prints the summary only)
    "simulate_ensemble": ["simulate", "--task", "add", "--p", "8", "--train-frac", "0.6", "--ensemble", "6",
                          "--dim", "2", "--steps", "400", "--full"],
    "simulate_preset": ["simulate", "--task", "add", "--p", "10", "--train-frac", "0.5", "--preset",
                        "reference_code", "--steps", "300"],
    "ntk": ["ntk", "--dim", "4", "--samples", "10", "--test-samples", "10", "--width", "8", "--top-k", "2"],
    "train_toy": ["train", "toy", "--p", "6", "--n-train", "15", "--steps", "2000", "--n-seeds", "2"],
    "train_lazy_rich": ["train", "lazy-rich", "--dim", "4", "--samples", "10", "--test-samples", "10",
                        "--width", "8", "--steps", "20"],
    "train_modular": ["train", "modular", "--p", "5", "--steps", "30", "--stride", "10"],
    "train_embed_sum": ["train", "modular", "--p", "5", "--steps", "30", "--stride", "10", "--model",
                        "embed-sum", "--embed-dim", "4", "--hidden", "6"],
    "train_transformer": ["train", "modular", "--p", "5", "--steps", "10", "--stride", "5", "--model",
                          "transformer"],
    "phase_diagram": ["phase-diagram", "--p", "4", "--n-train", "5", "--steps", "10", "--x",
                      "lr_dec:1e-3:1e-2:2:log", "--y", "wd_dec:0:1:2", "--workers", "1"],
    "predict_grok": ["predict-grok", "{inputs}/log.csv", "--fractions", "0.3", "1"],
    "progress_toy": ["progress", "toy", "--p", "6", "--n-train", "15", "--steps", "20", "--stride", "10",
                     "--n-seeds", "1"],
    "progress_modular": ["progress", "modular", "--p", "7", "--hidden", "8", "--steps", "20", "--stride",
                         "10", "--k", "2", "--n-seeds", "1"],
    "solvable_linear": ["solvable", "linear", "--lam", "0.3", "0.6"],
    "solvable_dichotomy": ["solvable", "dichotomy", "--alpha", "2", "8", "--weight-decay", "1e-3",
                           "--learning-rate", "0.1"],
    "weight_norm_landscape": ["weight-norm", "reduced-landscape", "--norms", "0.5", "1", "2",
                              "--n-train", "60", "--width", "8", "--steps", "20", "--stride", "10",
                              "--n-seeds", "1"],
    "weight_norm_alpha": ["weight-norm", "alpha-sweep", "--alpha", "1", "4", "--n-train", "60", "--width",
                          "8", "--steps", "20", "--stride", "10", "--n-seeds", "1"],
    "tickets": ["tickets", "--p", "7", "--train-frac", "0.6", "--hidden", "6", "--embed-dim", "5",
                "--steps", "40", "--stride", "20", "--n-seeds", "1"],
    "inspect_embedding": ["inspect", "--task", "add", "--p", "8", "--embedding", "{inputs}/emb.npy",
                          "--train", "0,1 2,3 0,4 1,5 3,6 2,7 4,4 0,0 5,6"],
    "inspect_series": ["inspect", "--task", "add", "--p", "8", "--embedding", "{inputs}/ckpts",
                       "--train-file", "{inputs}/mask.npy"],
}  # fmt: skip

#: keys whose values depend on the machine or the clock, not on the computation
VOLATILE = {"elapsed_s", "elapsed", "seconds", "started", "finished", "effgrok_version", "hostname", "path"}


def write_inputs(folder: Path) -> Path:
    """Write the inputs the commands read (a loss log, an embedding, a checkpoint series)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    t = np.arange(0, 1001, 10)
    with open(folder / "log.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["run", "step", "loss", "grokked"])
        for k in range(6):
            osc = 0.4 * np.sin(t / 9 + k) if k % 2 else 0.01 * rng.standard_normal(t.size)
            for s, v in zip(t, np.exp(-t / 400 + osc), strict=True):
                w.writerow([f"r{k}", s, f"{v:.10g}", k % 2])
    emb = np.arange(8, dtype=float)[:, None] * np.array([[1.0, 0.5]]) + 0.01 * rng.standard_normal((8, 2))
    np.save(folder / "emb.npy", emb)
    series = folder / "ckpts"
    series.mkdir(exist_ok=True)
    start = rng.uniform(-0.5, 0.5, (8, 2))
    for k, s in enumerate((0, 100, 200, 400)):
        w = k / 3
        np.save(series / f"step_{s:06d}.npy", (1 - w) * start + w * emb / 8)
    mask = np.zeros((8, 8), dtype=bool)
    for a, b in ((0, 1), (2, 3), (0, 4), (1, 5), (3, 6), (2, 7), (4, 4), (0, 0), (5, 6), (1, 1), (2, 5)):
        mask[a, b] = mask[b, a] = True
    np.save(folder / "mask.npy", mask)
    return folder


def argv_of(name: str, inputs: Path) -> list[str]:
    return [a.replace("{inputs}", str(inputs)) for a in COMMANDS[name]] + ["--json"]


def run_json(name: str, inputs: Path) -> dict:
    """Run one golden command and return its ``--json`` output, with the input folder masked."""
    from effgrok.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv_of(name, inputs))
    if code != 0:
        raise RuntimeError(f"{name}: exit {code}: {err.getvalue().strip()}")
    return json.loads(out.getvalue().replace(str(inputs), "{inputs}"))


def strip_volatile(obj):
    if isinstance(obj, dict):
        return {k: strip_volatile(v) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list):
        return [strip_volatile(v) for v in obj]
    return obj


def record(names=None) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        inputs = write_inputs(Path(tmp) / "inputs")
        for name in names or COMMANDS:
            rec = strip_volatile(run_json(name, inputs))
            (HERE / f"{name}.json").write_text(json.dumps(rec, indent=1, sort_keys=True) + "\n")
            print(f"recorded {name}", file=sys.stderr)


if __name__ == "__main__":
    record(sys.argv[1:] or None)
