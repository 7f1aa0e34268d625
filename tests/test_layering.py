"""The shape of the package: a sans-IO core, lazy heavy imports."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / 'gntplib'
CORE = ['constants', 'exceptions', 'keys', 'ciphers', 'models', 'wire', 'requests', 'reader',
        'packers', 'exchange', 'registry', 'receiver']
IO_MODULES = {'socket', 'ssl', 'select', 'selectors', 'asyncio', 'tornado', 'threading'}


def imported_modules(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name.split('.')[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split('.')[0]


@pytest.mark.parametrize('module', CORE)
def test_core_modules_do_no_io(module):
    assert not set(imported_modules(PACKAGE / f'{module}.py')) & IO_MODULES


def test_import_gntplib_loads_neither_tornado_nor_cryptodome():
    code = ('import sys, gntplib, gntplib.keys, gntplib.ciphers, gntplib.lib; '
            'print(sorted(m for m in sys.modules if m.split(".")[0] in '
            '("tornado", "Cryptodome", "asyncio")))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert out.strip() == '[]'


def test_missing_cryptodome_is_a_clear_error_on_first_use():
    code = '''
import sys
sys.modules["Cryptodome"] = None  # what an interpreter without pycryptodomex sees
import gntplib
from gntplib.ciphers import AES
from gntplib.keys import SHA256
gntplib.Publisher("App", ["e"], password="pw")  # no encryption asked: fine
try:
    gntplib.Publisher("App", ["e"], password="pw", encryption=AES)
except gntplib.GNTPEncryptionError as exc:
    print("ERROR:", exc)
'''
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert 'ERROR:' in out and "pip install 'gntplib[crypto]'" in out


def test_every_module_declares_all():
    for path in PACKAGE.glob('*.py'):
        if path.name.startswith('__'):
            continue
        assert '__all__' in path.read_text(), path.name
