"""Load: 2,000 concurrent connections from sync and async clients, every notification
accounted for (none lost, none duplicated), and slow clients do not hold up the others.

Every client here publishes with a socket callback, so its connection stays open after
the ``-OK`` until the server sends the ``-CALLBACK``: the server really holds all 2,000
connections at once before the test releases them.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import socket
import time
from typing import Any, Dict, Iterator, List, Tuple

import pytest
from tornado.iostream import IOStream

from gntplib import Publisher, SocketCallback
from gntplib.async_ import AsyncPublisher
from gntplib.server import GNTPServer

SYNC_CLIENTS = 400
ASYNC_CLIENTS = 1600
#: Measured figures, for the README (``pytest -s`` prints them).
FIGURES: Dict[str, float] = {}


@pytest.fixture
def server(io_loop: Any) -> Iterator[GNTPServer]:
    """A server on the test's loop with room for every connection (the default cap is
    1,000) and a listen backlog for a burst of 2,000 connects."""
    server = GNTPServer(max_connections=2500, idle_timeout=10)
    server.listen(0, '127.0.0.1', family=socket.AF_INET, backlog=4096)
    yield server
    io_loop.run_sync(lambda: server.shutdown(timeout=10))


def publisher(cls: Any, port: int) -> Any:
    return cls('Load', ['update'], host='127.0.0.1', port=port, timeout=30,
               callback_timeout=60)


@pytest.mark.slow
@pytest.mark.gen_test(timeout=120)
async def test_2000_concurrent_connections_lose_and_duplicate_nothing(server):
    await publisher(AsyncPublisher, server.port).register()
    clicks: List[Tuple[str, str]] = []  # (client id, context) per on_click, any thread
    sync_oks: Dict[str, str] = {}
    async_clicked = asyncio.Event()

    def async_click(ident: str, response: Any) -> None:  # runs on the loop
        clicks.append((ident, response.headers['Notification-Callback-Context']))
        if sum(1 for i, _ in clicks if i.startswith('async-')) == ASYNC_CLIENTS:
            async_clicked.set()

    def sync_client(i: int) -> None:
        ident = f'sync-{i}'
        response = publisher(Publisher, server.port).publish(
            'update', ident, id_=ident, gntp_callback=SocketCallback(
                ident, on_click=lambda r: clicks.append(
                    (ident, r.headers['Notification-Callback-Context']))))
        sync_oks[ident] = response.notification_id

    async def async_client(i: int) -> str:
        ident = f'async-{i}'
        response = await publisher(AsyncPublisher, server.port).publish(
            'update', ident, id_=ident, gntp_callback=SocketCallback(
                ident, on_click=lambda r: async_click(ident, r)))
        return response.notification_id

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=SYNC_CLIENTS) as pool:
        sync_done = [asyncio.wrap_future(pool.submit(sync_client, i))
                     for i in range(SYNC_CLIENTS)]
        async_oks = await asyncio.gather(*(async_client(i) for i in range(ASYNC_CLIENTS)))
        # Every client has its -OK and waits on its open connection for the callback.
        total = SYNC_CLIENTS + ASYNC_CLIENTS
        await server.wait_for(lambda: len(server.pending_callbacks) == total, timeout=60)
        FIGURES['2000 connections open (s)'] = round(time.monotonic() - started, 2)
        assert server.connections == total
        for pending in list(server.pending_callbacks.values()):
            server.send_callback(pending, 'CLICK')
        await asyncio.gather(*sync_done)  # a sync publish returns once its click ran
        await asyncio.wait_for(async_clicked.wait(), 60)
        await server.wait_for(lambda: not server.connections, timeout=60)
    FIGURES['2000 notified and clicked (s)'] = round(time.monotonic() - started, 2)
    expected = sorted([f'sync-{i}' for i in range(SYNC_CLIENTS)]
                      + [f'async-{i}' for i in range(ASYNC_CLIENTS)])
    notified = [r.notification.id_ for r in server.received if r.message_type == 'NOTIFY']
    assert sorted(notified) == expected  # each arrived, exactly once
    assert async_oks == [f'async-{i}' for i in range(ASYNC_CLIENTS)]
    assert sync_oks == {f'sync-{i}': f'sync-{i}' for i in range(SYNC_CLIENTS)}
    assert sorted(clicks) == [(ident, ident) for ident in expected]  # its own, once
    assert server.errors == []


async def _connect(port: int) -> IOStream:
    stream = IOStream(socket.socket(socket.AF_INET))
    await stream.connect(('127.0.0.1', port))
    return stream


@pytest.mark.slow
@pytest.mark.gen_test(timeout=60)
async def test_slow_clients_do_not_hold_up_the_others(server):
    """300 clients that stall halfway through their request, 50 that send theirs a byte at
    a time, and 20 that never read their answer, while 600 sync and async publishes
    run: each of those takes well under a second, against the 10 s the slow ones may
    take (the server's idle timeout)."""
    port = server.port
    await publisher(AsyncPublisher, port).register()
    request = (b'GNTP/1.0 NOTIFY NONE\r\nApplication-Name: Load\r\n'
               b'Notification-Name: update\r\nNotification-Title: slow\r\n\r\n')
    stalled = [await _connect(port) for _ in range(300)]
    for stream in stalled:
        await stream.write(request[:40])
    tricklers = [await _connect(port) for _ in range(50)]
    deaf = [await _connect(port) for _ in range(20)]
    for stream in deaf:
        await stream.write(request)  # and never read the -OK
    position = 0

    async def trickle() -> None:  # one byte per stream every 20 ms: the slow clients' pace
        nonlocal position
        while position < len(request) - 1:
            for stream in tricklers:
                stream.write(request[position:position + 1])
            position += 1
            await asyncio.sleep(0.02)
    trickling = asyncio.ensure_future(trickle())
    await server.wait_for(lambda: server.connections >= 370, timeout=10)

    latencies: List[float] = []

    async def timed(call: Any) -> None:
        started = time.monotonic()
        assert (await call()).ok
        latencies.append(time.monotonic() - started)

    def sync_call() -> Any:
        return publisher(Publisher, port).publish('update', 'fast')

    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        loop = asyncio.get_running_loop()
        for _ in range(10):  # 10 rounds of 30 async + 30 sync publishes
            await asyncio.gather(
                *(timed(lambda: publisher(AsyncPublisher, port).publish('update', 'fast'))
                  for _ in range(30)),
                *(timed(lambda: loop.run_in_executor(pool, sync_call)) for _ in range(30)))
    still_slow = server.connections
    trickling.cancel()
    for stream in stalled + tricklers + deaf:
        stream.close()
    FIGURES['fast publish latency, max (s)'] = round(max(latencies), 3)
    FIGURES['fast publish latency, median (s)'] = round(sorted(latencies)[300], 3)
    assert len(latencies) == 600
    assert max(latencies) < 2.0, max(latencies)
    assert still_slow >= 350  # the slow ones were there all along
    titles = collections.Counter(r.notification.title for r in server.received
                                 if r.message_type == 'NOTIFY')
    assert titles['fast'] == 600


@pytest.fixture(scope='module', autouse=True)
def print_figures() -> Iterator[None]:
    yield
    for name, value in FIGURES.items():
        print(f'{name}: {value}')
