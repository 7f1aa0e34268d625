"""The blocking-socket client: :class:`GNTPClient` and its transport :class:`GNTPConnection`.

The conversation itself (what to write, what each answer means, what the end of the stream
or a failed write means, which deadline applies) is :class:`~gntplib.exchange.ClientExchange`'s.
:class:`BaseGNTPConnection` is gntplib 0.5's connection interface as an adapter over it:
``on_ok_message`` and ``on_callback_message`` hand each answer to the exchange, and a custom
``connection_class`` implementing ``write_message``, ``read_message`` and ``close`` still
works. :class:`GNTPConnection` drives the exchange over a blocking socket; ``gntplib.async_``
over asyncio.
"""

from __future__ import annotations

import logging
import socket
import time
from typing import (
    Any, Callable, Dict, Generic, Iterator, List, Optional, Sequence, Tuple, Type, TypeVar, Union,
)

from . import constants as c
from ._addresses import AddrInfo, cached, forget, ip_literal_family, remember
from .ciphers import Algorithm as CipherAlgorithm
from .exceptions import GNTPConnectionError
from .exchange import CALLBACK, DONE, NEED_DATA, ClientExchange, connection_error
from .keys import Algorithm as KeyAlgorithm, Key
from .models import SocketCallback
from .packers import MessagePackerFactory
from .requests import BaseRequest, Response
from .wire import MessageBuffer

__all__ = ['BaseGNTPConnection', 'GNTPConnection', 'BaseGNTPClient', 'GNTPClient',
           'generate_messages',
           'FinalCallback', 'resolve', 'ip_literal_family']

logger = logging.getLogger(__name__)

FinalCallback = Callable[[Response], Any]
Address = Tuple[str, int]
Message = Union[bytes, Sequence[bytes]]
#: What ``write_message`` and ``read_message`` return: ``None`` (blocking), an awaitable (async).
IOResult = TypeVar('IOResult')


class BaseGNTPConnection(Generic[IOResult]):
    """gntplib 0.5's connection interface, over a :class:`~gntplib.exchange.ClientExchange`.

    Subclasses implement :meth:`write_message`, :meth:`read_message` and :meth:`close`; the
    client writes the request, then calls ``read_message(on_ok_message)``.

    Args:
        final_callback: Called with the ``-OK`` :class:`~gntplib.requests.Response`.
        socket_callback: A :class:`~gntplib.SocketCallback` to run when the ``-CALLBACK``
            arrives; without one the connection closes after ``-OK``.
        key: The request's key, to read responses a server encrypted.
        max_response_size: Largest response accepted, in bytes.
        peer: ``host:port``, named in error messages.
    """

    def __init__(self, final_callback: Optional[FinalCallback] = None,
                 socket_callback: Optional[SocketCallback] = None,
                 key: Optional[Key] = None, *, max_response_size: int = c.MAX_MESSAGE_SIZE,
                 peer: str = '') -> None:
        self.final_callback = final_callback
        self.socket_callback = socket_callback
        self.key = key
        #: The conversation's rules and state.
        self.exchange = ClientExchange(key, socket_callback is not None, max_response_size,
                                       peer)

    @property
    def waiting_for_callback(self) -> bool:
        """True while waiting for a ``-CALLBACK`` after the ``-OK``."""
        return self.exchange.waiting_for == CALLBACK

    def on_ok_message(self, message: bytes) -> None:
        """Handle the first response: the ``-OK`` (raising on ``-ERROR``); then wait for the
        callback or close, and pass the response to ``final_callback``."""
        exchange = self.exchange
        try:
            ok = exchange.handle_ok(message)
        except Exception:
            self.close()
            raise
        waiting = exchange.waiting_for == CALLBACK
        if not waiting:
            self.close()
        if self.final_callback is not None:
            self.final_callback(ok.response)
        if waiting:
            self.read_message(self.on_callback_message)

    def on_callback_message(self, message: bytes) -> None:
        """Handle the ``-CALLBACK``: close, then run the socket callback's handler."""
        self.close()
        callback = self.exchange.handle_callback(message)
        if self.socket_callback is not None:
            self.socket_callback(callback.response)

    def write_message(self, message: Message) -> IOResult:
        """Send ``message`` to the server."""
        raise NotImplementedError

    def read_message(self, callback: Callable[[bytes], None]) -> IOResult:
        """Read one message and call ``callback`` with it."""
        raise NotImplementedError

    def close(self) -> None:
        """Close the connection."""
        raise NotImplementedError


