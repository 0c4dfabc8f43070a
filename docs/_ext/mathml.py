"""An HTML math renderer that writes MathML (``html_math_renderer = "mathml"``).

Sphinx's default renderer, MathJax, loads its script from a CDN when the page is viewed, so
the equations of a site opened offline stay raw TeX. docutils converts the TeX to MathML at
build time instead (``docutils.utils.math.latex2mathml``), which browsers show natively. TeX it
cannot convert is a warning, so ``make docs`` (warnings are errors) fails on it.
"""

from __future__ import annotations

from docutils import nodes
from docutils.utils.math import latex2mathml
from sphinx.util import logging
from sphinx.util.math import get_node_equation_number

logger = logging.getLogger(__name__)


def _mathml(self, node: nodes.Element, latex: str, block: bool) -> str | None:
    try:
        return latex2mathml.tex2mathml(latex, as_block=block)
    except Exception as exc:  # docutils raises its own MathError, and others on malformed input
        logger.warning(f"cannot render the math {latex!r} as MathML: {exc}", location=node)
        return None


def visit_math(self, node: nodes.math) -> None:
    rendered = _mathml(self, node, node.astext(), block=False)
    self.body.append(rendered if rendered is not None else self.encode(node.astext()))
    raise nodes.SkipNode


def visit_displaymath(self, node: nodes.math_block) -> None:
    parts = [part for part in node.astext().split("\n\n") if part.strip()]
    self.body.append(self.starttag(node, "div", CLASS="math-block"))
    if node.get("number"):
        self.body.append(f'<span class="eqno">({get_node_equation_number(self, node)})</span>')
    for part in parts:
        rendered = _mathml(self, node, part, block=True)
        self.body.append(rendered if rendered is not None else f"<pre>{self.encode(part)}</pre>")
    self.body.append("</div>\n")
    raise nodes.SkipNode


def setup(app):
    app.add_html_math_renderer("mathml", (visit_math, None), (visit_displaymath, None))
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
