"""Sphinx configuration: numpydoc API pages and a sphinx-gallery of examples/plot_*.py,
so an example that breaks fails the documentation build.

``SKLEARN_RNN_DOCS_OFFLINE=1`` builds without the intersphinx inventories of Python,
scikit-learn and PyTorch (their names then render as plain code instead of links), so
that a machine without internet builds with ``-W`` too; tests/test_docs.py does so.
"""

import os
import sys
import warnings
from pathlib import Path

from docutils import nodes
from sklearn.exceptions import ConvergenceWarning

import sklearn_rnn
import sklearn_rnn.exceptions
import sklearn_rnn.nn

project = "sklearn-rnn"
copyright = "the sklearn-rnn developers (BSD-3-Clause)"
release = sklearn_rnn.__version__
version = release
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
templates_path = ["_templates"]
autosummary_generate = True
autodoc_member_order = "groupwise"
# Each class page documents its methods in full (``:members:`` in the class template),
# with numpydoc's table of them at the top, as scikit-learn's pages do. A torch module's
# table lists only what the class itself adds, not the methods of ``torch.nn.Module``.
numpydoc_show_class_members = True
numpydoc_class_members_toctree = False
numpydoc_show_inherited_class_members = {
    f"{module.__name__}.{name}": False
    for module in (sklearn_rnn.nn, sklearn_rnn.exceptions)
    for name in dir(module)
    if isinstance(getattr(module, name), type)
}
numpydoc_xref_param_type = False
exclude_patterns = [
    "_build",
    "_diagrams",
    "generated/*.examples",
    "sg_execution_times.rst",
]

if os.environ.get("SKLEARN_RNN_DOCS_OFFLINE"):
    intersphinx_mapping = {}
else:
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "torch": ("https://pytorch.org/docs/stable", None),
    }

# The examples train for seconds, on purpose: their ConvergenceWarnings (with this
# machine's paths in them) would only clutter the pages.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "abort_on_example_error": True,
    # the "examples using X" lists at the end of each API page
    "backreferences_dir": "generated",
    "doc_module": ("sklearn_rnn",),
    "reference_url": {"sklearn_rnn": None},
    # no docs/sg_execution_times.rst left in the source tree
    "write_computation_times": False,
}
html_theme = "alabaster"
html_static_path = ["_static"]
html_theme_options = {
    "description": "RNN, LSTM and GRU behind the scikit-learn API",
    "page_width": "1100px",
    "sidebar_width": "230px",
    "fixed_sidebar": True,
}
html_sidebars = {
    "**": ["about.html", "navigation.html", "relations.html", "searchbox.html"]
}

# Labels and glossary terms of scikit-learn that its mixins' inherited docstrings cite
# (``score``: "Return :ref:`accuracy <accuracy_score>` ..."): linked to their pages
# directly, so that they resolve without the intersphinx inventory too.
_SKLEARN_LABELS = {
    "accuracy_score": "modules/model_evaluation.html#accuracy-score",
    "r2_score": "modules/model_evaluation.html#r2-score",
    "metadata_routing": "metadata_routing.html",
    "df_output_transform": "auto_examples/miscellaneous/plot_set_output.html",
    "sphx_glr_auto_examples_miscellaneous_plot_set_output.py": (
        "auto_examples/miscellaneous/plot_set_output.html"
    ),
}


def _sklearn_label(app, env, node, contnode):
    target = node.get("reftarget", "")
    if node.get("reftype") == "term":  # scikit-learn's glossary ("meta-estimator")
        page = "glossary.html#term-" + target.lower().replace(" ", "-")
    elif node.get("reftype") == "ref" and target in _SKLEARN_LABELS:
        page = _SKLEARN_LABELS[target]
    else:
        return None
    uri = "https://scikit-learn.org/stable/" + page
    return nodes.reference("", "", contnode, refuri=uri, internal=False)


def _benchmark_pages(app):
    sys.path.insert(0, str(Path(__file__).parent))
    from _benchmarks import write_pages

    write_pages(Path(app.srcdir) / "generated" / "benchmarks")


def setup(app):
    app.connect("builder-inited", _benchmark_pages)
    # after intersphinx, which resolves these labels itself when its inventory loads
    app.connect("missing-reference", _sklearn_label, priority=900)
