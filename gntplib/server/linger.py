"""The lingering close of answered connections, shared by all of them (Linux: ``epoll``).

Once the answer is out, the server shuts down its sending side and reads and drops what the
client still sends until the client closes (closing with unread input would reset the
connection and could destroy the answer on the client's side, §6.1). Doing that through a
Tornado stream, or with a reader per socket on the event loop, costs more than the rest of
the request; here every such socket sits in one ``epoll`` set, watched by one reader on the
loop, and one timer bounds them all.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import select
import socket
from typing import Dict, List, Optional, Tuple

__all__ = ['AVAILABLE', 'linger']

#: Whether :func:`linger` can be used here (it needs ``select.epoll``).
AVAILABLE = hasattr(select, 'epoll')

_CHUNK = 65536
_pools: Dict[asyncio.AbstractEventLoop, '_Pool'] = {}


class Lingering:
    """One socket's linger: :attr:`done` once the client has closed, the time is up, or
    :meth:`end` was called; the socket is closed then."""

    def __init__(self, pool: '_Pool', sock: socket.socket) -> None:
        self.pool = pool
        self.sock = sock
        self.done: 'asyncio.Future[None]' = pool.loop.create_future()

    def end(self) -> None:
        """Stop lingering now: close the socket."""
        self.pool.end(self)


class _Pool:
    """The sockets lingering on one event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.poll = select.epoll()
        self.entries: Dict[int, Lingering] = {}
        self.deadlines: List[Tuple[float, int, Lingering]] = []
        self.order = itertools.count()
        self.timer: Optional[asyncio.TimerHandle] = None
        loop.add_reader(self.poll.fileno(), self._ready)

    def add(self, sock: socket.socket, timeout: float) -> Lingering:
        entry = Lingering(self, sock)
        fd = sock.fileno()
        self.poll.register(fd, select.EPOLLIN)
        self.entries[fd] = entry
        deadline = self.loop.time() + timeout
        heapq.heappush(self.deadlines, (deadline, next(self.order), entry))
        if self.timer is None or deadline < self.timer.when():
            self._arm(deadline)
        return entry

    def end(self, entry: Lingering) -> None:
        fd = entry.sock.fileno()
        if fd < 0 or self.entries.get(fd) is not entry:
            return  # ended already
        del self.entries[fd]
        self.poll.unregister(fd)
        entry.sock.close()
        if not entry.done.done():
            entry.done.set_result(None)
        if not self.entries:
            self._close()

    def _ready(self) -> None:
        for fd, _ in self.poll.poll(0):
            entry = self.entries.get(fd)
            if entry is None:
                continue
            try:
                data = entry.sock.recv(_CHUNK)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:  # reset: nothing left to protect
                data = b''
            if not data:  # the client has closed
                self.end(entry)

    def _arm(self, deadline: float) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = self.loop.call_at(deadline, self._expire)

    def _expire(self) -> None:
        self.timer = None
        now = self.loop.time()
        deadlines = self.deadlines
        while deadlines and (deadlines[0][0] <= now or deadlines[0][2].done.done()):
            self.end(heapq.heappop(deadlines)[2])
        if deadlines and self.entries:
            self._arm(deadlines[0][0])

    def _close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.loop.remove_reader(self.poll.fileno())
        self.poll.close()
        if _pools.get(self.loop) is self:
            del _pools[self.loop]


def linger(sock: socket.socket, timeout: float) -> Lingering:
    """Shut down ``sock``'s sending side and drop what its peer still sends until the peer
    closes or ``timeout`` seconds pass; the socket is closed then. Call on the event loop."""
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    loop = asyncio.get_running_loop()
    pool = _pools.get(loop)
    if pool is None:
        pool = _pools[loop] = _Pool(loop)
    return pool.add(sock, timeout)
