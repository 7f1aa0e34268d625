"""Running a command the way a user types it in a terminal, and reading what it prints."""

from __future__ import annotations

import contextlib
import queue
import subprocess
import threading
import time
from pathlib import Path
from typing import IO, Dict, Iterator, List, Optional, Tuple


class Lines:
    """The lines a subprocess writes to one pipe, read by a thread, awaited with a deadline."""

    def __init__(self, pipe: Optional[IO[str]]) -> None:
        assert pipe is not None
        self._lines: 'queue.Queue[Optional[str]]' = queue.Queue()

        def pump() -> None:
            for line in pipe:
                self._lines.put(line)
            self._lines.put(None)
        threading.Thread(target=pump, daemon=True).start()

    def until(self, text: str, timeout: float = 30) -> str:
        """The first line (from here on) containing ``text``."""
        deadline = time.monotonic() + timeout
        seen = ''
        while True:
            line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            assert line is not None, f'{text!r} never came; got:\n{seen}'
            seen += line
            if text in line:
                return line

    def rest(self, timeout: float = 20) -> str:
        """Everything until the pipe closes."""
        return ''.join(iter(lambda: self._lines.get(timeout=timeout) or '', ''))


@contextlib.contextmanager
def running(argv: List[str], cwd: Path, env: Optional[Dict[str, str]] = None
            ) -> Iterator[Tuple['subprocess.Popen[str]', Lines, Lines]]:
    """Start ``argv`` (no stdin), yield it with its stdout and stderr lines; kill it at the
    end if it is still running."""
    proc = subprocess.Popen(argv, cwd=str(cwd), env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield proc, Lines(proc.stdout), Lines(proc.stderr)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def shell(command: str, cwd: Path, env: Optional[Dict[str, str]] = None,
          timeout: float = 60) -> 'subprocess.CompletedProcess[str]':
    """Run ``command`` as pasted into a shell (bash), without stdin."""
    return subprocess.run(['bash', '-c', command], cwd=str(cwd), env=env, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def serve_then_notify(serve_command: str, notify_command: str, expected: str, cwd: Path,
                      env: Optional[Dict[str, str]] = None) -> None:
    """Start ``serve_command`` as pasted into a shell, wait until it listens on 23053, run
    ``notify_command`` the same way, check the receiver printed ``expected``, then stop it
    with Ctrl-C (exit status 130). Hold ``default_port_lock`` around it."""
    with running(['bash', '-c', f'exec {serve_command}'], cwd, env) as (serve, out, err):
        assert '127.0.0.1:23053' in err.until('listening on')
        notify = shell(notify_command, cwd, env)
        assert notify.returncode == 0, notify.stdout + notify.stderr
        assert expected in out.until(expected)
        serve.send_signal(2)  # SIGINT, Ctrl-C
        assert serve.wait(20) == 130
