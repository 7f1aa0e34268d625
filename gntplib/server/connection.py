"""One connection of the embedded server: the driver between a socket and the receiver.

It reads a request with :class:`~gntplib.reader.RequestReader`, asks the server (through the
narrow :class:`ConnectionHost` interface) what to answer, writes the answer, and later the
``-CALLBACK``; then it hands the socket over for the lingering close (§6). The rules live in
the receiver core (:mod:`gntplib.receiver`); this module only moves bytes (through
:class:`~gntplib.server.channel.SocketChannel`) and keeps time.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any, Optional, Protocol

from .. import constants as c
from ..display import format_address
from ..exceptions import GNTPError
from ..packers import pack_response
from ..reader import ReceivedMessage, RequestReader
from ..receiver import (
    RESULT_SPELLINGS, Decision, PendingCallback, Rejection, error_response, rejection_for,
)
from ..requests import BaseRequest, Response
from .channel import ChannelClosed, SocketChannel
from .futures import settle
from .linger import AVAILABLE as LINGER

__all__ = ['Connection', 'ConnectionHost']

logger = logging.getLogger('gntplib.server')

Address = Any
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

    def linger(self, sock: socket.socket) -> None:
        """Take an answered socket for its lingering close
        (:class:`~gntplib.server.linger.LingeringSockets`)."""


class Connection:
    """One client connection: read a request, answer it, maybe send a callback, close.

    Args:
        host: The server.
        sock: The accepted socket (non-blocking; a TLS socket not yet through its
            handshake).
        address: The peer's address.
    """

    def __init__(self, host: ConnectionHost, sock: socket.socket, address: Address) -> None:
        self.host = host
        self.channel = SocketChannel(sock)
        self.address = address
        self.reader = host.reader_for(address)

    def close(self) -> None:
        """Close the connection now (the server is stopping); :meth:`run` ends soon after."""
        self.channel.close()

    async def run(self) -> None:
        """Serve the connection to its end; the socket is closed or lingering then."""
        try:
            try:
                await self.channel.handshake(self.host.idle_timeout)
                message = await self._read_request()
            except GNTPError as exc:  # the reader's refusal, e.g. a resource that won't decrypt
                await self._answer_error(rejection_for(exc))
                return
            except ChannelClosed:
                if self.reader.in_request:
                    logger.info('%s closed the connection in the middle of a request',
                                format_address(self.address))
                return
            if message is not None:
                await self._handle(message)
            elif self.channel.input_ended:  # after a half-close the client still reads
                await self._answer_error(_INCOMPLETE)
            else:
                await self._answer_error(_TIMED_OUT)
        finally:
            self.channel.close()

    async def _read_request(self) -> Optional[ReceivedMessage]:
        """The next request; ``None`` when the idle or request timeout passes first, or
        the input ends in the middle of one (``channel.input_ended`` tells). An input that
        ends before a request has begun is the client leaving (:class:`ChannelClosed`)."""
        host = self.host
        reader = self.reader
        channel = self.channel
        deadline = channel.loop.time() + host.request_timeout
        while True:
            message = reader.next_message()
            if message is not None:
                return message
            data = channel.recv_ready()
            if data is None:  # nothing yet: wait for it, then read again
                timeout = min(host.idle_timeout, deadline - channel.loop.time())
                if timeout <= 0 or not await channel.wait(True, timeout):
                    return None
                continue
            if not data:
                if reader.in_request:
                    return None
                raise ChannelClosed('the client closed the connection')
            reader.feed(data)

    async def _write(self, data: bytes) -> None:
        await self.channel.send(data, self.host.idle_timeout)

    def _pack(self, response: Response, cipher: Any = None) -> bytes:
        return pack_response(response, cipher) + self.host.message_end

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
                self.channel.set_nodelay()  # the -OK leaves at once, alone (see below)
            await self._write(self._pack(decision.response, cipher))
            if pending is not None:
                await self._wait_for_callback(pending, cipher)
        except ChannelClosed:
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
        channel = self.channel
        loop = channel.loop
        ok_sent = loop.time()
        timeout = self.host.notification_timeout
        deadline = None if timeout is None or pending.sticky else ok_sent + timeout
        decided: 'asyncio.Future[str]' = loop.create_future()
        pending.when_decided(lambda result: settle(decided, result))
        while not decided.done():
            if channel.input_ended:
                raise ChannelClosed('the client ended its input')
            wait = None if deadline is None else max(0.0, deadline - loop.time())
            await channel.wait(True, wait, also=decided)
            if decided.done():
                break
            data = channel.recv_ready()
            if data == b'':
                raise ChannelClosed('the client left')
            if data is None and deadline is not None and loop.time() >= deadline:
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
        except ChannelClosed:
            return
        await self._finish()

    async def _finish(self) -> None:
        """End the connection after its last answer with a lingering close: the sending
        side shut down, what the client still sends dropped until it closes (closing with
        unread data would reset the connection and could destroy the answer on the
        client's side, §6.1). After the client's end of input there is nothing left to
        read. Without ``epoll`` the connection drains its socket itself."""
        channel = self.channel
        if channel.closed:
            return
        if LINGER and not channel.input_ended:
            channel.hand_over(self.host.linger)
            return
        try:
            channel.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        deadline = channel.loop.time() + self.host.idle_timeout
        try:
            while not channel.input_ended:
                remaining = deadline - channel.loop.time()
                if remaining <= 0 or await channel.recv(remaining) is None:
                    break
        except ChannelClosed:
            pass
        channel.close()
