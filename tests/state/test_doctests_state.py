"""The docstring examples of gntplib.state run."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ['gntplib.state.store', 'gntplib.state.sqlite', 'gntplib.state.records',
           'gntplib.state.outbox', 'gntplib.state.forward', 'gntplib.state.keeper',
           'gntplib.state.subscribers']


@pytest.mark.parametrize('name', MODULES)
def test_docstring_examples_run(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
