"""The embedded GNTP server on Tornado: :class:`GNTPServer`, a driver of the receiver core."""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import socket
import ssl
from typing import (
    TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple, Union,
)

from tornado.ioloop import IOLoop
from tornado.netutil import add_accept_handler, bind_sockets, ssl_options_to_context
from tornado.tcpserver import TCPServer

from .. import constants as c
from ..display import Display, format_address
from ..exceptions import GNTPConnectionError, GNTPResponseError, GNTPValidationError
from ..keys import password_tuple
from ..models import Icon
from ..reader import ReaderLimits, RequestReader
from ..receiver import (
    Decision, PendingCallback, Receiver, Subscription, normalize_callback_result,
)
from ..registry import ApplicationInfo, RegisteredApplication, Rejection
from ..requests import BaseRequest, Response, SubscribeRequest
from .connection import Connection
from .forwarding import Forwarder
from .futures import Changes, done_future, settle, wait_or_cancel
from .linger import LingeringSockets

if TYPE_CHECKING:  # pragma: no cover
    from ..state import StateKeeper
    from ..state.records import SubscriptionRecord

__all__ = ['GNTPServer', 'BACKLOG']

logger = logging.getLogger('gntplib.server')

Address = Tuple[Any, ...]
Passwords = Union[None, str, Sequence[str]]
#: Listen backlog: a burst of clients beyond it waits for SYN retransmits (about a second).
BACKLOG = 1024
#: What Growl for Mac ends each message with after the blank line (ruby-growl needs it).
_MAC_FRAMING_END = b'\r\n'


