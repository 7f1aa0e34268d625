"""Sphinx configuration for the gntplib documentation."""

import configparser
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, ROOT)

# Read the version from setup.cfg so building the docs never imports the package.
_setup_cfg = configparser.ConfigParser()
_setup_cfg.read(os.path.join(ROOT, "setup.cfg"))

project = "gntplib"
author = "the gntplib developers"
copyright = "2026, the gntplib developers"
release = _setup_cfg.get("metadata", "version", fallback="0")
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]

napoleon_google_docstring = True
napoleon_numpy_docstring = False
autodoc_member_order = "bysource"

exclude_patterns = ["_build"]

html_theme = "alabaster"
