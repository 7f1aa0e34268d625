"""The application layer: :class:`Publisher`, :class:`Subscriber` and the quick functions.

They build requests; ``self.gntp_client`` moves the bytes. The async classes in
:mod:`gntplib.async_` swap only the client class, so the same ``publish()`` returns a
:class:`~gntplib.requests.Response` when synchronous and a future when asynchronous.
"""

from __future__ import annotations

import warnings
from typing import Any, Generic, List, Optional, Protocol, Sequence, Tuple, Type, TypeVar, Union

from . import constants as c
from .connections import FinalCallback, GNTPClient
from .exceptions import GNTPResponseError, GNTPValidationError
from .models import Event, Icon, Notification, Resource, SocketCallback, URLCallback
from .requests import BaseRequest, NotifyRequest, RegisterRequest, Response, SubscribeRequest

__all__ = ['publish', 'subscribe', 'notify', 'coerce_to_events', 'coerce_to_callback',
           'BaseApp', 'PublisherBase', 'SubscriberBase', 'Publisher', 'Subscriber', 'Client',
           'Notifier', 'RawIcon', 'EventDef']

EventDef = Union[str, Tuple[str, bool], Event]
Headers = Optional[Sequence[Tuple[str, Any]]]
#: What a call returns: a :class:`~gntplib.requests.Response`, or a future of one.
ResponseT = TypeVar('ResponseT')
ResponseT_co = TypeVar('ResponseT_co', covariant=True)


def coerce_to_events(items: Sequence[EventDef]) -> List[Event]:
    """Turn event definitions into :class:`~gntplib.Event` objects.

    Args:
        items: Each a name (enabled), a ``(name, enabled)`` pair, or an ``Event``.

    Raises:
        GNTPValidationError: If an item is none of those.

    Example:
        >>> [e.enabled for e in coerce_to_events(['event1', ('event2', False)])]
        [True, False]
    """
    if isinstance(items, (str, Event)):
        items = [items]
    events = []
    for item in items or ():
        if isinstance(item, Event):
            events.append(item)
        elif isinstance(item, str):
            events.append(Event(item))
        elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
            events.append(Event(item[0], enabled=bool(item[1])))
        else:
            raise GNTPValidationError(f'an event definition must be a name, a (name, enabled) '
                                      f'pair or an Event, not {item!r}')
    return events


def coerce_to_callback(gntp_callback: Union[None, str, URLCallback, SocketCallback] = None,
                       **socket_callback_options: Any
                       ) -> Optional[Union[URLCallback, SocketCallback]]:
    """Turn a callback specification into a :class:`URLCallback` or :class:`SocketCallback`.

    Args:
        gntp_callback: A URL string, a ``URLCallback`` or a ``SocketCallback``.
        **socket_callback_options: Arguments of :class:`SocketCallback` (``context``,
            ``context_type``, ``on_click``, ``on_close``, ``on_timeout``) to build one.

    Raises:
        GNTPValidationError: If both ``gntp_callback`` and options are given.

    Example:
        >>> coerce_to_callback('https://example.com/notify')
        URLCallback('https://example.com/notify')
    """
    if gntp_callback is not None and socket_callback_options:
        raise GNTPValidationError('give either gntp_callback or socket callback options '
                                  f'({", ".join(sorted(socket_callback_options))}), not both')
    if isinstance(gntp_callback, str):
        return URLCallback(gntp_callback)
    if gntp_callback is not None:
        if not isinstance(gntp_callback, (URLCallback, SocketCallback)):
            raise GNTPValidationError('gntp_callback must be a URL string, URLCallback or '
                                      f'SocketCallback, not {type(gntp_callback).__name__}')
        return gntp_callback
    if socket_callback_options:
        try:
            return SocketCallback(**socket_callback_options)
        except TypeError as exc:
            raise GNTPValidationError(f'invalid socket callback option: {exc}') from None
    return None


class Client(Protocol[ResponseT_co]):
    """What an application needs of its client (:class:`~gntplib.connections.GNTPClient`,
    :class:`~gntplib.async_.AsyncGNTPClient`, or a class of your own): a
    ``process_request`` whose result is a :class:`~gntplib.requests.Response` (sync) or an
    awaitable of one (async)."""

    def process_request(self, request: BaseRequest, callback: Optional[FinalCallback] = None,
                        **kwargs: Any) -> ResponseT_co:
        ...


