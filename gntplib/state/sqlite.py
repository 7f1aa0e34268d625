"""The server's state in SQLite (stdlib :mod:`sqlite3`, write-ahead log).

One database file, ``state.sqlite3``, in the state directory. Icons are stored once per MD5
(and only up to :attr:`~gntplib.state.records.HistoryLimits.max_icon_size` bytes); the
history is pruned to its bounds at every commit; an icon nothing refers to any more is
deleted with the history rows that held it.

Durability: ``synchronous='NORMAL'`` (the default) makes every commit survive the
process dying (``kill -9``); ``'FULL'`` also survives the machine losing power, at the price
of an ``fsync`` per commit.
"""

from __future__ import annotations

import functools
import json
import operator
import os
import sqlite3
from typing import Any, Dict, List, Optional, Set, Tuple

from ..exceptions import GNTPError
from ..models import Event, Resource
from .records import (
    AppRecord, HistoryEntry, HistoryLimits, Icon, OutboxItem, SubscriptionRecord, icon_md5,
)
from .store import Store

__all__ = ['SQLiteStore', 'DATABASE_NAME']

#: The database's file name in the state directory.
DATABASE_NAME = 'state.sqlite3'
_SCHEMA_VERSION = 1
_SCHEMA = '''
CREATE TABLE IF NOT EXISTS icons (
    md5 TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS applications (
    name TEXT PRIMARY KEY, icon_url TEXT, icon_md5 TEXT, host TEXT NOT NULL,
    registered_at REAL NOT NULL, first_seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    app TEXT NOT NULL, position INTEGER NOT NULL, name TEXT NOT NULL, display_name TEXT,
    enabled INTEGER NOT NULL, icon_url TEXT, icon_md5 TEXT, PRIMARY KEY (app, name));
CREATE TABLE IF NOT EXISTS choices (
    app TEXT NOT NULL, name TEXT NOT NULL, enabled INTEGER NOT NULL, PRIMARY KEY (app, name));
CREATE TABLE IF NOT EXISTS subscriptions (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, host TEXT NOT NULL, port INTEGER NOT NULL,
    key_algorithm TEXT NOT NULL, key_hash TEXT NOT NULL, salt TEXT NOT NULL,
    encryption_algorithm TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS history (
    row INTEGER PRIMARY KEY AUTOINCREMENT, received_at REAL NOT NULL, app TEXT NOT NULL,
    name TEXT NOT NULL, title TEXT NOT NULL, text TEXT NOT NULL, notification_id TEXT,
    priority INTEGER NOT NULL, sticky INTEGER NOT NULL, icon_url TEXT, icon_md5 TEXT,
    coalescing_id TEXT, host TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS history_age ON history (received_at);
CREATE TABLE IF NOT EXISTS outbox (
    row INTEGER PRIMARY KEY AUTOINCREMENT, destination TEXT NOT NULL, payload TEXT NOT NULL,
    created_at REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL, last_error TEXT);
CREATE INDEX IF NOT EXISTS outbox_queue ON outbox (destination, row);
'''
#: Made at every open, so that a database of an earlier gntplib gets it too: which history
#: rows hold an icon (only those rows are in it).
_HISTORY_ICON_INDEX = ('CREATE INDEX IF NOT EXISTS history_icon ON history (icon_md5) '
                       'WHERE icon_md5 IS NOT NULL')
_ORPHAN_ICONS = '''
DELETE FROM icons WHERE md5 NOT IN (
    SELECT icon_md5 FROM history WHERE icon_md5 IS NOT NULL
    UNION SELECT icon_md5 FROM applications WHERE icon_md5 IS NOT NULL
    UNION SELECT icon_md5 FROM events WHERE icon_md5 IS NOT NULL)
'''
#: The history rows out of bounds (?1: the oldest time kept, ?2: how many rows are kept).
_PRUNED = 'received_at < ?1 OR row <= (SELECT MAX(row) FROM history) - ?2'
_ORPHAN_ICON = '''
DELETE FROM icons WHERE md5 = ?1
    AND NOT EXISTS (SELECT 1 FROM history WHERE icon_md5 = ?1)
    AND NOT EXISTS (SELECT 1 FROM applications WHERE icon_md5 = ?1)
    AND NOT EXISTS (SELECT 1 FROM events WHERE icon_md5 = ?1)
'''


