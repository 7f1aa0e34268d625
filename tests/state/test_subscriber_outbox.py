"""A hub with state forwards to its GNTP subscribers through the outbox: in order, with
retries while a subscriber is down, across a hub restart, and not past the subscription."""

from __future__ import annotations

from gntplib import Publisher, Subscriber
from gntplib.server import ServerThread
from gntplib.state import RetryPolicy, StateKeeper

from ..support.waiting import wait_until

QUICK = RetryPolicy(initial_delay=0.05, max_delay=0.2)
SUB_ID = 'desk-1'


def subscriber_on(port=0):
    return ServerThread(port=port, password='hub-pw' + SUB_ID).start()


def hub_on(directory, **kwargs):
    keeper = StateKeeper.open(str(directory), policy=QUICK)
    return ServerThread(password='hub-pw', state=keeper, **kwargs).start(), keeper


def titles(thread):
    return [(r.message_type, getattr(getattr(r, 'notification', None), 'title', None))
            for r in thread.received]


def test_a_subscriber_that_was_down_gets_everything_in_order_once(tmp_path):
    subscriber = subscriber_on()
    port = subscriber.port
    hub, keeper = hub_on(tmp_path)
    try:
        Subscriber(SUB_ID, 'desk', ('127.0.0.1', hub.port), 'hub-pw', port=port).subscribe()
        subscriber.stop()
        publisher = Publisher('App', ['update'], port=hub.port, password='hub-pw')
        publisher.register()
        for i in range(3):
            publisher.publish('update', f'n{i}')
        wait_until(lambda: keeper.outbox.failures >= 2)
        subscriber = subscriber_on(port)
        wait_until(lambda: len(subscriber.received) == 4)
        assert titles(subscriber) == [('REGISTER', None), ('NOTIFY', 'n0'), ('NOTIFY', 'n1'),
                                      ('NOTIFY', 'n2')]
        assert all(r.received_headers for r in subscriber.received)   # forwarded, by hub
        wait_until(lambda: hub.forwards[-1:] == [(SUB_ID, 'NOTIFY', None)])
    finally:
        hub.stop()
        subscriber.stop()


def test_a_subscriber_queue_survives_a_hub_restart(tmp_path):
    subscriber = subscriber_on()
    port = subscriber.port
    hub, keeper = hub_on(tmp_path)
    Subscriber(SUB_ID, 'desk', ('127.0.0.1', hub.port), 'hub-pw', port=port).subscribe()
    subscriber.stop()
    Publisher('App', ['update'], port=hub.port, password='hub-pw').register()
    wait_until(lambda: keeper.outbox.failures >= 1)
    hub.stop()
    subscriber = subscriber_on(port)
    hub, keeper = hub_on(tmp_path)
    try:
        wait_until(lambda: len(subscriber.received) == 1)
        assert titles(subscriber) == [('REGISTER', None)]
    finally:
        hub.stop()
        subscriber.stop()


def test_forwards_stop_with_the_subscription(tmp_path):
    subscriber = subscriber_on()
    port = subscriber.port
    subscriber.stop()
    hub, keeper = hub_on(tmp_path, subscription_ttl=1)
    try:
        Subscriber(SUB_ID, 'desk', ('127.0.0.1', hub.port), 'hub-pw', port=port).subscribe()
        Publisher('App', ['update'], port=hub.port, password='hub-pw').register()
        wait_until(lambda: len(keeper.outbox.dropped) == 1, timeout=5)
        assert 'has run out' in keeper.outbox.dropped[0][2]
    finally:
        hub.stop()
