"""Shared fixtures: the embedded GNTP server as every test's real peer.

* ``gntp_server``: a :class:`~gntplib.server.GNTPServer` on pytest-tornado's ``io_loop``,
  listening on 127.0.0.1 (a free port, ``gntp_server.port``), for async tests.
* ``gntp_server_thread``: a :class:`~gntplib.server.ServerThread` (its own loop in a thread,
  port 0), for synchronous tests.
* ``app``: a tiny Tornado web app serving icon bytes, for pytest-tornado's ``http_server``
  (``AsyncResource`` tests): ``/icon.png`` (a PNG) and ``/missing`` (404).
* ``gntplib_serve``: starts ``python -m gntplib serve --port 0 ...`` as a subprocess, the way
  a user runs it, and reads what it prints (:class:`ServeProcess`).

Both server fixtures take their keyword arguments from a marker::

    @pytest.mark.gntp_server(password='secret', callback_result='CLICK')
    def test_something(gntp_server_thread): ...
"""

from __future__ import annotations

import json
import os
import shutil
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO, Any, Callable, Dict, Iterator, List, Optional

import pytest

tornado = pytest.importorskip('tornado')

from tornado.testing import bind_unused_port  # noqa: E402
from tornado.web import Application, RequestHandler  # noqa: E402

from gntplib.server import GNTPServer, ServerThread  # noqa: E402

#: A 1x1 PNG, served by the ``app`` fixture at /icon.png.
ICON_PNG = bytes.fromhex(
    '89504e470d0a1a0a0000000d4948445200000001000000010806000000'
    '1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2ac3a'
    'f20000000049454e44ae426082')


def marker_kwargs(request: pytest.FixtureRequest, name: str = 'gntp_server') -> Dict[str, Any]:
    """Merge the keyword arguments of every ``name`` marker, the closest one winning."""
    kwargs: Dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers(name))):
        kwargs.update(marker.kwargs)
    return kwargs


@pytest.fixture
def gntp_server(io_loop: Any, request: pytest.FixtureRequest) -> Iterator[GNTPServer]:
    """A GNTPServer on pytest-tornado's ``io_loop``, on 127.0.0.1 and a free port."""
    server = GNTPServer(**marker_kwargs(request))
    sock, port = bind_unused_port()
    server.add_sockets([sock])
    server.port = port
    yield server
    io_loop.run_sync(lambda: server.shutdown(timeout=5))


@pytest.fixture
def gntp_server_thread(request: pytest.FixtureRequest) -> Iterator[ServerThread]:
    """A ServerThread (own IOLoop, daemon thread) on 127.0.0.1 and a free port."""
    thread = ServerThread(**marker_kwargs(request))
    thread.start()
    yield thread
    thread.stop()


class _IconHandler(RequestHandler):
    def get(self) -> None:
        self.set_header('Content-Type', 'image/png')
        self.write(ICON_PNG)


@pytest.fixture
def app() -> Application:
    """A web app for pytest-tornado's ``http_server``: /icon.png, anything else 404."""
    return Application([(r'/icon\.png', _IconHandler)])


ROOT = Path(__file__).resolve().parent.parent


