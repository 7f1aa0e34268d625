"""Forwarding accepted requests to subscribers (§10), for the embedded server.

The receiver core decides what goes where (:attr:`gntplib.receiver.Decision.forwards`);
:class:`Forwarder` sends it in the background with the async client users run, in order per
subscriber, and reports each outcome. A slow or dead subscriber never delays an answer.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable, Optional, Set

from .. import constants as c
from ..ciphers import ALGORITHMS as CIPHER_ALGORITHMS
from ..display import format_address
from ..exceptions import GNTPError, GNTPResponseError
from ..keys import get_algorithm
from ..receiver import Subscription
from ..requests import BaseRequest

__all__ = ['Forwarder', 'forward']

logger = logging.getLogger('gntplib.server')

#: Called with ``(subscriber_id, message_type, error_or_None)`` after each forwarding.
Outcome = Callable[[str, str, Optional[str]], Any]


class Forwarder:
    """Runs forwardings as tasks, in order per subscriber.

    Args:
        timeout: Seconds allowed for one forwarding.
        outcome: Called with ``(subscriber_id, message_type, error_or_None)`` after each.
    """

    def __init__(self, timeout: float, outcome: Outcome) -> None:
        self.timeout = timeout
        self.outcome = outcome
        self.tasks: Set['asyncio.Future[Any]'] = set()

    def forward(self, subscription: Subscription, request: BaseRequest) -> None:
        """Start forwarding ``request`` to ``subscription`` once the previous forwarding to
        it is done: a subscriber gets requests in the order they came, so a NOTIFY never
        overtakes the REGISTER it depends on."""
        previous = subscription.last_forward

        async def run() -> None:
            if previous is not None:
                await asyncio.wait([previous])
            error = await forward(subscription, request, self.timeout)
            self.outcome(subscription.id_, request.message_type, error)
        task = asyncio.ensure_future(run())
        subscription.last_forward = task
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


async def forward(subscription: Subscription, request: BaseRequest,
                  timeout: float) -> Optional[str]:
    """Send one request to a subscriber with :class:`~gntplib.async_.AsyncGNTPClient`, the
    client users run, authenticated with hub password + Subscriber-ID (§10).

    Returns:
        ``None`` on ``-OK``, else what went wrong (also logged; it never raises).
    """
    from ..async_ import AsyncGNTPClient
    try:
        client = AsyncGNTPClient(subscription.host, subscription.port, timeout=timeout,
                                 password=subscription.forward_password,
                                 key_hashing=get_algorithm(subscription.key_hash_algorithm_id),
                                 encryption=CIPHER_ALGORITHMS.get(
                                     subscription.encryption_algorithm_id))
        await asyncio.wait_for(client.process_request(request), timeout)
        return None
    except asyncio.TimeoutError:
        error = f'timed out after {timeout} s'
    except GNTPResponseError as exc:
        error = str(exc)
        if exc.error_code == c.ERROR_ALREADY_PROCESSED:  # the loop is broken there: expected
            logger.info('subscriber %r had already handled that %s (a forwarding loop)',
                        subscription.name, request.message_type)
            return error
    except GNTPError as exc:
        error = str(exc)
    except Exception as exc:  # forwarding must never take the hub down
        logger.exception('forwarding to subscriber %r failed', subscription.name)
        error = f'{type(exc).__name__}: {exc}'
    logger.warning('forwarding %s to subscriber %r at %s failed: %s', request.message_type,
                   subscription.name, format_address((subscription.host, subscription.port)),
                   error)
    return error
