"""Running the embedded server from synchronous code: :class:`ServerThread`."""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket
import threading
from typing import Any, Callable, Dict, List, Optional, Tuple, cast

from tornado.ioloop import IOLoop
from tornado.netutil import bind_sockets

from .._async_io import asyncio_loop_of
from ..exceptions import GNTPConnectionError, GNTPValidationError
from ..models import Icon
from ..receiver import PendingCallback, Subscription
from ..registry import ApplicationInfo, RegisteredApplication
from ..requests import BaseRequest
from .tcp import BACKLOG, GNTPServer

__all__ = ['ServerThread']


class ServerThread:
    """Runs a :class:`GNTPServer` on its own IOLoop in a daemon thread.

    For synchronous code (tests, the command line): the server listens on loopback, port 0
    (any free port) unless told otherwise. Read its state through the thread-safe
    properties and methods here; they run on the server's loop.

    Args:
        server_factory: A callable returning the :class:`GNTPServer` (called in the
            thread); or leave it out and pass the server's keyword arguments.
        host: Address to listen on.
        port: Port to listen on (0: any free port).
        sock: An already-bound listening socket to serve on instead of ``host``/``port``.
        **server_kwargs: Arguments for :class:`GNTPServer`.

    Attributes:
        port: The port the server listens on (after :meth:`start`).
        server: The :class:`GNTPServer` (touch it only on its loop; see :meth:`call`).

    Example:
        >>> with ServerThread(callback_result='CLICK') as thread:   # doctest: +SKIP
        ...     publish('App', 'update', 'Hi', port=thread.port)
        ...     thread.wait_for_requests(2)
    """

    def __init__(self, server_factory: Optional[Callable[[], GNTPServer]] = None, *,
                 host: str = '127.0.0.1', port: int = 0, sock: Optional[socket.socket] = None,
                 **server_kwargs: Any) -> None:
        if server_factory is not None and server_kwargs:
            raise GNTPValidationError('give a server factory or server arguments, not both')
        self._factory = server_factory or (lambda: GNTPServer(**server_kwargs))
        self.host = host
        self.port: int = port
        self._sock = sock
        self.server: Optional[GNTPServer] = None
        self.io_loop: Optional[IOLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._ready = threading.Event()
        self._error: Optional[BaseException] = None
        self._grace = 0.0

    def __repr__(self) -> str:
        return f'<ServerThread {self.host}:{self.port} running={self.running}>'

    @property
    def running(self) -> bool:
        """Whether the thread is serving."""
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 10.0) -> 'ServerThread':
        """Bind, start the thread, and return once the server is listening.

        Raises:
            GNTPConnectionError: If the address cannot be bound.
        """
        if self._sock is not None:
            self._sock.setblocking(False)
            sockets = [self._sock]
        else:
            try:
                sockets = bind_sockets(self.port, self.host, backlog=BACKLOG)
            except OSError as exc:
                raise GNTPConnectionError(f'cannot listen on {self.host}:{self.port}: '
                                          f'{exc.strerror or exc}') from exc
        self.port = sockets[0].getsockname()[1]
        self._thread = threading.Thread(target=self._run, args=(sockets,), daemon=True,
                                        name=f'gntplib-server-{self.port}')
        self._thread.start()
        self._ready.wait(timeout)
        if self._error is not None:
            self._thread.join(timeout)
            raise self._error
        return self

    def _run(self, sockets: List[socket.socket]) -> None:
        io_loop = IOLoop(make_current=False)
        asyncio.set_event_loop(asyncio_loop_of(io_loop))
        try:
            async def setup() -> GNTPServer:
                server = self._factory()
                server.add_sockets(sockets)
                return server
            try:
                self.server = io_loop.run_sync(setup)
            except BaseException as exc:
                for sock in sockets:
                    sock.close()
                self._error = exc
                return
            self.io_loop = io_loop
            self._ready.set()
            io_loop.start()
            server = self.server
            io_loop.run_sync(lambda: server.shutdown(grace=self._grace))
        finally:
            self._ready.set()
            io_loop.close(all_fds=True)
            asyncio.set_event_loop(None)

    def stop(self, timeout: float = 10.0, grace: float = 0.0) -> None:
        """Stop the server and end the thread (idempotent).

        Args:
            timeout: Seconds to wait for the thread to end.
            grace: Seconds open connections get to finish before they are closed.
        """
        if self._thread is None:
            return
        self._grace = grace
        if self.io_loop is not None and self._thread.is_alive():
            self.io_loop.add_callback(self.io_loop.stop)
        self._thread.join(timeout)
        self._thread = None

    def __enter__(self) -> 'ServerThread':
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    # -- talking to the loop ----------------------------------------------------------------------

    def call(self, function: Callable[..., Any], *args: Any, timeout: float = 10.0) -> Any:
        """Run ``function(*args)`` on the server's loop; return its result (awaited if it is
        awaitable).

        Raises:
            GNTPConnectionError: If the server is not running or ``timeout`` passes.
        """
        if self.io_loop is None or not self.running:
            raise GNTPConnectionError('the server thread is not running')

        async def run() -> Any:
            result = function(*args)
            if asyncio.isfuture(result) or asyncio.iscoroutine(result):
                result = await result
            return result
        future = asyncio.run_coroutine_threadsafe(run(), asyncio_loop_of(self.io_loop))
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise GNTPConnectionError(f'timed out after {timeout} s waiting for the '
                                      'server thread') from None

    def _server(self) -> GNTPServer:
        if self.server is None:
            raise GNTPConnectionError('the server thread is not running')
        return self.server

    @property
    def received(self) -> List[BaseRequest]:
        """A copy of the server's :attr:`~GNTPServer.received` list."""
        return cast(List[BaseRequest], self.call(lambda: list(self._server().received)))

    @property
    def errors(self) -> List[Tuple[str, int, str]]:
        """A copy of the server's :attr:`~GNTPServer.errors` list."""
        return cast(List[Tuple[str, int, str]], self.call(lambda: list(self._server().errors)))

    @property
    def forwards(self) -> List[Tuple[str, str, Optional[str]]]:
        """A copy of the server's :attr:`~GNTPServer.forwards` list."""
        return cast(List[Tuple[str, str, Optional[str]]],
                    self.call(lambda: list(self._server().forwards)))

    @property
    def applications(self) -> Dict[str, RegisteredApplication]:
        """A copy of the server's application registry."""
        return cast(Dict[str, RegisteredApplication],
                    self.call(lambda: dict(self._server().applications)))

    @property
    def subscribers(self) -> Dict[str, Subscription]:
        """A copy of the server's subscriptions."""
        return cast(Dict[str, Subscription], self.call(lambda: dict(self._server().subscribers)))

    @property
    def pending_callbacks(self) -> Dict[int, PendingCallback]:
        """A copy of the server's pending socket callbacks."""
        return cast(Dict[int, PendingCallback],
                    self.call(lambda: dict(self._server().pending_callbacks)))

    def wait_for(self, predicate: Callable[[GNTPServer], Any], timeout: float = 5.0) -> None:
        """Block until ``predicate(server)`` is true (evaluated on the server's loop).

        Raises:
            GNTPConnectionError: If ``timeout`` passes first.
        """
        server = self._server()
        self.call(server.wait_for, lambda: predicate(server), timeout, timeout=timeout + 5)

    def wait_for_requests(self, count: int = 1, timeout: float = 5.0) -> List[BaseRequest]:
        """Block until the server has received ``count`` requests; return a copy of them.

        Raises:
            GNTPConnectionError: If ``timeout`` passes first.
        """
        server = self._server()

        async def wait() -> List[BaseRequest]:
            return list(await server.wait_for_requests(count, timeout))
        return cast(List[BaseRequest], self.call(wait, timeout=timeout + 5))

    def send_callback(self, target: Any, result: str = 'CLICK', timeout: float = 5.0) -> bool:
        """Trigger a pending socket callback (see :meth:`GNTPServer.send_callback`) and wait
        until it is written; return whether it was."""
        server = self._server()
        return bool(self.call(server.send_callback, target, result, timeout=timeout))

    def list_applications(self) -> List[ApplicationInfo]:
        """The registered applications (see :meth:`GNTPServer.list_applications`)."""
        return cast(List[ApplicationInfo], self.call(self._server().list_applications))

    def set_notification_enabled(self, app_name: str, notification_name: str,
                                 enabled: bool) -> None:
        """Switch a notification type on or off (see
        :meth:`GNTPServer.set_notification_enabled`).

        Raises:
            GNTPValidationError: If the application or the type is not registered.
        """
        self.call(self._server().set_notification_enabled, app_name, notification_name,
                  enabled)

    def application_icon(self, app_name: str) -> Optional[Icon]:
        """The application's icon (see :meth:`GNTPServer.application_icon`).

        Raises:
            GNTPValidationError: If the application is not registered.
        """
        return cast(Optional[Icon], self.call(self._server().application_icon, app_name))
