"""Helpers for the packaging tests: a clean copy of the checkout, a clean virtual
environment, and running commands in them the way a newcomer would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent.parent

#: What a checkout holds that is not the project: environments, caches, build output.
_JUNK = ('.venv', '.git', '.tox', '.peers', 'build', 'dist', '__pycache__', '*.egg-info',
         '.pytest_cache', '.hypothesis', '.mypy_cache', '.ruff_cache', '_build', '.coverage*',
         'htmlcov')


def project_files() -> List[str]:
    """The checkout's files, relative to its root: git's list when this is a git checkout
    (tracked and new, not ignored), else every file but the junk."""
    if (ROOT / '.git').exists() and shutil.which('git'):
        listed = subprocess.run(['git', 'ls-files', '-co', '--exclude-standard'], cwd=ROOT,
                                capture_output=True, text=True, timeout=60)
        if listed.returncode == 0:
            return sorted(name for name in listed.stdout.splitlines()
                          if (ROOT / name).is_file())
    names = []
    for path in ROOT.rglob('*'):
        relative = path.relative_to(ROOT)
        if path.is_file() and not any(relative.match(f'{junk}/*') or part in _JUNK
                                      for junk in _JUNK for part in relative.parts):
            names.append(str(relative))
    return sorted(names)


def fresh_copy(dest: Path) -> Path:
    """A copy of the checkout's project files in ``dest``, as a fresh clone would be."""
    for name in project_files():
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    return dest


def clean_env(**extra: str) -> Dict[str, str]:
    """This process's environment without what ties it to the test run: the virtual
    environment, PYTHONPATH, GNTP_* settings and CI (a nested run is not CI's)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(('GNTP_', 'PYTHON', 'VIRTUAL_ENV', 'COV_', 'PIP_REQ'))
           and k not in ('CI',)}
    bindir = str(Path(sys.executable).parent)
    env['PATH'] = os.pathsep.join(p for p in env.get('PATH', '').split(os.pathsep)
                                  if p and os.path.abspath(p) != bindir)
    env['PIP_DISABLE_PIP_VERSION_CHECK'] = '1'
    env.update(extra)
    return env


class Venv:
    """A new virtual environment (no system site-packages) with the interpreter running the
    tests."""

    def __init__(self, path: Path) -> None:
        self.path = path
        venv.EnvBuilder(with_pip=True, clear=True).create(str(path))
        self.bin = path / ('Scripts' if os.name == 'nt' else 'bin')
        self.python = str(self.bin / 'python')

    def run(self, *args: str, cwd: Optional[Path] = None, timeout: float = 900,
            env: Optional[Dict[str, str]] = None) -> 'subprocess.CompletedProcess[str]':
        """Run a program of this environment (``pip``, ``gntplib``...) or any command."""
        program = str(self.bin / args[0]) if (self.bin / args[0]).exists() else args[0]
        return subprocess.run([program, *args[1:]], capture_output=True, text=True,
                              timeout=timeout, cwd=str(cwd) if cwd else None,
                              env=env if env is not None else clean_env(),
                              stdin=subprocess.DEVNULL)

    def pip(self, *args: str, cwd: Optional[Path] = None) -> 'subprocess.CompletedProcess[str]':
        result = self.run('python', '-m', 'pip', *args, cwd=cwd)
        assert result.returncode == 0, f'pip {" ".join(args)} failed:\n{result.stdout}\n' \
            f'{result.stderr}'
        return result


def build_sdist(source: Path, dest: Path) -> Path:
    """Build the sdist of ``source`` with the PEP 517 backend (setuptools, from the test
    environment: no network, no isolated build)."""
    dest.mkdir(parents=True, exist_ok=True)
    code = ('import sys; from setuptools import build_meta as backend; '
            'print(backend.build_sdist(sys.argv[1]))')
    result = subprocess.run([sys.executable, '-c', code, str(dest)], cwd=str(source),
                            capture_output=True, text=True, timeout=300,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout + result.stderr
    return dest / result.stdout.strip().splitlines()[-1]


def tail(text: str, lines: int = 40) -> str:
    return '\n'.join(text.splitlines()[-lines:])
