"""GNTP subscribers as outbox destinations (§10).

A hub with a :class:`~gntplib.state.StateKeeper` forwards to its subscribers through the
outbox too: each subscriber has a queue, drained in order (a NOTIFY never overtakes the
REGISTER it depends on) with the outbox's retries, kept across restarts while its
subscription is resumed. A queued request is stored as GNTP bytes without a key; it is
read back and sent with the key its subscriber needs (hub password + ``Subscriber-ID``).
"""

from __future__ import annotations

import base64
from typing import Any, Callable, Dict, Optional

from .. import constants as c
from ..packers import MessagePackerFactory
from ..reader import RequestReader
from ..requests import BaseRequest
from .outbox import DeliveryError, Destination, Undeliverable

__all__ = ['SubscriberDestination', 'pack_forward', 'unpack_forward']

#: Called with ``(subscriber_id, message_type, error_or_None)`` after each try.
Outcome = Callable[[str, str, Optional[str]], Any]


def pack_forward(request: BaseRequest) -> Dict[str, Any]:
    """The outbox payload of a request to forward: its bytes without a key, in base64."""
    data = MessagePackerFactory().create().pack(request)
    return {'gntp': base64.b64encode(data).decode('ascii')}


def unpack_forward(payload: Dict[str, Any]) -> BaseRequest:
    """The request :func:`pack_forward` stored (with its resources and ``Received``
    headers).

    Raises:
        GNTPError: If the payload is not a request packed by :func:`pack_forward`.
    """
    reader = RequestReader()
    reader.feed(base64.b64decode(payload['gntp']))
    message = reader.next_message()
    if message is None:
        raise DeliveryError('a queued forward is incomplete')
    return message.to_request()


class SubscriberDestination(Destination):
    """One subscriber's queue.

    Args:
        subscription: The :class:`~gntplib.receiver.Subscription` (replaced by
            :meth:`renew` when the subscriber subscribes again).
        timeout: Seconds one forwarding may take.
        outcome: Told every try's outcome.
    """

    def __init__(self, subscription: Any, timeout: float,
                 outcome: Optional[Outcome] = None) -> None:
        self.subscription = subscription
        self.timeout = timeout
        self.outcome = outcome
        self.key = self.key_for(subscription.id_)
        self.label = f'subscriber {subscription.name!r}'

    @staticmethod
    def key_for(subscriber_id: str) -> str:
        """The queue name of a subscriber."""
        return f'gntp:{subscriber_id}'

    def __repr__(self) -> str:
        return f'<SubscriberDestination {self.subscription!r}>'

    def renew(self, subscription: Any) -> None:
        """Use a renewed subscription (its address or key may have changed)."""
        self.subscription = subscription

    def accepts(self, payload: Dict[str, Any]) -> bool:
        return False  # only what the receiver forwards to this subscriber (enqueue_for)

    async def deliver(self, payload: Dict[str, Any]) -> None:
        from ..server.forwarding import forward
        if not self.subscription.alive:
            raise Undeliverable(f'the subscription of {self.subscription.name!r} has run out')
        request = unpack_forward(payload)
        error = await forward(self.subscription, request, self.timeout)
        if self.outcome is not None:
            self.outcome(self.subscription.id_, request.message_type, error)
        if error is not None and c.ERROR_DESCRIPTIONS[c.ERROR_ALREADY_PROCESSED] not in error:
            raise DeliveryError(error)
