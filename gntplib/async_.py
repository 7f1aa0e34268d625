"""The Tornado-native API: :class:`AsyncPublisher`, :class:`AsyncSubscriber` and
:class:`AsyncResource`.

The async classes reuse the synchronous ones and swap only the client: the same
``register()``, ``publish()`` and ``subscribe()`` code builds the request, and
:class:`AsyncGNTPClient` moves the bytes over a Tornado ``IOStream``, so each call returns
an :class:`asyncio.Future` (await it in a coroutine, yield it in a Tornado coroutine, or
hand it to ``IOLoop.run_sync``) instead of blocking. Failures are the same
:class:`~gntplib.exceptions.GNTPError` subclasses as in the synchronous API.

This module needs Tornado (``pip install 'gntplib[async]'``); ``import gntplib`` alone never
imports it. The module was called ``gntplib.async`` in gntplib 0.5, a name that is a keyword
since Python 3.7; ``importlib.import_module('gntplib.async')`` still returns these objects.

Example:
    >>> from gntplib.async_ import AsyncPublisher
    >>> async def main():
    ...     publisher = AsyncPublisher('MyApp', ['update'])
    ...     await publisher.register()
    ...     response = await publisher.publish('update', 'New Version', 'v2.0 released')
"""

from __future__ import annotations

import asyncio
import logging
from typing import (
    TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple, Type,
    Union,
)
from urllib.parse import urlsplit, urlunsplit

from tornado.httpclient import AsyncHTTPClient

from . import constants as c
from ._async_io import (
    AsyncGNTPConnection, _attach_legacy_callback, _reason, _start, asyncio_loop_of,
    _warn_io_loop,
)
from .ciphers import Algorithm as CipherAlgorithm
from .connections import BaseGNTPClient, FinalCallback, GNTPClient
from .exceptions import (
    GNTPConnectionError, GNTPResourceError, GNTPResponseError, GNTPValidationError,
)
from .keys import Algorithm as KeyAlgorithm
from .lib import EventDef, Publisher, PublisherBase, Subscriber, SubscriberBase, _deprecated
from .models import Icon, Resource, SocketCallback, URLCallback
from .requests import BaseRequest, NotifyRequest, Response

__all__ = ['AsyncGNTPConnection', 'AsyncGNTPClient', 'AsyncPublisher', 'AsyncSubscriber',
           'AsyncResource', 'fetch_async_resources_in_parallel', 'collect_async_resources',
           'AsyncNotifier', 'AsyncIcon']

logger = logging.getLogger(__name__)


if TYPE_CHECKING:
    # For the type checker the async classes share only the generic bases with the sync
    # ones: their calls return futures, the sync ones responses. At run time they are
    # subclasses of the sync classes, as in gntplib 0.5, so isinstance() keeps working.
    _AsyncClientBase = BaseGNTPClient
    _AsyncPublisherBase = PublisherBase['asyncio.Future[Response]']
    _AsyncSubscriberBase = SubscriberBase['asyncio.Future[Response]']
else:
    _AsyncClientBase = GNTPClient
    _AsyncPublisherBase = Publisher
    _AsyncSubscriberBase = Subscriber


