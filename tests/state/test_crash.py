"""``kill -9`` of ``gntplib serve --state DIR`` in the middle of a load of 50 concurrent
publishers: after a restart, every notification that got ``-OK`` is in the history, none
twice, and the outbox delivers what was still queued."""

from __future__ import annotations

import collections
import os
import signal
import threading
import time

from gntplib import Notification, NotifyRequest, Publisher
from gntplib.connections import GNTPClient
from gntplib.exceptions import GNTPError
from gntplib.state import SQLiteStore
from gntplib.state.sqlite import DATABASE_NAME

from .endpoints import EndpointThread

PUBLISHERS = 50
ACKNOWLEDGED_BEFORE_KILL = 600


def test_kill_9_under_load_loses_no_acknowledged_notification(tmp_path, gntplib_serve):
    state = tmp_path / 'state'
    with EndpointThread() as endpoint:
        forward = ('--forward', f'json://127.0.0.1:{endpoint.port}/hook')
        hub = gntplib_serve('--state', str(state), *forward)
        Publisher('App', ['update'], port=hub.port).register()
        acknowledged = []
        lock = threading.Lock()

        def publish(k):
            client = GNTPClient('127.0.0.1', hub.port, timeout=10)
            for n in range(100000):
                id_ = f'{k}-{n}'
                try:
                    client.process_request(NotifyRequest(
                        'App', Notification('update', id_, 'load', id_)))
                except GNTPError:
                    return              # the server is gone
                with lock:
                    acknowledged.append(id_)

        threads = [threading.Thread(target=publish, args=(k,), daemon=True)
                   for k in range(PUBLISHERS)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while len(acknowledged) < ACKNOWLEDGED_BEFORE_KILL:
            assert time.monotonic() < deadline, f'only {len(acknowledged)} acknowledged'
            time.sleep(0.01)
        os.kill(hub.proc.pid, signal.SIGKILL)
        hub.proc.wait(10)
        for thread in threads:
            thread.join(20)
        assert not any(thread.is_alive() for thread in threads)
        delivered_before = len(endpoint.received)

        restarted = time.monotonic()
        hub = gntplib_serve('--state', str(state), *forward)
        store = SQLiteStore(str(state / DATABASE_NAME))
        history = [e.id_ for e in store.history()]
        queued = len(store.outbox())
        store.close()
        counts = collections.Counter(history)
        missing = set(acknowledged) - set(counts)
        duplicated = [id_ for id_, count in counts.items() if count > 1]
        # The outbox drains what the crash left queued: everything in the history arrives.
        endpoint.wait_for(lambda: {r['json']['title'] for r in endpoint.received}
                          >= set(history), timeout=60)
        drained_in = time.monotonic() - restarted
        titles = [r['json']['title'] for r in endpoint.received]
        forwarded_twice = sum(1 for count in collections.Counter(titles).values() if count > 1)
        hub.stop()
        print(f'\nkill -9 figures: {PUBLISHERS} publishers, acknowledged {len(acknowledged)}, '
              f'found {len(history)} (missing {len(missing)}, duplicated {len(duplicated)}); '
              f'outbox: {delivered_before} delivered before the kill, {queued} queued at '
              f'restart, drained {drained_in:.2f} s after the restart, '
              f'{forwarded_twice} forwarded twice')
        assert not missing and not duplicated
        assert len(history) >= len(acknowledged)
