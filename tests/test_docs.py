"""The documentation: every tutorial runs (small) and gives sensible numbers; the site builds
with warnings as errors; the API pages cover the public API."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import io
import itertools
import re
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import effgrok
from effgrok.constants import reached
from effgrok.nets.phases import PHASES

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
TUTORIALS = DOCS / "tutorials"
TUTORIAL_NAMES = (
    "critical_p10",
    "rate_vs_fraction",
    "trajectory",
    "lazy_rich",
    "phase_diagram",
    "own_network",
)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def load_tutorial(name: str):
    spec = importlib.util.spec_from_file_location(f"effgrok_docs_tutorial_{name}", TUTORIALS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as an import does: a dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def small_runs(tmp_path_factory):
    """``small_runs(name)``: ``(numbers, printed)`` of the tutorial's ``main(out, small=True)``,
    run once for this module into one folder (``small_runs.folder``), which the site build then
    takes its figures from, instead of running every tutorial again."""
    folder = tmp_path_factory.mktemp("tutorials")
    done: dict[str, tuple[dict, str]] = {}

    def run(name: str) -> tuple[dict, str]:
        if name not in done:
            done[name] = _run_small(name, folder)
        return done[name]

    run.folder = folder
    return run


def _run_small(name: str, out: Path) -> tuple[dict, str]:
    """``main(out, small=True)`` on one BLAS thread (small problems; robust on a busy machine)."""
    module = load_tutorial(name)
    t0 = time.perf_counter()
    with threadpool_limits(1, user_api="blas"), contextlib.redirect_stdout(io.StringIO()) as printed:
        numbers = module.main(out, small=True)
    elapsed = time.perf_counter() - t0
    figure = out / module.FIGURE
    assert numbers["figure"] == figure and module.FIGURE == f"{name}.png"
    assert figure.is_file() and figure.read_bytes()[:8] == PNG_MAGIC and figure.stat().st_size > 10_000
    assert "figure:" in printed.getvalue()
    assert elapsed < 60, f"the small version of {name} took {elapsed:.1f} s"
    return numbers, printed.getvalue()


# --------------------------------------------------------------------------- (a) tutorials
def test_tutorial_critical_p10(small_runs):
    n, printed = small_runs("critical_p10")
    assert n["splits"] == 2_000
    assert 0.35 <= n["r_c"] <= 0.45  # Liu et al.: r_c ≈ 0.4
    lo, hi = n["r_c_ci"]
    assert lo <= n["r_c"] <= hi and hi - lo < 0.02
    assert n["median_size"] in (22, 23, 24)
    assert abs(n["n_c"] - 55 * n["r_c"]) < 1e-9
    for curve, brute in n["check"].values():  # independent draws, independent algorithm
        assert 0.2 < curve < 0.8
        assert abs(curve - brute) < 0.1
    assert "r_c = 0.4" in printed


def test_tutorial_rate_vs_fraction(small_runs):
    n, printed = small_runs("rate_vs_fraction")
    assert n["full_table_gram_eigenvalue"] == pytest.approx(30.0, rel=1e-12)  # λ3(G) = m(m+1), p = 2m
    assert n["full_table_rate"] == pytest.approx(2 * 30.0 / 9, rel=1e-12)  # H = 2G/(N Z0), Z0 = 9
    medians = list(n["median_rate"].values())  # at r ≈ 0.5, 0.6, ..., 0.9
    assert all(a < b for a, b in itertools.pairwise(medians))
    assert 0 < medians[0] < medians[-1] < n["full_table_rate"]
    assert n["p_pinned"][55] == 1.0 and n["p_pinned"][15] < 0.05 and n["p_pinned"][40] > 0.9
    assert "λ3(G) = 30" in printed


def test_tutorial_trajectory(small_runs):
    n, _ = small_runs("trajectory")
    assert reached(n["steps_to_rqi"])
    assert 1.5 < n["ratio"] < 5  # "trajectories take ≈ 3 n_h"
    assert n["final_rqi"] > 0.95
    assert n["predicted_test_acc"] == pytest.approx(n["ideal_test_accuracy"])
    assert n["decay_rate"] == pytest.approx(n["predicted_decay_rate"], rel=0.05)  # 2 η λ3
    assert n["rk4_vs_exact"] < 1e-4
    assert n["n_h"] == pytest.approx(1 / (1e-3 * n["grokking_rate"]), rel=1e-12)
    assert n["reference_n_h"] == pytest.approx(150.0, rel=1e-9)  # λ3(G) = 30, Z0 = 9, η = 1e-3
    assert reached(n["reference_steps_to_rqi"]) and n["reference_steps_to_rqi"] > n["steps_to_rqi"]


def test_tutorial_lazy_rich(small_runs):
    n, _ = small_runs("lazy_rich")
    # kernel quantities do not depend on the output scale α
    assert n["cka_spread"] < 1e-8
    assert n["lazy_test_loss_spread"] < 1e-8
    assert n["course_spread"] < 1e-8
    rows = n["rows"]
    scale = [r["kernel_scale"] / r["alpha"] ** 2 for r in rows]
    assert np.ptp(scale) < 1e-9 * max(scale)  # Θ₀ ∝ α²
    for r in rows:
        assert 0 < r["cka"] < 0.2  # misaligned initial features
        assert r["lazy_train_loss"] < 1e-10  # the lazy fit interpolates
        assert r["finite_vs_infinite"] < 0.05
    # the lazy plateau does not generalise, and the test loss rises before it settles
    assert n["lazy_test_loss"] > 0.9 * n["target_variance"]
    assert n["lazy_test_peak"] > n["initial_test_loss"] > n["lazy_test_loss"]


def test_tutorial_phase_diagram(small_runs):
    n, printed = small_runs("phase_diagram")
    phases = n["phases"]
    lr, wd = n["lr_dec"], n["wd_dec"]
    assert phases.shape == (wd.size, lr.size) == (3, 4)
    assert set(np.unique(phases)) <= set(range(len(PHASES)))  # every cell in one of the four phases
    assert sum(n["counts"].values()) == phases.size
    assert [n["counts"][k] for k in PHASES] == [int(np.sum(phases == i)) for i in range(len(PHASES))]
    # the classification agrees with the definition (Liu et al. Table 1) applied by hand
    budget, gap = n["steps"], n["gap"]
    for st, se, ph in zip(
        n["step_train_acc"].ravel(), n["step_test_acc"].ravel(), phases.ravel(), strict=True
    ):
        tr, te = 0 <= st <= budget, 0 <= se <= budget
        want = (
            ("comprehension" if se - st < gap else "grokking")
            if tr and te
            else ("memorization" if tr else "confusion")
        )
        assert PHASES[ph] == want
    # what even this short budget shows (SPEC 6): the slowest decoder has not fitted its training
    # set; a fast decoder without weight decay memorises; the fastest with the largest decay is confused
    memo, conf = PHASES.index("memorization"), PHASES.index("confusion")
    assert np.all(phases[:, 0] == conf)
    assert phases[0, -1] == memo and phases[0, -2] == memo
    assert phases[-1, -1] == conf
    # without weight decay, a faster decoder fits its training set sooner
    fitted = n["step_train_acc"][0][reached(n["step_train_acc"][0])]
    assert fitted.size >= 2 and np.all(np.diff(fitted) < 0)
    assert "cells by phase:" in printed


def test_tutorial_own_network(small_runs):
    n, printed = small_runs("own_network")
    task = effgrok.make_task("add-mod", 23)
    p, H, fractions, seeds = task.n_symbols, 64, n["fractions"], n["seeds"]
    want = list(itertools.product(fractions, seeds))  # Grid.product: first axis slowest
    bi, mlp = n["models"]["Bilinear"], n["models"]["MLP"]
    assert bi["params"] == 2 * p * H and mlp["params"] == 2 * p * H + H + p  # E, U; W1, b1, W2, b2
    assert "embedding_norm" in bi["curves"] and "embedding_norm" not in mlp["curves"]
    for m in (bi, mlp):
        assert list(zip(m["train_fraction"].tolist(), m["seed"].tolist(), strict=True)) == want
        assert m["n_train"].tolist() == [round(f * task.n_examples) for f, _ in want]
    # the driver's curves against a numpy forward pass of the final parameters (an independent
    # implementation of the tutorial's model), on each run's own held-out examples
    r = n["runs"]["Bilinear"]
    a, b = task.pairs[:, 0], task.pairs[:, 1]
    for k in range(len(want)):
        E, U = (np.asarray(r.params[name][k], np.float64) for name in ("E", "U"))
        correct = np.argmax((E[a] * E[b]) @ U, axis=1) == task.results
        assert r.test_acc[k, -1] == pytest.approx(correct[~r.train_mask[k]].mean(), abs=1e-12)
        assert r.embedding_norm[k, -1] == pytest.approx(np.linalg.norm(E), rel=1e-12)
    # what the page says: both fit their training sets within 100 steps; at f = 0.8 the bilinear
    # network reaches 99 % test accuracy in every run, the ReLU MLP of the same size in none,
    # and at every fraction the bilinear network ends with the higher test accuracy
    assert np.all(bi["step_train_99"] <= 100) and np.all(mlp["step_train_99"] <= 100)
    top = bi["train_fraction"] == 0.8
    assert reached(bi["step_test_99"][top]).all() and not reached(mlp["step_test_99"]).any()
    for f in fractions:
        sel = bi["train_fraction"] == f
        assert bi["final_test_acc"][sel].mean() > mlp["final_test_acc"][sel].mean()
    assert "Bilinear f=0.8" in printed


# --------------------------------------------------------------------------- (b) the site builds
@pytest.fixture(scope="module")
def site(tmp_path_factory, small_runs) -> Path:
    """The HTML site, built once for this module with warnings as errors (as in CI), with the
    figures of the tutorials' small runs (``-D effgrok_tutorial_figures=FOLDER``; the build's
    own runs of the tutorials are checked by :func:`test_the_build_makes_the_tutorial_figures`)."""
    for name in TUTORIAL_NAMES:
        small_runs(name)
    out = tmp_path_factory.mktemp("docs") / "html"
    figures = f"effgrok_tutorial_figures={small_runs.folder}"
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "-q", "-D", figures]
    cmd += [str(DOCS), str(out)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1500)
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 0, f"sphinx-build failed after {elapsed:.0f} s:\n{proc.stdout}\n{proc.stderr}"
    return out


def test_docs_build_without_warnings(site):
    out = site
    for page in (
        "index.html",
        "getting_started.html",
        "concepts/effective_theory.html",
        "concepts/effective_loss.html",
        "concepts/kernels.html",
        "howto/critical_scan.html",
        "howto/loss_conventions.html",
        "howto/ntk.html",
        "howto/networks.html",
        "howto/validation.html",
        "api/nets/index.html",
        "api/nets/phases.html",
        "api/nets/lazy_rich.html",
        "api/nets/modular.html",
        "theory_notes.html",
        "glossary.html",
        "validation/index.html",
        "api/effgrok.html",
        "api/scan.html",
        "api/results.html",
    ):
        assert (out / page).is_file(), page
    for theory in sorted((DOCS / "theory").glob("*.md")):  # every generated note is in the site
        assert (out / "theory" / f"{theory.stem}.html").is_file(), theory.name
    for name in TUTORIAL_NAMES:  # figures made at build time, into the output only
        assert (out / "tutorials" / f"{name}.html").is_file()
        assert (out / "_tutorial_figures" / f"{name}.png").read_bytes()[:8] == PNG_MAGIC
        assert not (TUTORIALS / f"{name}.png").exists()
    api = (out / "api" / "effective" / "spectrum.html").read_text(encoding="utf-8")
    assert 'id="effgrok.effective.spectrum.grokking_rate"' in api  # autodoc rendered, not echoed
    assert ".. py:" not in api
    nets = (out / "api" / "nets" / "toy.html").read_text(encoding="utf-8")
    assert 'id="effgrok.nets.toy.train_toy"' in nets and 'id="effgrok.nets.toy.ToyConfig"' in nets


def test_the_build_makes_the_tutorial_figures(tmp_path, monkeypatch):
    """Without a folder of figures the build runs each tutorial's small version into its output
    (one tutorial here: the site above takes the small runs' figures); a folder without a
    figure is a warning, which ``-W`` makes an error."""
    spec = importlib.util.spec_from_file_location("effgrok_docs_conf", DOCS / "conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    warned = []
    monkeypatch.setattr(conf, "TUTORIALS", ("critical_p10",))
    monkeypatch.setattr(conf.logger, "warning", lambda *a, **k: warned.append(a))
    config = SimpleNamespace(effgrok_tutorial_figures=1)
    app = SimpleNamespace(config=config, builder=SimpleNamespace(format="html"), outdir=str(tmp_path))
    conf._make_figures(app)
    assert (tmp_path / conf.FIGURE_FOLDER / "critical_p10.png").read_bytes()[:8] == PNG_MAGIC
    assert not warned
    config.effgrok_tutorial_figures = str(tmp_path / "empty")
    conf._make_figures(app)
    assert len(warned) == 1 and warned[0][1:] == ("critical_p10.png", tmp_path / "empty")
    config.effgrok_tutorial_figures = "0"
    conf._make_figures(app)
    assert conf._BUILD["figures"] is False and len(warned) == 1


#: A URL that leaves the site: a scheme (``https:``, ``file:``, ...) or a protocol-relative ``//``.
EXTERNAL = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//)")


def _loaded_resources(page: str) -> list[tuple[str, str]]:
    """(tag, URL) of everything a page makes the browser load: scripts, stylesheets and other
    ``<link>`` resources, images, frames, media sources, and ``url()`` / ``@import`` in inline
    styles."""
    found = []
    for tag, attrs in re.findall(
        r"<(script|link|img|iframe|source|video|audio|embed|object)\b([^>]*)>", page
    ):
        if tag == "link":
            rel = re.search(r'rel="([^"]*)"', attrs)
            if rel and set(rel.group(1).split()) <= {"index", "search", "next", "prev", "canonical"}:
                continue  # navigation between pages, not loaded
        for url in re.findall(r'\b(?:src|href|data|srcset)="([^"]*)"', attrs):
            found.append((tag, url))
    for style in re.findall(r"<style\b[^>]*>(.*?)</style>", page, flags=re.S):
        found += [("style", u) for u in _css_urls(style)]
    return found


def _css_urls(css: str) -> list[str]:
    return re.findall(r"""url\(\s*['"]?([^'")\s]+)""", css) + re.findall(r"""@import\s+['"]([^'"]+)""", css)


def test_site_loads_nothing_from_outside(site):
    """Offline (a train, a cluster node) every page renders as built: no script, stylesheet, font
    or image comes from outside the site, and math is MathML written at build time (no MathJax,
    no raw TeX left in the page titles)."""
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 50
    outside, titles_with_tex, with_math = [], [], 0
    for path in pages:
        page = path.read_text(encoding="utf-8")
        where = path.relative_to(site)
        outside += [(str(where), tag, url) for tag, url in _loaded_resources(page) if EXTERNAL.match(url)]
        title = re.search(r"<title>(.*?)</title>", page, flags=re.S).group(1)
        if re.search(r"\\[a-zA-Z(\[]|\$", title):
            titles_with_tex.append((str(where), title))
        assert not re.search(r"<script[^>]*mathjax", page, flags=re.I), f"{where} loads MathJax"
        assert not re.search(r'class="math[^"]*">\s*\\[(\[]', page), f"{where} has unrendered TeX"
        with_math += "<math " in page
    for css in site.rglob("*.css"):  # the theme's and ours: no web fonts or imports from outside
        outside += [
            (str(css.relative_to(site)), "css", u)
            for u in _css_urls(css.read_text("utf-8"))
            if EXTERNAL.match(u) and not u.startswith("data:")
        ]
    assert outside == [], f"resources loaded from outside the site: {outside[:10]}"
    assert titles_with_tex == [], f"page titles with raw TeX: {titles_with_tex[:10]}"
    # the pages that are mostly math: rendered, not echoed
    theory = (site / "concepts" / "effective_theory.html").read_text(encoding="utf-8")
    assert theory.count("<math ") > 100 and "\\lambda" not in theory
    assert with_math > 20
    title = re.search(
        r"<title>(.*?)</title>", (site / "tutorials" / "rate_vs_fraction.html").read_text("utf-8")
    )
    assert "λ" in title.group(1)  # "The grokking rate $\lambda_3$ ..." -> "... λ3 ..."


def test_math_converter_renders_and_flags(monkeypatch):
    """The build-time converter: MathML for the TeX the pages use, a warning for what it cannot
    convert (so ``sphinx -W`` fails instead of shipping raw TeX)."""
    spec = importlib.util.spec_from_file_location("effgrok_docs_mathml", DOCS / "_ext" / "mathml.py")
    mathml = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mathml)
    out = mathml.to_mathml(r"n_h = \frac{1}{\eta \lambda_3}", display=True)
    assert out.startswith("<math") and 'display="block"' in out
    assert "<mfrac>" in out and "&#x003BB;" in out and "\\" not in out
    aligned = mathml.to_mathml(r"\begin{aligned} a &= b \\ c &= d \end{aligned}", display=True)
    assert "<mtable" in aligned and ">&<" not in aligned
    assert "fan_in" in mathml.to_mathml(r"\sqrt{\text{fan\_in}}", display=False)
    warned = []
    monkeypatch.setattr(mathml.logger, "warning", lambda *a, **k: warned.append(a))
    mathml.to_mathml(r"\notacommand x", display=False)
    assert warned, "unknown TeX was not reported"


# --------------------------------------------------------------------------- (c) coverage of the pages
def test_api_page_lists_the_public_api():
    page = (DOCS / "api" / "effgrok.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"~effgrok\.[\w.]+\.(\w+)\s*$", page, flags=re.M))
    public = set(effgrok.__all__) - {"__version__"}
    assert public - listed == set(), "names missing from docs/api/effgrok.md"
    assert listed - public == set(), "names on docs/api/effgrok.md that effgrok does not export"


def _api_generator():
    spec = importlib.util.spec_from_file_location("effgrok_docs_generate", DOCS / "api" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_public_module_has_an_api_page():
    """Each public module and package (the list ``docs/api/generate.py`` makes its name pages
    from) has a page in ``docs/api/`` that autodocuments it."""
    generate = _api_generator()
    pages = (DOCS / "api").rglob("*.md")
    documented = {m for p in pages for m in re.findall(r"automodule:: ([\w.]+)", p.read_text("utf-8"))}
    public = set(generate.modules()) - set(generate.SKIP)
    assert {"effgrok.nets.transformer", "effgrok.nets.digits", "effgrok.nets.engine"} <= public
    assert public - documented == set(), "public modules without an API page"
    extra = {m for m in documented - public if not any(part.startswith("_") for part in m.split("."))}
    assert extra == set(), "API pages for modules that do not exist"


def test_api_pages_document_every_exported_name(site):
    """Every name in every package's ``__all__`` has an entry (an HTML anchor) on the built API
    pages: a function, class or datum at ``effgrok.<module>.<name>``, a module at ``module-...``."""
    generate = _api_generator()
    anchors = set()
    for page in (site / "api").rglob("*.html"):
        anchors |= set(re.findall(r'id="([\w.-]+)"', page.read_text(encoding="utf-8")))
    names = {a.rpartition(".")[2] for a in anchors if a.startswith("effgrok.")}
    missing = []
    for package in generate.packages():
        if package in generate.SKIP:
            continue
        module = importlib.import_module(package)
        for name in module.__all__:
            obj = getattr(module, name)
            if name == "__version__":
                continue
            if inspect.ismodule(obj):
                if obj.__name__.startswith("effgrok") and f"module-{obj.__name__}" not in anchors:
                    missing.append(f"{package}.{name}")
                continue  # a third-party module re-exported (effgrok.plot.plt is pyplot)
            home = getattr(obj, "__module__", None) if callable(obj) else None
            if home and home.startswith("effgrok.") and not home.rpartition(".")[2].startswith("_"):
                documented = f"{home}.{name}" in anchors  # where it is defined
            else:
                documented = name in names  # data, or re-exported from a private module
            if not documented:
                missing.append(f"{package}.{name}")
    assert missing == [], f"exported names with no entry on the API pages: {missing}"
    nets = {a for a in anchors if a.startswith("effgrok.nets.")}
    for module in ("transformer", "digits", "engine"):
        assert any(a.startswith(f"effgrok.nets.{module}.") for a in nets), module


def test_api_pages_import_no_heavy_modules():
    """autodoc imports the documented modules; none may pull in JAX, neural-tangents or pyplot."""
    pages = (DOCS / "api").rglob("*.md")
    modules = sorted({m for p in pages for m in re.findall(r"automodule:: ([\w.]+)", p.read_text("utf-8"))})
    # effgrok.plot is the figures: it imports matplotlib by design (its page says so)
    modules = [m for m in modules if m != "effgrok.plot" and not m.startswith("effgrok.plot.")]
    assert "effgrok.scan" in modules and "effgrok.kernels.ntk" in modules
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "heavy = ('jax', 'neural_tangents', 'tensorflow', 'optax', 'matplotlib.pyplot', 'distributed')\n"
        "print(' '.join(h for h in heavy if h in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"heavy modules imported: {proc.stdout.strip()}"


def test_every_tutorial_has_a_page():
    conf = (DOCS / "conf.py").read_text(encoding="utf-8")
    index = (TUTORIALS / "index.md").read_text(encoding="utf-8")
    scripts = sorted(p.stem for p in TUTORIALS.glob("*.py") if not p.stem.startswith("_"))
    assert scripts == sorted(TUTORIAL_NAMES)
    for name in scripts:
        page = (TUTORIALS / f"{name}.md").read_text(encoding="utf-8")
        assert f"```{{literalinclude}} {name}.py" in page
        assert f"```{{tutorial-figure}} {name}.png" in page
        assert re.search(rf"^{name}$", index, flags=re.M), f"{name} is not in the tutorials toctree"
        assert f'"{name}"' in conf, f"{name} is not in TUTORIALS of docs/conf.py"
        module = load_tutorial(name)
        assert module.FIGURE == f"{name}.png"
        assert list(module.main.__code__.co_varnames[:2]) == ["out_dir", "small"]
        assert module.main.__defaults__ == (False,)


#: full tutorial runs too long for the suite (``-m slow``): phase_diagram trains 176 toy networks
#: for 10 000 steps (about 4 min on 2 cores); the others take seconds and run with the suite
SLOW_TUTORIALS = {"phase_diagram"}


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=[pytest.mark.slow] if n in SLOW_TUTORIALS else []) for n in TUTORIAL_NAMES]
)
def test_full_tutorial_output_matches_its_page(name, tmp_path, capsys):
    """The output quoted under "The result" on each page is what the full run prints."""
    page = (TUTORIALS / f"{name}.md").read_text(encoding="utf-8")
    quoted = re.search(r"## The result\s*```text\n(.*?)```", page, flags=re.S).group(1).splitlines()
    with threadpool_limits(1, user_api="blas"):
        load_tutorial(name).main(tmp_path, small=False)
    printed = capsys.readouterr().out.splitlines()
    assert [line for line in printed if not line.lstrip().startswith("figure:")] == quoted
