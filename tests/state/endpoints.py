"""Real HTTP endpoints for forwarding tests: Tornado servers on 127.0.0.1 that record what
Apprise sends them, and can go down (the port refuses connections) and come back on the
same port, or hang."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any, Dict, List, Optional

from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler


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
