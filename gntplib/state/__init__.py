"""The server's state: what ``gntplib serve`` keeps across restarts, and forwarding.

* :mod:`~gntplib.state.store`: the :class:`Store` interface and :class:`MemoryStore`;
* :mod:`~gntplib.state.sqlite`: :class:`SQLiteStore` (stdlib ``sqlite3``, WAL);
* :mod:`~gntplib.state.outbox`: per-destination queues drained with retries;
* :mod:`~gntplib.state.forward`: Apprise destinations and their filters;
* :mod:`~gntplib.state.subscribers`: GNTP subscribers as destinations;
* :mod:`~gntplib.state.keeper`: :class:`StateKeeper`, what a receiver calls.

See :doc:`/state`.
"""

from .keeper import StateKeeper, default_state_dir
from .outbox import DeliveryError, Destination, Outbox, RetryPolicy
from .records import AppRecord, HistoryEntry, HistoryLimits, OutboxItem, SubscriptionRecord
from .sqlite import SQLiteStore
from .store import MemoryStore, Store

__all__ = ['StateKeeper', 'default_state_dir', 'Store', 'MemoryStore', 'SQLiteStore',
           'Outbox', 'RetryPolicy', 'Destination', 'DeliveryError', 'AppRecord',
           'HistoryEntry', 'HistoryLimits', 'OutboxItem', 'SubscriptionRecord']
