"""The examples in the core modules' docstrings run."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ['constants', 'keys', 'ciphers', 'models', 'requests', 'reader', 'packers', 'lib',
           'connections', 'exchange']


@pytest.mark.parametrize('name', MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(f'gntplib.{name}')
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
