"""Running real GNTP peers for tests/interop: client programs against our server, and
growl-for-linux as a receiver for our clients.

Every wait has a deadline; every process a test starts is ended by the test's fixture.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from tests.conftest import ROOT, missing_peer
from tests.desktop.processes import wait_until

HERE = Path(__file__).resolve().parent
NODE_MODULES = ROOT / '.peers' / 'node_modules'
#: The port growl-for-linux and ruby-growl cannot be told to leave.
FIXED_PORT = 23053
#: A small PNG-like icon with the bytes that break careless framing: CR LF, blank lines, NUL.
ICON = b'\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\r\n\r\nicon body \x00 end'


def run_peer(argv: List[str], stdin: Optional[str] = None, timeout: float = 20.0,
             env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    """Run a peer program to completion (killed at the deadline, which fails the test)."""
    try:
        return subprocess.run(argv, input=stdin, capture_output=True, text=True,
                              timeout=timeout, env=env, cwd=str(ROOT))
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f'{argv[0]} did not finish within {timeout} s: '
                             f'stdout={exc.stdout!r} stderr={exc.stderr!r}') from None


def json_lines(text: str) -> List[Dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith('{')]


def require_node_package(require_program: Callable[..., str], name: str) -> str:
    """The node binary, with the pinned npm package ``name`` installed in .peers/."""
    node = require_program('node')
    if not (NODE_MODULES / name / 'package.json').exists():
        missing_peer(f'the npm package {name!r} (in .peers/node_modules)')
    return node


def node_job(node: str, job: Dict[str, Any], timeout: float = 20.0) -> List[Dict[str, Any]]:
    """Run tests/interop/node_client.js on ``job``; return what it printed."""
    env = dict(os.environ, NODE_PATH=str(NODE_MODULES))
    result = run_peer([node, str(HERE / 'node_client.js')], json.dumps(job), timeout, env)
    assert result.returncode == 0, result.stderr
    return json_lines(result.stdout)


def ruby_job(ruby: str, job: Dict[str, Any], timeout: float = 20.0) -> List[Dict[str, Any]]:
    """Run tests/interop/ruby_growl_client.rb on ``job``; return what it printed."""
    result = run_peer([ruby, str(HERE / 'ruby_growl_client.rb')], json.dumps(job), timeout)
    assert result.returncode == 0, result.stderr
    return json_lines(result.stdout)


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(('0.0.0.0', port))
        except OSError:
            return False
    return True


def stop_process(process: 'subprocess.Popen[Any]', timeout: float = 5.0) -> None:
    """SIGTERM, then SIGKILL at the deadline; reap it."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)


# -- growl-for-linux, headless -----------------------------------------------------------

