"""Sphinx configuration for the gntplib documentation.

Build with warnings as errors, as CI does (``tests/test_docs.py``)::

    sphinx-build -W --keep-going -b html docs docs/_build/html
"""

import importlib.util
import inspect
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
# Document this checkout, not whichever gntplib happens to be installed.
sys.path.insert(0, ROOT)

# Read the version where setup.cfg reads it (``attr: gntplib.__version__``), as text, so the
# configuration itself never imports the package.
with open(os.path.join(ROOT, "gntplib", "__init__.py"), encoding="utf-8") as _init:
    _version = re.search(r"^__version__ = '([^']+)'", _init.read(), re.M)

project = "gntplib"
author = "the gntplib developers"
copyright = "2026, the gntplib developers"
release = _version.group(1) if _version else "0"
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]

# The docstrings are Google style (DESIGN.md §11).
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
autodoc_default_options = {
    "show-inheritance": True,
}

# ``::`` blocks are Python; shell sessions say ``.. code-block:: console``.
highlight_language = "python3"
pygments_style = "sphinx"

exclude_patterns = ["_build"]
templates_path = []

# furo is in the ``docs`` and ``test`` extras; fall back to Sphinx's built-in theme so a
# bare ``pip install sphinx`` still builds.
if importlib.util.find_spec("furo") is not None:
    html_theme = "furo"
else:  # pragma: no cover - depends on the environment
    html_theme = "alabaster"
html_title = f"gntplib {release}"
html_static_path = []


def _drop_builtin_type_docstrings(app, what, name, obj, options, lines):
    """A constant without a ``#:`` comment would show the docstring of its type (``int``,
    ``dict``...); show nothing instead, or the text written under ``autodata``."""
    if what not in ("data", "attribute") or not lines:
        return
    type_doc = getattr(type(obj), "__doc__", None)
    # A NamedTuple field's type keeps __doc__ in a slot: a descriptor, not text.
    if isinstance(type_doc, str) and type_doc and "\n".join(lines).strip() == inspect.cleandoc(type_doc).strip():
        lines[:] = []


def setup(app):
    # Before napoleon (priority 500) reads the text as a Google-style docstring.
    app.connect("autodoc-process-docstring", _drop_builtin_type_docstrings, priority=100)
