"""One connection of the embedded server: the driver between a socket and the receiver.

It reads a request with :class:`~gntplib.reader.RequestReader`, asks the server (through the
narrow :class:`ConnectionHost` interface) what to answer, writes the answer, and later the
``-CALLBACK``; then it drains and closes (§6). The rules live in the receiver core
(:mod:`gntplib.receiver`); this module only moves bytes and keeps time.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any, Callable, List, Optional, Protocol, Union

from tornado.ioloop import IOLoop
from tornado.iostream import IOStream, StreamClosedError

from .. import constants as c
from ..display import format_address
from ..exceptions import GNTPError
from ..packers import pack_response
from ..reader import ReceivedMessage, RequestReader
from ..receiver import (
    RESULT_SPELLINGS, Decision, PendingCallback, Rejection, error_response, rejection_for,
)
from ..requests import BaseRequest, Response
from .linger import AVAILABLE as LINGER, linger

__all__ = ['Connection', 'ConnectionHost', 'ServerStream', 'release_stream', 'settle']

logger = logging.getLogger('gntplib.server')

Address = Any
_READ_CHUNK = 65536
_TIMED_OUT = Rejection(c.ERROR_TIMED_OUT, 'Timed out waiting for the request')
_INCOMPLETE = Rejection(c.ERROR_INVALID_REQUEST, 'Incomplete request: the input ended '
                        'before the end of the message')


class ConnectionHost(Protocol):
    """What a :class:`Connection` needs from its server (``GNTPServer`` provides it)."""

    idle_timeout: float
    request_timeout: float
    notification_timeout: Optional[float]
    callback_delay: float
    encrypt_responses: bool

    @property
    def message_end(self) -> bytes:
        """Bytes written after each message (Growl-for-Mac framing)."""

    def reader_for(self, peer: Address) -> RequestReader:
        """A reader with the key checks for ``peer``."""

    def decide(self, request: BaseRequest, peer: Address) -> Decision:
        """Record, decide, show and commit a request."""

    def acknowledged(self) -> Optional['asyncio.Future[None]']:
        """Done once what was decided is kept (``None``: nothing to wait for)."""

    def refuse(self, peer: Address, rejection: Rejection) -> None:
        """Record an ``-ERROR`` sent to ``peer``."""

    def send_callback(self, target: Any, result: str = 'CLICK') -> Any:
        """Decide a pending callback."""

    def callback_done(self, pending: PendingCallback, delivered: bool) -> None:
        """Forget a callback written, or whose client left."""


def settle(future: 'asyncio.Future[Any]', value: Any) -> None:
    """Set a future's result unless it is done already."""
    if not future.done():
        future.set_result(value)


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
    _keep_socket = False  # closing hands the socket over (see linger)
    _lingering: Optional[Callable[[], None]] = None  # ends the linger under way

    @classmethod
    def wrap(cls, stream: IOStream) -> IOStream:
        """Return the plain ``IOStream`` TCPServer made as a :class:`ServerStream`; a TLS
        stream is returned as it is (its end of input still closes it)."""
        if type(stream) is not IOStream:
            return stream
        # The same object, with this class's overrides: nothing has been read yet,
        # and this class adds no state of its own (class attributes give the defaults).
        stream.__class__ = cls
        return stream

    def read_from_fd(self, buf: Union[bytearray, memoryview]) -> Optional[int]:
        count = super().read_from_fd(buf)
        self._end_of_input = count == 0
        return count

    def close_fd(self) -> None:
        if (self._end_of_input or self._keep_socket) and self.kept_socket is None:
            self.kept_socket = self.socket
            self.socket = None  # type: ignore[assignment]  # as IOStream.close_fd does
        else:
            super().close_fd()

    def close(self, exc_info: Any = False) -> None:
        super().close(exc_info)
        end = self._lingering
        if end is not None:  # closing the stream ends its linger too
            end()

    def linger(self, timeout: float) -> 'asyncio.Future[None]':
        """Close the stream, keeping its socket for a lingering close
        (:func:`~gntplib.server.linger.linger`); the future is done once that is over."""
        self._keep_socket = True
        self.close()
        sock = self.kept_socket
        if sock is None:  # closed already
            done: 'asyncio.Future[None]' = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return done
        lingering = linger(sock, timeout)
        self._lingering = lingering.end
        return lingering.done

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


