"""The Tornado transport behind :mod:`gntplib.async_`: :class:`AsyncGNTPConnection` and
the helpers the async API shares (loop lookup, legacy callbacks, I/O error translation).

Private: import the public names from :mod:`gntplib.async_`.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
import warnings
from typing import (
    Any, Awaitable, Callable, Coroutine, Dict, List, Optional, Set, Tuple, TypeVar,
    Union,
)

from tornado.ioloop import IOLoop
from tornado.iostream import IOStream, StreamClosedError
from tornado.util import TimeoutError as TornadoTimeoutError

from . import constants as c
from .connections import AddrInfo, BaseGNTPConnection, FinalCallback, ip_literal_family, resolve
from .exceptions import GNTPConnectionError
from .keys import Key
from .models import SocketCallback
from .wire import MessageBuffer

__all__ = ['AsyncGNTPConnection']

logger = logging.getLogger(__name__)

T = TypeVar('T')
Address = Tuple[str, int]

#: Everything the IOStream transport can raise for a failed or timed-out connect, write
#: or read; translated to GNTPConnectionError in one place, :func:`_io_error`.
_TIMEOUTS = (TimeoutError, asyncio.TimeoutError, TornadoTimeoutError)
_IO_ERRORS = (StreamClosedError, OSError) + _TIMEOUTS

#: Tasks nobody else holds (the wait for a -CALLBACK, work started by a 0.5-style call
#: whose future is dropped): asyncio keeps only weak references to tasks.
_background_tasks: Set['asyncio.Future[Any]'] = set()


#: Seconds a looked-up host name is kept: a lookup costs more than a whole request.
_NAME_TTL = 60.0
_names: Dict[Address, Tuple[float, List[AddrInfo]]] = {}


async def _addresses(address: Address, timeout: Optional[float]) -> List[AddrInfo]:
    """The addresses to try for ``address``, without a thread-pool lookup when possible.

    IP literals need no lookup at all. A host name is looked up once in the loop's
    executor (as Tornado's default resolver does, bounded by ``timeout``) and kept for
    :data:`_NAME_TTL` seconds, or until a connect to it fails.
    """
    now = time.monotonic()
    cached = _names.get(address)
    if cached is not None and cached[0] > now:
        return cached[1]
    if ip_literal_family(address[0]) is not None:
        infos = resolve(address)
        _names[address] = (float('inf'), infos)
        return infos
    lookup = asyncio_loop_of().getaddrinfo(*address, type=socket.SOCK_STREAM)
    infos = await asyncio.wait_for(lookup, timeout)
    _names[address] = (now + _NAME_TTL, infos)
    return infos


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


def _start(coro: Coroutine[Any, Any, T]) -> 'asyncio.Future[T]':
    # IOLoop.current() is looked up at call time, not when the client was made: a call
    # made before the loop starts (0.5 style) and an await inside asyncio.run() both land
    # on the loop that will run them.
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # called before the loop runs
        loop = asyncio_loop_of()
    return _keep(loop.create_task(coro))


def _warn_io_loop(io_loop: Any, where: str) -> None:
    if io_loop is not None:
        warnings.warn(f'{where}: io_loop is deprecated and ignored (Tornado 5 removed it); '
                      'the current IOLoop is used', DeprecationWarning, stacklevel=3)


def _attach_legacy_callback(future: 'asyncio.Future[T]',
                            callback: Optional[Callable[[T], Any]],
                            what: str = 'GNTP request') -> 'asyncio.Future[T]':
    """Call ``callback`` with the future's result on success; log a failure at ERROR."""
    if callback is None:
        return future

    def done(f: 'asyncio.Future[T]') -> None:
        if f.cancelled():
            return
        exc = f.exception()
        if exc is not None:
            logger.error('%s failed: %s', what, exc, exc_info=exc)
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


def _io_error(address: Address, doing: str, exc: BaseException,
              timed_out: bool = False) -> GNTPConnectionError:
    """The :class:`GNTPConnectionError` for what Tornado or the OS raised while ``doing``."""
    if timed_out or isinstance(exc, _TIMEOUTS):
        return GNTPConnectionError(f'{address[0]}:{address[1]}: timed out {doing}')
    return GNTPConnectionError(f'{address[0]}:{address[1]}: {doing} failed: {_reason(exc)}')


class AsyncGNTPConnection(BaseGNTPConnection):
    """A GNTP connection over a Tornado ``IOStream``.

    The exchange (parse ``-OK``, wait for a ``-CALLBACK`` or close) is
    :class:`~gntplib.connections.BaseGNTPConnection`'s; this class only connects, writes
    and reads. :meth:`read_message` returns a future that completes once ``callback`` has
    run; whatever it raises (``-ERROR``, bad bytes, I/O errors) is that future's exception.

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
        socket_callback: Run on the IOLoop when the ``-CALLBACK`` arrives.
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
        super().__init__(final_callback, socket_callback, key)
        self.address = address
        self.timeout = timeout
        self.callback_timeout = callback_timeout
        self.buffer = MessageBuffer(max_response_size)
        self.stream: Optional[IOStream] = None
        #: The loop the connection runs on; bound by the first step with a deadline.
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        #: When the step under way (connect, write, read) must end; ``None``: no limit.
        self._deadline: Optional[float] = None
        self._timer: Optional[asyncio.TimerHandle] = None
        #: Whether the deadline of the step under way passed.
        self._timed_out = False

    async def connect(self) -> None:
        """Open the stream, trying each address of the host in turn; each attempt is
        bounded by ``timeout`` (as in the sync client and ``socket.create_connection``).

        Raises:
            GNTPConnectionError: If the connection is refused or times out.
        """
        try:
            candidates = await _addresses(self.address, self.timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            raise _io_error(self.address, 'connecting', exc) from exc
        error: BaseException = OSError('no address')
        for family, type_, proto, _, sockaddr in candidates:
            try:
                self.stream = IOStream(socket.socket(family, type_, proto))
                self._arm(self.timeout)
                await self.stream.connect(sockaddr)
                return
            except _IO_ERRORS as exc:
                error = exc
                self.close()
            finally:
                self._disarm()
        _names.pop(self.address, None)  # the host may have moved: look it up again next time
        raise _io_error(self.address, 'connecting', error, self._timed_out) from error

    async def write_message(self, message: Union[bytes, List[bytes]]) -> None:  # type: ignore[override]
        """Write every byte of ``message`` (bytes, or a list of byte strings).

        Raises:
            GNTPConnectionError: If writing fails or takes longer than ``timeout``.
        """
        if self.stream is None:
            raise GNTPConnectionError(f'{self.address[0]}:{self.address[1]}: '
                                      'the connection is closed')
        parts = [message] if isinstance(message, (bytes, bytearray)) else message
        self._arm(self.timeout)
        try:
            written: Optional[Awaitable[None]] = None
            for part in parts:
                written = self.stream.write(part)
            if written is not None:
                await written
        except _IO_ERRORS as exc:
            raise _io_error(self.address, 'sending', exc, self._timed_out) from exc
        finally:
            self._disarm()

    # A step's timeout closes the stream, which fails whatever is awaiting it. One timer
    # per connection follows the deadline of the step under way: a fast exchange
    # schedules it once, instead of a timer (and a timeout future) per await.
    def _arm(self, timeout: Optional[float]) -> None:
        """Start a step (connect, write, read) that must end within ``timeout`` seconds."""
        self._timed_out = False
        if timeout is None:
            self._deadline = None
            return
        loop = self._loop = self._loop or asyncio_loop_of()
        self._deadline = loop.time() + max(timeout, 0.0)
        if self._timer is not None and self._timer.when() > self._deadline:
            self._timer.cancel()  # the new deadline comes first
            self._timer = None
        if self._timer is None:
            self._timer = loop.call_at(self._deadline, self._check_deadline)

    def _disarm(self) -> None:
        """End the step under way: its deadline no longer applies."""
        self._deadline = None

    def _check_deadline(self) -> None:
        self._timer = None
        loop = self._loop
        if self._deadline is None or loop is None:
            return
        if loop.time() < self._deadline:  # a later step moved the deadline on
            self._timer = loop.call_at(self._deadline, self._check_deadline)
            return
        self._timed_out = True
        if self.stream is not None:
            self.stream.close()

    def read_message(  # type: ignore[override]
            self, callback: Callable[[bytes], None]) -> 'asyncio.Future[None]':
        """Read one message, then call ``callback`` with it on the IOLoop.

        Returns:
            A future that completes after ``callback`` returned, with its exception if it
            (or the read) failed. The wait for a ``-CALLBACK`` also logs its failure, since
            nobody awaits it.
        """
        waiting_for_callback = self.waiting_for_callback
        task = asyncio.ensure_future(self._read_then(callback, waiting_for_callback))
        if waiting_for_callback:
            _keep(task).add_done_callback(self._log_callback_failure)
        return task

    async def _read_then(self, callback: Callable[[bytes], None],
                         waiting_for_callback: bool) -> None:
        try:
            if waiting_for_callback:
                message = await self._read_callback()
                if message is None:
                    return
            else:
                message = await self._read(self.timeout, 'reading the response')
                if message is None:
                    raise GNTPConnectionError(f'{self.address[0]}:{self.address[1]}: the '
                                              'server closed the connection without answering')
            callback(message)
        except BaseException:
            self.close()
            raise

    async def _read_callback(self) -> Optional[bytes]:
        try:
            message = await self._read(self.callback_timeout, 'waiting for the callback')
        except GNTPConnectionError as exc:
            # A server that closes, or says nothing for callback_timeout, had nothing to
            # report (gntp-protocol §6.2).
            if self.buffer.pending == 0 and isinstance(exc.__cause__, _IO_ERRORS):
                logger.debug('no socket callback from %s:%s: %s', *self.address, exc)
                message = None
            else:
                raise
        if message is None:
            self.close()
        return message

    @staticmethod
    def _log_callback_failure(task: 'asyncio.Future[None]') -> None:
        if not task.cancelled() and task.exception() is not None:
            logger.error('GNTP socket callback failed: %s', task.exception(),
                         exc_info=task.exception())

    async def _read(self, timeout: Optional[float], doing: str) -> Optional[bytes]:
        # ``timeout`` bounds the whole message, not each read: a server dripping one byte
        # (or one CR LF) at a time must not hold the call open any longer than that.
        self._arm(timeout)
        try:
            while True:
                message = self.buffer.next_message()
                if message is not None or self.buffer.closed:
                    return message
                if self.stream is None:
                    return None
                try:
                    data = await self.stream.read_bytes(65536, partial=True)
                except StreamClosedError as exc:
                    if exc.real_error is not None or self._timed_out:
                        raise
                    data = b''  # a clean end of stream
                self.buffer.feed(data)
        except _IO_ERRORS as exc:
            raise _io_error(self.address, doing, exc, self._timed_out) from exc
        finally:
            self._disarm()

    def close(self) -> None:
        """Close the stream (idempotent)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.stream is not None:
            stream, self.stream = self.stream, None
            stream.close()

    @property
    def closed(self) -> bool:
        """Whether the stream has been closed (or never opened)."""
        return self.stream is None or self.stream.closed()
