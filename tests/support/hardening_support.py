"""Helpers shared by the ``test_hardening_*`` modules: leak probes and subprocess peers."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
HAVE_PROC = os.path.isdir('/proc/self/fd')
needs_proc = pytest.mark.skipif(not HAVE_PROC, reason='needs /proc to count descriptors')


# -- leaks -----------------------------------------------------------------------------------

def open_fds() -> Set[Tuple[int, str]]:
    """This process's open descriptors as ``(fd, what it points at)``.

    Comparing sets (rather than counts) is immune to descriptors other tests' leftovers
    close in the meantime; what the code under test leaves open shows up as new entries.
    """
    gc.collect()
    found = set()
    for name in os.listdir('/proc/self/fd'):
        try:
            found.add((int(name), os.readlink(f'/proc/self/fd/{name}')))
        except OSError:  # the descriptor listdir itself used, closed since
            pass
    return found


def new_sockets(before: Set[Tuple[int, str]]) -> List[Tuple[int, str]]:
    """Sockets open now that were not open in ``before``."""
    return sorted(entry for entry in open_fds() - before if entry[1].startswith('socket:'))


def live_timers(loop: asyncio.AbstractEventLoop) -> int:
    """Timer handles scheduled on ``loop`` and not cancelled (asyncio keeps cancelled ones
    in its heap until they come due, so those are not counted)."""
    scheduled = getattr(loop, '_scheduled', [])
    return sum(1 for handle in scheduled if not handle.cancelled())


def other_tasks() -> Set['asyncio.Task[Any]']:
    """Tasks on the running loop other than the caller's."""
    return asyncio.all_tasks() - {asyncio.current_task()}


# -- logs --------------------------------------------------------------------------------------

class Records(logging.Handler):
    """Collects every record of the ``gntplib`` loggers, from any thread."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: List[logging.LogRecord] = []
        self._lock2 = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self._lock2:
            self.records.append(record)

    def at_least(self, level: int) -> List[logging.LogRecord]:
        with self._lock2:
            return [r for r in self.records if r.levelno >= level]

    def text(self) -> str:
        """Every record formatted as a log line would be, tracebacks included."""
        formatter = logging.Formatter('%(levelname)s %(name)s %(message)s')
        with self._lock2:
            return '\n'.join(formatter.format(r) for r in self.records)


@contextlib.contextmanager
def captured_gntplib_logs(level: int) -> Iterator[Records]:
    """Collect every ``gntplib`` log record at ``level`` and up while the block runs."""
    handler = Records()
    logger = logging.getLogger('gntplib')
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


@pytest.fixture
def gntplib_logs() -> Iterator[Records]:
    """Every ``gntplib`` log record at DEBUG and up while the test runs."""
    with captured_gntplib_logs(logging.DEBUG) as handler:
        yield handler


# -- subprocess peers --------------------------------------------------------------------------

def python_env() -> Dict[str, str]:
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join([str(ROOT)] + ([env['PYTHONPATH']]
                                                       if env.get('PYTHONPATH') else []))
    return env


class Subprocess:
    """A helper module of ``tests.support`` run in its own Python (``python -m
    tests.support.NAME ARGS``); talks JSON lines on stdout."""

    def __init__(self, module: str, *args: str) -> None:
        self.script = module
        self.proc = subprocess.Popen([sys.executable, '-m', f'tests.support.{module}', *args],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env=python_env(), cwd=str(ROOT))

    def record(self, timeout: float = 60) -> Dict[str, Any]:
        """The next JSON line it prints (fails if it exits first or ``timeout`` passes)."""
        lines: List[Optional[str]] = []
        assert self.proc.stdout is not None
        stdout = self.proc.stdout
        reader = threading.Thread(target=lambda: lines.append(stdout.readline() or None),
                                  daemon=True)
        reader.start()
        reader.join(timeout)
        if not lines or lines[0] is None:
            self.proc.kill()
            raise AssertionError(f'{self.script} printed nothing '
                                 f'(exit code {self.proc.poll()})')
        result: Dict[str, Any] = json.loads(lines[0])
        return result

    def say(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + '\n')
        self.proc.stdin.flush()

    def stop(self, timeout: float = 10) -> None:
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                if pipe is not None:
                    pipe.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout)


#: Small raw requests for tests that talk to a server byte by byte: App registers
#: `update`, then notifies (with a socket callback in NOTIFY_CALLBACK).
REGISTER = (b'GNTP/1.0 REGISTER NONE\r\nApplication-Name: App\r\nNotifications-Count: 1\r\n\r\n'
            b'Notification-Name: update\r\nNotification-Enabled: True\r\n\r\n')
NOTIFY = (b'GNTP/1.0 NOTIFY NONE\r\nApplication-Name: App\r\nNotification-Name: update\r\n'
          b'Notification-Title: Hi\r\n\r\n')
NOTIFY_CALLBACK = NOTIFY[:-2] + (b'Notification-ID: cb-1\r\nNotification-Callback-Context: ctx\r\n'
                                 b'Notification-Callback-Context-Type: string\r\n\r\n')


def exchange(port: int, data: bytes, timeout: float = 10.0, half_close: bool = False) -> bytes:
    """Send ``data`` and read until the server closes (it closes after answering, unless
    a socket callback keeps the connection open).

    With ``half_close`` the client shuts down its sending side right after the data, so the
    server sees the end of a request that was cut short, answers it (300) and closes; a
    request that was complete gets its answer as usual (docs/server.rst). A server that
    closes with some of our bytes unread may reset the connection: what arrived before the
    reset is returned.
    """
    chunks: List[bytes] = []
    with socket.create_connection(('127.0.0.1', port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except (BrokenPipeError, ConnectionResetError):  # it answered and closed early
            pass
    return b''.join(chunks)
