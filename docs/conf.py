"""Sphinx configuration of the effgrok documentation.

Build (warnings are errors, as in CI)::

    uv run python -m sphinx -W --keep-going -b html docs build/docs

Sources are MyST markdown.  The build needs no network, and neither does the site: math is
converted to MathML at build time (``docs/_ext/mathml.py``, no MathJax), and every script,
stylesheet and font is served from the site itself.  The API reference imports
``effgrok`` and its light submodules only (JAX is imported inside the kernel functions that
need it, never at import time).  With the HTML builder the tutorial figures are produced at
build time by each tutorial's ``main(out_dir, small=True)`` (a few seconds) straight into the
build output -- nothing generated is written into the source tree.  ``-D
effgrok_tutorial_figures=0`` turns that off; the pages then say how to produce the figures.
``-D effgrok_tutorial_figures=FOLDER`` copies them instead from a folder the tutorials already
wrote (``<name>.png`` each, e.g. ``runs/tutorials`` after the full-size runs).
"""

from __future__ import annotations

import contextlib
import html
import importlib.util
import io
import shutil
import sys
import time
from pathlib import Path
from typing import ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.osutil import relative_uri

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
if str(ROOT) not in sys.path:  # the checkout's effgrok, also when not installed
    sys.path.insert(0, str(ROOT))
if str(DOCS / "_ext") not in sys.path:  # this site's own Sphinx extensions
    sys.path.insert(0, str(DOCS / "_ext"))

import effgrok  # noqa: E402

# -- project -----------------------------------------------------------------------------
project = "effgrok"
author = "effgrok developers"
copyright = "effgrok developers"
version = release = effgrok.__version__

# -- general -----------------------------------------------------------------------------
extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "mathml",  # docs/_ext/mathml.py: TeX -> MathML at build time, no MathJax
    "sphinx.ext.viewcode",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
nitpicky = False
language = "en"
today_fmt = "%Y-%m-%d"

# -- MyST --------------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
myst_dmath_double_inline = True  # the generated theory notes put $$...$$ inside paragraphs

# -- autodoc / napoleon ------------------------------------------------------------------
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "signature"
# Off: the functions that also take a task name (effgrok.tasks.takes_task) add a keyword ``p``
# to their signature that their source does not have, which breaks Sphinx's re-reading of the
# defaults from the source; signatures show the default values instead of their names.
autodoc_preserve_defaults = False
autodoc_mock_imports: list[str] = []  # nothing to mock: heavy imports are deferred in the code
autosummary_generate = False  # summary tables only; no stub files are written
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_ivar = True
napoleon_use_rtype = False

# -- HTML --------------------------------------------------------------------------------
html_theme = "alabaster"
html_title = f"effgrok {release}"
html_math_renderer = "mathml"
html_static_path = ["_static"]
html_css_files = ["effgrok.css"]  # wide tables scroll inside their box; MathML display math
html_theme_options = {
    "description": "The effective and kernel theories of grokking as fast, checkable numbers.",
    "fixed_sidebar": True,
    "page_width": "1100px",
    "sidebar_width": "240px",
}
html_show_sourcelink = False

# -- tutorial figures --------------------------------------------------------------------
#: Tutorial scripts whose ``main(out_dir, small=True)`` makes the figures shown in the pages.
TUTORIALS = ("critical_p10", "rate_vs_fraction", "trajectory", "lazy_rich", "phase_diagram", "own_network")
FIGURE_FOLDER = "_tutorial_figures"

logger = logging.getLogger(__name__)


def load_tutorial(name: str):
    """Import ``docs/tutorials/<name>.py`` as a module (the tutorials are not a package)."""
    path = DOCS / "tutorials" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"effgrok_tutorial_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as an import does: a dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


#: Set when the builder starts: whether figures are made, and the builder (for relative links).
_BUILD: dict = {"figures": False, "builder": None}


def _make_figures(app) -> None:
    """Run every tutorial at its small size into the build output, or copy its figure from the
    folder ``effgrok_tutorial_figures`` names (HTML builders only)."""
    setting = str(app.config.effgrok_tutorial_figures).strip()
    made = None if setting in ("0", "1") else Path(setting)
    _BUILD["builder"] = app.builder
    _BUILD["figures"] = setting != "0" and app.builder.format == "html"
    if not _BUILD["figures"]:
        return
    from threadpoolctl import threadpool_limits

    out = Path(app.outdir) / FIGURE_FOLDER
    out.mkdir(parents=True, exist_ok=True)
    for name in TUTORIALS:
        if made is not None:
            figure = made / f"{name}.png"
            if figure.is_file():
                shutil.copyfile(figure, out / figure.name)
            else:
                logger.warning("tutorial figure %s is not in %s", figure.name, made, type="effgrok")
            continue
        t0 = time.perf_counter()
        try:
            # one BLAS thread: the small problems gain nothing from more, and a threaded BLAS
            # on a busy machine can be many times slower
            with contextlib.redirect_stdout(io.StringIO()), threadpool_limits(1, user_api="blas"):
                load_tutorial(name).main(out, small=True)
        except Exception as exc:  # a broken tutorial is a documentation error
            logger.warning("tutorial %s failed while making its figure: %r", name, exc, type="effgrok")
            continue
        logger.info("tutorial figure %s: %.1f s", name, time.perf_counter() - t0)


class TutorialFigure(SphinxDirective):
    """``{tutorial-figure} NAME.png``: a figure made at build time by a tutorial's small run.

    The content is the caption.  Without figures (another builder, or
    ``effgrok_tutorial_figures = 0``) it becomes a note on how to produce the figure.
    """

    required_arguments = 1
    has_content = True
    option_spec: ClassVar[dict] = {"alt": directives.unchanged, "script": directives.unchanged}

    def run(self):
        name = self.arguments[0]
        script = self.options.get("script", f"docs/tutorials/{Path(name).stem}.py")
        if not _BUILD["figures"]:
            note = nodes.note()
            note += nodes.paragraph(text="Figure not built here; to make it, run ")
            note[-1] += nodes.literal(text=f"uv run python {script} --small")
            note[-1] += nodes.Text(f" (it writes runs/tutorials/{name}).")
            note += self.parse_content_to_nodes()
            return [note]
        page = _BUILD["builder"].get_target_uri(self.env.docname)
        src = relative_uri(page, f"{FIGURE_FOLDER}/{name}")
        alt = html.escape(self.options.get("alt", name), quote=True)
        box = nodes.container(classes=["tutorial-figure"])
        box += nodes.raw("", f'<img src="{src}" alt="{alt}" style="max-width: 100%">', format="html")
        box += self.parse_content_to_nodes()  # the caption, as markdown
        return [box]


def setup(app):
    app.add_config_value("effgrok_tutorial_figures", "1", "env", types=(str, int))
    app.add_directive("tutorial-figure", TutorialFigure)
    app.connect("builder-inited", _make_figures)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
