"""Forwarding through the outbox with real Apprise to real HTTP endpoints on 127.0.0.1.

The one thing not real is the clock of the "down for two minutes" test: the retry
schedule is a function of time alone, and stepping through two minutes of it with a
clock the test moves keeps the test to a second while every delivery attempt, refusal
and success is real.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from gntplib import Notification, NotifyRequest
from gntplib.exceptions import GNTPError, GNTPValidationError
from gntplib.state import HistoryLimits, RetryPolicy, SQLiteStore, StateKeeper
from gntplib.state.forward import AppriseDestination, ForwardFilter, parse_forward

from .endpoints import Endpoint

pytest.importorskip('apprise')


class Clock:
    """Wall-clock time that moves only when the test says so."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def notify(title, app='App', event='update', priority=0, text='body'):
    return NotifyRequest(app, Notification(event, title, text, priority=priority))


def keeper_for(tmp_path, urls, policy=None, clock=time.time, limits=None):
    store = SQLiteStore(str(tmp_path / 'state.sqlite3'), limits)
    destinations = [AppriseDestination(*parse_forward(url)) for url in urls]
    return StateKeeper(store, destinations, policy, clock)


def down_destination(tmp_path, policy, path='/'):
    """An endpoint that is down, and a started keeper forwarding to it on a test clock."""
    endpoint = Endpoint()
    endpoint.down()
    clock = Clock()
    keeper = keeper_for(tmp_path, [f'json://127.0.0.1:{endpoint.port}{path}'], policy, clock)
    keeper.start()
    return endpoint, clock, keeper, keeper.outbox, keeper.outbox.destinations[0].key


async def publish(keeper, *requests):
    for request in requests:
        keeper.notified(request, '127.0.0.1')
    await keeper.acknowledged()


@pytest.mark.gen_test(timeout=30)
async def test_a_destination_down_for_two_minutes_gets_everything_once_in_order(tmp_path):
    policy = RetryPolicy(initial_delay=1.0, factor=2.0, max_delay=60.0)
    endpoint, clock, keeper, outbox, key = down_destination(tmp_path, policy, '/hook')
    started = clock.now
    try:
        await publish(keeper, *(notify(f'n{i}') for i in range(5)))
        delays: list = []
        while len(delays) < 8:                      # tries at 0, 1, 3, 7, 15, 31, 63, 123 s
            tries = len(delays) + 1
            await outbox.wait_until(lambda: outbox.failures == tries, 10)
            head = keeper.store.outbox_head(key)
            delays.append(head.next_attempt_at - clock.now)
            if len(delays) < 8:
                clock.now = head.next_attempt_at    # nothing happens until then
                outbox.poke()
        assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
        assert clock.now - started == 123.0 and endpoint.received == []
        # Two more queued while it is down; then it comes back, and the next try is due.
        await publish(keeper, notify('n5'), notify('n6'))
        endpoint.up()
        clock.now = keeper.store.outbox_head(key).next_attempt_at
        outbox.poke()
        await outbox.wait_until(lambda: outbox.pending() == 0, 10)
        assert endpoint.titles == [f'n{i}' for i in range(7)]
        assert {r['path'] for r in endpoint.received} == {'/hook'}
        assert endpoint.received[0]['json']['message'] == 'body'
        assert keeper.store.outbox() == []
    finally:
        await keeper.close()
        await endpoint.close()


@pytest.fixture
def unthrottled_ntfy(monkeypatch):
    """Apprise waits 5.5 s between two ntfy requests, to spare the public ntfy.sh; the
    endpoint here is our own, so the wait goes (nothing else of Apprise changes)."""
    from apprise.plugins.ntfy import NotifyNtfy
    monkeypatch.setattr(NotifyNtfy, 'request_rate_per_sec', 0)