def cli_env(**variables: str) -> Dict[str, str]:
    """The environment for running ``python -m gntplib``: this checkout first on the path,
    no GNTP_* settings from the developer's shell, plus ``variables``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith('GNTP_')}
    env['PYTHONPATH'] = os.pathsep.join([str(ROOT)] + ([env['PYTHONPATH']]
                                                       if env.get('PYTHONPATH') else []))
    # `gntplib serve` keeps state in $XDG_STATE_HOME: each run starts from an empty one.
    env['XDG_STATE_HOME'] = tempfile.mkdtemp(prefix='gntplib-test-state-')
    env.update(variables)
    return env


def run_cli(*args: str, timeout: float = 30, **env: str) -> subprocess.CompletedProcess:
    """Run ``python -m gntplib ARGS`` and capture its output."""
    # No stdin: `notify` reads its text from a pipe, and the runner's own stdin may be one.
    return subprocess.run([sys.executable, '-m', 'gntplib', *args], capture_output=True,
                          text=True, timeout=timeout, env=cli_env(**env), cwd=str(ROOT),
                          stdin=subprocess.DEVNULL)


def _pump(stream: IO[str], lines: 'queue.Queue[Optional[str]]') -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


class ServeProcess:
    """``gntplib serve`` in a subprocess; its stdout and stderr lines arrive in queues."""

    def __init__(self, *args: str, **env: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'gntplib', 'serve', '--port', '0', *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(**env),
            cwd=str(ROOT))
        self.stdout: 'queue.Queue[Optional[str]]' = queue.Queue()
        self.stderr: 'queue.Queue[Optional[str]]' = queue.Queue()
        self._pumps = [threading.Thread(target=_pump, args=(pipe, q), daemon=True)
                       for pipe, q in ((self.proc.stdout, self.stdout),
                                       (self.proc.stderr, self.stderr))]
        for pump in self._pumps:
            pump.start()
        first = self.stderr.get(timeout=20)
        match = re.search(r'listening on 127\.0\.0\.1:(\d+)', first or '')
        if match is None:
            self.proc.kill()
            raise AssertionError(f'gntplib serve did not start: {first!r}')
        self.port = int(match.group(1))

    def line(self, timeout: float = 10) -> str:
        """The next line on stdout."""
        line = self.stdout.get(timeout=timeout)
        assert line is not None, 'gntplib serve closed its stdout'
        return line

    def json(self, timeout: float = 10) -> Dict[str, Any]:
        """The next JSON object on stdout (``serve --json``)."""
        return json.loads(self.line(timeout))

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 20) -> int:
        """Send ``signum`` (if still running) and return the exit status: 0 after SIGTERM,
        130 after SIGINT (Ctrl-C)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        code = self.proc.wait(timeout)
        for pump in self._pumps:
            pump.join(timeout)
        return code

    def rest_of_stderr(self) -> List[str]:
        lines: List[str] = []
        while True:
            line = self.stderr.get(timeout=5)
            if line is None:
                return lines
            lines.append(line)


@pytest.fixture
def gntplib_serve() -> Iterator[Callable[..., ServeProcess]]:
    """Start ``gntplib serve --port 0 ARGS`` subprocesses; they are killed afterwards."""
    started: List[ServeProcess] = []

    def start(*args: str, **env: str) -> ServeProcess:
        process = ServeProcess(*args, **env)
        started.append(process)
        return process
    yield start
    for process in started:
        if process.proc.poll() is None:
            process.proc.kill()
            process.proc.wait(10)
        for pipe in (process.proc.stdout, process.proc.stderr):
            if pipe is not None:
                pipe.close()


# -- real peers ------------------------------------------------------------------------------

def _on_ci() -> bool:
    return os.environ.get('CI', '').lower() not in ('', '0', 'false', 'no')


def missing_peer(what: str, install: str = 'bash scripts/system-deps') -> None:
    """A real peer the test needs is missing: fail on CI (``CI`` set), skip elsewhere.

    The message names the command that installs it.
    """
    message = f'{what} is not installed (install it with: {install})'
    if _on_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture
def require_program() -> Callable[..., str]:
    """``require_program(name, install=...)``: the path of a real peer's program.

    On CI a missing program fails the test; on a developer's machine it skips it, naming
    the install command.
    """
    def require(name: str, install: str = 'bash scripts/system-deps') -> str:
        path = shutil.which(name)
        if path is None:
            missing_peer(f'{name!r}', install)
        assert path is not None
        return path
    return require


@pytest.fixture
def default_port_lock() -> Iterator[None]:
    """Hold an exclusive lock while a test uses the fixed GNTP port 23053.

    Peers such as growl-for-linux and ruby-growl cannot use another port; the lock keeps two
    test runs on one machine from meeting there.
    """
    import fcntl
    with open(os.path.join(os.environ.get('TMPDIR', '/tmp'), 'gntplib-port-23053.lock'),
              'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
