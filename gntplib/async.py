"""gntplib 0.5's module name, kept for old code: the same objects as :mod:`gntplib.async_`.

``async`` is a keyword since Python 3.7, so ``import gntplib.async`` is a syntax error;
load this module with ``importlib.import_module('gntplib.async')``. New code imports
:mod:`gntplib.async_`.

.. deprecated:: 1.0
   Use :mod:`gntplib.async_`.
"""

from __future__ import annotations

from .async_ import *  # noqa: F401,F403
from .async_ import __all__, logger  # noqa: F401
