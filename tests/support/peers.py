"""Small real GNTP peers on 127.0.0.1 for the synchronous tests.

``ScriptedPeer`` runs a listening socket in a thread; for every connection it reads one
request with our own sans-IO :class:`~gntplib.reader.RequestReader` (or just the raw
bytes) and answers with whatever the test's ``script`` returns. Bad peers (garbage,
truncated, silent, resetting) are scripts too.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from typing import Callable, Iterator, List, Optional, Union

from gntplib.packers import pack_response
from gntplib.reader import ReaderLimits, ReceivedMessage, RequestReader
from gntplib.requests import Response

#: A scripted peer checks what clients send, not the server's default size limits: it
#: takes the 40 MB resources the client tests send.
PEER_LIMITS = ReaderLimits(max_request_size=128 << 20, max_resource_size=128 << 20)

Reply = Union[bytes, List[bytes], None]
Script = Callable[['Connection'], Reply]


class Connection:
    """One accepted connection, as seen by a script."""

    def __init__(self, sock: socket.socket, peer: 'ScriptedPeer') -> None:
        self.sock = sock
        self.peer = peer
        self.message: Optional[ReceivedMessage] = None

    def read_request(self) -> ReceivedMessage:
        reader = RequestReader(self.peer.password, limits=PEER_LIMITS)
        while True:
            message = reader.next_message()
            if message is not None:
                self.message = message
                self.peer.received.append(message)
                return message
            data = self.sock.recv(65536)
            if not data:
                raise EOFError('client closed before sending a whole request')
            reader.feed(data)

    def read_some(self) -> bytes:
        return self.sock.recv(65536)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def reset(self) -> None:
        """Close with RST instead of FIN."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        self.sock.close()

    def wait_for_client_close(self, timeout: float = 5.0) -> bytes:
        self.sock.settimeout(timeout)
        data = b''
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return data
                data += chunk
        except OSError:
            return data


def ok_for(message: ReceivedMessage) -> bytes:
    """The -OK our embedded server would send for ``message``."""
    headers = [('Response-Action', message.message_type)]
    main = dict(message.sections[0])
    if main.get('Notification-ID'):
        headers.append(('Notification-ID', main['Notification-ID']))
    headers += [(n, v) for n, v in message.sections[0] if n.lower().startswith('data-')]
    if message.message_type == 'SUBSCRIBE':
        headers.append(('Subscription-TTL', '300'))
    return pack_response(Response('-OK', headers))


def answer_ok(conn: Connection) -> Reply:
    return ok_for(conn.read_request())


class ScriptedPeer:
    """A threaded TCP server on 127.0.0.1 that runs ``script`` for each connection."""

    def __init__(self, script: Script = answer_ok, password: Optional[str] = None) -> None:
        self.script = script
        self.password = password
        self.received: List[ReceivedMessage] = []
        self.errors: List[BaseException] = []
        self.connections = 0
        self.closed_by_client = threading.Event()
        self._active = 0
        self._idle = threading.Condition()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(('127.0.0.1', 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._stopping = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def address(self) -> tuple:
        return ('127.0.0.1', self.port)

    def _serve(self) -> None:
        while not self._stopping:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with self._idle:
                self.connections += 1
                self._active += 1
            threading.Thread(target=self._handle, args=(sock,), daemon=True).start()

    def _handle(self, sock: socket.socket) -> None:
        conn = Connection(sock, self)
        try:
            reply = self.script(conn)
            if reply:
                for part in reply if isinstance(reply, list) else [reply]:
                    sock.sendall(part)
                conn.wait_for_client_close()
                self.closed_by_client.set()
        except Exception as exc:  # noqa: BLE001 - recorded for the test to inspect
            self.errors.append(exc)
        finally:
            try:
                sock.close()
            except OSError:
                pass
            with self._idle:
                self._active -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every accepted connection has been handled and closed."""
        with self._idle:
            return self._idle.wait_for(lambda: self._active == 0, timeout)

    def stop(self) -> None:
        self._stopping = True
        self._listener.close()

    def __enter__(self) -> 'ScriptedPeer':
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def unused_port() -> int:
    """A port with nothing listening on it (bound, then released)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def unanswered_port() -> Iterator[int]:
    """A port whose listener never completes another handshake: its accept queue is full
    (backlog 0, filled by connections nobody accepts), so the kernel drops new SYNs and a
    connect there waits until the client's timeout."""
    with socket.socket() as listener:
        listener.bind(('127.0.0.1', 0))
        listener.listen(0)
        fillers = []
        try:
            for _ in range(4):
                filler = socket.socket()
                filler.setblocking(False)
                filler.connect_ex(listener.getsockname())
                fillers.append(filler)
            yield listener.getsockname()[1]
        finally:
            for filler in fillers:
                filler.close()
