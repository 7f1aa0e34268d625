"""Connection handling and bookkeeping of the embedded GNTP server (private).

:mod:`gntplib.server` is the public face; this module holds what one connection does
(read a request, answer it, maybe send a ``-CALLBACK``, drain and close, §6), the records
the server keeps, and the forwarding of requests to subscribers (§10).
"""

from __future__ import annotations

import asyncio
import copy
import ipaddress
import logging
import socket
import time
from typing import TYPE_CHECKING, Any, Iterable, List, Optional, Sequence, Tuple, Union

from tornado.ioloop import IOLoop
from tornado.iostream import IOStream, StreamClosedError

from . import constants as c
from .ciphers import ALGORITHMS as CIPHER_ALGORITHMS
from .display import DisplayEvent, format_address, utc_timestamp
from .exceptions import GNTPError, GNTPResponseError, GNTPValidationError
from .keys import get_algorithm
from .models import Notification, SocketCallback, format_header_value
from .packers import pack_response
from .reader import ReceivedMessage
from .requests import (
    BaseRequest, NotifyRequest, Response, SubscribeRequest,
)

if TYPE_CHECKING:  # pragma: no cover
    from .server import GNTPServer

__all__ = ['Subscription', 'PendingCallback', 'is_loopback',
           'normalize_callback_result', 'RESULT_SPELLINGS']

logger = logging.getLogger('gntplib.server')

Address = Tuple[Any, ...]

#: What the server sends for each callback outcome: Growl for Windows' spellings, the only
#: set every known client reads (gntp-protocol.md §5.4).
RESULT_SPELLINGS = {c.CALLBACK_CLICK: 'CLICK', c.CALLBACK_CLOSE: 'CLOSE',
                    c.CALLBACK_TIMEOUT: 'TIMEDOUT'}
_READ_CHUNK = 65536


def is_loopback(address: Any) -> bool:
    """Tell whether a peer address (``(host, port, ...)``) is on the loopback network.

    Example:
        >>> is_loopback(('127.0.0.1', 5000)), is_loopback(('192.0.2.1', 5000))
        (True, False)
    """
    host = address[0] if isinstance(address, tuple) and address else address
    try:
        ip = ipaddress.ip_address(str(host).split('%')[0])
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
    """

    def __init__(self, request: SubscribeRequest, host: str, hub_password: str,
                 key_hash_algorithm_id: str, encryption_algorithm_id: str, ttl: int) -> None:
        self.id_ = request.id_
        self.name = request.name
        self.host = host
        self.port = request.port or c.DEFAULT_PORT
        self.key_hash_algorithm_id = key_hash_algorithm_id
        self.encryption_algorithm_id = encryption_algorithm_id
        # Forwarded requests are authenticated with hub password + Subscriber-ID (§10).
        self._forward_password = hub_password + request.id_
        self.expires = time.monotonic() + ttl
        #: The latest forwarding task, which the next one waits for.
        self.last_forward: Optional['asyncio.Future[None]'] = None

    @property
    def alive(self) -> bool:
        """Whether the subscription's TTL has not run out."""
        return time.monotonic() < self.expires

    def __repr__(self) -> str:
        return (f'<Subscription {self.name!r} id={self.id_!r} '
                f'{format_address((self.host, self.port))}>')


class PendingCallback:
    """A NOTIFY whose sender waits on its connection for a ``-CALLBACK``.

    Attributes:
        handle: The server-wide number of this callback.
        application: The application name.
        notification_id: The request's ``Notification-ID`` (or ``None``).
        context: ``Notification-Callback-Context``.
        context_type: ``Notification-Callback-Context-Type``.
        request: The NOTIFY request.
        event: The :class:`~gntplib.display.DisplayEvent` shown for it.
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
        loop = asyncio.get_event_loop()
        self.result: 'asyncio.Future[str]' = loop.create_future()
        self.sent: 'asyncio.Future[bool]' = loop.create_future()

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


def _response(message_type: str, headers: Iterable[Tuple[str, Any]]) -> Response:
    pairs = [(name, format_header_value(value)) for name, value in headers]
    return Response(message_type, [(n, v) for n, v in pairs if v])


def ok_response(headers: Iterable[Tuple[str, Any]]) -> Response:
    """The ``-OK`` with ``headers`` (empty values left out) and the server's own."""
    return _response(c.RESPONSE_OK, headers)


def _error_response(code: int, description: str) -> Response:
    # An error description is one line of text, whatever the fault quoted.
    return Response(c.RESPONSE_ERROR, [('Error-Code', str(code)),
                                       ('Error-Description', ' '.join(description.split()))])


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
    headers (the original, kept in :attr:`GNTPServer.received`, is left alone).

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


def subscription_for(server: 'GNTPServer', request: SubscribeRequest,
                     address: Address) -> Subscription:
    """The :class:`Subscription` an accepted SUBSCRIBE creates (or renews)."""
    received = request.received
    key = received.key if received is not None else None
    if key is None:  # the reader demands a key for SUBSCRIBE; this is a safety net
        raise GNTPResponseError('SUBSCRIBE needs a key hash', c.ERROR_NOT_AUTHORIZED)
    hub_password = next(p for p in server._passwords if key.verify_password(p))
    subscription = Subscription(request, str(address[0]), hub_password, key.algorithm_id,
                                received.encryption_algorithm_id, server.subscription_ttl)
    renewed = server.subscribers.get(request.id_)
    subscription.last_forward = renewed.last_forward if renewed is not None else None
    return subscription


