"""The receiver core: what a GNTP server decides, without a socket (§6, §8, §10).

:class:`Receiver` holds the server's state (the :class:`~gntplib.registry.Registry`, the
subscriptions, the pending socket callbacks) and its rules: which key checks apply to a peer,
what REGISTER, NOTIFY and SUBSCRIBE do and which code refuses them (401, 402, 403, 404),
which callbacks are waited for and what goes to the subscribers. It is fed parsed requests
and answers with a :class:`Decision`; the embedded server (:mod:`gntplib.server`) is a
driver that reads requests off sockets, shows the decision's events on its displays, writes
the answers and forwards. A refusal is a :class:`~gntplib.registry.Rejection`, turned into
an ``-ERROR`` response by :func:`error_response` and nowhere else.

Example:
    >>> from gntplib.models import Event, Notification
    >>> from gntplib.requests import NotifyRequest, RegisterRequest
    >>> receiver = Receiver()
    >>> receiver.handle(NotifyRequest('App', Notification('update', 'Hi')),
    ...                 ('127.0.0.1', 5000)).rejection
    Rejection(401, 'Application not registered')
    >>> decision = receiver.handle(RegisterRequest('App', None, [Event('update')]),
    ...                            ('127.0.0.1', 5000))
    >>> receiver.commit(decision)
    >>> receiver.handle(NotifyRequest('App', Notification('update', 'Hi')),
    ...                 ('127.0.0.1', 5001)).response.message_type
    '-OK'
"""

from __future__ import annotations

import copy
import functools
import ipaddress
import itertools
import platform
import time
import uuid
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from . import constants as c
from .display import DisplayEvent, format_address, utc_timestamp
from .exceptions import GNTPError, GNTPValidationError
from .keys import password_tuple
from .models import Notification, SocketCallback, format_header_value
from .reader import ReaderLimits, RequestReader
from .registry import Registry, Rejection
from .requests import (
    BaseRequest, NotifyRequest, RegisterRequest, Response, SubscribeRequest,
)

__all__ = ['Receiver', 'Decision', 'PendingCallback', 'Subscription', 'Rejection',
           'error_response', 'ok_response', 'rejection_for', 'is_loopback',
           'normalize_callback_result', 'received_line', 'names_server', 'valid_server_id',
           'for_forwarding', 'RESULT_SPELLINGS']

Address = Tuple[Any, ...]
Passwords = Union[None, str, Sequence[str]]

#: What the server sends for each callback outcome: Growl for Windows' spellings, the only
#: set every known client reads (gntp-protocol.md §5.4).
RESULT_SPELLINGS = {c.CALLBACK_CLICK: 'CLICK', c.CALLBACK_CLOSE: 'CLOSE',
                    c.CALLBACK_TIMEOUT: 'TIMEDOUT'}


def is_loopback(address: Any) -> bool:
    """Tell whether a peer address (``(host, port, ...)``) is on the loopback network.

    Example:
        >>> is_loopback(('127.0.0.1', 5000)), is_loopback(('192.0.2.1', 5000))
        (True, False)
    """
    host = address[0] if isinstance(address, tuple) and address else address
    return _host_is_loopback(str(host))


@functools.lru_cache(maxsize=256)
def _host_is_loopback(host: str) -> bool:
    # Cached: every connection asks, and peers are few (ipaddress parsing is slow).
    try:
        ip = ipaddress.ip_address(host.split('%')[0])
    except ValueError:
        return False
    mapped = getattr(ip, 'ipv4_mapped', None)
    return bool(ip.is_loopback or (mapped is not None and mapped.is_loopback))


def normalize_callback_result(result: str) -> str:
    """Map any callback spelling (``CLICKED``, ``click``, ``TIMEOUT``...) to the one the
    server sends: ``CLICK``, ``CLOSE`` or ``TIMEDOUT``.

    Raises:
        GNTPValidationError: If ``result`` is not a callback outcome.
    """
    event = c.CALLBACK_RESULTS.get(result.strip().upper()) if isinstance(result, str) else None
    if event is None:
        raise GNTPValidationError(f'callback result must be CLICK, CLOSE or TIMEDOUT, '
                                  f'not {result!r}')
    return RESULT_SPELLINGS[event]


def _response(message_type: str, headers: Iterable[Tuple[str, Any]]) -> Response:
    pairs = [(name, format_header_value(value)) for name, value in headers]
    return Response(message_type, [(n, v) for n, v in pairs if v])


