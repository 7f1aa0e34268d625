"""The store behind the server's state: one small interface, two implementations.

:class:`Store` is what the receiver and the outbox use; :class:`MemoryStore` keeps
everything in the process (``gntplib serve --no-state``), :class:`~gntplib.state.sqlite.
SQLiteStore` in a SQLite database. Writes take effect at once for readers of the same store
and are made durable by :meth:`Store.commit`, which the server calls once per loop
iteration for all the requests of that iteration (see :class:`~gntplib.state.keeper.
StateKeeper`). A store is used from one thread at a time.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections import OrderedDict
from typing import Any, Dict, Iterator, List, Optional, Tuple

from ..models import Event
from .records import AppRecord, HistoryEntry, HistoryLimits, OutboxItem, SubscriptionRecord

__all__ = ['Store', 'MemoryStore']


class Store(ABC):
    """Applications, subscriptions, a bounded history and the forwarding outbox.

    Args:
        limits: The history's bounds and the icon size cap.
    """

    def __init__(self, limits: Optional[HistoryLimits] = None) -> None:
        self.limits = limits or HistoryLimits()

    # -- applications -----------------------------------------------------------------------

    @abstractmethod
    def put_application(self, record: AppRecord) -> None:
        """Store an application, replacing the one of that name."""

    @abstractmethod
    def applications(self) -> List[AppRecord]:
        """Every stored application, in the order they were first registered."""

    @abstractmethod
    def put_choice(self, app_name: str, event_name: str, enabled: bool) -> None:
        """Keep a user's choice to enable or disable a notification type (it outlives
        the application registering again)."""

    @abstractmethod
    def choices(self) -> List[Tuple[str, str, bool]]:
        """Every kept choice: ``(application, notification type, enabled)``."""

    # -- subscriptions ----------------------------------------------------------------------

    @abstractmethod
    def put_subscription(self, record: SubscriptionRecord) -> None:
        """Store a subscription, replacing the one with that ID (a renewal)."""

    @abstractmethod
    def subscriptions(self, now: float) -> List[SubscriptionRecord]:
        """The subscriptions whose TTL has not run out at ``now`` (the others are deleted)."""

    # -- history ------------------------------------------------------------------------------

    @abstractmethod
    def add_history(self, entry: HistoryEntry) -> int:
        """Append a notification to the history; return its row number."""

    @abstractmethod
    def history(self, limit: Optional[int] = None) -> List[HistoryEntry]:
        """The history, oldest first; with ``limit``, only the newest ``limit`` entries."""

    @abstractmethod
    def prune(self, now: float) -> int:
        """Apply the history's bounds at ``now``; return how many entries were dropped."""

    # -- outbox ---------------------------------------------------------------------------------

    @abstractmethod
    def enqueue(self, destination: str, payload: Dict[str, Any], now: float) -> int:
        """Queue ``payload`` for ``destination``; return the item's row number."""

    @abstractmethod
    def outbox(self, destination: Optional[str] = None) -> List[OutboxItem]:
        """Queued items (of one destination, or all), oldest first."""

    def outbox_head(self, destination: str) -> Optional[OutboxItem]:
        """The oldest item queued for ``destination``, or ``None``."""
        items = self.outbox(destination)
        return items[0] if items else None

    @abstractmethod
    def record_failure(self, row: int, attempts: int, next_attempt_at: float,
                       error: str) -> None:
        """Note a failed delivery of outbox item ``row`` and when to try again."""

    @abstractmethod
    def remove(self, row: int) -> None:
        """Take outbox item ``row`` off the queue (delivered, or given up)."""

    # -- durability -----------------------------------------------------------------------------

    def commit(self) -> None:
        """Make every write so far durable."""

    def close(self) -> None:
        """Commit and release the store."""
        self.commit()


class MemoryStore(Store):
    """A store in this process's memory: gone when the process ends.

    Example:
        >>> from gntplib.state.records import HistoryEntry
        >>> store = MemoryStore(HistoryLimits(max_rows=2))
        >>> for title in 'abc':
        ...     _ = store.add_history(HistoryEntry('App', 'e', title, received_at=1.0))
        >>> _ = store.prune(now=2.0)
        >>> [entry.title for entry in store.history()]
        ['b', 'c']
    """

    def __init__(self, limits: Optional[HistoryLimits] = None) -> None:
        super().__init__(limits)
        self._apps: Dict[str, AppRecord] = {}
        self._subscriptions: Dict[str, SubscriptionRecord] = {}
        self._choices: Dict[Tuple[str, str], bool] = {}
        self._history: 'OrderedDict[int, HistoryEntry]' = OrderedDict()
        self._outbox: 'OrderedDict[int, OutboxItem]' = OrderedDict()
        self._rows: Iterator[int] = itertools.count(1)

    def put_application(self, record: AppRecord) -> None:
        self._apps[record.name] = _copy_app(record)

    def applications(self) -> List[AppRecord]:
        return [_copy_app(record) for record in self._apps.values()]

    def put_choice(self, app_name: str, event_name: str, enabled: bool) -> None:
        self._choices[(app_name, event_name)] = bool(enabled)

    def choices(self) -> List[Tuple[str, str, bool]]:
        return [(app, event, enabled) for (app, event), enabled in self._choices.items()]

    def put_subscription(self, record: SubscriptionRecord) -> None:
        self._subscriptions[record.id_] = record

    def subscriptions(self, now: float) -> List[SubscriptionRecord]:
        for sub_id in [i for i, s in self._subscriptions.items() if s.expires_at <= now]:
            del self._subscriptions[sub_id]
        return list(self._subscriptions.values())

    def add_history(self, entry: HistoryEntry) -> int:
        entry.row = next(self._rows)
        entry.icon = self.limits.icon(entry.icon)
        self._history[entry.row] = entry
        return entry.row

    def history(self, limit: Optional[int] = None) -> List[HistoryEntry]:
        entries = list(self._history.values())
        return entries if limit is None else entries[-limit:] if limit > 0 else []

    def prune(self, now: float) -> int:
        dropped = 0
        oldest = now - self.limits.max_age
        while self._history and (len(self._history) > self.limits.max_rows
                                 or next(iter(self._history.values())).received_at < oldest):
            self._history.popitem(last=False)
            dropped += 1
        return dropped

    def enqueue(self, destination: str, payload: Dict[str, Any], now: float) -> int:
        row = next(self._rows)
        self._outbox[row] = OutboxItem(row, destination, dict(payload), now, 0, now)
        return row

    def outbox(self, destination: Optional[str] = None) -> List[OutboxItem]:
        return [item for item in self._outbox.values()
                if destination is None or item.destination == destination]

    def record_failure(self, row: int, attempts: int, next_attempt_at: float,
                       error: str) -> None:
        item = self._outbox.get(row)
        if item is not None:
            item.attempts, item.next_attempt_at, item.last_error = \
                attempts, next_attempt_at, error

    def remove(self, row: int) -> None:
        self._outbox.pop(row, None)


def _copy_app(record: AppRecord) -> AppRecord:
    # Callers may change the events they get (enabled flags); the store keeps its own.
    return AppRecord(record.name, record.icon,
                     [Event(e.name, e.display_name, e.enabled, e.icon) for e in record.events],
                     record.host, record.registered_at)
