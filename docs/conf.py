"""Sphinx configuration of the topoanalysis documentation (``make docs``).

The build is offline (no intersphinx, nothing fetched) and strict: ``make docs`` runs
``sphinx-build -E -W --keep-going``, so a warning, a dangling reference or an example that
raises fails it. The example gallery (``docs/examples/plot_*.py``) is executed on every build
on the bundled checkpoints and the shared data, on the CPU.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Before anything imports torch: one OpenMP thread per process. On the 2-core machines this
# project runs on, beside a training job or the test suite, torch's default of one thread per
# core made recording the 640 gratings about ten times slower (19 s instead of 2 s).
os.environ.setdefault("OMP_NUM_THREADS", "1")

import matplotlib  # noqa: E402

matplotlib.use("Agg")  # headless; sphinx-gallery scrapes the figures the examples draw

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))  # document (and run the examples on) this checkout
sys.path.insert(0, str(DOCS / "_ext"))

import topoanalysis  # noqa: E402

project = "topoanalysis"
author = "the topoanalysis authors"
copyright = "the topoanalysis authors"
version = release = topoanalysis.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "params_table",  # docs/_ext: the parameter tables, defaults read from the code
    "mathml",  # docs/_ext: equations as MathML, written at build time (no MathJax from a CDN)
]
html_math_renderer = "mathml"

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "examples/README.rst"]
root_doc = "index"
default_role = "literal"  # `text` in a docstring is code, not a cross-reference guess

# -- API reference --------------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True}
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # the numpydoc sections carry the types; annotations are not repeated
autodoc_preserve_defaults = True  # show `V1MapsParams()` rather than its repr as a default
autodoc_inherit_docstrings = True

numpydoc_show_class_members = False  # autodoc lists the members itself
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set[str] = set()  # docstrings are checked by review, not by the build
numpydoc_xref_param_type = False

# -- example gallery ------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r".*",  # execute every example
    "ignore_pattern": r"__init__\.py",
    "abort_on_example_error": True,  # the first example that raises stops the build
    "run_stale_examples": True,  # re-run on every build, so a change in topoanalysis/ is caught
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_memory": False,
    "backreferences_dir": "gen_modules/backreferences",
    "doc_module": ("topoanalysis",),
    "min_reported_time": 1,
}

# -- HTML -----------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"topoanalysis {release}"
html_static_path = ["_static"]
html_css_files = ["topoanalysis.css"]
html_show_sourcelink = False


# -- dangling references --------------------------------------------------------------------
# Sphinx is silent about a Python cross-reference it cannot resolve unless nitpicky, and
# nitpicky would also flag every annotation and docstring reference to numpy, torch or pandas
# (there is no intersphinx offline). So: the pages written for this site (everything but the
# generated API stubs and the summary lines autosummary copies from docstrings) must resolve
# every Python reference; an unresolved one is a warning.


def _dangling_reference(app, env, node, contnode):
    from_docstring = node.get("refdoc", "").startswith("generated/") or "<autosummary>" in (node.source or "")
    if node.get("refdomain") != "py" or from_docstring:
        return None
    from sphinx.util import logging

    logging.getLogger("topoanalysis-docs").warning(
        f"dangling reference: {node.get('reftype')} {node.get('reftarget')!r} is not documented", location=node)
    return None


def setup(app):
    app.connect("missing-reference", _dangling_reference)
