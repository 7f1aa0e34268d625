"""The store interface, run against both implementations (memory and SQLite)."""

from __future__ import annotations

import os
import sqlite3

import pytest

from gntplib import Event, Notification, NotifyRequest, RegisterRequest, Resource
from gntplib.exceptions import GNTPError
from gntplib.state import (
    AppRecord, HistoryEntry, HistoryLimits, MemoryStore, SQLiteStore, SubscriptionRecord,
)

ICON = b'\x89PNG' + bytes(range(256)) * 4


@pytest.fixture(params=['memory', 'sqlite'])
def make_store(request, tmp_path):
    stores = []

    def make(limits=None):
        store = MemoryStore(limits) if request.param == 'memory' \
            else SQLiteStore(str(tmp_path / 'state.sqlite3'), limits)
        stores.append(store)
        return store
    yield make
    for store in stores:
        store.close()


def entry(title, at=100.0, icon=None, priority=0):
    return HistoryEntry('App', 'update', title, 'text', f'id-{title}', priority, False, icon,
                        None, '127.0.0.1', at)


def test_applications_round_trip_with_enabled_flags_and_icons(make_store):
    store = make_store()
    request = RegisterRequest('Mail', 'http://example.org/mail.png', [
        Event('new', 'New mail', True, Resource(ICON)), Event('sent', enabled=False)])
    store.put_application(AppRecord.from_request(request, '127.0.0.1', 5.0, store.limits))
    store.put_application(AppRecord.from_request(
        RegisterRequest('Chat', None, [Event('msg')]), '::1', 6.0, store.limits))
    mail, chat = store.applications()
    assert mail.to_request() == RegisterRequest('Mail', 'http://example.org/mail.png', [
        Event('new', 'New mail', True, Resource(ICON)), Event('sent', enabled=False)])
    assert (mail.host, mail.registered_at) == ('127.0.0.1', 5.0)
    assert chat.to_request() == RegisterRequest('Chat', None, [Event('msg')])
    # A second REGISTER replaces the first and keeps the application's place.
    store.put_application(AppRecord.from_request(
        RegisterRequest('Mail', None, [Event('other')]), '127.0.0.1', 7.0, store.limits))
    assert [(a.name, [e.name for e in a.events]) for a in store.applications()] == \
        [('Mail', ['other']), ('Chat', ['msg'])]


def test_user_choices_are_kept(make_store):
    store = make_store()
    store.put_choice('Mail', 'new', False)
    store.put_choice('Chat', 'msg', False)
    store.put_choice('Mail', 'new', True)
    assert sorted(store.choices()) == [('Chat', 'msg', False), ('Mail', 'new', True)]


def test_changing_a_returned_record_does_not_change_the_store(make_store):
    store = make_store()
    store.put_application(AppRecord('A', None, [Event('e')]))
    store.applications()[0].events[0].enabled = False
    assert store.applications()[0].events[0].enabled


def test_subscriptions_last_until_their_ttl(make_store):
    store = make_store()
    for sub_id, expires in (('a', 50.0), ('b', 150.0)):
        store.put_subscription(SubscriptionRecord(sub_id, f'sub {sub_id}', '127.0.0.1', 23053,
                                                  'SHA256', 'ab' * 32, 'cd' * 16, 'NONE',
                                                  expires))
    assert [s.id_ for s in store.subscriptions(now=10.0)] == ['a', 'b']
    assert [s.id_ for s in store.subscriptions(now=100.0)] == ['b']
    assert store.subscriptions(now=10.0)[0].name == 'sub b'  # 'a' was deleted at 100


def test_history_is_bounded_by_rows_and_age(make_store):
    store = make_store(HistoryLimits(max_rows=3, max_age=60.0))
    for i in range(6):
        store.add_history(entry(f'n{i}', at=100.0 + i))
    assert store.prune(now=110.0) == 3
    assert [e.title for e in store.history()] == ['n3', 'n4', 'n5']
    assert [e.title for e in store.history(limit=2)] == ['n4', 'n5']
    assert store.history(limit=0) == []
    assert store.prune(now=164.5) == 2       # n3 and n4 are over a minute old
    assert [e.title for e in store.history()] == ['n5']


def test_history_entry_from_a_request_keeps_the_notification():
    request = NotifyRequest('App', Notification('update', 'Title', 'Body', 'n-1', True, 2,
                                                'http://example.org/i.png', 'c-1'))
    e = HistoryEntry.from_request(request, '::1', 9.0, HistoryLimits())
    assert e.payload() == {'app': 'App', 'event': 'update', 'title': 'Title', 'text': 'Body',
                           'id': 'n-1', 'priority': 2, 'sticky': True, 'coalescing_id': 'c-1',
                           'icon_url': 'http://example.org/i.png', 'host': '::1',
                           'received_at': 9.0}


def test_icons_are_capped_in_size(make_store):
    store = make_store(HistoryLimits(max_icon_size=len(ICON)))
    store.add_history(entry('small', icon=Resource(ICON)))
    store.add_history(entry('big', icon=Resource(ICON + b'!')))
    store.add_history(entry('url', icon=Resource(url='http://example.org/x.png')))
    small, big, url = store.history()
    assert small.icon == Resource(ICON) and big.icon is None
    assert url.icon == 'http://example.org/x.png'