def _why(exc: OSError) -> Tuple[str, bool]:
    """What a socket raised, as (reason, timed out): the one translation of I/O errors."""
    return exc.strerror or str(exc) or type(exc).__name__, isinstance(exc, socket.timeout)


#: Bytes per recv(): responses are small (MAX_MESSAGE_SIZE), so one read usually has it all.
_RECV_SIZE = 4096


def resolve(address: Address) -> List[AddrInfo]:
    """The addresses to try for ``(host, port)`` (the policy of ``gntplib._addresses``:
    IP literals need no lookup, a host name's addresses are kept for a minute).

    Raises:
        GNTPConnectionError: If the host name cannot be resolved.
    """
    infos = cached(address)
    if infos is not None:
        return infos
    try:
        return remember(address, socket.getaddrinfo(*address, 0, socket.SOCK_STREAM))
    except OSError as exc:
        raise connection_error(f'{address[0]}:{address[1]}', 'resolving', *_why(exc)) \
            from exc


def _connect(candidates: List[AddrInfo], timeout: Optional[float]) -> socket.socket:
    """Connect to the first candidate that accepts (as ``socket.create_connection``)."""
    error: Optional[OSError] = None
    for family, type_, proto, _, sockaddr in candidates:
        sock = socket.socket(family, type_, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error or OSError('no address to connect to')


class GNTPConnection(BaseGNTPConnection[None]):
    """A blocking-socket connection to a GNTP server: drives the exchange.

    The ``timeout`` bounds connecting, sending and each whole response. The wait for
    a ``-CALLBACK`` after ``-OK`` is bounded by ``callback_timeout`` instead (a human may
    take a while to click); when it runs out, the connection is closed and no handler
    runs.

    Args:
        address: ``(host, port)`` of the server.
        timeout: Seconds for connect, send and each whole response (a deadline, however
            slowly the bytes arrive).
        final_callback: Called with the ``-OK`` response.
        socket_callback: Run when the ``-CALLBACK`` arrives.
        key: The request's key (for encrypted responses).
        callback_timeout: Seconds to wait for a ``-CALLBACK``; ``None`` waits until the
            server closes.
        max_response_size: Largest response accepted, in bytes.
        addrinfo: Addresses already resolved for ``address`` (see :func:`resolve`).

    Raises:
        GNTPConnectionError: If the connection cannot be made.
    """

    def __init__(self, address: Address, timeout: Optional[float],
                 final_callback: Optional[FinalCallback] = None,
                 socket_callback: Optional[SocketCallback] = None, *,
                 key: Optional[Key] = None,
                 callback_timeout: Optional[float] = c.DEFAULT_CALLBACK_TIMEOUT,
                 max_response_size: int = c.MAX_MESSAGE_SIZE,
                 addrinfo: Optional[List[AddrInfo]] = None) -> None:
        peer = f'{address[0]}:{address[1]}'
        super().__init__(final_callback, socket_callback, key,
                         max_response_size=max_response_size, peer=peer)
        self.address = address
        self.timeout = timeout
        self.callback_timeout = callback_timeout
        self.sock: Optional[socket.socket] = None
        try:
            self.sock = _connect(addrinfo or resolve(address), timeout)
        except OSError as exc:
            forget(address)  # the host may have moved: look it up again next time
            raise connection_error(peer, 'connecting', *_why(exc)) from exc

    def write_message(self, message: Message) -> None:
        """Send every byte of ``message`` (bytes, or the parts of one message)."""
        assert self.sock is not None, 'connection is closed'
        try:
            for chunk in self.exchange.send(message):
                self.sock.sendall(chunk)
        except OSError as exc:
            raise self.exchange.send_failed(*_why(exc)) from exc

    def read_message(self, callback: Callable[[bytes], None]) -> None:
        """Read one message and call ``callback`` with it.

        While waiting for a ``-CALLBACK``, end of stream or ``callback_timeout`` ends the
        wait quietly: the server had nothing to report.
        """
        exchange, sock = self.exchange, self.sock
        # The deadline bounds the whole message, not each recv(): a server dripping one
        # byte (or one CR LF) at a time must not hold the call open any longer.
        timeout = exchange.timeout(self.timeout, self.callback_timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        reads = 0
        while True:
            message = exchange.next_message()
            if message is not NEED_DATA:
                break
            if sock is None:  # closed under us (a handler closed it): the stream ended
                exchange.receive_data(b'')
                continue
            try:
                if reads and deadline is not None:
                    timeout = deadline - time.monotonic()
                    if timeout <= 0:
                        raise socket.timeout('timed out')
                if sock.gettimeout() != timeout:  # settimeout() costs syscalls
                    sock.settimeout(timeout)
                reads += 1
                data = sock.recv(_RECV_SIZE)
            except OSError as exc:
                error = exchange.read_failed(*_why(exc))
                if error is None:
                    message = DONE
                    break
                raise error from exc
            exchange.receive_data(data)
        if not isinstance(message, bytes):  # the exchange ended without (another) answer
            self.close()
            return
        callback(message)

    def close(self) -> None:
        """Close the socket (idempotent)."""
        if self.sock is not None:
            sock, self.sock = self.sock, None
            try:
                sock.close()
            except OSError:  # nothing left to do with a socket that fails to close
                pass


def generate_messages(sock: socket.socket, buffer_size: int = 1024,
                      max_size: int = c.MAX_MESSAGE_SIZE) -> Iterator[bytes]:
    """Yield complete GNTP messages read from a socket until the peer closes.

    Bytes past the end of one message are kept for the next, and stray CR LFs between
    messages are skipped.

    Args:
        sock: A connected socket (its timeout applies to each read).
        buffer_size: Bytes per ``recv``.
        max_size: Largest message accepted.

    Raises:
        GNTPProtocolError: If a message exceeds ``max_size`` (a :class:`GNTPError`).
        GNTPConnectionError: If reading fails or times out.

    Example::

        for message in generate_messages(sock):
            print(parse_response(message))
    """
    buffer = MessageBuffer(max_size)
    while True:
        message = buffer.next_message()
        if message is not None:
            yield message
            continue
        if buffer.closed:
            return
        try:
            buffer.feed(sock.recv(buffer_size))
        except OSError as exc:
            try:
                peer = '{}:{}'.format(*sock.getpeername()[:2])
            except OSError:
                peer = '?:0'
            raise connection_error(peer, 'reading', *_why(exc)) from exc


class BaseGNTPClient:
    """What :class:`GNTPClient` and :class:`~gntplib.async_.AsyncGNTPClient` share: the
    server's address, the timeouts, the security settings and the connection class (the
    arguments are :class:`GNTPClient`'s). Its subclasses add ``process_request``."""

    connection_class: Type[Any] = GNTPConnection

    def __init__(self, host: str = 'localhost', port: int = c.DEFAULT_PORT,
                 timeout: Optional[float] = c.DEFAULT_TIMEOUT, password: Optional[str] = None,
                 key_hashing: Optional[KeyAlgorithm] = None,
                 encryption: Optional[CipherAlgorithm] = None,
                 connection_class: Optional[Type[Any]] = None, *,
                 callback_timeout: Optional[float] = c.DEFAULT_CALLBACK_TIMEOUT,
                 max_response_size: int = c.MAX_MESSAGE_SIZE) -> None:
        self.address: Address = (host, port)
        self.timeout = timeout
        self.callback_timeout = callback_timeout
        self.max_response_size = max_response_size
        if connection_class is not None:
            self.connection_class = connection_class
        self.packer_factory = MessagePackerFactory(password, key_hashing, encryption)

    def _connection_options(self) -> Dict[str, Any]:
        """Keyword arguments for ``connection_class`` beyond the documented four; those a
        0.5-style connection class would not know are only passed when they matter."""
        options: Dict[str, Any] = {'callback_timeout': self.callback_timeout}
        if self.max_response_size != c.MAX_MESSAGE_SIZE:
            options['max_response_size'] = self.max_response_size
        return options

    def __repr__(self) -> str:
        return (f'<{type(self).__name__} address={self.address[0]}:{self.address[1]} '
                f'timeout={self.timeout} {self.packer_factory!r}>')


class GNTPClient(BaseGNTPClient):
    """Sends requests to one GNTP server over blocking sockets.

    Args:
        host: Server host name or address.
        port: Server port.
        timeout: Seconds allowed for connect, send and each whole response.
        password: Password for authentication, or ``None``.
        key_hashing: Key-hashing algorithm (default :data:`gntplib.keys.SHA256`).
        encryption: Encryption algorithm from :mod:`gntplib.ciphers`, or ``None``.
        connection_class: The connection class (default :class:`GNTPConnection`).
        callback_timeout: Seconds a request with a socket callback waits for the
            ``-CALLBACK`` after ``-OK`` (default 60; ``None`` waits until the server closes).
        max_response_size: Largest response accepted, in bytes (default
            :data:`~gntplib.constants.MAX_MESSAGE_SIZE`); raise it for a server that echoes
            large ``Data-`` headers.

    Raises:
        GNTPValidationError: If the hash is too short for the cipher (a :class:`GNTPError`).
        GNTPEncryptionError: If encryption is asked for and pycryptodomex is missing.

    Example:
        >>> from gntplib import keys, ciphers
        >>> client = GNTPClient(host='localhost', password='secret',
        ...                     key_hashing=keys.SHA256, encryption=ciphers.AES)
    """

    def process_request(self, request: BaseRequest, callback: Optional[FinalCallback] = None,
                        **kwargs: Any) -> Response:
        """Send ``request`` and return the server's ``-OK`` response.

        With a ``socket_callback`` keyword (a :class:`~gntplib.SocketCallback`), the call
        keeps the connection open after ``-OK`` and returns once the ``-CALLBACK`` has been
        handled, the server closed, or ``callback_timeout`` passed.

        Args:
            request: The request to send.
            callback: Called with the ``-OK`` response before this returns.
            **kwargs: ``socket_callback``, passed to the connection.

        Raises:
            GNTPConnectionError: Connect, send or read failed or timed out.
            GNTPAuthenticationError: The server answered ``-ERROR`` 400.
            GNTPResponseError: Any other ``-ERROR``, however loosely framed: its
                ``description`` is the receiver's text, its ``error_code`` the receiver's
                code, or ``None`` when it sent none. Also when the server answered
                ``-ERROR`` before it read the whole request, then closed (the failed
                write is then not what is raised).
            GNTPProtocolError: The response is not GNTP (a :class:`GNTPResponseError`).
        """
        packer = self.packer_factory.create()
        message = packer.pack_parts(request)
        results: List[Response] = []

        def final_callback_and_callback(response: Response) -> None:
            results.append(response)
            if callback is not None:
                callback(response)
        final_callback = results.append if callback is None else final_callback_and_callback

        connection = self.connection_class(self.address, self.timeout, final_callback,
                                           kwargs.get('socket_callback'), key=packer.key,
                                           **self._connection_options())
        try:
            try:
                connection.write_message(message)
            except GNTPConnectionError as write_error:
                # A server may answer before it has read everything, then close (§6.1):
                # its answer explains the failed write better than the write error.
                try:
                    connection.read_message(connection.on_ok_message)
                except GNTPConnectionError:
                    raise write_error from write_error.__cause__
            else:
                connection.read_message(connection.on_ok_message)
        finally:
            connection.close()
        return results[0]