class AsyncGNTPClient(_AsyncClientBase):
    """Sends requests to one GNTP server over Tornado ``IOStream`` connections.

    Takes the arguments of :class:`~gntplib.connections.GNTPClient`; the differences are
    that :meth:`process_request` returns a future, and that ``callback_timeout`` defaults
    to ``None``: the future resolves at ``-OK`` and the socket callback runs whenever the
    server reports it, until the server closes the connection.

    Args:
        host: Server host name or address.
        port: Server port.
        timeout: Seconds allowed for connect, write and each whole response, and for
            fetching each :class:`AsyncResource`.
        password: Password for authentication, or ``None``.
        key_hashing: Key-hashing algorithm (default :data:`gntplib.keys.SHA256`).
        encryption: Encryption algorithm from :mod:`gntplib.ciphers`, or ``None``.
        connection_class: The connection class (default :class:`AsyncGNTPConnection`).
        io_loop: Ignored.
        callback_timeout: Seconds to wait for a ``-CALLBACK`` after ``-OK`` (``None``:
            until the server closes).
        max_response_size: Largest response accepted, in bytes.

    Raises:
        GNTPValidationError: If the hash is too short for the cipher.
        GNTPEncryptionError: If encryption is asked for and pycryptodomex is missing.

    .. deprecated:: 1.0
       ``io_loop`` is ignored; the IOLoop current at each call is used.
    """

    connection_class: Type[Any] = AsyncGNTPConnection

    def __init__(self, host: str = 'localhost', port: int = c.DEFAULT_PORT,
                 timeout: Optional[float] = c.DEFAULT_TIMEOUT, password: Optional[str] = None,
                 key_hashing: Optional[KeyAlgorithm] = None,
                 encryption: Optional[CipherAlgorithm] = None,
                 connection_class: Optional[Type[Any]] = None, io_loop: Any = None, *,
                 callback_timeout: Optional[float] = None,
                 max_response_size: int = c.MAX_MESSAGE_SIZE) -> None:
        _warn_io_loop(io_loop, 'AsyncGNTPClient')
        super().__init__(host, port, timeout, password, key_hashing, encryption,
                         connection_class, callback_timeout=callback_timeout,
                         max_response_size=max_response_size)

    def process_request(self, request: BaseRequest, callback: Optional[FinalCallback] = None,
                        **kwargs: Any) -> 'asyncio.Future[Response]':
        """Send ``request``; return a future of the server's ``-OK`` response.

        First every :class:`AsyncResource` in the request is fetched, all in parallel.
        With a ``socket_callback`` keyword the future still resolves at ``-OK``; the
        connection stays open and the callback's handler runs on the IOLoop when the
        ``-CALLBACK`` arrives.

        Args:
            request: The request to send.
            callback: Legacy completion callback, called with the response on success
                (on failure it is not called; the future has the error, and a failure
                nobody awaits is logged once at WARNING).
            **kwargs: ``socket_callback``, passed to the connection.

        Returns:
            A future of the ``-OK`` :class:`~gntplib.requests.Response`. It fails with
            :class:`~gntplib.exceptions.GNTPConnectionError` (connect, write or read
            failed or timed out), :class:`~gntplib.exceptions.GNTPAuthenticationError`
            (``-ERROR`` 400), :class:`~gntplib.exceptions.GNTPResponseError` (any other
            ``-ERROR``), :class:`~gntplib.exceptions.GNTPProtocolError` (bytes that are
            not GNTP) or :class:`~gntplib.exceptions.GNTPResourceError` (a required
            resource could not be fetched).
        """
        future = _start(self._process(request, kwargs.get('socket_callback')))
        return _attach_legacy_callback(future, callback)

    async def _process(self, request: BaseRequest,
                       socket_callback: Optional[SocketCallback]) -> Response:
        resources = collect_async_resources(request)
        if resources:
            await _fetch_all(resources, self.timeout)
        packer = self.packer_factory.create()
        message = packer.pack_parts(request)
        responses: List[Response] = []
        connection = self.connection_class(self.address, self.timeout, responses.append,
                                           socket_callback, key=packer.key,
                                           **self._connection_options())
        try:
            await connection.connect()
            try:
                await connection.write_message(message)
            except GNTPConnectionError as write_error:
                # A server may answer before it has read everything, then close (§6.1):
                # its answer explains the failed write better than the write error.
                try:
                    await self._read_answer(connection)
                except GNTPConnectionError:
                    raise write_error from write_error.__cause__
            else:
                await self._read_answer(connection)
        except BaseException:
            connection.close()
            raise
        return responses[0]

    @staticmethod
    async def _read_answer(connection: Any) -> None:
        if type(connection).read_message is AsyncGNTPConnection.read_message:
            # What read_message would run as a task, awaited in place: one task less
            # per request, ~7% of an async publish's instructions (benchmarks/README.md).
            await connection._read_then(connection.on_ok_message)
        else:
            await connection.read_message(connection.on_ok_message)


