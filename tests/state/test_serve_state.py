"""``gntplib serve --state DIR`` as users run it: a restart forgets nothing, the history
stays bounded, and notifications are forwarded through the outbox with real Apprise to a
real HTTP endpoint."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from gntplib import Event, Notification, NotifyRequest, Publisher, Resource, Subscriber
from gntplib.connections import GNTPClient
from gntplib.exceptions import GNTPResponseError
from gntplib.state import SQLiteStore
from gntplib.state.sqlite import DATABASE_NAME

from .endpoints import EndpointThread


def notify_only(port, title, app='App', event='update', id_=None, password=None):
    """A NOTIFY that never registers on its own (whatever the client's defaults)."""
    client = GNTPClient('127.0.0.1', port, password=password, timeout=10)
    return client.process_request(NotifyRequest(app, Notification(event, title, 'text', id_)))


def stored_history(state_dir):
    store = SQLiteStore(str(state_dir / DATABASE_NAME))
    try:
        return store.history()
    finally:
        store.close()


SUBSCRIBER_ID = 'phone-1'


@pytest.mark.gntp_server(password='hub-pw' + SUBSCRIBER_ID)
def test_a_restart_loses_nothing(tmp_path, gntplib_serve, gntp_server_thread):
    state = str(tmp_path / 'state')
    hub = gntplib_serve('--state', state, '--password', 'hub-pw')
    Publisher('App', [Event('update'), Event('muted', enabled=False)], port=hub.port,
              password='hub-pw').register()
    notify_only(hub.port, 'before', password='hub-pw')
    # A subscriber (a GNTP server of its own) subscribes to the hub.
    Subscriber(SUBSCRIBER_ID, 'phone', ('127.0.0.1', hub.port), 'hub-pw',
               port=gntp_server_thread.port).subscribe()
    assert hub.stop() == 0

    hub = gntplib_serve('--state', state, '--password', 'hub-pw')
    # Registered before the restart: the NOTIFY is accepted, not answered 401.
    assert notify_only(hub.port, 'after', password='hub-pw').message_type == '-OK'
    with pytest.raises(GNTPResponseError) as refused:     # its enabled flag survived too
        notify_only(hub.port, 'x', event='muted', password='hub-pw')
    assert refused.value.error_code == 404
    # The subscription resumed: the hub forwards to the subscriber.
    gntp_server_thread.wait_for(lambda s: any(
        getattr(r, 'notification', None) and r.notification.title == 'after'
        for r in s.received), timeout=10)
    assert hub.stop() == 0
    assert [e.title for e in stored_history(tmp_path / 'state')] == ['before', 'after']


def test_no_state_keeps_todays_behaviour(tmp_path, gntplib_serve):
    hub = gntplib_serve('--no-state')
    Publisher('App', ['update'], port=hub.port).register()
    hub.stop()
    hub = gntplib_serve('--no-state')
    with pytest.raises(GNTPResponseError) as refused:
        notify_only(hub.port, 'after')
    assert refused.value.error_code == 401
    hub.stop()


def test_the_default_state_directory_is_under_xdg_state_home(tmp_path, gntplib_serve):
    hub = gntplib_serve(XDG_STATE_HOME=str(tmp_path))
    Publisher('App', ['update'], port=hub.port).register()
    hub.stop()
    assert (tmp_path / 'gntplib' / DATABASE_NAME).exists()


def test_history_bounds_hold_under_a_flood(tmp_path, gntplib_serve):
    """A flood of 1000 notifications from 10 threads, with icons (40 distinct, some over
    the size cap), into a history of 100 rows: never more than 100 rows, the newest kept,
    each icon stored once, none over the cap."""
    state = tmp_path / 'state'
    hub = gntplib_serve('--state', str(state), '--history-rows', '100')
    Publisher('App', ['update'], port=hub.port).register()
    icons = [Resource(bytes([i]) * (600 if i < 20 else 300 * 1024)) for i in range(40)]
    sizes = []

    def flood(thread):
        publisher = Publisher('App', ['update'], port=hub.port)
        for i in range(100):
            publisher.publish('update', f'{thread}-{i}', icon=icons[(thread + i) % 40])
            if i % 25 == 0:
                sizes.append(len(stored_history(state)))
    with ThreadPoolExecutor(10) as pool:
        list(pool.map(flood, range(10)))
    hub.stop()
    history = stored_history(state)
    assert len(history) == 100 and max(sizes) <= 100
    assert {e.title.split('-')[1] for e in history} >= {'99'}      # the newest are kept
    store = SQLiteStore(str(state / DATABASE_NAME))
    assert store.icon_count() <= 20         # the big ones were not stored
    assert all(e.icon is None or len(e.icon.data) == 600 for e in history)
    store.close()


def test_forwarding_from_serve_to_a_local_json_endpoint(tmp_path, gntplib_serve):
    with EndpointThread() as endpoint:
        hub = gntplib_serve('--state', str(tmp_path), '--forward',
                            f'app=App json://127.0.0.1:{endpoint.port}/hook', '--forward',
                            f'priority>=2 ntfy://127.0.0.1:{endpoint.port}/alerts')
        publisher = Publisher('App', ['update'], port=hub.port)
        publisher.register()
        Publisher('Other', ['update'], port=hub.port).register()
        publisher.publish('update', 'first', 'one')
        notify_only(hub.port, 'not forwarded', app='Other')
        publisher.publish('update', 'urgent', 'two', priority=2)
        endpoint.wait_for(lambda: len(endpoint.received) == 3)
        hub.stop()
        got = sorted((r['path'], r['json']['title']) for r in endpoint.received)
        assert got == [('/', 'urgent'), ('/hook', 'first'), ('/hook', 'urgent')]
