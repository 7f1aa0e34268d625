"""A connection's socket on the event loop: the server's byte mover.

Every read and write is tried at once on the non-blocking socket; only when the socket is
not ready does the channel wait, with one future and one timer, for the loop to say it is.
Most requests arrive whole before they are accepted and their answer fits in the socket's
buffer, so most connections never wait at all (a Tornado stream costs several futures and
loop turns per connection even then). TLS sockets (``ssl_options``) are read and written the
same way, after a handshake driven here too.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from typing import Any, Callable, Optional, Union

__all__ = ['SocketChannel', 'ChannelClosed', 'READ_CHUNK']

#: Bytes asked for per read.
READ_CHUNK = 65536

_WOULD_BLOCK = (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


class ChannelClosed(Exception):
    """The connection is gone: reset, failed, timed out while writing, or closed here."""


class SocketChannel:
    """One accepted, non-blocking socket (see the module's docstring).

    Attributes:
        sock: The socket (an ``ssl.SSLSocket`` over TLS).
        input_ended: The client has shut down its sending side (a read returned ``b''``).
        closed: :meth:`close` was called, or the socket was handed over
            (:meth:`hand_over`).
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.loop = asyncio.get_running_loop()
        self.input_ended = False
        self.closed = False
        self._waiting: Optional['asyncio.Future[bool]'] = None

    # -- reading --------------------------------------------------------------------------------

    def recv_ready(self) -> Optional[bytes]:
        """What can be read now: bytes, ``b''`` at end of input, ``None`` if nothing yet.

        Raises:
            ChannelClosed: The connection was reset or closed here.
        """
        if self.closed:
            raise ChannelClosed('closed')
        try:
            data = self.sock.recv(READ_CHUNK)
        except _WOULD_BLOCK:
            return None
        except OSError as exc:
            raise ChannelClosed(str(exc)) from exc
        if not data:
            self.input_ended = True
        return data

    async def recv(self, timeout: Optional[float]) -> Optional[bytes]:
        """The next bytes read (``b''`` at end of input), or ``None`` when ``timeout``
        seconds pass first.

        Raises:
            ChannelClosed: The connection was reset or closed here.
        """
        data = self.recv_ready()
        if data is None and await self.wait(True, timeout):
            data = self.recv_ready()
        return data

    # -- writing --------------------------------------------------------------------------------

    async def send(self, data: Union[bytes, memoryview], timeout: float) -> None:
        """Write all of ``data``, waiting at most ``timeout`` seconds each time the socket
        is not ready for more.

        Raises:
            ChannelClosed: The client has gone, the time passed, or the channel was closed.
        """
        view = memoryview(data)
        while view:
            if self.closed:
                raise ChannelClosed('closed')
            try:
                sent = self.sock.send(view)
            except _WOULD_BLOCK:
                sent = 0
            except OSError as exc:
                raise ChannelClosed(str(exc)) from exc
            view = view[sent:]
            if view and not await self.wait(False, timeout):
                raise ChannelClosed(f'the client read nothing for {timeout} s')

    def set_nodelay(self) -> None:
        """Send small writes at once (Nagle off), so an answer leaves alone."""
        try:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # gone already: the next write says so
            pass

    # -- waiting --------------------------------------------------------------------------------

    async def wait(self, readable: bool, timeout: Optional[float],
                   also: Optional['asyncio.Future[Any]'] = None) -> bool:
        """Wait until the socket is readable (or writable), ``also`` is done, or
        ``timeout`` passes. Returns ``False`` only when the time passed.

        Raises:
            ChannelClosed: If the channel is closed meanwhile.
        """
        if self.closed:
            raise ChannelClosed('closed')
        loop = self.loop
        woken: 'asyncio.Future[bool]' = loop.create_future()

        def wake(_: Any = None, ready: bool = True) -> None:
            if not woken.done():
                woken.set_result(ready)
        (loop.add_reader if readable else loop.add_writer)(self.fd, wake)
        timer = loop.call_later(timeout, wake, None, False) if timeout is not None else None
        if also is not None:
            also.add_done_callback(wake)
        self._waiting = woken
        try:
            ready = await woken
        finally:
            self._waiting = None
            if timer is not None:
                timer.cancel()
            if also is not None:
                also.remove_done_callback(wake)
            if not self.closed:
                (loop.remove_reader if readable else loop.remove_writer)(self.fd)
        if self.closed:
            raise ChannelClosed('closed')
        return ready

    async def handshake(self, timeout: float) -> None:
        """Complete a TLS server handshake (nothing to do for a plain socket).

        Raises:
            ChannelClosed: The handshake failed or took longer than ``timeout`` seconds.
        """
        if not isinstance(self.sock, ssl.SSLSocket):
            return
        deadline = self.loop.time() + timeout
        while True:
            try:
                self.sock.do_handshake()
                return
            except ssl.SSLWantReadError:
                readable = True
            except ssl.SSLWantWriteError:
                readable = False
            except (OSError, ValueError) as exc:
                raise ChannelClosed(f'TLS handshake failed: {exc}') from exc
            if not await self.wait(readable, max(0.0, deadline - self.loop.time())):
                raise ChannelClosed('TLS handshake timed out')

    # -- ending ---------------------------------------------------------------------------------

    def hand_over(self, take: Callable[[socket.socket], None]) -> None:
        """Give the socket to ``take`` (the lingering close); the channel is closed."""
        self.closed = True
        take(self.sock)

    def close(self) -> None:
        """Close the socket now; a wait under way ends with :class:`ChannelClosed`."""
        if self.closed:
            return
        self.closed = True
        waiting = self._waiting
        if waiting is not None:
            self.loop.remove_reader(self.fd)
            self.loop.remove_writer(self.fd)
            if not waiting.done():
                waiting.set_result(False)
        self.sock.close()