def _safe_url(url: str) -> str:
    """``url`` without a password in it, fit for logs and reprs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return '<invalid URL>'
    if parts.password is None:
        return url
    netloc = f'{parts.username}:***@{parts.hostname}' + (f':{parts.port}' if parts.port else '')
    return urlunsplit(parts._replace(netloc=netloc))


class AsyncResource(Resource):
    """A resource (usually an icon) fetched over HTTP before it is sent.

    When a request containing it is processed by :class:`AsyncGNTPClient`, the resource
    is fetched with Tornado's ``AsyncHTTPClient`` (in parallel with the request's other
    resources) and sent embedded in the message, like a :class:`~gntplib.Resource` with
    ``data``. Once fetched, the bytes are kept and later requests do not fetch again.

    When the fetch fails (HTTP error, unreachable host, timeout) the failure is logged at
    WARNING, kept in :attr:`error`, and the request is sent without this resource: the
    header that refers to it is left out, so the server shows its default icon. With
    ``required=True`` the request fails with
    :class:`~gntplib.exceptions.GNTPResourceError` instead, and nothing is sent.

    Args:
        url: An ``http`` or ``https`` URL.
        required: Fail the request when the fetch fails, instead of leaving the resource
            out.

    Attributes:
        data: The fetched bytes, or ``None`` until a fetch succeeded.
        error: The :class:`~gntplib.exceptions.GNTPResourceError` of the last failed
            fetch, or ``None``.

    Raises:
        GNTPValidationError: If ``url`` is not an http(s) URL.

    Example:
        >>> icon = AsyncResource('https://example.com/icon.png')
        >>> publisher = AsyncPublisher('MyApp', ['update'], icon=icon)
    """

    def __init__(self, url: str, required: bool = False) -> None:
        if not isinstance(url, str) or urlsplit(url).scheme.lower() not in ('http', 'https'):
            raise GNTPValidationError(f'an AsyncResource needs an http(s) URL, got {url!r}')
        super().__init__(url=url)
        self.required = required
        self.error: Optional[GNTPResourceError] = None
        self._fetching: Optional['asyncio.Future[Optional[bytes]]'] = None

    def header_value(self) -> Optional[str]:
        """The ``x-growl-resource://`` pointer once fetched, else ``None`` (no header)."""
        identifier = self.identifier()
        return None if identifier is None else c.RESOURCE_URL_PREFIX + identifier

    def fetch(self, timeout: Optional[float] = None) -> 'asyncio.Future[Optional[bytes]]':
        """Fetch the resource unless it is already fetched (or being fetched).

        Args:
            timeout: Seconds for connecting and for the whole HTTP request (``None``:
                Tornado's defaults).

        Returns:
            A future of the bytes, or of ``None`` when the fetch failed and the resource
            is not ``required``.
        """
        loop = asyncio_loop_of()
        if self.data is not None:
            done: 'asyncio.Future[Optional[bytes]]' = loop.create_future()
            done.set_result(self.data)
            return done
        # Concurrent requests sharing this resource share one fetch.
        if self._fetching is None or self._fetching.get_loop() is not loop:
            self._fetching = loop.create_task(self._fetch(timeout))
        return self._fetching

    async def _fetch(self, timeout: Optional[float]) -> Optional[bytes]:
        assert self.url is not None
        options: Dict[str, Any] = {} if timeout is None else {
            'connect_timeout': timeout, 'request_timeout': timeout}
        try:
            response = await AsyncHTTPClient().fetch(self.url, **options)
        except Exception as exc:
            self.error = GNTPResourceError(f'cannot fetch resource {_safe_url(self.url)}: '
                                           f'{_reason(exc)}')
            self.error.__cause__ = exc
            if self.required:
                raise self.error
            logger.warning('%s; sending the request without it', self.error)
            return None
        finally:
            self._fetching = None
        self.data = response.body
        self._unique_value = None
        self.error = None
        return self.data

    def __repr__(self) -> str:
        state = f'md5={self.identifier()}' if self.data is not None else 'not fetched'
        return f'<{type(self).__name__} url={_safe_url(self.url or "")!r} {state}>'


def collect_async_resources(request: BaseRequest) -> List[AsyncResource]:
    """List the :class:`AsyncResource` objects a request refers to, each once.

    Looks at every header: the application icon, event icons, notification icon, and
    ``X-``/``Data-`` headers whose value is a resource.

    Args:
        request: A request object.

    Returns:
        The resources, in header order.
    """
    found: List[AsyncResource] = []
    seen: Set[int] = set()
    for section in request.header_sections():
        for _, value in section:
            if isinstance(value, AsyncResource) and id(value) not in seen:
                seen.add(id(value))
                found.append(value)
    return found