@pytest.mark.gen_test(timeout=30)
@pytest.mark.parametrize('scheme', ['json', 'ntfy'])
async def test_real_down_and_up_endpoint_gets_everything_once_in_order(
        tmp_path, unthrottled_ntfy, scheme):
    endpoint = Endpoint()
    policy = RetryPolicy(initial_delay=0.02, max_delay=0.1)
    keeper = keeper_for(tmp_path, [f'{scheme}://127.0.0.1:{endpoint.port}/alerts'], policy)
    keeper.start()
    outbox = keeper.outbox
    try:
        await publish(keeper, notify('a0'), notify('a1'))
        await outbox.wait_until(lambda: len(endpoint.received) == 2, 10)
        endpoint.down()
        await publish(keeper, *(notify(f'b{i}') for i in range(10)))
        await outbox.wait_until(lambda: outbox.failures >= 3, 10)
        await publish(keeper, notify('c0'))
        endpoint.up()
        await outbox.wait_until(lambda: outbox.pending() == 0, 10)
        assert endpoint.titles == ['a0', 'a1'] + [f'b{i}' for i in range(10)] + ['c0']
    finally:
        await keeper.close()
        await endpoint.close()


@pytest.mark.gen_test(timeout=30)
async def test_ntfy_pointed_at_a_local_endpoint(tmp_path):
    endpoint = Endpoint()
    keeper = keeper_for(tmp_path, [f'ntfy://127.0.0.1:{endpoint.port}/alerts'])
    keeper.start()
    try:
        await publish(keeper, notify('Disk full', text='/ is at 99%', priority=2))
        await keeper.outbox.wait_until(lambda: keeper.outbox.pending() == 0, 10)
        (got,) = endpoint.received
        assert got['json'] == {'topic': 'alerts', 'title': 'Disk full',
                               'message': '/ is at 99%'}
        assert got['path'] == '/'
    finally:
        await keeper.close()
        await endpoint.close()


@pytest.mark.gen_test(timeout=30)
async def test_filters_choose_what_each_destination_gets(tmp_path):
    urgent, mail, everything = Endpoint(), Endpoint(), Endpoint()
    keeper = keeper_for(tmp_path, [
        f'priority>=1 json://127.0.0.1:{urgent.port}/',
        f'app="Mail Sync",Chat event=new json://127.0.0.1:{mail.port}/',
        f'json://127.0.0.1:{everything.port}/'])
    keeper.start()
    try:
        await publish(keeper, notify('low'), notify('high', priority=1),
                      notify('mail', app='Mail Sync', event='new'),
                      notify('mail-sent', app='Mail Sync', event='sent'),
                      notify('chat', app='Chat', event='new', priority=2),
                      notify('title only', text=''))
        await keeper.outbox.wait_until(lambda: keeper.outbox.pending() == 0, 10)
        assert urgent.titles == ['high', 'chat']
        assert mail.titles == ['mail', 'chat']
        assert [r['json']['type'] for r in urgent.received] == ['warning', 'failure']
        # A notification without text goes with its title as the body.
        assert everything.received[-1]['json']['message'] == 'title only'
        assert len(everything.received) == 6
    finally:
        await keeper.close()
        for endpoint in (urgent, mail, everything):
            await endpoint.close()


@pytest.mark.gen_test(timeout=30)
async def test_the_outbox_survives_a_restart(tmp_path):
    endpoint = Endpoint()
    endpoint.down()
    urls = [f'json://127.0.0.1:{endpoint.port}/']
    first = StateKeeper.open(str(tmp_path), urls, policy=RetryPolicy(initial_delay=0.02))
    first.start()
    outbox = first.outbox
    assert outbox is not None
    await publish(first, notify('before'), notify('restart'))
    await outbox.wait_until(lambda: outbox.failures >= 1, 10)
    await first.close()
    endpoint.up()
    second = StateKeeper.open(str(tmp_path), urls, policy=RetryPolicy(initial_delay=0.02))
    second.start()
    drained = second.outbox
    assert drained is not None
    try:
        await drained.wait_until(lambda: drained.pending() == 0, 10)
        assert endpoint.titles == ['before', 'restart']
        assert [e.title for e in second.store.history()] == ['before', 'restart']
    finally:
        await second.close()
        await endpoint.close()