class Connection:
    """One client connection: read a request, answer it, maybe send a callback, close."""

    def __init__(self, host: ConnectionHost, stream: IOStream, address: Address) -> None:
        self.host = host
        self.stream = stream
        self.address = address
        self.reader = host.reader_for(address)
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
                                   self.host.idle_timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            raise StreamClosedError(real_error=exc) from exc

    def _pack(self, response: Response, cipher: Any = None) -> bytes:
        return pack_response(response, cipher) + self.host.message_end

    def _start_read(self) -> 'asyncio.Future[bytes]':
        if self._read is None:
            self._read = asyncio.ensure_future(self.stream.read_bytes(_READ_CHUNK, partial=True))
        return self._read

    async def _read_chunk(self, timeout: Optional[float]) -> Optional[bytes]:
        """Read what is there; ``None`` when ``timeout`` passes first. An unfinished read is
        kept for the next call. Raises StreamClosedError at end of stream."""
        read = self._start_read()
        if not read.done():  # one future and one timer: asyncio.wait costs more per request
            loop = asyncio.get_running_loop()
            woken: 'asyncio.Future[None]' = loop.create_future()

            def wake(_: Any = None) -> None:
                settle(woken, None)
            read.add_done_callback(wake)
            timer = loop.call_later(timeout, wake) if timeout is not None else None
            try:
                await woken
            finally:
                read.remove_done_callback(wake)
                if timer is not None:
                    timer.cancel()
            if not read.done():
                return None
        self._read = None
        return read.result()

    async def run(self) -> None:
        """Serve the connection to its end."""
        try:
            message = await self._read_request()
        except GNTPError as exc:  # the reader's refusal, e.g. a resource that does not decrypt
            await self._answer_error(rejection_for(exc))
            return
        except StreamClosedError:
            if self.reader.in_request and self._kept_socket is not None:
                # The input ended early; after a half-close the client still reads.
                await self._answer_error(_INCOMPLETE)
            elif self.reader.in_request:
                logger.info('%s closed the connection in the middle of a request',
                            format_address(self.address))
            return
        if message is None:
            await self._answer_error(_TIMED_OUT)
            return
        await self._handle(message)

    async def _read_request(self) -> Optional[ReceivedMessage]:
        """The next request, or ``None`` when the idle or request timeout passes first."""
        host = self.host
        loop = IOLoop.current()
        deadline = loop.time() + host.request_timeout
        while True:
            message = self.reader.next_message()
            if message is not None:
                return message
            timeout = min(host.idle_timeout, deadline - loop.time())
            data = await self._read_chunk(timeout) if timeout > 0 else None
            if data is None:
                return None
            self.reader.feed(data)

    async def _handle(self, message: ReceivedMessage) -> None:
        host = self.host
        try:
            request = message.to_request()
        except GNTPError as exc:
            await self._answer_error(rejection_for(exc))
            return
        decision = host.decide(request, self.address)
        if decision.rejection is not None:
            await self._answer_error(decision.rejection, refused=False)
            return
        pending = decision.callback
        kept = host.acknowledged()
        if kept is not None:  # -OK only once what it acknowledges is committed
            try:
                await kept
            except GNTPError as exc:
                if pending is not None:
                    host.callback_done(pending, False)
                await self._answer_error(Rejection(c.ERROR_INTERNAL_SERVER_ERROR, str(exc)))
                return
        cipher = message.cipher if host.encrypt_responses else None
        try:
            if pending is not None:
                self.stream.set_nodelay(True)  # the -OK leaves at once, alone (see below)
            await self._write(self._pack(decision.response, cipher))
            if pending is not None:
                await self._wait_for_callback(pending, cipher)
        except StreamClosedError:
            return
        finally:
            if pending is not None:
                host.callback_done(pending, pending.delivered is True)
        await self._finish()

    async def _wait_for_callback(self, pending: PendingCallback, cipher: Any) -> None:
        """Keep the connection until the callback is decided, times out, or the client
        leaves (§6.2). Whatever the client sends meanwhile is discarded.

        End of input counts as leaving: TCP cannot tell a client that shut down only its
        sending side from one that has gone, and callbacks of clients that have gone must
        not pile up. A callback decided before that (``callback_result``) is still sent.

        The ``-CALLBACK`` goes out at least ``callback_delay`` after the ``-OK``: clients
        that parse one message per read (growly, node-notifier) drop a ``-CALLBACK``
        arriving in the same read as the ``-OK``.
        """
        loop = IOLoop.current()
        ok_sent = loop.time()
        timeout = self.host.notification_timeout
        deadline = None if timeout is None or pending.sticky else ok_sent + timeout
        decided: 'asyncio.Future[str]' = asyncio.get_running_loop().create_future()
        pending.when_decided(lambda result: settle(decided, result))
        while not decided.done():
            read = self._start_read()
            wait = None if deadline is None else max(0.0, deadline - loop.time())
            waiting: List['asyncio.Future[Any]'] = [decided, read]
            await asyncio.wait(waiting, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
            if read.done():
                self._read = None
                read.result()  # raises StreamClosedError when the client has gone
            elif not decided.done() and deadline is not None and loop.time() >= deadline:
                self.host.send_callback(pending, RESULT_SPELLINGS[c.CALLBACK_TIMEOUT])
        pause = ok_sent + self.host.callback_delay - loop.time()
        if pause > 0:
            await asyncio.sleep(pause)
        await self._write(self._pack(pending.response(decided.result()), cipher))
        pending.finish(True)

    async def _answer_error(self, rejection: Rejection, refused: bool = True) -> None:
        if refused:  # a decision's rejection was recorded when it was decided
            self.host.refuse(self.address, rejection)
        try:
            await self._write(self._pack(error_response(rejection)))
        except StreamClosedError:
            return
        await self._finish()

    async def _finish(self) -> None:
        """Shut down the sending side, then read and drop what the client still sends
        until it closes (closing with unread data would reset the connection and could
        destroy the answer on the client's side, §6.1). After the client's end of input
        there is nothing left to read."""
        kept = self._kept_socket
        stream = self.stream
        if kept is None and LINGER and isinstance(stream, ServerStream) and not stream.closed():
            await stream.linger(self.host.idle_timeout)
            return
        sock = kept if kept is not None else stream.socket
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        if kept is not None:
            return
        # One timer bounds the whole drain: it closes the stream, which ends the read.
        timer = asyncio.get_running_loop().call_later(self.host.idle_timeout, self.stream.close)
        try:
            while True:
                await self._start_read()
                self._read = None
        except StreamClosedError:
            pass
        finally:
            timer.cancel()
        self.stream.close()

