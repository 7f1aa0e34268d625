"""Moving GNTP messages over blocking sockets, and the client that drives it.

:class:`BaseGNTPConnection` holds the exchange (what follows ``-OK``, when to wait for a
``-CALLBACK``, when to close), written once against ``write_message``, ``read_message`` and
``close``; :class:`GNTPConnection` implements those on a blocking socket and
``gntplib.async_`` on a Tornado ``IOStream``.
"""

from __future__ import annotations

import functools
import logging
import socket
import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Type, Union

from . import constants as c
from .ciphers import Algorithm as CipherAlgorithm
from .exceptions import GNTPConnectionError
from .keys import Algorithm as KeyAlgorithm, Key
from .models import SocketCallback
from .packers import MessagePackerFactory
from .requests import BaseRequest, Response, parse_response
from .wire import MessageBuffer

__all__ = ['BaseGNTPConnection', 'GNTPConnection', 'GNTPClient', 'generate_messages',
           'FinalCallback', 'resolve', 'ip_literal_family']

logger = logging.getLogger(__name__)

FinalCallback = Callable[[Response], Any]
Address = Tuple[str, int]
#: ``(family, type, proto, canonname, sockaddr)``, as ``socket.getaddrinfo`` gives them.
AddrInfo = Tuple[Any, Any, int, str, Any]


class BaseGNTPConnection:
    """The request/response exchange, independent of the transport.

    Subclasses implement :meth:`write_message`, :meth:`read_message` and :meth:`close`.

    Args:
        final_callback: Called with the ``-OK`` :class:`~gntplib.requests.Response`.
        socket_callback: A :class:`~gntplib.SocketCallback` to run when the ``-CALLBACK``
            arrives; without one the connection closes after ``-OK``.
        key: The request's key, to read responses a server encrypted.
    """

    def __init__(self, final_callback: Optional[FinalCallback] = None,
                 socket_callback: Optional[SocketCallback] = None,
                 key: Optional[Key] = None) -> None:
        self.final_callback = final_callback
        self.socket_callback = socket_callback
        self.key = key
        #: True while waiting for a ``-CALLBACK`` after the ``-OK``.
        self.waiting_for_callback = False

    def on_ok_message(self, message: bytes) -> None:
        """Handle the first response: parse it as ``-OK`` (raising on ``-ERROR``), then
        wait for the callback or close, and pass the response to ``final_callback``."""
        try:
            response = parse_response(message, c.RESPONSE_OK, self.key)
        except Exception:
            self.close()
            raise
        if self.socket_callback is not None:
            self.waiting_for_callback = True
        else:
            self.close()
        if self.final_callback is not None:
            self.final_callback(response)
        if self.socket_callback is not None:
            self.read_message(self.on_callback_message)

    def on_callback_message(self, message: bytes) -> None:
        """Handle the ``-CALLBACK``: close, then run the socket callback's handler."""
        self.waiting_for_callback = False
        self.close()
        response = parse_response(message, c.RESPONSE_CALLBACK, self.key)
        if self.socket_callback is not None:
            self.socket_callback(response)

    def write_message(self, message: bytes) -> None:
        """Send ``message`` to the server."""
        raise NotImplementedError

    def read_message(self, callback: Callable[[bytes], None]) -> None:
        """Read one message and call ``callback`` with it."""
        raise NotImplementedError

    def close(self) -> None:
        """Close the connection."""
        raise NotImplementedError


def _connection_error(address: Address, doing: str, exc: OSError) -> GNTPConnectionError:
    """Translate what a socket raised into the one error users see (``from exc`` keeps it)."""
    if isinstance(exc, socket.timeout):
        return GNTPConnectionError(f'{address[0]}:{address[1]}: timed out {doing}')
    reason = exc.strerror or str(exc) or type(exc).__name__
    return GNTPConnectionError(f'{address[0]}:{address[1]}: {doing} failed: {reason}')


#: Messages up to this size are joined and sent with one ``sendall``.
_JOIN_LIMIT = 256 * 1024
#: Bytes per recv(): responses are small (MAX_MESSAGE_SIZE), so one read usually has it all.
_RECV_SIZE = 4096


@functools.lru_cache(maxsize=256)
def ip_literal_family(host: str) -> Optional[int]:
    """``AF_INET`` or ``AF_INET6`` when ``host`` is an IP address literal, else ``None``."""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
        except (OSError, ValueError):
            continue
        return family
    return None


def resolve(address: Address) -> List[AddrInfo]:
    """The addresses to try for ``(host, port)``; IP literals need no lookup.

    Raises:
        GNTPConnectionError: If the host name cannot be resolved.
    """
    host, port = address
    family = ip_literal_family(host)
    if family is not None:
        return [(family, socket.SOCK_STREAM, 0, '', (host, port))]
    try:
        return socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    except OSError as exc:
        raise _connection_error(address, 'resolving', exc) from exc


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