def ok_response(headers: Iterable[Tuple[str, Any]]) -> Response:
    """The ``-OK`` with ``headers`` (empty values left out)."""
    return _response(c.RESPONSE_OK, headers)


def error_response(rejection: Rejection) -> Response:
    """The ``-ERROR`` answering ``rejection``: the one place a refusal becomes a response."""
    return Response(c.RESPONSE_ERROR, [('Error-Code', str(rejection.code)),
                                       ('Error-Description', rejection.description)])


def rejection_for(exc: GNTPError) -> Rejection:
    """The refusal for a request the reader could not take: its ``error_code`` (300 when
    it has none, e.g. a resource that does not decrypt) and its description."""
    code = getattr(exc, 'error_code', None) or c.ERROR_INVALID_REQUEST
    return Rejection(code, getattr(exc, 'description', None) or str(exc))


def received_line(peer: str, host_name: str, server_id: str) -> str:
    """The ``Received`` header a server adds to a request it forwards (§4.4), in the form
    Growl uses: ``From <peer> by <host name> with gntplib id <server id>; <UTC date>``.

    Example:
        >>> received_line('192.0.2.7', 'hub', 'hub-1f2e3d4c5b6a')[:48]
        'From 192.0.2.7 by hub with gntplib id hub-1f2e3d'
    """
    return f'From {peer} by {host_name} with gntplib id {server_id}; {utc_timestamp()}'


def names_server(received: str, server_id: str) -> bool:
    """Tell whether a ``Received`` header value names ``server_id`` as its ``id``: the word
    ``id`` (any case) followed by exactly that identifier (any case), before the ``;``
    that starts the date. Host names are not compared: several servers may share one.

    Example:
        >>> names_server('From 10.0.0.2 by desk with gntplib id desk-1; 2024-01-02', 'DESK-1')
        True
        >>> names_server('From desk-1 by hub with Growl id 42; 2024-01-02', 'desk-1')
        False
    """
    words = received.rsplit(';', 1)[0].split()
    wanted = server_id.casefold()
    return any(word.lower() == 'id' and following.casefold() == wanted
               for word, following in zip(words, words[1:]))


def valid_server_id(server_id: str) -> str:
    """Check a server identifier: one word, no ``;`` (it must read back from a ``Received``
    header).

    Raises:
        GNTPValidationError: If it is empty, not a string, or has white space or ``;``.
    """
    if not isinstance(server_id, str) or server_id.split() != [server_id] or ';' in server_id:
        raise GNTPValidationError(f'server_id must be one word without ";", '
                                  f'not {server_id!r}')
    return server_id


def for_forwarding(request: BaseRequest, received: Sequence[str] = ()) -> BaseRequest:
    """The request to forward: a copy with ``received`` appended to its ``Received``
    headers (the original, kept in the server's ``received``, is left alone).

    A socket callback stays between the sender and this server (relaying -CALLBACK up a
    chain of servers is not supported), so it is dropped.
    """
    if isinstance(request, NotifyRequest) and request.notification.socket_callback is not None:
        n = request.notification
        notification = Notification(n.name, n.title, n.text, n.id_, n.sticky, n.priority,
                                    n.icon, n.coalescing_id, None)
        forwarded: BaseRequest = NotifyRequest(request.app_name, notification,
                                               request.custom_headers,
                                               request.app_specific_headers)
    else:
        forwarded = copy.copy(request)
    forwarded.received_headers = list(request.received_headers) + list(received)
    forwarded.received = None
    return forwarded


class Subscription:
    """A subscriber the server forwards REGISTER and NOTIFY requests to (§10).

    Attributes:
        id_: The ``Subscriber-ID``.
        name: The ``Subscriber-Name``.
        host: The subscriber's address (the peer address of its SUBSCRIBE).
        port: Its ``Subscriber-Port``.
        key_hash_algorithm_id: The hash its SUBSCRIBE used (used again for forwarding).
        encryption_algorithm_id: The encryption its SUBSCRIBE used.
        expires: ``time.monotonic()`` value after which nothing is forwarded.
        forward_password: What forwarded requests are authenticated with: the hub's
            password followed by the ``Subscriber-ID`` (§10). Never shown in ``repr``.
    """

    def __init__(self, request: SubscribeRequest, host: str, hub_password: str,
                 key_hash_algorithm_id: str, encryption_algorithm_id: str, ttl: int) -> None:
        self.id_ = request.id_
        self.name = request.name
        self.host = host
        self.port = request.port or c.DEFAULT_PORT
        self.key_hash_algorithm_id = key_hash_algorithm_id
        self.encryption_algorithm_id = encryption_algorithm_id
        self.forward_password = hub_password + request.id_
        self.expires = time.monotonic() + ttl
        #: The forwarder's latest task for this subscriber, which the next one waits for.
        self.last_forward: Any = None

    @property
    def alive(self) -> bool:
        """Whether the subscription's TTL has not run out."""
        return time.monotonic() < self.expires

    def __repr__(self) -> str:
        return (f'<Subscription {self.name!r} id={self.id_!r} '
                f'{format_address((self.host, self.port))}>')