class BaseApp(Generic[ResponseT]):
    """Common base of :class:`Publisher` and :class:`Subscriber` (and of their async
    versions, whose calls return futures).

    Args:
        custom_headers: ``X-`` headers sent with every request.
        app_specific_headers: ``Data-`` headers sent with every request.
        gntp_client_class: The client class (default :class:`~gntplib.connections.GNTPClient`).
        **kwargs: Client arguments: ``host``, ``port``, ``timeout``, ``password``,
            ``key_hashing``, ``encryption``, ``callback_timeout``.
    """

    gntp_client: Client[ResponseT]

    def __init__(self, custom_headers: Headers = None, app_specific_headers: Headers = None,
                 gntp_client_class: Optional[Type[Any]] = None, **kwargs: Any) -> None:
        self.custom_headers = list(custom_headers or [])
        self.app_specific_headers = list(app_specific_headers or [])
        client_class: Type[Any] = gntp_client_class or GNTPClient
        try:
            self.gntp_client = client_class(**kwargs)
        except TypeError as exc:
            raise GNTPValidationError(f'invalid client argument: {exc}') from None


class PublisherBase(BaseApp[ResponseT]):
    """What :class:`Publisher` and :class:`~gntplib.async_.AsyncPublisher` share: the
    application, its events, and the requests built from them (their ``register()`` and
    ``publish()`` send those requests; see :class:`Publisher` for the arguments)."""

    def __init__(self, name: str, event_defs: Sequence[EventDef], icon: Optional[Icon] = None,
                 custom_headers: Headers = None, app_specific_headers: Headers = None,
                 gntp_client_class: Optional[Type[Any]] = None, *,
                 auto_register: bool = True, **kwargs: Any) -> None:
        self.name = name
        self.icon = icon
        self.events = coerce_to_events(event_defs)
        if not self.events:
            raise GNTPValidationError('a Publisher needs at least one event')
        #: Whether a NOTIFY answered 401 (application not registered) registers again and
        #: is sent once more.
        self.auto_register = auto_register
        # Validate the name and headers now, not at the first register().
        RegisterRequest(name, icon, self.events, custom_headers, app_specific_headers)
        super().__init__(custom_headers, app_specific_headers, gntp_client_class, **kwargs)

    def register_request(self) -> RegisterRequest:
        """The REGISTER request for this application and its events."""
        return RegisterRequest(self.name, self.icon, self.events, self.custom_headers,
                               self.app_specific_headers)

    def notify_request(self, name: str, title: str, text: str = '', id_: Optional[str] = None,
                       sticky: bool = False, priority: int = 0, icon: Optional[Icon] = None,
                       coalescing_id: Optional[str] = None,
                       gntp_callback: Union[None, str, URLCallback, SocketCallback] = None,
                       **socket_callback_options: Any) -> NotifyRequest:
        """The NOTIFY request ``publish()`` sends (arguments as :meth:`Publisher.publish`)."""
        gntp_cb = coerce_to_callback(gntp_callback, **socket_callback_options) \
            if gntp_callback is not None or socket_callback_options else None
        notification = Notification(name, title, text, id_, sticky, priority, icon,
                                    coalescing_id, gntp_cb)
        return NotifyRequest(self.name, notification, self.custom_headers,
                             self.app_specific_headers)

    def retries_after(self, error: GNTPResponseError) -> bool:
        """Whether a NOTIFY that failed with ``error`` is sent again after a REGISTER:
        the receiver forgot the application (401) and :attr:`auto_register` is on."""
        return self.auto_register and error.error_code == c.ERROR_UNKNOWN_APPLICATION

    def __repr__(self) -> str:
        return (f'<{type(self).__name__} name={self.name!r} '
                f'events={[e.name for e in self.events]!r} client={self.gntp_client!r}>')