class GNTPConnection(BaseGNTPConnection):
    """A blocking-socket connection to a GNTP server.

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
        super().__init__(final_callback, socket_callback, key)
        self.address = address
        self.timeout = timeout
        self.callback_timeout = callback_timeout
        self.buffer = MessageBuffer(max_response_size)
        self.sock: Optional[socket.socket] = None
        try:
            self.sock = _connect(addrinfo or resolve(address), timeout)
        except OSError as exc:
            raise _connection_error(address, 'connecting', exc) from exc

    def write_message(self, message: Union[bytes, List[bytes]]) -> None:
        """Send every byte of ``message`` (bytes, or a list of byte strings)."""
        assert self.sock is not None, 'connection is closed'
        if isinstance(message, (bytes, bytearray)):
            parts: List[bytes] = [message]
        elif sum(map(len, message)) <= _JOIN_LIMIT:
            parts = [b''.join(message)]  # one syscall beats several for a small message
        else:
            parts = message  # large resources are sent as they are, not copied
        try:
            for part in parts:
                self.sock.sendall(part)
        except OSError as exc:
            raise _connection_error(self.address, 'sending', exc) from exc

    def read_message(self, callback: Callable[[bytes], None]) -> None:
        """Read one message and call ``callback`` with it.

        While waiting for a ``-CALLBACK``, end of stream or ``callback_timeout`` ends the
        wait quietly: the server had nothing to report.
        """
        if self.waiting_for_callback:
            message = self._read_callback()
            if message is None:
                self.close()
                return
        else:
            message = self._read(self.timeout, 'reading the response')
            if message is None:
                self.close()
                raise GNTPConnectionError(f'{self.address[0]}:{self.address[1]}: the server '
                                          'closed the connection without answering')
        callback(message)

    def _read_callback(self) -> Optional[bytes]:
        try:
            return self._read(self.callback_timeout, 'waiting for the callback')
        except GNTPConnectionError as exc:
            if self.buffer.pending == 0 and isinstance(exc.__cause__, (socket.timeout, OSError)):
                logger.debug('no socket callback from %s:%s: %s', *self.address, exc)
                return None
            raise

    def _read(self, timeout: Optional[float], doing: str) -> Optional[bytes]:
        sock, buffer = self.sock, self.buffer
        if sock is None:
            return buffer.next_message()
        try:
            if sock.gettimeout() != timeout:  # settimeout() costs syscalls even when unchanged
                sock.settimeout(timeout)
            # ``timeout`` bounds the whole message, not each recv(): a server dripping one
            # byte (or one CR LF) at a time must not hold the call open any longer.
            deadline = None if timeout is None else time.monotonic() + timeout
            reads = 0
            while True:
                message = buffer.next_message()
                if message is not None or buffer.closed:
                    return message
                if reads and deadline is not None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise socket.timeout('timed out')
                    sock.settimeout(remaining)
                reads += 1
                buffer.feed(sock.recv(_RECV_SIZE))
        except OSError as exc:
            raise _connection_error(self.address, doing, exc) from exc

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
                address = sock.getpeername()[:2]
            except OSError:
                address = ('?', 0)
            raise _connection_error(address, 'reading', exc) from exc


class GNTPClient:
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
        # The host is looked up once, and again only after a failed connect: a lookup
        # costs more than the rest of a request's Python work.
        self._addrinfo: Optional[List[AddrInfo]] = None

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
            GNTPResponseError: Any other ``-ERROR``, or a malformed response.
        """
        packer = self.packer_factory.create()
        message = packer.pack_parts(request)
        results: List[Response] = []

        def final_callback(response: Response) -> None:
            results.append(response)
            if callback is not None:
                callback(response)

        connection = self._connect(final_callback, kwargs.get('socket_callback'), packer.key)
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

    def _connection_options(self) -> Dict[str, Any]:
        """Keyword arguments for ``connection_class`` beyond the documented four; those a
        0.5-style connection class would not know are only passed when they matter."""
        options: Dict[str, Any] = {'callback_timeout': self.callback_timeout}
        if self.max_response_size != c.MAX_MESSAGE_SIZE:
            options['max_response_size'] = self.max_response_size
        return options

    def _connect(self, final_callback: FinalCallback, socket_callback: Optional[SocketCallback],
                 key: Optional[Key]) -> Any:
        options = self._connection_options()
        if self.connection_class is GNTPConnection:
            if self._addrinfo is None:
                self._addrinfo = resolve(self.address)
            options['addrinfo'] = self._addrinfo
        try:
            return self.connection_class(self.address, self.timeout, final_callback,
                                         socket_callback, key=key, **options)
        except GNTPConnectionError:
            self._addrinfo = None  # the host may have moved: look it up again next time
            raise

    def __repr__(self) -> str:
        return (f'<{type(self).__name__} address={self.address[0]}:{self.address[1]} '
                f'timeout={self.timeout} {self.packer_factory!r}>')
