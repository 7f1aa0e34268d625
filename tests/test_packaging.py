"""What a newcomer gets from the package: the sdist is complete, installs into a clean
virtual environment and passes its own tests there; a core install says what is missing;
the docs build the way the README says.

These tests create virtual environments and install packages (from the pip cache or PyPI),
so each takes a minute or two; they are marked ``slow``. The sdist's own test run is a
subset (named in ``SDIST_TESTS``): the whole suite is collected (no collection errors),
and the fast, peer-free modules run.
"""

from __future__ import annotations

import email
import re
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

import gntplib
from tests.support.console import serve_then_notify
from tests.support.packaging import Venv, build_sdist, clean_env, fresh_copy, project_files, \
    tail

pytestmark = pytest.mark.slow

#: The sdist's tests run in the clean environment: the whole suite is collected, these run.
SDIST_TESTS = ['tests/test_vectors.py', 'tests/test_api.py', 'tests/test_sync_client.py',
               'tests/test_doctor.py', 'tests/test_layering.py']

#: Every file of these folders must be in the sdist.
SHIPPED = ('gntplib/', 'tests/', 'docs/', 'examples/')


@pytest.fixture(scope='module')
def sdist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = fresh_copy(tmp_path_factory.mktemp('checkout'))
    return build_sdist(source, tmp_path_factory.mktemp('dist'))


def _members(archive: Path) -> List[str]:
    with tarfile.open(archive) as tar:
        top = tar.getnames()[0].split('/')[0]
        return sorted(name[len(top) + 1:] for name in tar.getnames()
                      if name.startswith(top + '/') and tar.getmember(name).isfile())


def test_the_sdist_is_complete(sdist: Path) -> None:
    """The tests with their conftest, helpers and data, the docs and the examples."""
    members = set(_members(sdist))
    expected = [name for name in project_files() if name.startswith(SHIPPED)
                and '/_build/' not in name]
    assert len(expected) > 80
    missing = [name for name in expected if name not in members]
    assert not missing, f'not in the sdist: {missing}'
    for name in ('tests/conftest.py', 'tests/__init__.py', 'tests/support/__init__.py',
                 'docs/conf.py', 'examples/tornado_app.py', 'README.md', 'LICENSE',
                 'MANIFEST.in', 'gntplib/py.typed', 'scripts/test', 'scripts/_venv.sh'):
        assert name in members, name
    assert any(name.startswith('tests/data/') for name in members)
    assert not [name for name in members if '__pycache__' in name or name.endswith('.pyc')]


def _read(sdist: Path, suffix: str) -> str:
    """The text of the sdist member ``<top>/<suffix>``."""
    with tarfile.open(sdist) as tar:
        info = next(m for m in tar.getmembers() if m.name.split('/', 1)[-1] == suffix)
        extracted = tar.extractfile(info)
        assert extracted is not None
        return extracted.read().decode('utf-8')


def test_the_sdist_metadata_names_this_project(sdist: Path) -> None:
    meta = email.message_from_string(_read(sdist, 'PKG-INFO'))
    assert meta['Name'] == 'gntplib' and meta['Version'] == gntplib.__version__
    assert int(meta['Version'].split('.')[0]) >= 4  # above PyPI's unrelated 3.x line
    urls = dict(url.split(', ', 1) for url in meta.get_all('Project-URL') or [])
    assert set(urls) >= {'Documentation', 'Source', 'Issues'}
    assert all(url.startswith('https://') for url in urls.values())
    assert 'MIT' in (meta['License-Expression'] or meta['License'] or '')
    assert 'LICENSE' in _members(sdist)
    # The extras as setuptools wrote them (PKG-INFO carries them only with newer setuptools).
    sections = re.split(r'^\[(\S+)\]$', _read(sdist, 'gntplib.egg-info/requires.txt'), flags=re.M)
    extras = {name: body.split() for name, body in zip(sections[1::2], sections[2::2])}
    assert {'crypto', 'async', 'all', 'test', 'docs'} <= set(extras)
    pinned = [r for r in extras['test'] if '==' in r]
    assert not pinned, f'the test extra pins versions only this repo needs: {pinned}'
    assert 'tornado>=6.1' in extras['docs']  # autodoc imports gntplib.async_ and the server