@pytest.mark.gen_test(timeout=30)
async def test_a_hanging_destination_delays_neither_acknowledgements_nor_others(tmp_path):
    slow, fast = Endpoint(), Endpoint()
    slow.hang = asyncio.get_running_loop().create_future()
    keeper = keeper_for(tmp_path, [f'json://127.0.0.1:{slow.port}/?rto=20',
                                   f'json://127.0.0.1:{fast.port}/'])
    keeper.start()
    try:
        began = time.monotonic()
        for i in range(3):
            await publish(keeper, notify(f'n{i}'))
        acknowledged_in = time.monotonic() - began
        await keeper.outbox.wait_until(lambda: len(fast.received) == 3, 10)
        assert acknowledged_in < 0.5 and slow.received == []
        slow.hang.set_result(None)
        slow.hang = None
        await keeper.outbox.wait_until(lambda: keeper.outbox.pending() == 0, 10)
        assert slow.titles == ['n0', 'n1', 'n2']
    finally:
        await keeper.close()
        await slow.close()
        await fast.close()


@pytest.mark.gen_test(timeout=30)
async def test_items_too_old_or_tried_too_often_are_dropped(tmp_path):
    policy = RetryPolicy(initial_delay=1.0, max_attempts=3, max_age=3600.0)
    endpoint, clock, keeper, outbox, key = down_destination(tmp_path, policy)
    try:
        await publish(keeper, notify('tried'))
        for tries in (1, 2):
            await outbox.wait_until(lambda: outbox.failures == tries, 10)
            clock.now = keeper.store.outbox_head(key).next_attempt_at
            outbox.poke()
        await outbox.wait_until(lambda: len(outbox.dropped) == 1, 10)   # after the 3rd try
        assert outbox.failures == 3
        await publish(keeper, notify('old'))
        await outbox.wait_until(lambda: outbox.failures == 4, 10)
        clock.now += 3601.0
        outbox.poke()
        await outbox.wait_until(lambda: len(outbox.dropped) == 2, 10)
        endpoint.up()
        await publish(keeper, notify('fresh'))
        await outbox.wait_until(lambda: outbox.pending() == 0, 10)
        assert endpoint.titles == ['fresh']
        assert [d[1]['title'] for d in outbox.dropped] == ['tried', 'old']
        assert 'did not take' in outbox.dropped[0][2]
    finally:
        await keeper.close()
        await endpoint.close()


def test_forward_specs_and_their_errors():
    url, only = parse_forward('priority>=-1 app=A,B event=e json://h/x')
    assert (url, only) == ('json://h/x', ForwardFilter(-1, frozenset('AB'), frozenset('e')))
    assert only.describe() == 'priority>=-1 app=A,B event=e'
    assert parse_forward('min-priority=2 json://h')[1].min_priority == 2
    for spec, message in (('json://a json://b', 'exactly one URL'), ('app=A', 'exactly one'),
                          ('colour=red json://h', 'unknown filter'),
                          ('priority>=3 json://h', 'priority must be -2 to 2'),
                          ('priority>=x json://h', 'priority must be'),
                          ('app=, json://h', 'at least one name'),
                          ('"json://h', 'No closing quotation')):
        with pytest.raises(GNTPValidationError, match=message):
            parse_forward(spec)
    with pytest.raises(GNTPValidationError, match='does not understand the nosuch:// URL'):
        AppriseDestination('nosuch://example.org')
    destination = AppriseDestination('json://user:secret@example.org/x', ForwardFilter(1))
    assert 'secret' not in repr(destination) and 'secret' not in destination.key
    assert repr(destination).endswith('priority>=1>')


def test_two_servers_cannot_share_a_state_directory(tmp_path):
    first = StateKeeper.open(str(tmp_path))
    try:
        with pytest.raises(GNTPError, match='used by another running gntplib server'):
            StateKeeper.open(str(tmp_path))
    finally:
        asyncio.run(first.close())
    asyncio.run(StateKeeper.open(str(tmp_path)).close())   # free again


def test_two_destinations_with_one_url_are_refused(tmp_path):
    with pytest.raises(GNTPError, match='same address'):
        StateKeeper.open(None, ['json://h/x', 'priority>=1 json://h/x'])


def test_history_bounds_in_memory_without_state():
    keeper = StateKeeper.open(None, limits=HistoryLimits(max_rows=5))
    for i in range(20):
        keeper.notified(notify(f'n{i}'), '127.0.0.1')
        assert keeper.acknowledged() is None
    assert [e.title for e in keeper.store.history()] == [f'n{i}' for i in range(15, 20)]
