"""A pytest plugin that shows a run is alive: while one test runs longer than a few seconds
(building the docs, the load tests), a line every few seconds names it.

``scripts/test`` loads it (``-p pytest_heartbeat``). ``GNTPLIB_HEARTBEAT`` sets the interval
in seconds (default 5).
"""

from __future__ import annotations

import os
import threading
import time
from typing import Optional, Tuple

import pytest


class Heartbeat:
    """Writes straight to the terminal's file descriptor: pytest captures the test's own
    output while it runs, and this line must get through."""

    def __init__(self, fd: int, interval: float) -> None:
        self.fd = fd
        self.interval = interval
        self._current: Optional[Tuple[str, float]] = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name='pytest-heartbeat', daemon=True)
        self._thread.start()

    def started(self, nodeid: str) -> None:
        with self._lock:
            self._current = (nodeid, time.monotonic())

    def finished(self) -> None:
        with self._lock:
            self._current = None

    def _run(self) -> None:
        shown: Optional[Tuple[str, float]] = None
        while not self._stop.wait(self.interval):
            with self._lock:
                current = self._current
            if current is None:
                continue
            elapsed = time.monotonic() - current[1]
            if elapsed >= self.interval:
                # The first line of a test ends the line of progress dots.
                start = '' if shown == current else '\n'
                shown = current
                line = f'{start}    ... still running {current[0]} ({elapsed:.0f} s)\n'
                try:
                    os.write(self.fd, line.encode('utf-8', 'replace'))
                except OSError:
                    return

    def close(self) -> None:
        self._stop.set()
        self._thread.join(self.interval + 1)
        os.close(self.fd)


_heartbeat: Optional[Heartbeat] = None


def pytest_configure(config: pytest.Config) -> None:
    global _heartbeat
    interval = float(os.environ.get('GNTPLIB_HEARTBEAT') or 5)
    # Output capturing is suspended while plugins are configured: fd 1 is the terminal.
    _heartbeat = Heartbeat(os.dup(1), interval)


def pytest_unconfigure(config: pytest.Config) -> None:
    global _heartbeat
    if _heartbeat is not None:
        _heartbeat.close()
        _heartbeat = None


def pytest_runtest_logstart(nodeid: str, location: Tuple[str, Optional[int], str]) -> None:
    if _heartbeat is not None:
        _heartbeat.started(nodeid)


def pytest_runtest_logfinish(nodeid: str, location: Tuple[str, Optional[int], str]) -> None:
    if _heartbeat is not None:
        _heartbeat.finished()
