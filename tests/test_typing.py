"""mypy checks the tests too (``[mypy-tests.*]`` in setup.cfg applies: ``tests`` is a package)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Modules whose errors predate mypy checking the tests; their owners fix them and take
#: them off this list. Any other module under tests/ must be clean.
PENDING: set = set()


def test_mypy_checks_the_tests() -> None:
    if importlib.util.find_spec('mypy') is None:
        pytest.skip('mypy is not installed (pip install -e .[test] installs it); typing was '
                    'NOT checked')
    result = subprocess.run([sys.executable, '-m', 'mypy', 'tests'], capture_output=True,
                            text=True, cwd=str(ROOT), timeout=300)
    errors = [line for line in result.stdout.splitlines()
              if re.match(r'[^:]+:\d+: error:', line) and line.split(':')[0] not in PENDING]
    assert not errors, '\n'.join(errors)
    assert 'error: ' not in result.stderr, result.stderr
    assert re.search(r'(Success|Found \d+ errors? in \d+ files?)', result.stdout), result.stdout