class SQLiteStore(Store):
    """A :class:`~gntplib.state.store.Store` in a SQLite database.

    Args:
        path: The database file (created with its tables if missing), or ``':memory:'``.
        limits: The history's bounds and the icon size cap.
        synchronous: ``'NORMAL'`` (survives a crash of the process) or ``'FULL'`` (also a
            power loss).

    Raises:
        GNTPError: If the database cannot be opened or is not a gntplib state database.

    Example:
        >>> store = SQLiteStore(':memory:')
        >>> store.enqueue('ntfy', {'title': 'Hi'}, now=0.0)
        1
        >>> store.outbox_head('ntfy').payload
        {'title': 'Hi'}
    """

    def __init__(self, path: str, limits: Optional[HistoryLimits] = None,
                 synchronous: str = 'NORMAL') -> None:
        super().__init__(limits)
        if synchronous.upper() not in ('NORMAL', 'FULL'):
            raise GNTPError(f'synchronous must be NORMAL or FULL, not {synchronous!r}')
        self.path = path
        try:
            # The server's loop is the only user; ServerThread may open it in another thread.
            self._db = sqlite3.connect(path, check_same_thread=False)
            self._db.execute('PRAGMA journal_mode=WAL')
            self._db.execute(f'PRAGMA synchronous={synchronous.upper()}')
            version = self._db.execute('PRAGMA user_version').fetchone()[0]
            if version not in (0, _SCHEMA_VERSION):
                raise GNTPError(f'{path}: state database version {version}; this gntplib '
                                f'reads version {_SCHEMA_VERSION}')
            if version == 0:
                self._db.executescript(_SCHEMA)
                self._db.execute(f'PRAGMA user_version={_SCHEMA_VERSION}')
            self._db.execute(_HISTORY_ICON_INDEX)
            self._db.commit()
        except sqlite3.Error as exc:
            raise GNTPError(f'cannot open the state database {path}: {exc}') from None
        #: Whether a history row may hold an icon (if not, a prune has none to look for).
        self._history_has_icons = self._db.execute(
            'SELECT EXISTS (SELECT 1 FROM history WHERE icon_md5 IS NOT NULL)').fetchone()[0] == 1

    def __repr__(self) -> str:
        return f'<SQLiteStore {self.path!r}>'

    # -- icons --------------------------------------------------------------------------------

    def _icon_columns(self, icon: Optional[Icon]) -> Tuple[Optional[str], Optional[str]]:
        icon = self.limits.icon(icon)
        if isinstance(icon, Resource) and icon.data is not None:
            md5 = icon_md5(icon.data)
            self._db.execute('INSERT OR IGNORE INTO icons (md5, data) VALUES (?, ?)',
                             (md5, icon.data))
            return None, md5
        return (icon if isinstance(icon, str) else None), None

    def _icon(self, url: Optional[str], md5: Optional[str]) -> Optional[Icon]:
        if md5 is not None:
            row = self._db.execute('SELECT data FROM icons WHERE md5 = ?', (md5,)).fetchone()
            return Resource(row[0]) if row is not None else None
        return url

    def icon_count(self) -> int:
        """How many distinct icons are stored."""
        return int(self._db.execute('SELECT COUNT(*) FROM icons').fetchone()[0])

    # -- applications -------------------------------------------------------------------------

    def put_application(self, record: AppRecord) -> None:
        db = self._db
        replaced = {md5 for (md5,) in db.execute(
            'SELECT icon_md5 FROM applications WHERE name = ?1 AND icon_md5 IS NOT NULL '
            'UNION SELECT icon_md5 FROM events WHERE app = ?1 AND icon_md5 IS NOT NULL',
            (record.name,))}
        url, md5 = self._icon_columns(record.icon)
        row = db.execute('SELECT first_seq FROM applications WHERE name = ?',
                         (record.name,)).fetchone()
        seq = row[0] if row is not None else db.execute(
            'SELECT COALESCE(MAX(first_seq), 0) + 1 FROM applications').fetchone()[0]
        db.execute('INSERT OR REPLACE INTO applications VALUES (?, ?, ?, ?, ?, ?)',
                   (record.name, url, md5, record.host, record.registered_at, seq))
        db.execute('DELETE FROM events WHERE app = ?', (record.name,))
        for position, event in enumerate(record.events):
            event_url, event_md5 = self._icon_columns(event.icon)
            db.execute('INSERT OR REPLACE INTO events VALUES (?, ?, ?, ?, ?, ?, ?)',
                       (record.name, position, event.name, event.display_name,
                        int(event.enabled), event_url, event_md5))
        self._drop_if_orphaned(replaced)

    def applications(self) -> List[AppRecord]:
        records = []
        for name, url, md5, host, registered_at in self._db.execute(
                'SELECT name, icon_url, icon_md5, host, registered_at FROM applications '
                'ORDER BY first_seq'):
            events = [Event(e_name, display, bool(enabled), self._icon(e_url, e_md5))
                      for e_name, display, enabled, e_url, e_md5 in self._db.execute(
                          'SELECT name, display_name, enabled, icon_url, icon_md5 FROM events '
                          'WHERE app = ? ORDER BY position', (name,))]
            records.append(AppRecord(name, self._icon(url, md5), events, host, registered_at))
        return records

    def put_choice(self, app_name: str, event_name: str, enabled: bool) -> None:
        self._db.execute('INSERT OR REPLACE INTO choices VALUES (?, ?, ?)',
                         (app_name, event_name, int(enabled)))

    def choices(self) -> List[Tuple[str, str, bool]]:
        return [(app, name, bool(enabled)) for app, name, enabled in self._db.execute(
            'SELECT app, name, enabled FROM choices ORDER BY app, name')]

    # -- subscriptions ------------------------------------------------------------------------

    def put_subscription(self, record: SubscriptionRecord) -> None:
        self._db.execute('INSERT OR REPLACE INTO subscriptions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
                         (record.id_, record.name, record.host, record.port,
                          record.key_algorithm, record.key_hash, record.salt,
                          record.encryption_algorithm, record.expires_at))

    def subscriptions(self, now: float) -> List[SubscriptionRecord]:
        self._db.execute('DELETE FROM subscriptions WHERE expires_at <= ?', (now,))
        return [SubscriptionRecord(*row) for row in self._db.execute(
            'SELECT id, name, host, port, key_algorithm, key_hash, salt, encryption_algorithm, '
            'expires_at FROM subscriptions ORDER BY expires_at')]

    # -- history ------------------------------------------------------------------------------

    def add_history(self, entry: HistoryEntry) -> int:
        url, md5 = self._icon_columns(entry.icon)
        if md5 is not None:
            self._history_has_icons = True
        # A None bound as a parameter costs sqlite3 a failed adapter lookup (about 2,000
        # instructions on CPython 3.11, four a notification): an absent value is a NULL in
        # the statement instead.
        optional = (entry.id_, url, md5, entry.coalescing_id)
        cursor = self._db.execute(
            # The mask written out: map() over the tuple costs 2.5k instructions more.
            _history_insert((entry.id_ is None, url is None, md5 is None,
                             entry.coalescing_id is None)),
            (entry.received_at, entry.app_name, entry.name, entry.title, entry.text,
             entry.priority, int(entry.sticky), entry.host, *filter(_is_not_none, optional)))
        entry.row = int(cursor.lastrowid or 0)
        return entry.row

    def history(self, limit: Optional[int] = None) -> List[HistoryEntry]:
        query = ('SELECT row, received_at, app, name, title, text, notification_id, priority, '
                 'sticky, icon_url, icon_md5, coalescing_id, host FROM history')
        if limit is not None:
            query = f'SELECT * FROM ({query} ORDER BY row DESC LIMIT {max(0, int(limit))})'
        entries = []
        for (row, received_at, app, name, title, text, notification_id, priority, sticky,
             url, md5, coalescing_id, host) in self._db.execute(query + ' ORDER BY row'):
            entries.append(HistoryEntry(app, name, title, text, notification_id, priority,
                                        bool(sticky), self._icon(url, md5), coalescing_id, host,
                                        received_at, row))
        return entries

    def prune(self, now: float) -> int:
        db = self._db
        # Rows are numbered in arrival order and only the oldest are ever deleted, so the
        # newest max_rows are the ones above MAX(row) - max_rows.
        bounds = (now - self.limits.max_age, self.limits.max_rows)
        icons: Set[str] = set()
        if self._history_has_icons:
            icons = {md5 for (md5,) in db.execute(
                'SELECT DISTINCT icon_md5 FROM history WHERE +icon_md5 IS NOT NULL '
                f'AND ({_PRUNED})', bounds)}
        dropped = db.execute(f'DELETE FROM history WHERE {_PRUNED}', bounds).rowcount
        self._drop_if_orphaned(icons)
        return int(dropped)

    def _drop_if_orphaned(self, md5s: Set[str]) -> None:
        """Delete those of these icons that nothing refers to any more."""
        if md5s:
            self._db.executemany(_ORPHAN_ICON, [(md5,) for md5 in md5s])

    def drop_orphan_icons(self) -> int:
        """Delete the icons nothing refers to any more; return how many. A full sweep: the
        store drops each icon as its last user goes, so this finds none in a database that
        only this version of gntplib wrote."""
        return int(self._db.execute(_ORPHAN_ICONS).rowcount)

    # -- outbox -------------------------------------------------------------------------------

    def enqueue(self, destination: str, payload: Dict[str, Any], now: float) -> int:
        cursor = self._db.execute(
            'INSERT INTO outbox (destination, payload, created_at, next_attempt_at) '
            'VALUES (?, ?, ?, ?)', (destination, json.dumps(payload), now, now))
        return int(cursor.lastrowid or 0)

    def outbox(self, destination: Optional[str] = None) -> List[OutboxItem]:
        query = ('SELECT row, destination, payload, created_at, attempts, next_attempt_at, '
                 'last_error FROM outbox')
        rows = self._db.execute(query + ' ORDER BY row') if destination is None else \
            self._db.execute(query + ' WHERE destination = ? ORDER BY row', (destination,))
        return [_item(row) for row in rows]

    def outbox_head(self, destination: str) -> Optional[OutboxItem]:
        row = self._db.execute(
            'SELECT row, destination, payload, created_at, attempts, next_attempt_at, '
            'last_error FROM outbox WHERE destination = ? ORDER BY row LIMIT 1',
            (destination,)).fetchone()
        return _item(row) if row is not None else None

    def record_failure(self, row: int, attempts: int, next_attempt_at: float,
                       error: str) -> None:
        self._db.execute('UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ? '
                         'WHERE row = ?', (attempts, next_attempt_at, error, row))

    def remove(self, row: int) -> None:
        self._db.execute('DELETE FROM outbox WHERE row = ?', (row,))

    # -- durability ---------------------------------------------------------------------------

    def commit(self) -> None:
        """Commit every write so far.

        Raises:
            GNTPError: If the database cannot be written (the writes are rolled back).
        """
        try:
                self._db.commit()
        except sqlite3.Error as exc:
            self._db.rollback()
            raise GNTPError(f'cannot write the state database {self.path}: {exc}') from None

    def close(self) -> None:
        try:
            self.commit()
        finally:
            self._db.close()


#: The history's columns that always have a value, then those that may be NULL.
_HISTORY_COLUMNS = ('received_at', 'app', 'name', 'title', 'text', 'priority', 'sticky',
                    'host')
_HISTORY_OPTIONAL = ('notification_id', 'icon_url', 'icon_md5', 'coalescing_id')
_is_not_none = functools.partial(operator.is_not, None)


@functools.lru_cache(maxsize=None)
def _history_insert(nulls: Tuple[bool, ...]) -> str:
    """The INSERT of a history row whose optional columns flagged in ``nulls`` are NULL."""
    values = ['?'] * len(_HISTORY_COLUMNS) + ['NULL' if null else '?' for null in nulls]
    return (f'INSERT INTO history ({", ".join(_HISTORY_COLUMNS + _HISTORY_OPTIONAL)}) '
            f'VALUES ({", ".join(values)})')


def _item(row: Tuple[Any, ...]) -> OutboxItem:
    return OutboxItem(row[0], row[1], json.loads(row[2]), row[3], row[4], row[5], row[6])


def database_path(directory: str) -> str:
    """The database file in a state directory (the directory is created if need be)."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    return os.path.join(directory, DATABASE_NAME)