def test_sqlite_stores_each_icon_once_and_drops_orphans(tmp_path):
    store = SQLiteStore(str(tmp_path / 's.db'), HistoryLimits(max_rows=2))
    for i in range(5):
        store.add_history(entry(f'n{i}', icon=Resource(ICON)))
    store.add_history(entry('other', icon=Resource(ICON[::-1])))
    assert store.icon_count() == 2
    store.prune(now=100.0)
    assert store.drop_orphan_icons() == 0     # both icons still used by the last two rows
    store.add_history(entry('plain'))
    store.add_history(entry('plain2'))
    store.prune(now=100.0)
    assert store.icon_count() == 0            # the prune dropped them with their last rows
    assert store.drop_orphan_icons() == 0
    store.close()


def test_sqlite_drops_an_icon_when_its_application_changes_it(tmp_path):
    store = SQLiteStore(str(tmp_path / 's.db'))
    old_icon, kept_icon = Resource(ICON), Resource(ICON[::-1])
    store.put_application(AppRecord('A', old_icon, [Event('e', icon=kept_icon)]))
    store.add_history(entry('uses the event icon', icon=kept_icon))
    assert store.icon_count() == 2
    store.put_application(AppRecord('A', None, [Event('e')]))
    assert store.icon_count() == 1       # the history row still shows the event's icon
    assert store.history()[0].icon == kept_icon
    store.close()


def test_history_keeps_every_optional_value_present_or_absent(make_store):
    """Each optional column (ID, icon URL, icon bytes, coalescing ID) with and without a
    value, in every combination, comes back as it went in."""
    store = make_store()
    added = []
    for mask in range(16):
        icon = (Resource(ICON) if mask & 4 else 'http://example.org/i.png') if mask & 6 \
            else None
        added.append(HistoryEntry('App', 'e', f't{mask}', 'x', f'id{mask}' if mask & 1 else None,
                                  mask - 8, bool(mask & 8), icon,
                                  f'c{mask}' if mask & 8 else None, 'h', float(mask)))
        store.add_history(added[-1])
    assert store.history() == added


def test_sqlite_never_numbers_two_history_rows_alike(tmp_path):
    """A row's number stays used once the row is pruned, also across a restart with an
    empty history."""
    path = str(tmp_path / 's.db')
    store = SQLiteStore(path, HistoryLimits(max_age=10.0))
    assert [store.add_history(entry(f'n{i}', at=100.0)) for i in range(3)] == [1, 2, 3]
    assert [e.row for e in store.history()] == [1, 2, 3]
    assert store.prune(now=200.0) == 3
    assert store.add_history(entry('after', at=200.0)) == 4
    assert store.prune(now=300.0) == 1
    store.close()
    reopened = SQLiteStore(path)
    assert reopened.history() == []
    assert reopened.add_history(entry('restarted', at=300.0)) == 5
    reopened.close()


def test_outbox_queues_per_destination_in_order(make_store):
    store = make_store()
    rows = [store.enqueue(dest, {'n': i}, now=float(i)) for i, dest in
            enumerate(['a', 'b', 'a', 'a'])]
    assert [i.payload['n'] for i in store.outbox('a')] == [0, 2, 3]
    assert store.outbox_head('b').payload == {'n': 1}
    assert store.outbox_head('c') is None
    store.record_failure(rows[0], 1, 10.0, 'refused')
    head = store.outbox_head('a')
    assert (head.attempts, head.next_attempt_at, head.last_error) == (1, 10.0, 'refused')
    store.remove(rows[0])
    assert store.outbox_head('a').payload == {'n': 2}
    assert len(store.outbox()) == 3


def test_sqlite_keeps_what_was_committed_only(tmp_path):
    path = str(tmp_path / 's.db')
    store = SQLiteStore(path)
    store.add_history(entry('kept'))
    store.enqueue('a', {'n': 1}, 1.0)
    store.commit()
    store.add_history(entry('lost'))
    # Another connection (a restarted server) sees only the committed writes.
    other = SQLiteStore(path)
    assert [e.title for e in other.history()] == ['kept']
    assert [i.payload for i in other.outbox()] == [{'n': 1}]
    other.close()
    store.close()
    assert sqlite3.connect(path).execute('PRAGMA journal_mode').fetchone()[0] == 'wal'


def test_sqlite_refuses_what_it_cannot_use(tmp_path):
    with pytest.raises(GNTPError, match='synchronous must be NORMAL or FULL'):
        SQLiteStore(str(tmp_path / 'a.db'), synchronous='OFF')
    path = tmp_path / 'newer.db'
    db = sqlite3.connect(str(path))
    db.execute('PRAGMA user_version=99')
    db.close()
    with pytest.raises(GNTPError, match='state database version 99'):
        SQLiteStore(str(path))
    (tmp_path / 'junk.db').write_bytes(b'not a database at all' * 100)
    with pytest.raises(GNTPError, match='cannot open the state database'):
        SQLiteStore(str(tmp_path / 'junk.db'))
    os.mkdir(tmp_path / 'dir.db')
    with pytest.raises(GNTPError, match='cannot open'):
        SQLiteStore(str(tmp_path / 'dir.db'))


def test_history_limits_are_checked():
    with pytest.raises(ValueError):
        HistoryLimits(max_rows=0)
