"""GNTPServer/ServerThread with a StateKeeper, in this process: what is restored at start,
and what is not."""

from __future__ import annotations

import asyncio
import time

import pytest

from gntplib import Event, Publisher, Subscriber
from gntplib.exceptions import GNTPError, GNTPResponseError
from gntplib.server import ServerThread
from gntplib.state import StateKeeper


def serve(directory, password=None):
    return ServerThread(password=password, state=StateKeeper.open(str(directory)))


def test_user_choices_and_subscriptions_come_back(tmp_path):
    with serve(tmp_path, 'hub-pw') as hub:
        Publisher('App', [Event('a'), Event('b')], port=hub.port, password='hub-pw').register()
        hub.call(lambda: hub.server.set_notification_enabled('App', 'a', False))
        Subscriber('sub-1', 'phone', ('127.0.0.1', hub.port), 'hub-pw', port=9).subscribe()
    with serve(tmp_path, 'hub-pw') as hub:
        assert list(hub.subscribers) == ['sub-1']
        sub = hub.subscribers['sub-1']
        assert (sub.name, sub.port, sub.key_hash_algorithm_id) == ('phone', 9, 'SHA256')
        assert 50 < sub.expires - time.monotonic() <= 300
        publisher = Publisher('App', [Event('a'), Event('b')], port=hub.port,
                              password='hub-pw')
        with pytest.raises(GNTPResponseError) as refused:
            publisher.publish('a', 'muted by the user')
        assert refused.value.error_code == 404
        # The user's choice outlives the application registering again.
        publisher.register()
        with pytest.raises(GNTPResponseError):
            publisher.publish('a', 'still muted')
        publisher.publish('b', 'fine')


def test_a_subscription_whose_password_is_gone_is_not_resumed(tmp_path):
    with serve(tmp_path, 'old-pw') as hub:
        Subscriber('sub-1', 'phone', ('127.0.0.1', hub.port), 'old-pw', port=9).subscribe()
    with serve(tmp_path, 'new-pw') as hub:
        assert hub.subscribers == {}


def test_a_choice_for_a_type_no_longer_registered_is_ignored(tmp_path):
    with serve(tmp_path) as hub:
        Publisher('App', ['a', 'b'], port=hub.port).register()
        hub.call(lambda: hub.server.set_notification_enabled('App', 'b', False))
        Publisher('App', ['a'], port=hub.port).register()      # 'b' is gone
    with serve(tmp_path) as hub:
        assert sorted(hub.applications['App'].events) == ['a']
        Publisher('App', ['a'], port=hub.port).publish('a', 'ok')


def test_a_state_that_cannot_be_opened_is_an_error(tmp_path):
    (tmp_path / 'state.sqlite3').write_bytes(b'this is not a database' * 100)
    with pytest.raises(GNTPError, match='cannot open the state database'):
        StateKeeper.open(str(tmp_path))
    (tmp_path / 'state.sqlite3').unlink()
    asyncio.run(StateKeeper.open(str(tmp_path)).close())     # the lock was let go