class Publisher(PublisherBase[Response]):
    """Registers an application and sends its notifications.

    Args:
        name: Application name.
        event_defs: Event definitions: names, ``(name, enabled)`` pairs or
            :class:`~gntplib.Event` objects.
        icon: Application icon (URL string or :class:`~gntplib.Resource`).
        custom_headers: ``X-`` headers.
        app_specific_headers: ``Data-`` headers.
        gntp_client_class: Client class (default :class:`~gntplib.connections.GNTPClient`).
        auto_register: When a NOTIFY is answered 401 (the receiver restarted and forgot
            the application, or it was never registered), register again and send the
            NOTIFY once more (default). ``False`` raises the 401 at once, as gntplib 0.5
            did.
        **kwargs: Client arguments (``host``, ``port``, ``timeout``, ``password``,
            ``key_hashing``, ``encryption``, ``callback_timeout``).

    Raises:
        GNTPValidationError: If no events are defined, or the security settings cannot
            work (e.g. MD5 with AES).

    Example:
        >>> publisher = Publisher('MyApp', [Event('update', 'Update Available')])
        >>> publisher.register()  # doctest: +SKIP
        >>> publisher.publish('update', 'New Version', 'v2.0 released')  # doctest: +SKIP
    """

    gntp_client: GNTPClient

    def register(self, callback: Optional[FinalCallback] = None) -> Response:
        """Register the application and its events with the server.

        Call it before publishing (servers answer ``-ERROR`` 401 otherwise; with
        ``auto_register`` the first publish registers then).

        Args:
            callback: Called with the server's :class:`~gntplib.requests.Response`.

        Returns:
            The ``-OK`` :class:`~gntplib.requests.Response`.
        """
        return self.gntp_client.process_request(self.register_request(), callback)

    def publish(self, name: str, title: str, text: str = '', id_: Optional[str] = None,
                sticky: bool = False, priority: int = 0, icon: Optional[Icon] = None,
                coalescing_id: Optional[str] = None, callback: Optional[FinalCallback] = None,
                gntp_callback: Union[None, str, URLCallback, SocketCallback] = None,
                **socket_callback_options: Any) -> Response:
        """Send a notification.

        With a socket callback (``gntp_callback=SocketCallback(...)`` or the
        ``on_click``/``on_close``/``on_timeout``/``context`` options), the synchronous call
        returns once the server's ``-CALLBACK`` has been handled, the server closed the
        connection, or the client's ``callback_timeout`` (60 s by default) passed, so a
        sticky notification nobody clicks never blocks for ever. The async publisher
        returns at ``-OK`` and runs the handler on the IOLoop later.

        A NOTIFY answered 401 (application not registered) registers the application
        again and is sent once more, unless the publisher was made with
        ``auto_register=False``.

        Args:
            name: Event name (must be registered).
            title: Notification title.
            text: Notification message.
            id_: Notification ID, echoed in the response and callback.
            sticky: Keep until dismissed.
            priority: -2 to 2 (clamped).
            icon: URL string or :class:`~gntplib.Resource`.
            coalescing_id: Notifications with the same ID replace each other.
            callback: Completion callback, called with the ``-OK`` response.
            gntp_callback: A URL, :class:`~gntplib.URLCallback` or
                :class:`~gntplib.SocketCallback`.
            **socket_callback_options: Arguments to build a ``SocketCallback``.

        Returns:
            The ``-OK`` :class:`~gntplib.requests.Response`.
        """
        request = self.notify_request(name, title, text, id_, sticky, priority, icon,
                                      coalescing_id, gntp_callback, **socket_callback_options)
        socket_callback = request.notification.socket_callback \
            if gntp_callback is not None or socket_callback_options else None
        try:
            return self.gntp_client.process_request(request, callback,
                                                    socket_callback=socket_callback)
        except GNTPResponseError as exc:
            if not self.retries_after(exc):
                raise
        self.register()
        return self.gntp_client.process_request(request, callback,
                                                socket_callback=socket_callback)


class SubscriberBase(BaseApp[ResponseT]):
    """What :class:`Subscriber` and :class:`~gntplib.async_.AsyncSubscriber` share (see
    :class:`Subscriber` for the arguments)."""

    def __init__(self, id_: str, name: str, hub: Union[str, Tuple[str, int]], password: str,
                 port: int = c.DEFAULT_PORT, custom_headers: Headers = None,
                 app_specific_headers: Headers = None,
                 gntp_client_class: Optional[Type[Any]] = None, **kwargs: Any) -> None:
        self.id_ = id_
        self.name = name
        if isinstance(hub, str):
            hub = (hub, c.DEFAULT_PORT)
        try:
            host, hub_port = hub
        except (TypeError, ValueError):
            raise GNTPValidationError(f'hub must be a host or a (host, port) pair, '
                                      f'not {hub!r}') from None
        self.hub = (host, hub_port)
        self.port = port
        self.password = password
        self.ttl = c.DEFAULT_TTL
        SubscribeRequest(id_, name, port, custom_headers, app_specific_headers)
        super().__init__(custom_headers, app_specific_headers, gntp_client_class,
                         host=host, port=hub_port, password=password, **kwargs)

    def subscribe_request(self) -> SubscribeRequest:
        """The SUBSCRIBE request ``subscribe()`` sends."""
        return SubscribeRequest(self.id_, self.name, self.port, self.custom_headers,
                                self.app_specific_headers)

    def storing_ttl(self, callback: Optional[FinalCallback] = None) -> FinalCallback:
        """A completion callback that stores the answer's TTL, then calls ``callback``."""
        def on_response(response: Response) -> None:
            self.store_ttl(response)
            if callback is not None:
                callback(response)
        return on_response

    def store_ttl(self, response: Response) -> None:
        """Store the ``Subscription-TTL`` of a SUBSCRIBE response in :attr:`ttl`."""
        ttl = response.subscription_ttl
        if ttl is not None:
            self.ttl = ttl

    def __repr__(self) -> str:
        return (f'<{type(self).__name__} id_={self.id_!r} name={self.name!r} '
                f'hub={self.hub[0]}:{self.hub[1]} port={self.port}>')


