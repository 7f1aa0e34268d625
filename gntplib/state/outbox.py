"""The forwarding outbox: one queue per destination, drained in order with retries.

Every forward is first written to the store (in the same commit as the ``-OK`` it belongs
to); then each destination's own task takes its oldest item, delivers it and removes it.
A failed delivery is tried again after a delay that doubles each time (1 s, 2 s, 4 s... up
to :attr:`RetryPolicy.max_delay`), until the item is older than
:attr:`RetryPolicy.max_age` or has had :attr:`RetryPolicy.max_attempts` tries; then it is
dropped and logged, and the next one goes. Items wait behind the head of their queue, so a
destination receives them in the order they came. Delivery and removal are separate steps:
a crash between them delivers the item again after the restart (at least once; normally
exactly once). Nothing here runs on a client's path, so a slow or dead destination never
delays an answer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ..exceptions import GNTPError
from .records import OutboxItem
from .store import Store

__all__ = ['Destination', 'DeliveryError', 'Undeliverable', 'RetryPolicy', 'Outbox']

logger = logging.getLogger('gntplib.state.outbox')

Clock = Callable[[], float]


class DeliveryError(GNTPError):
    """A destination did not take an item (it will be tried again)."""


class Undeliverable(DeliveryError):
    """An item its destination will never take (it is dropped at once, not retried)."""


class Destination(ABC):
    """Somewhere notifications are forwarded to.

    Attributes:
        key: A stable name for the destination's queue in the store (it must not change
            across restarts, and must not reveal secrets of the destination's address).
        label: How logs name it (no secrets either).
    """

    key: str = ''
    label: str = ''

    def accepts(self, payload: Dict[str, Any]) -> bool:
        """Whether this destination wants ``payload`` (its filters); default: everything."""
        return True

    @abstractmethod
    async def deliver(self, payload: Dict[str, Any]) -> None:
        """Deliver one item.

        Raises:
            DeliveryError: If the destination did not take it.
        """

    def close(self) -> None:
        """Release what the destination holds (threads, connections)."""


@dataclass(frozen=True)
class RetryPolicy:
    """When a failed delivery is tried again, and when an item is given up.

    Attributes:
        initial_delay: Seconds before the second try.
        factor: How much the delay grows after each failure.
        max_delay: The longest delay between two tries.
        max_attempts: Tries before an item is dropped.
        max_age: Seconds after which an undelivered item is dropped.
        timeout: Seconds one delivery may take (then it counts as failed).
    """

    initial_delay: float = 1.0
    factor: float = 2.0
    max_delay: float = 60.0
    max_attempts: int = 1000
    max_age: float = 24 * 3600.0
    timeout: float = 30.0

    def delay(self, attempts: int) -> float:
        """The delay after the ``attempts``-th failed try.

        Example:
            >>> [RetryPolicy().delay(n) for n in (1, 2, 3, 7, 8)]
            [1.0, 2.0, 4.0, 60.0, 60.0]
        """
        return min(self.max_delay, self.initial_delay * self.factor ** max(0, attempts - 1))

    def gives_up(self, item: OutboxItem, now: float) -> bool:
        """Whether ``item`` is too old or has been tried too often."""
        return item.attempts >= self.max_attempts or now - item.created_at > self.max_age


class Outbox:
    """Drains each destination's queue from a :class:`~gntplib.state.store.Store`.

    Args:
        store: Where the queues are.
        destinations: The destinations; each gets its own queue and task.
        policy: The retry policy.
        clock: Wall-clock time (``time.time``); a test may pass its own to step through a
            retry schedule of minutes in milliseconds.
        commit: Called after the outbox changed the store (to make it durable); default:
            ``store.commit``.

    Attributes:
        delivered: ``(destination key, payload)`` of every delivery, oldest first (bounded).
        dropped: ``(destination key, payload, last error)`` of every item given up.
    """

    def __init__(self, store: Store, destinations: Sequence[Destination],
                 policy: Optional[RetryPolicy] = None, clock: Clock = time.time,
                 commit: Optional[Callable[[], Any]] = None, max_log: int = 10000) -> None:
        keys = [d.key for d in destinations]
        if len(set(keys)) != len(keys):
            raise GNTPError('two forwarding destinations have the same address')
        self.store = store
        self.destinations = list(destinations)
        self.policy = policy or RetryPolicy()
        self.clock = clock
        self._commit = commit or store.commit
        self.max_log = max_log
        self.delivered: List[Tuple[Any, ...]] = []
        self.dropped: List[Tuple[Any, ...]] = []
        self.failures = 0
        self._wakeups: Dict[str, asyncio.Event] = {}
        self._tasks: List['asyncio.Future[None]'] = []
        self._running = False
        self._changed: Optional[asyncio.Event] = None

    def __repr__(self) -> str:
        return f'<Outbox destinations={[d.label for d in self.destinations]}>'

    def add(self, destination: Destination) -> Destination:
        """Add a destination (draining at once if the outbox runs); if one with its key is
        there already, that one is kept and returned."""
        for known in self.destinations:
            if known.key == destination.key:
                return known
        self.destinations.append(destination)
        if self._running:
            self._start(destination)
        return destination

    def enqueue_for(self, destination: Destination, payload: Dict[str, Any]) -> None:
        """Queue ``payload`` for one destination, whatever its filters."""
        self.store.enqueue(destination.key, payload, self.clock())

    def enqueue(self, payload: Dict[str, Any]) -> int:
        """Queue ``payload`` for every destination whose filters accept it; return for how
        many. Not durable until the next commit; call :meth:`poke` after it."""
        now = self.clock()
        count = 0
        for destination in self.destinations:
            if destination.accepts(payload):
                self.store.enqueue(destination.key, payload, now)
                count += 1
        return count

    def start(self) -> None:
        """Start one draining task per destination (on the running loop)."""
        if self._tasks:
            return
        self._changed = asyncio.Event()
        self._running = True
        known = {d.key for d in self.destinations}
        for item in self.store.outbox():
            if item.destination not in known:     # no longer configured, or not resumed
                logger.warning('forwarding: dropping an item for %s, which is gone',
                               item.destination)
                self.store.remove(item.row)
                self._log(self.dropped, (item.destination, item.payload, 'destination gone'))
        self._commit()
        for destination in self.destinations:
            self._start(destination)

    def _start(self, destination: Destination) -> None:
        self._wakeups[destination.key] = asyncio.Event()
        self._tasks.append(asyncio.ensure_future(self._drain(destination)))

    def poke(self) -> None:
        """Look at every queue again now (new items, or the clock moved)."""
        for event in self._wakeups.values():
            event.set()

    async def stop(self) -> None:
        """Stop draining (what is queued stays in the store) and close the destinations."""
        tasks, self._tasks = self._tasks, []
        self._running = False
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        for destination in self.destinations:
            destination.close()

    def pending(self, destination: Optional[Destination] = None) -> int:
        """How many items wait (for one destination, or in all)."""
        return len(self.store.outbox(destination.key if destination else None))

    async def wait_until(self, predicate: Callable[[], bool], timeout: float) -> None:
        """Wait until ``predicate()`` is true; it is checked after every delivery, failure
        or drop.

        Raises:
            GNTPError: If ``timeout`` seconds (real time) pass first.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0 or self._changed is None:
                raise GNTPError(f'outbox: condition not met within {timeout} s')
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    def _save(self) -> None:
        try:
            self._commit()
        except GNTPError as exc:  # the next commit tries again; the queue goes on
            logger.error('outbox: %s', exc)
        if self._changed is not None:
            self._changed.set()

    def _log(self, records: List[Tuple[Any, ...]], record: Tuple[Any, ...]) -> None:
        records.append(record)
        if len(records) > self.max_log:
            del records[:len(records) - self.max_log]
        if self._changed is not None:
            self._changed.set()

    async def _drain(self, destination: Destination) -> None:
        wakeup = self._wakeups[destination.key]
        while self._running:
            wakeup.clear()
            item = self.store.outbox_head(destination.key)
            now = self.clock()
            if item is None:
                await _wait(wakeup, None)
                continue
            if self.policy.gives_up(item, now):
                logger.warning('forwarding to %s: giving up an item after %d tries (%s)',
                               destination.label, item.attempts, item.last_error)
                self.store.remove(item.row)
                self._save()
                self._log(self.dropped, (destination.key, item.payload, item.last_error))
                continue
            if item.next_attempt_at > now:
                await _wait(wakeup, item.next_attempt_at - now)
                continue
            await self._attempt(destination, item)

    async def _attempt(self, destination: Destination, item: OutboxItem) -> None:
        # asyncio.wait, not wait_for: wait_for can swallow a cancellation (bpo-42130).
        delivery = asyncio.ensure_future(destination.deliver(item.payload))
        try:
            await asyncio.wait([delivery], timeout=self.policy.timeout)
        finally:
            if not delivery.done():
                delivery.cancel()
        error: Optional[str] = f'timed out after {self.policy.timeout} s'
        if delivery.done() and not delivery.cancelled():
            exc = delivery.exception()
            error = None if exc is None else str(exc) or type(exc).__name__
            if isinstance(exc, Undeliverable):
                logger.warning('forwarding to %s: dropping an item: %s', destination.label,
                               error)
                self.store.remove(item.row)
                self._save()
                self._log(self.dropped, (destination.key, item.payload, error))
                return
        if error is not None:
            attempts = item.attempts + 1
            retry_at = self.clock() + self.policy.delay(attempts)
            logger.info('forwarding to %s failed (try %d): %s', destination.label, attempts,
                        error)
            self.store.record_failure(item.row, attempts, retry_at, error)
            self.failures += 1
            self._save()
            return
        self.store.remove(item.row)
        self._save()
        self._log(self.delivered, (destination.key, item.payload))


async def _wait(event: asyncio.Event, timeout: Optional[float]) -> None:
    """Wait until ``event`` is set or ``timeout`` seconds pass, whichever comes first."""
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait([waiter], timeout=timeout)
    finally:
        waiter.cancel()