class PendingCallback:
    """A NOTIFY whose sender waits on its connection for a ``-CALLBACK``.

    The first :meth:`decide` wins; who waits for the decision (the server's connection)
    registers with :meth:`when_decided`, who waits for the ``-CALLBACK`` to be written with
    :meth:`when_finished`. Plain callables, no event loop: the core stays socket-free.

    Attributes:
        handle: The server-wide number of this callback.
        application: The application name.
        notification_id: The request's ``Notification-ID`` (or ``None``).
        context: ``Notification-Callback-Context``.
        context_type: ``Notification-Callback-Context-Type``.
        request: The NOTIFY request.
        event: The :class:`~gntplib.display.DisplayEvent` shown for it.
        result: ``CLICK``, ``CLOSE`` or ``TIMEDOUT`` once decided, else ``None``.
        delivered: ``True`` once the ``-CALLBACK`` is written, ``False`` if it never will
            be, ``None`` until then.
    """

    def __init__(self, handle: int, request: NotifyRequest, callback: SocketCallback,
                 event: DisplayEvent) -> None:
        self.handle = handle
        self.request = request
        self.application = request.app_name
        self.notification_id = request.notification.id_
        self.context = callback.context
        self.context_type = callback.context_type
        self.event = event
        self.result: Optional[str] = None
        self.delivered: Optional[bool] = None
        self._on_decided: List[Callable[[str], Any]] = []
        self._on_finished: List[Callable[[bool], Any]] = []

    @property
    def sticky(self) -> bool:
        """Whether the notification is sticky (the server's timeout does not apply)."""
        return bool(self.request.notification.sticky)

    def decide(self, result: str) -> bool:
        """Record the outcome if none is yet; return whether this call decided it."""
        if self.result is not None or self.delivered is not None:
            return False
        self.result = self.event.callback_result = result
        for listener in self._on_decided:
            listener(result)
        return True

    def when_decided(self, listener: Callable[[str], Any]) -> None:
        """Call ``listener(result)`` once the outcome is decided (at once if it is)."""
        if self.result is not None:
            listener(self.result)
        else:
            self._on_decided.append(listener)

    def finish(self, delivered: bool) -> None:
        """Record whether the ``-CALLBACK`` was written (once; later calls are ignored)."""
        if self.delivered is None:
            self.delivered = delivered
            for listener in self._on_finished:
                listener(delivered)

    def when_finished(self, listener: Callable[[bool], Any]) -> None:
        """Call ``listener(delivered)`` once :meth:`finish` is (at once if it was)."""
        if self.delivered is not None:
            listener(self.delivered)
        else:
            self._on_finished.append(listener)

    def response(self, result: str) -> Response:
        """The ``-CALLBACK`` response reporting ``result``."""
        headers: List[Tuple[str, Any]] = [
            ('Application-Name', self.application),
            ('Notification-ID', self.notification_id),
            ('Notification-Callback-Result', result),
            ('Notification-Callback-Timestamp', utc_timestamp()),
            ('Notification-Callback-Context', self.context),
            ('Notification-Callback-Context-Type', self.context_type),
        ]
        return _response(c.RESPONSE_CALLBACK, headers + self.request.app_specific_headers)

    def __repr__(self) -> str:
        return (f'<PendingCallback {self.handle} app={self.application!r} '
                f'id={self.notification_id!r} context={self.context!r}>')


