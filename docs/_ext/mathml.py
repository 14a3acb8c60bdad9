"""Render math as MathML when the site is built: no JavaScript, no network.

Sphinx's default HTML math renderer (``sphinx.ext.mathjax``) leaves the TeX source in the page
and loads MathJax from a content-delivery network, so offline (a train, a cluster node) every
formula -- page titles included -- shows as raw ``\\(\\lambda_3\\)``.  This extension converts
each formula to MathML at build time with the pure-Python ``latex2mathml``; browsers render
MathML Core natively (Chromium >= 109, Firefox, Safari).  Page titles come out as plain text
(``λ3``): the ``<title>`` is the rendered heading with its tags stripped.

A formula the converter does not understand (it leaves an unknown ``\\command`` as text, or a
bare ``&``) is a build warning, so ``sphinx -W`` fails on it instead of shipping raw TeX.

Reference: MathML Core, W3C Candidate Recommendation (2023), https://www.w3.org/TR/mathml-core/.
"""

from __future__ import annotations

import html
import re

from docutils import nodes
from latex2mathml.converter import convert
from sphinx.util import logging
from sphinx.util.math import get_node_equation_number

logger = logging.getLogger(__name__)

#: Environments latex2mathml lacks, mapped to ones with the same layout that it has.
_ENVIRONMENTS = {"aligned": "split", "gathered": "gather*", "align*": "split"}


def _prepare(latex: str) -> str:
    """The TeX as latex2mathml understands it (``aligned`` -> ``split``, ...)."""
    for old, new in _ENVIRONMENTS.items():
        latex = latex.replace(rf"\begin{{{old}}}", rf"\begin{{{new}}}")
        latex = latex.replace(rf"\end{{{old}}}", rf"\end{{{new}}}")
    # an escaped underscore in text mode: \text{fan\_in} -> \text{fan_in}
    latex = re.sub(r"\\text\{([^{}]*)\}", lambda m: r"\text{" + m.group(1).replace(r"\_", "_") + "}", latex)
    return latex.strip()


def to_mathml(latex: str, display: bool, where: nodes.Node | None = None) -> str:
    """One MathML ``<math>`` element for the TeX ``latex``; a warning where it is not understood.

    Example::

        >>> to_mathml(r"\\lambda_3", display=False)[:60]
        '<math xmlns="http://www.w3.org/1998/Math/MathML" display="in'
    """
    try:
        out = convert(_prepare(latex), display="block" if display else "inline")
    except Exception as exc:  # the converter raises its own exception types
        logger.warning("math not converted to MathML (%r): %s", exc, latex, location=where, type="mathml")
        return f'<code class="math-source">{html.escape(latex)}</code>'
    text = re.sub(r"<[^>]*>", " ", out)
    if "\\" in text or re.search(r"&(?![#\w]+;)", text):
        logger.warning(
            "math left partly as TeX by the MathML converter: %s", latex, location=where, type="mathml"
        )
    return out


def html_visit_math(self, node: nodes.math) -> None:
    """Inline math ``$...$``."""
    self.body.append(self.starttag(node, "span", "", CLASS="math"))
    self.body.append(to_mathml(node.astext(), display=False, where=node))
    self.body.append("</span>")
    raise nodes.SkipNode


def html_visit_displaymath(self, node: nodes.math_block) -> None:
    """Display math ``$$...$$`` and amsmath environments, numbered as Sphinx numbers them."""
    self.body.append(self.starttag(node, "div", CLASS="math"))
    if node["number"]:
        number = get_node_equation_number(self, node)
        self.body.append(f'<span class="eqno">({number})')
        self.add_permalink_ref(node, "Link to this equation")
        self.body.append("</span>")
    latex = node.astext()
    parts = [part for part in latex.split("\n\n") if part.strip()]
    if not node.get("nowrap", False):
        # as sphinx.ext.mathjax: several blank-line separated equations are aligned, and an
        # equation broken with \\ is a split
        parts = [rf"\begin{{split}}{p}\end{{split}}" if r"\\" in p else p for p in parts]
    for part in parts:
        self.body.append(to_mathml(part, display=True, where=node))
    self.body.append("</div>\n")
    raise nodes.SkipNode


def setup(app):
    app.add_html_math_renderer(
        "mathml",
        inline_renderers=(html_visit_math, None),
        block_renderers=(html_visit_displaymath, None),
    )
    return {"parallel_read_safe": True, "parallel_write_safe": True}
