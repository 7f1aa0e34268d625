"""Scripted GNTP servers for the async tests, built on gntplib's own sans-IO core.

:class:`GNTPPeer` parses requests with :class:`~gntplib.reader.RequestReader` and answers
with :func:`~gntplib.packers.pack_response`, so what the client sends is checked by the
server-side parser. Its ``reply`` option scripts the answer:

* ``'ok'``: ``-OK`` (``-ERROR`` 400 when the key hash is wrong, as a real server does);
* ``'error'``: ``-ERROR <error_code>``;
* ``'garbage'``: bytes that are not GNTP;
* ``'silent'``: read the request, never answer, keep the connection open;
* ``'close'``: read the request, close without answering;
* ``'stall'``: accept the connection and never read from it.

``delay`` waits before answering (server behaviour under test, not synchronisation).
``callback_result`` (``'CLICKED'``, ..., or ``'garbage'`` for bytes that are not GNTP)
sends a ``-CALLBACK`` after ``-OK``: at once
(``callback_gate=None``, in the same write as the ``-OK``) or when the test sets
``callback_gate``.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any, Dict, List, Optional, Set

from tornado.iostream import IOStream, StreamClosedError
from tornado.netutil import bind_sockets
from tornado.tcpserver import TCPServer

from gntplib.exceptions import GNTPResponseError
from gntplib.packers import pack_response
from gntplib.reader import ReceivedMessage, RequestReader
from gntplib.requests import BaseRequest, NotifyRequest, Response

GARBAGE = b'HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'


class GNTPPeer(TCPServer):
    """A one-request-per-connection GNTP responder on 127.0.0.1."""

    def __init__(self, password: Optional[str] = None, reply: str = 'ok',
                 error_code: int = 402, delay: float = 0.0,
                 callback_result: Optional[str] = None,
                 callback_gate: Optional[asyncio.Event] = None,
                 encrypt_responses: bool = False, ttl: int = 300) -> None:
        super().__init__()
        self.password = password
        self.reply = reply
        self.error_code = error_code
        self.delay = delay
        self.callback_result = callback_result
        self.callback_gate = callback_gate
        self.encrypt_responses = encrypt_responses
        self.ttl = ttl
        #: Requests received, in order.
        self.received: List[BaseRequest] = []
        #: Set when a client closes a connection this peer kept open (after -OK or silence).
        self.client_closed = asyncio.Event()
        self.connections = 0
        self._streams: Set[IOStream] = set()
        sockets = bind_sockets(0, '127.0.0.1', family=socket.AF_INET, backlog=1024)
        self.port: int = sockets[0].getsockname()[1]
        self.add_sockets(sockets)

    def shutdown(self) -> None:
        """Stop listening and close every open connection."""
        self.stop()
        for stream in list(self._streams):
            stream.close()

    async def handle_stream(self, stream: IOStream, address: Any) -> None:
        self.connections += 1
        self._streams.add(stream)
        try:
            await self._handle(stream)
        except StreamClosedError:
            pass
        finally:
            self._streams.discard(stream)
            stream.close()

    async def _handle(self, stream: IOStream) -> None:
        if self.reply == 'stall':
            # Never read: the client's writes pile up in the kernel buffers.
            await asyncio.Event().wait()
        reader = RequestReader(self.password)
        message: Optional[ReceivedMessage] = None
        try:
            while message is None:
                reader.feed(await stream.read_bytes(65536, partial=True))
                message = reader.next_message()
        except GNTPResponseError as exc:  # what a server answers to a bad request
            await stream.write(pack_response(error_response(exc.error_code or 300,
                                                            exc.description)))
            return
        request = message.to_request()
        self.received.append(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.reply == 'close':
            return
        if self.reply == 'silent':
            await self._wait_for_client_close(stream)
            return
        if self.reply == 'garbage':
            await stream.write(GARBAGE)
            return
        if self.reply == 'error':
            await stream.write(pack_response(error_response(self.error_code, 'scripted')))
            return
        cipher = message.cipher if self.encrypt_responses else None
        data = pack_response(ok_response(request, self.ttl), cipher)
        wants_callback = (self.callback_result is not None and isinstance(request, NotifyRequest)
                          and request.notification.gntp_callback is not None)
        if not wants_callback:
            await stream.write(data)
            return
        assert isinstance(request, NotifyRequest)
        if self.callback_result == 'garbage':
            callback = GARBAGE
        else:
            callback = pack_response(callback_response(request, self.callback_result or ''),
                                     cipher)
        if self.callback_gate is None:
            await stream.write(data + callback)  # -OK and -CALLBACK in one read
            return
        await stream.write(data)
        gate = asyncio.ensure_future(self.callback_gate.wait())
        closed = asyncio.ensure_future(self._wait_for_client_close(stream))
        await asyncio.wait([gate, closed], return_when=asyncio.FIRST_COMPLETED)
        if gate.done() and not closed.done():
            await stream.write(callback)
        gate.cancel()
        closed.cancel()

    async def _wait_for_client_close(self, stream: IOStream) -> None:
        try:
            await stream.read_until_close()
        except StreamClosedError:
            pass
        self.client_closed.set()


def ok_response(request: BaseRequest, ttl: int = 300) -> Response:
    headers: Dict[str, Any] = {'Response-Action': request.message_type}
    if isinstance(request, NotifyRequest):
        headers['Notification-ID'] = request.notification.id_
    if request.message_type == 'SUBSCRIBE':
        headers['Subscription-TTL'] = ttl
    return Response('-OK', headers)


def error_response(code: int, description: str) -> Response:
    return Response('-ERROR', {'Error-Code': code, 'Error-Description': description})


def callback_response(request: NotifyRequest, result: str) -> Response:
    callback = request.notification.gntp_callback
    return Response('-CALLBACK', {
        'Application-Name': request.app_name,
        'Notification-ID': request.notification.id_,
        'Notification-Callback-Result': result,
        'Notification-Callback-Timestamp': '2024-01-01 12:00:00Z',
        'Notification-Callback-Context': getattr(callback, 'context', None),
        'Notification-Callback-Context-Type': getattr(callback, 'context_type', None),
    })


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connections are refused)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(('127.0.0.1', 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port
