"""The embedded GNTP server: a receiver and hub for tests, demos and ``gntplib serve``.

:class:`GNTPServer` is a Tornado ``TCPServer`` built on the same sans-IO core as the
clients: :class:`~gntplib.reader.RequestReader` parses, authenticates and decrypts requests
and :func:`~gntplib.packers.pack_response` writes the answers, so client and server check
each other. :class:`ServerThread` runs a server on its own IOLoop in a daemon thread, for
synchronous code. Display backends are in :mod:`gntplib.display`.

Example:
    >>> with ServerThread(password='secret') as thread:          # doctest: +SKIP
    ...     Publisher('App', ['update'], port=thread.port).register()
    ...     thread.received[-1].app_name
    'App'
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import itertools
import logging
import socket
import threading
import uuid
from typing import (
    Any, Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple, Union, cast,
)

from tornado.ioloop import IOLoop
from tornado.iostream import IOStream
from tornado.locks import Condition
from tornado.netutil import bind_sockets
from tornado.tcpserver import TCPServer

from . import constants as c
from ._async_io import asyncio_loop_of
from ._serving import (
    Address, Connection, PendingCallback, ServerStream, Subscription,
    for_forwarding, forward_in_order, is_loopback, names_server, normalize_callback_result,
    ok_response, received_line, release_stream, subscription_for, valid_server_id,
)
from .display import Display, DisplayEvent, format_address
from .exceptions import GNTPConnectionError, GNTPResponseError, GNTPValidationError
from .keys import password_tuple
from .models import Icon
from .reader import ReaderLimits, RequestReader
from .registry import ApplicationInfo, NotificationTypeInfo, RegisteredApplication, Registry
from .requests import BaseRequest, NotifyRequest, RegisterRequest, Response, SubscribeRequest

__all__ = ['GNTPServer', 'ServerThread', 'RegisteredApplication', 'Subscription',
           'PendingCallback', 'ApplicationInfo', 'NotificationTypeInfo', 'is_loopback',
           'normalize_callback_result']

logger = logging.getLogger(__name__)

Passwords = Union[None, str, Sequence[str]]
#: Listen backlog: a burst of clients beyond it waits for SYN retransmits (about a second).
_BACKLOG = 1024


class GNTPServer(TCPServer):
    """A GNTP receiver and hub on Tornado.

    It accepts REGISTER, NOTIFY and SUBSCRIBE, keeps the registered applications, answers
    ``-OK`` or ``-ERROR`` with the spec's codes, sends socket callbacks, and forwards
    REGISTER and NOTIFY to live subscribers. Every request it parses is appended to
    :attr:`received`, so tests can assert on exactly what arrived.

    Forwarding headers (§4.4): a forwarded request keeps its ``Received`` headers and gets
    one more, ``From <peer> by <host_name> with gntplib id <server_id>; <UTC date>``
    (``<peer>`` is the address the request came from). A request with a ``Received``
    header whose ``id`` is this server's :attr:`server_id` (compared case-insensitively)
    went round a forwarding loop: it is refused with ``-ERROR`` 403
    (``ALREADY_PROCESSED``) and goes no further.

    A client may shut down its sending side after its request (``nc -N``): the request
    is still read to its end and answered; if it ends early, the answer is ``-ERROR``
    300. Afterwards, end of input counts as the client leaving, so a socket callback not
    decided by then is dropped (see :doc:`/server`).

    Args:
        password: The password, or a list of passwords, the server accepts.
        require_password: Demand a key hash from peers that are not on loopback (as Growl
            does). SUBSCRIBE and encrypted requests always need one.
        require_password_from_loopback: Demand a key hash from loopback peers too.
        encrypt_responses: Encrypt the ``-OK`` and ``-CALLBACK`` to encrypted requests (the
            spec's optional mode, §9.6; no real server does it, so it is off by default).
        subscription_ttl: ``Subscription-TTL`` given to subscribers, in seconds.
        callback_result: ``'CLICK'``, ``'CLOSE'`` or ``'TIMEDOUT'`` to answer every socket
            callback at once with that result (for tests); ``None`` waits for
            :meth:`send_callback`.
        notification_timeout: Seconds after which a pending socket callback of a non-sticky
            notification is answered ``TIMEDOUT``; ``None`` waits until the client leaves.
        display: A :class:`~gntplib.display.Display` or a list of them.
        limits: :class:`~gntplib.reader.ReaderLimits` for requests (default: 16 MiB per
            request, 8 MiB and 64 per resource, 1 MiB and 1000 lines of headers, 1 KiB
            information line); a peer over one gets ``-ERROR`` 300 (301 for the line).
        idle_timeout: Seconds a connection may stay silent while sending a request (then
            ``-ERROR`` 200); also the time allowed to drain a connection after answering.
        request_timeout: Seconds allowed for a whole request to arrive (then ``-ERROR``
            200), however steadily it trickles in.
        max_connections: Open connections beyond this are closed at once. With
            ``limits``, it bounds the memory requests can take: about
            ``max_connections * limits.max_request_size`` at worst.
        forward_timeout: Seconds allowed for forwarding one request to a subscriber.
        max_received: How many entries :attr:`received`, :attr:`errors` and :attr:`forwards`
            keep (oldest dropped first).
        server_id: How this server names itself in the ``Received`` headers it adds, and
            recognises itself in the ones it receives: one word without ``;``. Default:
            the host name and a random suffix (``desk-5f0c2a9e81b4``), so every server
            is told apart, even several on one machine. A fixed id makes the headers
            easier to read; it must differ from every other server's.
        **kwargs: Passed to ``TCPServer`` (e.g. ``ssl_options``).

    Attributes:
        received: Requests parsed, oldest first (``request.received`` has the raw parts).
        applications: :class:`RegisteredApplication` by name.
        subscribers: :class:`Subscription` by subscriber ID.
        pending_callbacks: :class:`PendingCallback` by handle.
        errors: ``(peer, code, description)`` of every ``-ERROR`` sent.
        forwards: ``(subscriber_id, message_type, error_or_None)`` of every forwarding.
        server_id: This server's identifier in ``Received`` headers.
        host_name: The host name it writes after ``by`` in them.
        port: The first port listened on (after :meth:`listen` or :meth:`add_sockets`).

    Example:
        >>> from gntplib.display import ConsoleDisplay
        >>> server = GNTPServer(password='secret', display=ConsoleDisplay())
        >>> server.listen(0)                          # loopback, any free port
        >>> server.port > 0
        True
        >>> IOLoop.current().start()                  # doctest: +SKIP
        >>> server.stop()
    """

    def __init__(self, password: Passwords = None, *, require_password: bool = True,
                 require_password_from_loopback: bool = False, encrypt_responses: bool = False,
                 subscription_ttl: int = 300, callback_result: Optional[str] = None,
                 notification_timeout: Optional[float] = None,
                 display: Union[None, Display, Sequence[Display]] = None,
                 limits: Optional[ReaderLimits] = None, idle_timeout: float = 10.0,
                 request_timeout: float = 30.0, max_connections: int = 1000,
                 forward_timeout: float = 10.0, max_received: int = 10000,
                 server_id: Optional[str] = None, **kwargs: Any) -> None:
        try:
            super().__init__(**kwargs)
        except TypeError as exc:
            raise GNTPValidationError(f'invalid server argument: {exc}') from None
        self._passwords = password_tuple(password)
        if not all(isinstance(p, str) and p for p in self._passwords):
            raise GNTPValidationError('passwords must be non-empty strings')
        self.require_password = require_password
        self.require_password_from_loopback = require_password_from_loopback
        self.encrypt_responses = encrypt_responses
        self.subscription_ttl = int(subscription_ttl)
        self.callback_result = None if callback_result is None \
            else normalize_callback_result(callback_result)
        self.notification_timeout = notification_timeout
        if display is None:
            self.displays: List[Display] = []
        elif isinstance(display, (list, tuple)):
            self.displays = list(display)
        else:
            self.displays = [display]  # type: ignore[list-item]
        self.limits = limits or ReaderLimits()
        self.idle_timeout = idle_timeout
        self.request_timeout = request_timeout
        self.max_connections = max_connections
        self.forward_timeout = forward_timeout
        self.max_received = max_received
        # No white space or ";" in a host name either: it is one word of the Received line.
        self.host_name = ''.join(socket.gethostname().replace(';', '').split()) or 'localhost'
        self.server_id = valid_server_id(f'{self.host_name}-{uuid.uuid4().hex[:12]}'
                                         if server_id is None else server_id)
        self.received: List[BaseRequest] = []
        self.registry = Registry()
        self.applications: Dict[str, RegisteredApplication] = self.registry.applications
        self.subscribers: Dict[str, Subscription] = {}
        self.pending_callbacks: Dict[int, PendingCallback] = {}
        self.errors: List[Tuple[str, int, str]] = []
        self.forwards: List[Tuple[str, str, Optional[str]]] = []
        self.port: Optional[int] = None
        self._handles = itertools.count(1)
        self._streams: Set[IOStream] = set()
        self._tasks: Set['asyncio.Future[Any]'] = set()
        self._changed = Condition()
        self._displays_started = False

    def __repr__(self) -> str:
        return (f'<GNTPServer port={self.port} passwords={len(self._passwords)} '
                f'applications={len(self.applications)} received={len(self.received)}>')

    # -- listening ---------------------------------------------------------------------------

    def listen(self, port: int = c.DEFAULT_PORT, address: Optional[str] = '127.0.0.1',
               family: socket.AddressFamily = socket.AF_UNSPEC, backlog: int = _BACKLOG,
               flags: Optional[int] = None, reuse_port: bool = False) -> None:
        """Listen on ``address`` (loopback unless told otherwise) and ``port`` (0: any).

        Raises:
            GNTPConnectionError: If the address cannot be bound.
        """
        try:
            sockets = bind_sockets(port, address, family, backlog, flags, reuse_port)
        except OSError as exc:
            raise GNTPConnectionError(f'cannot listen on {address}:{port}: '
                                      f'{exc.strerror or exc}') from exc
        self.add_sockets(sockets)

    def add_sockets(self, sockets: Iterable[socket.socket]) -> None:
        """Serve on already-bound listening sockets (sets :attr:`port` if unset)."""
        sockets = list(sockets)
        super().add_sockets(sockets)
        if self.port is None and sockets:
            self.port = sockets[0].getsockname()[1]
        if not self._displays_started:
            self._displays_started = True
            self._tell_displays('start', self)

    def stop(self) -> None:
        """Stop listening and close every open connection."""
        super().stop()
        for stream in list(self._streams):
            stream.close()  # a socket kept after end of input is closed by its connection

    async def shutdown(self, timeout: float = 5.0, grace: float = 0.0) -> None:
        """Stop listening, let open connections finish for up to ``grace`` seconds, close
        the rest, wait (up to ``timeout``) for forwarding to finish, and close the display
        backends."""
        TCPServer.stop(self)
        if grace > 0 and self._streams:
            try:
                await self.wait_for(lambda: not self._streams, grace, 'connections to finish')
            except GNTPConnectionError:
                logger.info('closing %d connection(s) still open', len(self._streams))
        self.stop()
        pending = [task for task in self._tasks if not task.done()]
        if pending:
            _, late = await asyncio.wait(pending, timeout=timeout)
            for task in late:
                task.cancel()
        await self.wait_for(lambda: not self._streams, timeout, 'connections to close')
        closing = [result for result in self._tell_displays('close')
                   if inspect.isawaitable(result)]
        if closing:
            _, late = await asyncio.wait([asyncio.ensure_future(c) for c in closing],
                                         timeout=timeout)
            for task in late:
                task.cancel()

    @property
    def connections(self) -> int:
        """How many connections are open."""
        return len(self._streams)

    # -- waiting for things to happen (tests, demos) -------------------------------------------

    def _notify_change(self) -> None:
        self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0,
                       what: str = 'a condition') -> None:
        """Wait until ``predicate()`` is true; it is checked whenever the server's state
        changes (a request, an error, a callback, a forwarding...).

        Raises:
            GNTPConnectionError: If ``timeout`` seconds pass first.
        """
        deadline = IOLoop.current().time() + timeout
        while not predicate():
            if not await self._changed.wait(timeout=deadline):
                if predicate():
                    return
                raise GNTPConnectionError(f'timed out after {timeout} s waiting for {what}')

    async def wait_for_requests(self, count: int = 1, timeout: float = 5.0) -> List[BaseRequest]:
        """Wait until :attr:`received` holds at least ``count`` requests, and return it.

        Raises:
            GNTPConnectionError: If ``timeout`` seconds pass first.
        """
        await self.wait_for(lambda: len(self.received) >= count, timeout,
                            f'{count} request(s)')
        return self.received

    # -- socket callbacks -----------------------------------------------------------------------

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

    def send_callback(self, target: Any, result: str = 'CLICK') -> 'asyncio.Future[bool]':
        """Answer a pending socket callback with ``-CALLBACK``.

        Args:
            target: The handle, the ``Notification-ID`` or the :class:`PendingCallback`.
            result: ``'CLICK'``, ``'CLOSE'`` or ``'TIMEDOUT'`` (any spelling of those).

        Returns:
            A future: ``True`` once the ``-CALLBACK`` is written, ``False`` if the client
            left first or the callback was already answered.

        Raises:
            GNTPValidationError: No such callback is pending, or the result is unknown.
        """
        pending = self.find_pending_callback(target)
        result = normalize_callback_result(result)
        if pending.result.done():
            return _done(False)
        pending.result.set_result(result)
        pending.event.callback_result = result
        self._tell_displays('show_callback', pending.event, result)
        self._notify_change()
        return pending.sent

    def report_callback(self, handle: int, result: str) -> 'asyncio.Future[bool]':
        """Like :meth:`send_callback`, for displays (:meth:`DisplayEvent.send_callback
        <gntplib.display.DisplayEvent.send_callback>`): a callback no longer pending (decided,
        or its sender gone) is a no-op whose future is already done with ``False``.

        Raises:
            GNTPValidationError: If ``result`` is not a callback result.
        """
        result = normalize_callback_result(result)
        pending = self.pending_callbacks.get(handle)
        if pending is None:
            return _done(False)
        return self.send_callback(pending, result)

    # -- the registry (for receiver pages and tests) --------------------------------------------

    def list_applications(self) -> List[ApplicationInfo]:
        """The registered applications, sorted by name: for each its icon, the peer that
        registered it and its notification types with their ``enabled`` flags
        (:class:`~gntplib.registry.ApplicationInfo` snapshots)."""
        return self.registry.list_applications()

    def set_notification_enabled(self, app_name: str, notification_name: str,
                                 enabled: bool) -> None:
        """Switch a notification type on or off, as a user would in Growl's settings: a
        NOTIFY of a disabled type is answered ``-ERROR`` 404 (``NOTIFICATION_DISABLED``).
        The choice survives the application registering again.

        Raises:
            GNTPValidationError: If the application or the type is not registered.
        """
        self.registry.set_notification_enabled(app_name, notification_name, enabled)
        self._notify_change()

    def application_icon(self, app_name: str) -> Optional[Icon]:
        """The application's icon: a :class:`~gntplib.Resource` (``icon.data`` holds the
        bytes sent with the REGISTER), a URL string, or ``None``.

        Raises:
            GNTPValidationError: If the application is not registered.
        """
        return self.registry.application_icon(app_name)

    # -- connections ----------------------------------------------------------------------------

    async def handle_stream(self, stream: IOStream, address: Address) -> None:
        """Serve one connection: one request, its answer, and maybe a callback (§6)."""
        if len(self._streams) >= self.max_connections:
            logger.warning('refusing %s: %d connections open', format_address(address),
                           len(self._streams))
            stream.close()
            return
        stream = ServerStream.wrap(stream)
        self._streams.add(stream)
        task = asyncio.ensure_future(Connection(self, stream, address).run())
        self._tasks.add(task)
        try:
            await task
        except Exception:
            logger.exception('connection from %s failed', format_address(address))
        finally:
            release_stream(stream)
            self._tasks.discard(task)
            self._streams.discard(stream)
            self._notify_change()

    def _reader_for(self, address: Address) -> RequestReader:
        require = self.require_password and (self.require_password_from_loopback
                                             or not is_loopback(address))
        return RequestReader(self._passwords, require_key=require, limits=self.limits)

    def _append(self, records: List[Any], record: Any) -> None:
        records.append(record)
        if len(records) > self.max_received:
            del records[:len(records) - self.max_received]
        self._notify_change()

    def _record(self, request: BaseRequest) -> None:
        self._append(self.received, request)

    def _record_error(self, address: Address, code: int, description: str) -> None:
        logger.info('-ERROR %s to %s: %s', code, format_address(address), description)
        self._append(self.errors, (format_address(address), code, description))
        self._tell_displays('show_error', address, code, description)

    def _tell_displays(self, method: str, *args: Any) -> List[Any]:
        results = []
        for display in self.displays:
            try:
                results.append(getattr(display, method)(*args))
            except Exception:
                logger.exception('display backend %r failed', display)
        return results

    # -- dispatch --------------------------------------------------------------------------------

    def dispatch(self, request: BaseRequest, address: Address
                 ) -> Tuple[Response, Optional[PendingCallback]]:
        """Handle a parsed request: update the registry, show it, forward it.

        Returns:
            The ``-OK`` response, and the pending callback if the sender waits for one.

        Raises:
            GNTPResponseError: With the code to answer (401, 402, 403, 404).
        """
        if any(names_server(value, self.server_id) for value in request.received_headers):
            raise GNTPResponseError(
                f'{c.ERROR_DESCRIPTIONS[c.ERROR_ALREADY_PROCESSED]}: this server '
                f'({self.server_id}) forwarded the request before (a forwarding loop)',
                c.ERROR_ALREADY_PROCESSED)
        headers: List[Tuple[str, Any]] = [('Response-Action', request.message_type)]
        pending = None
        if isinstance(request, RegisterRequest):
            self._show(DisplayEvent(request, address, server=self))
            self.registry.register(request, address)
        elif isinstance(request, NotifyRequest):
            pending = self._check_notify(request, address)
            headers.append(('Notification-ID', request.notification.id_))
        elif isinstance(request, SubscribeRequest):
            self._subscribe(request, address)
            self._show(DisplayEvent(request, address, server=self))
            headers.append(('Subscription-TTL', self.subscription_ttl))
        if not isinstance(request, SubscribeRequest):
            self._forward_to_subscribers(request, address)
        self._notify_change()
        return ok_response(headers + request.app_specific_headers), pending

    def _show(self, event: DisplayEvent) -> None:
        for display in self.displays:
            display.show(event)

    def _check_notify(self, request: NotifyRequest, address: Address
                      ) -> Optional[PendingCallback]:
        n = request.notification
        rejection = self.registry.check_notify(request.app_name, n.name)
        if rejection is not None:
            raise GNTPResponseError(rejection.description, rejection.code)
        callback = n.socket_callback
        handle = next(self._handles) if callback is not None else None
        shown = DisplayEvent(request, address, handle, server=self)
        pending = None
        if callback is not None and handle is not None:
            pending = PendingCallback(handle, request, callback, shown)
            self.pending_callbacks[handle] = pending
        try:
            self._show(shown)
        except Exception:
            if handle is not None:
                self.pending_callbacks.pop(handle, None)
            raise
        return pending

    def _subscribe(self, request: SubscribeRequest, address: Address) -> None:
        self.subscribers[request.id_] = subscription_for(self, request, address)
        logger.info('subscriber %r (%s) for %d s', request.name,
                    format_address((address[0], request.port)), self.subscription_ttl)

    def _forward_to_subscribers(self, request: BaseRequest, address: Address) -> None:
        forwarded = None
        for sub_id, subscription in list(self.subscribers.items()):
            if not subscription.alive:
                del self.subscribers[sub_id]
                continue
            if forwarded is None:
                received = received_line(str(address[0]), self.host_name, self.server_id)
                forwarded = for_forwarding(request, [received])
            task = forward_in_order(self, subscription, forwarded)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)


def _done(value: bool) -> 'asyncio.Future[bool]':
    done: 'asyncio.Future[bool]' = asyncio.get_event_loop().create_future()
    done.set_result(value)
    return done


class ServerThread:
    """Runs a :class:`GNTPServer` on its own IOLoop in a daemon thread.

    For synchronous code (tests, the command line): the server listens on loopback, port 0
    (any free port) unless told otherwise. Read its state through the thread-safe
    properties and methods here; they run on the server's loop.

    Args:
        server_factory: A callable returning the :class:`GNTPServer` (called in the
            thread); or leave it out and pass the server's keyword arguments.
        host: Address to listen on.
        port: Port to listen on (0: any free port).
        sock: An already-bound listening socket to serve on instead of ``host``/``port``.
        **server_kwargs: Arguments for :class:`GNTPServer`.

    Attributes:
        port: The port the server listens on (after :meth:`start`).
        server: The :class:`GNTPServer` (touch it only on its loop; see :meth:`call`).

    Example:
        >>> with ServerThread(callback_result='CLICK') as thread:   # doctest: +SKIP
        ...     publish('App', 'update', 'Hi', port=thread.port)
        ...     thread.wait_for_requests(2)
    """

    def __init__(self, server_factory: Optional[Callable[[], GNTPServer]] = None, *,
                 host: str = '127.0.0.1', port: int = 0, sock: Optional[socket.socket] = None,
                 **server_kwargs: Any) -> None:
        if server_factory is not None and server_kwargs:
            raise GNTPValidationError('give a server factory or server arguments, not both')
        self._factory = server_factory or (lambda: GNTPServer(**server_kwargs))
        self.host = host
        self.port: int = port
        self._sock = sock
        self.server: Optional[GNTPServer] = None
        self.io_loop: Optional[IOLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._ready = threading.Event()
        self._error: Optional[BaseException] = None
        self._grace = 0.0

    def __repr__(self) -> str:
        return f'<ServerThread {self.host}:{self.port} running={self.running}>'

    @property
    def running(self) -> bool:
        """Whether the thread is serving."""
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 10.0) -> 'ServerThread':
        """Bind, start the thread, and return once the server is listening.

        Raises:
            GNTPConnectionError: If the address cannot be bound.
        """
        if self._sock is not None:
            self._sock.setblocking(False)
            sockets = [self._sock]
        else:
            try:
                sockets = bind_sockets(self.port, self.host, backlog=_BACKLOG)
            except OSError as exc:
                raise GNTPConnectionError(f'cannot listen on {self.host}:{self.port}: '
                                          f'{exc.strerror or exc}') from exc
        self.port = sockets[0].getsockname()[1]
        self._thread = threading.Thread(target=self._run, args=(sockets,), daemon=True,
                                        name=f'gntplib-server-{self.port}')
        self._thread.start()
        self._ready.wait(timeout)
        if self._error is not None:
            self._thread.join(timeout)
            raise self._error
        return self

    def _run(self, sockets: List[socket.socket]) -> None:
        io_loop = IOLoop(make_current=False)
        asyncio.set_event_loop(asyncio_loop_of(io_loop))
        try:
            async def setup() -> GNTPServer:
                server = self._factory()
                server.add_sockets(sockets)
                return server
            try:
                self.server = io_loop.run_sync(setup)
            except BaseException as exc:
                for sock in sockets:
                    sock.close()
                self._error = exc
                return
            self.io_loop = io_loop
            self._ready.set()
            io_loop.start()
            server = self.server
            io_loop.run_sync(lambda: server.shutdown(grace=self._grace))
        finally:
            self._ready.set()
            io_loop.close(all_fds=True)
            asyncio.set_event_loop(None)

    def stop(self, timeout: float = 10.0, grace: float = 0.0) -> None:
        """Stop the server and end the thread (idempotent).

        Args:
            timeout: Seconds to wait for the thread to end.
            grace: Seconds open connections get to finish before they are closed.
        """
        if self._thread is None:
            return
        self._grace = grace
        if self.io_loop is not None and self._thread.is_alive():
            self.io_loop.add_callback(self.io_loop.stop)
        self._thread.join(timeout)
        self._thread = None

    def __enter__(self) -> 'ServerThread':
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    # -- talking to the loop ----------------------------------------------------------------------

    def call(self, function: Callable[..., Any], *args: Any, timeout: float = 10.0) -> Any:
        """Run ``function(*args)`` on the server's loop; return its result (awaited if it is
        awaitable).

        Raises:
            GNTPConnectionError: If the server is not running or ``timeout`` passes.
        """
        if self.io_loop is None or not self.running:
            raise GNTPConnectionError('the server thread is not running')

        async def run() -> Any:
            result = function(*args)
            if asyncio.isfuture(result) or asyncio.iscoroutine(result):
                result = await result
            return result
        future = asyncio.run_coroutine_threadsafe(run(), asyncio_loop_of(self.io_loop))
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise GNTPConnectionError(f'timed out after {timeout} s waiting for the '
                                      'server thread') from None

    def _server(self) -> GNTPServer:
        if self.server is None:
            raise GNTPConnectionError('the server thread is not running')
        return self.server

    @property
    def received(self) -> List[BaseRequest]:
        """A copy of the server's :attr:`~GNTPServer.received` list."""
        return cast(List[BaseRequest], self.call(lambda: list(self._server().received)))

    @property
    def errors(self) -> List[Tuple[str, int, str]]:
        """A copy of the server's :attr:`~GNTPServer.errors` list."""
        return cast(List[Tuple[str, int, str]], self.call(lambda: list(self._server().errors)))

    @property
    def forwards(self) -> List[Tuple[str, str, Optional[str]]]:
        """A copy of the server's :attr:`~GNTPServer.forwards` list."""
        return cast(List[Tuple[str, str, Optional[str]]],
                    self.call(lambda: list(self._server().forwards)))

    @property
    def applications(self) -> Dict[str, RegisteredApplication]:
        """A copy of the server's application registry."""
        return cast(Dict[str, RegisteredApplication],
                    self.call(lambda: dict(self._server().applications)))

    @property
    def subscribers(self) -> Dict[str, Subscription]:
        """A copy of the server's subscriptions."""
        return cast(Dict[str, Subscription], self.call(lambda: dict(self._server().subscribers)))

    @property
    def pending_callbacks(self) -> Dict[int, PendingCallback]:
        """A copy of the server's pending socket callbacks."""
        return cast(Dict[int, PendingCallback],
                    self.call(lambda: dict(self._server().pending_callbacks)))

    def wait_for(self, predicate: Callable[[GNTPServer], Any], timeout: float = 5.0) -> None:
        """Block until ``predicate(server)`` is true (evaluated on the server's loop).

        Raises:
            GNTPConnectionError: If ``timeout`` passes first.
        """
        server = self._server()
        self.call(server.wait_for, lambda: predicate(server), timeout, timeout=timeout + 5)

    def wait_for_requests(self, count: int = 1, timeout: float = 5.0) -> List[BaseRequest]:
        """Block until the server has received ``count`` requests; return a copy of them.

        Raises:
            GNTPConnectionError: If ``timeout`` passes first.
        """
        server = self._server()

        async def wait() -> List[BaseRequest]:
            return list(await server.wait_for_requests(count, timeout))
        return cast(List[BaseRequest], self.call(wait, timeout=timeout + 5))

    def send_callback(self, target: Any, result: str = 'CLICK', timeout: float = 5.0) -> bool:
        """Trigger a pending socket callback (see :meth:`GNTPServer.send_callback`) and wait
        until it is written; return whether it was."""
        server = self._server()
        return bool(self.call(server.send_callback, target, result, timeout=timeout))

    def list_applications(self) -> List[ApplicationInfo]:
        """The registered applications (see :meth:`GNTPServer.list_applications`)."""
        return cast(List[ApplicationInfo], self.call(self._server().list_applications))

    def set_notification_enabled(self, app_name: str, notification_name: str,
                                 enabled: bool) -> None:
        """Switch a notification type on or off (see
        :meth:`GNTPServer.set_notification_enabled`).

        Raises:
            GNTPValidationError: If the application or the type is not registered.
        """
        self.call(self._server().set_notification_enabled, app_name, notification_name,
                  enabled)

    def application_icon(self, app_name: str) -> Optional[Icon]:
        """The application's icon (see :meth:`GNTPServer.application_icon`).

        Raises:
            GNTPValidationError: If the application is not registered.
        """
        return cast(Optional[Icon], self.call(self._server().application_icon, app_name))