class Subscriber(SubscriberBase[Response]):
    """Subscribes to the notifications a hub forwards (§10).

    Args:
        id_: Unique subscriber ID (keep it across renewals).
        name: Subscriber name.
        hub: Hub address: a host name or a ``(host, port)`` pair.
        password: The hub's password.
        port: The port this subscriber receives forwarded notifications on.
        custom_headers: ``X-`` headers.
        app_specific_headers: ``Data-`` headers.
        gntp_client_class: Client class.
        **kwargs: Other client arguments (``timeout``, ``key_hashing``, ``encryption``).

    Attributes:
        hub: The hub's ``(host, port)``.
        password: The hub password (never shown by ``repr``).
        ttl: Seconds the subscription lasts, from the hub's last answer (60 until then).

    Example:
        >>> subscriber = Subscriber('unique-id', 'MySubscriber', 'hub.example.com', 'secret')
        >>> subscriber.subscribe()  # doctest: +SKIP
    """

    gntp_client: GNTPClient

    def subscribe(self, callback: Optional[FinalCallback] = None) -> Response:
        """Send a SUBSCRIBE to the hub and store the answer's ``Subscription-TTL``.

        Args:
            callback: Also called with the response, after :attr:`ttl` is updated.

        Returns:
            The ``-OK`` :class:`~gntplib.requests.Response`.
        """
        return self.gntp_client.process_request(self.subscribe_request(),
                                                self.storing_ttl(callback))


def publish(app_name: str, event_name: str, title: str, text: str = '',
            **kwargs: Any) -> Response:
    """Register an application with one event and send one notification.

    Args:
        app_name: Application name.
        event_name: Event name.
        title: Notification title.
        text: Notification message.
        **kwargs: Client arguments (``host``, ``port``, ``password``, ...).

    Returns:
        The ``-OK`` response to the NOTIFY.

    Example:
        >>> publish('MyApp', 'Alert', 'Warning', 'System overheating')  # doctest: +SKIP
    """
    publisher = Publisher(app_name, [event_name], **kwargs)
    publisher.register()
    return publisher.publish(event_name, title, text)


def subscribe(id_: str, name: str, hub: Union[str, Tuple[str, int]], password: str,
              port: int = c.DEFAULT_PORT, **kwargs: Any) -> int:
    """Subscribe to a hub and return the subscription's TTL in seconds.

    Example:
        >>> subscribe('sub-123', 'Me', 'hub.example.com', 'secret')  # doctest: +SKIP
        300
    """
    subscriber = Subscriber(id_, name, hub, password, port, **kwargs)
    subscriber.subscribe()
    return subscriber.ttl


# -- gntplib 0.5 names --------------------------------------------------------------------

def _deprecated(old: str, new: str) -> None:
    warnings.warn(f'{old} is deprecated; use {new}', DeprecationWarning, stacklevel=3)


def notify(app_name: str, event_name: str, title: str, text: str = '',
           **kwargs: Any) -> Response:
    """Deprecated alias of :func:`publish`.

    .. deprecated:: 0.5
       Use :func:`publish`.
    """
    _deprecated('gntplib.notify()', 'gntplib.publish()')
    return publish(app_name, event_name, title, text, **kwargs)


class Notifier(Publisher):
    """Deprecated alias of :class:`Publisher`.

    .. deprecated:: 0.5
       Use :class:`Publisher`; ``Notifier.notify`` is :meth:`Publisher.publish`.
    """

    def __init__(self, name: str, notify_defs: Sequence[EventDef], *args: Any,
                 **kwargs: Any) -> None:
        _deprecated('gntplib.Notifier', 'gntplib.Publisher')
        super().__init__(name, notify_defs, *args, **kwargs)

    def notify(self, *args: Any, **kwargs: Any) -> Response:
        """Deprecated alias of :meth:`Publisher.publish`."""
        _deprecated('Notifier.notify()', 'Publisher.publish()')
        return self.publish(*args, **kwargs)


class RawIcon(Resource):
    """Deprecated alias of :class:`~gntplib.Resource` (``RawIcon(data)``).

    .. deprecated:: 0.5
       Use :class:`~gntplib.Resource`.
    """

    def __init__(self, data: bytes) -> None:
        _deprecated('gntplib.RawIcon', 'gntplib.Resource')
        super().__init__(data)

