"""What a receiver calls to keep its state: records, grouped commits, the outbox.

:class:`StateKeeper` turns accepted requests into store records and queues forwards; the
server then awaits :meth:`StateKeeper.acknowledged` before it writes ``-OK``. All the
writes of one loop iteration are committed together in one transaction, at the start of
the next iteration, so a load of concurrent clients costs one commit per iteration rather
than one per request.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import IO, Any, Callable, List, Optional, Sequence, Tuple

from ..constants import DEFAULT_PORT
from ..exceptions import GNTPError
from ..keys import Key, find_matching_key
from ..requests import BaseRequest, NotifyRequest, RegisterRequest, SubscribeRequest
from .forward import AppriseDestination, parse_forward
from .outbox import Clock, Destination, Outbox, RetryPolicy
from .records import AppRecord, HistoryEntry, HistoryLimits, SubscriptionRecord
from .sqlite import SQLiteStore, database_path
from .store import MemoryStore, Store
from .subscribers import Outcome, SubscriberDestination, pack_forward

__all__ = ['StateKeeper', 'default_state_dir', 'hub_password']

logger = logging.getLogger('gntplib.state')

Address = Tuple[Any, ...]


def default_state_dir() -> str:
    """``$XDG_STATE_HOME/gntplib``, or ``~/.local/state/gntplib`` without it."""
    base = os.environ.get('XDG_STATE_HOME') or os.path.join(
        os.path.expanduser('~'), '.local', 'state')
    return os.path.join(base, 'gntplib')


def hub_password(record: SubscriptionRecord, passwords: Sequence[str]) -> Optional[str]:
    """Which of ``passwords`` a stored subscriber proved it knows (``None``: none of them
    any more, so the subscription is not resumed)."""
    try:
        key = find_matching_key(passwords, record.key_algorithm, bytes.fromhex(record.key_hash),
                                bytes.fromhex(record.salt))
    except (ValueError, GNTPError):
        return None
    return key.password.decode('utf-8') if key is not None else None


class StateKeeper:
    """The receiver's state: a store, grouped commits and the forwarding outbox.

    Args:
        store: Where the state is kept.
        destinations: Forwarding destinations (each drained by the outbox).
        policy: The outbox's retry policy.
        clock: Wall-clock time; tests may pass their own to step through retry schedules.

    Example:
        >>> keeper = StateKeeper.open(None)          # in memory, as --no-state
        >>> keeper.durable
        False
    """

    def __init__(self, store: Store, destinations: Sequence[Destination] = (),
                 policy: Optional[RetryPolicy] = None, clock: Clock = time.time) -> None:
        self.store = store
        self.clock = clock
        self.durable = not isinstance(store, MemoryStore)
        self.outbox = Outbox(store, destinations, policy, clock, commit=self._outbox_changed)
        self._pending: Optional['asyncio.Future[None]'] = None
        self._history_added = False
        self._lock: Optional[IO[Any]] = None
        #: The state directory (``None`` in memory).
        self.directory: Optional[str] = None
        #: Commits made, and requests acknowledged through them (for figures and tests).
        self.commits = 0

    def __repr__(self) -> str:
        return f'<StateKeeper {self.store!r} outbox={self.outbox!r}>'

    @classmethod
    def open(cls, directory: Optional[str], forward: Sequence[str] = (),
             limits: Optional[HistoryLimits] = None, policy: Optional[RetryPolicy] = None,
             synchronous: str = 'NORMAL', clock: Clock = time.time) -> 'StateKeeper':
        """Open the state in ``directory`` (created if need be; ``None``: in memory), with
        a destination for every ``--forward`` SPEC.

        Raises:
            GNTPError: If the directory is used by another running server, the database
                cannot be opened, or a SPEC is not understood.
        """
        destinations: List[Destination] = []
        for spec in forward:
            url, only = parse_forward(spec)
            destinations.append(AppriseDestination(url, only))
        if directory is None:
            return cls(MemoryStore(limits), destinations, policy, clock)
        path = database_path(directory)
        lock = _lock_directory(directory)
        try:
            store = SQLiteStore(path, limits, synchronous)
        except BaseException:
            lock.close()
            raise
        keeper = cls(store, destinations, policy, clock)
        keeper._lock = lock
        keeper.directory = directory
        return keeper

    # -- what was there before ----------------------------------------------------------------

    def applications(self) -> List[AppRecord]:
        """The applications registered before (to load into the receiver's registry)."""
        return self.store.applications()

    def subscriptions(self) -> List[SubscriptionRecord]:
        """The subscriptions still alive."""
        return self.store.subscriptions(self.clock())

    # -- recording accepted requests ----------------------------------------------------------

    def registered(self, request: RegisterRequest, host: str) -> None:
        """Keep an accepted REGISTER (it replaces the application's previous one)."""
        self.store.put_application(AppRecord.from_request(request, host, self.clock(),
                                                          self.store.limits))

    def set_enabled(self, app_name: str, event_name: str, enabled: bool) -> None:
        """Keep a user's choice to switch a notification type on or off (committed with
        the loop's next group)."""
        self.store.put_choice(app_name, event_name, enabled)
        if self.durable:
            self.acknowledged()

    def notified(self, request: NotifyRequest, host: str) -> HistoryEntry:
        """Add an accepted NOTIFY to the history and queue it for the destinations."""
        entry = HistoryEntry.from_request(request, host, self.clock(), self.store.limits)
        self.store.add_history(entry)
        self._history_added = True
        if self.outbox.destinations:  # the payload is built only for someone to send it to
            self.outbox.enqueue(entry.payload())
        return entry

    def subscribed(self, request: SubscribeRequest, host: str, port: int, key: Key,
                   encryption_algorithm: str, ttl: float) -> None:
        """Keep an accepted SUBSCRIBE until its TTL runs out."""
        self.store.put_subscription(SubscriptionRecord(
            request.id_, request.name, host, port, key.algorithm_id, key.key_hash.hex(),
            key.salt.hex(), encryption_algorithm, self.clock() + ttl))

    def record(self, request: BaseRequest, peer: Address, subscription_ttl: float = 0) -> None:
        """Keep whatever an accepted request changes (the one call a receiver makes after
        it accepted a request, before it answers ``-OK``): a REGISTER's application, a
        NOTIFY's history entry and forwards, a SUBSCRIBE until ``subscription_ttl``."""
        host = str(peer[0]) if peer else ''
        if isinstance(request, NotifyRequest):
            self.notified(request, host)
        elif isinstance(request, RegisterRequest):
            self.registered(request, host)
        elif isinstance(request, SubscribeRequest):
            received = request.received
            key = getattr(received, 'key', None)
            if key is not None:
                self.subscribed(request, host, request.port or DEFAULT_PORT, key,
                                getattr(received, 'encryption_algorithm_id', 'NONE'),
                                subscription_ttl)

    def restore(self, register: Callable[[RegisterRequest, Address], Any],
                subscribe: Optional[Callable[[SubscriptionRecord, str, float], Any]] = None,
                passwords: Sequence[str] = (),
                choose: Optional[Callable[[str, str, bool], Any]] = None) -> Tuple[int, int]:
        """Load what was kept into a receiver: ``register(request, (host, 0))`` for every
        application, then ``choose(app, type, enabled)`` for every choice the user made,
        and ``subscribe(record, hub_password, remaining_ttl)`` for every live subscription
        whose key matches one of ``passwords``. Return how many applications and
        subscriptions."""
        apps = self.applications()
        for app in apps:
            register(app.to_request(), (app.host, 0))
        if choose is not None:
            for app_name, event_name, enabled in self.store.choices():
                choose(app_name, event_name, enabled)
        resumed = 0
        if subscribe is not None:
            now = self.clock()
            for record in self.subscriptions():
                password = hub_password(record, passwords)
                if password is not None:
                    subscribe(record, password, record.expires_at - now)
                    resumed += 1
        return len(apps), resumed

    def forward_to_subscriber(self, subscription: Any, request: BaseRequest, timeout: float,
                              outcome: Optional[Outcome] = None) -> None:
        """Queue a request the receiver forwards to a GNTP subscriber (a
        :class:`~gntplib.receiver.Subscription`); its queue is drained in order, with
        retries, while the subscription lasts."""
        destination = self.subscriber(subscription, timeout, outcome)
        self.outbox.enqueue_for(destination, pack_forward(request))

    def subscriber(self, subscription: Any, timeout: float,
                   outcome: Optional[Outcome] = None) -> SubscriberDestination:
        """The queue of a subscriber (made if need be, e.g. for a resumed subscription;
        renewed to ``subscription`` if it exists)."""
        destination = self.outbox.add(SubscriberDestination(subscription, timeout, outcome))
        assert isinstance(destination, SubscriberDestination)
        destination.renew(subscription)
        return destination

    # -- acknowledging ------------------------------------------------------------------------

    def acknowledged(self) -> Optional['asyncio.Future[None]']:
        """A future done once everything recorded so far is committed (``None`` when the
        store keeps nothing across restarts). The commit runs at the start of the loop's
        next iteration, grouping every request handled in this one.

        The future's exception is the :class:`~gntplib.GNTPError` of a failed commit.
        """
        if not self.durable:
            self._prune()
            return None
        if self._pending is None:
            loop = asyncio.get_event_loop()
            self._pending = loop.create_future()
            loop.call_soon(self._flush)
        return self._pending

    def _prune(self) -> None:
        if self._history_added:
            self._history_added = False
            self.store.prune(self.clock())

    def _flush(self) -> None:
        pending, self._pending = self._pending, None
        try:
            self._prune()
            self.store.commit()
            self.commits += 1
        except Exception as exc:
            logger.error('state: %s', exc)
            if pending is not None and not pending.done():
                pending.set_exception(exc if isinstance(exc, GNTPError)
                                      else GNTPError(f'state: {exc}'))
            return
        if pending is not None and not pending.done():
            pending.set_result(None)
        self.outbox.poke()

    def _outbox_changed(self) -> None:
        if self.durable:
            self.acknowledged()

    # -- running ------------------------------------------------------------------------------

    def start(self) -> None:
        """Start draining the outbox (on the running loop)."""
        self.outbox.start()

    async def close(self) -> None:
        """Stop the outbox, commit and close the store, and free the state directory."""
        await self.outbox.stop()
        try:
            self.store.close()
        finally:
            if self._lock is not None:
                self._lock.close()
                self._lock = None


def _lock_directory(directory: str) -> IO[Any]:
    """Hold a lock on ``directory`` for as long as the returned file is open: two servers
    draining one outbox would deliver everything twice."""
    lock = open(os.path.join(directory, 'lock'), 'a+')
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock
        return lock
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        raise GNTPError(f'the state directory {directory} is used by another running '
                        'gntplib server (give each its own --state DIR)') from None
    return lock

