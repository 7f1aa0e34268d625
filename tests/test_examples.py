"""The examples' own tests run, as docs/async.rst tells a reader to run them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT, cli_env

pytest.importorskip('tornado')


def test_the_tornado_apps_tests_pass() -> None:
    """``examples/test_tornado_app.py``: AsyncHTTPTestCase against ServerThread, covering
    awaiting, fire-and-forget (a failure logged once) and a receiver down at start."""
    result = subprocess.run([sys.executable, '-m', 'unittest', '-v', 'test_tornado_app'],
                            cwd=str(ROOT / 'examples'), env=cli_env(), capture_output=True,
                            text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert 'Ran 4 tests' in result.stderr and result.stderr.rstrip().endswith('OK')
    assert 'never retrieved' not in result.stderr and 'Traceback' not in result.stderr