def forward_in_order(server: 'GNTPServer', subscription: Subscription,
                     request: BaseRequest) -> 'asyncio.Future[None]':
    """Start forwarding ``request`` to ``subscription`` once the previous forwarding to it is
    done: a subscriber gets requests in the order they came, so a NOTIFY never overtakes
    the REGISTER it depends on. The outcome goes to ``server.forwards``."""
    previous = subscription.last_forward

    async def run() -> None:
        if previous is not None:
            await asyncio.wait([previous])
        error = await forward(subscription, request, server.forward_timeout)
        server._append(server.forwards, (subscription.id_, request.message_type, error))
    task = asyncio.ensure_future(run())
    subscription.last_forward = task
    return task


async def forward(subscription: Subscription, request: BaseRequest,
                  timeout: float) -> Optional[str]:
    """Send one request to a subscriber with :class:`~gntplib.async_.AsyncGNTPClient`, the
    client users run, authenticated with hub password + Subscriber-ID (§10).

    Returns:
        ``None`` on ``-OK``, else what went wrong (also logged; it never raises).
    """
    from .async_ import AsyncGNTPClient
    try:
        client = AsyncGNTPClient(subscription.host, subscription.port, timeout=timeout,
                                 password=subscription._forward_password,
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


class ServerStream(IOStream):
    """The server's stream: it outlives the client's end of input.

    Tornado closes a stream as soon as a read returns end of input. A client may send its
    request and then shut down its sending side (``nc -N``, ``printf ... | nc``) while it
    waits for the answer, so at end of input this stream hands its socket, still open, to
    :attr:`kept_socket` instead of closing it. :class:`Connection` writes what is left to
    say there; :meth:`release` closes it.
    """

    #: The socket, once end of input closed the stream; ``None`` until then.
    kept_socket: Optional[socket.socket] = None
    _end_of_input = False

    @classmethod
    def wrap(cls, stream: IOStream) -> IOStream:
        """Return the plain ``IOStream`` TCPServer made as a :class:`ServerStream`; a TLS
        stream is returned as it is (its end of input still closes it)."""
        if type(stream) is not IOStream:
            return stream
        # Nothing has been read or written yet, so the socket can change hands.
        return cls(stream.socket, max_buffer_size=stream.max_buffer_size,
                   read_chunk_size=stream.read_chunk_size,
                   max_write_buffer_size=stream.max_write_buffer_size)

    def read_from_fd(self, buf: Union[bytearray, memoryview]) -> Optional[int]:
        count = super().read_from_fd(buf)
        self._end_of_input = count == 0
        return count

    def close_fd(self) -> None:
        if self._end_of_input and self.kept_socket is None:  # Tornado closing at end of input
            self.kept_socket = self.socket
            self.socket = None  # type: ignore[assignment]  # as IOStream.close_fd does
        else:
            super().close_fd()

    def release(self) -> None:
        """Close the stream and the socket it kept."""
        self.close()
        if self.kept_socket is not None:
            self.kept_socket.close()


def release_stream(stream: IOStream) -> None:
    """Close a connection's stream, and the socket a :class:`ServerStream` kept."""
    if isinstance(stream, ServerStream):
        stream.release()
    else:
        stream.close()


class _Timeout(Exception):
    pass


class Connection:
    """One client connection: read a request, answer it, maybe send a callback, close."""

    def __init__(self, server: 'GNTPServer', stream: IOStream, address: Address) -> None:
        self.server = server
        self.stream = stream
        self.address = address
        self.reader = server._reader_for(address)
        self._read: Optional['asyncio.Future[bytes]'] = None

    @property
    def _kept_socket(self) -> Optional[socket.socket]:
        """The socket, when the client has ended its input (the stream is closed then)."""
        return self.stream.kept_socket if isinstance(self.stream, ServerStream) else None

    async def _write(self, data: bytes) -> None:
        """Write to the client, through the socket kept after its end of input if need be.

        Raises:
            StreamClosedError: If the client has gone (or reads nothing for
                ``idle_timeout`` seconds once its input has ended).
        """
        sock = self._kept_socket
        if sock is None:
            await self.stream.write(data)
            return
        try:
            await asyncio.wait_for(asyncio.get_running_loop().sock_sendall(sock, data),
                                   self.server.idle_timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            raise StreamClosedError(real_error=exc) from exc

    def _start_read(self) -> 'asyncio.Future[bytes]':
        if self._read is None:
            self._read = asyncio.ensure_future(self.stream.read_bytes(_READ_CHUNK, partial=True))
        return self._read

    async def _read_chunk(self, timeout: Optional[float]) -> Optional[bytes]:
        """Read what is there; ``None`` when ``timeout`` passes first. An unfinished read is
        kept for the next call. Raises StreamClosedError at end of stream."""
        read = self._start_read()
        if not read.done():
            await asyncio.wait([read], timeout=timeout)
            if not read.done():
                return None
        self._read = None
        return read.result()

    async def run(self) -> None:
        try:
            message = await self._read_request()
        except _Timeout:
            await self._answer_error(c.ERROR_TIMED_OUT, 'Timed out waiting for the request')
            return
        except GNTPResponseError as exc:
            await self._answer_error(exc.error_code or c.ERROR_INVALID_REQUEST, exc.description)
            return
        except GNTPError as exc:  # e.g. a resource that does not decrypt
            await self._answer_error(c.ERROR_INVALID_REQUEST, str(exc))
            return
        except StreamClosedError:
            if self.reader.in_request and self._kept_socket is not None:
                # The input ended early; after a half-close the client still reads.
                await self._answer_error(c.ERROR_INVALID_REQUEST, 'Incomplete request: the '
                                         'input ended before the end of the message')
            elif self.reader.in_request:
                logger.info('%s closed the connection in the middle of a request',
                            format_address(self.address))
            return
        await self._handle(message)

    async def _read_request(self) -> ReceivedMessage:
        server = self.server
        loop = IOLoop.current()
        deadline = loop.time() + server.request_timeout
        while True:
            message = self.reader.next_message()
            if message is not None:
                return message
            timeout = min(server.idle_timeout, deadline - loop.time())
            data = await self._read_chunk(timeout) if timeout > 0 else None
            if data is None:
                raise _Timeout()
            self.reader.feed(data)

    async def _handle(self, message: ReceivedMessage) -> None:
        server = self.server
        try:
            request = message.to_request()
        except GNTPResponseError as exc:
            await self._answer_error(exc.error_code or c.ERROR_INVALID_REQUEST, exc.description)
            return
        server._record(request)
        try:
            response, pending = server.dispatch(request, self.address)
        except GNTPResponseError as exc:
            await self._answer_error(exc.error_code or c.ERROR_INTERNAL_SERVER_ERROR,
                                     exc.description)
            return
        except Exception:
            logger.exception('handling %s from %s failed', request.message_type,
                             format_address(self.address))
            await self._answer_error(c.ERROR_INTERNAL_SERVER_ERROR,
                                     c.ERROR_DESCRIPTIONS[c.ERROR_INTERNAL_SERVER_ERROR])
            return
        cipher = message.cipher if server.encrypt_responses else None
        if pending is not None and server.callback_result is not None:
            server.send_callback(pending, server.callback_result)
        try:
            await self._write(pack_response(response, cipher))
            if pending is not None:
                await self._wait_for_callback(pending, cipher)
        except StreamClosedError:
            return
        finally:
            if pending is not None:
                server.pending_callbacks.pop(pending.handle, None)
                if not pending.sent.done():
                    pending.sent.set_result(False)
                server._notify_change()
        await self._finish()

    async def _wait_for_callback(self, pending: PendingCallback, cipher: Any) -> None:
        """Keep the connection until the callback is triggered, times out, or the client
        leaves (§6.2). Whatever the client sends meanwhile is discarded.

        End of input counts as leaving: TCP cannot tell a client that shut down only its
        sending side from one that has gone, and callbacks of clients that have gone must
        not pile up. A callback decided before that (``callback_result``) is still sent.
        """
        loop = IOLoop.current()
        timeout = self.server.notification_timeout
        deadline = None if timeout is None or pending.request.notification.sticky \
            else loop.time() + timeout
        while not pending.result.done():
            read = self._start_read()
            wait = None if deadline is None else max(0.0, deadline - loop.time())
            waiting: List['asyncio.Future[Any]'] = [pending.result, read]
            await asyncio.wait(waiting, timeout=wait,
                               return_when=asyncio.FIRST_COMPLETED)
            if read.done():
                self._read = None
                read.result()  # raises StreamClosedError when the client has gone
            elif not pending.result.done() and deadline is not None \
                    and loop.time() >= deadline:
                self.server.send_callback(pending, RESULT_SPELLINGS[c.CALLBACK_TIMEOUT])
        result = pending.result.result()
        await self._write(pack_response(pending.response(result), cipher))
        pending.sent.set_result(True)

    async def _answer_error(self, code: int, description: str) -> None:
        self.server._record_error(self.address, code, description)
        try:
            await self._write(pack_response(_error_response(code, description)))
        except StreamClosedError:
            return
        await self._finish()

    async def _finish(self) -> None:
        """Shut down the sending side, then read and drop what the client still sends
        until it closes (closing with unread data would reset the connection and could
        destroy the answer on the client's side, §6.1). After the client's end of input
        there is nothing left to read."""
        kept = self._kept_socket
        sock = kept if kept is not None else self.stream.socket
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        if kept is not None:
            return
        loop = IOLoop.current()
        deadline = loop.time() + self.server.idle_timeout
        try:
            while loop.time() < deadline:
                if await self._read_chunk(deadline - loop.time()) is None:
                    break
        except StreamClosedError:
            pass
        self.stream.close()
