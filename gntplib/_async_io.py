"""The asyncio transport behind :mod:`gntplib.async_`: :class:`AsyncGNTPConnection` drives
a :class:`~gntplib.exchange.ClientExchange` over a non-blocking socket, and the helpers the
async API shares (loop lookup, legacy callbacks, reporting failures once).

The socket is read and written directly (readiness from the loop's ``add_reader`` and
``add_writer``), not through a Tornado ``IOStream``: after a failed write the receiver's
answer is still in the socket to be read, as in the sync client.

Private: import the public names from :mod:`gntplib.async_`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import warnings
from typing import (
    Any, Awaitable, Callable, Coroutine, List, Optional, Set, Tuple, TypeVar,
)

from tornado.ioloop import IOLoop
from tornado.iostream import StreamClosedError

from . import constants as c
from ._addresses import AddrInfo, cached, forget, remember
from .connections import BaseGNTPConnection, FinalCallback, Message
from .exceptions import GNTPConnectionError
from .exchange import NEED_DATA, connection_error
from .keys import Key
from .models import SocketCallback

__all__ = ['AsyncGNTPConnection']

logger = logging.getLogger(__name__)

T = TypeVar('T')
Address = Tuple[str, int]

#: Tasks nobody else holds (the wait for a -CALLBACK, work started by a 0.5-style call
#: whose future is dropped): asyncio keeps only weak references to tasks.
_background_tasks: Set['asyncio.Future[Any]'] = set()

#: Bytes per read: responses are small (MAX_MESSAGE_SIZE).
_RECV_SIZE = 65536


async def _addresses(address: Address, timeout: Optional[float]) -> List[AddrInfo]:
    """The addresses to try (``gntplib._addresses``' policy); a host name not known yet is
    looked up in the loop's executor (as Tornado's default resolver does), bounded by
    ``timeout``."""
    infos = cached(address)
    if infos is not None:
        return infos
    lookup = asyncio_loop_of().getaddrinfo(*address, type=socket.SOCK_STREAM)
    return remember(address, await asyncio.wait_for(lookup, timeout))


def _keep(task: 'asyncio.Future[T]') -> 'asyncio.Future[T]':
    _background_tasks.add(task)
    task.add_done_callback(_background_tasks.discard)
    return task


def asyncio_loop_of(io_loop: Optional[IOLoop] = None) -> asyncio.AbstractEventLoop:
    """The asyncio event loop behind ``io_loop`` (default: the current IOLoop).

    Read with ``getattr``: Tornado 6.6 declares ``asyncio_loop`` on ``IOLoop``, older
    releases only on its asyncio subclasses, and the type checker must accept both.
    """
    loop: asyncio.AbstractEventLoop = getattr(io_loop or IOLoop.current(), 'asyncio_loop')
    return loop


class _ReportedTask(asyncio.Task[Any]):
    """A task whose failure, if nobody ever retrieves it, is logged once at WARNING (not
    asyncio's "Task exception was never retrieved" with its traceback)."""

    what = 'GNTP request'

    def __del__(self) -> None:
        if self.done() and not self.cancelled() and self._log_traceback:
            self._log_traceback = False
            logger.warning('%s failed and nobody awaited it: %s', self.what,
                           self.exception())


def _start(coro: Coroutine[Any, Any, T], what: str = 'GNTP request') -> 'asyncio.Future[T]':
    # IOLoop.current() is looked up at call time, not when the client was made: a call
    # made before the loop starts (0.5 style) and an await inside asyncio.run() both land
    # on the loop that will run them.
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # called before the loop runs
        loop = asyncio_loop_of()
    task: 'asyncio.Future[T]' = _ReportedTask(coro, loop=loop)
    if what != _ReportedTask.what:
        task.what = what  # type: ignore[attr-defined]
    return _keep(task)


def _warn_io_loop(io_loop: Any, where: str) -> None:
    if io_loop is not None:
        warnings.warn(f'{where}: io_loop is deprecated and ignored (Tornado 5 removed it); '
                      'the current IOLoop is used', DeprecationWarning, stacklevel=3)


def _attach_legacy_callback(future: 'asyncio.Future[T]',
                            callback: Optional[Callable[[T], Any]],
                            what: str = 'GNTP request') -> 'asyncio.Future[T]':
    """Call ``callback`` with the future's result on success. A failure is the future's
    to report: to whoever awaits it, else logged once when the future is dropped."""
    if callback is None:
        return future

    def done(f: 'asyncio.Future[T]') -> None:
        # Read without retrieving: a failure stays the awaiter's (or the drop's) to report.
        if f.cancelled() or getattr(f, '_exception', None) is not None:
            return
        try:
            callback(f.result())
        except Exception:
            logger.exception('the callback of a %s raised', what)

    future.add_done_callback(done)
    return future


def _reason(exc: BaseException) -> str:
    if isinstance(exc, StreamClosedError):
        if exc.real_error is None:
            return 'the connection was closed'
        exc = exc.real_error
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _why(exc: BaseException) -> Tuple[str, bool]:
    """What the socket or the loop raised, as (reason, timed out): the one translation of
    I/O errors in the async transport."""
    return _reason(exc), isinstance(exc, (socket.timeout, asyncio.TimeoutError))


def _wake(waiter: 'asyncio.Future[None]') -> None:
    if not waiter.done():
        waiter.set_result(None)


class AsyncGNTPConnection(BaseGNTPConnection['Awaitable[None]']):
    """A GNTP connection over a non-blocking socket on the asyncio loop.

    The conversation is :class:`~gntplib.exchange.ClientExchange`'s, reached through
    :class:`~gntplib.connections.BaseGNTPConnection`'s hooks; this class only connects,
    writes and reads. :meth:`read_message` returns a future that completes once
    ``callback`` has run; whatever it raises (``-ERROR``, bad bytes, I/O errors) is that
    future's exception.

    ``timeout`` bounds connecting, writing and reading each response (a deadline for the
    whole response, however slowly its bytes arrive). The wait for a
    ``-CALLBACK`` is bounded by ``callback_timeout`` instead (``None``: until the server
    closes); it runs in the background, and when it ends without a callback no handler
    runs.

    Args:
        address: ``(host, port)`` of the server.
        timeout: Seconds for connect, for write and for each whole response; ``None`` for
            no limit.
        final_callback: Called with the ``-OK`` response.
        socket_callback: Run on the loop when the ``-CALLBACK`` arrives.
        io_loop: Ignored.
        key: The request's key (for encrypted responses).
        callback_timeout: Seconds to wait for a ``-CALLBACK`` after ``-OK``.
        max_response_size: Largest response accepted, in bytes (default 4096,
            :data:`~gntplib.constants.MAX_MESSAGE_SIZE`); a larger one raises
            :class:`~gntplib.exceptions.GNTPProtocolError`. To change it for a client, pass
            ``connection_class=functools.partial(AsyncGNTPConnection, max_response_size=n)``.

    .. deprecated:: 1.0
       ``io_loop`` is ignored; the current IOLoop is used.
    """

    def __init__(self, address: Address, timeout: Optional[float],
                 final_callback: Optional[FinalCallback] = None,
                 socket_callback: Optional[SocketCallback] = None, io_loop: Any = None, *,
                 key: Optional[Key] = None, callback_timeout: Optional[float] = None,
                 max_response_size: int = c.MAX_MESSAGE_SIZE) -> None:
        _warn_io_loop(io_loop, 'AsyncGNTPConnection')
        super().__init__(final_callback, socket_callback, key,
                         max_response_size=max_response_size,
                         peer=f'{address[0]}:{address[1]}')
        self.address = address
        self.timeout = timeout
        self.callback_timeout = callback_timeout
        self.sock: Optional[socket.socket] = None
        #: The loop that reports the socket's readiness (Tornado's selector loop, which
        #: has ``add_reader`` even where the asyncio loop is a Proactor).
        self._selector: Any = None
        #: When the step under way (connect, write, read) must end; ``None``: no limit.
        self._deadline: Optional[float] = None
        self._timer: Optional[asyncio.TimerHandle] = None
        #: The readiness the step under way awaits; the deadline fails it.
        self._waiter: Optional['asyncio.Future[None]'] = None

    async def connect(self) -> None:
        """Open the socket, trying each address of the host in turn; each attempt is
        bounded by ``timeout`` (as in the sync client and ``socket.create_connection``).

        Raises:
            GNTPConnectionError: If the connection is refused or times out.
        """
        try:
            candidates = await _addresses(self.address, self.timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            raise connection_error(self.exchange.peer, 'connecting', *_why(exc)) from exc
        io_loop = IOLoop.current()
        self._selector = getattr(io_loop, 'selector_loop', None) or asyncio_loop_of(io_loop)
        error: BaseException = OSError('no address')
        for family, type_, proto, _, sockaddr in candidates:
            try:
                self.sock = socket.socket(family, type_, proto)
                self.sock.setblocking(False)
                self._arm(self.timeout)
                try:
                    self.sock.connect(sockaddr)
                except (BlockingIOError, InterruptedError):
                    await self._ready(write=True)
                    code = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if code:
                        raise OSError(code, os.strerror(code))
                return
            except OSError as exc:
                error = exc
                self.close()
            finally:
                self._deadline = None
        forget(self.address)  # the host may have moved: look it up again next time
        raise connection_error(self.exchange.peer, 'connecting', *_why(error)) from error

    def write_message(self, message: Message) -> Awaitable[None]:
        """Write every byte of ``message`` (bytes, or the parts of one message).

        Returns:
            An awaitable that fails with
            :class:`~gntplib.exceptions.GNTPConnectionError` if writing fails or takes
            longer than ``timeout`` (reading then gives the receiver's answer, if it sent
            one before closing).
        """
        return self._write(message)

    async def _write(self, message: Message) -> None:
        if self.sock is None:
            raise GNTPConnectionError(f'{self.exchange.peer}: the connection is closed')
        sock = self.sock
        self._arm(self.timeout)
        try:
            for chunk in self.exchange.send(message):
                view = memoryview(chunk)
                while view:
                    try:
                        view = view[sock.send(view):]
                    except (BlockingIOError, InterruptedError):
                        await self._ready(write=True)
        except OSError as exc:
            raise self.exchange.send_failed(*_why(exc)) from exc
        finally:
            self._deadline = None

    def read_message(self, callback: Callable[[bytes], None]) -> 'asyncio.Future[None]':
        """Read one message, then call ``callback`` with it on the loop.

        Returns:
            A future that completes after ``callback`` returned, with its exception if it
            (or the read) failed. The wait for a ``-CALLBACK`` logs its failure instead,
            since nobody awaits it.
        """
        task = asyncio.ensure_future(self._read_then(callback))
        if self.waiting_for_callback:
            _keep(task).add_done_callback(self._log_callback_failure)
        return task

    async def _read_then(self, callback: Callable[[bytes], None]) -> None:
        try:
            message = await self._read()
            if message is not None:
                callback(message)
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _log_callback_failure(task: 'asyncio.Future[None]') -> None:
        if not task.cancelled() and task.exception() is not None:
            logger.error('GNTP socket callback failed: %s', task.exception(),
                         exc_info=task.exception())

    async def _read(self) -> Optional[bytes]:
        exchange = self.exchange
        self._arm(exchange.timeout(self.timeout, self.callback_timeout))
        try:
            while True:
                message = exchange.next_message()
                if message is not NEED_DATA:
                    if not isinstance(message, bytes):
                        self.close()
                        return None
                    return message
                sock = self.sock
                if sock is None:  # closed under us: the stream ended
                    exchange.receive_data(b'')
                    continue
                try:
                    try:
                        data = sock.recv(_RECV_SIZE)
                    except (BlockingIOError, InterruptedError):
                        await self._ready(write=False)
                        continue
                except OSError as exc:
                    error = exchange.read_failed(*_why(exc))
                    if error is None:
                        self.close()
                        return None
                    raise error from exc
                exchange.receive_data(data)
        finally:
            self._deadline = None

    # One timer per connection follows the deadline of the step under way: a fast
    # exchange schedules it once, instead of a timer (and a timeout future) per wait.
    def _arm(self, timeout: Optional[float]) -> None:
        """Start a step (connect, write, read) that must end within ``timeout`` seconds."""
        if timeout is None:
            self._deadline = None
            return
        loop = asyncio_loop_of()
        self._deadline = loop.time() + max(timeout, 0.0)
        if self._timer is not None and self._timer.when() > self._deadline:
            self._timer.cancel()  # the new deadline comes first
            self._timer = None
        if self._timer is None:
            self._timer = loop.call_at(self._deadline, self._check_deadline)

    def _check_deadline(self) -> None:
        self._timer = None
        deadline = self._deadline
        if deadline is None:
            return
        loop = asyncio_loop_of()
        if loop.time() < deadline:  # a later step moved the deadline on
            self._timer = loop.call_at(deadline, self._check_deadline)
            return
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(socket.timeout('timed out'))

    async def _ready(self, write: bool) -> None:
        """Wait until the socket can be written (or read), or the deadline passes."""
        assert self.sock is not None
        if self._deadline is not None and asyncio_loop_of().time() >= self._deadline:
            raise socket.timeout('timed out')
        fd = self.sock.fileno()
        selector = self._selector
        waiter = self._waiter = asyncio_loop_of().create_future()
        if write:
            selector.add_writer(fd, _wake, waiter)
        else:
            selector.add_reader(fd, _wake, waiter)
        try:
            await waiter
        finally:
            self._waiter = None
            if self.sock is not None:
                (selector.remove_writer if write else selector.remove_reader)(fd)

    def close(self) -> None:
        """Close the socket (idempotent); a wait under way fails."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.sock is not None:
            sock, self.sock = self.sock, None
            waiter = self._waiter
            if waiter is not None:
                self._selector.remove_reader(sock.fileno())
                self._selector.remove_writer(sock.fileno())
                if not waiter.done():
                    waiter.set_exception(OSError('the connection was closed'))
            sock.close()

    @property
    def closed(self) -> bool:
        """Whether the socket has been closed (or never opened)."""
        return self.sock is None