def _lines(text: str) -> List[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_the_sdist_installs_into_a_clean_venv_and_passes_its_tests(
        sdist: Path, tmp_path: Path) -> None:
    env = Venv(tmp_path / 'venv')
    # A core install: no dependencies; what needs an extra says so in one line.
    env.pip('install', str(sdist))
    version = env.run('gntplib', '--version', cwd=tmp_path)
    assert version.stdout.strip() == f'gntplib {gntplib.__version__}', version.stderr
    for command in (['serve', '--port', '0'], ['demo']):
        result = env.run('gntplib', *command, cwd=tmp_path)
        assert result.returncode == 1
        assert _lines(result.stderr) == [
            f'gntplib: error: gntplib {command[0]} needs Tornado, which is not installed: '
            "pip install 'gntplib[async]'"], result.stderr
    cipher = env.run('gntplib', 'notify', 'T', '-P', 'pw', '--cipher', 'AES', cwd=tmp_path)
    assert cipher.returncode == 1
    assert _lines(cipher.stderr) == [
        "gntplib: error: AES encryption needs pycryptodomex: pip install 'gntplib[crypto]'"]
    where = env.run('python', '-c', 'import gntplib; print(gntplib.__file__)', cwd=tmp_path)
    assert str(tmp_path / 'venv') in where.stdout  # the installed package, not a checkout

    # The extras, then the sdist's own tests, from the unpacked sdist.
    env.pip('install', f'{sdist}[test,all]')
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp_path / 'src')
    [src] = (tmp_path / 'src').iterdir()
    collected = env.run('python', '-m', 'pytest', '-p', 'no:cacheprovider', '--collect-only',
                        '-q', cwd=src)
    assert collected.returncode == 0, tail(collected.stdout + collected.stderr)
    count = re.search(r'(\d+) tests? collected', collected.stdout)
    assert count and int(count.group(1)) > 500, tail(collected.stdout)
    assert 'error' not in collected.stdout.splitlines()[-1].lower()
    ran = env.run('python', '-m', 'pytest', '-p', 'no:cacheprovider', '-q', *SDIST_TESTS,
                  cwd=src)
    assert ran.returncode == 0, tail(ran.stdout + ran.stderr)
    summary = ran.stdout.strip().splitlines()[-1]
    assert re.search(r'\d+ passed', summary) and 'failed' not in summary, summary


def test_the_docs_build_as_the_readme_says(tmp_path: Path) -> None:
    """``pip install -e ".[docs]"`` in a fresh checkout and a clean venv, then the README's
    ``sphinx-build`` command."""
    checkout = fresh_copy(tmp_path / 'checkout')
    readme = (checkout / 'README.md').read_text(encoding='utf-8')
    install = re.search(r'^pip install -e (\S+)$', readme, re.M)
    build = re.search(r'^(sphinx-build -W .*)$', readme, re.M)
    assert install and build, 'the README does not say how to build the docs'
    env = Venv(tmp_path / 'venv')
    env.pip('install', '-e', install.group(1).strip('"\''), cwd=checkout)
    result = env.run(*build.group(1).split(), cwd=checkout)
    assert result.returncode == 0, tail(result.stdout + result.stderr)
    assert (checkout / 'docs' / '_build' / 'html' / 'doctor.html').exists() or \
        (checkout / 'docs' / '_build' / 'html' / 'api' / 'doctor.html').exists()


# -- the scripts of a fresh checkout --------------------------------------------------------------

def _timed_lines(proc: 'subprocess.Popen[str]') -> Iterator[Tuple[float, str]]:
    assert proc.stdout is not None
    for line in proc.stdout:
        yield time.monotonic(), line


def test_scripts_demo_first_run_is_quiet_alive_and_its_hint_works(
        tmp_path: Path, default_port_lock: None) -> None:
    """``bash scripts/demo`` in a fresh clone: no setuptools warning block, a line at least
    every few seconds while it installs, and the commands it suggests work as printed."""
    checkout = fresh_copy(tmp_path / 'checkout')
    env = clean_env(XDG_STATE_HOME=str(tmp_path / 'state'))  # serve's state: not the user's
    started = time.monotonic()
    proc = subprocess.Popen(['bash', 'scripts/demo'], cwd=str(checkout), env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    stamps = [started]
    lines: List[str] = []
    try:
        for stamp, line in _timed_lines(proc):
            stamps.append(stamp)
            lines.append(line)
        assert proc.wait(600) == 0, ''.join(lines)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    output = ''.join(lines)
    for noise in ('Editable installation', '!!', '*****', 'Traceback', 'WARNING'):
        assert noise not in output, output
    gaps = [later - earlier for earlier, later in zip(stamps, stamps[1:])]
    assert max(gaps) < 15, f'{max(gaps):.1f} s without a line:\n{output}'
    assert 'Successfully installed' in output and 'on_click ran' in output

    hint = lines.index('Try it yourself, in two terminals:\n')
    serve_command, notify_command = (line.strip() for line in lines[hint + 1:hint + 3])
    assert serve_command == '.venv/bin/gntplib serve'
    serve_then_notify(serve_command, notify_command, '"Hello"', checkout, env)


def test_the_heartbeat_shows_a_long_test_is_alive(tmp_path: Path) -> None:
    """``scripts/test`` loads scripts/pytest_heartbeat.py: a test running for seconds gets a
    line every few seconds (here every 0.5 s)."""
    script = tmp_path / 'test_long.py'
    script.write_text('import threading\n\n\ndef test_long():\n'
                      '    threading.Event().wait(2.5)  # a long test, not a synchronisation\n')
    root = Path(__file__).resolve().parent.parent
    test_script = (root / 'scripts' / 'test').read_text(encoding='utf-8')
    assert '-p pytest_heartbeat' in test_script and 'PYTHONUNBUFFERED=1' in test_script
    assert ' -q ' not in test_script
    result = subprocess.run(
        [sys.executable, '-m', 'pytest', '-p', 'pytest_heartbeat', '-p', 'no:cacheprovider',
         str(script)], capture_output=True, text=True, timeout=120, cwd=str(tmp_path),
        env=clean_env(PYTHONPATH=str(root / 'scripts'), GNTPLIB_HEARTBEAT='0.5'),
        stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout + result.stderr
    beats = re.findall(r'\.\.\. still running test_long\.py::test_long \((\d+) s\)',
                       result.stdout)
    assert len(beats) >= 3, result.stdout
