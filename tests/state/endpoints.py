"""Real HTTP endpoints for forwarding tests: Tornado servers on 127.0.0.1 that record what
Apprise sends them, and can go down (the port refuses connections) and come back on the
same port, or hang."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from typing import Any, Callable, Dict, List, Optional

from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

from ..support.waiting import wait_until


class _Record(RequestHandler):
    def initialize(self, endpoint: 'Endpoint') -> None:
        self.endpoint = endpoint

    async def post(self, path: str) -> None:
        endpoint = self.endpoint
        if endpoint.hang is not None:
            await endpoint.hang
        body = self.request.body.decode('utf-8')
        endpoint.received.append({'path': '/' + path, 'headers': dict(self.request.headers),
                                  'json': json.loads(body) if body else None})
        endpoint.arrived.set()
        self.write({'success': True})


class Endpoint:
    """An HTTP endpoint on 127.0.0.1 that records every POST (path, headers, JSON body).

    Attributes:
        port: Its port (the same after :meth:`down` and :meth:`up`).
        received: What arrived, oldest first.
        hang: While a future is set here, requests wait for it before being answered.
    """

    def __init__(self) -> None:
        self.received: List[Dict[str, Any]] = []
        self.arrived = asyncio.Event()
        self.hang: Optional['asyncio.Future[None]'] = None
        self._server: Optional[HTTPServer] = None
        sock = bind_sockets(0, '127.0.0.1', family=socket.AF_INET)[0]
        self.port = sock.getsockname()[1]
        self._serve([sock])

    def _serve(self, sockets: List[socket.socket]) -> None:
        app = Application([(r'/(.*)', _Record, {'endpoint': self})])
        self._server = HTTPServer(app)
        self._server.add_sockets(sockets)

    @property
    def titles(self) -> List[str]:
        """The titles received (json:// and ntfy:// both send one)."""
        return [r['json'].get('title') for r in self.received]

    def down(self) -> None:
        """Stop listening: connections to the port are refused."""
        if self._server is not None:
            self._server.stop()
            self._server = None

    def up(self) -> None:
        """Listen again on the same port."""
        if self._server is None:
            self._serve(bind_sockets(self.port, '127.0.0.1', family=socket.AF_INET))

    async def close(self) -> None:
        self.down()
        if self.hang is not None and not self.hang.done():
            self.hang.set_result(None)


class EndpointThread:
    """An :class:`Endpoint` on its own loop in a thread, for synchronous tests."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.endpoint: Optional[Endpoint] = None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def start() -> None:
            self.endpoint = Endpoint()
        self._loop.run_until_complete(start())
        self._ready.set()
        self._loop.run_forever()

    def __enter__(self) -> 'EndpointThread':
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.call(lambda: self._endpoint().down())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _endpoint(self) -> Endpoint:
        assert self.endpoint is not None
        return self.endpoint

    @property
    def port(self) -> int:
        return self._endpoint().port

    def call(self, function: Callable[[], Any]) -> Any:
        """Run ``function()`` on the endpoint's loop and return its result."""
        async def run() -> Any:
            return function()
        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(10)

    @property
    def received(self) -> List[Dict[str, Any]]:
        return list(self.call(lambda: list(self._endpoint().received)))

    def down(self) -> None:
        self.call(lambda: self._endpoint().down())

    def up(self) -> None:
        self.call(lambda: self._endpoint().up())

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Poll ``predicate()`` until it is true (AssertionError after ``timeout`` s)."""
        wait_until(predicate, timeout, 'the endpoint')
