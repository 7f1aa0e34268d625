"""Peak-RSS probes for the hardening tests: one side of a GNTP exchange in a subprocess.

The test process streams 100 MB at the side under test (generated lazily, never held in
memory), and that side, running here in its own process, reports its peak resident set
size (``VmHWM``) before and after, so the figure is not blurred by the test process.

Run as a script (loopback only)::

    python -m tests.support.hardening_rss server
        Serve a default GNTPServer on 127.0.0.1 (a ServerThread); print
        {"port", "baseline_kb"} once warmed up; on the line "report" on stdin, print
        {"peak_kb", "errors", "received", "still_serving"} and exit.

    python -m tests.support.hardening_rss client sync|async PORT [callback]
        Call register() twice against 127.0.0.1:PORT (the first call warms up and sets
        the baseline; with "callback", the second is a publish that waits for a socket
        callback); print {"baseline_kb", "peak_kb", "error", "message", "logged",
        "clicks", "elapsed"}.
"""

from __future__ import annotations

import json
import resource
import socket
import sys
import threading
import time
from typing import Any, Callable, Dict, Iterator

MB = 1024 * 1024
CHUNK = 64 * 1024


def peak_rss_kb() -> int:
    """Peak resident set size of this process, in KiB.

    ``VmHWM`` from /proc where there is one: Linux carries ``ru_maxrss`` over an exec()
    from the process that forked us, so in a child of a 50 MB pytest it would start at
    50 MB and hide any growth below that. Elsewhere, ``ru_maxrss`` (KiB on Linux, bytes
    on macOS).
    """
    try:
        with open('/proc/self/status') as status:
            for line in status:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1])
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == 'darwin' else peak


def repeated(pattern: bytes, total: int) -> Iterator[bytes]:
    """``total`` bytes of ``pattern`` repeated, in 64 KiB pieces built once (lazy)."""
    piece = (pattern * (CHUNK // len(pattern) + 1))[:CHUNK]
    sent = 0
    while sent < total:
        part = piece[:min(CHUNK, total - sent)]
        sent += len(part)
        yield part


# -- the side under test ------------------------------------------------------------------------

def _emit(record: Dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(record) + '\n')
    sys.stdout.flush()


def run_server() -> None:
    from gntplib import Publisher, Resource
    from gntplib.server import ServerThread

    with ServerThread() as thread:
        # Warm up every code path a stream can reach (parse, resources, answers, errors).
        publisher = Publisher('Warm', ['up'], port=thread.port, timeout=10)
        publisher.register()
        publisher.publish('up', 'warm', icon=Resource(b'x' * CHUNK))
        _emit({'port': thread.port, 'baseline_kb': peak_rss_kb()})
        for line in sys.stdin:
            if line.strip() == 'report':
                break
        peak = peak_rss_kb()
        still_serving = publisher.publish('up', 'still serving').ok
        _emit({'peak_kb': peak, 'errors': [list(e) for e in thread.errors],
               'received': len(thread.received), 'still_serving': still_serving})


def run_client(mode: str, port: int, callback: bool) -> None:
    """Warm up with one register(), then make the call under test (see the module doc)."""
    import logging

    from gntplib import GNTPError, Publisher, SocketCallback

    logged: list = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = lambda record: logged.append(record.getMessage()[:200])  # type: ignore
    logging.getLogger('gntplib').addHandler(handler)
    clicks: list = []
    socket_callback = SocketCallback('ctx', on_click=clicks.append)
    options: Dict[str, Any] = {'port': port, 'timeout': 30, 'callback_timeout': 30}
    if mode == 'async':
        import asyncio

        from gntplib import _async_io
        from gntplib.async_ import AsyncPublisher
        publisher: Any = AsyncPublisher('App', ['update'], **options)
        loop = asyncio.new_event_loop()

        async def finish(call: Callable[[], Any]) -> Any:
            result = await call()
            # The async publish resolves at -OK; the wait for the -CALLBACK goes on in
            # the background, and that is where a flood would arrive.
            await asyncio.gather(*_async_io._background_tasks, return_exceptions=True)
            return result

        def run(call: Callable[[], Any]) -> Any:
            return loop.run_until_complete(finish(call))
    else:
        publisher = Publisher('App', ['update'], **options)

        def run(call: Callable[[], Any]) -> Any:
            return call()
    run(publisher.register)
    baseline = peak_rss_kb()
    started = time.monotonic()
    error = message = None
    try:
        if callback:
            run(lambda: publisher.publish('update', 'Hi', gntp_callback=socket_callback))
        else:
            run(publisher.register)
    except GNTPError as exc:
        error, message = type(exc).__name__, str(exc)[:200]
    _emit({'baseline_kb': baseline, 'peak_kb': peak_rss_kb(), 'error': error,
           'message': message, 'logged': logged, 'clicks': len(clicks),
           'elapsed': time.monotonic() - started})


# -- driving it from a test ----------------------------------------------------------------------

def send_stream(sock: socket.socket, head: bytes, body: Iterator[bytes],
                answered: threading.Event) -> int:
    """Send ``head`` then ``body`` until done, the peer stops reading, or ``answered``;
    return the bytes sent."""
    sent = 0
    try:
        sock.sendall(head)
        sent += len(head)
        for part in body:
            if answered.is_set():
                break
            sock.sendall(part)
            sent += len(part)
    except OSError:
        pass
    return sent


if __name__ == '__main__':
    if sys.argv[1] == 'server':
        run_server()
    else:
        run_client(sys.argv[2], int(sys.argv[3]), 'callback' in sys.argv[4:])