class Decision:
    """What the receiver decided about one request.

    Attributes:
        request: The request.
        peer: Where it came from.
        response: The answer: ``-OK`` (with ``Response-Action`` and the rest) or ``-ERROR``.
        rejection: The :class:`~gntplib.registry.Rejection` when refused, else ``None``.
        callback: The :class:`PendingCallback` when the sender waits for a ``-CALLBACK``.
        events: :class:`~gntplib.display.DisplayEvent` objects for the displays.
        forwards: ``(subscription, request)`` pairs to forward, in order.
    """

    def __init__(self, request: BaseRequest, peer: Address, response: Response,
                 rejection: Optional[Rejection] = None,
                 callback: Optional[PendingCallback] = None,
                 events: Sequence[DisplayEvent] = (),
                 forwards: Sequence[Tuple[Subscription, BaseRequest]] = (),
                 subscription: Optional[Subscription] = None) -> None:
        self.request = request
        self.peer = peer
        self.response = response
        self.rejection = rejection
        self.callback = callback
        self.events = list(events)
        self.forwards = list(forwards)
        self._subscription = subscription

    @property
    def accepted(self) -> bool:
        """Whether the answer is ``-OK``."""
        return self.rejection is None

    def __repr__(self) -> str:
        outcome = 'OK' if self.rejection is None else repr(self.rejection)
        return f'<Decision {self.request.message_type} {outcome}>'