async def _fetch_all(resources: Sequence[AsyncResource],
                     timeout: Optional[float]) -> List[AsyncResource]:
    results = await asyncio.gather(*(r.fetch(timeout) for r in resources),
                                   return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return list(resources)


def fetch_async_resources_in_parallel(
        async_resources: Iterable[AsyncResource],
        callback: Optional[Callable[[List[AsyncResource]], Any]] = None,
        io_loop: Any = None, timeout: Optional[float] = None
) -> 'asyncio.Future[List[AsyncResource]]':
    """Fetch every resource's URL, all at the same time.

    A failed fetch leaves that resource's ``data`` as ``None`` (see
    :class:`AsyncResource`); it fails the future only for a ``required`` resource.

    Args:
        async_resources: The resources to fetch.
        callback: Legacy callback, called with the list of resources.
        io_loop: Ignored.
        timeout: Seconds allowed for each fetch.

    Returns:
        A future of the list of resources, once all fetches have finished.

    .. deprecated:: 1.0
       ``io_loop`` is ignored.
    """
    _warn_io_loop(io_loop, 'fetch_async_resources_in_parallel()')
    future = _start(_fetch_all(list(async_resources), timeout), 'resource fetch')
    return _attach_legacy_callback(future, callback, 'resource fetch')


class AsyncPublisher(_AsyncPublisherBase):
    """A :class:`~gntplib.Publisher` whose calls return futures instead of blocking.

    Takes the arguments of :class:`~gntplib.Publisher` (as keywords after ``icon``) and
    the client arguments of :class:`AsyncGNTPClient`. Icons may be
    :class:`AsyncResource` objects, fetched before each request that needs them.

    Args:
        name: Application name.
        event_defs: Event definitions: names, ``(name, enabled)`` pairs or
            :class:`~gntplib.Event` objects.
        icon: Application icon: URL string, :class:`~gntplib.Resource` or
            :class:`AsyncResource`.
        io_loop: Ignored.
        **kwargs: ``custom_headers``, ``app_specific_headers``, ``auto_register`` (see
            :class:`~gntplib.Publisher`: a NOTIFY answered 401 registers and is sent
            again; on by default) and the client arguments (``host``, ``port``,
            ``timeout``, ``password``, ``key_hashing``, ``encryption``,
            ``callback_timeout``).

    Example:
        >>> async def notify_users():
        ...     publisher = AsyncPublisher('MyApp', ['update'], port=23053)
        ...     await publisher.register()
        ...     await publisher.publish('update', 'New Version', 'v2.0 released')

    .. deprecated:: 1.0
       ``io_loop`` is ignored; the IOLoop current at each call is used.
    """

    gntp_client: AsyncGNTPClient

    def __init__(self, name: str, event_defs: Sequence[EventDef], icon: Optional[Icon] = None,
                 io_loop: Any = None, **kwargs: Any) -> None:
        _warn_io_loop(io_loop, 'AsyncPublisher')
        kwargs.setdefault('gntp_client_class', AsyncGNTPClient)
        super().__init__(name, event_defs, icon, **kwargs)

    def register(self, callback: Optional[FinalCallback] = None
                 ) -> 'asyncio.Future[Response]':
        """Register the application and its events.

        Args:
            callback: Legacy callback, called with the response on success.

        Returns:
            A future of the ``-OK`` :class:`~gntplib.requests.Response`; it fails with the
            errors listed in :meth:`AsyncGNTPClient.process_request`.
        """
        return self.gntp_client.process_request(self.register_request(), callback)

    def publish(self, name: str, title: str, text: str = '', id_: Optional[str] = None,
                sticky: bool = False, priority: int = 0, icon: Optional[Icon] = None,
                coalescing_id: Optional[str] = None, callback: Optional[FinalCallback] = None,
                gntp_callback: Union[None, str, URLCallback, SocketCallback] = None,
                **socket_callback_options: Any) -> 'asyncio.Future[Response]':
        """Send a notification; the arguments are those of :meth:`gntplib.Publisher.publish`.

        The future resolves at ``-OK``, also with a socket callback: a web handler that
        awaits it never waits for a human. The connection then stays open and
        ``on_click``/``on_close``/``on_timeout`` run on the IOLoop when the server's
        ``-CALLBACK`` arrives (until the server closes, or the client's
        ``callback_timeout``). A handler's exception is logged at ERROR.

        Returns:
            A future of the ``-OK`` :class:`~gntplib.requests.Response`; it fails with the
            errors listed in :meth:`AsyncGNTPClient.process_request`.

        Raises:
            GNTPValidationError: At once, for invalid arguments.
        """
        request = self.notify_request(name, title, text, id_, sticky, priority, icon,
                                      coalescing_id, gntp_callback, **socket_callback_options)
        socket_callback = request.notification.socket_callback
        if not self.auto_register:
            return self.gntp_client.process_request(request, callback,
                                                    socket_callback=socket_callback)
        return _attach_legacy_callback(_start(self._publish(request, socket_callback)),
                                       callback)

    async def _publish(self, request: NotifyRequest,
                       socket_callback: Optional[SocketCallback]) -> Response:
        try:
            return await self._send(request, socket_callback)
        except GNTPResponseError as exc:
            if not self.retries_after(exc):
                raise
        await self._send(self.register_request(), None)
        return await self._send(request, socket_callback)

    async def _send(self, request: BaseRequest,
                    socket_callback: Optional[SocketCallback]) -> Response:
        client = self.gntp_client
        if isinstance(client, AsyncGNTPClient) and \
                type(client).process_request is AsyncGNTPClient.process_request:
            return await client._process(request, socket_callback)  # in place: no task
        return await client.process_request(request, None, socket_callback=socket_callback)


class AsyncSubscriber(_AsyncSubscriberBase):
    """A :class:`~gntplib.Subscriber` whose :meth:`subscribe` returns a future.

    Args:
        id_: Unique subscriber ID.
        name: Subscriber name.
        hub: Hub address: a host name or a ``(host, port)`` pair.
        password: The hub's password.
        port: The port this subscriber receives forwarded notifications on.
        io_loop: Ignored.
        **kwargs: ``custom_headers``, ``app_specific_headers`` and client arguments.

    .. deprecated:: 1.0
       ``io_loop`` is ignored.
    """

    gntp_client: AsyncGNTPClient

    def __init__(self, id_: str, name: str, hub: Union[str, Tuple[str, int]], password: str,
                 port: int = c.DEFAULT_PORT, io_loop: Any = None, **kwargs: Any) -> None:
        _warn_io_loop(io_loop, 'AsyncSubscriber')
        kwargs.setdefault('gntp_client_class', AsyncGNTPClient)
        super().__init__(id_, name, hub, password, port, **kwargs)

    def subscribe(self, callback: Optional[FinalCallback] = None
                  ) -> 'asyncio.Future[Response]':
        """Subscribe to the hub; :attr:`ttl` is updated before the future's awaiters resume.

        Args:
            callback: Legacy callback, called with the response after :attr:`ttl` is set.

        Returns:
            A future of the ``-OK`` :class:`~gntplib.requests.Response`.
        """
        return self.gntp_client.process_request(self.subscribe_request(),
                                                self.storing_ttl(callback))


# -- gntplib 0.5 names (2012) ---------------------------------------------------------------

class AsyncNotifier(AsyncPublisher):
    """Deprecated alias of :class:`AsyncPublisher`.

    .. deprecated:: 0.5
       Use :class:`AsyncPublisher`; ``AsyncNotifier.notify`` is
       :meth:`AsyncPublisher.publish`.
    """

    def __init__(self, name: str, notify_defs: Sequence[EventDef], *args: Any,
                 **kwargs: Any) -> None:
        _deprecated('gntplib.async_.AsyncNotifier', 'gntplib.async_.AsyncPublisher')
        super().__init__(name, notify_defs, *args, **kwargs)

    def notify(self, *args: Any, **kwargs: Any) -> 'asyncio.Future[Response]':
        """Deprecated alias of :meth:`AsyncPublisher.publish`."""
        _deprecated('AsyncNotifier.notify()', 'AsyncPublisher.publish()')
        return self.publish(*args, **kwargs)


class AsyncIcon(AsyncResource):
    """Deprecated alias of :class:`AsyncResource`.

    .. deprecated:: 0.5
       Use :class:`AsyncResource`.
    """

    def __init__(self, url: str) -> None:
        _deprecated('gntplib.async_.AsyncIcon', 'gntplib.async_.AsyncResource')
        super().__init__(url)
