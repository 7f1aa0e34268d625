"""Small future helpers of the server: settling, waiting with a deadline, change waiters."""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Iterable, List

from ..exceptions import GNTPConnectionError

__all__ = ['settle', 'done_future', 'wait_or_cancel', 'Changes']


def settle(future: 'asyncio.Future[Any]', value: Any) -> None:
    """Set a future's result unless it is done already."""
    if not future.done():
        future.set_result(value)


def done_future(value: Any) -> 'asyncio.Future[Any]':
    """A future already done with ``value`` (on the current event loop)."""
    done: 'asyncio.Future[Any]' = asyncio.get_event_loop().create_future()
    done.set_result(value)
    return done


async def wait_or_cancel(awaitables: Iterable[Any], timeout: float) -> None:
    """Wait up to ``timeout`` seconds for ``awaitables``; cancel those still running."""
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    pending = [task for task in tasks if not task.done()]
    if pending:
        _, late = await asyncio.wait(pending, timeout=timeout)
        for task in late:
            task.cancel()


class Changes:
    """Wake whoever waits for a condition each time something changes (see
    :meth:`wait_for`)."""

    def __init__(self) -> None:
        self._waiters: List['asyncio.Future[None]'] = []

    def notify(self) -> None:
        """Something changed: let every waiter check its condition again."""
        waiters = self._waiters
        if waiters:
            self._waiters = []
            for waiter in waiters:
                settle(waiter, None)

    async def wait_for(self, predicate: Callable[[], Any], timeout: float, what: str) -> None:
        """Wait until ``predicate()`` is true, checking it after every :meth:`notify`.

        Raises:
            GNTPConnectionError: If ``timeout`` seconds pass first.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            changed: 'asyncio.Future[None]' = loop.create_future()
            self._waiters.append(changed)
            await asyncio.wait([changed], timeout=max(0.0, deadline - loop.time()))
            if not changed.done():
                if predicate():
                    return
                raise GNTPConnectionError(f'timed out after {timeout} s waiting for {what}')