class Receiver:
    """A GNTP receiver's state and rules, without I/O.

    Args:
        password: The password, or a list of passwords, accepted.
        require_password: Demand a key hash from peers that are not on loopback.
        require_password_from_loopback: Demand a key hash from loopback peers too.
        subscription_ttl: ``Subscription-TTL`` given to subscribers, in seconds.
        limits: :class:`~gntplib.reader.ReaderLimits` for requests.
        server_id: This receiver's name in ``Received`` headers (see
            :class:`gntplib.server.GNTPServer`); default: host name and a random suffix.
        reporter: What a display's :meth:`~gntplib.display.DisplayEvent.send_callback`
            reaches: an object with ``report_callback(handle, result)`` (the server).

    Attributes:
        registry: The :class:`~gntplib.registry.Registry`.
        subscribers: :class:`Subscription` by subscriber ID.
        pending_callbacks: :class:`PendingCallback` by handle.
        server_id: This receiver's identifier in ``Received`` headers.
        host_name: The host name written after ``by`` in them.
    """

    def __init__(self, password: Passwords = None, *, require_password: bool = True,
                 require_password_from_loopback: bool = False, subscription_ttl: int = 300,
                 limits: Optional[ReaderLimits] = None, server_id: Optional[str] = None,
                 reporter: Any = None) -> None:
        self._passwords = password_tuple(password)
        if not all(isinstance(p, str) and p for p in self._passwords):
            raise GNTPValidationError('passwords must be non-empty strings')
        self.require_password = require_password
        self.require_password_from_loopback = require_password_from_loopback
        self.subscription_ttl = int(subscription_ttl)
        self.limits = limits or ReaderLimits()
        # No white space or ";" in a host name either: it is one word of the Received line.
        self.host_name = ''.join(platform.node().replace(';', '').split()) or 'localhost'
        self.server_id = valid_server_id(f'{self.host_name}-{uuid.uuid4().hex[:12]}'
                                         if server_id is None else server_id)
        self.reporter = reporter
        self.registry = Registry()
        self.subscribers: Dict[str, Subscription] = {}
        self.pending_callbacks: Dict[int, PendingCallback] = {}
        self._handles = itertools.count(1)

    @property
    def password_count(self) -> int:
        """How many passwords are accepted (never the passwords themselves)."""
        return len(self._passwords)

    def __repr__(self) -> str:
        return (f'<Receiver passwords={len(self._passwords)} '
                f'applications={len(self.registry.applications)}>')

    # -- reading ---------------------------------------------------------------------------------

    def reader_for(self, peer: Address) -> RequestReader:
        """A :class:`~gntplib.reader.RequestReader` with the key checks for ``peer``."""
        require = self.require_password and (self.require_password_from_loopback
                                             or not is_loopback(peer))
        return RequestReader(self._passwords, require_key=require, limits=self.limits)

    # -- deciding --------------------------------------------------------------------------------

    def handle(self, request: BaseRequest, peer: Address) -> Decision:
        """Decide about one parsed request.

        The registry and the subscriptions change only at :meth:`commit`, so a display
        that fails to show the request leaves no trace. A NOTIFY's pending callback is
        kept at once (a display may report a click while it shows the notification);
        :meth:`abandon` drops it if the request is not answered ``-OK`` after all."""
        try:
            return self._accept(request, peer)
        except Rejection as rejection:
            return self.reject(request, peer, rejection)

    def reject(self, request: BaseRequest, peer: Address, rejection: Rejection) -> Decision:
        """The decision refusing ``request`` with ``rejection`` (nothing to commit)."""
        return Decision(request, peer, error_response(rejection), rejection)

    def _accept(self, request: BaseRequest, peer: Address) -> Decision:
        if any(names_server(value, self.server_id) for value in request.received_headers):
            raise Rejection(c.ERROR_ALREADY_PROCESSED,
                            f'{c.ERROR_DESCRIPTIONS[c.ERROR_ALREADY_PROCESSED]}: this server '
                            f'({self.server_id}) forwarded the request before (a forwarding '
                            f'loop)')
        headers: List[Tuple[str, Any]] = [('Response-Action', request.message_type)]
        callback = subscription = None
        if isinstance(request, NotifyRequest):
            n = request.notification
            rejection = self.registry.check_notify(request.app_name, n.name)
            if rejection is not None:
                raise rejection
            handle = next(self._handles) if n.socket_callback is not None else None
            event = DisplayEvent(request, peer, handle, server=self.reporter)
            if n.socket_callback is not None and handle is not None:
                callback = PendingCallback(handle, request, n.socket_callback, event)
                self.pending_callbacks[handle] = callback
            headers.append(('Notification-ID', n.id_))
        elif isinstance(request, SubscribeRequest):
            subscription = self._subscription(request, peer)
            event = DisplayEvent(request, peer, server=self.reporter)
            headers.append(('Subscription-TTL', self.subscription_ttl))
        else:
            event = DisplayEvent(request, peer, server=self.reporter)
        forwards = [] if subscription is not None else self._forwards(request, peer)
        return Decision(request, peer, ok_response(headers + request.app_specific_headers),
                        callback=callback, events=[event], forwards=forwards,
                        subscription=subscription)

    def commit(self, decision: Decision) -> None:
        """Keep what an accepted decision changes: the registry, the subscription (call it
        once the displays have shown the request)."""
        if not decision.accepted:
            return
        request = decision.request
        if isinstance(request, RegisterRequest):
            self.registry.register(request, decision.peer)
        subscription = decision._subscription
        if subscription is not None:
            self.subscribers[subscription.id_] = subscription

    def abandon(self, decision: Decision) -> None:
        """Drop what :meth:`handle` kept for a decision that will not be answered ``-OK``."""
        if decision.callback is not None:
            self.callback_done(decision.callback, False)

    def _subscription(self, request: SubscribeRequest, peer: Address) -> Subscription:
        received = request.received
        key = received.key if received is not None else None
        if key is None:  # the reader demands a key for SUBSCRIBE; this is a safety net
            raise Rejection(c.ERROR_NOT_AUTHORIZED, 'SUBSCRIBE needs a key hash')
        hub_password = next(p for p in self._passwords if key.verify_password(p))
        subscription = Subscription(request, str(peer[0]), hub_password, key.algorithm_id,
                                    received.encryption_algorithm_id if received else 'NONE',
                                    self.subscription_ttl)
        renewed = self.subscribers.get(request.id_)
        subscription.last_forward = renewed.last_forward if renewed is not None else None
        return subscription

    def _forwards(self, request: BaseRequest, peer: Address
                  ) -> List[Tuple[Subscription, BaseRequest]]:
        forwards: List[Tuple[Subscription, BaseRequest]] = []
        if not self.subscribers:
            return forwards
        forwarded = None
        for sub_id, subscription in list(self.subscribers.items()):
            if not subscription.alive:
                del self.subscribers[sub_id]
                continue
            if forwarded is None:
                received = received_line(str(peer[0]), self.host_name, self.server_id)
                forwarded = for_forwarding(request, [received])
            forwards.append((subscription, forwarded))
        return forwards

    # -- socket callbacks ----------------------------------------------------------------------

    def find_pending_callback(self, target: Any) -> PendingCallback:
        """Find a pending callback by handle, ``Notification-ID`` or itself.

        Raises:
            GNTPValidationError: If no such callback is pending.
        """
        if isinstance(target, PendingCallback):
            return target
        if isinstance(target, int) and target in self.pending_callbacks:
            return self.pending_callbacks[target]
        for pending in self.pending_callbacks.values():
            if isinstance(target, str) and pending.notification_id == target:
                return pending
        raise GNTPValidationError(f'no socket callback pending for {target!r}')

    def callback_done(self, pending: PendingCallback, delivered: bool) -> None:
        """Forget a callback once its ``-CALLBACK`` is written or its sender has gone."""
        self.pending_callbacks.pop(pending.handle, None)
        pending.finish(delivered)