class GNTPServer(TCPServer):
    """A GNTP receiver and hub on Tornado.

    It accepts REGISTER, NOTIFY and SUBSCRIBE, keeps the registered applications, answers
    ``-OK`` or ``-ERROR`` with the spec's codes, sends socket callbacks, and forwards
    REGISTER and NOTIFY to live subscribers. Every request it parses is appended to
    :attr:`received`, so tests can assert on exactly what arrived. The rules are in the
    socket-free receiver core (:class:`~gntplib.receiver.Receiver`, :attr:`receiver`);
    this class reads, shows, answers and forwards.

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
        callback_delay: Seconds at least between the ``-OK`` and the ``-CALLBACK`` on a
            connection (default 0.05). Clients that parse one message per read (growly,
            node-notifier) lose a ``-CALLBACK`` that arrives in the same read as the
            ``-OK``; 0 sends it as soon as it is decided.
        growl_mac_framing: End every message with three CR LFs instead of the spec's two,
            as Growl for Mac does (ruby-growl reads answers that way and crashes on
            callbacks otherwise). Off by default.
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
        state: A :class:`~gntplib.state.StateKeeper`: what was registered, chosen and
            subscribed before is loaded from it; every accepted request is kept in it
            before its ``-OK`` is written, and notifications are forwarded through its
            outbox (see :doc:`/state`). The server closes it at :meth:`shutdown`. Default:
            nothing is kept.
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
        receiver: The :class:`~gntplib.receiver.Receiver` holding the rules and state
            (the settings it keeps, such as :attr:`server_id`, are properties here too).
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
                 notification_timeout: Optional[float] = None, callback_delay: float = 0.05,
                 growl_mac_framing: bool = False,
                 display: Union[None, Display, Sequence[Display]] = None,
                 limits: Optional[ReaderLimits] = None, idle_timeout: float = 10.0,
                 request_timeout: float = 30.0, max_connections: int = 1000,
                 forward_timeout: float = 10.0, max_received: int = 10000,
                 server_id: Optional[str] = None, state: Optional['StateKeeper'] = None,
                 **kwargs: Any) -> None:
        try:
            super().__init__(**kwargs)
        except TypeError as exc:
            raise GNTPValidationError(f'invalid server argument: {exc}') from None
        self.receiver = Receiver(password, require_password=require_password,
                                 require_password_from_loopback=require_password_from_loopback,
                                 subscription_ttl=subscription_ttl, limits=limits,
                                 server_id=server_id, reporter=self)
        self.encrypt_responses = encrypt_responses
        self.callback_result = None if callback_result is None \
            else normalize_callback_result(callback_result)
        self.notification_timeout = notification_timeout
        if callback_delay < 0:
            raise GNTPValidationError(f'callback_delay must be >= 0, not {callback_delay!r}')
        self.callback_delay = float(callback_delay)
        self.growl_mac_framing = bool(growl_mac_framing)
        if display is None:
            self.displays: List[Display] = []
        elif isinstance(display, (list, tuple)):
            self.displays = list(display)
        else:
            self.displays = [display]  # type: ignore[list-item]
        self.idle_timeout = idle_timeout
        self.request_timeout = request_timeout
        self.max_connections = max_connections
        self.max_received = max_received
        self.received: List[BaseRequest] = []
        self.registry = self.receiver.registry
        self.applications: Dict[str, RegisteredApplication] = self.registry.applications
        self.subscribers: Dict[str, Subscription] = self.receiver.subscribers
        self.pending_callbacks: Dict[int, PendingCallback] = self.receiver.pending_callbacks
        self.errors: List[Tuple[str, int, str]] = []
        self.forwards: List[Tuple[str, str, Optional[str]]] = []
        self.forwarder = Forwarder(forward_timeout, self._forwarded)
        self.port: Optional[int] = None
        self._connections: Set[Connection] = set()
        self._listening: Dict[int, Tuple[socket.socket, Callable[[], None]]] = {}
        self._lingering = LingeringSockets(self._notify_change)
        self._tls: Optional[ssl.SSLContext] = None
        self._tasks: Set['asyncio.Future[Any]'] = set()
        self._changes = Changes()
        self._displays_started = False
        self.state = state
        if state is not None:
            state.restore(self.registry.register, self._resume_subscription,
                          password_tuple(password), self._restore_choice)

    def __repr__(self) -> str:
        return (f'<GNTPServer port={self.port} passwords={self.receiver.password_count} '
                f'applications={len(self.applications)} received={len(self.received)}>')

    # -- settings kept by the receiver ----------------------------------------------------------

    @property
    def require_password(self) -> bool:
        """Whether peers not on loopback must send a key hash."""
        return self.receiver.require_password

    @require_password.setter
    def require_password(self, value: bool) -> None:
        self.receiver.require_password = value

    @property
    def require_password_from_loopback(self) -> bool:
        """Whether loopback peers must send a key hash too."""
        return self.receiver.require_password_from_loopback

    @require_password_from_loopback.setter
    def require_password_from_loopback(self, value: bool) -> None:
        self.receiver.require_password_from_loopback = value

    @property
    def subscription_ttl(self) -> int:
        """``Subscription-TTL`` given to subscribers, in seconds."""
        return self.receiver.subscription_ttl

    @subscription_ttl.setter
    def subscription_ttl(self, value: int) -> None:
        self.receiver.subscription_ttl = int(value)

    @property
    def limits(self) -> ReaderLimits:
        """The :class:`~gntplib.reader.ReaderLimits` requests are read with."""
        return self.receiver.limits

    @limits.setter
    def limits(self, value: ReaderLimits) -> None:
        self.receiver.limits = value

    @property
    def server_id(self) -> str:
        """This server's identifier in ``Received`` headers."""
        return self.receiver.server_id

    @property
    def host_name(self) -> str:
        """The host name written after ``by`` in ``Received`` headers."""
        return self.receiver.host_name

    @property
    def forward_timeout(self) -> float:
        """Seconds allowed for forwarding one request to a subscriber."""
        return self.forwarder.timeout

    @forward_timeout.setter
    def forward_timeout(self, value: float) -> None:
        self.forwarder.timeout = value

    @property
    def message_end(self) -> bytes:
        """What follows each message's blank line: nothing, or a CR LF with
        ``growl_mac_framing``."""
        return _MAC_FRAMING_END if self.growl_mac_framing else b''

    # -- listening ---------------------------------------------------------------------------

    def listen(self, port: int = c.DEFAULT_PORT, address: Optional[str] = '127.0.0.1',
               family: socket.AddressFamily = socket.AF_UNSPEC, backlog: int = BACKLOG,
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
        """Serve on already-bound listening sockets (sets :attr:`port` if unset); the
        displays are started (:meth:`Display.start <gntplib.display.Display.start>`) the
        first time."""
        sockets = list(sockets)
        for sock in sockets:
            # Connections are accepted here, not through TCPServer's streams: the server
            # reads and writes its sockets itself (gntplib.server.channel).
            self._listening[sock.fileno()] = (sock, add_accept_handler(sock, self._accepted))
        if self.port is None and sockets:
            self.port = sockets[0].getsockname()[1]
        if not self._displays_started:
            self._displays_started = True
            self._tell_displays('start', self)
            if self.state is not None:
                self.state.start()

    def _stop_listening(self) -> None:
        super().stop()
        for sock, stop_accepting in self._listening.values():
            stop_accepting()
            sock.close()
        self._listening.clear()

    def stop(self) -> None:
        """Stop listening and close every open connection."""
        self._stop_listening()
        for connection in list(self._connections):
            connection.close()
        self._lingering.close_all()

    async def shutdown(self, timeout: float = 5.0, grace: float = 0.0) -> None:
        """Stop listening, let open connections finish for up to ``grace`` seconds, close
        the rest, wait (up to ``timeout``) for forwarding to finish, and close the display
        backends (awaiting those whose ``close()`` returns an awaitable)."""
        self._stop_listening()
        if grace > 0 and self.connections:
            try:
                await self.wait_for(lambda: not self.connections, grace, 'connections to finish')
            except GNTPConnectionError:
                logger.info('closing %d connection(s) still open', self.connections)
        self.stop()
        await wait_or_cancel(self._tasks | self.forwarder.tasks, timeout)
        await self.wait_for(lambda: not self.connections, timeout, 'connections to close')
        if self.state is not None:
            await self.state.close()
        await wait_or_cancel([r for r in self._tell_displays('close')
                               if inspect.isawaitable(r)], timeout)

    @property
    def connections(self) -> int:
        """How many connections are open (lingering ones included)."""
        return len(self._connections) + len(self._lingering)

    # -- waiting for things to happen (tests, demos) -------------------------------------------

    def _notify_change(self) -> None:
        self._changes.notify()

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0,
                       what: str = 'a condition') -> None:
        """Wait until ``predicate()`` is true; it is checked whenever the server's state
        changes (a request, an error, a callback, a forwarding...).

        Raises:
            GNTPConnectionError: If ``timeout`` seconds pass first.
        """
        await self._changes.wait_for(predicate, timeout, what)

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
        return self.receiver.find_pending_callback(target)

    def send_callback(self, target: Any, result: str = 'CLICK') -> 'asyncio.Future[bool]':
        """Answer a pending socket callback with ``-CALLBACK``.

        The first decision about a callback wins (this method, a display's
        :meth:`~gntplib.display.DisplayEvent.send_callback`, ``notification_timeout``);
        every display is then told through ``show_callback``.

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
        if not pending.decide(result):
            return done_future(False)
        sent: 'asyncio.Future[bool]' = asyncio.get_event_loop().create_future()
        pending.when_finished(lambda delivered: settle(sent, delivered))
        self._tell_displays('show_callback', pending.event, result)
        self._notify_change()
        return sent

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
            return done_future(False)
        return self.send_callback(pending, result)

    def callback_done(self, pending: PendingCallback, delivered: bool) -> None:
        """Forget a callback once its ``-CALLBACK`` is written or its client has gone
        (called by the connection)."""
        self.receiver.callback_done(pending, delivered)
        self._notify_change()

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
        if self.state is not None:
            self.state.set_enabled(app_name, notification_name, enabled)
        self._notify_change()

    def application_icon(self, app_name: str) -> Optional[Icon]:
        """The application's icon: a :class:`~gntplib.Resource` (``icon.data`` holds the
        bytes sent with the REGISTER), a URL string, or ``None``.

        Raises:
            GNTPValidationError: If the application is not registered.
        """
        return self.registry.application_icon(app_name)

    # -- connections ----------------------------------------------------------------------------

    def _accepted(self, sock: socket.socket, address: Address) -> None:
        if self.connections >= self.max_connections:
            logger.warning('refusing %s: %d connections open', format_address(address),
                           self.connections)
            sock.close()
            return
        sock.setblocking(False)
        if self.ssl_options is not None:
            try:
                sock = self._tls_context().wrap_socket(sock, server_side=True,
                                                       do_handshake_on_connect=False)
            except (OSError, ValueError) as exc:
                logger.warning('TLS with %s failed: %s', format_address(address), exc)
                sock.close()
                return
        self.handle_connection(sock, address)

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            options = self.ssl_options
            assert options is not None
            self._tls = options if isinstance(options, ssl.SSLContext) \
                else ssl_options_to_context(options)
        return self._tls

    def handle_connection(self, sock: socket.socket, address: Address) -> None:
        """Serve one accepted connection (non-blocking ``sock`` from ``address``): one
        request, its answer, and maybe a callback (§6). Runs on the server's loop."""
        connection = Connection(self, sock, address)
        self._connections.add(connection)
        task = asyncio.get_running_loop().create_task(connection.run())
        self._tasks.add(task)
        task.add_done_callback(functools.partial(self._connection_ended, connection))

    def _connection_ended(self, connection: Connection, task: 'asyncio.Task[None]') -> None:
        self._tasks.discard(task)
        self._connections.discard(connection)
        if not task.cancelled() and task.exception() is not None:
            logger.error('connection from %s failed', format_address(connection.address),
                         exc_info=task.exception())
        self._notify_change()

    def linger(self, sock: socket.socket) -> None:
        """Take an answered connection's socket for its lingering close: it is closed once
        the client closes, or after :attr:`idle_timeout` (called by the connection)."""
        self._lingering.add(sock, self.idle_timeout)

    def reader_for(self, peer: Address) -> RequestReader:
        """A request reader with the key checks that apply to ``peer``."""
        return self.receiver.reader_for(peer)

    def decide(self, request: BaseRequest, peer: Address) -> Decision:
        """Handle a parsed request: record it, ask the receiver, show it on the displays,
        keep what it changes, start forwarding it (the connection writes the answer).
        A display that fails makes the answer ``-ERROR`` 500."""
        self._append(self.received, request)
        try:
            decision = self.receiver.handle(request, peer)
            if decision.accepted:
                try:
                    for event in decision.events:
                        for display in self.displays:
                            display.show(event)
                except Exception:
                    self.receiver.abandon(decision)
                    raise
                self.receiver.commit(decision)
                if self.state is not None:
                    self.state.record(request, peer, self.subscription_ttl)
                for subscription, forwarded in decision.forwards:
                    if self.state is not None:  # through the outbox: kept, retried
                        self.state.forward_to_subscriber(subscription, forwarded,
                                                         self.forward_timeout, self._forwarded)
                    else:
                        self.forwarder.forward(subscription, forwarded)
        except Exception:
            logger.exception('handling %s from %s failed', request.message_type,
                             format_address(peer))
            decision = self.receiver.reject(request, peer,
                                            Rejection(c.ERROR_INTERNAL_SERVER_ERROR))
        if decision.rejection is not None:
            self.refuse(peer, decision.rejection)
        elif decision.callback is not None and self.callback_result is not None:
            self.send_callback(decision.callback, self.callback_result)
        elif request.message_type == c.REQUEST_SUBSCRIBE:
            logger.info('subscriber %r (%s) for %d s', getattr(request, 'name', None),
                        format_address((peer[0], getattr(request, 'port', None))),
                        self.subscription_ttl)
        self._notify_change()
        return decision

    def acknowledged(self) -> Optional['asyncio.Future[None]']:
        """A future done once what was decided so far is committed to the state (``None``
        without a durable state); the connection writes ``-OK`` after it."""
        return self.state.acknowledged() if self.state is not None else None

    # -- the state, loaded at start (see gntplib.state) ------------------------------------------

    def _resume_subscription(self, record: 'SubscriptionRecord', hub_password: str,
                             ttl: float) -> None:
        request = SubscribeRequest(record.id_, record.name, record.port)
        subscription = Subscription(request, record.host, hub_password, record.key_algorithm,
                                    record.encryption_algorithm, int(ttl))
        self.subscribers[record.id_] = subscription
        if self.state is not None:
            self.state.subscriber(subscription, self.forward_timeout, self._forwarded)

    def _restore_choice(self, app_name: str, notification_name: str, enabled: bool) -> None:
        try:
            self.registry.set_notification_enabled(app_name, notification_name, enabled)
        except GNTPValidationError:  # the application no longer has that type
            pass

    def dispatch(self, request: BaseRequest, address: Address
                 ) -> Tuple[Response, Optional[PendingCallback]]:
        """Handle a parsed request as :meth:`decide` does (0.x interface).

        Returns:
            The ``-OK`` response, and the pending callback if the sender waits for one.

        Raises:
            GNTPResponseError: With the code to answer (401, 402, 403, 404, 500).
        """
        decision = self.decide(request, address)
        if decision.rejection is not None:
            raise GNTPResponseError(decision.rejection.description, decision.rejection.code,
                                    decision.response)
        return decision.response, decision.callback

    def refuse(self, peer: Address, rejection: Rejection) -> None:
        """Record an ``-ERROR`` sent to ``peer`` and tell the displays."""
        logger.info('-ERROR %s to %s: %s', rejection.code, format_address(peer),
                    rejection.description)
        self._append(self.errors, (format_address(peer), rejection.code, rejection.description))
        self._tell_displays('show_error', peer, rejection.code, rejection.description)

    def _forwarded(self, subscriber_id: str, message_type: str, error: Optional[str]) -> None:
        self._append(self.forwards, (subscriber_id, message_type, error))

    def _append(self, records: List[Any], record: Any) -> None:
        if self.max_received > 0:
            records.append(record)
            if len(records) > self.max_received:
                del records[:len(records) - self.max_received]
        self._notify_change()

    def _tell_displays(self, method: str, *args: Any) -> List[Any]:
        results = []
        for display in self.displays:
            try:
                results.append(getattr(display, method)(*args))
            except Exception:
                logger.exception('display backend %r failed', display)
        return results
