"""The lingering close of answered connections (Linux: ``epoll``).

Once the answer is out, the server shuts down its sending side and reads and drops what the
client still sends until the client closes (closing with unread input would reset the
connection and could destroy the answer on the client's side, §6.1). Doing that through a
Tornado stream, or with a reader or a timer per socket on the event loop, costs more than the
rest of the request; here a server's lingering sockets sit in one ``epoll`` set watched by one
reader on the loop, and one timer bounds them all.
"""

from __future__ import annotations

import asyncio
import collections
import select
import socket
from typing import Callable, Deque, Dict, Optional, Tuple

from .channel import READ_CHUNK

__all__ = ['AVAILABLE', 'LingeringSockets']

#: Whether :class:`LingeringSockets` can be used here (it needs ``select.epoll``).
AVAILABLE = hasattr(select, 'epoll')



class LingeringSockets:
    """The sockets of one server in their lingering close, on the event loop of the first
    :meth:`add`.

    Args:
        on_closed: Called (on the loop) each time a lingering socket is closed.
    """

    def __init__(self, on_closed: Callable[[], None]) -> None:
        self._on_closed = on_closed
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._poll: Optional['select.epoll'] = None
        self._sockets: Dict[int, socket.socket] = {}
        # Deadlines in the order the sockets came, which is their order as long as the
        # timeout does not change; closed sockets leave it when their time comes.
        self._deadlines: Deque[Tuple[float, int, socket.socket]] = collections.deque()
        self._timer: Optional[asyncio.TimerHandle] = None

    def __len__(self) -> int:
        return len(self._sockets)

    def add(self, sock: socket.socket, timeout: float) -> None:
        """Shut down ``sock``'s sending side and drop what its peer still sends until the
        peer closes or ``timeout`` seconds pass; the socket is closed then. Call on the
        event loop."""
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:  # the peer has gone: nothing to protect
            sock.close()
            self._on_closed()
            return
        poll = self._poll
        if poll is None:
            poll = self._start()
        fd = sock.fileno()
        poll.register(fd, select.EPOLLIN)
        self._sockets[fd] = sock
        loop = self._loop
        assert loop is not None
        deadline = loop.time() + timeout
        self._deadlines.append((deadline, fd, sock))
        if self._timer is None:
            self._timer = loop.call_at(deadline, self._expire)
        elif len(self._deadlines) > 2 * len(self._sockets) + 64:
            self._deadlines = collections.deque(
                entry for entry in self._deadlines if self._sockets.get(entry[1]) is entry[2])

    def close_all(self) -> None:
        """Close every lingering socket now, and stop watching."""
        for fd in list(self._sockets):
            self._close(fd)
        self._deadlines.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._poll is not None and self._loop is not None:
            if not self._loop.is_closed():
                self._loop.remove_reader(self._poll.fileno())
            self._poll.close()
            self._poll = self._loop = None

    def _start(self) -> 'select.epoll':
        self._loop = asyncio.get_running_loop()
        self._poll = select.epoll()
        self._loop.add_reader(self._poll.fileno(), self._ready)
        return self._poll

    def _close(self, fd: int) -> None:
        # Closing the socket takes it out of the epoll set too (the set holds its open
        # file, which nothing else shares), so there is no unregister call.
        self._sockets.pop(fd).close()
        self._on_closed()

    def _ready(self) -> None:
        assert self._poll is not None
        sockets = self._sockets
        for fd, _ in self._poll.poll(0):
            sock = sockets.get(fd)
            if sock is None:
                continue
            try:
                data = sock.recv(READ_CHUNK)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:  # reset: nothing left to protect
                data = b''
            if not data:  # the client has closed
                self._close(fd)

    def _expire(self) -> None:
        self._timer = None
        loop = self._loop
        if loop is None:
            return
        now = loop.time()
        deadlines = self._deadlines
        sockets = self._sockets
        while deadlines:
            deadline, fd, sock = deadlines[0]
            alive = sockets.get(fd) is sock
            if alive and deadline > now:
                self._timer = loop.call_at(deadline, self._expire)
                return
            deadlines.popleft()
            if alive:
                self._close(fd)