class GrowlForLinux:
    """growl-for-linux (``gol``) under its own Xvfb display and D-Bus session bus, with its
    configuration (an SQLite database) and saved resources in a temporary directory.

    It listens on 0.0.0.0:23053 (hard-coded): hold ``default_port_lock`` while it runs.
    """

    def __init__(self, gol: str, xvfb: str, dbus_launch: str, home: Path) -> None:
        self.home = home
        self.config = home / 'config'
        self.processes: List['subprocess.Popen[Any]'] = []
        self.dbus_pid: Optional[int] = None
        self._gol, self._xvfb, self._dbus_launch = gol, xvfb, dbus_launch

    @property
    def db_path(self) -> Path:
        return self.config / 'gol' / 'config.db'

    @property
    def resource_dir(self) -> Path:
        return self.config / 'gol' / 'resource'

    def start(self, settings: Optional[Dict[str, str]] = None) -> 'GrowlForLinux':
        """Start Xvfb, a session bus and gol; ``settings`` go into its config table first
        (gol is started once to create the database, stopped, configured, started again)."""
        wait_until(lambda: port_is_free(FIXED_PORT), 10, 'port 23053 to be free')
        self.home.mkdir(parents=True, exist_ok=True)
        env = self._display_env()
        self._start_gol(env)
        if settings:
            self._stop_gol()
            self.configure(settings)
            self._start_gol(env)
        return self

    def _display_env(self) -> Dict[str, str]:
        read_end, write_end = os.pipe()
        xvfb = subprocess.Popen([self._xvfb, '-displayfd', str(write_end), '-screen', '0',
                                 '640x480x24', '-nolisten', 'tcp'], pass_fds=(write_end,),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.processes.append(xvfb)
        os.close(write_end)
        with os.fdopen(read_end) as display_pipe:
            display = display_pipe.readline().strip()
        assert display, 'Xvfb did not report a display number'
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(('DBUS_', 'XDG_', 'DISPLAY', 'WAYLAND'))}
        env.update(HOME=str(self.home), XDG_CONFIG_HOME=str(self.config), DISPLAY=f':{display}',
                   XDG_RUNTIME_DIR=str(self.home), NO_AT_BRIDGE='1')
        launched = subprocess.run([self._dbus_launch, '--sh-syntax'], capture_output=True,
                                  text=True, env=env, timeout=10, check=True).stdout
        for line in launched.splitlines():
            name, _, value = line.partition('=')
            value = value.rstrip(';').strip("'")
            if name == 'DBUS_SESSION_BUS_ADDRESS':
                env[name] = value
            elif name == 'DBUS_SESSION_BUS_PID':
                self.dbus_pid = int(value)
        return env

    def _start_gol(self, env: Dict[str, str]) -> None:
        gol = subprocess.Popen([self._gol], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, cwd=str(self.home))
        self.processes.append(gol)
        self._gol_process = gol
        wait_until(lambda: gol.poll() is not None or not port_is_free(FIXED_PORT), 15,
                   'growl-for-linux to listen on 23053')
        assert gol.poll() is None, f'growl-for-linux exited with {gol.returncode}'
        wait_until(self.db_path.exists, 10, 'the growl-for-linux database')

    def _stop_gol(self) -> None:
        # It has written its database; nothing is lost by not waiting for its clean exit.
        self._gol_process.kill()
        self._gol_process.wait(5)
        wait_until(lambda: port_is_free(FIXED_PORT), 10, 'growl-for-linux to close 23053')

    def stop(self) -> None:
        for process in reversed(self.processes):
            stop_process(process)
        if self.dbus_pid is not None:
            try:
                os.kill(self.dbus_pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            self.dbus_pid = None

    # -- its SQLite database -------------------------------------------------------------

    def query(self, sql: str, *args: Any) -> List[sqlite3.Row]:
        with sqlite3.connect(f'file:{self.db_path}?mode=ro', uri=True, timeout=5) as db:
            db.row_factory = sqlite3.Row
            return db.execute(sql, args).fetchall()

    def configure(self, settings: Dict[str, str]) -> None:
        with sqlite3.connect(str(self.db_path), timeout=5) as db:
            for key, value in settings.items():
                updated = db.execute('update config set value = ? where key = ?', (value, key))
                if not updated.rowcount:
                    db.execute('insert into config(key, value) values(?, ?)', (key, value))

    def notifications(self) -> List[Dict[str, Any]]:
        return [dict(row) for row in self.query('select * from notification')]

    def wait_for_notifications(self, count: int, timeout: float = 10.0) -> List[Dict[str, Any]]:
        return wait_until(lambda: (lambda rows: rows if len(rows) >= count else None)(
            self.notifications()), timeout, f'{count} notifications in the gol database')

    def applications(self) -> List[Dict[str, Any]]:
        return [dict(row) for row in self.query('select * from application')]

    def saved_resources(self) -> Dict[str, bytes]:
        if not self.resource_dir.exists():
            return {}
        return {path.name: path.read_bytes() for path in self.resource_dir.iterdir()}


# -- our server, recording what real clients send ----------------------------------------

def requests_of(thread: Any, count: int, timeout: float = 10.0) -> List[Any]:
    """The first ``count`` requests the server accepted (waiting for them)."""
    return list(thread.wait_for_requests(count, timeout))[:count]


def errors_of(thread: Any, count: int, timeout: float = 10.0) -> List[Any]:
    """The first ``count`` errors the server answered: ``(address, code, description)``."""
    return wait_until(lambda: (lambda errors: errors[:count] if len(errors) >= count else None)(
        thread.errors), timeout, f'{count} errors answered by the server')
